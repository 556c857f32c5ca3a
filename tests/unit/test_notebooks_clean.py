"""Curated notebooks are committed clean: no outputs, no execution counts, no volatile metadata, in the
form the nbstripout git filter (installed by make lab) writes, so a notebook saved from JupyterLab
after a run shows no change in git."""

from __future__ import annotations

import copy
import re
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parents[2]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))
METADATA = {"kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"},
            "language_info": {"name": "python"}}


def _extra_keys() -> str:
    return re.search(r"^NB_EXTRA_KEYS := (.*)$", (ROOT / "Makefile").read_text(), re.M).group(1)


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_is_committed_without_outputs_or_volatile_metadata(path):
    text = path.read_text(encoding="utf-8")
    nb = nbformat.reads(text, as_version=4)
    assert nb.metadata == METADATA
    for index, cell in enumerate(nb.cells):
        assert set(cell.metadata) <= {"tags"}, (index, cell.metadata)
        assert cell.id == str(index)  # the ids the filter writes, stable across saves
        if cell.cell_type == "code":
            assert cell.outputs == [] and cell.execution_count is None, index
    assert text == nbformat.writes(nb) + "\n"  # nbformat's own layout, as Lab and the filter write it


def _as_lab_saves_it(nb):
    """What JupyterLab writes after running a notebook: outputs, counts, full language_info, widget state."""
    saved = copy.deepcopy(nb)
    saved.metadata["language_info"] = {"codemirror_mode": {"name": "ipython", "version": 3}, "file_extension": ".py",
                                       "mimetype": "text/x-python", "name": "python", "nbconvert_exporter": "python",
                                       "pygments_lexer": "ipython3", "version": "3.11.2"}
    saved.metadata["widgets"] = {"application/vnd.jupyter.widget-state+json": {"state": {}, "version_major": 2,
                                                                               "version_minor": 0}}
    for n, cell in enumerate(c for c in saved.cells if c.cell_type == "code"):
        cell.execution_count = n + 1
        cell.outputs = [nbformat.v4.new_output("stream", name="stdout", text="x\n")]
        cell.metadata["execution"] = {"iopub.status.busy": "2026-01-01T00:00:00.000000Z"}
        cell.metadata["scrolled"] = True
    return saved


@pytest.mark.parametrize("path", NOTEBOOKS[:2], ids=lambda p: p.stem)
def test_the_git_filter_turns_a_notebook_saved_from_lab_back_into_the_committed_file(path):
    pytest.importorskip("nbstripout")
    committed = path.read_text(encoding="utf-8")
    saved = nbformat.writes(_as_lab_saves_it(nbformat.reads(committed, as_version=4))) + "\n"
    assert saved != committed
    cleaned = subprocess.run([sys.executable, "-m", "nbstripout", "--extra-keys", _extra_keys()], input=saved,
                             capture_output=True, text=True, check=True).stdout
    assert cleaned == committed
