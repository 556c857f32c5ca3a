"""Carrier monitor: deliveries -> the mean delay of each lane per bucket, alerting on delayed lanes.

:class:`CarrierMonitor` reads delivery events (:data:`~toolkit.stream.schema.SHIPMENTS`):
each shipment's delay is ``actual_days - promised_days``; per lane (carrier, zone) and bucket
(a day by default) the monitor sums the delays and counts the deliveries. A lane's bucket
value is its mean delay (missing when nothing was delivered); its baseline is the robust
median and scale of its last ``baseline_window`` bucket means -- the rule of the batch
detector :func:`toolkit.anomaly.carrier_delays` (robust z of the lane-day mean delay within
the lane, ``k = 3.5``, at least ``min_shipments`` shipments), applied as the deliveries come:

* ``carrier_delay`` -- as soon as the deliveries of an open bucket number ``min_shipments``
  and their mean delay is more than ``threshold`` robust scales above the lane's usual, and
  once more when a bucket closes before it was checked. A slow lane is not an anomaly; a lane
  slower than usual is.

Examples
--------
>>> import numpy as np, pandas as pd
>>> from toolkit.stream.lanes import CarrierMonitor
>>> hist = pd.DataFrame({"carrier": "FastShip", "zone": 3, "ship_date": pd.date_range("2024-01-01", periods=20),
...                      "promised_days": 2, "actual_days": np.tile([2, 3], 10)})
>>> mon = CarrierMonitor().fit(hist)
>>> float(mon.center[0]), float(mon.scale[0])
(0.5, 0.7413)
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from toolkit import panel
from toolkit.features import FeatureSpec
from toolkit.stream.alerts import make_alerts
from toolkit.stream.bucketed import BucketedMonitor
from toolkit.stream.schema import SHIPMENTS, EventSchema, time_ns

__all__ = ["CarrierMonitor"]

_NO_FEATURES = FeatureSpec(lags=(), rolling={}, calendar=(), fourier=())


class CarrierMonitor(BucketedMonitor):
    """Mean delivery delay per lane and bucket (see the module docstring).

    Parameters
    ----------
    freq : str, default "D"
    lateness : str, default "1h"
    threshold : float, default 3.5
        Robust z cut (the ``k`` of :func:`toolkit.anomaly.carrier_delays`).
    min_shipments : int, default 3
    baseline_window : int, default 28
    min_history : int, default 5
        Lane buckets with deliveries the baseline needs.
    min_scale : float, default 0.25
        Floor of the robust scale, in days.
    schema : EventSchema, default SHIPMENTS
        Value columns: promised days, then actual days.

    Raises
    ------
    DataValidationError
        A parameter out of range.
    """

    monotone = False  # a running mean delay moves both ways

    def __init__(self, freq: Any = "D", lateness: Any = "1h", threshold: float = 3.5, min_shipments: int = 3,
                 baseline_window: int = 28, min_history: int = 5, min_scale: float = 0.25,
                 schema: EventSchema = SHIPMENTS):
        super().__init__(schema, _NO_FEATURES, freq, lateness, baseline_window, min_history, min_scale, threshold)
        self.min_shipments = panel.check_int("min_shipments", min_shipments, minimum=1)

    def summed(self) -> tuple[str, ...]:
        return ("delay_days",)

    def event_values(self, values: np.ndarray) -> np.ndarray:
        return values[:, 1:2] - values[:, 0:1]

    def bucket_value(self, sums: np.ndarray, counts: np.ndarray) -> np.ndarray:
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.where(counts > 0, sums[:, 0] / np.maximum(counts, 1), np.nan)

    def fit(self, history: Any, time_col: str = "ship_date") -> "CarrierMonitor":
        """Warm start from past shipments (e.g. the ``shipments`` table), before any event.

        Each shipment counts in the bucket of ``time_col``.

        Returns
        -------
        self

        Raises
        ------
        DataValidationError
            Not a pandas frame, missing or non-numeric columns, infinite days, missing keys or
            times, history given after events.
        """
        keys = list(self.schema.keys)
        promised, actual = self.schema.values[:2]
        panel.check_frame(history, "history", dask=False)
        panel.require_columns(history, [*keys, time_col, promised, actual], "to warm the carrier monitor")
        panel.require_numeric(history, [promised, actual], "to warm the carrier monitor")
        panel.require_datetime(history, time_col)
        panel.require_not_null(history, [*keys, time_col], keys, "to place history rows")
        panel.require_finite(history, [promised, actual], keys, purpose="to warm the carrier monitor")
        frame = pd.DataFrame({**{k: history[k].astype(str).to_numpy() for k in keys},
                              "_b": time_ns(history[time_col]) // self.freq_ns,
                              "_d": panel.values(history, actual) - panel.values(history, promised)})
        means = frame.groupby([*keys, "_b"], sort=False)["_d"].mean().reset_index()
        self.fit_buckets({k: means[k].to_numpy() for k in keys}, means["_b"].to_numpy(), means["_d"].to_numpy())
        return self

    def open_flags(self, slots: np.ndarray, values: np.ndarray, counts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        z = self.robust_z(slots, values)
        return np.isfinite(z) & (z > self.threshold) & (counts >= self.min_shipments), z

    def open_alert_frame(self, slots: np.ndarray, buckets: np.ndarray, times: np.ndarray, values: np.ndarray,
                         counts: np.ndarray, score: np.ndarray, arrival: np.ndarray) -> pd.DataFrame:
        return self._alerts(slots, buckets, times, values, counts, arrival)

    def closed_alerts(self, bucket: int, slots: np.ndarray, values: np.ndarray, counts: np.ndarray,
                      arrival: float) -> list[pd.DataFrame]:
        flags, _ = self.open_flags(slots, values, counts)
        hit = np.flatnonzero(flags & ~self.alerted[slots, bucket % self.clock.n_open])
        if hit.shape[0] == 0:
            return []
        m = hit.shape[0]
        return [self._alerts(slots[hit], np.full(m, bucket), np.full(m, (bucket + 1) * self.freq_ns - 1),
                             values[hit], counts[hit], np.full(m, arrival))]

    def _alerts(self, slots: np.ndarray, buckets: np.ndarray, times: np.ndarray, values: np.ndarray,
                counts: np.ndarray, arrival: np.ndarray) -> pd.DataFrame:
        z = self.robust_z(slots, values)
        center = self.center[slots]
        reason = [f"{int(c)} deliveries {v:+.1f} days late on average; usual {m:+.1f} (robust z {zz:+.1f})"
                  for c, v, m, zz in zip(counts.tolist(), values.tolist(), center.tolist(), z.tolist())]
        return make_alerts("carrier_delay", self.stream, self.registry.labels(slots), event_time=times, score=z,
                           value=values, expected=center, reason=reason, bucket=buckets, arrival=arrival)
