"""Inventory inputs: numbers, arrays or long panels in; validated per-series float arrays out.

Every inventory function takes its numeric inputs as a scalar (one value for every series),
an array (one per series, or ``(series, days)``), or -- with a frame -- the name of a column.
This module turns each of them into a float64 array of the call's array namespace (NumPy or
CuPy) and checks it, so that a bad value is refused before any work with one message format:
``column 'units': ...`` naming the frame column and a few series keys when the value came from
a frame, ``parameter 'lead_time': ...`` naming the argument (and positions) when it did not.

Long panels (one row per series and day) become dense ``(n_series, n_days)`` matrices through
:class:`toolkit.panel.SeriesLayout`: rows sorted once by ``id_cols`` then time, series in key
order (category order for categorical keys). Missing keys or dates and repeated (keys, date)
rows are refused by the layout, naming the column.

The inventory panels are keyed by product and warehouse, not by product and sales location
like the sales panel: :data:`INVENTORY_ID_COLS` is that default, defined once here and used by
every inventory function.

Examples
--------
>>> import numpy as np
>>> from toolkit.decisions.inventory.inputs import SeriesInputs
>>> checks = SeriesInputs(np)
>>> checks.whole_days("lead_time", checks.floats("lead_time", [2, 3]), low=0).tolist()
[2, 3]
>>> checks.floats("lead_time", "lt")
Traceback (most recent call last):
...
toolkit.errors.DataValidationError: parameter 'lead_time': a column name needs a frame to read it from (pass the panel or data=...), got 'lt'
"""

from __future__ import annotations

import numbers
from typing import Any, Callable, Mapping, NamedTuple, Sequence

import numpy as np

from toolkit import backend, panel
from toolkit.panel import frames
from toolkit.errors import DataValidationError

__all__ = [
    "INVENTORY_ID_COLS",
    "SeriesInputs",
    "DensePanel",
    "Kernel",
    "namespace_of",
    "is_array",
    "is_frame",
    "dense_panel",
    "match_series",
    "per_series_value",
    "series_constant",
    "rowwise",
]

INVENTORY_ID_COLS = ("sku", "warehouse")
"""Default series keys of the inventory functions: one stock per product and warehouse."""


def is_array(value: Any) -> bool:
    """True for NumPy/CuPy arrays (anything speaking the array API with a shape)."""
    return hasattr(value, "__array_namespace__") and hasattr(value, "shape")


def is_frame(value: Any) -> bool:
    """True for pandas, cuDF and Dask data frames."""
    return type(value).__name__ == "DataFrame" and hasattr(value, "columns")


def namespace_of(*values: Any) -> Any:
    """The array namespace of the arrays among ``values`` (NumPy's when there are none)."""
    arrays = [v for v in values if is_array(v)]
    return backend.array_namespace(*arrays) if arrays else backend.array_namespace(np.empty(0))


def _describe(value: Any) -> Any:
    """A short stand-in for ``value`` in a message (no thousand-element reprs)."""
    if value is None or isinstance(value, (numbers.Number, str)):
        return value
    shape = getattr(value, "shape", None)
    return f"<{type(value).__name__}{' of shape ' + str(tuple(shape)) if shape is not None else ''}>"


