"""Every column of :func:`channel_panel` against a plain pandas reference on a hand-built frame (issue 19).

The old tests compared revenue and spend only. Here one small frame reaches every rule and
edge: orders with several lines, one order on two days, a zero and a fractional quantity,
lines on the first and last calendar day (late in the evening), before and after it, on a day
whose channel has no marketing row, negative quantities, missing and infinite prices, a
missing quantity, a missing time stamp, exact repeats, and lines that break several rules at
once (counted under the first rule only). The reference applies the documented rules with
pandas, then ``groupby`` + ``merge`` onto the marketing rows; every output column (media
columns, revenue, units, orders), the row order, the channel categories, the report and the
warning are compared.
"""

from __future__ import annotations

import re
import sys
import warnings

import numpy as np
import pandas as pd
import pytest

from toolkit.decisions import marketing as mk
from toolkit.errors import DataValidationError

NAN, INF = np.nan, np.inf
# order_id, channel, order_ts, quantity, unit_price
LINES = [
    (101, "web", "2024-03-01 09:00", 2.0, 5.0),    # an order of two lines
    (101, "web", "2024-03-01 09:00", 1.0, 3.0),
    (102, "web", "2024-03-01 23:59", 1.0, 4.0),    # first day, late
    (103, "web", "2024-03-02 10:00", 0.0, 9.0),    # zero quantity: kept (an order, no units, no revenue)
    (104, "app", "2024-03-01 12:00", 0.5, 10.0),   # fractional quantity
    (105, "app", "2024-03-03 23:30", 3.0, 2.5),    # last day, late
    (106, "app", "2024-03-03 08:00", -1.0, 2.0),   # negative_quantity
    (101, "web", "2024-03-01 09:00", 2.0, 5.0),    # duplicated (repeat of the first line)
    (107, "store", "2024-03-02 11:00", 1.0, 1.0),  # no_marketing_row (store has none on 03-02)
    (108, "store", "2024-02-29 18:00", 1.0, 7.0),  # outside_marketing_calendar (before)
    (109, "store", "2024-03-04 00:00", 1.0, 7.0),  # outside_marketing_calendar (after, midnight)
    (110, "web", "2024-03-02 13:00", 2.0, NAN),    # missing_price
    (111, "web", "2024-03-02 14:00", 2.0, INF),    # missing_price (infinite)
    (112, "app", "2024-03-02 15:00", NAN, 3.0),    # missing_price (quantity missing)
    (113, "web", None, 1.0, 8.0),                  # missing_time
    (114, "store", "2024-03-01 16:00", 2.0, 6.0),  # one order on two days: counted on each
    (114, "store", "2024-03-03 10:00", 1.0, 6.0),
    (115, "web", "2024-02-28 10:00", -2.0, 3.0),   # negative AND outside the calendar: negative_quantity
    (110, "web", "2024-03-02 13:00", 2.0, NAN),    # duplicated AND without price: duplicated
    (116, "app", "2024-03-05 10:00", 1.0, NAN),    # without price AND outside: missing_price
    (117, "app", "2024-03-01 20:00", 4.0, 1.5),
]
CHANNELS = ["web", "app", "store"]
MEDIA = ["spend", "impressions", "clicks", "conversions"]


def _orders(channel_col: str) -> pd.DataFrame:
    frame = pd.DataFrame(LINES, columns=["order_id", channel_col, "order_ts", "quantity", "unit_price"])
    frame["order_ts"] = pd.to_datetime(frame["order_ts"])
    return frame


def _marketing(time_col: str, channel_col: str) -> pd.DataFrame:
    rows = [(day, channel) for day in pd.date_range("2024-03-01", periods=3) for channel in CHANNELS
            if not (day == pd.Timestamp("2024-03-02") and channel == "store")]
    mkt = pd.DataFrame(rows, columns=[time_col, channel_col])
    n = len(mkt)
    mkt["spend"] = 10.0 + np.arange(n) * 1.5
    mkt["impressions"] = 1000 + 37 * np.arange(n)
    mkt["clicks"] = 50 + 3 * np.arange(n)
    mkt["conversions"] = np.arange(n) % 4
    return mkt.iloc[::-1].reset_index(drop=True)  # given newest first: the panel sorts


