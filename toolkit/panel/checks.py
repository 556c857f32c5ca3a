"""The input contract: checks every public function runs at its edge, before any work.

Each check raises :class:`~toolkit.errors.DataValidationError` in the one message format
(``column 'units': problem (n offending rows; e.g. [keys])`` or ``parameter 'freq': problem,
got value; choose from [...]``), so a user reads the same shape of message whichever verb
they called. Checks that only need a frame's columns and dtypes also accept a Dask frame
(they read its metadata and compute nothing); checks on values (finite, unique, non-null)
are for in-memory frames and are run per partition by the verbs that take Dask input.

Examples
--------
>>> import pandas as pd
>>> from toolkit.panel import checks
>>> df = pd.DataFrame({"sku": ["a", "b"], "units": [1.0, float("inf")]})
>>> checks.require_finite(df, ["units"], keys=["sku"])
Traceback (most recent call last):
...
toolkit.errors.DataValidationError: column 'units': infinite values; replace or drop them first (1 offending rows; e.g. [('b',)])
"""

from __future__ import annotations

import math
import numbers
from typing import Any, Iterable, Sequence

from toolkit import backend
from toolkit.errors import DataValidationError

__all__ = [
    "DEFAULT_ID_COLS",
    "DEFAULT_TIME_COL",
    "DEFAULT_TARGET_COL",
    "KEYS_SHOWN",
    "as_list",
    "check_frame",
    "check_choice",
    "check_int",
    "check_number",
    "examples",
    "fail",
    "require_columns",
    "require_not_empty",
    "require_numeric",
    "require_datetime",
    "require_finite",
    "require_not_null",
    "require_unique",
]

DEFAULT_ID_COLS = ("sku", "location")
"""Series keys of the generated sales panel (``toolkit.datasets.make_retail``)."""
DEFAULT_TIME_COL = "date"
DEFAULT_TARGET_COL = "units"
KEYS_SHOWN = 5
"""How many offending keys an error message shows."""


def fail(column: str, problem: str, count: int | None = None, keys: Iterable[Any] | None = None) -> None:
    """Raise the one-format :class:`DataValidationError` for ``column``."""
    raise DataValidationError.for_column(column, problem, count, keys, limit=KEYS_SHOWN)


def as_list(cols: str | Sequence[str] | None, param: str = "id_cols") -> list[str]:
    """Column names as a list: one name becomes a one-element list, ``None`` an empty one.

    Raises
    ------
    DataValidationError
        ``cols`` is neither a string nor a sequence of strings.

    Examples
    --------
    >>> as_list("sku"), as_list(("sku", "location")), as_list(None)
    (['sku'], ['sku', 'location'], [])
    """
    if cols is None:
        return []
    if isinstance(cols, str):
        return [cols]
    if isinstance(cols, (bytes, dict)) or not isinstance(cols, Iterable):
        raise DataValidationError.for_parameter(param, "expected a column name or a list of column names", cols)
    out = list(cols)
    bad = [c for c in out if not isinstance(c, str)]
    if bad:
        raise DataValidationError.for_parameter(param, "column names must be strings", bad[0])
    return out


def _kind(obj: Any) -> str:
    root = type(obj).__module__.split(".", 1)[0]
    return "dask" if root in ("dask", "dask_cudf", "dask_expr") else root


def check_frame(df: Any, param: str = "df", *, dask: bool = True) -> None:
    """Raise unless ``df`` is a pandas or cuDF DataFrame (or a Dask DataFrame when ``dask``).

    Examples
    --------
    >>> check_frame([1, 2])
    Traceback (most recent call last):
    ...
    toolkit.errors.DataValidationError: parameter 'df': expected a pandas, cuDF or Dask DataFrame, got a list
    """
    kind = _kind(df)
    is_frame = type(df).__name__ == "DataFrame" and kind in ("pandas", "cudf", "dask")
    if is_frame and (dask or kind != "dask"):
        return
    wanted = "a pandas, cuDF or Dask DataFrame" if dask else "an in-memory pandas or cuDF DataFrame"
    got = f"a {type(df).__name__}"
    if kind == "dask" and not dask:
        got += " (a Dask collection: call .compute() first, this step needs the whole frame in memory)"
    raise DataValidationError(f"parameter {param!r}: expected {wanted}, got {got}", parameter=param)


def require_columns(df: Any, columns: Iterable[str], purpose: str = "") -> None:
    """Raise naming the first of ``columns`` missing from ``df`` (and the columns it has).

    Also refuses a frame with a repeated column name (``df[col]`` would be a frame).
    """
    names = list(df.columns)
    present = set(names)
    needed = f" (needed {purpose})" if purpose else ""
    for col in columns:
        if col not in present:
            shown = names[:12] + (["..."] if len(names) > 12 else [])
            fail(col, f"missing{needed}; available columns: {shown}")
    if len(present) != len(names):
        repeated = sorted({str(c) for c in names if names.count(c) > 1})
        fail(repeated[0], "appears more than once in the frame")


def require_not_empty(df: Any, purpose: str = "", column: str | None = None) -> None:
    """Raise when an in-memory ``df`` has no rows (Dask frames are not counted)."""
    if _kind(df) != "dask" and len(df) == 0:
        needed = f" (nothing {purpose})" if purpose else ""
        raise DataValidationError(f"the frame is empty{needed}", column=column)


def _dtype_kind(dtype: Any) -> str:
    kind = getattr(dtype, "kind", None)
    if kind is None:  # pandas extension dtypes without .kind
        return "O"
    return kind


