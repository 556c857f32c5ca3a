"""The input contract of toolkit.decisions.marketing, property-based (issue 12, items 6 and 7).

Generated bad input gets a DataValidationError (NotFittedError before fit) naming the column
or parameter, or the documented handling; never an internal error. The channel panel
accounts for every order line: rows in = rows used + dropped per reason, and the same for
revenue, checked against a plain pandas reference of the rules (including the lines outside
the marketing calendar that used to vanish without a word).
"""

from __future__ import annotations

import warnings

import dask.dataframe as dd
import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sklearn.exceptions import NotFittedError

from tests.contract import assert_rejects, corrupt, not_frames
from toolkit.decisions import marketing as mk
from toolkit.errors import DataValidationError

SETTINGS = settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
MEDIA = ["spend", "impressions", "clicks", "conversions"]
CHANNELS = ["web", "app"]


def make_marketing(days: int, seed: int, start: str = "2024-01-01") -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    dates = pd.date_range(start, periods=days, freq="D")
    n = days * len(CHANNELS)
    impressions = rng.integers(1000, 5000, n)
    clicks = rng.binomial(impressions, 0.02)
    return pd.DataFrame({"date": np.repeat(dates, len(CHANNELS)), "channel": CHANNELS * days,
                         "spend": rng.uniform(10, 100, n), "impressions": impressions, "clicks": clicks,
                         "conversions": rng.binomial(clicks, 0.1)})


@st.composite
def order_lines(draw, first="2023-12-25", span_days=20):
    """Order lines around the marketing calendar, some negative, some without a price, some repeated."""
    n = draw(st.integers(1, 30))
    rng = np.random.default_rng(draw(st.integers(0, 10_000)))
    channel = rng.integers(0, len(CHANNELS), n)
    frame = pd.DataFrame({
        "order_id": rng.integers(1, 15, n) * 10 + channel,  # an order belongs to one channel's system
        "channel": np.asarray(CHANNELS)[channel],
        "order_ts": pd.Timestamp(first) + pd.to_timedelta(rng.integers(0, span_days * 24 * 60, n), unit="min"),
        "quantity": rng.integers(-1, 4, n),
        "unit_price": np.where(rng.uniform(size=n) < 0.1, np.nan, rng.uniform(1, 20, n)),
    })
    repeats = draw(st.integers(0, 2))
    return pd.concat([frame, frame.head(repeats)], ignore_index=True)


def _reference_accounting(orders: pd.DataFrame, mkt: pd.DataFrame) -> dict:
    """The drop reasons with plain pandas, rule by rule, each line counted once (first rule wins)."""
    left = orders.copy()
    out = {}
    revenue = (left["quantity"] * left["unit_price"]).where(lambda r: np.isfinite(r), 0.0)
    rules = [
        ("duplicated", left.duplicated(keep="first")),
        ("negative_quantity", left["quantity"] < 0),
        ("missing_price", left["unit_price"].isna()),
        ("outside_marketing_calendar", (left["order_ts"].dt.floor("D") < mkt["date"].min())
         | (left["order_ts"].dt.floor("D") > mkt["date"].max())),
    ]
    taken = pd.Series(False, index=left.index)
    for name, rule in rules:
        hit = rule & ~taken
        out[name] = (int(hit.sum()), float(revenue[hit].sum()))
        taken |= hit
    out["used"] = (int((~taken).sum()), float(revenue[~taken].sum()))
    return out


@SETTINGS
@given(orders=order_lines(), days=st.integers(3, 10))
def test_channel_panel_accounts_for_every_line_and_its_revenue(orders, days):
    mkt = make_marketing(days, 0)
    report = []
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        panel = mk.channel_panel(orders, mkt, report=report)
    rep = report[0]
    assert rep.rows_in == len(orders) == rep.rows_used + sum(rep.dropped.values())
    assert rep.revenue_in == pytest.approx(rep.revenue_used + sum(rep.revenue_dropped.values()))
    expected = _reference_accounting(orders, mkt)
    for reason in ("duplicated", "negative_quantity", "missing_price", "outside_marketing_calendar"):
        assert (rep.dropped[reason], rep.revenue_dropped[reason]) == pytest.approx(expected[reason]), reason
    assert rep.rows_used == expected["used"][0]
    assert panel["revenue"].sum() == pytest.approx(expected["used"][1])
    assert len(panel) == len(mkt)  # one row per (date, channel) of marketing
    calendar_warned = any("marketing calendar" in str(w.message) for w in caught)
    assert calendar_warned == (rep.dropped["outside_marketing_calendar"] + rep.dropped["no_marketing_row"] > 0)


