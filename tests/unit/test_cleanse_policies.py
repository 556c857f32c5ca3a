"""toolkit.cleanse: calendars of any pandas frequency, and the input-contract fixes of issue 12.

Each test checks against an independent expectation: ``reindex`` on ``pd.date_range`` per
series, scipy / numpy / pandas statistics on the finite values, hand-counted rows, ``hmac``.
"""

from __future__ import annotations

import dask.dataframe as dd
import numpy as np
import pandas as pd
import pytest
from scipy import stats

from toolkit import cleanse as cl
from toolkit.errors import DataValidationError

IDS = ["sku", "location"]


# ---------------------------------------------------------------------------- complete_calendar


def calendar_panel(freq, seed=0, n_series=4, periods=14, drop=0.3):
    """Series on the calendar of ``freq`` with rows removed at random (rows shuffled)."""
    rng = np.random.default_rng(seed)
    parts = []
    for s in range(n_series):
        dates = pd.date_range(pd.Timestamp("2024-01-03") + pd.Timedelta(days=int(rng.integers(0, 40))),
                              periods=periods, freq=freq)
        parts.append(pd.DataFrame({"sku": f"S{s}", "location": ["web", "store"][s % 2], "date": dates,
                                   "units": rng.gamma(2.0, 3.0, periods), "promo": rng.integers(0, 2, periods)}))
    df = pd.concat(parts, ignore_index=True)
    df = df.drop(df.sample(frac=drop, random_state=seed).index)
    return df.sample(frac=1.0, random_state=seed).reset_index(drop=True)


def reindexed(df, freq, start=None, end=None):
    """The reference: every series reindexed on pd.date_range(first, last, freq) (or start, end)."""
    pieces = []
    for (sku, loc), g in df.groupby(IDS, sort=True):
        grid = pd.date_range(start or g["date"].min(), end or g["date"].max(), freq=freq)
        out = g.set_index("date").drop(columns=IDS).reindex(grid.union(pd.DatetimeIndex(g["date"])))
        out["inserted"] = ~out.index.isin(g["date"])
        pieces.append(out.rename_axis("date").reset_index().assign(sku=sku, location=loc))
    return pd.concat(pieces, ignore_index=True)[["sku", "location", "date", "units", "promo", "inserted"]]


@pytest.mark.parametrize("freq", ["D", "B", "W-SUN", "W-WED", "MS", "ME", "QS", "h", "7D"])
def test_complete_calendar_equals_reindex_on_date_range(freq):
    df = calendar_panel(freq)
    report = cl.CleanReport()
    out = cl.complete_calendar(df, freq=freq, report=report)
    expected = reindexed(df, freq)
    pd.testing.assert_frame_equal(out[expected.columns], expected, check_dtype=False)
    step = report.steps[0]
    assert step["inserted"].get("calendar gap", 0) == int(expected["inserted"].sum()) > 0
    assert step["rows_out"] == step["rows_in"] + step["inserted"]["calendar gap"] == len(out)


@pytest.mark.parametrize("freq", ["D", "W-SUN", "MS", "QS"])
def test_complete_calendar_infers_the_frequency(freq):
    df = calendar_panel(freq, drop=0.2)
    pd.testing.assert_frame_equal(cl.complete_calendar(df), cl.complete_calendar(df, freq=freq))


def test_complete_calendar_generated_sales_are_daily():
    from toolkit.datasets import make_retail

    sales = make_retail(n_skus=4, n_locations=2, n_days=40, seed=1, progress=False).sales
    holed = sales.drop(sales.sample(frac=0.1, random_state=0).index)
    out = cl.complete_calendar(holed, start=sales["date"].min(), end=sales["date"].max())
    assert cl.complete_calendar(holed)["inserted"].sum() > 0  # inferred "D"
    assert len(out) == len(sales) and int(out["inserted"].sum()) == len(sales) - len(holed)


