"""Edges of toolkit.cleanse where planted bugs survived (issue 19): report counts when one row
breaks several rules, and fill limits at the very start and end of a series.

References: counts worked out by hand on small frames (each row's broken rules are listed next
to it), the report table typed out by hand, pandas ``groupby().ffill/bfill(limit=)`` and
``interpolate(limit=, limit_area="inside")``, and a plain loop over each series for the per-gap
limit of constant fills (pandas' ``fillna(limit=)`` counts per column, not per gap).
"""

from __future__ import annotations

import re

import dask
import dask.dataframe as dd
import numpy as np
import pandas as pd
import pytest

from toolkit import cleanse as cl
from toolkit.cleanse.report import CleanReport, StepCounts, Violation, check_report
from toolkit.errors import DataValidationError

IDS = ["sku", "location"]
NAN, INF = np.nan, np.inf


# ------------------------------------------------------------------ rows breaking several rules


SCHEMA = cl.Schema("t", {"id": cl.Column("int", nullable=False),
                         "qty": cl.Column("int", nullable=False, min=0, max=10),
                         "price": cl.Column("float", nullable=False, min=0, max=100),
                         "disc": cl.Column("float", min=0, max=1)},  # disc alone is nullable
                   unique=("id",))


def several_rules():
    """Ten rows; seven break 18 rules between them (rules in schema order: not null, finite, min, max)."""
    return pd.DataFrame({
        "id": np.arange(1, 11, dtype=np.int64),
        #        clean  qty<0   qty>10  .       .      clean  qty<0   .      clean   .
        "qty": [5, -1, 11, 3, 2, 4, -3, 1, 7, 0],
        #        .      null    -inf    >100    .      .      >100    +inf   .       null
        "price": [10.0, NAN, -INF, 200.0, 5.0, 50.0, 150.0, INF, 20.0, NAN],
        #        .      .       >1      <0      +inf   (NaN ok) .     -inf   .       >1
        "disc": [0.1, 0.2, 2.0, -0.5, INF, NAN, 0.5, -INF, 0.3, 1.5],
    })


# every rule with the ids of the rows breaking it (a row breaking two rules is under both)
BROKEN = {"qty >= 0": [2, 7], "qty <= 10": [3], "price not null": [2, 10], "price finite": [3, 8],
          "price >= 0": [3], "price <= 100": [4, 7, 8], "disc finite": [5, 8], "disc >= 0": [4, 8],
          "disc <= 1": [3, 5, 10]}


def test_several_rules_drop_counts_each_row_once_under_its_first_rule():
    report = cl.CleanReport()
    out = cl.validate(several_rules(), SCHEMA, errors="drop", report=report)
    assert out["id"].tolist() == [1, 6, 9]
    step = report.steps[0]
    # id 2: qty >= 0 first; id 3: qty <= 10 (before price finite/min, disc max); id 10: price not null;
    # id 8: price finite; id 4: price <= 100; id 5: disc finite. Rules whose rows all went earlier are absent.
    assert step["dropped"] == {"qty >= 0": 2, "qty <= 10": 1, "price not null": 1, "price finite": 1,
                               "price <= 100": 1, "disc finite": 1}
    assert step["violations"] == {rule: len(ids) for rule, ids in BROKEN.items()}
    assert sum(step["violations"].values()) == 18
    affected = set().union(*map(set, BROKEN.values()))
    assert (step["rows_in"], step["rows_out"], sum(step["dropped"].values())) == (10, 3, len(affected))
    assert step["values"] == {} and step["inserted"] == {}
    assert report.rows_in == 10 and report.rows_out == 3 and report.dropped == step["dropped"]


def test_several_rules_null_drops_rows_of_non_nullable_columns_and_nulls_the_rest():
    report = cl.CleanReport()
    out = cl.validate(several_rules(), SCHEMA, errors="null", report=report)
    # qty and price are not nullable: ids 2, 3, 7 (qty), 10, 8, 4 (price) go; id 5 keeps its row, its
    # infinite disc is nulled; the disc values of ids 3, 4, 8, 10 also break rules but their rows went.
    assert out["id"].tolist() == [1, 5, 6, 9]
    np.testing.assert_array_equal(out["disc"], [0.1, NAN, NAN, 0.3])
    step = report.steps[0]
    assert step["dropped"] == {"qty >= 0": 2, "qty <= 10": 1, "price not null": 1, "price finite": 1,
                               "price <= 100": 1}
    assert step["values"] == {"nulled": 1}
    assert step["violations"] == {rule: len(ids) for rule, ids in BROKEN.items()}
    assert step["rows_in"] == step["rows_out"] + sum(step["dropped"].values()) == 10


