"""What an event of each stream looks like, micro-batches of events, and their validation.

An :class:`EventSchema` names a stream's key columns, its event-time column and its numeric
value columns. The built-in streams of the generated supply chain (:mod:`toolkit.datasets`):

* :data:`ORDERS` -- an order line: ``sku``, ``location``, ``order_ts``, ``quantity``;
* :data:`INVENTORY` -- a stock count of a (``sku``, ``warehouse``) at ``ts`` with the day's
  ``receipts`` and ``units_sold`` and the ``on_hand`` / ``on_order`` after them (the rows of
  ``inventory``, stamped at the end of their day);
* :data:`SHIPMENTS` -- a delivery on a lane (``carrier``, ``zone``) at ``delivered_ts`` with
  its ``promised_days`` and ``actual_days``.

A source hands the engine one :class:`EventBatch` per stream and poll: columns as read
(labels, timestamps as datetime64 or ISO-8601 text, numbers or text), one *offset* per event
(increasing within a partition: a row number, a Redis entry id, a Kafka offset), and the wall
time each event became available (the start of its event-to-alert latency).

:func:`validate` turns a batch into :class:`ValidEvents` -- series slots, int64 event times,
float64 values -- and a table of the rows it refused with the first reason that applies:
a decoding error the source found (not JSON, a missing field), a missing key label, a missing
or unreadable time, a missing, non-numeric, infinite or (for ``non_negative`` columns)
negative value. Everything is vectorised; refused rows go to the dead-letter sink, counted.

Examples
--------
>>> import numpy as np, pandas as pd
>>> from toolkit.stream.keys import KeyRegistry
>>> from toolkit.stream.schema import ORDERS, EventBatch, validate
>>> batch = EventBatch("orders", {"sku": ["a", "b", None], "location": ["web"] * 3,
...                    "order_ts": ["2024-01-01T10:00", "2024-01-01T11:00", "2024-01-01T12:00"],
...                    "quantity": [2, -1, 3]}, offsets=np.arange(3))
>>> valid, refused = validate(batch, ORDERS, KeyRegistry(ORDERS.keys))
>>> valid.values[:, 0].tolist(), refused["reason"].tolist()
([2.0], ["negative value in 'quantity'", "missing key 'sku'"])
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from typing import Any, Mapping, Sequence

import numpy as np
import pandas as pd

from toolkit.errors import DataValidationError
from toolkit.panel import as_list
from toolkit.stream.keys import KeyRegistry

__all__ = ["EventSchema", "EventBatch", "ValidEvents", "validate", "time_ns", "ORDERS", "INVENTORY", "SHIPMENTS",
           "DEAD_LETTER_COLUMNS", "dead_letters"]

DEAD_LETTER_COLUMNS = ("stream", "partition", "offset", "reason", "payload", "arrival")
"""Columns of a dead-letter table."""


@dataclass(frozen=True)
class EventSchema:
    """The columns of one stream's events.

    Parameters
    ----------
    name : str
        The stream's name (``"orders"``); sources and monitors are matched by it.
    keys : tuple of str
        Columns naming the series an event belongs to.
    time_col : str
        Event time (datetime64, or ISO-8601 text in messages).
    values : tuple of str
        Numeric columns every event must carry, finite.
    non_negative : tuple of str
        Those of ``values`` that must also be >= 0.

    Raises
    ------
    DataValidationError
        An empty name, no key or no value column, a column named twice, or a
        ``non_negative`` column that is not among ``values``.
    """

    name: str
    keys: tuple
    time_col: str
    values: tuple
    non_negative: tuple = ()

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not self.name:
            raise DataValidationError.for_parameter("name", "a stream needs a name", self.name)
        object.__setattr__(self, "keys", tuple(as_list(self.keys, "keys")))
        object.__setattr__(self, "values", tuple(as_list(self.values, "values")))
        object.__setattr__(self, "non_negative", tuple(as_list(self.non_negative, "non_negative")))
        if not isinstance(self.time_col, str) or not self.time_col:
            raise DataValidationError.for_parameter("time_col", "expected a column name", self.time_col)
        if not self.keys or not self.values:
            raise DataValidationError.for_parameter("keys" if not self.keys else "values",
                                                    "an event schema needs at least one", ())
        names = [*self.keys, self.time_col, *self.values]
        if len(set(names)) != len(names):
            raise DataValidationError.for_parameter("values", "a column is named twice", names)
        stray = [c for c in self.non_negative if c not in self.values]
        if stray:
            raise DataValidationError.for_parameter("non_negative", "not among the value columns", stray,
                                                    list(self.values))

    @property
    def columns(self) -> tuple:
        """Every column an event carries: keys, time, values."""
        return (*self.keys, self.time_col, *self.values)


ORDERS = EventSchema("orders", ("sku", "location"), "order_ts", ("quantity",), non_negative=("quantity",))
INVENTORY = EventSchema("inventory", ("sku", "warehouse"), "ts", ("on_hand", "on_order", "receipts", "units_sold"),
                        non_negative=("on_hand", "on_order", "receipts", "units_sold"))
SHIPMENTS = EventSchema("shipments", ("carrier", "zone"), "delivered_ts", ("promised_days", "actual_days"),
                        non_negative=("promised_days", "actual_days"))


@dataclass
class EventBatch:
    """Events of one stream read in one poll (see the module docstring).

    Parameters
    ----------
    stream : str
    columns : mapping column -> array-like
        As read; all of one length ``n``.
    offsets : int array (n,)
        Increasing within each partition.
    partitions : int array (n,), optional
        Default: every event in partition 0.
    arrival : float array (n,), optional
        Wall time (``time.time()``) each event became available; default: now.
    errors : dict, optional
        ``row -> reason`` for rows the source could not decode.
    payloads : list, optional
        The raw message of every row (kept in dead letters); default: rebuilt from ``columns``.
    """

    stream: str
    columns: Mapping[str, Any]
    offsets: Any
    partitions: Any = None
    arrival: Any = None
    errors: dict = field(default_factory=dict)
    payloads: list | None = None

    def __post_init__(self) -> None:
        self.offsets = np.asarray(self.offsets, dtype=np.int64).reshape(-1)
        n = self.offsets.shape[0]
        self.partitions = np.zeros(n, dtype=np.int64) if self.partitions is None \
            else np.broadcast_to(np.asarray(self.partitions, dtype=np.int64), (n,)).copy()
        self.arrival = np.full(n, time.time()) if self.arrival is None \
            else np.broadcast_to(np.asarray(self.arrival, dtype=np.float64), (n,)).copy()
        for name, col in self.columns.items():
            if len(col) != n:
                raise DataValidationError.for_column(name, f"has {len(col)} values for {n} offsets")

    def __len__(self) -> int:
        return int(self.offsets.shape[0])

    def subset(self, rows: np.ndarray) -> "EventBatch":
        """The events at positions ``rows`` (decoding errors and payloads follow them)."""
        rows = np.asarray(rows, dtype=np.int64)
        where = {int(r): i for i, r in enumerate(rows.tolist())} if self.errors else {}
        return EventBatch(self.stream, {k: _take(v, rows) for k, v in self.columns.items()}, self.offsets[rows],
                          self.partitions[rows], self.arrival[rows],
                          {where[r]: why for r, why in self.errors.items() if r in where},
                          None if self.payloads is None else [self.payloads[i] for i in rows.tolist()])

    def payload(self, row: int) -> str:
        """The raw message of ``row``, or the row's columns as JSON when the source kept none."""
        if self.payloads is not None:
            raw = self.payloads[row]
            return raw.decode("utf-8", "replace") if isinstance(raw, bytes) else str(raw)
        record = {}
        for name, col in self.columns.items():
            value = _take(col, np.asarray([row]))[0]
            record[name] = value.item() if hasattr(value, "item") else value
        return json.dumps(record, default=str)