def test_channel_panel_counts_lines_on_days_without_a_marketing_row():
    mkt = make_marketing(5, 1)
    mkt = mkt[~((mkt["date"] == pd.Timestamp("2024-01-03")) & (mkt["channel"] == "web"))]
    orders = pd.DataFrame({"order_id": [1, 2, 3], "channel": ["web", "app", "web"],
                           "order_ts": pd.to_datetime(["2024-01-03 10:00", "2024-01-03 11:00", "2024-01-04 09:00"]),
                           "quantity": [2, 1, 1], "unit_price": [5.0, 3.0, 4.0]})
    report = []
    with pytest.warns(UserWarning, match="1 order lines"):
        mk.channel_panel(orders, mkt, report=report)
    assert report[0].dropped["no_marketing_row"] == 1
    assert report[0].revenue_dropped["no_marketing_row"] == pytest.approx(10.0)


def test_channel_panel_counts_copies_seen_in_two_systems():
    web = pd.DataFrame({"order_id": [1, 2], "order_ts": pd.to_datetime(["2024-01-01 10:00", "2024-01-02 11:00"]),
                        "quantity": [1, 2], "unit_price": [10.0, 5.0]})
    app = pd.DataFrame({"order_id": [2, 3], "order_ts": pd.to_datetime(["2024-01-02 11:00", "2024-01-02 12:00"]),
                        "quantity": [2, 1], "unit_price": [5.0, 7.0]})
    report = []
    panel = mk.channel_panel({"web": web, "app": app}, make_marketing(3, 2), report=report)
    rep = report[0]
    assert rep.rows_in == 4 and rep.dropped["seen_in_two_systems"] == 1 and rep.rows_used == 3
    assert rep.revenue_dropped["seen_in_two_systems"] == pytest.approx(10.0)
    assert panel["revenue"].sum() == pytest.approx(10.0 + 10.0 + 7.0)


@SETTINGS
@given(kind=st.sampled_from(["inf", "nan", "text", "drop_column", "empty", "duplicate_row"]),
       column=st.sampled_from(MEDIA), row=st.integers(0, 19))
def test_channel_panel_names_the_bad_marketing_column(kind, column, row):
    mkt = make_marketing(5, 3)
    orders = pd.DataFrame({"order_id": [1], "channel": ["web"], "order_ts": pd.to_datetime(["2024-01-02"]),
                           "quantity": [1], "unit_price": [2.0]})
    expected = {"duplicate_row": ["channel"], "empty": []}.get(kind, [column])
    err = assert_rejects(lambda: mk.channel_panel(orders, corrupt(mkt, kind, column, row)), expected)
    if kind in ("inf", "nan"):
        assert mkt["channel"].iloc[row % len(mkt)] in str(err)  # the (date, channel) key of the bad row


@SETTINGS
@given(bad=not_frames(), which=st.sampled_from(["orders", "marketing"]))
def test_channel_panel_refuses_what_is_not_a_frame(bad, which):
    args = {"orders": pd.DataFrame({"order_id": [1], "channel": ["web"], "order_ts": pd.to_datetime(["2024-01-02"]),
                                    "quantity": [1], "unit_price": [2.0]}), "marketing": make_marketing(3, 4)}
    if which == "orders" and isinstance(bad, dict):
        return  # a dict is a valid orders argument (one frame per source system): tested above
    args[which] = bad
    assert_rejects(lambda: mk.channel_panel(**args), [which])


# --------------------------------------------------------------------------- marketing-mix model


def make_mmm_panel(days: int = 45, seed: int = 5) -> pd.DataFrame:
    mkt = make_marketing(days, seed)
    rng = np.random.default_rng(seed)
    return mkt.assign(revenue=500 + 3 * mkt["spend"] + rng.normal(0, 5, len(mkt)))


SMALL = dict(decays=(0.0, 0.5), half_sats=(1.0,), shapes=(1.0,), max_lag=5, fourier_order=0, country=None,
             n_windows=1, horizon=7)


@SETTINGS
@given(kind=st.sampled_from(["inf", "nan", "text", "drop_column", "empty"]),
       column=st.sampled_from(["spend", "revenue"]), row=st.integers(0, 89))