def test_several_rules_null_counts_cells_in_kept_rows_only():
    report = cl.CleanReport()
    out = cl.validate(several_rules(), SCHEMA.allow_missing("price"), errors="null", report=report)
    # only qty drops rows now (ids 2, 7, 3); price is nulled in ids 3, 4, 7, 8 -> kept 4, 8; disc in
    # ids 3, 4, 5, 8, 10 -> kept 4, 5, 8, 10: 6 cells in 4 rows. Missing prices break no rule any more.
    assert out["id"].tolist() == [1, 4, 5, 6, 8, 9, 10]
    np.testing.assert_array_equal(out["price"], [10.0, NAN, 5.0, 50.0, NAN, 20.0, NAN])
    np.testing.assert_array_equal(out["disc"], [0.1, NAN, NAN, NAN, NAN, 0.3, NAN])
    step = report.steps[0]
    assert step["dropped"] == {"qty >= 0": 2, "qty <= 10": 1}
    assert step["values"] == {"nulled": 6}
    assert step["violations"] == {rule: len(ids) for rule, ids in BROKEN.items() if rule != "price not null"}
    assert step["rows_out"] == 7


def test_several_rules_raise_names_every_rule_with_its_count_and_keys():
    with pytest.raises(DataValidationError) as err:
        cl.validate(several_rules(), SCHEMA)
    msg = str(err.value)
    for rule, ids in BROKEN.items():
        col, name = rule.split(" ", 1)
        assert f"column {col!r}: {len(ids)} rows break rule {name!r} (schema 't'); keys: {ids}" in msg
    assert msg.count("rows break rule") == len(BROKEN)
    assert err.value.column == "qty"  # the first broken rule


def broken_rules(message):
    """``{"<column> <rule>": (count, sorted keys)}`` read back from a validation error."""
    found = re.findall(r"column '(\w+)': (\d+) rows break rule '([^']+)' \(schema 't'\); keys: \[([^\]]*)\]", message)
    return {f"{col} {rule}": (int(n), sorted(int(k) for k in keys.split(", "))) for col, n, rule, keys in found}


def test_several_rules_dask_partitions_add_up_to_the_pandas_counts():
    """Rows are regrouped by the unique key on Dask: same counts, same rows, keys from every partition."""
    df = several_rules()
    a, b = cl.CleanReport(), cl.CleanReport()
    out = cl.validate(df, SCHEMA, errors="drop", report=a)
    lazy = cl.validate(dd.from_pandas(df, npartitions=3), SCHEMA, errors="drop", report=b)
    assert sorted(lazy.compute()["id"]) == out["id"].tolist()
    assert b.to_dict() == a.to_dict()
    with pytest.raises(DataValidationError) as err:
        cl.validate(dd.from_pandas(df, npartitions=3), SCHEMA)
    assert broken_rules(str(err.value)) == {rule: (len(ids), ids) for rule, ids in BROKEN.items()}


# ------------------------------------------------------------------------------ the report itself


def four_steps():
    """A report typed by hand: every row in is either out or dropped, and inserted rows add to it."""
    validate = StepCounts.start(12345)
    validate.drop("units >= 0", 5)
    validate.drop("price not null", 3)
    validate.drop("duplicate", 0)  # nothing: no entry
    validate.value("nulled", 4)
    validate.violation("units", ">= 0", 5, ["a", "b"])  # all dropped: not repeated in the table
    validate.violation("price", "not null", 7, ["c"])  # 3 dropped, 4 nulled: shown
    validate.violation("price", ">= 0", 0, [])  # nothing: no entry
    calendar = StepCounts.start(12337)
    calendar.insert("calendar gap", 1200)
    calendar.insert("calendar gap", 0)
    calendar.value("filled", 11)
    tap = StepCounts.start(13537)
    dedupe = StepCounts.start(13537)
    dedupe.drop("duplicate", 2)
    dedupe.drop("units >= 0", 1)
    report = CleanReport()
    for name, counts in [("validate", validate), ("complete_calendar", calendar), ("tap", tap),
                         ("drop_duplicates", dedupe)]:
        report.record(name, counts)
    return report


