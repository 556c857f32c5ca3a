"""Series as rows of a matrix: padding, autocorrelation, a seasonality test, classical decomposition, trend lines.

Local forecasting models (:mod:`toolkit.kernels.smoothing`) work on a *left-aligned*
matrix: row ``i`` holds series ``i`` from its first value at column 0, NaN after its last
(:func:`left_aligned`); ``lengths`` says where each row ends, so a NaN inside a series (a
stock-out excluded from the loss) and the padding after it stay distinguishable. Column
``t`` is the ``t``-th value of every series, so the seasonal phase of a value is ``t mod
m`` for all series alike, counted from each series' own start (as the classical methods
do). Every function works on all rows at once (NumPy or CuPy), skipping NaN:

* :func:`autocorrelation` -- sample autocorrelations ``r_k`` (sums of products of
  deviations from the series mean, over the pairs where both values are present, divided
  by the sum of squared deviations; the convention of ``statsmodels.tsa.acf``);
* :func:`seasonality_test` -- the 90 % test of the classical Theta method (Assimakopoulos
  & Nikolopoulos 2000, as in Hyndman & Billah's implementation): seasonal at lag ``m``
  when ``|r_m| > 1.645 * sqrt((1 + 2 * sum_{k<m} r_k^2) / n)``, for series with more than
  ``2 m`` values;
* :func:`classical_seasonal` -- the seasonal indices of a classical decomposition: a
  centred moving average of order ``m`` (``2 x m`` for even ``m``) as the trend, the
  ratios (or differences) to it averaged per phase and normalised to mean 1 (or 0);
* :func:`linear_trend` -- least-squares intercept and slope on ``t = 0, 1, ...``, per row.

Examples
--------
>>> import numpy as np
>>> y = left_aligned(np.array([1.0, 2.0, 3.0, 10.0, 20.0]), np.array([0, 3, 5]))
>>> y.tolist()
[[1.0, 2.0, 3.0], [10.0, 20.0, nan]]
>>> intercept, slope = linear_trend(y)
>>> intercept.tolist(), slope.tolist()
([1.0, 10.0], [1.0, 10.0])
"""

from __future__ import annotations

from typing import Any

from toolkit.backend import array_namespace
from toolkit.kernels.segments import segment_ids

__all__ = ["left_aligned", "row_lengths", "autocorrelation", "seasonality_test", "classical_seasonal",
           "linear_trend", "nan_row_mean", "first_values", "last_values"]

THETA_Z = 1.6448536269514722
"""The 95 % one-sided normal quantile: the classical Theta method's 90 % two-sided seasonality test."""


def row_lengths(bounds: Any) -> Any:
    """Values per series from CSR ``bounds``."""
    return bounds[1:] - bounds[:-1]


def left_aligned(values: Any, bounds: Any, width: int | None = None) -> Any:
    """``(n_series, width)`` matrix of series-sorted ``values``, each row from column 0, NaN-padded.

    ``width`` defaults to the longest series; longer series keep their first ``width`` values.
    """
    xp = array_namespace(values)
    n = int(bounds.shape[0]) - 1
    lengths = row_lengths(bounds)
    width = int(xp.max(lengths)) if width is None and n else int(width or 0)
    out = xp.full((n * width,), float("nan"), dtype=xp.float64)
    rows = int(values.shape[0])
    if n == 0 or width == 0 or rows == 0:
        return xp.reshape(out, (n, width))
    series = segment_ids(bounds, rows)
    position = xp.arange(rows, dtype=xp.int64) - xp.take(bounds[:-1], series)
    keep = xp.nonzero(position < width)[0]
    flat = xp.take(series * width + position, keep)
    out[flat] = xp.take(xp.astype(values, xp.float64), keep)
    return xp.reshape(out, (n, width))


def nan_row_mean(y: Any) -> Any:
    """Mean of the non-NaN values of each row (NaN for a row without any)."""
    xp = array_namespace(y)
    ok = ~xp.isnan(y)
    count = xp.sum(xp.astype(ok, xp.float64), axis=1)
    total = xp.sum(xp.where(ok, y, 0.0), axis=1)
    return xp.where(count > 0, total / xp.where(count > 0, count, 1.0), float("nan"))


def last_values(y: Any, lengths: Any) -> Any:
    """The value at column ``length - 1`` of every row (NaN for an empty row)."""
    xp = array_namespace(y)
    at = xp.reshape(xp.clip(lengths - 1, 0, None), (-1, 1))
    value = xp.take_along_axis(y, xp.astype(at, xp.int64), axis=1)[:, 0]
    return xp.where(lengths > 0, value, float("nan"))


def first_values(y: Any) -> Any:
    """The first non-NaN value of every row (NaN for a row without any)."""
    xp = array_namespace(y)
    ok = ~xp.isnan(y)
    width = int(y.shape[1])
    at = xp.min(xp.where(ok, xp.arange(width)[None, :], width), axis=1)
    value = xp.take_along_axis(y, xp.reshape(xp.clip(at, 0, max(width - 1, 0)), (-1, 1)), axis=1)[:, 0]
    return xp.where(at < width, value, float("nan"))


def autocorrelation(y: Any, max_lag: int) -> Any:
    """Autocorrelations ``r_0 .. r_max_lag`` of every row, ``(n, max_lag + 1)``, skipping NaN."""
    xp = array_namespace(y)
    ok = ~xp.isnan(y)
    dev = xp.where(ok, y - nan_row_mean(y)[:, None], 0.0)
    denom = xp.sum(dev * dev, axis=1)
    width = int(y.shape[1])
    cols = [xp.sum(dev[:, : width - k] * dev[:, k:], axis=1) if k < width else xp.zeros_like(denom)
            for k in range(max_lag + 1)]
    acov = xp.stack(cols, axis=1)
    return xp.where(denom[:, None] > 0, acov / xp.where(denom > 0, denom, 1.0)[:, None], 0.0)


