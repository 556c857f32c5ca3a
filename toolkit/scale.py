"""Scale-out with Dask: series-aware partitioning shared by every per-series function.

A per-series operation (lags, rolling statistics, per-series fills, per-group detectors) is
only correct on a Dask frame when each series lies whole in one partition.
:func:`partition_by_series` shuffles a frame into that layout, sorts each partition by
``id_cols + [time_col]`` and records the fact; :func:`map_series` is what the other modules
call: it makes sure of the layout (shuffling only when needed) and runs an in-memory
function on every partition with ``map_partitions``, lazily.

The layout is recorded in a registry keyed by the Dask collection's name (its graph token),
because Dask collections carry no user metadata that survives ``map_partitions``;
:func:`map_series` registers its own output, so chained per-series calls shuffle once.

Examples
--------
>>> import pandas as pd, dask.dataframe as dd
>>> from toolkit.scale import partition_by_series, map_series
>>> df = pd.DataFrame({"sku": [1, 2, 1, 2], "date": pd.to_datetime(["2024-01-02", "2024-01-01",
...                    "2024-01-01", "2024-01-02"]), "units": [1.0, 2.0, 3.0, 4.0]})
>>> ddf = partition_by_series(dd.from_pandas(df, npartitions=2), "sku", "date")
>>> out = map_series(ddf, lambda part: part.assign(lag1=part.groupby("sku")["units"].shift(1)),
...                  id_cols="sku", time_col="date")
>>> sorted(out.compute()["lag1"].dropna().tolist())
[2.0, 3.0]
"""

from __future__ import annotations

from typing import Any, Callable, Sequence

from toolkit.backend import is_dask

__all__ = ["as_list", "partition_by_series", "is_partitioned_by_series", "map_series"]

_LAYOUT: dict[str, tuple[tuple[str, ...], str]] = {}


def as_list(cols: str | Sequence[str] | None) -> list[str]:
    """``id_cols`` as a list: a single name becomes a one-element list, ``None`` an empty one."""
    if cols is None:
        return []
    if isinstance(cols, str):
        return [cols]
    return list(cols)


def _register(ddf: Any, id_cols: Sequence[str], time_col: str) -> Any:
    _LAYOUT[ddf._name] = (tuple(id_cols), time_col)
    return ddf


def is_partitioned_by_series(ddf: Any, id_cols: str | Sequence[str], time_col: str) -> bool:
    """True when ``ddf`` is known to hold every series of ``id_cols`` whole in one partition.

    A frame partitioned by coarser keys (``["sku"]``) also holds finer series
    (``["sku", "location"]``) whole, so the recorded keys need only be a subset.
    """
    layout = _LAYOUT.get(getattr(ddf, "_name", None))
    if layout is None:
        return False
    keys, recorded_time = layout
    return set(keys) <= set(as_list(id_cols)) and recorded_time == time_col


def partition_by_series(
    ddf: Any,
    id_cols: str | Sequence[str],
    time_col: str,
    npartitions: int | None = None,
) -> Any:
    """Shuffle ``ddf`` so each series lies whole in one partition, sorted by time.

    Parameters
    ----------
    ddf : dask.dataframe.DataFrame
        Long-format panel (pandas- or cudf-backed partitions).
    id_cols : str or list of str
        Series keys.
    time_col : str
        Datetime column; each partition is sorted by ``id_cols + [time_col]``.
    npartitions : int, optional
        Output partitions (default: keep the input's count).

    Returns
    -------
    dask.dataframe.DataFrame
        Lazy frame, recorded as series-partitioned for :func:`map_series`.
    """
    if not is_dask(ddf):
        raise TypeError("partition_by_series expects a Dask DataFrame")
    keys = as_list(id_cols)
    from toolkit.errors import DataValidationError

    missing = [c for c in [*keys, time_col] if c not in ddf.columns]
    if missing:
        raise DataValidationError(f"column {missing[0]!r}: missing (needed to partition by series)", column=missing[0])
    shuffled = ddf.shuffle(on=keys, npartitions=npartitions or ddf.npartitions)
    order = [*keys, time_col]
    ordered = shuffled.map_partitions(lambda part: part.sort_values(order, kind="stable"), meta=ddf._meta)
    return _register(ordered, keys, time_col)


def map_series(
    ddf: Any,
    func: Callable[..., Any],
    id_cols: str | Sequence[str],
    time_col: str,
    meta: Any = None,
    **kwargs: Any,
) -> Any:
    """Run an in-memory per-series ``func`` on every partition of a series-partitioned frame.

    Parameters
    ----------
    ddf : dask.dataframe.DataFrame
        Input; shuffled with :func:`partition_by_series` first unless already laid out so.
    func : callable
        ``func(partition, **kwargs) -> frame``; must keep the partition's rows (it may add or
        change columns) for the output to stay registered as series-partitioned.
    id_cols, time_col : as in :func:`partition_by_series`.
    meta : frame, optional
        Empty frame describing the output; computed by running ``func`` on ``ddf._meta``
        when omitted.

    Returns
    -------
    dask.dataframe.DataFrame
        Lazy result, registered as series-partitioned.
    """
    keys = as_list(id_cols)
    if not is_partitioned_by_series(ddf, keys, time_col):
        ddf = partition_by_series(ddf, keys, time_col)
    if meta is None:
        meta = func(ddf._meta, **kwargs)
    out = ddf.map_partitions(func, meta=meta, **kwargs)
    return _register(out, keys, time_col)
