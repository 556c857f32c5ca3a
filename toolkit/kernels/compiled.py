"""Compiled window kernels for the CPU (numba): rolling, expanding and EWM statistics per segment.

The ``"numba"`` engine of :mod:`toolkit.kernels.windows`. Each kernel makes one pass over
each segment of a sorted NumPy array (segments contiguous, time ascending, the CSR
``bounds`` of :class:`toolkit.panel.SeriesLayout`), with no temporaries beyond its outputs:

* rolling sums, means, standard deviations and counts slide: add the value entering the
  window, drop the one leaving it. Values are centred on the segment's first value before
  they are summed, which keeps the sums small (exact for integer-valued data, so a constant
  window has a standard deviation of exactly 0); minima and maxima rescan the window;
* expanding statistics keep running sums and Welford's mean and second moment;
* the EWM follows pandas' ``adjust=False`` recursion, including how a gap of missing values
  decays the weight of older values.

Missing values: NaN and +-inf are skipped, as pandas' window functions skip them (pandas
turns infinities into NaN before it aggregates), so one bad value never poisons the windows
after it. ``count`` counts the values used. A caller that has already refused infinities
(the feature frames do) passes ``finite=True``, and the kernels then test for NaN only
(``v == v``, about 10 % faster than the full finiteness test on a rolling mean).

Inputs may be float32 or float64 (float32 is read as it is and accumulated in float64);
outputs are float64. Functions are compiled on first use and cached on disk.

Examples
--------
>>> import numpy as np
>>> from toolkit.kernels import compiled
>>> out = compiled.rolling_stats(np.array([1.0, 2.0, np.inf, 4.0]), np.array([0, 4]), 2, ("sum",), shift=0,
...                              min_periods=1)
>>> out["sum"].tolist()
[1.0, 3.0, 2.0, 4.0]
"""

from __future__ import annotations

import functools
from typing import Any, Sequence

import numpy as np

__all__ = ["STATS", "available", "rolling_stats", "ewm_mean"]

STATS = ("sum", "mean", "std", "min", "max", "count")
"""Statistics the compiled rolling and expanding kernels compute (quantiles are array-engine only)."""


@functools.lru_cache(maxsize=1)
def _compiled() -> Any:
    """The jitted functions, or ``None`` when numba is unavailable."""
    try:
        import numba
    except ImportError:  # pragma: no cover - numba is a declared dependency
        return None

    @numba.njit(cache=True, nogil=True)
    def outputs(n, want):
        # one float64 array per statistic of STATS, empty when not wanted
        return (np.empty(n if want[0] else 0), np.empty(n if want[1] else 0), np.empty(n if want[2] else 0),
                np.empty(n if want[3] else 0), np.empty(n if want[4] else 0), np.empty(n if want[5] else 0))

    @numba.njit(cache=True, nogil=True, inline="always")
    def counted(v, finite):
        # a value the statistics use: not NaN, and (unless the caller checked already) not +-inf
        return v == v if finite else abs(v) < np.inf

    @numba.njit(cache=True, nogil=True)
    def put_extremes(o_min, o_max, i, low, high, ok, want):
        if want[3]:
            o_min[i] = low if ok else np.nan
        if want[4]:
            o_max[i] = high if ok else np.nan

    # the loops below are inlined into one entry per value of `finite` (bottom), so that the
    # test in `counted` is settled when compiling rather than made for every value
    @numba.njit(cache=True, nogil=True, inline="always")
    def rolling(x, bounds, window, shift, want, min_periods, finite):
        # want[c]: compute STATS[c]; unwanted outputs are empty
        o_sum, o_mean, o_std, o_min, o_max, o_cnt = outputs(x.shape[0], want)
        # the flags as locals: the compiler cannot tell that writing the outputs leaves `want` alone
        w_sum, w_mean, w_std, w_cnt = want[0], want[1], want[2], want[5]
        extremes = want[3] or want[4]
        need = max(min_periods, 1)
        for seg in range(bounds.shape[0] - 1):
            s = bounds[seg]
            e = bounds[seg + 1]
            cnt = 0
            s1 = 0.0
            s2 = 0.0
            ref = 0.0  # the segment's first value when finite
            if s < e and counted(x[s], finite):
                ref = x[s]
            for i in range(s, e):
                j = i - shift  # row entering the window
                if j >= s:
                    v = x[j]
                    if counted(v, finite):
                        d = v - ref
                        cnt += 1
                        s1 += d
                        s2 += d * d
                    k = j - window  # row leaving it
                    if k >= s:
                        v = x[k]
                        if counted(v, finite):
                            d = v - ref
                            cnt -= 1
                            s1 -= d
                            s2 -= d * d
                            if cnt == 0:
                                s1 = 0.0
                                s2 = 0.0
                ok = cnt >= need
                if w_cnt:
                    o_cnt[i] = cnt if cnt >= min_periods else np.nan
                if w_sum:
                    o_sum[i] = s1 + cnt * ref if ok else np.nan
                if w_mean:
                    o_mean[i] = s1 / cnt + ref if ok else np.nan
                if w_std:
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
                        if counted(v, finite):
                            low = min(low, v)
                            high = max(high, v)
                    put_extremes(o_min, o_max, i, low, high, ok, want)
        return o_sum, o_mean, o_std, o_min, o_max, o_cnt

    @numba.njit(cache=True, nogil=True, inline="always")
    def expanding(x, bounds, shift, want, min_periods, finite):
        # running count/sum/mean/M2 (Welford)/min/max per segment; row i reads rows up to i - shift
        o_sum, o_mean, o_std, o_min, o_max, o_cnt = outputs(x.shape[0], want)
        need = max(min_periods, 1)
        for seg in range(bounds.shape[0] - 1):
            s = bounds[seg]
            cnt = 0
            mean = 0.0
            m2 = 0.0
            total = 0.0
            low = np.inf
            high = -np.inf
            for i in range(s, bounds[seg + 1]):
                j = i - shift
                if j >= s:
                    v = x[j]
                    if counted(v, finite):
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
                put_extremes(o_min, o_max, i, low, high, ok, want)
        return o_sum, o_mean, o_std, o_min, o_max, o_cnt

    @numba.njit(cache=True, nogil=True, inline="always")
    def ewm(x, bounds, alpha, shift, finite):
        # pandas ewm(alpha, adjust=False, ignore_na=False).mean() per segment, lagged by shift
        out = np.empty(x.shape[0])
        for seg in range(bounds.shape[0] - 1):
            s = bounds[seg]
            e = bounds[seg + 1]
            for i in range(s, min(s + shift, e)):
                out[i] = np.nan
            weighted = np.nan
            old_wt = 1.0
            for j in range(s, e - shift):
                v = x[j]
                if not counted(v, finite):
                    v = np.nan  # inf is missing, as in pandas
                if weighted == weighted:
                    old_wt *= 1.0 - alpha
                    if v == v:
                        weighted = (old_wt * weighted + alpha * v) / (old_wt + alpha)
                        old_wt = 1.0
                elif v == v:
                    weighted = v
                out[j + shift] = weighted
        return out

    @numba.njit(cache=True, nogil=True)
    def rolling_any(x, bounds, window, shift, want, min_periods):
        return rolling(x, bounds, window, shift, want, min_periods, False)

    @numba.njit(cache=True, nogil=True)
    def rolling_finite(x, bounds, window, shift, want, min_periods):
        return rolling(x, bounds, window, shift, want, min_periods, True)

    @numba.njit(cache=True, nogil=True)
    def expanding_any(x, bounds, shift, want, min_periods):
        return expanding(x, bounds, shift, want, min_periods, False)

    @numba.njit(cache=True, nogil=True)
    def expanding_finite(x, bounds, shift, want, min_periods):
        return expanding(x, bounds, shift, want, min_periods, True)

    @numba.njit(cache=True, nogil=True)
    def ewm_any(x, bounds, alpha, shift):
        return ewm(x, bounds, alpha, shift, False)

    @numba.njit(cache=True, nogil=True)
    def ewm_finite(x, bounds, alpha, shift):
        return ewm(x, bounds, alpha, shift, True)

    # indexed by `finite`
    return {"rolling": (rolling_any, rolling_finite), "expanding": (expanding_any, expanding_finite),
            "ewm": (ewm_any, ewm_finite)}


