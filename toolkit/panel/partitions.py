"""Per-series work on Dask frames: series-whole partitions and one dispatcher for every verb.

The toolkit has one Dask strategy for per-series steps: shuffle the frame so that every
series lies whole in one partition, sorted by ``id_cols + [time_col]``, then run the same
in-memory function that serves pandas and cuDF on each partition, lazily. Verbs call
:func:`per_series`, which does exactly that for a Dask frame and simply calls the function
for an in-memory one, so no verb branches on Dask itself.

Dask collections carry no user metadata that survives ``map_partitions``, so the layout is
recorded in a registry keyed by the collection's name (its graph token):
:func:`map_series` registers its output, so chained per-series calls shuffle once. A frame
recorded as partitioned by coarser keys (``["sku"]``) holds finer series (``["sku",
"location"]``) whole as well. :func:`assume_partitioned_by_series` records a layout known by
construction (files written per block of series) without checking it.

Examples
--------
>>> import pandas as pd, dask.dataframe as dd
>>> from toolkit.panel.partitions import partition_by_series, map_series
>>> df = pd.DataFrame({"sku": [1, 2, 1, 2], "date": pd.to_datetime(["2024-01-02", "2024-01-01",
...                    "2024-01-01", "2024-01-02"]), "units": [1.0, 2.0, 3.0, 4.0]})
>>> ddf = partition_by_series(dd.from_pandas(df, npartitions=2), "sku", "date")
>>> out = map_series(ddf, lambda part: part.assign(lag1=part.groupby("sku")["units"].shift(1)),
...                  id_cols="sku", time_col="date")
>>> sorted(out.compute()["lag1"].dropna().tolist())
[2.0, 3.0]
"""

from __future__ import annotations

import functools
from typing import Any, Callable, Mapping, Sequence

from toolkit.backend import is_dask
from toolkit.errors import DataValidationError
from toolkit.panel import checks

__all__ = [
    "per_series",
    "per_partition",
    "partition_by_series",
    "is_partitioned_by_series",
    "assume_partitioned_by_series",
    "map_series",
]

_LAYOUT: dict[str, tuple[tuple[str, ...], str]] = {}


def _register(ddf: Any, id_cols: Sequence[str], time_col: str) -> Any:
    _LAYOUT[ddf._name] = (tuple(id_cols), time_col)
    return ddf


def _require_dask(ddf: Any, name: str) -> None:
    if not is_dask(ddf):
        raise DataValidationError(f"parameter 'ddf': {name} expects a Dask DataFrame, got a {type(ddf).__name__}",
                                  parameter="ddf")


def is_partitioned_by_series(ddf: Any, id_cols: str | Sequence[str], time_col: str) -> bool:
    """True when ``ddf`` is known to hold every series of ``id_cols`` whole in one partition.

    A frame partitioned by coarser keys (``["sku"]``) also holds finer series
    (``["sku", "location"]``) whole, so the recorded keys need only be a subset.
    """
    layout = _LAYOUT.get(getattr(ddf, "_name", None))
    if layout is None:
        return False
    keys, recorded_time = layout
    return set(keys) <= set(checks.as_list(id_cols)) and recorded_time == time_col


def _check_layout_columns(ddf: Any, keys: list[str], time_col: str) -> None:
    if not keys:
        raise DataValidationError.for_parameter("id_cols", "must name at least one column to partition by series",
                                                keys)
    checks.require_columns(ddf, [*keys, time_col], "to partition by series")
    checks.require_datetime(ddf._meta, time_col)


def assume_partitioned_by_series(ddf: Any, id_cols: str | Sequence[str], time_col: str) -> Any:
    """Record, without checking, that ``ddf`` already holds each series whole in one partition.

    For layouts known by construction: files written per block of series, or the output of a
    per-series step that keeps each partition's rows. A wrong claim gives wrong per-series
    results, so prefer :func:`partition_by_series` when in doubt.

    Returns
    -------
    dask.dataframe.DataFrame
        ``ddf`` itself, now recognised by :func:`is_partitioned_by_series`.
    """
    _require_dask(ddf, "assume_partitioned_by_series")
    _check_layout_columns(ddf, checks.as_list(id_cols), time_col)
    return _register(ddf, checks.as_list(id_cols), time_col)


def _sort_partition(part: Any, order: list[str]) -> Any:
    return part.sort_values(order, kind="stable") if len(part) > 1 else part


