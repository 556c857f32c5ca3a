"""Edges of the inventory functions where planted bugs survived (issue 19): a simulation over no
days with its paths, the value shown for a bad scalar, and which panel an empty frame is.

References: the simulation's definitions at zero days (nothing demanded, so nothing served,
ordered or charged; fill rate 1 by the kernel's convention for no demand, cycle service level
undefined); the messages' own format (``got <value>``, ``nothing in the <which> panel``).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from toolkit.decisions import inventory as inv
from toolkit.decisions.inventory.simulation import PATHS
from toolkit.errors import DataValidationError


def test_simulation_over_no_days_returns_empty_paths_and_zero_costs():
    kpi = inv.simulate_policy(np.zeros((2, 0)), "sS", {"s": 2.0, "S": 5.0}, lead_time=1, review_period=2,
                              holding_cost=1.0, shortage_cost=3.0, ordering_cost=10.0, return_paths=True)
    for path in PATHS:
        assert kpi[f"{path}_path"].shape == (2, 0)
        assert kpi[f"{path}_path"].dtype == np.float64
    for name in ("demand", "unmet_demand", "orders_placed", "stockout_days", "avg_on_hand", "total_cost"):
        np.testing.assert_array_equal(kpi[name], [0.0, 0.0])
    np.testing.assert_array_equal(kpi["fill_rate"], [1.0, 1.0])
    assert np.isnan(kpi["cycle_service_level"]).all()


NOT_FINITE = "NaN or infinite values; every value must be a finite number"


@pytest.mark.parametrize("call, shown", [
    (lambda: inv.standard_normal_loss(float("nan")), f"parameter 'z': {NOT_FINITE}, got nan"),
    (lambda: inv.eoq(float("inf"), 1.0, 1.0), f"parameter 'demand': {NOT_FINITE}, got inf"),
])
def test_a_non_finite_scalar_is_shown_in_the_message(call, shown):
    with pytest.raises(DataValidationError) as err:
        call()
    assert str(err.value) == shown


def _panel(name, n_days):
    dates = pd.date_range("2024-01-01", periods=n_days)
    return pd.DataFrame({"sku": "A", "warehouse": "W1", "date": dates, name: np.ones(n_days)})


@pytest.mark.parametrize("empty", ["forecast", "errors"])
def test_lead_time_demand_says_which_panel_is_empty(empty):
    forecast, errors = _panel("forecast", 5), _panel("error", 30)
    if empty == "forecast":
        forecast = forecast.iloc[:0]
    else:
        errors = errors.iloc[:0]
    with pytest.raises(DataValidationError, match=rf"^the frame is empty \(nothing in the {empty} panel\)$"):
        inv.lead_time_demand(forecast, errors, lead_time=2)
