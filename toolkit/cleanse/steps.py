"""The step protocol: one in-memory transform with its counts, run on a frame or on every Dask partition.

Every cleansing verb is a :class:`Step`. Its :meth:`~Step.apply` takes one in-memory frame
(pandas or cuDF) and returns the new frame with its :class:`~toolkit.cleanse.report.StepCounts`.
The runner (:mod:`toolkit.cleanse.runner`) calls it once on an in-memory frame, or once per
partition of a Dask frame after moving rows that must meet into one partition -- so the Dask
result equals the in-memory one by construction. What a step declares for that:

* ``colocate``: ``None`` when rows are independent; the columns whose equal values must share
  a partition (``[]``: the whole frame in one partition);
* ``time_col``: with ``colocate``, the step is per series in time order, and the runner lays
  the frame out with :func:`toolkit.panel.partition_by_series`;
* ``global_cols``: columns whose whole-frame statistics :meth:`~Step.fit` computes once on
  Dask (in memory ``apply`` computes them itself);
* ``keeps_order``: the step needs the global input row order (duplicates with
  ``keep="first"``), carried through shuffles in :data:`ROW_ORDER_COL`.

:meth:`~Step.check` runs on the frame, or on a Dask frame's empty meta, before any work
(and :meth:`~Step.check_lazy` before a Dask graph is built);
:meth:`~Step.finish` runs once the step's counts over the whole frame are known (it is where
validation raises, so that Dask raises with totals over all partitions).

Examples
--------
>>> import pandas as pd
>>> from toolkit.cleanse.steps import CustomStep
>>> out, counts = CustomStep(lambda df: df.head(2), "first two").apply(pd.DataFrame({"a": [1, 2, 3]}))
>>> counts.dropped
{'first two': 1}
"""

from __future__ import annotations

from typing import Any, Callable, Mapping

from toolkit.cleanse.report import StepCounts
from toolkit.errors import DataValidationError
from toolkit.panel import frames

__all__ = ["ROW_ORDER_COL", "Step", "CustomStep", "put_columns"]

ROW_ORDER_COL = "__cleanse_order"
"""Global input row number carried through Dask shuffles for steps with ``keeps_order``."""


def put_columns(part: Any, columns: Mapping[str, Any]) -> Any:
    """``part`` with ``columns`` (arrays in row order) written in: a replaced column keeps its
    place, so a cleaned frame has the columns of its input in their order (new ones come last)."""
    out = frames.assign(part, columns)
    added = [name for name in columns if name not in part.columns]
    if len(added) == len(columns):
        return out
    return out[[*part.columns, *added]]


class Step:
    """A transform of one in-memory frame with its counts (see the module docstring)."""

    name = "step"
    colocate: list[str] | None = None
    time_col: str | None = None
    global_cols: list[str] = []
    keeps_order = False

    def check(self, frame: Any) -> None:
        """Structural checks (columns, dtypes) on a frame or a Dask frame's empty meta."""

    def check_lazy(self) -> None:
        """Raise when the step cannot run partition by partition as parameterised (called for Dask only)."""

    def fit(self, frame: Any) -> Any:
        """Whole-frame statistics of ``global_cols`` (``frame`` holds only those columns)."""
        return None

    def apply(self, part: Any, stats: Any = None) -> tuple[Any, StepCounts]:
        """The step on one in-memory frame; ``stats`` from :meth:`fit` on Dask, else ``None``."""
        raise NotImplementedError

    def finish(self, counts: StepCounts) -> None:
        """Called with the counts over the whole frame; raise here what must fail the step."""


class CustomStep(Step):
    """A user function ``frame -> frame`` as a step; its change in row count is recorded under its name."""

    def __init__(self, func: Callable[[Any], Any], name: str | None = None) -> None:
        self.func = func
        self.name = name or getattr(func, "__name__", "custom")

    def apply(self, part: Any, stats: Any = None) -> tuple[Any, StepCounts]:
        counts = StepCounts.start(len(part))
        out = self.func(part)
        if type(out) is not type(part):
            raise DataValidationError.for_parameter(
                "steps", f"the custom step {self.name!r} must return a frame of the kind it was given "
                         f"({type(part).__name__}), got a {type(out).__name__}")
        change = len(out) - len(part)
        if change < 0:
            counts.drop(self.name, -change)
        else:
            counts.insert(self.name, change)
        return out, counts
