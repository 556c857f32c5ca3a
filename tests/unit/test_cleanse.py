"""Tests of toolkit.cleanse against independent references (pandas, numpy, scipy, sklearn, hmac)."""

from __future__ import annotations

import hmac

import dask
import dask.dataframe as dd
import numpy as np
import pandas as pd
import pytest
from scipy import stats
from sklearn.preprocessing import MinMaxScaler, RobustScaler, StandardScaler

from toolkit import cleanse as cl
from toolkit.cleanse.privacy import PseudonymizeStep
from toolkit.errors import DataValidationError

KEY = b"a-test-key-of-32-bytes-length!!!"
IDS = ["sku", "location"]


# ------------------------------------------------------------------------------------------ data


def panel(n_series=6, n_days=40, nan_rate=0.15, seed=0):
    """A daily (sku, location) panel with NaN gaps, rows shuffled."""
    rng = np.random.default_rng(seed)
    rows = []
    for s in range(n_series):
        sku, loc = f"S{s // 2}", ["web", "store_01"][s % 2]
        units = rng.gamma(2.0, 5.0, n_days)
        units[rng.random(n_days) < nan_rate] = np.nan
        units[rng.random(n_days) < 0.05] *= 8  # spikes
        rows.append(pd.DataFrame({"sku": sku, "location": loc,
                                  "date": pd.date_range("2024-01-01", periods=n_days, freq="D"),
                                  "units": units, "price": rng.uniform(1, 9, n_days)}))
    df = pd.concat(rows, ignore_index=True)
    df["sku"] = df["sku"].astype("category")
    df["location"] = df["location"].astype("category")
    return df.sample(frac=1.0, random_state=seed).reset_index(drop=True)


def to_dask(df, n=3, by="date"):
    """Dask frame whose partitions cut through every series (sorted by time first)."""
    return dd.from_pandas(df.sort_values(by, kind="stable").reset_index(drop=True), npartitions=n, sort=False)


def sort(df, cols=("sku", "location", "date")):
    return df.sort_values(list(cols), kind="stable").reset_index(drop=True)


def assert_same(a, b, cols=("sku", "location", "date")):
    pd.testing.assert_frame_equal(sort(a, cols), sort(b, cols), check_dtype=False, check_categorical=False)


# -------------------------------------------------------------------------------------- validate


def orders_frame():
    return pd.DataFrame({
        "order_id": np.arange(1, 7, dtype=np.int64),
        "order_ts": pd.date_range("2024-01-01", periods=6, freq="h"),
        "sku": pd.Categorical(["A", "A", "B", "B", "C", "C"]),
        "location": pd.Categorical(["web"] * 6), "channel": pd.Categorical(["web"] * 6),
        "customer_id": ["c1", "c2", "c3", "c4", "c5", "c6"], "email": ["e"] * 6,
        "quantity": np.array([1, -2, 3, 4, -5, 6], dtype=np.int32),
        "unit_price": np.array([1.0, 2.0, np.nan, 4.0, 5.0, 6.0], dtype=np.float32),
    })


def test_validate_missing_column_names_it():
    with pytest.raises(DataValidationError, match="column 'unit_price': missing") as err:
        cl.validate(orders_frame().drop(columns="unit_price"), "orders")
    assert err.value.column == "unit_price"


def test_validate_wrong_dtype_without_coercion_names_column():
    schema = cl.Schema("t", {"q": cl.Column("int")})
    with pytest.raises(DataValidationError, match="column 'q'.*dtype"):
        cl.validate(pd.DataFrame({"q": [1.0, 2.0]}), schema)


def test_validate_safe_coercion_casts_and_unsafe_raises():
    schema = cl.Schema("t", {"q": cl.Column("int", coerce=True), "x": cl.Column("float64", coerce=True),
                             "c": cl.Column("category", coerce=True)})
    df = pd.DataFrame({"q": [1.0, 2.0], "x": np.array([1, 2], dtype=np.int32), "c": ["a", "b"]})
    out = cl.validate(df, schema)
    assert out["q"].dtype == np.int64 and out["x"].dtype == np.float64 and out["c"].dtype == "category"
    assert out["q"].tolist() == [1, 2] and out["c"].astype(str).tolist() == ["a", "b"]
    with pytest.raises(DataValidationError, match="column 'q': 1 rows break rule 'safe cast to int64'"):
        cl.validate(pd.DataFrame({"q": [1.0, 2.5], "x": [1.0, 2.0], "c": ["a", "b"]}), schema)
    with pytest.raises(DataValidationError, match="column 'q'.*safe cast"):  # NaN cannot become int
        cl.validate(pd.DataFrame({"q": [1.0, np.nan], "x": [1.0, 2.0], "c": ["a", "b"]}), schema)


def test_validate_nullability_range_and_keys_counted_and_named():
    df = orders_frame()
    with pytest.raises(DataValidationError) as err:
        cl.validate(df, "orders")
    msg = str(err.value)
    assert "column 'quantity': 2 rows break rule '>= 0'" in msg and "[2, 5]" in msg  # order_id keys
    assert "column 'unit_price': 1 rows break rule 'not null'" in msg and "[3]" in msg
    assert err.value.column == "quantity"