def available() -> bool:
    """True when numba is importable (the compiled engine can run)."""
    return _compiled() is not None


def _as_input(x: Any) -> np.ndarray:
    return x if x.dtype in (np.float32, np.float64) else x.astype(np.float64)


def rolling_stats(x: np.ndarray, bounds: np.ndarray, window: int | None, stats: Sequence[str], shift: int,
                  min_periods: int, *, finite: bool = False) -> dict:
    """Rolling (or, with ``window=None``, expanding) statistics of each segment.

    Parameters
    ----------
    x : numpy array (n,)
        Values in sorted order; NaN and +-inf are skipped.
    bounds : int64 numpy array (n_segments + 1,)
        Segment ``s`` is ``x[bounds[s]:bounds[s + 1]]``.
    window : int >= 1 or None
        Rows per window; ``None``: every earlier row of the segment.
    stats : sequence of str
        Names among :data:`STATS`.
    shift : int >= 0
        The window of row ``t`` ends at row ``t - shift``.
    min_periods : int >= 0
        Values a window needs, else NaN (``count`` included).
    finite : bool, default False
        The caller has checked that ``x`` holds no +-inf (NaN allowed): the kernel then
        tests values for NaN only, which is cheaper. With an infinity in ``x`` the result
        is undefined, so leave it False unless the input was checked.

    Returns
    -------
    dict
        ``stat -> float64 array (n,)``; ``std`` with ``ddof=1``.
    """
    want = np.zeros(len(STATS), dtype=np.bool_)
    want[[STATS.index(s) for s in stats]] = True
    kernels = _compiled()
    x = _as_input(x)
    bounds = np.asarray(bounds, dtype=np.int64)
    if window is None:
        raw = kernels["expanding"][bool(finite)](x, bounds, int(shift), want, int(min_periods))
    else:
        raw = kernels["rolling"][bool(finite)](x, bounds, int(window), int(shift), want, int(min_periods))
    return {s: raw[STATS.index(s)] for s in stats}


def ewm_mean(x: np.ndarray, bounds: np.ndarray, alpha: float, shift: int, *, finite: bool = False) -> np.ndarray:
    """pandas ``ewm(alpha=alpha, adjust=False).mean()`` of each segment, lagged by ``shift`` rows.

    Parameters are those of :func:`rolling_stats`; ``alpha`` in ``(0, 1]``. Missing values
    (NaN, +-inf) keep their place in time: the weight of older values decays across them.
    """
    return _compiled()["ewm"][bool(finite)](_as_input(x), np.asarray(bounds, dtype=np.int64), float(alpha),
                                            int(shift))