def test_complete_calendar_anchored_range_and_off_calendar_rows_are_kept_and_counted():
    df = calendar_panel("MS", n_series=2, periods=6, drop=0.0)
    stray = df.iloc[[0]].assign(date=df["date"].iloc[0] + pd.Timedelta(days=14))  # mid-month: off calendar
    report = cl.CleanReport()
    out = cl.complete_calendar(pd.concat([df, stray], ignore_index=True), freq="MS", start="2023-12-15",
                               end="2024-12-31", report=report)
    expected = reindexed(pd.concat([df, stray], ignore_index=True), "MS", "2023-12-15", "2024-12-31")
    pd.testing.assert_frame_equal(out[expected.columns], expected, check_dtype=False)
    assert out["date"].min() == pd.Timestamp("2024-01-01")  # the first month start at or after start
    step = report.steps[0]
    assert step["values"]["off calendar"] == 1 and step["rows_in"] + step["inserted"]["calendar gap"] == len(out)


def test_complete_calendar_dask_needs_freq_and_matches_pandas():
    df = calendar_panel("W-SUN", n_series=6)
    ddf = dd.from_pandas(df.sort_values("date"), npartitions=3, sort=False)
    a = cl.complete_calendar(df, freq="W-SUN")
    b = cl.complete_calendar(ddf, freq="W-SUN").compute()
    key = [*IDS, "date"]
    pd.testing.assert_frame_equal(a.sort_values(key).reset_index(drop=True),
                                  b.sort_values(key).reset_index(drop=True), check_dtype=False)
    with pytest.raises(DataValidationError, match="parameter 'freq': pass the frequency for a Dask frame"):
        cl.complete_calendar(ddf)
    with pytest.raises(DataValidationError, match="parameter 'freq'"):
        cl.clean(ddf, ["complete_calendar"])


# ----------------------------------------------------------------------------- unknown names


@pytest.mark.parametrize("call", [
    lambda df: cl.validate(df, "order"),
    lambda df: cl.coerce_types(df, "sale"),
    lambda df: cl.clean(df, [("validate", {"schema": "product"})]),
])
def test_unknown_schema_names_list_the_shipped_ones(call):
    with pytest.raises(DataValidationError, match=r"parameter '(schema|steps\[0\])'.*choose from \['products', "
                                                  r"'locations', 'sales', 'orders', 'inventory', 'shipments', "
                                                  r"'marketing'\]"):
        call(pd.DataFrame({"a": [1]}))


def test_unknown_errors_mode_and_step_list_the_choices():
    df = pd.DataFrame({"a": [1]})
    with pytest.raises(DataValidationError, match=r"parameter 'errors'.*choose from \['raise', 'drop', 'null'\]"):
        cl.validate(df, "orders", errors="ignore")
    with pytest.raises(DataValidationError, match=r"parameter 'steps\[1\]'.*'scrub'.*choose from"):
        cl.clean(df, ["drop_duplicates", "scrub"])
    with pytest.raises(DataValidationError, match="parameter 'steps'"):
        cl.clean(df, "drop_duplicates")


# ------------------------------------------------------------------- outliers and infinity


def spiky(seed=0, n=80):
    rng = np.random.default_rng(seed)
    x = rng.normal(10.0, 2.0, n)
    x[[5, 40]] = [30.0, -12.0]
    x[[12]] = np.nan
    x[[20]] = np.inf
    x[[60]] = -np.inf
    return pd.DataFrame({"sku": "a", "location": "w", "date": pd.date_range("2024-01-01", periods=n), "units": x})


def finite_bounds(x, method, t):
    """References on the finite values only: numpy percentiles, scipy zscore/MAD."""
    v = x[np.isfinite(x)]
    if method == "iqr":
        q1, q3 = np.percentile(v, [25, 75])
        return q1 - t * (q3 - q1), q3 + t * (q3 - q1)
    if method == "zscore":
        return v.mean() - t * v.std(), v.mean() + t * v.std()
    med = np.median(v)
    return med - t * stats.median_abs_deviation(v, scale="normal"), med + t * stats.median_abs_deviation(
        v, scale="normal")


