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
    "ensure_partitioned_by_series",
    "fit_columns",
    "per_partition",
    "per_series_pair",
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


def ensure_partitioned_by_series(df: Any, id_cols: str | Sequence[str], time_col: str, *,
                                 assume: bool = False) -> Any:
    """``df`` with every series whole in one partition, whatever the frame library.

    An in-memory frame holds its series whole already and is returned as it is. A Dask frame
    is shuffled with :func:`partition_by_series` or, with ``assume=True`` (the output of a
    per-series step that kept every row in its partition), recorded as such without checking,
    as :func:`assume_partitioned_by_series` does. Steps chained by a caller use it so the
    caller does not branch on Dask.

    Examples
    --------
    >>> import pandas as pd, dask.dataframe as dd
    >>> df = pd.DataFrame({"sku": list("abab"), "date": pd.date_range("2024-01-01", periods=4), "units": 1.0})
    >>> ensure_partitioned_by_series(df, "sku", "date") is df
    True
    >>> is_partitioned_by_series(ensure_partitioned_by_series(dd.from_pandas(df, npartitions=2), "sku", "date"),
    ...                          "sku", "date")
    True
    """
    if not is_dask(df):
        return df
    if assume:
        return assume_partitioned_by_series(df, id_cols, time_col)
    return partition_by_series(df, id_cols, time_col)


def _as_float(part: Any, cols: Any, dtype: str) -> Any:
    return part[cols].astype(dtype)


def fit_columns(df: Any, feature_cols: Sequence[str], target_col: str, dtype: str = "float64") -> tuple[Any, Any]:
    """``(df[feature_cols], df[target_col])`` as ``dtype``: the inputs of an estimator's ``fit``.

    On a Dask frame both come from the same partition tasks: selecting X and y separately
    lets Dask's optimizer fuse each with the whole upstream graph, which would compute the
    upstream steps (features...) twice; splitting delayed partitions of one frame keeps a
    single upstream task per partition.

    Examples
    --------
    >>> import pandas as pd
    >>> X, y = fit_columns(pd.DataFrame({"a": [1, 2], "y": [3, 4]}), ["a"], "y")
    >>> X.dtypes.tolist(), y.tolist()
    ([dtype('float64')], [3.0, 4.0])
    """
    names = list(feature_cols)
    if not is_dask(df):
        return _as_float(df, names, dtype), _as_float(df, target_col, dtype)
    import dask
    import dask.dataframe as dd

    parts = df[[*names, target_col]].to_delayed()
    xs = [dask.delayed(_as_float)(p, names, dtype) for p in parts]
    ys = [dask.delayed(_as_float)(p, target_col, dtype) for p in parts]
    X = dd.from_delayed(xs, meta=_as_float(df._meta, names, dtype), verify_meta=False)
    y = dd.from_delayed(ys, meta=_as_float(df._meta, target_col, dtype), verify_meta=False)
    return X, y


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


def per_series_pair(left: Any, right: Any, func: Callable[..., Any], id_cols: str | Sequence[str], time_col: str, *,
                    names: tuple[str, str] = ("left", "right"), **kwargs: Any) -> Any:
    """``func(left, right, **kwargs)`` for two panels of the same series (a forecast and its errors).

    In memory the function is simply called. On Dask both panels are stacked (a marker column
    tells them apart; columns one side lacks are NaN on its rows), shuffled so that each
    series' rows of *both* panels lie in one partition, and ``func`` runs lazily on every
    partition's two halves, each with its own columns. Mixing a Dask and an in-memory frame is
    refused naming ``names[1]``.

    Examples
    --------
    >>> import pandas as pd, dask.dataframe as dd
    >>> a = pd.DataFrame({"sku": ["x", "y"], "date": pd.to_datetime(["2024-01-01"] * 2), "f": [1.0, 2.0]})
    >>> b = pd.DataFrame({"sku": ["y", "x"], "date": pd.to_datetime(["2024-01-01"] * 2), "e": [5.0, 7.0]})
    >>> pair = lambda l, r: l.merge(r, on=["sku", "date"])
    >>> per_series_pair(dd.from_pandas(a, npartitions=2), dd.from_pandas(b, npartitions=1), pair, "sku",
    ...                 "date").compute().sort_values("sku")["e"].tolist()
    [7.0, 5.0]
    """
    lazy = is_dask(left), is_dask(right)
    if lazy[0] != lazy[1]:
        raise DataValidationError.for_parameter(names[1], f"give {names[0]} and {names[1]} both as Dask frames or "
                                                          "both in memory")
    if not lazy[0]:
        return func(left, right, **kwargs)
    import dask.dataframe as dd

    left_cols, right_cols = list(left.columns), list(right.columns)
    columns = left_cols + [c for c in right_cols if c not in left_cols]
    marker = "__pair_side__"
    sides = [side.assign(**{c: float("nan") for c in columns if c not in own}, **{marker: number})[[*columns, marker]]
             for number, (side, own) in enumerate(((left, left_cols), (right, right_cols)))]
    return per_series(dd.concat(sides), _split_pair, id_cols, time_col, pair_func=func, marker=marker,
                      columns=(left_cols, right_cols), kwargs=kwargs)


def _split_pair(part: Any, pair_func: Callable[..., Any], marker: str, columns: tuple[list, list], kwargs: dict) -> Any:
    side = part[marker]
    return pair_func(part[side == 0][columns[0]], part[side == 1][columns[1]], **kwargs)
