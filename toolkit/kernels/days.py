"""Day numbers of timestamps and per-row lookups in per-day tables.

A calendar feature (day of week, month, holiday...) depends on the day alone, so it is
computed once per day of the data's range (a *table*, built by the caller) and every row
then reads its day's entry. The per-row work is the day number ``floor(time / ticks_per_day)``
and one table read per feature:

* :func:`day_numbers` gives every row's day (int32 days since 1970-01-01) with the first and
  last day in one pass. On NumPy a compiled loop (numba) estimates the quotient with a
  floating-point multiply and corrects it by one day when it lands on the wrong side of
  midnight, instead of a 64-bit integer division per row; it does not depend on the row
  order. On CuPy, or without numba, blocks of rows are divided with the array API, so no
  int64 panel-sized temporary is made.
* :func:`by_day` reads ``table[day - first]`` for every row (a compiled gather on NumPy,
  ``take`` elsewhere).

Timestamps are int64 counts of any unit that divides a day (ns, us, ms, s), without NaT
(the caller has refused missing timestamps). Day numbers of timestamps that fit in int64
nanoseconds (the years 1677-2262) always fit in int32; wider ranges get int64 day numbers.

Examples
--------
>>> import numpy as np
>>> from toolkit.kernels.days import by_day, day_numbers
>>> hour = 3_600_000_000  # microseconds
>>> days, first, last = day_numbers(np.array([-1, 0, 25 * hour, 47 * hour]), 24 * hour)
>>> days.tolist(), first, last
([-1, 0, 1, 1], -1, 1)
>>> by_day(np.array([10, 20, 30]), days, first).tolist()
[10, 20, 30, 30]
"""

from __future__ import annotations

import functools
from typing import Any

import numpy as np

from toolkit.backend import array_namespace

__all__ = ["day_numbers", "by_day"]

_BLOCK = 2**16
"""Rows per block of the array engine (a block of int64 quotients stays in cache)."""
_INT32 = np.iinfo(np.int32)


@functools.lru_cache(maxsize=1)
def _compiled() -> Any:
    """The jitted loops, or ``None`` when numba is unavailable."""
    try:
        import numba
    except ImportError:  # pragma: no cover - numba is a declared dependency
        return None

    @numba.njit(cache=True, nogil=True)
    def day_numbers(time, per_day, inverse, out):
        # the float quotient is off by at most one day (|time| < 2**63, per_day >= 86400): the
        # remainder, exact in wrapping int64 arithmetic since it is small, says which way
        first = np.iinfo(np.int64).max
        last = np.iinfo(np.int64).min
        for i in range(time.shape[0]):
            t = time[i]
            day = np.int64(np.floor(np.float64(t) * inverse))
            rest = t - day * per_day
            day += np.int64(rest >= per_day) - np.int64(rest < 0)
            out[i] = day
            first = min(first, day)
            last = max(last, day)
        return first, last

    @numba.njit(cache=True, nogil=True)
    def by_day(table, days, first):
        out = np.empty(days.shape[0], table.dtype)
        for i in range(days.shape[0]):
            out[i] = table[days[i] - first]
        return out

    return {"day_numbers": day_numbers, "by_day": by_day}


def _compiled_for(xp: Any) -> Any:
    return _compiled() if xp.__name__.endswith("numpy") else None


def day_numbers(time: Any, ticks_per_day: int) -> tuple[Any, int, int]:
    """Day of every timestamp (floored days since 1970-01-01), and the first and last day.

    Parameters
    ----------
    time : int64 array (n,)
        Timestamps in ticks since the epoch, no NaT; NumPy or CuPy.
    ticks_per_day : int
        Ticks in a day (86 400 000 000 for microseconds).

    Returns
    -------
    days : int32 array (n,)
        int64 when the days do not fit in int32.
    first, last : int
        The smallest and largest day (0, 0 when ``time`` is empty).
    """
    xp = array_namespace(time)
    n = int(time.shape[0])
    per_day = int(ticks_per_day)
    if n == 0:
        return xp.zeros(0, dtype=xp.int32), 0, 0
    kernels = _compiled_for(xp)
    if kernels is not None:
        out = np.empty(n, dtype=np.int32)
        first, last = kernels["day_numbers"](time, per_day, 1.0 / per_day, out)
        if first < _INT32.min or last > _INT32.max:  # only for ticks coarser than ns beyond 1677-2262
            out = np.empty(n, dtype=np.int64)
            first, last = kernels["day_numbers"](time, per_day, 1.0 / per_day, out)
        return out, int(first), int(last)
    first = int(xp.min(time)) // per_day
    last = int(xp.max(time)) // per_day
    wide = first < _INT32.min or last > _INT32.max
    out = xp.empty(n, dtype=xp.int64 if wide else xp.int32)
    for begin in range(0, n, _BLOCK):
        out[begin:begin + _BLOCK] = xp.astype(time[begin:begin + _BLOCK] // per_day, out.dtype)
    return out, first, last


def by_day(table: Any, days: Any, first: int) -> Any:
    """``table[days - first]`` for every row: the table entry of each row's day.

    Parameters
    ----------
    table : array (last - first + 1,)
        One entry per day from ``first``; same namespace as ``days``.
    days : int array (n,)
        From :func:`day_numbers`.
    first : int
        The day of ``table[0]``.
    """
    xp = array_namespace(days)
    kernels = _compiled_for(xp)
    if kernels is not None:
        return kernels["by_day"](table, days, int(first))
    return xp.take(table, days - first)