@pytest.mark.parametrize("method,t", [("iqr", 1.5), ("zscore", 3.0), ("mad", 3.5)])
def test_infinity_is_an_outlier_and_never_enters_the_statistics(method, t):
    df = spiky()
    x = df["units"].to_numpy()
    lo, hi = finite_bounds(x, method, t)
    flagged = cl.flag_outliers(df, method=method, threshold=t)["units_outlier"].to_numpy()
    np.testing.assert_array_equal(flagged, (x < lo) | (x > hi))  # inf > hi, -inf < lo; NaN never
    assert flagged[20] and flagged[60] and flagged[5] and not flagged[12]
    report = cl.CleanReport()
    clipped = cl.clip_outliers(df, method=method, threshold=t, report=report)["units"].to_numpy()
    np.testing.assert_allclose(clipped, np.clip(x, lo, hi))
    assert report.steps[0]["values"]["clipped"] == int(((x < lo) | (x > hi)).sum())
    if method == "zscore":  # the bug: one inf made mean and std inf and nothing was flagged
        z = np.abs(stats.zscore(np.where(np.isfinite(x), x, np.nan), nan_policy="omit"))
        np.testing.assert_array_equal(flagged, (np.nan_to_num(z) > t) | np.isinf(x))


def test_hampel_windows_skip_infinity_and_flag_it():
    df = spiky()
    x = df["units"].to_numpy()
    finite = pd.Series(np.where(np.isfinite(x), x, np.nan))
    med = finite.rolling(7, center=True, min_periods=1).median()
    mad = finite.rolling(7, center=True, min_periods=1).apply(lambda w: np.nanmedian(np.abs(w - np.nanmedian(w))),
                                                             raw=True)
    lim = 3.0 * 1.4826022185056018 * mad
    flagged = cl.flag_outliers(df, method="hampel", id_cols=IDS)["units_outlier"].to_numpy()
    np.testing.assert_array_equal(flagged, ((x < med - lim) | (x > med + lim)).to_numpy())
    assert flagged[20] and flagged[60]


def test_clip_sets_unbounded_infinity_missing_and_counts_it():
    df = pd.DataFrame({"sku": ["a", "a", "b", "b", "b"], "units": [np.inf, np.nan, 1.0, 2.0, 3.0]})
    report = cl.CleanReport()
    out = cl.clip_outliers(df, id_cols="sku", report=report)
    assert np.isnan(out["units"].iloc[0]) and report.steps[0]["values"]["nulled"] == 1
    assert cl.flag_outliers(df, id_cols="sku")["units_outlier"].tolist() == [True, False, False, False, False]


# ------------------------------------------------------------------ validate: rows add up


def orders():
    return pd.DataFrame({
        "order_id": np.arange(1, 7, dtype=np.int64),
        "order_ts": pd.date_range("2024-01-01", periods=6, freq="h"),
        "sku": pd.Categorical(["A", "A", "B", "B", "C", "C"]), "location": pd.Categorical(["web"] * 6),
        "channel": pd.Categorical(["web"] * 6), "customer_id": [f"c{i}" for i in range(6)], "email": ["e"] * 6,
        "quantity": np.array([1, -2, 3, -4, 5, 6], dtype=np.int64),
        "unit_price": np.array([1.0, np.nan, np.nan, 4.0, -5.0, 6.0]),
    })


@pytest.mark.parametrize("errors", ["drop", "null"])
def test_a_row_breaking_several_rules_is_dropped_once_and_listed_under_each(errors):
    """Row 1 breaks 'quantity >= 0' and 'unit_price not null'; row 2 only the second; row 3 the first;
    row 4 'unit_price >= 0'. Quantity comes first in the schema, so row 1 is dropped under it."""
    df = orders()
    report = cl.CleanReport()
    out = cl.validate(df, "orders", errors=errors, report=report)
    assert out["order_id"].tolist() == [1, 6]
    step = report.steps[0]
    assert step["dropped"] == {"quantity >= 0": 2, "unit_price not null": 1, "unit_price >= 0": 1}
    assert step["violations"] == {"quantity >= 0": 2, "unit_price not null": 2, "unit_price >= 0": 1}
    assert step["rows_in"] == step["rows_out"] + sum(step["dropped"].values()) == len(out) + 4
    assert "nulled" not in step["values"]
    cl.validate(out, "orders")  # what is left satisfies the schema


