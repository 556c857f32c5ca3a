"""The Redis and Kafka adapters without a broker: fake clients that record calls and return hand-made entries.

The broker tests (tests/unit/test_stream_brokers.py, marked slow) check the adapters against a real
redis-server and librdkafka's mock cluster; these check, fast and in mutation testing's selection,
what the adapters compute on their own: entry ids -> offsets and arrivals (bytes or text ids),
pacing, event-time interleaving, message keys and payloads, and the messages of refused arguments.
"""

from __future__ import annotations

import json
import time

import numpy as np
import pandas as pd
import pytest

from toolkit.errors import DataValidationError
from toolkit.stream.kafka_io import KafkaSource, consumer_config
from toolkit.stream.kafka_io import publish as kafka_publish
from toolkit.stream.redis_io import RedisStreamSource, publish, publish_streams
from toolkit.stream.schema import INVENTORY, ORDERS


class FakePipeline:
    def __init__(self, client):
        self.client, self.queued = client, []

    def xadd(self, key, fields, **kw):
        self.queued.append((key, fields))

    def execute(self):
        self.client.added += [(time.time(), *q) for q in self.queued]
        self.queued = []


class FakeRedis:
    """What the adapters call on a ``redis.Redis``; ``replies`` are returned by successive ``xreadgroup``."""

    def __init__(self, replies=()):
        self.replies, self.added, self.reads = list(replies), [], []

    def xgroup_create(self, key, group, id="0", mkstream=False):
        pass

    def xreadgroup(self, group, consumer, streams, count=None, block=None):
        self.reads.append(dict(streams))
        return self.replies.pop(0) if self.replies else []

    def xack(self, key, group, *ids):
        pass

    def xadd(self, key, fields, **kw):
        self.added.append((time.time(), key, fields))

    def pipeline(self, transaction=False):
        return FakePipeline(self)

    def close(self):
        pass


def _order(sku, hour, quantity):
    return {"sku": sku, "location": "web", "order_ts": f"2024-03-01T{hour:02d}:00:00", "quantity": quantity}


@pytest.mark.parametrize("text", [False, True], ids=["bytes", "decode_responses"])
def test_redis_source_turns_entry_ids_into_offsets_and_arrivals(text):
    entries = [("1700000000000-3", _order("a", 10, 2)), ("1700000000250-0", _order("b", 11, 1)),
               ("1700000001000-1048575", _order("a", 12, 4))]
    if text:  # a client made with decode_responses=True hands back text ids and fields
        reply = [["shop:orders", [(i, {"e": json.dumps(e)}) for i, e in entries]]]
    else:
        reply = [[b"shop:orders", [(i.encode(), {b"e": json.dumps(e).encode()}) for i, e in entries]]]
    client = FakeRedis([reply])
    source = RedisStreamSource(client, {"orders": "shop:orders"}, group="g", consumer="c")
    (batch,) = source.poll(100)
    assert client.reads == [{"shop:orders": b"0"}]  # the consumer's pending entries are read first
    # <ms>-<seq> -> ms * 2**20 + seq; arrival: the ms part in seconds
    assert batch.offsets.tolist() == [1700000000000 * 2**20 + 3, 1700000000250 * 2**20, 1700000001000 * 2**20 + 2**20 - 1]
    np.testing.assert_allclose(batch.arrival, [1700000000.0, 1700000000.25, 1700000001.0], rtol=0, atol=1e-6)
    assert batch.columns["sku"].tolist() == ["a", "b", "a"] and batch.columns["quantity"].tolist() == [2, 1, 4]
    assert batch.stream == "orders" and not batch.errors


def _orders(n):
    return pd.DataFrame({"sku": [f"s{i}" for i in range(n)], "location": "web", "quantity": np.arange(n, dtype=float),
                         "order_ts": pd.Timestamp("2024-03-01") + pd.to_timedelta(np.arange(n), unit="min")})


def test_redis_publish_paces_the_writes_at_the_rate():
    client = FakeRedis()
    start = time.time()
    assert publish(client, "k", _orders(5), ORDERS, chunk=1, rate=50.0) == 5
    stamps = np.array([a[0] for a in client.added]) - start
    # the i-th event is written no earlier than i / rate after the start
    assert np.all(stamps >= np.arange(5) / 50.0 - 1e-3)
    assert [a[1] for a in client.added] == ["k"] * 5
    assert [json.loads(a[2][b"e"])["sku"] for a in client.added] == [f"s{i}" for i in range(5)]


def test_redis_publish_streams_interleaves_in_event_time_and_refuses_a_rate_that_is_not_positive():
    orders = _orders(3)
    counts = pd.DataFrame({"sku": "s0", "warehouse": "W1", "ts": pd.Timestamp("2024-03-01 00:01:30"),
                           "on_hand": [5.0], "on_order": 0.0, "receipts": 0.0, "units_sold": 1.0})
    client = FakeRedis()
    assert publish_streams(client, {"o": (orders, ORDERS), "i": (counts, INVENTORY)}, chunk=2) == 4
    assert [a[1] for a in client.added] == ["o", "o", "i", "o"]  # 00:00, 00:01, 00:01:30, 00:02
    for rate in (0, -5.0):
        with pytest.raises(DataValidationError, match=r"parameter 'rate': must be > 0"):
            publish_streams(FakeRedis(), {"o": (orders, ORDERS)}, rate=rate)


class FakeProducer:
    def __init__(self):
        self.produced, self.flushed = [], False

    def produce(self, topic, value=None, key=None):
        self.produced.append((topic, value, key))

    def poll(self, timeout=0):
        return 0

    def flush(self, timeout=None):
        self.flushed = True
        return 0


def test_kafka_publish_keys_each_event_by_its_series():
    producer = FakeProducer()
    frame = _orders(3).assign(location=["web", "store", "web"])
    assert kafka_publish(producer, "shop.orders", frame, ORDERS) == 3 and producer.flushed
    assert [p[0] for p in producer.produced] == ["shop.orders"] * 3
    assert [p[2] for p in producer.produced] == [b"s0|web", b"s1|store", b"s2|web"]
    values = [json.loads(p[1]) for p in producer.produced]
    assert [(v["sku"], v["location"], v["quantity"]) for v in values] == [("s0", "web", 0.0), ("s1", "store", 1.0),
                                                                           ("s2", "web", 2.0)]


def test_kafka_arguments_of_the_wrong_type_are_named_in_the_message():
    with pytest.raises(DataValidationError, match=r"parameter 'config'.*got 'list'"):
        consumer_config([("group.id", "g")])
    with pytest.raises(DataValidationError, match=r"parameter 'topics'.*got 'list'"):
        KafkaSource(object(), ["orders"])
