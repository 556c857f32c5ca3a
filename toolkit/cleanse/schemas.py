"""Schemas: the rules a table must keep, and the shipped schema of every ``make_retail`` table.

A :class:`Schema` maps column names to :class:`Column` rules (dtype kind or exact dtype,
nullability, value range, finiteness, whether a safe cast is allowed, whether the column is
required) and names the columns that must be unique together. :data:`SCHEMAS` holds one
schema per table of :func:`toolkit.datasets.make_retail`; :func:`resolve_schema` accepts a
schema or the name of a shipped one (an unknown name lists the valid ones).

The dtype helpers read a dtype's *kind* (``int``, ``float``, ``bool``, ``datetime``,
``category``, ``string``) the same way for pandas and cuDF dtypes, and decide which casts
are *safe*: a cast that changes no value (int -> float below 2**53, integral float -> int,
str -> category...). :func:`safe_cast` performs one and marks the values it would change.

Examples
--------
>>> from toolkit.cleanse.schemas import SCHEMAS, resolve_schema
>>> resolve_schema("orders").unique
('order_id',)
>>> resolve_schema("order")  # doctest: +ELLIPSIS
Traceback (most recent call last):
...
toolkit.errors.DataValidationError: parameter 'schema': unknown value, got 'order'; choose from ['products', ...]
"""

from __future__ import annotations

import dataclasses
import math
import numbers
from typing import Any, Mapping

import numpy as np
import pandas as pd

from toolkit.errors import DataValidationError
from toolkit.panel import check_choice, frames

__all__ = [
    "KINDS",
    "Column",
    "Schema",
    "SCHEMAS",
    "PRODUCTS",
    "LOCATIONS",
    "SALES",
    "ORDERS",
    "INVENTORY",
    "SHIPMENTS",
    "MARKETING",
    "resolve_schema",
    "dtype_kind",
    "dtype_matches",
    "target_dtype",
    "castable",
    "safe_cast",
]

KINDS = ("int", "float", "bool", "datetime", "category", "string")
"""Dtype kinds a :class:`Column` may ask for (any width); an exact dtype name is also accepted."""


def _check_dtype(dtype: Any) -> None:
    if not isinstance(dtype, str):
        raise DataValidationError.for_parameter("dtype", "expected a dtype kind or name", dtype, KINDS)
    if dtype in KINDS:
        return
    try:
        np.dtype(dtype)
    except TypeError:
        raise DataValidationError.for_parameter("dtype", "neither a dtype kind nor a NumPy dtype name", dtype,
                                                KINDS) from None


def _check_bound(name: str, value: Any) -> None:
    if value is not None and (isinstance(value, bool) or not isinstance(value, numbers.Real) or math.isnan(value)):
        raise DataValidationError.for_parameter(name, "must be a number or None", value)


@dataclasses.dataclass(frozen=True)
class Column:
    """Rules for one column of a :class:`Schema`.

    Parameters
    ----------
    dtype : str
        A kind (``"int"``, ``"float"``, ``"bool"``, ``"datetime"``, ``"category"``, ``"string"``)
        accepting any width, or an exact dtype name such as ``"float32"``.
    nullable : bool, default True
        Whether missing values (NaN, NaT, None) are allowed.
    min, max : float, optional
        Inclusive value range.
    coerce : bool, default False
        Allow a *safe* cast to ``dtype``: one that changes no value (int -> float below 2**53,
        integral float -> int, str -> category, ...). Unsafe casts are violations.
    finite : bool, default True
        For float columns: whether +-inf counts as a violation.
    required : bool, default True
        Whether the column must be present.

    Raises
    ------
    DataValidationError
        An unknown dtype, a bound that is not a number, or ``min > max``.

    Examples
    --------
    >>> Column("float", min=0).nullable
    True
    """

    dtype: str
    nullable: bool = True
    min: float | None = None
    max: float | None = None
    coerce: bool = False
    finite: bool = True
    required: bool = True

    def __post_init__(self) -> None:
        _check_dtype(self.dtype)
        _check_bound("min", self.min)
        _check_bound("max", self.max)
        if self.min is not None and self.max is not None and self.min > self.max:
            raise DataValidationError.for_parameter("min", f"must not exceed max ({self.max})", self.min)


