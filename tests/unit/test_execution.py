"""The notebook runner: cells timed, a stalled cell stopped and named fast, a busy or talkative cell left alone,
and the explorers' widget cells finishing when the kernel does (the lost-reply stall of issue 18)."""

from __future__ import annotations

import time

import nbformat
import pytest

from toolkit.report.execution import StalledCellError, execute_notebook

pytestmark = pytest.mark.notebooks


def _notebook(*sources: str):
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nb.cells = [nbformat.v4.new_code_cell(s) for s in sources]
    return nb


def test_a_stalled_cell_is_stopped_and_named(tmp_path):
    nb = _notebook("x = 1", "import time\ntime.sleep(600)  # waits on nothing", "y = 2")
    start = time.monotonic()
    with pytest.raises(StalledCellError) as err:
        execute_notebook(nb, name="stalled.ipynb", cwd=tmp_path, stall_timeout=6)
    took = time.monotonic() - start
    assert err.value.cell_index == 1 and err.value.notebook == "stalled.ipynb"
    assert "cell 1 (import time)" in str(err.value) and "no progress for" in str(err.value)
    assert took < 60  # 6 s of no progress, checked every 1.5 s, plus kernel start and shutdown
    assert nb.cells[0].outputs == [] and nb.cells[0].execution_count == 1 and nb.cells[2].execution_count is None


def test_busy_or_printing_cells_are_not_stalls_and_every_cell_is_timed(tmp_path):
    busy = "import time\nt = time.perf_counter()\nwhile time.perf_counter() - t < 8: pass"
    talks = "import time\nfor i in range(8):\n    print(i, flush=True); time.sleep(1)"
    result = execute_notebook(_notebook(busy, talks, "z = 3"), name="ok.ipynb", cwd=tmp_path, stall_timeout=4)
    assert [c.index for c in result.cells] == [0, 1, 2]
    assert result.cells[0].seconds >= 8 and result.cells[1].seconds >= 8 and result.cells[2].seconds < 5
    assert result.slowest.index in (0, 1)


EXPLORER = '''
import ipywidgets as w
from matplotlib.figure import Figure
from toolkit.widgets import Explorer

class Demo(Explorer):
    def __init__(self):
        self.controls = {"n": w.IntSlider(value=3, min=1, max=9, description="n")}
        self.wire()
    def update(self, *_):
        fig = Figure(figsize=(3, 2)); fig.subplots().plot(range(self.controls["n"].value))
        self.show(fig, f"n = {self.controls['n'].value}")
demo = Demo()
demo
'''


def test_explorer_cells_finish_with_the_kernel_and_keep_their_last_view(tmp_path):
    # 15 widget cells drawn and redrawn from code; before the fix about one such cell in 30 waited for its timeout
    nb = _notebook(EXPLORER, *[f"demo.controls['n'].value = {i % 9 + 1}" for i in range(14)])
    result = execute_notebook(nb, name="widgets.ipynb", cwd=tmp_path, stall_timeout=20, timeout=60)
    assert max(c.seconds for c in result.cells) < 15
    state = nb.metadata["widgets"]["application/vnd.jupyter.widget-state+json"]["state"]
    outputs = [m["state"]["outputs"] for m in state.values() if m["model_name"] == "OutputModel"]
    assert len(outputs) == 1 and outputs[0][1]["text"] == f"n = {13 % 9 + 1}\n"
    assert "image/png" in outputs[0][0]["data"]


CAPTURE = '''
import ipywidgets as w
from IPython.display import display
out = w.Output()
display(out)
'''


def test_output_captured_by_a_widget_does_not_delay_the_reply(tmp_path):
    # `with out:` makes the runner mirror each captured item to the kernel on the shell channel while it
    # waits there for the reply (the runner half of issue 18): every such cell must end with the kernel.
    cells = [f"with out:\n    out.clear_output(wait=True)\n    print({i})\n    display({{'n': {i}}})" for i in range(20)]
    result = execute_notebook(_notebook(CAPTURE, *cells), name="capture.ipynb", cwd=tmp_path, stall_timeout=20,
                              timeout=60)
    assert len(result.cells) == 21 and max(c.seconds for c in result.cells) < 15
