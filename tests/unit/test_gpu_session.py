"""The device-session tooling without a GPU: gpu_carry.py packs wheels into parts, gpu_session.sh
receives them over several "calls" and installs a group only when every chunk arrived intact.

Two small wheels stand in for the wheelhouse (one incompressible payload, so the archive spans
several parts); the install goes into a ``--target`` folder with this interpreter. The group
definitions are checked against pyproject.toml, so a new runtime dependency is either carried
to the GPU machine or listed as not needed there.
"""

from __future__ import annotations

import base64
import hashlib
import importlib.util
import json
import os
import shutil
import subprocess
import sys
import tomllib
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SESSION = ROOT / "benchmarks" / "gpu_session.sh"


def _carry():
    spec = importlib.util.spec_from_file_location("gpu_carry", ROOT / "benchmarks" / "gpu_carry.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


carry = _carry()


def _wheel(folder: Path, name: str, payload: bytes, requires: str = "") -> Path:
    """A minimal pure-Python wheel holding ``{name}/__init__.py`` with ``DATA`` = payload's hex digest."""
    dist = f"{name}-1.0.dist-info"
    files = {
        f"{name}/__init__.py": f"DATA = {hashlib.sha256(payload).hexdigest()!r}\n".encode(),
        f"{name}/blob.bin": payload,
        f"{dist}/METADATA": (f"Metadata-Version: 2.1\nName: {name}\nVersion: 1.0\n"
                             + (f"Requires-Dist: {requires}\n" if requires else "")).encode(),
        f"{dist}/WHEEL": b"Wheel-Version: 1.0\nGenerator: test\nRoot-Is-Purelib: true\nTag: py3-none-any\n",
    }
    record = [f"{path},sha256={base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b'=').decode()},"
              f"{len(data)}" for path, data in files.items()]
    files[f"{dist}/RECORD"] = ("\n".join(record + [f"{dist}/RECORD,,"]) + "\n").encode()
    path = folder / f"{name}-1.0-py3-none-any.whl"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as whl:
        for name_in, data in files.items():
            whl.writestr(name_in, data)
    return path


def _session(env: dict, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(["bash", str(SESSION), *args], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=300)


@pytest.mark.slow
def test_parts_received_call_by_call_install_once_complete_and_intact(tmp_path, monkeypatch):
    house = tmp_path / "wheelhouse"
    house.mkdir()
    payload = os.urandom(12_000)  # does not compress: the archive spans several 4 KiB parts
    _wheel(house, "tinya", payload, requires="tinyb")
    _wheel(house, "tinyb", b"b" * 50_000)
    _wheel(house, "tinyc", b"c" * 50_000)
    monkeypatch.setattr(carry, "GROUPS", {"base": (["tinya"], []), "rapids": ([], ["tinyc"])})
    (tmp_path / "freeze.txt").write_text("tinyb==0.9\n")  # the machine "has" tinyb: base leaves it out
    out = tmp_path / "carry"
    assert carry.main(["--wheelhouse", str(house), "--out", str(out), "--groups", "base", "rapids", "--python",
                       sys.executable, "--device-has", str(tmp_path / "freeze.txt"), "--force",
                       "--part-mib", str(4096 / 2**20)]) == 0
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["groups"]["base"]["wheels"] == ["tinya-1.0-py3-none-any.whl"]
    assert manifest["groups"]["rapids"]["wheels"] == ["tinyc-1.0-py3-none-any.whl"]  # a root taken alone
    parts = sorted(manifest["parts"])
    assert len(parts) >= 3 and all((out / p / "manifest.json").exists() for p in parts)
    assert all(sum((out / p / f).stat().st_size for f in manifest["parts"][p]) <= 4096 for p in parts)

    store, site, results = tmp_path / "store", tmp_path / "site", tmp_path / "out"
    env = {**os.environ, "PY": sys.executable, "TOOLKIT_CARRY_STORE": str(store), "TOOLKIT_CARRY_TARGET": str(site),
           "OUT": str(results)}
    base_parts = sorted({c["part"] for c in manifest["groups"]["base"]["chunks"]})
    for i, part in enumerate(parts):  # one device call per part: only that part is in the working tree
        call = tmp_path / f"call{i}"
        shutil.copytree(out / part, call / part)
        done = _session({**env, "TOOLKIT_CARRY_DIR": str(call)}, "receive")
        assert done.returncode == 0 and f"received {part}" in done.stdout, done.stdout + done.stderr
        if part == base_parts[0] and len(base_parts) > 1:  # base not complete yet: refused, named
            early = _session(env, "install", "base")
            assert early.returncode != 0 and "not received yet" in early.stdout
    done = _session(env, "install", "base")
    assert done.returncode == 0, done.stdout + done.stderr
    installed = (site / "tinya" / "__init__.py").read_text()
    assert hashlib.sha256(payload).hexdigest() in installed and (site / "tinya" / "blob.bin").read_bytes() == payload
    assert (results / "install-base.log").exists()

    first = manifest["groups"]["rapids"]["chunks"][0]["file"]
    (store / first).write_bytes(b"x" + (store / first).read_bytes()[1:])
    damaged = _session(env, "install", "rapids")
    assert damaged.returncode != 0 and "damaged" in damaged.stdout
    assert _session({**env, "TOOLKIT_CARRY_DIR": str(tmp_path / "none")}, "receive").returncode != 0


def test_groups_cover_the_runtime_dependencies_and_the_gpu_extra():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    name = lambda requirement: carry.canonical(requirement.split("[")[0].split(">")[0].split("=")[0].split("<")[0])  # noqa: E731
    carried = {name(r) for group in carry.GROUPS.values() for roots in group for r in roots}
    runtime = {name(r) for r in project["dependencies"]}
    missing = sorted(runtime - carried - set(carry.RUNTIME_NOT_CARRIED))
    assert not missing, f"runtime dependencies neither carried to the GPU machine nor listed as not needed: {missing}"
    gpu = {name(r) for r in project["optional-dependencies"]["gpu-cu13"]}
    assert gpu - carried <= {"cupy-cuda13x"}  # the image has CuPy for CUDA 13
    assert {"cupy-cuda13x", "torch", "numpy"} <= carry.DEVICE_HAS