def _take(col: Any, rows: np.ndarray) -> Any:
    if isinstance(col, (pd.Series, pd.Index)):
        return col.array.take(rows) if hasattr(col.array, "take") else col.to_numpy()[rows]
    if isinstance(col, pd.api.extensions.ExtensionArray):
        return col.take(rows)
    return np.asarray(col, dtype=object if isinstance(col, list) else None)[rows]


@dataclass
class ValidEvents:
    """The accepted events of a batch, as arrays in batch order.

    Attributes
    ----------
    rows : int64 array (m,)
        Their positions in the batch.
    slots : int64 array (m,)
    time : int64 array (m,)
        Event time, ns since the epoch (naive UTC).
    values : float64 array (m, n_values)
        In the schema's ``values`` order.
    arrival : float64 array (m,)
    """

    rows: np.ndarray
    slots: np.ndarray
    time: np.ndarray
    values: np.ndarray
    arrival: np.ndarray

    def take(self, mask: np.ndarray) -> "ValidEvents":
        return ValidEvents(self.rows[mask], self.slots[mask], self.time[mask], self.values[mask], self.arrival[mask])

    def __len__(self) -> int:
        return int(self.rows.shape[0])


def time_ns(values: Any) -> np.ndarray:
    """Event times as int64 ns (naive UTC); NaT (the int64 minimum) where missing or unreadable.

    Accepts datetime64 arrays and Series (time-zone aware ones are converted to UTC) and
    ISO-8601 text.
    """
    if isinstance(values, np.ndarray) and values.dtype == np.dtype("datetime64[ns]"):
        return values.view(np.int64)
    series = values if isinstance(values, pd.Series) else pd.Series(values)
    if series.dtype.kind != "M" and not isinstance(series.dtype, pd.DatetimeTZDtype):
        if series.dtype.kind in "iuf":  # numbers are no time format of ours: refuse them
            return np.full(len(series), np.iinfo(np.int64).min, dtype=np.int64)
        series = pd.to_datetime(series.astype(object).where(series.notna(), None), format="ISO8601",
                                errors="coerce", utc=True)
    if isinstance(series.dtype, pd.DatetimeTZDtype):
        series = series.dt.tz_convert("UTC").dt.tz_localize(None)
    return series.to_numpy(dtype="datetime64[ns]").view(np.int64)


