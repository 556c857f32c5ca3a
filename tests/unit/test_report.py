"""record/read_records round trip through a real notebook file, and the CLI's parameter parsing."""

from __future__ import annotations

import nbformat
import numpy as np
import pytest

from toolkit.cli import _parameter
from toolkit.errors import DataValidationError
from toolkit.report import RECORD_MIME, _jsonable, read_records


def test_read_records_finds_mime_outputs_and_last_wins(tmp_path):
    nb = nbformat.v4.new_notebook()
    cell = nbformat.v4.new_code_cell("x")
    cell.outputs = [
        nbformat.v4.new_output("display_data", data={RECORD_MIME: {"name": "wape", "value": 0.5}}),
        nbformat.v4.new_output("display_data", data={"text/plain": "ignored"}),
        nbformat.v4.new_output("display_data", data={RECORD_MIME: {"name": "wape", "value": 0.25}}),
        nbformat.v4.new_output("display_data", data={RECORD_MIME: {"name": "n", "value": [1, 2]}}),
    ]
    nb.cells = [cell]
    path = tmp_path / "nb.ipynb"
    nbformat.write(nb, str(path))
    assert read_records(path) == {"wape": 0.25, "n": [1, 2]}


def test_jsonable_converts_numpy_and_rejects_objects():
    assert _jsonable(np.float32(1.5)) == 1.5
    assert _jsonable(np.array([1, 2])) == [1, 2]
    assert _jsonable({"a": np.nan}) == {"a": None}
    with pytest.raises(DataValidationError, match="record"):
        _jsonable(object())


def test_cli_parameters_are_literals_when_possible():
    assert _parameter("SCALE=0.2") == ("SCALE", 0.2)
    assert _parameter("BACKEND=cpu") == ("BACKEND", "cpu")
    assert _parameter("N=[1, 2]") == ("N", [1, 2])


def test_default_parameters_are_read_from_the_tagged_cell(tmp_path):
    from toolkit.report import _default_parameters

    nb = nbformat.v4.new_notebook()
    params = nbformat.v4.new_code_cell('SEED = 7\nBACKEND = "auto"\nSIZES = [1, 2]')
    params.metadata["tags"] = ["parameters"]
    nb.cells = [nbformat.v4.new_code_cell("x = 1"), params]
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    path = tmp_path / "nb.ipynb"
    nbformat.write(nb, str(path))
    assert _default_parameters(path) == {"SEED": 7, "BACKEND": "auto", "SIZES": [1, 2]}
