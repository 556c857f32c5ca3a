"""Edge cases of toolkit.forecast.backtest (issue 19): the MASE scale when the history holds
stock-outs, the season it uses, and stock-out actuals in the scored window -- against plain loops
over the data and hand-computed values."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn import metrics as skm
from sklearn.base import BaseEstimator

from toolkit import forecast as fcm
from toolkit.errors import DataValidationError

PATTERN = np.array([0.0, 2.0, 4.0, 1.0, 3.0, 5.0, 6.0])


def _series(n_days=35, stockouts=(2, 10, 23)):
    days = np.arange(n_days)
    units = 10.0 + np.tile(PATTERN, n_days // 7 + 1)[:n_days] + 0.5 * (days % 3) + 0.25 * (days // 7)
    stockout = np.isin(days, stockouts)
    return pd.DataFrame({"sku": "a", "location": "web", "date": pd.date_range("2024-01-01", periods=n_days),
                         "units": np.where(stockout, 0.0, units), "stockout": stockout})


def _scale(units, season, missing=()):
    """Mean |y[t] - y[t - season]| over the pairs where neither day is missing (a plain loop)."""
    gaps = [abs(units[t] - units[t - season]) for t in range(season, len(units))
            if t not in missing and t - season not in missing]
    return sum(gaps) / len(gaps)


def test_mase_scale_leaves_out_stockout_days_of_each_windows_history():
    df = _series()
    res = fcm.backtest(fcm.Naive(horizon=7), df, n_windows=2, horizon=7, progress=False, season=7)
    units = df["units"].to_numpy()
    for window, n_train in ((0, 21), (1, 28)):
        out = res.forecasts[res.forecasts["window"] == window]
        scored = out.dropna(subset=["actual"])
        mae = skm.mean_absolute_error(scored["actual"], scored["forecast"])
        missing = {d for d in (2, 10, 23) if d < n_train}
        scale = _scale(units[:n_train], 7, missing)
        row = res.per_series[res.per_series["window"] == window].iloc[0]
        assert row["mase"] == pytest.approx(mae / scale)
    # window 0: days 0..20, stock-outs on days 2 and 10 take out the pairs (9, 2), (10, 3) and (17, 10)
    assert len([t for t in range(7, 21) if t not in (9, 10, 17)]) == 11
    assert _scale(units[:21], 7, {2, 10}) != pytest.approx(_scale(units[:21], 7))  # the case tells them apart
    assert res.overall["mase"] == pytest.approx(res.per_series["mase"].mean())


def test_mase_scale_on_a_gappy_history_pairs_days_a_season_apart():
    """Days 5 and 12 missing from the panel (irregular="allow"): the scale pairs days 7 apart in time, as the
    plain loop does with the absent days as missing, not rows 7 apart."""
    df = _series(stockouts=())
    gappy = df.drop(index=[5, 12]).reset_index(drop=True)
    res = fcm.backtest(fcm.Naive(horizon=7, irregular="allow"), gappy, n_windows=2, horizon=7, progress=False,
                       season=7)
    units = df["units"].to_numpy()
    for window, n_train in ((0, 21), (1, 28)):
        scored = res.forecasts[res.forecasts["window"] == window].dropna(subset=["actual"])
        mae = skm.mean_absolute_error(scored["actual"], scored["forecast"])
        row = res.per_series[res.per_series["window"] == window].iloc[0]
        assert row["mase"] == pytest.approx(mae / _scale(units[:n_train], 7, {5, 12}), rel=1e-12)
    history = gappy[gappy["date"] < pd.Timestamp("2024-01-22")]
    by_rows = history["units"].diff(7).abs().mean()
    assert by_rows != pytest.approx(_scale(units[:21], 7, {5, 12}))  # rows 7 apart would give another scale


def test_stockout_actual_in_the_window_is_not_scored_when_excluded():
    df = _series()
    res = fcm.backtest(fcm.Naive(horizon=7), df, n_windows=2, horizon=7, progress=False, season=7)
    day23 = res.forecasts[res.forecasts["date"] == pd.Timestamp("2024-01-24")]
    assert day23["actual"].isna().all()
    assert res.per_window.loc[0, "n"] == 6 and res.per_window.loc[1, "n"] == 7
    assert res.overall["n"] == 13


def test_included_stockouts_keep_their_zeros_in_the_scale_and_the_loss():
    df = _series()
    res = fcm.backtest(fcm.Naive(horizon=7, stockouts="include"), df, n_windows=2, horizon=7, progress=False,
                       season=7)
    units = df["units"].to_numpy()
    out = res.forecasts[res.forecasts["window"] == 0]
    assert out["actual"].notna().all() and res.overall["n"] == 14
    mae = skm.mean_absolute_error(out["actual"], out["forecast"])
    row = res.per_series[res.per_series["window"] == 0].iloc[0]
    assert row["mase"] == pytest.approx(mae / _scale(units[:21], 7))


def test_mase_default_season_of_daily_data_is_a_week():
    df = _series(stockouts=())
    res = fcm.backtest(fcm.Naive(horizon=7), df, n_windows=1, horizon=7, progress=False)
    units = df["units"].to_numpy()
    out = res.forecasts
    mae = skm.mean_absolute_error(out["actual"], out["forecast"])
    assert res.per_series["mase"].iloc[0] == pytest.approx(mae / _scale(units[:28], 7))
    assert _scale(units[:28], 7) != pytest.approx(_scale(units[:28], 1))


def test_flat_history_gives_nan_mase_and_the_overall_mean_skips_it():
    flat = _series(stockouts=()).assign(units=5.0)
    moving = _series(stockouts=()).assign(sku="b")
    df = pd.concat([flat, moving], ignore_index=True)
    res = fcm.backtest(fcm.Naive(horizon=7), df, n_windows=1, horizon=7, progress=False, season=7)
    per = res.per_series.set_index("sku")["mase"]
    assert np.isnan(per["a"])
    assert np.isfinite(per["b"])
    assert res.overall["mase"] == pytest.approx(per["b"])


def test_explicit_seasons_other_than_a_week_set_the_scale_lag():
    df = _series(stockouts=())
    units = df["units"].to_numpy()
    for season in (1, 3):
        res = fcm.backtest(fcm.Naive(horizon=7), df, n_windows=1, horizon=7, progress=False, season=season)
        out = res.forecasts
        mae = skm.mean_absolute_error(out["actual"], out["forecast"])
        assert res.per_series["mase"].iloc[0] == pytest.approx(mae / _scale(units[:28], season))
    assert _scale(units[:28], 3) != pytest.approx(_scale(units[:28], 7))


def test_columns_of_any_name_are_scored_like_the_defaults():
    df = _series()
    renamed = df.rename(columns={"sku": "item", "location": "store", "date": "day", "units": "sales", "stockout": "oos"})
    kwargs = {"n_windows": 2, "horizon": 7, "progress": False, "season": 7}
    ref = fcm.backtest(fcm.Naive(horizon=7), df, **kwargs)
    got = fcm.backtest(fcm.Naive(horizon=7), renamed, id_cols=["item", "store"], time_col="day", target_col="sales",
                       stockout_col="oos", **kwargs)
    np.testing.assert_allclose(got.per_series["mase"], ref.per_series["mase"])
    np.testing.assert_allclose(got.forecasts["actual"], ref.forecasts["actual"])  # NaN on the stock-out day too
    assert got.overall.to_dict() == pytest.approx(ref.overall.to_dict(), nan_ok=True)


def test_two_quantiles_give_coverage_of_the_interval_they_bound():
    rng = np.random.default_rng(4)
    df = _series(n_days=70, stockouts=()).assign(units=lambda d: d["units"] + rng.normal(scale=2.0, size=len(d)))
    res = fcm.backtest(fcm.Naive(horizon=7, calibration_windows=3), df, n_windows=2, horizon=7, progress=False,
                       quantiles=[0.1, 0.9], metrics=("mae",))
    f = res.forecasts
    inside = (f["actual"] >= f["q0.1"]) & (f["actual"] <= f["q0.9"])
    assert 0 < inside.mean() < 1  # the case tells a real coverage from 0 or 1
    assert res.overall["coverage"] == pytest.approx(inside.mean())
    for window in (0, 1):
        assert res.per_window.loc[window, "coverage"] == pytest.approx(inside[f["window"] == window].mean())


def test_result_tables_have_the_documented_columns_and_fresh_indexes():
    df = pd.concat([_series(), _series().assign(sku="b")], ignore_index=True)
    res = fcm.backtest(fcm.Naive(horizon=7), df, n_windows=2, horizon=7, progress=False, metrics=("mae", "mase"))
    assert sorted(res.forecasts.columns) == sorted(["sku", "location", "date", "window", "cutoff", "step", "forecast",
                                                    "actual"])
    assert res.forecasts.index.equals(pd.RangeIndex(len(res.forecasts)))
    assert res.per_series.index.equals(pd.RangeIndex(4))  # 2 series x 2 windows
    assert res.per_window.index.name == "window" and res.per_window.index.tolist() == [0, 1]
    assert sorted(res.overall.index) == ["mae", "mase", "n"]
    assert res.forecasts.groupby("window")["cutoff"].first().tolist() == [pd.Timestamp("2024-01-21"),
                                                                          pd.Timestamp("2024-01-28")]


class _RecordingNaive(fcm.Naive):
    """Naive that records what each window's fit was given."""

    calls: list = []

    def fit(self, df, **kwargs):
        _RecordingNaive.calls.append((len(df), kwargs.get("future_exog"), kwargs.get("stockout_col")))
        return super().fit(df, **kwargs)


