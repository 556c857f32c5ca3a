"""``flag_outliers`` and ``clip_outliers``: bounds per column (globally or per series), then flag or cap.

Every method gives each row a lower and an upper bound:

* ``iqr``: ``[q1 - k*iqr, q3 + k*iqr]`` (k = 1.5; linear-interpolation quartiles);
* ``zscore``: ``mean +- t*std`` (population std, t = 3);
* ``mad``: ``median +- t*1.4826*MAD`` (t = 3.5);
* ``hampel``: the same with a centred rolling median and MAD over ``window`` rows of one
  series in time order (t = 3), windows cut at the series' edges.

``flag`` adds ``<col><suffix>`` (True outside the bounds); ``clip`` caps values to the bounds.
Statistics are taken per series of ``id_cols`` (``None``: over the whole column; ``hampel``:
the whole frame is one series).

Non-finite values, the same policy for every method: missing values (NaN) are never flagged
or clipped and never enter the statistics. ``+-inf`` is an outlier by definition: it never
enters the statistics either (so one ``inf`` cannot blow up a mean, a standard deviation or a
window), it is always flagged, and ``clip`` caps it to the bound on its side. In a series
with no finite value there is no bound: ``clip`` then sets its ``inf`` missing, counted as
``nulled`` in the report. Rows are never dropped; the report counts ``flagged`` or
``clipped`` values.

Examples
--------
>>> import pandas as pd
>>> from toolkit.cleanse import flag_outliers, clip_outliers
>>> df = pd.DataFrame({"units": [1.0, 2, 3, 2, 50, float("inf")]})
>>> flag_outliers(df, method="zscore", threshold=1.5)["units_outlier"].tolist()
[False, False, False, False, True, True]
>>> clip_outliers(df)["units"].tolist()
[1.0, 2.0, 3.0, 2.0, 4.5, 4.5]
"""

from __future__ import annotations

import math
from typing import Any, Sequence

from toolkit.cleanse.kernels import MAD_SCALE, per_row, segment_mad, segment_moments, segment_quantiles, window_median
from toolkit.cleanse.report import CleanReport, StepCounts, check_report
from toolkit.cleanse.runner import run_steps
from toolkit.cleanse.steps import Step, put_columns
from toolkit.errors import DataValidationError
from toolkit.panel import (DEFAULT_TARGET_COL, DEFAULT_TIME_COL, SeriesLayout, as_list, check_choice, check_frame,
                           check_int, check_number, frames, require_columns, require_datetime, require_numeric)

__all__ = ["THRESHOLDS", "OutlierStep", "outlier_bounds", "flag_outliers", "clip_outliers"]

THRESHOLDS = {"iqr": 1.5, "zscore": 3.0, "mad": 3.5, "hampel": 3.0}
"""The methods and their default thresholds (k for IQR, t for the others)."""