def _numbers(values: Any) -> np.ndarray:
    if isinstance(values, np.ndarray) and values.dtype.kind in "iuf":
        return values.astype(np.float64, copy=False)
    if isinstance(values, np.ndarray) and values.dtype.kind == "b":
        return values.astype(np.float64)
    series = values if isinstance(values, pd.Series) else pd.Series(values)
    if series.dtype.kind == "b":
        return series.to_numpy(dtype=np.float64)
    if series.dtype.kind not in "iuf":
        series = pd.to_numeric(series.astype(object), errors="coerce")
    return series.to_numpy(dtype=np.float64, na_value=np.nan)


def validate(batch: EventBatch, schema: EventSchema, registry: KeyRegistry) -> tuple[ValidEvents, pd.DataFrame]:
    """Accepted events of ``batch`` and the refused ones with their reason (see the module docstring).

    Returns
    -------
    valid : ValidEvents
    refused : pandas.DataFrame
        :data:`DEAD_LETTER_COLUMNS`, one row per refused event.
    """
    n = len(batch)
    reason = np.full(n, None, dtype=object)

    def refuse(mask: np.ndarray, why: str) -> None:
        reason[mask & (reason == None)] = why  # noqa: E711 - elementwise on an object array

    for row, why in batch.errors.items():
        reason[row] = why
    for col in schema.columns:
        if col not in batch.columns:
            refuse(np.ones(n, dtype=bool), f"missing field {col!r}")
    if n == 0 or bool((reason != None).all()):  # noqa: E711
        return _split(batch, schema, reason, np.zeros(n, dtype=np.int64), np.zeros(n, dtype=np.int64),
                      np.zeros((n, len(schema.values))))
    columns = {}
    for col in schema.columns:  # a message may carry an object or a list where a value belongs
        columns[col], nested = _scalars(batch.columns[col])
        refuse(nested, f"not a single value in {col!r}")
    batch = EventBatch(batch.stream, columns, batch.offsets, batch.partitions, batch.arrival, batch.errors,
                       batch.payloads)
    keys = {c: batch.columns[c] for c in schema.keys}
    for c in schema.keys:
        refuse(_missing_labels(keys[c]), f"missing key {c!r}")
    times = time_ns(batch.columns[schema.time_col])
    refuse(times == np.iinfo(np.int64).min, f"missing or unreadable time {schema.time_col!r}")
    values = np.empty((n, len(schema.values)))
    for j, col in enumerate(schema.values):
        x = _numbers(batch.columns[col])
        refuse(np.isnan(x), f"missing or non-numeric value in {col!r}")
        refuse(np.isinf(x), f"infinite value in {col!r}")
        if col in schema.non_negative:
            refuse(x < 0, f"negative value in {col!r}")
        values[:, j] = x
    ok = reason == None  # noqa: E711
    slots = np.full(n, -1, dtype=np.int64)
    if bool(ok.all()):
        slots = registry.slots(keys)
    elif bool(ok.any()):  # only accepted events register their series
        rows = np.flatnonzero(ok)
        slots[rows] = registry.slots({c: _take(v, rows) for c, v in keys.items()})
    return _split(batch, schema, reason, slots, times, values)


