"""Kafka: a source and a sink through ``confluent-kafka``, with the interface of the Redis ones.

:class:`KafkaSource` subscribes to one topic per event stream with a consumer group. Each
message is one JSON event (:mod:`toolkit.stream.codec`); its offset within its partition is
the event's offset (the engine keeps the last applied one per stream and partition), its
timestamp (the producer's create time) the event's arrival.

Offsets are committed only once durable: the engine calls :meth:`KafkaSource.commit` after
each checkpoint (after each batch when it keeps none), committing ``offset + 1`` -- the next
message to read -- per partition; automatic commits are off. A restarted engine seeks each
partition, as it is assigned, to just after its checkpointed offset (falling back to the
group's committed offset for partitions the checkpoint does not know), so events after the
checkpoint are read again and applied once.

:class:`KafkaSink` produces alerts (or dead letters) as JSON messages keyed by the series
(one series stays in one partition, in order); :func:`publish` produces a frame of events.

Examples
--------
::

    from toolkit.stream.kafka_io import KafkaSource, publish
    source = KafkaSource({"bootstrap.servers": "localhost:9092", "group.id": "alerts"},
                         {"orders": "shop.orders"})
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

__all__ = ["KafkaSource", "KafkaSink", "publish", "consumer_config"]


def _kafka() -> Any:
    import confluent_kafka

    return confluent_kafka


def consumer_config(config: Mapping[str, Any]) -> dict[str, Any]:
    """``config`` with what the source relies on: no automatic commit, reading from the earliest
    offset when the group has none.

    Raises
    ------
    DataValidationError
        Not a mapping, or no ``group.id``.

    Examples
    --------
    >>> consumer_config({"bootstrap.servers": "h:9092", "group.id": "g"})["enable.auto.commit"]
    False
    """
    if not isinstance(config, Mapping):
        raise DataValidationError.for_parameter("config", "expected a confluent-kafka configuration mapping",
                                                type(config).__name__)
    if not config.get("group.id"):
        raise DataValidationError.for_parameter("config", "a consumer group ('group.id') is required", dict(config))
    return {"auto.offset.reset": "earliest", **dict(config), "enable.auto.commit": False}


class KafkaSource(Source):
    """Events from Kafka topics (see the module docstring).

    Parameters
    ----------
    consumer : mapping or consumer
        A confluent-kafka consumer configuration (``bootstrap.servers``, ``group.id``...), or a
        consumer object with ``subscribe``, ``consume``, ``commit``, ``seek`` and ``close``.
    topics : mapping event stream -> topic
    schemas : sequence of EventSchema
    timeout : float, default 0.1
        Seconds a poll waits for messages.

    Raises
    ------
    DataValidationError
        A bad configuration, an unknown stream, a bad timeout.
    """

    def __init__(self, consumer: Any, topics: Mapping[str, str], schemas: Sequence[EventSchema] = DEFAULT_SCHEMAS,
                 timeout: float = 0.1):
        self.schemas = schema_table(schemas)
        if not isinstance(topics, Mapping) or not topics:
            raise DataValidationError.for_parameter("topics", "expected a mapping event stream -> topic",
                                                    type(topics).__name__)
        for name in topics:
            if name not in self.schemas:
                raise DataValidationError.for_parameter("topics", f"no schema for stream {name!r}", name,
                                                        list(self.schemas))
        self.topics = {str(k): str(v) for k, v in topics.items()}
        self.streams = tuple(self.topics)
        self._by_topic = {t: n for n, t in self.topics.items()}
        self.timeout = panel.check_number("timeout", timeout, 0.0)
        self._resume: dict[tuple[str, int], int] = {}
        self.commit_failures = 0
        self.last_commit_error = ""
        if isinstance(consumer, Mapping):
            consumer = _kafka().Consumer(consumer_config(consumer))
        if not all(hasattr(consumer, m) for m in ("subscribe", "consume", "commit", "close")):
            raise DataValidationError.for_parameter("consumer", "expected a configuration or a Kafka consumer",
                                                    type(consumer).__name__)
        self.consumer = consumer
        self.consumer.subscribe(list(self.topics.values()), on_assign=self._on_assign)

    def _on_assign(self, consumer: Any, partitions: list) -> None:
        """Start each assigned partition after its checkpointed offset, when the checkpoint knows it."""
        for tp in partitions:
            mark = self._resume.get((self._by_topic.get(tp.topic, tp.topic), tp.partition))
            if mark is not None:
                tp.offset = mark + 1
        consumer.assign(partitions)

    def seek(self, offsets: Mapping[tuple[str, int], int]) -> None:
        self._resume = {k: int(v) for k, v in offsets.items() if k[0] in self.topics}

    def poll(self, max_events: int = 50_000) -> list[EventBatch]:
        max_events = panel.check_int("max_events", max_events, minimum=1)
        messages = self.consumer.consume(num_messages=max_events, timeout=self.timeout) or []
        grouped: dict[str, list] = {}
        for message in messages:
            if message.error() is not None:  # partition end and other broker notices carry no event
                continue
            grouped.setdefault(self._by_topic.get(message.topic(), ""), []).append(message)
        return [self._batch(name, msgs) for name, msgs in grouped.items() if name]

    def _batch(self, name: str, messages: list) -> EventBatch:
        now = time.time()
        payloads = [m.value() or b"" for m in messages]
        columns, errors = decode_messages(payloads, self.schemas[name])
        stamps = [m.timestamp() for m in messages]
        arrival = np.array([ts / 1000.0 if kind != 0 and ts > 0 else now for kind, ts in stamps], dtype=np.float64)
        return EventBatch(name, columns, offsets=[m.offset() for m in messages],
                          partitions=[m.partition() for m in messages], arrival=arrival, errors=errors,
                          payloads=payloads)

    def commit(self, offsets: Mapping[tuple[str, int], int]) -> None:
        """Commit ``offset + 1`` (the next message to read) of every partition the engine has applied.

        Only partitions assigned to this consumer are committed (others belong to another member
        of the group, or to none yet). A commit the broker refuses (the group rebalancing) is
        counted in ``commit_failures`` and not retried: the checkpoint, not the group, is what
        a restarted engine resumes from, and the next commit carries the offsets again.
        """
        kafka = _kafka()
        owned = {(tp.topic, tp.partition) for tp in self.consumer.assignment()} \
            if hasattr(self.consumer, "assignment") else None
        parts = [kafka.TopicPartition(self.topics[name], int(part), int(offset) + 1)
                 for (name, part), offset in offsets.items()
                 if name in self.topics and (owned is None or (self.topics[name], int(part)) in owned)]
        if parts:
            try:
                self.consumer.commit(offsets=parts, asynchronous=False)
            except kafka.KafkaException as err:
                self.commit_failures += 1
                self.last_commit_error = str(err)

    def close(self) -> None:
        self.consumer.close()


def _producer(producer: Any) -> Any:
    if isinstance(producer, Mapping):
        return _kafka().Producer(dict(producer))
    if not all(hasattr(producer, m) for m in ("produce", "flush", "poll")):
        raise DataValidationError.for_parameter("producer", "expected a configuration or a Kafka producer",
                                                type(producer).__name__)
    return producer


class KafkaSink(Sink):
    """Produces each row (an alert, a dead letter) to ``topic`` as JSON, keyed by its ``key`` column."""

    def __init__(self, producer: Any, topic: str):
        self.producer = _producer(producer)
        if not isinstance(topic, str) or not topic:
            raise DataValidationError.for_parameter("topic", "expected a topic name", topic)
        self.topic = topic

    def write(self, frame: Any) -> None:
        keys = frame["key"].astype(str).tolist() if "key" in frame.columns else [None] * len(frame)
        for key, message in zip(keys, encode_alerts(frame)):
            self.producer.produce(self.topic, value=message, key=None if key is None else key.encode())
        self.producer.poll(0)

    def close(self) -> None:
        self.producer.flush(10)


def publish(producer: Any, topic: str, frame: Any, schema: EventSchema, flush: bool = True) -> int:
    """Produce every row of ``frame`` to ``topic`` as a JSON event keyed by its series.

    Returns
    -------
    int
        Messages produced.

    Raises
    ------
    DataValidationError
        Not a producer, or a frame lacking a schema column.
    """
    producer = _producer(producer)
    messages = encode_frame(frame, schema)
    keys = frame[list(schema.keys)].astype(str).agg("|".join, axis=1).tolist() if len(frame) else []
    for i, (key, message) in enumerate(zip(keys, messages)):
        while True:
            try:
                producer.produce(topic, value=message, key=key.encode())
                break
            except BufferError:  # the local queue is full: let it drain
                producer.poll(0.05)
        if i % 10_000 == 0:
            producer.poll(0)
    if flush:
        producer.flush(30)
    return len(messages)
