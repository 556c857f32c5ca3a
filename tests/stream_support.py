"""Test support for toolkit.stream: a real Redis server and a Kafka-protocol broker on loopback, small data.

* :func:`redis_server` starts ``redis-server`` (the Debian package; ``make test`` installs it
  when missing) on a free loopback port with a temporary directory, no persistence, and stops
  it when the test ends, failed or not. Without the binary the test is skipped -- except under
  CI (``CI`` set), where a missing server is a failure, so a broken install step cannot hide.
* :func:`kafka_cluster` starts the mock Kafka cluster built into librdkafka (shipped inside the
  ``confluent-kafka`` wheel): an in-process broker speaking the Kafka protocol on a loopback
  port, with topics, partitions, consumer groups and committed offsets. No Kafka broker is
  installable from the registries this project can reach (PyPI, Debian, npm), so this is the
  broker the Kafka adapter is tested against.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from contextlib import contextmanager
from typing import Iterator

import numpy as np
import pandas as pd
import pytest


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def redis_server() -> Iterator[int]:
    """A ``redis-server`` on 127.0.0.1:<free port>; yields the port and stops the server on exit."""
    binary = shutil.which("redis-server")
    if binary is None:
        if os.environ.get("CI"):
            pytest.fail("redis-server is not installed (make test installs the Debian package redis-server)")
        pytest.skip("redis-server is not installed (Debian package redis-server)")
    workdir = tempfile.mkdtemp(prefix="toolkit-redis-")
    port = free_port()
    proc = subprocess.Popen([binary, "--bind", "127.0.0.1", "--port", str(port), "--dir", workdir, "--save", "",
                             "--appendonly", "no", "--protected-mode", "yes", "--loglevel", "warning"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        import redis

        client = redis.Redis(host="127.0.0.1", port=port)
        deadline = time.time() + 10
        while True:
            try:
                client.ping()
                break
            except redis.ConnectionError:
                if proc.poll() is not None or time.time() > deadline:
                    raise RuntimeError(f"redis-server did not start on port {port}") from None
                time.sleep(0.05)
        client.close()
        yield port
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        shutil.rmtree(workdir, ignore_errors=True)


@contextmanager
def kafka_cluster(partitions: int = 2) -> Iterator[str]:
    """librdkafka's mock Kafka cluster on loopback; yields ``bootstrap.servers`` and stops it on exit."""
    confluent_kafka = pytest.importorskip("confluent_kafka")
    owner = confluent_kafka.Producer({"test.mock.num.brokers": 1, "log_level": 0,
                                      "topic.metadata.refresh.interval.ms": 200})
    try:
        brokers = owner.list_topics(timeout=10).brokers
        broker = next(iter(brokers.values()))
        yield f"{broker.host}:{broker.port}"
    finally:
        owner.flush(5)
        del owner


def kill_mid_stream(args: list, env: dict, store, applied: int, timeout: float = 120.0) -> int:
    """Start ``args`` (an engine run), SIGKILL it once its checkpoint holds ``applied`` events; the count then.

    Fails when the run ends before it could be killed.
    """
    victim = subprocess.Popen(args, env=env)
    deadline = time.time() + timeout
    while time.time() < deadline and victim.poll() is None:
        loaded = store.path.exists() and store.load()
        if loaded and loaded[1]["counts"]["orders"]["applied"] >= applied:
            break
        time.sleep(0.05)
    assert victim.poll() is None, "the engine finished before it could be killed"
    victim.send_signal(signal.SIGKILL)
    victim.wait(timeout=30)
    return int(store.load()[1]["counts"]["orders"]["applied"])


def orders_frame(n_series: int = 6, per_series: int = 20, day: str = "2024-03-01", seed: int = 0) -> pd.DataFrame:
    """Order lines of ``n_series`` (sku, location) series over one day, random times and quantities."""
    rng = np.random.default_rng(seed)
    n = n_series * per_series
    series = np.repeat(np.arange(n_series), per_series)
    return pd.DataFrame({
        "sku": [f"S{s:02d}" for s in series],
        "location": np.where(series % 2 == 0, "web", "store_01"),
        "order_ts": pd.Timestamp(day) + pd.to_timedelta(rng.random(n) * 86_399, unit="s"),
        "quantity": rng.integers(1, 4, n).astype(float),
    }).sort_values("order_ts", kind="stable").reset_index(drop=True)


def sales_history(n_series: int = 6, days: int = 35, end: str = "2024-03-01", seed: int = 1) -> pd.DataFrame:
    """Daily units of the series of :func:`orders_frame` for the ``days`` before ``end``."""
    rng = np.random.default_rng(seed)
    dates = pd.date_range(end=pd.Timestamp(end) - pd.Timedelta(days=1), periods=days)
    rows = [(f"S{s:02d}", "web" if s % 2 == 0 else "store_01", d, float(rng.poisson(20)))
            for s in range(n_series) for d in dates]
    return pd.DataFrame(rows, columns=["sku", "location", "date", "units"])
