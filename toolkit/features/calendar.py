"""Calendar, holiday and Fourier features of the time column.

* **A table per day.** Calendar and holiday features are computed once per distinct day on
  a small host table (the days of :func:`toolkit.panel.timeaxis.calendar_range` at ``"D"``,
  holidays from the ``holidays`` package) and gathered to the rows, so their cost does not
  grow with the number of series; on cuDF the gather runs on the device.
* **Days.** A row's day is its timestamp floored to the day of the time axis
  (:mod:`toolkit.panel.timeaxis`), whatever the panel's frequency; days to and since a
  holiday count whole days since 1970-01-01. ``hour`` (0-23) is read from the timestamp
  itself, for hourly panels.
* **Fourier time** ``t`` counts days since 1970-01-01 *with their fraction* (noon is
  ``.5``), so a period of one day (``(1, k)``) describes the daily cycle of an hourly panel
  and terms agree across frames and series; on timestamps at midnight it is the day
  number. A frequency's own seasonal period is :func:`toolkit.panel.periods_per_year` steps
  (e.g. a yearly Fourier period of 365.25 days).
* **Missing timestamps** (NaT) are refused, naming the time column.
* **Dask.** Rows are independent: every partition is computed as it is
  (:func:`toolkit.panel.per_partition`), with no shuffle.

Examples
--------
>>> import pandas as pd
>>> from toolkit.features import add_calendar
>>> add_calendar(pd.DataFrame({"date": pd.to_datetime(["2024-03-30", "2024-04-01"])}),
...              features=["dayofweek", "is_month_start"]).values[:, 1:].tolist()
[[5, False], [0, True]]
"""

from __future__ import annotations

import functools
import math
from typing import Any, Sequence

import numpy as np

from toolkit import panel
from toolkit.backend import array_namespace
from toolkit.errors import DataValidationError
from toolkit.features.inputs import PARTITION, check_panel, require_rows
from toolkit.kernels.days import by_day, day_numbers
from toolkit.panel import timeaxis

__all__ = [
    "CALENDAR_FEATURES",
    "INTRADAY_FEATURES",
    "HOLIDAY_FEATURES",
    "add_calendar",
    "add_fourier",
    "calendar_names",
    "check_holidays",
    "calendar_columns",
    "fourier_terms",
    "fourier_names",
    "fourier_columns",
]

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
INTRADAY_FEATURES = ("hour",)
"""Features of the time of day (asked for by name: not in the default set of :func:`add_calendar`)."""
HOLIDAY_FEATURES = ("is_holiday", "holiday_name", "days_to_holiday", "days_since_holiday")
_NS_PER_DAY = timeaxis.fixed_nanos(timeaxis.to_offset("D"))
_NS_PER_HOUR = _NS_PER_DAY // 24


# ----------------------------------------------------------------------------- parameters


def check_holidays(country: Any, subdivisions: Any) -> tuple[str, tuple[str, ...]]:
    """``country`` and ``subdivisions`` checked against the calendars of the ``holidays`` package."""
    import holidays

    supported = holidays.list_supported_countries()
    if not isinstance(country, str) or country not in supported:
        raise DataValidationError.for_parameter("country", "no holiday calendar for this country code in the "
                                                           "holidays package", country, sorted(supported))
    subdivs = tuple(panel.as_list(subdivisions, "subdivisions"))
    for subdiv in subdivs:
        panel.check_choice("subdivisions", subdiv, supported[country])
    return country, subdivs


def calendar_names(features: Any, country: Any, param: str = "features") -> tuple[str, ...]:
    """The calendar features asked for (default: every calendar one, plus the holiday ones with a
    ``country``), each checked; ``param`` names them in error messages."""
    if features is None:
        return CALENDAR_FEATURES + (HOLIDAY_FEATURES if country else ())
    names = tuple(panel.as_list(features, param))
    for name in names:
        panel.check_choice(param, name, CALENDAR_FEATURES + INTRADAY_FEATURES + HOLIDAY_FEATURES)
    if not country and any(f in HOLIDAY_FEATURES for f in names):
        raise DataValidationError.for_parameter("country", "holiday features need a country (e.g. country='US')",
                                                country)
    return names


def fourier_terms(terms: Any, param: str = "fourier") -> tuple[tuple[float, int], ...]:
    """``(period_days, order)`` pairs checked: ``period > 0``, ``order`` a whole number >= 1."""
    try:
        pairs = [tuple(term) for term in terms]
    except TypeError:
        raise DataValidationError.for_parameter(param, "expected (period, order) pairs", terms) from None
    if any(len(pair) != 2 for pair in pairs):
        raise DataValidationError.for_parameter(param, "expected (period, order) pairs", terms)
    return tuple((panel.check_number("period", p, minimum=0.0, low_open=True), panel.check_int("order", o, minimum=1))
                 for p, o in pairs)