def test_validate_max_and_non_finite():
    schema = cl.Schema("t", {"zone": cl.Column("int", min=1, max=8), "cost": cl.Column("float")})
    with pytest.raises(DataValidationError, match="column 'zone': 1 rows break rule '<= 8'"):
        cl.validate(pd.DataFrame({"zone": [1, 9], "cost": [1.0, 2.0]}), schema)
    with pytest.raises(DataValidationError, match="column 'cost': 1 rows break rule 'finite'"):
        cl.validate(pd.DataFrame({"zone": [1, 2], "cost": [1.0, np.inf]}), schema)


def test_validate_unique_key_names_columns():
    df = pd.concat([orders_frame(), orders_frame().iloc[[0]]], ignore_index=True)
    df["quantity"] = df["quantity"].abs()
    df["unit_price"] = df["unit_price"].fillna(1.0)
    with pytest.raises(DataValidationError, match="column 'order_id': 2 rows break rule 'unique key'"):
        cl.validate(df, "orders")


def test_validate_drop_matches_pandas_mask_and_reports_reasons():
    df = orders_frame()
    report = cl.CleanReport()
    out = cl.validate(df, "orders", errors="drop", report=report)
    expected = df[(df["quantity"] >= 0) & df["unit_price"].notna()]
    pd.testing.assert_frame_equal(out.reset_index(drop=True), expected.reset_index(drop=True))
    step = report.steps[0]
    assert step["dropped"] == {"quantity >= 0": 2, "unit_price not null": 1}
    assert step["rows_in"] - sum(step["dropped"].values()) == step["rows_out"] == len(expected)


def test_validate_null_sets_offending_values_missing_in_nullable_columns():
    df = orders_frame()
    schema = cl.SCHEMAS["orders"].allow_missing("quantity", "unit_price")
    report = cl.CleanReport()
    out = cl.validate(df, schema, errors="null", report=report)
    expected = df["quantity"].astype("Int32").where(df["quantity"] >= 0)  # pandas' nullable integers
    pd.testing.assert_series_equal(out["quantity"], expected)
    assert len(out) == len(df) and report.steps[0]["values"]["nulled"] == 2


def test_validate_null_drops_rows_it_cannot_null_in_non_nullable_columns():
    """quantity and unit_price are not nullable in the orders schema: nulling would break it, so rows go."""
    df = orders_frame()
    report = cl.CleanReport()
    out = cl.validate(df, "orders", errors="null", report=report)
    keep = (df["quantity"] >= 0) & df["unit_price"].notna()  # the independent expectation, by hand
    pd.testing.assert_frame_equal(out, df[keep])
    step = report.steps[0]
    assert step["dropped"] == {"quantity >= 0": 2, "unit_price not null": 1}
    assert step["rows_in"] == step["rows_out"] + sum(step["dropped"].values())
    assert out["quantity"].notna().all() and out["unit_price"].notna().all()
    cl.validate(out, "orders")  # the output satisfies the schema


def test_validate_dask_counts_all_partitions():
    df = pd.concat([orders_frame().assign(order_id=lambda d: d.order_id + 10 * i) for i in range(4)],
                   ignore_index=True)
    with pytest.raises(DataValidationError, match="column 'quantity': 8 rows break rule '>= 0'"):
        cl.validate(dd.from_pandas(df, npartitions=4), "orders")
    good = df[df["quantity"] >= 0].assign(unit_price=lambda d: d.unit_price.fillna(1.0))
    out = cl.validate(dd.from_pandas(good, npartitions=3), "orders")
    assert dask.is_dask_collection(out)
    assert len(out.compute()) == len(good)
    twice = pd.concat([good, good.iloc[[0]]], ignore_index=True)  # the copy lands in the last partition
    with pytest.raises(DataValidationError, match="column 'order_id': 2 rows break rule 'unique key'"):
        cl.validate(dd.from_pandas(twice, npartitions=3), "orders")


def test_shipped_schemas_cover_generated_tables(retail):
    assert set(cl.SCHEMAS) == {"products", "locations", "sales", "orders", "inventory", "shipments", "marketing"}
    for name in ("products", "locations", "inventory", "shipments", "marketing"):
        table = retail.tables[name]
        assert list(cl.SCHEMAS[name].columns) == list(table.columns), name
        cl.validate(table, name)
    for name in ("sales", "orders"):
        assert set(cl.SCHEMAS[name].columns) == set(retail.tables[name].columns)
    with pytest.raises(DataValidationError, match="column 'units'.*'not null'"):
        cl.validate(retail.sales, "sales")  # the injected missing values


@pytest.fixture(scope="module")
def retail():
    from toolkit.datasets import make_retail

    return make_retail(n_skus=30, n_locations=4, n_days=120, seed=3, anomaly_rate=0.01, progress=False)


# ---------------------------------------------------------------------------------- coerce_types


