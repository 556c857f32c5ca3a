"""Redis Streams: a source reading through a consumer group, a sink, and a publisher.

:class:`RedisStreamSource` reads one Redis stream per event stream (``XREADGROUP`` on a
consumer group, so several engines can share the work and a restarted one keeps its place).
Entries carry the event as JSON in the field ``e`` (:mod:`toolkit.stream.codec`); the entry
id ``<ms>-<seq>`` is the event's offset (``ms * 2**20 + seq``, increasing within a stream) and
its ``ms`` part -- the server's clock when the entry was added -- the event's arrival, so the
event-to-alert latency includes the time it waited in Redis.

Acknowledgement: an entry is acknowledged (``XACK``) only once it is *durable*: after the
checkpoint that covers it (after each processed batch when the engine keeps no checkpoint).
Until then it stays in the consumer's pending list. A restarted source (same ``consumer``
name) first reads its own pending entries again (``XREADGROUP ... 0``), then new ones
(``>``): the engine skips those at or below its checkpointed offsets and applies the rest,
so nothing is lost or counted twice.

:class:`RedisStreamSink` adds alerts (or dead letters) to a stream as JSON entries;
:func:`publish` writes a frame of events, pipelined, as a producer would.

Examples
--------
::

    import redis
    from toolkit.stream import StreamEngine, DemandMonitor
    from toolkit.stream.redis_io import RedisStreamSource, publish
    client = redis.Redis(port=6379)
    publish(client, "orders", orders_frame, ORDERS)
    source = RedisStreamSource(client, {"orders": "orders"}, group="alerts", consumer="engine-1")
    StreamEngine([DemandMonitor().fit(history)], checkpoint="ckpt/").run(source, duration=60)
"""

from __future__ import annotations

import time
from typing import Any, Mapping, Sequence

import numpy as np

from toolkit import panel
from toolkit.errors import DataValidationError
from toolkit.stream.codec import decode_messages, encode_alerts, encode_frame
from toolkit.stream.schema import EventBatch, EventSchema
from toolkit.stream.sinks import Sink
from toolkit.stream.sources import DEFAULT_SCHEMAS, Source, schema_table

__all__ = ["RedisStreamSource", "RedisStreamSink", "publish", "publish_streams", "entry_offset", "FIELD"]

FIELD = b"e"
"""The entry field holding the JSON event."""
_SEQ_BITS = 20


def entry_offset(entry_id: bytes | str) -> int:
    """The int64 offset of a stream entry id ``"<ms>-<seq>"`` (``ms * 2**20 + seq``).

    Raises
    ------
    DataValidationError
        Not an entry id, or a sequence number of 2**20 or more (more than a million entries
        in one millisecond).

    Examples
    --------
    >>> entry_offset(b"1700000000000-3")
    1782579200000000003
    """
    text = entry_id.decode() if isinstance(entry_id, bytes) else str(entry_id)
    try:
        ms, seq = (int(part) for part in text.split("-"))
    except ValueError:
        raise DataValidationError.for_parameter("entry_id", "not a Redis stream entry id", text) from None
    if not 0 <= seq < 2**_SEQ_BITS:
        raise DataValidationError.for_parameter("entry_id", "sequence number beyond 2**20", text)
    return (ms << _SEQ_BITS) | seq


def _check_client(client: Any) -> Any:
    if not all(hasattr(client, m) for m in ("xreadgroup", "xack", "xadd", "xgroup_create")):
        raise DataValidationError.for_parameter("client", "expected a redis.Redis client", type(client).__name__)
    return client


def _check_streams(streams: Any, table: dict) -> dict[str, str]:
    if not isinstance(streams, Mapping) or not streams:
        raise DataValidationError.for_parameter("streams", "expected a mapping event stream -> Redis key",
                                                type(streams).__name__)
    for name in streams:
        if name not in table:
            raise DataValidationError.for_parameter("streams", f"no schema for stream {name!r}", name, list(table))
    return {str(k): str(v) for k, v in streams.items()}


