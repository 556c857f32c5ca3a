"""Window kernels on sorted arrays: lags, rolling, expanding and EWM statistics of many series at once.

Conventions
-----------
* ``x`` holds the values in sorted order: every series (segment) contiguous, time
  ascending; a NumPy or CuPy array.
* ``segments`` says where the series lie, in any of three forms:

  - a :class:`toolkit.panel.SeriesLayout` (its cached ``row_starts`` is reused across calls);
  - the CSR ``bounds``: ``n_series + 1`` offsets from 0 to ``len(x)``, series ``s`` being
    ``x[bounds[s]:bounds[s + 1]]``;
  - per-row ``starts``: for each row, the position of its series' first row (the form the
    public kernels first took).

  An array as long as ``x`` whose last entry is below ``len(x)`` is read as per-row starts
  (they never reach ``len(x)``); any other array as bounds (which always end there).
* ``shift`` moves the window back: the window of row ``t`` covers rows
  ``t-shift-window+1 .. t-shift`` of its series (``shift >= 1`` never reads row ``t``).
* **Missing values.** NaN and +-inf are skipped, as pandas' window functions skip them
  (pandas turns infinities into NaN before aggregating), so one bad value never poisons the
  windows after it; ``count`` counts the values used. A window with fewer than
  ``min_periods`` values gives NaN, ``count`` included. Lags copy values as they are.

Engines
-------
``"array"`` is written against the array API, so the same code runs on NumPy and CuPy:
window sums, means, standard deviations and counts come from prefix sums taken between
window edges (values centred on each series' first value, so less cancels), minima and
maxima from a sparse table of power-of-two windows, quantiles from a sorted strided view of
each window, the EWM from a log-depth scan of its affine recurrence. ``"numba"``
(:mod:`toolkit.kernels.compiled`) slides one loop per series on the CPU and is the faster
one there; ``"auto"`` picks it for NumPy input. Quantiles always use the array engine.

Functions
---------
The public kernels :func:`lag_kernel`, :func:`rolling_kernel`, :func:`expanding_kernel` and
:func:`ewm_kernel` check their parameters (``DataValidationError`` naming the parameter)
and dispatch to an engine. The building blocks below them (:func:`as_layout`, :func:`lag`,
:func:`window_edges`, :func:`rolling_moments`, :func:`rolling_extreme`,
:func:`rolling_quantile`, :func:`ewm_mean`) check nothing and serve callers that have
validated already (the feature frames, a streaming engine).

Examples
--------
>>> import numpy as np
>>> from toolkit.kernels.windows import rolling_kernel, lag_kernel
>>> x = np.array([1.0, 2.0, np.nan, 4.0, 10.0, 20.0])
>>> bounds = np.array([0, 4, 6])
>>> rolling_kernel(x, bounds, 2, ("mean",), shift=0, min_periods=1)["mean"].tolist()
[1.0, 1.5, 2.0, 4.0, 10.0, 15.0]
>>> lag_kernel(x, bounds, 1).tolist()
[nan, 1.0, 2.0, nan, nan, 10.0]
"""

from __future__ import annotations

import math
from typing import Any, Sequence

from toolkit.backend import array_namespace
from toolkit.errors import DataValidationError
from toolkit.kernels import compiled
from toolkit.panel import checks
from toolkit.panel.layout import SeriesLayout

__all__ = [
    "ROLLING_STATS",
    "EXPANDING_STATS",
    "ENGINES",
    "as_layout",
    "parse_stat",
    "stat_names",
    "pick_engine",
    "lag",
    "window_edges",
    "rolling_moments",
    "rolling_extreme",
    "rolling_quantile",
    "ewm_mean",
    "lag_kernel",
    "rolling_kernel",
    "expanding_kernel",
    "ewm_kernel",
]

ROLLING_STATS = ("mean", "std", "min", "max", "sum", "median", "count")
"""Named rolling statistics; ``'q<level>'`` (e.g. ``'q0.9'``) adds any quantile."""
EXPANDING_STATS = ("mean", "std", "count", "sum", "min", "max")
ENGINES = ("auto", "array", "numba")
_MOMENTS = ("sum", "mean", "std", "count")


# ----------------------------------------------------------------------------- inputs


def _is_numpy(xp: Any) -> bool:
    return xp.__name__.endswith("numpy")


