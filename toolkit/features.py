"""Leakage-safe feature engineering for long-format panels, one code path for CPU and GPU.

Turns a panel (series keys, a datetime column, a target, exogenous columns) into a model
matrix: per-series lags and window statistics, calendar and holiday features, Fourier terms,
commerce features (price, promotion, channel share, past-only target encoding) and marketing
response transforms (adstock, Hill saturation). :class:`FeatureSpec` declares a feature set
as data and :func:`build_features` computes it, for the whole panel or only for the last rows
of each series (what a recursive forecaster needs at every step).

Design choices
--------------
* **Sorted arrays with segment boundaries.** A frame function validates its input, finds the
  order that sorts it by ``id_cols + [time_col]`` (no sort at all when it is already sorted),
  and hands the kernels 1-D arrays in that order plus the first row of every series. Kernels return arrays; the frame function scatters them back so output
  rows come in the input order (and keep the input index). There is no loop over series and
  no ``groupby.apply``.
* **Two kernel engines.** The ``"array"`` engine is written against the array API
  (``backend.array_namespace``), so the same code runs on NumPy and CuPy: window sums, means,
  standard deviations and counts come from prefix sums taken between window bounds, minima
  and maxima from a sparse table (``log2(window)`` levels), quantiles from a sorted strided
  view of each window, the EWM from a log-depth scan of its affine recurrence. On the CPU the
  ``"numba"`` engine (numba is a dependency) loops over series boundaries once per window:
  sliding sums with values centred on the series' first value (exact for integer-valued
  targets, so a constant window has a standard deviation of exactly 0), Welford updates for
  expanding statistics, the pandas recursion for the EWM. It is what makes the CPU path
  faster than mlforecast (``benchmarks/bench_features.py``); ``engine="auto"`` picks it for
  NumPy input. Lags are shifted copies with NaN written on the first rows of each series.
  cuDF's grouped rolling is not used: the array engine on CuPy needs no groupby at all.
* **Output.** Features are float64 columns (calendar ones int8/int16/bool, the holiday name
  categorical) appended to the input columns without copying them; a column that already
  has a feature's name is replaced (and moves to the end).
* **Leakage.** Lags, window, expanding and EWM statistics, differences and percentage changes
  of the target use values shifted by ``shift >= 1`` rows (default 1): the feature of row
  ``t`` never sees the value at ``t``. Rows before a window fills (fewer than ``min_periods``
  non-missing values, default the window) are NaN, never zeros. Target encoding uses strictly
  earlier dates only.
* **Rows, not calendar time.** Like ``pandas.DataFrame.groupby(...).shift`` and mlforecast, a
  lag of ``k`` is ``k`` rows back in the series; fill calendar gaps first (``toolkit.cleanse``)
  when a lag must mean ``k`` days.
* **Calendar features on a date table.** Calendar, holiday and Fourier features are computed
  once per distinct day on a small table (``holidays`` package for holidays) and gathered to
  the rows, so their cost does not grow with the number of series.
* **Dask.** Every per-series function accepts a Dask DataFrame and returns a lazy one via
  :func:`toolkit.scale.map_series` (series whole in one partition). Inside partitions, rows come
  back in partition order; the index is kept so results can be re-aligned. The check "lag
  longer than every series" is skipped for Dask input (it would need a pass over the data).
* **Feature names** are deterministic: ``lag_7``, ``rolling_mean_28``, ``rolling_q0.9_28``,
  ``expanding_std``, ``ewm_mean_0.3``, ``diff_1``, ``dayofweek``, ``fourier_sin_7_1``; a
  non-default ``shift`` adds ``_shift{s}``.

Examples
--------
>>> import pandas as pd
>>> from toolkit.features import FeatureSpec, build_features
>>> df = pd.DataFrame({"sku": ["a"] * 4 + ["b"] * 3, "location": "web",
...                    "date": pd.to_datetime(["2024-01-01", "2024-01-02", "2024-01-03",
...                                            "2024-01-04", "2024-01-01", "2024-01-02",
...                                            "2024-01-03"]),
...                    "units": [1.0, 2.0, 3.0, 4.0, 10.0, 20.0, 30.0]})
>>> spec = FeatureSpec(lags=(1,), rolling={2: ("mean",)}, calendar=("dayofweek",), fourier=())
>>> out = build_features(df, spec)
>>> out["rolling_mean_2"].tolist()
[nan, nan, 1.5, 2.5, nan, nan, 15.0]
>>> build_features(df, spec, last_n=1)["lag_1"].tolist()
[3.0, 20.0]
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass, field
from typing import Any, Mapping, Sequence

import numpy as np

from toolkit import backend
from toolkit.errors import DataValidationError
from toolkit.panel import as_list, map_series

__all__ = [
    "FeatureSpec",
    "build_features",
    "add_lags",
    "add_rolling",
    "add_expanding",
    "add_ewm",
    "add_diff",
    "add_pct_change",
    "add_calendar",
    "add_fourier",
    "add_price_features",
    "add_channel_share",
    "add_target_encoding",
    "add_adstock",
    "add_saturation",
    "lag_kernel",
    "rolling_kernel",
    "expanding_kernel",
    "ewm_kernel",
    "CALENDAR_FEATURES",
    "HOLIDAY_FEATURES",
]

DEFAULT_ID_COLS = ("sku", "location")
ROLLING_STATS = ("mean", "std", "min", "max", "sum", "median", "count")
EXPANDING_STATS = ("mean", "std", "count", "sum", "min", "max")
CALENDAR_FEATURES = (
    "dayofweek",
    "day",
    "weekofyear",
    "month",
    "quarter",
    "year",
    "dayofyear",
    "is_weekend",
    "is_month_start",
    "is_month_end",
)
HOLIDAY_FEATURES = ("is_holiday", "holiday_name", "days_to_holiday", "days_since_holiday")
FULL_HISTORY = 2**31 - 1
"""``FeatureSpec.lookback`` of a spec whose features depend on the whole history."""

_NS_PER_DAY = 86_400 * 10**9
_KEYS_SHOWN = 5


# ---------------------------------------------------------------------------------------
# validation and panel layout
# ---------------------------------------------------------------------------------------


def _fail(column: str, problem: str, count: int | None = None, keys: Any = None) -> None:
    raise DataValidationError.for_column(column, problem, count, keys, limit=_KEYS_SHOWN)


def _check_columns(df: Any, columns: Sequence[str], purpose: str) -> None:
    names = set(df.columns)
    for col in columns:
        if col not in names:
            _fail(col, f"missing (needed {purpose}); available columns: {list(df.columns)[:12]}")
    if len(df.columns) != len(names):
        dup = [c for c in names if list(df.columns).count(c) > 1]
        _fail(dup[0], "appears more than once in the frame")


def _check_numeric(df: Any, columns: Sequence[str]) -> None:
    for col in columns:
        dtype = df[col].dtype
        kind = getattr(dtype, "kind", "O")
        if kind not in "biuf":
            _fail(col, f"must be numeric or boolean, got dtype {dtype}")


def _check_time(df: Any, time_col: str) -> None:
    dtype = df[time_col].dtype
    if getattr(dtype, "kind", "O") != "M":
        _fail(time_col, f"must be a datetime64 column (the time axis), got dtype {dtype}; convert it with to_datetime first")
    if getattr(dtype, "tz", None) is not None:
        _fail(time_col, "must be timezone-naive datetime64 (convert to UTC and drop the timezone)")


def _check_not_empty(df: Any, column: str) -> None:
    if len(df) == 0:
        _fail(column, "the frame is empty")


def _offending_keys(df: Any, positions: Any, columns: Sequence[str]) -> list:
    """A few key tuples at ``positions`` (host ints) for error messages."""
    rows = df.iloc[list(positions[:_KEYS_SHOWN])]
    rows = backend.to_host(rows[list(columns)])
    return [tuple(r) for r in rows.itertuples(index=False, name=None)]


def _values_at(df: Any, col: str, rows: Any) -> Any:
    """``_values(df, col)[rows]`` converting only the selected rows when the column allows it."""
    series = df[col]
    if not backend.is_gpu(series) and isinstance(series.dtype, np.dtype) and series.dtype.kind in "fiu":
        return np.take(series.to_numpy(), rows).astype(np.float64)
    return backend.array_namespace(rows).take(_values(df, col), rows)


def _xp_of_frame(df: Any) -> Any:
    """The array namespace matching a frame's library (numpy for pandas, cupy for cudf)."""
    if backend.is_gpu(df):
        import cupy

        return backend.array_namespace(cupy.empty(0))
    return backend.array_namespace(np.empty(0))


def _values(df: Any, col: str, dtype: str = "float64", keep_float: bool = False) -> Any:
    """Column values as a float array of the frame's array library, missing -> NaN.

    ``keep_float``: a NumPy float32/float64 column is returned as it is (no copy).
    """
    series = df[col]
    if keep_float and not backend.is_gpu(series) and isinstance(series.dtype, np.dtype) \
            and series.dtype in (np.float32, np.float64):
        return series.to_numpy()
    if backend.is_gpu(series):
        return series.astype(dtype).to_cupy(na_value=float("nan"))
    if getattr(series.dtype, "kind", "O") == "b":
        return series.to_numpy(dtype=dtype)
    return series.to_numpy(dtype=dtype, na_value=np.nan)


def _key_codes(df: Any, id_cols: Sequence[str], xp: Any) -> Any:
    """One non-negative integer code per row identifying its series (codes need not follow the
    key order). A single key keeps its codes' dtype (category codes are often int8/int16);
    several keys are combined in int64."""
    lib = backend.frame_lib(df)
    combined = None
    for col in id_cols:
        series = df[col]
        if str(series.dtype) == "category":
            codes = series.cat.codes
            size = len(series.cat.categories)
        else:
            codes, uniques = lib.factorize(series)
            size = len(uniques)
        if hasattr(codes, "to_cupy") and backend.is_gpu(df):  # cudf codes of missing keys are null
            codes = codes.astype("int64").fillna(-1).to_cupy()
        codes = xp.asarray(codes if backend.is_gpu(df) else np.asarray(codes))
        if bool(xp.any(codes < 0)):
            bad = xp.nonzero(codes < 0)[0]
            _fail(col, "has missing keys, so rows cannot be assigned to a series", int(bad.shape[0]),
                  _offending_keys(df, _to_host_ints(bad), id_cols))
        if len(id_cols) > 1:
            codes = xp.astype(codes, xp.int64)
        combined = codes if combined is None else combined * max(size, 1) + codes
    return combined


def _to_host_ints(a: Any) -> list[int]:
    return [int(v) for v in backend.to_host(a)[:_KEYS_SHOWN]]


def _time_ints(df: Any, time_col: str, xp: Any, check: bool = True) -> Any:
    series = df[time_col]
    if check and bool(series.isna().any()):
        bad = xp.nonzero(xp.asarray(series.isna().to_cupy() if backend.is_gpu(df) else series.isna().to_numpy()))[0]
        _fail(time_col, "has missing timestamps (NaT), so the panel cannot be sorted in time",
              int(bad.shape[0]), _offending_keys(df, _to_host_ints(bad), [time_col]))
    if backend.is_gpu(df):
        return series.astype("int64").to_cupy()
    return series.to_numpy().view("int64")