def outlier_bounds(x: Any, bounds: Any, method: str, threshold: float, window: int = 7) -> tuple[Any, Any]:
    """Per-row lower and upper bounds of sorted values ``x`` in segments ``bounds`` (NaN ignored).

    ``x`` must hold no ``inf`` (replace it by NaN first). NaN bounds where a segment (or a
    Hampel window) has no value.
    """
    n = x.shape[0]
    if method == "hampel":
        center, mad = window_median(x, bounds, window // 2)
        spread = threshold * MAD_SCALE * mad
        return center - spread, center + spread
    if method == "iqr":
        q1, q3 = (per_row(q, bounds, n) for q in segment_quantiles(x, bounds, (0.25, 0.75)))
        return q1 - threshold * (q3 - q1), q3 + threshold * (q3 - q1)
    if method == "zscore":
        mean, std = (per_row(s, bounds, n) for s in segment_moments(x, bounds))
        return mean - threshold * std, mean + threshold * std
    median, mad = (per_row(s, bounds, n) for s in segment_mad(x, bounds))
    return median - threshold * MAD_SCALE * mad, median + threshold * MAD_SCALE * mad


class OutlierStep(Step):
    """The step behind :func:`flag_outliers` (``action="flag"``) and :func:`clip_outliers` (``"clip"``)."""

    def __init__(self, cols: str | Sequence[str], method: str, id_cols: str | Sequence[str] | None, time_col: str,
                 threshold: float | None, window: int, action: str, suffix: str) -> None:
        self.cols = as_list(cols, "cols")
        if not self.cols:
            raise DataValidationError.for_parameter("cols", "name at least one column", cols)
        self.method = check_choice("method", method, list(THRESHOLDS))
        self.ids = as_list(id_cols)
        self.threshold = THRESHOLDS[self.method] if threshold is None else check_number(
            "threshold", threshold, 0.0, low_open=True)
        self.window = 0
        if self.method == "hampel":
            self.window = check_int("window", window, minimum=3)
            if self.window % 2 == 0:
                raise DataValidationError.for_parameter("window", "must be odd (a centred window)", window)
            if not isinstance(time_col, str):
                raise DataValidationError.for_parameter("time_col", "expected a column name", time_col)
        self.action = action
        if action == "flag" and (not isinstance(suffix, str) or not suffix):
            raise DataValidationError.for_parameter("suffix", "must be a non-empty string (the flag column "
                                                              "would replace the values)", suffix)
        self.suffix = suffix
        self.name = f"{action}_outliers"
        self.time_col = time_col if self.method == "hampel" else None
        if self.ids or self.method == "hampel":
            self.colocate, self.global_cols = list(self.ids), []
        else:
            self.colocate, self.global_cols = None, list(self.cols)

    def check(self, frame: Any) -> None:
        require_columns(frame, [*self.cols, *self.ids, *([self.time_col] if self.time_col else [])],
                        f"by {self.name}")
        require_numeric(frame, self.cols, f"by {self.name}")
        if self.time_col:
            require_datetime(frame, self.time_col)

    @staticmethod
    def _finite(xp: Any, x: Any) -> Any:
        return xp.where(xp.isinf(x), xp.nan, x)

    def fit(self, frame: Any) -> dict:
        """Global bounds ``{col: (lower, upper)}`` over whole columns (Dask, ``id_cols=None``)."""
        out = {}
        xp = frames.namespace(frame)
        whole = xp.asarray([0, len(frame)], dtype=xp.int64)
        for col in self.cols:
            x = self._finite(xp, frames.values(frame, col))
            if x.shape[0] == 0:
                out[col] = (math.nan, math.nan)
                continue
            lo, hi = outlier_bounds(x, whole, self.method, self.threshold)
            out[col] = (float(lo[0]), float(hi[0]))
        return out

    def _layout(self, part: Any, stats: Any) -> SeriesLayout:
        if self.method == "hampel" or (self.ids and stats is None):
            return SeriesLayout.from_frame(part, self.ids, self.time_col)
        xp = frames.namespace(part)
        return SeriesLayout(xp, xp.asarray([0, len(part)] if len(part) else [0], dtype=xp.int64))

    def apply(self, part: Any, stats: Any = None) -> tuple[Any, StepCounts]:
        counts = StepCounts.start(len(part))
        layout = self._layout(part, stats)
        xp = layout.xp
        out = {}
        for col in self.cols:
            x = layout.gather(frames.values(part, col))
            if stats is not None:
                lo = xp.full(x.shape, stats[col][0], dtype=xp.float64)
                hi = xp.full(x.shape, stats[col][1], dtype=xp.float64)
            else:
                lo, hi = outlier_bounds(self._finite(xp, x), layout.bounds, self.method, self.threshold, self.window)
            below, above = x < lo, x > hi  # False for NaN values and NaN bounds
            unbounded = xp.isinf(x) & ~below & ~above
            if self.action == "flag":
                new = below | above | unbounded
                counts.value("flagged", int(xp.sum(xp.astype(new, xp.int64))))
                out[f"{col}{self.suffix}"] = layout.scatter(new)
            else:
                new = xp.where(below, lo, xp.where(above, hi, xp.where(unbounded, xp.nan, x)))
                counts.value("clipped", int(xp.sum(xp.astype(below | above, xp.int64))))
                counts.value("nulled", int(xp.sum(xp.astype(unbounded, xp.int64))))
                out[col] = layout.scatter(new)
        return put_columns(part, out), counts


def flag_outliers(df: Any, cols: str | Sequence[str] = DEFAULT_TARGET_COL, method: str = "iqr",
                  id_cols: str | Sequence[str] | None = None, time_col: str = DEFAULT_TIME_COL,
                  threshold: float | None = None, window: int = 7, suffix: str = "_outlier",
                  report: CleanReport | None = None) -> Any:
    """Add a boolean ``<col><suffix>`` column marking outliers (see the module docstring).

    Parameters
    ----------
    df : pandas, cuDF or Dask DataFrame
    cols : str or list of str, default "units"
        Numeric columns.
    method : {"iqr", "zscore", "mad", "hampel"}
    id_cols : str or list of str, optional
        Statistics per series; ``None``: over the whole column (``hampel``: one series).
    time_col : str, default "date"
        Orders rows within a series (``hampel`` only).
    threshold : float > 0, optional
        k for IQR (1.5), t for z-score (3), MAD (3.5) and Hampel (3).
    window : int, default 7
        Odd Hampel window length in rows (>= 3).
    suffix : str, default "_outlier"
    report : CleanReport, optional
        Receives the number of values flagged.

    Returns
    -------
    frame
        Same rows, same order, one more boolean column per ``cols``.

    Raises
    ------
    DataValidationError
        ``df`` is not a frame; an unknown method; a bad threshold, window or suffix; a
        missing or non-numeric column; missing keys (or for ``hampel`` a repeated
        (series, time)).

    Examples
    --------
    >>> import pandas as pd
    >>> from toolkit.cleanse import flag_outliers
    >>> flag_outliers(pd.DataFrame({"units": [1.0, 2, 3, 2, 50]}))["units_outlier"].tolist()
    [False, False, False, False, True]
    """
    check_frame(df)
    check_report(report)
    return run_steps(df, [OutlierStep(cols, method, id_cols, time_col, threshold, window, "flag", suffix)], report)


def clip_outliers(df: Any, cols: str | Sequence[str] = DEFAULT_TARGET_COL, method: str = "iqr",
                  id_cols: str | Sequence[str] | None = None, time_col: str = DEFAULT_TIME_COL,
                  threshold: float | None = None, window: int = 7, report: CleanReport | None = None) -> Any:
    """Cap values outside the outlier bounds to the bounds (counted as ``clipped``).

    Parameters are those of :func:`flag_outliers`; clipped columns are float64.

    Returns
    -------
    frame
        Same rows, same order.

    Examples
    --------
    >>> import pandas as pd
    >>> from toolkit.cleanse import clip_outliers
    >>> clip_outliers(pd.DataFrame({"units": [1.0, 2, 3, 2, 50]}))["units"].tolist()
    [1.0, 2.0, 3.0, 2.0, 4.5]
    """
    check_frame(df)
    check_report(report)
    return run_steps(df, [OutlierStep(cols, method, id_cols, time_col, threshold, window, "clip", "")], report)