@dataclasses.dataclass(frozen=True)
class Schema:
    """A table's columns and key.

    Parameters
    ----------
    name : str
        Table name, used in messages.
    columns : dict of str -> Column
    unique : tuple of str, default ()
        Columns whose combination must be unique (e.g. ``id_cols + (time_col,)``).

    Examples
    --------
    >>> from toolkit.cleanse import Schema, Column
    >>> s = Schema("t", {"sku": Column("category", nullable=False), "units": Column("float", min=0)},
    ...            unique=("sku",))
    >>> list(s.columns), s.allow_missing("sku").columns["sku"].nullable
    (['sku', 'units'], True)
    """

    name: str
    columns: Mapping[str, Column]
    unique: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if not isinstance(self.columns, Mapping) or not all(isinstance(r, Column) for r in self.columns.values()):
            raise DataValidationError.for_parameter("columns", "expected a dict of column name -> Column",
                                                    type(self.columns).__name__)
        unique = (self.unique,) if isinstance(self.unique, str) else tuple(self.unique)
        object.__setattr__(self, "unique", unique)
        for col in unique:
            if col not in self.columns:
                raise DataValidationError.for_parameter("unique", f"names a column that schema {self.name!r} lacks",
                                                        col, list(self.columns))

    def allow_missing(self, *cols: str) -> "Schema":
        """A copy in which ``cols`` are nullable: for validating with ``errors="null"`` then filling them."""
        unknown = [c for c in cols if c not in self.columns]
        if unknown:
            raise DataValidationError.for_parameter("cols", f"not a column of schema {self.name!r}", unknown[0],
                                                    list(self.columns))
        rules = {c: dataclasses.replace(r, nullable=True) if c in cols else r for c, r in self.columns.items()}
        return dataclasses.replace(self, columns=rules)


def _key(dtype: str = "category") -> Column:
    return Column(dtype, nullable=False, coerce=True)


def _amount(kind: str = "float", **bounds: Any) -> Column:
    return Column(kind, nullable=False, coerce=True, **{"min": 0, **bounds})


PRODUCTS = Schema("products", {
    "sku": _key(), "category": _key(), "price_tier": _key(), "supplier": _key(),
    "lead_time_days": _amount("int"), "base_price": _amount(), "unit_cost": _amount(),
}, unique=("sku",))
LOCATIONS = Schema("locations", {
    "location": _key(), "channel": _key(), "online": Column("bool", nullable=False),
    "region": _key(), "warehouse": _key(), "timezone": Column("string", nullable=False),
}, unique=("location",))
SALES = Schema("sales", {
    "sku": _key(), "location": _key(), "channel": _key(),
    "date": Column("datetime", nullable=False), "units": _amount(), "price": _amount(),
    "promo": Column("bool", nullable=False), "stockout": Column("bool", nullable=False),
    "demand": Column("float", min=0, coerce=True, required=False),
}, unique=("sku", "location", "date"))
ORDERS = Schema("orders", {
    "order_id": Column("int", nullable=False, coerce=True), "order_ts": Column("datetime", nullable=False),
    "sku": _key(), "location": _key(), "channel": _key(),
    "customer_id": Column("string", nullable=False, coerce=True), "email": Column("string", coerce=True),
    "quantity": _amount("int"), "unit_price": _amount(),
}, unique=("order_id",))
INVENTORY = Schema("inventory", {
    "sku": _key(), "warehouse": _key(), "date": Column("datetime", nullable=False),
    **{c: _amount() for c in ("on_hand", "on_order", "receipts", "units_sold")},
}, unique=("sku", "warehouse", "date"))
SHIPMENTS = Schema("shipments", {
    "shipment_id": Column("int", nullable=False, coerce=True), "order_id": Column("int", nullable=False, coerce=True),
    "warehouse": _key(), "ship_date": Column("datetime", nullable=False), "carrier": _key(),
    "zone": _amount("int", min=1, max=8), "distance_km": _amount(), "weight_kg": _amount(),
    "promised_days": _amount("int"), "actual_days": _amount("int"), "cost": _amount(),
    "lat": _amount(min=-90, max=90), "lon": _amount(min=-180, max=180),
}, unique=("shipment_id",))
MARKETING = Schema("marketing", {
    "date": Column("datetime", nullable=False), "channel": _key(), "spend": _amount(),
    **{c: _amount("int") for c in ("impressions", "clicks", "conversions")},
}, unique=("date", "channel"))
SCHEMAS: dict[str, Schema] = {s.name: s for s in (PRODUCTS, LOCATIONS, SALES, ORDERS, INVENTORY, SHIPMENTS, MARKETING)}
"""The shipped schemas by table name."""


