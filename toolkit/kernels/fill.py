"""Gap fills inside segments: forward, backward, linear and given-value fills of NaN runs.

Rows of each segment (a series) lie contiguous and in time order; ``bounds`` holds the
``n_segments + 1`` offsets of :class:`toolkit.panel.SeriesLayout`. A fill never crosses a
segment boundary. Every function takes and returns arrays of one namespace (NumPy or CuPy)
and loops over nothing: the last valid row before and the first valid row after each row
come from a cumulative count of valid rows.

``limit`` caps how many consecutive missing values of one gap are filled: the first
``limit`` after the last valid value (``ffill``, ``linear``, ``value``) or the last ``limit``
before the next one (``bfill``). A ``value`` fill of a gap that opens its segment counts the
run from the segment's first row. ``linear`` interpolates by row position and only inside a
gap (never extrapolates past the first or last valid value).

Examples
--------
>>> import numpy as np
>>> from toolkit.kernels.fill import segment_fill
>>> x = np.array([1.0, np.nan, 3.0, np.nan, 5.0, np.nan])
>>> segment_fill(x, np.array([0, 3, 6]), "ffill")[0].tolist()
[1.0, 1.0, 3.0, nan, 5.0, 5.0]
>>> segment_fill(x, np.array([0, 3, 6]), "linear")[0].tolist()
[1.0, 2.0, 3.0, nan, 5.0, nan]
"""

from __future__ import annotations

from typing import Any

from toolkit.backend import array_namespace
from toolkit.kernels.segments import segment_ids

__all__ = ["FILL_METHODS", "row_segment_bounds", "segment_neighbours", "segment_fill"]

FILL_METHODS = ("ffill", "bfill", "linear", "value")


def row_segment_bounds(bounds: Any, n_rows: int) -> tuple[Any, Any]:
    """First and last row of the segment of every row (segments must be non-empty)."""
    xp = array_namespace(bounds)
    gid = segment_ids(bounds, n_rows)
    return xp.take(bounds[:-1], gid), xp.take(bounds[1:], gid) - 1


def segment_neighbours(valid: Any, bounds: Any) -> tuple[Any, Any]:
    """The last valid row at or before, and the first valid row at or after, every row.

    Both stay inside the row's segment; -1 where there is none.
    """
    xp = array_namespace(valid)
    n = valid.shape[0]
    first, last = row_segment_bounds(bounds, n)
    where_valid = xp.nonzero(valid)[0]
    n_valid = where_valid.shape[0]
    if n_valid == 0:
        none = xp.full(n, -1, dtype=xp.int64)
        return none, none
    seen = xp.cumulative_sum(xp.astype(valid, xp.int64))  # valid rows up to and including each row
    prev = xp.where(seen > 0, xp.take(where_valid, xp.clip(seen - 1, 0, n_valid - 1)), -1)
    prev = xp.where(prev >= first, prev, -1)
    before = seen - xp.astype(valid, xp.int64)  # valid rows strictly before each row
    nxt = xp.where(before < n_valid, xp.take(where_valid, xp.clip(before, 0, n_valid - 1)), -1)
    nxt = xp.where((nxt >= 0) & (nxt <= last), nxt, -1)
    return prev, nxt


def segment_fill(x: Any, bounds: Any, method: str, limit: int | None = None, value: Any = None) -> tuple[Any, Any]:
    """Fill the NaN of ``x`` inside each segment; return the filled values and where they were filled.

    Parameters
    ----------
    x : float array (n,)
        Values sorted by segment (and time within a segment).
    bounds : int array (n_segments + 1,)
    method : {"ffill", "bfill", "linear", "value"}
        ``value`` takes ``value[i]`` for row ``i`` (e.g. its series' median).
    limit : int, optional
        At most this many consecutive missing values per gap (see the module notes).
    value : float array (n,), optional
        For ``method="value"``; NaN entries fill nothing.

    Returns
    -------
    filled : float array (n,)
    mask : bool array (n,)
        True where a missing value was filled.
    """
    xp = array_namespace(x)
    n = x.shape[0]
    valid = ~xp.isnan(x)
    if n == 0:
        return x, valid
    prev, nxt = segment_neighbours(valid, bounds)
    row = xp.arange(n, dtype=xp.int64)
    if method == "ffill":
        ok = prev >= 0
        new = xp.take(x, xp.clip(prev, 0, None))
        run = row - prev
    elif method == "bfill":
        ok = nxt >= 0
        new = xp.take(x, xp.clip(nxt, 0, None))
        run = nxt - row
    elif method == "linear":
        ok = (prev >= 0) & (nxt >= 0)
        left, right = xp.take(x, xp.clip(prev, 0, None)), xp.take(x, xp.clip(nxt, 0, None))
        width = xp.astype(xp.where(ok & (nxt > prev), nxt - prev, 1), xp.float64)
        new = left + (right - left) * xp.astype(row - prev, xp.float64) / width
        run = row - prev
    elif method == "value":
        new = value
        ok = ~xp.isnan(value)
        first, _ = row_segment_bounds(bounds, n)
        run = xp.where(prev >= 0, row - prev, row - first + 1)
    else:
        raise ValueError(f"segment_fill: unknown method {method!r}; choose from {list(FILL_METHODS)}")
    fill = ~valid & ok
    if limit is not None:
        fill = fill & (run <= limit)
    return xp.where(fill, new, x), fill
