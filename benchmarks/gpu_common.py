"""The harness of the GPU benchmarks (``benchmarks/gpu_bench_*.py``): device, timing, agreement, JSON summary.

Each GPU benchmark times one kernel family three ways on the same input -- the *device* path
(CuPy, or torch on CUDA), *our CPU path* (NumPy, numba or torch on the host, as shipped) and the
*peer* library (mlforecast's kernels, PyOD, scikit-learn) -- checks that the values agree within
a tolerance it states, prints the speed-ups and appends one record to
``benchmarks/out/gpu_summary.json``. A disagreement makes the script exit with status 1, so
``make gpu-check`` fails on it.

``--device cpu`` (or ``TOOLKIT_BENCH_DEVICE=cpu``) runs the device path on NumPy through the same
array-API code (torch on the CPU for the autoencoder). Its timings mean nothing, but the
scripts, their agreement checks and the JSON they write are exercised on machines without a
GPU: ``tests/unit/test_gpu_benchmarks.py`` runs every script that way with ``--tiny`` sizes.

Timing rules
------------
* One warm-up call before the clock (CuPy compiles each kernel on its first launch, numba its
  loops, torch creates its CUDA context); a script may warm a path up on a small slice of the
  input instead, when a full-size warm-up would double a slow CPU measurement.
* The best of ``repeat`` calls. On the GPU the device is synchronised before the clock starts
  and before it stops (``cupy.cuda.Device().synchronize()``, ``torch.cuda.synchronize()``):
  kernels launch asynchronously, and an unsynchronised clock times the launches only.
* When the CPU path or the peer runs on fewer rows than the device path (``--cpu-rows``,
  ``--peer-rows``: some peers would take many minutes at the device's size), the speed-up is the
  ratio of rows per second, and the record says which row counts were timed.

Examples
--------
>>> import numpy as np
>>> check = agreement("mean", np.array([1.0, np.nan]), np.array([1.0 + 1e-12, np.nan]), rtol=1e-9, atol=0.0)
>>> check["ok"], check["nan_mismatch"]
(True, 0)
>>> agreement("mean", np.array([1.0]), np.array([1.1]), rtol=1e-9, atol=0.0)["ok"]
False
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Mapping, Sequence

import numpy as np

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
if str(ROOT) not in sys.path:  # run as `python benchmarks/gpu_bench_x.py`: import toolkit from this checkout
    sys.path.insert(0, str(ROOT))

DEVICE_ENV = "TOOLKIT_BENCH_DEVICE"
"""Environment variable choosing the device path: ``gpu`` (default), ``cpu`` or ``auto``."""
SUMMARY_ENV = "TOOLKIT_BENCH_SUMMARY"
"""Environment variable naming the JSON summary (default :data:`DEFAULT_SUMMARY`)."""
DEFAULT_SUMMARY = HERE / "out" / "gpu_summary.json"
PATHS = ("device", "cpu", "peer")

__all__ = ["Device", "select_device", "arguments", "Timing", "time_call", "agreement", "Run", "DEFAULT_SUMMARY",
           "DEVICE_ENV", "SUMMARY_ENV", "ragged_bounds"]


# ----------------------------------------------------------------------------- device


@dataclass
class Device:
    """Where the device path runs: CuPy on the GPU, or NumPy standing in for it.

    Attributes
    ----------
    kind : {"gpu", "cpu"}
    xp : module
        ``cupy`` or ``numpy`` (the native modules; toolkit functions dispatch on the arrays).
    torch : {"cuda", "cpu"}
        The torch device of the device path.
    name : str
        The GPU's name, or a note that NumPy stands in for it.
    """

    kind: str
    xp: Any
    torch: str
    name: str

    @property
    def on_gpu(self) -> bool:
        return self.kind == "gpu"

    def put(self, array: Any) -> Any:
        """A host array on the device (unchanged on the CPU stand-in)."""
        return self.xp.asarray(array)

    def get(self, array: Any) -> np.ndarray:
        """A device (or host) array as a NumPy array."""
        if hasattr(array, "get") and type(array).__module__.startswith("cupy"):
            return array.get()
        return np.asarray(array)

    def sync(self) -> None:
        """Wait for every kernel launched on the GPU (CuPy's stream and torch's)."""
        if not self.on_gpu:
            return
        self.xp.cuda.Device().synchronize()
        torch = sys.modules.get("torch")
        if torch is not None and torch.cuda.is_initialized():
            torch.cuda.synchronize()

    def free(self) -> None:
        """Return CuPy's cached blocks to the driver between cases (peak memory stays per case)."""
        if self.on_gpu:
            self.sync()
            self.xp.get_default_memory_pool().free_all_blocks()


