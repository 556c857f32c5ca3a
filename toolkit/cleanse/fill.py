"""``fill_missing``: fill missing values inside each series, never across series.

Methods: ``ffill`` and ``bfill`` carry the last (next) value of the series; ``linear``
interpolates by row position between the neighbouring values, inside gaps only (run
:func:`~toolkit.cleanse.complete_calendar` first so that positions are calendar steps);
``median`` takes the series median; ``zero`` writes 0; ``seasonal`` takes the value of the
same phase (``period`` rows back: the same weekday for daily data and ``period=7``) in the
latest earlier season that has one. ``limit`` caps how many consecutive missing values of one
gap are filled -- the first ``limit`` after the last valid value, the last ``limit`` before
the next one for ``bfill``, seasons for ``seasonal`` (see :mod:`toolkit.kernels.fill`).

Rows are ordered by ``time_col`` within a series through :class:`toolkit.panel.SeriesLayout`,
which refuses missing keys or timestamps and a repeated (series, time): which of two rows at
the same time comes "before" is undefined, so such input is refused rather than filled
arbitrarily (``median``/``zero`` without ``limit`` need no time order and accept it).

Non-finite values: ``+-inf`` in a column to fill is refused, naming the column and keys --
a forward fill or an interpolation would copy it into every later gap. Missing values are
NaN (or pandas' NA); the filled columns are float64. Rows are never dropped or added; the
report counts the values filled.

Examples
--------
>>> import pandas as pd
>>> from toolkit.cleanse import fill_missing
>>> df = pd.DataFrame({"sku": ["a", "a", "a", "b"], "date": pd.to_datetime(["2024-01-01", "2024-01-02",
...                    "2024-01-03", "2024-01-01"]), "units": [1.0, None, 3.0, None]})
>>> fill_missing(df, method="linear", id_cols="sku")["units"].tolist()
[1.0, 2.0, 3.0, nan]
"""

from __future__ import annotations

from typing import Any, Sequence

from toolkit.cleanse.kernels import per_row, phase_order, segment_quantiles
from toolkit.cleanse.report import CleanReport, StepCounts, check_report
from toolkit.cleanse.runner import run_steps
from toolkit.cleanse.steps import Step, put_columns
from toolkit.errors import DataValidationError
from toolkit.kernels.fill import segment_fill
from toolkit.panel import (DEFAULT_ID_COLS, DEFAULT_TARGET_COL, DEFAULT_TIME_COL, SeriesLayout, as_list,
                           check_choice, check_frame, check_int, frames, require_columns, require_datetime,
                           require_finite, require_numeric)

__all__ = ["METHODS", "FillStep", "fill_missing"]

METHODS = ("ffill", "bfill", "linear", "median", "zero", "seasonal")