def fourier_names(period: float, order: int) -> list[str]:
    """``fourier_sin_{period}_{k}``, ``fourier_cos_{period}_{k}`` for ``k = 1..order``."""
    return [f"fourier_{kind}_{period:g}_{k}" for k in range(1, order + 1) for kind in ("sin", "cos")]


# ----------------------------------------------------------------------------- columns


def _ticks_per(unit_ns: int, tick_ns: Any) -> int:
    """Ticks of ``tick_ns`` nanoseconds in a day or an hour (``unit_ns``); refuses a tick that does not divide it."""
    tick = panel.check_int("tick_ns", tick_ns, minimum=1)
    if _NS_PER_HOUR % tick:
        raise DataValidationError.for_parameter("tick_ns", "a tick must divide an hour (1 for ns, 1000 for us, "
                                                           "10**6 for ms, 10**9 for s)", tick_ns)
    return unit_ns // tick


@functools.lru_cache(maxsize=32)
def _holiday_table(country: str, subdivisions: tuple, first: int, last: int) -> tuple[np.ndarray, list[str]]:
    """Holiday days (sorted, days since the epoch) and their names, from the ``holidays`` package."""
    import holidays

    start = np.datetime64(first, "D").astype(object)
    end = np.datetime64(last, "D").astype(object)
    years = range(start.year - 1, end.year + 2)  # a year of margin for days to / since
    merged: dict = {}
    for subdiv in subdivisions or (None,):
        for day, name in holidays.country_holidays(country, subdiv=subdiv, years=years).items():
            names = merged.setdefault(day, [])
            for part in str(name).split("; "):
                if part not in names:
                    names.append(part)
    days = sorted(merged)
    return (np.asarray([np.datetime64(d, "D").astype(np.int64) for d in days], dtype=np.int64),
            ["; ".join(merged[d]) for d in days])


def _holiday_columns(first: int, last: int, wanted: Sequence[str], country: str, subdivisions: tuple) -> dict:
    hdays, hnames = _holiday_table(country, subdivisions, first, last)
    day = np.arange(first, last + 1, dtype=np.int64)
    at = np.searchsorted(hdays, day, side="left")
    on = (at < hdays.size) & (hdays[np.minimum(at, max(hdays.size - 1, 0))] == day) if hdays.size \
        else np.zeros(day.size, bool)
    table: dict[str, np.ndarray] = {}
    if "is_holiday" in wanted:
        table["is_holiday"] = on
    if "holiday_name" in wanted:
        unique = [""] + sorted(set(hnames))
        code = np.asarray([unique.index(h) for h in hnames] + [0], dtype=np.int32)
        table["holiday_name"] = np.where(on, code[np.minimum(at, len(hnames))], 0)  # codes into the names
        table["holiday_names"] = np.asarray(unique, dtype=object)
    if "days_to_holiday" in wanted:
        nxt = hdays[np.minimum(at, hdays.size - 1)] if hdays.size else np.zeros(day.size)
        table["days_to_holiday"] = np.where(at < hdays.size, nxt - day, np.nan).astype(np.float64)
    if "days_since_holiday" in wanted:
        before = np.searchsorted(hdays, day, side="right") - 1
        prv = hdays[np.maximum(before, 0)] if hdays.size else np.zeros(day.size)
        table["days_since_holiday"] = np.where(before >= 0, day - prv, np.nan).astype(np.float64)
    return table


def _day_table(first: int, last: int, features: Sequence[str], country: str | None,
               subdivisions: tuple) -> dict[str, np.ndarray]:
    """Calendar features of every day in ``[first, last]`` (host arrays, one entry per day)."""
    dates = timeaxis.calendar_range(np.datetime64(first, "D"), np.datetime64(last, "D"), "D")
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
    table = {name: simple[name]() for name in features if name in simple}
    wanted = [f for f in features if f in HOLIDAY_FEATURES]
    if wanted:
        table.update(_holiday_columns(first, last, wanted, country, subdivisions))
    return table


