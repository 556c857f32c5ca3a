"""Rolling-origin backtests: refit on growing history, forecast each window, score against actuals.

Design choices (where the issue is silent):

* Windows are cut on distinct time stamps (:func:`toolkit.regress.time_series_splits`), so
  every series of a panel is cut at the same dates, whatever the frequency.
* Forecasts are matched to actual rows on (keys, time). A series that has actual rows in a
  window but none of whose forecast dates matches one means the time axis is wrong (a
  frequency that does not fit the data, forecasts dated off the calendar): the backtest
  raises a :class:`~toolkit.errors.DataValidationError` naming the time column and a few
  such series instead of scoring nothing. Partial mismatches (a series that ended before the
  window, or a new series with no training history) are counted per window in
  ``per_window["unmatched_forecasts"]`` and ``per_window["unforecast_actuals"]``.
* ``step`` is the forecast's position in its series' forecast path (1 = first step ahead).
* Stock-out rows count as missing actuals when the forecaster excludes them.

Examples
--------
>>> import numpy as np, pandas as pd
>>> from toolkit.forecast import SeasonalNaive, backtest
>>> df = pd.DataFrame({"sku": "a", "location": "web", "date": pd.date_range("2020-01-01", periods=36, freq="MS"),
...                    "units": np.tile(np.arange(12.0), 3)})
>>> res = backtest(SeasonalNaive(season=12, horizon=6), df, n_windows=2, progress=False)
>>> int(res.overall["n"]), float(res.overall["mae"])
(12, 0.0)
"""

from __future__ import annotations

from collections import namedtuple
from typing import Any, Sequence

import pandas as pd
from sklearn.base import clone

from toolkit import backend
from toolkit.errors import DataValidationError
from toolkit.forecast.frequency import default_horizon, default_season
from toolkit.forecast.intervals import check_quantiles
from toolkit.panel import (DEFAULT_ID_COLS, DEFAULT_TARGET_COL, DEFAULT_TIME_COL, SeriesLayout, checks, frames,
                           infer_freq, to_offset)
from toolkit.regress import evaluate, time_series_splits

__all__ = ["BacktestResult", "backtest"]

BacktestResult = namedtuple("BacktestResult", ["forecasts", "per_series", "per_window", "overall"])


def _columns(forecaster: Any, id_cols: Any, time_col: str | None, target_col: str | None) -> tuple:
    resolve = getattr(forecaster, "resolve_columns", None)
    if resolve is not None:
        return resolve(id_cols, time_col, target_col)
    keys = checks.as_list(id_cols) if id_cols is not None else list(DEFAULT_ID_COLS)
    return keys, time_col or DEFAULT_TIME_COL, target_col or DEFAULT_TARGET_COL


def _steps(pred: Any, keys: list[str], time_col: str) -> Any:
    """Position of every forecast in its series' path, 1-based, in ``pred``'s row order."""
    layout = SeriesLayout.from_frame(pred, keys, time_col)
    return layout.scatter(layout.position + 1)


