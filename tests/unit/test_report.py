"""Records, parameters and HTML reports: invisible records, readable summaries, checked parameters,
reports without CDN requests (the widgets' live manager inlined or their last views), notebook titles."""

from __future__ import annotations

import base64
import json
import re
import subprocess
import sys
from pathlib import Path

import nbformat
import numpy as np
import pytest

from toolkit.cli import _parameter
from toolkit.errors import DataValidationError
from toolkit.report import (
    RECORD_MIME,
    format_metric,
    read_metrics,
    read_records,
    summary_markdown,
)
from toolkit.report.html import (
    WIDGET_STATE_MIME,
    WIDGET_VIEW_MIME,
    notebook_title,
    render_html,
    widget_manager_js,
)
from toolkit.report.parameters import (
    check_parameters,
    inject_parameters,
    notebook_parameters,
)
from toolkit.report.records import record, to_json_value

ROOT = Path(__file__).resolve().parents[2]
PNG = base64.b64encode(b"\x89PNG\r\n\x1a\n" + b"0" * 32).decode()


def _record_output(name, value, unit=None):
    return nbformat.v4.new_output("display_data", data={RECORD_MIME: {"name": name, "value": value, "unit": unit}})


def test_read_records_finds_mime_outputs_and_last_wins(tmp_path):
    nb = nbformat.v4.new_notebook()
    cell = nbformat.v4.new_code_cell("x")
    cell.outputs = [_record_output("wape", 0.5), nbformat.v4.new_output("display_data", data={"text/plain": "no"}),
                    _record_output("n", [1, 2], "rows"), _record_output("wape", 0.25, "share")]
    nb.cells = [cell]
    path = tmp_path / "nb.ipynb"
    nbformat.write(nb, str(path))
    assert read_records(path) == {"n": [1, 2], "wape": 0.25}
    assert read_metrics(path)["wape"] == {"value": 0.25, "unit": "share"}


def test_record_is_invisible_and_returns_nothing(monkeypatch):
    shown = []
    monkeypatch.setattr("IPython.display.display", lambda obj, raw=False: shown.append((obj, raw)))
    assert record("cost", np.float64(383372.2164048529), unit="cost units") is None
    [(payload, raw)] = shown
    assert raw and list(payload) == [RECORD_MIME]  # no text/plain a frontend or nbconvert would print
    assert payload[RECORD_MIME] == {"name": "cost", "value": 383372.2164048529, "unit": "cost units"}
    with pytest.raises(DataValidationError, match="unit"):
        record("cost", 1.0, unit=3)


def test_json_values_convert_numpy_and_reject_objects():
    assert to_json_value(np.float32(1.5)) == 1.5
    assert to_json_value(np.array([1, 2])) == [1, 2]
    assert to_json_value({"a": np.nan}) == {"a": None}
    with pytest.raises(DataValidationError, match="record"):
        to_json_value(object())


@pytest.mark.parametrize("value, unit, shown", [
    (0.9123, "share", "91.2 %"), (383372.2164048529, "cost units", "383,372"), (12345, "rows", "12,345"),
    (0.012345, None, "0.0123"), (2.5e-12, "units", "2.5e-12"), (1.23456, "ratio", "1.23"), (None, None, "&ndash;"),
    (True, None, "yes"), ("sS_csl", None, "sS_csl"), (0.0, None, "0"),
])
def test_metrics_are_rounded_for_reading(value, unit, shown):
    assert format_metric(value, unit) == shown


def test_summary_table_has_one_row_per_metric_with_its_unit():
    text = summary_markdown({"fill_rate": {"value": 0.951, "unit": "share"},
                             "route_distance_km": {"value": 1234.567, "unit": "km"}, "winner": {"value": "RS"}})
    rows = [line for line in text.splitlines() if line.startswith("| ") and "---" not in line][1:]
    assert rows == ["| fill rate | 95.1 % | share |", "| route distance km | 1,235 | km |", "| winner | RS |  |"]
    assert summary_markdown({}) == ""


