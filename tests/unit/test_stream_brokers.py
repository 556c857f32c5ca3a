"""Real brokers: a redis-server started per test on loopback, and librdkafka's mock Kafka cluster.

Each checks the adapter end to end -- events in, every one counted once in the state (pandas
groupby as the reference), acknowledgements and offset commits only once durable, restarts
that resume where the checkpoint left off -- plus the message codec on its own.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from tests.stream_support import kafka_cluster, kill_mid_stream, orders_frame, redis_server, sales_history
from toolkit.errors import DataValidationError
from toolkit.stream import ORDERS, CheckpointStore, DemandMonitor, MemorySink, StreamEngine
from toolkit.stream.codec import decode_messages, encode_frame

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.slow


def _expected(orders):
    return orders.groupby(["sku", "location"])["quantity"].agg(events="size", quantity="sum").sort_index()


def _totals(engine):
    return engine.monitors["orders"].totals().set_index(["sku", "location"]).sort_index()[["events", "quantity"]]


def _drain(engine, source, total, timeout=60.0):
    deadline = time.time() + timeout
    while engine.counts.get("orders", {}).get("applied", 0) + engine.counts.get("orders", {}).get("refused", 0) \
            < total and time.time() < deadline:
        engine.run(source, duration=0.3)


# ----------------------------------------------------------------------------- codec


def test_codec_round_trip_and_bad_messages():
    orders = orders_frame(n_series=3, per_series=4)
    columns, errors = decode_messages(encode_frame(orders, ORDERS), ORDERS)
    assert errors == {}
    assert columns["sku"].tolist() == orders["sku"].tolist()
    assert pd.to_datetime(pd.Series(columns["order_ts"])).tolist() == orders["order_ts"].tolist()
    assert columns["quantity"].astype(float).tolist() == orders["quantity"].tolist()
    columns, errors = decode_messages([b"[1, 2]", b"{not json", b'{"sku": "a"}'], ORDERS)
    assert errors == {0: "not a JSON object", 1: "not JSON"} and columns["location"][2] is None
    with pytest.raises(DataValidationError, match="quantity"):
        encode_frame(orders.drop(columns="quantity"), ORDERS)


# ----------------------------------------------------------------------------- Redis


def test_redis_source_counts_every_event_once_and_acks_only_checkpointed_entries(tmp_path):
    import redis

    from toolkit.stream.redis_io import RedisStreamSink, RedisStreamSource, publish

    with redis_server() as port:
        client = redis.Redis(port=port)
        orders = orders_frame(n_series=5, per_series=200)
        assert publish(client, "orders", orders, ORDERS, chunk=300) == len(orders)
        client.xadd("orders", {b"e": b"{broken"})
        client.xadd("orders", {b"e": json.dumps({"sku": "S00", "location": "web"}).encode()})
        engine = StreamEngine([DemandMonitor().fit(sales_history(n_series=5))], checkpoint=tmp_path,
                              checkpoint_every=3600, alerts=[(alerts := MemorySink()), RedisStreamSink(client, "alerts")],
                              dead_letters=(dead := MemorySink()), max_batch=250)
        source = RedisStreamSource(client, {"orders": "orders"}, group="g", consumer="c1", block_ms=20)
        for _ in range(10):  # the first poll reads this consumer's (empty) pending list
            if engine.counts["orders"]["applied"] < 1000:
                engine.process(source.poll(250))
        # processed, but not yet in a checkpoint: nothing is acknowledged
        assert client.xpending("orders", "g")["pending"] == 1000 and engine.counts["orders"]["applied"] == 1000
        engine.save_checkpoint(source)
        assert client.xpending("orders", "g")["pending"] == 0
        _drain(engine, source, len(orders) + 2)
        assert client.xpending("orders", "g")["pending"] == 0  # the checkpoint at the end of run() acknowledged
        pd.testing.assert_frame_equal(_totals(engine), _expected(orders), check_dtype=False)
        assert sorted(dead.frame()["reason"]) == ["missing or unreadable time 'order_ts'", "not JSON"]
        stored = [json.loads(fields[b"e"]) for _, fields in client.xrange("alerts")]
        assert {a["alert_id"] for a in stored} == set(alerts.frame()["alert_id"]) and stored
        # entry ids become offsets and the entry time the arrival
        assert max(engine.offsets.values()) >> 20 == int(client.xinfo_stream("orders")["last-generated-id"]
                                                         .split(b"-")[0])
        client.close()


_REDIS_RUNNER = textwrap.dedent("""
    import sys, time
    import pandas as pd, redis
    from toolkit.stream import DemandMonitor, StreamEngine
    from toolkit.stream.redis_io import RedisStreamSource
    port, history, ckpt, out, total = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4], int(sys.argv[5])
    client = redis.Redis(port=int(port))
    engine = StreamEngine([DemandMonitor().fit(pd.read_parquet(history))], checkpoint=ckpt, checkpoint_every=0.05,
                          max_batch=50)
    engine.listeners.append(lambda report: time.sleep(0.01))  # slow enough to be killed mid-stream
    source = RedisStreamSource(client, {"orders": "orders"}, group="g", consumer="engine-1", block_ms=20)
    engine.restore()
    deadline = time.time() + 120
    while engine.counts.get("orders", {}).get("applied", 0) < total and time.time() < deadline:
        engine.run(source, duration=0.2)
    engine.monitors["orders"].totals().to_parquet(out)
