"""The live dashboard: widgets follow the engine, a static snapshot for reports, ipywidgets imported lazily."""

from __future__ import annotations

import base64
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

from tests.stream_support import orders_frame, sales_history
from toolkit.errors import DataValidationError
from toolkit.stream import DemandMonitor, MemorySink, ReplaySource, StreamEngine
from toolkit.stream.dashboard import LiveDashboard, sparkline_png


def _board():
    engine = StreamEngine([DemandMonitor().fit(sales_history(n_series=4))], alerts=MemorySink())
    return engine, LiveDashboard(engine, refresh_s=0.0)


def test_widgets_follow_the_stream_and_the_dropdown_redraws():
    engine, board = _board()
    box = board.widget
    assert "no alert yet" in board._table_w.value
    orders = orders_frame(n_series=4, per_series=150)  # ~300 units a day against ~20: all four spike
    engine.run(ReplaySource({"orders": orders}), flush=False)
    assert board.stats["events"] == len(orders) and f"{len(orders):,}" in board._status_w.value
    assert board._table_w.value.count("<tr>") == 1 + 4 and "demand_spike" in board._table_w.value
    options = list(board.controls["series"].options)
    assert len(options) == 4 and all(o.startswith("sku=S0") for o in options)
    first = bytes(board._image_w.value)
    assert first.startswith(b"\x89PNG")
    board.controls["series"].value = next(o for o in options if o != board.controls["series"].value)
    assert bytes(board._image_w.value) != first and len(box.children) == 4


def test_snapshot_is_static_html_with_the_sparkline_inline():
    engine, board = _board()
    engine.run(ReplaySource({"orders": orders_frame(n_series=4, per_series=150)}), flush=False)
    page = board.snapshot_html()
    assert page.count("data:image/png;base64,") == 1 and "demand_spike" in page and "sku=S0" in page
    png = base64.b64decode(page.split("base64,")[1].split('"')[0])
    assert png.startswith(b"\x89PNG")
    assert "no alert yet" not in page


def test_sparkline_shows_history_so_far_and_band():
    png = sparkline_png(np.r_[np.full(5, 4.0), np.nan, 6.0], so_far=9.0, forecast=5.0, lower=2.0, upper=8.0)
    assert png.startswith(b"\x89PNG") and len(png) > 1000


def test_importing_the_package_does_not_import_ipywidgets():
    code = "import sys, toolkit.stream, toolkit.stream.dashboard; print('ipywidgets' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_dashboard_refuses_what_is_not_an_engine():
    with pytest.raises(DataValidationError, match="engine"):
        LiveDashboard(pd.DataFrame())
    engine, _ = _board()
    with pytest.raises(DataValidationError, match="max_alerts"):
        LiveDashboard(engine, max_alerts=0)