def test_cli_parameters_are_literals_when_possible():
    assert _parameter("SCALE=0.2") == ("SCALE", 0.2)
    assert _parameter("BACKEND=cpu") == ("BACKEND", "cpu")
    assert _parameter("N=[1, 2]") == ("N", [1, 2])


def _parameters_notebook(source):
    params = nbformat.v4.new_code_cell(source)
    params.metadata["tags"] = ["parameters"]
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell("# 07 · A *title*"), params,
                                         nbformat.v4.new_code_cell("y = SCALE")])
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    return nb


SOURCE = 'SCALE = 1.0\nSEED = 0\nBACKEND = "auto"\nZONES = [1, 2]\nLIMIT = None\nFAST = False\nWHEN = now()'


def test_parameters_are_checked_against_the_types_of_their_defaults():
    nb = _parameters_notebook(SOURCE)
    assert notebook_parameters(nb) == {"SCALE": 1.0, "SEED": 0, "BACKEND": "auto", "ZONES": [1, 2], "LIMIT": None,
                                       "FAST": False, "WHEN": "now()"}
    good = {"SCALE": 2, "SEED": 3.0, "BACKEND": "cpu", "ZONES": (3,), "LIMIT": "x", "FAST": True, "WHEN": 5}
    assert check_parameters(nb, good) == {**good, "SEED": 3}
    assert isinstance(check_parameters(nb, {"SEED": 3.0})["SEED"], int)
    bad = {"SCALE": "small", "SEED": 1.5, "BACKEND": 1, "ZONES": "1,2", "FAST": 1}
    for name, value in bad.items():
        with pytest.raises(DataValidationError, match=f"parameter '{name}'") as err:
            check_parameters(nb, {name: value})
        assert repr(value) in str(err.value) and "\n" not in str(err.value)
    with pytest.raises(DataValidationError, match=r"parameter 'SCAL'.*choose from \['BACKEND', 'FAST'"):
        check_parameters(nb, {"SCAL": 0.1})
    with pytest.raises(DataValidationError, match="parameter 'SCALE'"):
        check_parameters(nb, {"SCALE": True})  # a bool is not a number here


def test_injected_parameters_follow_the_parameters_cell_and_replace_an_earlier_injection():
    nb = inject_parameters(_parameters_notebook("SCALE = 1.0"), {"SCALE": 0.1})
    again = inject_parameters(nb, {"SCALE": 0.2})
    assert [c.source for c in again.cells[1:3]] == ["SCALE = 1.0", "# Parameters\nSCALE = 0.2"]
    assert again.cells[2].metadata["tags"] == ["injected-parameters"] and len(again.cells) == 4


def test_a_bad_parameter_is_one_line_from_the_command_before_any_kernel_starts(tmp_path):
    started = __import__("time").monotonic()
    done = subprocess.run([sys.executable, "-m", "toolkit.cli", "run", "notebooks/00_quickstart.ipynb", "-p",
                           "SCALE=small", "--out", str(tmp_path)], cwd=ROOT, capture_output=True, text=True,
                          env={**__import__("os").environ, "PYTHONPATH": str(ROOT)}, timeout=120)
    assert done.returncode == 1 and done.stdout == "" and not any(tmp_path.iterdir())
    [line] = done.stderr.strip().splitlines()
    assert "parameter 'SCALE'" in line and "'small'" in line and "Traceback" not in done.stderr
    assert __import__("time").monotonic() - started < 60


