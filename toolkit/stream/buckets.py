"""Event time into buckets: the watermark, allowed lateness, and the sums of the buckets still open.

A stream's events are aggregated per series into buckets of ``freq`` (a day, an hour) of
*event* time. :class:`BucketClock` keeps the watermark -- the largest event time accepted
minus the allowed ``lateness`` -- and says which buckets it has closed: bucket ``b`` (event
times ``[b * freq, (b + 1) * freq)``) is final once ``(b + 1) * freq <= watermark``. An
event whose bucket is still open is applied, however out of order it arrives; an event for
a closed bucket is *late*: it is counted and reported, never applied (its bucket's features,
forecasts and alerts are already out).

Lateness is decided event by event, in arrival order, as if the events of a micro-batch came
one at a time: an event is late when its bucket was closed by the events *before* it (a
running maximum), so the result does not depend on how a stream is cut into micro-batches.

:class:`OpenBuckets` holds the running sums (and event counts) of the buckets not yet closed,
per series, in a ring of ``ceil(lateness / freq) + 2`` buckets: adding a micro-batch is one
``bincount`` per value column, O(1) per event.

Design choices: a stream without history starts its clock at the bucket of its first
event (so an earlier event after it is late, as it would be one event at a time); a single event stamped far in the future moves the watermark and closes the open
buckets early (events after it then count as late), so producers' clocks must be sane.

Examples
--------
>>> import numpy as np
>>> from toolkit.stream.buckets import BucketClock
>>> clock = BucketClock(freq_ns=10, lateness_ns=5)
>>> step = clock.advance(np.array([3, 12, 17, 4, 21]))
>>> step.buckets.tolist(), step.late.tolist(), (step.closed_before, step.closed_after)
([0, 1, 1, 0, 2], [False, False, False, True, False], (0, 1))
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Mapping

import numpy as np

from toolkit.errors import DataValidationError
from toolkit.panel import check_int

__all__ = ["BucketClock", "ClockStep", "OpenBuckets"]

_NEVER = np.iinfo(np.int64).min


@dataclass(frozen=True)
class ClockStep:
    """What one micro-batch did to the clock.

    Attributes
    ----------
    buckets : int64 array (n,)
        Bucket of every event.
    late : bool array (n,)
        Events whose bucket was already closed when they arrived.
    closed_before, closed_after : int
        Buckets below these numbers were closed before / after the micro-batch; buckets
        ``closed_before .. closed_after - 1`` close now, in order.
    """

    buckets: np.ndarray
    late: np.ndarray
    closed_before: int
    closed_after: int


class BucketClock:
    """The watermark of one stream and the buckets it has closed (see the module docstring).

    Parameters
    ----------
    freq_ns : int >= 1
        Bucket length in nanoseconds.
    lateness_ns : int >= 0
        How far behind the largest event time an event may be and still be applied.
    """

    def __init__(self, freq_ns: int, lateness_ns: int = 0):
        self.freq_ns = check_int("freq", freq_ns, minimum=1)
        self.lateness_ns = check_int("lateness", lateness_ns, minimum=0)
        self.n_open = int(math.ceil(self.lateness_ns / self.freq_ns)) + 2
        self.max_time = _NEVER
        self.closed = _NEVER  # buckets below are closed; _NEVER: the clock has not started

    @property
    def started(self) -> bool:
        return self.closed != _NEVER

    def start(self, bucket: int) -> None:
        """Start the clock with buckets below ``bucket`` closed (e.g. the history's end)."""
        self.closed = int(bucket)
        self.max_time = max(self.max_time, int(bucket) * self.freq_ns + self.lateness_ns - 1)

    def _closed_by(self, max_time: Any) -> Any:
        return (max_time - self.lateness_ns) // self.freq_ns

    def advance(self, times: np.ndarray) -> ClockStep:
        """Buckets and lateness of events with event ``times`` (int64 ns, arrival order), then move on."""
        times = np.asarray(times, dtype=np.int64)
        buckets = times // self.freq_ns
        before = self.closed
        if times.shape[0] == 0:
            return ClockStep(buckets, np.zeros(0, dtype=bool), before, before)
        if not self.started:  # buckets before the first event's are closed, whatever the batching
            before = int(buckets[0])
            self.closed = before
        running = np.maximum.accumulate(times)
        prior = np.empty_like(running)
        prior[0] = self.max_time
        prior[1:] = np.maximum(running[:-1], self.max_time)
        closed_at = np.maximum(np.where(prior == _NEVER, before, self._closed_by(prior)), before)
        late = buckets < closed_at
        self.max_time = max(self.max_time, int(running[-1]))
        self.closed = max(before, int(self._closed_by(self.max_time)))
        return ClockStep(buckets, late, before, self.closed)

    def close_through(self, time_ns: int) -> tuple[int, int]:
        """Advance the watermark to at least ``time_ns`` (an idle stream, the end of a replay).

        Returns
        -------
        (closed_before, closed_after)
        """
        before = self.closed
        if not self.started:
            return before, before
        self.max_time = max(self.max_time, int(time_ns))
        self.closed = max(before, int(self._closed_by(self.max_time)))
        return before, self.closed

    def state_dict(self) -> dict[str, Any]:
        return {"clock": np.asarray([self.freq_ns, self.lateness_ns, self.max_time, self.closed], dtype=np.int64)}

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        """Restore a clock saved by :meth:`state_dict` (same freq and lateness).

        Raises
        ------
        DataValidationError
            The saved clock has another bucket length or lateness.
        """
        freq, lateness, max_time, closed = (int(v) for v in np.asarray(state["clock"]).tolist())
        if (freq, lateness) != (self.freq_ns, self.lateness_ns):
            raise DataValidationError.for_parameter("state", "saved clock has another freq or lateness",
                                                    (freq, lateness))
        self.max_time, self.closed = max_time, closed


class OpenBuckets:
    """Running sums and event counts of the open buckets of every series.

    Parameters
    ----------
    n_values : int
        Value columns summed per bucket.
    n_open : int
        Buckets open at once (:attr:`BucketClock.n_open`).
    capacity : int
        Slots allocated at first (:meth:`grow` adds more).
    """

    def __init__(self, n_values: int, n_open: int, capacity: int = 1):
        self.n_values = int(n_values)
        self.n_open = int(n_open)
        self.capacity = 0
        self.sums = np.zeros((0, self.n_open, self.n_values))
        self.counts = np.zeros((0, self.n_open), dtype=np.int64)
        self.grow(max(int(capacity), 1))

    def grow(self, capacity: int) -> None:
        """Make room for at least ``capacity`` slots (capacity doubles)."""
        if capacity <= self.capacity:
            return
        new = max(int(capacity), 2 * self.capacity)
        sums = np.zeros((new, self.n_open, self.n_values))
        counts = np.zeros((new, self.n_open), dtype=np.int64)
        sums[: self.capacity] = self.sums
        counts[: self.capacity] = self.counts
        self.sums, self.counts, self.capacity = sums, counts, new

    def add(self, slots: np.ndarray, buckets: np.ndarray, values: np.ndarray) -> None:
        """Add events (slot, bucket, values (n, n_values)) to their open buckets (one bincount per column)."""
        if slots.shape[0] == 0:
            return
        cells = slots * self.n_open + buckets % self.n_open
        size = self.capacity * self.n_open
        self.counts.reshape(-1)[:] += np.bincount(cells, minlength=size)
        flat = self.sums.reshape(size, self.n_values)
        for j in range(self.n_values):
            flat[:, j] += np.bincount(cells, weights=values[:, j], minlength=size)

    def take(self, bucket: int, n_slots: int) -> tuple[np.ndarray, np.ndarray]:
        """Sums (n_slots, n_values) and counts (n_slots,) of ``bucket``, which is cleared for reuse."""
        k = bucket % self.n_open
        sums = self.sums[:n_slots, k].copy()
        counts = self.counts[:n_slots, k].copy()
        self.sums[:, k] = 0.0
        self.counts[:, k] = 0
        return sums, counts

    def peek(self, slots: np.ndarray, buckets: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Current sums (m, n_values) and counts (m,) of the open ``buckets`` of ``slots``."""
        k = buckets % self.n_open
        return self.sums[slots, k], self.counts[slots, k]

    def state_dict(self) -> dict[str, Any]:
        return {"open_sums": self.sums, "open_counts": self.counts}

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        """Restore sums saved by :meth:`state_dict` (same shape per slot).

        Raises
        ------
        DataValidationError
            The saved arrays have another number of open buckets or value columns.
        """
        sums, counts = np.asarray(state["open_sums"]), np.asarray(state["open_counts"])
        if sums.shape[1:] != (self.n_open, self.n_values):
            raise DataValidationError.for_parameter("state", "saved open buckets have another shape",
                                                    tuple(sums.shape))
        self.sums, self.counts, self.capacity = sums.copy(), counts.copy(), int(sums.shape[0])
