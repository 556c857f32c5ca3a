"""Tests for toolkit.decisions.inventory against closed forms, hand traces and a scalar reference."""

from __future__ import annotations

from collections import defaultdict

import dask.dataframe as dd
import numpy as np
import pandas as pd
import pytest
from scipy import integrate, optimize
from scipy.stats import norm

from toolkit.decisions import inventory as inv
from toolkit.errors import DataValidationError

KPI_NAMES = inv.KPIS


# --------------------------------------------------------------------------- closed forms


def test_eoq_reference_case():
    assert inv.eoq(1300, 8, 0.225) == pytest.approx(304.05, abs=0.005)


def test_eoq_arrays_and_frame_match_closed_form():
    demand = np.array([100.0, 1300.0, 5000.0])
    cost = np.array([8.0, 8.0, 20.0])
    out = inv.eoq(demand, cost, 0.5)
    np.testing.assert_allclose(out, np.sqrt(2 * cost * demand / 0.5))
    frame = pd.DataFrame({"sku": ["a", "b", "c"], "D": demand, "K": cost})
    result = inv.eoq("D", "K", 0.5, data=frame)
    assert isinstance(result, pd.DataFrame)
    np.testing.assert_allclose(result["eoq"], out)


def test_eoq_rejects_zero_holding_cost():
    with pytest.raises(DataValidationError, match="holding_cost"):
        inv.eoq(1300, 8, 0.0)
    frame = pd.DataFrame({"D": [10.0, -1.0], "h": [1.0, 1.0]})
    with pytest.raises(DataValidationError, match="'D'"):
        inv.eoq("D", 8.0, "h", data=frame)


def test_newsvendor_reference_case():
    levels = np.linspace(0.01, 0.99, 99)
    q = inv.newsvendor_quantity(norm.ppf(levels, 50, 8), levels, underage_cost=0.70, overage_cost=0.18)
    assert q == pytest.approx(56.60, abs=0.01)


def test_newsvendor_rows_match_normal_quantile_at_critical_ratio():
    levels = np.linspace(0.005, 0.995, 199)
    mean, std = np.array([20.0, 50.0, 80.0]), np.array([2.0, 8.0, 15.0])
    quantiles = norm.ppf(levels[None, :], mean[:, None], std[:, None])
    cu, co = np.array([1.0, 0.7, 3.0]), np.array([1.0, 0.18, 0.5])
    out = inv.newsvendor_quantity(quantiles, levels, cu, co)
    np.testing.assert_allclose(out, norm.ppf(cu / (cu + co), mean, std), atol=0.01)


def test_newsvendor_frame_with_quantile_columns():
    levels = [0.1, 0.5, 0.9]
    frame = pd.DataFrame({"sku": ["a", "b"], "q10": [5.0, 10.0], "q50": [10.0, 20.0], "q90": [15.0, 40.0]})
    out = inv.newsvendor_quantity(["q10", "q50", "q90"], levels, 0.7, 0.3, data=frame)
    # ratio 0.7 lies halfway between 0.5 and 0.9
    np.testing.assert_allclose(out["newsvendor_quantity"], [12.5, 30.0])


def test_newsvendor_rejects_ratio_outside_levels_and_crossing_quantiles():
    with pytest.raises(DataValidationError, match="levels"):
        inv.newsvendor_quantity(np.array([1.0, 2.0, 3.0]), [0.1, 0.5, 0.9], 99.0, 1.0)
    with pytest.raises(DataValidationError, match="decrease"):
        inv.newsvendor_quantity(np.array([3.0, 2.0, 4.0]), [0.1, 0.5, 0.9], 1.0, 1.0)


def test_standard_normal_loss_matches_integral():
    for z in (-2.0, -0.3, 0.0, 0.8, 2.5):
        expected, _ = integrate.quad(lambda x: (x - z) * norm.pdf(x), z, np.inf)
        assert inv.standard_normal_loss(z) == pytest.approx(expected, abs=1e-9)