def test_report_steps_and_totals_add_up():
    report = four_steps()
    steps = report.steps
    assert [s["step"] for s in steps] == ["validate", "complete_calendar", "tap", "drop_duplicates"]
    assert steps[0] == {"step": "validate", "rows_in": 12345, "rows_out": 12337,
                        "dropped": {"units >= 0": 5, "price not null": 3}, "inserted": {},
                        "values": {"nulled": 4}, "violations": {"units >= 0": 5, "price not null": 7}}
    assert steps[1] == {"step": "complete_calendar", "rows_in": 12337, "rows_out": 13537, "dropped": {},
                        "inserted": {"calendar gap": 1200}, "values": {"filled": 11}, "violations": {}}
    assert steps[3]["rows_out"] == 13534 and steps[3]["dropped"] == {"duplicate": 2, "units >= 0": 1}
    assert report.rows_in == 12345 and report.rows_out == 13534
    assert report.dropped == {"units >= 0": 6, "price not null": 3, "duplicate": 2}  # summed over steps
    assert report.rows_in - sum(report.dropped.values()) + 1200 == report.rows_out
    assert report.to_dict() == {"rows_in": 12345, "rows_out": 13534,
                                "dropped": {"units >= 0": 6, "price not null": 3, "duplicate": 2}, "steps": steps}
    assert all(type(v) is int for s in steps for k in ("dropped", "values", "violations") for v in s[k].values())


def test_report_table_is_the_hand_written_one():
    expected = "\n".join([
        " #  step                   rows in    rows out   dropped  inserted  details",
        "-" * 75,
        " 1  validate                12,345      12,337         8         0  dropped units >= 0: 5; "
        "dropped price not null: 3; nulled: 4; rule price not null: 7 rows",
        " 2  complete_calendar       12,337      13,537         0     1,200  inserted calendar gap: 1200; filled: 11",
        " 3  tap                     13,537      13,537         0         0  ",
        " 4  drop_duplicates         13,537      13,534         3         0  dropped duplicate: 2; dropped units >= 0: 1",
    ])
    assert str(four_steps()) == expected
    assert repr(four_steps()) == "CleanReport(4 steps, rows 12,345 -> 13,534)"


def test_report_frame_is_the_hand_written_one():
    rows = [(1, "validate", "rows", "in", 12345), (1, "validate", "rows", "out", 12337),
            (1, "validate", "dropped", "units >= 0", 5), (1, "validate", "dropped", "price not null", 3),
            (1, "validate", "values", "nulled", 4), (1, "validate", "violations", "units >= 0", 5),
            (1, "validate", "violations", "price not null", 7),
            (2, "complete_calendar", "rows", "in", 12337), (2, "complete_calendar", "rows", "out", 13537),
            (2, "complete_calendar", "inserted", "calendar gap", 1200), (2, "complete_calendar", "values", "filled", 11),
            (3, "tap", "rows", "in", 13537), (3, "tap", "rows", "out", 13537),
            (4, "drop_duplicates", "rows", "in", 13537), (4, "drop_duplicates", "rows", "out", 13534),
            (4, "drop_duplicates", "dropped", "duplicate", 2), (4, "drop_duplicates", "dropped", "units >= 0", 1)]
    expected = pd.DataFrame(rows, columns=["step_no", "step", "kind", "reason", "count"])
    pd.testing.assert_frame_equal(four_steps().to_frame(), expected)


def test_empty_report():
    report = CleanReport()
    assert (report.rows_in, report.rows_out, report.dropped, report.steps) == (0, 0, {}, [])
    assert report.to_dict() == {"rows_in": 0, "rows_out": 0, "dropped": {}, "steps": []}
    assert str(report).splitlines()[1] == "-" * 75 and len(str(report).splitlines()) == 2
    assert repr(report) == "CleanReport(0 steps, rows 0 -> 0)"
    assert report.to_frame().empty and list(report.to_frame().columns) == ["step_no", "step", "kind", "reason",
                                                                             "count"]


