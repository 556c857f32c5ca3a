"""Shared test configuration: GPU tests skip themselves on machines without a usable GPU; curated
notebooks are executed once per session (the notebook tests and the browser tests read the same runs)."""

from __future__ import annotations

import json
from pathlib import Path

import os

import pytest
from hypothesis import settings

from toolkit import backend

# Hypothesis: `make test` (and so CI) replays the same examples on every run, so a red build always
# points at a change in the code, never at a new random draw; HYPOTHESIS_PROFILE=explore draws fresh
# examples on each run (and keeps the failures it finds in .hypothesis/) to hunt for new edge cases.
settings.register_profile("repeatable", derandomize=True, database=None, print_blob=True)
settings.register_profile("explore", print_blob=True)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "repeatable"))


def pytest_collection_modifyitems(config, items):
    if backend.gpu_available():
        return
    skip_gpu = pytest.mark.skip(reason="no usable GPU (NVML device count 0 or probe allocation failed)")
    for item in items:  # the marker, not item.keywords: those hold directory names too (a checkout in ~/gpu)
        if item.get_closest_marker("gpu") is not None:
            item.add_marker(skip_gpu)


@pytest.fixture(autouse=True)
def _cpu_backend_unless_gpu_test(request, monkeypatch):
    """Tests create data on the CPU unless marked ``gpu``, whatever TOOLKIT_BACKEND says."""
    if request.node.get_closest_marker("gpu") is None:
        monkeypatch.setenv("TOOLKIT_BACKEND", "cpu")
    yield


@pytest.fixture(scope="session")
def notebook_run(tmp_path_factory):
    """``run(name, params)``: the :class:`~toolkit.report.NotebookRun` of ``notebooks/<name>`` with ``params``,
    executed once per session. ``{tmp}`` in a string parameter is the run's own temporary folder."""
    from toolkit.report import run_notebook

    runs: dict = {}

    def run(name: str, params: dict):
        key = (name, json.dumps(params, sort_keys=True))
        if key not in runs:
            folder = tmp_path_factory.mktemp(Path(name).stem)
            given = {k: v.replace("{tmp}", str(folder)) if isinstance(v, str) else v for k, v in params.items()}
            runs[key] = run_notebook(Path(__file__).resolve().parents[1] / "notebooks" / name, given,
                                     output_dir=folder / "report")
        return runs[key]

    return run