class FillStep(Step):
    """The step behind :func:`fill_missing` (see the module docstring)."""

    name = "fill_missing"

    def __init__(self, cols: str | Sequence[str], method: str, id_cols: str | Sequence[str] | None, time_col: str,
                 limit: int | None, period: int, indicator: bool) -> None:
        self.cols = as_list(cols, "cols")
        if not self.cols:
            raise DataValidationError.for_parameter("cols", "name at least one column to fill", cols)
        self.method = check_choice("method", method, METHODS)
        self.ids = as_list(id_cols)
        if not isinstance(time_col, str):
            raise DataValidationError.for_parameter("time_col", "expected a column name", time_col)
        self.limit = None if limit is None else check_int("limit", limit, minimum=1)
        self.period = check_int("period", period, minimum=1)
        if not isinstance(indicator, bool):
            raise DataValidationError.for_parameter("indicator", "expected True or False", indicator)
        self.indicator = indicator
        self.ordered = self.method not in ("median", "zero") or self.limit is not None
        self.time_col = time_col if self.ordered else None  # Dask: series-whole partitions only when ordered
        self.time_column = time_col
        self.colocate = None if (self.method == "zero" and not self.ordered) else list(self.ids)

    def check(self, frame: Any) -> None:
        require_columns(frame, [*self.cols, *self.ids, self.time_column], "by fill_missing")
        require_numeric(frame, self.cols, "to fill them")
        if self.ordered:
            require_datetime(frame, self.time_column)

    def apply(self, part: Any, stats: Any = None) -> tuple[Any, StepCounts]:
        counts = StepCounts.start(len(part))
        require_finite(part, self.cols, [*self.ids, self.time_column], purpose="to fill around them")
        xp = frames.namespace(part)
        if self.method == "zero" and not self.ordered:
            layout = SeriesLayout(xp, xp.asarray([0, len(part)] if len(part) else [0], dtype=xp.int64))
        else:
            layout = SeriesLayout.from_frame(part, self.ids, self.time_col)
        phases = phase_order(layout.bounds, layout.n, self.period) if self.method == "seasonal" else None
        out = {}
        for col in self.cols:
            x = layout.gather(frames.values(part, col))
            new, filled = self._fill(xp, x, layout, phases)
            out[col] = layout.scatter(new)
            if self.indicator:
                out[f"{col}_filled"] = layout.scatter(filled)
            counts.value("filled", int(xp.sum(xp.astype(filled, xp.int64))))
        return put_columns(part, out), counts

    def _fill(self, xp: Any, x: Any, layout: SeriesLayout, phases: Any) -> tuple[Any, Any]:
        """Filled values and mask of sorted values ``x``."""
        if self.method in ("ffill", "bfill", "linear"):
            return segment_fill(x, layout.bounds, self.method, self.limit)
        if self.method == "seasonal":
            order, bounds = phases
            new_in_phase, filled_in_phase = segment_fill(xp.take(x, order), bounds, "ffill", self.limit)
            new, filled = xp.empty_like(x), xp.empty_like(filled_in_phase)
            new[order], filled[order] = new_in_phase, filled_in_phase
            return new, filled
        if self.method == "zero":
            value = xp.zeros_like(x)
        else:
            (median,) = segment_quantiles(x, layout.bounds, (0.5,))
            value = per_row(median, layout.bounds, layout.n)
        if self.limit is not None:
            return segment_fill(x, layout.bounds, "value", self.limit, value)
        filled = xp.isnan(x) & ~xp.isnan(value)
        return xp.where(filled, value, x), filled


def fill_missing(df: Any, cols: str | Sequence[str] = DEFAULT_TARGET_COL, method: str = "ffill",
                 id_cols: str | Sequence[str] | None = DEFAULT_ID_COLS, time_col: str = DEFAULT_TIME_COL,
                 limit: int | None = None, period: int = 7, indicator: bool = False,
                 report: CleanReport | None = None) -> Any:
    """Fill missing values within each series, never across series.

    Parameters
    ----------
    df : pandas, cuDF or Dask DataFrame
    cols : str or list of str, default "units"
        Numeric columns to fill; results are float64.
    method : {"ffill", "bfill", "linear", "median", "zero", "seasonal"}
        See the module docstring.
    id_cols : str or list of str, default ("sku", "location")
        ``None``: the frame is one series.
    time_col : str, default "date"
        Orders rows within a series.
    limit : int >= 1, optional
        Fill at most this many consecutive missing values per gap (seasons for ``seasonal``).
    period : int >= 1, default 7
        Season length in rows for ``seasonal``.
    indicator : bool, default False
        Add ``<col>_filled`` boolean columns.
    report : CleanReport, optional
        Receives the number of values filled (rows in = rows out).

    Returns
    -------
    frame
        Same rows, same order.

    Raises
    ------
    DataValidationError
        ``df`` is not a frame; an unknown method or a bad ``limit``/``period``; a missing or
        non-numeric column; ``+-inf`` in a column to fill; missing keys or timestamps, or a
        repeated (series, time) for the time-ordered methods.

    Examples
    --------
    >>> import pandas as pd
    >>> from toolkit.cleanse import fill_missing
    >>> df = pd.DataFrame({"sku": "a", "date": pd.date_range("2024-01-01", periods=4), "units": [1.0, None, None, 4.0]})
    >>> fill_missing(df, method="ffill", id_cols="sku", limit=1)["units"].tolist()
    [1.0, 1.0, nan, 4.0]
    """
    check_frame(df)
    check_report(report)
    return run_steps(df, [FillStep(cols, method, id_cols, time_col, limit, period, indicator)], report)
