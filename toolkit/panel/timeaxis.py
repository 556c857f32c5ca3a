"""The time axis of a panel: calendar frequencies, inference, spacing checks, future dates.

Frequencies are pandas offsets, never ``Timedelta``\\s: ``"MS"`` is a month start (not a
millisecond), ``"ME"`` a month end, ``"W-SUN"`` weeks ending on Sunday, ``"B"`` business
days, ``"QS"``/``"QE"`` quarters, ``"YS"``/``"YE"`` years, ``"h"`` hours. The spellings pandas
3 dropped are accepted and mapped to their successors (``"M"`` -> ``"ME"``, ``"Q"`` -> ``"QE"``,
``"Y"``/``"A"`` -> ``"YE"``, ``"H"`` -> ``"h"``, ``"T"`` -> ``"min"``, ``"S"`` -> ``"s"``), because
users type them from older tutorials; every other string goes to pandas' own parser.

Every step through time is counted on the calendar, not in nanoseconds: :func:`step_index`
turns timestamps into integer step numbers of the frequency (months for ``"MS"``, business
days for ``"B"``...), so "the next step", "how many steps are missing" and "is this
timestamp on the calendar" have one answer everywhere. Fixed-length frequencies (``"h"``,
``"D"``, ``"7D"``) are counted from each series' own first timestamp; anchored ones
(``"MS"``, ``"W-SUN"``, ``"B"``) on the calendar grid pandas generates for them.

:func:`infer_freq` reads the frequency off the data when a caller does not give one,
:func:`check_spacing` reports every series that is not regular on it (gaps and
off-calendar timestamps, counted per series), and :func:`future_dates` generates the next
timestamps of each series on the calendar. :func:`season_length` and
:func:`periods_per_year` give the seasonal period a frequency implies.

Examples
--------
>>> import pandas as pd
>>> from toolkit.panel import timeaxis
>>> timeaxis.to_offset("MS").freqstr, timeaxis.to_offset("M").freqstr
('MS', 'ME')
>>> [str(d)[:10] for d in timeaxis.future_dates(pd.to_datetime(["2024-01-01"]), 3, "MS")[0]]
['2024-02-01', '2024-03-01', '2024-04-01']
>>> timeaxis.season_length("MS"), timeaxis.season_length("W-SUN"), timeaxis.season_length("D")
(12, 52, 7)
"""

from __future__ import annotations

import dataclasses
import re
from typing import Any, Sequence

import numpy as np
import pandas as pd

from toolkit import backend
from toolkit.errors import DataValidationError
from toolkit.panel import checks, frames
from toolkit.panel.layout import SeriesLayout

__all__ = [
    "to_offset",
    "is_fixed",
    "fixed_nanos",
    "step_index",
    "infer_freq",
    "check_spacing",
    "SpacingReport",
    "future_dates",
    "calendar_range",
    "season_length",
    "periods_per_year",
    "calendar_unit",
]

_RENAMED = {"M": "ME", "Q": "QE", "Y": "YE", "A": "YE", "BM": "BME", "BQ": "BQE", "BA": "BYE", "BY": "BYE",
            "H": "h", "BH": "bh", "T": "min", "S": "s", "L": "ms", "U": "us", "N": "ns", "AS": "YS"}
_ALIAS = re.compile(r"^\s*(?P<n>[+-]?\d+)?\s*(?P<base>[A-Za-z]+)(?P<anchor>-[A-Za-z]+)?\s*$")
_NS_PER_DAY = 86_400 * 10**9


def to_offset(freq: Any, param: str = "freq") -> pd.DateOffset:
    """A pandas offset for ``freq`` (a string, an offset, or a ``Timedelta`` for fixed steps).

    Raises
    ------
    DataValidationError
        ``freq`` is not a frequency pandas knows, or is not a positive step.

    Examples
    --------
    >>> to_offset("ME").freqstr, to_offset("1M").freqstr, to_offset("W").freqstr
    ('ME', 'ME', 'W-SUN')
    """
    from pandas.tseries.frequencies import to_offset as pandas_offset

    if isinstance(freq, pd.DateOffset):
        offset = freq
    elif isinstance(freq, (pd.Timedelta, np.timedelta64)):
        offset = pandas_offset(pd.Timedelta(freq))
    elif isinstance(freq, str):
        text = freq
        match = _ALIAS.match(freq)
        if match and match["base"] in _RENAMED:
            text = f"{match['n'] or ''}{_RENAMED[match['base']]}{match['anchor'] or ''}"
        try:
            offset = pandas_offset(text)
        except (ValueError, TypeError) as err:
            raise DataValidationError.for_parameter(
                param, "not a frequency pandas knows (e.g. 'D', 'B', 'W-SUN', 'MS', 'ME', 'QS', 'QE', 'YS', 'h')",
                freq) from err
    else:
        raise DataValidationError.for_parameter(param, "expected a frequency string such as 'D' or 'MS', "
                                                       "or a pandas offset", freq)
    if offset.n < 1 or (is_fixed(offset) and fixed_nanos(offset) <= 0):
        raise DataValidationError.for_parameter(param, "must step forward in time (n >= 1)", freq)
    return offset


