"""The machinery shared by monitors of bucketed series: open sums, closed rows, robust baselines.

A *bucketed* monitor aggregates a stream's events per series and bucket of event time (the
units ordered per sku and location and day, the delays of a carrier lane per day). Per
micro-batch, :meth:`BucketedMonitor.apply`:

1. moves the stream's :class:`~toolkit.stream.buckets.BucketClock`; late events (their
   bucket already closed) are handed back to the engine, which reports them;
2. adds the other events to their open buckets (one ``bincount`` per summed column) and to
   the per-series totals of everything applied (:meth:`totals`: what "counted exactly once"
   is checked on);
3. closes the buckets the watermark passed, in order: each series that has started gets one
   row -- the bucket's value, 0 events included -- appended to its
   :class:`~toolkit.stream.windows.IncrementalWindows`, its robust baseline (median and
   1.4826 MAD of its last ``baseline_window`` rows, the segment kernel of
   :func:`toolkit.anomaly.rules.robust_scale`) is refreshed, and the subclass checks the
   closed value and refreshes what depends on it (forecasts);
4. checks the *open* buckets the batch touched, on their running sums: a spike need not wait
   for its bucket to close.

A subclass says which event columns are summed (:meth:`summed`), what a bucket's value is
(:meth:`bucket_value`), and what to alert on (:meth:`open_flags` with :meth:`open_alert_frame`,
:meth:`closed_alerts`); an open bucket's alert names the event that tipped it over;
each (series, bucket) alerts at most once (an ``alerted`` flag per open bucket).

Warm start: :meth:`fit_buckets` appends a history of bucket values (series on the bucket
calendar; a missing bucket is a missing value) exactly as closed buckets are appended, and
starts the clock after the history's last bucket.

Examples
--------
See :class:`toolkit.stream.demand.DemandMonitor` and :class:`toolkit.stream.lanes.CarrierMonitor`.
"""

from __future__ import annotations

from typing import Any, Mapping

import numpy as np
import pandas as pd

from toolkit.anomaly.rules import robust_scale, scaled_deviation
from toolkit.errors import DataValidationError
from toolkit.features import FeatureSpec
from toolkit.panel import check_int, check_number, to_offset
from toolkit.panel.timeaxis import fixed_nanos
from toolkit.stream.buckets import BucketClock, OpenBuckets
from toolkit.stream.keys import KeyRegistry
from toolkit.stream.schema import EventSchema, ValidEvents
from toolkit.stream.windows import IncrementalWindows

__all__ = ["BucketedMonitor", "span_ns", "OpenGroups"]

_NOT_STARTED = np.iinfo(np.int64).max


def span_ns(value: Any, param: str) -> int:
    """A fixed time span (``"D"``, ``"1h"``, ``"15min"``, a Timedelta) in nanoseconds.

    Raises
    ------
    DataValidationError
        Naming ``param``: not a fixed span (calendar offsets such as ``"MS"`` have no fixed length).
    """
    if isinstance(value, (int, np.integer)) and not isinstance(value, bool) and value == 0:
        return 0
    if isinstance(value, str) and value.strip().startswith("0"):
        try:
            if pd.Timedelta(value) == pd.Timedelta(0):
                return 0
        except ValueError:
            pass
    try:
        nanos = fixed_nanos(to_offset(value, param))
    except ValueError:
        raise DataValidationError.for_parameter(param, "expected a fixed time span such as 'D', '1h' or '15min'",
                                                value) from None
    return int(nanos)