def _reference(orders: pd.DataFrame, mkt: pd.DataFrame, time_col: str, channel_col: str):
    """The documented rules in order (first one wins), then groupby + merge with plain pandas."""
    qty, price = orders["quantity"], orders["unit_price"]
    revenue = (qty * price).where(np.isfinite(qty * price), 0.0)
    day = orders["order_ts"].dt.floor("D")
    slots = set(zip(mkt[time_col], mkt[channel_col]))
    rules = {
        "duplicated": orders.duplicated(keep="first"),
        "negative_quantity": qty < 0,
        "missing_price": ~(np.isfinite(qty) & np.isfinite(price)),
        "missing_time": orders["order_ts"].isna(),
        "outside_marketing_calendar": (day < mkt[time_col].min()) | (day > mkt[time_col].max()),
        "no_marketing_row": pd.Series([(d, c) not in slots for d, c in zip(day, orders[channel_col])],
                                      index=orders.index),
    }
    taken = pd.Series(False, index=orders.index)
    dropped, revenue_dropped = {"seen_in_two_systems": 0}, {"seen_in_two_systems": 0.0}
    for reason, hit in rules.items():
        first_hit = hit & ~taken
        dropped[reason], revenue_dropped[reason] = int(first_hit.sum()), float(revenue[first_hit].sum())
        taken |= first_hit
    used = orders[~taken].assign(**{time_col: day[~taken], "revenue": revenue[~taken]})
    daily = used.groupby([time_col, channel_col]).agg(
        revenue=("revenue", "sum"), units=("quantity", "sum"), orders=("order_id", "nunique")).reset_index()
    panel = mkt.merge(daily, on=[time_col, channel_col], how="left").fillna(
        {"revenue": 0.0, "units": 0.0, "orders": 0})
    panel = panel.sort_values([time_col, channel_col]).reset_index(drop=True)
    return panel, dropped, revenue_dropped, revenue, ~taken


@pytest.mark.parametrize("time_col,channel_col", [("date", "channel"), ("day", "medium")])
def test_every_panel_column_matches_a_pandas_groupby(time_col, channel_col):
    orders, mkt = _orders(channel_col), _marketing(time_col, channel_col)
    report = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        panel = mk.channel_panel(orders, mkt, time_col=time_col, channel_col=channel_col, report=report)
    ref, dropped, revenue_dropped, revenue, used = _reference(orders, mkt, time_col, channel_col)

    assert list(panel.columns) == [time_col, channel_col, *MEDIA, "revenue", "units", "orders"]
    assert isinstance(panel.index, pd.RangeIndex) and panel.index.start == 0 and len(panel) == len(mkt) == 8
    assert panel[time_col].dtype == mkt[time_col].dtype
    assert isinstance(panel[channel_col].dtype, pd.CategoricalDtype)
    assert list(panel[channel_col].cat.categories) == ["store", "app", "web"]  # first seen in marketing first
    got = panel.assign(**{channel_col: panel[channel_col].astype(str)})
    pd.testing.assert_frame_equal(got[[time_col, channel_col]], ref[[time_col, channel_col]])
    for column in [*MEDIA, "revenue", "units", "orders"]:
        np.testing.assert_allclose(got[column].to_numpy(dtype=float), ref[column].to_numpy(dtype=float),
                                   rtol=1e-12, err_msg=column)
    # a few cells by hand, so the reference itself is pinned
    cell = got.set_index([time_col, channel_col])
    assert cell.loc[(pd.Timestamp("2024-03-01"), "web"), ["revenue", "units", "orders"]].tolist() == [17.0, 4.0, 2.0]
    assert cell.loc[(pd.Timestamp("2024-03-02"), "web"), ["revenue", "units", "orders"]].tolist() == [0.0, 0.0, 1.0]
    assert cell.loc[(pd.Timestamp("2024-03-01"), "app"), ["revenue", "units", "orders"]].tolist() == [11.0, 4.5, 2.0]
    assert cell.loc[(pd.Timestamp("2024-03-03"), "store"), ["revenue", "units", "orders"]].tolist() == [6.0, 1.0, 1.0]
    assert cell.loc[(pd.Timestamp("2024-03-03"), "web"), ["revenue", "units", "orders"]].tolist() == [0.0, 0.0, 0.0]

    rep = report[0]
    assert rep.dropped == dropped
    assert rep.revenue_dropped == pytest.approx(revenue_dropped)
    assert dropped == {"seen_in_two_systems": 0, "duplicated": 2, "negative_quantity": 2, "missing_price": 4,
                       "missing_time": 1, "outside_marketing_calendar": 2, "no_marketing_row": 1}
    assert rep.rows_in == len(LINES) and rep.rows_used == int(used.sum()) == 9
    assert rep.revenue_in == pytest.approx(revenue.sum())
    assert rep.revenue_used == pytest.approx(revenue[used].sum()) == pytest.approx(panel["revenue"].sum())


