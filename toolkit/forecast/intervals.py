"""Conformal prediction intervals: scaled backtest residuals per horizon step, quantiles on top of forecasts.

``calibration_windows=k`` makes a forecaster's ``fit`` run a ``k``-window backtest on its own
training data (a fresh model per window, no look-ahead) and keep, for each horizon step, the
residuals ``(actual - forecast) / scale`` of every series (:func:`scaled_residuals`);
``scale`` is the series' in-sample naive MAE (mean absolute change from one step to the next;
its mean absolute value when that is zero; 1 when both are), from :func:`series_scale`.
Scaling by a spread rather than a level keeps low-volume count series (whose spread grows
like the square root of the level) from getting intervals too wide for large series and too
narrow for small ones. The ``q`` quantile forecast is ``forecast + scale *
quantile_q(residuals of that step)`` (:func:`quantile_columns`), clipped at zero when the
training target is non-negative.

Examples
--------
>>> import numpy as np
>>> from toolkit.panel import SeriesLayout
>>> layout = SeriesLayout.from_codes(np.array([0, 0, 0, 1, 1]))
>>> series_scale(layout, np.array([1.0, 3.0, 2.0, 5.0, 5.0])).tolist()  # naive MAE; level when flat
[1.5, 5.0]
"""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np

from toolkit import backend
from toolkit.errors import DataValidationError
from toolkit.kernels.grouped import group_mean
from toolkit.panel import SeriesLayout, checks

__all__ = ["series_scale", "check_quantiles", "scaled_residuals", "quantile_columns"]


def series_scale(layout: SeriesLayout, values: Any) -> Any:
    """Per-series interval scale from sorted ``values`` (NaN = not observed, e.g. a stock-out).

    The mean absolute change between consecutive rows where both are observed; the mean
    absolute value where that is missing or 0; 1 where both are.
    """
    xp = layout.xp
    change = xp.abs(values[1:] - values[:-1])
    change = xp.where(layout.position[1:] == 0, float("nan"), change)  # no change across series
    spread = group_mean(change, layout.series_of_row[1:], layout.n_series)  # change i is row i + 1's
    level = group_mean(xp.abs(values), layout.series_of_row, layout.n_series)
    scale = xp.where(xp.isnan(spread) | (spread <= 0), level, spread)
    return xp.where(xp.isnan(scale) | (scale <= 0), 1.0, scale)


def check_quantiles(quantiles: Any) -> list[float]:
    """Quantile levels as floats in (0, 1); ``None`` gives ``[]``."""
    if quantiles is None:
        return []
    if isinstance(quantiles, (str, bytes)) or not hasattr(quantiles, "__iter__"):
        raise DataValidationError.for_parameter("quantiles", "expected a list of levels in (0, 1)", quantiles)
    return [checks.check_number("quantiles", q, 0.0, 1.0, low_open=True, high_open=True) for q in quantiles]


def scaled_residuals(forecasts: Any, series: Any, scale: Any, id_cols: Sequence[str]) -> dict[int, np.ndarray]:
    """Sorted scaled residuals per horizon step from backtest ``forecasts``.

    Parameters
    ----------
    forecasts : frame
        ``BacktestResult.forecasts``: keys, ``step``, ``forecast``, ``actual``.
    series : frame
        The forecaster's series table (keys, one row per series, in layout order).
    scale : array (n_series,)
    id_cols : list of str
    """
    fc = backend.to_host(forecasts)
    table = backend.to_host(series).assign(_code=np.arange(len(series)))
    fc = fc.merge(table, on=list(id_cols), how="inner")
    host_scale = np.asarray(backend.to_host(scale))[fc["_code"].to_numpy()]
    resid = (fc["actual"].to_numpy(dtype="float64") - fc["forecast"].to_numpy(dtype="float64")) / host_scale
    steps = fc["step"].to_numpy()
    return {int(k): np.sort(resid[(steps == k) & ~np.isnan(resid)]) for k in np.unique(steps)}


def quantile_columns(point: Any, steps: Any, codes: Any, scale: Any, residuals: dict | None,
                     quantiles: Sequence[float], nonnegative: bool) -> dict[str, Any]:
    """``q{level}`` columns: ``point + scale * quantile(residuals of the step)``.

    Parameters
    ----------
    point : array (n,)
        Point forecasts (original units).
    steps, codes : int arrays (n,)
        Horizon step (1-based) and series number of every forecast.
    scale : array (n_series,)
    residuals : dict step -> sorted residuals, or None (not calibrated)
    quantiles : levels in (0, 1)
    nonnegative : bool
        Clip at zero.

    Raises
    ------
    DataValidationError
        Not calibrated, or asked beyond the calibrated steps.
    """
    if residuals is None:
        raise DataValidationError.for_parameter(
            "quantiles", "need calibration: fit with calibration_windows >= 1 or call calibrate()", list(quantiles))
    h_max = max(residuals)
    steps_h = np.asarray(backend.to_host(steps))
    if steps_h.max() > h_max:
        raise DataValidationError.for_parameter(
            "h", f"intervals are calibrated up to step {h_max}; asked for {int(steps_h.max())}", int(steps_h.max()))
    xp = backend.array_namespace(point)
    per_row_scale = xp.take(scale, codes)
    cols = {}
    for q in quantiles:
        table = np.array([np.quantile(residuals[k], q) if len(residuals.get(k, ())) else np.nan
                          for k in range(1, h_max + 1)])
        value = point + per_row_scale * xp.asarray(table[steps_h - 1])
        cols[f"q{q:g}"] = xp.maximum(value, 0.0) if nonnegative else value
    return cols