def test_safety_stock_cycle_service_level_is_normal_quantile():
    sigma = np.array([5.0, 10.0, 30.0])
    levels = np.array([0.8, 0.95, 0.99])
    np.testing.assert_allclose(inv.safety_stock(sigma, levels, target="cycle_service_level"), norm.ppf(levels) * sigma)


def test_safety_stock_fill_rate_solves_loss_equation():
    sigma = np.array([5.0, 10.0, 30.0, 12.0])
    beta = np.array([0.9, 0.95, 0.99, 0.999])
    order = np.array([40.0, 50.0, 20.0, 100.0])
    out = inv.safety_stock(sigma, beta, target="fill_rate", order_quantity=order)
    for i in range(len(sigma)):
        loss = lambda k: norm.pdf(k) - k * norm.sf(k) - (1 - beta[i]) * order[i] / sigma[i]  # noqa: E731
        k = optimize.brentq(loss, -20, 20, xtol=1e-12)
        assert out[i] == pytest.approx(k * sigma[i], abs=1e-6)


def test_reorder_point_frame_labels_both_targets():
    frame = pd.DataFrame({"sku": ["a", "b"], "ltd_mean": [100.0, 40.0], "ltd_std": [10.0, 4.0], "Q": [50.0, 20.0]})
    out = inv.reorder_point("ltd_mean", "ltd_std", 0.95, target="cycle_service_level", data=frame)
    out = inv.reorder_point("ltd_mean", "ltd_std", 0.95, target="fill_rate", order_quantity="Q", data=out)
    assert {"reorder_point_csl", "reorder_point_fill_rate"} <= set(out.columns)
    np.testing.assert_allclose(out["reorder_point_csl"], frame["ltd_mean"] + norm.ppf(0.95) * frame["ltd_std"])
    ss = inv.safety_stock(frame["ltd_std"].to_numpy(), 0.95, target="fill_rate", order_quantity=frame["Q"].to_numpy())
    np.testing.assert_allclose(out["reorder_point_fill_rate"], frame["ltd_mean"] + ss)


def test_row_wise_functions_on_dask_match_pandas():
    frame = pd.DataFrame({"ltd_mean": np.linspace(10, 100, 12), "ltd_std": np.linspace(1, 12, 12)})
    ddf = dd.from_pandas(frame, npartitions=3)
    lazy = inv.reorder_point("ltd_mean", "ltd_std", 0.9, target="cycle_service_level", data=ddf)
    pd.testing.assert_frame_equal(lazy.compute(), inv.reorder_point("ltd_mean", "ltd_std", 0.9, target="cycle_service_level", data=frame))


@pytest.mark.parametrize("level", [0.0, 1.0, 1.5, -0.1, np.nan])
def test_service_level_outside_unit_interval_is_rejected(level):
    with pytest.raises(DataValidationError, match="service_level"):
        inv.safety_stock(10.0, level, target="cycle_service_level")


def test_target_must_be_named():
    with pytest.raises(TypeError):
        inv.safety_stock(10.0, 0.95)  # no target: the call must say which measure
    with pytest.raises(ValueError, match="fill_rate"):
        inv.safety_stock(10.0, 0.95, target="type1")
    with pytest.raises(DataValidationError, match="order_quantity"):
        inv.safety_stock(10.0, 0.95, target="fill_rate")


# --------------------------------------------------------------------------- lead-time demand


def _window_reference(errors_row, period, min_coverage=0.5):
    """Sums over every window of `period` days; a window with missing days counts when enough are seen,
    its sum scaled up from the days seen."""
    sums = []
    for t in range(len(errors_row) - period + 1):
        window = errors_row[t : t + period]
        seen = np.isfinite(window).sum()
        if seen >= max(np.ceil(min_coverage * period), 1):
            sums.append(np.nansum(window) * period / seen)
    return np.array(sums)