def test_coerce_types_matches_pandas_parsers_and_reports_unparseable():
    raw = pd.DataFrame({"q": [" 1", "2,500", "x", None], "d": ["2024-01-05", "2024-02-10T10:00:00+01:00",
                                                              "05/03/2024", "not a date"],
                        "c": ["a", "b", "a", None], "b": ["yes", "0", "True", "maybe"]})
    schema = cl.Schema("t", {"q": cl.Column("float"), "d": cl.Column("datetime"), "c": cl.Column("category"),
                             "b": cl.Column("bool")})
    report = cl.CleanReport()
    out = cl.coerce_types(raw, schema, dayfirst=True, report=report)
    np.testing.assert_array_equal(out["q"].to_numpy(), [1.0, 2500.0, np.nan, np.nan])
    expected_d = [pd.Timestamp("2024-01-05"), pd.Timestamp("2024-02-10 09:00"), pd.Timestamp("2024-03-05"), pd.NaT]
    assert out["d"].tolist()[:3] == expected_d[:3] and pd.isna(out["d"].iloc[3])
    assert out["c"].dtype == "category" and out["c"].isna().tolist() == [False, False, False, True]
    assert out["b"].tolist()[:3] == [True, False, True] and pd.isna(out["b"].iloc[3])
    values = report.steps[0]["values"]
    assert values["unparseable"] == 3  # "x", "not a date", "maybe"; None was already missing
    assert len(out) == len(raw)


def test_coerce_types_raise_names_column():
    schema = cl.Schema("t", {"q": cl.Column("int")})
    with pytest.raises(DataValidationError, match=r"column 'q': values that cannot be parsed.*1 offending"):
        cl.coerce_types(pd.DataFrame({"q": ["1", "oops"]}), schema, errors="raise")


def test_coerce_types_dask_parity():
    raw = pd.DataFrame({"q": [str(i) if i % 7 else "bad" for i in range(60)],
                        "d": [f"2024-01-{1 + i % 28:02d}" for i in range(60)]})
    schema = cl.Schema("t", {"q": cl.Column("float"), "d": cl.Column("datetime")})
    a = cl.coerce_types(raw, schema)
    b = cl.coerce_types(dd.from_pandas(raw, npartitions=4), schema).compute()
    pd.testing.assert_frame_equal(a, b)


# ------------------------------------------------------------------------------- drop_duplicates


@pytest.fixture
def dupes():
    rng = np.random.default_rng(1)
    df = pd.DataFrame({"id": rng.integers(0, 30, 200), "v": rng.integers(0, 3, 200),
                       "ts": rng.permutation(200), "w": rng.integers(0, 2, 200)})
    return pd.concat([df, df.iloc[::7]], ignore_index=True)


@pytest.mark.parametrize("keep", ["first", "last", False])
def test_drop_duplicates_matches_pandas(dupes, keep):
    pd.testing.assert_frame_equal(cl.drop_duplicates(dupes, keep=keep), dupes.drop_duplicates(keep=keep))
    pd.testing.assert_frame_equal(cl.drop_duplicates(dupes, keys=["id", "v"], keep=keep),
                                  dupes.drop_duplicates(["id", "v"], keep=keep))


def test_drop_duplicates_order_by_keeps_latest(dupes):
    out = cl.drop_duplicates(dupes, keys="id", keep="last", order_by="ts")
    expected = dupes.sort_values("ts", kind="stable").drop_duplicates("id", keep="last")
    pd.testing.assert_frame_equal(out, expected.sort_index())


@pytest.mark.parametrize("keys,keep,order_by", [(None, "last", None), ("id", "first", None),
                                                 (["id", "v"], "last", "ts"), ("id", False, None)])
def test_drop_duplicates_dask_parity(dupes, keys, keep, order_by):
    a = cl.drop_duplicates(dupes, keys=keys, keep=keep, order_by=order_by)
    ddf = dd.from_pandas(dupes, npartitions=4)  # duplicates of one id sit in different partitions
    b = cl.drop_duplicates(ddf, keys=keys, keep=keep, order_by=order_by).compute()
    assert_same(a, b, ("id", "v", "ts", "w"))


# ----------------------------------------------------------------------------- complete_calendar


def calendar_reference(df, fill, start=None, end=None):
    pieces = []
    for (sku, loc), g in df.groupby(IDS, observed=True):
        days = pd.date_range(start or g["date"].min(), end or g["date"].max(), freq="D")
        pieces.append(pd.DataFrame({"sku": sku, "location": loc, "date": days}))
    grid = pd.concat(pieces, ignore_index=True)
    out = grid.merge(df, on=IDS + ["date"], how="outer", indicator=True)
    out["inserted"] = out.pop("_merge") == "left_only"
    for col, value in fill.items():
        out.loc[out["inserted"], col] = value
    return out


def test_complete_calendar_matches_reference():
    df = panel(n_series=4, n_days=20)
    df = df.drop(df.sample(frac=0.3, random_state=2).index)
    out = cl.complete_calendar(df, fill={"units": 0.0})
    expected = calendar_reference(df, {"units": 0.0})
    assert_same(out, expected[out.columns])
    assert out["inserted"].sum() == len(out) - len(df)
    assert out[["sku", "location", "date"]].equals(sort(out)[["sku", "location", "date"]])  # sorted


