"""Array kernels of the cleansing verbs: robust per-segment statistics and windows, on NumPy or CuPy.

Rows of each segment (a series, or the whole column) lie contiguous, in time order where
order matters; ``bounds`` holds the ``n_segments + 1`` offsets of
:class:`toolkit.panel.SeriesLayout`. Missing values (NaN) are left out of every statistic;
callers that treat ``inf`` as missing replace it by NaN first. A segment without any value
gets NaN statistics.

Every kernel is written once against the array API (NumPy or CuPy). On NumPy, per-segment
quantiles and moments run as compiled numba loops instead -- one small sort per segment
beats two global argsorts of the whole column by about 3x on a 1M-row panel -- with the
same results.

Examples
--------
>>> import numpy as np
>>> from toolkit.cleanse.kernels import segment_quantiles, segment_moments
>>> x, bounds = np.array([1.0, 2.0, np.nan, 4.0, 10.0]), np.array([0, 3, 5])
>>> [q.tolist() for q in segment_quantiles(x, bounds, (0.5,))]
[[1.5, 7.0]]
>>> [m.tolist() for m in segment_moments(x, bounds)]
[[1.5, 7.0], [0.5, 3.0]]
"""

from __future__ import annotations

import functools
from typing import Any, Sequence

import numpy as np

from toolkit.backend import array_namespace
from toolkit.kernels.fill import row_segment_bounds
from toolkit.kernels.segments import segment_ids, segment_quantile, segment_sort, segment_sum

__all__ = ["MAD_SCALE", "per_row", "segment_quantiles", "segment_moments", "segment_mad", "window_median",
           "phase_order"]

MAD_SCALE = 1.482602218505602
"""1 / Phi^-1(3/4): turns a median absolute deviation into the standard deviation of a normal."""


def per_row(stat: Any, bounds: Any, n_rows: int) -> Any:
    """A per-segment statistic repeated on every row of its segment."""
    xp = array_namespace(stat)
    return xp.take(stat, segment_ids(bounds, n_rows))


def _quantiles_loop(x: Any, bounds: Any, qs: Any) -> Any:
    """Per-segment quantiles, one small in-place sort per segment (compiled by :func:`_compiled`)."""
    n_seg = bounds.shape[0] - 1
    out = np.full((qs.shape[0], max(n_seg, 0)), np.nan)
    width = 0
    for s in range(n_seg):
        width = max(width, bounds[s + 1] - bounds[s])
    buf = np.empty(width)
    for s in range(n_seg):
        m = 0
        for i in range(bounds[s], bounds[s + 1]):
            if x[i] == x[i]:  # not NaN
                buf[m] = x[i]
                m += 1
        if m == 0:
            continue
        values = buf[:m]
        values.sort()
        for j in range(qs.shape[0]):
            pos = qs[j] * (m - 1)
            lo = int(np.floor(pos))
            hi = min(lo + 1, m - 1)
            out[j, s] = values[lo] + (values[hi] - values[lo]) * (pos - lo)
    return out


def _moments_loop(x: Any, bounds: Any) -> tuple[Any, Any]:
    """Per-segment mean and population std in two passes (compiled by :func:`_compiled`)."""
    n_seg = bounds.shape[0] - 1
    mean = np.full(max(n_seg, 0), np.nan)
    std = np.full(max(n_seg, 0), np.nan)
    for s in range(n_seg):
        total, count = 0.0, 0
        for i in range(bounds[s], bounds[s + 1]):
            if x[i] == x[i]:
                total += x[i]
                count += 1
        if count == 0:
            continue
        center = total / count
        square = 0.0
        for i in range(bounds[s], bounds[s + 1]):
            if x[i] == x[i]:
                square += (x[i] - center) ** 2
        mean[s], std[s] = center, np.sqrt(square / count)
    return mean, std


@functools.lru_cache(maxsize=None)
def _compiled(loop: Any) -> Any:
    """``loop`` compiled with numba (None without numba); on first use, each loop alone, cached on disk."""
    try:
        import numba
    except ImportError:  # pragma: no cover - numba is a declared dependency
        return None
    return numba.njit(cache=True, nogil=True)(loop)


def _numba(xp: Any, loop: Any) -> Any:
    """The compiled ``loop`` for NumPy arrays; None for other namespaces (they run the array-API code)."""
    return _compiled(loop) if xp.__name__.endswith("numpy") else None


def segment_quantiles(x: Any, bounds: Any, qs: Sequence[float]) -> list:
    """Linear-interpolation quantiles (numpy's default) of each segment, NaN ignored; one sort for all ``qs``."""
    xp = array_namespace(x)
    compiled = _numba(xp, _quantiles_loop)
    if compiled is not None:
        table = compiled(np.ascontiguousarray(x, dtype=np.float64), np.asarray(bounds, dtype=np.int64),
                            np.asarray(qs, dtype=np.float64))
        return [table[j] for j in range(len(qs))]
    column = xp.reshape(x, (-1, 1))
    ordered, _ = segment_sort(column, bounds, stable=False)
    counts = segment_sum(xp.astype(~xp.isnan(column), xp.float64), bounds)
    return [segment_quantile(ordered, bounds, counts, float(q))[:, 0] for q in qs]


