"""Benchmark toolkit.stream: events per second and event-to-alert latency, replay and Redis, vs batch recompute.

1. **Replay** of the generated supply chain (``make_retail``: ``--skus`` x ``--locations`` demand
   series, ``--days`` replayed days of order lines, stock counts and deliveries; the monitors
   warmed on the days before), paced at each of ``--rates`` events per second and at full speed:
   the rate the engine sustained (events / wall time), the latency from each event's scheduled
   arrival to the end of the micro-batch that applied it (p50 / p99 / max), the same for the
   alerts, and the share of the time the engine was busy. A rate the engine cannot sustain
   shows as latency that keeps growing (the backlog).
2. **Redis**: a ``redis-server`` on loopback (the Debian package; skipped without it), a
   producer process adding the replay's events (one JSON entry per event, three streams
   interleaved in time) at each of ``--redis-rates`` (pipelined ``XADD``), the engine reading
   through a consumer group; latency from the entry's ``XADD`` time. Then the drain rate of a
   backlog of every event. Producer, server and engine share the machine's cores.
3. **Batch recompute**: what it costs to refresh the same state from scratch -- every
   feature of the spec on the whole history (``build_features``) and the robust baselines of
   every series -- against the incremental cost of one micro-batch and of one closed bucket.
4. **GPU**: the incremental window state on CuPy against NumPy, when a GPU is usable.

Run (the 2 cores are shared; take the lock)::

    flock /tmp/bench.lock .venv/bin/python benchmarks/bench_stream.py
"""

from __future__ import annotations

import argparse
import copy
import os
import shutil
import subprocess
import sys
import tempfile
import time
import warnings

import numpy as np

warnings.filterwarnings("ignore", category=RuntimeWarning)

_PRODUCER = """
import sys, pandas as pd, redis
from toolkit.stream.redis_io import publish_streams
from toolkit.stream.schema import INVENTORY, ORDERS, SHIPMENTS
client = redis.Redis(port=int(sys.argv[1]))
streams = {name: (pd.read_parquet(f"{sys.argv[2]}/{name}.parquet"), schema)
           for name, schema in (("orders", ORDERS), ("inventory", INVENTORY), ("shipments", SHIPMENTS))}
rate = float(sys.argv[3])
publish_streams(client, streams, chunk=max(50, int(rate / 100)), rate=None if rate <= 0 else rate)
"""
_KEYS = {"orders": "orders", "inventory": "inventory", "shipments": "shipments"}


def _ms(seconds: float) -> str:
    return f"{seconds * 1e3:8.1f}"


def _line(label: str, report) -> str:
    lat, alat = report.latency, report.alert_latency
    return (f"{label:>14s}  {report.events:>8,d} events  {report.events_per_second:>10,.0f} ev/s  "
            f"busy {report.busy_seconds / report.seconds:4.0%}  latency p50 {_ms(lat['p50'])} ms  p99 "
            f"{_ms(lat['p99'])} ms  max {_ms(lat['max'])} ms  |  {report.alerts:>5,d} alerts  p50 "
            f"{_ms(alat['p50'])} ms  p99 {_ms(alat['p99'])} ms  ({report.batches} batches)")


def build(skus: int, locations: int, days: int, history: int):
    from toolkit.datasets import make_retail
    from toolkit.stream.scenario import retail_scenario, warm_monitors

    t = time.perf_counter()
    data = make_retail(n_skus=skus, n_locations=locations, n_days=history + days + 1, seed=0, progress=False)
    scenario = retail_scenario(data, days=days, seed=0, malformed=0, late=0, spikes=50, drops=20, shrinks=20)
    monitors = warm_monitors(scenario)
    print(f"data: {len(data.sales):,} sales rows, {monitors[0].registry.n:,} demand series, "
          f"{monitors[1].registry.n:,} stock series, {monitors[2].registry.n} lanes; replay of {days} days = "
          + ", ".join(f"{len(v):,} {k}" for k, v in scenario.events.items())
          + f" ({time.perf_counter() - t:.1f} s to generate and warm)")
    return data, scenario, monitors


def bench_replay(scenario, monitors, rates: list[float], max_batch: int) -> None:
    from toolkit.stream import MemorySink, ReplaySource, StreamEngine

    print(f"== replay, {scenario.n_events:,} events, max_batch {max_batch:,} ==")
    for rate in [*rates, None]:
        engine = StreamEngine(copy.deepcopy(monitors), alerts=MemorySink(), max_batch=max_batch)
        report = engine.run(ReplaySource(scenario.events, rate=rate), flush=False)
        print(_line("full speed" if rate is None else f"{rate:,.0f}/s", report), flush=True)


