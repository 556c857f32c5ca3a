"""Pack the wheels the GPU machine lacks into parts small enough to carry, one part per device call.

The lent GPU machine (see README, "GPU check on a lent machine") has no network: Python packages
reach it only inside the working tree a device call copies, at most 64 MiB per call including
the repository. This script, run on a machine with the wheelhouse (``make wheelhouse
WHEEL_EXTRA=gpu-cu13,dev``), decides which wheels to bring and packs them:

1. **Which wheels.** pip resolves each group's roots against the wheelhouse (``pip install
   --dry-run --report``, under a Python of the target version), each group after the ones
   before it; distributions the machine's image already holds (:data:`DEVICE_HAS`, from the
   workplace's list of 2026-11-17, or ``--device-has`` with a ``pip list --format=freeze`` read
   there by ``gpu_session.sh env``) are left out, except those named in ``--force`` (pandas:
   the image's may predate 3.0) and those in :data:`SKIP` are never carried (reasons given).
   Groups: ``base`` (our pure-Python dependencies and the benchmarks' peers: enough for the
   CuPy and torch checks), ``rapids`` (cuDF, dask-cudf, dask-cuda), ``cuml``; ``xgboost`` on request.
2. **Smaller.** Wheels are deflate-compressed zips (libcudf: 301 MB for 370 MB of library);
   each is rewritten uncompressed (a valid wheel: RECORD hashes the files, not the archive),
   the group's wheels are put in one tar and compressed with xz (``-6``): machine code with
   embedded GPU binaries shrinks about 6x where deflate gained 1.2x.
3. **Parts.** The groups' archives, in order, are cut into ``.gpu-carry/pNN/`` folders of at
   most ``--part-mib`` MiB (default: 64 MiB less the repository's tracked files, less 2 MiB),
   each with a copy of ``manifest.json`` (chunks, sizes, SHA-256, the wheels of each group).
   ``.gpu-carry/`` is git-ignored: a folder travels only when a call names it in ``carry``.

On the machine, ``benchmarks/gpu_session.sh receive`` keeps each arriving part outside the
working tree (it survives between calls while the machine stays warm) and ``install GROUP``
checks, joins, unpacks and installs a group once all its chunks are there.

    make wheelhouse WHEEL_EXTRA=gpu-cu13,dev WHEEL_INTERPRETER=python3.12
    python benchmarks/gpu_carry.py --wheelhouse wheelhouse            # -> .gpu-carry/p01 ...
"""

from __future__ import annotations

import argparse
import hashlib
import io
import json
import lzma
import os
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
import zipfile
from pathlib import Path
from typing import Iterable, Sequence

