"""The steps of a global forecaster's fit that the in-memory and the Dask paths share.

Each function takes one in-memory frame -- the whole panel, or one series-whole Dask
partition -- so both fits run the same code on the same rows:

* :func:`transform_target` -- the target through the :class:`~toolkit.forecast.transforms.TargetTransforms`
  (domain checked first, naming the input column and keys);
* :func:`training_flags` -- why each row leaves training: no (transformed) target, a
  stock-out, a missing exogenous value, a feature still in its warm-up; exclusive reasons,
  so ``rows_in == rows_used + sum(dropped)`` (:func:`fit_report`);
* :func:`tail_rows` -- the last rows of every series, sorted by series and time (the buffer
  recursive prediction starts from).

Examples
--------
>>> import numpy as np, pandas as pd
>>> feats = pd.DataFrame({"units": [np.nan, 2.0, 3.0], "lag_1": [np.nan, np.nan, 2.0], "stockout": [0, 0, 1]})
>>> flags = training_flags(feats, "units", "stockout", (), ["lag_1"])
>>> report = fit_report(flags)
>>> report.rows_in, report.rows_used, report.dropped["stockout"], report.dropped["feature_warmup"]
(3, 0, 1, 1)
"""

from __future__ import annotations

from typing import Any, Sequence

from toolkit import backend
from toolkit.forecast.base import FitReport
from toolkit.forecast.transforms import TargetTransforms
from toolkit.panel import SeriesLayout, checks, frames

__all__ = ["FLAGS", "transform_target", "training_flags", "report_from_counts", "fit_report", "tail_rows"]

FLAGS = {"_no_target": "transform_warmup", "_stock": "stockout", "_exog": "exog_missing", "_warmup": "feature_warmup"}
"""Flag column -> drop reason of the fit report, in the order reasons are assigned."""


def transform_target(frame: Any, layout: SeriesLayout, chain: TargetTransforms, target_col: str,
                     shown: Sequence[str]) -> Any:
    """The transformed target of ``frame`` in its row order (``chain`` keeps the per-series state).

    Raises
    ------
    DataValidationError
        A value outside the first transform's domain (``log1p`` of a value <= -1), naming the
        column and a few rows of ``shown`` columns.
    """
    y = frames.values(frame, target_col)
    if len(frame) == 0:
        return y
    violation = chain.check_domain(y)
    if violation is not None:
        mask, rule = violation
        where = layout.xp.nonzero(mask)[0]
        if int(where.shape[0]):
            checks.fail(target_col, rule, int(where.shape[0]), checks.examples(frame, where, list(shown)))
    return layout.scatter(chain.forward(layout.gather(y), layout))


def training_flags(frame: Any, target_col: str, stock_col: str | None, exog: Sequence[str],
                   features: Sequence[str]) -> Any:
    """One boolean column per drop reason (see :data:`FLAGS`), exclusive, in ``frame``'s row order.

    ``frame`` holds the transformed target, the features and (when stock-outs are excluded)
    ``stock_col``.
    """
    xp = frames.namespace(frame)
    no_target = xp.isnan(frames.values(frame, target_col))
    taken = no_target
    stock = (frames.values(frame, stock_col) > 0) & ~taken if stock_col else xp.zeros_like(taken)
    taken = taken | stock
    exog_nan = frames.as_array(frame[list(exog)].isna().any(axis=1)) if exog else xp.zeros_like(taken)
    exog_nan = exog_nan & ~taken
    taken = taken | exog_nan
    others = [f for f in features if f not in set(exog)]
    warmup = frames.as_array(frame[others].isna().any(axis=1)) if others else xp.zeros_like(taken)
    flags = dict(zip(FLAGS, (no_target, stock, exog_nan, warmup & ~taken)))
    return frames.assign(frame[[]], flags)


def report_from_counts(rows_in: int, counts: Any) -> FitReport:
    """A :class:`~toolkit.forecast.base.FitReport` from the number of rows and each flag's count."""
    dropped = {reason: int(counts[flag]) for flag, reason in FLAGS.items()}
    return FitReport(int(rows_in), int(rows_in) - sum(dropped.values()), dropped)


def fit_report(flags: Any) -> FitReport:
    """The :class:`~toolkit.forecast.base.FitReport` of a frame of :func:`training_flags`."""
    return report_from_counts(len(flags), backend.to_host(flags[list(FLAGS)].sum()))


def tail_rows(frame: Any, id_cols: Sequence[str], time_col: str, rows: int | None,
              columns: Sequence[str] | None = None, layout: SeriesLayout | None = None) -> Any:
    """The last ``rows`` rows of every series (all rows when ``None``), sorted by series and time."""
    layout = layout or SeriesLayout.from_frame(frame, list(id_cols), time_col)
    xp = layout.xp
    positions = layout.tail(rows).order if rows is not None else layout.input_rows(xp.arange(layout.n))
    part = frame[list(columns)] if columns is not None else frame
    return frames.take(part, positions).reset_index(drop=True)