def test_lead_time_demand_empirical_matches_window_loop():
    rng = np.random.default_rng(1)
    errors = rng.gamma(2.0, 2.0, size=(4, 120)) - 4.0
    errors[1, [5, 60]] = np.nan
    forecast = rng.uniform(5, 15, size=(4, 20))
    lead, review = np.array([0, 3, 6, 10]), np.array([1, 1, 7, 2])
    ltd = inv.lead_time_demand(forecast, errors, lead, review, service_level=0.9)
    for i in range(4):
        period = lead[i] + review[i]
        sums = _window_reference(errors[i], period)
        base = forecast[i, :period].sum()
        assert ltd.mean[i] == pytest.approx(base + sums.mean())
        assert ltd.std[i] == pytest.approx(sums.std(ddof=1))
        assert ltd.quantile[i] == pytest.approx(base + np.quantile(sums, 0.9))


def test_lead_time_demand_min_coverage_one_keeps_complete_windows_only():
    rng = np.random.default_rng(17)
    errors = rng.normal(0, 2, size=(2, 80))
    errors[0, rng.choice(80, 12, replace=False)] = np.nan
    ltd = inv.lead_time_demand(np.zeros(2), errors, 4, 1, service_level=0.8, min_coverage=1.0)
    for i in range(2):
        sums = [errors[i, t : t + 5].sum() for t in range(76)]
        sums = np.array([x for x in sums if np.isfinite(x)])
        assert ltd.std[i] == pytest.approx(sums.std(ddof=1))
        assert ltd.quantile[i] == pytest.approx(np.quantile(sums, 0.8))
    # a series whose errors are mostly missing cannot give two usable windows
    errors[1, ::2] = np.nan
    with pytest.raises(DataValidationError, match="min_coverage"):
        inv.lead_time_demand(np.zeros(2), errors, 4, 1, min_coverage=1.0)


def test_lead_time_demand_normal_single_day_is_error_std():
    errors = np.random.default_rng(2).normal(0, 3, size=(2, 500))
    ltd = inv.lead_time_demand(np.array([4.0, 5.0]), errors, 0, 1, method="normal", service_level=0.975)
    np.testing.assert_allclose(ltd.std, errors.std(axis=1))
    np.testing.assert_allclose(ltd.quantile, ltd.mean + norm.ppf(0.975) * ltd.std)


def test_lead_time_demand_accounts_for_autocorrelated_errors():
    rng = np.random.default_rng(3)
    phi, sigma, T, period = 0.6, 1.0, 40_000, 8
    shocks = rng.normal(0, sigma, size=(2, T))
    errors = np.zeros_like(shocks)
    for t in range(1, T):
        errors[:, t] = phi * errors[:, t - 1] + shocks[:, t]
    gamma0 = sigma**2 / (1 - phi**2)
    variance = period * gamma0 + 2 * sum((period - j) * gamma0 * phi**j for j in range(1, period))
    for method in ("empirical", "normal"):
        ltd = inv.lead_time_demand(np.zeros(2), errors, period, 0, method=method)
        np.testing.assert_allclose(ltd.std, np.sqrt(variance), rtol=0.06)


def test_summed_quantile_is_well_below_sum_of_daily_quantiles():
    errors = np.random.default_rng(4).normal(0, 2, size=(1, 5000))
    ltd = inv.lead_time_demand(np.array([10.0]), errors, 8, 1, service_level=0.95)
    daily_sum = 9 * (10.0 + np.quantile(errors[0], 0.95))
    protection = ltd.quantile[0] - ltd.mean[0]
    assert protection == pytest.approx(norm.ppf(0.95) * 2 * 3, rel=0.1)  # sqrt(9) sigma
    assert protection < 0.5 * (daily_sum - 90.0)


def _long(values, keys, start="2024-01-01", name="value"):
    rows = []
    for key, row in zip(keys, values):
        dates = pd.date_range(start, periods=len(row), freq="D")
        rows.append(pd.DataFrame({"sku": key[0], "warehouse": key[1], "date": dates, name: row}))
    frame = pd.concat(rows, ignore_index=True)
    frame["sku"] = frame["sku"].astype("category")
    frame["warehouse"] = frame["warehouse"].astype("category")
    return frame