class _Segments:
    """Series boundaries of time-sorted, series-contiguous arrays.

    ``seg_starts`` holds the first row of every series; per-row views (``starts[i]``: first
    row of row ``i``'s series, ``pos[i]``: its position within the series) are computed on
    first use only, since the compiled kernels loop over series boundaries directly.
    """

    def __init__(self, xp: Any, n: int, seg_starts: Any, starts: Any = None):
        self.xp = xp
        self.n = n
        self.seg_starts = seg_starts
        self.seg_ends = xp.concat([seg_starts[1:], xp.asarray([n], dtype=seg_starts.dtype)])[: seg_starts.shape[0]]
        self.seg_lengths = self.seg_ends - seg_starts
        if starts is not None:
            self.__dict__["starts"] = starts

    @classmethod
    def from_starts(cls, starts: Any) -> "_Segments":
        """Segments from per-row series starts (the public kernels' input)."""
        xp = backend.array_namespace(starts)
        n = starts.shape[0]
        seg_starts = xp.nonzero(starts == xp.arange(n, dtype=starts.dtype))[0]
        return cls(xp, n, xp.astype(seg_starts, xp.int64), xp.astype(starts, xp.int64))

    @functools.cached_property
    def starts(self) -> Any:
        xp = self.xp
        is_start = xp.zeros(self.n, dtype=xp.int64)
        is_start[self.seg_starts] = 1
        return xp.take(self.seg_starts, xp.cumulative_sum(is_start) - 1) if self.n else xp.zeros(0, dtype=xp.int64)

    @functools.cached_property
    def pos(self) -> Any:
        return self.xp.arange(self.n, dtype=self.xp.int64) - self.starts

    @functools.cached_property
    def row_lengths(self) -> Any:
        """Length of each row's series."""
        xp = self.xp
        return xp.take(self.seg_lengths, xp.cumulative_sum(xp.astype(self.pos == 0, xp.int64)) - 1)


class _Layout(_Segments):
    """How a frame's rows map onto time-sorted, series-contiguous arrays.

    ``order[i]`` is the input row at sorted position ``i`` (``None``: input already sorted);
    ``time`` the int64 timestamps in sorted order.
    """

    def __init__(self, xp: Any, n: int, seg_starts: Any, order: Any, time: Any):
        super().__init__(xp, n, seg_starts)
        self.order = order
        self.time = time

    def gather(self, values: Any) -> Any:
        """Input-ordered array -> sorted order."""
        return values if self.order is None else self.xp.take(values, self.order)

    def scatter(self, values: Any) -> Any:
        """Sorted-order array -> input order."""
        if self.order is None:
            return values
        out = self.xp.empty_like(values)
        out[self.order] = values
        return out


def _layout(df: Any, id_cols: Sequence[str], time_col: str, xp: Any) -> _Layout:
    """Sort order and series boundaries of ``df``; raises on duplicated (keys, time)."""
    n = len(df)
    t = _time_ints(df, time_col, xp)
    key = _key_codes(df, id_cols, xp) if id_cols else xp.zeros(n, dtype=xp.int64)
    kernels = _numba_kernels() if xp.__name__.endswith("numpy") else None
    if kernels is not None:  # one compiled pass: already sorted (the common case) -> series starts
        in_order, seg_starts = kernels["sorted_segments"](key, t)
        if in_order:
            return _Layout(xp, n, seg_starts, None, t)
    order = None
    if n > 1:
        dk = key[1:] - key[:-1]
        dt = t[1:] - t[:-1]
        in_order = bool(xp.all(dk >= 0)) and bool(xp.all((dk != 0) | (dt > 0)))
        if not in_order:
            by_time = xp.argsort(t, stable=True)
            order = xp.take(by_time, xp.argsort(xp.take(key, by_time), stable=True))
            key = xp.take(key, order)
            t = xp.take(t, order)
            dk = key[1:] - key[:-1]
            dt = t[1:] - t[:-1]
        dup = (dk == 0) & (dt == 0)
        if bool(xp.any(dup)):
            where = xp.nonzero(dup)[0]
            rows = xp.take(order, where) if order is not None else where
            _fail(time_col, f"duplicated ({', '.join(id_cols)}, {time_col}) pairs: each series needs one row per time",
                  int(where.shape[0]), _offending_keys(df, _to_host_ints(rows), [*id_cols, time_col]))
        seg_starts = xp.concat([xp.zeros(1, dtype=xp.int64), xp.astype(xp.nonzero(dk != 0)[0], xp.int64) + 1])
    else:
        seg_starts = xp.zeros(n, dtype=xp.int64)
    return _Layout(xp, n, seg_starts, order, t)


def _tail_layout(layout: _Layout, rows: int) -> tuple[_Layout, Any]:
    """Layout of the last ``rows`` rows of every series, and their sorted positions.

    Works from the series boundaries only: the cost grows with the rows kept, not the panel.
    """
    xp = layout.xp
    kept = xp.minimum(layout.seg_lengths, xp.full(layout.seg_lengths.shape, rows, dtype=layout.seg_lengths.dtype))
    kept = xp.astype(kept, xp.int64)
    seg_starts = xp.cumulative_sum(kept) - kept
    total = int(xp.sum(kept)) if kept.shape[0] else 0
    is_start = xp.zeros(total, dtype=xp.int64)
    is_start[seg_starts] = 1
    seg_id = xp.cumulative_sum(is_start) - 1
    first_kept = xp.astype(layout.seg_ends, xp.int64) - kept  # sorted position of each series' first kept row
    keep = xp.take(first_kept - seg_starts, seg_id) + xp.arange(total, dtype=xp.int64) if total else seg_id
    order = xp.take(layout.order, keep) if layout.order is not None else keep
    return _Layout(xp, total, seg_starts, order, xp.take(layout.time, keep)), keep


def _check_lengths(layout: _Layout, need: int, column: str, what: str) -> None:
    """Raise when ``need`` rows of history exceed every series (all values would be NaN)."""
    longest = int(layout.xp.max(layout.seg_lengths)) if layout.n else 0
    if need >= longest:
        _fail(column, f"{what} needs {need} earlier rows but the longest series has {longest} rows, "
                      "so every value would be NaN", layout.n)


# ---------------------------------------------------------------------------------------
# kernels: sorted 1-D arrays + segment starts in, arrays out
# ---------------------------------------------------------------------------------------


def _engine(xp: Any, engine: str) -> str:
    if engine not in ("auto", "array", "numba"):
        raise ValueError(f"engine must be 'auto', 'array' or 'numba', got {engine!r}")
    if engine == "auto":
        return "numba" if xp.__name__.endswith("numpy") and _numba_kernels() is not None else "array"
    if engine == "numba" and not xp.__name__.endswith("numpy"):
        raise ValueError("engine='numba' runs on NumPy arrays only; use 'array' for CuPy")
    return engine


def _kernel_input(x: Any, xp: Any, engine: str) -> Any:
    """Values as the kernels read them: float32/float64 as they are for the compiled kernels
    (which accumulate in float64), float64 for the array engine."""
    if engine == "numba" and x.dtype in (np.float32, np.float64):
        return x
    return xp.astype(x, xp.float64, copy=False)


def _segments(starts: Any) -> _Segments:
    """Per-row series starts (public kernel input) or an internal layout -> segments."""
    return starts if isinstance(starts, _Segments) else _Segments.from_starts(starts)


def _window_bounds(starts: Any, window: int | None, shift: int, xp: Any) -> tuple[Any, Any]:
    """Half-open bounds ``[lo, hi)`` of each row's window over rows ``t-shift-window+1..t-shift``."""
    n = starts.shape[0]
    hi = xp.arange(n, dtype=xp.int64) - shift + 1
    lo = starts if window is None else xp.maximum(hi - window, starts)
    return lo, xp.maximum(hi, lo)


def lag_kernel(x: Any, starts: Any, k: int) -> Any:
    """Value ``k`` rows back within each series (NaN where the series has fewer rows).

    Parameters
    ----------
    x : array
        Values in sorted order (series contiguous, time ascending).
    starts : array of int64
        For every row, the position of its series' first row.
    k : int
        Rows back (``k >= 0``).

    Returns
    -------
    array of float64, same namespace as ``x``.

    Examples
    --------
    >>> import numpy as np
    >>> lag_kernel(np.array([1., 2., 3., 4.]), np.array([0, 0, 2, 2]), 1).tolist()
    [nan, 1.0, nan, 3.0]
    """
    xp = backend.array_namespace(x)
    return _lag(x, _segments(starts).seg_starts, k, xp)


def _lag(x: Any, seg_starts: Any, k: int, xp: Any) -> Any:
    """:func:`lag_kernel` given the first row of every series: a shifted copy, then NaN on the
    first ``k`` rows of each series (a scatter of ``series * k`` rows, not a pass over all rows)."""
    n = x.shape[0]
    if k == 0:
        return xp.astype(x, xp.float64, copy=True)
    out = xp.empty(n, dtype=xp.float64)  # float32 input is widened while it is copied
    out[: min(k, n)] = xp.nan
    if n > k:
        out[k:] = x[: n - k]
    # rows past a short series' end belong to the next series, where they are within k rows of its start too
    head = xp.reshape(seg_starts[:, None] + xp.arange(k, dtype=seg_starts.dtype)[None, :], (-1,))
    out[head[head < n]] = xp.nan
    return out


def _prefix(values: Any, xp: Any) -> Any:
    return xp.concat([xp.zeros(1, dtype=values.dtype), xp.cumulative_sum(values)])


def _moments_array(x: Any, lo: Any, hi: Any, stats: Sequence[str], min_periods: int, xp: Any,
                   ref: Any) -> dict:
    """sum/mean/std/count over ``x[lo:hi]`` per row from prefix sums (NaNs skipped).

    ``ref`` (per row, constant within a series) is subtracted before summing and added back
    to sums and means: centred values keep the prefix sums small, so less cancels.
    """
    valid = ~xp.isnan(x)
    xc = xp.where(valid, x - ref, xp.zeros_like(x))
    cnt_p = _prefix(xp.astype(valid, xp.int64), xp)
    cnt = xp.take(cnt_p, hi) - xp.take(cnt_p, lo)
    out = {}
    enough = cnt >= max(min_periods, 1)
    nan = xp.asarray(xp.nan, dtype=xp.float64)
    s1_p = _prefix(xp.astype(xc, xp.float64), xp)
    s1 = xp.take(s1_p, hi) - xp.take(s1_p, lo)
    cntf = xp.astype(cnt, xp.float64)
    mean = s1 / xp.maximum(cntf, xp.ones_like(cntf))
    for stat in stats:
        if stat == "count":
            out[stat] = xp.where(cnt >= min_periods, cntf, nan)
        elif stat == "sum":
            out[stat] = xp.where(enough, s1 + cntf * ref, nan)
        elif stat == "mean":
            out[stat] = xp.where(enough, mean + ref, nan)
        elif stat == "std":
            # second moment about the window mean: sum((x - m)^2) = sum(x^2) - s1 * m
            s2_p = _prefix(xc * xc, xp)
            s2 = xp.take(s2_p, hi) - xp.take(s2_p, lo)
            var = (s2 - s1 * mean) / xp.maximum(cntf - 1.0, xp.ones_like(cntf))
            var = xp.maximum(var, xp.zeros_like(var))
            out[stat] = xp.where(enough & (cnt >= 2), xp.sqrt(var), nan)
    return out


def _extreme_array(x: Any, lo: Any, hi: Any, stat: str, min_periods: int, xp: Any) -> Any:
    """min or max over ``x[lo:hi]`` per row from a sparse table of power-of-two windows."""
    n = x.shape[0]
    fill = math.inf if stat == "min" else -math.inf
    big = xp.asarray(fill, dtype=xp.float64)
    pick = xp.minimum if stat == "min" else xp.maximum
    valid = ~xp.isnan(x)
    level = xp.where(valid, xp.astype(x, xp.float64), big)
    length = hi - lo
    longest = int(xp.max(length)) if n else 0
    levels = [level]
    step = 1
    while step * 2 <= longest:
        shifted = xp.concat([xp.full(step, fill, dtype=xp.float64), level[:-step]]) if n > step else xp.full(n, fill, dtype=xp.float64)
        level = pick(level, shifted)
        levels.append(level)
        step *= 2
    table = xp.reshape(xp.stack(levels), (-1,))
    safe = xp.maximum(length, xp.ones_like(length))
    k = xp.astype(xp.floor(xp.log2(xp.astype(safe, xp.float64))), xp.int64)
    k = xp.where(2 ** (k + 1) <= safe, k + 1, k)
    k = xp.where(2**k > safe, k - 1, k)
    k = xp.minimum(k, xp.asarray(len(levels) - 1, dtype=xp.int64))
    width = 2**k
    end = xp.maximum(hi - 1, xp.zeros_like(hi))
    first = xp.minimum(lo + width - 1, end)
    res = pick(xp.take(table, k * n + end), xp.take(table, k * n + first))
    cnt_p = _prefix(xp.astype(valid, xp.int64), xp)
    cnt = xp.take(cnt_p, hi) - xp.take(cnt_p, lo)
    return xp.where((cnt >= max(min_periods, 1)) & (length > 0), res, xp.asarray(xp.nan, dtype=xp.float64))