def as_layout(segments: Any, n: int, param: str = "starts") -> SeriesLayout:
    """A :class:`SeriesLayout` for ``segments`` (layout, CSR bounds or per-row starts) of ``n`` rows.

    Raises
    ------
    DataValidationError
        ``segments`` is not one of the three forms, or does not cover ``n`` rows.

    Examples
    --------
    >>> import numpy as np
    >>> as_layout(np.array([0, 0, 2]), 3).bounds.tolist(), as_layout(np.array([0, 2, 3]), 3).bounds.tolist()
    ([0, 2, 3], [0, 2, 3])
    """
    if isinstance(segments, SeriesLayout):
        if segments.n != n:
            raise DataValidationError.for_parameter(param, f"the layout covers {segments.n} rows but x has {n}",
                                                    segments)
        return segments
    shape = getattr(segments, "shape", None)
    kind = getattr(getattr(segments, "dtype", None), "kind", None)
    if shape is None or len(shape) != 1 or kind not in ("i", "u"):
        raise DataValidationError.for_parameter(
            param, "expected a SeriesLayout or a 1-D integer array (per-row series starts or CSR bounds)",
            type(segments).__name__)
    xp = array_namespace(segments)
    arr = xp.astype(segments, xp.int64)
    if shape[0] == n and (n == 0 or int(arr[-1]) < n):  # per-row starts
        heads = xp.nonzero(arr == xp.arange(n, dtype=xp.int64))[0]
        layout = SeriesLayout(xp, xp.concat([xp.astype(heads, xp.int64), xp.asarray([n], dtype=xp.int64)]))
        if n and (int(arr[0]) != 0 or not bool(xp.all(layout.row_starts == arr))):
            raise DataValidationError.for_parameter(
                param, "per-row starts must give, for every row, the first row of its series (non-decreasing, "
                       "starts[i] <= i, starting at 0)", "an inconsistent array")
        return layout
    if shape[0] == 0 or int(arr[0]) != 0 or int(arr[-1]) != n or not bool(xp.all(arr[1:] >= arr[:-1])):
        raise DataValidationError.for_parameter(
            param, f"expected per-row starts ({n} entries) or CSR bounds (non-decreasing, from 0 to {n})",
            f"an array of {shape[0]} entries")
    return SeriesLayout(xp, xp.unique_values(arr))  # unique: empty series hold no rows


def _check_values(x: Any) -> Any:
    shape = getattr(x, "shape", None)
    kind = getattr(getattr(x, "dtype", None), "kind", None)
    if shape is None or len(shape) != 1 or kind not in ("b", "i", "u", "f"):
        raise DataValidationError.for_parameter("x", "expected a 1-D numeric NumPy or CuPy array",
                                                type(x).__name__)
    return array_namespace(x)


def parse_stat(stat: Any, choices: Sequence[str] = ROLLING_STATS, param: str = "stats") -> tuple[str, float | None]:
    """``'median'`` -> ``('quantile', 0.5)``, ``'q0.9'`` -> ``('quantile', 0.9)``, other names unchanged.

    Raises
    ------
    DataValidationError
        (naming ``param``) the name is not among ``choices`` (or, when ``'median'`` is a
        choice, not a quantile ``'q<level>'`` with ``0 <= level <= 1``).
    """
    quantiles = "median" in choices
    if quantiles and stat == "median":
        return "quantile", 0.5
    if quantiles and isinstance(stat, str) and stat.startswith("q"):
        try:
            q = float(stat[1:])
        except ValueError:
            q = -1.0
        if not 0.0 <= q <= 1.0:
            raise DataValidationError.for_parameter(param, "a quantile statistic looks like 'q0.9' "
                                                           "with a level between 0 and 1", stat)
        return "quantile", q
    if not isinstance(stat, str) or stat not in choices:
        shown = [*choices, "q<level>"] if quantiles else list(choices)
        raise DataValidationError.for_parameter(param, "unknown statistic", stat, shown)
    return stat, None


def stat_names(stats: Any, choices: Sequence[str] = ROLLING_STATS, param: str = "stats") -> tuple:
    """``stats`` (one name or a sequence of names) as a tuple, each checked by :func:`parse_stat`."""
    if isinstance(stats, str):
        stats = (stats,)
    try:
        names = tuple(stats)
    except TypeError:
        raise DataValidationError.for_parameter(param, "expected a statistic name or a sequence of them",
                                                stats) from None
    if not names:
        raise DataValidationError.for_parameter(param, "give at least one statistic", stats, choices)
    for stat in names:
        parse_stat(stat, choices, param)
    return names