def is_fixed(offset: pd.DateOffset) -> bool:
    """True for offsets of a fixed length (``Tick``\\s, and ``Day`` on timezone-naive data)."""
    return isinstance(offset, (pd.offsets.Tick, pd.offsets.Day))


def fixed_nanos(offset: pd.DateOffset) -> int:
    """Length of a fixed offset in nanoseconds."""
    if isinstance(offset, pd.offsets.Day):
        return int(offset.n) * _NS_PER_DAY
    return int(offset.nanos)


def calendar_range(first: Any, last: Any, freq: Any) -> pd.DatetimeIndex:
    """Every timestamp of ``freq`` from the first on-calendar one at or after ``first`` to ``last``."""
    offset = to_offset(freq)
    return pd.date_range(pd.Timestamp(first), pd.Timestamp(last), freq=offset)


def step_index(time_ns: Any, freq: Any, origin: Any = None) -> tuple[np.ndarray, np.ndarray]:
    """Integer step numbers of int64 timestamps on the frequency's calendar, and which are on it.

    Parameters
    ----------
    time_ns : int64 array (host or device)
        Timestamps in nanoseconds (pandas 3 parses dates to microseconds: convert with
        ``.as_unit("ns")`` or :func:`toolkit.panel.frames.time_values` first).
    freq : str or offset
    origin : int64 array like ``time_ns``, optional
        For fixed-length frequencies, the timestamp each row counts from (e.g. its series'
        first timestamp); default the earliest timestamp.

    Returns
    -------
    steps : int64 array
        Consecutive calendar steps differ by exactly 1.
    on_calendar : bool array
        False where a timestamp falls between two steps (e.g. the 15th for ``"MS"``).
    """
    offset = to_offset(freq)
    xp = backend.array_namespace(time_ns)
    t = time_ns
    if t.shape[0] == 0:
        return xp.zeros(0, dtype=xp.int64), xp.zeros(0, dtype=xp.bool)
    if is_fixed(offset):
        step = fixed_nanos(offset)
        base = origin if origin is not None else xp.min(t)
        delta = t - base
        return delta // step, (delta % step) == 0
    host = np.asarray(backend.to_host(t))
    first, last = (pd.Timestamp(np.datetime64(int(v), "ns")) for v in (host.min(), host.max()))
    grid = calendar_range(first - offset, last + offset, offset)
    grid_ns = xp.asarray(grid.as_unit("ns").asi8)
    pos = xp.searchsorted(grid_ns, t)
    on = xp.take(grid_ns, xp.clip(pos, 0, grid_ns.shape[0] - 1)) == t
    return xp.astype(pos, xp.int64), on


@dataclasses.dataclass
class SpacingReport:
    """How regular each series is on a frequency.

    Attributes
    ----------
    freq : str
        The frequency checked, as pandas spells it.
    per_series : pandas.DataFrame
        One row per series with a problem: the keys, ``rows``, ``first``, ``last``,
        ``missing_steps`` (calendar steps between first and last with no row) and
        ``off_calendar`` (rows between two steps of the frequency).
    n_series : int
        Series checked.
    """

    freq: str
    per_series: pd.DataFrame
    n_series: int

    @property
    def regular(self) -> bool:
        """True when no series has a gap or an off-calendar timestamp."""
        return len(self.per_series) == 0

    @property
    def missing_steps(self) -> int:
        return int(self.per_series["missing_steps"].sum()) if len(self.per_series) else 0

    @property
    def off_calendar(self) -> int:
        return int(self.per_series["off_calendar"].sum()) if len(self.per_series) else 0

    def __str__(self) -> str:
        if self.regular:
            return f"all {self.n_series} series regular at freq {self.freq!r}"
        return (f"{len(self.per_series)} of {self.n_series} series irregular at freq {self.freq!r}: "
                f"{self.missing_steps} missing steps, {self.off_calendar} off-calendar timestamps")

    def raise_if_irregular(self, time_col: str) -> None:
        """Raise naming the time column and a few irregular series."""
        if self.regular:
            return
        keys = [c for c in self.per_series.columns
                if c not in ("rows", "first", "last", "missing_steps", "off_calendar")]
        shown = [tuple(r) for r in self.per_series[keys].head(checks.KEYS_SHOWN).itertuples(index=False, name=None)]
        problem = f"not regular at freq {self.freq!r}: {self}; "
        if self.off_calendar:
            problem += "some timestamps fall between steps of that frequency (is freq right?)"
        else:
            problem += "fill the gaps first (toolkit.cleanse.complete_calendar) or pass the right freq"
        checks.fail(time_col, problem, len(self.per_series), shown)


