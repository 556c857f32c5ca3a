"""``SeriesLayout``: a panel's rows sorted once by series and time, reused by every step.

A long-format panel arrives in any row order. Per-series work (lags, windows, fills, robust
statistics, forecasts) needs each series' rows contiguous and in time order. The layout
computes that order once -- or finds the input already sorted and keeps no permutation at
all -- and carries what every kernel needs:

* ``order``: ``order[i]`` is the input row at sorted position ``i`` (``None`` when the input
  is already sorted); ``inverse`` maps input rows to sorted positions;
* ``bounds``: ``n_series + 1`` offsets; series ``s`` occupies sorted positions
  ``bounds[s]:bounds[s + 1]`` (the CSR convention, what the segment kernels take);
* ``time``: int64 nanosecond timestamps in sorted order (when a time column was given).
  :meth:`SeriesLayout.from_frame` orders rows by the column's own ticks (pandas 3 parses
  dates to microseconds) and keeps them as ``ticks`` with ``tick_ns`` nanoseconds per tick;
  ``time`` scales them to nanoseconds on first use only, so a caller that needs only the
  days (calendar features) or nothing of the time (lags, windows) never pays the scaling.

Per-row views (``series_of_row``, ``row_starts``, ``position``, ``position_from_end``) are
computed on first use. ``gather`` moves an input-ordered array into sorted order and
``scatter`` back, so kernels return arrays that the frame functions put back in the
caller's row order. Series are ordered by their key values (category order for categorical
keys), as ``groupby(sort=True)`` orders them.

Missing keys or timestamps, and repeated (keys, time) rows, are refused with a
:class:`~toolkit.errors.DataValidationError` naming the column and a few offending keys:
a row that cannot be placed in exactly one series at one time is never dropped silently.

Examples
--------
>>> import pandas as pd
>>> from toolkit.panel import SeriesLayout
>>> df = pd.DataFrame({"sku": ["b", "a", "b", "a"],
...                    "date": pd.to_datetime(["2024-01-02", "2024-01-01", "2024-01-01", "2024-01-02"]),
...                    "units": [4.0, 1.0, 3.0, 2.0]})
>>> layout = SeriesLayout.from_frame(df, "sku", "date")
>>> layout.gather(df["units"].to_numpy()).tolist(), layout.bounds.tolist()
([1.0, 2.0, 3.0, 4.0], [0, 2, 4])
"""

from __future__ import annotations

import functools
from typing import Any, Sequence

from toolkit import backend
from toolkit.panel import checks, frames

__all__ = ["SeriesLayout"]

_NAT = -(2**63)


@functools.lru_cache(maxsize=1)
def _sorted_starts_kernel() -> Any:
    """Compiled check "sorted by key, then strictly by time" returning the series starts.

    One pass without temporaries; the common case (a panel already sorted) then needs no
    argsort at all. ``None`` when numba is unavailable.
    """
    try:
        import numba
    except ImportError:  # pragma: no cover - numba is a declared dependency
        return None
    import numpy as np

    @numba.njit(cache=True, nogil=True)
    def sorted_starts(key, t, strict):
        # branch-free scan (it vectorizes: twice as fast as an early exit on sorted input); the
        # smallest and largest time come along (NaT is the smallest int64) for the caller's checks
        n = key.shape[0]
        loose = not strict
        bad = False
        count = 1 if n > 0 else 0
        low = t[0] if n > 0 else 0
        high = low
        for i in range(1, n):
            same = key[i] == key[i - 1]
            later = (t[i] > t[i - 1]) | (loose & (t[i] == t[i - 1]))
            bad |= (key[i] < key[i - 1]) | (same & (not later))
            count += not same
            low = min(low, t[i])
            high = max(high, t[i])
        if bad:
            return False, np.empty(0, np.int64), low, high
        out = np.empty(count + 1, np.int64)
        c = 0
        for i in range(n):
            if i == 0 or key[i] != key[i - 1]:
                out[c] = i
                c += 1
        out[count] = n
        return True, out, low, high

    return sorted_starts