""")


def test_redis_engine_killed_mid_stream_resumes_with_every_event_counted_once(tmp_path):
    import redis

    from toolkit.stream.redis_io import publish

    with redis_server() as port:
        client = redis.Redis(port=port)
        orders = orders_frame(n_series=8, per_series=300)
        publish(client, "orders", orders, ORDERS)
        sales_history(n_series=8).to_parquet(tmp_path / "history.parquet")
        args = [sys.executable, "-c", _REDIS_RUNNER, str(port), str(tmp_path / "history.parquet"),
                str(tmp_path / "ckpt"), str(tmp_path / "totals.parquet"), str(len(orders))]
        env = {**os.environ, "PYTHONPATH": str(ROOT)}
        at_kill = kill_mid_stream(args, env, CheckpointStore(tmp_path / "ckpt"), applied=500)
        pending = client.xpending("orders", "g")["pending"]
        assert 0 < at_kill < len(orders) and pending > 0  # delivered entries were not yet durable
        assert subprocess.run(args, env=env, timeout=300).returncode == 0
        totals = pd.read_parquet(tmp_path / "totals.parquet").set_index(["sku", "location"]).sort_index()
        pd.testing.assert_frame_equal(totals[["events", "quantity"]], _expected(orders), check_dtype=False)
        assert client.xpending("orders", "g")["pending"] == 0
        client.close()


def test_redis_adapters_refuse_bad_arguments():
    from toolkit.stream.redis_io import RedisStreamSource, entry_offset

    with pytest.raises(DataValidationError, match="client"):
        RedisStreamSource(object(), {"orders": "orders"})
    with pytest.raises(DataValidationError, match="entry_id"):
        entry_offset(b"17-2000000")
    assert entry_offset("5-1") == 5 * 2**20 + 1


# ----------------------------------------------------------------------------- Kafka


def _kafka_engine(tmp_path, history):
    return StreamEngine([DemandMonitor().fit(history)], checkpoint=tmp_path, checkpoint_every=3600, max_batch=300)


def test_kafka_source_against_a_kafka_protocol_broker_commits_and_resumes(tmp_path):
    import confluent_kafka

    from toolkit.stream.kafka_io import KafkaSink, KafkaSource, publish

    with kafka_cluster() as servers:
        orders = orders_frame(n_series=6, per_series=150)
        assert publish({"bootstrap.servers": servers}, "orders", orders, ORDERS) == len(orders)
        history = sales_history(n_series=6)
        config = {"bootstrap.servers": servers, "group.id": "engines", "session.timeout.ms": 6000}
        first = _kafka_engine(tmp_path, history)
        first.alert_sinks.append(KafkaSink({"bootstrap.servers": servers}, "alerts"))
        source = KafkaSource(config, {"orders": "orders"}, timeout=0.5)
        deadline = time.time() + 60
        while first.counts.get("orders", {}).get("applied", 0) < 400 and time.time() < deadline:
            first.run(source, max_batches=1)
        assert 0 < first.counts["orders"]["applied"] < len(orders)
        first.save_checkpoint(source)  # offsets committed now
        committed = source.consumer.committed([confluent_kafka.TopicPartition("orders", p)
                                               for p in {p for (_, p) in first.offsets}], timeout=10)
        assert {(tp.partition, tp.offset - 1) for tp in committed} == {(p, o) for (_, p), o in first.offsets.items()}
        source.close()
        # a new engine restores the checkpoint and continues with a new consumer of the group
        second = _kafka_engine(tmp_path, history)
        second.restore()
        source = KafkaSource(config, {"orders": "orders"}, timeout=0.5)
        source.seek(second.offsets)
        _drain(second, source, len(orders))
        pd.testing.assert_frame_equal(_totals(second), _expected(orders), check_dtype=False)
        assert second.counts["orders"]["applied"] == len(orders)
        source.close()
        first.alert_sinks[-1].close()


def test_kafka_adapters_refuse_bad_arguments():
    from toolkit.stream.kafka_io import KafkaSource, consumer_config

    with pytest.raises(DataValidationError, match="group.id"):
        consumer_config({"bootstrap.servers": "localhost:1"})
    with pytest.raises(DataValidationError, match="topics"):
        KafkaSource({"group.id": "g"}, {"returns": "r"})
    with pytest.raises(DataValidationError, match="consumer"):
        KafkaSource(object(), {"orders": "o"})
