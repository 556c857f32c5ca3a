"""Anomaly detection: PyOD detectors on the GPU contract, native ECOD/COPOD, per-series and
residual detection, thresholds without labels, alarms, explanations and evaluation.

The verb is split by concern (the module passed 1,200 lines):

* :mod:`~toolkit.anomaly.scoring` -- PyOD's detector contract written once (input checks,
  ``threshold_``/``labels_``, ``predict``/``predict_proba``), the mixin of every detector class;
* :mod:`~toolkit.anomaly.native` -- ECOD and COPOD on the array namespace (numpy | CuPy),
  equal to PyOD's scores, sorted once at fit; the grouped ECDF kernel;
* :mod:`~toolkit.anomaly.rules` -- robust z, IQR fences, rolling Hampel, seasonal-hybrid ESD as
  segment kernels, and the rule detectors;
* :mod:`~toolkit.anomaly.detectors` -- PyOD's detectors by import path (cuML IsolationForest on
  GPU, the batched autoencoder);
* :mod:`~toolkit.anomaly.registry` -- the detector registry (name -> class, kind, minimum rows,
  rule, scorer), :func:`make_detector`, ``DETECTORS``;
* :mod:`~toolkit.anomaly.thresholds` -- :func:`apply_threshold`, :func:`segment_threshold`;
* :mod:`~toolkit.anomaly.detect` -- :func:`detect` on frames (per group, ensembles, Dask);
* :mod:`~toolkit.anomaly.residual` -- :func:`residual_anomalies` against forecast intervals;
* :mod:`~toolkit.anomaly.alarms` -- :func:`alarms` (incidents) and :func:`explain`;
* :mod:`~toolkit.anomaly.evaluate` -- :func:`evaluate` against the generator's truth;
* :mod:`~toolkit.anomaly.domain` -- order lines, price changes, inventory shrink, carrier delays, click
  fraud.

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
from toolkit.anomaly.detect import detect
from toolkit.anomaly.registry import DETECTORS, DetectorInfo, make_detector, register
from toolkit.anomaly.domain import carrier_delays, click_fraud, inventory_shrink, order_line_anomalies, price_changes
from toolkit.anomaly.evaluate import evaluate
from toolkit.anomaly.native import COPOD, ECOD
from toolkit.anomaly.residual import residual_anomalies
from toolkit.anomaly.rules import IQR, RobustZ
from toolkit.anomaly.thresholds import apply_threshold, segment_threshold

__all__ = [
    "COPOD",
    "DETECTORS",
    "DetectorInfo",
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
    "price_changes",
    "register",
    "residual_anomalies",
    "segment_threshold",
]