def test_complete_calendar_range_static_and_report():
    df = panel(n_series=2, n_days=10).assign(channel="web")
    df = df[df["date"] != "2024-01-05"]
    report = cl.CleanReport()
    out = cl.complete_calendar(df, start="2023-12-30", end="2024-01-12", static_cols="channel", report=report)
    expected = calendar_reference(df, {}, "2023-12-30", "2024-01-12")
    assert_same(out.drop(columns="channel"), expected[[c for c in out.columns if c != "channel"]])
    assert (out["channel"] == "web").all()
    step = report.steps[0]
    assert step["inserted"]["calendar gap"] == 2 * 14 - len(df) == step["rows_out"] - step["rows_in"]


def test_complete_calendar_dask_parity_and_duplicate_error():
    df = panel(n_series=6, n_days=30)
    df = df.drop(df.sample(frac=0.3, random_state=1).index)
    a = cl.complete_calendar(df, fill={"units": 0.0})
    b = cl.complete_calendar(to_dask(df), fill={"units": 0.0}, freq="D").compute()
    assert_same(a, b)
    with pytest.raises(DataValidationError, match="parameter 'freq'"):  # inferred in memory only
        cl.complete_calendar(to_dask(df))
    with pytest.raises(DataValidationError, match=r"column 'date': duplicated \(sku, location, date\).*1 offending"):
        cl.complete_calendar(pd.concat([df, df.iloc[[0]]]))
    with pytest.raises(DataValidationError, match="column 'day': missing"):
        cl.complete_calendar(df, time_col="day")


# ---------------------------------------------------------------------------------- fill_missing


def fill_reference(df, method, limit=None):
    g = df.groupby(IDS, observed=True)["units"]
    if method == "ffill":
        return g.ffill(limit=limit)
    if method == "bfill":
        return g.bfill(limit=limit)
    if method == "linear":
        return g.transform(lambda s: s.interpolate(limit=limit, limit_area="inside"))
    if method == "median":
        return df["units"].fillna(g.transform("median"))
    if method == "zero":
        return df["units"].fillna(0.0)
    weekday = df["date"].dt.dayofweek
    return df.groupby([*IDS, weekday], observed=True)["units"].ffill(limit=limit)


@pytest.mark.parametrize("method,limit", [(m, None) for m in ("ffill", "bfill", "linear", "median", "zero", "seasonal")]
                         + [(m, 2) for m in ("ffill", "bfill", "linear", "seasonal")])
def test_fill_missing_matches_pandas_groupby(method, limit):
    # pandas has no per-gap limit for constant fills: test_fill_limit_constant covers those
    df = panel(nan_rate=0.3)
    out = cl.fill_missing(df, "units", method, limit=limit)
    ref = fill_reference(sort(df), method, limit)
    expected = sort(df).assign(units=ref.to_numpy())
    pd.testing.assert_frame_equal(sort(out), expected, check_dtype=False)
    assert out.index.equals(df.index)  # input order kept


def test_fill_limit_constant_fills_first_values_of_each_gap():
    df = pd.DataFrame({"sku": "a", "location": "w", "date": pd.date_range("2024-01-01", periods=7),
                       "units": [np.nan, 1, np.nan, np.nan, np.nan, 5, np.nan]})
    out = cl.fill_missing(df, method="zero", limit=2)
    np.testing.assert_array_equal(out["units"], [0, 1, 0, 0, np.nan, 5, 0])


def test_fill_never_crosses_series():
    df = pd.DataFrame({"sku": ["a", "a", "b", "b"], "location": "w",
                       "date": pd.to_datetime(["2024-01-01", "2024-01-02"] * 2), "units": [1.0, 2.0, np.nan, 4.0]})
    assert np.isnan(cl.fill_missing(df, method="ffill")["units"].iloc[2])
    assert np.isnan(cl.fill_missing(df, method="linear")["units"].iloc[2])


@pytest.mark.parametrize("method", ["ffill", "linear", "median", "seasonal"])
def test_fill_missing_dask_parity(method):
    df = panel(nan_rate=0.3)
    report_a, report_b = cl.CleanReport(), cl.CleanReport()
    a = cl.fill_missing(df, method=method, limit=3, indicator=True, report=report_a)
    b = cl.fill_missing(to_dask(df), method=method, limit=3, indicator=True, report=report_b).compute()
    assert_same(a, b)
    assert report_a.to_dict() == report_b.to_dict()  # pending Dask counts resolve on read
    assert report_a.steps[0]["values"]["filled"] == int(a["units_filled"].sum())


def test_fill_missing_errors_name_column():
    df = panel()
    with pytest.raises(DataValidationError, match="column 'qty': missing"):
        cl.fill_missing(df, "qty")
    with pytest.raises(DataValidationError, match="column 'sku'.*must be numeric"):
        cl.fill_missing(df, "sku")
    bad = df.astype({"sku": object})
    bad.loc[3, "sku"] = None
    with pytest.raises(DataValidationError, match=r"column 'sku': missing key values.*1 offending"):
        cl.fill_missing(bad)


# ------------------------------------------------------------------------------------- outliers


def bounds_reference(x, method, t):
    x = x[~np.isnan(x)]
    if method == "iqr":
        q1, q3 = np.percentile(x, [25, 75])
        return q1 - t * (q3 - q1), q3 + t * (q3 - q1)
    if method == "zscore":  # |scipy zscore| > t  <=>  outside mean +- t*std (ddof=0)
        return x.mean() - t * x.std(), x.mean() + t * x.std()
    med, mad = np.median(x), stats.median_abs_deviation(x, scale="normal")
    return med - t * mad, med + t * mad