def resolve_schema(schema: Any, param: str = "schema") -> Schema:
    """``schema`` itself, or the shipped schema of that name; anything else is refused listing the names."""
    if isinstance(schema, Schema):
        return schema
    if not isinstance(schema, str):
        raise DataValidationError.for_parameter(param, "expected a Schema or the name of a shipped schema",
                                                type(schema).__name__, list(SCHEMAS))
    return SCHEMAS[check_choice(param, schema, list(SCHEMAS))]


def dtype_kind(dtype: Any) -> str:
    """``int``, ``float``, ``bool``, ``datetime``, ``category``, ``string``, or the dtype's name."""
    if str(dtype) == "category":
        return "category"
    api = pd.api.types
    if api.is_bool_dtype(dtype):
        return "bool"
    if api.is_integer_dtype(dtype):
        return "int"
    if api.is_float_dtype(dtype):
        return "float"
    if api.is_datetime64_any_dtype(dtype):
        return "datetime"
    if api.is_string_dtype(dtype) or str(dtype) in ("object", "string", "str"):
        return "string"
    return str(dtype)


def dtype_matches(dtype: Any, wanted: str) -> bool:
    """Whether ``dtype`` is of the kind (or exactly the dtype) ``wanted``."""
    return dtype_kind(dtype) == wanted if wanted in KINDS else str(dtype) == wanted


def target_dtype(wanted: str) -> str:
    """The dtype a cast to ``wanted`` produces (a kind's widest dtype, or ``wanted`` itself)."""
    return {"int": "int64", "float": "float64", "bool": "bool", "datetime": "datetime64[ns]",
            "category": "category", "string": "str"}.get(wanted, wanted)


_SAFE_FROM = {"int": {"int", "float", "bool", "category", "string"}, "float": {"float", "int", "category"},
              "bool": {"bool", "int", "float", "category"}, "category": {"category", "string", "int", "bool"},
              "string": {"string", "category"}, "datetime": {"datetime"}}


def castable(src: Any, wanted: str) -> bool:
    """Whether a column of dtype ``src`` may be cast to ``wanted`` at all (values are checked by :func:`safe_cast`)."""
    return dtype_kind(target_dtype(wanted)) in _SAFE_FROM.get(dtype_kind(src), set())


def safe_cast(df: Any, col: str, target: str) -> tuple[Any, Any]:
    """Column ``col`` of ``df`` cast to ``target``, and a boolean array of the values the cast changes.

    When any value would change by a float -> int cast (NaN, inf, a fraction, overflow), or the
    cast fails, the column is returned uncast.
    """
    series = df[col]
    na = frames.isna(df, col)
    src = dtype_kind(series.dtype)
    if src == "float" and dtype_kind(target) == "int":
        x = frames.values(df, col)
        xp = frames.namespace(df)
        finite = xp.where(xp.isfinite(x), x, 0.5)
        bad = (finite != xp.floor(finite)) | (xp.abs(finite) > 2.0 ** 63 - 1024)
        return (series, bad) if bool(xp.any(bad)) else (series.astype(target), bad)
    try:
        cast = series.astype(target)
        original = series if src != "category" else series.astype(series.cat.categories.dtype)
        back = cast.astype(original.dtype)
        same = frames.as_array((back == original).fillna(False), bool)
        changed = ~(same | (na & frames.as_array(back.isna(), bool)))
    except (TypeError, ValueError, OverflowError):
        return series, ~na
    return cast, changed
