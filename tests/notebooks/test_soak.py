"""Soak test (marked ``soak``, not in ``make test``; run with ``make soak``): every curated notebook, N times, from cold caches.

Each round runs ``toolkit run notebooks/*.ipynb`` in one process, as ``make demo`` does, with empty
matplotlib, numba and bytecode caches, and fails on any stalled cell (the runner stops a cell
with no output and an idle kernel after 90 s, issue 18) and on any cell slower than the limit.
Run it with::

    SOAK_RUNS=10 .venv/bin/python -m pytest -m soak tests/notebooks/test_soak.py -s

``SOAK_RUNS`` (default 10), ``SOAK_SCALE`` (default: the notebooks' own, full scale),
``SOAK_CELL_LIMIT`` (seconds, default 120) and ``SOAK_LOG`` (a file to append one JSON line per
round to) tune it. Full scale reads the dataset ``make data`` writes; it is generated first
when missing.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parents[2]
NOTEBOOKS = sorted(str(p.relative_to(ROOT)) for p in (ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
pytestmark = [pytest.mark.soak, pytest.mark.slow, pytest.mark.notebooks]
LINE = re.compile(r"^(?P<nb>\S+\.ipynb): (?P<total>[\d.]+) s \(slowest: cell (?P<cell>\d+), (?P<slowest>[\d.]+) s: "
                  r"(?P<source>.*)\) -> ")


def _cold_env(cache: Path) -> dict:
    return {**os.environ, "PYTHONPATH": str(ROOT), "MPLCONFIGDIR": str(cache / "matplotlib"),
            "NUMBA_CACHE_DIR": str(cache / "numba"), "PYTHONPYCACHEPREFIX": str(cache / "pycache")}


def _toolkit(args: list[str], env: dict, timeout: float) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "toolkit.cli", *args], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=timeout)


def test_every_notebook_runs_again_and_again_without_a_stall(tmp_path):
    runs = int(os.environ.get("SOAK_RUNS", "10"))
    limit = float(os.environ.get("SOAK_CELL_LIMIT", "120"))
    scale = os.environ.get("SOAK_SCALE")
    data = ROOT / "datasets" / "generated"
    if scale is None and not (data / "manifest.json").exists():
        made = _toolkit(["data", "--out", str(data), "--quiet"], dict(os.environ, PYTHONPATH=str(ROOT)), 1800)
        assert made.returncode == 0, made.stderr
    worst: dict[str, float] = {}
    for round_ in range(1, runs + 1):
        cache = tmp_path / f"round{round_}"
        args = ["run", *NOTEBOOKS, "--out", str(cache / "reports"), "--quiet"]
        args += ["-p", f"SCALE={scale}"] if scale is not None else []
        start = time.monotonic()
        done = _toolkit(args, _cold_env(cache), timeout=3 * 3600)
        seconds = time.monotonic() - start
        cells = {m["nb"]: (float(m["slowest"]), int(m["cell"]), m["source"])
                 for m in map(LINE.match, done.stdout.splitlines()) if m}
        entry = {"round": round_, "seconds": round(seconds, 1), "status": done.returncode,
                 "slowest": {nb: {"seconds": s, "cell": c, "source": src} for nb, (s, c, src) in cells.items()},
                 "error": done.stderr.strip().splitlines()[-1:] if done.returncode else []}
        print(json.dumps(entry), flush=True)
        if os.environ.get("SOAK_LOG"):
            with open(os.environ["SOAK_LOG"], "a", encoding="utf-8") as log:
                log.write(json.dumps(entry) + "\n")
        assert done.returncode == 0, f"round {round_}: {done.stderr[-2000:]}"
        assert set(cells) == set(NOTEBOOKS), done.stdout
        for nb, (slowest, cell, source) in cells.items():
            worst[nb] = max(worst.get(nb, 0.0), slowest)
            assert slowest < limit, f"round {round_}: {nb} cell {cell} ({source}) took {slowest:.0f} s"
    print("slowest cell per notebook over", runs, "rounds:", json.dumps(worst), flush=True)


def test_a_stalled_cell_fails_the_run_within_two_minutes_naming_it(tmp_path):
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nb.cells = [nbformat.v4.new_code_cell("x = 1"), nbformat.v4.new_code_cell("import threading\n"
                                                                             "threading.Event().wait()  # forever")]
    path = tmp_path / "stalls.ipynb"
    nbformat.write(nb, str(path))
    start = time.monotonic()
    done = _toolkit(["run", str(path), "--out", str(tmp_path / "out"), "--quiet"], _cold_env(tmp_path), 600)
    took = time.monotonic() - start
    assert done.returncode == 1 and took < 130, (took, done.stderr)
    [line] = done.stderr.strip().splitlines()
    assert "stalls.ipynb: cell 1 (import threading) made no progress for" in line
    assert (tmp_path / "out" / "stalls.ipynb").exists()  # the partial notebook is kept