@pytest.mark.parametrize("method,t", [("iqr", 1.5), ("zscore", 2.0), ("mad", 3.5)])
@pytest.mark.parametrize("ids", [None, IDS])
def test_flag_and_clip_match_numpy_scipy(method, t, ids):
    df = panel()
    flagged = cl.flag_outliers(df, "units", method, id_cols=ids, threshold=t)
    clipped = cl.clip_outliers(df, "units", method, id_cols=ids, threshold=t)
    groups = df.groupby(ids, observed=True).groups.values() if ids else [df.index]
    for rows in groups:
        x = df.loc[rows, "units"].to_numpy()
        lo, hi = bounds_reference(x, method, t)
        np.testing.assert_array_equal(flagged.loc[rows, "units_outlier"].to_numpy(), (x < lo) | (x > hi))
        np.testing.assert_allclose(clipped.loc[rows, "units"].to_numpy(), np.clip(x, lo, hi))
    if method == "zscore" and ids is None:
        z = np.abs(stats.zscore(df["units"].to_numpy(), nan_policy="omit"))
        np.testing.assert_array_equal(flagged["units_outlier"].to_numpy(), np.nan_to_num(z) > t)


def test_hampel_matches_pandas_rolling():
    df = panel()
    out = cl.flag_outliers(df, "units", "hampel", id_cols=IDS, window=7)
    s = sort(df)
    g = s.groupby(IDS, observed=True)["units"]
    med = g.transform(lambda v: v.rolling(7, center=True, min_periods=1).median())
    mad = g.transform(lambda v: v.rolling(7, center=True, min_periods=1).apply(
        lambda w: np.nanmedian(np.abs(w - np.nanmedian(w))), raw=True))
    expected = (s["units"] - med).abs() > 3 * 1.4826022185056018 * mad
    np.testing.assert_array_equal(sort(out)["units_outlier"].to_numpy(), expected.to_numpy())
    clipped = cl.clip_outliers(df, "units", "hampel", id_cols=IDS, window=7)
    lim = 3 * 1.4826022185056018 * mad
    np.testing.assert_allclose(sort(clipped)["units"], np.clip(s["units"], med - lim, med + lim))


@pytest.mark.parametrize("method,ids", [("iqr", None), ("mad", IDS), ("zscore", None), ("hampel", IDS)])
def test_outliers_dask_parity(method, ids):
    df = panel()
    for func in (cl.flag_outliers, cl.clip_outliers):
        a = func(df, "units", method, id_cols=ids)
        b = func(to_dask(df), "units", method, id_cols=ids).compute()
        assert_same(a, b)


def test_clip_counts_in_report():
    df = panel()
    report = cl.CleanReport()
    out = cl.clip_outliers(df, "units", "iqr", report=report)
    changed = (out["units"] != df["units"]) & df["units"].notna()
    assert report.steps[0]["values"]["clipped"] == int(changed.sum()) > 0


# ----------------------------------------------------------------------------------------- scale


@pytest.mark.parametrize("method,ref", [("standard", StandardScaler), ("minmax", MinMaxScaler),
                                        ("robust", RobustScaler)])
def test_scale_per_series_matches_sklearn_and_inverts(method, ref):
    df = panel(nan_rate=0.0)
    out, scaler = cl.scale(df, ["units", "price"], method, id_cols=IDS)
    for _, rows in df.groupby(IDS, observed=True).groups.items():
        expected = ref().fit_transform(df.loc[rows, ["units", "price"]].to_numpy())
        np.testing.assert_allclose(out.loc[rows, ["units", "price"]].to_numpy(), expected, atol=1e-12)
    back = scaler.inverse(out)
    np.testing.assert_allclose(back[["units", "price"]].to_numpy(), df[["units", "price"]].to_numpy())
    forecast = out[IDS].assign(yhat=out["units"])
    np.testing.assert_allclose(scaler.inverse_transform(forecast, {"units": "yhat"})["yhat"], df["units"])


def test_scale_global_log1p_and_params():
    df = panel(nan_rate=0.0)
    out, scaler = cl.scale(df, "units", "standard")
    np.testing.assert_allclose(out["units"], StandardScaler().fit_transform(df[["units"]])[:, 0])
    out, scaler = cl.scale(df, "units", "log1p")
    np.testing.assert_allclose(out["units"], np.log1p(df["units"]))
    np.testing.assert_allclose(scaler.inverse(out)["units"], df["units"])
    assert scaler.get_params() == {"cols": "units", "method": "log1p", "id_cols": None}


def test_scale_dask_parity_and_unseen_series():
    df = panel(nan_rate=0.0)
    a, sa = cl.scale(df, "units", "robust", id_cols=IDS)
    b, sb = cl.scale(to_dask(df), "units", "robust", id_cols=IDS)
    assert_same(a, b.compute())
    pd.testing.assert_frame_equal(sort(sa.stats_, IDS), sort(sb.stats_, IDS), check_categorical=False)
    new = df.assign(sku=df["sku"].cat.add_categories("ZZ")).head(3)
    new.loc[new.index[0], "sku"] = "ZZ"
    with pytest.raises(DataValidationError, match=r"column 'sku': belongs to series the Scaler was not fitted.*1 off"):
        sa.transform(new)


