"""Row-block work on matrices: the same in-memory function on a whole array or on each Dask partition.

Per-series steps go through :func:`toolkit.panel.partitions.per_series`; estimators that see
a design matrix row by row (least squares, predictions) need the other Dask strategy: cut
the rows into blocks, run one in-memory function per block, and combine the results. The
functions here do that for NumPy/CuPy arrays, pandas/cuDF frames and their Dask
collections, so estimators never branch on Dask themselves:

* :func:`reduce_row_blocks` -- ``combine([func(X_block, y_block, ...) for each block])``;
  in memory the whole input is one block;
* :func:`map_row_blocks` -- ``func(X_block) -> 1-d array`` per block, results mirroring the
  input: NumPy/CuPy array, pandas/cuDF Series (index kept), or a lazy Dask array/Series;
* :func:`placement` -- where a collection lives (``"cpu"``/``"gpu"``, lazy or not), for
  choosing an estimator;
* :func:`require_in_memory` -- the error for a Dask collection where one is not supported.

Examples
--------
>>> import numpy as np, dask.array as da
>>> from toolkit.panel.blocks import reduce_row_blocks
>>> X = np.arange(12.0).reshape(6, 2)
>>> reduce_row_blocks(lambda x: float(x.sum()), sum, X) == reduce_row_blocks(
...     lambda x: float(x.sum()), sum, da.from_array(X, chunks=(2, 2)))
True
"""

from __future__ import annotations

from typing import Any, Callable, NamedTuple, Sequence

from toolkit.backend import is_dask, is_gpu
from toolkit.errors import DataValidationError
from toolkit.panel import frames

__all__ = ["Placement", "placement", "require_in_memory", "reduce_row_blocks", "map_row_blocks"]

_TREE_FAN_IN = 8


class Placement(NamedTuple):
    """Where a collection's data lives: ``device`` ``"cpu"`` or ``"gpu"``; ``lazy`` for Dask."""

    device: str
    lazy: bool


def placement(obj: Any) -> Placement:
    """The :class:`Placement` of an array, frame or Dask collection (Dask answers for its partitions).

    Examples
    --------
    >>> import numpy as np
    >>> placement(np.ones(3))
    Placement(device='cpu', lazy=False)
    """
    return Placement("gpu" if is_gpu(obj) else "cpu", is_dask(obj))


def require_in_memory(obj: Any, param: str, who: str) -> None:
    """Raise a :class:`DataValidationError` for a Dask collection passed to ``who``."""
    if is_dask(obj):
        raise DataValidationError.for_parameter(
            param, f"{who} needs in-memory input (NumPy/CuPy arrays or pandas/cuDF frames), got a Dask "
                   f"{type(obj).__name__}; compute it first", ...)


def _aligned_blocks(X: Any, others: Sequence[Any]) -> tuple[list, list[list]]:
    """Delayed row blocks of ``X`` and of each of ``others`` (``None`` stays ``None``), aligned."""
    if hasattr(X, "columns"):  # Dask DataFrame: its partitions, the others' partitions alongside
        xs = list(X.to_delayed())
        rest = []
        for name, other in others:
            if other is None:
                rest.append([None] * len(xs))
                continue
            parts = list(other.to_delayed())
            if len(parts) != len(xs):
                raise DataValidationError.for_parameter(
                    name, f"has {len(parts)} partitions but X has {len(xs)}: derive them from the same frame", ...)
            rest.append(parts)
        return xs, rest
    X = X.rechunk({1: -1}) if X.ndim == 2 else X
    xs = list(X.to_delayed().ravel())
    rest = []
    for _, other in others:
        if other is None:
            rest.append([None] * len(xs))
        else:
            rest.append(list(other.rechunk((X.chunks[0],)).to_delayed().ravel()))
    return xs, rest


def reduce_row_blocks(func: Callable[..., Any], combine: Callable[[list], Any], X: Any, *aligned: Any,
                      names: Sequence[str] = (), **kwargs: Any) -> Any:
    """``combine`` of ``func(X_block, *aligned_blocks, **kwargs)`` over the row blocks of ``X``.

    Parameters
    ----------
    func : callable
        In-memory function of one block of ``X`` and the matching blocks of ``aligned``.
    combine : callable
        ``combine(list of results) -> result``; applied in a tree, ``8`` results at a time,
        so it must be associative (a QR of stacked factors, a sum).
    X : array, frame or Dask array/DataFrame
    *aligned : same-length companions of ``X`` (target, weights) or ``None``.
    names : parameter names of ``aligned`` (for errors about misaligned partitions).

    Returns
    -------
    The combined result, computed (in memory: ``func`` on the whole input, uncombined).
    """
    if not is_dask(X):
        return func(X, *aligned, **kwargs)
    import dask

    labels = list(names) + [f"arg{i}" for i in range(len(names), len(aligned))]
    xs, rest = _aligned_blocks(X, list(zip(labels, aligned)))
    results = [dask.delayed(func)(x, *(r[i] for r in rest), **kwargs) for i, x in enumerate(xs)]
    while len(results) > 1:
        results = [dask.delayed(combine)(results[i: i + _TREE_FAN_IN]) for i in range(0, len(results), _TREE_FAN_IN)]
    (out,) = dask.compute(results[0])
    return out


def _as_series(block: Any, func: Callable[[Any], Any], name: str) -> Any:
    return frames.series(block, func(block), index=block.index, name=name)


def map_row_blocks(func: Callable[[Any], Any], X: Any, name: str = "prediction") -> Any:
    """``func(X_block) -> 1-d array`` on every row block, the result mirroring ``X``.

    NumPy/CuPy arrays give an array; pandas/cuDF frames a Series of the same library and
    index named ``name``; Dask arrays a lazy Dask array and Dask frames a lazy Series.

    Examples
    --------
    >>> import pandas as pd
    >>> map_row_blocks(lambda x: x.to_numpy().sum(axis=1), pd.DataFrame({"a": [1, 2]}, index=[5, 6])).to_dict()
    {5: 1, 6: 2}
    """
    if is_dask(X):
        if hasattr(X, "columns"):
            meta = X._meta.iloc[:, 0].astype("float64").rename(name)
            return X.map_partitions(_as_series, func, name, meta=meta)
        import numpy as np

        return X.rechunk({1: -1}).map_blocks(func, drop_axis=1, dtype=np.float64)
    if hasattr(X, "columns"):
        return _as_series(X, func, name)
    return func(X)