def pick_engine(xp: Any, engine: Any) -> str:
    """The engine to run (``"array"`` or ``"numba"``) for arrays of namespace ``xp``."""
    engine = checks.check_choice("engine", engine, ENGINES)
    if engine == "auto":
        return "numba" if _is_numpy(xp) and compiled.available() else "array"
    if engine == "numba" and not _is_numpy(xp):
        raise DataValidationError.for_parameter("engine", "'numba' runs on NumPy arrays only; use 'array' for CuPy",
                                                engine)
    return engine


def _check_min_periods(min_periods: Any, window: int | None) -> int:
    if min_periods is None:
        return 1 if window is None else window
    return checks.check_int("min_periods", min_periods, minimum=0, maximum=window)


# ----------------------------------------------------------------------------- array engine


def _prefix(values: Any) -> Any:
    xp = array_namespace(values)
    return xp.concat([xp.zeros(1, dtype=values.dtype), xp.cumulative_sum(values)])


def lag(x: Any, bounds: Any, k: int) -> Any:
    """Value ``k`` rows back in each series (float64; NaN on the first ``k`` rows of each series).

    A shifted copy, then NaN written on the first ``k`` rows of every series: a scatter of
    ``n_series * k`` positions, not a pass over every row.
    """
    xp = array_namespace(x)
    n = x.shape[0]
    if k == 0:
        return xp.astype(x, xp.float64, copy=True)
    out = xp.empty(n, dtype=xp.float64)  # float32 input is widened while it is copied
    out[: min(k, n)] = xp.nan
    if n > k:
        out[k:] = x[: n - k]
    starts = bounds[:-1]
    if starts.shape[0]:
        longest = int(xp.max(bounds[1:] - starts))
        # positions past a short series' end lie in the next series, within k rows of its start too
        head = xp.reshape(starts[:, None] + xp.arange(min(k, longest), dtype=starts.dtype)[None, :], (-1,))
        out[head[head < n]] = xp.nan
    return out


def window_edges(row_starts: Any, window: int | None, shift: int) -> tuple[Any, Any]:
    """Half-open edges ``[lo, hi)`` of every row's window over rows ``t-shift-window+1 .. t-shift``.

    ``window=None``: from the first row of the series.
    """
    xp = array_namespace(row_starts)
    hi = xp.arange(row_starts.shape[0], dtype=xp.int64) - shift + 1
    lo = row_starts if window is None else xp.maximum(hi - window, row_starts)
    return lo, xp.maximum(hi, lo)


def _finite_counts(finite: Any, lo: Any, hi: Any) -> Any:
    xp = array_namespace(finite)
    counts = _prefix(xp.astype(finite, xp.int64))
    return xp.take(counts, hi) - xp.take(counts, lo)


def rolling_moments(x: Any, lo: Any, hi: Any, stats: Sequence[str], min_periods: int, ref: Any) -> dict:
    """``sum``/``mean``/``std``/``count`` over ``x[lo:hi]`` of every row, from prefix sums.

    ``x`` float64 (n,); ``lo``, ``hi`` from :func:`window_edges`; ``ref`` (per row, constant
    within a series, finite) is subtracted before summing and added back to sums and means:
    centred values keep the prefix sums small, so less cancels.
    """
    xp = array_namespace(x)
    finite = xp.isfinite(x)
    xc = xp.where(finite, x - ref, xp.zeros_like(x))
    cnt = _finite_counts(finite, lo, hi)
    enough = cnt >= max(min_periods, 1)
    nan = xp.asarray(xp.nan, dtype=xp.float64)
    s1_p = _prefix(xc)
    s1 = xp.take(s1_p, hi) - xp.take(s1_p, lo)
    cntf = xp.astype(cnt, xp.float64)
    mean = s1 / xp.maximum(cntf, xp.ones_like(cntf))
    out = {}
    for stat in stats:
        if stat == "count":
            out[stat] = xp.where(cnt >= min_periods, cntf, nan)
        elif stat == "sum":
            out[stat] = xp.where(enough, s1 + cntf * ref, nan)
        elif stat == "mean":
            out[stat] = xp.where(enough, mean + ref, nan)
        elif stat == "std":
            # second moment about the window mean: sum((x - m)^2) = sum(x^2) - s1 * m
            s2_p = _prefix(xc * xc)
            s2 = xp.take(s2_p, hi) - xp.take(s2_p, lo)
            var = xp.maximum((s2 - s1 * mean) / xp.maximum(cntf - 1.0, xp.ones_like(cntf)), xp.zeros_like(s2))
            out[stat] = xp.where(enough & (cnt >= 2), xp.sqrt(var), nan)
    return out