def test_step_counts_keep_examples_and_ignore_zero_counts():
    counts = StepCounts.start(10)
    assert (counts.rows_in, counts.rows_out) == (10, 10)
    counts.violation("units", ">= 0", 7, [f"k{i}" for i in range(7)])
    counts.violation("units", "<= 9", 0, ["k0"])
    assert counts.violations == [Violation("units", ">= 0", 7, ["k0", "k1", "k2", "k3", "k4"])]
    assert counts.violations[0].label == "units >= 0"
    counts.insert("gap", 2)
    counts.insert("gap", 3)
    counts.drop("bad", 4)
    counts.value("filled", 1)
    counts.value("filled", 2)
    assert (counts.rows_out, counts.inserted, counts.dropped, counts.values) == (11, {"gap": 5}, {"bad": 4},
                                                                              {"filled": 3})


def test_step_counts_merge_sums_partitions_and_merges_rules():
    first = StepCounts.start(4)
    first.drop("a", 1)
    first.insert("gap", 2)
    first.value("filled", 3)
    first.violation("units", ">= 0", 3, ["k1", "k2", "k3"])
    first.violation("price", "not null", 1, ["k4"])
    second = StepCounts.start(6)
    second.drop("a", 2)
    second.drop("b", 1)
    second.value("filled", 1)
    second.value("nulled", 2)
    second.violation("units", ">= 0", 4, ["k5", "k6", "k7", "k8"])
    second.violation("units", "<= 9", 1, ["k9"])
    merged = StepCounts.merge([first, second])
    assert (merged.rows_in, merged.rows_out) == (10, 5 + 3)
    assert (merged.dropped, merged.inserted, merged.values) == ({"a": 3, "b": 1}, {"gap": 2}, {"filled": 4, "nulled": 2})
    assert merged.violations == [Violation("units", ">= 0", 7, ["k1", "k2", "k3", "k5", "k6"]),
                                 Violation("price", "not null", 1, ["k4"]), Violation("units", "<= 9", 1, ["k9"])]
    assert first.violations[0] == Violation("units", ">= 0", 3, ["k1", "k2", "k3"])  # parts untouched
    assert StepCounts.merge([]) == StepCounts()


def test_pending_dask_counts_resolve_in_order_on_first_read():
    report = CleanReport()
    report.record("ready", StepCounts.start(9))
    report.record("lazy_a", dask.delayed(StepCounts.start)(7))
    report.record("lazy_b", dask.delayed(StepCounts.start)(5))
    assert repr(report) == "CleanReport(3 steps, pending)"
    assert [(s["step"], s["rows_in"]) for s in report.steps] == [("ready", 9), ("lazy_a", 7), ("lazy_b", 5)]
    assert repr(report) == "CleanReport(3 steps, rows 9 -> 5)"


@pytest.mark.parametrize("bad", [{}, "report", 1, [CleanReport()]])
def test_check_report_refuses_what_is_not_a_report(bad):
    check_report(None)
    check_report(CleanReport())
    with pytest.raises(DataValidationError, match=r"parameter 'report': expected a CleanReport or None, got '") as err:
        check_report(bad)
    assert err.value.parameter == "report" and type(bad).__name__ in str(err.value)


# ------------------------------------------------------------------------ fill limits at the edges


GAPPY = {  # (sku, location): units; every series on consecutive days from its own first day
    ("A", "w"): [NAN, NAN, NAN, 4, NAN, NAN, 7, NAN, NAN, NAN, NAN],  # gaps at the start, inside, at the end
    ("A", "s"): [0, 0, NAN, 0, 3, NAN, NAN, 0, 0, 0, NAN, 0, NAN, NAN],  # intermittent: mostly zeros
    ("B", "w"): [NAN, NAN, NAN, NAN],  # nothing to fill from
    ("B", "s"): [NAN],
    ("C", "w"): [2.0],
    ("C", "s"): [1, NAN, NAN, NAN, NAN, NAN, 6],  # one long gap inside
    ("D", "w"): [NAN, 5, NAN, NAN, NAN],  # one value, gaps on both sides
    ("D", "s"): [NAN, NAN, 8, 9, NAN, NAN, NAN, NAN, NAN, NAN, NAN, 2, NAN],  # seasons missing at both ends
}


@pytest.fixture
def gappy():
    """Series whose gaps open and close them, an intermittent one, all-missing and one-row series;
    the rows shuffled, every series starting on another day."""
    parts = [pd.DataFrame({"sku": sku, "location": loc, "units": np.asarray(units, dtype=float),
                           "date": pd.date_range(pd.Timestamp("2024-03-01") + pd.Timedelta(days=3 * i),
                                                 periods=len(units), freq="D")})
             for i, ((sku, loc), units) in enumerate(GAPPY.items())]
    return pd.concat(parts, ignore_index=True).sample(frac=1.0, random_state=7).reset_index(drop=True)


