"""Tests of toolkit.forecast against hand-computed forecasts, plain pandas and scikit-learn."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import sklearn.linear_model as sklm
from sklearn import metrics as skm

from toolkit import forecast as fcm
from toolkit.forecast import forecaster as forecaster_module
from toolkit.errors import DataValidationError
from toolkit.features import FeatureSpec, build_features
from toolkit.regress import LinearRegression

KEYS = ["sku", "location"]


def _panel(n_series=3, n_days=120, seed=0, start="2024-01-01"):
    rng = np.random.default_rng(seed)
    dates = pd.date_range(start, periods=n_days)
    frames = []
    for i in range(n_series):
        promo = rng.random(n_days) < 0.2
        level = 20 + 10 * i
        units = level + 5 * promo + 3 * np.sin(2 * np.pi * np.arange(n_days) / 7) + rng.normal(size=n_days)
        frames.append(pd.DataFrame({"sku": f"S{i}", "location": "web", "date": dates, "units": units,
                                    "promo": promo, "stockout": False}))
    df = pd.concat(frames, ignore_index=True)
    df["sku"] = df["sku"].astype("category")
    return df


SPEC = FeatureSpec(lags=(1, 7), rolling={7: ("mean",)}, calendar=("dayofweek",), fourier=(), exog=("promo",))


def _split(df, h):
    cut = df["date"].max() - pd.Timedelta(days=h - 1)
    return df[df["date"] < cut].reset_index(drop=True), df[df["date"] >= cut].reset_index(drop=True)


def test_h1_recursive_equals_one_step_model_prediction():
    df = _panel()
    train, future = _split(df, 5)
    fc = fcm.Forecaster(LinearRegression(), SPEC, horizon=5).fit(train)
    # the model is OLS on the built features of every complete training row
    feats = build_features(train, SPEC).dropna(subset=SPEC.feature_names)
    ref = sklm.LinearRegression().fit(feats[SPEC.feature_names].astype(float), feats["units"])
    np.testing.assert_allclose(fc.model_.coef_, ref.coef_, rtol=1e-8)
    # one step: features of the appended rows computed on the whole history
    nxt = future[future["date"] == future["date"].min()].assign(units=np.nan)
    full = build_features(pd.concat([train, nxt], ignore_index=True), SPEC)
    rows = full[full["units"].isna()].sort_values(KEYS)
    expected = ref.predict(rows[SPEC.feature_names].astype(float))
    got = fc.predict(1, future_df=future)
    np.testing.assert_allclose(got["forecast"].to_numpy(), expected, rtol=1e-9)
    assert got["date"].eq(nxt["date"].iloc[0]).all()


def test_recursive_builds_features_of_new_rows_only(monkeypatch):
    df = _panel(n_series=4)
    train, future = _split(df, 10)
    fc = fcm.Forecaster(LinearRegression(), SPEC, horizon=10).fit(train)
    calls = []
    real = forecaster_module.build_features

    def spy(frame, spec, last_n=None, **kw):
        calls.append((len(frame), last_n))
        return real(frame, spec, last_n=last_n, **kw)

    monkeypatch.setattr(forecaster_module, "build_features", spy)
    fc.predict(10, future_df=future)
    assert len(calls) == 10
    assert all(last_n == 1 for _, last_n in calls)
    assert max(n for n, _ in calls) <= 4 * (SPEC.lookback + 10)


def test_future_actuals_do_not_leak_and_exog_is_taken_per_step():
    df = _panel()
    train, future = _split(df, 8)
    fc = fcm.Forecaster(LinearRegression(), SPEC, horizon=8).fit(train)
    base = fc.predict(future_df=future)
    scrambled = future.assign(units=np.random.default_rng(1).normal(1000, 500, len(future)))
    pd.testing.assert_frame_equal(fc.predict(future_df=scrambled), base)
    # a promo switched on at step 5 changes steps >= 5 only
    changed = future.copy()
    day5 = changed["date"] == changed["date"].min() + pd.Timedelta(days=4)
    changed.loc[day5, "promo"] = ~changed.loc[day5, "promo"]
    out = fc.predict(future_df=changed)
    early = base["date"] < base["date"].min() + pd.Timedelta(days=4)
    np.testing.assert_allclose(out.loc[early, "forecast"], base.loc[early, "forecast"])
    assert not np.allclose(out.loc[~early, "forecast"], base.loc[~early, "forecast"])


def test_exogenous_only_model_follows_future_promo_pattern():
    dates = pd.date_range("2024-01-01", periods=60)
    promo = (np.arange(60) % 3 == 0)
    df = pd.DataFrame({"sku": "a", "location": "web", "date": dates, "units": 10.0 + 5.0 * promo, "promo": promo})
    spec = FeatureSpec(lags=(), rolling={}, calendar=(), fourier=(), exog=("promo",))
    fc = fcm.Forecaster(LinearRegression(), spec, horizon=4).fit(df)
    future = pd.DataFrame({"sku": "a", "location": "web", "date": pd.date_range("2024-03-01", periods=4),
                           "promo": [False, True, False, True]})
    np.testing.assert_allclose(fc.predict(future_df=future)["forecast"], [10.0, 15.0, 10.0, 15.0])


@pytest.mark.parametrize("name", ["_row", "__row"])
def test_exogenous_column_may_be_named_like_a_helper_column(name):
    """The future grid is matched to future_df through a row-number column: an exogenous column
    of the same name must not clash with it (it raised an internal KeyError)."""
    dates = pd.date_range("2024-01-01", periods=60)
    promo = (np.arange(60) % 3 == 0).astype(float)
    df = pd.DataFrame({"sku": "a", "location": "web", "date": dates, "units": 10.0 + 5.0 * promo, name: promo})
    spec = FeatureSpec(lags=(), rolling={}, calendar=(), fourier=(), exog=(name,))
    fc = fcm.Forecaster(LinearRegression(), spec, horizon=4).fit(df)
    future = pd.DataFrame({"sku": "a", "location": "web", "date": pd.date_range("2024-03-01", periods=4),
                           name: [0.0, 1.0, 0.0, 1.0]})
    np.testing.assert_allclose(fc.predict(future_df=future)["forecast"], [10.0, 15.0, 10.0, 15.0])


def test_future_exogenous_values_missing_on_forecast_dates_are_named_with_their_series_and_dates():
    dates = pd.date_range("2024-01-01", periods=60)
    promo = (np.arange(60) % 3 == 0).astype(float)
    df = pd.DataFrame({"sku": "a", "location": "web", "date": dates, "units": 10.0 + 5.0 * promo, "promo": promo})
    spec = FeatureSpec(lags=(), rolling={}, calendar=(), fourier=(), exog=("promo",))
    fc = fcm.Forecaster(LinearRegression(), spec, horizon=4).fit(df)
    future = pd.DataFrame({"sku": "a", "location": "web", "date": pd.date_range("2024-03-01", periods=4),
                           "promo": [0.0, np.nan, 0.0, 1.0]}).drop(index=3)  # 03-02 NaN, 03-04 absent
    with pytest.raises(DataValidationError) as err:
        fc.predict(future_df=future)
    assert err.value.column == "promo"
    assert str(err.value) == ("column 'promo': future_df lacks values for forecast dates (2 offending rows; e.g. "
                              "[('a', 'web', Timestamp('2024-03-02 00:00:00')), "
                              "('a', 'web', Timestamp('2024-03-04 00:00:00'))])")


def _ar_panel(n=80):
    rows = []
    for i, (y0, y1) in enumerate([(1.0, 2.0), (5.0, 3.0), (10.0, 12.0)]):
        y = [y0, y1]
        for _ in range(n - 2):
            y.append(2.0 + 0.6 * y[-1] - 0.2 * y[-2])
        rows.append(pd.DataFrame({"sku": f"s{i}", "location": "web",
                                  "date": pd.date_range("2024-01-01", periods=n), "units": y}))
    return pd.concat(rows, ignore_index=True)


def test_direct_and_recursive_agree_on_noise_free_ar():
    df = _ar_panel()
    # keep the transient part, where the three series still differ
    df = df.groupby("sku").head(12).reset_index(drop=True)
    spec = FeatureSpec(lags=(1, 2), rolling={}, calendar=(), fourier=())
    rec_fc = fcm.Forecaster(LinearRegression(), spec, horizon=4).fit(df)
    rec = rec_fc.predict()
    direct_fc = fcm.Forecaster(LinearRegression(), spec, horizon=4, strategy="direct").fit(df)
    direct = direct_fc.predict()
    expected, expected5 = [], []
    for _, g in df.groupby("sku"):
        y = list(g["units"])
        for _ in range(5):
            y.append(2.0 + 0.6 * y[-1] - 0.2 * y[-2])
        expected += y[-5:-1]
        expected5 += y[-5:]
    np.testing.assert_allclose(rec["forecast"], expected, rtol=1e-8)
    np.testing.assert_allclose(direct["forecast"], expected, rtol=1e-6)
    # one model per step: fewer steps reuse the first models, more than the horizon have none
    first_two = np.asarray(expected).reshape(3, 4)[:, :2].reshape(-1)
    np.testing.assert_allclose(direct_fc.predict(2)["forecast"], first_two, rtol=1e-6)
    with pytest.raises(DataValidationError, match=r"parameter 'h': the direct strategy forecasts at most "
                                                  r"horizon=4 steps, got 5"):
        direct_fc.predict(5)
    np.testing.assert_allclose(rec_fc.predict(5)["forecast"], expected5, rtol=1e-8)  # recursive: no such limit


def test_target_transforms_are_inverted():
    dates = pd.date_range("2024-01-01", periods=40)
    t = np.arange(40.0)
    trend = pd.DataFrame({"sku": "a", "location": "web", "date": dates, "units": 3.0 + 2.0 * t})
    spec = FeatureSpec(lags=(1,), rolling={}, calendar=(), fourier=())
    out = fcm.Forecaster(LinearRegression(), spec, horizon=3, target_transform="diff").fit(trend).predict()
    np.testing.assert_allclose(out["forecast"], 3.0 + 2.0 * np.arange(40, 43), rtol=1e-9)
    growth = trend.assign(units=np.expm1(0.1 * t + 1.0))
    out = fcm.Forecaster(LinearRegression(), spec, horizon=3, target_transform=["log1p", "diff"]).fit(growth).predict()
    np.testing.assert_allclose(out["forecast"], np.expm1(0.1 * np.arange(40, 43) + 1.0), rtol=1e-8)
    # per-series scaling: a global model sees two series of one shape; forecasts keep their scale
    season = 5 + np.sin(2 * np.pi * t / 7)
    two = pd.concat([trend.assign(units=season), trend.assign(sku="b", units=100 * season)], ignore_index=True)
    spec7 = FeatureSpec(lags=(7,), rolling={}, calendar=(), fourier=())
    out = fcm.Forecaster(LinearRegression(), spec7, horizon=7, target_transform="scale").fit(two).predict()
    a, b = out[out.sku == "a"]["forecast"].to_numpy(), out[out.sku == "b"]["forecast"].to_numpy()
    np.testing.assert_allclose(b, 100 * a, rtol=1e-9)
    np.testing.assert_allclose(a, season[33:40], rtol=1e-9)


def test_baselines_match_pandas():
    df = _panel(n_series=3, n_days=60).sample(frac=1.0, random_state=0)  # unsorted input
    ordered = df.sort_values(KEYS + ["date"])
    h = 10
    naive = fcm.Naive(horizon=h).fit(df).predict()
    last = ordered.groupby("sku", observed=True)["units"].last().to_numpy()
    np.testing.assert_allclose(naive["forecast"], np.repeat(last, h))
    snaive = fcm.SeasonalNaive(season=7, horizon=h).fit(df).predict()
    tails = ordered.groupby("sku", observed=True).tail(7)["units"].to_numpy().reshape(3, 7)
    np.testing.assert_allclose(snaive["forecast"], np.concatenate([np.resize(r, h) for r in tails]))
    ma = fcm.MovingAverage(window=28, horizon=h).fit(df).predict()
    means = ordered.groupby("sku", observed=True).tail(28).groupby("sku", observed=True)["units"].mean().to_numpy()
    np.testing.assert_allclose(ma["forecast"], np.repeat(means, h))
    assert naive["date"].min() == ordered["date"].max() + pd.Timedelta(days=1)


def _croston_reference(y, alpha, variant):
    size = interval = prob = None
    q = 1
    for v in y:
        if variant == "tsb":
            prob = float(v > 0) if prob is None else prob + alpha * (float(v > 0) - prob)
        if v > 0:
            if size is None:
                size, interval = v, q
            else:
                size += alpha * (v - size)
                interval += alpha * (q - interval)
            q = 1
        else:
            q += 1
    if variant == "tsb":
        return prob * size
    value = size / interval
    return value * (1 - alpha / 2) if variant == "sba" else value


@pytest.mark.parametrize("variant", ["classic", "sba", "tsb"])
def test_croston_matches_loop_reference(variant):
    rng = np.random.default_rng(4)
    frames = []
    for i in range(4):
        y = rng.poisson(3, 50) * (rng.random(50) < 0.3)
        y[0] = 0
        frames.append(pd.DataFrame({"sku": f"s{i}", "location": "web",
                                    "date": pd.date_range("2024-01-01", periods=50), "units": y.astype(float)}))
    df = pd.concat(frames, ignore_index=True)
    out = fcm.Croston(alpha=0.2, beta=0.2, variant=variant, horizon=2).fit(df).predict()
    expected = [_croston_reference(g["units"].to_numpy(), 0.2, variant) for _, g in df.groupby("sku")]
    np.testing.assert_allclose(out["forecast"].to_numpy()[::2], expected, rtol=1e-10)


def test_backtest_seasonal_naive_against_shift_and_sklearn():
    df = _panel(n_series=3, n_days=70)
    res = fcm.backtest(fcm.SeasonalNaive(season=7), df, n_windows=3, horizon=7, progress=False)
    fc = res.forecasts.merge(df, on=KEYS + ["date"])
    shifted = df.sort_values(KEYS + ["date"]).assign(
        prev=lambda d: d.groupby("sku", observed=True)["units"].shift(7))
    check = fc.merge(shifted[KEYS + ["date", "prev"]], on=KEYS + ["date"])
    np.testing.assert_allclose(check["forecast"], check["prev"])
    assert sorted(res.forecasts["window"].unique()) == [0, 1, 2]
    assert set(res.forecasts["step"]) == set(range(1, 8))
    w0 = fc[fc["window"] == 0]
    assert res.per_window.loc[0, "mae"] == pytest.approx(skm.mean_absolute_error(w0["units"], w0["forecast"]))
    assert res.overall["mae"] == pytest.approx(skm.mean_absolute_error(fc["units"], fc["forecast"]))


def test_conformal_interval_coverage_near_nominal():
    rng = np.random.default_rng(11)
    n_series, n_days = 40, 150
    frames = []
    for i in range(n_series):
        y = np.empty(n_days)
        y[0] = 50.0
        for t in range(1, n_days):
            y[t] = 50.0 + 0.5 * (y[t - 1] - 50.0) + rng.normal(scale=3.0)
        frames.append(pd.DataFrame({"sku": f"s{i}", "location": "web",
                                    "date": pd.date_range("2024-01-01", periods=n_days), "units": y}))
    df = pd.concat(frames, ignore_index=True)
    spec = FeatureSpec(lags=(1,), rolling={}, calendar=(), fourier=())
    fc = fcm.Forecaster(LinearRegression(), spec, horizon=7, calibration_windows=4)
    res = fcm.backtest(fc, df, n_windows=3, horizon=7, quantiles=[0.1, 0.5, 0.9], progress=False)
    f = res.forecasts
    inside = (f["actual"] >= f["q0.1"]) & (f["actual"] <= f["q0.9"])
    assert 0.72 <= inside.mean() <= 0.88
    assert res.overall["coverage"] == pytest.approx(inside.mean())
    assert (f["q0.1"] <= f["q0.9"]).all()


def test_stockout_days_are_left_out_of_the_loss():
    rng = np.random.default_rng(2)
    n = 120
    demand = 10 + rng.normal(scale=0.5, size=n)
    stockout = np.zeros(n, dtype=bool)
    stockout[40:60] = True
    stockout[100:110] = True
    df = pd.DataFrame({"sku": "a", "location": "web", "date": pd.date_range("2024-01-01", periods=n),
                       "units": np.where(stockout, 0.0, demand), "stockout": stockout})
    spec = FeatureSpec(lags=(28,), rolling={}, calendar=(), fourier=())
    excl = fcm.Forecaster(LinearRegression(), spec, horizon=3).fit(df)
    rep = excl.report_
    assert rep.rows_in == rep.rows_used + sum(rep.dropped.values())
    assert rep.dropped["stockout"] == int(stockout[28:].sum())
    incl = fcm.Forecaster(LinearRegression(), spec, horizon=3, stockouts="include").fit(df)
    assert incl.report_.dropped["stockout"] == 0
    ma_ex = fcm.MovingAverage(window=30, horizon=1).fit(df).predict()["forecast"].iloc[0]
    ma_in = fcm.MovingAverage(window=30, horizon=1, stockouts="include").fit(df).predict()["forecast"].iloc[0]
    assert ma_ex == pytest.approx(demand[90:][~stockout[90:]].mean())
    assert ma_in == pytest.approx(df["units"].iloc[90:].mean())


def test_bad_input_raises_data_validation_error():
    df = _panel(n_series=2, n_days=40)
    train, future = _split(df, 5)
    nan_df = train.copy()
    nan_df.loc[[3, 7], "units"] = np.nan
    with pytest.raises(DataValidationError, match=r"'units'.*missing values \(NaN\).*2 offending rows"):
        fcm.Forecaster(LinearRegression(), SPEC).fit(nan_df)
    with pytest.raises(DataValidationError, match="'horizon'"):
        fcm.Forecaster(LinearRegression(), SPEC, horizon=0).fit(train)
    fc = fcm.Forecaster(LinearRegression(), SPEC, horizon=5).fit(train)
    with pytest.raises(DataValidationError, match="'h'"):
        fc.predict(0, future_df=future)
    with pytest.raises(DataValidationError, match="'promo'.*missing"):
        fc.predict(future_df=future.drop(columns="promo"))
    with pytest.raises(DataValidationError, match="'promo'.*lacks values.*1 offending rows"):
        fc.predict(future_df=future.drop(index=future.index[-1]))
    with pytest.raises(DataValidationError, match="'promo'.*future_df is required"):
        fc.predict()
    short = pd.concat([train, train[train.sku == "S0"].head(4).assign(sku="tiny")], ignore_index=True)
    with pytest.raises(DataValidationError, match="'units'.*too short.*fallback"):
        fcm.Forecaster(LinearRegression(), SPEC, fallback=None).fit(short)
    with pytest.raises(DataValidationError, match="'date'.*duplicated"):
        fcm.Forecaster(LinearRegression(), SPEC).fit(pd.concat([train, train.head(2)]))
    with pytest.raises(DataValidationError, match="'price'.*missing"):
        fcm.Forecaster(LinearRegression(), SPEC).fit(train, future_exog=["price"])
    with pytest.raises(DataValidationError, match="'units'.*too short"):
        fcm.SeasonalNaive(season=7).fit(train.head(3))


def test_fallback_split_keeps_time_order_of_unsorted_input():
    """With short series present the long ones are re-laid out; rows given newest-first must still be
    ordered by time: OLS on lags 1..3 of a straight line continues it (30, 31), and the naive fallback
    repeats the short series' last value."""
    dates = pd.date_range("2024-01-01", periods=30)
    long = pd.DataFrame({"sku": "long", "location": "web", "date": dates, "units": np.arange(30.0)})
    tiny = pd.DataFrame({"sku": "tiny", "location": "web", "date": dates[-3:], "units": [5.0, 6.0, 7.0]})
    newest_first = pd.concat([long, tiny], ignore_index=True).iloc[::-1].reset_index(drop=True)
    spec = FeatureSpec(lags=(1, 2, 3), rolling={}, calendar=(), fourier=())
    fc = fcm.Forecaster(LinearRegression(), spec, horizon=2, fallback="naive", target_transform=None)
    out = fc.fit(newest_first).predict()
    assert fc.fallback_series_["sku"].tolist() == ["tiny"]
    np.testing.assert_allclose(out[out["sku"] == "long"]["forecast"], [30.0, 31.0], atol=1e-8)
    np.testing.assert_allclose(out[out["sku"] == "tiny"]["forecast"], [7.0, 7.0])
    assert fc.tail_["date"].tolist() == list(dates[-3:])


