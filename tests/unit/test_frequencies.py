"""Every forecaster at every calendar frequency: dates on the calendar, defaults from the frequency,
backtests that line up, intervals, transforms; checked against pandas' own calendar and plain numpy."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from toolkit import forecast as fcm
from toolkit.features import FeatureSpec, build_features
from toolkit.forecast.frequency import default_horizon
from toolkit.panel import SeriesLayout, season_length
from toolkit.regress import LinearRegression

FREQS = ["D", "B", "W-SUN", "W-WED", "MS", "ME", "QS", "QE", "YS", "h"]
STARTS = {"YS": "1990-01-01", "h": "2024-01-01 00:00"}


def _panel(freq: str, n: int, n_series: int = 3, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    dates = pd.date_range(STARTS.get(freq, "2015-01-01"), periods=n, freq=freq)
    m = season_length(freq)
    parts = []
    for i in range(n_series):
        wave = 1 + 0.3 * np.sin(2 * np.pi * np.arange(n) / max(m, 2))
        parts.append(pd.DataFrame({"sku": f"s{i}", "location": "web", "date": dates,
                                   "units": (50 + 10 * i + 0.2 * np.arange(n)) * wave + rng.normal(0, 1, n)}))
    return pd.concat(parts, ignore_index=True)


def _length(freq: str) -> int:
    return {"YS": 30, "W-SUN": 150, "W-WED": 150, "h": 24 * 12}.get(freq, 80)


@pytest.mark.parametrize("freq", FREQS)
def test_every_forecaster_dates_forecasts_on_the_calendar(freq):
    df = _panel(freq, _length(freq))
    expected = pd.date_range(df["date"].max(), periods=4, freq=freq)[1:]
    spec = FeatureSpec.for_freq(freq)
    for fc in (fcm.Naive(horizon=3), fcm.SeasonalNaive(horizon=3), fcm.MovingAverage(horizon=3),
               fcm.ETS(horizon=3), fcm.Theta(horizon=3),
               fcm.Forecaster(LinearRegression(), spec=spec, horizon=3)):
        out = fc.fit(df).predict()
        assert fc.freq_ == pd.tseries.frequencies.to_offset(freq).freqstr
        assert out.groupby("sku")["date"].apply(list).map(lambda d: d == list(expected)).all(), type(fc).__name__
        assert np.isfinite(out["forecast"]).all()


@pytest.mark.parametrize("freq", FREQS)
def test_defaults_follow_the_frequency(freq):
    df = _panel(freq, _length(freq))
    fc = fcm.Forecaster(LinearRegression()).fit(df)
    assert fc.horizon_ == default_horizon(freq) == len(fc.predict()) // 3
    assert fc.spec_ == FeatureSpec.for_freq(freq)
    snaive = fcm.SeasonalNaive().fit(df)
    assert snaive.state_.shape[1] == season_length(freq)
    expected = {"MS": ("log1p", "scale", "sdiff"), "ME": ("log1p", "scale", "sdiff"),
                "QS": ("log1p", "scale", "sdiff"), "QE": ("log1p", "scale", "sdiff"), "YS": ("log1p", "scale", "diff")}
    assert fc.transforms_.names == expected.get(freq, ())


@pytest.mark.parametrize("freq", ["B", "W-SUN", "MS", "QE", "h"])
def test_backtest_lines_up_and_scores_with_the_frequency_season(freq):
    df = _panel(freq, _length(freq))
    res = fcm.backtest(fcm.SeasonalNaive(horizon=4), df, n_windows=2, progress=False, metrics=("mae", "mase"))
    f = res.forecasts
    assert f["actual"].notna().all() and len(f) == 2 * 4 * 3
    ref = f.merge(df, on=["sku", "location", "date"])
    np.testing.assert_allclose(ref["actual"], ref["units"])
    # MASE scaled by the seasonal naive error at the frequency's season, on each window's history
    m = season_length(freq)
    first = res.per_series[res.per_series["window"] == 0].set_index("sku")["mase"]
    cutoff = f.loc[f["window"] == 0, "cutoff"].iloc[0]
    for sku, value in first.items():
        hist = df[(df["sku"] == sku) & (df["date"] <= cutoff)]["units"].to_numpy()
        part = f[(f["window"] == 0) & (f["sku"] == sku)]
        mae = np.mean(np.abs(part["actual"] - part["forecast"]))
        assert value == pytest.approx(mae / np.mean(np.abs(hist[m:] - hist[:-m])))
    default = fcm.backtest(fcm.Naive(), df, n_windows=1, progress=False)
    assert default.forecasts["step"].max() == default_horizon(freq)


@pytest.mark.parametrize("freq", ["MS", "W-SUN", "QS"])
def test_intervals_are_calibrated_at_any_frequency(freq):
    df = _panel(freq, _length(freq), n_series=4)
    fc = fcm.ETS(horizon=3, calibration_windows=2).fit(df)
    out = fc.predict(quantiles=[0.1, 0.9])
    assert sorted(fc.residuals_) == [1, 2, 3] and (out["q0.1"] <= out["q0.9"]).all()
    step = out.groupby("sku").cumcount() + 1
    scale = np.repeat(fc.scale_, 3)
    for q in (0.1, 0.9):  # forecast + series scale x the step's residual quantile, from the backtest
        offset = step.map({k: np.quantile(v, q) for k, v in fc.residuals_.items()}).to_numpy()
        np.testing.assert_allclose(out[f"q{q:g}"], np.maximum(out["forecast"] + scale * offset, 0.0))
    # the residuals are those of a 2-window backtest at the frequency (every forecast scored)
    res = fcm.backtest(fcm.ETS(horizon=3, freq=freq), df, n_windows=2, horizon=3, progress=False)
    assert sum(len(v) for v in fc.residuals_.values()) == int(res.overall["n"]) == 2 * 3 * 4


def test_fourier_and_hour_terms_describe_the_time_of_day():
    df = _panel("h", 48, n_series=1)
    spec = FeatureSpec.for_freq("h", lags=(1,), rolling={})
    feats = build_features(df, spec)
    hours = df["date"].dt.hour.to_numpy()
    np.testing.assert_array_equal(feats["hour"], hours)
    t = (df["date"] - pd.Timestamp("1970-01-01")) / pd.Timedelta(days=1)
    np.testing.assert_allclose(feats["fourier_sin_1_1"], np.sin(2 * np.pi * t), atol=1e-9)
    assert len(feats[["fourier_sin_1_1", "fourier_cos_1_1"]].round(9).drop_duplicates()) == 24  # a daily cycle


def test_for_freq_keeps_the_daily_default_and_takes_fields():
    assert FeatureSpec.for_freq("D") == FeatureSpec()
    spec = FeatureSpec.for_freq("QE", exog=("price",), target_col="sales")
    assert spec.calendar == ("quarter",) and spec.exog == ("price",) and spec.target_col == "sales"
    with pytest.raises(Exception, match="'freq'"):
        FeatureSpec.for_freq("fortnightly")


def test_baselines_take_columns_from_the_spec():
    df = _panel("MS", 30).rename(columns={"sku": "store", "units": "sales", "date": "period"}).drop(columns="location")
    spec = FeatureSpec.for_freq("MS", id_cols=("store",), target_col="sales", time_col="period")
    for fc in (fcm.Naive(spec=spec), fcm.ETS(spec=spec), fcm.Forecaster(LinearRegression(), spec=spec)):
        out = fc.fit(df).predict(2)
        assert list(out.columns[:2]) == ["store", "period"]
    res = fcm.backtest(fcm.Naive(spec=spec, horizon=2), df, n_windows=1, progress=False)
    assert res.overall["n"] == 6


@pytest.mark.parametrize("names", [["boxcox"], ["boxcox", "sdiff"], ["log1p", "scale", "sdiff", "diff"],
                                   ["sdiff"], ["boxcox", "scale", "diff"]])
def test_new_transforms_invert_exactly(names):
    """inverse(transformed true future) is the true future: per series, plain numpy (scipy's Box-Cox)."""
    from scipy.special import boxcox as sp_boxcox

    rng = np.random.default_rng(1)
    m = 4
    series = [rng.uniform(5, 50, n) for n in (9, 13, 20)]
    futures = [rng.uniform(5, 50, 6) for _ in series]
    chain = fcm.TargetTransforms(names, season=m)
    layout = SeriesLayout.from_codes(np.repeat(np.arange(3), [len(s) for s in series]))
    chain.forward(np.concatenate(series), layout)
    paths = []
    for i, (hist, fut) in enumerate(zip(series, futures)):
        if "boxcox" in names:
            lam = chain.state["boxcox_lambda"][i]
            hist, fut = sp_boxcox(hist, lam), sp_boxcox(fut, lam)
        if "log1p" in names:
            hist, fut = np.log1p(hist), np.log1p(fut)
        if "scale" in names:
            level = np.mean(np.abs(hist))
            hist, fut = hist / level, fut / level
        if "sdiff" in names:
            full = np.concatenate([hist, fut])
            d = full[m:] - full[:-m]
            hist, fut = d[: len(hist) - m], d[len(hist) - m:]
        if "diff" in names:
            fut = np.diff(np.concatenate([hist[-1:], fut]))
        paths.append(fut)
    np.testing.assert_allclose(chain.inverse(np.column_stack(paths)), np.column_stack(futures), rtol=1e-8)


def test_short_series_fall_back_to_a_local_model_and_are_reported():
    """Issue 13: 24 lags with the direct strategy failed the whole fit when some series were short."""
    df = _panel("MS", 60)
    short = _panel("MS", 20, n_series=1, seed=3).assign(sku="tiny")
    df = pd.concat([df, short], ignore_index=True)
    spec = FeatureSpec.for_freq("MS", lags=tuple(range(1, 25)))
    fc = fcm.Forecaster(LinearRegression(), spec=spec, strategy="direct", horizon=3, target_transform=None)
    out = fc.fit(df).predict()
    assert fc.report_.fallback["short_series"] == 1 and fc.fallback_series_["sku"].tolist() == ["tiny"]
    assert fc.report_.rows_in == len(df) == fc.report_.rows_used + sum(fc.report_.dropped.values())
    tiny = out[out["sku"] == "tiny"]["forecast"].to_numpy()
    np.testing.assert_allclose(tiny, fcm.ETS(horizon=3).fit(short).predict()["forecast"].to_numpy())
    assert len(out) == 4 * 3 and np.isfinite(out["forecast"]).all()
    calibrated = fcm.Forecaster(LinearRegression(), spec=FeatureSpec.for_freq("MS"), horizon=2,
                                calibration_windows=1).fit(df)
    assert np.isfinite(calibrated.predict(quantiles=[0.1, 0.9])["q0.9"]).all()