class OpenGroups:
    """The (series, open bucket) pairs a micro-batch touched, and their events in arrival order.

    Attributes
    ----------
    slots, buckets : int64 arrays (g,)
    order : int64 array (m,)
        The batch's events grouped by pair, in arrival order within a pair.
    starts : int64 array (g + 1,)
        Pair ``i`` holds ``order[starts[i]:starts[i + 1]]``.
    sums : float array (g, n_summed)
        What the batch added to each pair.
    """

    def __init__(self, slots: np.ndarray, buckets: np.ndarray, summed: np.ndarray, n_open: int):
        cells = slots * n_open + buckets % n_open
        self.order = np.argsort(cells, kind="stable")
        ordered = cells[self.order]
        heads = np.flatnonzero(np.r_[True, ordered[1:] != ordered[:-1]]) if ordered.shape[0] else np.zeros(0, int)
        self.starts = np.r_[heads, ordered.shape[0]].astype(np.int64)
        self.slots = slots[self.order][heads]
        self.buckets = buckets[self.order][heads]
        self.sums = np.add.reduceat(summed[self.order], heads, axis=0) if heads.shape[0] \
            else np.zeros((0, summed.shape[1]))
        self.counts = np.diff(self.starts)

    def __len__(self) -> int:
        return int(self.slots.shape[0])

    def events_of(self, groups: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """For pairs ``groups``: (event rows in arrival order, the pair index of each, its rank within the pair)."""
        first, size = self.starts[groups], self.counts[groups]
        pair = np.repeat(np.arange(groups.shape[0]), size)
        rank = np.arange(pair.shape[0]) - np.repeat(np.cumsum(size) - size, size)
        return self.order[np.repeat(first, size) + rank], pair, rank


class BucketedMonitor:
    """Base of the bucketed monitors (see the module docstring).

    Parameters
    ----------
    schema : EventSchema
    spec : FeatureSpec
        Features kept per series (:class:`IncrementalWindows`).
    freq : str or Timedelta
        Bucket length (a fixed span).
    lateness : str or Timedelta
        How late an event may arrive (behind the largest event time) and still be applied.
    baseline_window : int
        Closed rows the robust baseline looks at.
    min_history : int
        Closed rows with values a series needs before it can alert.
    min_scale : float > 0
        Floor of the robust scale (a series whose history is constant still has a spread).
    threshold : float > 0
        Robust z beyond which a value is abnormal.
    """

    stream = ""
    monotone = True
    """Whether a bucket's running value only moves one way as events come (a sum of non-negative
    quantities): then checking it at the end of a micro-batch finds every crossing. A mean is not
    monotone: every event of the batch is checked (what a one-event-at-a-time engine would see)."""

    def __init__(self, schema: EventSchema, spec: FeatureSpec, freq: Any, lateness: Any, baseline_window: int,
                 min_history: int, min_scale: float, threshold: float):
        if not isinstance(schema, EventSchema):
            raise DataValidationError.for_parameter("schema", "expected an EventSchema", type(schema).__name__)
        self.schema = schema
        self.stream = schema.name
        self.freq_ns = span_ns(freq, "freq")
        if self.freq_ns <= 0:
            raise DataValidationError.for_parameter("freq", "must be a positive span", freq)
        self.baseline_window = check_int("baseline_window", baseline_window, minimum=3)
        self.min_history = check_int("min_history", min_history, minimum=1, maximum=self.baseline_window)
        self.min_scale = check_number("min_scale", min_scale, 0.0, low_open=True)
        self.threshold = check_number("threshold", threshold, 0.0, low_open=True)
        self.registry = KeyRegistry(schema.keys)
        self.clock = BucketClock(self.freq_ns, span_ns(lateness, "lateness"))
        self.windows = IncrementalWindows(spec, history=self.baseline_window)
        self.open = OpenBuckets(len(self.summed()), self.clock.n_open)
        self.capacity = 0
        self._slot_arrays: dict[str, np.ndarray] = {}
        self._ensure(1)

    # ----------------------------------------------------------------- what subclasses say
    def summed(self) -> tuple[str, ...]:
        """Names of the per-event quantities summed per bucket (computed by :meth:`event_values`)."""
        raise NotImplementedError

    def event_values(self, values: np.ndarray) -> np.ndarray:
        """Per-event quantities summed per bucket, (m, len(summed())), from the schema's value columns."""
        raise NotImplementedError

    def bucket_value(self, sums: np.ndarray, counts: np.ndarray) -> np.ndarray:
        """A bucket's value per series from its sums (m, n_summed) and event counts (m,)."""
        raise NotImplementedError

    def open_flags(self, slots: np.ndarray, values: np.ndarray, counts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(abnormal?, score) of the running values of open buckets; no alert on open buckets by default."""
        return np.zeros(slots.shape[0], dtype=bool), np.full(slots.shape[0], np.nan)

    def open_alert_frame(self, slots: np.ndarray, buckets: np.ndarray, times: np.ndarray, values: np.ndarray,
                         counts: np.ndarray, score: np.ndarray, arrival: np.ndarray) -> pd.DataFrame:
        """The alerts of flagged open buckets (``times``/``arrival``: of the event that tipped each)."""
        raise NotImplementedError

    def closed_alerts(self, bucket: int, slots: np.ndarray, values: np.ndarray, counts: np.ndarray,
                      arrival: float) -> list[pd.DataFrame]:
        """Alerts on a closed bucket's values (baseline not yet updated with them)."""
        return []

    def after_close(self, bucket: int, slots: np.ndarray) -> None:
        """Refresh what depends on the closed rows (forecasts); ``slots`` got a row."""

    # ----------------------------------------------------------------- per-slot arrays
    def slot_arrays(self) -> dict[str, tuple[Any, Any]]:
        """Per-slot state: name -> (dtype, initial value); subclasses add theirs."""
        return {"first_bucket": (np.int64, _NOT_STARTED), "center": (np.float64, np.nan),
                "scale": (np.float64, np.nan), "history_n": (np.int64, 0), "events": (np.int64, 0),
                "summed_totals": (np.float64, 0.0), "alerted": (np.bool_, False)}

    def _ensure(self, n: int) -> None:
        if n <= self.capacity:
            return
        new = max(n, 2 * self.capacity, 16)
        wide = {"alerted": self.clock.n_open, "summed_totals": len(self.summed())}
        for name, (dtype, init) in self.slot_arrays().items():
            shape = (new, wide[name]) if name in wide else (new,)
            arr = np.full(shape, init, dtype=dtype)
            if name in self._slot_arrays:
                arr[: self.capacity] = self._slot_arrays[name]
            self._slot_arrays[name] = arr
        self.windows.grow(new)
        self.open.grow(new)
        self.capacity = new

    def __getattr__(self, name: str) -> Any:
        arrays = self.__dict__.get("_slot_arrays")
        if arrays is not None and name in arrays:
            return arrays[name]
        raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")

    # ----------------------------------------------------------------- scoring helpers
    def transform(self, values: np.ndarray) -> np.ndarray:
        """The scale baselines and z-scores are computed on (identity here; square root for counts)."""
        return values

    def untransform(self, values: np.ndarray) -> np.ndarray:
        """Inverse of :meth:`transform`."""
        return values

    def robust_z(self, slots: np.ndarray, values: np.ndarray) -> np.ndarray:
        """Robust z of ``values`` against each series' baseline (NaN without enough history)."""
        z = scaled_deviation(self.transform(values), self.center[slots], self.scale[slots])
        return np.where(self.history_n[slots] >= self.min_history, z, np.nan)

    def _refresh_baseline(self, slots: np.ndarray) -> None:
        if slots.shape[0] == 0:
            return
        width = self.baseline_window
        hist = self.transform(self.windows.last(slots, width))
        bounds = np.arange(0, slots.shape[0] * width + 1, width, dtype=np.int64)
        center, scale = robust_scale(hist.reshape(-1, 1), bounds)
        self.center[slots] = center[:, 0]
        self.scale[slots] = np.maximum(np.where(np.isnan(scale[:, 0]), self.min_scale, scale[:, 0]), self.min_scale)
        self.history_n[slots] = np.sum(~np.isnan(hist), axis=1)

    # ----------------------------------------------------------------- the micro-batch
    def apply(self, events: ValidEvents) -> tuple[list[pd.DataFrame], np.ndarray]:
        """Apply a micro-batch of accepted events; returns (alerts, late mask over ``events``)."""
        step = self.clock.advance(events.time)
        self._ensure(self.registry.n)
        keep = ~step.late
        slots, buckets = events.slots[keep], step.buckets[keep]
        summed = self.event_values(events.values[keep])
        arrival, times = events.arrival[keep], events.time[keep]
        if slots.shape[0]:
            earlier = buckets < self.first_bucket[slots]
            if bool(earlier.any()):
                np.minimum.at(self.first_bucket, slots[earlier], buckets[earlier])
            n = self.registry.n
            self.events[:n] += np.bincount(slots, minlength=n)
            for j in range(summed.shape[1]):
                self.summed_totals[:n, j] += np.bincount(slots, weights=summed[:, j], minlength=n)
        alerts: list[pd.DataFrame] = []
        trigger = float(events.arrival.min()) if len(events) else float("nan")
        open_rows = buckets >= step.closed_after
        for bucket in range(step.closed_before, step.closed_after):
            now = buckets == bucket
            self.open.add(slots[now], buckets[now], summed[now])
            if bool(now.any()):  # its events came while it was open: check them as such, then close it
                alerts += self._open_alerts(OpenGroups(slots[now], buckets[now], summed[now], self.clock.n_open),
                                            arrival[now], times[now], summed[now])
            alerts += self.close_bucket(bucket, trigger)
        self.open.add(slots[open_rows], buckets[open_rows], summed[open_rows])
        if bool(open_rows.any()):
            groups = OpenGroups(slots[open_rows], buckets[open_rows], summed[open_rows], self.clock.n_open)
            alerts += self._open_alerts(groups, arrival[open_rows], times[open_rows], summed[open_rows])
        return alerts, step.late

    def _open_alerts(self, groups: OpenGroups, arrival: np.ndarray, times: np.ndarray, summed: np.ndarray
                     ) -> list[pd.DataFrame]:
        """Check the running values of the open buckets touched; an alert names the event that tipped it."""
        sums, counts = self.open.peek(groups.slots, groups.buckets)
        values = self.bucket_value(sums, counts)
        col = groups.buckets % self.clock.n_open
        fresh = ~self.alerted[groups.slots, col]
        if self.monotone:
            flags, _ = self.open_flags(groups.slots, values, counts)
            hit = np.flatnonzero(flags & fresh)
        else:
            hit = np.flatnonzero(fresh)
        if hit.shape[0] == 0:
            return []
        # replay the pair's events in arrival order from the sums before the batch: the first that flags
        rows, pair, rank = groups.events_of(hit)
        before_sums = sums[hit] - groups.sums[hit]
        before_counts = counts[hit] - groups.counts[hit]
        running = np.cumsum(summed[rows], axis=0)
        heads = np.flatnonzero(rank == 0)
        offset = np.zeros((heads.shape[0], running.shape[1]))
        offset[1:] = running[heads[1:] - 1]
        running -= offset[pair]
        run_counts = before_counts[pair] + rank + 1
        run_values = self.bucket_value(before_sums[pair] + running, run_counts)
        run_flags, run_score = self.open_flags(groups.slots[hit][pair], run_values, run_counts)
        m = rows.shape[0]
        first = np.minimum.reduceat(np.where(run_flags, np.arange(m), m), heads)
        tipped_pairs = first < m  # pairs some event of the batch tipped over
        if not bool(tipped_pairs.any()):
            return []
        hit, at = hit[tipped_pairs], first[tipped_pairs]
        self.alerted[groups.slots[hit], col[hit]] = True
        tipped = rows[at]
        return [self.open_alert_frame(groups.slots[hit], groups.buckets[hit], times[tipped], run_values[at],
                                      run_counts[at], run_score[at], arrival[tipped])]

    def close_bucket(self, bucket: int, arrival: float) -> list[pd.DataFrame]:
        """Close ``bucket``: append a row to every started series, check it, refresh baselines."""
        n = self.registry.n
        sums, counts = self.open.take(bucket, n)
        started = np.flatnonzero(self.first_bucket[:n] <= bucket)
        values = self.bucket_value(sums[started], counts[started])
        alerts = self.closed_alerts(bucket, started, values, counts[started], arrival)
        self.windows.append(started, values)
        self._refresh_baseline(started)
        self.alerted[:, bucket % self.clock.n_open] = False
        self.after_close(bucket, started)
        return alerts

    def flush(self, time_ns: int | None = None, arrival: float = float("nan")) -> list[pd.DataFrame]:
        """Close the buckets a watermark of ``time_ns`` closes (default: the largest event time seen,
        as if no late event were to come: every bucket that ended by then; the bucket still running
        stays open)."""
        if not self.clock.started:
            return []
        if time_ns is None:
            time_ns = self.clock.max_time
        time_ns = int(time_ns) + self.clock.lateness_ns
        before, after = self.clock.close_through(int(time_ns))
        alerts: list[pd.DataFrame] = []
        for bucket in range(before, after):
            alerts += self.close_bucket(bucket, arrival)
        return alerts

    # ----------------------------------------------------------------- warm start
    def fit_buckets(self, keys: Mapping[str, Any], buckets: np.ndarray, values: np.ndarray,
                    train_last: int = 0) -> None:
        """Append a history of bucket values and start the clock after its last bucket.

        Parameters
        ----------
        keys : mapping key column -> labels (m,)
        buckets : int64 array (m,)
            Bucket numbers (event time // freq); one row per series and bucket.
        values : float array (m,)
            Bucket values (NaN: missing).
        train_last : int
            Over the last ``train_last`` buckets, :meth:`training_rows` sees each row with the
            baseline before it (to fit a detector on).
        """
        if self.clock.started:
            raise DataValidationError.for_parameter("history", "a history must be given before any event", "late")
        slots = self.registry.slots(keys)
        self._ensure(self.registry.n)
        if slots.shape[0] == 0:
            return
        first, last = int(buckets.min()), int(buckets.max())
        grid = np.full((self.registry.n, last - first + 1), np.nan)
        grid[slots, buckets - first] = values
        starts = np.full(self.registry.n, last + 1, dtype=np.int64)
        np.minimum.at(starts, slots, buckets)
        self.first_bucket[: self.registry.n] = np.minimum(self.first_bucket[: self.registry.n], starts)
        for bucket in range(first, last + 1):
            started = np.flatnonzero(starts <= bucket)
            row = grid[started, bucket - first]
            if bucket > last - train_last:
                self._refresh_baseline(started)
                self.training_rows(started, row)
            self.windows.append(started, row)
        everyone = np.arange(self.registry.n)
        self._refresh_baseline(everyone)
        self.clock.start(last + 1)
        self.after_close(last, everyone)

    def training_rows(self, slots: np.ndarray, values: np.ndarray) -> None:
        """History rows with the baseline before them (during :meth:`fit_buckets`); subclasses collect them."""

    # ----------------------------------------------------------------- reading and checkpoints
    def totals(self) -> pd.DataFrame:
        """Per series: keys, ``events`` applied and the sum of each summed quantity (since the engine started)."""
        n = self.registry.n
        frame = self.registry.frame(np.arange(n))
        frame["events"] = self.events[:n]
        for j, name in enumerate(self.summed()):
            frame[name] = self.summed_totals[:n, j]
        return frame

    def state_dict(self) -> dict[str, Any]:
        """Every array of the monitor's state, by name."""
        state = {f"slot:{k}": v for k, v in self._slot_arrays.items()}
        state.update({f"win:{k}": v for k, v in self.windows.state_dict().items()})
        state.update({f"key:{k}": v for k, v in self.registry.state_dict().items()})
        state.update(self.clock.state_dict())
        state.update(self.open.state_dict())
        return state

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        """Restore a state saved by :meth:`state_dict` from a monitor with the same settings.

        Raises
        ------
        DataValidationError
            The saved state belongs to a monitor with other settings (spec, freq, lateness).
        """
        self.registry.load_state_dict({k[4:]: v for k, v in state.items() if k.startswith("key:")})
        self.windows.load_state_dict({k[4:]: v for k, v in state.items() if k.startswith("win:")})
        self.clock.load_state_dict(state)
        self.open.load_state_dict(state)
        saved = {k[5:]: np.asarray(v) for k, v in state.items() if k.startswith("slot:")}
        if set(saved) != set(self.slot_arrays()):
            raise DataValidationError.for_parameter("state", "saved monitor state has other arrays",
                                                    sorted(set(saved) ^ set(self.slot_arrays())))
        self._slot_arrays = {k: v.copy() for k, v in saved.items()}
        self.capacity = int(saved["first_bucket"].shape[0])
