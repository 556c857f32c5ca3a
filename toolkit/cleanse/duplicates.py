"""``drop_duplicates``: drop exact duplicates, or rows repeating a key, keeping the first, the last or none.

Which copy survives follows ``order_by`` (e.g. an update timestamp, so ``keep="last"`` keeps
the latest version), ties and ``order_by=None`` following the input order -- on Dask the
global input order, carried through the shuffle. Values are compared as pandas compares them
in ``duplicated``: missing values equal each other, ``inf`` equals ``inf``. Every dropped row
is counted, under ``duplicate`` (all columns) or ``duplicate key (<keys>)``.

Examples
--------
>>> import pandas as pd
>>> from toolkit.cleanse import drop_duplicates
>>> drop_duplicates(pd.DataFrame({"id": [1, 1, 2], "v": [3, 1, 5]}), keys="id", keep="first")["v"].tolist()
[3, 5]
"""

from __future__ import annotations

from typing import Any, Sequence

from toolkit.cleanse.report import CleanReport, StepCounts, check_report
from toolkit.cleanse.runner import run_steps
from toolkit.cleanse.steps import ROW_ORDER_COL, Step
from toolkit.errors import DataValidationError
from toolkit.panel import as_list, check_frame, frames, require_columns

__all__ = ["KEEP", "DedupeStep", "drop_duplicates"]

KEEP = ("first", "last", False)


class DedupeStep(Step):
    """The step behind :func:`drop_duplicates`."""

    name = "drop_duplicates"
    keeps_order = True

    def __init__(self, keys: str | Sequence[str] | None, keep: str | bool, order_by: str | Sequence[str] | None):
        if not (keep is False or (isinstance(keep, str) and keep in ("first", "last"))):
            raise DataValidationError.for_parameter("keep", "unknown value", keep, list(KEEP))
        self.keys = as_list(keys, "keys") or None
        self.keep = keep
        self.order_by = as_list(order_by, "order_by")
        self.colocate = list(self.keys) if self.keys else None  # exact duplicates: set at check()

    def check(self, frame: Any) -> None:
        require_columns(frame, [*(self.keys or []), *self.order_by], "by drop_duplicates")
        if self.colocate is None:
            self.colocate = [c for c in frame.columns if c != ROW_ORDER_COL]

    def apply(self, part: Any, stats: Any = None) -> tuple[Any, StepCounts]:
        counts = StepCounts.start(len(part))
        subset = self.keys or [c for c in part.columns if c != ROW_ORDER_COL]
        sort_by = [*self.order_by, *([ROW_ORDER_COL] if ROW_ORDER_COL in part.columns else [])]
        xp = frames.namespace(part)
        if sort_by:  # a stable sort by order_by (cuDF's is stable too): decide there, map back
            ordered = part[sort_by].reset_index(drop=True).sort_values(sort_by, kind="stable")
            perm = xp.asarray(frames.as_array(ordered.index.to_series(), "int64"))
            in_order = frames.as_array(frames.take(part[subset], perm).duplicated(keep=self.keep), bool)
            repeated = xp.empty_like(in_order)
            repeated[perm] = in_order
        else:
            repeated = frames.as_array(part.duplicated(subset=subset, keep=self.keep), bool)
        n = int(xp.sum(xp.astype(repeated, xp.int64)))
        if n:
            counts.drop("duplicate" if not self.keys else f"duplicate key ({', '.join(self.keys)})", n)
            part = frames.take(part, xp.nonzero(~repeated)[0])
        return part, counts


def drop_duplicates(df: Any, keys: str | Sequence[str] | None = None, keep: str | bool = "last",
                    order_by: str | Sequence[str] | None = None, report: CleanReport | None = None) -> Any:
    """Drop exact duplicates (``keys=None``) or rows sharing ``keys``.

    Parameters
    ----------
    df : pandas, cuDF or Dask DataFrame
    keys : str or list of str, optional
        Columns identifying a record; ``None`` compares all columns.
    keep : {"last", "first", False}, default "last"
        Which of the duplicates survives, in the order of ``order_by`` (ties and
        ``order_by=None``: the input order); ``False`` drops them all.
    order_by : str or list of str, optional
        e.g. an update timestamp, so that ``keep="last"`` keeps the latest version.
    report : CleanReport, optional
        Receives the rows dropped (rows in = rows out + dropped).

    Returns
    -------
    frame
        The surviving rows in input order (Dask: grouped by key after a shuffle).

    Raises
    ------
    DataValidationError
        ``df`` is not a frame, ``keep`` is unknown, or a key or ``order_by`` column is missing.

    Examples
    --------
    >>> import pandas as pd
    >>> from toolkit.cleanse import drop_duplicates
    >>> df = pd.DataFrame({"id": [1, 1, 2], "v": [3, 1, 5], "ts": [2, 1, 1]})
    >>> drop_duplicates(df, keys="id", order_by="ts")["v"].tolist()
    [3, 5]
    """
    check_frame(df)
    check_report(report)
    return run_steps(df, [DedupeStep(keys, keep, order_by)], report)
