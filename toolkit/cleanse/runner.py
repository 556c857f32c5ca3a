"""Running steps: in memory, or on Dask partitions with the counts in the same graph.

This is the only module of :mod:`toolkit.cleanse` that knows about Dask. In memory a step is
checked, applied and finished in turn. On Dask the steps become ``Delayed`` tasks, one per
partition and step, each returning ``(partition, counts)``:

* rows that must meet are moved once, when a step needs it: per-series steps through
  :func:`toolkit.panel.partition_by_series` (series-whole partitions sorted by time; a frame
  already laid out so is not shuffled again), key steps through a shuffle on their keys,
  whole-frame steps into one partition; steps needing a global statistic get it from one
  task reading only the needed columns of every partition;
* the output frame is ``from_delayed`` of the last tasks and each step's counts a ``Delayed``
  sum over the same tasks, so persisting both in one ``dask.persist`` (what
  :func:`toolkit.cleanse.clean` does) reads and transforms the data once. Counts taken with
  ``len(ddf)`` after each step would instead be separate expressions, each re-reading the data;
* an output whose partitions still hold whole series is recorded as such
  (:func:`toolkit.panel.assume_partitioned_by_series`), so per-series verbs after it do not
  shuffle again.

The helpers :func:`map_frame`, :func:`gather_groups` and :func:`concat_frames` give the
other cleansing modules the few whole-frame operations they need on either kind of frame.

Examples
--------
>>> import pandas as pd, dask.dataframe as dd
>>> from toolkit.cleanse.duplicates import DedupeStep
>>> from toolkit.cleanse.runner import run_steps
>>> df = pd.DataFrame({"id": [1, 1, 2, 2], "v": [1, 1, 2, 3]})
>>> out, counts = run_steps(dd.from_pandas(df, npartitions=2), [DedupeStep(keys=None, keep="last", order_by=None)],
...                         persist=True)
>>> len(out.compute()), counts[0].dropped
(3, {'duplicate': 1})
"""

from __future__ import annotations

import math
from typing import Any, Callable, Sequence

from toolkit import backend
from toolkit.cleanse.report import CleanReport, StepCounts
from toolkit.cleanse.steps import ROW_ORDER_COL, CustomStep, Step
from toolkit.panel import assume_partitioned_by_series, is_partitioned_by_series, partition_by_series
from toolkit.panel import frames as panel_frames

__all__ = ["is_lazy", "meta", "run_steps", "record", "map_frame", "gather_groups", "concat_frames"]


def is_lazy(df: Any) -> bool:
    """True for a Dask frame (computed partition by partition)."""
    return backend.is_dask(df)


def meta(df: Any) -> Any:
    """The in-memory frame describing ``df``: its empty meta for Dask, the frame itself otherwise."""
    return df._meta if is_lazy(df) else df


def record(report: CleanReport | None, steps: Sequence[Step], counts: Sequence[Any]) -> None:
    """Record each step's counts (or pending Dask counts) in ``report``."""
    if report is not None:
        for step, c in zip(steps, counts):
            report.record(step.name, c)


def run_steps(df: Any, steps: Sequence[Step], report: CleanReport | None = None, *,
              persist: bool = False, checked: bool = False) -> Any:
    """Apply ``steps`` to ``df``; record their counts in ``report``.

    Parameters
    ----------
    df : pandas, cuDF or Dask DataFrame
    steps : list of Step
    report : CleanReport, optional
    persist : bool, default False
        Dask only: persist the output and the counts in one pass and return ``(frame, counts)``
        (the counts computed); every step's ``finish`` runs on the totals.
    checked : bool, default False
        Dask only: compute the counts first (one pass) and run every ``finish`` before
        returning the lazy frame (stand-alone validation raises before returning).

    Returns
    -------
    frame, or ``(frame, list of StepCounts)`` with ``persist``
        Same kind as ``df``. Without ``persist`` or ``checked`` the Dask counts stay pending
        in ``report`` until it is read.
    """
    if not is_lazy(df):
        _check_ahead(df, steps)
        counts = []
        for step in steps:
            step.check(df)
            df, c = step.apply(df)
            step.finish(c)
            counts.append(c)
        record(report, steps, counts)
        return (df, counts) if persist else df
    import dask

    parts, frame_meta, pending, series = _delayed_steps(df, steps)
    if persist:
        parts, pending = dask.persist(parts, pending)
    if persist or checked:
        pending = list(dask.compute(*pending))
        record(report, steps, pending)
        for step, c in zip(steps, pending):
            step.finish(c)
    else:
        record(report, steps, pending)
    out = _from_parts(parts, frame_meta, series)
    return (out, pending) if persist else out


def _check_ahead(df: Any, steps: Sequence[Step]) -> None:
    """Every step's checks on the empty frame the steps before it would give, before any work.

    What a user function (a :class:`~toolkit.cleanse.steps.CustomStep`) returns cannot be
    foreseen, so the checks ahead stop there; later steps are checked when they run.
    """
    if len(steps) < 2:
        return
    probe = df.head(0)
    for step in steps:
        if isinstance(step, CustomStep):
            return
        step.check(probe)
        probe = step.apply(probe)[0]


