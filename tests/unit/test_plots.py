"""The standard pictures draw what they are given."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402

from toolkit import plots  # noqa: E402
from toolkit.errors import DataValidationError  # noqa: E402


def test_forecast_plot_draws_history_forecast_interval_and_actuals():
    h = pd.DataFrame({"date": pd.date_range("2024-01-01", periods=10), "units": np.arange(10.0)})
    p = pd.DataFrame({"date": pd.date_range("2024-01-11", periods=3), "forecast": [9.0, 9, 9], "lo": 7.0, "hi": 11.0})
    ax = plots.forecast(h, p, lower_col="lo", upper_col="hi", actual=h.tail(2), title="x")
    np.testing.assert_array_equal(ax.lines[0].get_ydata(), h["units"])
    np.testing.assert_array_equal(ax.lines[1].get_ydata(), p["forecast"])
    assert len(ax.collections) == 2  # the band and the actuals
    assert ax.get_title() == "x"


def test_inventory_paths_and_frontier():
    paths = pd.DataFrame({"sku": ["a"] * 3 + ["b"] * 3, "warehouse": "WH01", "date": list(pd.date_range("2024-01-01", periods=3)) * 2,
                          "on_hand": [5.0, 2, 0, 3, 3, 3], "unmet": [0.0, 0, 1, 0, 0, 0]})
    ax = plots.inventory_paths(paths, reorder_point={("a", "WH01"): 2.0})
    assert len([line for line in ax.lines if len(line.get_xdata()) == 3]) == 2
    table = pd.DataFrame({"policy": ["x", "x", "y"], "fill_rate": [0.9, 0.95, 0.93], "total_cost": [10.0, 12, 11]})
    ax = plots.frontier(table, highlight="y")
    assert len(ax.lines) == 2
    ax = plots.backtest_errors(pd.DataFrame({"model": ["a", "b"], "wape": [0.3, 0.2]}))
    assert len(ax.patches) == 2


def test_inventory_paths_leave_headroom_above_the_highest_level_and_keep_the_legend_off_the_lines():
    paths = pd.DataFrame({"sku": "a", "warehouse": "WH01", "date": pd.date_range("2024-01-01", periods=4),
                          "on_hand": [4.0, 10.0, 6.0, 2.0], "unmet": 0.0})
    ax = plots.inventory_paths(paths, reorder_point={("a", "WH01"): 10.0})
    assert ax.get_ylim()[1] >= 10.0 * 1.1  # the dashed order-up-to line is inside the frame, not on its edge
    legend = ax.get_legend()
    assert legend.get_bbox_to_anchor().x0 >= ax.get_window_extent().x1 - 1  # anchored right of the axes


def _frames():
    days = pd.date_range("2024-01-01", periods=3)
    return {
        "history": pd.DataFrame({"date": days, "units": [1.0, 2.0, 3.0]}),
        "paths": pd.DataFrame({"sku": "a", "warehouse": "WH01", "date": days, "on_hand": [3.0, 2, 1], "unmet": 0.0}),
        "frontier": pd.DataFrame({"policy": ["x", "x"], "fill_rate": [0.9, 0.95], "total_cost": [10.0, 12.0]}),
        "errors": pd.DataFrame({"model": ["a", "b"], "wape": [0.3, 0.2]}),
    }


@pytest.mark.parametrize("draw, size", [
    (lambda f: plots.forecast(f["history"], f["history"].rename(columns={"units": "forecast"})), (10, 3.5)),
    (lambda f: plots.inventory_paths(f["paths"]), (10, 3.5)),
    (lambda f: plots.frontier(f["frontier"]), (6, 4)),
    (lambda f: plots.delay_distribution([0.0, 1.0, 1.0, 3.0]), (6, 3.5)),
    (lambda f: plots.backtest_errors(f["errors"]), (6, 3)),
])
def test_a_new_figure_has_the_documented_size_of_its_picture(draw, size):
    ax = draw(_frames())
    np.testing.assert_array_equal(ax.figure.get_size_inches(), size)
    plt.close(ax.figure)


def test_an_ax_that_is_not_axes_is_refused_with_its_type():
    with pytest.raises(DataValidationError) as err:
        plots.frontier(_frames()["frontier"], ax="left")
    assert err.value.parameter == "ax"
    assert str(err.value) == "parameter 'ax': expected a matplotlib Axes, got 'str'"