def segment_moments(x: Any, bounds: Any) -> tuple[Any, Any]:
    """Mean and population standard deviation (ddof=0) of each segment, NaN ignored."""
    xp = array_namespace(x)
    compiled = _numba(xp, _moments_loop)
    if compiled is not None:
        return compiled(np.ascontiguousarray(x, dtype=np.float64), np.asarray(bounds, dtype=np.int64))
    valid = ~xp.isnan(x)
    zero = xp.where(valid, x, 0.0)
    count = segment_sum(xp.astype(valid, xp.float64), bounds)
    safe = xp.where(count > 0, count, 1.0)
    mean = segment_sum(zero, bounds) / safe
    dev = xp.where(valid, x - per_row(mean, bounds, x.shape[0]), 0.0)
    std = xp.sqrt(segment_sum(dev * dev, bounds) / safe)
    empty = count == 0
    return xp.where(empty, xp.nan, mean), xp.where(empty, xp.nan, std)


def segment_mad(x: Any, bounds: Any) -> tuple[Any, Any]:
    """Median and median absolute deviation of each segment, NaN ignored."""
    (median,) = segment_quantiles(x, bounds, (0.5,))
    (mad,) = segment_quantiles(array_namespace(x).abs(x - per_row(median, bounds, x.shape[0])), bounds, (0.5,))
    return median, mad


def _window_middle(xp: Any, window: Any) -> Any:
    """Median of each row of ``window`` (n, w), NaN ignored; NaN where a row has no value."""
    ordered = xp.sort(window, axis=1)  # NaN sorts last
    count = xp.sum(xp.astype(~xp.isnan(window), xp.int64), axis=1)
    lo = xp.reshape(xp.clip((count - 1) // 2, 0, None), (-1, 1))
    hi = xp.reshape(count // 2, (-1, 1))
    middle = (xp.take_along_axis(ordered, lo, axis=1) + xp.take_along_axis(ordered, hi, axis=1))[:, 0] / 2
    return xp.where(count > 0, middle, xp.nan)


def window_median(x: Any, bounds: Any, half: int, chunk: int = 1 << 20) -> tuple[Any, Any]:
    """Centred rolling median and MAD over ``2 * half + 1`` rows inside each segment, NaN ignored.

    Windows are cut at segment edges (as ``rolling(center=True, min_periods=1)`` per series).
    Rows are processed ``chunk`` at a time to bound the ``(chunk, window)`` temporaries.

    Returns
    -------
    median, mad : float arrays (n,)
    """
    xp = array_namespace(x)
    n = x.shape[0]
    first, last = row_segment_bounds(bounds, n)
    median = xp.empty(n, dtype=xp.float64)
    mad = xp.empty(n, dtype=xp.float64)
    offsets = xp.reshape(xp.arange(-half, half + 1, dtype=xp.int64), (1, -1))
    for a in range(0, n, chunk):
        b = min(n, a + chunk)
        idx = xp.reshape(xp.arange(a, b, dtype=xp.int64), (-1, 1)) + offsets
        inside = (idx >= xp.reshape(first[a:b], (-1, 1))) & (idx <= xp.reshape(last[a:b], (-1, 1)))
        gathered = xp.reshape(xp.take(x, xp.reshape(xp.clip(idx, 0, n - 1), (-1,))), idx.shape)
        window = xp.where(inside, gathered, xp.nan)
        mid = _window_middle(xp, window)
        median[a:b] = mid
        mad[a:b] = _window_middle(xp, xp.abs(window - xp.reshape(mid, (-1, 1))))
    return median, mad


def phase_order(bounds: Any, n_rows: int, period: int) -> tuple[Any, Any]:
    """Rows regrouped by (segment, position modulo ``period``), time order kept inside each group.

    For seasonal fills: on a regular calendar the rows of one phase of a series are the same
    weekday (``period=7``) in successive weeks.

    Returns
    -------
    order : int array (n,)
        ``order[i]`` is the row at regrouped position ``i``.
    phase_bounds : int array (n_groups + 1,)
    """
    xp = array_namespace(bounds)
    series = segment_ids(bounds, n_rows)
    first, _ = row_segment_bounds(bounds, n_rows)
    group = series * period + (xp.arange(n_rows, dtype=xp.int64) - first) % period
    order = xp.argsort(group, stable=True)
    grouped = xp.take(group, order)
    starts = xp.astype(xp.nonzero(grouped[1:] != grouped[:-1])[0], xp.int64) + 1
    edges = [xp.zeros(1, dtype=xp.int64), starts, xp.asarray([n_rows], dtype=xp.int64)] if n_rows else \
        [xp.zeros(1, dtype=xp.int64)]
    return order, xp.concat(edges)
