"""Anomaly detection: PyOD detectors on the GPU contract, native ECOD/COPOD, per-series and
residual detection, thresholds without labels, alarms, explanations and evaluation.

The verb is split by concern (the module passed 1,200 lines):

* :mod:`~toolkit.anomaly.native` -- ECOD and COPOD on the array namespace (numpy | CuPy),
  equal to PyOD's scores, sorted once at fit; the grouped ECDF kernel;
* :mod:`~toolkit.anomaly.rules` -- robust z, IQR fences, rolling Hampel, seasonal-hybrid ESD as
  segment kernels, and the rule detectors;
* :mod:`~toolkit.anomaly.detectors` -- :func:`make_detector` (PyOD, cuML IsolationForest on GPU);
* :mod:`~toolkit.anomaly.detect` -- :func:`detect` on frames (per group, ensembles, thresholds,
  Dask);
* :mod:`~toolkit.anomaly.residual` -- :func:`residual_anomalies` against forecast intervals;
* :mod:`~toolkit.anomaly.alarms` -- :func:`alarms` (incidents) and :func:`explain`;
* :mod:`~toolkit.anomaly.evaluate` -- :func:`evaluate` against the generator's truth;
* :mod:`~toolkit.anomaly.domain` -- order lines, inventory shrink, carrier delays, click fraud.

Examples
--------
>>> import numpy as np, pandas as pd
>>> import toolkit as tk
>>> df = pd.DataFrame({"units": np.r_[np.random.default_rng(0).normal(10, 1, 99), 40.0]})
>>> out = tk.anomaly.detect(df, "units", method="robust_z")
>>> int(out["anomaly_rank"].idxmin())
99
"""

from toolkit.anomaly.alarms import alarms, explain
from toolkit.anomaly.detect import apply_threshold, detect, segment_threshold
from toolkit.anomaly.detectors import DETECTORS, make_detector
from toolkit.anomaly.domain import carrier_delays, click_fraud, inventory_shrink, order_line_anomalies
from toolkit.anomaly.evaluate import evaluate
from toolkit.anomaly.native import COPOD, ECOD
from toolkit.anomaly.residual import residual_anomalies
from toolkit.anomaly.rules import IQR, RobustZ

__all__ = [
    "COPOD",
    "DETECTORS",
    "ECOD",
    "IQR",
    "RobustZ",
    "alarms",
    "apply_threshold",
    "carrier_delays",
    "click_fraud",
    "detect",
    "evaluate",
    "explain",
    "inventory_shrink",
    "make_detector",
    "order_line_anomalies",
    "residual_anomalies",
    "segment_threshold",
]
