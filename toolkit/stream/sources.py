"""Event sources: the interface every source implements, and the replay of frames or Parquet data.

A :class:`Source` hands the engine micro-batches: :meth:`Source.poll` returns the events that
are available now, one :class:`~toolkit.stream.schema.EventBatch` per stream, at most
``max_events`` in all; :meth:`Source.seek` resumes after the offsets of a checkpoint;
:meth:`Source.commit` tells a broker which offsets are durable (checkpointed), so it can
forget them (Redis ``XACK``, a Kafka offset commit).

:class:`ReplaySource` replays frames (or Parquet datasets) of events, every stream merged in
one order of arrival -- the event time, or an ``arrival_col`` for events that arrive late or
out of order -- and paced in one of three ways:

* ``speedup=k``: ``k`` seconds of event time per second of wall time (a day in 10 s is
  ``speedup=8640``);
* ``rate=r``: ``r`` events per second, whatever their timestamps (for load tests);
* neither: as fast as the engine takes them.

Each event's *arrival* is the wall time it was scheduled to arrive (at full speed: the time
it was read), so an engine that falls behind sees its lag in the event-to-alert latency.
Offsets are row numbers in the arrival order, partition 0. Rows are replayed as they are,
malformed ones included (the engine validates them and dead-letters what it refuses).

Examples
--------
>>> import pandas as pd
>>> from toolkit.stream.sources import ReplaySource
>>> orders = pd.DataFrame({"sku": ["a", "b"], "location": "web", "quantity": [1, 2],
...                        "order_ts": pd.to_datetime(["2024-01-01 10:00", "2024-01-01 09:00"])})
>>> src = ReplaySource({"orders": orders})
>>> [b.columns["sku"].tolist() for b in src.poll(10)], src.exhausted
([['b', 'a']], True)
"""

from __future__ import annotations

import os
import time
from typing import Any, Mapping, Sequence

import numpy as np
import pandas as pd

from toolkit import panel
from toolkit.errors import DataValidationError
from toolkit.stream.schema import INVENTORY, ORDERS, SHIPMENTS, EventBatch, EventSchema, time_ns

__all__ = ["Source", "ReplaySource", "DEFAULT_SCHEMAS", "schema_table"]

DEFAULT_SCHEMAS = (ORDERS, INVENTORY, SHIPMENTS)
_NAT = np.iinfo(np.int64).min


def schema_table(schemas: Any) -> dict[str, EventSchema]:
    """``schemas`` (a sequence of EventSchema, or a mapping name -> EventSchema) by stream name.

    Raises
    ------
    DataValidationError
        Something that is not an EventSchema, or two schemas of one name.
    """
    items = list(schemas.values()) if isinstance(schemas, Mapping) else list(schemas)
    table: dict[str, EventSchema] = {}
    for schema in items:
        if not isinstance(schema, EventSchema):
            raise DataValidationError.for_parameter("schemas", "expected EventSchema objects", type(schema).__name__)
        if schema.name in table:
            raise DataValidationError.for_parameter("schemas", "two schemas share a stream name", schema.name)
        table[schema.name] = schema
    return table


class Source:
    """What the engine reads from (see the module docstring)."""

    streams: tuple[str, ...] = ()

    def poll(self, max_events: int) -> list[EventBatch]:  # pragma: no cover - interface
        raise NotImplementedError

    @property
    def exhausted(self) -> bool:
        """True when no event will ever come again (the end of a replay); brokers never are."""
        return False

    def seek(self, offsets: Mapping[tuple[str, int], int]) -> None:
        """Resume after ``offsets``: (stream, partition) -> the last offset applied."""

    def commit(self, offsets: Mapping[tuple[str, int], int]) -> None:
        """Offsets up to these are in a checkpoint: the broker may forget them."""

    def close(self) -> None:
        """Release connections."""


def _check_pace(value: Any, param: str) -> float | None:
    if value is None:
        return None
    return panel.check_number(param, value, 0.0, low_open=True)