def select_device(choice: str | None = None) -> Device:
    """The device of the device path: ``"gpu"`` (CuPy), ``"cpu"`` (NumPy stand-in) or ``"auto"``.

    Raises
    ------
    SystemExit
        ``"gpu"`` on a machine where CuPy cannot allocate on a GPU (the message says how to run
        the CPU stand-in instead).
    """
    choice = (choice or os.environ.get(DEVICE_ENV) or "gpu").strip().lower()
    if choice not in ("gpu", "cpu", "auto"):
        raise SystemExit(f"--device must be gpu, cpu or auto (or {DEVICE_ENV}=...), got {choice!r}")
    if choice in ("gpu", "auto"):
        from toolkit.backend import gpu_available

        if gpu_available():
            import cupy

            props = cupy.cuda.runtime.getDeviceProperties(cupy.cuda.Device().id)
            name = props["name"].decode() if isinstance(props["name"], bytes) else str(props["name"])
            return Device("gpu", cupy, "cuda", name)
        if choice == "gpu":
            raise SystemExit("no usable GPU (CuPy could not allocate on one): run with --device cpu "
                             f"(or {DEVICE_ENV}=cpu) to exercise the benchmark on NumPy")
    return Device("cpu", np, "cpu", "NumPy standing in for the GPU (--device cpu): timings are not GPU figures")


# ----------------------------------------------------------------------------- arguments


def arguments(doc: str, sizes: Mapping[str, int], tiny: Mapping[str, int], argv: Sequence[str] | None = None
              ) -> argparse.Namespace:
    """Parse the common options plus one integer option per entry of ``sizes``.

    ``sizes`` maps option names (``"rows"``, ``"days"``, ...) to their defaults, sized for the
    GPU; ``--tiny`` takes the defaults from ``tiny`` instead (explicit options still win).
    ``--cpu-rows`` / ``--peer-rows`` (rows timed on our CPU path / the peer) default to None,
    meaning every row, unless ``sizes`` sets them.
    """
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = argparse.ArgumentParser(description=doc.strip().splitlines()[0],
                                     formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    parser.add_argument("--device", choices=("gpu", "cpu", "auto"), default=None,
                        help=f"where the device path runs (default: ${DEVICE_ENV} or gpu)")
    parser.add_argument("--tiny", action="store_true", help="tiny sizes (for testing the harness on a CPU)")
    parser.add_argument("--repeat", type=int, default=3, help="timed calls of the device path (best is kept)")
    parser.add_argument("--cpu-repeat", type=int, default=1, help="timed calls of the CPU path and the peer")
    parser.add_argument("--no-peer", action="store_true", help="skip the peer library")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--summary", type=Path, default=None,
                        help=f"JSON summary to append to (default: ${SUMMARY_ENV} or {DEFAULT_SUMMARY})")
    chosen = {"cpu_rows": None, "peer_rows": None, **(tiny if "--tiny" in argv else sizes)}
    for name, default in chosen.items():
        parser.add_argument(f"--{name.replace('_', '-')}", type=int, default=default,
                            help="rows timed on this path (default: all)" if name in ("cpu_rows", "peer_rows") else None)
    return parser.parse_args(argv)