def _match(pred: Any, valid_df: Any, fc: Any, keys: list[str], time_col: str, target_col: str,
           window: int) -> tuple[Any, int, int]:
    """Forecasts with their actuals (NaN when missing or a stock-out); counts of unmatched rows.

    Raises when a series has actuals in the window and none of its forecasts meets one.
    """
    stock_col = getattr(fc, "stockout_col_", None)
    actual_cols = [*keys, time_col, target_col] + ([stock_col] if stock_col else [])
    right = valid_df[actual_cols]
    right = frames.assign(right, {"_has_actual": frames.namespace(right).ones(len(right))})
    merged = pred.merge(right, on=[*keys, time_col], how="left")
    xp = frames.namespace(merged)
    has_actual = ~frames.isna(merged, "_has_actual")
    n_matched = int(xp.sum(has_actual))
    actual = frames.values(merged, target_col)
    if stock_col and getattr(fc, "stockouts", "exclude") == "exclude":
        actual = xp.where(frames.values(merged, stock_col) > 0, float("nan"), actual)
    seen = merged[keys].assign(_matched=has_actual).groupby(keys, observed=True, sort=True)["_matched"].max()
    with_actuals = valid_df[keys].drop_duplicates()
    table = seen.reset_index().merge(with_actuals, on=keys, how="inner")
    lost = table[~table["_matched"].astype(bool)]
    if len(lost):
        shown_fc = backend.to_host(pred[time_col]).head(3).dt.strftime("%Y-%m-%d %H:%M").tolist()
        shown_act = backend.to_host(valid_df[time_col]).drop_duplicates().sort_values().head(3)
        checks.fail(time_col, f"forecasts do not line up with the actuals of backtest window {window}: series with "
                              f"rows in the window got no forecast on any of their dates (forecast dates e.g. "
                              f"{shown_fc} at freq {getattr(fc, 'freq_', '?')!r}, actual dates e.g. "
                              f"{shown_act.dt.strftime('%Y-%m-%d %H:%M').tolist()}); check freq and the spacing "
                              "of the data", len(lost),
                    [tuple(r) for r in backend.to_host(lost[keys]).head(checks.KEYS_SHOWN).itertuples(index=False)])
    merged = merged.drop(columns=[c for c in (target_col, stock_col, "_has_actual") if c and c in merged.columns])
    merged = frames.assign(merged, {"actual": actual})
    return merged, len(pred) - n_matched, len(valid_df) - n_matched