class RedisStreamSource(Source):
    """Events from Redis streams through a consumer group (see the module docstring).

    Parameters
    ----------
    client : redis.Redis
    streams : mapping event stream -> Redis key
        E.g. ``{"orders": "shop:orders"}``.
    group : str, default "toolkit"
        Consumer group (created, with the stream, when missing; from the stream's start).
    consumer : str, default "engine"
        This reader's name in the group; keep it across restarts to get its pending entries back.
    schemas : sequence of EventSchema
    block_ms : int, default 100
        How long a poll waits for new entries.

    Raises
    ------
    DataValidationError
        Not a Redis client, an unknown stream, a bad name or wait.
    """

    def __init__(self, client: Any, streams: Mapping[str, str], group: str = "toolkit", consumer: str = "engine",
                 schemas: Sequence[EventSchema] = DEFAULT_SCHEMAS, block_ms: int = 100):
        self.client = _check_client(client)
        self.schemas = schema_table(schemas)
        self.keys = _check_streams(streams, self.schemas)
        for param, value in (("group", group), ("consumer", consumer)):
            if not isinstance(value, str) or not value:
                raise DataValidationError.for_parameter(param, "expected a non-empty name", value)
        self.group, self.consumer = group, consumer
        self.block_ms = panel.check_int("block_ms", block_ms, minimum=0)
        self.streams = tuple(self.keys)
        self._by_key = {key: name for name, key in self.keys.items()}
        self._recovering = {name: b"0" for name in self.streams}  # pending entries first
        self._unacked: dict[str, list[tuple[int, bytes]]] = {name: [] for name in self.streams}
        for key in self.keys.values():
            try:
                self.client.xgroup_create(key, self.group, id="0", mkstream=True)
            except Exception as err:  # redis.ResponseError BUSYGROUP: the group exists
                if "BUSYGROUP" not in str(err):
                    raise

    def poll(self, max_events: int = 50_000) -> list[EventBatch]:
        """Pending entries of this consumer first (after a restart), then new ones (waiting ``block_ms``)."""
        max_events = panel.check_int("max_events", max_events, minimum=1)
        recovering = {self.keys[n]: start for n, start in self._recovering.items() if start is not None}
        if recovering:
            replies = self.client.xreadgroup(self.group, self.consumer, recovering, count=max_events)
            seen = {self._name(key) for key, entries in replies if entries}
            for name in list(self._recovering):
                if self._recovering[name] is not None and name not in seen:
                    self._recovering[name] = None  # its pending list is read: new entries from now on
            for key, entries in replies:
                if entries:
                    self._recovering[self._name(key)] = entries[-1][0]
        else:
            replies = self.client.xreadgroup(self.group, self.consumer, {k: ">" for k in self.keys.values()},
                                             count=max_events, block=self.block_ms or None)
        return [batch for key, entries in (replies or []) if entries
                for batch in [self._batch(self._name(key), entries)]]

    def _name(self, key: Any) -> str:
        return self._by_key[key.decode() if isinstance(key, bytes) else str(key)]

    def _batch(self, name: str, entries: list) -> EventBatch:
        ids = [entry_id if isinstance(entry_id, bytes) else str(entry_id).encode() for entry_id, _ in entries]
        parts = np.array(b" ".join(ids).replace(b"-", b" ").split()).astype(np.int64).reshape(-1, 2)
        offsets = (parts[:, 0] << _SEQ_BITS) | parts[:, 1]
        payloads = [fields.get(FIELD, fields.get(FIELD.decode(), b"")) if isinstance(fields, dict) else b""
                    for _, fields in entries]
        columns, errors = decode_messages(payloads, self.schemas[name])
        self._unacked[name].extend(zip(offsets.tolist(), ids))
        arrival = (offsets >> _SEQ_BITS).astype(np.float64) / 1000.0
        return EventBatch(name, columns, offsets=offsets, arrival=arrival, errors=errors, payloads=payloads)

    def commit(self, offsets: Mapping[tuple[str, int], int]) -> None:
        """Acknowledge every delivered entry at or below the durable offsets."""
        pipe = self.client.pipeline(transaction=False)
        pending = False
        for name in self.streams:
            mark = offsets.get((name, 0))
            if mark is None or not self._unacked[name]:
                continue
            done = [entry_id for offset, entry_id in self._unacked[name] if offset <= mark]
            if done:
                pipe.xack(self.keys[name], self.group, *done)
                pending = True
                self._unacked[name] = [(o, i) for o, i in self._unacked[name] if o > mark]
        if pending:
            pipe.execute()

    def close(self) -> None:
        self.client.close()