# ---------------------------------------------------------------------------------- pseudonymize


def test_pseudonymize_matches_stdlib_hmac_and_keeps_missing():
    df = pd.DataFrame({"email": ["a@x.org", "b@y.com", None, "a@x.org"], "n": [1, 2, 3, 4]})
    out = cl.pseudonymize(df, "email", KEY)
    expected = [hmac.new(KEY, v.encode(), "sha256").hexdigest() for v in ["a@x.org", "b@y.com"]]
    assert out["email"].tolist()[:2] == expected and out["email"].iloc[3] == expected[0]
    assert pd.isna(out["email"].iloc[2])
    other = cl.pseudonymize(df, "email", KEY[::-1])
    assert other["email"].iloc[0] != out["email"].iloc[0]
    assert out["n"].tolist() == [1, 2, 3, 4]


def test_pseudonymize_refuses_short_or_empty_key():
    df = pd.DataFrame({"email": ["a"]})
    for key in (b"", "", b"short-key", "fifteen-chars!!"):
        with pytest.raises(ValueError, match="at least 16 bytes"):
            cl.pseudonymize(df, "email", key)


def test_pseudonymize_key_never_in_outputs_or_reprs():
    key = "my-super-secret-key-1234567890"
    df = pd.DataFrame({"customer_id": ["c1", "c2"], "x": [1, 2]})
    out, report = cl.clean(df, [("pseudonymize", {"cols": "customer_id", "key": key})])
    texts = [repr(report), str(report), repr(report.to_dict()), report.to_frame().to_string(), out.to_string(),
             repr(PseudonymizeStep("customer_id", key)), repr(PseudonymizeStep("customer_id", key).key)]
    assert all(key not in t for t in texts)
    lazy = cl.pseudonymize(dd.from_pandas(df, npartitions=1), "customer_id", key)
    assert key not in repr(lazy)


def test_pseudonymize_dask_parity():
    df = pd.DataFrame({"customer_id": [f"c{i % 13}" for i in range(50)], "k": range(50)})
    a = cl.pseudonymize(df, "customer_id", KEY)
    b = cl.pseudonymize(dd.from_pandas(df, npartitions=4), "customer_id", KEY).compute()
    pd.testing.assert_frame_equal(a, b)


# ---------------------------------------------------------------------------- integrate_channels


def channel_frames():
    web = pd.DataFrame({"order_id": [1, 2, 3], "sku": ["A", "B", "A"], "qty": [1, 2, 1],
                        "price_usd": [10.0, 20.0, 10.0],
                        "ts": pd.to_datetime(["2024-03-10 01:30", "2024-03-10 12:00", "2024-07-01 09:00"])})
    store = pd.DataFrame({"ticket": [100, 2], "article": ["B", "B"], "packs": [2, 1], "price_eur": [50.0, 18.0],
                          "when": pd.to_datetime(["2024-03-10 08:00", "2024-07-01 12:00"])})
    mapping = {"web": {"rename": {"qty": "quantity", "price_usd": "unit_price", "ts": "order_ts"}},
               "store": {"rename": {"ticket": "order_id", "article": "sku", "packs": "quantity",
                                    "price_eur": "unit_price", "when": "order_ts"},
                         "units": {"quantity": 6}, "currency": {"unit_price": 1.1}, "timezone": "Europe/Berlin"}}
    return {"web": web, "store": store}, mapping


def test_integrate_channels_converts_and_dedupes():
    frames, mapping = channel_frames()
    report = cl.CleanReport()
    out = cl.integrate_channels(frames, mapping, report=report).sort_values("order_id").reset_index(drop=True)
    assert out["order_id"].tolist() == [1, 2, 3, 100]
    assert out["channel"].astype(str).tolist() == ["web", "web", "web", "store"]  # order 2 kept from web
    store_ts = pd.Timestamp("2024-03-10 08:00", tz="Europe/Berlin").tz_convert("UTC").tz_localize(None)
    assert out.loc[3, "order_ts"] == store_ts
    assert out.loc[3, "quantity"] == 12 and out.loc[3, "unit_price"] == pytest.approx(55.0)
    assert out.loc[0, "order_ts"] == pd.Timestamp("2024-03-10 01:30")  # web already UTC
    step = report.steps[0]
    assert step["dropped"] == {"seen in two systems (order_id)": 1} and step["rows_in"] == 5
    assert out["channel"].dtype == "category"


def test_integrate_channels_target_zone_and_errors():
    frames, mapping = channel_frames()
    out = cl.integrate_channels(frames, mapping, tz="America/New_York", dedupe_on=None)
    web1 = pd.Timestamp("2024-03-10 01:30", tz="UTC").tz_convert("America/New_York").tz_localize(None)
    assert (out["order_ts"] == web1).any() and len(out) == 5
    bad = dict(mapping, store=dict(mapping["store"], rename={"ticket": "order_id"}))
    with pytest.raises(DataValidationError, match="column 'quantity': missing"):
        cl.integrate_channels(frames, bad)