def rolling_extreme(x: Any, lo: Any, hi: Any, stat: str, min_periods: int) -> Any:
    """``min`` or ``max`` over ``x[lo:hi]`` of every row, from a sparse table of power-of-two windows.

    Level ``j`` of the table holds the extreme of the ``2**j`` rows ending at each row; a
    window of length ``L`` is covered by two overlapping entries of level ``floor(log2 L)``.
    """
    xp = array_namespace(x)
    n = x.shape[0]
    fill = math.inf if stat == "min" else -math.inf
    pick = xp.minimum if stat == "min" else xp.maximum
    finite = xp.isfinite(x)
    level = xp.where(finite, x, xp.asarray(fill, dtype=xp.float64))
    length = hi - lo
    longest = int(xp.max(length)) if n else 0
    levels = [level]
    step = 1
    while step * 2 <= longest:
        shifted = xp.concat([xp.full(step, fill, dtype=xp.float64), level[:-step]]) if n > step \
            else xp.full(n, fill, dtype=xp.float64)
        level = pick(level, shifted)
        levels.append(level)
        step *= 2
    table = xp.reshape(xp.stack(levels), (-1,))
    safe = xp.maximum(length, xp.ones_like(length))
    k = xp.astype(xp.floor(xp.log2(xp.astype(safe, xp.float64))), xp.int64)
    k = xp.where(2 ** (k + 1) <= safe, k + 1, k)  # log2 may round either way at powers of two
    k = xp.where(2**k > safe, k - 1, k)
    k = xp.minimum(k, xp.asarray(len(levels) - 1, dtype=xp.int64))
    end = xp.maximum(hi - 1, xp.zeros_like(hi))
    first = xp.minimum(lo + 2**k - 1, end)
    res = pick(xp.take(table, k * n + end), xp.take(table, k * n + first))
    cnt = _finite_counts(finite, lo, hi)
    return xp.where((cnt >= max(min_periods, 1)) & (length > 0), res, xp.asarray(xp.nan, dtype=xp.float64))