def _executed_with_widget():
    """An executed notebook as nbclient leaves it: a widget view output, its state, records."""
    nb = _parameters_notebook("SCALE = 1.0")
    models = {
        "box": {"model_name": "VBoxModel", "model_module": "@jupyter-widgets/controls", "model_module_version": "2.0.0",
                "state": {"children": ["IPY_MODEL_drop", "IPY_MODEL_slider", "IPY_MODEL_out"]}},
        "drop": {"model_name": "DropdownModel", "model_module": "@jupyter-widgets/controls",
                 "model_module_version": "2.0.0",
                 "state": {"_options_labels": ["SKU1", "SKU2"], "index": 1, "description": "sku"}},
        "slider": {"model_name": "FloatSliderModel", "model_module": "@jupyter-widgets/controls",
                   "model_module_version": "2.0.0", "state": {"value": 0.95, "description": "service"}},
        "out": {"model_name": "OutputModel", "model_module": "@jupyter-widgets/output", "model_module_version": "1.0.0",
                "state": {"outputs": [{"output_type": "display_data", "metadata": {},
                                       "data": {"image/png": PNG, "text/plain": "<Figure>"}}]}},
    }
    nb.metadata["widgets"] = {WIDGET_STATE_MIME: {"version_major": 2, "version_minor": 0, "state": models}}
    nb.cells[2].outputs = [
        nbformat.v4.new_output("display_data", data={WIDGET_VIEW_MIME: {"model_id": "box", "version_major": 2,
                                                                       "version_minor": 0}, "text/plain": "VBox()"}),
        _record_output("total_cost", 383372.2164048529, "cost units")]
    return nb


def _assert_offline(html):
    assert not re.search(r"<(script|link|img)[^>]+(src|href)=\"(https?:)?//", html)  # nothing fetched from a host
    assert "require.min.js" not in html and "MathJax" not in html and "embed-amd" not in html
    assert "383372.2164048529" not in html and RECORD_MIME not in html  # records stay invisible


def test_static_report_shows_each_widget_as_its_last_view_with_the_notebook_title():
    nb = _executed_with_widget()
    html = render_html(nb, title=notebook_title(nb, "x"), footer_markdown="## Recorded metrics", widgets="static")
    _assert_offline(html)
    assert "<title>07 · A title</title>" in html
    assert "<b>sku</b> SKU2" in html and "<b>service</b> 0.95" in html and PNG in html
    assert WIDGET_VIEW_MIME not in html and WIDGET_STATE_MIME not in html
    assert html.index("Recorded metrics") > html.index(PNG)  # the summary ends the report
    assert nb.cells[2].outputs[0]["data"].get(WIDGET_VIEW_MIME)  # the executed notebook is left as it was


def test_live_report_inlines_the_installed_manager_with_its_fonts(tmp_path, monkeypatch):
    dist = tmp_path / "dist"
    dist.mkdir()
    font = b"wOF2 font bytes"
    (dist / "0123456789abcdef0123.woff2").write_bytes(font)
    (dist / "embed.js").write_text('var a=n.p+"0123456789abcdef0123.woff2",b=n.p+"0123456789abcdef0123.eot";'
                                   'var s="</script>";')
    monkeypatch.setenv("TOOLKIT_WIDGET_MANAGER", str(dist))
    js = widget_manager_js()
    assert f'"data:font/woff2;base64,{base64.b64encode(font).decode()}"' in js and 'b="data:,"' in js
    assert "</script>" not in js
    html = render_html(_executed_with_widget(), title="t", widgets="live")
    _assert_offline(html)
    assert js in html and WIDGET_VIEW_MIME in html and WIDGET_STATE_MIME in html
    monkeypatch.setenv("TOOLKIT_WIDGET_MANAGER", str(tmp_path / "missing"))
    assert widget_manager_js() is None
    with pytest.raises(DataValidationError, match="widgets"):
        render_html(_executed_with_widget(), title="t", widgets="live")
    assert PNG in render_html(_executed_with_widget(), title="t")  # auto: the last views when no manager


def test_titles_come_from_the_first_heading():
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell("text\n## 03 · `Logistics`: routes")])
    assert notebook_title(nb, "fallback") == "03 · Logistics: routes"
    assert notebook_title(nbformat.v4.new_notebook(), "fallback") == "fallback"
    assert json.loads(json.dumps(to_json_value({"a": [np.int64(2)]}))) == {"a": [2]}