def test_fit_kwargs_and_the_window_history_reach_every_fit():
    _RecordingNaive.calls = []
    fcm.backtest(_RecordingNaive(horizon=7), _series(), n_windows=2, horizon=7, progress=False,
                 fit_kwargs={"future_exog": ["promo"]})
    assert _RecordingNaive.calls == [(21, ["promo"], "stockout"), (28, ["promo"], "stockout")]


def test_defaults_four_windows_of_the_daily_horizon_with_a_progress_bar():
    df = _series(n_days=150, stockouts=())
    res = fcm.backtest(fcm.Naive(), df, season=7)  # no horizon anywhere: 28 days for daily data
    assert res.per_window.index.tolist() == [0, 1, 2, 3]
    assert (res.per_window["n"] == 28).all()
    assert res.forecasts["step"].max() == 28


def test_forecasts_off_the_calendar_are_refused_with_what_to_check():
    dates = pd.date_range("2023-01-01", periods=30, freq="MS")
    monthly = pd.concat([pd.DataFrame({"sku": f"s{i}", "location": "web", "date": dates, "units": float(i + 1)})
                         for i in range(3)], ignore_index=True)
    with pytest.raises(DataValidationError) as err:
        fcm.backtest(fcm.Naive(horizon=4, freq="D", irregular="allow"), monthly, n_windows=2, progress=False)
    # window 0 trains up to 2024-10-01 and forecasts its next 4 days; its actuals are the next 4 months (3 shown)
    assert str(err.value) == (
        "column 'date': forecasts do not line up with the actuals of backtest window 0: series with rows in the "
        "window got no forecast on any of their dates (forecast dates e.g. ['2024-10-02 00:00', '2024-10-03 00:00', "
        "'2024-10-04 00:00'] at freq 'D', actual dates e.g. ['2024-11-01 00:00', '2024-12-01 00:00', "
        "'2025-01-01 00:00']); check freq and the spacing of the data (3 offending rows; e.g. [('s0', 'web'), "
        "('s1', 'web'), ('s2', 'web')])")