class RedisStreamSink(Sink):
    """Adds each row (an alert, a dead letter) to a Redis stream as a JSON entry (field ``e``).

    Parameters
    ----------
    client : redis.Redis
    key : str
        The stream.
    maxlen : int, optional
        Keep about this many entries (``XADD MAXLEN ~``).
    """

    def __init__(self, client: Any, key: str, maxlen: int | None = None):
        self.client = _check_client(client)
        if not isinstance(key, str) or not key:
            raise DataValidationError.for_parameter("key", "expected a stream name", key)
        self.key = key
        self.maxlen = None if maxlen is None else panel.check_int("maxlen", maxlen, minimum=1)

    def write(self, frame: Any) -> None:
        messages = encode_alerts(frame)
        pipe = self.client.pipeline(transaction=False)
        for message in messages:
            pipe.xadd(self.key, {FIELD: message}, maxlen=self.maxlen, approximate=True)
        if messages:
            pipe.execute()


def publish(client: Any, key: str, frame: Any, schema: EventSchema, chunk: int = 5_000,
            rate: float | None = None) -> int:
    """Add every row of ``frame`` to stream ``key`` as a JSON event (pipelined, ``chunk`` per round trip).

    Parameters
    ----------
    rate : float, optional
        Events per second to pace the writes at (default: as fast as Redis takes them).

    See :func:`publish_streams` for several streams interleaved in time order.

    Returns
    -------
    int
        Entries added.

    Raises
    ------
    DataValidationError
        Not a client, a frame lacking a schema column, a bad chunk or rate.
    """
    _check_client(client)
    chunk = panel.check_int("chunk", chunk, minimum=1)
    rate = None if rate is None else panel.check_number("rate", rate, 0.0, low_open=True)
    messages = encode_frame(frame, schema)
    start = time.time()
    for begin in range(0, len(messages), chunk):
        if rate is not None:
            wait = start + begin / rate - time.time()
            if wait > 0:
                time.sleep(wait)
        pipe = client.pipeline(transaction=False)
        for message in messages[begin:begin + chunk]:
            pipe.xadd(key, {FIELD: message})
        pipe.execute()
    return len(messages)


def publish_streams(client: Any, streams: Mapping[str, tuple[Any, EventSchema]], chunk: int = 5_000,
                    rate: float | None = None) -> int:
    """Add the events of several streams, interleaved in event-time order, each to its Redis key.

    Parameters
    ----------
    streams : mapping Redis key -> (frame, schema)
    chunk, rate
        As in :func:`publish` (``rate`` counts the events of every stream).

    Returns
    -------
    int
        Entries added.
    """
    _check_client(client)
    chunk = panel.check_int("chunk", chunk, minimum=1)
    rate = None if rate is None else panel.check_number("rate", rate, 0.0, low_open=True)
    keys, messages, times = [], [], []
    for key, (frame, schema) in streams.items():
        encoded = encode_frame(frame, schema)
        messages += encoded
        keys += [key] * len(encoded)
        times.append(np.asarray(frame[schema.time_col], dtype="datetime64[ns]").view(np.int64))
    order = np.argsort(np.concatenate(times) if times else np.zeros(0, dtype=np.int64), kind="stable")
    start = time.time()
    for begin in range(0, order.shape[0], chunk):
        if rate is not None:
            wait = start + begin / rate - time.time()
            if wait > 0:
                time.sleep(wait)
        pipe = client.pipeline(transaction=False)
        for i in order[begin:begin + chunk].tolist():
            pipe.xadd(keys[i], {FIELD: messages[i]})
        pipe.execute()
    return int(order.shape[0])
