"""Edge cases of toolkit.forecast.backtest (issue 19): the MASE scale when the history holds
stock-outs, the season it uses, and stock-out actuals in the scored window -- against plain loops
over the data and hand-computed values."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn import metrics as skm

from toolkit import forecast as fcm

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