# --------------------------------------------------------------------------- Dask frames


def _dask_train(h=6, npartitions=4):
    dd = pytest.importorskip("dask.dataframe")
    df = _panel(n_series=4, n_days=80)
    df["stockout"] = np.random.default_rng(3).random(len(df)) < 0.05
    train, future = _split(df, h)
    # sorted by date: every series is spread over every input partition
    return train, future, dd.from_pandas(train.sort_values("date"), npartitions=npartitions)


@pytest.mark.parametrize("transform", [None, ["log1p", "scale", "diff"]])
def test_dask_fit_matches_in_memory_fit_and_forecasts(transform):
    train, future, ddf = _dask_train()
    assert ddf.npartitions >= 3
    mem = fcm.Forecaster(LinearRegression(), SPEC, horizon=6, target_transform=transform).fit(train)
    dk = fcm.Forecaster(LinearRegression(), SPEC, horizon=6, target_transform=transform).fit(ddf)
    np.testing.assert_allclose(dk.model_.coef_, mem.model_.coef_, rtol=1e-7)
    assert dk.report_ == mem.report_
    if transform is None:  # independent reference: OLS on the complete non-stock-out rows
        feats = build_features(train, SPEC).dropna(subset=SPEC.feature_names)
        feats = feats[~feats["stockout"]]
        ref = sklm.LinearRegression().fit(feats[SPEC.feature_names].astype(float), feats["units"])
        np.testing.assert_allclose(dk.model_.coef_, ref.coef_, rtol=1e-7)
        assert dk.report_.rows_used == len(feats)
    assert len(dk.tail_) == 4 * SPEC.lookback
    got, expected = dk.predict(future_df=future), mem.predict(future_df=future)
    pd.testing.assert_frame_equal(got, expected, check_dtype=False, rtol=1e-7)