def _quantile_array(x: Any, lo: Any, hi: Any, q: float, window: int, min_periods: int, xp: Any) -> Any:
    """Linear-interpolated quantile over ``x[lo:hi]`` per row: sort a strided view of each window."""
    n = x.shape[0]
    out = xp.full(n, xp.nan, dtype=xp.float64)
    xf = xp.astype(x, xp.float64)
    offsets = xp.arange(window, dtype=xp.int64)
    block = max(1, 2**22 // max(window, 1))
    nan = xp.asarray(xp.nan, dtype=xp.float64)
    for begin in range(0, n, block):  # blocks of rows bound the (rows, window) working set
        h = hi[begin:begin + block]
        low = lo[begin:begin + block]
        idx = h[:, None] - 1 - offsets[None, :]
        inside = idx >= low[:, None]
        vals = xp.take(xf, xp.reshape(xp.maximum(idx, xp.zeros_like(idx)), (-1,)))
        vals = xp.where(inside, xp.reshape(vals, idx.shape), nan)
        vals = xp.sort(vals, axis=1)  # NaN sort last
        cnt = xp.sum(xp.astype(~xp.isnan(vals), xp.int64), axis=1)
        at = q * xp.astype(xp.maximum(cnt - 1, xp.zeros_like(cnt)), xp.float64)
        below = xp.astype(xp.floor(at), xp.int64)
        above = xp.minimum(below + 1, xp.maximum(cnt - 1, xp.zeros_like(cnt)))
        v0 = xp.take_along_axis(vals, below[:, None], axis=1)[:, 0]
        v1 = xp.take_along_axis(vals, above[:, None], axis=1)[:, 0]
        res = v0 + (v1 - v0) * (at - xp.astype(below, xp.float64))
        out[begin:begin + block] = xp.where(cnt >= max(min_periods, 1), res, nan)
    return out


@functools.lru_cache(maxsize=1)
def _numba_kernels() -> Any:
    """Compiled CPU kernels (None when numba is unavailable); compiled on first use, cached on disk."""
    try:
        import numba
    except ImportError:  # pragma: no cover - numba is a declared dependency
        return None

    @numba.njit(cache=True, nogil=True)
    def rolling(x, seg_starts, seg_ends, window, shift, want, min_periods):
        # want[c]: compute statistic c (sum, mean, std, min, max, count); one output array each
        # (empty when not wanted). One sliding pass per series: add the value entering the
        # window, drop the one leaving it; values are centred on the series' first value.
        n = x.shape[0]
        o_sum = np.empty(n if want[0] else 0)
        o_mean = np.empty(n if want[1] else 0)
        o_std = np.empty(n if want[2] else 0)
        o_min = np.empty(n if want[3] else 0)
        o_max = np.empty(n if want[4] else 0)
        o_cnt = np.empty(n if want[5] else 0)
        extremes = want[3] or want[4]
        need = max(min_periods, 1)
        for seg in range(seg_starts.shape[0]):
            s = seg_starts[seg]
            cnt = 0
            s1 = 0.0
            s2 = 0.0
            ref = x[s] if x[s] == x[s] else 0.0
            for i in range(s, seg_ends[seg]):
                j = i - shift  # row entering the window
                if j >= s:
                    v = x[j]
                    if v == v:
                        d = v - ref
                        cnt += 1
                        s1 += d
                        s2 += d * d
                    k = j - window  # row leaving it
                    if k >= s:
                        v = x[k]
                        if v == v:
                            d = v - ref
                            cnt -= 1
                            s1 -= d
                            s2 -= d * d
                            if cnt == 0:
                                s1 = 0.0
                                s2 = 0.0
                ok = cnt >= need
                if want[5]:
                    o_cnt[i] = cnt if cnt >= min_periods else np.nan
                if want[0]:
                    o_sum[i] = s1 + cnt * ref if ok else np.nan
                if want[1]:
                    o_mean[i] = s1 / cnt + ref if ok else np.nan
                if want[2]:
                    if ok and cnt >= 2:
                        var = (s2 - s1 * s1 / cnt) / (cnt - 1)
                        o_std[i] = np.sqrt(var) if var > 0.0 else 0.0
                    else:
                        o_std[i] = np.nan
                if extremes:
                    low = np.inf
                    high = -np.inf
                    for jj in range(max(j - window + 1, s), j + 1):
                        v = x[jj]
                        if v == v:
                            low = min(low, v)
                            high = max(high, v)
                    if want[3]:
                        o_min[i] = low if ok else np.nan
                    if want[4]:
                        o_max[i] = high if ok else np.nan
        return o_sum, o_mean, o_std, o_min, o_max, o_cnt

    @numba.njit(cache=True, nogil=True)
    def expanding(x, seg_starts, seg_ends, shift, want, min_periods):
        # running count/sum/mean/M2 (Welford)/min/max per series; the value of row i uses
        # rows up to i - shift, so the row is written before its own value is added
        n = x.shape[0]
        o_sum = np.empty(n if want[0] else 0)
        o_mean = np.empty(n if want[1] else 0)
        o_std = np.empty(n if want[2] else 0)
        o_min = np.empty(n if want[3] else 0)
        o_max = np.empty(n if want[4] else 0)
        o_cnt = np.empty(n if want[5] else 0)
        need = max(min_periods, 1)
        for seg in range(seg_starts.shape[0]):
            s = seg_starts[seg]
            cnt = 0
            mean = 0.0
            m2 = 0.0
            total = 0.0
            low = np.inf
            high = -np.inf
            for i in range(s, seg_ends[seg]):
                j = i - shift
                if j >= s:
                    v = x[j]
                    if v == v:
                        cnt += 1
                        total += v
                        delta = v - mean
                        mean += delta / cnt
                        m2 += delta * (v - mean)
                        low = min(low, v)
                        high = max(high, v)
                ok = cnt >= need
                if want[5]:
                    o_cnt[i] = cnt if cnt >= min_periods else np.nan
                if want[0]:
                    o_sum[i] = total if ok else np.nan
                if want[1]:
                    o_mean[i] = mean if ok else np.nan
                if want[2]:
                    o_std[i] = np.sqrt(m2 / (cnt - 1)) if ok and cnt >= 2 else np.nan
                if want[3]:
                    o_min[i] = low if ok else np.nan
                if want[4]:
                    o_max[i] = high if ok else np.nan
        return o_sum, o_mean, o_std, o_min, o_max, o_cnt

    @numba.njit(cache=True, nogil=True)
    def ewm(x, seg_starts, seg_ends, alpha, shift):
        # pandas ewm(alpha, adjust=False, ignore_na=False).mean() per series, lagged by shift
        n = x.shape[0]
        out = np.empty(n)
        for seg in range(seg_starts.shape[0]):
            s = seg_starts[seg]
            e = seg_ends[seg]
            for i in range(s, min(s + shift, e)):
                out[i] = np.nan
            weighted = np.nan
            old_wt = 1.0
            for j in range(s, e - shift):
                v = x[j]
                if j == s:
                    weighted = v
                elif weighted == weighted:
                    old_wt *= 1.0 - alpha
                    if v == v:
                        weighted = (old_wt * weighted + alpha * v) / (old_wt + alpha)
                        old_wt = 1.0
                elif v == v:
                    weighted = v
                out[j + shift] = weighted
        return out

    @numba.njit(cache=True, nogil=True)
    def sorted_segments(key, t):
        # (True, first row of each series) when rows are sorted by key then strictly by time
        n = key.shape[0]
        count = 1 if n > 0 else 0
        for i in range(1, n):
            if key[i] < key[i - 1] or (key[i] == key[i - 1] and t[i] <= t[i - 1]):
                return False, np.empty(0, np.int64)
            if key[i] != key[i - 1]:
                count += 1
        out = np.empty(count, np.int64)
        c = 0
        for i in range(n):
            if i == 0 or key[i] != key[i - 1]:
                out[c] = i
                c += 1
        return True, out

    return {"rolling": rolling, "expanding": expanding, "ewm": ewm, "sorted_segments": sorted_segments}


_STAT_CODES = {"sum": 0, "mean": 1, "std": 2, "min": 3, "max": 4, "count": 5}


def _parse_stat(stat: str) -> tuple[str, float | None]:
    """``'median'`` -> quantile 0.5, ``'q0.9'`` -> quantile 0.9, other names unchanged."""
    if stat == "median":
        return "quantile", 0.5
    if isinstance(stat, str) and stat.startswith("q"):
        try:
            q = float(stat[1:])
        except ValueError:
            q = -1.0
        if not 0.0 <= q <= 1.0:
            raise ValueError(f"quantile statistic {stat!r} must look like 'q0.9' with 0 <= q <= 1")
        return "quantile", q
    if stat not in _STAT_CODES:
        raise ValueError(f"unknown statistic {stat!r}; choose among {ROLLING_STATS} or 'q<level>'")
    return stat, None


def rolling_kernel(
    x: Any,
    starts: Any,
    window: int | None,
    stats: Sequence[str] = ("mean",),
    shift: int = 1,
    min_periods: int | None = None,
    engine: str = "auto",
) -> dict:
    """Window statistics of each series over rows ``t-shift-window+1 .. t-shift``.

    Parameters
    ----------
    x : array
        Values in sorted order (series contiguous, time ascending); NaN are skipped.
    starts : array of int64
        For every row, the position of its series' first row.
    window : int or None
        Rows per window; ``None`` for an expanding window (all earlier rows).
    stats : sequence of str
        Among ``sum, mean, std, min, max, count, median`` and ``'q<level>'`` (quantile,
        linear interpolation as in pandas).
    shift : int, default 1
        Rows between the end of the window and the row (``>= 0``; 1 excludes the row itself).
    min_periods : int, optional
        Non-missing values a window needs, else NaN (default: ``window``; 1 for expanding).
    engine : {"auto", "array", "numba"}
        ``"array"`` runs on NumPy and CuPy; ``"numba"`` on NumPy only; ``"auto"`` picks numba
        for NumPy input.

    Returns
    -------
    dict
        ``stat -> array of float64``; ``std`` uses ``ddof=1``; every statistic, ``count``
        included, is NaN where the window holds fewer than ``min_periods`` values.

    Examples
    --------
    >>> import numpy as np
    >>> x = np.array([1., 2., 3., 4., 5.])
    >>> rolling_kernel(x, np.zeros(5, dtype=np.int64), 2, ("sum",))["sum"].tolist()
    [nan, nan, 3.0, 5.0, 7.0]
    """
    xp = backend.array_namespace(x)
    engine = _engine(xp, engine)
    seg = _segments(starts)
    if min_periods is None:
        min_periods = 1 if window is None else window
    parsed = [(stat, *_parse_stat(stat)) for stat in stats]
    out: dict = {}
    x = _kernel_input(x, xp, engine)
    if engine == "numba":
        names = [s for s, kind, _ in parsed if kind != "quantile"]
        if names:
            want = np.zeros(len(_STAT_CODES), dtype=np.bool_)
            want[[_STAT_CODES[s] for s in names]] = True
            kernels = _numba_kernels()
            if window is None:
                raw = kernels["expanding"](x, seg.seg_starts, seg.seg_ends, int(shift), want, int(min_periods))
            else:
                raw = kernels["rolling"](x, seg.seg_starts, seg.seg_ends, int(window), int(shift), want,
                                         int(min_periods))
            out.update({name: raw[_STAT_CODES[name]] for name in names})
        parsed = [p for p in parsed if p[1] == "quantile"]
    lo, hi = _window_bounds(seg.starts, window, shift, xp) if parsed else (None, None)
    if engine == "array":
        moments = [s for s, kind, _ in parsed if kind in ("sum", "mean", "std", "count")]
        if moments:
            first = xp.take(x, seg.starts)  # each series' first value (0 when missing)
            ref = xp.where(xp.isnan(first), xp.zeros_like(first), first)
            out.update(_moments_array(x, lo, hi, moments, min_periods, xp, ref))
        for stat, kind, _ in parsed:
            if kind in ("min", "max"):
                out[stat] = _extreme_array(x, lo, hi, kind, min_periods, xp)
    for stat, kind, q in parsed:
        if kind == "quantile":
            width = int(xp.max(hi - lo)) if x.shape[0] else 1
            out[stat] = _quantile_array(x, lo, hi, q, max(width, 1), min_periods, xp)
    return {stat: out[stat] for stat in stats}


def expanding_kernel(
    x: Any, starts: Any, stats: Sequence[str] = ("mean",), shift: int = 1, min_periods: int = 1, engine: str = "auto"
) -> dict:
    """Expanding statistics over all rows up to ``t - shift`` of each series.

    Same as :func:`rolling_kernel` with ``window=None``; see there for the parameters.

    Examples
    --------
    >>> import numpy as np
    >>> expanding_kernel(np.array([1., 2., 3.]), np.zeros(3, dtype=np.int64), ("mean",))["mean"].tolist()
    [nan, 1.0, 1.5]
    """
    return rolling_kernel(x, starts, None, stats, shift, min_periods, engine)


def _ewm_scan(x: Any, seg: _Segments, alpha: float, xp: Any) -> Any:
    """pandas ``ewm(alpha, adjust=False).mean()`` per series as a log-depth scan of
    ``w_t = a_t * w_{t-1} + b_t`` (the carry-over weight depends on the NaN gap length)."""
    n = x.shape[0]
    starts = seg.starts
    idx = xp.arange(n, dtype=xp.int64)
    obs = ~xp.isnan(x)
    # position of the latest observation at or before each row within its series
    cnt_p = _prefix(xp.astype(obs, xp.int64), xp)
    seen = xp.take(cnt_p, idx + 1) - xp.take(cnt_p, starts)
    obs_pos = xp.nonzero(obs)[0]
    prev_count = xp.take(cnt_p, idx)  # observations strictly before the row (global)
    prev_seen = prev_count - xp.take(cnt_p, starts)
    last_prev = xp.take(obs_pos, xp.maximum(prev_count - 1, xp.zeros_like(prev_count))) if obs_pos.shape[0] else idx
    gap = xp.astype(idx - last_prev, xp.float64)  # rows since the previous observation
    carry = (1.0 - alpha) ** gap
    a = xp.where(obs & (prev_seen > 0), carry / (carry + alpha), xp.where(obs, 0.0, 1.0))
    b = xp.where(obs, (1.0 - a) * xp.where(obs, x, 0.0), 0.0)
    a = xp.where(idx == starts, xp.zeros_like(a), a)
    a = xp.astype(a, xp.float64)
    b = xp.astype(b, xp.float64)
    step = 1
    while step < n:  # Hillis-Steele inclusive scan of affine maps
        a_prev = xp.concat([xp.ones(step, dtype=xp.float64), a[:-step]])
        b_prev = xp.concat([xp.zeros(step, dtype=xp.float64), b[:-step]])
        b = a * b_prev + b
        a = a * a_prev
        step *= 2
    return xp.where(seen > 0, b, xp.asarray(xp.nan, dtype=xp.float64))


def ewm_kernel(x: Any, starts: Any, alpha: float, shift: int = 1, engine: str = "auto") -> Any:
    """Exponentially weighted mean of each series over rows up to ``t - shift``.

    Matches ``pandas.Series.ewm(alpha=alpha, adjust=False).mean()`` (missing values keep
    their place in time: the weight of older values decays across a gap), applied per series
    and then lagged by ``shift`` rows.

    Parameters
    ----------
    x : array
        Values in sorted order; NaN allowed.
    starts : array of int64
        For every row, the position of its series' first row.
    alpha : float
        Smoothing factor in ``(0, 1]``.
    shift : int, default 1
    engine : {"auto", "array", "numba"}

    Returns
    -------
    array of float64

    Examples
    --------
    >>> import numpy as np
    >>> ewm_kernel(np.array([1., 3., 5.]), np.zeros(3, dtype=np.int64), 0.5).tolist()
    [nan, 1.0, 2.0]
    """
    if not 0.0 < alpha <= 1.0:
        raise ValueError(f"alpha must be in (0, 1], got {alpha}")
    xp = backend.array_namespace(x)
    engine = _engine(xp, engine)
    x = _kernel_input(x, xp, engine)
    seg = _segments(starts)
    if engine == "numba":
        return _numba_kernels()["ewm"](x, seg.seg_starts, seg.seg_ends, float(alpha), int(shift))
    return _lag(_ewm_scan(x, seg, float(alpha), xp), seg.seg_starts, shift, xp)


# ---------------------------------------------------------------------------------------
# frame plumbing
# ---------------------------------------------------------------------------------------


def _assign(df: Any, columns: Mapping[str, Any]) -> Any:
    """``df`` with ``columns`` (arrays in input order) added or replaced; index kept.

    Built with one column-wise concat of a frame that wraps the arrays without copying
    (``DataFrame.__setitem__`` would copy every feature column once more).
    """
    lib = backend.frame_lib(df)
    replaced = [name for name in columns if name in df.columns]
    base = df.drop(columns=replaced) if replaced else df
    if not columns:
        return base.copy(deep=False)
    if lib.__name__ == "pandas":
        extra = lib.DataFrame(dict(columns), index=df.index, copy=False)
    else:
        extra = lib.DataFrame(dict(columns), index=df.index)
    return lib.concat([base, extra], axis=1)


def _suffix(shift: int) -> str:
    return "" if shift == 1 else f"_shift{shift}"


def _check_shift(shift: int, name: str = "shift") -> None:
    if int(shift) != shift or shift < 1:
        raise ValueError(f"{name} must be an integer >= 1 so that no feature sees the value it predicts, got {shift}")


def _per_series(df: Any, func: Any, keys: Sequence[str], tcol: str, **kwargs: Any) -> Any:
    """Run ``func`` on an in-memory frame, or lazily on every series partition of a Dask frame.

    On a Dask frame the partitions skip the whole-panel checks (``strict=False``).
    """
    if backend.is_dask(df):
        part = functools.partial(func, **kwargs, strict=False)
        return map_series(df, part, keys, tcol, meta=part(df._meta))
    return func(df, **kwargs)


def _prepare(df: Any, id_cols: Sequence[str], time_col: str, columns: Sequence[str], purpose: str,
             numeric: Sequence[str] = ()) -> tuple[Any, _Layout]:
    _check_columns(df, [*id_cols, time_col, *columns], purpose)
    _check_time(df, time_col)
    _check_numeric(df, numeric)
    xp = _xp_of_frame(df)
    return xp, _layout(df, id_cols, time_col, xp)


def _empty_like(df: Any, names: Sequence[str], xp: Any) -> Any:
    return _assign(df, {name: xp.zeros(0, dtype=xp.float64) for name in names})


# ---------------------------------------------------------------------------------------
# per-series target features
# ---------------------------------------------------------------------------------------


def _lags_frame(df, lags, target_col, id_cols, time_col, strict=True):
    xp, layout = _prepare(df, id_cols, time_col, [target_col], "for lag features", [target_col])
    names = [f"lag_{k}" for k in lags]
    if strict:
        _check_not_empty(df, target_col)
    if strict:
        _check_lengths(layout, max(lags), target_col, f"lag {max(lags)}")
    x = layout.gather(_values(df, target_col))
    return _assign(df, {name: layout.scatter(_lag(x, layout.seg_starts, k, xp)) for name, k in zip(names, lags)})


def _check_min_periods(min_periods: int | None, window: int) -> None:
    if min_periods is not None and (int(min_periods) != min_periods or not 0 <= min_periods <= window):
        raise ValueError(f"min_periods must be an integer between 0 and the window ({window}), got {min_periods}")


def _positive_ints(values: Any, name: str) -> tuple[int, ...]:
    values = (values,) if isinstance(values, (int, np.integer)) else tuple(values)
    if not values or any(int(v) != v or v < 1 for v in values):
        raise ValueError(f"{name} must be positive integers, got {values}")
    return tuple(int(v) for v in values)


def add_lags(
    df: Any,
    lags: int | Sequence[int],
    target_col: str = "units",
    id_cols: str | Sequence[str] = DEFAULT_ID_COLS,
    time_col: str = "date",
) -> Any:
    """Add ``lag_k``: the target ``k`` rows earlier in the same series.

    Parameters
    ----------
    df : pandas, cudf or Dask DataFrame
        Long-format panel, one row per (series, time); need not be sorted.
    lags : int or sequence of int
        Positive row offsets.
    target_col, id_cols, time_col : str
        The usual column names (``id_cols`` may be a list).

    Returns
    -------
    frame
        Same kind as ``df``: all input columns plus ``lag_k`` (float64), rows in input order.

    Raises
    ------
    DataValidationError
        Missing column, non-datetime time column, duplicated (keys, time), missing keys or
        timestamps, or a lag at least as long as every series.

    Examples
    --------
    >>> import pandas as pd
    >>> df = pd.DataFrame({"sku": ["a", "a", "a"], "date": pd.date_range("2024-01-01", periods=3),
    ...                    "units": [1.0, 2.0, 3.0]})
    >>> add_lags(df, [1, 2], id_cols="sku")[["lag_1", "lag_2"]].values.tolist()
    [[nan, nan], [1.0, nan], [2.0, 1.0]]
    """
    ids = as_list(id_cols)
    return _per_series(df, _lags_frame, ids, time_col, lags=_positive_ints(lags, "lags"),
                       target_col=target_col, id_cols=ids, time_col=time_col)


def _rolling_frame(df, windows, stats, shift, min_periods, target_col, id_cols, time_col, engine="auto", strict=True):
    xp, layout = _prepare(df, id_cols, time_col, [target_col], "for rolling features", [target_col])
    names = {(w, s): f"rolling_{s}_{w}{_suffix(shift)}" for w in windows for s in stats}
    if strict:
        _check_not_empty(df, target_col)
    if strict and min_periods is None:
        _check_lengths(layout, shift + min(windows) - 1, target_col, f"rolling window {min(windows)} with shift {shift}")
    x = layout.gather(_values(df, target_col))
    cols = {}
    for w in windows:
        res = rolling_kernel(x, layout, w, stats, shift, min_periods, engine)
        cols.update({names[(w, s)]: layout.scatter(res[s]) for s in stats})
    return _assign(df, cols)


def add_rolling(
    df: Any,
    windows: int | Sequence[int],
    stats: Sequence[str] = ("mean",),
    shift: int = 1,
    min_periods: int | None = None,
    target_col: str = "units",
    id_cols: str | Sequence[str] = DEFAULT_ID_COLS,
    time_col: str = "date",
) -> Any:
    """Add rolling-window statistics of the target, computed on values shifted by ``shift``.

    The window of row ``t`` covers rows ``t-shift-window+1 .. t-shift`` of its series, so with
    the default ``shift=1`` the row's own value is never used. Missing values are skipped;
    windows with fewer than ``min_periods`` non-missing values give NaN.

    Parameters
    ----------
    df : pandas, cudf or Dask DataFrame
    windows : int or sequence of int
        Window lengths in rows.
    stats : sequence of str, default ("mean",)
        Among ``mean, std, min, max, sum, median, count`` and ``'q<level>'`` (e.g. ``'q0.9'``).
    shift : int, default 1
        ``>= 1``.
    min_periods : int, optional
        Default: the window length.
    target_col, id_cols, time_col : str

    Returns
    -------
    frame
        Input columns plus ``rolling_{stat}_{window}`` (float64), rows in input order.

    Examples
    --------
    >>> import pandas as pd
    >>> df = pd.DataFrame({"sku": "a", "date": pd.date_range("2024-01-01", periods=4),
    ...                    "units": [1.0, 2.0, 3.0, 4.0]})
    >>> add_rolling(df, 2, ("mean", "max"), id_cols="sku")["rolling_max_2"].tolist()
    [nan, nan, 2.0, 3.0]
    """
    _check_shift(shift)
    for stat in stats:
        _parse_stat(stat)
    windows = _positive_ints(windows, "windows")
    _check_min_periods(min_periods, min(windows))
    ids = as_list(id_cols)
    return _per_series(df, _rolling_frame, ids, time_col, windows=windows,
                       stats=tuple(stats), shift=int(shift), min_periods=min_periods,
                       target_col=target_col, id_cols=ids, time_col=time_col)


def _expanding_frame(df, stats, shift, min_periods, target_col, id_cols, time_col, strict=True):
    xp, layout = _prepare(df, id_cols, time_col, [target_col], "for expanding features", [target_col])
    names = [f"expanding_{s}{_suffix(shift)}" for s in stats]
    if strict:
        _check_not_empty(df, target_col)
    x = layout.gather(_values(df, target_col))
    res = expanding_kernel(x, layout, stats, shift, min_periods)
    return _assign(df, {name: layout.scatter(res[s]) for name, s in zip(names, stats)})


def add_expanding(
    df: Any,
    stats: Sequence[str] = ("mean",),
    shift: int = 1,
    min_periods: int = 1,
    target_col: str = "units",
    id_cols: str | Sequence[str] = DEFAULT_ID_COLS,
    time_col: str = "date",
) -> Any:
    """Add expanding statistics of the target over all rows up to ``t - shift`` of each series.

    Parameters
    ----------
    df : pandas, cudf or Dask DataFrame
    stats : sequence of str, default ("mean",)
        Among ``mean, std, count, sum, min, max``.
    shift : int, default 1
    min_periods : int, default 1
    target_col, id_cols, time_col : str

    Returns
    -------
    frame
        Input columns plus ``expanding_{stat}`` (float64), rows in input order.

    Examples
    --------
    >>> import pandas as pd
    >>> df = pd.DataFrame({"sku": "a", "date": pd.date_range("2024-01-01", periods=3),
    ...                    "units": [2.0, 4.0, 9.0]})
    >>> add_expanding(df, ("mean", "count"), id_cols="sku")["expanding_mean"].tolist()
    [nan, 2.0, 3.0]
    """
    _check_shift(shift)
    for stat in stats:
        if stat not in EXPANDING_STATS:
            raise ValueError(f"unknown expanding statistic {stat!r}; choose among {EXPANDING_STATS}")
    ids = as_list(id_cols)
    return _per_series(df, _expanding_frame, ids, time_col, stats=tuple(stats), shift=int(shift),
                       min_periods=int(min_periods), target_col=target_col, id_cols=ids, time_col=time_col)


def _ewm_frame(df, alphas, names, shift, target_col, id_cols, time_col, strict=True):
    xp, layout = _prepare(df, id_cols, time_col, [target_col], "for EWM features", [target_col])
    if strict:
        _check_not_empty(df, target_col)
    x = layout.gather(_values(df, target_col))
    return _assign(df, {name: layout.scatter(ewm_kernel(x, layout, a, shift)) for name, a in zip(names, alphas)})


def _ewm_names(alphas: Sequence[float], spans: Sequence[float], shift: int) -> tuple[list[float], list[str]]:
    values, names = [], []
    for a in alphas:
        values.append(float(a))
        names.append(f"ewm_mean_{a:g}{_suffix(shift)}")
    for s in spans:
        if s < 1:
            raise ValueError(f"EWM spans must be >= 1, got {s}")
        values.append(2.0 / (float(s) + 1.0))
        names.append(f"ewm_mean_span{s:g}{_suffix(shift)}")
    for a in values:
        if not 0.0 < a <= 1.0:
            raise ValueError(f"EWM alpha must be in (0, 1], got {a}")
    return values, names


def add_ewm(
    df: Any,
    alphas: Sequence[float] = (),
    spans: Sequence[float] = (),
    shift: int = 1,
    target_col: str = "units",
    id_cols: str | Sequence[str] = DEFAULT_ID_COLS,
    time_col: str = "date",
) -> Any:
    """Add exponentially weighted means of the target (``adjust=False`` recursion), shifted.

    ``ewm_t = alpha * y_t + (1 - alpha) * ewm_{t-1}`` per series, as
    ``pandas.Series.ewm(alpha=..., adjust=False).mean()``, then lagged by ``shift`` rows.

    Parameters
    ----------
    df : pandas, cudf or Dask DataFrame
    alphas : sequence of float
        Smoothing factors in ``(0, 1]``; column ``ewm_mean_{alpha}``.
    spans : sequence of float
        Spans (``alpha = 2 / (span + 1)``); column ``ewm_mean_span{span}``.
    shift : int, default 1
    target_col, id_cols, time_col : str

    Returns
    -------
    frame

    Examples
    --------
    >>> import pandas as pd
    >>> df = pd.DataFrame({"sku": "a", "date": pd.date_range("2024-01-01", periods=3),
    ...                    "units": [2.0, 4.0, 9.0]})
    >>> add_ewm(df, alphas=[0.5], id_cols="sku")["ewm_mean_0.5"].tolist()
    [nan, 2.0, 3.0]
    """
    _check_shift(shift)
    values, names = _ewm_names(alphas, spans, int(shift))
    if not values:
        raise ValueError("give at least one of alphas or spans")
    ids = as_list(id_cols)
    return _per_series(df, _ewm_frame, ids, time_col, alphas=tuple(values), names=tuple(names), shift=int(shift),
                       target_col=target_col, id_cols=ids, time_col=time_col)


def _change_frame(df, periods, shift, kind, target_col, id_cols, time_col, strict=True):
    xp, layout = _prepare(df, id_cols, time_col, [target_col], f"for {kind} features", [target_col])
    names = [f"{kind}_{k}{_suffix(shift)}" for k in periods]
    if strict:
        _check_not_empty(df, target_col)
    if strict:
        _check_lengths(layout, shift + max(periods), target_col, f"{kind} {max(periods)} with shift {shift}")
    x = layout.gather(_values(df, target_col))
    base = _lag(x, layout.seg_starts, shift, xp)
    cols = {}
    for name, k in zip(names, periods):
        past = _lag(x, layout.seg_starts, shift + k, xp)
        if kind == "diff":
            val = base - past
        else:
            # a zero base gives +-inf (or NaN for 0/0), as pandas pct_change does
            with np.errstate(divide="ignore", invalid="ignore"):
                val = base / past - 1.0
        cols[name] = layout.scatter(val)
    return _assign(df, cols)


def add_diff(
    df: Any,
    periods: int | Sequence[int] = 1,
    shift: int = 1,
    target_col: str = "units",
    id_cols: str | Sequence[str] = DEFAULT_ID_COLS,
    time_col: str = "date",
) -> Any:
    """Add ``diff_k = y[t-shift] - y[t-shift-k]`` per series (differences of the shifted target).

    Parameters
    ----------
    df : pandas, cudf or Dask DataFrame
    periods : int or sequence of int, default 1
    shift : int, default 1
    target_col, id_cols, time_col : str

    Returns
    -------
    frame

    Examples
    --------
    >>> import pandas as pd
    >>> df = pd.DataFrame({"sku": "a", "date": pd.date_range("2024-01-01", periods=4),
    ...                    "units": [1.0, 4.0, 9.0, 16.0]})
    >>> add_diff(df, 1, id_cols="sku")["diff_1"].tolist()
    [nan, nan, 3.0, 5.0]
    """
    _check_shift(shift)
    ids = as_list(id_cols)
    return _per_series(df, _change_frame, ids, time_col, periods=_positive_ints(periods, "periods"), shift=int(shift),
                       kind="diff", target_col=target_col, id_cols=ids, time_col=time_col)


def add_pct_change(
    df: Any,
    periods: int | Sequence[int] = 1,
    shift: int = 1,
    target_col: str = "units",
    id_cols: str | Sequence[str] = DEFAULT_ID_COLS,
    time_col: str = "date",
) -> Any:
    """Add ``pct_change_k = y[t-shift] / y[t-shift-k] - 1`` per series.

    Parameters
    ----------
    df : pandas, cudf or Dask DataFrame
    periods : int or sequence of int, default 1
    shift : int, default 1
    target_col, id_cols, time_col : str

    Returns
    -------
    frame
        A zero denominator gives ``inf`` (or NaN for 0/0), as pandas does.

    Examples
    --------
    >>> import pandas as pd
    >>> df = pd.DataFrame({"sku": "a", "date": pd.date_range("2024-01-01", periods=3),
    ...                    "units": [2.0, 3.0, 6.0]})
    >>> add_pct_change(df, 1, id_cols="sku")["pct_change_1"].tolist()
    [nan, nan, 0.5]
    """
    _check_shift(shift)
    ids = as_list(id_cols)
    return _per_series(df, _change_frame, ids, time_col, periods=_positive_ints(periods, "periods"), shift=int(shift),
                       kind="pct_change", target_col=target_col, id_cols=ids, time_col=time_col)


# ---------------------------------------------------------------------------------------
# calendar and Fourier features
# ---------------------------------------------------------------------------------------


def _ticks_per_day(dtype: Any) -> int:
    """Integer ticks per day of a datetime64 dtype (s, ms, us or ns resolution)."""
    unit, _ = np.datetime_data(np.dtype(str(dtype)))
    return {"ns": _NS_PER_DAY, "us": _NS_PER_DAY // 1000, "ms": _NS_PER_DAY // 10**6, "s": 86_400}[unit]


def _day_index(df: Any, time_col: str, xp: Any, check: bool = True) -> tuple[Any, int, int]:
    """Days since the first day per row (int64), and the first and last day since the epoch."""
    series = df[time_col]
    per_day = _ticks_per_day(series.dtype)
    t = _time_ints(df, time_col, xp, check)
    days = t // per_day
    if days.shape[0] == 0:
        return days, 0, 0
    first, last = int(xp.min(days)), int(xp.max(days))
    days -= first  # in place: one temporary fewer on large panels
    return days, first, last


@functools.lru_cache(maxsize=32)
def _holiday_table(country: str, subdivisions: tuple, first: int, last: int) -> tuple[np.ndarray, list[str]]:
    """Holiday days (sorted int days since epoch) and their names, from the ``holidays`` package."""
    import holidays

    start = np.datetime64(first, "D").astype(object)
    end = np.datetime64(last, "D").astype(object)
    years = range(start.year - 1, end.year + 2)  # a year of margin for days to / since
    merged: dict = {}
    for subdiv in subdivisions or (None,):
        try:
            table = holidays.country_holidays(country, subdiv=subdiv, years=years)
        except NotImplementedError as err:
            raise ValueError(f"holidays has no calendar for country={country!r}, subdivision={subdiv!r}: {err}") from None
        for day, name in table.items():
            names = merged.setdefault(day, [])
            for part in str(name).split("; "):
                if part not in names:
                    names.append(part)
    days = sorted(merged)
    return (np.asarray([np.datetime64(d, "D").astype(np.int64) for d in days], dtype=np.int64),
            ["; ".join(merged[d]) for d in days])


def _calendar_table(first: int, last: int, features: Sequence[str], country: str | None,
                    subdivisions: tuple) -> dict[str, np.ndarray]:
    """Calendar features of every day in ``[first, last]`` (host arrays, one entry per day)."""
    import pandas as pd

    dates = pd.DatetimeIndex(np.arange(first, last + 1, dtype="int64").astype("datetime64[D]"))
    table: dict[str, np.ndarray] = {}
    simple = {
        "dayofweek": lambda: dates.dayofweek.to_numpy().astype(np.int8),
        "day": lambda: dates.day.to_numpy().astype(np.int8),
        "weekofyear": lambda: dates.isocalendar().week.to_numpy().astype(np.int8),
        "month": lambda: dates.month.to_numpy().astype(np.int8),
        "quarter": lambda: dates.quarter.to_numpy().astype(np.int8),
        "year": lambda: dates.year.to_numpy().astype(np.int16),
        "dayofyear": lambda: dates.dayofyear.to_numpy().astype(np.int16),
        "is_weekend": lambda: dates.dayofweek.to_numpy() >= 5,
        "is_month_start": lambda: np.asarray(dates.is_month_start),
        "is_month_end": lambda: np.asarray(dates.is_month_end),
    }
    for name in features:
        if name in simple:
            table[name] = simple[name]()
    wanted = [f for f in features if f in HOLIDAY_FEATURES]
    if wanted:
        hdays, hnames = _holiday_table(country, subdivisions, first, last)
        day = np.arange(first, last + 1, dtype=np.int64)
        at = np.searchsorted(hdays, day, side="left")
        on = (at < hdays.size) & (hdays[np.minimum(at, max(hdays.size - 1, 0))] == day) if hdays.size else np.zeros(day.size, bool)
        if "is_holiday" in wanted:
            table["is_holiday"] = on
        if "holiday_name" in wanted:
            unique = [""] + sorted(set(hnames))
            code = np.asarray([unique.index(h) for h in hnames] + [0], dtype=np.int32)
            table["holiday_name"] = np.where(on, code[np.minimum(at, len(hnames))], 0)  # codes into names
            table["_holiday_names"] = np.asarray(unique, dtype=object)
        if "days_to_holiday" in wanted:
            nxt = hdays[np.minimum(at, hdays.size - 1)] if hdays.size else np.zeros(day.size)
            table["days_to_holiday"] = np.where(at < hdays.size, nxt - day, np.nan).astype(np.float64)
        if "days_since_holiday" in wanted:
            before = np.searchsorted(hdays, day, side="right") - 1
            prv = hdays[np.maximum(before, 0)] if hdays.size else np.zeros(day.size)
            table["days_since_holiday"] = np.where(before >= 0, day - prv, np.nan).astype(np.float64)
    return table


def _calendar_columns(df: Any, time_col: str, features: Sequence[str], country: str | None,
                      subdivisions: tuple, xp: Any, check: bool = True) -> dict[str, Any]:
    """Calendar feature arrays in input order (gathered from a per-day table)."""
    offset, first, last = _day_index(df, time_col, xp, check)
    table = _calendar_table(first, last, features, country, subdivisions)
    cols = {}
    for name in features:
        values = xp.take(xp.asarray(table[name]), offset)
        if name == "holiday_name":
            import pandas as pd

            codes = backend.to_host(values).astype(np.int32)
            cats = pd.Categorical.from_codes(codes, categories=table["_holiday_names"])
            # on cudf the categorical is built from its codes on the host (one int32 column)
            values = backend.frame_lib(df).Series(cats, index=df.index)
        cols[name] = values
    return cols


def _calendar_frame(df, time_col, features, country, subdivisions, strict=True):
    _check_columns(df, [time_col], "for calendar features")
    _check_time(df, time_col)
    if strict:
        _check_not_empty(df, time_col)
    return _assign(df, _calendar_columns(df, time_col, features, country, subdivisions, _xp_of_frame(df)))


def _calendar_names(features: Sequence[str] | None, country: str | None) -> tuple[str, ...]:
    if features is None:
        return CALENDAR_FEATURES + (HOLIDAY_FEATURES if country else ())
    unknown = [f for f in features if f not in CALENDAR_FEATURES + HOLIDAY_FEATURES]
    if unknown:
        raise ValueError(f"unknown calendar features {unknown}; choose among {CALENDAR_FEATURES + HOLIDAY_FEATURES}")
    if not country and any(f in HOLIDAY_FEATURES for f in features):
        raise ValueError("holiday features need a country (e.g. country='US')")
    return tuple(features)


def add_calendar(
    df: Any,
    time_col: str = "date",
    features: Sequence[str] | None = None,
    country: str | None = None,
    subdivisions: str | Sequence[str] | None = None,
) -> Any:
    """Add calendar and holiday features of the time column.

    Parameters
    ----------
    df : pandas, cudf or Dask DataFrame
    time_col : str, default "date"
    features : sequence of str, optional
        Among :data:`CALENDAR_FEATURES` (``dayofweek`` 0=Monday, ``day``, ``weekofyear``
        (ISO), ``month``, ``quarter``, ``year``, ``dayofyear``, ``is_weekend``,
        ``is_month_start``, ``is_month_end``) and :data:`HOLIDAY_FEATURES` (``is_holiday``,
        ``holiday_name`` (categorical, ``""`` on other days), ``days_to_holiday`` (0 on a
        holiday), ``days_since_holiday``); default all of the first, plus the holiday ones
        when ``country`` is given.
    country : str, optional
        ISO country code for the ``holidays`` package (e.g. ``"US"``, ``"DE"``).
    subdivisions : str or sequence of str, optional
        States/provinces whose holidays are merged with the national ones.

    Returns
    -------
    frame
        Input columns plus the features, rows in input order. Days to/since a holiday are NaN
        when no holiday lies within a year of the data.

    Examples
    --------
    >>> import pandas as pd
    >>> df = pd.DataFrame({"date": pd.to_datetime(["2024-12-24", "2024-12-25", "2024-12-28"])})
    >>> out = add_calendar(df, features=["dayofweek", "is_holiday", "days_to_holiday"], country="US")
    >>> out["is_holiday"].tolist(), out["days_to_holiday"].tolist()
    ([False, True, False], [1.0, 0.0, 4.0])
    """
    names = _calendar_names(features, country)
    subdiv = tuple(as_list(subdivisions))
    kwargs = dict(time_col=time_col, features=names, country=country, subdivisions=subdiv)
    if backend.is_dask(df):
        return df.map_partitions(_calendar_frame, **kwargs, strict=False,
                                 meta=_calendar_frame(df._meta, **kwargs, strict=False))
    return _calendar_frame(df, **kwargs)


def _fourier_names(period: float, order: int) -> list[str]:
    return [f"fourier_{kind}_{period:g}_{k}" for k in range(1, order + 1) for kind in ("sin", "cos")]


def _fourier_columns(df: Any, time_col: str, terms: Sequence[tuple[float, int]], xp: Any,
                     check: bool = True) -> dict[str, Any]:
    offset, first, _ = _day_index(df, time_col, xp, check)
    t = xp.astype(offset, xp.float64) + first
    cols = {}
    for period, order in terms:
        names = _fourier_names(period, order)
        for k in range(1, order + 1):
            angle = (2.0 * math.pi * k / period) * t
            cols[names[2 * k - 2]] = xp.sin(angle)
            cols[names[2 * k - 1]] = xp.cos(angle)
    return cols


def _fourier_frame(df, time_col, terms, strict=True):
    _check_columns(df, [time_col], "for Fourier features")
    _check_time(df, time_col)
    if strict:
        _check_not_empty(df, time_col)
    return _assign(df, _fourier_columns(df, time_col, terms, _xp_of_frame(df)))


def _check_fourier(period: float, order: int) -> None:
    if not period > 0 or int(order) != order or order < 1:
        raise ValueError(f"Fourier terms need period > 0 and an integer order >= 1, got ({period}, {order})")


def add_fourier(df: Any, time_col: str = "date", period: float = 7.0, order: int = 1) -> Any:
    """Add Fourier terms ``sin(2 pi k t / period)``, ``cos(...)``, ``k = 1..order``.

    ``t`` counts days since 1970-01-01, so terms agree across frames and series.

    Parameters
    ----------
    df : pandas, cudf or Dask DataFrame
    time_col : str, default "date"
    period : float, default 7.0
        Period in days (365.25 for yearly seasonality).
    order : int, default 1

    Returns
    -------
    frame
        Input columns plus ``fourier_sin_{period}_{k}`` and ``fourier_cos_{period}_{k}``.

    Examples
    --------
    >>> import pandas as pd
    >>> df = pd.DataFrame({"date": pd.to_datetime(["1970-01-01", "1970-01-03"])})
    >>> add_fourier(df, period=4, order=1)["fourier_sin_4_1"].round(6).tolist()
    [0.0, 0.0]
    """
    _check_fourier(period, order)
    terms = ((float(period), int(order)),)
    if backend.is_dask(df):
        return df.map_partitions(_fourier_frame, time_col=time_col, terms=terms, strict=False,
                                 meta=_fourier_frame(df._meta, time_col, terms, strict=False))
    return _fourier_frame(df, time_col, terms)


# ---------------------------------------------------------------------------------------
# commerce features
# ---------------------------------------------------------------------------------------


def _price_frame(df, price_col, promo_col, window, category_col, id_cols, time_col, strict=True):
    columns = [price_col] + ([promo_col] if promo_col else []) + ([category_col] if category_col else [])
    numeric = [price_col] + ([promo_col] if promo_col else [])
    xp, layout = _prepare(df, id_cols, time_col, columns, "for price features", numeric)
    names = ["price_ref", "discount_depth"] + (["price_rel_category"] if category_col else []) \
        + (["is_promo", "days_since_promo"] if promo_col else [])
    if strict:
        _check_not_empty(df, price_col)
    price = layout.gather(_values(df, price_col))
    ref = rolling_kernel(price, layout, window, ("max",), shift=0, min_periods=1)["max"]
    cols = {"price_ref": layout.scatter(ref), "discount_depth": layout.scatter(1.0 - price / ref)}
    if category_col:
        median = df.groupby([category_col, time_col], observed=True, sort=False)[price_col].transform("median")
        med = median.to_cupy(na_value=float("nan")) if backend.is_gpu(df) else median.to_numpy(dtype="float64", na_value=np.nan)
        cols["price_rel_category"] = _values(df, price_col) / med
    if promo_col:
        promo = layout.gather(_values(df, promo_col)) > 0
        cols["is_promo"] = layout.scatter(xp.astype(promo, xp.int8))
        count = _prefix(xp.astype(promo, xp.int64), xp)
        idx = xp.arange(layout.n, dtype=xp.int64)
        seen = xp.take(count, idx + 1) - xp.take(count, layout.starts)
        promo_pos = xp.nonzero(promo)[0]
        last = xp.take(promo_pos, xp.maximum(xp.take(count, idx + 1) - 1, xp.zeros_like(idx))) if promo_pos.shape[0] else idx
        day = layout.time - xp.take(layout.time, last) if promo_pos.shape[0] else xp.zeros(layout.n, dtype=xp.int64)
        since = xp.astype(day, xp.float64) / _ticks_per_day(df[time_col].dtype)
        cols["days_since_promo"] = layout.scatter(xp.where(seen > 0, since, xp.asarray(xp.nan, dtype=xp.float64)))
    return _assign(df, cols)


def add_price_features(
    df: Any,
    price_col: str = "price",
    promo_col: str | None = "promo",
    window: int = 28,
    category_col: str | None = None,
    id_cols: str | Sequence[str] = DEFAULT_ID_COLS,
    time_col: str = "date",
) -> Any:
    """Add price and promotion features (prices are known in advance, so the row's own price is used).

    * ``price_ref``: the series' reference price, the highest price over its last ``window``
      rows including the current one;
    * ``discount_depth``: ``1 - price / price_ref`` (0 at the reference price);
    * ``price_rel_category`` (when ``category_col`` is given): price over the median price of
      the same category on the same date;
    * ``is_promo`` (int8) and ``days_since_promo`` (days since the latest promotion row of the
      series, 0 on a promotion day, NaN before the first), when ``promo_col`` is given.

    Parameters
    ----------
    df : pandas, cudf or Dask DataFrame
    price_col : str, default "price"
    promo_col : str or None, default "promo"
    window : int, default 28
    category_col : str, optional
        A column of ``df`` grouping comparable products (merge it from the product table).
    id_cols, time_col : str

    Returns
    -------
    frame

    Examples
    --------
    >>> import pandas as pd
    >>> df = pd.DataFrame({"sku": "a", "date": pd.date_range("2024-01-01", periods=4),
    ...                    "price": [10.0, 7.5, 10.0, 10.0], "promo": [False, True, False, False]})
    >>> out = add_price_features(df, id_cols="sku")
    >>> out["discount_depth"].tolist(), out["days_since_promo"].tolist()
    ([0.0, 0.25, 0.0, 0.0], [nan, 0.0, 1.0, 2.0])
    """
    window = _positive_ints(window, "window")[0]
    ids = as_list(id_cols)
    return _per_series(df, _price_frame, ids, time_col, price_col=price_col, promo_col=promo_col, window=window,
                       category_col=category_col, id_cols=ids, time_col=time_col)


def _share_frame(df, sku_col, window, shift, target_col, id_cols, time_col, strict=True):
    xp, layout = _prepare(df, id_cols, time_col, [sku_col, target_col], "for channel share", [target_col])
    name = f"channel_share_{window}{_suffix(shift)}"
    if strict:
        _check_not_empty(df, target_col)
    total = df.groupby([sku_col, time_col], observed=True, sort=False)[target_col].transform("sum")
    total = total.to_cupy(na_value=float("nan")) if backend.is_gpu(df) else total.to_numpy(dtype="float64", na_value=np.nan)
    own = rolling_kernel(layout.gather(_values(df, target_col)), layout, window, ("sum",), shift, 1)["sum"]
    all_ = rolling_kernel(layout.gather(total), layout, window, ("sum",), shift, 1)["sum"]
    share = xp.where(all_ > 0, own / xp.where(all_ > 0, all_, xp.ones_like(all_)), xp.asarray(xp.nan, dtype=xp.float64))
    return _assign(df, {name: layout.scatter(share)})


def add_channel_share(
    df: Any,
    window: int = 28,
    shift: int = 1,
    sku_col: str = "sku",
    target_col: str = "units",
    id_cols: str | Sequence[str] = DEFAULT_ID_COLS,
    time_col: str = "date",
) -> Any:
    """Add a series' share of its sku's total over the past ``window`` rows (shifted by ``shift``).

    ``channel_share_{window} = sum(own target) / sum(sku total across series)`` over the rows
    ``t-shift-window+1 .. t-shift`` of the series, where the sku total of a date sums the target
    of every series of that sku on that date. NaN when the sku sold nothing in the window.
    A Dask frame is shuffled by ``sku_col`` (so every location of a sku is in one partition).

    Parameters
    ----------
    df : pandas, cudf or Dask DataFrame
    window : int, default 28
    shift : int, default 1
    sku_col : str, default "sku"
        The key the shares add up within (must be one of ``id_cols``).
    target_col, id_cols, time_col : str

    Returns
    -------
    frame

    Examples
    --------
    >>> import pandas as pd
    >>> df = pd.DataFrame({"sku": "a", "location": ["web", "web", "app", "app"],
    ...                    "date": pd.to_datetime(["2024-01-01", "2024-01-02"] * 2),
    ...                    "units": [3.0, 0.0, 1.0, 5.0]})
    >>> add_channel_share(df, window=1)["channel_share_1"].tolist()
    [nan, 0.75, nan, 0.25]
    """
    _check_shift(shift)
    window = _positive_ints(window, "window")[0]
    ids = as_list(id_cols)
    if sku_col not in ids:
        raise ValueError(f"sku_col {sku_col!r} must be one of id_cols {ids}")
    kwargs = dict(sku_col=sku_col, window=window, shift=int(shift), target_col=target_col, id_cols=ids, time_col=time_col)
    return _per_series(df, _share_frame, [sku_col], time_col, **kwargs)


def _encoding_frame(df, key_cols, target_col, time_col, min_count, name, strict=True):
    _check_columns(df, [*key_cols, time_col, target_col], "for target encoding")
    _check_time(df, time_col)
    _check_numeric(df, [target_col])
    xp = _xp_of_frame(df)
    if len(df) == 0:
        if strict:
            _check_not_empty(df, target_col)
        return _empty_like(df, [name], xp)
    keys = df[[*key_cols, time_col]].copy()
    y = df[target_col].astype("float64")
    keys["_sum"] = y
    keys["_count"] = y.notna().astype("int64")
    daily = keys.groupby([*key_cols, time_col], observed=True, sort=False).agg({"_sum": "sum", "_count": "sum"}).reset_index()
    layout = _layout(daily, key_cols, time_col, xp)
    s = layout.gather(_values(daily, "_sum"))
    c = layout.gather(_values(daily, "_count"))
    # strictly earlier dates: the expanding sums up to the previous date of the key
    past_s = rolling_kernel(s, layout, None, ("sum",), 1, 1, "array")["sum"]
    past_c = rolling_kernel(c, layout, None, ("sum",), 1, 1, "array")["sum"]
    past_c = xp.where(xp.isnan(past_c), xp.zeros_like(past_c), past_c)
    enc = xp.where(past_c >= max(min_count, 1), past_s / xp.maximum(past_c, xp.ones_like(past_c)),
                   xp.asarray(xp.nan, dtype=xp.float64))
    daily[name] = layout.scatter(enc)
    rows = df[[*key_cols, time_col]].copy()
    rows["_row"] = xp.arange(len(df), dtype=xp.int64)
    merged = rows.merge(daily[[*key_cols, time_col, name]], on=[*key_cols, time_col], how="left")
    merged = merged.sort_values("_row")
    values = merged[name].to_cupy(na_value=float("nan")) if backend.is_gpu(df) else merged[name].to_numpy(dtype="float64", na_value=np.nan)
    return _assign(df, {name: values})


def add_target_encoding(
    df: Any,
    key: str | Sequence[str],
    target_col: str = "units",
    time_col: str = "date",
    min_count: int = 1,
    name: str | None = None,
) -> Any:
    """Add the mean of the target by ``key`` over strictly earlier dates (past-only encoding).

    For a row at date ``d``, the encoding averages the non-missing target of every row with
    the same key value(s) and a date before ``d``; rows of the same date (other series) are
    excluded, so the encoding cannot leak the value it helps predict. NaN until ``min_count``
    past values exist.

    Parameters
    ----------
    df : pandas, cudf or Dask DataFrame
        Rows need not be sorted; several rows may share (key, date).
    key : str or sequence of str
        Column(s) to encode, e.g. ``"category"`` or ``["category", "location"]``.
    target_col, time_col : str
    min_count : int, default 1
    name : str, optional
        Output column (default ``te_{key}_{target}``, keys joined by ``_``).

    Returns
    -------
    frame

    Examples
    --------
    >>> import pandas as pd
    >>> df = pd.DataFrame({"category": ["x", "x", "x", "y"],
    ...                    "date": pd.to_datetime(["2024-01-01", "2024-01-01", "2024-01-02", "2024-01-02"]),
    ...                    "units": [1.0, 3.0, 10.0, 5.0]})
    >>> add_target_encoding(df, "category")["te_category_units"].tolist()
    [nan, nan, 2.0, nan]
    """
    keys = as_list(key)
    name = name or f"te_{'_'.join(keys)}_{target_col}"
    kwargs = dict(key_cols=keys, target_col=target_col, time_col=time_col, min_count=int(min_count), name=name)
    return _per_series(df, _encoding_frame, keys, time_col, **kwargs)


# ---------------------------------------------------------------------------------------
# marketing response features
# ---------------------------------------------------------------------------------------


def _adstock_frame(df, cols, decay, max_lag, normalize, id_cols, time_col, strict=True):
    xp, layout = _prepare(df, id_cols, time_col, cols, "for adstock", cols)
    names = [f"{c}_adstock" for c in cols]
    if strict:
        _check_not_empty(df, cols[0])
    out = {}
    for col, name in zip(cols, names):
        x = layout.gather(_values(df, col))
        x = xp.where(xp.isnan(x), xp.zeros_like(x), x)
        d = decay[col]
        acc = xp.zeros_like(x)
        for lag in range(max_lag + 1):  # a loop over lags (max_lag + 1 vector ops), not over series
            past = _lag(x, layout.seg_starts, lag, xp)
            acc = acc + (d**lag) * xp.where(xp.isnan(past), xp.zeros_like(past), past)
        if normalize:
            acc = acc / sum(d**lag for lag in range(max_lag + 1))
        out[name] = layout.scatter(acc)
    return _assign(df, out)


def _per_column(value: float | Mapping[str, float], cols: Sequence[str], name: str) -> dict[str, float]:
    if isinstance(value, Mapping):
        missing = [c for c in cols if c not in value]
        if missing:
            raise ValueError(f"{name} has no value for columns {missing}")
        return {c: float(value[c]) for c in cols}
    return {c: float(value) for c in cols}


def add_adstock(
    df: Any,
    cols: str | Sequence[str],
    decay: float | Mapping[str, float],
    max_lag: int,
    normalize: bool = False,
    id_cols: str | Sequence[str] = "channel",
    time_col: str = "date",
) -> Any:
    """Add geometric adstock (carry-over) of media columns per series.

    ``adstock_t = sum_{l=0}^{max_lag} decay^l * x_{t-l}`` within each series (e.g. each
    marketing channel); rows before the first one count as zero spend, and missing values
    count as zero. With ``normalize=True`` the weights are divided by their sum, so the
    adstock is a weighted average of recent spend. Spend is an input decided in advance, so
    the current row is included.

    Parameters
    ----------
    df : pandas, cudf or Dask DataFrame
    cols : str or sequence of str
        Media columns (spend, impressions...).
    decay : float or mapping col -> float
        Retention per row, in ``[0, 1)``.
    max_lag : int
        Rows of carry-over (``>= 0``).
    normalize : bool, default False
    id_cols : str or sequence of str, default "channel"
        Series keys (the marketing table has one row per date and channel).
    time_col : str, default "date"

    Returns
    -------
    frame
        Input columns plus ``{col}_adstock`` (float64).

    Examples
    --------
    >>> import pandas as pd
    >>> df = pd.DataFrame({"channel": "web", "date": pd.date_range("2024-01-01", periods=3),
    ...                    "spend": [100.0, 0.0, 0.0]})
    >>> add_adstock(df, "spend", decay=0.5, max_lag=1)["spend_adstock"].tolist()
    [100.0, 50.0, 0.0]
    """
    cols = as_list(cols)
    decays = _per_column(decay, cols, "decay")
    if any(not 0.0 <= d < 1.0 for d in decays.values()):
        raise ValueError(f"decay must be in [0, 1), got {decays}")
    if int(max_lag) != max_lag or max_lag < 0:
        raise ValueError(f"max_lag must be an integer >= 0, got {max_lag}")
    ids = as_list(id_cols)
    return _per_series(df, _adstock_frame, ids, time_col, cols=cols, decay=decays, max_lag=int(max_lag),
                       normalize=bool(normalize), id_cols=ids, time_col=time_col)


def _saturation_frame(df, cols, half_sat, shape, strict=True):
    _check_columns(df, cols, "for saturation")
    _check_numeric(df, cols)
    xp = _xp_of_frame(df)
    out = {}
    for col in cols:
        x = _values(df, col)
        if strict and len(df) and bool(xp.any(x < 0)):
            bad = xp.nonzero(x < 0)[0]
            _fail(col, "has negative values; the Hill curve needs x >= 0", int(bad.shape[0]), _to_host_ints(bad))
        xs = x ** shape[col]
        out[f"{col}_saturation"] = xs / (xs + half_sat[col] ** shape[col])
    return _assign(df, out)


def add_saturation(
    df: Any,
    cols: str | Sequence[str],
    half_sat: float | Mapping[str, float],
    shape: float | Mapping[str, float] = 1.0,
) -> Any:
    """Add the Hill saturation ``x^s / (x^s + k^s)`` of media columns (elementwise, in ``[0, 1)``).

    Parameters
    ----------
    df : pandas, cudf or Dask DataFrame
    cols : str or sequence of str
        Non-negative media columns (often the output of :func:`add_adstock`).
    half_sat : float or mapping col -> float
        ``k``: the value giving half the maximum response (``> 0``).
    shape : float or mapping col -> float, default 1.0
        ``s > 0``; above 1 the curve is S-shaped.

    Returns
    -------
    frame
        Input columns plus ``{col}_saturation`` (float64).

    Examples
    --------
    >>> import pandas as pd
    >>> df = pd.DataFrame({"spend": [0.0, 50.0, 150.0]})
    >>> add_saturation(df, "spend", half_sat=50.0, shape=1.0)["spend_saturation"].tolist()
    [0.0, 0.5, 0.75]
    """
    cols = as_list(cols)
    half = _per_column(half_sat, cols, "half_sat")
    shapes = _per_column(shape, cols, "shape")
    if any(v <= 0 for v in [*half.values(), *shapes.values()]):
        raise ValueError("half_sat and shape must be > 0")
    if backend.is_dask(df):
        return df.map_partitions(_saturation_frame, cols=cols, half_sat=half, shape=shapes, strict=False,
                                 meta=_saturation_frame(df._meta, cols, half, shapes, strict=False))
    return _saturation_frame(df, cols, half, shapes)


# ---------------------------------------------------------------------------------------
# declarative feature sets
# ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class FeatureSpec:
    """A feature set declared as data, computed by :func:`build_features`.

    Parameters
    ----------
    lags : tuple of int
        Lags of ``target_col`` (``lag_k``).
    rolling : mapping window -> tuple of str
        Window statistics (``rolling_{stat}_{window}``) among ``mean, std, min, max, sum,
        median, count, 'q<level>'``, on the target shifted by ``rolling_shift``.
    rolling_shift : int, default 1
    min_periods : int, optional
        Non-missing values a window needs (default: the window length).
    expanding : tuple of str
        Expanding statistics among ``mean, std, count, sum, min, max`` (``expanding_{stat}``).
    ewm_alphas : tuple of float
        EWM means (``ewm_mean_{alpha}``), on the shifted target.
    calendar : tuple of str
        Names among :data:`CALENDAR_FEATURES` and :data:`HOLIDAY_FEATURES` (those need ``country``).
    fourier : tuple of (period_days, order)
    country : str, optional
        ``holidays`` country code for holiday features.
    subdivisions : tuple of str
    exog : tuple of str
        Columns of the frame passed through as features (known in advance, e.g. price, promo).
    target_col, id_cols, time_col : str

    Attributes
    ----------
    feature_names : list of str
        The feature columns, in a fixed order: lags, rolling, expanding, EWM, calendar,
        Fourier, exogenous.
    lookback : int
        Rows of history a series needs before a row to compute its features;
        :data:`FULL_HISTORY` when expanding or EWM statistics need the whole history.

    Examples
    --------
    >>> spec = FeatureSpec(lags=(1, 7), rolling={7: ("mean",)}, calendar=("dayofweek",),
    ...                    fourier=((7, 1),), exog=("price",))
    >>> spec.feature_names
    ['lag_1', 'lag_7', 'rolling_mean_7', 'dayofweek', 'fourier_sin_7_1', 'fourier_cos_7_1', 'price']
    >>> spec.lookback
    7
    """

    lags: tuple = (1, 7, 14, 28)
    rolling: Mapping[int, tuple] = field(default_factory=lambda: {7: ("mean",), 28: ("mean", "std")})
    rolling_shift: int = 1
    min_periods: int | None = None
    expanding: tuple = ()
    ewm_alphas: tuple = ()
    calendar: tuple = ("dayofweek", "month")
    fourier: tuple = ((7, 2), (365.25, 3))
    country: str | None = None
    subdivisions: tuple = ()
    exog: tuple = ()
    target_col: str = "units"
    id_cols: tuple = DEFAULT_ID_COLS
    time_col: str = "date"

    def __post_init__(self) -> None:
        set_ = object.__setattr__
        set_(self, "lags", tuple(int(k) for k in self.lags))
        if any(k < 1 for k in self.lags):
            raise ValueError(f"lags must be >= 1, got {self.lags}")
        rolling = {}
        for window, stats in dict(self.rolling or {}).items():
            window = _positive_ints(window, "rolling windows")[0]
            stats = (stats,) if isinstance(stats, str) else tuple(stats)
            for stat in stats:
                _parse_stat(stat)
            rolling[window] = stats
        set_(self, "rolling", rolling)
        if rolling:
            _check_min_periods(self.min_periods, min(rolling))
        _check_shift(self.rolling_shift, "rolling_shift")
        for stat in self.expanding:
            if stat not in EXPANDING_STATS:
                raise ValueError(f"unknown expanding statistic {stat!r}; choose among {EXPANDING_STATS}")
        set_(self, "expanding", tuple(self.expanding))
        set_(self, "ewm_alphas", tuple(float(a) for a in self.ewm_alphas))
        _ewm_names(self.ewm_alphas, (), self.rolling_shift)
        set_(self, "calendar", _calendar_names(tuple(self.calendar), self.country))
        fourier = tuple((float(p), int(o)) for p, o in self.fourier)
        for period, order in fourier:
            _check_fourier(period, order)
        set_(self, "fourier", fourier)
        set_(self, "subdivisions", tuple(as_list(self.subdivisions)))
        set_(self, "exog", tuple(as_list(self.exog)))
        set_(self, "id_cols", tuple(as_list(self.id_cols)))
        names = self.feature_names
        if len(set(names)) != len(names):
            raise ValueError(f"feature names collide: {names}")
        for col in (*self.id_cols, self.time_col, self.target_col):
            if col in names:
                raise ValueError(f"column {col!r} is both a key/target and a feature")

    @property
    def _shift_suffix(self) -> str:
        return _suffix(self.rolling_shift)

    @property
    def feature_names(self) -> list[str]:
        """Feature columns in a fixed order (lags, rolling, expanding, EWM, calendar, Fourier, exog)."""
        sfx = self._shift_suffix
        names = [f"lag_{k}" for k in self.lags]
        names += [f"rolling_{s}_{w}{sfx}" for w, stats in self.rolling.items() for s in stats]
        names += [f"expanding_{s}{sfx}" for s in self.expanding]
        names += _ewm_names(self.ewm_alphas, (), self.rolling_shift)[1]
        names += list(self.calendar)
        for period, order in self.fourier:
            names += _fourier_names(period, order)
        return names + list(self.exog)

    @property
    def lookback(self) -> int:
        """Rows of history needed before a row to compute its features."""
        if self.expanding or self.ewm_alphas:
            return FULL_HISTORY
        need = max(self.lags, default=0)
        if self.rolling:
            need = max(need, self.rolling_shift + max(self.rolling) - 1)
        return need


def _build_frame(df, spec: FeatureSpec, last_n: int | None, engine: str = "auto", strict: bool = True):
    ids, time_col, target = list(spec.id_cols), spec.time_col, spec.target_col
    xp, layout = _prepare(df, ids, time_col, [target, *spec.exog], "by the FeatureSpec", [target])
    names = [n for n in spec.feature_names if n not in spec.exog]
    if strict:
        _check_not_empty(df, target)
    if strict and spec.lags:
        _check_lengths(layout, max(spec.lags), target, f"lag {max(spec.lags)}")
    keep = None
    if last_n is not None:
        layout, keep = _tail_layout(layout, min(spec.lookback, FULL_HISTORY) + last_n)
        x = _values_at(df, target, layout.order)  # the kept tail, in sorted order
    else:
        x = layout.gather(_values(df, target, keep_float=True))
    sfx = spec._shift_suffix
    cols: dict[str, Any] = {}
    for k in spec.lags:
        cols[f"lag_{k}"] = _lag(x, layout.seg_starts, k, xp)
    for window, stats in spec.rolling.items():
        res = rolling_kernel(x, layout, window, stats, spec.rolling_shift, spec.min_periods, engine)
        cols.update({f"rolling_{s}_{window}{sfx}": res[s] for s in stats})
    if spec.expanding:
        res = expanding_kernel(x, layout, spec.expanding, spec.rolling_shift, 1, engine)
        cols.update({f"expanding_{s}{sfx}": res[s] for s in spec.expanding})
    for alpha, name in zip(*_ewm_names(spec.ewm_alphas, (), spec.rolling_shift)):
        cols[name] = ewm_kernel(x, layout, alpha, spec.rolling_shift, engine)
    if last_n is None:
        out = df
        cols = {name: layout.scatter(values) for name, values in cols.items()}
    else:
        tail = xp.nonzero(layout.pos >= layout.row_lengths - last_n)[0]
        rows = xp.take(layout.order, tail)
        back = xp.argsort(rows)  # input order of the kept rows
        rows = xp.take(rows, back)
        cols = {name: xp.take(xp.take(values, tail), back) for name, values in cols.items()}
        out = df.iloc[backend.to_host(rows) if not backend.is_gpu(df) else rows]
    if spec.calendar:
        cols.update(_calendar_columns(out, time_col, spec.calendar, spec.country, spec.subdivisions, xp,
                                      check=False))  # the layout has checked the timestamps
    if spec.fourier:
        cols.update(_fourier_columns(out, time_col, spec.fourier, xp, check=False))
    return _assign(out, {name: cols[name] for name in names})


def build_features(df: Any, spec: FeatureSpec, last_n: int | None = None, engine: str = "auto") -> Any:
    """Compute every feature of ``spec`` for a panel, or for the last ``last_n`` rows of each series.

    Parameters
    ----------
    df : pandas, cudf or Dask DataFrame
        Long-format panel with ``spec.id_cols``, ``spec.time_col``, ``spec.target_col`` and
        ``spec.exog``; need not be sorted. Rows whose target is NaN (future rows appended by a
        recursive forecaster) get features from the earlier rows as usual.
    spec : FeatureSpec
    last_n : int, optional
        Return only the last ``last_n`` rows of every series; their features are computed
        from the last ``spec.lookback + last_n`` rows of each series only.
    engine : {"auto", "array", "numba"}
        Kernel engine (see the module docstring); ``"auto"`` uses numba on NumPy input.

    Returns
    -------
    frame
        Same kind as ``df``: its columns plus ``spec.feature_names`` (exogenous columns are
        already there), rows (and index) in input order.

    Raises
    ------
    DataValidationError
        Missing column, non-datetime time column, missing keys or timestamps, duplicated
        (keys, time), a non-numeric target, or the longest lag at least as long as every series.

    Examples
    --------
    >>> import pandas as pd
    >>> df = pd.DataFrame({"sku": "a", "location": "web", "date": pd.date_range("2024-01-01", periods=3),
    ...                    "units": [1.0, 2.0, float("nan")]})
    >>> spec = FeatureSpec(lags=(1, 2), rolling={}, calendar=(), fourier=())
    >>> build_features(df, spec, last_n=1)[["lag_1", "lag_2"]].values.tolist()
    [[2.0, 1.0]]
    """
    if not isinstance(spec, FeatureSpec):
        raise TypeError(f"spec must be a FeatureSpec, got {type(spec).__name__}")
    if last_n is not None and (int(last_n) != last_n or last_n < 1):
        raise ValueError(f"last_n must be a positive integer, got {last_n}")
    last_n = None if last_n is None else int(last_n)
    return _per_series(df, _build_frame, list(spec.id_cols), spec.time_col, spec=spec, last_n=last_n, engine=engine)