def test_channel_categories_follow_the_channels_argument():
    orders, mkt = _orders("channel"), _marketing("date", "channel")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        panel = mk.channel_panel(orders, mkt, channels=["store", "web", "app"])
    assert list(panel["channel"].cat.categories) == ["store", "web", "app"]
    # rows are sorted by date, then by channel name (not by category order)
    assert panel["channel"].astype(str).tolist()[:3] == ["app", "store", "web"]


def test_calendar_warning_and_report_text_give_counts_and_shares():
    orders, mkt = _orders("channel"), _marketing("date", "channel")
    report = []
    with pytest.warns(UserWarning) as caught:
        mk.channel_panel(orders, mkt, report=report)
    rep = report[0]
    lost = rep.revenue_dropped["outside_marketing_calendar"] + rep.revenue_dropped["no_marketing_row"]
    assert lost == pytest.approx(7.0 + 7.0 + 1.0)
    share = lost / rep.revenue_in
    message = str(caught[0].message)
    assert message.startswith(f"channel_panel: 3 order lines ({share:.1%} of revenue) fall outside the marketing "
                              "calendar (2024-03-01 .. 2024-03-03) or on days without a marketing row")
    text = repr(rep)
    assert text.startswith(f"PanelReport(rows_in={len(LINES)}, rows_used=9, dropped={{'duplicated': 2, ")
    assert "'seen_in_two_systems'" not in text  # zero counts are left out
    assert text.endswith(f"revenue_dropped={1 - rep.revenue_used / rep.revenue_in:.1%} of {rep.revenue_in:,.2f})")


def test_no_warning_when_every_line_is_on_the_calendar():
    orders = _orders("channel").iloc[[0, 1, 2, 4]]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        panel = mk.channel_panel(orders, _marketing("date", "channel"))
    assert panel["revenue"].sum() == pytest.approx(10.0 + 3.0 + 4.0 + 5.0)


def test_report_of_a_panel_without_revenue():
    orders = pd.DataFrame({"order_id": [1], "channel": ["web"], "order_ts": pd.to_datetime(["2024-03-01"]),
                           "quantity": [1.0], "unit_price": [NAN]})
    report = []
    panel = mk.channel_panel(orders, _marketing("date", "channel"), report=report)
    assert panel["revenue"].sum() == 0.0 and panel["orders"].sum() == 0.0
    assert report[0].revenue_in == 0.0
    assert repr(report[0]).endswith("revenue_dropped=0.0% of 0.00)")


def test_unknown_channel_in_orders_is_named_with_its_count():
    orders = _orders("channel")
    orders.loc[[0, 3], "channel"] = "fax"
    expected = "^column .channel.: " + re.escape("unknown channel in orders (expected ['store', 'app', 'web'])") + r".*2 offending.*fax"
    with pytest.raises(DataValidationError, match=expected):
        mk.channel_panel(orders, _marketing("date", "channel"))