def partition_by_series(ddf: Any, id_cols: str | Sequence[str], time_col: str,
                        npartitions: int | None = None) -> Any:
    """Shuffle ``ddf`` so each series lies whole in one partition, sorted by time.

    Rows are assigned to partitions by a hash of the key values (categorical keys hash by
    value, so partitions whose categories differ still agree), then each partition is sorted
    by ``id_cols + [time_col]``. A frame already recorded with a compatible layout is
    returned as is unless another ``npartitions`` is asked for.

    Parameters
    ----------
    ddf : dask.dataframe.DataFrame
    id_cols : str or list of str
    time_col : str
    npartitions : int, optional
        Output partitions (default: keep the input's count).

    Returns
    -------
    dask.dataframe.DataFrame
        Lazy frame, recorded as series-partitioned for :func:`map_series`.

    Examples
    --------
    >>> import pandas as pd, dask.dataframe as dd
    >>> df = pd.DataFrame({"sku": list("abab"), "date": pd.date_range("2024-01-01", periods=4),
    ...                    "units": [1.0, 2.0, 3.0, 4.0]})
    >>> partition_by_series(dd.from_pandas(df, npartitions=2), "sku", "date", npartitions=3).npartitions
    3
    """
    _require_dask(ddf, "partition_by_series")
    keys = checks.as_list(id_cols)
    _check_layout_columns(ddf, keys, time_col)
    if npartitions is not None:
        npartitions = checks.check_int("npartitions", npartitions, minimum=1)
    if is_partitioned_by_series(ddf, keys, time_col) and npartitions in (None, ddf.npartitions):
        return ddf
    shuffled = ddf.shuffle(on=keys, npartitions=int(npartitions or ddf.npartitions))
    ordered = shuffled.map_partitions(_sort_partition, [*keys, time_col], meta=ddf._meta)
    return _register(ordered, keys, time_col)


def map_series(ddf: Any, func: Callable[..., Any], id_cols: str | Sequence[str], time_col: str,
               meta: Any = None, **kwargs: Any) -> Any:
    """Run an in-memory per-series ``func`` on every partition of a series-partitioned frame.

    Parameters
    ----------
    ddf : dask.dataframe.DataFrame
        Shuffled with :func:`partition_by_series` first unless already laid out so.
    func : callable
        ``func(partition, **kwargs) -> frame``; it may add, change or drop rows of a series
        but not move rows between series, so its output stays registered as
        series-partitioned.
    meta : frame, optional
        Empty frame describing the output; computed by running ``func`` on ``ddf._meta``
        when omitted.

    Returns
    -------
    dask.dataframe.DataFrame
        Lazy result, registered as series-partitioned.
    """
    keys = checks.as_list(id_cols)
    if not is_partitioned_by_series(ddf, keys, time_col):
        ddf = partition_by_series(ddf, keys, time_col)
    if meta is None:
        meta = func(ddf._meta, **kwargs)
    out = ddf.map_partitions(func, meta=meta, **kwargs)
    return _register(out, keys, time_col)


def per_series(df: Any, func: Callable[..., Any], id_cols: str | Sequence[str], time_col: str, *,
               partition_kwargs: Mapping[str, Any] | None = None, **kwargs: Any) -> Any:
    """``func(df, **kwargs)`` on an in-memory frame; on a Dask frame, lazily on every series partition.

    Parameters
    ----------
    df : pandas, cuDF or Dask DataFrame
    func : callable
        The in-memory implementation, ``func(frame, **kwargs) -> frame``.
    id_cols, time_col : the panel's keys and time column
    partition_kwargs : mapping, optional
        Extra keyword arguments for the Dask path only (e.g. ``{"strict": False}`` to skip
        whole-panel checks a single partition cannot make).

    Returns
    -------
    Same kind of frame as ``df`` (lazy for Dask).
    """
    if not is_dask(df):
        return func(df, **kwargs)
    keys = checks.as_list(id_cols)
    if not keys:  # one series: it must be whole in one partition
        return df.repartition(npartitions=1).map_partitions(functools.partial(func, **kwargs,
                                                                              **(partition_kwargs or {})))
    part = functools.partial(func, **kwargs, **(partition_kwargs or {}))
    return map_series(df, part, keys, time_col, meta=part(df._meta))


def per_partition(df: Any, func: Callable[..., Any], *, partition_kwargs: Mapping[str, Any] | None = None,
                  **kwargs: Any) -> Any:
    """``func(df, **kwargs)`` on an in-memory frame; on a Dask frame, lazily on every partition as it is.

    For row-wise steps (calendar columns of a timestamp, an elementwise transform) that need
    no series whole in one partition, so nothing is shuffled.

    Parameters
    ----------
    df : pandas, cuDF or Dask DataFrame
    func : callable
        ``func(frame, **kwargs) -> frame`` keeping the frame's rows.
    partition_kwargs : mapping, optional
        Extra keyword arguments for the Dask path only.

    Examples
    --------
    >>> import pandas as pd, dask.dataframe as dd
    >>> ddf = dd.from_pandas(pd.DataFrame({"x": [1.0, 2.0, 3.0]}), npartitions=2)
    >>> per_partition(ddf, lambda part, k: part.assign(y=part["x"] * k), k=2).compute()["y"].tolist()
    [2.0, 4.0, 6.0]
    """
    if not is_dask(df):
        return func(df, **kwargs)
    part = functools.partial(func, **kwargs, **(partition_kwargs or {}))
    return df.map_partitions(part, meta=part(df._meta))