def _layout_of(df: Any, id_cols: Sequence[str], time_col: str) -> SeriesLayout:
    return SeriesLayout.from_frame(df, id_cols, time_col)


def check_spacing(df: Any, freq: Any, id_cols: str | Sequence[str] | None = checks.DEFAULT_ID_COLS,
                  time_col: str = checks.DEFAULT_TIME_COL, layout: SeriesLayout | None = None) -> SpacingReport:
    """Check that every series has one row per step of ``freq`` between its first and last row.

    Parameters
    ----------
    df : pandas.DataFrame or cudf.DataFrame
    freq : str or offset
    id_cols, time_col : the panel's keys and time column
    layout : SeriesLayout, optional
        Reused when the caller already has it.

    Returns
    -------
    SpacingReport
        ``report.regular`` is True when nothing is missing or off the calendar.

    Examples
    --------
    >>> import pandas as pd
    >>> df = pd.DataFrame({"sku": ["a"] * 3, "date": pd.to_datetime(["2024-01-01", "2024-02-01", "2024-04-01"])})
    >>> r = check_spacing(df, "MS", "sku")
    >>> r.regular, r.missing_steps
    (False, 1)
    """
    keys = checks.as_list(id_cols)
    offset = to_offset(freq)
    layout = layout or _layout_of(df, keys, time_col)
    xp = layout.xp
    if layout.n == 0:
        return SpacingReport(offset.freqstr, pd.DataFrame(columns=[*keys, "rows", "first", "last",
                                                                   "missing_steps", "off_calendar"]), 0)
    origin = xp.take(layout.time, layout.row_starts)
    steps, on = step_index(layout.time, offset, origin)
    span = xp.take(steps, layout.ends - 1) - xp.take(steps, layout.starts) + 1
    # distinct steps actually present per series: a change of step between consecutive rows
    new_step = xp.concat([xp.ones(1, dtype=xp.bool), steps[1:] != steps[:-1]]) | (layout.position == 0)
    present = _segment_count(xp.astype(new_step & on, xp.int64), layout)
    off = _segment_count(xp.astype(~on, xp.int64), layout)
    missing = xp.maximum(span - present - xp.minimum(off, span), 0)
    bad = xp.nonzero((missing > 0) | (off > 0))[0]
    table = layout.keys(df, keys) if keys else pd.DataFrame(index=range(layout.n_series))
    table = backend.to_host(frames.take(table, bad)).reset_index(drop=True) if keys else table.iloc[
        np.asarray(backend.to_host(bad))].reset_index(drop=True)
    host = lambda a: np.asarray(backend.to_host(xp.take(a, bad)))  # noqa: E731
    table["rows"] = host(layout.lengths)
    table["first"] = pd.to_datetime(host(xp.take(layout.time, layout.starts)))
    table["last"] = pd.to_datetime(host(xp.take(layout.time, layout.ends - 1)))
    table["missing_steps"] = host(missing)
    table["off_calendar"] = host(off)
    return SpacingReport(offset.freqstr, table, layout.n_series)


def _segment_count(flags: Any, layout: SeriesLayout) -> Any:
    xp = layout.xp
    c = xp.concat([xp.zeros(1, dtype=xp.int64), xp.cumulative_sum(flags)])
    return xp.take(c, layout.ends) - xp.take(c, layout.starts)


def _weekday_anchor(days: np.ndarray) -> str | None:
    weekdays = np.unique((days + 3) % 7)  # 1970-01-01 was a Thursday (weekday 3)
    return ("MON", "TUE", "WED", "THU", "FRI", "SAT", "SUN")[int(weekdays[0])] if weekdays.size == 1 else None