def test_mmm_fit_names_the_bad_column(kind, column, row):
    bad = corrupt(make_mmm_panel(), kind, column, row)
    assert_rejects(lambda: mk.MarketingMixModel(**SMALL).fit(bad), [column] if kind != "empty" else [])


BAD_MMM = {"decays": [(1.0,), (-0.1,), (), "0.5"], "half_sats": [(0.0,), (np.nan,)], "shapes": [(-1.0,)],
           "max_lag": [-1, 2.5], "fourier_order": [-1], "n_windows": [0], "horizon": [0, "x"]}


@SETTINGS
@given(case=st.sampled_from([(p, v) for p, values in BAD_MMM.items() for v in values]))
def test_mmm_bad_hyper_parameters_are_named(case):
    param, bad = case
    assert_rejects(lambda: mk.MarketingMixModel(**{**SMALL, param: bad}).fit(make_mmm_panel()), [param])


@SETTINGS
@given(bad=not_frames())
def test_mmm_fit_refuses_what_is_not_a_frame(bad):
    assert_rejects(lambda: mk.MarketingMixModel(**SMALL).fit(bad), ["panel"])


def test_mmm_before_fit_is_not_fitted():
    model = mk.MarketingMixModel(**SMALL)
    for call in (lambda: model.response({"web": 1.0}), lambda: model.marginal_roi([1.0, 1.0]),
                 lambda: model.response_curve("web", [1.0]), lambda: model.contributions(),
                 lambda: mk.allocate_budget(model, total=10.0)):
        with pytest.raises(NotFittedError):
            call()
    curves = pd.DataFrame({"decay": [0.0], "half_sat": [10.0], "shape": [1.0], "beta": [5.0]}, index=["web"])
    with pytest.raises(NotFittedError):  # response curves, but no fitted period to decompose
        mk.MarketingMixModel.from_params(curves).contributions()


def test_spend_is_matched_by_channel_name_not_position():
    curves = pd.DataFrame({"decay": [0.0, 0.0], "half_sat": [10.0, 50.0], "shape": [1.0, 1.0],
                           "beta": [100.0, 300.0]}, index=["web", "app"])
    model = mk.MarketingMixModel.from_params(curves)
    by_name = model.response(pd.Series({"app": 20.0, "web": 5.0}))
    expected = [100.0 * 5 / (5 + 10), 300.0 * 20 / (20 + 50)]  # closed-form Hill, shape 1
    np.testing.assert_allclose(by_name.loc[["web", "app"]].to_numpy(), expected)
    assert_rejects(lambda: model.response([1.0, 2.0, 3.0]), ["spend"])
    assert_rejects(lambda: model.response([1.0, [2.0, 3.0]]), ["spend"])  # two entries, one not a number
    assert_rejects(lambda: model.response({"tv": 1.0}), ["channel"])
    err = assert_rejects(lambda: model.response_curve("tv", [1.0]), ["channel"])
    assert "web" in str(err)


@SETTINGS
@given(x=st.one_of(st.floats(max_value=-1e-9, allow_nan=False), st.just(np.nan), st.just(np.inf), st.text(max_size=3)),
       k=st.sampled_from([0.0, -1.0, np.nan]))
def test_hill_names_bad_inputs(x, k):
    assert_rejects(lambda: mk.hill(x, 1.0, 1.0), ["x"])
    assert_rejects(lambda: mk.hill(1.0, k, 1.0), ["half_sat"])
    assert_rejects(lambda: mk.hill(1.0, 1.0, k), ["shape"])


# --------------------------------------------------------------------------- budgets


CURVES = pd.DataFrame({"decay": [0.0, 0.0], "half_sat": [10.0, 50.0], "shape": [1.0, 1.0], "beta": [100.0, 300.0]},
                      index=["web", "app"])


@SETTINGS
@given(case=st.sampled_from([("total", 0.0), ("total", -5.0), ("total", np.nan), ("total", "x"),
                             ("bounds", {"tv": (0, 1)}), ("bounds", {"web": (5.0, 1.0)}), ("bounds", [1, 2]),
                             ("bounds", {"web": 3}), ("n_starts", 0), ("model", "mmm"), ("current", {"tv": 1.0})]))