def calendar_columns(like: Any, time_ns: Any, features: Sequence[str], country: str | None = None,
                     subdivisions: tuple = (), *, tick_ns: int = 1) -> dict[str, Any]:
    """Calendar feature arrays for timestamps ``time_ns`` (int64, no NaT), gathered from a day table.

    ``like`` is the frame the columns are for (``holiday_name`` becomes a categorical column of
    its library and index); the other features are arrays of ``time_ns``'s namespace. The
    timestamps count nanoseconds, or ticks of ``tick_ns`` nanoseconds (1000: the microseconds
    pandas parses dates to), so a caller holding raw ticks need not convert them. Each row
    costs its day number and one table read per feature (:mod:`toolkit.kernels.days`); the
    features themselves are computed once per day.
    """
    per_day = _ticks_per(_NS_PER_DAY, tick_ns)
    xp = panel.namespace(like)
    time_ns = xp.asarray(time_ns)
    on_day = [name for name in features if name != "hour"]
    cols = {}
    if on_day:
        days, first, last = day_numbers(time_ns, per_day)
        table = _day_table(first, last, on_day, country, subdivisions)
        cols = {name: by_day(xp.asarray(table[name]), days, first) for name in on_day}
        if "holiday_name" in cols:
            cols["holiday_name"] = panel.categorical(like, cols["holiday_name"], table["holiday_names"])
    if "hour" in features:
        cols["hour"] = xp.astype((time_ns // _ticks_per(_NS_PER_HOUR, tick_ns)) % 24, xp.int8)
    return {name: cols[name] for name in features}


def fourier_columns(time_ns: Any, terms: Sequence[tuple[float, int]], *, tick_ns: int = 1) -> dict[str, Any]:
    """``sin``/``cos`` of ``2 pi k t / period`` with ``t`` in (fractional) days since the epoch, for each term.

    ``time_ns`` counts nanoseconds, or ticks of ``tick_ns`` nanoseconds (as in :func:`calendar_columns`).
    """
    per_day = _ticks_per(_NS_PER_DAY, tick_ns)
    xp = array_namespace(time_ns)
    days = time_ns // per_day
    t = xp.astype(days, xp.float64) + xp.astype(time_ns - days * per_day, xp.float64) / per_day
    cols = {}
    for period, order in terms:
        names = fourier_names(period, order)
        for k in range(1, order + 1):
            angle = (2.0 * math.pi * k / period) * t
            cols[names[2 * k - 2]] = xp.sin(angle)
            cols[names[2 * k - 1]] = xp.cos(angle)
    return cols


# ----------------------------------------------------------------------------- frames


def _timestamps(df: Any, time_col: str, purpose: str) -> Any:
    panel.require_not_null(df, [time_col], purpose=f"{purpose}; drop or fill the NaT timestamps")
    return panel.time_values(df, time_col)


def _calendar_frame(df, time_col, features, country, subdivisions, strict=True):
    if strict:
        require_rows(df, time_col)
    time_ns = _timestamps(df, time_col, "for calendar features")
    return panel.assign(df, calendar_columns(df, time_ns, features, country, subdivisions))


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
        ``is_month_start``, ``is_month_end``), ``hour`` (0-23, asked for by name) and
        :data:`HOLIDAY_FEATURES` (``is_holiday``,
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

    Raises
    ------
    DataValidationError
        Not a frame, a missing or non-datetime time column, NaT timestamps, an unknown
        feature, country or subdivision (the message lists the valid ones), holiday features
        without a country.

    Examples
    --------
    >>> import pandas as pd
    >>> df = pd.DataFrame({"date": pd.to_datetime(["2024-12-24", "2024-12-25", "2024-12-28"])})
    >>> out = add_calendar(df, features=["dayofweek", "is_holiday", "days_to_holiday"], country="US")
    >>> out["is_holiday"].tolist(), out["days_to_holiday"].tolist()
    ([False, True, False], [1.0, 0.0, 4.0])
    """
    names = calendar_names(features, country)
    subdivs: tuple = ()
    if any(f in HOLIDAY_FEATURES for f in names):
        country, subdivs = check_holidays(country, subdivisions)
    check_panel(df, [], time_col, [], "for calendar features")
    return panel.per_partition(df, _calendar_frame, partition_kwargs=PARTITION, time_col=time_col, features=names,
                               country=country, subdivisions=subdivs)


def _fourier_frame(df, time_col, terms, strict=True):
    if strict:
        require_rows(df, time_col)
    return panel.assign(df, fourier_columns(_timestamps(df, time_col, "for Fourier features"), terms))


def add_fourier(df: Any, time_col: str = "date", period: float = 7.0, order: int = 1) -> Any:
    """Add Fourier terms ``sin(2 pi k t / period)``, ``cos(...)``, ``k = 1..order``.

    ``t`` counts days since 1970-01-01 with their fraction, so terms agree across frames
    and series (a period of 1 is the daily cycle of an hourly panel).

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
    terms = fourier_terms([(period, order)])
    check_panel(df, [], time_col, [], "for Fourier features")
    return panel.per_partition(df, _fourier_frame, partition_kwargs=PARTITION, time_col=time_col, terms=terms)