def _calendar_candidates(step_ns: int, stamps: pd.DatetimeIndex) -> list[str]:
    """Frequencies worth testing for a panel whose smallest step is ``step_ns``."""
    days = step_ns / _NS_PER_DAY
    months = ("JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC")
    m = int(stamps[0].month)
    if 28 <= days <= 31:
        return ["MS", "ME", "BMS", "BME"]
    if 89 <= days <= 92:
        return [f"QS-{months[(m - 1) % 3]}", f"QE-{months[(m - 1) % 3 + 9]}"]
    if 365 <= days <= 366:
        return [f"YS-{months[m - 1]}", f"YE-{months[m - 1]}"]
    if days == 7:
        anchor = _weekday_anchor(np.asarray(stamps.as_unit("ns").asi8) // _NS_PER_DAY)
        return [f"W-{anchor}"] if anchor else []
    if days == 1:
        return ["B", "D"]
    return []


def infer_freq(df: Any, id_cols: str | Sequence[str] | None = checks.DEFAULT_ID_COLS,
               time_col: str = checks.DEFAULT_TIME_COL, layout: SeriesLayout | None = None) -> str:
    """The frequency of a panel, read off its timestamps.

    The smallest step between consecutive rows of a series proposes candidates (a month of
    28-31 days proposes ``MS``/``ME``, 7 days a weekly anchor, 1 day ``B`` or ``D``...); the
    first candidate on whose calendar every timestamp falls, with gaps allowed, is the
    answer. A step with no calendar meaning becomes a fixed frequency (``"6h"``, ``"2D"``).

    Raises
    ------
    DataValidationError
        Every series has a single row (no step to read), or the timestamps fit no frequency.

    Examples
    --------
    >>> import pandas as pd
    >>> df = pd.DataFrame({"sku": ["a"] * 3 + ["b"] * 2,
    ...                    "date": pd.to_datetime(["2024-01-31", "2024-02-29", "2024-04-30",
    ...                                            "2024-01-31", "2024-02-29"])})
    >>> infer_freq(df, "sku")
    'ME'
    """
    keys = checks.as_list(id_cols)
    layout = layout or _layout_of(df, keys, time_col)
    xp = layout.xp
    if layout.n == 0:
        raise DataValidationError.for_column(time_col, "cannot infer a frequency from an empty frame; pass freq")
    gaps = layout.time[1:] - layout.time[:-1]
    gaps = gaps[layout.position[1:] > 0]
    if gaps.shape[0] == 0:
        raise DataValidationError.for_column(
            time_col, "cannot infer the frequency: every series has a single row; pass freq explicitly")
    step = int(xp.min(gaps))
    host = pd.DatetimeIndex(np.asarray(backend.to_host(layout.time)).view("datetime64[ns]"))
    unique_stamps = host.unique().sort_values()
    for name in _calendar_candidates(step, unique_stamps):
        offset = to_offset(name)
        if all(offset.is_on_offset(ts) for ts in unique_stamps[:1000]) and \
                bool(np.all(step_index(np.asarray(unique_stamps.as_unit("ns").asi8), offset)[1])):
            if name == "B" and not bool(np.any(np.asarray(backend.to_host(gaps)) > _NS_PER_DAY)):
                continue  # consecutive weekdays only: daily data that happens to skip no weekend
            return offset.freqstr
    offset = to_offset(pd.Timedelta(step))
    if step % _NS_PER_DAY == 0:
        offset = to_offset(f"{step // _NS_PER_DAY}D")
    if not bool(xp.all(gaps % step == 0)):
        raise DataValidationError.for_column(
            time_col, f"cannot infer a frequency: steps between rows are not multiples of the smallest "
                      f"({offset.freqstr}); pass freq explicitly")
    return offset.freqstr


def future_dates(last: Any, horizon: int, freq: Any) -> np.ndarray:
    """The next ``horizon`` timestamps after each of ``last``, on the calendar of ``freq``.

    Parameters
    ----------
    last : datetime-like array (n,)
        The last timestamp of each series.
    horizon : int >= 1
    freq : str or offset

    Returns
    -------
    numpy datetime64[ns] array (n, horizon)

    Raises
    ------
    DataValidationError
        A ``last`` timestamp is not on the calendar of ``freq`` (e.g. the 15th for ``"MS"``).
    """
    offset = to_offset(freq)
    horizon = checks.check_int("horizon", horizon, minimum=1)
    stamps = pd.DatetimeIndex(np.asarray(backend.to_host(last)).astype("datetime64[ns]"))
    if is_fixed(offset):
        step = np.timedelta64(fixed_nanos(offset), "ns")
        return stamps.values[:, None] + step * np.arange(1, horizon + 1)[None, :]
    out = np.empty((len(stamps), horizon), dtype="datetime64[ns]")
    for stamp in stamps.unique():
        if not offset.is_on_offset(stamp):
            raise DataValidationError.for_parameter(
                "freq", f"the last timestamp {stamp} of a series is not on the calendar of {offset.freqstr!r}",
                offset.freqstr)
        out[stamps == stamp] = pd.date_range(stamp, periods=horizon + 1, freq=offset)[1:].values
    return out


_SEASON = {"h": 24, "min": 60, "s": 60, "D": 7, "B": 5, "W": 52, "M": 12, "Q": 4, "Y": 1}
_PER_YEAR = {"h": 8766.0, "min": 525960.0, "s": 31557600.0, "D": 365.25, "B": 260.0, "W": 365.25 / 7,
             "M": 12.0, "Q": 4.0, "Y": 1.0}


_FAMILIES = (
    ("W", (pd.offsets.Week,)),
    ("B", (pd.offsets.BusinessDay, pd.offsets.CustomBusinessDay)),
    ("M", (pd.offsets.MonthBegin, pd.offsets.MonthEnd, pd.offsets.BusinessMonthBegin, pd.offsets.BusinessMonthEnd)),
    ("Q", (pd.offsets.QuarterBegin, pd.offsets.QuarterEnd, pd.offsets.BQuarterBegin, pd.offsets.BQuarterEnd)),
    ("Y", (pd.offsets.YearBegin, pd.offsets.YearEnd, pd.offsets.BYearBegin, pd.offsets.BYearEnd)),
)


def _family(offset: pd.DateOffset) -> str:
    """The calendar unit of an offset: h, min, s, D, B, W, M, Q or Y."""
    if isinstance(offset, pd.offsets.Tick):
        nanos = fixed_nanos(offset)
        return "h" if nanos >= 3600 * 10**9 else ("min" if nanos >= 60 * 10**9 else "s")
    for family, classes in _FAMILIES:
        if isinstance(offset, classes):
            return family
    return "D"


def _units(offset: pd.DateOffset, family: str) -> int:
    """How many units of its family one step of ``offset`` spans (``"2h"`` -> 2, ``"3MS"`` -> 3)."""
    if isinstance(offset, pd.offsets.Tick):
        unit = {"h": 3600, "min": 60, "s": 1}[family] * 10**9
        return max(fixed_nanos(offset) // unit, 1)
    return int(offset.n)


def calendar_unit(freq: Any) -> str:
    """The calendar unit of a frequency: ``"s"``, ``"min"``, ``"h"``, ``"D"``, ``"B"``, ``"W"``,
    ``"M"``, ``"Q"`` or ``"Y"`` (multiples and anchors dropped), for per-unit default tables.

    Examples
    --------
    >>> calendar_unit("MS"), calendar_unit("2h"), calendar_unit("W-WED"), calendar_unit("QE-DEC")
    ('M', 'h', 'W', 'Q')
    """
    return _family(to_offset(freq))


def season_length(freq: Any) -> int:
    """The usual seasonal period in steps: 7 for daily, 5 for business days, 52 weekly,
    12 monthly, 4 quarterly, 1 yearly, 24 hourly; divided by a multiple (``"2h"`` -> 12).

    Examples
    --------
    >>> season_length("QS"), season_length("h"), season_length("2h"), season_length("B")
    (4, 24, 12, 5)
    """
    offset = to_offset(freq)
    family = _family(offset)
    return max(int(round(_SEASON[family] / _units(offset, family))), 1)


def periods_per_year(freq: Any) -> float:
    """Steps in an average year (365.25 daily, 52.18 weekly, 12 monthly...), for yearly Fourier terms.

    Examples
    --------
    >>> periods_per_year("D"), periods_per_year("MS"), round(periods_per_year("W-SUN"), 2)
    (365.25, 12.0, 52.18)
    """
    offset = to_offset(freq)
    if is_fixed(offset):
        return 365.25 * _NS_PER_DAY / fixed_nanos(offset)
    family = _family(offset)
    return _PER_YEAR[family] / _units(offset, family)