def test_lead_time_demand_frame_matches_arrays_and_reads_lead_time_column():
    rng = np.random.default_rng(5)
    keys = [("S1", "WH01"), ("S1", "WH02"), ("S2", "WH01")]
    forecast = rng.uniform(1, 10, size=(3, 14))
    errors = rng.normal(0, 2, size=(3, 90))
    fc = _long(forecast, keys, "2024-04-01", "forecast").sample(frac=1.0, random_state=0)
    lead = {"S1": 3, "S2": 5}
    fc["lead_time_days"] = fc["sku"].map(lead).astype("int32")
    err = _long(errors, keys, name="error")
    out = inv.lead_time_demand(fc, err, "lead_time_days", 2, service_level=0.9)
    expected = inv.lead_time_demand(forecast, errors, np.array([3, 3, 5]), 2, service_level=0.9)
    assert isinstance(out, pd.DataFrame)
    assert list(out[["sku", "warehouse"]].itertuples(index=False, name=None)) == keys
    np.testing.assert_allclose(out["ltd_mean"], expected.mean)
    np.testing.assert_allclose(out["ltd_std"], expected.std)
    np.testing.assert_allclose(out["ltd_quantile"], expected.quantile)


def test_lead_time_demand_dask_matches_pandas():
    rng = np.random.default_rng(6)
    keys = [(f"S{i}", f"WH0{j}") for i in range(4) for j in range(2)]
    fc = _long(rng.uniform(1, 10, size=(8, 10)), keys, "2024-04-01", "forecast")
    err = _long(rng.normal(0, 2, size=(8, 60)), keys, name="error")
    expected = inv.lead_time_demand(fc, err, 4, 1, service_level=0.8)
    lazy = inv.lead_time_demand(dd.from_pandas(fc, npartitions=3), dd.from_pandas(err.sample(frac=1.0, random_state=1), npartitions=4),
                                4, 1, service_level=0.8)
    got = lazy.compute().sort_values(["sku", "warehouse"]).reset_index(drop=True)
    got["sku"] = got["sku"].astype(expected["sku"].dtype)
    got["warehouse"] = got["warehouse"].astype(expected["warehouse"].dtype)
    pd.testing.assert_frame_equal(got, expected, check_dtype=False)


def test_lead_time_demand_validation():
    errors = np.random.default_rng(7).normal(size=(2, 30))
    with pytest.raises(DataValidationError, match="lead_time"):
        inv.lead_time_demand(np.ones(2), errors, np.array([2, -1]))
    with pytest.raises(DataValidationError, match="lead_time"):
        inv.lead_time_demand(np.ones(2), errors, 1.5)
    with pytest.raises(DataValidationError, match="service_level"):
        inv.lead_time_demand(np.ones(2), errors, 2, service_level=1.2)
    with pytest.raises(DataValidationError, match="errors"):
        inv.lead_time_demand(np.ones(2), errors, 30)
    with pytest.raises(DataValidationError, match="forecast horizon"):
        inv.lead_time_demand(np.ones((2, 3)), errors, 5)
    keys = [("S1", "WH01"), ("S2", "WH01")]
    fc = _long(np.ones((2, 5)), keys, name="forecast")
    err = _long(errors, [("S1", "WH01"), ("S3", "WH01")], name="error")
    with pytest.raises(DataValidationError, match="S3"):
        inv.lead_time_demand(fc, err, 2)
    with pytest.raises(DataValidationError, match="'error'"):
        inv.lead_time_demand(fc, err.drop(columns="error"), 2)


# --------------------------------------------------------------------------- simulation


