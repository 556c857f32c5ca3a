"""``complete_calendar``: give every series one row per step of its calendar, flagging the rows inserted.

The calendar is a pandas frequency (:mod:`toolkit.panel.timeaxis`): fixed steps (``"D"``,
``"h"``, ``"7D"``) are counted from each series' first timestamp (or ``start``); anchored
ones (``"MS"`` month starts, ``"W-SUN"`` weeks ending on Sunday, ``"B"`` business days,
``"QS"``...) lie on the grid pandas generates for them, from the first calendar date at or
after the series' first timestamp (or ``start``) to the last at or before its last timestamp
(or ``end``) -- what ``reindex`` on ``pd.date_range(first, last, freq=freq)`` gives per series.
Without ``freq`` the frequency is inferred from the panel (:func:`toolkit.panel.infer_freq`;
``"D"`` for the generated data); a Dask frame needs an explicit ``freq`` (inference needs
every series at once).

Nothing is dropped: rows between two calendar dates (``off calendar``) and rows outside
``start``/``end`` (``outside range``) are kept with ``flag_col`` False and counted among the
values of the report. Inserted rows hold the series keys, the timestamp, ``fill`` values and
``static_cols`` copied from the series' first row; other columns are missing there (integer
columns become float64, boolean ones object, as a pandas outer join gives). Values are copied,
never computed, so any value (``inf`` included) passes through unchanged.

Examples
--------
>>> import pandas as pd
>>> from toolkit.cleanse import complete_calendar
>>> df = pd.DataFrame({"sku": "a", "date": pd.to_datetime(["2024-01-01", "2024-03-01"]), "units": [1.0, 3.0]})
>>> out = complete_calendar(df, id_cols="sku", freq="MS", fill={"units": 0.0})
>>> out["date"].dt.month.tolist(), out["units"].tolist(), out["inserted"].tolist()
([1, 2, 3], [1.0, 0.0, 3.0], [False, True, False])
"""

from __future__ import annotations

from typing import Any, Mapping, Sequence

import numpy as np
import pandas as pd

from toolkit.cleanse.report import CleanReport, StepCounts, check_report
from toolkit.cleanse.runner import run_steps
from toolkit.cleanse.steps import Step
from toolkit.errors import DataValidationError
from toolkit.panel import (DEFAULT_ID_COLS, DEFAULT_TIME_COL, SeriesLayout, as_list, check_frame, fail, frames,
                           infer_freq, require_columns, require_datetime, step_index, timeaxis, to_offset)

__all__ = ["CalendarStep", "complete_calendar"]


def _timestamp(param: str, value: Any) -> pd.Timestamp | None:
    if value is None:
        return None
    try:
        stamp = pd.Timestamp(value)
    except (TypeError, ValueError) as err:
        raise DataValidationError.for_parameter(param, "expected a timestamp (e.g. '2024-01-01') or None",
                                                value) from err
    if stamp is pd.NaT or stamp.tzinfo is not None:
        raise DataValidationError.for_parameter(param, "must be a timezone-naive timestamp", value)
    return stamp