def time_ordered(df):
    return df.sort_values([*IDS, "date"], kind="stable")


def pandas_fill(df, method, limit, period):
    """pandas' own per-group fills (aligned on ``df``'s index)."""
    ordered = time_ordered(df)
    groups = ordered.groupby(IDS, sort=False)["units"]
    if method == "ffill":
        return groups.ffill(limit=limit)
    if method == "bfill":
        return groups.bfill(limit=limit)
    if method == "linear":
        return groups.transform(lambda s: s.interpolate(limit=limit, limit_area="inside"))
    phase = ordered.groupby(IDS, sort=False).cumcount() % period  # row position in the series, mod period
    return ordered.groupby([*IDS, phase], sort=False)["units"].ffill(limit=limit)


def constant_fill(df, value, limit):
    """The per-gap limit of constant fills, by a loop: the run of missing values counts from the last
    valid value, or from the series' first row for a gap that opens the series."""
    out = df["units"].copy()
    for _, rows in time_ordered(df).groupby(IDS, sort=False):
        fill = value(rows["units"])
        run = 0
        for i, x in rows["units"].items():
            run = run + 1 if np.isnan(x) else 0
            if run and (limit is None or run <= limit):
                out[i] = fill
    return out


@pytest.mark.parametrize("limit", [None, 1, 2, 3, 5])
@pytest.mark.parametrize("method", ["ffill", "bfill", "linear"])
def test_fill_limits_at_series_edges_match_pandas(gappy, method, limit):
    report = cl.CleanReport()
    out = cl.fill_missing(gappy, method=method, limit=limit, indicator=True, report=report)
    expected = pandas_fill(gappy, method, limit, None).reindex(gappy.index)
    pd.testing.assert_series_equal(out["units"], expected, check_names=False)
    filled = gappy["units"].isna() & expected.notna()
    assert out["units_filled"].tolist() == filled.tolist()
    assert report.steps[0]["values"] == ({"filled": int(filled.sum())} if filled.any() else {})
    assert out.index.equals(gappy.index) and out[["sku", "location", "date"]].equals(gappy[["sku", "location", "date"]])


@pytest.mark.parametrize("period,limit", [(1, None), (1, 2), (2, None), (2, 1), (3, 1), (3, 2), (7, None), (7, 1)])
def test_seasonal_fill_limits_count_seasons_like_pandas(gappy, period, limit):
    out = cl.fill_missing(gappy, method="seasonal", period=period, limit=limit, indicator=True)
    expected = pandas_fill(gappy, "seasonal", limit, period).reindex(gappy.index)
    pd.testing.assert_series_equal(out["units"], expected, check_names=False)
    assert out["units_filled"].tolist() == (gappy["units"].isna() & expected.notna()).tolist()


@pytest.mark.parametrize("limit", [None, 1, 2, 3])
@pytest.mark.parametrize("method", ["zero", "median"])
def test_constant_fill_limits_count_from_the_series_start(gappy, method, limit):
    value = (lambda s: 0.0) if method == "zero" else (lambda s: s.median())  # NaN median: nothing filled
    report = cl.CleanReport()
    out = cl.fill_missing(gappy, method=method, limit=limit, indicator=True, report=report)
    expected = constant_fill(gappy, value, limit)
    pd.testing.assert_series_equal(out["units"], expected, check_names=False)
    filled = gappy["units"].isna() & expected.notna()
    assert out["units_filled"].tolist() == filled.tolist()
    assert report.steps[0]["values"] == {"filled": int(filled.sum())}


ONE = [NAN, NAN, NAN, 1, NAN, NAN, NAN, 5, NAN, NAN]  # by hand, limit 2 unless said