def test_simulation_hand_traced_sS_lost_sales():
    demand = np.array([[3.0, 4, 5, 2, 6, 1, 2, 5, 3, 1]])
    kpi = inv.simulate_policy(demand, "sS", {"s": 4.0, "S": 10.0}, lead_time=1, holding_cost=1.0,
                              shortage_cost=5.0, ordering_cost=2.0, return_paths=True)
    # traced by hand: orders on days 2, 5, 8 of 7, 10 and 7 units, arriving the next day
    np.testing.assert_allclose(kpi["on_hand_path"][0], [7, 3, 0, 5, 0, 0, 8, 3, 0, 6])
    np.testing.assert_allclose(kpi["order_path"][0], [0, 0, 7, 0, 0, 10, 0, 0, 7, 0])
    expected = {"fill_rate": 28 / 32, "stockout_days": 3, "avg_on_hand": 3.2, "orders_placed": 3, "demand": 32,
                "unmet_demand": 4, "holding_cost": 32, "shortage_cost": 20, "ordering_cost": 6, "total_cost": 58,
                "cycle_service_level": 0.5}
    for key, value in expected.items():
        assert kpi[key][0] == pytest.approx(value), key


def test_simulation_hand_traced_base_stock_backorders():
    demand = np.array([[4.0, 7, 2, 3]])
    kpi = inv.simulate_policy(demand, "base_stock", {"S": 5.0}, lead_time=1, holding_cost=1.0, shortage_cost=2.0,
                              backorders=True, return_paths=True)
    np.testing.assert_allclose(kpi["order_path"][0], [0, 4, 7, 2])
    np.testing.assert_allclose(kpi["served_path"][0], [4, 1, 0, 3])
    expected = {"fill_rate": 0.5, "stockout_days": 2, "avg_on_hand": 0.25, "orders_placed": 3, "holding_cost": 1,
                "shortage_cost": 20, "cycle_service_level": 0.0}
    for key, value in expected.items():
        assert kpi[key][0] == pytest.approx(value), key


def _reference(demand, policy, s, S, lead, review, h, p, k, backorders, start):
    """Plain scalar simulation of one series, written from the module's stated rules."""
    net, pipeline, arrivals = start, defaultdict(float), set()
    cycle_open, cycle_short, cycles, good = False, False, 0, 0
    out = defaultdict(float)
    for t, d in enumerate(demand):
        net += pipeline.pop(t, 0.0)
        started = t in arrivals
        arrivals.discard(t)
        position = net + sum(pipeline.values())
        q = 0.0
        reviewing = t % review == 0
        if reviewing:
            if policy == "sS":
                q = S - position if position <= s else 0.0
            else:
                q = max(S - position, 0.0)
        event = q > 0 if policy == "sS" else reviewing
        if lead == 0:
            net += q
            started = started or event
        else:
            pipeline[t + lead] += q
            if event:
                arrivals.add(t + lead)
        if started:
            if cycle_open:
                cycles += 1
                good += not cycle_short
            cycle_open, cycle_short = True, False
        served = min(d, max(net, 0.0))
        unmet = d - served
        net -= d if backorders else served
        cycle_short = cycle_short or unmet > 0
        out["fill_num"] += served
        out["demand"] += d
        out["unmet_demand"] += unmet
        out["stockout_days"] += unmet > 0
        out["avg_on_hand"] += max(net, 0.0) / len(demand)
        out["orders_placed"] += q > 0
        out["holding_cost"] += h * max(net, 0.0)
        out["shortage_cost"] += p * (max(-net, 0.0) if backorders else unmet)
    out["ordering_cost"] = k * out["orders_placed"]
    out["total_cost"] = out["holding_cost"] + out["shortage_cost"] + out["ordering_cost"]
    out["fill_rate"] = out["fill_num"] / out["demand"]
    out["cycle_service_level"] = good / cycles if cycles else np.nan
    return out


