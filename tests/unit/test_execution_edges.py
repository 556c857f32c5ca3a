"""The notebook runner's pieces that need no kernel (issue 19): message lines and the client's handling of
cells it does not execute. The runs with a kernel are in test_execution.py (marked ``notebooks``)."""

from __future__ import annotations

import nbformat
import pytest

from toolkit.report.execution import _client_class, first_line


@pytest.mark.parametrize("source,want", [
    ("\n   \n  x = 1  \ny = 2", "x = 1"),
    ("a" * 60, "a" * 60),  # 60 characters fit
    ("a" * 61, "a" * 57 + "..."),  # 61 do not: 57 kept and an ellipsis, 60 in all
    ("", ""),
])
def test_first_line_is_the_first_non_blank_line_cut_to_60_characters(source, want):
    assert first_line(source) == want
    assert len(first_line(source)) <= 60


def test_cells_not_executed_reach_nbclient_with_their_own_index_and_are_not_timed():
    """A markdown or blank code cell goes to nbclient unchanged: its on_cell_start hook sees the cell's
    index (not the execution count), the cell comes back as it was, no kernel is asked, no time kept."""
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_markdown_cell("# title"), nbformat.v4.new_code_cell("  \n")]
    seen = []
    client = _client_class()(nb, notebook_name="nb.ipynb", stall_timeout=5.0,
                             on_cell_start=lambda cell, cell_index: seen.append((cell.cell_type, cell_index)))
    client.kc = object()  # nbclient asserts a kernel client exists; a skipped cell never uses it
    for index, cell in enumerate(nb.cells):
        # nbclient's synchronous wrapper: runs whether or not an event loop is already running here
        assert client.execute_cell(cell, index, execution_count=7) is cell
    assert seen == [("markdown", 0), ("code", 1)]
    assert client.cell_times == [] and nb.cells[1].outputs == []
