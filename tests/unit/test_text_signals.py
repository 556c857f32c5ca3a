"""Review signals, alerts and their evaluation against pandas references, brute-force loops and
hand-worked cases; the leak-freedom of the signals; the generated reviews and incidents."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from tests.fixture_scope import module_unless_mutating
from toolkit import text
from toolkit.datasets import make_retail
from toolkit.datasets.incidents import INCIDENT_ASPECT
from toolkit.errors import DataValidationError


@pytest.fixture(scope=module_unless_mutating)
def world():
    data = make_retail(n_skus=40, n_locations=4, n_days=300, seed=3, incident_rate=1.0, progress=False)
    return data, text.score_reviews(data.reviews)


def _reference_signals(reviews, sales, lag, halflife, aspects):
    """The same columns with pandas groupby, reindex and ewm(adjust=False), one sku at a time."""
    day = reviews["review_ts"].dt.floor("D")
    first = min(day.min(), sales["date"].min() - pd.Timedelta(days=lag))
    days = pd.date_range(first, sales["date"].max(), freq="D")
    out = []
    for sku, rows in sales.groupby("sku", observed=True):
        mine = reviews[reviews["sku"] == sku]
        g = mine.groupby(mine["review_ts"].dt.floor("D"))
        sums = pd.DataFrame({"n": g.size(), "s": g["sentiment"].sum(),
                             **{a: g[f"complaint_{a}"].sum() for a in aspects}}).reindex(days, fill_value=0.0)
        frames = {"": sums}
        for h in halflife:
            frames[f"_ewm{h:g}"] = sums.ewm(halflife=h, adjust=False).mean()
        cols = {}
        for suffix, f in frames.items():
            n = f["n"].astype(float)
            cols[f"review_count{suffix}"] = n
            cols[f"review_sentiment{suffix}"] = (f["s"] / n).where(n > 0, 0.0)
            for a in aspects:
                cols[f"complaint_share_{a}{suffix}"] = (f[a] / n).where(n > 0, 0.0)
        table = pd.DataFrame(cols).shift(lag).fillna(0.0)
        out.append(table.reindex(rows["date"]).set_index(rows.index))
    return pd.concat(out).loc[sales.index]


def test_review_signals_equal_a_pandas_reference(world):
    data, scored = world
    sales = data.sales[data.sales["sku"].isin(["SKU00001", "SKU00007", "SKU00012"])]
    reviews = scored[scored["sku"].isin(["SKU00001", "SKU00007", "SKU00012"])]
    reviews = reviews.assign(sku=reviews["sku"].astype(str))
    sales = sales.assign(sku=sales["sku"].astype(str))
    aspects = ("damage", "quality")
    got = text.review_signals(reviews, sales, lag=3, halflife=(7,), aspects=aspects)
    expected = _reference_signals(reviews, sales, 3, (7,), aspects)
    assert got.columns == text.signal_columns(aspects, (7,))
    assert got.frame.index.equals(sales.index)
    pd.testing.assert_frame_equal(got.frame[got.columns], expected[got.columns], check_exact=False, rtol=1e-9,
                                  check_names=False)


@pytest.mark.parametrize("origin", ["2024-05-10", "2024-08-01"])
def test_signals_use_no_review_after_the_forecast_origin(world, origin):
    data, scored = world
    horizon = 7
    origin = pd.Timestamp(origin)
    full = text.review_signals(scored, data.sales, lag=horizon)
    known = scored[scored["review_ts"] < origin + pd.Timedelta(days=1)]  # written by the end of the origin day
    truncated = text.review_signals(known, data.sales, lag=horizon)
    forecast_rows = (data.sales["date"] <= origin + pd.Timedelta(days=horizon)).to_numpy()
    pd.testing.assert_frame_equal(full.frame.loc[forecast_rows, full.columns],
                                  truncated.frame.loc[forecast_rows, full.columns])
    later = ~forecast_rows
    assert not full.frame.loc[later, full.columns].equals(truncated.frame.loc[later, full.columns])


def test_signal_report_counts_every_review(world):
    data, scored = world
    sales = data.sales[data.sales["date"] < "2024-09-01"]
    sales = sales[sales["sku"] != "SKU00002"]
    odd = scored.copy()
    odd.loc[odd.index[:5], "review_ts"] = pd.NaT
    out = text.review_signals(odd, sales, lag=2)
    assert out.n_reviews == len(odd) == out.n_used + out.n_missing + out.n_unmatched + out.n_late
    assert out.n_missing == 5
    assert out.n_unmatched == int(((odd["sku"] == "SKU00002") & odd["review_ts"].notna()).sum())
    last_read = sales["date"].max() - pd.Timedelta(days=2)
    late = (odd["review_ts"].dt.floor("D") > last_read) & (odd["sku"] != "SKU00002")
    assert out.n_late == int(late.sum())


def test_signals_refuse_bad_input(world):
    data, scored = world
    with pytest.raises(DataValidationError, match="sentiment"):
        text.review_signals(scored.assign(sentiment=np.inf), data.sales)
    with pytest.raises(DataValidationError, match="lag"):
        text.review_signals(scored, data.sales, lag=0)
    with pytest.raises(DataValidationError, match="halflife"):
        text.review_signals(scored, data.sales, halflife=(0,))
    with pytest.raises(DataValidationError, match="complaint_damage"):
        text.review_signals(scored.drop(columns="complaint_damage"), data.sales)


def _surge_by_loops(complaints, reviews, window, baseline, prior):
    days, groups, aspects = complaints.shape
    score = np.zeros_like(complaints)
    recent_out = np.zeros_like(complaints)
    for t in range(days):
        lo = max(0, t - window + 1)
        b_hi, b_lo = t - window, max(0, t - window - baseline + 1)
        all_n = reviews[: max(0, b_hi + 1)].sum()
        for g in range(groups):
            n_recent = reviews[lo:t + 1, g].sum()
            base_n = reviews[b_lo:b_hi + 1, g].sum() if b_hi >= 0 else 0.0
            for a in range(aspects):
                recent = complaints[lo:t + 1, g, a].sum()
                base_c = complaints[b_lo:b_hi + 1, g, a].sum() if b_hi >= 0 else 0.0
                all_c = complaints[: max(0, b_hi + 1), :, a].sum()
                p0 = all_c / all_n if all_n > 0 else 0.0
                share = (base_c + prior * p0) / (base_n + prior)
                expected = n_recent * share
                score[t, g, a] = (recent - expected) / np.sqrt(expected + 0.5) if all_n >= max(prior, 1) else 0.0
                recent_out[t, g, a] = recent
    return score, recent_out


def test_surge_scores_equal_a_loop_over_days():
    rng = np.random.default_rng(0)
    reviews = rng.poisson(3.0, (60, 3)).astype(float)
    complaints = np.minimum(rng.poisson(0.4, (60, 3, 2)), reviews[..., None]).astype(float)
    score, recent = text.surge_scores(complaints, reviews, window=5, baseline=12, prior_reviews=10.0)
    ref_score, ref_recent = _surge_by_loops(complaints, reviews, 5, 12, 10.0)
    np.testing.assert_allclose(recent, ref_recent)
    np.testing.assert_allclose(score, ref_score, rtol=1e-12, atol=1e-12)


def test_complaint_alerts_find_a_planted_surge_with_its_reviews():
    days = pd.date_range("2024-01-01", periods=120)
    rng = np.random.default_rng(1)
    rows = []
    for d, day in enumerate(days):
        for sku in ("a", "b", "c"):
            for _ in range(rng.poisson(4)):
                surge = sku == "b" and 80 <= d < 95
                bad = rng.random() < (0.7 if surge else 0.02)
                rows.append((sku, day + pd.Timedelta(hours=int(rng.integers(0, 24))),
                             "the lamp arrived broken" if bad else "works great"))
    reviews = text.score_reviews(pd.DataFrame(rows, columns=["sku", "review_ts", "text"]))
    alerts = text.complaint_alerts(reviews, aspects=("damage", "quality"))
    hits = alerts[(alerts["sku"] == "b") & (alerts["aspect"] == "damage")]
    assert len(hits) == 1
    first_seen = hits["first_seen"].iloc[0]
    assert days[80] <= first_seen <= days[84]
    assert hits["examples"].iloc[0] and all("broken" in t for t in hits["examples"].iloc[0])
    assert len(alerts) - len(hits) <= 1  # background noise raises at most one other incident


def test_complaint_alerts_count_reviews_and_unusable_ones_in_attrs():
    """attrs hold every review given and those without timestamp or key (not used), alerts or none."""
    days = pd.date_range("2024-01-01", periods=40)
    reviews = pd.DataFrame({"sku": "a", "review_ts": days.repeat(2), "sentiment": -0.5,
                            "text": "arrived broken", "complaint_damage": [False] * 60 + [True] * 20})
    reviews.loc[3, "review_ts"] = pd.NaT
    reviews.loc[5, "sku"] = None
    alerts = text.complaint_alerts(reviews, aspects=("damage",), min_complaints=3)
    assert alerts[["sku", "aspect"]].values.tolist() == [["a", "damage"]]
    assert alerts.attrs == {"n_reviews": 80, "n_missing": 2}
    quiet = text.complaint_alerts(reviews.assign(complaint_damage=False), aspects=("damage",))
    assert len(quiet) == 0 and quiet.attrs == {"n_reviews": 80, "n_missing": 2}


def test_incident_table_and_match_alerts_hand_case():
    dates = pd.date_range("2024-03-01", periods=5)
    truth = pd.concat([
        pd.DataFrame({"table": "reviews", "type": "damaged_batch", "sku": "A", "carrier": None, "date": dates,
                      "magnitude": [1.0, 1.0, 0.9, 0.7, 0.6]}),
        pd.DataFrame({"table": "reviews", "type": "price_increase", "sku": "B", "carrier": None, "date": dates[:2],
                      "magnitude": 1.2}),
        pd.DataFrame({"table": "sales", "type": "demand_spike", "sku": "C", "carrier": None, "date": dates[:1],
                      "magnitude": 3.0}),
    ], ignore_index=True)
    incidents = text.incident_table(truth)
    assert incidents[["type", "sku", "aspect"]].values.tolist() == [["damaged_batch", "A", "damage"],
                                                                     ["price_increase", "B", "price"]]
    assert incidents["demand_onset"].tolist() == [dates[2], dates[0]]
    alerts = pd.DataFrame({"sku": ["A", "A", "B", "Z"], "aspect": ["damage", "quality", "delivery", "damage"],
                           "first_seen": [dates[1], dates[0], dates[1], dates[1]]})
    per, summary = text.match_alerts(alerts, incidents, key="sku")
    assert per["detected"].tolist() == [True, False]
    assert per["lead_days"].iloc[0] == 1.0 and per["delay_days"].iloc[0] == 1.0
    assert summary["recall"] == 0.5 and summary["false_alarms"] == 3.0 and summary["precision"] == 0.25
    _, loose = text.match_alerts(alerts, incidents, key="sku", same_aspect=False)
    assert loose["recall"] == 1.0


def test_match_alerts_lead_time_edges():
    """Hand case: an alert on the demand onset day is not 'before onset' (lead 0), one two days early
    is; with nothing detected the timing summaries are NaN, not 0."""
    dates = pd.date_range("2024-03-01", periods=5)
    truth = pd.concat([pd.DataFrame({"table": "reviews", "type": "damaged_batch", "sku": sku, "carrier": None,
                                     "date": dates, "magnitude": [1.0, 1.0, 0.9, 0.7, 0.6]}) for sku in ("A", "B")],
                      ignore_index=True)
    incidents = text.incident_table(truth)
    assert incidents["demand_onset"].tolist() == [dates[2], dates[2]]
    alerts = pd.DataFrame({"sku": ["A", "B"], "aspect": "damage", "first_seen": [dates[2], dates[0]]})
    per, summary = text.match_alerts(alerts, incidents, key="sku")
    assert per["lead_days"].tolist() == [0.0, 2.0] and per["delay_days"].tolist() == [2.0, 0.0]
    assert summary["share_before_onset"] == 0.5 and summary["mean_lead_days"] == 1.0 and summary["recall"] == 1.0
    missed = alerts.assign(sku="Z")
    per, summary = text.match_alerts(missed, incidents, key="sku")
    assert not per["detected"].any() and per["lead_days"].isna().all()
    assert summary["recall"] == 0.0 and summary["precision"] == 0.0 and summary["false_alarms"] == 2.0
    assert np.isnan(summary["mean_lead_days"]) and np.isnan(summary["share_before_onset"])


def test_generated_reviews_follow_their_order_lines(world):
    data, _ = world
    reviews, orders = data.reviews, data.orders.drop_duplicates("order_id")
    lines = reviews.merge(orders[["order_id", "order_ts", "sku", "location"]], on="order_id", how="left",
                          suffixes=("", "_order"))
    assert lines["order_ts"].notna().all()  # every review is of an order line
    assert (lines["sku"].astype(str) == lines["sku_order"].astype(str)).all()
    assert (lines["review_ts"].dt.floor("D") >= lines["order_ts"].dt.floor("D")).all()
    assert reviews["review_id"].is_unique and reviews["rating"].between(1, 5).all()
    assert reviews["review_ts"].max() < data.sales["date"].max() + pd.Timedelta(days=1)


def test_incidents_move_prices_demand_and_complaints(world):
    data, scored = world
    incidents = text.incident_table(data.truth)
    assert set(incidents["type"]) <= set(INCIDENT_ASPECT) and len(incidents) >= 10
    sales = data.sales.assign(sku=data.sales["sku"].astype(str))
    scored = scored.assign(sku=scored["sku"].astype(str), day=scored["review_ts"].dt.floor("D"))
    for inc in incidents[incidents["type"] == "price_increase"].itertuples():
        mine = sales[(sales["sku"] == inc.sku) & ~sales["promo"]]
        during = mine[(mine["date"] >= inc.start) & (mine["date"] <= inc.end)]["price"].mean()
        before = mine[mine["date"] < inc.start]["price"].mean()
        assert during / before == pytest.approx(inc.depth, rel=0.05)
    batch = incidents[incidents["type"].isin(["damaged_batch", "defective_batch", "sizing_defect"])]
    ratios, shares = [], []
    for inc in batch.itertuples():
        mine = sales[sales["sku"] == inc.sku].groupby("date")["demand"].sum()
        trough = mine[(mine.index >= inc.demand_onset + pd.Timedelta(days=7)) & (mine.index <= inc.end - pd.Timedelta(days=14))]
        before = mine[(mine.index < inc.start) & (mine.index >= inc.start - pd.Timedelta(days=28))]
        if len(trough) >= 5 and len(before) >= 14 and before.mean() > 1:
            ratios.append(trough.mean() / before.mean())
        said = scored[(scored["sku"] == inc.sku) & (scored["day"] >= inc.start) & (scored["day"] <= inc.end)]
        calm = scored[(scored["sku"] == inc.sku) & (scored["day"] < inc.start)]
        if len(said) >= 10 and len(calm) >= 10:
            shares.append(said[f"complaint_{inc.aspect}"].mean() - calm[f"complaint_{inc.aspect}"].mean())
    assert ratios and np.median(ratios) < 0.8  # demand at 35-65 % of normal (seasonality aside)
    assert shares and np.mean(shares) > 0.2


def test_no_incidents_at_rate_zero():
    data = make_retail(n_skus=5, n_locations=3, n_days=60, seed=2, progress=False)
    assert not (data.truth["table"] == "reviews").any()
    assert len(data.reviews) > 0 and data.params["incident_rate"] == 0.0