class SeriesInputs:
    """Converts and checks the numeric inputs of one call (see the module docstring).

    Parameters
    ----------
    xp : array namespace
    key_frame : frame, optional
        One row per array row (a series table, or the rows of a row-wise frame); messages show
        its ``key_cols`` values for offending rows (positions otherwise).
    key_cols : sequence of str
    columns : mapping, optional
        Parameter name -> frame column it was read from; errors then name the column.
    """

    def __init__(self, xp: Any, key_frame: Any = None, key_cols: Sequence[str] = (),
                 columns: Mapping[str, str] | None = None):
        self.xp = xp
        self.key_frame = key_frame
        self.key_cols = list(key_cols)
        self.columns = dict(columns or {})

    def reject(self, param: str, problem: str, bad: Any, value: Any = None) -> None:
        """Raise naming ``param`` (or its column), the problem, a count and a few offenders."""
        bad = np.asarray(backend.to_host(bad))
        if bad.ndim == 0:
            shown = _describe(float(backend.to_host(value))) if value is not None else ...
            raise DataValidationError.for_parameter(self.columns.get(param, param), problem, shown)
        series = bad.reshape(bad.shape[0], -1).any(axis=1)
        where = np.flatnonzero(series)
        count = int(bad.sum())
        if self.key_frame is not None and len(self.key_frame) == series.size:
            shown = panel.examples(self.key_frame, where, self.key_cols)
        else:
            shown = where[: panel.KEYS_SHOWN].tolist()
        if param in self.columns:
            panel.fail(self.columns[param], problem, count, shown)
        where_text = "series" if bad.ndim > 1 or self.key_frame is not None else "positions"
        raise DataValidationError(f"parameter {param!r}: {problem} ({count} offending values; e.g. at {where_text} "
                                  f"{shown})", parameter=param)

    def refuse(self, param: str, bad: Any, problem: str, value: Any = None) -> None:
        """:meth:`reject` when any of ``bad`` is true."""
        if bool(self.xp.any(bad)):
            self.reject(param, problem, bad, value)

    def floats(self, param: str, value: Any, n: int | None = None) -> Any:
        """``value`` as a float64 array; with ``n``, one value per series (a scalar is broadcast)."""
        xp = self.xp
        if isinstance(value, str):
            raise DataValidationError.for_parameter(
                param, "a column name needs a frame to read it from (pass the panel or data=...)", value)
        if value is None or isinstance(value, (bytes, Mapping, set)) or is_frame(value):
            raise DataValidationError.for_parameter(param, "expected a number or an array of numbers",
                                                    _describe(value))
        try:
            x = xp.asarray(value, dtype=xp.float64)
        except (TypeError, ValueError) as err:
            raise DataValidationError.for_parameter(param, f"expected a number or an array of numbers ({err})",
                                                    _describe(value)) from None
        if n is None:
            return x
        if x.ndim > 1 or (x.ndim == 1 and x.shape[0] not in (1, n)):
            raise DataValidationError.for_parameter(param, f"expected one value or {n} (one per series)",
                                                    _describe(value))
        return xp.broadcast_to(x, (n,))

    def check(self, param: str, x: Any, *, low: float | None = None, high: float | None = None,
              open_low: bool = False, open_high: bool = False, allow_nan: bool = False) -> Any:
        """``x`` after checking it is finite (NaN too unless ``allow_nan``) and within the bounds."""
        xp = self.xp
        if allow_nan:
            self.refuse(param, xp.isinf(x), "infinite values; replace or drop them first", x)
        else:
            self.refuse(param, ~xp.isfinite(x), "NaN or infinite values; every value must be a finite number", x)
        if low is not None:
            self.refuse(param, x <= low if open_low else x < low, f"values must be {'>' if open_low else '>='} {low}",
                        x)
        if high is not None:
            self.refuse(param, x >= high if open_high else x > high,
                        f"values must be {'<' if open_high else '<='} {high}", x)
        return x

    def whole_days(self, param: str, x: Any, low: int) -> Any:
        """Whole-day periods (lead time, review period) as int64, checked ``>= low``."""
        xp = self.xp
        self.check(param, x, low=low)
        self.refuse(param, x != xp.round(x), "values must be whole days", x)
        return xp.astype(x, xp.int64)


# --------------------------------------------------------------------------- long panels


class DensePanel(NamedTuple):
    """A long panel as a dense matrix.

    Attributes
    ----------
    keys : frame
        The series table (``id_cols``), one row per matrix row, index ``0..n-1``.
    values : array, shape (n_series, width)
        Each series' values from its first date on, NaN-padded on the right.
    layout : SeriesLayout
        The panel's sorted layout (``layout.time``: its dates as int64 ns).
    checks : SeriesInputs
        Checks that name offending series by their keys.
    """

    keys: Any
    values: Any
    layout: Any
    checks: SeriesInputs


def dense_panel(frame: Any, id_cols: Sequence[str], time_col: str, value_col: str, *, complete: bool,
                what: str) -> DensePanel:
    """A long in-memory panel as a dense ``(n_series, width)`` matrix, series in key order.

    ``complete`` requires every series to cover the same dates (a simulation steps through
    them together); otherwise series may differ in length and shorter ones are NaN-padded.
    The ``value_col`` values are returned as they are (NaN for missing); callers check them.
    """
    panel.require_columns(frame, [*id_cols, time_col, value_col], f"in the {what} panel")
    panel.require_numeric(frame, [value_col], f"in the {what} panel")
    layout = panel.SeriesLayout.from_frame(frame, id_cols, time_col)
    xp = layout.xp
    keys = layout.keys(frame, id_cols)
    checks = SeriesInputs(xp, keys, id_cols, {value_col: value_col, time_col: time_col})
    width = int(xp.max(layout.lengths)) if layout.n_series else 0
    values = xp.full((layout.n_series, width), xp.nan, dtype=xp.float64)
    if layout.n:
        values[layout.series_of_row, layout.position] = layout.gather(panel.values(frame, value_col))
    if complete and layout.n_series:
        checks.refuse(time_col, layout.lengths != width,
                      f"series cover fewer days than the longest one ({width}) in the {what} panel; every series "
                      "must cover the same days")
        days = xp.reshape(layout.time, (layout.n_series, width))
        checks.refuse(time_col, xp.any(days != days[:1, :], axis=1),
                      f"series whose dates differ from the first series' in the {what} panel")
    return DensePanel(keys, values, layout, checks)


def _unmatched(table: Any, marker: str) -> Any:
    xp = panel.namespace(table)
    return panel.take(table, xp.nonzero(frames.isna(table, marker))[0])