def test_what_is_not_a_forecaster_or_an_in_memory_frame_is_refused():
    with pytest.raises(DataValidationError, match=r"^parameter 'forecaster': expected a Forecaster or a baseline "
                                                  r"\(fit, predict, get_params\)"):
        fcm.backtest("naive", _series(), progress=False)
    dd = pytest.importorskip("dask.dataframe")
    with pytest.raises(DataValidationError, match=r"^parameter 'df'.*call \.compute\(\) first"):
        fcm.backtest(fcm.Naive(horizon=7), dd.from_pandas(_series(), npartitions=2), progress=False)
    with pytest.raises(DataValidationError, match=r"^parameter 'fit_kwargs': expected a dict of fit arguments"):
        fcm.backtest(fcm.Naive(horizon=7), _series(), progress=False, fit_kwargs=[1])
    with pytest.raises(DataValidationError, match=r"^parameter 'season'"):
        fcm.backtest(fcm.Naive(horizon=7), _series(), progress=False, season=0)
    with pytest.raises(DataValidationError, match=r"^parameter 'horizon'"):
        fcm.backtest(fcm.Naive(horizon=7), _series(), progress=False, horizon=0)


class _DailyWithoutFreq(BaseEstimator):
    """A user's forecaster that keeps no ``freq_``: daily Naive forecasts, whatever the data's calendar."""

    def __init__(self, horizon=4):
        self.horizon = horizon

    def fit(self, df, **kwargs):
        kwargs.pop("stockout_col", None)
        self.model_ = fcm.Naive(horizon=self.horizon, freq="D", irregular="allow").fit(df, **kwargs)
        return self

    def predict(self, h, **kwargs):
        return self.model_.predict(h)


def test_a_forecaster_without_a_calendar_is_named_as_such_when_forecasts_miss_the_actuals():
    dates = pd.date_range("2023-01-01", periods=30, freq="MS")
    monthly = pd.DataFrame({"sku": "s0", "location": "web", "date": dates, "units": 1.0})
    with pytest.raises(DataValidationError, match=r"at freq '\?', actual dates e\.g\. \['2024-11-01 00:00'"):
        fcm.backtest(_DailyWithoutFreq(), monthly, n_windows=2, progress=False)
