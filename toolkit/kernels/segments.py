"""Segment kernels: statistics of many groups at once, on sorted arrays with boundaries.

Rows of each group (a series, a sku, a lane) lie contiguous; ``starts`` holds the
``n_groups + 1`` boundaries (group ``g`` is rows ``starts[g]:starts[g + 1]``, the
``SeriesLayout.bounds`` convention of :mod:`toolkit.panel`). Every kernel takes and returns
arrays of one array namespace (NumPy or CuPy), with no Python loop over groups: sums come
from one cumulative sum, orders from two sorts (by value, then stably by group), quantiles
from positions in the segment-sorted values.

Examples
--------
>>> import numpy as np
>>> from toolkit.kernels.segments import segment_sum, segment_rank
>>> segment_sum(np.array([1.0, 2.0, 3.0]), np.array([0, 2, 3])).tolist()
[3.0, 3.0]
>>> segment_rank(np.array([1.0, 5.0, 2.0]), np.array([0, 2, 3])).tolist()
[2.0, 1.0, 1.0]
"""

from __future__ import annotations

import math
from typing import Any

from toolkit.backend import array_namespace

__all__ = ["segment_ids", "segment_order", "segment_sum", "segment_sort", "segment_quantile", "segment_rank",
           "standardize", "quantile"]


def segment_ids(starts: Any, n_rows: int) -> Any:
    """Group id of each row from segment boundaries ``starts`` (length n_groups + 1)."""
    xp = array_namespace(starts)
    marks = xp.zeros((n_rows + 1,), dtype=xp.int64)
    if starts.shape[0] > 2:
        marks[starts[1:-1]] = 1
    return xp.cumulative_sum(marks[:n_rows])


def segment_order(xt: Any, gid: Any, n_groups: int, stable: bool = False) -> Any:
    """Per row of ``xt`` (d, n): the permutation sorting by (group, value); NaN last in a group.

    Two passes: sort by value, then a stable sort by group id. Group ids are cast to the
    smallest unsigned integer that holds them, because numpy sorts 8- and 16-bit keys stably
    with a radix sort (linear time). ``stable=True`` keeps equal values in row order.
    """
    xp = array_namespace(xt)
    d, n = xt.shape
    o1 = xp.argsort(xt, axis=1, stable=stable)
    code = xp.uint8 if n_groups <= 2**8 else (xp.uint16 if n_groups <= 2**16 else xp.int64)
    g1 = xp.reshape(xp.take(xp.astype(gid, code), xp.reshape(o1, (-1,))), (d, n))
    o2 = xp.argsort(g1, axis=1, stable=True)
    return xp.take_along_axis(o1, o2, axis=1)


def segment_sum(values: Any, starts: Any) -> Any:
    """Sums of ``values`` (n_rows, ...) over each segment, via one cumulative sum."""
    xp = array_namespace(values)
    v = xp.astype(values, xp.float64)
    zero = xp.zeros((1, *v.shape[1:]), dtype=xp.float64)
    c = xp.concat([zero, xp.cumulative_sum(v, axis=0)], axis=0)
    return xp.take(c, starts[1:], axis=0) - xp.take(c, starts[:-1], axis=0)


def segment_sort(values: Any, starts: Any, stable: bool = True) -> tuple[Any, Any]:
    """Sort each column of ``values`` (n_rows, d) inside each segment; NaN last in a segment.

    ``stable=True`` keeps equal values in row order (needed for ranks); quantiles do not care.

    Returns
    -------
    sorted_values : array (n_rows, d)
    order : array (n_rows, d) of int
        ``sorted_values[:, j] = values[order[:, j], j]``.
    """
    xp = array_namespace(values)
    n_rows, d = values.shape
    xt = xp.ascontiguousarray(values.T)
    order = segment_order(xt, segment_ids(starts, n_rows), int(starts.shape[0]) - 1, stable=stable)
    return xp.take_along_axis(xt, order, axis=1).T, order.T