@pytest.mark.parametrize("method,limit,expected", [
    ("ffill", 2, [NAN, NAN, NAN, 1, 1, 1, NAN, 5, 5, 5]),
    ("ffill", 1, [NAN, NAN, NAN, 1, 1, NAN, NAN, 5, 5, NAN]),
    ("bfill", 2, [NAN, 1, 1, 1, NAN, 5, 5, 5, NAN, NAN]),
    ("bfill", 1, [NAN, NAN, 1, 1, NAN, NAN, 5, 5, NAN, NAN]),
    ("bfill", None, [1, 1, 1, 1, 5, 5, 5, 5, NAN, NAN]),
    ("linear", 2, [NAN, NAN, NAN, 1, 2, 3, NAN, 5, NAN, NAN]),
    ("linear", None, [NAN, NAN, NAN, 1, 2, 3, 4, 5, NAN, NAN]),
    ("zero", 2, [0, 0, NAN, 1, 0, 0, NAN, 5, 0, 0]),
    ("zero", 1, [0, NAN, NAN, 1, 0, NAN, NAN, 5, 0, NAN]),
    ("median", 2, [3, 3, NAN, 1, 3, 3, NAN, 5, 3, 3]),
    ("median", None, [3, 3, 3, 1, 3, 3, 3, 5, 3, 3]),
    ("seasonal", 1, [NAN, NAN, NAN, 1, NAN, 1, NAN, 5, NAN, 5]),  # period 2: the odd rows 1, 3, 5, 7, 9
])
def test_fill_one_series_by_hand(method, limit, expected):
    df = pd.DataFrame({"date": pd.date_range("2024-01-01", periods=len(ONE)), "units": ONE})
    out = cl.fill_missing(df, method=method, id_cols=None, limit=limit, period=2)
    np.testing.assert_array_equal(out["units"], expected)


def test_fill_counts_every_column_and_keeps_the_others(gappy):
    df = gappy.assign(price=gappy["units"] * 2, promo=np.arange(len(gappy)))
    report = cl.CleanReport()
    out = cl.fill_missing(df, ["units", "price"], "ffill", limit=1, indicator=True, report=report)
    ref = pandas_fill(gappy, "ffill", 1, None).reindex(gappy.index)
    np.testing.assert_array_equal(out["price"], ref * 2)
    assert list(out.columns) == [*df.columns, "units_filled", "price_filled"]
    assert out["promo"].tolist() == df["promo"].tolist()
    assert report.steps[0]["values"] == {"filled": 2 * int((gappy["units"].isna() & ref.notna()).sum())}
    assert (report.steps[0]["rows_in"], report.steps[0]["rows_out"]) == (len(df), len(df))


@pytest.mark.parametrize("kwargs,message", [
    ({"cols": []}, r"^parameter 'cols': name at least one column to fill, got \[\]$"),
    ({"method": "mean"}, r"^parameter 'method': unknown value, got 'mean'; choose from \['ffill', 'bfill', 'linear', "
                         r"'median', 'zero', 'seasonal'\]$"),
    ({"cols": 3}, r"^parameter 'cols': expected a column name or a list of column names, got 3$"),
    ({"time_col": 3}, r"^parameter 'time_col': expected a column name, got 3$"),
    ({"limit": 0}, r"^parameter 'limit': must be >= 1, got 0$"),
    ({"limit": 1.5}, r"^parameter 'limit': must be a whole number, got 1.5$"),
    ({"period": 0}, r"^parameter 'period': must be >= 1, got 0$"),
    ({"indicator": 1}, r"^parameter 'indicator': expected True or False, got 1$"),
    ({"cols": "qty"}, r"^column 'qty': missing \(needed by fill_missing\)"),
    ({"cols": ["units", "sku"]}, r"^column 'sku': must be numeric or boolean, got dtype \w+ \(needed to fill them\)"),
    ({"time_col": "sku"}, r"^column 'sku': must be a datetime64 column"),
    ({"id_cols": ["sku", "shop"]}, r"^column 'shop': missing \(needed by fill_missing\)"),
])
def test_fill_parameters_are_refused_naming_them(gappy, kwargs, message):
    with pytest.raises(DataValidationError, match=message):
        cl.fill_missing(gappy, **kwargs)


def test_fill_refuses_infinity_naming_column_and_keys(gappy):
    df = time_ordered(gappy).reset_index(drop=True)
    df.loc[3, "units"] = -INF
    with pytest.raises(DataValidationError, match=r"^column 'units': infinite values \(needed to fill around them\).*"
                                                  r"1 offending rows; e\.g\. \[\('A', 's', Timestamp\('2024-03-07"):
        cl.fill_missing(df, method="median")