def test_dask_fit_samples_rows_for_models_without_dask_support():
    train, future, ddf = _dask_train()
    # a sample at least as large as the training rows is all of them: same fit as in memory
    full = fcm.Forecaster(sklm.LinearRegression(), SPEC, horizon=6, dask_sample_rows=10_000).fit(ddf)
    mem = fcm.Forecaster(sklm.LinearRegression(), SPEC, horizon=6).fit(train)
    np.testing.assert_allclose(full.model_.coef_, mem.model_.coef_, rtol=1e-7)
    np.testing.assert_allclose(full.predict(future_df=future)["forecast"],
                               mem.predict(future_df=future)["forecast"], rtol=1e-7)
    small = fcm.Forecaster(sklm.HuberRegressor(), SPEC, horizon=6, dask_sample_rows=60).fit(ddf)
    out = small.predict(future_df=future)
    assert out.shape == (4 * 6, 4) and np.isfinite(out["forecast"]).all()
    assert out["sku"].astype(str).tolist() == sorted(future["sku"].astype(str).tolist())


def test_dask_fit_rejects_what_needs_memory_and_validates():
    train, _, ddf = _dask_train()
    with pytest.raises(DataValidationError, match="calibration_windows.*compute"):
        fcm.Forecaster(LinearRegression(), SPEC, calibration_windows=2).fit(ddf)
    with pytest.raises(DataValidationError, match="direct.*compute"):
        fcm.Forecaster(LinearRegression(), SPEC, strategy="direct").fit(ddf)
    bad = train.copy()
    bad.loc[[3, 200], "units"] = np.nan  # two series, likely two partitions after the shuffle by series
    dd = pytest.importorskip("dask.dataframe")
    with pytest.raises(DataValidationError, match=r"'units'.*missing values \(NaN\).*2 offending rows"):
        fcm.Forecaster(LinearRegression(), SPEC).fit(dd.from_pandas(bad, npartitions=3))
    dup = pd.concat([train, train.head(2)], ignore_index=True)
    # the in-memory fit and the Dask fit count the same offending rows (the extra copy of each row)
    with pytest.raises(DataValidationError, match="'date'.*duplicated.*2 offending rows"):
        fcm.Forecaster(LinearRegression(), SPEC).fit(dup)
    with pytest.raises(DataValidationError, match="'date'.*duplicated.*2 offending rows"):
        fcm.Forecaster(LinearRegression(), SPEC).fit(dd.from_pandas(dup, npartitions=3))
    with pytest.raises(DataValidationError, match="'price'.*missing"):
        fcm.Forecaster(LinearRegression(), SPEC).fit(ddf, future_exog=["price"])


