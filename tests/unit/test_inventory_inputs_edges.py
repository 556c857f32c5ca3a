"""Inventory inputs at their edges (issue 19): which namespace converts them, which column an error names,
and per-series values read from a frame whatever row order a join returns.

``DeviceArray`` stands in for a CuPy array on this CPU-only suite: it speaks the array API
(``__array_namespace__``) and, like CuPy, refuses an implicit conversion to a host array. A
function that takes its namespace from every array argument converts the other (host)
arguments with that namespace; one that skips an argument converts the device array with
NumPy and fails.
"""

from __future__ import annotations

import types

import array_api_compat.numpy as compat_numpy
import numpy as np
import pandas as pd
import pytest
from scipy.stats import norm

from toolkit.decisions import inventory as inv
from toolkit.errors import DataValidationError


class DeviceArray:
    """An array-API array whose values cannot be read by ``np.asarray`` (as CuPy's)."""

    def __init__(self, values):
        self.values = np.asarray(values, dtype=np.float64)

    @property
    def shape(self):
        return self.values.shape

    @property
    def ndim(self):
        return self.values.ndim

    def __array__(self, *args, **kwargs):
        raise TypeError("implicit conversion to a host array is not allowed")

    def __array_namespace__(self, api_version=None):
        return DEVICE_NAMESPACE


DEVICE_NAMESPACE = types.ModuleType("device_namespace")
DEVICE_NAMESPACE.__dict__.update({name: getattr(compat_numpy, name) for name in dir(compat_numpy)
                                  if not name.startswith("__")})
DEVICE_NAMESPACE.asarray = lambda x, dtype=None, **kw: compat_numpy.asarray(
    x.values if isinstance(x, DeviceArray) else x, dtype=dtype)


def test_device_array_is_refused_by_numpy():
    with pytest.raises(TypeError):
        np.asarray(DeviceArray([1.0]), dtype=np.float64)


def test_compare_policies_takes_the_namespace_from_the_test_array_too():
    rng = np.random.default_rng(0)
    train, test = rng.poisson(6.0, (2, 60)).astype(float), rng.poisson(6.0, (2, 30)).astype(float)
    kw = dict(q_learning={"episodes": 2}, progress=False)
    expected = inv.compare_policies(train, test, 1, **kw)
    got = inv.compare_policies(train.tolist(), DeviceArray(test), 1, **kw)  # only ``test`` is an array
    pd.testing.assert_frame_equal(got, expected)


def test_newsvendor_takes_the_namespace_from_the_quantiles():
    levels = np.array([0.1, 0.5, 0.9])
    mean, std = np.array([20.0, 50.0]), np.array([4.0, 10.0])
    q = norm.ppf(levels[None, :], mean[:, None], std[:, None])
    # critical ratio 0.5 is a given level: the median, mean of the normal
    np.testing.assert_allclose(inv.newsvendor_quantity(DeviceArray(q), levels, 2.0, 2.0), mean)


@pytest.fixture()
def quantile_rows():
    return pd.DataFrame({"sku": ["A", "B", "C"], "warehouse": "WH01", "q10": [1.0, -2.0, 3.0],
                         "q50": [4.0, 5.0, 6.0], "q90": [7.0, 8.0, 9.0]})


def test_newsvendor_frame_names_the_negative_quantile_column_and_its_row(quantile_rows):
    with pytest.raises(DataValidationError) as err:
        inv.newsvendor_quantity(["q10", "q50", "q90"], [0.1, 0.5, 0.9], 1.0, 1.0, data=quantile_rows)
    assert err.value.column == "q10"
    assert str(err.value) == "column 'q10': values must be >= 0.0 (1 offending rows; e.g. [('B', 'WH01')])"


def test_newsvendor_frame_with_too_few_columns_names_quantiles(quantile_rows):
    with pytest.raises(DataValidationError) as err:
        inv.newsvendor_quantity(["q50", "q90"], [0.1, 0.5, 0.9], 1.0, 1.0, data=quantile_rows)
    assert err.value.parameter == "quantiles"
    assert str(err.value) == "parameter 'quantiles': 2 columns for 3 levels, got ['q50', 'q90']"


def test_service_cost_frontier_names_policies_and_the_service_level_rule():
    rng = np.random.default_rng(5)
    args = dict(forecast=np.full(2, 5.0), errors=rng.normal(size=(2, 40)))
    with pytest.raises(DataValidationError) as err:
        inv.service_cost_frontier(np.ones((2, 10)), 1, policies=["base_stock", "kanban"], **args)
    assert err.value.parameter == "policies"
    assert str(err.value).startswith("parameter 'policies': unknown value, got 'kanban'; choose from ")
    with pytest.raises(DataValidationError) as err:
        inv.service_cost_frontier(np.ones((2, 10)), 1, service_levels=[0.9, 1.0], **args)
    assert err.value.parameter == "service_levels"
    assert str(err.value) == ("parameter 'service_levels': expected one or more targets in (0, 1), "
                              "got [0.9, 1.0]")


def test_params_frame_values_follow_the_series_keys_whatever_order_the_join_returns(monkeypatch):
    """``S`` from a params frame reaches its own series even when the merge reorders rows (as cuDF's does)."""
    demand = np.array([[3.0, 1.0, 4.0, 1.0, 5.0], [2.0, 7.0, 1.0, 8.0, 2.0]])
    panel = pd.DataFrame({"sku": np.repeat(["A", "B"], 5), "warehouse": "WH01",
                          "date": np.tile(pd.date_range("2024-01-01", periods=5), 2), "units": demand.ravel()})
    # B's row first; A never stocks (S = 0: every unit lost), B never runs out (S = 1000)
    params = pd.DataFrame({"sku": ["B", "A"], "warehouse": "WH01", "S": [1000.0, 0.0]})
    merge = pd.DataFrame.merge

    def merge_reversed(self, *args, **kwargs):  # a join that gives its rows back in another order
        return merge(self, *args, **kwargs).iloc[::-1].reset_index(drop=True)

    monkeypatch.setattr(pd.DataFrame, "merge", merge_reversed)
    out = inv.simulate_policy(panel, "base_stock", params, 1)
    assert out["sku"].astype(str).tolist() == ["A", "B"]
    np.testing.assert_allclose(out["unmet_demand"], [demand[0].sum(), 0.0])
    np.testing.assert_allclose(out["fill_rate"], [0.0, 1.0])