def backtest(
    forecaster: Any,
    df: Any,
    n_windows: int = 4,
    horizon: int | None = None,
    step: int | None = None,
    quantiles: Sequence[float] | None = None,
    id_cols: Any = None,
    time_col: str | None = None,
    target_col: str | None = None,
    stockout_col: str | None = "stockout",
    metrics: Sequence[str] = ("mae", "rmse", "wape", "bias", "mase"),
    season: int | None = None,
    progress: bool = True,
    fit_kwargs: dict | None = None,
) -> BacktestResult:
    """Refit on growing history and forecast ``horizon`` steps, window after window.

    Window ``i`` trains on every row before its first date and forecasts its ``horizon``
    dates; ``future_df`` is the window's own rows (exogenous columns; the actuals in it are
    ignored by the forecasters). Windows are placed as in
    :func:`toolkit.regress.time_series_splits`.

    Parameters
    ----------
    forecaster : Forecaster or baseline (cloned per window)
    df : pandas or cuDF DataFrame
    n_windows, horizon, step : int
        ``horizon`` defaults to the forecaster's, else to the frequency's
        (:func:`~toolkit.forecast.frequency.default_horizon` of the forecaster's ``freq`` or of
        the one inferred from ``df``); ``step`` to ``horizon`` (in time stamps).
    quantiles : list of float, optional
        Also forecast conformal quantiles (the forecaster needs ``calibration_windows``).
    id_cols, time_col, target_col : optional
        Default to the forecaster's (its spec's), else the toolkit's defaults.
    stockout_col : str, optional
        Stock-out rows count as missing actuals when the forecaster excludes them.
    metrics : names for :func:`toolkit.regress.evaluate` (``mase`` scaled on each window's history,
        on the fitted forecaster's calendar ``freq_``: values a season apart in time)
    season : int, optional
        Seasonal lag of MASE's scaling (default: the frequency's season length, 7 for daily
        data, 12 monthly, 4 quarterly, 52 weekly).
    progress : bool
        Show a progress bar over windows.
    fit_kwargs : dict, optional
        Extra keyword arguments of every window's ``fit`` (e.g. ``future_exog``).

    Returns
    -------
    BacktestResult
        ``forecasts`` (keys, time, ``window``, ``cutoff``, ``step``, ``forecast``, ``actual``,
        quantile columns), ``per_series`` (metrics per window and series), ``per_window``
        (pooled metrics per window, with the unmatched counts) and ``overall`` (pooled over
        windows; MASE averaged).

    Raises
    ------
    DataValidationError
        Bad frame or parameters, or forecasts that do not line up with the actuals (see the
        module docstring).
    """
    for method in ("fit", "predict", "get_params"):
        if not hasattr(forecaster, method):
            raise DataValidationError.for_parameter("forecaster", "expected a Forecaster or a baseline "
                                                                  "(fit, predict, get_params)", forecaster)
    checks.check_frame(df, dask=False)
    keys, time_col, target_col = _columns(forecaster, id_cols, time_col, target_col)
    if horizon is None:
        horizon = getattr(forecaster, "horizon", None)
    if horizon is not None:
        horizon = checks.check_int("horizon", horizon, minimum=1)
    if season is not None:
        season = checks.check_int("season", season, minimum=1)
    quantiles = check_quantiles(quantiles)
    if fit_kwargs is not None and not isinstance(fit_kwargs, dict):
        raise DataValidationError.for_parameter("fit_kwargs", "expected a dict of fit arguments", fit_kwargs)
    checks.require_columns(df, [*keys, time_col, target_col], "by backtest")
    checks.require_datetime(df, time_col)
    if horizon is None or season is None:  # from the frequency: the forecaster's, else the data's
        given = getattr(forecaster, "freq", None)
        freq = to_offset(given) if given is not None else to_offset(infer_freq(df, keys, time_col))
        horizon = horizon if horizon is not None else default_horizon(freq)
        season = season if season is not None else default_season(freq)
    splits = time_series_splits(df, time_col, n_windows, horizon, step)
    windows = list(enumerate(splits))
    if progress:
        try:
            from tqdm.auto import tqdm

            windows = tqdm(windows, desc="backtest", leave=False)
        except ImportError:  # progress bars are optional
            pass
    forecasts, per_series, per_window = [], [], []
    lower = upper = None
    if len(quantiles) >= 2:
        lower, upper = f"q{min(quantiles):g}", f"q{max(quantiles):g}"
    for i, (train, valid) in windows:
        train_df, valid_df = frames.take(df, train), frames.take(df, valid)
        fc = clone(forecaster).set_params(horizon=horizon)
        fc.fit(train_df, id_cols=keys, time_col=time_col, target_col=target_col, stockout_col=stockout_col,
               **(fit_kwargs or {}))
        pred = fc.predict(horizon, future_df=valid_df, quantiles=quantiles or None)
        pred = frames.assign(pred, {"step": _steps(pred, keys, time_col)})
        merged, unmatched, unforecast = _match(pred, valid_df, fc, keys, time_col, target_col, i)
        merged = merged.assign(window=i, cutoff=train_df[time_col].max())
        merged = merged.sort_values([*keys, time_col]).reset_index(drop=True)
        history = train_df[[*keys, time_col]].assign(actual=train_df[target_col].astype("float64"))
        stock_col = getattr(fc, "stockout_col_", None)
        if stock_col and getattr(fc, "stockouts", "exclude") == "exclude":
            history["actual"] = history["actual"].where(~train_df[stock_col].astype(bool))
        ev = evaluate(merged, target_col="actual", pred_col="forecast", id_cols=keys, metrics=metrics,
                      train_df=history, time_col=time_col, season=season, lower_col=lower, upper_col=upper,
                      freq=getattr(fc, "freq_", None))  # the forecaster's calendar: a gap is no period
        forecasts.append(merged)
        per_series.append(ev.per_series.reset_index().assign(window=i))
        per_window.append(pd.concat([ev.overall, pd.Series({"unmatched_forecasts": float(unmatched),
                                                            "unforecast_actuals": float(unforecast)})]).rename(i))
    forecasts = frames.concat(forecasts, ignore_index=True)
    per_series = frames.concat(per_series, ignore_index=True)
    per_window = pd.DataFrame(per_window).rename_axis("window")
    overall = evaluate(forecasts, target_col="actual", pred_col="forecast", id_cols=[*keys, "window"],
                       metrics=[m for m in metrics if m != "mase"], lower_col=lower, upper_col=upper).overall
    if "mase" in metrics:
        overall["mase"] = float(backend.to_host(per_series["mase"]).mean())
    return BacktestResult(forecasts, per_series, per_window, overall)