def _key_codes(df: Any, id_cols: Sequence[str], xp: Any) -> Any:
    """One non-negative int code per row, ordered as the key tuples sort; refuses missing keys."""
    combined = None
    for col in id_cols:
        codes, size = frames.codes(df, col)
        codes = xp.asarray(codes)
        missing = codes < 0
        if bool(xp.any(missing)):
            where = xp.nonzero(missing)[0]
            checks.fail(col, "missing key values, so these rows belong to no series; fill or drop the rows with "
                             "missing keys first",
                        int(where.shape[0]), checks.examples(df, where, list(id_cols)))
        if combined is None:
            combined = codes
            width = size
            continue
        combined = xp.astype(combined, xp.int64) * max(size, 1) + xp.astype(codes, xp.int64)
        width *= max(size, 1)
        if width > 2**62:  # keep the product of key counts inside int64
            uniq, combined = xp.unique_inverse(combined)
            width = int(uniq.shape[0])
    return combined


class SeriesLayout:
    """Sorted order and series boundaries of a panel (see the module docstring).

    Build it with :meth:`from_frame` (or :meth:`from_codes` on arrays); the constructor takes
    already-computed parts.

    Parameters
    ----------
    xp : array namespace
    bounds : int64 array (n_series + 1,)
    order : int64 array (n,), optional
        Input row at each sorted position; ``None`` when the input is sorted.
    time : int64 array (n,), optional
        Sorted timestamps: nanoseconds, or ticks of ``tick_ns`` nanoseconds.
    tick_ns : int, default 1
        Nanoseconds per unit of ``time`` (1000 for microseconds).

    Attributes
    ----------
    ticks : int64 array (n,) or None
        Sorted timestamps as given (``tick_ns`` nanoseconds each).
    tick_ns : int
    time : int64 array (n,) or None
        Sorted timestamps in nanoseconds (``ticks`` scaled on first use; setting it sets
        ``ticks`` with ``tick_ns = 1``).
    """

    def __init__(self, xp: Any, bounds: Any, order: Any = None, time: Any = None, *, tick_ns: int = 1):
        self.xp = xp
        self.bounds = bounds
        self.order = order
        self.ticks = time
        self.tick_ns = int(tick_ns)
        self._time_ns = None

    @property
    def time(self) -> Any:
        """Sorted int64 nanosecond timestamps (``None`` without a time column)."""
        if self.tick_ns == 1 or self.ticks is None:
            return self.ticks
        if self._time_ns is None:  # from_frame has checked that the range fits in nanoseconds
            self._time_ns = self.ticks * self.tick_ns
        return self._time_ns

    @time.setter
    def time(self, value: Any) -> None:
        self.ticks, self.tick_ns, self._time_ns = value, 1, None

    # ----------------------------------------------------------------- construction
    @classmethod
    def from_frame(cls, df: Any, id_cols: str | Sequence[str] | None, time_col: str | None = None, *,
                   unique: bool = True) -> "SeriesLayout":
        """The layout of an in-memory pandas or cuDF panel.

        Parameters
        ----------
        df : pandas.DataFrame or cudf.DataFrame
        id_cols : str or list of str or None
            Series keys; ``None`` or ``[]``: the whole frame is one series.
        time_col : str, optional
            Datetime column ordering rows within a series; without it rows keep their
            input order within each series.
        unique : bool, default True
            Refuse two rows with the same keys and time.

        Raises
        ------
        DataValidationError
            A key or time column is missing, the time column is not datetime64, keys or
            timestamps are missing, or (keys, time) repeats while ``unique``.
        """
        keys = checks.as_list(id_cols)
        checks.check_frame(df, dask=False)
        checks.require_columns(df, [*keys, *([time_col] if time_col else [])], "to lay out the series")
        xp = frames.namespace(df)
        n = len(df)
        ticks, tick_ns = None, 1
        if time_col is not None:
            checks.require_datetime(df, time_col)
            ticks, tick_ns = frames.time_ticks(df, time_col)  # scaling keeps order and ties: sort by ticks
            ticks = xp.asarray(ticks)
        key = _key_codes(df, keys, xp) if keys else xp.zeros(n, dtype=xp.int8)
        layout = cls.from_codes(key, ticks, unique=unique)
        if ticks is not None and n:
            low, high = layout._time_range
            if low == _NAT:  # NaT is the smallest int64
                checks.require_not_null(df, [time_col], keys, "to place rows in time; drop or fill the NaT timestamps")
            if tick_ns != 1:
                frames.check_tick_range(low, high, tick_ns, time_col)
            layout.tick_ns = tick_ns
        if unique and ticks is not None and layout._duplicates is not None:
            where = layout._duplicates
            checks.fail(time_col, f"duplicated ({', '.join([*keys, time_col])}) rows: each series needs one row "
                                  "per time; drop or aggregate them first (toolkit.cleanse.drop_duplicates)",
                        int(where.shape[0]), checks.examples(df, where, [*keys, time_col]))
        return layout

    @classmethod
    def from_codes(cls, key: Any, time: Any = None, *, unique: bool = True) -> "SeriesLayout":
        """The layout of rows given their series codes (ordered ints) and optional int64 times.

        With ``unique`` and a ``time``, input rows that repeat an earlier row's (series, time)
        pair are kept in ``_duplicates`` (input positions), and the smallest and largest time
        in ``_time_range``, for :meth:`from_frame` to report.
        """
        xp = backend.array_namespace(key)
        n = int(key.shape[0])
        t = time if time is not None else xp.zeros(n, dtype=xp.int64)
        kernel = _sorted_starts_kernel() if xp.__name__.endswith("numpy") else None
        dup = None
        time_range = None
        if kernel is not None:
            in_order, bounds, low, high = kernel(key, t, unique and time is not None)
            time_range = (int(low), int(high))
            if in_order:
                layout = cls(xp, bounds, None, time)
                layout._duplicates = None
                layout._time_range = time_range
                return layout
        if time_range is None and time is not None and n:
            time_range = (int(xp.min(time)), int(xp.max(time)))
        order = None
        if n > 1:
            dk = key[1:] != key[:-1]
            in_order = bool(xp.all(key[1:] >= key[:-1])) and (time is None or bool(xp.all(dk | (t[1:] >= t[:-1]))))
            if not in_order:
                by_time = xp.argsort(t, stable=True) if time is not None else xp.arange(n, dtype=xp.int64)
                order = xp.take(by_time, xp.argsort(xp.take(key, by_time), stable=True))
                key = xp.take(key, order)
                t = xp.take(t, order)
                dk = key[1:] != key[:-1]
            if unique and time is not None:
                repeated = ~dk & (t[1:] == t[:-1])
                if bool(xp.any(repeated)):  # count the rows repeating an earlier one (what would be dropped)
                    again = xp.nonzero(repeated)[0] + 1
                    dup = xp.take(order, again) if order is not None else again
            starts = xp.astype(xp.nonzero(dk)[0], xp.int64) + 1
            bounds = xp.concat([xp.zeros(1, dtype=xp.int64), starts, xp.asarray([n], dtype=xp.int64)])
        else:
            bounds = xp.asarray([0, n] if n else [0], dtype=xp.int64)
        layout = cls(xp, bounds, order, None if time is None else t)
        layout._duplicates = dup
        layout._time_range = time_range
        return layout

    _duplicates: Any = None
    _time_range: tuple[int, int] | None = None

    # ----------------------------------------------------------------- sizes
    @property
    def n(self) -> int:
        """Number of rows."""
        return int(self.bounds[-1])

    @property
    def n_series(self) -> int:
        return int(self.bounds.shape[0]) - 1

    @property
    def starts(self) -> Any:
        """First sorted position of each series."""
        return self.bounds[:-1]

    @property
    def ends(self) -> Any:
        """One past the last sorted position of each series."""
        return self.bounds[1:]

    @functools.cached_property
    def lengths(self) -> Any:
        return self.bounds[1:] - self.bounds[:-1]

    # ----------------------------------------------------------------- per-row views
    @functools.cached_property
    def series_of_row(self) -> Any:
        """Series number (0..n_series-1) of every sorted row."""
        xp = self.xp
        marks = xp.zeros(self.n, dtype=xp.int64)
        if self.n:
            inner = self.bounds[1:-1]
            marks[inner[inner < self.n]] += 1
        return xp.cumulative_sum(marks) if self.n else marks

    @functools.cached_property
    def row_starts(self) -> Any:
        """First sorted position of every sorted row's series."""
        return self.xp.take(self.starts, self.series_of_row)

    @functools.cached_property
    def position(self) -> Any:
        """Position of every sorted row within its series (0 = oldest)."""
        return self.xp.arange(self.n, dtype=self.xp.int64) - self.row_starts

    @functools.cached_property
    def position_from_end(self) -> Any:
        """Rows after every sorted row within its series (0 = newest)."""
        return self.xp.take(self.ends, self.series_of_row) - 1 - self.xp.arange(self.n, dtype=self.xp.int64)

    @functools.cached_property
    def inverse(self) -> Any:
        """Sorted position of every input row (``None`` when the input is sorted)."""
        if self.order is None:
            return None
        xp = self.xp
        out = xp.empty(self.n, dtype=xp.int64)
        out[self.order] = xp.arange(self.n, dtype=xp.int64)
        return out

    # ----------------------------------------------------------------- moving values
    def gather(self, values: Any) -> Any:
        """Input-ordered array (rows on axis 0) -> sorted order."""
        return values if self.order is None else self.xp.take(values, self.order, axis=0)

    def scatter(self, values: Any) -> Any:
        """Sorted-order array (rows on axis 0) -> input order."""
        if self.order is None:
            return values
        out = self.xp.empty_like(values)
        out[self.order] = values
        return out

    def input_rows(self, positions: Any) -> Any:
        """Input row numbers of sorted ``positions``."""
        return positions if self.order is None else self.xp.take(self.order, positions)

    def first_rows(self) -> Any:
        """Input row of each series' first (oldest) row."""
        return self.input_rows(self.starts)

    def last_rows(self) -> Any:
        """Input row of each series' last (newest) row."""
        return self.input_rows(self.ends - 1)

    def keys(self, df: Any, id_cols: str | Sequence[str]) -> Any:
        """The series table: one row of ``id_cols`` per series, in layout order, index 0..n_series-1."""
        return frames.take(df[checks.as_list(id_cols)], self.first_rows()).reset_index(drop=True)

    def tail(self, rows: int) -> "SeriesLayout":
        """Layout of the last ``rows`` rows of every series; ``order`` maps to *input* rows.

        Costs in proportion to the rows kept, not the panel.
        """
        xp = self.xp
        kept = xp.astype(xp.minimum(self.lengths, xp.full(self.lengths.shape, int(rows), dtype=xp.int64)),
                         xp.int64)
        bounds = xp.concat([xp.zeros(1, dtype=xp.int64), xp.cumulative_sum(kept)])
        tail_layout = SeriesLayout(xp, bounds)
        total = tail_layout.n
        first_kept = self.ends - kept
        sorted_pos = xp.take(first_kept, tail_layout.series_of_row) + tail_layout.position if total \
            else xp.zeros(0, dtype=xp.int64)
        tail_layout.order = self.input_rows(sorted_pos)
        tail_layout.ticks = None if self.ticks is None else xp.take(self.ticks, sorted_pos)
        tail_layout.tick_ns = self.tick_ns
        return tail_layout

    def dense(self, sorted_values: Any, width: int, fill: float = float("nan")) -> Any:
        """Right-aligned ``(n_series, width)`` matrix of each series' last ``width`` values.

        Shorter series are padded on the left with ``fill``.
        """
        xp = self.xp
        out = xp.full((self.n_series, int(width)), fill, dtype=xp.float64)
        from_end = self.position_from_end
        keep = from_end < width
        out[self.series_of_row[keep], width - 1 - from_end[keep]] = sorted_values[keep]
        return out

    def __repr__(self) -> str:
        return f"SeriesLayout(n={self.n}, n_series={self.n_series}, sorted_input={self.order is None})"