def _redis_server():
    binary = shutil.which("redis-server")
    if binary is None:
        return None, None, None
    from tests.stream_support import free_port

    workdir = tempfile.mkdtemp(prefix="bench-redis-")
    port = free_port()
    proc = subprocess.Popen([binary, "--bind", "127.0.0.1", "--port", str(port), "--dir", workdir, "--save", "",
                             "--appendonly", "no"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return proc, port, workdir


def _first_events(scenario, n: int) -> dict:
    """The first ``n`` events of the replay (every stream, in event-time order)."""
    import pandas as pd

    cols = {"orders": "order_ts", "inventory": "ts", "shipments": "delivered_ts"}
    stamps = pd.concat([f[cols[k]].rename("t") for k, f in scenario.events.items()]).sort_values()
    cut = stamps.iloc[min(n, len(stamps)) - 1]
    return {k: f[f[cols[k]] <= cut].drop(columns=["arrival_ts"], errors="ignore").reset_index(drop=True)
            for k, f in scenario.events.items()}


def _consume(client, monitors, group: str, total: int, limit: float):
    from toolkit.stream import MemorySink, StreamEngine
    from toolkit.stream.redis_io import RedisStreamSource

    engine = StreamEngine(copy.deepcopy(monitors), alerts=MemorySink(), max_batch=20_000)
    source = RedisStreamSource(client, _KEYS, group=group, consumer="bench", block_ms=20)
    while sum(client.xlen(k) for k in _KEYS.values()) == 0:  # the clock starts with the first event
        time.sleep(0.01)
    start = time.time()
    reports = []
    while sum(engine.counts.get(k, {}).get("applied", 0) + engine.counts.get(k, {}).get("late", 0)
              for k in _KEYS) < total and time.time() - start < limit:
        reports.append(engine.run(source, duration=1.0, flush=False))
    return reports, time.time() - start


def bench_redis(scenario, monitors, rates: list[float], seconds: float) -> None:
    import redis

    proc, port, workdir = _redis_server()
    if proc is None:
        print("== Redis: skipped (redis-server is not installed; Debian package redis-server) ==")
        return
    try:
        client = redis.Redis(port=port)
        for _ in range(200):
            try:
                client.ping()
                break
            except redis.ConnectionError:
                time.sleep(0.05)
        print("== Redis streams (orders, counts and deliveries, one JSON entry per event, XADD pipelined by a "
              "producer process; producer, redis-server and engine share the cores) ==")
        for rate in [*rates, 0.0]:
            n = scenario.n_events if rate <= 0 else min(scenario.n_events, int(rate * seconds))
            events = _first_events(scenario, n)
            for name, frame in events.items():
                frame.to_parquet(os.path.join(workdir, f"{name}.parquet"))
            total = sum(len(f) for f in events.values())
            client.delete(*_KEYS.values())
            if rate <= 0:  # a backlog: everything published first, then drained
                subprocess.run([sys.executable, "-c", _PRODUCER, str(port), workdir, "0"], check=True,
                               env={**os.environ, "PYTHONPATH": os.getcwd()})
            producer = None if rate <= 0 else subprocess.Popen(
                [sys.executable, "-c", _PRODUCER, str(port), workdir, str(rate)],
                env={**os.environ, "PYTHONPATH": os.getcwd()})
            reports, elapsed = _consume(client, monitors, f"g{rate:.0f}", total, seconds * 4 + 60)
            if producer is not None:
                producer.wait()
                _print_merged(f"{rate:,.0f}/s", reports, elapsed)
            else:
                print(f"{'backlog drain':>14s}  {total:>8,d} events  {total / elapsed:>10,.0f} ev/s  (latency is "
                      "the time spent queued: not a latency figure)", flush=True)
        client.close()
    finally:
        proc.terminate()
        proc.wait(timeout=10)
        shutil.rmtree(workdir, ignore_errors=True)


def _print_merged(label: str, reports: list, elapsed: float) -> None:
    events = sum(r.events for r in reports)
    busy = sum(r.busy_seconds for r in reports)
    p99 = max((r.latency["p99"] for r in reports if r.latency["n"]), default=float("nan"))
    p50 = np.median([r.latency["p50"] for r in reports if r.latency["n"]]) if reports else float("nan")
    worst = max((r.latency["max"] for r in reports if r.latency["n"]), default=float("nan"))
    alerts = sum(r.alerts for r in reports)
    ap99 = max((r.alert_latency["p99"] for r in reports if r.alert_latency["n"]), default=float("nan"))
    print(f"{label:>14s}  {events:>8,d} events  {events / elapsed:>10,.0f} ev/s  busy {busy / elapsed:4.0%}  "
          f"latency p50 {_ms(p50)} ms  p99 {_ms(p99)} ms  max {_ms(worst)} ms  |  {alerts:>5,d} alerts  "
          f"p99 {_ms(ap99)} ms   (p99: worst of the 1 s windows)", flush=True)


def bench_batch(data, scenario, monitors) -> None:
    import pandas as pd

    from toolkit.anomaly.rules import robust_scale
    from toolkit.features import build_features
    from toolkit.panel import SeriesLayout
    from toolkit.stream import MemorySink, ReplaySource, StreamEngine

    demand = monitors[0]
    spec = demand.windows.spec
    history = scenario.history["sales"][["sku", "location", "date", "units"]]
    print(f"== batch recompute vs incremental, {demand.registry.n:,} series x "
          f"{history['date'].nunique()} days of history ==")
    t = time.perf_counter()
    feats = build_features(history, spec)
    t_feat = time.perf_counter() - t
    t = time.perf_counter()
    layout = SeriesLayout.from_frame(history, ["sku", "location"], "date")
    tail = layout.tail(demand.baseline_window)
    values = np.sqrt(np.maximum(history["units"].to_numpy(dtype=float)[tail.order], 0))
    robust_scale(values.reshape(-1, 1), tail.bounds)
    t_base = time.perf_counter() - t
    print(f"batch: build_features on the whole history {t_feat * 1e3:8.1f} ms ({len(feats):,} rows) + robust "
          f"baselines {t_base * 1e3:6.1f} ms = {(t_feat + t_base) * 1e3:8.1f} ms per refresh")
    copies = copy.deepcopy(monitors)
    engine = StreamEngine(copies, alerts=MemorySink(), max_batch=10_000)
    orders = scenario.events["orders"]
    first_day = orders[orders["order_ts"] < scenario.start + pd.Timedelta(hours=20)]
    report = engine.run(ReplaySource({"orders": first_day}), flush=False)
    per_batch = report.busy_seconds / max(report.batches, 1)
    print(f"incremental: {report.busy_seconds / report.events * 1e6:6.2f} us per event; {per_batch * 1e3:6.1f} ms per "
          f"micro-batch of {report.events / max(report.batches, 1):,.0f} events (features, baselines and forecasts "
          "move only when a bucket closes)")
    closing = copies[0]
    bucket = closing.clock.closed
    t = time.perf_counter()
    closing.close_bucket(bucket, arrival=time.time())
    t_close = time.perf_counter() - t
    print(f"incremental: closing one bucket for every series (features, baselines, forecasts) {t_close * 1e3:6.1f} ms "
          f"-> {(t_feat + t_base) / t_close:5.1f}x cheaper than the batch refresh")


def bench_gpu(monitors) -> None:
    from toolkit import backend

    if not backend.gpu_available():
        print("== GPU: skipped (no usable GPU) ==")
        return
    import cupy as cp

    from toolkit.stream.windows import IncrementalWindows

    spec = monitors[0].windows.spec
    n = 1_000_000
    rng = np.random.default_rng(0)
    rows = rng.poisson(5, (40, n)).astype(float)
    print(f"== GPU: incremental window state, {n:,} series, one bucket appended per step ==")
    for name, xp in (("numpy", np), ("cupy", cp)):
        win = IncrementalWindows(spec, capacity=n, history=28, xp=xp)
        slots = xp.arange(n)
        for r in rows[:30]:
            win.append(slots, xp.asarray(r))
        if xp is cp:
            cp.cuda.Device().synchronize()
        t = time.perf_counter()
        for r in rows[30:]:
            win.append(slots, xp.asarray(r))
            win.features(slots)
        if xp is cp:
            cp.cuda.Device().synchronize()
        print(f"{name:6s} {(time.perf_counter() - t) / 10 * 1e3:8.1f} ms per append + features")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--skus", type=int, default=1000)
    parser.add_argument("--locations", type=int, default=10)
    parser.add_argument("--days", type=int, default=20, help="replayed days")
    parser.add_argument("--history", type=int, default=100, help="days of history before them")
    parser.add_argument("--rates", type=float, nargs="*", default=[25_000, 50_000, 100_000, 150_000, 200_000])
    parser.add_argument("--redis-rates", type=float, nargs="*", default=[10_000, 25_000, 50_000])
    parser.add_argument("--redis-seconds", type=float, default=6.0)
    parser.add_argument("--max-batch", type=int, default=50_000)
    parser.add_argument("--skip", nargs="*", default=[], choices=["replay", "redis", "batch", "gpu"])
    args = parser.parse_args()
    data, scenario, monitors = build(args.skus, args.locations, args.days, args.history)
    if "replay" not in args.skip:
        bench_replay(scenario, monitors, args.rates, args.max_batch)
    if "redis" not in args.skip:
        bench_redis(scenario, monitors, args.redis_rates, args.redis_seconds)
    if "batch" not in args.skip:
        bench_batch(data, scenario, monitors)
    if "gpu" not in args.skip:
        bench_gpu(monitors)


if __name__ == "__main__":
    sys.path.insert(0, os.getcwd())
    main()
