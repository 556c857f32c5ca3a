"""Real-time response: a micro-batch streaming engine from order, stock and delivery events to alerts.

The engine (:class:`StreamEngine`) reads events from a source -- a replay of frames or
Parquet data (:class:`ReplaySource`), Redis Streams (:class:`RedisStreamSource`) or Kafka
(:class:`KafkaSource`) -- in micro-batches, validates them (malformed ones go to a
dead-letter sink with their reason), and updates one monitor per stream:

* :class:`DemandMonitor` (order lines): units per series and bucket, the features of a
  :class:`~toolkit.features.FeatureSpec` updated in O(1) per row and equal to
  :func:`~toolkit.features.build_features` on the same history
  (:class:`~toolkit.stream.windows.IncrementalWindows`), demand spikes (while the day is
  running) and drops (when it closes) by robust z or a fitted ECOD/COPOD, and forecasts
  refreshed bucket by bucket;
* :class:`InventoryMonitor` (stock counts, and the order lines): shrink, stock-out risk and a
  live reorder plan from :func:`toolkit.decisions.inventory.reorder_point`;
* :class:`CarrierMonitor` (deliveries): lanes slower than usual.

Alerts (:mod:`~toolkit.stream.alerts`) carry keys, score, reason and event time, and go to
sinks: a frame in memory, Parquet files, a callback, Redis or Kafka topics. Checkpoints
(:class:`CheckpointStore`) save the state with the offsets it covers, so a restarted engine
resumes without losing or double-counting an event; late and out-of-order events within the
allowed lateness are applied, later ones reported.

Arrays: the per-series window state (:class:`~toolkit.stream.windows.IncrementalWindows`) is
array-API code that runs on NumPy or, given ``xp=cupy``, on the GPU, and the baselines go
through the segment kernels of :mod:`toolkit.kernels`; the monitors themselves keep their
state on the host (NumPy): a micro-batch of events is read and validated on the host anyway,
and per-bucket work over tens of thousands of series takes milliseconds there.
:class:`LiveDashboard` shows the stream
in JupyterLab (ipywidgets, imported only when it is built) and renders a static snapshot for
HTML reports.

Modules: :mod:`~toolkit.stream.schema` (events, batches, validation), :mod:`~toolkit.stream.keys`
(series slots), :mod:`~toolkit.stream.buckets` (watermark and lateness),
:mod:`~toolkit.stream.windows` (incremental features), :mod:`~toolkit.stream.bucketed`,
:mod:`~toolkit.stream.demand`, :mod:`~toolkit.stream.inventory`, :mod:`~toolkit.stream.lanes`
(monitors), :mod:`~toolkit.stream.engine`, :mod:`~toolkit.stream.checkpoint`,
:mod:`~toolkit.stream.sources`, :mod:`~toolkit.stream.sinks`, :mod:`~toolkit.stream.codec`,
:mod:`~toolkit.stream.redis_io`, :mod:`~toolkit.stream.kafka_io`,
:mod:`~toolkit.stream.scenario` (replays of the generated data with incidents),
:mod:`~toolkit.stream.dashboard`.

Examples
--------
>>> import pandas as pd
>>> import toolkit.stream as ts
>>> hist = pd.DataFrame({"sku": "a", "location": "web", "date": pd.date_range("2024-01-01", periods=28),
...                      "units": 5.0})
>>> orders = pd.DataFrame({"sku": "a", "location": "web", "quantity": [40.0],
...                        "order_ts": pd.to_datetime(["2024-01-29 09:00"])})
>>> alerts = ts.MemorySink()
>>> _ = ts.StreamEngine([ts.DemandMonitor().fit(hist)], alerts=alerts).run(ts.ReplaySource({"orders": orders}))
>>> alerts.frame()[["type", "key"]].values.tolist()
[['demand_spike', 'sku=a location=web']]
"""

from toolkit.stream.alerts import ALERT_COLUMNS, ALERT_TYPES, evaluate_alerts
from toolkit.stream.checkpoint import CheckpointStore
from toolkit.stream.dashboard import LiveDashboard
from toolkit.stream.demand import DemandMonitor
from toolkit.stream.engine import BatchReport, RunReport, StreamEngine
from toolkit.stream.inventory import InventoryMonitor
from toolkit.stream.lanes import CarrierMonitor
from toolkit.stream.schema import INVENTORY, ORDERS, SHIPMENTS, EventBatch, EventSchema
from toolkit.stream.sinks import CallbackSink, MemorySink, ParquetSink
from toolkit.stream.sources import ReplaySource, Source
from toolkit.stream.windows import IncrementalWindows

__all__ = [
    "ALERT_COLUMNS",
    "ALERT_TYPES",
    "BatchReport",
    "CallbackSink",
    "CarrierMonitor",
    "CheckpointStore",
    "DemandMonitor",
    "EventBatch",
    "EventSchema",
    "INVENTORY",
    "IncrementalWindows",
    "InventoryMonitor",
    "LiveDashboard",
    "MemorySink",
    "ORDERS",
    "ParquetSink",
    "ReplaySource",
    "RunReport",
    "SHIPMENTS",
    "Source",
    "StreamEngine",
    "evaluate_alerts",
]
