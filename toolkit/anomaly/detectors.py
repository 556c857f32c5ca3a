"""``make_detector``: PyOD detectors by name, placed where the data lives.

* ``"ecod"`` and ``"copod"`` are the native array-namespace detectors of
  :mod:`toolkit.anomaly.native` (numpy or CuPy, same scores as PyOD, much faster).
* ``"robust_z"`` and ``"iqr"`` are the rule detectors of :mod:`toolkit.anomaly.rules`.
* ``"iforest"``, ``"hbos"``, ``"knn"``, ``"lof"``, ``"pca"`` and ``"autoencoder"`` are PyOD's.
  PyOD's sklearn-based detectors have no GPU path: a CuPy input is copied to the host, fitted
  there, and scores come back as CuPy (input-type mirroring). The exception is
  ``"iforest"`` on a CuPy input with cuML installed, which fits
  ``cuml.ensemble.IsolationForest`` on the device.
* ``"autoencoder"`` is PyOD's torch AutoEncoder (same network, loss, optimiser and score) with
  defaults chosen for tabular data of 10^5 rows: batch size 1024 (PyOD: 32), 5 epochs (PyOD:
  10), no progress bar, on CUDA when torch sees a GPU; any of these can be overridden. PyOD
  feeds the network through a per-row ``Dataset`` (one Python call and one small tensor per
  row and epoch), which costs more than the arithmetic at any batch size; ours normalises the
  data once, keeps it as one tensor and trains on shuffled slices of it, with torch on one
  CPU thread by default (``cpu_threads``), so 100k x 20 rows train in seconds on a CPU
  instead of minutes.

Every detector returned follows PyOD's ``BaseDetector``: ``fit`` returns self and sets
``decision_scores_``, ``threshold_`` and ``labels_``; ``decision_function`` and ``predict``
score new rows.

Examples
--------
>>> import numpy as np
>>> from toolkit.anomaly import make_detector
>>> X = np.random.default_rng(0).normal(size=(300, 4))
>>> det = make_detector("iforest", contamination=0.05, random_state=0).fit(X)
>>> det.labels_.shape
(300,)
"""

from __future__ import annotations

import contextlib
import importlib
from typing import Any

from pyod.models.base import BaseDetector

from toolkit.anomaly.native import COPOD, ECOD, check_contamination
from toolkit.anomaly.rules import IQR, RobustZ
from toolkit.kernels.segments import quantile
from toolkit.backend import array_namespace, is_gpu, to_host

__all__ = ["make_detector", "DETECTORS", "PyODDetector", "AUTOENCODER_DEFAULTS"]

AUTOENCODER_DEFAULTS: dict[str, Any] = {
    "batch_size": 1024,
    "epoch_num": 5,
    "lr": 1e-3,
    "hidden_neuron_list": [64, 32],
    "dropout_rate": 0.1,
    "verbose": 0,
    "random_state": 0,
}

_PYOD = {
    "iforest": ("pyod.models.iforest", "IForest"),
    "hbos": ("pyod.models.hbos", "HBOS"),
    "knn": ("pyod.models.knn", "KNN"),
    "lof": ("pyod.models.lof", "LOF"),
    "pca": ("pyod.models.pca", "PCA"),
    "autoencoder": ("pyod.models.auto_encoder", "AutoEncoder"),
}
_NATIVE = {"ecod": ECOD, "copod": COPOD, "robust_z": RobustZ, "iqr": IQR}
DETECTORS = tuple(sorted([*_PYOD, *_NATIVE]))


def _cuml_isolation_forest() -> Any:
    try:
        return importlib.import_module("cuml.ensemble").IsolationForest
    except (ImportError, AttributeError):
        return None