# --------------------------------------------------------------------------- calendar frequencies


def _calendar_panel(freq, periods, n_series=3, seed=5, season=12):
    """Seasonal series on a calendar frequency: level + a pattern of ``season`` steps + small noise."""
    rng = np.random.default_rng(seed)
    dates = pd.date_range("2016-01-01", periods=periods, freq=freq)
    pattern = rng.uniform(0, 10, season)
    return pd.concat([pd.DataFrame({"sku": f"s{i}", "location": "web", "date": dates,
                                    "units": 50.0 + 10 * i + np.resize(pattern, periods)})
                      for i in range(n_series)], ignore_index=True)


@pytest.mark.parametrize("freq,season", [("MS", 12), ("ME", 12), ("W-SUN", 4), ("W-WED", 4), ("QS", 4)])
def test_forecast_dates_are_on_the_calendar(freq, season):
    df = _calendar_panel(freq, 40, season=season)
    h = 5
    for fc in (fcm.SeasonalNaive(season=season, horizon=h),
               fcm.Forecaster(LinearRegression(), FeatureSpec(lags=(season,), rolling={}, calendar=(), fourier=()),
                              horizon=h)):
        out = fc.fit(df).predict()
        assert fc.freq_ == pd.tseries.frequencies.to_offset(freq).freqstr  # inferred, not given
        last = df["date"].max()
        expected = pd.date_range(last, periods=h + 1, freq=freq)[1:]
        for _, g in out.groupby("sku"):
            assert list(g["date"]) == list(expected)
        # the value one season earlier, from pandas (the pattern repeats exactly)
        ordered = df.sort_values(["sku", "date"]).groupby("sku")["units"]
        tails = ordered.apply(lambda s: np.resize(s.to_numpy()[-season:], h))
        np.testing.assert_allclose(out["forecast"].to_numpy(), np.concatenate(tails.to_list()), rtol=1e-8)