def match_series(keys: Any, other_keys: Any, id_cols: Sequence[str], what: str) -> Any:
    """Positions in ``other_keys`` of every row of ``keys``; both tables must hold the same series.

    Raises naming the first key column and a few missing and extra series otherwise.
    """
    ids = list(id_cols)
    xp = panel.namespace(keys)
    mine = keys.assign(_row=xp.arange(len(keys), dtype=xp.int64))
    theirs = other_keys.assign(_pos=xp.arange(len(other_keys), dtype=xp.int64))
    merged = mine.merge(theirs, on=ids, how="left").sort_values("_row")
    pos = panel.values(merged, "_pos")
    if len(merged) == len(keys) == len(other_keys) and not bool(xp.any(xp.isnan(pos))):
        return xp.astype(pos, xp.int64)
    lacking = _unmatched(merged, "_pos")
    extra = _unmatched(theirs.merge(mine, on=ids, how="left"), "_row")
    panel.fail(ids[0], f"the {what} panel's series differ from the other input's: {len(lacking)} missing "
                       f"(e.g. {panel.examples(lacking, xp.arange(len(lacking)), ids)}), {len(extra)} extra "
                       f"(e.g. {panel.examples(extra, xp.arange(len(extra)), ids)})")


def per_series_value(value: Any, table: Any, dense: DensePanel, id_cols: Sequence[str], what: str) -> Any:
    """A per-series argument: a number or array as given, or column ``value`` of ``table`` by key.

    ``table`` holds one row per series (extra series are ignored); every series of the
    ``dense`` panel must have a non-missing value there.
    """
    if not isinstance(value, str):
        return value
    if table is None:
        raise DataValidationError.for_parameter(value, f"names a column but there is no {what} frame to read it "
                                                       "from", value)
    ids = list(id_cols)
    panel.require_columns(table, [*ids, value], f"in the {what} frame")
    panel.require_numeric(table, [value], f"in the {what} frame")
    panel.require_not_null(table, ids, ids, f"in the {what} frame")
    panel.require_unique(table, ids, f"in the {what} frame: one row per series")
    xp = dense.layout.xp
    coded = dense.keys.assign(_row=xp.arange(len(dense.keys), dtype=xp.int64))
    merged = coded.merge(table[[*ids, value]], on=ids, how="left").sort_values("_row")
    values = panel.values(merged, value)
    checks = SeriesInputs(xp, dense.keys, ids, {value: value})
    checks.refuse(value, xp.isnan(values), f"missing for these series in the {what} frame")
    return values


def series_constant(frame: Any, dense: DensePanel, column: str) -> Any:
    """The value of ``column`` per series of the ``dense`` panel; it must not change within a series."""
    panel.require_columns(frame, [column], "(one value per series)")
    panel.require_numeric(frame, [column], "(one value per series)")
    layout = dense.layout
    xp = layout.xp
    x = layout.gather(panel.values(frame, column))
    first = xp.take(x, layout.row_starts)
    changes = ~((x == first) | (xp.isnan(x) & xp.isnan(first)))
    if bool(xp.any(changes)):
        per_series = xp.zeros(layout.n_series, dtype=xp.bool)
        per_series[layout.series_of_row[changes]] = True
        SeriesInputs(xp, dense.keys, dense.checks.key_cols, {column: column}).reject(
            column, "changes within a series (it must hold one value per series)", per_series)
    return xp.take(x, layout.starts)


# --------------------------------------------------------------------------- row-wise formulas


Kernel = Callable[[Any, dict, SeriesInputs], Any]


def rowwise(data: Any, out_col: str, kernel: Kernel, args: Mapping[str, Any], id_cols: Sequence[str] = ()) -> Any:
    """Run ``kernel(xp, values, checks)`` on numbers/arrays, or on the columns of ``data``.

    Without ``data`` the arguments are numbers or arrays and the result is a float (all
    scalars) or an array. With ``data`` (pandas, cuDF or Dask; a Dask frame is handled
    partition by partition, lazily), string arguments name its columns and the result comes
    back as ``data`` plus ``out_col``; offending rows are shown by their ``id_cols`` values
    when ``data`` has them (row numbers otherwise).
    """
    if data is None:
        xp = namespace_of(*args.values())
        checks = SeriesInputs(xp)
        result = kernel(xp, {name: checks.floats(name, value) for name, value in args.items()}, checks)
        return float(result) if result.ndim == 0 else result
    panel.check_frame(data, "data")
    names = [v for v in args.values() if isinstance(v, str)]
    panel.require_columns(data, names, f"for {out_col}")
    panel.require_numeric(data, names, f"for {out_col}")
    panel.require_not_empty(data, f"to compute {out_col}")
    shown = [c for c in id_cols if c in data.columns]
    return panel.per_partition(data, _assign_rowwise, out_col=out_col, kernel=kernel, args=dict(args), shown=shown)


def _assign_rowwise(data: Any, out_col: str, kernel: Kernel, args: dict, shown: list) -> Any:
    xp = panel.namespace(data)
    n = len(data)
    columns = {name: value for name, value in args.items() if isinstance(value, str)}
    checks = SeriesInputs(xp, data, shown, columns)
    values = {name: panel.values(data, value) if name in columns else checks.floats(name, value, n)
              for name, value in args.items()}
    result = kernel(xp, values, checks)
    return panel.assign(data, {out_col: xp.broadcast_to(result, (n,)) if result.ndim == 0 else result})
