"""Packaging promises: the conda environment carries every runtime dependency, GPU pins match RAPIDS."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
CONDA_NAMES = {"torch": "pytorch", "redis": "redis-py", "confluent-kafka": "python-confluent-kafka"}  # pip -> conda-forge


def _name(requirement: str) -> str:
    return re.split(r"[\s\[<>=!~;]", requirement, maxsplit=1)[0].lower()


def test_environment_yml_has_every_runtime_dependency():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    env = (ROOT / "environment.yml").read_text()
    listed = {_name(line.strip()[2:]) for line in env.splitlines() if line.strip().startswith("- ")}
    missing = [dep for dep in project["dependencies"] if CONDA_NAMES.get(_name(dep), _name(dep)) not in listed]
    assert not missing, f"environment.yml lacks {missing}"
    assert "-e \".[data]\"" in env and "rapidsai" in env and "conda-forge" in env


def test_pins_leave_room_for_rapids_26_10():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    deps = {(_name(d)): d for d in project["dependencies"]}
    assert deps["pandas"].replace(" ", "") == "pandas>=3.0,<3.1"
    assert deps["numpy"].replace(" ", "") == "numpy>=2,<3"
    assert "2026.7.1" in deps["dask"]
    extras = project["optional-dependencies"]
    assert extras["gpu"] == ["toolkit[gpu-cu12]"]
    for cuda in ("12", "13"):
        gpu = extras[f"gpu-cu{cuda}"]
        for package in (f"cudf-cu{cuda}", f"cuml-cu{cuda}", f"dask-cudf-cu{cuda}", "dask-cuda"):
            assert any(g.startswith(package) and "26.10" in g for g in gpu), (cuda, package)
        assert any(g.startswith(f"cupy-cuda{cuda}x") for g in gpu), cuda