class CalendarStep(Step):
    """The step behind :func:`complete_calendar` (see the module docstring)."""

    name = "complete_calendar"

    def __init__(self, id_cols: str | Sequence[str] | None, time_col: str, freq: Any, start: Any, end: Any,
                 fill: Mapping[str, Any] | None, flag_col: str, static_cols: str | Sequence[str] | None) -> None:
        self.ids = as_list(id_cols)
        for param, value in (("time_col", time_col), ("flag_col", flag_col)):
            if not isinstance(value, str):
                raise DataValidationError.for_parameter(param, "expected a column name", value)
        self.time_col, self.flag_col = time_col, flag_col
        self.offset = None if freq is None else to_offset(freq)
        self.start, self.end = _timestamp("start", start), _timestamp("end", end)
        if self.start is not None and self.end is not None and self.start > self.end:
            raise DataValidationError.for_parameter("start", f"must not be after end ({self.end})", start)
        if fill is not None and not isinstance(fill, Mapping):
            raise DataValidationError.for_parameter("fill", "expected a dict of column -> value", fill)
        self.fill = {c: v for c, v in (fill or {}).items() if v is not None}
        self.static = as_list(static_cols, "static_cols")
        reserved = {*self.ids, time_col, flag_col}
        for param, cols in (("fill", list(self.fill)), ("static_cols", self.static)):
            clash = [c for c in cols if c in reserved]
            if clash:
                raise DataValidationError.for_parameter(param, "may not name a key, the time column or flag_col",
                                                        clash[0])
        self.colocate = list(self.ids)

    def check(self, frame: Any) -> None:
        require_columns(frame, [*self.ids, self.time_col, *self.fill, *self.static], "by complete_calendar")
        require_datetime(frame, self.time_col)
        if self.flag_col in frame.columns:
            fail(self.flag_col, "already present; pass another flag_col to complete_calendar")

    def check_lazy(self) -> None:
        if self.offset is None:
            raise DataValidationError.for_parameter(
                "freq", "pass the frequency for a Dask frame (it is inferred from in-memory frames only), "
                        "e.g. 'D', 'W-SUN' or 'MS'", None)

    def _grid(self, layout: SeriesLayout, offset: Any) -> tuple[Any, Any, Any, Any]:
        """The calendar of every series.

        Returns the number of calendar steps of each series; for each sorted row its step
        number (0 = the series' first calendar date) and whether it lies on the calendar; and
        a function mapping (series, step) arrays to int64 timestamps.
        """
        xp = layout.xp
        first = xp.take(layout.time, layout.starts)
        last = xp.take(layout.time, layout.ends - 1)
        if self.start is not None:
            first = xp.full(first.shape, self.start.as_unit("ns").value, dtype=xp.int64)
        if self.end is not None:
            last = xp.full(last.shape, self.end.as_unit("ns").value, dtype=xp.int64)
        if timeaxis.is_fixed(offset):
            nanos = timeaxis.fixed_nanos(offset)
            size = xp.where(last >= first, (last - first) // nanos + 1, 0)
            step, on = step_index(layout.time, offset, xp.take(first, layout.series_of_row))
            return size, step, on, lambda series, k: xp.take(first, series) + k * nanos
        # the grid spans the rows too, so rows outside start/end are told apart from rows off the calendar
        low = min(int(xp.min(first)), int(xp.min(layout.time)))
        high = max(int(xp.max(last)), int(xp.max(layout.time)))
        grid = xp.asarray(timeaxis.calendar_range(np.datetime64(low, "ns"), np.datetime64(high, "ns"),
                                                  offset).as_unit("ns").asi8)
        head = xp.searchsorted(grid, first, side="left")
        size = xp.maximum(xp.searchsorted(grid, last, side="right") - head, 0)
        pos = xp.searchsorted(grid, layout.time, side="left")
        on = xp.take(grid, xp.clip(pos, 0, max(grid.shape[0] - 1, 0))) == layout.time if grid.shape[0] else \
            xp.zeros(layout.n, dtype=xp.bool)
        step = xp.astype(pos, xp.int64) - xp.take(head, layout.series_of_row)
        return size, step, on, lambda series, k: xp.take(grid, xp.take(head, series) + k)

    def apply(self, part: Any, stats: Any = None) -> tuple[Any, StepCounts]:
        counts = StepCounts.start(len(part))
        xp = frames.namespace(part)
        if len(part) == 0:
            return frames.assign(part, {self.flag_col: xp.zeros(0, dtype=xp.bool)}), counts
        ids, t = self.ids, self.time_col
        layout = SeriesLayout.from_frame(part, ids, t)
        offset = self.offset or to_offset(infer_freq(part, ids, t, layout=layout))
        size, step, on, stamp = self._grid(layout, offset)
        size = xp.astype(size, xp.int64)
        in_range = on & (step >= 0) & (step < xp.take(size, layout.series_of_row))
        ends = xp.cumulative_sum(size)
        total = int(ends[-1]) if ends.shape[0] else 0
        present = xp.zeros(total, dtype=xp.bool)
        present[(xp.take(ends - size, layout.series_of_row) + step)[in_range]] = True
        missing = xp.nonzero(~present)[0]
        series = xp.astype(xp.searchsorted(ends, missing, side="right"), xp.int64)
        new_time = stamp(series, missing - xp.take(ends - size, series))
        counts.insert("calendar gap", int(missing.shape[0]))
        counts.value("off calendar", int(xp.sum(xp.astype(~on, xp.int64))))
        counts.value("outside range", int(xp.sum(xp.astype(on & ~in_range, xp.int64))))
        new_rows = self._new_rows(part, layout, series, new_time)
        old = frames.assign(part, {self.flag_col: xp.zeros(len(part), dtype=xp.bool)})
        both = frames.concat([old, new_rows], ignore_index=True)
        key = xp.concat([layout.scatter(layout.series_of_row), series])
        when = xp.concat([layout.scatter(layout.time), new_time])
        by_time = xp.argsort(when, stable=True)
        order = xp.take(by_time, xp.argsort(xp.take(key, by_time), stable=True))
        out = frames.take(both, order).reset_index(drop=True)
        restore = {c: out[c].astype(part[c].dtype) for c in part.columns
                   if str(part[c].dtype) == "category" and str(out[c].dtype) != "category"}
        return (out.assign(**restore) if restore else out), counts

    def _new_rows(self, part: Any, layout: SeriesLayout, series: Any, new_time: Any) -> Any:
        """The inserted rows: keys, timestamp, flag, fill values and static columns."""
        xp = layout.xp
        data = {self.time_col: new_time, self.flag_col: xp.ones(series.shape[0], dtype=xp.bool)}
        if self.ids:
            rows = frames.assign(frames.take(layout.keys(part, self.ids), series).reset_index(drop=True), data)
        else:
            rows = frames.new_frame(part, data)
        if self.static:
            first = frames.take(part[self.static], xp.take(layout.first_rows(), series)).reset_index(drop=True)
            rows = rows.assign(**{c: first[c] for c in self.static})
        stamps = rows[self.time_col].astype("datetime64[ns]").astype(part[self.time_col].dtype)
        return rows.assign(**{self.time_col: stamps}, **self.fill)


def complete_calendar(df: Any, id_cols: str | Sequence[str] | None = DEFAULT_ID_COLS, time_col: str = DEFAULT_TIME_COL,
                      freq: Any = None, start: Any = None, end: Any = None, fill: Mapping[str, Any] | None = None,
                      flag_col: str = "inserted", static_cols: str | Sequence[str] | None = None,
                      report: CleanReport | None = None) -> Any:
    """Reindex every series to its calendar, flagging the inserted rows.

    Parameters
    ----------
    df : pandas, cuDF or Dask DataFrame
        Long panel with unique ``(id_cols, time_col)``.
    id_cols : str or list of str, default ("sku", "location")
        Series keys; ``None`` treats the frame as one series.
    time_col : str, default "date"
    freq : str or pandas offset, optional
        The calendar: ``"D"``, ``"h"``, ``"7D"``, ``"B"``, ``"W-SUN"``, ``"MS"``, ``"QS"``...
        (see :func:`toolkit.panel.to_offset`). Default: inferred from the panel (in-memory
        frames only).
    start, end : timestamp-like, optional
        One range for every series instead of each series' own first and last timestamp.
    fill : dict, optional
        Values for inserted rows, e.g. ``{"units": 0}``; other columns are missing there.
    flag_col : str, default "inserted"
        Boolean column, True on inserted rows.
    static_cols : str or list of str, optional
        Columns constant within a series (e.g. ``"channel"``) copied into inserted rows.
    report : CleanReport, optional
        Receives the rows inserted (``calendar gap``) and the rows kept off the calendar or
        outside the range.

    Returns
    -------
    frame
        Sorted by ``id_cols + [time_col]``, index 0..n-1.

    Raises
    ------
    DataValidationError
        ``df`` is not a frame; a column is missing; ``time_col`` is not datetime; keys or
        timestamps are missing; (series, time) repeats; ``freq`` is unknown, cannot be
        inferred, or is not given for a Dask frame; ``flag_col`` exists already.

    Examples
    --------
    >>> import pandas as pd
    >>> from toolkit.cleanse import complete_calendar
    >>> df = pd.DataFrame({"sku": "a", "date": pd.to_datetime(["2024-01-01", "2024-01-03"]), "units": [1.0, 3.0]})
    >>> complete_calendar(df, id_cols="sku", freq="D")["inserted"].tolist()
    [False, True, False]
    """
    check_frame(df)
    check_report(report)
    return run_steps(df, [CalendarStep(id_cols, time_col, freq, start, end, fill, flag_col, static_cols)], report)
