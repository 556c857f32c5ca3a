"""The engine: lateness, idempotency, dead letters, checkpoints, a SIGKILL mid-stream, replay pacing, sinks."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from tests.stream_support import kill_mid_stream, orders_frame, sales_history
from toolkit.errors import DataValidationError
from toolkit.stream import (ORDERS, CallbackSink, CheckpointStore, DemandMonitor, EventBatch, MemorySink, ParquetSink,
                            ReplaySource, StreamEngine)
from toolkit.stream.buckets import BucketClock

ROOT = Path(__file__).resolve().parents[2]
HOUR = 3600 * 10**9


def _engine(**kw):
    return StreamEngine([DemandMonitor(lateness="1h").fit(sales_history())], **kw)


def _batch(frame, offsets=None, stream="orders"):
    offsets = np.arange(len(frame)) if offsets is None else offsets
    return EventBatch(stream, {c: frame[c].to_numpy() for c in frame.columns}, offsets=offsets)


def _totals(engine):
    return engine.monitors["orders"].totals().set_index(["sku", "location"]).sort_index()


def _expected_totals(orders):
    return orders.groupby(["sku", "location"])["quantity"].agg(events="size", quantity="sum").sort_index()


# ----------------------------------------------------------------------------- event time


def test_lateness_is_decided_in_arrival_order_whatever_the_batching():
    rng = np.random.default_rng(0)
    times = np.sort(rng.integers(0, 50 * HOUR, 300))
    times = times + rng.integers(-2 * HOUR, 2 * HOUR, 300)  # out of order, some beyond the lateness
    # reference: one event at a time, from the definition (watermark = largest time so far - lateness)
    day, expected, closed, running = 24 * HOUR, [], None, None
    for t in times.tolist():
        closed = t // day if closed is None else closed
        expected.append(t // day < closed)
        running = t if running is None else max(running, t)
        closed = max(closed, (running - HOUR) // day)
    for cut in (1, 7, 300):
        clock = BucketClock(24 * HOUR, HOUR)
        late = np.concatenate([clock.advance(times[i:i + cut]).late for i in range(0, 300, cut)])
        assert late.tolist() == expected, cut
    assert 0 < sum(expected) < 300


def test_out_of_order_events_within_the_lateness_are_applied_later_ones_reported():
    engine = _engine(dead_letters=(dead := MemorySink()))
    day = pd.Timestamp("2024-03-01")
    frame = pd.DataFrame({"sku": "S00", "location": "web", "quantity": 1.0,
                          "order_ts": [day + pd.Timedelta(hours=h) for h in (23.5, 23.0, 24.6, 23.9, 25.2, 23.8)]})
    engine.process(_batch(frame))
    counts = engine.counts["orders"]
    # 24.6 h closes nothing (watermark 23.6 h); 23.9 and 23.0 are within the hour; 25.2 h closes the day,
    # so the event at 23.8 h after it is late
    assert (counts["applied"], counts["late"]) == (5, 1)
    assert dead.frame()["reason"].str.startswith("late").tolist() == [True]
    assert float(_totals(engine).loc[("S00", "web"), "quantity"]) == 5.0


# ----------------------------------------------------------------------------- delivery semantics


def test_a_batch_applied_twice_changes_nothing():
    engine = _engine()
    batch = _batch(orders_frame())
    engine.process(batch)
    before = {k: v.copy() for k, v in engine.monitors["orders"].state_dict().items()}
    report = engine.process(batch)
    after = engine.monitors["orders"].state_dict()
    assert report.counts["orders"]["duplicates"] == len(batch) and report.counts["orders"]["applied"] == 0
    for name, value in before.items():
        np.testing.assert_array_equal(after[name], value, err_msg=name)


def test_partially_redelivered_batches_apply_only_new_offsets():
    orders = orders_frame()
    engine = _engine()
    engine.process(_batch(orders.iloc[:70], np.arange(70)))
    engine.process(_batch(orders.iloc[40:], np.arange(40, len(orders))))  # 40..69 again
    pd.testing.assert_frame_equal(_totals(engine)[["events", "quantity"]], _expected_totals(orders),
                                  check_dtype=False)
    assert engine.counts["orders"]["duplicates"] == 30


def test_malformed_events_are_dead_lettered_with_a_reason_and_counted():
    good = orders_frame(per_series=3)
    bad = pd.DataFrame({"sku": [None, "S01", "S01", "S02", "S03", ""],
                        "location": ["web", "web", "web", "web", "web", "web"],
                        "order_ts": [good["order_ts"][0], "not a time", good["order_ts"][0], good["order_ts"][0],
                                     good["order_ts"][0], good["order_ts"][0]],
                        "quantity": [1.0, 1.0, -2.0, "two", float("inf"), 1.0]})
    frame = pd.concat([good.astype(object), bad], ignore_index=True)
    engine = _engine(dead_letters=(dead := MemorySink()))
    engine.process(_batch(frame))
    reasons = dead.frame()["reason"].tolist()
    assert reasons == ["missing key 'sku'", "missing or unreadable time 'order_ts'", "negative value in 'quantity'",
                       "missing or non-numeric value in 'quantity'", "infinite value in 'quantity'",
                       "missing key 'sku'"]
    assert dead.frame()["offset"].tolist() == list(range(len(good), len(frame)))
    assert engine.counts["orders"] == {"received": len(frame), "duplicates": 0, "refused": 6, "late": 0,
                                       "applied": len(good)}
    unknown = engine.process(EventBatch("returns", {"sku": ["a"]}, offsets=[0]))
    assert unknown.counts["returns"]["refused"] == 1 and "no monitor" in dead.frame()["reason"].iloc[-1]


def test_results_do_not_depend_on_how_the_stream_is_cut_into_batches():
    orders = orders_frame(n_series=6, per_series=60)
    runs = []
    for size in (5, 10_000):
        alerts = MemorySink()
        engine = _engine(alerts=alerts, max_batch=size)
        engine.run(ReplaySource({"orders": orders}))
        runs.append((_totals(engine), alerts.frame()[["alert_id", "type", "event_time", "value"]]))
    pd.testing.assert_frame_equal(runs[0][0], runs[1][0])
    pd.testing.assert_frame_equal(runs[0][1].sort_values("alert_id").reset_index(drop=True),
                                  runs[1][1].sort_values("alert_id").reset_index(drop=True))


# ----------------------------------------------------------------------------- checkpoints


def test_restore_resumes_after_the_checkpointed_offsets(tmp_path):
    orders = orders_frame(n_series=6, per_series=50)
    whole = _engine()
    whole.run(ReplaySource({"orders": orders}), flush=False)
    first = _engine(checkpoint=tmp_path, max_batch=40)
    first.run(ReplaySource({"orders": orders}), max_batches=3, flush=False)
    assert CheckpointStore(tmp_path).load()[1]["offsets"] == {"orders\x1f0": 119}
    second = _engine(checkpoint=tmp_path)
    second.run(ReplaySource({"orders": orders}), resume=True, flush=False)
    pd.testing.assert_frame_equal(_totals(second), _totals(whole))
    a, b = whole.monitors["orders"].state_dict(), second.monitors["orders"].state_dict()
    for name in a:
        np.testing.assert_array_equal(a[name], b[name], err_msg=name)
    assert second.counts["orders"]["applied"] == len(orders)


def test_checkpoint_of_other_monitors_is_refused(tmp_path):
    _engine(checkpoint=tmp_path).save_checkpoint()
    from toolkit.stream import CarrierMonitor

    other = StreamEngine([CarrierMonitor()], checkpoint=tmp_path)
    with pytest.raises(DataValidationError, match="checkpoint"):
        other.restore()
    (tmp_path / "checkpoint.npz").write_bytes(b"garbage")
    with pytest.raises(DataValidationError, match="not a readable checkpoint"):
        CheckpointStore(tmp_path).load()


_RUNNER = textwrap.dedent("""
    import sys, time
    import pandas as pd
    from toolkit.stream import DemandMonitor, ReplaySource, StreamEngine
    orders = pd.read_parquet(sys.argv[1]); history = pd.read_parquet(sys.argv[2])
    engine = StreamEngine([DemandMonitor(lateness="1h").fit(history)], checkpoint=sys.argv[3],
                          checkpoint_every=0.05, max_batch=50)
    engine.listeners.append(lambda report: time.sleep(0.01))  # slow enough to be killed mid-stream
    engine.run(ReplaySource({"orders": orders}), resume=True, flush=False)
    engine.monitors["orders"].totals().to_parquet(sys.argv[4])
