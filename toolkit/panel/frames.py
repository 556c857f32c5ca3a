"""Frame verbs dispatched on the frame library: the one place a frame becomes arrays and back.

Algorithm modules compute on arrays (NumPy or CuPy) and call these verbs to read columns,
take rows and put results back; they never branch on pandas versus cuDF themselves. Each
in-memory frame library registers one :class:`FrameOps` object (pandas here; cuDF's is
registered lazily the first time a cuDF object is seen, so ``import toolkit`` never imports
cuDF), in the style of Dask's dispatch registries: ``ops(obj)`` looks the library up from the
object's type. Dask frames are not handled here: per-series work on a Dask frame goes through
:func:`toolkit.panel.partitions.per_series`, which calls these verbs on each partition.

Conventions: numeric values come back as float64 with missing values as NaN, timestamps as
int64 nanoseconds, booleans as bool; arrays are in the frame's row order.

Examples
--------
>>> import pandas as pd
>>> from toolkit.panel import frames
>>> df = pd.DataFrame({"units": [1, None, 3]}, dtype="Int64")
>>> frames.values(df, "units").tolist()
[1.0, nan, 3.0]
>>> frames.assign(df, {"double": frames.values(df, "units") * 2})["double"].tolist()
[2.0, nan, 6.0]
"""

from __future__ import annotations

import functools
import importlib
from typing import Any, Mapping

import numpy as np

from toolkit.errors import DataValidationError

__all__ = [
    "FrameOps",
    "register",
    "ops",
    "namespace",
    "values",
    "isna",
    "time_values",
    "time_ticks",
    "check_tick_range",
    "codes",
    "as_array",
    "take",
    "assign",
    "categorical",
    "new_frame",
    "concat",
    "to_array",
    "series",
    "mask",
    "from_host",
    "non_string_rows",
    "token_ids",
    "token_counts",
    "sparse",
    "estimator",
]


_OUT_OF_RANGE = "timestamps outside the years 1677-2262 do not fit in int64 nanoseconds"
"""The problem reported for a time column that cannot be read as int64 nanoseconds."""