def seasonality_test(y: Any, lengths: Any, m: int, z: float = THETA_Z) -> Any:
    """True for the rows with significant autocorrelation at lag ``m`` (see the module docstring).

    Rows with ``m <= 1`` or at most ``2 m`` values are not seasonal.
    """
    xp = array_namespace(y)
    if m <= 1:
        return xp.zeros(lengths.shape, dtype=xp.bool)
    r = autocorrelation(y, m)
    n_obs = xp.sum(xp.astype(~xp.isnan(y), xp.float64), axis=1)
    limit = z * xp.sqrt((1.0 + 2.0 * xp.sum(r[:, 1:m] ** 2, axis=1)) / xp.where(n_obs > 0, n_obs, 1.0))
    return (xp.abs(r[:, m]) > limit) & (lengths > 2 * m)


def _centred_average(y: Any, m: int) -> Any:
    """Centred moving average of order m (2 x m for even m); NaN where the window is incomplete."""
    xp = array_namespace(y)
    n, width = y.shape
    missing = xp.isnan(y)
    zero = xp.zeros((n, 1), dtype=xp.float64)
    csum = xp.concat([zero, xp.cumulative_sum(xp.where(missing, 0.0, y), axis=1)], axis=1)
    cnan = xp.concat([zero, xp.cumulative_sum(xp.astype(missing, xp.float64), axis=1)], axis=1)
    half = m // 2
    out = xp.full((n, width), float("nan"), dtype=xp.float64)
    lo, hi = half, width - half  # centres with a whole window inside the matrix
    if hi <= lo:
        return out
    t = xp.arange(lo, hi)
    if m % 2:
        total = xp.take(csum, t + half + 1, axis=1) - xp.take(csum, t - half, axis=1)
        gaps = xp.take(cnan, t + half + 1, axis=1) - xp.take(cnan, t - half, axis=1)
    else:  # weights 1/2, 1, ..., 1, 1/2 over m + 1 values
        inner = xp.take(csum, t + half, axis=1) - xp.take(csum, t - half + 1, axis=1)
        ends = xp.take(y, t - half, axis=1) + xp.take(y, t + half, axis=1)
        total = inner + 0.5 * ends
        gaps = (xp.take(cnan, t + half + 1, axis=1) - xp.take(cnan, t - half, axis=1))
    out[:, lo:hi] = xp.where(gaps > 0, float("nan"), total / m)
    return out


def classical_seasonal(y: Any, m: int, multiplicative: Any) -> Any:
    """Seasonal indices ``(n, m)`` of a classical decomposition, by phase ``t mod m``.

    Parameters
    ----------
    y : (n, T) left-aligned values (NaN missing or padding)
    m : int >= 2
    multiplicative : bool array (n,)
        Ratios to the trend (indices averaging 1) where True, differences (averaging 0) where False.

    Returns
    -------
    array (n, m)
        NaN for a phase with no complete trend window (series shorter than ``m + 1`` values).
    """
    xp = array_namespace(y)
    n, width = y.shape
    trend = _centred_average(y, m)
    mult = multiplicative[:, None]
    detrended = xp.where(mult, y / xp.where(trend == 0, float("nan"), trend), y - trend)
    cycles = -(-width // m)
    pad = xp.full((n, cycles * m - width), float("nan"), dtype=xp.float64)
    by_phase = xp.reshape(xp.concat([detrended, pad], axis=1), (n, cycles, m))
    ok = ~xp.isnan(by_phase)
    count = xp.sum(xp.astype(ok, xp.float64), axis=1)
    mean = xp.where(count > 0, xp.sum(xp.where(ok, by_phase, 0.0), axis=1) / xp.where(count > 0, count, 1.0),
                    float("nan"))
    centre = xp.mean(mean, axis=1, keepdims=True)
    return xp.where(mult, mean / xp.where(mult & (centre != 0), centre, 1.0), mean - centre)


def linear_trend(y: Any, first: Any = None) -> tuple[Any, Any]:
    """Least-squares ``intercept, slope`` of every row against ``t = 0, 1, ...`` (NaN skipped).

    ``first`` (int array (n,), optional) limits each row to its first values. A row with
    fewer than two values gets slope 0 and its mean (or NaN) as intercept.
    """
    xp = array_namespace(y)
    n, width = y.shape
    t = xp.astype(xp.arange(width), xp.float64)[None, :]
    ok = ~xp.isnan(y)
    if first is not None:
        ok = ok & (t < xp.astype(first, xp.float64)[:, None])
    w = xp.astype(ok, xp.float64)
    count = xp.sum(w, axis=1)
    safe = xp.where(count > 0, count, 1.0)
    t_mean = xp.sum(w * t, axis=1) / safe
    y_mean = xp.sum(xp.where(ok, y, 0.0), axis=1) / safe
    dt = (t - t_mean[:, None]) * w
    sxx = xp.sum(dt * dt, axis=1)
    sxy = xp.sum(dt * xp.where(ok, y - y_mean[:, None], 0.0), axis=1)
    slope = xp.where(sxx > 0, sxy / xp.where(sxx > 0, sxx, 1.0), 0.0)
    intercept = xp.where(count > 0, y_mean - slope * t_mean, float("nan"))
    return intercept, slope