ROOT = Path(__file__).resolve().parents[1]
MIB = 2**20
CALL_LIMIT = 64 * MIB
GROUPS = {
    # group -> (roots resolved with their dependencies, roots taken alone)
    "base": (["pandas>=3.0,<3.1", "dask[dataframe,distributed]>=2026.7.1", "pyod>=3.6", "array-api-compat>=1.9",
              "holidays>=0.60", "pyvrp>=0.10", "tqdm>=4.66"],
             # the feature benchmark's peer; mlforecast's optuna (and its database stack) is not imported by it
             ["mlforecast", "coreforecast", "utilsforecast"]),
    "rapids": (["cudf-cu13==26.10.*", "dask-cudf-cu13==26.10.*", "dask-cuda==26.10.*"], []),
    "cuml": (["cuml-cu13==26.10.*"], []),
    # make_model("xgboost") on the device; not carried unless asked (--groups ... xgboost): no GPU test uses it yet
    "xgboost": (["xgboost>=2.1"], []),
}
DEFAULT_GROUPS = ("base", "rapids", "cuml")
RUNTIME_NOT_CARRIED = {
    # pyproject runtime dependencies the base group does not carry, and why
    "numpy": "in the image", "scikit-learn": "in the image", "scipy": "in the image", "pyarrow": "in the image",
    "torch": "in the image (the CUDA build)", "matplotlib": "in the image", "numba": "in the image",
    "threadpoolctl": "in the image", "psutil": "in the image", "jupyterlab": "notebooks only",
    "ipywidgets": "notebooks only", "papermill": "notebooks only", "nbconvert": "notebooks only",
    "ipykernel": "notebooks only", "lightgbm": "make_model('lightgbm') only, a CPU model: no GPU check uses it",
    "redis": "toolkit.stream's broker client: no GPU check uses it",
    "confluent-kafka": "toolkit.stream's broker client: no GPU check uses it",
    "vadersentiment": "toolkit.text: no GPU check uses it",
}
DEVICE_HAS = frozenset("""
absl-py accelerate aiofiles aiohappyeyeballs aiohttp aiosignal annotated-doc anyio attrs botorch build certifi
charset-normalizer chex click cloudpickle cmake colorama contourpy coverage cuda-bindings cuda-core cuda-pathfinder
cuda-toolkit cupy-cuda13x cycler cython diffrax e3nn einops equinox etils execnet filelock flatbuffers flax fonttools
formulaic frozenlist fsspec gpytorch grpcio h11 h5py hf-xet httpcore httpx huggingface-hub humanize hypothesis idna
imageio iniconfig interface-meta jax jax-cuda13-pjrt jax-cuda13-plugin jaxlib jaxtyping jinja2 joblib kiwisolver
lazy-loader lightning lightning-utilities linear-operator lineax llvmlite lxml markdown markdown-it-py markupsafe
matplotlib mdurl meson ml-dtypes mpi4py mpmath msgpack multidict multipledispatch mypy-extensions nanobind narwhals
networkx ninja numba numba-cuda numpy numpyro nvidia-cublas nvidia-cuda-cupti nvidia-cuda-nvrtc nvidia-cuda-runtime
nvidia-cudnn-cu13 nvidia-cufft nvidia-cufile nvidia-curand nvidia-cusolver nvidia-cusparse nvidia-cusparselt-cu13
nvidia-ml-py nvidia-nccl-cu13 nvidia-nvjitlink nvidia-nvshmem-cu13 nvidia-nvtx onnx onnx-ir onnxruntime onnxscript
opencv-python-headless optax opt-einsum opt-einsum-fx optimistix orbax-checkpoint packaging pandas pathspec patsy peft
pillow pip pluggy portalocker prometheus-client propcache protobuf psutil pyarrow pybind11 py-cpuinfo pygments
pyparsing pyproject-hooks pyre-extensions pytest pytest-benchmark pytest-cov pytest-mock pytest-timeout pytest-xdist
python-dateutil pytorch-lightning pyyaml regex requests rich sacrebleu safetensors scikit-build-core scikit-image
scikit-learn scipy seaborn sentencepiece sentence-transformers setuptools shellingham simplejson six sortedcontainers
statsmodels sympy tabulate tensorboard tensorboard-data-server tensorstore threadpoolctl tifffile tiktoken timm
tokenizers toolz torch torchaudio torchdiffeq torch-geometric torchmetrics torchvision tqdm transformers treescope
triton typer typing-extensions typing-inspect urllib3 uvloop wadler-lindig werkzeug wheel wrapt xarray xxhash yarl
zipp
""".split())
"""The distributions of the GPU machine's image (the workplace's list, read on 2026-11-17; versions not listed)."""
SKIP = {
    "numba-cuda-mlir": "cuDF's MLIR UDF backend only; the toolkit runs no cuDF UDFs (71 MB)",
    "nvidia-cuda-nvcc": "the image has the CUDA 13 toolkit (nvcc 13.0)",
    "nvidia-nvvm": "the image has the CUDA 13 toolkit (NVVM)",
    "nvidia-cuda-cccl": "headers for compiling; the image has the CUDA 13 toolkit",
    "nvidia-cuda-crt": "headers for compiling; the image has the CUDA 13 toolkit",
}
"""Distributions never carried, and why (``--force`` overrides)."""


def canonical(name: str) -> str:
    """PEP 503 name: lower case, runs of ``-_.`` as one ``-``."""
    return re.sub(r"[-_.]+", "-", name).lower()


def find_python(version: str) -> str:
    """An interpreter of the target version (pip evaluates environment markers with its own)."""
    candidates = [f"python{version}", str(Path.home() / f".pyenv/versions/{version}/bin/python{version}")]
    candidates += [str(p) for p in sorted(Path.home().glob(f".pyenv/versions/{version}.*/bin/python{version}"))]
    for candidate in candidates:
        path = shutil.which(candidate) or (candidate if Path(candidate).exists() else None)
        if path and subprocess.run([path, "-m", "pip", "--version"], capture_output=True).returncode == 0:
            return path
    raise SystemExit(f"no Python {version} with pip found: pass --python /path/to/python{version}")


