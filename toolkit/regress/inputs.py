"""The input contract of the regression estimators: design matrices, targets and weights.

Every estimator of :mod:`toolkit.regress` reads ``X``, ``y`` and ``sample_weight`` through
:func:`prepare_xy` and ``X`` at predict through :func:`features_for_predict`, so the rules
are the same everywhere:

* ``X`` is a 2-D NumPy/CuPy array or a pandas/cuDF frame of numeric or boolean columns;
  anything else (a dict, a list of strings, ``None``) is a
  :class:`~toolkit.errors.DataValidationError` naming ``X``;
* **non-finite values are rejected**: NaN or ``inf`` in ``X``, ``y`` or the weights raise
  naming the input column (frame column name, ``y``'s Series name, or ``X[:, j]``) and a few
  row numbers; so do finite values so large that the column's sum of squares overflows
  float64 (``1e308`` sentinels): least squares would return NaN coefficients from them
  without a word, and rescaling does not help because such a row dominates the fit; a model
  never silently fits on them;
* at predict, a frame's columns are **matched by name** to ``feature_names_in_`` (reordered
  when needed, extra columns ignored); a missing column is an error naming it; an array must
  have ``n_features_in_`` columns.

Examples
--------
>>> import numpy as np, pandas as pd
>>> from toolkit.regress.inputs import prepare_xy
>>> X = pd.DataFrame({"a": [1.0, 2.0], "b": [0.0, float("inf")]})
>>> try:
...     prepare_xy(X, np.ones(2))
... except ValueError as err:
...     print(err.column, "|", str(err).split(";")[0])
b | column 'b': NaN or infinite values
"""

from __future__ import annotations

from typing import Any, NamedTuple, Sequence

import numpy as np
from sklearn.utils.validation import check_is_fitted

from toolkit import backend
from toolkit.errors import DataValidationError
from toolkit.panel import checks, frames

__all__ = ["Inputs", "as_float_array", "column_names", "check_finite_array", "prepare_xy", "check_values",
           "align_columns", "features_for_predict", "require_fitted", "host_times"]


class Inputs(NamedTuple):
    """Validated float64 arrays (NumPy or CuPy) of a fit and the feature names (``None`` for arrays)."""

    X: Any
    y: Any
    w: Any
    names: list[str] | None


def as_float_array(obj: Any, param: str, dtype: str = "float64") -> Any:
    """``obj`` (array, frame, Series, list) as a float array of its library, or a DataValidationError.

    Examples
    --------
    >>> as_float_array([1, 2], "y").tolist()
    [1.0, 2.0]
    >>> as_float_array({"a": 1}, "y")
    Traceback (most recent call last):
    ...
    toolkit.errors.DataValidationError: parameter 'y': expected numbers (an array, Series or DataFrame), got a dict
    """
    if obj is None or isinstance(obj, (str, bytes, dict, set)):
        raise DataValidationError.for_parameter(
            param, f"expected numbers (an array, Series or DataFrame), got a {type(obj).__name__}")
    if hasattr(obj, "columns"):
        for column, column_dtype in zip(obj.columns, obj.dtypes):
            if getattr(column_dtype, "kind", "O") not in "biuf" or str(column_dtype) == "category":
                checks.fail(str(column), f"must be numeric or boolean to be used in {param}, got dtype {column_dtype}")
    elif _text_like(obj):
        raise DataValidationError.for_parameter(param, "expected numbers, got text (or nested values)",
                                                f"a {type(obj).__name__}")
    try:
        return frames.to_array(obj, dtype)
    except TypeError as err:
        if "Dask" in str(err):
            raise DataValidationError.for_parameter(param, f"{err} (or use an estimator that accepts Dask input)") \
                from None
        raise DataValidationError.for_parameter(param, f"expected numbers, got {type(obj).__name__} ({err})") \
            from None
    except ValueError as err:
        raise DataValidationError.for_parameter(param, f"expected numbers ({err})") from None


def _text_like(obj: Any) -> bool:
    """True for strings or nested containers where numbers are expected (numeric text is not parsed)."""
    kind = getattr(getattr(obj, "dtype", None), "kind", None)
    if kind in ("U", "S"):
        return True
    if kind not in (None, "O"):
        return False
    # the elements as they are: rebuilding them from tolist() would turn a Series of equal-length lists
    # into a 2-D table of numbers (a plain list of rows is such a table, and stays one)
    values = np.asarray(backend.to_host(obj), dtype=object).reshape(-1)
    return any(isinstance(v, (str, bytes, dict, list, tuple, set)) for v in values.tolist())