class ReplaySource(Source):
    """Replay frames or Parquet datasets of events (see the module docstring).

    Parameters
    ----------
    events : mapping stream -> pandas DataFrame or path
        One table per stream, with the schema's columns (Parquet paths are read whole).
    schemas : sequence of EventSchema, default (ORDERS, INVENTORY, SHIPMENTS)
        The schema of each stream named in ``events``.
    speedup, rate : float, optional
        Pacing (at most one); neither: full speed.
    arrival_col : str, optional
        A datetime column (in each table that has it) ordering and pacing the replay instead
        of the event time: when each event reached the system.

    Raises
    ------
    DataValidationError
        A stream without a schema, a table that is not a frame or lacks a schema column,
        both ``speedup`` and ``rate``, a non-positive pace.
    """

    def __init__(self, events: Mapping[str, Any], schemas: Sequence[EventSchema] = DEFAULT_SCHEMAS,
                 speedup: float | None = None, rate: float | None = None, arrival_col: str | None = None):
        if not isinstance(events, Mapping) or not events:
            raise DataValidationError.for_parameter("events", "expected a mapping stream -> frame or Parquet path",
                                                    type(events).__name__)
        table = schema_table(schemas)
        self.speedup, self.rate = _check_pace(speedup, "speedup"), _check_pace(rate, "rate")
        if self.speedup is not None and self.rate is not None:
            raise DataValidationError.for_parameter("rate", "give speedup or rate, not both", rate)
        self.streams = tuple(events)
        self._columns: dict[str, dict[str, Any]] = {}
        keys = []
        for name, frame in events.items():
            if name not in table:
                raise DataValidationError.for_parameter("events", f"no schema for stream {name!r}", name, list(table))
            frame = self._read(frame, name)
            schema = table[name]
            panel.require_columns(frame, list(schema.columns), f"to replay stream {name!r}")
            order_col = arrival_col if arrival_col is not None and arrival_col in frame.columns else schema.time_col
            key = _schedule_key(frame[order_col])
            order = np.argsort(key, kind="stable")
            self._columns[name] = {c: _stored(frame[c], order, c == schema.time_col) for c in schema.columns}
            keys.append(key[order])
        lengths = [k.shape[0] for k in keys]
        merged = np.concatenate(keys) if keys else np.zeros(0, dtype=np.int64)
        rank = np.empty(merged.shape[0], dtype=np.int64)
        rank[np.argsort(merged, kind="stable")] = np.arange(merged.shape[0])
        edges = np.cumsum([0, *lengths])
        self._rank = {name: rank[edges[i]:edges[i + 1]] for i, name in enumerate(self.streams)}
        sorted_keys = np.sort(merged, kind="stable")
        if self.speedup is not None and sorted_keys.shape[0]:
            self._schedule = (sorted_keys - sorted_keys[0]) / 1e9 / self.speedup
        elif self.rate is not None:
            self._schedule = np.arange(sorted_keys.shape[0]) / self.rate
        else:
            self._schedule = np.zeros(sorted_keys.shape[0])
        self._cursor = {name: 0 for name in self.streams}
        self._t0: float | None = None

    @staticmethod
    def _read(frame: Any, name: str) -> pd.DataFrame:
        if isinstance(frame, (str, os.PathLike)):
            if not os.path.exists(frame):
                raise DataValidationError.for_parameter("events", f"no Parquet data at the path of {name!r}",
                                                        str(frame))
            return pd.read_parquet(frame)
        panel.check_frame(frame, f"events[{name!r}]", dask=False)
        from toolkit.backend import to_host

        return to_host(frame)

    @property
    def total(self) -> int:
        """Events in the replay."""
        return int(self._schedule.shape[0])

    def _next_rank(self) -> int:
        ranks = [self._rank[s][self._cursor[s]] for s in self.streams if self._cursor[s] < self._rank[s].shape[0]]
        return int(min(ranks)) if ranks else self.total

    @property
    def exhausted(self) -> bool:
        return self._next_rank() >= self.total

    def poll(self, max_events: int = 100_000) -> list[EventBatch]:
        """The events due now (at most ``max_events``), one batch per stream that has some.

        When none is due yet, waits for the next one (at most 50 ms) and returns ``[]``.
        """
        max_events = panel.check_int("max_events", max_events, minimum=1)
        now = time.time()
        first = self._next_rank()
        if first >= self.total:
            return []
        if self._t0 is None:
            self._t0 = now - self._schedule[first]
        due = int(np.searchsorted(self._schedule, now - self._t0, side="right"))
        limit = min(due, first + max_events)
        if limit <= first:
            time.sleep(min(max(self._schedule[first] - (now - self._t0), 0.0), 0.05))
            return []
        paced = self.speedup is not None or self.rate is not None
        batches = []
        for name in self.streams:
            start = self._cursor[name]
            end = int(np.searchsorted(self._rank[name], limit, side="left"))
            if end <= start:
                continue
            ranks = self._rank[name][start:end]
            arrival = self._t0 + self._schedule[ranks] if paced else np.full(end - start, now)
            batches.append(EventBatch(name, {c: v[start:end] for c, v in self._columns[name].items()},
                                      offsets=np.arange(start, end), arrival=arrival))
            self._cursor[name] = end
        return batches

    def seek(self, offsets: Mapping[tuple[str, int], int]) -> None:
        """Resume each stream after its checkpointed offset (partition 0); the pace restarts from there."""
        for (name, _partition), offset in offsets.items():
            if name in self._cursor:
                self._cursor[name] = min(int(offset) + 1, int(self._rank[name].shape[0]))
        self._t0 = None


def _schedule_key(col: pd.Series) -> np.ndarray:
    """Arrival order key (int64 ns): the column's times, a missing or unreadable one taking the time before it."""
    key = time_ns(col)
    missing = key == _NAT
    if bool(missing.all()):
        return np.arange(key.shape[0], dtype=np.int64)
    if bool(missing.any()):
        filled = pd.Series(np.where(missing, np.nan, key.astype(np.float64))).ffill().bfill()
        key = np.where(missing, filled.to_numpy().astype(np.int64), key)
    return key


def _stored(col: pd.Series, order: np.ndarray, is_time: bool) -> Any:
    """A column in replay order, in the form the engine reads fastest."""
    if is_time:
        return time_ns(col)[order].view("datetime64[ns]")
    values = col.array
    if isinstance(values, pd.Categorical):
        return values.take(order)
    if col.dtype.kind in "iufb":
        return col.to_numpy()[order]
    if isinstance(col.dtype, pd.StringDtype) or (col.dtype == object
                                                 and pd.api.types.infer_dtype(col, skipna=True) == "string"):
        return pd.Categorical(col.to_numpy(dtype=object)[order])
    return col.to_numpy(dtype=object)[order]