def test_a_single_frame_is_split_by_channel_and_the_mapping_still_applies():
    """A store system that counts packs of 6: the mapping scales its quantities (units and revenue)."""
    orders, mkt = _orders("channel"), _marketing("date", "channel")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        plain = mk.channel_panel(orders, mkt)
        packs = mk.channel_panel(orders, mkt, mapping={"store": {"units": {"quantity": 6}}})
    store = (packs["channel"] == "store").to_numpy()
    for column in ("units", "revenue"):
        np.testing.assert_allclose(packs.loc[store, column], 6 * plain.loc[store, column])
        np.testing.assert_allclose(packs.loc[~store, column], plain.loc[~store, column])
    np.testing.assert_array_equal(packs["orders"], plain["orders"])
    assert packs.loc[store, "units"].sum() == 6 * 3.0


def _dask(frame):
    import dask.dataframe as dd

    return dd.from_pandas(frame, npartitions=2)


BAD_INPUTS = {
    "empty dict": (lambda o, m: ({}, m), r"^column 'medium': orders is an empty dict"),
    "non-frame source": (lambda o, m: ({"web": [1, 2]}, m), r"^parameter \"orders\['web'\]\": expected an in-memory"),
    "dask source": (lambda o, m: ({"web": _dask(o.drop(columns="medium"))}, m), r"^parameter \"orders\['web'\]\""),
    "dask orders": (lambda o, m: (_dask(o), m), r"^parameter 'orders': expected an in-memory .* Dask"),
    "no channel column": (lambda o, m: (o.drop(columns="medium"), m),
                          r"^column 'medium': missing \(needed to split orders into channel systems\)"),
    "missing channel": (lambda o, m: (o.assign(medium=o["medium"].where(o.index != 2)), m),
                        r"^column 'medium': missing values \(needed to split orders into channel systems\).*\(102,\)"),
    "text quantity": (lambda o, m: (o.assign(quantity="x"), m),
                      r"^column 'quantity': must be numeric .*\(needed for channel revenue\)"),
    "no price column": (lambda o, m: (o.drop(columns="unit_price"), m),
                        r"^column 'unit_price': missing \(needed for channel revenue\)"),
    "text time stamps": (lambda o, m: (o.assign(order_ts=o["order_ts"].astype(str)), m),
                         r"^column 'order_ts': must be a datetime64 column"),
    "dask marketing": (lambda o, m: (o, _dask(m)), r"^parameter 'marketing': expected an in-memory"),
    "empty marketing": (lambda o, m: (o, m.iloc[:0]), r"the frame is empty \(nothing in marketing, for the channel"),
    "no clicks": (lambda o, m: (o, m.drop(columns="clicks")),
                  r"^column 'clicks': missing \(needed in marketing, for the channel panel\)"),
    "text clicks": (lambda o, m: (o, m.assign(clicks="x")),
                    r"^column 'clicks': must be numeric .*\(needed in marketing, for the channel panel\)"),
    "negative conversions": (lambda o, m: (o, m.assign(conversions=-m["conversions"] - 1)),
                             (r"^column 'conversions': negative values \(needed in marketing, for the channel panel\) "
                              r"\(8 offending rows; e.g. \[\(Timestamp\('2024-03-03")),
    "text dates": (lambda o, m: (o, m.assign(day=m["day"].astype(str))), r"^column 'day': must be a datetime64"),
    "missing date": (lambda o, m: (o, m.assign(day=m["day"].where(m.index != 1))),
                     r"^column 'day': missing values \(needed in marketing, for the channel panel\).*NaT, 'app'"),
    "missing medium": (lambda o, m: (o, m.assign(medium=m["medium"].where(m.index != 1))),
                       r"^column 'medium': missing values \(needed in marketing, for the channel panel\)"),
    "repeated row": (lambda o, m: (o, pd.concat([m, m.iloc[:1]])),
                     r"^column 'medium': duplicated \(day, medium\) rows \(needed in marketing, for the channel"),
}