def column_names(X: Any) -> list[str] | None:
    """A frame's column names as strings; ``None`` for arrays."""
    return [str(c) for c in X.columns] if hasattr(X, "columns") else None


def check_finite_array(arr: Any, what: str, names: Sequence[str] | None = None) -> None:
    """Raise naming the first column of ``arr`` (1-D or 2-D) holding NaN, ``inf`` or values too large.

    "Too large" means the column's sum of squares overflows float64 (a value near ``1e154``
    or above, e.g. a ``1e308`` sentinel): least squares, standard errors and standardisation
    all go through such sums and would turn into NaN without a word. One pass computes every
    column's sum of squares (no temporary the size of ``arr``); the detailed count runs only
    when one of them is not finite.
    """
    xp = backend.array_namespace(arr)
    matrix = arr.reshape(-1, 1) if arr.ndim == 1 else arr
    with np.errstate(over="ignore", invalid="ignore"):
        squares = xp.einsum("ij,ij->j", matrix, matrix)
    if bool(xp.all(xp.isfinite(squares))):
        return
    bad = ~xp.isfinite(matrix)
    per_col = np.asarray(backend.to_host(xp.sum(bad, axis=0)))
    label = (lambda j: names[j]) if names is not None else (
        (lambda j: what) if arr.ndim == 1 else (lambda j: f"{what}[:, {j}]"))
    if int(per_col.sum()):
        j = int(np.flatnonzero(per_col)[0])
        where = xp.nonzero(bad[:, j])[0]
        others = int((per_col > 0).sum()) - 1
        also = f" ({others} more column(s) affected)" if others else ""
        checks.fail(label(j), f"NaN or infinite values{also}; fill, drop or clip them first", int(per_col[j]),
                    [f"row {int(r)}" for r in backend.to_host(where[: checks.KEYS_SHOWN])])
    j = int(np.flatnonzero(~np.isfinite(np.asarray(backend.to_host(squares))))[0])
    column = matrix[:, j]
    top = float(xp.max(xp.abs(column)))
    where = xp.nonzero(xp.abs(column) > 1e150)[0]
    checks.fail(label(j), f"values up to {top:.3g} are too large: their sum of squares overflows float64, so "
                          "least squares and standardisation would return NaN; rescale the column (e.g. to "
                          "thousands or millions) or drop the extreme rows", int(where.shape[0]),
                [f"row {int(r)}" for r in backend.to_host(where[: checks.KEYS_SHOWN])])


def prepare_xy(X: Any, y: Any, sample_weight: Any = None) -> Inputs:
    """Validate in-memory ``X``, ``y`` and weights; float64 arrays (NumPy or CuPy) and feature names.

    Raises
    ------
    DataValidationError
        Not numbers, ``X`` not 2-D or empty, lengths that differ, NaN/``inf`` anywhere,
        negative weights.
    """
    names = column_names(X)
    Xa = as_float_array(X, "X")
    if Xa.ndim == 1:
        Xa = Xa.reshape(-1, 1)
    if Xa.ndim != 2:
        raise DataValidationError.for_parameter("X", f"must be 2-D (rows x features), got {Xa.ndim} dimensions")
    if Xa.shape[0] == 0 or Xa.shape[1] == 0:
        raise DataValidationError.for_parameter("X", f"is empty (shape {tuple(Xa.shape)})")
    ya = as_float_array(y, "y")
    if ya.ndim == 2 and ya.shape[1] == 1:
        ya = ya.reshape(-1)
    target = str(getattr(y, "name", None) or "y")
    if ya.ndim != 1 or ya.shape[0] != Xa.shape[0]:
        checks.fail(target, f"target has shape {tuple(ya.shape)}, expected ({Xa.shape[0]},) like the rows of X")
    check_finite_array(Xa, "X", names)
    check_finite_array(ya, target)
    wa = None
    if sample_weight is not None:
        wa = as_float_array(sample_weight, "sample_weight").reshape(-1)
        if wa.shape[0] != Xa.shape[0]:
            checks.fail("sample_weight", f"{wa.shape[0]} weights for {Xa.shape[0]} rows")
        check_finite_array(wa, "sample_weight")
        xp = backend.array_namespace(wa)
        negative = xp.nonzero(wa < 0)[0]
        if negative.shape[0]:
            checks.fail("sample_weight", "negative weights", int(negative.shape[0]),
                        [f"row {int(r)}" for r in backend.to_host(negative[: checks.KEYS_SHOWN])])
    return Inputs(Xa, ya, wa, names)