def test_allocate_budget_bad_arguments_are_named(case):
    param, bad = case
    kwargs = {"model": mk.MarketingMixModel.from_params(CURVES), "total": 40.0, param: bad}
    expected = ["channel"] if param == "current" else [param]
    err = assert_rejects(lambda: mk.allocate_budget(**kwargs), expected)
    if param == "bounds" and isinstance(bad, dict) and "tv" in bad:
        assert "web" in str(err) and "app" in str(err)  # unknown names list the choices


@st.composite
def nodes(draw):
    n = draw(st.integers(1, 8))
    values = st.floats(0, 10, allow_nan=False)
    return pd.DataFrame({"sku": [f"S{i % 3}" for i in range(n)], "date": "2024-01-01",
                         "roi": draw(st.lists(st.floats(-1, 5, allow_nan=False), min_size=n, max_size=n)),
                         "max_spend": draw(st.lists(values, min_size=n, max_size=n)),
                         "units_per_spend": draw(st.lists(values, min_size=n, max_size=n))})


@SETTINGS
@given(frame=nodes(), kind=st.sampled_from(["inf", "nan", "text", "drop_column", "empty"]),
       column=st.sampled_from(["roi", "max_spend"]), row=st.integers(0, 9))
def test_budget_lp_names_the_bad_column_and_keeps_every_node(frame, kind, column, row):
    out = mk.allocate_budget_lp(frame, total=20.0)
    assert len(out) == len(frame) and out.index.equals(frame.index)
    assert out["spend"].sum() <= 20.0 + 1e-6 and (out["spend"] <= frame["max_spend"] + 1e-9).all()
    assert_rejects(lambda: mk.allocate_budget_lp(corrupt(frame, kind, column, row), total=20.0),
                   [column] if kind != "empty" else [])


@SETTINGS
@given(frame=nodes(), kind=st.sampled_from(["inf", "nan", "text", "drop_column"]), row=st.integers(0, 2))
def test_budget_lp_names_the_bad_stock_column_and_counts_unmatched_nodes(frame, kind, row):
    stock = pd.DataFrame({"sku": ["S0", "S1"], "date": "2024-01-01", "available_units": [3.0, 0.0]})
    out = mk.allocate_budget_lp(frame, total=20.0, inventory=stock)
    assert out.attrs["nodes_without_stock_row"] == int((frame["sku"] == "S2").sum())
    assert_rejects(lambda: mk.allocate_budget_lp(frame, total=20.0, inventory=corrupt(stock, kind, "available_units",
                                                                                        row)), ["available_units"])
    assert_rejects(lambda: mk.allocate_budget_lp(frame, total=-1.0), ["total"])
    assert_rejects(lambda: mk.allocate_budget_lp(frame, total=5.0, inventory=[1, 2]), ["inventory"])


@SETTINGS
@given(bad=not_frames())
def test_budget_lp_refuses_what_is_not_a_frame(bad):
    assert_rejects(lambda: mk.allocate_budget_lp(bad, total=1.0), ["nodes"])


# --------------------------------------------------------------------------- anomalies


@SETTINGS
@given(kind=st.sampled_from(["inf", "nan", "text", "drop_column", "empty"]), column=st.sampled_from(MEDIA),
       row=st.integers(0, 59))
def test_marketing_anomalies_name_the_bad_column(kind, column, row):
    bad = corrupt(make_marketing(30, 6), kind, column, row)
    assert_rejects(lambda: mk.marketing_anomalies(bad), [column] if kind != "empty" else [])


@SETTINGS
@given(bad=not_frames(), k=st.sampled_from([0.0, -2.0, np.nan, "x"]))
def test_marketing_anomalies_refuse_non_frames_and_bad_cut_off(bad, k):
    assert_rejects(lambda: mk.marketing_anomalies(bad), ["marketing"])
    assert_rejects(lambda: mk.marketing_anomalies(make_marketing(30, 6), k=k), ["k"])
    err = assert_rejects(lambda: mk.marketing_anomalies(dd.from_pandas(make_marketing(30, 6), npartitions=2)),
                         ["marketing"])
    assert "compute" in str(err)


def test_marketing_anomalies_keep_every_day():
    mkt = make_marketing(40, 7)
    found = mk.marketing_anomalies(mkt)
    assert len(found.days) == len(mkt)
    assert isinstance(found.days, pd.DataFrame) and not isinstance(found.days, DataValidationError)