def ragged_bounds(rng: np.random.Generator, n_series: int, length: int) -> np.ndarray:
    """CSR bounds of ``n_series`` series of between ``length // 2`` and ``length`` rows."""
    lengths = rng.integers(max(1, length // 2), length + 1, n_series)
    return np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64)


# ----------------------------------------------------------------------------- timing


@dataclass
class Timing:
    """Best wall time of a path, every timed run, and the last result."""

    seconds: float
    runs: list[float]
    result: Any


def time_call(fn: Callable[[], Any], device: Device | None = None, repeat: int = 3,
              warmup: Callable[[], Any] | bool = True) -> Timing:
    """Time ``fn()``: a warm-up (``True``: one full call; a callable: that call), then the best of ``repeat``.

    With a ``device`` on the GPU, the device is synchronised around each timed call.
    """
    sync = device.sync if device is not None else (lambda: None)
    if warmup:
        (fn if warmup is True else warmup)()
        sync()
    runs, result = [], None
    for _ in range(max(1, repeat)):
        result = None  # free the previous result before the next run allocates its own
        sync()
        start = time.perf_counter()
        result = fn()
        sync()
        runs.append(time.perf_counter() - start)
    return Timing(min(runs), runs, result)


# ----------------------------------------------------------------------------- agreement


def _host(values: Any) -> np.ndarray:
    if hasattr(values, "get") and type(values).__module__.startswith("cupy"):
        values = values.get()
    elif hasattr(values, "detach"):  # torch
        values = values.detach().cpu().numpy()
    elif hasattr(values, "to_numpy"):  # pandas / cuDF series
        values = values.to_numpy()
    return np.asarray(values, dtype=np.float64)


def agreement(what: str, got: Any, want: Any, rtol: float, atol: float, against: str = "cpu",
              min_share: float = 1.0) -> dict:
    """Compare ``got`` (the device path) with ``want``: ``|got - want| <= atol + rtol * |want|`` elementwise.

    NaN must sit at the same places on both sides and infinities must be equal; an element
    that breaks either rule counts as outside the tolerance. ``ok`` when the share of
    elements within it is at least ``min_share`` (all of them by default; a search that may
    settle elsewhere on a few series states a lower share). Returns a JSON-ready dict with
    the tolerance, the largest absolute and relative differences, the share within and ``ok``.
    """
    g, w = _host(got), _host(want)
    record: dict[str, Any] = {"what": what, "against": against, "rtol": rtol, "atol": atol, "n": int(w.size)}
    if min_share < 1.0:
        record["min_share"] = min_share
    if g.shape != w.shape:
        record.update(ok=False, problem=f"shapes differ: {g.shape} vs {w.shape}")
        return record
    g_nan, w_nan = np.isnan(g), np.isnan(w)
    both = ~(g_nan | w_nan)
    finite = both & np.isfinite(g) & np.isfinite(w)
    diff = np.abs(np.where(finite, g, 0.0) - np.where(finite, w, 0.0))
    scale = np.abs(np.where(finite, w, 0.0))
    within = np.where(finite, diff <= atol + rtol * scale, (g_nan & w_nan) | (both & (g == w)))
    rel = diff[finite] / np.where(scale[finite] > 0, scale[finite], 1.0)
    share = float(within.mean()) if within.size else 1.0
    record.update(max_abs_diff=float(diff[finite].max()) if rel.size else 0.0,
                  max_rel_diff=float(rel.max()) if rel.size else 0.0,
                  nan_mismatch=int(np.count_nonzero(g_nan != w_nan)), share_within=share, ok=share >= min_share)
    return record


# ----------------------------------------------------------------------------- records


def _versions() -> dict:
    out = {"python": platform.python_version(), "platform": platform.platform()}
    for name in ("numpy", "pandas", "cupy", "torch", "numba", "sklearn", "pyod", "mlforecast", "coreforecast",
                 "cudf", "cuml"):
        module = sys.modules.get(name)
        if module is not None:
            out[name] = getattr(module, "__version__", "?")
    try:
        commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True,
                                timeout=10).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        commit = ""
    out["commit"] = commit or None
    return out


def _speedup(seconds: Mapping[str, float], rows: Mapping[str, int], other: str) -> float | None:
    """Rows per second of the device path over those of ``other`` (None when either is missing)."""
    if other not in seconds or "device" not in seconds or seconds["device"] <= 0:
        return None
    return (seconds[other] * rows["device"]) / (seconds["device"] * rows[other])