def test_ms_is_a_month_start_never_a_millisecond():
    df = _calendar_panel("MS", 30)
    out = fcm.Naive(horizon=3, freq="MS").fit(df).predict()
    assert out["date"].dt.strftime("%Y-%m-%d").unique().tolist() == ["2018-07-01", "2018-08-01", "2018-09-01"]
    assert fcm.Naive(horizon=2, freq="M").fit(_calendar_panel("ME", 30)).freq_ == "ME"


@pytest.mark.parametrize("freq,season", [("MS", 12), ("W-SUN", 4)])
def test_backtest_matches_every_forecast_on_calendar_data(freq, season):
    df = _calendar_panel(freq, 60, season=season)
    h, windows = 6, 3
    res = fcm.backtest(fcm.SeasonalNaive(season=season, horizon=h), df, n_windows=windows, progress=False,
                       season=season)
    assert res.overall["n"] == 3 * h * windows
    assert (res.per_window["unmatched_forecasts"] == 0).all() and (res.per_window["unforecast_actuals"] == 0).all()
    ref = df.sort_values(["sku", "date"]).assign(prev=lambda d: d.groupby("sku")["units"].shift(season))
    check = res.forecasts.merge(ref, on=["sku", "location", "date"])
    np.testing.assert_allclose(check["forecast"], check["prev"])
    np.testing.assert_allclose(check["actual"], check["units"])
    assert res.overall["mae"] == pytest.approx(skm.mean_absolute_error(check["units"], check["prev"]))