@pytest.mark.parametrize("policy", ["base_stock", "RS", "sS"])
@pytest.mark.parametrize("backorders", [False, True])
def test_vectorised_simulation_equals_per_series_loop(policy, backorders):
    rng = np.random.default_rng(8)
    n, T = 12, 90
    mean = rng.uniform(1, 20, n)
    demand = rng.poisson(mean[:, None] * np.ones((n, T))).astype(float)
    lead = rng.integers(0, 6, n)
    review = rng.integers(1, 8, n)
    S = mean * (lead + review + 1) * rng.uniform(0.8, 1.6, n)
    s = S * rng.uniform(0.3, 0.9, n)
    h, p, k = rng.uniform(0.1, 1, n), rng.uniform(1, 10, n), rng.uniform(0, 20, n)
    start = S * rng.uniform(0.5, 1.0, n)
    params = {"S": S, "s": s}
    kpi = inv.simulate_policy(demand, policy, params, lead, review_period=review, holding_cost=h, shortage_cost=p,
                              ordering_cost=k, backorders=backorders, initial_on_hand=start)
    for i in range(n):
        ref = _reference(demand[i], policy, s[i], S[i], int(lead[i]), 1 if policy == "base_stock" else int(review[i]),
                         h[i], p[i], k[i], backorders, start[i])
        for key in KPI_NAMES:
            np.testing.assert_allclose(kpi[key][i], ref[key], rtol=1e-10, atol=1e-9, err_msg=f"{key} series {i}")


def test_base_stock_at_csl_quantile_reaches_that_service_level():
    """Backorders, daily review: a day is short iff L+1-day demand exceeds S, so CSL = target."""
    rng = np.random.default_rng(9)
    n, T, lead, target = 4, 20_000, 3, 0.9
    demand = rng.normal(20, 4, size=(n, T)).clip(0)
    S = inv.reorder_point(20.0 * (lead + 1), 4.0 * np.sqrt(lead + 1) * np.ones(n), target, target="cycle_service_level")
    kpi = inv.simulate_policy(demand, "base_stock", {"S": S}, lead, backorders=True)
    np.testing.assert_allclose(kpi["cycle_service_level"], target, atol=0.015)


def test_fill_rate_target_is_met_by_rs_policy():
    rng = np.random.default_rng(10)
    n, T, lead, review, beta = 4, 20_000, 2, 5, 0.95
    demand = rng.normal(20, 6, size=(n, T)).clip(0)
    period = lead + review
    S = inv.reorder_point(20.0 * period, 6.0 * np.sqrt(period) * np.ones(n), beta, target="fill_rate",
                          order_quantity=20.0 * review)
    kpi = inv.simulate_policy(demand, "RS", {"S": S}, lead, review_period=review, backorders=True)
    np.testing.assert_allclose(kpi["fill_rate"], beta, atol=0.01)


def test_simulate_policy_frame_and_dask_match_arrays():
    rng = np.random.default_rng(11)
    keys = [(f"S{i}", w) for i in range(5) for w in ("WH01", "WH02")]
    demand = rng.poisson(8.0, size=(10, 40)).astype(float)
    panel = _long(demand, keys, name="units").sample(frac=1.0, random_state=2)
    params = pd.DataFrame({"sku": [k[0] for k in keys], "warehouse": [k[1] for k in keys],
                           "s": np.linspace(10, 30, 10), "S": np.linspace(40, 80, 10), "lead": [1, 2] * 5})
    kw = dict(review_period=1, holding_cost=0.5, shortage_cost=4.0, ordering_cost=3.0)
    out = inv.simulate_policy(panel, "sS", params, "lead", **kw)
    expected = inv.simulate_policy(demand, "sS", {"s": params["s"].to_numpy(), "S": params["S"].to_numpy()},
                                   params["lead"].to_numpy(), **kw)
    assert isinstance(out, pd.DataFrame)
    for key in KPI_NAMES:
        np.testing.assert_allclose(out[key], expected[key], err_msg=key)
    lazy = inv.simulate_policy(dd.from_pandas(panel, npartitions=3), "sS", params, "lead", **kw)
    got = lazy.compute()
    got = got.astype({"sku": str, "warehouse": str}).sort_values(["sku", "warehouse"]).reset_index(drop=True)
    for key in KPI_NAMES:
        np.testing.assert_allclose(got[key], expected[key], err_msg=key)


