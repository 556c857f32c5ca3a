"""Inventory kernels on the GPU: cupy results equal numpy results within tolerance."""

from __future__ import annotations

import numpy as np
import pytest

from toolkit.decisions import inventory as inv

pytestmark = pytest.mark.gpu
cp = pytest.importorskip("cupy")


def _demand(n=64, T=120, seed=0):
    rng = np.random.default_rng(seed)
    return rng.poisson(rng.uniform(2, 30, n)[:, None] * np.ones((n, T))).astype(float)


def test_lead_time_demand_cupy_matches_numpy():
    rng = np.random.default_rng(1)
    errors = rng.normal(0, 3, size=(50, 200))
    errors[3, 10] = np.nan
    forecast = rng.uniform(1, 20, size=(50, 30))
    lead = rng.integers(0, 10, 50)
    for method in ("empirical", "normal"):
        host = inv.lead_time_demand(forecast, errors, lead, 3, service_level=0.9, method=method)
        dev = inv.lead_time_demand(cp.asarray(forecast), cp.asarray(errors), cp.asarray(lead), 3, service_level=0.9, method=method)
        assert isinstance(dev.quantile, cp.ndarray)
        for a, b in zip(host, dev):
            np.testing.assert_allclose(cp.asnumpy(b), a, rtol=1e-9)


def test_closed_forms_cupy_match_numpy():
    sigma = np.linspace(1, 30, 40)
    order = np.linspace(10, 100, 40)
    for target, extra in (("cycle_service_level", {}), ("fill_rate", {"order_quantity": order})):
        host = inv.safety_stock(sigma, 0.95, target=target, **extra)
        dev_extra = {k: cp.asarray(v) for k, v in extra.items()}
        dev = inv.safety_stock(cp.asarray(sigma), 0.95, target=target, **dev_extra)
        np.testing.assert_allclose(cp.asnumpy(dev), host, rtol=1e-9, atol=1e-9)
    np.testing.assert_allclose(cp.asnumpy(inv.eoq(cp.asarray(order), 8.0, 0.225)), inv.eoq(order, 8.0, 0.225))


@pytest.mark.parametrize("policy", ["base_stock", "RS", "sS"])
def test_simulation_cupy_matches_numpy(policy):
    demand = _demand()
    n = demand.shape[0]
    rng = np.random.default_rng(2)
    lead = rng.integers(0, 6, n)
    S = demand.mean(axis=1) * (lead + 4)
    params = {"S": S, "s": 0.5 * S}
    kw = dict(review_period=3, holding_cost=0.5, shortage_cost=5.0, ordering_cost=2.0)
    host = inv.simulate_policy(demand, policy, params, lead, **kw)
    dev = inv.simulate_policy(cp.asarray(demand), policy, {k: cp.asarray(v) for k, v in params.items()}, cp.asarray(lead), **kw)
    for key in inv.KPIS:
        assert isinstance(dev[key], cp.ndarray)
        np.testing.assert_allclose(cp.asnumpy(dev[key]), host[key], rtol=1e-9, atol=1e-9, err_msg=key)


def test_compare_policies_runs_on_cupy():
    pytest.importorskip("cudf", reason="the policy table comes back as a cudf frame for cupy input")
    train, test = _demand(16, 200, 3), _demand(16, 80, 4)
    host = inv.compare_policies(train, test, 2, q_learning={"episodes": 10})
    dev = inv.compare_policies(cp.asarray(train), cp.asarray(test), 2, q_learning={"episodes": 10})
    assert list(dev["policy"].to_pandas()) == list(host["policy"])
    np.testing.assert_allclose(dev["total_cost"].to_numpy(), host["total_cost"], rtol=1e-6)


def test_q_learning_trains_and_simulates_on_cupy():
    """CuPy demand with a plain-number lead time trains a CuPy Q-table (the namespace comes from the
    demand, not only from the lead time); bins and order unit are the NumPy closed forms, the order
    table is the arg-max of the Q-table, and simulate is the table policy run on the host."""
    demand = _demand(8, 100, 5)
    kw = dict(episodes=5, episode_days=20, holding_cost=1.0, shortage_cost=10.0, progress=False)
    host = inv.QLearningReplenisher(**kw).fit(demand, 2)
    dev = inv.QLearningReplenisher(**kw).fit(cp.asarray(demand), 2)
    assert isinstance(dev.q_table_, cp.ndarray) and dev.q_table_.shape == host.q_table_.shape
    np.testing.assert_allclose(cp.asnumpy(dev.bin_width_), host.bin_width_, rtol=1e-12)
    np.testing.assert_allclose(cp.asnumpy(dev.action_unit_), host.action_unit_, rtol=1e-12)
    table = dev.order_table()
    assert isinstance(table, cp.ndarray)
    np.testing.assert_allclose(cp.asnumpy(table),
                               np.argmax(cp.asnumpy(dev.q_table_), axis=2) * host.action_unit_[:, None], rtol=1e-12)
    kpi = dev.simulate(cp.asarray(demand), initial_on_hand=5.0)
    ref = inv.simulate_policy(demand, "table", {"table": cp.asnumpy(table), "bin_width": cp.asnumpy(dev.bin_width_)},
                              2, holding_cost=1.0, shortage_cost=10.0, initial_on_hand=5.0)
    for key in inv.KPIS:
        assert isinstance(kpi[key], cp.ndarray)
        np.testing.assert_allclose(cp.asnumpy(kpi[key]), ref[key], rtol=1e-9, atol=1e-9, err_msg=key)


def test_newsvendor_takes_the_namespace_from_cupy_quantiles():
    """Scalar costs and CuPy quantiles: the quantiles' namespace converts the costs (issue 19)."""
    levels = np.array([0.1, 0.5, 0.9])
    q = np.array([[1.0, 2.0, 4.0], [3.0, 5.0, 9.0]])
    dev = inv.newsvendor_quantity(cp.asarray(q), levels, 2.0, 2.0)
    assert isinstance(dev, cp.ndarray)
    np.testing.assert_allclose(cp.asnumpy(dev), q[:, 1])  # critical ratio 0.5: the median column


def test_params_from_a_cudf_frame_reach_their_own_series():
    """cuDF's merge does not keep the left order: per-series values must still follow the keys (issue 19)."""
    cudf = pytest.importorskip("cudf")
    import pandas as pd

    demand = np.array([[3.0, 1.0, 4.0, 1.0, 5.0], [2.0, 7.0, 1.0, 8.0, 2.0]])
    panel = pd.DataFrame({"sku": np.repeat(["A", "B"], 5), "warehouse": "WH01",
                          "date": np.tile(pd.date_range("2024-01-01", periods=5), 2), "units": demand.ravel()})
    params = pd.DataFrame({"sku": ["B", "A"], "warehouse": "WH01", "S": [1000.0, 0.0]})
    out = inv.simulate_policy(cudf.from_pandas(panel), "base_stock", cudf.from_pandas(params), 1).to_pandas()
    assert out["sku"].astype(str).tolist() == ["A", "B"]
    np.testing.assert_allclose(out["unmet_demand"], [demand[0].sum(), 0.0])