def test_monthly_forecaster_with_intervals_in_a_backtest():
    df = _calendar_panel("MS", 72)
    df["units"] += np.random.default_rng(0).normal(scale=1.0, size=len(df))
    spec = FeatureSpec(lags=(1, 12), rolling={}, calendar=("month",), fourier=())
    fc = fcm.Forecaster(LinearRegression(), spec, horizon=6, calibration_windows=3)
    res = fcm.backtest(fc, df, n_windows=2, quantiles=[0.1, 0.9], progress=False, season=12)
    assert res.overall["n"] == 3 * 6 * 2
    assert (res.forecasts["q0.1"] <= res.forecasts["q0.9"]).all()
    assert res.forecasts["date"].dt.day.eq(1).all()


def test_irregular_series_are_refused_naming_the_time_column_and_series():
    df = _calendar_panel("MS", 30)
    gappy = df.drop(index=df.index[(df["sku"] == "s1") & (df["date"] == "2017-03-01")])
    with pytest.raises(DataValidationError, match=r"column 'date'.*not regular at freq 'MS'.*\('s1', 'web'\)"):
        fcm.Naive(horizon=2).fit(gappy)
    fc = fcm.Naive(horizon=2, irregular="allow").fit(gappy)  # the explicit opt-out
    assert fc.spacing_.missing_steps == 1
    mid_month = df.assign(date=df["date"] + pd.Timedelta(days=14))
    with pytest.raises(DataValidationError, match=r"column 'date'.*'MS'.*between steps"):
        fcm.Naive(horizon=2, freq="MS").fit(mid_month)


def test_dask_fit_on_monthly_data_matches_in_memory():
    dd = pytest.importorskip("dask.dataframe")
    df = _calendar_panel("MS", 48, n_series=4)
    spec = FeatureSpec(lags=(1, 12), rolling={3: ("mean",)}, calendar=("month",), fourier=())
    mem = fcm.Forecaster(LinearRegression(), spec, horizon=4).fit(df)
    dk = fcm.Forecaster(LinearRegression(), spec, horizon=4).fit(dd.from_pandas(df.sort_values("date"),
                                                                                npartitions=3))
    assert dk.freq_ == mem.freq_ == "MS"
    pd.testing.assert_frame_equal(dk.predict(), mem.predict(), check_dtype=False, rtol=1e-7)