def test_simulate_policy_paths_frame_accounts_for_demand():
    keys = [("S1", "WH01"), ("S2", "WH01")]
    demand = np.random.default_rng(12).poisson(5.0, size=(2, 30)).astype(float)
    panel = _long(demand, keys, name="units")
    kpis, paths = inv.simulate_policy(panel, "base_stock", {"S": 12.0}, 2, return_paths=True)
    assert len(paths) == len(panel)
    np.testing.assert_allclose(paths["served"] + paths["unmet"], panel["units"])
    np.testing.assert_allclose(paths.groupby("sku", observed=True)["unmet"].sum(), kpis["unmet_demand"])


def test_simulate_policy_validation():
    demand = np.ones((2, 10))
    with pytest.raises(DataValidationError, match="demand"):
        inv.simulate_policy(-demand, "base_stock", {"S": 5.0}, 1)
    with pytest.raises(DataValidationError, match="lead_time"):
        inv.simulate_policy(demand, "base_stock", {"S": 5.0}, np.array([1, -2]))
    with pytest.raises(DataValidationError, match="review_period"):
        inv.simulate_policy(demand, "RS", {"S": 5.0}, 1, review_period=0)
    with pytest.raises(DataValidationError, match="'S'"):
        inv.simulate_policy(demand, "sS", {"s": 6.0, "S": 5.0}, 1)
    with pytest.raises(DataValidationError, match="'s'"):
        inv.simulate_policy(demand, "sS", {"S": 5.0}, 1)
    with pytest.raises(DataValidationError, match="holding_cost"):
        inv.simulate_policy(demand, "base_stock", {"S": 5.0}, 1, holding_cost=-1.0)
    with pytest.raises(ValueError, match="policy"):
        inv.simulate_policy(demand, "QR", {"S": 5.0}, 1)
    panel = _long(np.ones((2, 5)), [("S1", "WH01"), ("S2", "WH01")], name="units")
    bad = panel.copy()
    bad.loc[3, "units"] = -4.0
    with pytest.raises(DataValidationError, match="'units'.*S1"):
        inv.simulate_policy(bad, "base_stock", {"S": 5.0}, 1)
    with pytest.raises(DataValidationError, match="duplicated"):
        inv.simulate_policy(pd.concat([panel, panel.iloc[:1]]), "base_stock", {"S": 5.0}, 1)
    with pytest.raises(DataValidationError, match="'date'"):
        inv.simulate_policy(panel.drop(index=2), "base_stock", {"S": 5.0}, 1)
    with pytest.raises(DataValidationError, match="'units'"):
        inv.simulate_policy(panel.drop(columns="units"), "base_stock", {"S": 5.0}, 1)


# --------------------------------------------------------------------------- Q-learning and comparison


def test_q_learning_is_seeded_and_sklearn_like():
    demand = np.random.default_rng(13).poisson(5.0, size=(3, 150)).astype(float)
    a = inv.QLearningReplenisher(episodes=10, episode_days=50, random_state=3).fit(demand, 2)
    b = inv.QLearningReplenisher(episodes=10, episode_days=50, random_state=3).fit(demand, 2)
    c = inv.QLearningReplenisher(episodes=10, episode_days=50, random_state=4).fit(demand, 2)
    np.testing.assert_array_equal(a.q_table_, b.q_table_)
    assert not np.array_equal(a.q_table_, c.q_table_)
    assert a.get_params()["episodes"] == 10
    assert a.order_table().shape == (3, a.n_states)


def test_q_learning_learns_to_cover_steady_demand():
    demand = np.full((2, 200), 4.0)
    agent = inv.QLearningReplenisher(episodes=80, episode_days=60, shortage_cost=10.0, random_state=0).fit(demand, 0)
    kpi = agent.simulate(demand[:, :100], initial_on_hand=0.0)
    assert np.all(kpi["fill_rate"] > 0.9)
    never_orders = inv.simulate_policy(demand[:, :100], "table", {"table": np.zeros((2, 4)), "bin_width": 1.0}, 0,
                                       shortage_cost=10.0, initial_on_hand=0.0)
    assert np.all(kpi["total_cost"] < never_orders["total_cost"])