@dataclass
class Run:
    """One benchmark script's record: its cases, skipped parts and the environment.

    Parameters
    ----------
    benchmark : str
        The kernel family (``"features"``, ``"ecod_copod"``, ...).
    device : Device
    args : argparse.Namespace
        The parsed options (stored in the record).
    peer : str
        The peer library's name (``"coreforecast (mlforecast's kernels)"``...), or ``""``.
    """

    benchmark: str
    device: Device
    args: argparse.Namespace
    peer: str = ""
    cases: list = field(default_factory=list)
    skipped: list = field(default_factory=list)
    started: str = field(default_factory=lambda: dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"))

    def __post_init__(self) -> None:
        print(f"== {self.benchmark}: device path on {self.device.name}" + (f"; peer {self.peer}" if self.peer else ""),
              flush=True)

    def case(self, name: str, timings: Mapping[str, Timing], rows: Mapping[str, int] | int,
             checks: Sequence[dict], params: Mapping[str, Any] | None = None, target: float | None = None,
             note: str = "") -> dict:
        """Record one timed case; print its times, speed-ups and agreement.

        Parameters
        ----------
        timings : mapping
            ``{"device": Timing, "cpu": Timing, "peer": Timing}`` (peer optional).
        rows : int or mapping
            Rows timed per path (an int: the same for all).
        checks : list of dict
            :func:`agreement` records.
        target : float, optional
            The speed-up over our CPU path this case aims at (reported, not enforced).
        """
        seconds = {path: float(t.seconds) for path, t in timings.items()}
        rows = {path: int(rows) for path in seconds} if isinstance(rows, int) else {p: int(rows[p]) for p in seconds}
        speedup = {f"device_vs_{other}": _speedup(seconds, rows, other) for other in ("cpu", "peer") if other in seconds}
        entry = {"case": name, "rows": rows, "seconds": seconds, "runs": {p: t.runs for p, t in timings.items()},
                 "speedup": speedup, "per_row": "rows per second" if len(set(rows.values())) > 1 else "same rows",
                 "agreement": list(checks), "params": dict(params or {}), "ok": all(c["ok"] for c in checks)}
        if target is not None:
            entry["target_speedup_vs_cpu"] = target
            entry["meets_target"] = (speedup.get("device_vs_cpu") or 0.0) >= target
        if note:
            entry["note"] = note
        self.cases.append(entry)
        self._print(entry)
        return entry

    def skip(self, what: str, reason: str) -> None:
        """Record a part that did not run (a peer not installed, cuDF missing...) and say so."""
        self.skipped.append({"what": what, "reason": reason})
        print(f"   skipped {what}: {reason}", flush=True)

    def _print(self, entry: dict) -> None:
        parts = [f"   {entry['case']}:"]
        for path in PATHS:
            if path in entry["seconds"]:
                label = self.peer.split(" ")[0] if path == "peer" and self.peer else path
                parts.append(f"{label} {entry['seconds'][path]:.4f}s ({entry['rows'][path]:,} rows)")
        for key, value in entry["speedup"].items():
            if value is not None:
                parts.append(f"{key.replace('_', ' ')} {value:.1f}x")
        bad = [c for c in entry["agreement"] if not c["ok"]]
        worst = max((c.get("max_abs_diff", float("inf")) for c in entry["agreement"]), default=0.0)
        parts.append(f"agree {len(entry['agreement']) - len(bad)}/{len(entry['agreement'])} (max|diff| {worst:.1e})")
        print("  ".join(parts), flush=True)
        for c in bad:
            print(f"   DISAGREE {c['what']} vs {c['against']}: {c.get('problem') or c}", flush=True)

    @property
    def status(self) -> str:
        if not self.cases:
            return "skipped"
        return "ok" if all(c["ok"] for c in self.cases) else "disagree"

    def record(self) -> dict:
        options = {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(self.args).items()}
        return {"benchmark": self.benchmark, "status": self.status, "started": self.started,
                "device": self.device.kind, "device_name": self.device.name, "peer": self.peer,
                "options": options, "cases": self.cases, "skipped": self.skipped, "environment": _versions()}

    def finish(self) -> int:
        """Append the record to the JSON summary; the exit status (1 when values disagree)."""
        path = Path(self.args.summary or os.environ.get(SUMMARY_ENV) or DEFAULT_SUMMARY)
        path.parent.mkdir(parents=True, exist_ok=True)
        runs: list = []
        if path.exists():
            try:
                runs = json.loads(path.read_text())
                if not isinstance(runs, list):
                    raise ValueError("not a list")
            except ValueError:  # unreadable: keep it aside rather than lose or extend it
                path.replace(path.with_suffix(".unreadable.json"))
                runs = []
        runs.append(self.record())
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(runs, indent=1, default=float) + "\n")
        tmp.replace(path)
        print(f"== {self.benchmark}: {self.status}; record appended to {path}", flush=True)
        return 0 if self.status != "disagree" else 1