def segment_quantile(sorted_values: Any, starts: Any, counts: Any, q: float) -> Any:
    """Linear-interpolation quantile of each column in each segment of segment-sorted values.

    Parameters
    ----------
    sorted_values : array (n_rows, d)
        Output of :func:`segment_sort`.
    starts : array (n_groups + 1,)
    counts : array (n_groups, d)
        Number of non-NaN values per segment and column (NaN are sorted after them).
    q : float in [0, 1]

    Returns
    -------
    array (n_groups, d); NaN where a segment has no value.
    """
    xp = array_namespace(sorted_values)
    n_rows, d = sorted_values.shape
    cnt = xp.astype(counts, xp.float64)
    pos = q * xp.maximum(cnt - 1.0, 0.0)
    lo = xp.floor(pos)
    frac = pos - lo
    base = xp.reshape(starts[:-1], (-1, 1))
    lo_i = xp.astype(lo, xp.int64) + base
    hi_i = xp.minimum(lo_i + 1, base + xp.maximum(xp.astype(cnt, xp.int64) - 1, 0))
    lo_i = xp.clip(lo_i, 0, max(n_rows - 1, 0))
    hi_i = xp.clip(hi_i, 0, max(n_rows - 1, 0))
    cols = xp.reshape(xp.arange(d), (1, d))
    flat = xp.reshape(sorted_values, (-1,))
    v_lo = xp.take(flat, xp.reshape(lo_i * d + cols, (-1,)))
    v_hi = xp.take(flat, xp.reshape(hi_i * d + cols, (-1,)))
    out = xp.reshape(v_lo + (v_hi - v_lo) * xp.reshape(frac, (-1,)), cnt.shape)
    return xp.where(cnt > 0, out, xp.nan)


def segment_rank(scores: Any, starts: Any) -> Any:
    """Rank of each score inside its segment, 1 for the highest; NaN scores get NaN.

    Parameters
    ----------
    scores : array (n,), rows of each segment contiguous
    starts : array (n_groups + 1,)

    Returns
    -------
    array (n,) float64
    """
    xp = array_namespace(scores)
    n = scores.shape[0]
    srt, order = segment_sort(xp.reshape(-scores, (-1, 1)), starts)
    gid = segment_ids(starts, n)
    pos = xp.arange(n, dtype=xp.int64) - xp.take(starts[:-1], gid)
    rank = xp.zeros((n,), dtype=xp.float64)
    rank[order[:, 0]] = xp.astype(pos + 1, xp.float64)
    return xp.where(xp.isnan(scores), xp.nan, rank)


def standardize(scores: Any, starts: Any) -> Any:
    """Z-score of ``scores`` inside each segment (NaN ignored; a constant segment gives 0)."""
    xp = array_namespace(scores)
    ok = ~xp.isnan(scores)
    v = xp.where(ok, scores, 0.0)
    cnt = segment_sum(xp.astype(ok, xp.float64), starts)
    mean = segment_sum(v, starts) / xp.maximum(cnt, 1.0)
    gid = segment_ids(starts, scores.shape[0])
    dev = xp.where(ok, scores - xp.take(mean, gid), 0.0)
    sd = xp.sqrt(segment_sum(dev * dev, starts) / xp.maximum(cnt, 1.0))
    s = xp.take(sd, gid)
    return xp.where(ok, xp.where(s > 0, dev / xp.where(s > 0, s, 1.0), 0.0), xp.nan)


def quantile(x: Any, q: float) -> Any:
    """Linear-interpolation quantile of a 1-d array (numpy's default method), on any namespace.

    The array API has no quantile; this sorts and interpolates, as ``numpy.percentile`` does.

    Examples
    --------
    >>> import numpy as np
    >>> float(quantile(np.array([1.0, 2.0, 3.0, 4.0]), 0.5))
    2.5
    """
    xp = array_namespace(x)
    s = xp.sort(xp.reshape(x, (-1,)))
    n = s.shape[0]
    pos = q * (n - 1)
    lo = int(math.floor(pos))
    hi = min(lo + 1, n - 1)
    frac = pos - lo
    return s[lo] + (s[hi] - s[lo]) * frac