def test_compare_policies_reports_q_learning_next_to_tuned_base_stock():
    rng = np.random.default_rng(14)
    n = 6
    train = rng.normal(30, 6, size=(n, 400)).clip(0)
    test = rng.normal(30, 6, size=(n, 150)).clip(0)
    h, p, lead = 1.0, 9.0, 2
    table, details = inv.compare_policies(train, test, lead, holding_cost=h, shortage_cost=p, backorders=True,
                                          q_learning={"episodes": 10}, return_details=True)
    assert {"base_stock_tuned", "q_learning"} <= set(table["policy"])
    for name in table["policy"]:
        assert set(KPI_NAMES) <= set(details[name])
    # with backorders the cost-optimal base stock is the newsvendor quantile of (L+1)-day demand
    newsvendor = norm.ppf(p / (p + h), 30 * (lead + 1), 6 * np.sqrt(lead + 1))
    np.testing.assert_allclose(details["base_stock_tuned"]["order_up_to"], newsvendor, rtol=0.06)
    row = table.set_index("policy").loc["q_learning"]
    per_series = details["q_learning"]
    assert row["total_cost"] == pytest.approx(per_series["total_cost"].sum())
    assert row["fill_rate"] == pytest.approx(1 - per_series["unmet_demand"].sum() / test.sum())


def test_compare_policies_frames():
    rng = np.random.default_rng(15)
    keys = [("S1", "WH01"), ("S2", "WH01")]
    train = _long(rng.poisson(10, size=(2, 120)).astype(float), keys, name="units")
    test = _long(rng.poisson(10, size=(2, 60)).astype(float), keys, "2024-05-01", name="units")
    train["lt"] = np.where(train["sku"] == "S1", 1, 3)
    table = inv.compare_policies(train, test, "lt", q_learning={"episodes": 5})
    assert isinstance(table, pd.DataFrame) and len(table) == 5
    with pytest.raises(DataValidationError, match="S2"):
        inv.compare_policies(train, test[test["sku"] == "S1"], "lt", q_learning={"episodes": 5})


def test_service_cost_frontier_equals_separate_simulations():
    rng = np.random.default_rng(16)
    n = 8
    demand = rng.poisson(12.0, size=(n, 70)).astype(float)
    errors = rng.normal(0, 4, size=(n, 150))
    forecast = rng.uniform(10, 14, size=(n, 20))
    lead = rng.integers(0, 6, n)
    costs = dict(holding_cost=0.5, shortage_cost=6.0, ordering_cost=12.0)
    table = inv.service_cost_frontier(demand, lead, forecast=forecast, errors=errors, service_levels=[0.85, 0.97],
                                      target="fill_rate", review_period=5, **costs)
    rate = forecast.mean(axis=1)
    lot = inv.eoq(rate * 365, 12.0, 0.5 * 365)
    for policy, review in (("base_stock", 1), ("RS", 5), ("sS", 1)):
        ltd = inv.lead_time_demand(forecast, errors, lead, review)
        per_cycle = {"base_stock": rate, "RS": rate * 5, "sS": np.maximum(lot, rate)}[policy]
        for level in (0.85, 0.97):
            s = np.maximum(ltd.mean + inv.safety_stock(ltd.std, level, target="fill_rate", order_quantity=per_cycle), 0)
            params = {"s": s, "S": s + lot} if policy == "sS" else {"S": s}
            kpi = inv.simulate_policy(demand, policy, params, lead, review_period=review, **costs)
            row = table[(table["policy"] == policy) & (table["service_target"] == level)].iloc[0]
            assert row["total_cost"] == pytest.approx(kpi["total_cost"].sum())
            assert row["fill_rate"] == pytest.approx(1 - kpi["unmet_demand"].sum() / demand.sum())
            assert row["cycle_service_level"] == pytest.approx(np.nanmean(kpi["cycle_service_level"]))


def test_compare_policies_asks_for_in_memory_frames():
    keys = [("S1", "WH01")]
    train = _long(np.ones((1, 30)), keys, name="units")
    with pytest.raises(DataValidationError, match="'train'.*compute"):
        inv.compare_policies(dd.from_pandas(train, npartitions=2), train, 1)
