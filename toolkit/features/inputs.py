"""What every feature function checks and reads: the panel's columns, its values, its parameters.

Each public function of :mod:`toolkit.features` validates at its edge, before any work and
for pandas, cuDF and Dask input alike (:func:`check_panel` reads only column names and
dtypes): a frame, the columns it needs, a datetime time column, numeric value columns, and
its parameters (:func:`positive_ints`, :func:`check_shift`, :func:`per_column`). Checks on
values run where the values are, on each in-memory frame or Dask partition: the
:class:`~toolkit.panel.SeriesLayout` refuses missing keys, NaT timestamps and repeated
(keys, time) rows; :func:`column_values` applies the non-finite policy.

Non-finite policy
-----------------
* **NaN** (or pandas' ``NA``) in a target or value column is a *missing value*, handled as
  pandas handles it: windows skip it and give NaN when fewer than ``min_periods`` values
  remain, lags copy it, the EWM lets the weight of older values decay across it, sums of a
  group ignore it. One NaN never makes later windows NaN.
* **+-inf** in a target or value column is *rejected*: :class:`DataValidationError` naming
  the column, the count and a few series keys. An infinite sale, price or spend is a data
  error; treating it silently as missing would hide it. (The kernels of
  :mod:`toolkit.kernels.windows` themselves skip infinities like NaN, as pandas does, so a
  direct kernel call never poisons later windows either.)
* Computed features may still be infinite where the arithmetic says so (a percentage change
  from 0, a discount against a zero reference price), as in pandas.

Examples
--------
>>> import pandas as pd
>>> from toolkit.features import inputs
>>> df = pd.DataFrame({"sku": ["a", "b"], "units": [1.0, float("inf")]})
>>> inputs.column_values(df, "units", ["sku"])
Traceback (most recent call last):
...
toolkit.errors.DataValidationError: column 'units': infinite values; replace or drop them first (1 offending rows; e.g. [('b',)])
"""

from __future__ import annotations

import numbers
from typing import Any, Iterable, Mapping, Sequence

from toolkit import panel
from toolkit.errors import DataValidationError
from toolkit.panel import SeriesLayout

__all__ = [
    "PARTITION",
    "check_panel",
    "run_per_series",
    "layout_rows",
    "column_names",
    "require_rows",
    "require_history",
    "column_values",
    "positive_ints",
    "numbers_of",
    "check_shift",
    "shift_suffix",
    "per_column",
]

PARTITION = {"strict": False}
"""Keyword arguments a Dask partition adds: skip the checks only a whole panel can make
(an empty frame, series too short for a lag)."""


def check_panel(df: Any, id_cols: Sequence[str], time_col: str | None, values: Sequence[str], purpose: str,
                extra: Sequence[str] = ()) -> None:
    """Raise unless ``df`` is a frame with the keys, a datetime ``time_col``, numeric ``values``
    and the ``extra`` columns (any dtype)."""
    panel.check_frame(df)
    time = [time_col] if time_col is not None else []
    panel.require_columns(df, [*id_cols, *time, *values, *extra], purpose)
    if time_col is not None:
        panel.require_datetime(df, time_col)
    panel.require_numeric(df, values, purpose)


def run_per_series(df: Any, func: Any, id_cols: Any, time_col: str, values: Sequence[str], purpose: str, *,
                   extra: Sequence[str] = (), shuffle_by: Sequence[str] | None = None, **kwargs: Any) -> Any:
    """Check ``df`` at the edge (:func:`check_panel`), then run ``func`` on it per series.

    ``func(frame, keys=..., time=..., **kwargs)`` gets the keys as a list; on Dask it runs on
    every series partition (shuffled by ``shuffle_by``, default the keys) with
    :data:`PARTITION` added.
    """
    keys = panel.as_list(id_cols)
    check_panel(df, keys, time_col, values, purpose, extra)
    return panel.per_series(df, func, shuffle_by or keys, time_col, partition_kwargs=PARTITION, keys=keys,
                            time=time_col, **kwargs)


def layout_rows(df: Any, keys: Sequence[str], time: str, column: str, strict: bool, *,
                unique: bool = True) -> SeriesLayout:
    """The :class:`SeriesLayout` of an in-memory frame; with ``strict``, refuses an empty frame
    (naming ``column``)."""
    layout = SeriesLayout.from_frame(df, keys, time, unique=unique)
    if strict:
        require_rows(df, column)
    return layout


