"""Explorers driven from Python: changing a control changes what they compute."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402

from toolkit import widgets  # noqa: E402
from toolkit.decisions import inventory as inv  # noqa: E402
from toolkit.errors import DataValidationError  # noqa: E402


@pytest.fixture()
def panel():
    rng = np.random.default_rng(0)
    dates = pd.date_range("2024-01-01", periods=40)
    hist = pd.DataFrame({
        "sku": np.repeat(["A", "B"], 40), "location": "web", "date": np.tile(dates, 2),
        "units": rng.poisson(5, 80).astype(float),
    })
    future = pd.date_range("2024-02-10", periods=7)
    fc = pd.DataFrame({"sku": np.repeat(["A", "B"], 7), "location": "web", "date": np.tile(future, 2),
                       "forecast": np.r_[np.full(7, 5.0), np.full(7, 9.0)]})
    fc["q0.1"], fc["q0.9"] = fc["forecast"] - 2, fc["forecast"] + 2
    return hist, {"global": fc, "naive": fc.assign(forecast=1.0)}


def test_select_forecast_matches_pandas_filter(panel):
    hist, forecasts = panel
    h, f = widgets.select_forecast(hist, forecasts, ("B", "web"), "global", 3, history_days=10)
    expected = hist[hist["sku"] == "B"].sort_values("date").tail(10)
    pd.testing.assert_frame_equal(h, expected)
    assert f["date"].tolist() == list(pd.date_range("2024-02-10", periods=3))
    assert (f["forecast"] == 9.0).all()
    with pytest.raises(DataValidationError, match="model"):
        widgets.select_forecast(hist, forecasts, ("B", "web"), "arima", 3)
    with pytest.raises(DataValidationError, match="horizon"):
        widgets.select_forecast(hist, forecasts, ("B", "web"), "global", 0)


def test_forecast_explorer_follows_its_controls(panel):
    hist, forecasts = panel
    explorer = widgets.ForecastExplorer(hist, forecasts, lower_col="q0.1", upper_col="q0.9")
    assert set(explorer.selection[0]["sku"]) == {"A"} and len(explorer.selection[1]) == 7
    explorer.controls["sku"].value = "B"
    assert set(explorer.selection[0]["sku"]) == {"B"}
    assert (explorer.selection[1]["forecast"] == 9.0).all()
    explorer.controls["horizon"].value = 2
    assert len(explorer.selection[1]) == 2
    explorer.controls["model"].value = "naive"
    assert (explorer.selection[1]["forecast"] == 1.0).all()


def _inventory_inputs():
    rng = np.random.default_rng(1)
    demand = rng.poisson(10.0, size=(5, 60)).astype(float)
    errors = rng.normal(0, 3, size=(5, 150))
    return demand, np.array([1, 2, 3, 2, 1]), np.full(5, 10.0), errors


def test_inventory_what_if_is_the_frontier_row_at_the_chosen_level():
    demand, lead, forecast, errors = _inventory_inputs()
    table, frontier = widgets.inventory_what_if(demand, lead, forecast=forecast, errors=errors, service_level=0.93,
                                                extra_lead_time=2, ordering_cost=4.0)
    direct = inv.service_cost_frontier(demand, lead + 2, forecast=forecast, errors=errors, service_levels=[0.93],
                                       ordering_cost=4.0)
    np.testing.assert_allclose(table["total_cost"], direct["total_cost"])
    assert 0.93 in set(frontier["service_target"])
    with pytest.raises(DataValidationError, match="extra_lead_time"):
        widgets.inventory_what_if(demand, lead, forecast=forecast, errors=errors, extra_lead_time=-1)


def test_inventory_what_if_widget_replans_when_controls_move():
    demand, lead, forecast, errors = _inventory_inputs()
    w = widgets.InventoryWhatIf(demand, lead, forecast=forecast, errors=errors, ordering_cost=4.0)
    before = w.table.set_index("policy")
    w.controls["service_level"].value = 0.99
    higher = w.table.set_index("policy")
    assert (higher["safety_stock"] > before["safety_stock"]).all()
    w.controls["extra_lead_time"].value = 4
    longer = w.table.set_index("policy")
    assert (longer["avg_on_hand"] > higher["avg_on_hand"]).all()
    w.controls["shortage_cost"].value = 100.0
    assert (w.table.set_index("policy")["shortage_cost"] >= 10 * longer["shortage_cost"] - 1e-9).all()
    w.controls["holding_cost"].value = 0.1
    np.testing.assert_allclose(w.table["holding_cost"], 0.1 * w.table["avg_on_hand"] * demand.shape[1])


# --------------------------------------------------------------------------- figures and messages (issue 19)


def test_output_item_renders_a_figure_at_100_pixels_per_inch_whatever_its_dpi():
    import base64
    import io

    from matplotlib.figure import Figure
    from matplotlib.patches import Rectangle
    from PIL import Image

    fig = Figure(figsize=(2, 1), dpi=50)
    fig.patches.append(Rectangle((0, 0), 1, 1, transform=fig.transFigure))  # content to the edges: no crop
    with matplotlib.rc_context({"savefig.pad_inches": 0.0}):
        item = widgets.output_item(fig)
    assert item["data"]["text/plain"] == "<Figure size 200x100 with 0 Axes>"
    png = Image.open(io.BytesIO(base64.b64decode(item["data"]["image/png"])))
    assert png.size == (200, 100)  # 2 x 1 inches at 100 dpi, as the text says


def test_forecast_explorer_draws_on_a_figure_of_its_size(panel):
    hist, forecasts = panel
    explorer = widgets.ForecastExplorer(hist, forecasts)
    figure = explorer.output.outputs[0]
    assert figure["data"]["text/plain"] == "<Figure size 1000x350 with 1 Axes>"  # 10 x 3.5 inches


def test_select_deliveries_says_which_column_the_explorer_misses():
    ship = pd.DataFrame({"carrier": ["A"], "zone": [1], "actual_days": [3.0],
                         "ship_date": pd.to_datetime(["2024-01-01"])})
    empty = pd.DataFrame({"carrier": [], "zone": [], "is_anomaly": []})
    with pytest.raises(DataValidationError) as err:
        widgets.select_deliveries(ship, empty, empty, "A", 1, "2024-01-01")
    assert err.value.column == "promised_days"
    assert str(err.value) == ("column 'promised_days': missing (needed by the delivery explorer); available columns: "
                              "['carrier', 'zone', 'actual_days', 'ship_date']")