def test_validate_null_with_nullable_columns_keeps_rows_and_counts_values_nulled():
    df = orders()
    report = cl.CleanReport()
    schema = cl.SCHEMAS["orders"].allow_missing("quantity", "unit_price")
    out = cl.validate(df, schema, errors="null", report=report)
    assert len(out) == len(df)
    assert out["quantity"].isna().tolist() == [False, True, False, True, False, False]
    assert out["quantity"].dtype == "Int64"  # integers stay integers
    assert out["unit_price"].isna().tolist() == [False, True, True, False, True, False]
    assert report.steps[0]["values"]["nulled"] == 3  # two quantities and the negative price
    cl.validate(out, schema)


def test_validate_dask_counts_match_pandas():
    df = pd.concat([orders().assign(order_id=lambda d, i=i: d.order_id + 10 * i) for i in range(3)],
                   ignore_index=True)
    a, b = cl.CleanReport(), cl.CleanReport()
    out = cl.validate(df, "orders", errors="null", report=a)
    lazy = cl.validate(dd.from_pandas(df, npartitions=3), "orders", errors="null", report=b)
    assert sorted(lazy.compute()["order_id"]) == sorted(out["order_id"]) and a.to_dict() == b.to_dict()


def test_schema_definitions_are_checked():
    with pytest.raises(DataValidationError, match="parameter 'dtype'"):
        cl.Column("floaty")
    with pytest.raises(DataValidationError, match="parameter 'min'"):
        cl.Column("float", min=5, max=1)
    with pytest.raises(DataValidationError, match="parameter 'unique'.*'id'"):
        cl.Schema("t", {"a": cl.Column("int")}, unique=("id",))
    with pytest.raises(DataValidationError, match="parameter 'cols'.*'qty'"):
        cl.SCHEMAS["orders"].allow_missing("qty")


# --------------------------------------------------------------------------- pseudonymize keys


@pytest.mark.parametrize("key", [32, None, 3.5, ["k"] * 16, bytearray(b"k" * 16)])
def test_pseudonymize_refuses_keys_that_are_not_text_or_bytes(key):
    with pytest.raises(DataValidationError, match="parameter 'key': must be str or bytes of at least 16 bytes"):
        cl.pseudonymize(pd.DataFrame({"email": ["a"]}), "email", key)


def test_pseudonymize_refuses_short_keys_without_showing_them():
    secret = "shortsecret"
    with pytest.raises(DataValidationError, match="parameter 'key': must be at least 16 bytes") as err:
        cl.pseudonymize(pd.DataFrame({"email": ["a"]}), "email", secret)
    assert secret not in str(err.value)
    with pytest.raises(DataValidationError, match="parameter 'key'"):
        cl.clean(pd.DataFrame({"email": ["a"]}), [("pseudonymize", {"cols": "email", "key": 32})])


def test_pseudonymize_merges_values_with_one_text():
    import hmac

    key = b"k" * 16
    df = pd.DataFrame({"id": pd.Series([1, "1", None, 2], dtype=object)})
    out = cl.pseudonymize(df, "id", key)
    digest = hmac.new(key, b"1", "sha256").hexdigest()
    assert out["id"].tolist()[:2] == [digest, digest] and pd.isna(out["id"].iloc[2])


# -------------------------------------------------------------- integrate_channels counts