def column_names(cols: Any, param: str) -> list[str]:
    """``cols`` (a name or a list of names) as a non-empty list."""
    names = panel.as_list(cols, param)
    if not names:
        raise DataValidationError.for_parameter(param, "name at least one column", cols)
    return names


def require_rows(df: Any, column: str) -> None:
    """Raise naming ``column`` when the frame has no rows."""
    if len(df) == 0:
        panel.fail(column, "the frame is empty: no rows to compute features from")


def require_history(layout: SeriesLayout, need: int, column: str, what: str) -> None:
    """Raise when ``need`` earlier rows exceed every series (every value would be NaN)."""
    longest = int(layout.xp.max(layout.lengths)) if layout.n else 0
    if need >= longest:
        panel.fail(column, f"{what} needs {need} earlier rows but the longest series has {longest} rows, "
                           "so every value would be NaN", layout.n)


def column_values(df: Any, col: str, keys: Sequence[str] = (), rows: Any = None, *,
                  keep_float32: bool = False) -> Any:
    """Column ``col`` as a float array (missing -> NaN), refusing infinite values.

    Parameters
    ----------
    df : pandas or cuDF DataFrame
    col : str
    keys : list of str
        Columns shown for the offending rows in the error message (series keys and time).
    rows : int array, optional
        Only these input rows, in this order (only they are checked).
    keep_float32 : bool, default False
        Return a float32 column as it is (no float64 copy); the compiled kernels read it and
        accumulate in float64.

    Raises
    ------
    DataValidationError
        ``col`` holds ``+inf`` or ``-inf`` (the module's non-finite policy).
    """
    dtype = "float32" if keep_float32 and str(df[col].dtype) == "float32" else "float64"
    x = panel.values(df, col, dtype)  # a float column is viewed, not copied
    xp = panel.namespace(df)
    if rows is not None:
        x = xp.take(x, rows)
    if bool(xp.any(xp.isinf(x))):
        shown = df if rows is None else panel.take(df[[*keys, col]], rows)
        panel.require_finite(shown, [col], keys)
    return x


def positive_ints(values: Any, name: str, allow_empty: bool = False) -> tuple[int, ...]:
    """``values`` (one whole number or a sequence of them) as a tuple of ints >= 1."""
    items = numbers_of(values, name)
    if not items and not allow_empty:
        raise DataValidationError.for_parameter(name, "give at least one positive whole number", values)
    return tuple(panel.check_int(name, v, minimum=1) for v in items)


def numbers_of(values: Any, name: str) -> tuple:
    """``values`` as a tuple: one number becomes a one-element tuple."""
    if isinstance(values, numbers.Number) or values is None:
        return () if values is None else (values,)
    if isinstance(values, (str, bytes, Mapping)) or not isinstance(values, Iterable):
        raise DataValidationError.for_parameter(name, "expected a number or a sequence of numbers", values)
    return tuple(values)


def check_shift(shift: Any, name: str = "shift") -> int:
    """``shift`` as an int >= 1 (so that no feature sees the value it predicts)."""
    if isinstance(shift, numbers.Real) and not isinstance(shift, bool) and shift < 1:
        raise DataValidationError.for_parameter(
            name, "must be >= 1 so that no feature sees the value it predicts", shift)
    return panel.check_int(name, shift, minimum=1)


def shift_suffix(shift: int) -> str:
    """Name suffix of a non-default shift: ``""`` for 1, ``"_shift2"`` for 2."""
    return "" if shift == 1 else f"_shift{shift}"


def per_column(value: Any, cols: Sequence[str], name: str, minimum: float | None = None,
               maximum: float | None = None, *, low_open: bool = False, high_open: bool = False) -> dict:
    """One number for every column: ``value`` itself, or ``value[col]`` when it is a mapping.

    Each number is checked to lie within the bounds (:func:`toolkit.panel.check_number`).
    """
    if isinstance(value, Mapping):
        missing = [c for c in cols if c not in value]
        if missing:
            raise DataValidationError.for_parameter(name, f"has no value for columns {missing}", dict(value))
        raw = {c: value[c] for c in cols}
    else:
        raw = {c: value for c in cols}
    return {c: panel.check_number(name, v, minimum, maximum, low_open=low_open, high_open=high_open)
            for c, v in raw.items()}