def test_median_and_zero_without_limit_need_no_time_order():
    """Without a limit, median and zero fills read no time: repeated and non-datetime stamps are accepted."""
    df = pd.DataFrame({"sku": ["a", "a", "a", "b", "b", "a"], "location": "w", "date": ["d1", "d1", "d2", "d1", "d1", "d9"],
                       "units": [NAN, 4.0, NAN, NAN, NAN, 1.0]})
    median = cl.fill_missing(df, method="median")
    pd.testing.assert_series_equal(median["units"], df["units"].fillna(df.groupby(IDS)["units"].transform("median")))
    pd.testing.assert_series_equal(cl.fill_missing(df, method="zero")["units"], df["units"].fillna(0.0))
    for method in ("median", "zero"):
        with pytest.raises(DataValidationError, match="column 'date': must be a datetime64 column"):
            cl.fill_missing(df, method=method, limit=1)
    stamped = df.assign(date=pd.to_datetime("2024-01-01"))
    with pytest.raises(DataValidationError, match=r"column 'date': duplicated \(sku, location, date\) rows"):
        cl.fill_missing(stamped, method="zero", limit=1)
    assert cl.fill_missing(stamped, method="zero")["units"].tolist() == [0, 4, 0, 0, 0, 1]


@pytest.mark.parametrize("method,limit", [("ffill", 1), ("bfill", 2), ("linear", 1), ("seasonal", 1), ("zero", None),
                                          ("zero", 2), ("median", None), ("median", 1)])
def test_fill_edges_on_dask_partitions_cutting_series(gappy, method, limit):
    a, b = cl.CleanReport(), cl.CleanReport()
    expected = cl.fill_missing(gappy, method=method, limit=limit, period=3, indicator=True, report=a)
    lazy = cl.fill_missing(dd.from_pandas(gappy.sort_values("date", kind="stable"), npartitions=3, sort=False),
                           method=method, limit=limit, period=3, indicator=True, report=b)
    got = lazy.compute()
    keys = [*IDS, "date"]
    pd.testing.assert_frame_equal(got.sort_values(keys).reset_index(drop=True),
                                  expected.sort_values(keys).reset_index(drop=True), check_dtype=False)
    assert b.to_dict() == a.to_dict() and a.steps[0]["values"]["filled"] == int(expected["units_filled"].sum())


@pytest.mark.parametrize("method,limit", [("ffill", None), ("zero", None), ("zero", 1), ("median", None), ("seasonal", 2)])
def test_fill_empty_frame(gappy, method, limit):
    report = cl.CleanReport()
    out = cl.fill_missing(gappy.iloc[:0], method=method, limit=limit, indicator=True, report=report)
    assert len(out) == 0 and list(out.columns) == [*gappy.columns, "units_filled"]
    assert report.steps[0] == {"step": "fill_missing", "rows_in": 0, "rows_out": 0, "dropped": {}, "inserted": {},
                               "values": {}, "violations": {}}


def test_fill_reads_pandas_na_and_integers_as_float(gappy):
    df = gappy.assign(units=gappy["units"].astype("Float64"), promo=np.arange(len(gappy), dtype=np.int32))
    out = cl.fill_missing(df, ["units", "promo"], method="ffill", limit=2)
    expected = pandas_fill(gappy, "ffill", 2, None).reindex(gappy.index)
    np.testing.assert_array_equal(out["units"].to_numpy(dtype=float), expected.to_numpy())
    assert out["promo"].dtype == np.float64 and out["promo"].tolist() == list(range(len(gappy)))


def test_fill_defaults_are_ffill_without_limit_or_indicator_and_a_weekly_season(gappy):
    out = cl.fill_missing(gappy)
    expected = pandas_fill(gappy, "ffill", None, None).reindex(gappy.index)
    pd.testing.assert_series_equal(out["units"], expected, check_names=False)
    assert list(out.columns) == list(gappy.columns)  # no indicator unless asked
    seasonal = cl.fill_missing(gappy, method="seasonal")
    expected = pandas_fill(gappy, "seasonal", None, 7).reindex(gappy.index)
    pd.testing.assert_series_equal(seasonal["units"], expected, check_names=False)
    with pytest.raises(DataValidationError, match=r"^parameter 'report': expected a CleanReport or None, got 'dict'$"):
        cl.fill_missing(gappy, report={})