def test_integrate_channels_counts_unmatched_absent_and_shifted_values():
    web = pd.DataFrame({"order_id": [1.0, 2.0, np.nan],
                        "ts": pd.to_datetime(["2024-03-31 02:30", "2024-10-27 02:30", "2024-05-01 12:00"])})
    app = pd.DataFrame({"order_id": [2.0, np.nan, 5.0], "qty": [1, 2, 3]})
    report = cl.CleanReport()
    out = cl.integrate_channels({"web": web, "app": app}, {"web": {"timezone": "Europe/Berlin"}}, report=report)
    step = report.steps[0]
    # order 2 is in both: the app copy goes; the two rows without an id match nothing and stay
    assert step["dropped"] == {"seen in two systems (order_id)": 1} and len(out) == 5 == step["rows_out"]
    assert step["values"]["no dedupe key"] == 2
    assert step["values"]["absent from source"] == 3 * 1 + 3 * 1  # web lacks qty, app lacks ts
    assert step["values"]["time shifted (nonexistent local time)"] == 1  # 02:30 on the spring-forward night
    assert step["values"]["time ambiguous (read as standard time)"] == 1  # 02:30 on the fall-back night
    berlin = pd.Timestamp("2024-10-27 02:30").tz_localize("Europe/Berlin", ambiguous=False)
    assert out["ts"].iloc[1] == berlin.tz_convert("UTC").tz_localize(None)


def test_integrate_channels_checks_its_parameters():
    web = pd.DataFrame({"order_id": [1]})
    with pytest.raises(DataValidationError, match="parameter 'frames'"):
        cl.integrate_channels([web])
    with pytest.raises(DataValidationError, match=r"parameter 'mapping'.*'shop'.*choose from \['web'\]"):
        cl.integrate_channels({"web": web}, {"shop": {}})
    with pytest.raises(DataValidationError, match=r"parameter \"mapping\['web'\]\".*'renames'"):
        cl.integrate_channels({"web": web}, {"web": {"renames": {}}})
    with pytest.raises(DataValidationError, match="parameter 'tz'"):
        cl.integrate_channels({"web": web}, tz="Mars/Olympus")
    with pytest.raises(DataValidationError, match=r"units.*must be a finite number"):
        cl.integrate_channels({"web": web}, {"web": {"units": {"order_id": float("inf")}}})
    with pytest.raises(DataValidationError, match="parameter 'frames'.*one kind"):
        cl.integrate_channels({"web": web, "app": dd.from_pandas(web, npartitions=1)})


# ------------------------------------------------------------------------------ kernels


@pytest.mark.parametrize("compiled", [True, False])
def test_segment_statistics_match_numpy_on_both_paths(compiled, monkeypatch):
    """The numba loops (NumPy) and the array-API code (what CuPy runs) against numpy per segment."""
    from toolkit.cleanse import kernels

    if not compiled:
        monkeypatch.setattr(kernels, "_numba", lambda xp, loop: None)
    rng = np.random.default_rng(3)
    x = rng.normal(size=3000)
    x[rng.random(3000) < 0.2] = np.nan
    bounds = np.concatenate([[0], np.sort(rng.choice(np.arange(1, 3000), 80, replace=False)), [3000]])
    x[bounds[4]:bounds[5]] = np.nan  # a segment without values
    quartiles = kernels.segment_quantiles(x, bounds, (0.25, 0.5, 0.75))
    mean, std = kernels.segment_moments(x, bounds)
    median, mad = kernels.segment_mad(x, bounds)
    for s in range(len(bounds) - 1):
        seg = x[bounds[s]:bounds[s + 1]]
        seg = seg[~np.isnan(seg)]
        if not seg.size:
            assert np.isnan([q[s] for q in quartiles]).all() and np.isnan(mean[s]) and np.isnan(std[s])
            continue
        np.testing.assert_allclose([q[s] for q in quartiles], np.percentile(seg, [25, 50, 75]), rtol=1e-12)
        np.testing.assert_allclose([mean[s], std[s]], [seg.mean(), seg.std()], rtol=1e-9)
        np.testing.assert_allclose([median[s], mad[s]], [np.median(seg), stats.median_abs_deviation(seg)],
                                   rtol=1e-12)