class FrameOps:
    """The frame verbs of one in-memory dataframe library (this class: pandas).

    Subclasses override what differs in their library; every method takes and returns
    objects of that library and arrays of its array namespace.
    """

    name = "pandas"
    array_module = "numpy"

    @property
    def module(self) -> Any:
        """The dataframe library itself."""
        return importlib.import_module(self.name)

    @property
    def xp(self) -> Any:
        """The array-API namespace of the library's arrays (via array-api-compat)."""
        import array_api_compat

        native = importlib.import_module(self.array_module)
        return array_api_compat.array_namespace(native.empty(0))

    def as_array(self, series: Any, dtype: Any = None) -> Any:
        """A Series as an array (no NA handling: for bool/int/float columns without missing values)."""
        return series.to_numpy(dtype=dtype)

    def values(self, series: Any, dtype: str = "float64") -> Any:
        """A numeric or boolean Series as a float array, missing values as NaN."""
        if series.dtype == dtype and isinstance(series.dtype, np.dtype):
            return series.to_numpy()
        if getattr(series.dtype, "kind", "O") == "b":
            return series.to_numpy(dtype=dtype)
        return series.to_numpy(dtype=dtype, na_value=np.nan)

    def isna(self, series: Any) -> Any:
        return series.isna().to_numpy()

    def matrix(self, df: Any, dtype: str = "float64") -> Any:
        """A frame's numeric/boolean columns as one 2-D array, missing values as NaN."""
        return df.to_numpy(dtype=dtype, na_value=np.nan)

    def series(self, data: Any, index: Any = None, name: Any = None) -> Any:
        """A Series of this library wrapping an array (of this library's namespace)."""
        return self.module.Series(data, index=index, name=name)

    def time_values(self, series: Any) -> Any:
        """A datetime64 Series as int64 nanoseconds since the epoch (NaT as the int64 minimum).

        pandas 3 keeps parsed dates in microseconds; they are scaled in one compiled pass
        (4x faster than pandas' cast), and timestamps outside the years 1677-2262, which do
        not fit in nanoseconds, are refused rather than wrapped around.
        """
        ticks, tick_ns = self.time_ticks(series)
        return ticks if tick_ns == 1 else _to_nanoseconds(ticks, tick_ns, str(series.name))

    def time_ticks(self, series: Any) -> tuple[Any, int]:
        """A datetime64 Series as its own int64 ticks (viewed, not copied) and the nanoseconds per tick.

        For code that needs only the order of timestamps, or their days, in whatever unit the
        column holds (NaT is the int64 minimum); :meth:`time_values` scales them to nanoseconds.
        """
        raw = series.to_numpy()
        if raw.dtype.kind != "M":
            return series.to_numpy(dtype="datetime64[ns]").view("int64"), 1
        unit, count = np.datetime_data(raw.dtype)
        return raw.view("int64"), int(np.timedelta64(count, unit) // np.timedelta64(1, "ns"))

    def codes(self, series: Any) -> tuple[Any, int]:
        """Integer codes in sorted key order (missing -> -1) and the number of distinct keys.

        Categorical columns keep their category order (as ``groupby(sort=True)`` does).
        """
        if str(series.dtype) == "category":
            return np.asarray(series.cat.codes.to_numpy()), len(series.cat.categories)
        codes, uniques = self.module.factorize(series, sort=True)
        return np.asarray(codes), len(uniques)

    def take(self, obj: Any, positions: Any) -> Any:
        """Rows of a frame or Series at integer ``positions`` (an array of this library)."""
        return obj.iloc[positions]

    def assign(self, df: Any, columns: Mapping[str, Any]) -> Any:
        """``df`` with ``columns`` (arrays in row order) added or replaced, index kept.

        One column-wise concat of a frame that wraps the arrays without copying them
        (``__setitem__`` would copy each new column once more).
        """
        replaced = [name for name in columns if name in df.columns]
        base = df.drop(columns=replaced) if replaced else df
        if not columns:
            return base.copy(deep=False)
        extra = self.module.DataFrame(dict(columns), index=df.index, copy=False)
        return self.module.concat([base, extra], axis=1)

    def categorical(self, like: Any, codes: Any, categories: Any) -> Any:
        """A categorical Series from integer ``codes`` (host or device) and ``categories`` labels,
        with ``like``'s index."""
        import pandas as pd

        from toolkit import backend

        values = pd.Categorical.from_codes(np.asarray(backend.to_host(codes)), categories=categories)
        return self.module.Series(values, index=like.index)

    def new_frame(self, data: Mapping[str, Any], index: Any = None) -> Any:
        return self.module.DataFrame(dict(data), index=index)

    def concat(self, frames: list, **kwargs: Any) -> Any:
        return self.module.concat(frames, **kwargs)

    def mask(self, series: Any, where: Any) -> Any:
        """``series`` with the values at ``where`` (a boolean array) missing.

        Integer and boolean columns keep their kind: pandas moves them to its nullable
        ``Int64``/``boolean`` dtypes (NumPy integers have no missing value).
        """
        dtype = series.dtype
        if isinstance(dtype, np.dtype) and dtype.kind in "iub":
            nullable = "boolean" if dtype.kind == "b" else f"{'U' if dtype.kind == 'u' else ''}Int{dtype.itemsize * 8}"
            series = series.astype(nullable)
        return series.mask(self.module.Series(where, index=series.index))

    def from_host(self, obj: Any) -> Any:
        """A pandas object as an object of this library (pandas: unchanged)."""
        return obj

    # ---- text: whitespace tokens of a string Series (pyarrow compute here, nvtext on cuDF)
    def non_string_rows(self, series: Any) -> np.ndarray:
        """Positions (NumPy int64) of values that are neither strings nor missing."""
        kind = str(series.dtype)
        if kind in ("str", "string") or kind.startswith("string"):
            return np.array([], dtype=np.int64)
        present = ~series.isna().to_numpy()
        if kind == "object":
            present &= ~series.map(lambda v: isinstance(v, str)).to_numpy(dtype=bool)
        return np.flatnonzero(present).astype(np.int64)

    def token_ids(self, series: Any, vocabulary: Any) -> tuple[Any, Any]:
        """Split every string on whitespace and look each token up in ``vocabulary``.

        Returns ``(offsets, ids)``: int64 arrays, ``offsets`` of length ``len(series) + 1``
        (document ``i`` owns ``ids[offsets[i]:offsets[i + 1]]``), ``ids`` the position of each
        token in ``vocabulary`` or -1. A missing string has no tokens.
        """
        import pyarrow as pa
        import pyarrow.compute as pc

        lists = pc.utf8_split_whitespace(_arrow_strings(series))
        flat, parent = pc.list_flatten(lists), pc.list_parent_indices(lists)
        kept = pc.not_equal(flat, "")  # leading/trailing blanks split into empty tokens
        flat, parent = flat.filter(kept), parent.filter(kept).to_numpy(zero_copy_only=False)
        offsets = np.zeros(len(lists) + 1, dtype=np.int64)
        np.cumsum(np.bincount(parent, minlength=len(lists)), out=offsets[1:])
        ids = pc.index_in(flat, value_set=pa.array(list(vocabulary), type=pa.large_string()))
        return offsets, ids.fill_null(-1).to_numpy(zero_copy_only=False).astype(np.int64)

    def token_counts(self, series: Any) -> Any:
        """How often each whitespace token occurs in a string Series: a pandas Series token -> count."""
        import pandas as pd
        import pyarrow.compute as pc

        flat = pc.list_flatten(pc.utf8_split_whitespace(_arrow_strings(series)))
        counts = pc.value_counts(flat.filter(pc.not_equal(flat, "")))
        return pd.Series(counts.field("counts").to_numpy(zero_copy_only=False).astype(np.int64),
                         index=counts.field("values").to_pylist(), dtype="int64")

    # ---- learners: sparse matrices and estimators of the library's array world
    sparse_module = "scipy.sparse"
    learner_module = "sklearn"

    @property
    def sparse(self) -> Any:
        """The sparse-matrix module of the library's arrays (``scipy.sparse`` or ``cupyx.scipy.sparse``)."""
        return importlib.import_module(self.sparse_module)

    def estimator(self, path: str) -> Any:
        module, _, name = path.rpartition(".")
        return getattr(importlib.import_module(f"{self.learner_module}.{module}"), name)


class CudfOps(FrameOps):
    """cuDF: columns come out as CuPy arrays; NA becomes NaN on the way."""

    name = "cudf"
    array_module = "cupy"

    def as_array(self, series: Any, dtype: Any = None) -> Any:
        return (series.astype(dtype) if dtype is not None else series).to_cupy()

    def values(self, series: Any, dtype: str = "float64") -> Any:
        return series.astype(dtype).to_cupy(na_value=float("nan"))

    def isna(self, series: Any) -> Any:
        return series.isna().to_cupy()

    def matrix(self, df: Any, dtype: str = "float64") -> Any:
        return df.astype(dtype).to_cupy(na_value=float("nan"))

    def time_values(self, series: Any) -> Any:
        """As pandas', on the device. cuDF refuses a cast to nanoseconds that would overflow with
        pandas' ``OutOfBoundsDatetime``; it becomes the same error as on pandas."""
        import pandas as pd

        try:
            nanoseconds = series.astype("datetime64[ns]")
        except (pd.errors.OutOfBoundsDatetime, OverflowError):
            raise DataValidationError.for_column(str(series.name), _OUT_OF_RANGE) from None
        return nanoseconds.astype("int64").fillna(np.iinfo("int64").min).to_cupy()

    def time_ticks(self, series: Any) -> tuple[Any, int]:
        return self.time_values(series), 1  # a cast on the device costs little

    def codes(self, series: Any) -> tuple[Any, int]:
        if str(series.dtype) == "category":
            codes = series.cat.codes.astype("int64").fillna(-1)
            return codes.to_cupy(), len(series.cat.categories)
        codes, uniques = self.module.factorize(series, sort=True)  # cupy codes, -1 for missing
        return importlib.import_module("cupy").asarray(codes, dtype="int64"), len(uniques)

    def assign(self, df: Any, columns: Mapping[str, Any]) -> Any:
        replaced = [name for name in columns if name in df.columns]
        base = df.drop(columns=replaced) if replaced else df
        if not columns:
            return base.copy(deep=False)
        extra = self.module.DataFrame(dict(columns), index=df.index)
        return self.module.concat([base, extra], axis=1)

    def mask(self, series: Any, where: Any) -> Any:
        return series.mask(self.module.Series(where, index=series.index))  # cuDF columns hold nulls natively

    def from_host(self, obj: Any) -> Any:
        return self.module.from_pandas(obj)

    def non_string_rows(self, series: Any) -> np.ndarray:
        if str(series.dtype) in ("object", "str", "string"):  # a cuDF object column holds strings only
            return np.array([], dtype=np.int64)
        return np.flatnonzero(series.notna().to_numpy()).astype(np.int64)

    def token_ids(self, series: Any, vocabulary: Any) -> tuple[Any, Any]:
        """nvtext's ``tokenize_with_vocabulary``: a list column of ids, read as offsets + leaves."""
        import cupy

        from cudf.core.tokenize_vocabulary import TokenizeVocabulary

        vocab = self.module.Series(list(vocabulary), dtype="str")
        lists = TokenizeVocabulary(vocab).tokenize(series.fillna(""), delimiter=" ", default_id=-1)
        lengths = lists.list.len().fillna(0).astype("int64").to_cupy()
        offsets = cupy.zeros(lengths.shape[0] + 1, dtype=cupy.int64)
        cupy.cumsum(lengths, out=offsets[1:])
        return offsets, lists.list.leaves.astype("int64").to_cupy()

    def token_counts(self, series: Any) -> Any:
        tokens = series.dropna().str.tokenize(" ")
        counts = tokens.value_counts().to_pandas()
        counts.index = counts.index.astype(str).tolist()
        return counts.astype("int64")

    sparse_module = "cupyx.scipy.sparse"
    learner_module = "cuml"


def _arrow_strings(series: Any) -> Any:
    """A pandas string Series (str, object or Arrow-backed) as one pyarrow string array (missing -> null)."""
    import pyarrow as pa

    arr = pa.array(series, type=pa.large_string(), from_pandas=True)
    return arr.combine_chunks() if isinstance(arr, pa.ChunkedArray) else arr


@functools.lru_cache(maxsize=1)
def _scale_kernel() -> Any:
    """Compiled ``ints * factor`` that also returns the min and max of ``ints`` (one pass)."""
    try:
        import numba
    except ImportError:  # pragma: no cover - numba is a declared dependency
        return None

    @numba.njit(cache=True, nogil=True)
    def scale(ints, factor):
        out = np.empty_like(ints)
        low = np.iinfo(np.int64).max
        high = np.iinfo(np.int64).min
        for i in range(ints.shape[0]):
            v = ints[i]
            out[i] = v * factor
            low = min(low, v)
            high = max(high, v)
        return out, low, high

    return scale


def _to_nanoseconds(ints: np.ndarray, factor: int, column: str) -> np.ndarray:
    """int64 timestamps in units of ``factor`` ns -> ns; NaT kept; out-of-range refused."""
    kernel = _scale_kernel()
    if kernel is not None:
        out, low, high = kernel(ints, factor)
    else:  # pragma: no cover
        out = ints * factor
        low, high = (int(ints.min()), int(ints.max())) if ints.shape[0] else (0, 0)
    nat = np.iinfo("int64").min
    if low == nat:  # NaT stays NaT; the range is checked on the other timestamps
        missing = ints == nat
        present = ints[~missing]
        low, high = (int(present.min()), int(present.max())) if present.shape[0] else (0, 0)
        out[missing] = nat
    check_tick_range(low, high, factor, column)
    return out


def check_tick_range(low: int, high: int, tick_ns: int, column: str) -> None:
    """Raise naming ``column`` unless timestamps from tick ``low`` to ``high`` (``tick_ns`` ns each) fit
    in int64 nanoseconds (the years 1677-2262): what :func:`time_values` checks before it scales.

    Examples
    --------
    >>> check_tick_range(-5, 10**15, 1000, "date")  # microseconds of the year 2001
    >>> check_tick_range(0, 10**17, 1000, "date")
    Traceback (most recent call last):
    ...
    toolkit.errors.DataValidationError: column 'date': timestamps outside the years 1677-2262 do not fit in int64 nanoseconds
    """
    limit = np.iinfo("int64").max // tick_ns
    if high > limit or low < -limit:
        raise DataValidationError.for_column(column, _OUT_OF_RANGE)


_REGISTRY: dict[str, FrameOps] = {"pandas": FrameOps(), "numpy": FrameOps()}
_LAZY: dict[str, type[FrameOps]] = {"cudf": CudfOps, "cupy": CudfOps}


def register(library: str, frame_ops: FrameOps) -> None:
    """Register the verbs of a frame library, keyed by the top-level module of its objects."""
    _REGISTRY[library] = frame_ops


def ops(obj: Any) -> FrameOps:
    """The :class:`FrameOps` of ``obj``'s library (a frame, Series, Index or array).

    Raises
    ------
    TypeError
        ``obj`` belongs to no registered library (Dask collections included: use
        :func:`toolkit.panel.partitions.per_series`).
    """
    root = type(obj).__module__.split(".", 1)[0]
    if root not in _REGISTRY and root in _LAZY:
        _REGISTRY[root] = _LAZY[root]()
    try:
        return _REGISTRY[root]
    except KeyError:
        raise TypeError(f"no frame verbs registered for {type(obj).__module__}.{type(obj).__name__}") from None


def namespace(df: Any) -> Any:
    """The array namespace matching a frame: NumPy's for pandas, CuPy's for cuDF."""
    return ops(df).xp


def values(df: Any, col: str, dtype: str = "float64") -> Any:
    """Column ``col`` as a float array (missing -> NaN)."""
    series = df[col]
    return ops(series).values(series, dtype)


def isna(df: Any, col: str) -> Any:
    """Boolean array: where ``col`` is missing."""
    series = df[col]
    return ops(series).isna(series)


def time_values(df: Any, col: str) -> Any:
    """Datetime column ``col`` as int64 nanoseconds."""
    series = df[col]
    return ops(series).time_values(series)


def time_ticks(df: Any, col: str) -> tuple[Any, int]:
    """Datetime column ``col`` as its own int64 ticks and the nanoseconds per tick (no conversion)."""
    series = df[col]
    return ops(series).time_ticks(series)


def codes(df: Any, col: str) -> tuple[Any, int]:
    """Sorted-order integer codes of key column ``col`` (missing -> -1) and the key count."""
    series = df[col]
    return ops(series).codes(series)


def as_array(series: Any, dtype: Any = None) -> Any:
    """A Series without missing values (bool, int, float) as an array of its library."""
    return ops(series).as_array(series, dtype)


def take(obj: Any, positions: Any) -> Any:
    """Rows at integer ``positions`` of a frame or Series (positions moved to the frame's device)."""
    frame_ops = ops(obj)
    if frame_ops.array_module == "numpy":
        from toolkit import backend

        positions = backend.to_host(positions)
    return frame_ops.take(obj, positions)


def assign(df: Any, columns: Mapping[str, Any]) -> Any:
    """``df`` with the arrays of ``columns`` added or replaced (in ``df``'s row order)."""
    return ops(df).assign(df, columns)


def categorical(like: Any, codes: Any, categories: Any) -> Any:
    """A categorical column of ``like``'s library (and index) from codes into ``categories``.

    Examples
    --------
    >>> import pandas as pd, numpy as np
    >>> categorical(pd.DataFrame(index=[5, 6]), np.array([1, 0]), ["", "New Year"]).tolist()
    ['New Year', '']
    """
    return ops(like).categorical(like, codes, categories)


def new_frame(like: Any, data: Mapping[str, Any], index: Any = None) -> Any:
    """A new frame of ``like``'s library (``like``: a frame or an array) from columns ``data``."""
    return ops(like).new_frame(data, index)


def concat(frames: list, **kwargs: Any) -> Any:
    """Concatenate frames of one library."""
    return ops(frames[0]).concat(frames, **kwargs)


def to_array(obj: Any, dtype: str = "float64") -> Any:
    """A frame (2-D), Series (1-D) or array as an array of its library (missing -> NaN).

    NumPy/CuPy arrays are cast without a copy when already ``dtype``; other sequences (lists,
    scalars) go through NumPy. Raises ``TypeError`` for Dask collections (use
    :mod:`toolkit.panel.blocks`) and ``ValueError``/``TypeError`` for values that are not numbers.

    Examples
    --------
    >>> import pandas as pd
    >>> to_array(pd.DataFrame({"a": [1, None], "b": [True, False]})).tolist()
    [[1.0, 1.0], [nan, 0.0]]
    """
    root = type(obj).__module__.split(".", 1)[0]
    if root in ("dask", "dask_cudf", "dask_expr"):
        raise TypeError(f"{type(obj).__name__} is a Dask collection: compute it first")
    if root not in _REGISTRY and root not in _LAZY:
        return np.asarray(obj, dtype=dtype)
    frame_ops = ops(obj)
    if hasattr(obj, "columns"):
        return frame_ops.matrix(obj, dtype)
    if hasattr(obj, "index") and hasattr(obj, "dtype"):
        return frame_ops.values(obj, dtype)
    return frame_ops.xp.asarray(obj, dtype=getattr(frame_ops.xp, dtype))


def series(like: Any, data: Any, index: Any = None, name: Any = None) -> Any:
    """A Series of ``like``'s library (a frame, Series or array) wrapping ``data``."""
    return ops(like).series(data, index, name)


def mask(df: Any, col: str, where: Any) -> Any:
    """Column ``col`` with the values at ``where`` missing (integer and boolean columns stay so)."""
    series = df[col]
    return ops(series).mask(series, where)


def from_host(like: Any, obj: Any) -> Any:
    """A pandas frame or Series ``obj`` moved to the library of ``like`` (cuDF for a cuDF frame)."""
    return ops(like).from_host(obj)


def token_ids(series: Any, vocabulary: Any) -> tuple[Any, Any]:
    """Whitespace tokens of a string Series as vocabulary positions: ``(offsets, ids)`` arrays.

    ``offsets`` (int64, ``len(series) + 1``) bound each document's tokens in ``ids`` (int64,
    -1 for a token not in ``vocabulary``); arrays of the Series' library (NumPy for pandas,
    CuPy for cuDF, where nvtext tokenizes on the GPU).

    Examples
    --------
    >>> import pandas as pd
    >>> offsets, ids = token_ids(pd.Series(["good value", None, "bad"]), ["bad", "good"])
    >>> offsets.tolist(), ids.tolist()
    ([0, 2, 2, 3], [1, -1, 0])
    """
    return ops(series).token_ids(series, vocabulary)


def token_counts(series: Any) -> Any:
    """Occurrences of each whitespace token of a string Series (a pandas Series token -> count)."""
    return ops(series).token_counts(series)


def non_string_rows(series: Any) -> np.ndarray:
    """Positions (NumPy) of the values of a Series that are neither strings nor missing."""
    return ops(series).non_string_rows(series)


def sparse(like: Any) -> Any:
    """The sparse-matrix module of ``like``'s array world: ``scipy.sparse`` for NumPy/pandas,
    ``cupyx.scipy.sparse`` for CuPy/cuDF (the same ``csr_matrix``/``coo_matrix``/``diags`` calls)."""
    return ops(like).sparse


def estimator(like: Any, path: str) -> Any:
    """The estimator class at ``path`` (``"linear_model.LogisticRegression"``) of ``like``'s learner
    library: scikit-learn for NumPy/pandas inputs, cuML (same module paths) for CuPy/cuDF."""
    return ops(like).estimator(path)
