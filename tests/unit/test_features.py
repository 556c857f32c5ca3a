"""Tests of toolkit.features against independent references.

References: plain pandas ``groupby().shift/rolling/ewm/expanding`` on the sorted panel,
mlforecast's ``MLForecast.preprocess`` for the features both libraries compute, the
``holidays`` package, and closed forms for Fourier, adstock and Hill saturation.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from toolkit import features as F
from toolkit.panel import SeriesLayout
from toolkit.errors import DataValidationError
from toolkit.features import FeatureSpec, build_features

IDS = ["sku", "location"]


def make_panel(seed: int = 0, n_skus: int = 4, n_locs: int = 3, shuffle: bool = True) -> pd.DataFrame:
    """Ragged panel: series of different lengths and start dates, calendar gaps, NaN targets,
    categorical keys, rows shuffled."""
    rng = np.random.default_rng(seed)
    parts = []
    for s in range(n_skus):
        for l in range(n_locs):
            n = int(rng.integers(3, 60))
            start = pd.Timestamp("2024-01-01") + pd.Timedelta(days=int(rng.integers(0, 20)))
            dates = start + pd.to_timedelta(np.sort(rng.choice(np.arange(n + 10), n, replace=False)), unit="D")
            units = rng.poisson(5 + 3 * s, n).astype("float32")
            units[rng.random(n) < 0.1] = np.nan
            parts.append(pd.DataFrame({
                "sku": f"SKU{s:05d}", "location": ["web", "app", "store_01", "store_02"][l], "date": dates,
                "units": units, "price": rng.uniform(5, 10, n).astype("float32"),
                "promo": rng.random(n) < 0.2,
            }))
    df = pd.concat(parts, ignore_index=True)
    df["sku"] = df["sku"].astype("category")
    df["location"] = df["location"].astype("category")
    if shuffle:
        df = df.sample(frac=1.0, random_state=seed).reset_index(drop=True)
    return df


def ref_grouped(df: pd.DataFrame, col: str = "units"):
    """Sorted copy and the pandas groupby of the target shifted by one row (the reference)."""
    s = df.sort_values([*IDS, "date"])
    g = s.groupby(IDS, observed=True)[col]
    return s, g


def aligned(out: pd.DataFrame, ref: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    ref = ref.reindex(out.index)
    return out.to_numpy(dtype="float64"), ref.to_numpy(dtype="float64")


def assert_close(actual, expected, rtol=1e-9, atol=1e-9):
    np.testing.assert_allclose(np.asarray(actual, dtype="float64"), np.asarray(expected, dtype="float64"),
                               rtol=rtol, atol=atol, equal_nan=True)


@pytest.fixture(scope="module")
def panel():
    return make_panel()


# ---------------------------------------------------------------------------------------------
# per-series features vs plain pandas groupby
# ---------------------------------------------------------------------------------------------


def test_lags_match_groupby_shift(panel):
    out = F.add_lags(panel, [1, 3, 7])
    s, g = ref_grouped(panel)
    for k in (1, 3, 7):
        assert_close(*aligned(out[f"lag_{k}"], g.shift(k)))
    assert list(out.index) == list(panel.index)
    pd.testing.assert_frame_equal(out[panel.columns], panel)


@pytest.mark.parametrize("engine", ["numba", "array"])
@pytest.mark.parametrize("window,min_periods", [(3, None), (7, 2), (28, None)])
def test_rolling_matches_groupby_rolling(panel, engine, window, min_periods):
    stats = ("mean", "std", "min", "max", "sum", "median", "q0.9", "count")
    s, g = ref_grouped(panel)
    shifted = g.shift(1)
    roll = shifted.groupby([s["sku"], s["location"]], observed=True).rolling(window, min_periods=min_periods or window)
    refs = {
        "mean": roll.mean(), "std": roll.std(), "min": roll.min(), "max": roll.max(), "sum": roll.sum(),
        "median": roll.median(), "q0.9": roll.quantile(0.9), "count": roll.count(),
    }
    x = s["units"].to_numpy("float64")
    starts = s.groupby(IDS, observed=True).cumcount().to_numpy()
    starts = np.arange(len(s)) - starts
    res = F.rolling_kernel(x, starts, window, stats, shift=1, min_periods=min_periods, engine=engine)
    for stat in stats:
        ref = refs[stat].reset_index(level=[0, 1], drop=True).reindex(s.index)
        if stat == "count":  # pandas counts in windows that have min_periods values
            ref = ref.where(ref >= (min_periods or window))
        assert_close(res[stat], ref, rtol=1e-7, atol=1e-7)


def test_add_rolling_frame_matches_pandas(panel):
    out = F.add_rolling(panel, [2, 5], ("mean", "std"), min_periods=1)
    s, g = ref_grouped(panel)
    sh = g.shift(1).groupby([s["sku"], s["location"]], observed=True)
    for w in (2, 5):
        mean = sh.rolling(w, min_periods=1).mean().reset_index(level=[0, 1], drop=True)
        std = sh.rolling(w, min_periods=1).std().reset_index(level=[0, 1], drop=True)
        assert_close(*aligned(out[f"rolling_mean_{w}"], mean))
        assert_close(*aligned(out[f"rolling_std_{w}"], std))


@pytest.mark.parametrize("engine", ["numba", "array"])
def test_expanding_matches_pandas(panel, engine):
    s, g = ref_grouped(panel)
    exp = g.shift(1).groupby([s["sku"], s["location"]], observed=True).expanding(1)
    x = s["units"].to_numpy("float64")
    starts = np.arange(len(s)) - s.groupby(IDS, observed=True).cumcount().to_numpy()
    stats = ("mean", "std", "count", "sum", "min", "max")
    res = F.expanding_kernel(x, starts, stats, shift=1, engine=engine)
    refs = {"mean": exp.mean(), "std": exp.std(), "count": exp.count(), "sum": exp.sum(), "min": exp.min(),
            "max": exp.max()}
    refs["count"] = refs["count"].where(refs["count"] >= 1)  # like every statistic: NaN below min_periods
    for stat in stats:
        assert_close(res[stat], refs[stat].reset_index(level=[0, 1], drop=True).reindex(s.index), rtol=1e-7, atol=1e-7)
    out = F.add_expanding(panel, ("mean", "std"))
    assert_close(*aligned(out["expanding_mean"], refs["mean"].reset_index(level=[0, 1], drop=True)))


@pytest.mark.parametrize("engine", ["numba", "array"])
@pytest.mark.parametrize("alpha", [0.1, 0.45, 0.9])  # pandas 3.0 jumps at exactly 0.5 with NaN gaps
def test_ewm_matches_pandas_adjust_false(panel, engine, alpha):
    s, g = ref_grouped(panel)
    # reference: pandas ewm on each series (transform with a lambda is fine in a test)
    ref = g.transform(lambda v: v.astype("float64").ewm(alpha=alpha, adjust=False).mean())
    ref = ref.groupby([s["sku"], s["location"]], observed=True).shift(1)
    x = s["units"].to_numpy("float64")
    starts = np.arange(len(s)) - s.groupby(IDS, observed=True).cumcount().to_numpy()
    assert_close(F.ewm_kernel(x, starts, alpha, shift=1, engine=engine), ref.reindex(s.index), rtol=1e-9, atol=1e-9)


def test_add_ewm_spans_and_frame(panel):
    out = F.add_ewm(panel, alphas=[0.3], spans=[4])
    s, g = ref_grouped(panel)
    for name, kw in (("ewm_mean_0.3", {"alpha": 0.3}), ("ewm_mean_span4", {"span": 4})):
        ref = g.transform(lambda v: v.astype("float64").ewm(adjust=False, **kw).mean())
        ref = ref.groupby([s["sku"], s["location"]], observed=True).shift(1)
        assert_close(*aligned(out[name], ref))


def test_diff_and_pct_change_match_pandas(panel):
    s, g = ref_grouped(panel)
    shifted = g.shift(1).groupby([s["sku"], s["location"]], observed=True)
    out = F.add_diff(panel, [1, 2])
    for k in (1, 2):
        assert_close(*aligned(out[f"diff_{k}"], shifted.diff(k)))
    out = F.add_pct_change(panel, 1)
    assert_close(*aligned(out["pct_change_1"], shifted.pct_change(1, fill_method=None)), rtol=1e-6)  # float32 reference


def test_shift_two_uses_values_two_rows_back(panel):
    out = F.add_rolling(panel, 3, ("mean",), shift=2)
    s, g = ref_grouped(panel)
    ref = g.shift(2).groupby([s["sku"], s["location"]], observed=True).rolling(3).mean()
    assert_close(*aligned(out["rolling_mean_3_shift2"], ref.reset_index(level=[0, 1], drop=True)))


def test_windows_before_fill_are_nan_not_zero():
    df = pd.DataFrame({"sku": "a", "location": "web", "date": pd.date_range("2024-01-01", periods=6),
                       "units": [0.0] * 6})
    out = F.add_rolling(df, 3, ("mean", "sum"))
    assert out["rolling_mean_3"].isna().tolist() == [True] * 3 + [False] * 3
    assert out["rolling_sum_3"].tolist()[3:] == [0.0] * 3


# ---------------------------------------------------------------------------------------------
# FeatureSpec / build_features
# ---------------------------------------------------------------------------------------------


SPEC = FeatureSpec(
    lags=(1, 7, 14),
    rolling={7: ("mean",), 14: ("mean", "std", "max")},
    ewm_alphas=(0.3,),
    expanding=("mean",),
    calendar=("dayofweek", "month"),
    fourier=((7, 2),),
    exog=("price", "promo"),
)


def test_feature_names_and_lookback():
    assert SPEC.feature_names == [
        "lag_1", "lag_7", "lag_14", "rolling_mean_7", "rolling_mean_14", "rolling_std_14", "rolling_max_14",
        "expanding_mean", "ewm_mean_0.3", "dayofweek", "month", "fourier_sin_7_1", "fourier_cos_7_1",
        "fourier_sin_7_2", "fourier_cos_7_2", "price", "promo",
    ]
    assert SPEC.lookback == F.FULL_HISTORY
    short = FeatureSpec(lags=(1, 7), rolling={28: ("mean",)}, calendar=(), fourier=())
    assert short.lookback == 28  # rows t-28..t-1
    short2 = FeatureSpec(lags=(30,), rolling={7: ("mean",)}, rolling_shift=3, calendar=(), fourier=())
    assert short2.lookback == 30
    with pytest.raises(ValueError, match="statistic"):
        FeatureSpec(rolling={7: ("mode",)})
    with pytest.raises(ValueError, match="country"):
        FeatureSpec(calendar=("is_holiday",))


def test_build_features_matches_pandas(panel):
    out = build_features(panel, SPEC)
    assert list(out.columns) == list(panel.columns) + [c for c in SPEC.feature_names if c not in SPEC.exog]
    assert out.index.equals(panel.index)
    s, g = ref_grouped(panel)
    sh = g.shift(1).groupby([s["sku"], s["location"]], observed=True)
    for k in (1, 7, 14):
        assert_close(*aligned(out[f"lag_{k}"], g.shift(k)))
    assert_close(*aligned(out["rolling_mean_7"], sh.rolling(7).mean().reset_index(level=[0, 1], drop=True)))
    assert_close(*aligned(out["rolling_std_14"], sh.rolling(14).std().reset_index(level=[0, 1], drop=True)))
    assert_close(*aligned(out["rolling_max_14"], sh.rolling(14).max().reset_index(level=[0, 1], drop=True)))
    assert_close(*aligned(out["expanding_mean"], sh.expanding().mean().reset_index(level=[0, 1], drop=True)))
    assert (out["dayofweek"].to_numpy() == panel["date"].dt.dayofweek.to_numpy()).all()
    assert (out["month"].to_numpy() == panel["date"].dt.month.to_numpy()).all()
    days = (panel["date"] - pd.Timestamp("1970-01-01")).dt.days.to_numpy()
    assert_close(out["fourier_sin_7_2"], np.sin(2 * np.pi * 2 * days / 7), atol=1e-9)
    assert_close(out["fourier_cos_7_1"], np.cos(2 * np.pi * days / 7), atol=1e-9)


TAIL_SPECS = [
    FeatureSpec(lags=(1, 2, 5), rolling={4: ("mean", "std", "median")}, calendar=("dayofweek",),
                fourier=((7, 1),), exog=("price",)),
    SPEC,  # expanding and EWM features: the whole history is read
    FeatureSpec(lags=(2,), rolling={3: ("min", "sum")}, rolling_shift=2, calendar=("is_holiday",), country="US",
                fourier=()),
]


@pytest.mark.parametrize("spec", TAIL_SPECS)
@pytest.mark.parametrize("last_n", [1, 3])
def test_last_n_equals_tail_of_full_build(panel, last_n, spec):
    full = build_features(panel, spec)
    s = full.sort_values([*IDS, "date"])
    expected = s.groupby(IDS, observed=True).tail(last_n)
    got = build_features(panel, spec, last_n=last_n)
    assert sorted(got.index) == sorted(expected.index)
    assert list(got.index) == [i for i in panel.index if i in set(expected.index)]  # input order
    pd.testing.assert_frame_equal(got, full.loc[got.index])


def test_last_n_reads_only_lookback_rows(panel):
    """Values older than lookback + last_n rows may change without changing the last_n features."""
    spec = FeatureSpec(lags=(1, 3), rolling={4: ("mean",)}, calendar=(), fourier=())
    s = panel.sort_values([*IDS, "date"])
    pos_from_end = s.groupby(IDS, observed=True).cumcount(ascending=False)
    old = s.index[pos_from_end >= spec.lookback + 2]
    changed = panel.copy()
    changed.loc[old, "units"] = 1e6
    a = build_features(panel, spec, last_n=2)
    b = build_features(changed, spec, last_n=2)
    pd.testing.assert_frame_equal(a[spec.feature_names], b[spec.feature_names])


def test_future_rows_with_nan_target_get_features():
    df = pd.DataFrame({"sku": "a", "location": "web", "date": pd.date_range("2024-01-01", periods=5),
                       "units": [1.0, 2.0, 3.0, 4.0, np.nan]})
    spec = FeatureSpec(lags=(1, 2), rolling={2: ("mean",)}, calendar=(), fourier=())
    row = build_features(df, spec, last_n=1)
    assert row[["lag_1", "lag_2", "rolling_mean_2"]].values.tolist() == [[4.0, 3.0, 3.5]]


def test_leakage_value_at_t_changes_no_feature_at_or_before_t(panel):
    base = build_features(panel, SPEC)
    s = panel.sort_values([*IDS, "date"])
    series = s[(s["sku"] == "SKU00001") & (s["location"] == "app")]
    t_row = series.index[len(series) // 2]
    t = panel.loc[t_row, "date"]
    changed = panel.copy()
    changed.loc[t_row, "units"] = 12345.0
    after = build_features(changed, SPEC)
    feats = [c for c in SPEC.feature_names if c not in SPEC.exog]
    same_series = (panel["sku"] == "SKU00001") & (panel["location"] == "app")
    upto = same_series & (panel["date"] <= t)
    pd.testing.assert_frame_equal(base.loc[upto, feats], after.loc[upto, feats])
    pd.testing.assert_frame_equal(base.loc[~same_series, feats], after.loc[~same_series, feats])
    later = same_series & (panel["date"] > t)
    assert not base.loc[later, "lag_1"].equals(after.loc[later, "lag_1"])  # the change does reach later rows


def test_sorted_and_unsorted_input_agree(panel):
    sorted_panel = panel.sort_values([*IDS, "date"])
    a = build_features(panel, SPEC).loc[sorted_panel.index]
    b = build_features(sorted_panel, SPEC)
    pd.testing.assert_frame_equal(a, b)


# ---------------------------------------------------------------------------------------------
# validation errors
# ---------------------------------------------------------------------------------------------


def test_missing_column_names_it(panel):
    with pytest.raises(DataValidationError, match="'price'") as err:
        build_features(panel.drop(columns="price"), SPEC)
    assert err.value.column == "price"
    with pytest.raises(DataValidationError, match="'units'"):
        F.add_lags(panel.drop(columns="units"), 1)


def test_non_datetime_time_column(panel):
    bad = panel.assign(date=panel["date"].astype(str))
    with pytest.raises(DataValidationError, match="'date'.*datetime"):
        build_features(bad, SPEC)


def test_duplicated_keys_and_time(panel):
    bad = pd.concat([panel, panel.iloc[[3, 5]]], ignore_index=True)
    with pytest.raises(DataValidationError, match=r"'date'.*duplicated.*2 offending rows") as err:
        F.add_lags(bad, 1)
    assert str(panel.loc[3, "sku"]) in str(err.value) or str(panel.loc[5, "sku"]) in str(err.value)


def test_unsortable_input_nat_and_missing_keys(panel):
    bad = panel.copy()
    bad.loc[[2, 4], "date"] = pd.NaT
    with pytest.raises(DataValidationError, match=r"'date'.*NaT.*2 offending rows"):
        F.add_rolling(bad, 3)
    bad = panel.copy()
    bad.loc[1, "location"] = np.nan
    with pytest.raises(DataValidationError, match=r"'location'.*missing keys"):
        build_features(bad, SPEC)


def test_lag_longer_than_every_series(panel):
    longest = panel.groupby(IDS, observed=True).size().max()
    with pytest.raises(DataValidationError, match=rf"'units'.*lag {longest}.*longest series has {longest}"):
        F.add_lags(panel, [1, int(longest)])
    with pytest.raises(DataValidationError, match="'units'"):
        build_features(panel, FeatureSpec(lags=(int(longest) + 5,), rolling={}, calendar=(), fourier=()))


def test_non_numeric_target_and_empty_frame(panel):
    with pytest.raises(DataValidationError, match="'units'.*numeric"):
        F.add_lags(panel.assign(units=panel["units"].astype(str)), 1)
    with pytest.raises(DataValidationError, match="'units'.*empty"):
        build_features(panel.iloc[:0], SPEC)


def test_bad_parameters():
    df = make_panel(n_skus=1, n_locs=1)
    with pytest.raises(ValueError, match="shift"):
        F.add_rolling(df, 3, shift=0)
    with pytest.raises(ValueError, match="lags"):
        F.add_lags(df, [0])
    with pytest.raises(ValueError, match="min_periods"):
        F.add_rolling(df, [3, 7], min_periods=5)
    with pytest.raises(ValueError, match="min_periods"):
        FeatureSpec(rolling={7: ("mean",)}, min_periods=8)
    with pytest.raises(ValueError, match="alpha"):
        F.add_ewm(df, alphas=[1.5])
    with pytest.raises(TypeError, match="FeatureSpec"):
        build_features(df, {"lags": (1,)})


# ---------------------------------------------------------------------------------------------
# calendar, holidays, Fourier
# ---------------------------------------------------------------------------------------------


def test_calendar_matches_pandas_dt_and_holidays():
    import holidays

    dates = pd.Series(pd.date_range("2023-11-20", "2025-01-10", freq="D")).sample(frac=1.0, random_state=1)
    df = pd.DataFrame({"date": dates.to_numpy()}, index=np.arange(len(dates))[::-1])
    out = F.add_calendar(df, country="US", subdivisions="CA")
    d = df["date"].dt
    assert (out["dayofweek"] == d.dayofweek).all() and (out["day"] == d.day).all()
    assert (out["weekofyear"] == d.isocalendar().week.astype(int)).all()
    assert (out["month"] == d.month).all() and (out["quarter"] == d.quarter).all()
    assert (out["year"] == d.year).all() and (out["dayofyear"] == d.dayofyear).all()
    assert (out["is_weekend"] == (d.dayofweek >= 5)).all()
    assert (out["is_month_start"] == d.is_month_start).all() and (out["is_month_end"] == d.is_month_end).all()
    cal = holidays.country_holidays("US", subdiv="CA", years=range(2022, 2027))
    known = sorted(cal)
    for day, row in zip(df["date"].dt.date, out.itertuples()):
        assert row.is_holiday == (day in cal)
        if day in cal:
            assert set(row.holiday_name.split("; ")) == set(cal.get(day).split("; "))
        else:
            assert row.holiday_name == ""
        nxt = min(h for h in known if h >= day)
        prv = max(h for h in known if h <= day)
        assert row.days_to_holiday == (nxt - day).days
        assert row.days_since_holiday == (day - prv).days
    assert out.index.equals(df.index)


@pytest.mark.parametrize("engine", ["compiled", "array"])
@pytest.mark.parametrize("unit", ["s", "ms", "us", "ns"])
def test_day_numbers_equal_floor_division_in_any_order(unit, engine, monkeypatch):
    """The compiled day numbers (float estimate, then a one-day correction) and the array
    engine (CuPy's path) against NumPy's integer floor division: around midnight, before
    1970, at the ends of int64 and shuffled."""
    from toolkit.kernels.days import by_day, day_numbers

    if engine == "array":
        monkeypatch.setattr("toolkit.kernels.days._compiled_for", lambda xp: None)

    per_day = int(np.timedelta64(1, "D") // np.timedelta64(1, unit))
    rng = np.random.default_rng(7)
    midnights = rng.integers(-10**5, 10**5, 500) * per_day
    near = np.concatenate([midnights - 1, midnights, midnights + 1, midnights + per_day - 1])
    wide = rng.integers(-(2**63) + 1, 2**63 - 1, 2000, dtype=np.int64)
    ends = np.array([-(2**63) + 1, -(2**63) + per_day, 2**63 - 1, 2**63 - per_day, 0, -1], dtype=np.int64)
    for time in (near, np.sort(near), wide, ends):
        days, first, last = day_numbers(time, per_day)
        expected = time // per_day
        np.testing.assert_array_equal(days, expected)
        assert (first, last) == (int(expected.min()), int(expected.max()))
        table = np.arange(last - first + 1, dtype=np.int64) * 3 if last - first < 10**6 else None
        if table is not None:
            np.testing.assert_array_equal(by_day(table, days, first), (expected - first) * 3)
    assert day_numbers(np.zeros(0, dtype=np.int64), per_day)[1:] == (0, 0)


def test_calendar_of_microsecond_ticks_equals_calendar_of_nanoseconds():
    """``tick_ns`` lets a caller pass pandas' raw microseconds: same features as nanoseconds."""
    from toolkit.features.calendar import calendar_columns, fourier_columns

    stamps = pd.Series(pd.date_range("1969-12-25 06:00", periods=400, freq="13h").as_unit("us"))
    like = stamps.to_frame("date")
    ticks = stamps.to_numpy().view("int64")
    names = ("dayofweek", "dayofyear", "is_month_end", "hour", "is_holiday", "days_to_holiday")
    ours = calendar_columns(like, ticks, names, "US", tick_ns=1000)
    ref = calendar_columns(like, ticks * 1000, names, "US")
    assert ours.keys() == ref.keys()
    for name in names:
        np.testing.assert_array_equal(ours[name], ref[name], err_msg=name)
    assert (ours["dayofweek"] == stamps.dt.dayofweek.to_numpy()).all() and (ours["hour"] == stamps.dt.hour).all()
    four = fourier_columns(ticks, [(7.0, 2)], tick_ns=1000)
    np.testing.assert_allclose(four["fourier_cos_7_2"], fourier_columns(ticks * 1000, [(7.0, 2)])["fourier_cos_7_2"],
                               rtol=0, atol=1e-12)
    with pytest.raises(DataValidationError, match="tick_ns"):
        calendar_columns(like, ticks, ["month"], tick_ns=7 * 10**9)


def test_calendar_errors():
    df = pd.DataFrame({"date": pd.date_range("2024-01-01", periods=3)})
    with pytest.raises(ValueError, match="country"):
        F.add_calendar(df, features=["is_holiday"])
    with pytest.raises(DataValidationError, match="'day'.*missing"):
        F.add_calendar(df, time_col="day")
    with pytest.raises(DataValidationError, match="'date'.*datetime"):
        F.add_calendar(df.assign(date=["2024-01-01"] * 3))


def test_fourier_closed_form():
    df = pd.DataFrame({"date": pd.to_datetime(["2024-01-01", "2024-03-15", "2025-07-04"])})
    out = F.add_fourier(df, period=365.25, order=3)
    t = (df["date"] - pd.Timestamp("1970-01-01")).dt.days.to_numpy()
    for k in (1, 2, 3):
        assert_close(out[f"fourier_sin_365.25_{k}"], np.sin(2 * np.pi * k * t / 365.25), atol=1e-12)
        assert_close(out[f"fourier_cos_365.25_{k}"], np.cos(2 * np.pi * k * t / 365.25), atol=1e-12)


# ---------------------------------------------------------------------------------------------
# commerce and marketing features
# ---------------------------------------------------------------------------------------------


def test_price_features_match_pandas(panel):
    df = panel.assign(category=np.where(panel["sku"].isin(["SKU00000", "SKU00001"]), "x", "y"))
    out = F.add_price_features(df, window=5, category_col="category")
    s = df.sort_values([*IDS, "date"])
    ref = s.groupby(IDS, observed=True)["price"].rolling(5, min_periods=1).max().reset_index(level=[0, 1], drop=True)
    assert_close(*aligned(out["price_ref"], ref), rtol=1e-6)
    assert_close(out["discount_depth"], 1 - df["price"].astype("float64") / ref.reindex(df.index), rtol=1e-6)
    med = df.groupby(["category", "date"])["price"].transform("median").astype("float64")
    assert_close(out["price_rel_category"], df["price"].astype("float64") / med, rtol=1e-6)
    assert (out["is_promo"] == df["promo"].astype(int)).all()
    for _, series in s.groupby(IDS, observed=True):  # brute-force days since the last promo
        last = None
        for idx, row in series.iterrows():
            if row["promo"]:
                last = row["date"]
            expected = np.nan if last is None else (row["date"] - last).days
            assert_close([out.loc[idx, "days_since_promo"]], [expected])


def test_channel_share_matches_pandas(panel):
    out = F.add_channel_share(panel, window=4)
    s = panel.sort_values([*IDS, "date"])
    total = s.groupby(["sku", "date"], observed=True)["units"].transform("sum").astype("float64")
    own = s.groupby(IDS, observed=True)["units"].shift(1).astype("float64")
    tot = total.groupby([s["sku"], s["location"]], observed=True).shift(1)
    keys = [s["sku"], s["location"]]
    own_sum = own.groupby(keys, observed=True).rolling(4, min_periods=1).sum().reset_index(level=[0, 1], drop=True)
    tot_sum = tot.groupby(keys, observed=True).rolling(4, min_periods=1).sum().reset_index(level=[0, 1], drop=True)
    ref = (own_sum / tot_sum.where(tot_sum > 0)).reindex(panel.index)
    assert_close(out["channel_share_4"], ref)
    # on a complete panel the shares of a sku's locations add up to 1
    rng = np.random.default_rng(3)
    full = pd.DataFrame([(s, l, d) for s in ("a", "b") for l in ("web", "app", "store")
                         for d in pd.date_range("2024-01-01", periods=12)], columns=IDS + ["date"])
    full["units"] = rng.poisson(3.0, len(full)).astype(float) + 1.0
    sums = F.add_channel_share(full, window=3).groupby(["sku", "date"])["channel_share_3"].sum(min_count=1).dropna()
    assert len(sums) == 2 * 11
    assert_close(sums, np.ones(len(sums)))


def test_target_encoding_uses_only_earlier_dates(panel):
    df = panel.assign(category=np.where(panel["location"].isin(["web", "app"]), "online", "offline"))
    out = F.add_target_encoding(df, "category", min_count=2)
    for idx in df.index[:80]:
        row = df.loc[idx]
        past = df[(df["category"] == row["category"]) & (df["date"] < row["date"])]["units"].dropna()
        expected = past.astype("float64").mean() if len(past) >= 2 else np.nan
        assert_close([out.loc[idx, "te_category_units"]], [expected])
    changed = df.copy()  # leakage: a value at date d moves no encoding at dates <= d
    first = df["date"].min() + pd.Timedelta(days=10)
    changed.loc[df["date"] == first, "units"] = 999.0
    after = F.add_target_encoding(changed, "category", min_count=2)
    upto = df["date"] <= first
    assert_close(after.loc[upto, "te_category_units"], out.loc[upto, "te_category_units"])


def test_adstock_and_saturation_closed_form():
    rng = np.random.default_rng(0)
    df = pd.DataFrame({"channel": np.repeat(["web", "app"], [10, 7]),
                       "date": np.concatenate([pd.date_range("2024-01-01", periods=10),
                                               pd.date_range("2024-01-03", periods=7)]),
                       "spend": rng.uniform(0, 100, 17)}).sample(frac=1.0, random_state=0)
    out = F.add_adstock(df, "spend", decay=0.6, max_lag=3)
    norm = F.add_adstock(df, "spend", decay=0.6, max_lag=3, normalize=True)
    for _, g in df.sort_values(["channel", "date"]).groupby("channel"):
        x = g["spend"].to_numpy()
        expected = [sum(0.6**l * x[t - l] for l in range(4) if t - l >= 0) for t in range(len(x))]
        assert_close(out.loc[g.index, "spend_adstock"], expected)
        assert_close(norm.loc[g.index, "spend_adstock"], np.asarray(expected) / sum(0.6**l for l in range(4)))
    sat = F.add_saturation(out, "spend_adstock", half_sat=80.0, shape=2.5)
    x = out["spend_adstock"].to_numpy()
    assert_close(sat["spend_adstock_saturation"], x**2.5 / (x**2.5 + 80.0**2.5))
    with pytest.raises(DataValidationError, match="'spend'.*negative"):
        F.add_saturation(df.assign(spend=-df["spend"]), "spend", half_sat=1.0)


# ---------------------------------------------------------------------------------------------
# independent peer: mlforecast
# ---------------------------------------------------------------------------------------------


def test_matches_mlforecast_preprocess():
    mlf = pytest.importorskip("mlforecast")
    from mlforecast.lag_transforms import (ExpandingMean, ExponentiallyWeightedMean, RollingMax, RollingMean,
                                           RollingMin, RollingStd)

    rng = np.random.default_rng(5)
    parts = [pd.DataFrame({"unique_id": f"s{i}", "ds": pd.date_range("2024-01-01", periods=n, freq="D"),
                           "y": rng.gamma(2.0, 3.0, n)}) for i, n in enumerate([40, 25, 60, 33])]
    df = pd.concat(parts, ignore_index=True).sample(frac=1.0, random_state=2)
    fc = mlf.MLForecast(models=[], freq="D", lags=[1, 3, 7],
                        lag_transforms={1: [RollingMean(7), RollingStd(7), RollingMin(5), RollingMax(5),
                                            ExpandingMean(), ExponentiallyWeightedMean(0.3)]},
                        date_features=["dayofweek", "month"])
    ref = fc.preprocess(df, dropna=False).sort_values(["unique_id", "ds"]).reset_index(drop=True)
    spec = FeatureSpec(lags=(1, 3, 7), rolling={7: ("mean", "std"), 5: ("min", "max")}, expanding=("mean",),
                       ewm_alphas=(0.3,), calendar=("dayofweek", "month"), fourier=(),
                       id_cols=("unique_id",), time_col="ds", target_col="y")
    ours = build_features(df, spec).sort_values(["unique_id", "ds"]).reset_index(drop=True)
    pairs = {"lag_1": "lag1", "lag_3": "lag3", "lag_7": "lag7",
             "rolling_mean_7": "rolling_mean_lag1_window_size7", "rolling_std_7": "rolling_std_lag1_window_size7",
             "rolling_min_5": "rolling_min_lag1_window_size5", "rolling_max_5": "rolling_max_lag1_window_size5",
             "expanding_mean": "expanding_mean_lag1", "ewm_mean_0.3": "exponentially_weighted_mean_lag1_alpha0.3",
             "dayofweek": "dayofweek", "month": "month"}
    for mine, theirs in pairs.items():
        assert_close(ours[mine], ref[theirs], rtol=1e-6, atol=1e-8)


# ---------------------------------------------------------------------------------------------
# Dask parity
# ---------------------------------------------------------------------------------------------


def _dask(df, npartitions=4):
    dd = pytest.importorskip("dask.dataframe")
    return dd.from_pandas(df, npartitions=npartitions, sort=False)  # series split across partitions


def test_dask_build_features_parity(panel):
    ddf = _dask(panel)
    lazy = build_features(ddf, SPEC)
    assert type(lazy).__module__.split(".")[0] in ("dask", "dask_expr")
    got = lazy.compute().sort_index()
    pd.testing.assert_frame_equal(got, build_features(panel, SPEC).sort_index(), check_exact=False, rtol=1e-12)
    tail = build_features(ddf, SPEC, last_n=2).compute().sort_index()
    pd.testing.assert_frame_equal(tail, build_features(panel, SPEC, last_n=2).sort_index(), check_exact=False,
                                  rtol=1e-12)


def test_dask_per_series_functions_parity(panel):
    category = np.where(panel["location"].isin(["web", "app"]), "online", "offline")
    df = panel.assign(category=pd.Categorical(category))
    ddf = _dask(df)
    cases = [
        lambda d: F.add_lags(d, [1, 2]),
        lambda d: F.add_rolling(d, [3], ("mean", "std", "q0.5")),
        lambda d: F.add_expanding(d, ("mean", "count")),
        lambda d: F.add_ewm(d, alphas=[0.2]),
        lambda d: F.add_diff(d, 1),
        lambda d: F.add_pct_change(d, 2),
        lambda d: F.add_price_features(d),
        lambda d: F.add_channel_share(d, window=3),
        lambda d: F.add_target_encoding(d, "category"),
        lambda d: F.add_adstock(d, "price", decay=0.5, max_lag=2, id_cols=IDS),
        lambda d: F.add_calendar(d, country="US"),
        lambda d: F.add_fourier(d, period=7, order=2),
        lambda d: F.add_saturation(d, "price", half_sat=7.0, shape=2.0),
    ]
    for case in cases:
        expected = case(df).sort_index()
        got = case(ddf).compute().sort_index()
        pd.testing.assert_frame_equal(got, expected, check_exact=False, rtol=1e-12)


def test_calendar_and_fourier_reject_missing_timestamps():
    df = pd.DataFrame({"date": pd.to_datetime(["2024-01-01", None, "2024-01-03"])})
    with pytest.raises(DataValidationError, match=r"'date'.*NaT.*1 offending rows"):
        F.add_calendar(df)
    with pytest.raises(DataValidationError, match=r"'date'.*NaT"):
        F.add_fourier(df, period=7, order=1)


# ---------------------------------------------------------------------------------------------
# non-finite policy: NaN is missing (as in pandas), inf is refused by the frames, skipped by kernels
# ---------------------------------------------------------------------------------------------


def _long_series(values) -> pd.DataFrame:
    return pd.DataFrame({"sku": "a", "location": "web", "date": pd.date_range("2024-01-01", periods=len(values)),
                         "units": np.asarray(values, dtype="float64")})


@pytest.mark.parametrize("engine", ["numba", "array"])
def test_one_nan_never_poisons_later_windows(engine):
    values = np.arange(1.0, 61.0)
    values[10] = np.nan
    df = _long_series(values)
    stats = ("mean", "std", "min", "max", "sum", "count", "median")
    x = df["units"].to_numpy()
    res = F.rolling_kernel(x, np.array([0, 60]), 5, stats, shift=1, min_periods=3, engine=engine)
    roll = df.groupby(["sku", "location"])["units"].shift(1).groupby([df["sku"], df["location"]]).rolling(
        5, min_periods=3)
    for stat in stats:
        ref = getattr(roll, stat)().reset_index(level=[0, 1], drop=True)
        if stat == "count":
            ref = ref.where(ref >= 3)
        assert_close(res[stat], ref, rtol=1e-9, atol=1e-9)
        assert not np.isnan(res[stat][20:]).any()  # windows after the NaN has left are complete again
    out = F.add_rolling(df, 5, ("mean",), min_periods=3)  # the frame function agrees
    assert_close(out["rolling_mean_5"], res["mean"])
    assert out["rolling_mean_5"].isna().sum() == roll.mean().isna().sum() == 3


@pytest.mark.parametrize("engine", ["numba", "array"])
def test_kernels_skip_infinities_as_pandas_does(engine):
    """pandas' window functions turn +-inf into NaN before aggregating; the kernels skip them alike."""
    rng = np.random.default_rng(4)
    x = rng.gamma(2.0, 3.0, 120)
    x[[7, 30, 31, 77]] = [np.inf, -np.inf, np.nan, np.inf]
    bounds = np.array([0, 50, 120])
    s = pd.Series(x)
    groups = np.repeat([0, 1], [50, 70])
    shifted = s.groupby(groups).shift(1)
    for stat in ("mean", "std", "min", "max", "sum", "median"):
        res = F.rolling_kernel(x, bounds, 6, (stat,), shift=1, min_periods=2, engine=engine)[stat]
        ref = getattr(shifted.groupby(groups).rolling(6, min_periods=2), stat)().reset_index(level=0, drop=True)
        assert_close(res, ref, rtol=1e-9, atol=1e-9)
    exp = F.expanding_kernel(x, bounds, ("mean", "max"), shift=1, engine=engine)
    ref = shifted.groupby(groups).expanding(1)
    assert_close(exp["mean"], ref.mean().reset_index(level=0, drop=True), rtol=1e-9, atol=1e-9)
    assert_close(exp["max"], ref.max().reset_index(level=0, drop=True))
    ewm = F.ewm_kernel(x, bounds, 0.3, shift=1, engine=engine)
    ref = s.groupby(groups).transform(lambda v: v.ewm(alpha=0.3, adjust=False).mean()).groupby(groups).shift(1)
    assert_close(ewm, ref, rtol=1e-9, atol=1e-9)
    # pandas' count counts infinities; ours counts the values a statistic used
    cnt = F.rolling_kernel(x, bounds, 6, ("count",), shift=0, min_periods=0, engine=engine)["count"]
    finite = pd.Series(np.isfinite(x).astype(float)).groupby(groups).rolling(6, min_periods=1).sum()
    assert_close(cnt, finite.reset_index(level=0, drop=True))


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_finite_flag_only_skips_the_infinity_test(dtype):
    """``finite=True`` (input already checked, as the frames do) gives pandas' windows on
    NaN-holding input, bit for bit what the default full test gives."""
    rng = np.random.default_rng(5)
    x = rng.poisson(6.0, 150).astype(dtype)
    x[[3, 40, 41, 90]] = np.nan
    bounds = np.array([0, 60, 150])
    groups = np.repeat([0, 1], [60, 90])
    shifted = pd.Series(x.astype("float64")).groupby(groups).shift(1)
    stats = ("mean", "std", "min", "max", "sum", "count")
    fast = F.rolling_kernel(x, bounds, 7, stats, shift=1, min_periods=3, engine="numba", finite=True)
    full = F.rolling_kernel(x, bounds, 7, stats, shift=1, min_periods=3, engine="numba")
    roll = shifted.groupby(groups).rolling(7, min_periods=3)
    for stat in stats:
        np.testing.assert_array_equal(fast[stat], full[stat])
        ref = getattr(roll, stat)().reset_index(level=0, drop=True)
        assert_close(fast[stat], ref.where(ref >= 3) if stat == "count" else ref, rtol=1e-9, atol=1e-9)
    exp = F.expanding_kernel(x, bounds, ("mean", "std"), engine="numba", finite=True)
    ref = shifted.groupby(groups).expanding(1)
    assert_close(exp["mean"], ref.mean().reset_index(level=0, drop=True), rtol=1e-9, atol=1e-9)
    ewm = F.ewm_kernel(x, bounds, 0.4, engine="numba", finite=True)
    np.testing.assert_array_equal(ewm, F.ewm_kernel(x, bounds, 0.4, engine="numba"))


@pytest.mark.parametrize("call,column", [
    (lambda d: F.add_lags(d, 1), "units"),
    (lambda d: F.add_rolling(d, 3, ("mean",)), "units"),
    (lambda d: F.add_expanding(d), "units"),
    (lambda d: F.add_ewm(d, alphas=[0.5]), "units"),
    (lambda d: F.add_diff(d, 1), "units"),
    (lambda d: F.add_pct_change(d, 1), "units"),
    (lambda d: F.add_channel_share(d, window=3), "units"),
    (lambda d: F.add_target_encoding(d, "sku"), "units"),
    (lambda d: F.add_price_features(d, promo_col=None), "price"),
    (lambda d: F.add_adstock(d, "price", decay=0.5, max_lag=1, id_cols=IDS), "price"),
    (lambda d: F.add_saturation(d, "price", half_sat=1.0), "price"),
    (lambda d: build_features(d, FeatureSpec(lags=(1,), rolling={}, calendar=(), fourier=())), "units"),
    (lambda d: build_features(d, FeatureSpec(lags=(1,), rolling={}, calendar=(), fourier=()), last_n=2), "units"),
])
def test_infinite_values_are_refused_naming_column_and_keys(call, column):
    df = _long_series(np.arange(1.0, 11.0)).assign(price=np.linspace(5.0, 6.0, 10))
    bad = df.copy()
    bad.loc[8, column] = -np.inf
    where = r"\('a', " if "saturation" not in repr(call.__code__.co_names) else "row 8"  # row-wise: no keys
    with pytest.raises(DataValidationError, match=rf"column '{column}': infinite values.*1 offending rows.*{where}") \
            as err:
        call(bad)
    assert err.value.column == column
    call(df.assign(**{column: df[column].where(df.index != 8)}))  # NaN there instead: a missing value, no error


def test_kernels_take_bounds_layouts_and_row_starts_alike():
    rng = np.random.default_rng(7)
    lengths = np.array([5, 1, 9, 4])
    x = rng.normal(size=lengths.sum())
    bounds = np.r_[0, np.cumsum(lengths)]
    starts = np.repeat(bounds[:-1], lengths)
    layout = SeriesLayout(np, bounds)
    by_starts = F.rolling_kernel(x, starts, 3, ("mean", "max", "q0.5"), min_periods=1, engine="array")
    for seg in (bounds, layout, np.array([0, 5, 5, 6, 15, 15, 19])):  # empty series hold no rows
        got = F.rolling_kernel(x, seg, 3, ("mean", "max", "q0.5"), min_periods=1, engine="array")
        for stat, values in by_starts.items():
            assert_close(got[stat], values)
        assert_close(F.lag_kernel(x, seg, 2), F.lag_kernel(x, starts, 2))
        assert_close(F.ewm_kernel(x, seg, 0.4, engine="numba"), F.ewm_kernel(x, starts, 0.4, engine="array"))
    with pytest.raises(DataValidationError, match="parameter 'starts'"):
        F.lag_kernel(x, np.array([0, 0, 1] + [3] * 16), 1)  # per-row starts pointing at a non-start


def test_price_relative_to_category_median_skips_missing_prices(panel):
    df = panel.assign(category=np.where(panel["location"].isin(["web", "app"]), "x", "y"))
    df.loc[df.index[::7], "price"] = np.nan
    out = F.add_price_features(df, window=3, category_col="category")
    med = df.groupby(["category", "date"])["price"].transform("median").astype("float64")
    assert_close(out["price_rel_category"], df["price"].astype("float64") / med, rtol=1e-6)
    with pytest.raises(DataValidationError, match="'category': missing key values"):
        F.add_price_features(df.assign(category=df["category"].where(df.index != 3)), category_col="category")


def test_row_wise_features_keep_dask_partitions(panel):
    ddf = _dask(panel, npartitions=3)
    for lazy in (F.add_calendar(ddf, features=["dayofweek"]), F.add_fourier(ddf), F.add_saturation(ddf, "price", 7.0)):
        assert lazy.npartitions == 3  # no shuffle for row-wise steps
    with pytest.raises(DataValidationError, match="'units': infinite"):  # each partition checks its values
        F.add_lags(_dask(panel.assign(units=panel["units"].replace(np.nan, np.inf))), 1).compute()