def _scalars(col: Any) -> tuple[Any, np.ndarray]:
    """``col`` with nested values (dicts, lists) replaced by None, and where they were."""
    if not (isinstance(col, list) or (isinstance(col, np.ndarray) and col.dtype == object)):
        return col, np.zeros(len(col), dtype=bool)
    nested = np.fromiter((isinstance(v, (dict, list, tuple, set, np.ndarray)) for v in col), dtype=bool,
                         count=len(col))
    if not bool(nested.any()):
        return col, nested
    clean = np.asarray(col, dtype=object).copy()
    clean[nested] = None
    return clean, nested


def _missing_labels(col: Any) -> np.ndarray:
    series = col if isinstance(col, pd.Series) else pd.Series(col)
    missing = series.isna().to_numpy()
    if series.dtype == object or pd.api.types.is_string_dtype(series.dtype):
        missing = missing | (series == "").to_numpy(dtype=bool, na_value=True)
    return missing


def _split(batch: EventBatch, schema: EventSchema, reason: np.ndarray, slots: np.ndarray, times: np.ndarray,
           values: np.ndarray) -> tuple[ValidEvents, pd.DataFrame]:
    bad = reason != None  # noqa: E711
    good = np.flatnonzero(~bad)
    valid = ValidEvents(good, slots[good], times[good], values[good], batch.arrival[good])
    return valid, dead_letters(batch, np.flatnonzero(bad), reason[bad])


def dead_letters(batch: EventBatch, rows: Sequence[int], reasons: Sequence[str]) -> pd.DataFrame:
    """A dead-letter table (:data:`DEAD_LETTER_COLUMNS`) for ``rows`` of ``batch`` with their ``reasons``."""
    rows = np.asarray(rows, dtype=np.int64)
    return pd.DataFrame({
        "stream": pd.Series([batch.stream] * rows.shape[0], dtype=object),
        "partition": batch.partitions[rows],
        "offset": batch.offsets[rows],
        "reason": pd.Series(list(reasons), dtype=object),
        "payload": pd.Series([batch.payload(int(r)) for r in rows.tolist()], dtype=object),
        "arrival": batch.arrival[rows],
    })