def rolling_quantile(x: Any, lo: Any, hi: Any, q: float, min_periods: int) -> Any:
    """Linear-interpolation quantile (pandas' default) over ``x[lo:hi]`` of every row.

    Sorts a strided ``(rows, window)`` view of the windows, in blocks of rows that bound the
    working set.
    """
    xp = array_namespace(x)
    n = x.shape[0]
    out = xp.full(n, xp.nan, dtype=xp.float64)
    nan = xp.asarray(xp.nan, dtype=xp.float64)
    xf = xp.where(xp.isfinite(x), x, nan)
    width = max(int(xp.max(hi - lo)) if n else 1, 1)
    offsets = xp.arange(width, dtype=xp.int64)
    block = max(1, 2**22 // width)
    for begin in range(0, n, block):
        h = hi[begin:begin + block]
        low = lo[begin:begin + block]
        idx = h[:, None] - 1 - offsets[None, :]
        inside = idx >= low[:, None]
        vals = xp.take(xf, xp.reshape(xp.maximum(idx, xp.zeros_like(idx)), (-1,)))
        vals = xp.sort(xp.where(inside, xp.reshape(vals, idx.shape), nan), axis=1)  # NaN sort last
        cnt = xp.sum(xp.astype(~xp.isnan(vals), xp.int64), axis=1)
        top = xp.maximum(cnt - 1, xp.zeros_like(cnt))
        at = q * xp.astype(top, xp.float64)
        below = xp.astype(xp.floor(at), xp.int64)
        above = xp.minimum(below + 1, top)
        v0 = xp.take_along_axis(vals, below[:, None], axis=1)[:, 0]
        v1 = xp.take_along_axis(vals, above[:, None], axis=1)[:, 0]
        res = v0 + (v1 - v0) * (at - xp.astype(below, xp.float64))
        out[begin:begin + block] = xp.where(cnt >= max(min_periods, 1), res, nan)
    return out


def ewm_mean(x: Any, row_starts: Any, alpha: float) -> Any:
    """pandas ``ewm(alpha, adjust=False).mean()`` of every series (not lagged), by a log-depth scan.

    The recursion ``w_t = a_t * w_{t-1} + b_t`` is affine; its carry-over weight ``a_t``
    depends on the length of the gap of missing values before ``t``. A Hillis-Steele
    inclusive scan composes the maps in ``log2(n)`` vector steps; ``a = 0`` at every series'
    first row cuts the series apart. Rows before a series' first value are NaN.
    """
    xp = array_namespace(x)
    n = x.shape[0]
    idx = xp.arange(n, dtype=xp.int64)
    obs = xp.isfinite(x)
    cnt_p = _prefix(xp.astype(obs, xp.int64))
    seen = xp.take(cnt_p, idx + 1) - xp.take(cnt_p, row_starts)
    obs_pos = xp.nonzero(obs)[0]
    prev_count = xp.take(cnt_p, idx)  # observations strictly before the row (whole array)
    prev_seen = prev_count - xp.take(cnt_p, row_starts)
    last_prev = xp.take(obs_pos, xp.maximum(prev_count - 1, xp.zeros_like(prev_count))) if obs_pos.shape[0] else idx
    carry = (1.0 - alpha) ** xp.astype(idx - last_prev, xp.float64)  # decay over the rows since then
    a = xp.where(obs & (prev_seen > 0), carry / (carry + alpha), xp.where(obs, 0.0, 1.0))
    a = xp.astype(xp.where(idx == row_starts, xp.zeros_like(a), a), xp.float64)
    b = xp.astype(xp.where(obs, (1.0 - a) * xp.where(obs, x, 0.0), 0.0), xp.float64)
    step = 1
    while step < n:
        a_prev = xp.concat([xp.ones(step, dtype=xp.float64), a[:-step]])
        b_prev = xp.concat([xp.zeros(step, dtype=xp.float64), b[:-step]])
        b = a * b_prev + b
        a = a * a_prev
        step *= 2
    return xp.where(seen > 0, b, xp.asarray(xp.nan, dtype=xp.float64))


# ----------------------------------------------------------------------------- public kernels


def lag_kernel(x: Any, starts: Any, k: int) -> Any:
    """Value ``k`` rows back within each series (NaN where the series has fewer rows).

    Parameters
    ----------
    x : array (n,)
        Values in sorted order (series contiguous, time ascending).
    starts : SeriesLayout, CSR bounds or per-row starts
        Where the series lie (see the module docstring).
    k : int >= 0
        Rows back.

    Returns
    -------
    float64 array (n,), same namespace as ``x``.

    Examples
    --------
    >>> import numpy as np
    >>> lag_kernel(np.array([1., 2., 3., 4.]), np.array([0, 0, 2, 2]), 1).tolist()
    [nan, 1.0, nan, 3.0]
    """
    _check_values(x)
    layout = as_layout(starts, x.shape[0])
    return lag(x, layout.bounds, checks.check_int("k", k, minimum=0))


def rolling_kernel(
    x: Any,
    starts: Any,
    window: int | None,
    stats: Sequence[str] = ("mean",),
    shift: int = 1,
    min_periods: int | None = None,
    engine: str = "auto",
    *,
    finite: bool = False,
) -> dict:
    """Window statistics of each series over rows ``t-shift-window+1 .. t-shift``.

    Parameters
    ----------
    x : array (n,)
        Values in sorted order (series contiguous, time ascending); NaN and +-inf are skipped.
    starts : SeriesLayout, CSR bounds or per-row starts
        Where the series lie (see the module docstring).
    window : int >= 1 or None
        Rows per window; ``None`` for an expanding window (every earlier row).
    stats : sequence of str
        Among ``sum, mean, std, min, max, count, median`` and ``'q<level>'`` (a quantile,
        linear interpolation as in pandas).
    shift : int >= 0, default 1
        Rows between the end of the window and the row (1 excludes the row itself).
    min_periods : int, optional
        Values a window needs, else NaN (default: ``window``; 1 for expanding); at most
        ``window``.
    engine : {"auto", "array", "numba"}
    finite : bool, default False
        The caller has already refused +-inf in ``x`` (NaN allowed): the compiled engine
        then skips its infinity test (:mod:`toolkit.kernels.compiled`). Results are
        undefined if ``x`` holds an infinity after all.

    Returns
    -------
    dict
        ``stat -> float64 array (n,)``; ``std`` uses ``ddof=1``.

    Raises
    ------
    DataValidationError
        A parameter is out of range or unknown (the message names it and lists the choices).

    Examples
    --------
    >>> import numpy as np
    >>> x = np.array([1., 2., 3., 4., 5.])
    >>> rolling_kernel(x, np.zeros(5, dtype=np.int64), 2, ("sum",))["sum"].tolist()
    [nan, nan, 3.0, 5.0, 7.0]
    """
    xp = _check_values(x)
    layout = as_layout(starts, x.shape[0])
    if window is not None:
        window = checks.check_int("window", window, minimum=1)
    stats = stat_names(stats)
    parsed = [(stat, *parse_stat(stat)) for stat in stats]
    shift = checks.check_int("shift", shift, minimum=0)
    min_periods = _check_min_periods(min_periods, window)
    engine = pick_engine(xp, engine)
    out: dict = {}
    if engine == "numba":
        names = [s for s, kind, _ in parsed if kind != "quantile"]
        if names:
            out.update(compiled.rolling_stats(x, layout.bounds, window, names, shift, min_periods,
                                              finite=bool(finite)))
        parsed = [p for p in parsed if p[1] == "quantile"]
    if parsed:
        x = xp.astype(x, xp.float64, copy=False)
        lo, hi = window_edges(layout.row_starts, window, shift)
        moments = [s for s, kind, _ in parsed if kind in _MOMENTS]
        if moments:
            first = xp.take(x, layout.row_starts)  # each series' first value (0 when missing)
            ref = xp.where(xp.isfinite(first), first, xp.zeros_like(first))
            out.update(rolling_moments(x, lo, hi, moments, min_periods, ref))
        for stat, kind, q in parsed:
            if kind in ("min", "max"):
                out[stat] = rolling_extreme(x, lo, hi, kind, min_periods)
            elif kind == "quantile":
                out[stat] = rolling_quantile(x, lo, hi, q, min_periods)
    return {stat: out[stat] for stat in stats}


def expanding_kernel(
    x: Any, starts: Any, stats: Sequence[str] = ("mean",), shift: int = 1, min_periods: int = 1, engine: str = "auto",
    *, finite: bool = False,
) -> dict:
    """Expanding statistics over all rows up to ``t - shift`` of each series.

    :func:`rolling_kernel` with ``window=None`` (``finite`` as there); ``stats`` among
    ``mean, std, count, sum, min, max``.

    Examples
    --------
    >>> import numpy as np
    >>> expanding_kernel(np.array([1., 2., 3.]), np.zeros(3, dtype=np.int64), ("mean",))["mean"].tolist()
    [nan, 1.0, 1.5]
    """
    stat_names(stats, EXPANDING_STATS)
    return rolling_kernel(x, starts, None, stats, shift, min_periods, engine, finite=finite)


def ewm_kernel(x: Any, starts: Any, alpha: float, shift: int = 1, engine: str = "auto", *,
               finite: bool = False) -> Any:
    """Exponentially weighted mean of each series over rows up to ``t - shift``.

    Matches ``pandas.Series.ewm(alpha=alpha, adjust=False).mean()`` per series, lagged by
    ``shift`` rows: missing values (NaN, +-inf) keep their place in time, so the weight of
    older values decays across a gap.

    Parameters
    ----------
    x : array (n,)
        Values in sorted order.
    starts : SeriesLayout, CSR bounds or per-row starts
    alpha : float in (0, 1]
    shift : int >= 0, default 1
    engine : {"auto", "array", "numba"}
    finite : bool, default False
        As in :func:`rolling_kernel`.

    Returns
    -------
    float64 array (n,)

    Examples
    --------
    >>> import numpy as np
    >>> ewm_kernel(np.array([1., 3., 5.]), np.zeros(3, dtype=np.int64), 0.5).tolist()
    [nan, 1.0, 2.0]
    """
    xp = _check_values(x)
    layout = as_layout(starts, x.shape[0])
    alpha = checks.check_number("alpha", alpha, 0.0, 1.0, low_open=True)
    shift = checks.check_int("shift", shift, minimum=0)
    if pick_engine(xp, engine) == "numba":
        return compiled.ewm_mean(x, layout.bounds, alpha, shift, finite=bool(finite))
    return lag(ewm_mean(xp.astype(x, xp.float64, copy=False), layout.row_starts, alpha), layout.bounds, shift)