@pytest.mark.parametrize("case", list(BAD_INPUTS))
def test_bad_input_is_named_with_what_it_is_needed_for(case):
    make, message = BAD_INPUTS[case]
    orders, marketing = make(_orders("medium"), _marketing("day", "medium"))
    with pytest.raises(DataValidationError, match=message):
        mk.channel_panel(orders, marketing, time_col="day", channel_col="medium")


def test_an_unknown_marketing_channel_is_named_with_its_count():
    with pytest.raises(DataValidationError, match=re.escape("column 'channel': unknown channel in marketing "
                                                            "(expected ['web', 'app']) (2 offending rows; e.g. "
                                                            "['store'])")):
        mk.channel_panel(_orders("channel"), _marketing("date", "channel"), channels=["web", "app"])


def test_check_media_names_a_missing_column_with_its_purpose():
    from toolkit.decisions.marketing.channels import check_media

    frame = pd.DataFrame({"date": [1], "channel": ["web"], "spend": [1.0]})
    with pytest.raises(DataValidationError, match=r"^column 'clicks': missing \(needed for the test\)"):
        check_media(frame, ["spend", "clicks"], ["date", "channel"], "for the test")


def test_channels_that_are_not_a_list_are_named():
    with pytest.raises(DataValidationError, match="^parameter 'channels': expected a column name or a list"):
        mk.channel_panel(_orders("channel"), _marketing("date", "channel"), channels=5)


def test_one_frame_per_system_gives_the_panel_of_the_single_frame():
    orders, mkt = _orders("channel"), _marketing("date", "channel")
    systems = {name: orders[orders["channel"] == name].drop(columns="channel") for name in CHANNELS}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        single = mk.channel_panel(orders, mkt)
        split = mk.channel_panel(systems, mkt)
    pd.testing.assert_frame_equal(split, single)


def test_copies_seen_in_two_systems_are_counted_with_their_mapped_revenue():
    """Order 2 is in both systems; the app copy (second in the dict) goes, with its revenue in packs of 6."""
    web = pd.DataFrame({"order_id": [1, 2], "order_ts": pd.to_datetime(["2024-03-01 10:00", "2024-03-02 11:00"]),
                        "quantity": [1.0, 2.0], "unit_price": [10.0, 5.0]})
    app = pd.DataFrame({"order_id": [2, 3], "order_ts": pd.to_datetime(["2024-03-02 11:00", "2024-03-02 12:00"]),
                        "quantity": [2.0, 1.0], "unit_price": [5.0, 7.0]})
    report = []
    panel = mk.channel_panel({"web": web, "app": app}, _marketing("day", "medium"), time_col="day",
                             channel_col="medium", mapping={"app": {"units": {"quantity": 6}}}, report=report)
    rep = report[0]
    assert (rep.rows_in, rep.rows_used, rep.dropped["seen_in_two_systems"]) == (4, 3, 1)
    assert sum(rep.dropped.values()) == 1
    assert rep.revenue_dropped["seen_in_two_systems"] == pytest.approx(2 * 6 * 5.0)
    assert rep.revenue_used == pytest.approx(10.0 + 10.0 + 6 * 7.0) == pytest.approx(panel["revenue"].sum())
    assert rep.revenue_in == pytest.approx(rep.revenue_used + 60.0)


def test_calendar_warning_without_any_revenue_says_zero_percent():
    orders = pd.DataFrame({"order_id": [1], "channel": ["web"], "order_ts": pd.to_datetime(["2024-05-01"]),
                           "quantity": [0.0], "unit_price": [3.0]})
    with pytest.warns(UserWarning, match=re.escape("channel_panel: 1 order lines (0.0% of revenue)")):
        mk.channel_panel(orders, _marketing("date", "channel"))


# --- mutation survivors of toolkit.decisions.marketing.channels (issue 19) -------------------------------------