""")


def test_killed_mid_stream_and_restarted_every_event_counts_exactly_once(tmp_path):
    orders = orders_frame(n_series=8, per_series=400)
    orders.to_parquet(tmp_path / "orders.parquet")
    sales_history(n_series=8).to_parquet(tmp_path / "history.parquet")
    args = [sys.executable, "-c", _RUNNER, str(tmp_path / "orders.parquet"), str(tmp_path / "history.parquet"),
            str(tmp_path / "ckpt"), str(tmp_path / "totals.parquet")]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    applied_at_kill = kill_mid_stream(args, env, CheckpointStore(tmp_path / "ckpt"), applied=600)
    assert 0 < applied_at_kill < len(orders) and not (tmp_path / "totals.parquet").exists()
    assert subprocess.run(args, env=env, timeout=300).returncode == 0
    totals = pd.read_parquet(tmp_path / "totals.parquet").set_index(["sku", "location"]).sort_index()
    pd.testing.assert_frame_equal(totals[["events", "quantity"]], _expected_totals(orders), check_dtype=False)


# ----------------------------------------------------------------------------- replay and sinks


def test_replay_paced_by_rate_does_not_run_ahead():
    orders = orders_frame(n_series=2, per_series=50)
    source = ReplaySource({"orders": orders}, rate=500.0)
    start = time.time()
    got, arrival = 0, np.full(100, np.nan)
    while not source.exhausted:
        for batch in source.poll(1000):
            got += len(batch)
            assert batch.arrival.max() <= time.time() + 1e-3
            arrival[batch.offsets] = batch.arrival
    assert got == 100 and time.time() - start >= 99 / 500.0
    # each event arrives at its own scheduled time, i / rate after the first, however the polls cut them
    np.testing.assert_allclose(arrival - arrival[0], np.arange(100) / 500.0, rtol=0, atol=1e-6)


def test_replay_paced_by_speedup_stamps_event_time_over_speedup_and_full_speed_the_read_time():
    orders = pd.DataFrame({"sku": "S00", "location": "web", "quantity": 1.0,
                           "order_ts": pd.Timestamp("2024-03-01") + pd.to_timedelta([0.0, 1.0, 1.5, 4.0], unit="s")})
    source = ReplaySource({"orders": orders}, speedup=100.0)
    arrival = np.full(4, np.nan)
    while not source.exhausted:
        for batch in source.poll(1000):
            arrival[batch.offsets] = batch.arrival
    np.testing.assert_allclose(arrival - arrival[0], [0.0, 0.01, 0.015, 0.04], rtol=0, atol=1e-6)
    before = time.time()
    (batch,) = ReplaySource({"orders": orders}).poll(1000)
    assert len(batch) == 4 and np.all(batch.arrival == batch.arrival[0]) and before <= batch.arrival[0] <= time.time()


def test_replay_orders_by_arrival_column_and_resumes_after_offsets():
    orders = orders_frame(n_series=1, per_series=5)
    orders["arrival_ts"] = orders["order_ts"] + pd.to_timedelta([50, 0, 0, 0, 0], unit="min")
    source = ReplaySource({"orders": orders}, arrival_col="arrival_ts")
    (batch,) = source.poll(100)
    expected = orders.sort_values("arrival_ts", kind="stable")["order_ts"].to_numpy()
    assert not (expected == orders["order_ts"].to_numpy()).all()  # the arrival column reorders these rows
    assert batch.columns["order_ts"].tolist() == expected.tolist()
    source.seek({("orders", 0): 2})
    assert [len(b) for b in source.poll(100)] == [2]
    with pytest.raises(DataValidationError, match="rate"):
        ReplaySource({"orders": orders}, speedup=10, rate=10)
    with pytest.raises(DataValidationError, match="quantity"):
        ReplaySource({"orders": orders.drop(columns="quantity")})


def test_alert_sinks_parquet_and_callback(tmp_path):
    seen = []
    engine = StreamEngine([DemandMonitor().fit(sales_history(n_series=2))],
                          alerts=[ParquetSink(tmp_path / "alerts"), CallbackSink(seen.append), (memory := MemorySink())])
    orders = orders_frame(n_series=2, per_series=200)  # ~400 units a day against ~20: both spike
    engine.run(ReplaySource({"orders": orders}))
    stored = pd.read_parquet(tmp_path / "alerts")
    assert len(stored) == len(memory) == sum(len(f) for f in seen) >= 2
    assert set(stored["alert_id"]) == set(memory.frame()["alert_id"])
    assert (stored["latency_s"] >= 0).all() and stored["detected_at"].notna().all()


def test_engine_refuses_what_it_cannot_use(tmp_path):
    with pytest.raises(DataValidationError, match="monitors"):
        StreamEngine([])
    with pytest.raises(DataValidationError, match="monitors"):
        StreamEngine([DemandMonitor(), DemandMonitor()])
    with pytest.raises(DataValidationError, match="alerts"):
        StreamEngine([DemandMonitor()], alerts=42)
    with pytest.raises(DataValidationError, match="source"):
        StreamEngine([DemandMonitor()]).run(orders_frame())
    with pytest.raises(DataValidationError, match="checkpoint"):
        StreamEngine([DemandMonitor()]).save_checkpoint()
    with pytest.raises(DataValidationError, match="batches"):
        StreamEngine([DemandMonitor()]).process([orders_frame()])


@pytest.mark.parametrize("name", ["alerts", "buckets", "checkpoint", "codec", "demand", "engine", "inventory", "keys",
                                  "lanes", "schema", "scenario", "sinks", "sources", "windows", "redis_io", "kafka_io"])
def test_module_examples_run(name):
    import doctest
    import importlib

    module = importlib.import_module(f"toolkit.stream.{name}")
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    assert result.failed == 0
