"""Tests of toolkit.decisions.marketing against independent references.

The non-negative media fit is compared with ``scipy.optimize.lsq_linear``; the MMM with data
simulated from known curves (adstock by a plain loop); budgets with the closed-form optimum of
concave Hill curves and a greedy fractional knapsack; the channel panel with a plain pandas
groupby of cleaned order lines.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy.optimize import brentq, lsq_linear

from tests.fixture_scope import module_unless_mutating
from toolkit.datasets import make_retail
from toolkit.decisions.marketing import (
    MarketingMixModel,
    allocate_budget,
    allocate_budget_lp,
    channel_panel,
    hill,
)
from toolkit.decisions.marketing.mmm import nonneg_media_fit
from toolkit.errors import DataValidationError


def _adstock_loop(x, decay):
    out, carry = np.empty(len(x)), 0.0
    for t, v in enumerate(x):
        carry = v + decay * carry
        out[t] = carry
    return out


# --------------------------------------------------------------------------- kernel


def test_nonneg_media_fit_matches_lsq_linear():
    rng = np.random.default_rng(0)
    n = 120
    C = np.column_stack([np.ones(n), rng.normal(size=(n, 3))])
    H = rng.uniform(0, 1, (n, 4))
    y = C @ np.array([5.0, 1.0, -2.0, 0.5]) + 3.0 * H[:, 0] - 4.0 * H[:, 1] + rng.normal(0, 0.3, n)
    G, beta = nonneg_media_fit(C, H, y)
    for j in range(H.shape[1]):
        X = np.column_stack([C, H[:, j]])
        lower = np.r_[np.full(C.shape[1], -np.inf), 0.0]
        ref = lsq_linear(X, y, bounds=(lower, np.inf), method="bvls", tol=1e-12).x
        np.testing.assert_allclose(np.r_[G[:, j], beta[j]], ref, atol=1e-7)
    assert beta[1] == 0.0  # the negative effect is clipped at the bound


# --------------------------------------------------------------------------- MMM on known curves


def _simulated_panel(seed=0, n_days=540, noise=0.01):
    rng = np.random.default_rng(seed)
    days = pd.date_range("2023-01-01", periods=n_days, freq="D")
    t = np.arange(n_days)
    truth, frames = {}, []
    for name, decay, rel_k, shape, level in (("web", 0.5, 1.0, 1.0, 5000.0), ("store", 0.2, 0.75, 2.0, 8000.0)):
        flights = rng.uniform(0.0, 2.0, n_days // 14 + 1)
        flights[rng.random(flights.size) < 0.3] = 0.0  # dark weeks pin the zero-spend baseline
        spend = 100.0 * np.repeat(flights, 14)[:n_days] * rng.lognormal(0, 0.2, n_days)
        ad = _adstock_loop(spend, decay)
        k = rel_k * ad.mean()
        beta = 0.3 * level
        media = beta * hill(ad, k, shape)
        base = level * (1 + 0.1 * t / 365) * (1 + 0.2 * np.sin(2 * np.pi * days.dayofyear / 365.25)) \
            + level * 0.1 * (days.dayofweek >= 5)
        revenue = base + media + rng.normal(0, noise * level, n_days)
        truth[name] = {"decay": decay, "half_sat": k, "shape": shape, "beta": beta,
                       "roi": media.sum() / spend.sum(), "media": media}
        frames.append(pd.DataFrame({"date": days, "channel": name, "spend": spend, "revenue": revenue}))
    panel = pd.concat(frames, ignore_index=True).sample(frac=1.0, random_state=1)  # any row order
    return panel, truth


@pytest.fixture(scope=module_unless_mutating)
def simulated():
    panel, truth = _simulated_panel()
    model = MarketingMixModel(decays=(0.0, 0.2, 0.35, 0.5, 0.65, 0.8), shapes=(1.0, 2.0), fourier_order=2,
                              country=None, n_windows=3, horizon=60).fit(panel)
    return panel, truth, model


def test_mmm_recovers_known_curves_and_roi(simulated):
    _, truth, model = simulated
    for channel, true in truth.items():
        row = model.params_.loc[channel]
        assert row["decay"] == true["decay"]
        assert row["shape"] == true["shape"]
        assert row["half_sat"] == pytest.approx(true["half_sat"], rel=0.3)  # within a grid step
        assert row["roi"] == pytest.approx(true["roi"], rel=0.05)
        assert row["roi_low"] <= row["roi"] <= row["roi_high"]
        assert row["beta"] >= 0


def test_mmm_contributions_decompose_the_fit(simulated):
    panel, truth, model = simulated
    contrib = model.contributions()
    assert len(contrib) == len(panel)
    np.testing.assert_allclose(contrib["baseline"] + contrib["media"], contrib["fitted"])
    actual = panel.set_index(["date", "channel"])["revenue"]
    np.testing.assert_allclose(contrib.set_index(["date", "channel"])["actual"], actual.loc[
        list(zip(contrib["date"], contrib["channel"]))].to_numpy())
    web = contrib[contrib["channel"] == "web"]
    np.testing.assert_allclose(web["media"].to_numpy(), truth["web"]["media"], rtol=0.1, atol=0.02 * truth["web"]["beta"])
    assert model.params_.loc["web", "contribution"] == pytest.approx(web["media"].sum())


def test_marginal_roi_is_the_slope_of_the_response(simulated):
    _, _, model = simulated
    spend = {"web": 80.0, "store": 120.0}
    eps = 1e-3
    up = model.response({"web": 80.0 + eps, "store": 120.0 + eps})
    down = model.response({"web": 80.0 - eps, "store": 120.0 - eps})
    np.testing.assert_allclose(model.marginal_roi(spend), (up - down) / (2 * eps), rtol=1e-5)
    # steady state of a constant spend s: adstock s * (1 - d^(L+1)) / (1 - d)
    p = model.params_.loc["web"]
    ad = 80.0 * (1 - p["decay"] ** 61) / (1 - p["decay"])
    assert model.response(spend)["web"] == pytest.approx(p["beta"] * ad / (ad + p["half_sat"]) if p["shape"] == 1
                                                          else p["beta"] * hill(ad, p["half_sat"], p["shape"]))
    curve = model.response_curve("web", [0.0, 50.0, 100.0])
    assert curve["response"].iloc[0] == 0.0 and curve["response"].is_monotonic_increasing


@pytest.mark.slow
def test_mmm_recovers_generator_roi_within_20_percent():
    # Needs the generator's dark flights (a quarter of two-week flights without spend): without
    # them the revenue at zero spend, hence ROI, is not identified by the data.
    data = make_retail(n_skus=50, n_locations=6, n_days=730, seed=0, progress=False)
    sales = data.sales
    revenue = (sales["units"].fillna(0).astype(float) * sales["price"].astype(float)).groupby(
        [sales["date"], sales["channel"]], observed=True).sum().rename("revenue").reset_index()
    panel = data.marketing.merge(revenue, on=["date", "channel"])
    model = MarketingMixModel().fit(panel)
    truth = data.response.set_index(data.response["channel"].astype(str))["roi"]
    ratio = model.roi_ / truth.loc[model.roi_.index]
    assert ((ratio > 0.8) & (ratio < 1.2)).all(), ratio.round(2).to_dict()


def test_mmm_validation():
    panel, _ = _simulated_panel(n_days=300)
    model = MarketingMixModel(fourier_order=0, country=None, n_windows=2, horizon=60)
    bad = panel.copy()
    bad.iloc[3, bad.columns.get_loc("spend")] = -5.0
    with pytest.raises(DataValidationError, match="'spend'.*negative"):
        model.fit(bad)
    with pytest.raises(DataValidationError, match="'channel'.*duplicated"):
        model.fit(pd.concat([panel, panel.head(2)]))
    with pytest.raises(DataValidationError, match="'date'.*gaps"):
        model.fit(panel.drop(index=panel.index[5]))
    with pytest.raises(DataValidationError, match="'date'.*too few"):
        MarketingMixModel(n_windows=5, horizon=60).fit(panel)
    with pytest.raises(DataValidationError, match="'revenue'"):
        model.fit(panel.drop(columns="revenue"))
    with pytest.raises(ValueError, match="decays"):
        MarketingMixModel(decays=(1.0,)).fit(panel)


# --------------------------------------------------------------------------- budgets


def _curves(betas, half_sats, shape=1.0):
    names = [f"c{i}" for i in range(len(betas))]
    return MarketingMixModel.from_params(pd.DataFrame(
        {"decay": 0.0, "half_sat": half_sats, "shape": shape, "beta": betas}, index=names))


def test_equal_curves_split_evenly():
    model = _curves([400.0] * 3, [50.0] * 3)
    plan = allocate_budget(model, total=240.0)
    np.testing.assert_allclose(plan["optimal"], 80.0, atol=1e-4)
    np.testing.assert_allclose(plan["marginal_roi"], plan["marginal_roi"].iloc[0], rtol=1e-5)


def test_optimum_matches_closed_form_equal_marginal_returns():
    betas, ks, total = np.array([300.0, 500.0, 200.0]), np.array([40.0, 100.0, 20.0]), 150.0
    # beta k / (x + k)^2 = lam  =>  x = sqrt(beta k / lam) - k, clipped at 0; lam from the budget
    def spend(lam):
        return np.maximum(np.sqrt(betas * ks / lam) - ks, 0.0)

    lam = brentq(lambda v: spend(v).sum() - total, 1e-9, (betas / ks).max())
    plan = allocate_budget(_curves(betas, ks), total=total)
    np.testing.assert_allclose(plan["optimal"].to_numpy(), spend(lam), atol=1e-3)
    assert plan.attrs["uplift"] >= -1e-9


def test_bounds_are_respected():
    model = _curves([400.0] * 3, [50.0] * 3)
    plan = allocate_budget(model, total=240.0, bounds={"c0": (None, 20.0), "c2": (100.0, None)})
    assert plan.loc["c0", "optimal"] <= 20.0 + 1e-6
    assert plan.loc["c2", "optimal"] >= 100.0 - 1e-6
    assert plan["optimal"].sum() == pytest.approx(240.0)
    # c0 at its cap, the rest split evenly between the two equal channels
    np.testing.assert_allclose(plan["optimal"].to_numpy(), [20.0, 110.0, 110.0], atol=1e-3)


@pytest.mark.parametrize("bounds, column", [
    ({"c0": (200.0, None), "c1": (100.0, None)}, "bounds"),   # lower bounds above the total
    ({"c0": (0, 10.0), "c1": (0, 10.0), "c2": (0, 10.0)}, "bounds"),  # upper bounds below it
    ({"c0": (5.0, 1.0)}, "bounds"),
    ({"tv": (0.0, 10.0)}, "bounds"),  # an unknown channel
])
def test_infeasible_or_unknown_bounds(bounds, column):
    with pytest.raises(DataValidationError, match=repr(column)):
        allocate_budget(_curves([400.0] * 3, [50.0] * 3), total=240.0, bounds=bounds)


def test_bad_budget_and_spend():
    model = _curves([400.0] * 2, [50.0] * 2)
    with pytest.raises(DataValidationError, match="'total'"):
        allocate_budget(model, total=-1.0)
    with pytest.raises(DataValidationError, match="'spend'"):
        model.response({"c0": -3.0})
    with pytest.raises(DataValidationError, match="'channel'.*unknown"):
        model.response({"tv": 3.0})


def _greedy(r, cap, total):
    spend, left = np.zeros_like(r), total
    for i in np.argsort(-r):
        if r[i] <= 0 or left <= 0:
            break
        spend[i] = min(cap[i], left)
        left -= spend[i]
    return spend


def test_lp_matches_greedy_fractional_knapsack():
    rng = np.random.default_rng(3)
    nodes = pd.DataFrame({"sku": rng.choice(["A", "B", "C"], 40), "channel": rng.choice(["web", "app"], 40),
                          "roi": rng.uniform(-0.5, 4, 40), "max_spend": rng.uniform(0, 50, 40)})
    out = allocate_budget_lp(nodes, total=300.0)
    np.testing.assert_allclose(out["spend"].to_numpy(), _greedy(nodes["roi"].to_numpy(), nodes["max_spend"].to_numpy(),
                                                                 300.0), atol=1e-6)
    assert out.attrs["objective"] == pytest.approx((out["roi"] * out["spend"]).sum())
    assert out.index.equals(nodes.index)


def test_lp_inventory_constraint_hand_case():
    nodes = pd.DataFrame({"sku": ["A", "A", "B", "C"], "date": "2024-01-01", "channel": ["web", "app", "web", "web"],
                          "roi": [3.0, 2.0, 1.0, 5.0], "max_spend": [10.0, 10.0, 10.0, 10.0],
                          "units_per_spend": [1.0, 1.0, 0.5, 2.0]})
    inventory = pd.DataFrame({"sku": ["A", "C"], "date": "2024-01-01", "available_units": [12.0, 0.0]})
    out = allocate_budget_lp(nodes, total=30.0, inventory=inventory)
    # C will stock out: no spend; A's stock (12 units) caps web+app at 12, best first; B unlimited
    np.testing.assert_allclose(out["spend"].to_numpy(), [10.0, 2.0, 10.0, 0.0], atol=1e-9)
    assert out.attrs["objective"] == pytest.approx(30 + 4 + 10)
    with pytest.raises(DataValidationError, match="'available_units'"):
        allocate_budget_lp(nodes, 30.0, inventory=inventory.assign(available_units=[-1.0, 0.0]))
    with pytest.raises(DataValidationError, match="'max_spend'"):
        allocate_budget_lp(nodes.assign(max_spend=[1.0, np.nan, 1.0, 1.0]), 30.0)


# --------------------------------------------------------------------------- channel panel


@pytest.fixture(scope=module_unless_mutating)
def retail():
    return make_retail(n_skus=15, n_locations=5, n_days=120, seed=2, progress=False)


def test_channel_panel_revenue_matches_pandas(retail):
    report = []
    panel = channel_panel(retail.orders, retail.marketing, report=report)
    orders = retail.orders.drop_duplicates()
    orders = orders[(orders["quantity"] >= 0) & orders["unit_price"].notna()]
    ref = (orders["quantity"] * orders["unit_price"].astype(float)).groupby(
        [orders["order_ts"].dt.floor("D"), orders["channel"].astype(str)]).sum()
    got = panel.set_index(["date", panel["channel"].astype(str)])["revenue"]
    ref = ref.reindex(got.index, fill_value=0.0)
    np.testing.assert_allclose(got.to_numpy(), ref.to_numpy(), rtol=1e-6)
    np.testing.assert_array_equal(panel["spend"].to_numpy(), retail.marketing.sort_values(["date", "channel"])
                                  .assign(c=lambda m: m["channel"].astype(str))
                                  .sort_values(["date", "c"], kind="stable")["spend"].to_numpy())
    rep = report[0]
    assert rep.rows_in == len(retail.orders) == rep.rows_used + sum(rep.dropped.values())
    truth = retail.truth
    assert rep.dropped["negative_quantity"] == int((truth["type"] == "negative_quantity").sum())
    assert rep.dropped["duplicated"] == int((truth["type"] == "duplicated_order").sum())


def test_channel_panel_integrates_source_systems():
    web = pd.DataFrame({"order_id": [1, 2], "ts": pd.to_datetime(["2024-01-01 10:00", "2024-01-02 11:00"]),
                        "qty": [1, 2], "price": [10.0, 5.0]})
    store = pd.DataFrame({"order_id": [3], "ts": pd.to_datetime(["2024-01-01 12:00"]), "packs": [2], "price": [4.0]})
    mapping = {"web": {"rename": {"ts": "order_ts", "qty": "quantity", "price": "unit_price"}},
               "store": {"rename": {"ts": "order_ts", "packs": "quantity", "price": "unit_price"},
                         "units": {"quantity": 6}}}
    mkt = pd.DataFrame({"date": pd.to_datetime(["2024-01-01", "2024-01-01", "2024-01-02", "2024-01-02"]),
                        "channel": ["web", "store", "web", "store"], "spend": 1.0, "impressions": 10,
                        "clicks": 1, "conversions": 0})
    panel = channel_panel({"web": web, "store": store}, mkt, mapping=mapping)
    got = panel.set_index(["date", panel["channel"].astype(str)])["revenue"].to_dict()
    assert got[(pd.Timestamp("2024-01-01"), "store")] == pytest.approx(2 * 6 * 4.0)
    assert got[(pd.Timestamp("2024-01-02"), "web")] == pytest.approx(10.0)


def test_channel_panel_validation(retail):
    mkt = retail.marketing.copy()
    mkt.loc[mkt.index[4], "spend"] = -1.0
    with pytest.raises(DataValidationError, match="'spend'.*negative"):
        channel_panel(retail.orders, mkt)
    with pytest.raises(DataValidationError, match="'channel'.*unknown"):
        channel_panel(retail.orders, retail.marketing, channels=["web", "app", "store"])
    with pytest.raises(DataValidationError, match="'clicks'"):
        channel_panel(retail.orders, retail.marketing.drop(columns="clicks"))


# --------------------------------------------------------------------------- anomalies


def test_marketing_anomalies_recover_injected_click_fraud():
    from toolkit.anomaly import evaluate
    from toolkit.decisions.marketing import marketing_anomalies

    data = make_retail(n_skus=20, n_locations=5, n_days=365, seed=3, progress=False)
    found = marketing_anomalies(data.marketing)
    metrics = evaluate(data.truth, found.days, table="marketing", types=["click_fraud"], flag_col="click_fraud",
                       score_col="click_score")
    assert metrics["recall"] >= 0.9 and metrics["precision"] >= 0.7
    assert found.incidents["n_hits"].sum() == found.days["is_anomaly"].sum()  # min_hits=1: every flag is in one


def test_spend_anomaly_is_robust_z_of_log_cpm():
    from toolkit.decisions.marketing import marketing_anomalies

    rng = np.random.default_rng(0)
    n = 120
    days = pd.date_range("2024-01-01", periods=n)
    frames = []
    for channel, cpm in (("web", 8.0), ("app", 5.0)):
        impressions = rng.integers(50_000, 80_000, n)
        spend = impressions / 1000 * cpm * rng.lognormal(0, 0.05, n)
        if channel == "app":
            spend[40] *= 3.0  # paid three times the usual price for the impressions
        clicks = rng.binomial(impressions, 0.02)
        frames.append(pd.DataFrame({"date": days, "channel": channel, "spend": spend, "impressions": impressions,
                                    "clicks": clicks, "conversions": rng.binomial(clicks, 0.05)}))
    mkt = pd.concat(frames, ignore_index=True)
    found = marketing_anomalies(mkt)
    log_cpm = np.log(mkt["spend"] / mkt["impressions"] * 1000)
    med = log_cpm.groupby(mkt["channel"]).transform("median")
    mad = (log_cpm - med).abs().groupby(mkt["channel"]).transform("median") * 1.4826
    np.testing.assert_allclose(found.days["spend_score"], ((log_cpm - med) / mad).abs(), rtol=1e-9)
    flagged = found.days[found.days["spend_anomaly"]]
    assert flagged[["channel", "date"]].values.tolist() == [["app", days[40]]]
    bad = mkt.copy()
    bad.loc[3, "clicks"] = -1
    with pytest.raises(DataValidationError, match="'clicks'.*negative"):
        marketing_anomalies(bad)


# --------------------------------------------------------------------------- explorer and plots


def test_budget_explorer_follows_its_sliders():
    import matplotlib

    matplotlib.use("Agg")
    from toolkit.widgets import BudgetExplorer

    curves = pd.DataFrame({"decay": [0.5, 0.0], "half_sat": [100.0, 60.0], "shape": [1.0, 2.0],
                           "beta": [500.0, 300.0], "mean_spend": [40.0, 50.0]}, index=["web", "store"])
    model = MarketingMixModel.from_params(curves)
    explorer = BudgetExplorer(model)
    assert explorer.uplift == pytest.approx(0.0)
    explorer.controls["web"].value = 80.0
    # hand-computed: adstock of 80/day at decay 0.5 over 61 days ~ 160; 500 * 160 / (160 + 100)
    ad = 80.0 * (1 - 0.5**61) / 0.5
    assert explorer.table.loc["web", "revenue"] == pytest.approx(500 * ad / (ad + 100.0))
    assert explorer.table.loc["web", "marginal_roi"] == pytest.approx(500 * 100.0 / (ad + 100.0) ** 2 * 2.0)
    store = 300 * 50.0**2 / (50.0**2 + 60.0**2)
    assert explorer.table.loc["store", "revenue"] == pytest.approx(store)
    web_before = 500 * 80.0 / (80.0 + 100.0)
    assert explorer.uplift == pytest.approx(500 * ad / (ad + 100.0) - web_before)
    assert explorer.table.attrs["total_spend"] == pytest.approx(130.0)


def test_marketing_plots(simulated):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from toolkit import plots

    _, _, model = simulated
    ax = plots.response_curves(model)
    assert len(ax.lines) == len(model.channels_)
    ax = plots.contributions(model.contributions())
    assert len(ax.collections) == 1 + len(model.channels_)  # baseline + one band per channel
    plt.close("all")


def test_marginal_roi_at_zero_spend_closed_form():
    model = MarketingMixModel.from_params(pd.DataFrame(
        {"decay": [0.0, 0.0], "half_sat": [50.0, 50.0], "shape": [1.0, 2.0], "beta": [400.0, 400.0]},
        index=["a", "b"]))
    # d/dx beta x^s / (x^s + k^s) at 0: beta / k for s = 1, 0 for s > 1
    np.testing.assert_allclose(model.marginal_roi([0.0, 0.0]).to_numpy(), [400.0 / 50.0, 0.0])
    np.testing.assert_allclose(model.response([0.0, 0.0]).to_numpy(), [0.0, 0.0])


def test_dask_input_gets_a_clear_error(retail):
    import dask.dataframe as dd

    with pytest.raises(DataValidationError, match="'marketing'.*compute"):
        channel_panel(retail.orders, dd.from_pandas(retail.marketing, npartitions=2))


# --------------------------------------------------------------------------- messages (issue 19)


def test_hill_and_allocate_budget_show_what_they_refused():
    with pytest.raises(DataValidationError) as err:
        hill("12", 1.0, 1.0)
    assert str(err.value) == "parameter 'x': expected a number or an array of numbers, got '12'"
    with pytest.raises(DataValidationError) as err:
        allocate_budget({"c0": 1.0}, total=10.0)
    assert str(err.value) == "parameter 'model': expected a MarketingMixModel, got 'dict'"


@pytest.mark.parametrize("column, value", [("decay", 1.0), ("half_sat", 0.0), ("shape", 0.0)])
def test_from_params_names_the_column_that_breaks_the_curve_rule(column, value):
    curves = pd.DataFrame({"decay": [0.5, 0.2, 0.0], "half_sat": [10.0, 20.0, 30.0], "shape": [1.0, 2.0, 1.0],
                           "beta": [1.0, 2.0, 3.0]}, index=["tv", "search", "social"])
    curves.loc["search", column] = value
    with pytest.raises(DataValidationError) as err:
        MarketingMixModel.from_params(curves)
    assert err.value.column == column
    assert str(err.value) == (f"column {column!r}: each curve needs 0 <= decay < 1, half_sat > 0 and shape > 0 "
                              "(1 offending rows; e.g. ['search'])")