def test_a_mapped_channel_label_does_not_relabel_a_single_frames_lines():
    """The channel column of a single frame decides: {"app": {"channel": "web"}} must not move app revenue to web."""
    orders, mkt = _orders("channel"), _marketing("date", "channel")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        relabelled = mk.channel_panel(orders, mkt, mapping={"app": {"channel": "web"}})
    ref = _reference(orders, mkt, "date", "channel")[0]
    got = relabelled.assign(channel=relabelled["channel"].astype(str))
    for column in ("revenue", "units", "orders"):
        np.testing.assert_allclose(got[column].to_numpy(dtype=float), ref[column].to_numpy(dtype=float), err_msg=column)
    cell = got.set_index(["date", "channel"])
    assert cell.loc[(pd.Timestamp("2024-03-01"), "app"), ["revenue", "units", "orders"]].tolist() == [11.0, 4.5, 2.0]
    assert cell.loc[(pd.Timestamp("2024-03-01"), "web"), ["revenue", "units", "orders"]].tolist() == [17.0, 4.0, 2.0]


@pytest.mark.parametrize("column", ["quantity", "unit_price"])
def test_a_missing_value_in_a_nullable_boolean_column_is_a_missing_price(column):
    """Boolean columns pass the numeric check, so <NA> in one must be a missing value, never an internal TypeError."""
    other = "unit_price" if column == "quantity" else "quantity"
    orders = pd.DataFrame({"order_id": [1, 2, 3], "channel": ["web", "web", "app"],
                           "order_ts": pd.to_datetime(["2024-03-01 10:00", "2024-03-01 11:00", "2024-03-02 12:00"]),
                           column: pd.array([True, None, True], dtype="boolean"), other: [4.0, 5.0, 3.0]})
    report = []
    panel = mk.channel_panel(orders, _marketing("date", "channel"), report=report)
    rep = report[0]
    assert rep.dropped["missing_price"] == 1 and rep.rows_used == 2 and rep.revenue_in == 7.0
    cell = panel.assign(channel=panel["channel"].astype(str)).set_index(["date", "channel"])
    assert cell.loc[(pd.Timestamp("2024-03-01"), "web"), ["revenue", "units", "orders"]].tolist() == \
        ([4.0, 1.0, 1.0] if column == "quantity" else [4.0, 4.0, 1.0])
    assert cell.loc[(pd.Timestamp("2024-03-02"), "app"), ["revenue", "units", "orders"]].tolist() == \
        ([3.0, 1.0, 1.0] if column == "quantity" else [3.0, 3.0, 1.0])
    assert panel["revenue"].sum() == 7.0


def test_units_are_summed_in_float64_from_a_float32_quantity():
    """Weights in kg stored as float32 upstream: a day's units are the float64 sum (a float32 sum rounds)."""
    kg = np.array([0.1, 0.7, 1.3, 2.9, 2.0**24, 1.0], dtype="float32")
    orders = pd.DataFrame({"order_id": [1, 2, 3, 4, 5, 6], "channel": ["web"] * 4 + ["app"] * 2,
                           "order_ts": pd.to_datetime(["2024-03-01 08:00"] * 4 + ["2024-03-02 09:00"] * 2),
                           "quantity": kg, "unit_price": 1.0})
    panel = mk.channel_panel(orders, _marketing("date", "channel"))
    used = orders.assign(date=orders["order_ts"].dt.floor("D"), quantity=orders["quantity"].astype("float64"))
    expected = used.groupby(["date", "channel"])["quantity"].sum()
    assert expected.loc[(pd.Timestamp("2024-03-02"), "app")] == 2.0**24 + 1  # not representable in float32
    cell = panel.assign(channel=panel["channel"].astype(str)).set_index(["date", "channel"])
    assert panel["units"].dtype == np.float64
    for key, units in expected.items():
        assert cell.loc[key, "units"] == units, key
    assert panel["units"].sum() == expected.sum()