def resolve(python: str, wheelhouses: Sequence[Path], roots: Sequence[str]) -> dict[str, Path]:
    """Distribution name -> wheel file for ``roots`` and their dependencies, from the wheelhouses only."""
    if not roots:
        return {}
    with tempfile.TemporaryDirectory() as tmp:
        report = Path(tmp) / "report.json"
        links = [arg for w in wheelhouses for arg in ("--find-links", str(w))]
        done = subprocess.run([python, "-m", "pip", "install", "--dry-run", "--ignore-installed", "--no-index",
                               "--only-binary=:all:", "--quiet", "--report", str(report), *links, *roots],
                              capture_output=True, text=True)
        if done.returncode != 0:
            raise SystemExit(f"pip could not resolve {list(roots)} from {[str(w) for w in wheelhouses]}:\n"
                             f"{done.stderr[-3000:]}")
        items = json.loads(report.read_text())["install"]
    return {canonical(i["metadata"]["name"]): Path(i["download_info"]["url"].removeprefix("file://")) for i in items}


def find_wheel(wheelhouses: Sequence[Path], name: str) -> Path:
    """The newest wheel of ``name`` in the wheelhouses (for roots taken without dependencies)."""
    found = sorted(p for w in wheelhouses for p in w.glob("*.whl") if canonical(p.name.split("-")[0]) == canonical(name))
    if not found:
        raise SystemExit(f"no wheel of {name} in {[str(w) for w in wheelhouses]}: "
                         f"pip download --no-deps --only-binary=:all: --python-version 3.12 -d WHEELHOUSE {name}")
    return found[-1]