def require_fitted(estimator: Any, attributes: str | Sequence[str] | None = None) -> None:
    """scikit-learn's ``NotFittedError`` unless ``estimator`` has the fitted ``attributes``
    (default: any attribute ending in ``_``, scikit-learn's convention)."""
    check_is_fitted(estimator, attributes)


def check_values(X: Any, y: Any, sample_weight: Any = None, allow_nan: bool = False) -> None:
    """The value checks of :func:`prepare_xy` for estimators that take the frames themselves.

    ``allow_nan`` lets NaN through in ``X`` (estimators that handle missing values natively);
    ``inf`` is always refused, and so is a missing target. A frame is checked column by column
    (float64 columns without a copy).
    """
    if hasattr(X, "columns"):
        as_float_array(X.iloc[:0], "X")  # dtypes only
        shape = (len(X), len(X.columns))
        columns = [(str(c), frames.values(X, c)) for c in X.columns]
    else:
        Xa = as_float_array(X, "X")
        Xa = Xa.reshape(-1, 1) if Xa.ndim == 1 else Xa
        shape = tuple(Xa.shape)
        columns = [("X", Xa)] if Xa.ndim == 2 else []
    ya = as_float_array(y, "y").reshape(-1)
    if len(shape) != 2 or ya.shape[0] != shape[0] or 0 in shape:
        prepare_xy(X, y, sample_weight)  # raises the shape error
    for name, values in columns:
        xp = backend.array_namespace(values)
        check_finite_array(xp.where(xp.isnan(values), 0.0, values) if allow_nan else values, name)
    check_finite_array(ya, str(getattr(y, "name", None) or "y"))
    if sample_weight is not None:
        check_finite_array(as_float_array(sample_weight, "sample_weight").reshape(-1), "sample_weight")


def align_columns(X: Any, names: Sequence[str] | None, n_features: int, who: str) -> Any:
    """``X`` with the fitted feature columns in the fitted order (a frame stays a frame).

    A frame is matched by name when the model was fitted on named columns (reordered as
    needed, extra columns ignored); otherwise its columns are taken by position.

    Raises
    ------
    DataValidationError
        A fitted column is missing, or the number of columns differs from ``n_features``.

    Examples
    --------
    >>> import pandas as pd
    >>> align_columns(pd.DataFrame({"b": [1], "a": [2], "c": [3]}), ["a", "b"], 2, "model").columns.tolist()
    ['a', 'b']
    """
    given = column_names(X)
    if names is not None and given is not None:
        present = set(given)
        missing = [c for c in names if c not in present]
        if missing:
            checks.fail(missing[0], f"missing from X at predict: {who} was fitted on {list(names)}; "
                                    f"X has {given[:12]}")
        if given != list(names):
            lookup = {str(c): c for c in X.columns}
            X = X[[lookup[c] for c in names]]
    shape = getattr(X, "shape", None)
    if shape is None or isinstance(X, (str, bytes)):
        raise DataValidationError.for_parameter("X", f"expected an array or frame, got a {type(X).__name__}")
    width = 1 if len(shape) == 1 else shape[1]
    if len(shape) > 2 or width != n_features:
        raise DataValidationError.for_parameter(
            "X", f"{who} was fitted on {n_features} features, got shape {tuple(shape)}")
    return X


def features_for_predict(X: Any, names: Sequence[str] | None, n_features: int, who: str) -> Any:
    """``X`` as a finite float array whose columns are the fitted features (see :func:`align_columns`)."""
    X = align_columns(X, names, n_features, who)
    given = column_names(X)
    Xa = as_float_array(X, "X")
    if Xa.ndim == 1:
        Xa = Xa.reshape(-1, 1)
    check_finite_array(Xa, "X", given)
    return Xa


def host_times(time: Any, param: str = "time") -> np.ndarray:
    """Time stamps (Series, Index or array, host or device) as a host NumPy array."""
    if time is None or isinstance(time, (str, bytes, dict)):
        raise DataValidationError.for_parameter(param, "expected an array or Series of time stamps", time)
    time = backend.to_host(time)
    return np.asarray(time.to_numpy() if hasattr(time, "to_numpy") else time)