def test_integrate_channels_dask_parity():
    frames, mapping = channel_frames()
    a = cl.integrate_channels(frames, mapping)
    b = cl.integrate_channels({k: dd.from_pandas(v, npartitions=2) for k, v in frames.items()}, mapping).compute()
    assert_same(a, b, ("order_id",))


# ----------------------------------------------------------------------------------------- clean


STEPS = [("drop_duplicates", {}),
         ("validate", {"schema": cl.Schema("t", {"units": cl.Column("float", min=0)}), "errors": "drop"}),
         ("complete_calendar", {"fill": {}, "freq": "D"}),
         ("fill_missing", {"method": "linear"}),
         ("fill_missing", {"method": "median"}),
         ("clip_outliers", {"method": "mad", "id_cols": IDS}),
         ("flag_outliers", {"method": "hampel", "id_cols": IDS})]


def dirty_panel():
    df = panel(nan_rate=0.2)
    df.loc[df.sample(5, random_state=1).index, "units"] = -1.0
    df = df.drop(df.sample(10, random_state=2).index)
    return pd.concat([df, df.sample(7, random_state=3)], ignore_index=True)


def test_clean_accounts_for_every_row():
    df = dirty_panel()
    out, report = cl.clean(df, STEPS)
    for s in report.steps:
        assert s["rows_in"] - sum(s["dropped"].values()) + sum(s["inserted"].values()) == s["rows_out"]
    steps = report.steps
    assert steps[0]["dropped"] == {"duplicate": 7} and steps[1]["dropped"] == {"units >= 0": 5}
    kept = df.drop_duplicates(keep="last")
    kept = kept[~(kept["units"] < 0)]
    expected_inserted = int(calendar_reference(kept, {})["inserted"].sum())
    assert steps[2]["inserted"]["calendar gap"] == int(out["inserted"].sum()) == expected_inserted > 0
    assert report.rows_in == len(df) and report.rows_out == len(out)
    assert out["units"].isna().sum() == 0
    assert "drop_duplicates" in str(report) and report.to_dict()["dropped"]["duplicate"] == 7
    frame = report.to_frame()
    assert frame.query("kind == 'dropped'")["count"].sum() == 12


def test_clean_equals_step_by_step_pandas():
    df = dirty_panel()
    out, _ = cl.clean(df, STEPS[:2])
    expected = df.drop_duplicates(keep="last")
    expected = expected[~(expected["units"] < 0)]
    pd.testing.assert_frame_equal(out, expected)


def test_clean_dask_parity_single_pass():
    df = dirty_panel()
    calls = []

    def tap(part):
        calls.append(len(part))
        return part

    a, ra = cl.clean(df, [*STEPS, tap])
    b, rb = cl.clean(to_dask(df, n=4), [*STEPS, tap])
    assert b.npartitions == 4
    data_calls = [n for n in calls if n]  # Dask also calls each step once on its empty meta
    assert len(data_calls) == 1 + b.npartitions  # pandas once, then once per Dask partition
    assert_same(a, b.compute())
    assert len([n for n in calls if n]) == 1 + b.npartitions  # persisted: computing reads nothing again
    assert ra.to_dict() == rb.to_dict()
    assert rb.steps[-1]["step"] == "tap"


def test_clean_dask_validate_raises_with_totals():
    df = dirty_panel()
    steps = [("validate", {"schema": cl.Schema("t", {"units": cl.Column("float", min=0)})})]
    with pytest.raises(DataValidationError, match="column 'units': 5 rows break rule '>= 0'"):
        cl.clean(to_dask(df, n=4), steps)
    with pytest.raises(DataValidationError, match="column 'units': 5 rows break rule '>= 0'"):
        cl.clean(df, steps)


def test_clean_rejects_unknown_steps():
    with pytest.raises(DataValidationError, match=r"parameter 'steps\[0\]': unknown value, got 'scrub'; choose from "
                                                  r"\['validate', .*'pseudonymize'\]"):
        cl.clean(panel(), ["scrub"])
    with pytest.raises(DataValidationError, match=r"parameter 'steps\[1\]': unknown parameter of step 'fill_missing', "
                                                  r"got 'colz'; choose from \['cols', "):
        cl.clean(panel(), ["drop_duplicates", ("fill_missing", {"colz": "units"})])
    with pytest.raises(DataValidationError, match=r"step 'pseudonymize' needs parameter 'cols'"):
        cl.clean(panel(), ["pseudonymize"])


# --------------------------------------------------------------------------- generated data truth


