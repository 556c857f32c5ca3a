"""The input contract of every public function of toolkit.cleanse, as Hypothesis properties.

Non-frames, corrupted panels (tests/contract.py) and bad parameters get a DataValidationError
naming the column or parameter -- or the handling the function documents (inf flagged by the
outlier methods, NaN filled, rows dropped and counted...) -- never an internal error; and
rows in = rows out + dropped - inserted in every report, checked against pandas' own counts.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sklearn.exceptions import NotFittedError

from tests.contract import assert_rejects, corrupt, corruptions, not_frames, panels
from toolkit import cleanse as cl
from toolkit.errors import DataValidationError

KEY = b"contract-test-key-0123456789abcd"
IDS = ["sku", "location"]
FAST = settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                        HealthCheck.data_too_large])
PANEL = cl.Schema("panel", {
    "sku": cl.Column("string", nullable=False), "location": cl.Column("string", nullable=False),
    "date": cl.Column("datetime", nullable=False), "units": cl.Column("float", min=0, nullable=False),
    "price": cl.Column("float", min=0), "promo": cl.Column("int", min=0, max=1),
}, unique=("sku", "location", "date"))


def _fitted(df):
    return cl.Scaler(["units", "price"], "robust", id_cols=IDS).fit(df)


# every public function with a minimal valid call on a panel
CALLS = {
    "validate": lambda df: cl.validate(df, PANEL, errors="drop"),
    "coerce_types": lambda df: cl.coerce_types(df, PANEL),
    "drop_duplicates": lambda df: cl.drop_duplicates(df, keys=[*IDS, "date"]),
    "complete_calendar": lambda df: cl.complete_calendar(df, freq="D"),
    "fill_missing": lambda df: cl.fill_missing(df, "units", "linear"),
    "flag_outliers": lambda df: cl.flag_outliers(df, "units", "zscore", id_cols=IDS),
    "clip_outliers": lambda df: cl.clip_outliers(df, "units", "hampel", id_cols=IDS),
    "Scaler.fit": lambda df: cl.Scaler("units", id_cols=IDS).fit(df),
    "scale": lambda df: cl.scale(df, "units", "minmax")[0],
    "pseudonymize": lambda df: cl.pseudonymize(df, "sku", KEY),
    "integrate_channels": lambda df: cl.integrate_channels({"web": df}, dedupe_on=None),
    "clean": lambda df: cl.clean(df, ["drop_duplicates", ("fill_missing", {"method": "ffill"})])[0],
}


@FAST
@given(not_frames(), st.sampled_from(sorted(CALLS)))
def test_what_is_not_a_frame_is_refused_naming_the_parameter(obj, name):
    names = ["frames['web']"] if name == "integrate_channels" else ["df"]
    err = assert_rejects(lambda: CALLS[name](obj), names)
    assert "DataFrame" in str(err)


@FAST
@given(panels(), not_frames())
def test_scaler_refuses_non_frames_after_fit(df, obj):
    scaler = _fitted(df)
    assert_rejects(lambda: scaler.transform(obj), ["df"])
    assert_rejects(lambda: scaler.inverse_transform(obj), ["df"])


def test_scaler_before_fit_raises_not_fitted():
    for call in (lambda s: s.transform(pd.DataFrame({"units": [1.0]})), lambda s: s.inverse_transform(None)):
        with pytest.raises(NotFittedError):
            call(cl.Scaler("units"))


# ------------------------------------------------------------------------------ corruptions
# What each function does with each defect: a column it names (rejected, naming it), or None
# when the defect is handled as documented (the property below then checks the handling).
REJECTS = {
    "fill_missing": {"drop_column": "units", "inf": "units", "text": "units", "duplicate_row": "date",
                     "missing_key": "sku"},
    "complete_calendar": {"duplicate_row": "date", "missing_key": "sku"},
    "flag_outliers": {"drop_column": "units", "text": "units", "missing_key": "sku"},
    "clip_outliers": {"drop_column": "units", "text": "units", "duplicate_row": "date", "missing_key": "sku"},
    "Scaler.fit": {"drop_column": "units", "inf": "units", "text": "units", "missing_key": "sku", "empty": None},
    "validate": {"drop_column": "units", "text": "units", "duplicate_row": "sku, location, date"},
    "pseudonymize": {},
}


@FAST
@given(panels(), corruptions(), st.sampled_from(sorted(REJECTS)), st.integers(0, 50))
def test_corrupted_panels_are_rejected_naming_the_column_or_handled(df, kind, name, row):
    bad = corrupt(df, kind, "units", row=row)
    rejects = REJECTS[name]
    if kind in rejects:
        assert_rejects(lambda: CALLS[name](bad), [rejects[kind]] if rejects[kind] else [])
        return
    out = CALLS[name](bad)
    assert isinstance(out, (pd.DataFrame, cl.Scaler))
    if isinstance(out, pd.DataFrame) and name != "validate":
        assert len(out) >= len(bad)  # nothing here drops rows
    if name == "flag_outliers" and kind == "inf":
        assert out.loc[np.isinf(bad["units"]), "units_outlier"].all()  # inf is an outlier
    if name == "flag_outliers" and kind == "nan":
        assert not out.loc[bad["units"].isna(), "units_outlier"].any()  # NaN never is


@FAST
@given(panels(), st.sampled_from(["drop_column", "inf", "text", "missing_key"]))
def test_scaler_transform_checks_its_input_like_fit(df, kind):
    scaler = _fitted(df)
    bad = corrupt(df, kind, "units")
    assert_rejects(lambda: scaler.transform(bad), ["units", "sku"])


# --------------------------------------------------------------------------- bad parameters
BAD = st.one_of(st.none(), st.integers(-5, 0), st.floats(allow_nan=True), st.text(max_size=4),
                st.lists(st.integers(), max_size=2))


def _is(value, allowed):
    return isinstance(value, str) and value.lower() in allowed


def _count_ok(value):
    """A whole number >= 1 (1.0 included), as check_int accepts."""
    return not isinstance(value, bool) and isinstance(value, (int, float)) and np.isfinite(value) \
        and value == int(value) and value >= 1


@FAST
@given(panels(), BAD, st.sampled_from(["method", "limit", "period", "indicator", "cols"]))
def test_fill_missing_parameters(df, value, param):
    if param == "method" and _is(value, ("ffill", "bfill", "linear", "median", "zero", "seasonal")):
        return
    if (param == "limit" and value is None) or (param in ("limit", "period") and _count_ok(value)):
        return
    if param == "cols" and isinstance(value, str):  # a missing column: named as the column
        assert_rejects(lambda: cl.fill_missing(df, cols=value), [value])
        return
    assert_rejects(lambda: cl.fill_missing(df, **{param: value}), [param])


@FAST
@given(panels(), BAD, st.sampled_from(["method", "threshold", "window", "suffix"]))
def test_outlier_parameters(df, value, param):
    if param == "method" and _is(value, ("iqr", "zscore", "mad", "hampel")):
        return
    positive = not isinstance(value, bool) and isinstance(value, (int, float)) and np.isfinite(value) and value > 0
    if (param == "threshold" and (value is None or positive)) or (param == "suffix" and isinstance(value, str)
                                                                   and value):
        return
    kwargs = {param: value, **({"method": "hampel"} if param == "window" else {})}
    assert_rejects(lambda: cl.flag_outliers(df, **kwargs), [param])


@FAST
@given(panels(), BAD, st.sampled_from(["schema", "errors"]))
def test_validate_and_coerce_parameters(df, value, param):
    if param == "errors" and _is(value, ("raise", "drop", "null")):
        return
    if param == "schema" and _is(value, tuple(cl.SCHEMAS)):
        return
    kwargs = {"schema": PANEL, param: value}
    assert_rejects(lambda: cl.validate(df, **kwargs), [param])
    if param == "schema" or not _is(value, ("null", "raise")):
        assert_rejects(lambda: cl.coerce_types(df, **kwargs), [param])


def _is_timestamp(number):
    try:
        return pd.Timestamp(number) is not pd.NaT
    except (OverflowError, ValueError):
        return False


@FAST
@given(panels(), st.one_of(st.sampled_from(["fortnight", "MX", "0D", "-1D", "2.5Q", "", "W-XYZ"]), st.integers(),
                           st.floats()), st.sampled_from(["freq", "start", "fill", "flag_col"]))
def test_complete_calendar_parameters(df, value, param):
    if param == "start" and isinstance(value, (int, float)) and _is_timestamp(value):
        return  # a number pandas can hold is a valid timestamp (nanoseconds since the epoch)
    if param == "flag_col" and isinstance(value, str):
        return  # any name of a new column
    assert_rejects(lambda: cl.complete_calendar(df, **{param: value}), [param])


@FAST
@given(panels(), st.one_of(BAD, st.binary(max_size=15), st.text(max_size=15)))
def test_pseudonymize_keys(df, key):
    if isinstance(key, (str, bytes)) and len(key.encode() if isinstance(key, str) else key) >= 16:
        return
    err = assert_rejects(lambda: cl.pseudonymize(df, "sku", key), ["key"])
    if isinstance(key, (str, bytes)) and len(key) >= 3:
        assert (key if isinstance(key, str) else key.decode("latin-1")) not in str(err).split("got")[-1]


@FAST
@given(panels(), st.one_of(BAD, st.sampled_from(["keep", "scrub", ("fill_missing", "x"), ("validate",)]),
                           st.tuples(st.just("fill_missing"), st.dictionaries(st.sampled_from(["colz", "limit"]),
                                                                               st.integers(-2, 0), min_size=1))))
def test_clean_step_declarations(df, spec):
    assert_rejects(lambda: cl.clean(df, [spec]), ["steps[0]", "limit", "schema"])


@FAST
@given(panels(), BAD, st.sampled_from(["keep", "keys", "order_by"]))
def test_drop_duplicates_parameters(df, value, param):
    if param in ("keys", "order_by") and value in (None, []):
        return
    if param in ("keys", "order_by") and isinstance(value, str):
        assert_rejects(lambda: cl.drop_duplicates(df, **{param: value}), [value])
        return
    assert_rejects(lambda: cl.drop_duplicates(df, **{param: value}), [param, "keys", "order_by"])


@FAST
@given(panels(), BAD, st.sampled_from(["method", "cols"]))
def test_scaler_parameters(df, value, param):
    if param == "method" and _is(value, ("standard", "minmax", "robust", "log1p")):
        return
    kwargs = {"cols": "units", "method": "standard", param: value}
    names = [param, f"column {value!r}"] if isinstance(value, str) else [param]
    assert_rejects(lambda: cl.Scaler(**kwargs).fit(df), names)


@FAST
@given(panels(), BAD, st.sampled_from(["mapping", "tz", "dedupe_on", "channel_col"]))
def test_integrate_channels_parameters(df, value, param):
    if param in ("mapping", "dedupe_on") and value is None or (param == "dedupe_on" and value == []) or (
            param == "channel_col" and isinstance(value, str)):
        return
    if param == "dedupe_on" and isinstance(value, str):
        assert_rejects(lambda: cl.integrate_channels({"web": df}, dedupe_on=value), [value])
        return
    kwargs = {"dedupe_on": None, param: value}
    assert_rejects(lambda: cl.integrate_channels({"web": df}, **kwargs), [param])


# ------------------------------------------------------------------------- rows add up


@st.composite
def dirty_panels(draw):
    """A panel with some units negative or missing, some rows repeated and some removed."""
    df = draw(panels(n_series=(1, 4), length=(4, 15)))
    rng = np.random.default_rng(draw(st.integers(0, 2**16)))
    df.loc[rng.random(len(df)) < 0.15, "units"] = -1.0
    df.loc[rng.random(len(df)) < 0.15, "units"] = np.nan
    df = df.drop(df.sample(frac=draw(st.floats(0, 0.3)), random_state=1).index)
    copies = df.sample(n=min(len(df), draw(st.integers(0, 3))), random_state=2)
    return pd.concat([df, copies], ignore_index=True).sample(frac=1.0, random_state=3).reset_index(drop=True)


def _adds_up(report, rows_in, rows_out):
    for s in report.steps:
        assert s["rows_in"] == s["rows_out"] + sum(s["dropped"].values()) - sum(s["inserted"].values())
    assert report.rows_in == rows_in and report.rows_out == rows_out


@FAST
@given(dirty_panels(), st.sampled_from(["drop", "null"]))
def test_validate_rows_in_equal_rows_out_plus_dropped(df, errors):
    unique = df.drop_duplicates([*IDS, "date"])
    report = cl.CleanReport()
    out = cl.validate(unique, PANEL, errors=errors, report=report)
    _adds_up(report, len(unique), len(out))
    bad = unique["units"].isna() | (unique["units"] < 0)  # units is not nullable: null cannot keep the row
    assert len(out) == int((~bad).sum())
    # each bad row breaks one units rule: dropped under it, and listed under it (pandas' own counts)
    per_rule = {"units not null": int(unique["units"].isna().sum()), "units >= 0": int((unique["units"] < 0).sum())}
    per_rule = {rule: n for rule, n in per_rule.items() if n}
    assert report.steps[0]["dropped"] == per_rule and report.steps[0]["violations"] == per_rule
    assert report.steps[0]["values"] == {}  # nothing nulled: units cannot be


@FAST
@given(dirty_panels(), st.sampled_from([None, ["sku", "location", "date"]]), st.sampled_from(["first", "last", False]))
def test_drop_duplicates_rows_add_up_like_pandas(df, keys, keep):
    report = cl.CleanReport()
    out = cl.drop_duplicates(df, keys=keys, keep=keep, report=report)
    pd.testing.assert_frame_equal(out, df.drop_duplicates(keys, keep=keep))
    _adds_up(report, len(df), len(out))


@FAST
@given(dirty_panels(), st.sampled_from(["ffill", "bfill", "linear", "median", "zero", "seasonal"]))
def test_fill_keeps_every_row_and_counts_the_values_it_fills(df, method):
    unique = df.drop_duplicates([*IDS, "date"])
    report = cl.CleanReport()
    out = cl.fill_missing(unique, "units", method, report=report)
    _adds_up(report, len(unique), len(out))
    filled = int((unique["units"].isna() & out["units"].notna()).sum())
    assert report.steps[0]["values"].get("filled", 0) == filled


@FAST
@given(dirty_panels())
def test_clean_rows_in_equal_rows_out_plus_dropped_minus_inserted(df):
    steps = [("drop_duplicates", {"keys": [*IDS, "date"]}), ("validate", {"schema": PANEL, "errors": "drop"}),
             ("complete_calendar", {"freq": "D", "fill": {"units": 0.0}}), ("fill_missing", {"method": "linear"}),
             ("clip_outliers", {"method": "mad", "id_cols": IDS})]
    out, report = cl.clean(df, steps)
    _adds_up(report, len(df), len(out))
    expected = df.drop_duplicates([*IDS, "date"], keep="last")
    expected = expected[expected["units"].notna() & (expected["units"] >= 0)]
    assert report.steps[1]["rows_out"] == len(expected)
    spans = expected.groupby(IDS)["date"].agg(lambda d: (d.max() - d.min()).days + 1)
    assert len(out) == int(spans.sum())  # every series complete on its daily calendar


def test_contract_errors_are_data_validation_errors():
    assert issubclass(DataValidationError, ValueError)  # callers catching ValueError keep working
