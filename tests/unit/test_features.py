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


@pytest.mark.parametrize("last_n", [1, 3])
def test_last_n_equals_tail_of_full_build(panel, last_n):
    spec = FeatureSpec(lags=(1, 2, 5), rolling={4: ("mean", "std", "median")}, calendar=("dayofweek",),
                       fourier=((7, 1),), exog=("price",))
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