def test_revenue_units_and_orders_are_float64_when_every_row_has_a_sale():
    """Integer quantities on every (date, channel): the schema must not depend on whether a day had no sale."""
    mkt = _marketing("date", "channel")
    orders = pd.DataFrame({"order_id": np.arange(len(mkt)), "channel": mkt["channel"].to_numpy(),
                           "order_ts": mkt["date"] + pd.Timedelta("5h"), "quantity": np.arange(len(mkt)) + 1,
                           "unit_price": 2})
    panel = mk.channel_panel(orders, mkt)
    assert {column: panel[column].dtype for column in ("revenue", "units", "orders")} == \
        {"revenue": np.float64, "units": np.float64, "orders": np.float64}
    by_key = orders.assign(date=mkt["date"]).set_index(["date", "channel"])["quantity"]
    got = panel.assign(channel=panel["channel"].astype(str)).set_index(["date", "channel"])
    np.testing.assert_array_equal(got["units"], by_key.loc[got.index].to_numpy(dtype=float))
    np.testing.assert_array_equal(got["revenue"], 2.0 * by_key.loc[got.index].to_numpy(dtype=float))
    np.testing.assert_array_equal(got["orders"], np.ones(len(mkt)))


@pytest.mark.parametrize("column", ["revenue", "units", "orders"])
def test_marketing_that_already_has_a_panel_column_is_refused(column):
    """A platform-reported revenue (or units, orders) column would clash with the computed one: named, not a KeyError."""
    mkt = _marketing("date", "channel").assign(**{column: 1.0})
    with pytest.raises(DataValidationError, match=f"^column '{column}': already in marketing, but the channel panel "
                                                  "computes it from the order lines; rename or drop it first"):
        mk.channel_panel(_orders("channel"), mkt)


def test_the_calendar_warning_points_at_the_caller():
    """stacklevel=3: the warning is reported at the line that called channel_panel, not inside the module.

    Skipped when channel_panel is wrapped (e.g. by mutmut's trampolines), which adds frames to the stack.
    """
    if hasattr(mk.channel_panel, "__wrapped__"):
        pytest.skip("channel_panel is wrapped: extra stack frames move any fixed stacklevel")
    orders, mkt = _orders("channel"), _marketing("date", "channel")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        line = sys._getframe().f_lineno + 1
        mk.channel_panel(orders, mkt)
    ours = [w for w in caught if str(w.message).startswith("channel_panel:")]
    assert len(ours) == 1
    assert ours[0].category is UserWarning
    assert (ours[0].filename, ours[0].lineno) == (__file__, line)


def test_the_calendar_warning_ends_by_pointing_at_the_panel_report():
    orders, mkt = _orders("channel"), _marketing("date", "channel")
    with pytest.warns(UserWarning) as caught:
        mk.channel_panel(orders, mkt)
    assert str(caught[0].message).endswith("they are left out of the panel (see the PanelReport)")


def test_timestamps_past_the_nanosecond_range_are_refused_not_wrapped_around():
    """Marketing dates in 2300 failed with an internal OutOfBoundsDatetime; an order time in 2300 kept in
    microseconds (a mapping whose time_cols leave order_ts alone) was wrapped around by the nanosecond cast
    (read as 1715). Both are refused at the edge now, naming the column."""
    days = pd.to_datetime(["2300-01-01", "2300-01-02"]).as_unit("us")
    far_mkt = pd.DataFrame({"date": days, "channel": "web", "spend": 1.0, "impressions": 1, "clicks": 1,
                            "conversions": 1})
    orders = pd.DataFrame({"order_id": [1, 2], "channel": "web", "order_ts": days + pd.Timedelta("3h"),
                           "quantity": 1.0, "unit_price": 2.0})
    with pytest.raises(DataValidationError, match="^column 'date': timestamps outside the years 1677-2262"):
        mk.channel_panel(orders, far_mkt)
    near = orders.assign(order_ts=orders["order_ts"].where(orders["order_id"] == 1, pd.Timestamp("2024-03-01 10:00")))
    with pytest.raises(DataValidationError, match="^column 'order_ts': timestamps outside the years 1677-2262"):
        mk.channel_panel(near, _marketing("date", "channel"), mapping={"web": {"time_cols": []}})