def _batched_autoencoder() -> type:
    """PyOD's AutoEncoder trained and scored on slices of one preloaded tensor (torch imported here)."""
    import numpy as np
    import torch
    from pyod.models.auto_encoder import AutoEncoder
    from sklearn.utils import check_array

    class BatchedAutoEncoder(AutoEncoder):
        """PyOD's AutoEncoder without the per-row ``Dataset``: batches are tensor slices.

        ``cpu_threads`` (an attribute, default 1; ``make_detector`` accepts it as a keyword)
        caps torch's intra-op threads while fitting and scoring on the CPU, restored
        afterwards: layers of 64 units gain nothing from more threads, and OpenMP workers spin
        when the cores are shared with other processes or Dask workers.
        """

        cpu_threads: int | None = 1

        @contextlib.contextmanager
        def _threads(self) -> Any:
            before = torch.get_num_threads()
            if self.cpu_threads and str(self.device).startswith("cpu"):
                torch.set_num_threads(int(self.cpu_threads))
            try:
                yield
            finally:
                torch.set_num_threads(before)

        def _tensor(self, X: Any) -> Any:
            X = check_array(X)
            if self.preprocessing:
                X = (X - self.X_mean) / (self.X_std + 1e-8)
            return torch.as_tensor(X, dtype=torch.float32)

        def fit(self, X: Any, y: Any = None) -> "BatchedAutoEncoder":
            with self._threads():
                return self._fit(X, y)

        def _fit(self, X: Any, y: Any) -> "BatchedAutoEncoder":
            X = check_array(X)
            self._set_n_classes(y)
            self._set_seed(self.random_state)
            self.data_num, self.feature_size = X.shape
            self.build_model()
            self.training_prepare()
            if self.preprocessing:
                self.X_mean, self.X_std = np.mean(X, axis=0), np.std(X, axis=0)
            data = self._tensor(X)
            order = torch.Generator().manual_seed(int(self.random_state or 0))
            size = self.batch_size
            n_batches = max(1, data.shape[0] // size)  # full batches, as PyOD's drop_last
            for _ in range(self.epoch_num):
                perm = torch.randperm(data.shape[0], generator=order)
                for b in range(n_batches):
                    self.training_forward(data[perm[b * size:(b + 1) * size]])
                self.epoch_update()
            self.decision_scores_ = self.decision_function(X)
            self._process_decision_scores()
            return self

        def decision_function(self, X: Any, batch_size: int | None = None) -> Any:
            with self._threads():
                return self._score(X, batch_size)

        def _score(self, X: Any, batch_size: int | None) -> Any:
            data = self._tensor(X)
            size = batch_size or self.batch_size
            self.evaluating_prepare()
            with torch.no_grad():
                scores = [self.evaluating_forward(data[i:i + size]) for i in range(0, data.shape[0], size)]
            return self.decision_function_update(np.concatenate(scores))

    return BatchedAutoEncoder


class PyODDetector(BaseDetector):
    """A PyOD detector chosen by name that honours the array contract.

    Parameters
    ----------
    name : str
        One of ``"iforest", "hbos", "knn", "lof", "pca", "autoencoder"``.
    contamination : float in (0, 0.5], default 0.1
    params : dict, optional
        Keyword arguments of the underlying PyOD (or cuML) detector.

    Attributes
    ----------
    detector_ : object
        The fitted PyOD detector (or cuML IsolationForest on the GPU path).
    decision_scores_, threshold_, labels_ :
        As in PyOD, in the namespace of the training input.
    """

    def __init__(self, name: str, contamination: float = 0.1, params: dict | None = None):
        self.name = name
        self.contamination = contamination
        self.params = params

    def _build(self, on_gpu: bool) -> Any:
        params = dict(self.params or {})
        if self.name == "iforest" and on_gpu:
            cuml_if = _cuml_isolation_forest()
            if cuml_if is not None:
                return cuml_if(**params)
        if self.name == "autoencoder":
            params = {**AUTOENCODER_DEFAULTS, **params}
            threads = params.pop("cpu_threads", 1)
            detector = _batched_autoencoder()(contamination=self._contamination, **params)
            detector.cpu_threads = threads
            return detector
        module, cls = _PYOD[self.name]
        return getattr(importlib.import_module(module), cls)(contamination=self._contamination, **params)

    def _raw_scores(self, X: Any) -> Any:
        if self._on_device:  # cuML: lower score_samples means more abnormal
            return -self.detector_.score_samples(X)
        xp = array_namespace(X)
        scores = self.detector_.decision_function(to_host(X))
        return xp.asarray(scores) if is_gpu(X) else scores

    def fit(self, X: Any, y: Any = None) -> "PyODDetector":
        """Fit the underlying detector (on the host unless the cuML path applies).

        Returns
        -------
        self
        """
        self._contamination = check_contamination(self.contamination)
        self._set_n_classes(y)
        gpu = is_gpu(X)
        self.detector_ = self._build(gpu)
        self._on_device = gpu and not type(self.detector_).__module__.startswith("pyod")
        self.detector_.fit(X if self._on_device else to_host(X))
        xp = array_namespace(X)
        if self._on_device:
            self.decision_scores_ = self._raw_scores(X)
        else:
            scores = self.detector_.decision_scores_
            self.decision_scores_ = xp.asarray(scores) if gpu else scores
        self.threshold_ = float(quantile(self.decision_scores_, 1.0 - self._contamination))
        self.labels_ = xp.astype(self.decision_scores_ > self.threshold_, xp.int64)
        self._mu = float(xp.mean(self.decision_scores_))
        self._sigma = float(xp.std(self.decision_scores_))
        return self

    def decision_function(self, X: Any) -> Any:
        """Anomaly scores of ``X``, returned in ``X``'s namespace."""
        return self._raw_scores(X)

    def predict(self, X: Any, return_confidence: bool = False) -> Any:
        """0/1 labels: 1 where the score exceeds ``threshold_``."""
        if return_confidence:
            return self.detector_.predict(to_host(X), return_confidence=True)
        xp = array_namespace(X)
        return xp.astype(self.decision_function(X) > self.threshold_, xp.int64)


def make_detector(name: str, contamination: float = 0.1, **params: Any) -> BaseDetector:
    """A PyOD-API detector by name.

    Parameters
    ----------
    name : str
        ``"ecod"``, ``"copod"`` (native, numpy/CuPy), ``"robust_z"``, ``"iqr"`` (rules),
        ``"iforest"`` (cuML on CuPy input when installed, else PyOD), ``"hbos"``, ``"knn"``,
        ``"lof"``, ``"pca"``, ``"autoencoder"`` (PyOD; torch for the autoencoder).
    contamination : float in (0, 0.5], default 0.1
        Share of outliers that sets ``threshold_`` (PyOD semantics).
    **params
        Passed to the detector (e.g. ``n_neighbors`` for knn/lof, ``epoch_num`` for the
        autoencoder, ``random_state`` for iforest).

    Returns
    -------
    BaseDetector
        Unfitted detector with ``fit``, ``decision_function``, ``predict``; after fitting
        ``decision_scores_``, ``threshold_`` and ``labels_``.

    Raises
    ------
    DataValidationError
        ``contamination`` outside (0, 0.5].
    ValueError
        Unknown ``name``.

    Examples
    --------
    >>> import numpy as np
    >>> from toolkit.anomaly import make_detector
    >>> X = np.random.default_rng(0).normal(size=(200, 3))
    >>> make_detector("ecod", contamination=0.05).fit(X).labels_.sum()
    np.int64(10)
    """
    check_contamination(contamination)
    key = str(name).lower()
    if key in _NATIVE:
        if params:
            raise TypeError(f"detector {key!r} takes no parameters besides contamination, got {sorted(params)}")
        return _NATIVE[key](contamination=contamination)
    if key in _PYOD:
        return PyODDetector(key, contamination=contamination, params=params)
    raise ValueError(f"unknown detector {name!r}; choose one of {DETECTORS}")