def require_numeric(df: Any, columns: Iterable[str], purpose: str = "") -> None:
    """Raise naming the first of ``columns`` that is not numeric or boolean."""
    needed = f" (needed {purpose})" if purpose else ""
    for col in columns:
        dtype = df[col].dtype
        if _dtype_kind(dtype) not in "biuf" or str(dtype) == "category":
            fail(col, f"must be numeric or boolean, got dtype {dtype}{needed}; convert it first "
                      "(toolkit.cleanse.coerce_types)")


def require_datetime(df: Any, column: str) -> None:
    """Raise unless ``column`` is a timezone-naive datetime64 column (the time axis)."""
    dtype = df[column].dtype
    if _dtype_kind(dtype) != "M":
        fail(column, f"must be a datetime64 column (the time axis), got dtype {dtype}; convert it with to_datetime")
    if getattr(dtype, "tz", None) is not None:
        fail(column, f"must be timezone-naive datetime64, got {dtype}; convert to UTC and drop the timezone "
                     "(.dt.tz_convert('UTC').dt.tz_localize(None))")


def examples(df: Any, positions: Any, columns: Sequence[str]) -> list:
    """Up to :data:`KEYS_SHOWN` rows of ``columns`` at ``positions`` (row numbers), as tuples.

    Without ``columns`` the row numbers themselves are returned.
    """
    rows = [int(p) for p in backend.to_host(positions[:KEYS_SHOWN])]
    cols = [c for c in columns if c in df.columns]
    if not cols:
        return [f"row {r}" for r in rows]
    part = backend.to_host(df[cols].iloc[rows])
    return [tuple(v.item() if hasattr(v, "item") else v for v in row) for row in part.itertuples(index=False, name=None)]


def _bad_rows(mask: Any) -> tuple[int, Any]:
    xp = backend.array_namespace(mask)
    where = xp.nonzero(mask)[0]
    return int(where.shape[0]), where


def require_finite(df: Any, columns: Iterable[str], keys: Sequence[str] = (), *, allow_nan: bool = True,
                   purpose: str = "") -> None:
    """Raise naming the column and a few keys when a value is ``inf`` (or NaN, unless ``allow_nan``).

    One infinite value poisons every window and sum that passes over it, so verbs reject it
    here rather than return silently wrong results later.
    """
    from toolkit.panel import frames

    if _kind(df) == "dask":
        return
    needed = f" (needed {purpose})" if purpose else ""
    for col in columns:
        x = frames.values(df, col)
        xp = backend.array_namespace(x)
        count, where = _bad_rows(xp.isinf(x))
        if count:
            fail(col, f"infinite values{needed}; replace or drop them first", count, examples(df, where, keys))
        if not allow_nan:
            count, where = _bad_rows(xp.isnan(x))
            if count:
                fail(col, f"missing values (NaN){needed}; fill or drop them first (toolkit.cleanse.fill_missing)",
                     count, examples(df, where, keys))


def require_not_null(df: Any, columns: Iterable[str], keys: Sequence[str] = (), purpose: str = "") -> None:
    """Raise naming the column when any of its values is missing (keys, timestamps)."""
    from toolkit.panel import frames

    if _kind(df) == "dask":
        return
    needed = f" (needed {purpose})" if purpose else ""
    for col in columns:
        count, where = _bad_rows(frames.isna(df, col))
        if count:
            fail(col, f"missing values{needed}", count, examples(df, where, list(keys)))


def require_unique(df: Any, columns: Sequence[str], purpose: str = "") -> None:
    """Raise when rows repeat the same values of ``columns`` (e.g. the same series and time)."""
    if _kind(df) == "dask":
        return
    dup = df.duplicated(subset=list(columns), keep=False)
    from toolkit.panel import frames

    count, where = _bad_rows(frames.as_array(dup))
    if count:
        needed = f" (needed {purpose})" if purpose else ""
        fail(columns[-1], f"duplicated ({', '.join(columns)}) rows{needed}: each must appear once",
             count, examples(df, where, columns))


def check_choice(param: str, value: Any, choices: Iterable[Any]) -> Any:
    """``value`` when it is one of ``choices``; otherwise an error listing them.

    Strings are compared case-insensitively and returned lower-cased when the choices are
    lower-case strings.
    """
    options = list(choices)
    probe = value.lower() if isinstance(value, str) and all(isinstance(c, str) and c == c.lower()
                                                           for c in options) else value
    try:
        ok = probe in options
    except TypeError:  # unhashable or incomparable
        ok = False
    if not ok:
        raise DataValidationError.for_parameter(param, "unknown value", value, options)
    return probe


def check_int(param: str, value: Any, minimum: int | None = None, maximum: int | None = None) -> int:
    """``value`` as an ``int`` when it is a whole number within ``[minimum, maximum]``."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not math.isfinite(value) \
            or int(value) != value:
        raise DataValidationError.for_parameter(param, "must be a whole number", value)
    if minimum is not None and value < minimum:
        raise DataValidationError.for_parameter(param, f"must be >= {minimum}", value)
    if maximum is not None and value > maximum:
        raise DataValidationError.for_parameter(param, f"must be <= {maximum}", value)
    return int(value)


def check_number(param: str, value: Any, minimum: float | None = None, maximum: float | None = None, *,
                 low_open: bool = False, high_open: bool = False) -> float:
    """``value`` as a finite ``float`` within the given bounds (open or closed)."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not math.isfinite(float(value)):
        raise DataValidationError.for_parameter(param, "must be a finite number", value)
    value = float(value)
    if minimum is not None and (value < minimum or (low_open and value == minimum)):
        raise DataValidationError.for_parameter(param, f"must be {'>' if low_open else '>='} {minimum}", value)
    if maximum is not None and (value > maximum or (high_open and value == maximum)):
        raise DataValidationError.for_parameter(param, f"must be {'<' if high_open else '<='} {maximum}", value)
    return value