def stored(wheel: Path) -> bytes:
    """The wheel rewritten without compression (the same files, so the same RECORD hashes)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(wheel) as src, zipfile.ZipFile(buffer, "w", zipfile.ZIP_STORED) as dst:
        for info in src.infolist():
            dst.writestr(info, src.read(info.filename), compress_type=zipfile.ZIP_STORED)
    return buffer.getvalue()


def pack(wheels: Iterable[Path], target: Path, preset: int) -> None:
    """One xz-compressed tar of the wheels, uncompressed inside (xz then sees the machine code)."""
    with tempfile.NamedTemporaryFile(suffix=".tar", dir=target.parent, delete=False) as raw:
        with tarfile.open(fileobj=raw, mode="w") as tar:
            for wheel in wheels:
                data = stored(wheel)
                info = tarfile.TarInfo(wheel.name)
                info.size = len(data)
                tar.addfile(info, io.BytesIO(data))
    try:
        if shutil.which("xz"):
            with open(target, "wb") as out:
                subprocess.run(["xz", f"-{preset}", "-T0", "-c", raw.name], stdout=out, check=True)
        else:
            with open(raw.name, "rb") as src, lzma.open(target, "wb", preset=preset) as out:
                shutil.copyfileobj(src, out, length=16 * MIB)
    finally:
        os.unlink(raw.name)


def sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(16 * MIB), b""):
            digest.update(block)
    return digest.hexdigest()


def tree_bytes() -> int:
    """Bytes of the files a device call copies besides the carried ones (tracked + untracked, not ignored)."""
    listed = subprocess.run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"], cwd=ROOT,
                            capture_output=True).stdout.split(b"\0")
    return sum((ROOT / p.decode()).stat().st_size for p in listed if p and (ROOT / p.decode()).is_file())


def lay_out(archives: dict[str, Path], out: Path, part_bytes: int) -> dict:
    """Cut the archives, in order, into part folders of at most ``part_bytes``; the manifest."""
    manifest = {"part_bytes": part_bytes, "groups": {}, "parts": {}}
    part, room = 1, part_bytes
    for group, archive in archives.items():
        size, offset, index = archive.stat().st_size, 0, 0
        chunks = []
        with open(archive, "rb") as src:
            while offset < size:
                if room == 0:
                    part, room = part + 1, part_bytes
                take = min(room, size - offset)
                name, folder = f"{group}.tar.xz.{index:03d}", out / f"p{part:02d}"
                folder.mkdir(parents=True, exist_ok=True)
                data = src.read(take)
                (folder / name).write_bytes(data)
                chunks.append({"part": folder.name, "file": name, "bytes": take,
                               "sha256": hashlib.sha256(data).hexdigest()})
                manifest["parts"].setdefault(folder.name, []).append(name)
                offset, room, index = offset + take, room - take, index + 1
        manifest["groups"][group] = {"bytes": size, "sha256": sha256(archive), "chunks": chunks}
    return manifest


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.strip().splitlines()[0],
                                     formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    parser.add_argument("--wheelhouse", type=Path, action="append", required=True,
                        help="folder of wheels (repeat for several)")
    parser.add_argument("--out", type=Path, default=ROOT / ".gpu-carry")
    parser.add_argument("--groups", nargs="+", default=list(DEFAULT_GROUPS), choices=list(GROUPS))
    parser.add_argument("--python", default=None, help="interpreter of the target version (default: found)")
    parser.add_argument("--python-version", default="3.12")
    parser.add_argument("--device-has", type=Path, default=None,
                        help="`pip list --format=freeze` of the machine (gpu_session.sh env writes it)")
    parser.add_argument("--force", nargs="*", default=["pandas"], help="carry these even if the machine has them")
    parser.add_argument("--part-mib", type=float, default=None)
    parser.add_argument("--preset", type=int, default=6, help="xz preset (0-9)")
    args = parser.parse_args(argv)

    python = args.python or find_python(args.python_version)
    device_has = set(DEVICE_HAS)
    if args.device_has:
        device_has = {canonical(line.split("==")[0].split(" @ ")[0]) for line in args.device_has.read_text().split()
                      if line and not line.startswith("#")}
    force = {canonical(n) for n in args.force}
    chosen: dict[str, list[Path]] = {}
    seen: set[str] = set()
    roots: list[str] = []
    for group in args.groups:
        with_deps, alone = GROUPS[group]
        roots += with_deps
        resolved = resolve(python, args.wheelhouse, roots)
        resolved.update({canonical(n): find_wheel(args.wheelhouse, n) for n in alone})
        new = {n: p for n, p in resolved.items() if n not in seen}
        seen |= set(new)
        keep = {n: p for n, p in new.items() if n in force or (n not in device_has and n not in SKIP)}
        chosen[group] = [keep[n] for n in sorted(keep)]
        left = sorted(set(new) - set(keep))
        print(f"{group}: carry {len(keep)} wheels ({sum(p.stat().st_size for p in keep.values()) / MIB:.0f} MiB as "
              f"wheels); the machine has or does not need {len(left)}: {', '.join(left)}")

    part_bytes = int(args.part_mib * MIB) if args.part_mib else min(60 * MIB, CALL_LIMIT - tree_bytes() - 2 * MIB)
    if args.out.exists():
        shutil.rmtree(args.out)
    build = args.out / "build"
    build.mkdir(parents=True)
    archives = {}
    for group, wheels in chosen.items():
        archives[group] = build / f"{group}.tar.xz"
        pack(wheels, archives[group], args.preset)
        print(f"{group}: {archives[group].stat().st_size / MIB:.1f} MiB packed", flush=True)
    manifest = lay_out(archives, args.out, part_bytes)
    for group, wheels in chosen.items():
        manifest["groups"][group]["wheels"] = [p.name for p in wheels]
    manifest["skipped"] = SKIP
    shutil.rmtree(build)
    text = json.dumps(manifest, indent=1)
    (args.out / "manifest.json").write_text(text)
    for part in manifest["parts"]:
        (args.out / part / "manifest.json").write_text(text)
    print(f"{len(manifest['parts'])} parts of at most {part_bytes / MIB:.1f} MiB in {args.out}:")
    for part, files in manifest["parts"].items():
        size = sum((args.out / part / f).stat().st_size for f in files)
        print(f"  {part}: {size / MIB:5.1f} MiB  {' '.join(files)}")
    print("complete groups after part: " + ", ".join(
        f"{g} -> {info['chunks'][-1]['part']}" for g, info in manifest["groups"].items() if info["chunks"]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