def _with_order(part: Any, number: int) -> Any:
    xp = panel_frames.namespace(part)
    rows = xp.arange(len(part), dtype=xp.int64) + (int(number) << 40)
    return panel_frames.assign(part, {ROW_ORDER_COL: rows})


def _colocated(layout: list[str] | None, need: list[str] | None) -> bool:
    if need is None:
        return True
    if layout is None:
        return False
    return set(layout) <= set(need)  # coarser groups hold finer ones; [] (one partition) holds all


def _colocate(frame: Any, keys: list[str], time_col: str | None) -> Any:
    if not keys:
        return frame.repartition(npartitions=1)
    if time_col is not None:
        return partition_by_series(frame, keys, time_col)
    return frame.shuffle(on=keys)


def _columns(part: Any, cols: list[str]) -> Any:
    return part[cols]


def _fit_on_concat(step: Step, pieces: list) -> Any:
    return step.fit(panel_frames.concat(pieces))


def _drop_order(part: Any) -> Any:
    return part.drop(columns=[ROW_ORDER_COL])


def _delayed_steps(ddf: Any, steps: Sequence[Step]) -> tuple[list, Any, list, tuple | None]:
    """The steps as Delayed tasks per partition, shuffling where a step needs rows together.

    Returns the output partitions, their meta, one Delayed counts per step and the
    ``(keys, time_col)`` the output partitions hold whole (or None).
    """
    import dask
    import dask.dataframe as dd

    frame_meta = ddf._meta
    layout: list[str] | None = None
    series: tuple | None = None
    first = next((s for s in steps if s.colocate is not None), None)
    if first is not None and first.colocate and first.time_col and is_partitioned_by_series(
            ddf, first.colocate, first.time_col):
        layout, series = list(first.colocate), (list(first.colocate), first.time_col)
    frame, parts = ddf, None
    if any(s.keeps_order for s in steps):
        parts = [dask.delayed(_with_order)(p, i) for i, p in enumerate(ddf.to_delayed())]
        frame_meta = _with_order(frame_meta, 0)
    counts = []
    for step in steps:
        step.check_lazy()
        step.check(frame_meta)
        need = step.colocate
        if not _colocated(layout, need):
            if parts is not None:
                frame = dd.from_delayed(parts, meta=frame_meta, verify_meta=False)
            frame = _colocate(frame, need, step.time_col)
            layout, parts = list(need), None
            series = (list(need), step.time_col) if need and step.time_col else None
        if parts is None:
            parts = frame.to_delayed()
        stats = meta_stats = None
        if step.global_cols:
            pieces = [dask.delayed(_columns)(p, list(step.global_cols)) for p in parts]
            stats = dask.delayed(_fit_on_concat)(step, pieces)
            meta_stats = {c: (math.nan, math.nan) for c in step.global_cols}
        outs = [dask.delayed(step.apply, nout=2)(p, stats) for p in parts]
        parts = [o[0] for o in outs]
        counts.append(dask.delayed(StepCounts.merge)([o[1] for o in outs]))
        frame_meta = step.apply(frame_meta, meta_stats)[0]
    if parts is None:
        parts = frame.to_delayed()
    if ROW_ORDER_COL in frame_meta.columns:
        parts = [dask.delayed(_drop_order)(p) for p in parts]
        frame_meta = _drop_order(frame_meta)
    if series is not None and series[1] not in frame_meta.columns:
        series = None
    return parts, frame_meta, counts, series


def _from_parts(parts: list, frame_meta: Any, series: tuple | None) -> Any:
    import dask.dataframe as dd

    out = dd.from_delayed(list(parts), meta=frame_meta, verify_meta=False)
    if series is not None:
        out = assume_partitioned_by_series(out, *series)
    return out


def map_frame(df: Any, func: Callable[..., Any], **kwargs: Any) -> Any:
    """``func(df, **kwargs)`` in memory; on Dask lazily on every partition (rows independent)."""
    if not is_lazy(df):
        return func(df, **kwargs)
    return df.map_partitions(func, meta=func(df._meta, **kwargs), **kwargs)


def gather_groups(df: Any, keys: list[str], func: Callable[[Any], Any]) -> list:
    """``func`` on frames holding every group of ``keys`` whole; the in-memory results, in a list.

    In memory that is ``[func(df)]``; on Dask the frame is shuffled on ``keys`` (or put in one
    partition when ``keys`` is empty) and ``func`` computed on every partition.
    """
    if not is_lazy(df):
        return [func(df)]
    import dask

    grouped = _colocate(df, keys, None)
    return list(dask.compute(*[dask.delayed(func)(p) for p in grouped.to_delayed()]))


def concat_frames(frames: Sequence[Any]) -> Any:
    """Frames of one kind stacked (Dask: lazily, partitions interleaved), index renumbered in memory."""
    if is_lazy(frames[0]):
        import dask.dataframe as dd

        return dd.concat(list(frames), interleave_partitions=True)
    return panel_frames.concat(list(frames), ignore_index=True)