def test_zero_fill_without_limit_reads_no_key_and_moves_no_row():
    """Writing 0 needs no series: rows with a missing key are filled, and Dask partitions stay as they are."""
    df = pd.DataFrame({"sku": ["a", None, "b", "b"], "location": "w", "units": [NAN, NAN, 1.0, NAN],
                       "date": pd.to_datetime(["2024-01-01", "2024-01-02", "2024-01-01", "2024-01-01"])})
    assert cl.fill_missing(df, method="zero")["units"].tolist() == [0.0, 0.0, 1.0, 0.0]
    with pytest.raises(DataValidationError, match="column 'sku': missing key values"):
        cl.fill_missing(df, method="median")  # a median needs the series
    big = pd.concat([df.dropna(subset=["sku"])] * 6, ignore_index=True)
    lazy = dd.from_pandas(big, npartitions=3, sort=False)
    out = cl.fill_missing(lazy, method="zero")
    assert out.npartitions == 3
    for i in range(3):
        part, before = out.partitions[i].compute(), lazy.partitions[i].compute()
        pd.testing.assert_series_equal(part["units"], before["units"].fillna(0.0))


# ------------------------------------------------------------------ messages of refused arguments (issue 19)
_RAW = pd.DataFrame({"units": [1.0, 2.0], "day": ["2024-01-02", "2024-01-03"]})
_SCHEMA = cl.Schema("t", {"units": cl.Column("float"), "day": cl.Column("datetime")})


@pytest.mark.parametrize("call,message", [
    (lambda: cl.flag_outliers(_RAW, []), r"^parameter 'cols': name at least one column, got \[\]$"),
    (lambda: cl.clip_outliers(_RAW, ()), r"^parameter 'cols': name at least one column, got \(\)$"),
    (lambda: cl.coerce_types(_RAW, _SCHEMA, dayfirst="yes"),
     r"^parameter 'dayfirst': expected True or False, got 'yes'$"),
    (lambda: cl.coerce_types(_RAW, _SCHEMA, date_format=3),
     r"^parameter 'date_format': expected a strftime format string or None, got 3$"),
    (lambda: cl.clean(_RAW, "drop_duplicates"),
     r"^parameter 'steps': expected a list of step declarations, got 'str'$"),
    (lambda: cl.clean(_RAW, {"drop_duplicates": {}}),
     r"^parameter 'steps': expected a list of step declarations, got 'dict'$"),
])
def test_step_arguments_are_refused_with_the_parameter_problem_and_value(call, message):
    with pytest.raises(DataValidationError, match=message) as err:
        call()
    assert err.value.parameter == re.match(r"^parameter '(\w+)'", str(err.value)).group(1)


@pytest.mark.parametrize("action", ["flag", "clip"])
def test_global_outlier_bounds_of_an_empty_dask_frame_cover_every_column(action):
    """No rows at all: every column's global bounds are NaN (not one column's), so the lazy step runs
    and returns the empty frame with its flag columns (or its values), rows in = rows out = 0."""
    empty = pd.DataFrame({"a": pd.Series([], dtype="float64"), "b": pd.Series([], dtype="float64")})
    step = cl.flag_outliers if action == "flag" else cl.clip_outliers
    report = CleanReport()
    out = step(dd.from_pandas(empty, npartitions=1), ["a", "b"], report=report).compute()
    want = ["a", "b", "a_outlier", "b_outlier"] if action == "flag" else ["a", "b"]
    assert list(out.columns) == want and len(out) == 0
    assert (report.steps[0]["rows_in"], report.steps[0]["rows_out"]) == (0, 0)


# ------------------------------------------------------------------ nullable and Arrow booleans


@pytest.mark.parametrize("dtype", ["boolean", "bool[pyarrow]"])
def test_nullable_booleans_are_of_the_bool_kind(dtype):
    """A nullable (or Arrow) boolean column already is what a ``bool`` column asks for: no cast, no
    refusal, even when the schema allows none; a missing flag is then a missing value (nulled)."""
    flags = pd.Series([True, None, False], dtype=dtype)
    assert cl.schemas.dtype_kind(flags.dtype) == "bool"
    schema = cl.Schema("t", {"flag": cl.Column("bool", coerce=False)})
    out = cl.validate(pd.DataFrame({"flag": flags}), schema)
    assert out["flag"].dtype == flags.dtype
    assert out["flag"].isna().tolist() == [False, True, False]
    assert out["flag"].iloc[[0, 2]].tolist() == [True, False]