def test_clean_finds_injected_anomalies(retail):
    truth = retail.truth
    orders = retail.orders
    out, report = cl.clean(orders, [("drop_duplicates", {}), ("validate", {"schema": "orders", "errors": "drop"})])
    # duplicated orders: each injected id appears once after cleaning
    dup_ids = truth.loc[(truth["table"] == "orders") & (truth["type"] == "duplicated_order"), "order_id"]
    counts = out["order_id"].value_counts()
    recall_dup = np.mean([counts.get(i, 0) <= 1 for i in dup_ids])
    # negative quantities and missing prices: the injected order lines are removed
    kept = set(out["order_id"])
    neg = truth.loc[(truth["table"] == "orders") & (truth["type"] == "negative_quantity"), "order_id"]
    miss = truth.loc[(truth["table"] == "orders") & (truth["type"] == "missing_value"), "order_id"]
    recall_neg = np.mean([i not in kept for i in neg])
    recall_miss = np.mean([i not in kept for i in miss])
    dropped = report.dropped
    assert len(dup_ids) > 5 and len(neg) > 5 and len(miss) > 5
    assert recall_dup >= 0.95 and recall_neg >= 0.95 and recall_miss >= 0.95
    assert dropped["duplicate"] <= 1.05 * len(dup_ids) and dropped["quantity >= 0"] <= 1.05 * len(neg)
    # sales missing values: filled cells match the truth keys
    sales = cl.fill_missing(retail.sales, "units", "median", indicator=True)
    filled = sales.loc[sales["units_filled"], ["sku", "location", "date"]].astype({"sku": str, "location": str})
    found = set(map(tuple, filled.to_numpy().tolist()))
    want = truth.loc[(truth["table"] == "sales") & (truth["type"] == "missing_value"), ["sku", "location", "date"]]
    keys = [tuple(r) for r in want.astype({"sku": str, "location": str}).to_numpy().tolist()]
    assert len(keys) > 5 and np.mean([k in found for k in keys]) >= 0.95


# --------------------------------------------------------------------------- more input errors


def test_outlier_scale_and_calendar_errors_name_column():
    df = panel()
    with pytest.raises(DataValidationError, match="column 'qty': missing"):
        cl.flag_outliers(df, "qty")
    with pytest.raises(DataValidationError, match="column 'date': missing"):
        cl.clip_outliers(df.drop(columns="date"), "units", "hampel", id_cols=IDS)
    with pytest.raises(DataValidationError, match="column 'location': missing"):
        cl.Scaler("units", id_cols=IDS).fit(df.drop(columns="location"))
    with pytest.raises(DataValidationError, match="column 'sku'.*must be numeric"):
        cl.scale(df, "sku")
    with pytest.raises(DataValidationError, match="column 'price'.*must be a datetime64"):
        cl.complete_calendar(df, time_col="price")
    with pytest.raises(DataValidationError, match="column 'units': already present"):
        cl.complete_calendar(df, flag_col="units")
    with pytest.raises(DataValidationError, match="column 'units': missing"):
        cl.clean(df.drop(columns="units"), [("fill_missing", {})])
    with pytest.raises(DataValidationError, match="column 'units': missing"):
        cl.clean(to_dask(df.drop(columns="units")), [("fill_missing", {})])  # raised when building, on meta


def test_bad_parameters_name_the_parameter_and_the_choices():
    df = panel()
    with pytest.raises(DataValidationError, match=r"parameter 'method': unknown value, got 'mean'; choose from "
                                                  r"\['ffill', 'bfill', 'linear', 'median', 'zero', 'seasonal'\]"):
        cl.fill_missing(df, method="mean")
    with pytest.raises(DataValidationError, match="parameter 'limit': must be >= 1"):
        cl.fill_missing(df, limit=0)
    with pytest.raises(DataValidationError, match="parameter 'window': must be odd"):
        cl.flag_outliers(df, method="hampel", window=4)
    with pytest.raises(DataValidationError, match="parameter 'freq': not a frequency"):
        cl.complete_calendar(df, freq="fortnightly")
    with pytest.raises(DataValidationError, match=r"parameter 'keep': unknown value, got 'middle'"):
        cl.drop_duplicates(df, keep="middle")
    with pytest.raises(DataValidationError, match=r"parameter 'method': .*choose from \['iqr', 'zscore', 'mad', "
                                                  r"'hampel'\]"):
        cl.clip_outliers(df, method="tukey")


def test_clean_dask_output_is_known_to_hold_whole_series():
    """Per-series steps lay the frame out with panel.partition_by_series; the result says so, and a
    per-series verb after it does not shuffle again."""
    from toolkit import panel

    df = dirty_panel().drop_duplicates(IDS + ["date"])
    out, _ = cl.clean(to_dask(df, n=4), [("fill_missing", {"method": "ffill"})])
    assert panel.is_partitioned_by_series(out, IDS, "date")
    again = cl.fill_missing(out, method="bfill")
    assert "shuffle" not in " ".join(map(str, again.dask.keys())).lower()
    expected = cl.fill_missing(cl.fill_missing(df, method="ffill"), method="bfill")
    assert_same(expected, again.compute())


def test_clean_checks_every_step_before_any_work(monkeypatch):
    from toolkit.cleanse.duplicates import DedupeStep

    rows_seen = []
    apply = DedupeStep.apply

    def spy(self, part, stats=None):
        rows_seen.append(len(part))
        return apply(self, part, stats)

    monkeypatch.setattr(DedupeStep, "apply", spy)
    with pytest.raises(DataValidationError, match="column 'qty': missing"):
        cl.clean(panel(), [("drop_duplicates", {}), ("fill_missing", {"cols": "qty"})])
    assert rows_seen == [0]  # only the empty probe: the missing column was found before any work
