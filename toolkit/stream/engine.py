"""The micro-batch engine: sources in, monitors updated, alerts and dead letters out, checkpoints.

:class:`StreamEngine` runs a loop over a :class:`~toolkit.stream.sources.Source`: every poll
returns the events available (one batch per stream); for each batch the engine

1. drops events whose offset it has applied already (a broker's redelivery after a restart,
   or the same batch given twice): **state updates are idempotent** -- a duplicate is counted,
   never applied;
2. validates the rest (:func:`~toolkit.stream.schema.validate`): malformed events go to the
   dead-letter sink with their reason, counted; the engine never stops on bad data;
3. hands the accepted events to the stream's monitor (:mod:`~toolkit.stream.demand`,
   :mod:`~toolkit.stream.inventory`, :mod:`~toolkit.stream.lanes`); events its clock finds
   late (their bucket closed) or stale (an older stock count) are dead-lettered too, counted;
   order lines also move the inventory monitor's projected stock, and refreshed demand
   forecasts its demand per day;
4. stamps the alerts (``detected_at``, ``latency_s``) and writes them to the alert sinks.

Inventory streams are applied before the others of the same poll, so the orders of a poll
move the stock of the count that came with them.

Delivery semantics: **at-least-once** from the source, **exactly-once in the state**. Every
``checkpoint_every`` seconds (and at the end of a run) the engine saves all monitor state with
the last offset applied per (stream, partition) in one atomic file
(:class:`~toolkit.stream.checkpoint.CheckpointStore`), then commits those offsets to the source
(Redis ``XACK``, Kafka offset commit). Restarted with :meth:`StreamEngine.restore`, it resumes
after the checkpointed offsets: events applied after the checkpoint are applied again -- once,
since the state they had changed was lost with the crash -- and events delivered twice are
skipped by their offsets. Alerts emitted between the checkpoint and a crash are emitted again
after the restart with the same ``alert_id``; a sink drops repeats by id.

Latency: each event's ``arrival`` (when its source made it available) to the end of the batch
that applied it; the engine keeps the last ``latency_window`` values (:meth:`latency`).

Examples
--------
>>> import pandas as pd
>>> from toolkit.stream import StreamEngine, DemandMonitor, ReplaySource, MemorySink
>>> hist = pd.DataFrame({"sku": "a", "location": "web", "date": pd.date_range("2024-01-01", periods=28),
...                      "units": 5.0})
>>> orders = pd.DataFrame({"sku": "a", "location": "web", "quantity": [40.0, 2.0],
...                        "order_ts": pd.to_datetime(["2024-01-29 09:00", "2024-01-29 10:00"])})
>>> alerts = MemorySink()
>>> engine = StreamEngine([DemandMonitor().fit(hist)], alerts=alerts)
>>> report = engine.run(ReplaySource({"orders": orders}))
>>> alerts.frame()["type"].tolist(), report.events
(['demand_spike'], 2)
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any, Callable, Mapping, Sequence

import numpy as np
import pandas as pd

from toolkit import panel
from toolkit.errors import DataValidationError
from toolkit.stream.alerts import empty_alerts
from toolkit.stream.bucketed import BucketedMonitor
from toolkit.stream.checkpoint import CheckpointStore
from toolkit.stream.demand import DemandMonitor
from toolkit.stream.inventory import InventoryMonitor
from toolkit.stream.schema import EventBatch, dead_letters, validate
from toolkit.stream.sinks import check_sink
from toolkit.stream.sources import Source

__all__ = ["StreamEngine", "BatchReport", "RunReport", "COUNTERS"]

COUNTERS = ("received", "duplicates", "refused", "late", "applied")
"""Per-stream event counts: ``received = duplicates + refused + late + applied``."""


@dataclass
class BatchReport:
    """What one poll's micro-batches did.

    Attributes
    ----------
    events : int
        Events received (duplicates included).
    counts : dict
        Stream -> {counter: n} for this poll (:data:`COUNTERS`).
    alerts : pandas.DataFrame
        The alerts emitted (already written to the sinks).
    seconds : float
        Processing time.
    done : float
        Wall time at the end of the batch.
    """

    events: int
    counts: dict
    alerts: pd.DataFrame
    seconds: float
    done: float


@dataclass
class RunReport:
    """What :meth:`StreamEngine.run` did.

    Attributes
    ----------
    events, batches : int
    seconds : float
        Wall time of the run.
    busy_seconds : float
        Time spent processing batches.
    counts : dict
        Stream -> counters over the run.
    alerts : int
    latency : dict
        ``p50``, ``p99``, ``max`` (seconds) of event-to-processed latency over the run.
    checkpoints : int
    """

    events: int
    batches: int
    seconds: float
    busy_seconds: float
    counts: dict
    alerts: int
    latency: dict
    checkpoints: int
    alert_latency: dict = field(default_factory=dict)

    @property
    def events_per_second(self) -> float:
        return self.events / self.seconds if self.seconds > 0 else float("nan")


def _sinks(value: Any, param: str) -> list:
    if value is None:
        return []
    items = list(value) if isinstance(value, (list, tuple)) else [value]
    return [check_sink(s, param) for s in items]


def _percentiles(values: np.ndarray) -> dict[str, float]:
    if values.shape[0] == 0:
        return {"p50": float("nan"), "p99": float("nan"), "max": float("nan"), "n": 0}
    p50, p99 = np.percentile(values, [50, 99])
    return {"p50": float(p50), "p99": float(p99), "max": float(values.max()), "n": int(values.shape[0])}


class StreamEngine:
    """Micro-batch engine over monitors (see the module docstring).

    Parameters
    ----------
    monitors : sequence of monitors
        ``DemandMonitor``, ``InventoryMonitor``, ``CarrierMonitor`` (or any object with
        ``schema``, ``registry``, ``apply``, ``state_dict``, ``load_state_dict``), one per stream.
    alerts : sink, callable or list of them, optional
        Where alerts go.
    dead_letters : sink, callable or list of them, optional
        Where refused, late and stale events go (always counted, sink or not).
    checkpoint : path or CheckpointStore, optional
        Where checkpoints are kept; without one the engine keeps no checkpoint and commits
        offsets to the source after every batch.
    checkpoint_every : float, default 5
        Seconds between checkpoints (0: after every batch).
    max_batch : int, default 50_000
        Most events taken per poll.
    latency_window : int, default 2**20
        Event latencies kept for :meth:`latency`.

    Raises
    ------
    DataValidationError
        Not monitors, two monitors of one stream, a bad sink or parameter.
    """

    def __init__(self, monitors: Sequence[Any], *, alerts: Any = None, dead_letters: Any = None,
                 checkpoint: Any = None, checkpoint_every: float = 5.0, max_batch: int = 50_000,
                 latency_window: int = 2**20):
        if isinstance(monitors, (str, bytes)) or not isinstance(monitors, Sequence) or not monitors:
            raise DataValidationError.for_parameter("monitors", "expected a non-empty list of monitors",
                                                    type(monitors).__name__)
        self.monitors: dict[str, Any] = {}
        for monitor in monitors:
            if not all(hasattr(monitor, a) for a in ("schema", "registry", "apply", "state_dict")):
                raise DataValidationError.for_parameter("monitors", "not a monitor", type(monitor).__name__)
            if monitor.schema.name in self.monitors:
                raise DataValidationError.for_parameter("monitors", "two monitors of one stream", monitor.schema.name)
            self.monitors[monitor.schema.name] = monitor
        self.alert_sinks = _sinks(alerts, "alerts")
        self.dead_sinks = _sinks(dead_letters, "dead_letters")
        if checkpoint is not None and not isinstance(checkpoint, CheckpointStore):
            checkpoint = CheckpointStore(checkpoint)
        self.store = checkpoint
        self.checkpoint_every = panel.check_number("checkpoint_every", checkpoint_every, 0.0)
        self.max_batch = panel.check_int("max_batch", max_batch, minimum=1)
        self._latency = np.full(panel.check_int("latency_window", latency_window, minimum=1), np.nan,
                                dtype=np.float32)
        self._latency_at = 0
        self.offsets: dict[tuple[str, int], int] = {}
        self.counts = {name: dict.fromkeys(COUNTERS, 0) for name in self.monitors}
        self.alert_counts: dict[str, int] = {}
        self.listeners: list[Callable[[BatchReport], Any]] = []
        self.demand = next((m for m in monitors if isinstance(m, DemandMonitor)), None)
        self.inventory = next((m for m in monitors if isinstance(m, InventoryMonitor)), None)
        self._forecast_seen = self.demand.forecast_bucket if self.demand is not None else None
        self._last_checkpoint = time.time()
        if self.demand is not None and self.inventory is not None:
            self._link_forecasts()

    # ----------------------------------------------------------------- one poll
    def _fresh(self, batch: EventBatch) -> np.ndarray:
        """Events whose offset is above the last applied one of their partition (which moves up)."""
        fresh = np.ones(len(batch), dtype=bool)
        for part in np.unique(batch.partitions).tolist():
            rows = batch.partitions == part
            mark = self.offsets.get((batch.stream, part), -1)
            fresh[rows] = batch.offsets[rows] > mark
            if bool(rows.any()):
                self.offsets[(batch.stream, part)] = max(mark, int(batch.offsets[rows].max()))
        return fresh

    def process(self, batches: EventBatch | Sequence[EventBatch]) -> BatchReport:
        """Apply one poll's batches (see the module docstring) and write alerts and dead letters.

        Raises
        ------
        DataValidationError
            ``batches`` is not an EventBatch or a list of them.
        """
        start = time.time()
        if isinstance(batches, EventBatch):
            batches = [batches]
        if not isinstance(batches, Sequence) or not all(isinstance(b, EventBatch) for b in batches):
            raise DataValidationError.for_parameter("batches", "expected an EventBatch or a list of them",
                                                    type(batches).__name__)
        ordered = sorted(batches, key=lambda b: not isinstance(self.monitors.get(b.stream), InventoryMonitor))
        alerts: list[pd.DataFrame] = []
        dead: list[pd.DataFrame] = []
        arrivals: list[np.ndarray] = []
        counts: dict[str, dict[str, int]] = {}
        for batch in ordered:
            alerts += self._apply(batch, dead, arrivals, counts)
        if self.demand is not None and self.inventory is not None and self.demand.forecast_bucket != self._forecast_seen:
            self._link_forecasts()
        done = time.time()
        frame = pd.concat([a for a in alerts if len(a)], ignore_index=True) if any(len(a) for a in alerts) \
            else empty_alerts()
        self._emit(frame, dead, done)
        self._record_latency(done - np.concatenate(arrivals) if arrivals else np.zeros(0))
        report = BatchReport(sum(len(b) for b in batches), counts, frame, done - start, done)
        for listener in self.listeners:
            listener(report)
        return report

    def _apply(self, batch: EventBatch, dead: list, arrivals: list, counts: dict) -> list[pd.DataFrame]:
        inc = dict.fromkeys(COUNTERS, 0)
        alerts = self._apply_counted(batch, dead, arrivals, inc)
        for target in (counts.setdefault(batch.stream, dict.fromkeys(COUNTERS, 0)),
                       self.counts.setdefault(batch.stream, dict.fromkeys(COUNTERS, 0))):
            for name, n in inc.items():
                target[name] += n
        return alerts

    def _apply_counted(self, batch: EventBatch, dead: list, arrivals: list, inc: dict) -> list[pd.DataFrame]:
        inc["received"] = len(batch)
        monitor = self.monitors.get(batch.stream)
        if monitor is None:
            dead.append(dead_letters(batch, np.arange(len(batch)), [f"no monitor for stream {batch.stream!r}"]
                                     * len(batch)))
            arrivals.append(batch.arrival)
            inc["refused"] = len(batch)
            return []
        fresh = self._fresh(batch)
        inc["duplicates"] = int((~fresh).sum())
        if not bool(fresh.all()):
            batch = batch.subset(np.flatnonzero(fresh))
        arrivals.append(batch.arrival)
        valid, refused = validate(batch, monitor.schema, monitor.registry)
        inc["refused"] = len(refused)
        dead.append(refused)
        alerts, late = monitor.apply(valid)
        n_late = int(late.sum())
        if n_late:
            why = "stale: a newer stock count was applied" if isinstance(monitor, InventoryMonitor) else \
                "late: its bucket had closed (beyond the allowed lateness)"
            dead.append(dead_letters(batch, valid.rows[late], [why] * n_late))
        inc["late"] = n_late
        inc["applied"] = len(valid) - n_late
        if monitor is self.demand and self.inventory is not None:
            alerts = alerts + self.inventory.observe_orders(monitor.registry, valid.take(~late))
        return alerts

    def _link_forecasts(self) -> None:
        demand = self.demand
        self._forecast_seen = demand.forecast_bucket
        buckets_per_day = 86_400 * 10**9 / demand.freq_ns
        self.inventory.use_forecasts(demand.registry, demand.forecast, demand.sigma, buckets_per_day)

    def _emit(self, alerts: pd.DataFrame, dead: list[pd.DataFrame], done: float) -> None:
        if len(alerts):
            alerts["detected_at"] = done
            alerts["latency_s"] = done - alerts["arrival"].to_numpy()
            for kind, n in alerts["type"].value_counts().items():
                self.alert_counts[kind] = self.alert_counts.get(kind, 0) + int(n)
            for sink in self.alert_sinks:
                sink.write(alerts)
        refused = [d for d in dead if len(d)]
        if refused and self.dead_sinks:
            frame = pd.concat(refused, ignore_index=True)
            for sink in self.dead_sinks:
                sink.write(frame)

    def _record_latency(self, values: np.ndarray) -> None:
        n = values.shape[0]
        size = self._latency.shape[0]
        if n >= size:
            self._latency[:] = values[-size:]
            self._latency_at = 0
            return
        end = self._latency_at + n
        if end <= size:
            self._latency[self._latency_at:end] = values
        else:
            self._latency[self._latency_at:] = values[: size - self._latency_at]
            self._latency[: end - size] = values[size - self._latency_at:]
        self._latency_at = end % size

    def latency(self) -> dict[str, float]:
        """p50, p99 and max (seconds) of the event latencies kept (``latency_window`` latest)."""
        kept = self._latency[~np.isnan(self._latency)]
        return _percentiles(kept.astype(np.float64))

    def reset_latency(self) -> None:
        """Forget the latencies kept (e.g. after a warm-up)."""
        self._latency[:] = np.nan
        self._latency_at = 0

    # ----------------------------------------------------------------- the loop
    def run(self, source: Source, *, max_batches: int | None = None, duration: float | None = None,
            flush: bool = True, resume: bool = False) -> RunReport:
        """Poll ``source`` and process until it is exhausted (or ``max_batches`` / ``duration`` s).

        Parameters
        ----------
        source : Source
        max_batches : int, optional
        duration : float, optional
            Seconds of wall time.
        flush : bool, default True
            When the source is exhausted, close every bucket that ended by the last event time
            (no late event is to come); the bucket still running stays open.
        resume : bool, default False
            Restore the last checkpoint first and resume the source after its offsets.

        Returns
        -------
        RunReport

        Raises
        ------
        DataValidationError
            ``source`` is not a Source, or a bad limit.
        """
        if not isinstance(source, Source):
            raise DataValidationError.for_parameter("source", "expected a toolkit.stream Source",
                                                    type(source).__name__)
        if max_batches is not None:
            max_batches = panel.check_int("max_batches", max_batches, minimum=1)
        if duration is not None:
            duration = panel.check_number("duration", duration, 0.0, low_open=True)
        if resume:
            self.restore()
        if self.offsets:
            source.seek(self.offsets)
        start = time.time()
        before = {s: dict(c) for s, c in self.counts.items()}
        alerts_before = sum(self.alert_counts.values())
        saves_before = self.store.saves if self.store is not None else 0
        events = batches = 0
        busy = 0.0
        run_latency: list[np.ndarray] = []
        alert_latency: list[np.ndarray] = []
        while True:
            polled = source.poll(self.max_batch)
            if polled:
                report = self.process(polled)
                events += report.events
                batches += 1
                busy += report.seconds
                run_latency.append(np.concatenate([report.done - b.arrival for b in polled]))
                if len(report.alerts):
                    alert_latency.append(report.alerts["latency_s"].to_numpy())
                self._after_batch(source)
            elif source.exhausted:
                break
            if (max_batches is not None and batches >= max_batches) or \
                    (duration is not None and time.time() - start >= duration):
                break
        if flush and source.exhausted:
            self.flush()
        if self.store is not None:
            self.save_checkpoint(source)
        seconds = time.time() - start
        counts = {s: {k: v - before.get(s, {}).get(k, 0) for k, v in c.items()} for s, c in self.counts.items()}
        return RunReport(events, batches, seconds, busy, counts, sum(self.alert_counts.values()) - alerts_before,
                         _percentiles(np.concatenate(run_latency) if run_latency else np.zeros(0)),
                         (self.store.saves - saves_before) if self.store is not None else 0,
                         _percentiles(np.concatenate(alert_latency) if alert_latency else np.zeros(0)))

    def _after_batch(self, source: Source) -> None:
        if self.store is None:
            source.commit(self.offsets)
        elif time.time() - self._last_checkpoint >= self.checkpoint_every:
            self.save_checkpoint(source)

    def flush(self, time_ns: int | None = None) -> pd.DataFrame:
        """Close the buckets every bucketed monitor's watermark would close at event time ``time_ns``
        (default: each one's largest event time); emit the alerts."""
        alerts = []
        for monitor in self.monitors.values():
            if isinstance(monitor, BucketedMonitor):
                alerts += monitor.flush(time_ns, arrival=time.time())
        if self.demand is not None and self.inventory is not None:
            self._link_forecasts()
        frame = pd.concat([a for a in alerts if len(a)], ignore_index=True) if any(len(a) for a in alerts) \
            else empty_alerts()
        self._emit(frame, [], time.time())
        return frame

    # ----------------------------------------------------------------- state
    def state(self) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
        """Every monitor's arrays (``stream|name``) and the metadata of a checkpoint."""
        arrays = {f"{stream}|{name}": np.asarray(value) for stream, monitor in self.monitors.items()
                  for name, value in monitor.state_dict().items()}
        meta = {
            "offsets": {f"{s}\x1f{p}": o for (s, p), o in self.offsets.items()},
            "counts": self.counts, "alert_counts": self.alert_counts,
            "monitors": {s: type(m).__name__ for s, m in self.monitors.items()},
            "demand_forecast_bucket": None if self.demand is None else self.demand.forecast_bucket,
        }
        return arrays, meta

    def save_checkpoint(self, source: Source | None = None) -> None:
        """Save the state and offsets now; then commit the offsets to ``source``.

        Raises
        ------
        DataValidationError
            The engine has no checkpoint store.
        """
        if self.store is None:
            raise DataValidationError.for_parameter("checkpoint", "the engine was made without a checkpoint store",
                                                    None)
        arrays, meta = self.state()
        self.store.save(arrays, meta)
        self._last_checkpoint = time.time()
        if source is not None:
            source.commit(self.offsets)

    def restore(self) -> bool:
        """Load the last checkpoint into the monitors and offsets; False when there is none.

        Raises
        ------
        DataValidationError
            No checkpoint store, or a checkpoint of other monitors (streams or settings).
        """
        if self.store is None:
            raise DataValidationError.for_parameter("checkpoint", "the engine was made without a checkpoint store",
                                                    None)
        loaded = self.store.load()
        if loaded is None:
            return False
        arrays, meta = loaded
        kinds = {s: type(m).__name__ for s, m in self.monitors.items()}
        if meta.get("monitors") != kinds:
            raise DataValidationError.for_parameter("checkpoint", "the checkpoint was written by other monitors",
                                                    meta.get("monitors"), [kinds])
        for stream, monitor in self.monitors.items():
            prefix = f"{stream}|"
            monitor.load_state_dict({k[len(prefix):]: v for k, v in arrays.items() if k.startswith(prefix)})
        self.offsets = {(k.split("\x1f")[0], int(k.split("\x1f")[1])): int(v) for k, v in meta["offsets"].items()}
        self.counts = {s: {k: int(v) for k, v in c.items()} for s, c in meta["counts"].items()}
        self.alert_counts = {k: int(v) for k, v in meta["alert_counts"].items()}
        if self.demand is not None:
            self.demand.forecast_bucket = meta.get("demand_forecast_bucket")
            self._forecast_seen = self.demand.forecast_bucket
        return True

    def counters(self) -> pd.DataFrame:
        """Event counts per stream since the engine started (checkpointed counts included)."""
        return pd.DataFrame(self.counts).T.reindex(columns=list(COUNTERS)).rename_axis("stream")
