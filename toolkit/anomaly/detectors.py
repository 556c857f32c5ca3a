"""PyOD's detectors on the array contract: :class:`PyODModel` (where a PyOD class lives and how
to build it) and :class:`PyODDetector` (the fitted wrapper :func:`toolkit.anomaly.make_detector`
returns for them).

* PyOD's sklearn-based detectors have no GPU path: a CuPy input is copied to the host, fitted
  there, and scores come back as CuPy (input-type mirroring). A model may name a device
  class instead (``gpu=``): ``"iforest"`` on a CuPy input with cuML installed fits
  ``cuml.ensemble.IsolationForest`` on the device.
* ``"autoencoder"`` is PyOD's torch AutoEncoder (same network, loss, optimiser and score) with
  defaults chosen for tabular data of 10^5 rows: batch size 1024 (PyOD: 32), 5 epochs (PyOD:
  10), no progress bar, on CUDA when torch sees a GPU; any of these can be overridden. PyOD
  feeds the network through a per-row ``Dataset`` (one Python call and one small tensor per
  row and epoch), which costs more than the arithmetic at any batch size; ours normalises the
  data once, keeps it as one tensor and trains on shuffled slices of it, with torch on one
  CPU thread by default (``cpu_threads``), so 100k x 20 rows train in seconds on a CPU
  instead of minutes.

The wrapper follows PyOD's ``BaseDetector`` through
:class:`~toolkit.anomaly.scoring.OutlierScoresMixin`: ``fit`` returns self and sets
``decision_scores_``, ``threshold_`` and ``labels_``; ``decision_function`` and ``predict``
score new rows; NaN and inf are refused naming the feature. Which names exist is the
business of :mod:`toolkit.anomaly.registry`.

Examples
--------
>>> import numpy as np
>>> from toolkit.anomaly.detectors import PyODModel
>>> knn = PyODModel("pyod.models.knn", "KNN")
>>> X = np.random.default_rng(0).normal(size=(300, 4))
>>> knn(contamination=0.05, n_neighbors=7).fit(X).labels_.shape
(300,)
"""

from __future__ import annotations

import contextlib
import functools
import importlib
import inspect
from dataclasses import dataclass, field
from typing import Any, Callable, Mapping

from pyod.models.base import BaseDetector

from toolkit.anomaly.scoring import OutlierScoresMixin
from toolkit.backend import array_namespace, to_host
from toolkit.errors import DataValidationError

__all__ = ["PyODModel", "PyODDetector", "AUTOENCODER_DEFAULTS", "batched_autoencoder", "cuml_isolation_forest"]

AUTOENCODER_DEFAULTS: dict[str, Any] = {
    "batch_size": 1024,
    "epoch_num": 5,
    "lr": 1e-3,
    "hidden_neuron_list": [64, 32],
    "dropout_rate": 0.1,
    "verbose": 0,
    "random_state": 0,
}


def cuml_isolation_forest() -> Any:
    """cuML's IsolationForest class, or None when cuML is not installed."""
    try:
        return importlib.import_module("cuml.ensemble").IsolationForest
    except (ImportError, AttributeError):
        return None


@functools.lru_cache(maxsize=1)
def batched_autoencoder() -> type:
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


@dataclass(frozen=True)
class PyODModel:
    """A PyOD detector class by import path, with our defaults; calling it gives a :class:`PyODDetector`.

    Parameters
    ----------
    module, cls : str
        Where the class lives (imported on first use, so PyOD's heavy modules and torch load
        only when asked for).
    defaults : mapping
        Our defaults, overriding PyOD's (the caller's parameters override both).
    load : callable, optional
        Returns the class to use instead of ``module.cls`` (e.g. a faster subclass).
    gpu : callable, optional
        Returns a class that fits CuPy input on the device (``score_samples``: lower is more
        abnormal), or None when unavailable.
    attributes : tuple of str
        Parameters set as attributes after construction rather than passed to it.
    """

    module: str
    cls: str
    defaults: Mapping[str, Any] = field(default_factory=dict)
    load: Callable[[], type] | None = None
    gpu: Callable[[], Any] | None = None
    attributes: tuple[str, ...] = ()

    def __call__(self, contamination: float = 0.1, **params: Any) -> "PyODDetector":
        return PyODDetector(self, contamination=contamination, params=params)

    def host_class(self) -> type:
        """The PyOD class fitted on the host."""
        return self.load() if self.load is not None else getattr(importlib.import_module(self.module), self.cls)

    def parameter_names(self) -> tuple[str, ...]:
        """Keyword parameters the detector accepts besides ``contamination``."""
        signature = inspect.signature(self.host_class().__init__)
        names = [n for n, p in signature.parameters.items()
                 if n not in ("self", "contamination") and p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)]
        return tuple(names) + self.attributes

    def build(self, contamination: float, params: Mapping[str, Any], on_gpu: bool) -> Any:
        """An unfitted detector: the device class for CuPy input when there is one, else PyOD's."""
        params = {**self.defaults, **params}
        device_cls = self.gpu() if (on_gpu and self.gpu is not None) else None
        if device_cls is not None:
            return device_cls(**{k: v for k, v in params.items() if k not in self.attributes})
        attributes = {k: params.pop(k) for k in self.attributes if k in params}
        try:
            detector = self.host_class()(contamination=contamination, **params)
        except TypeError as err:
            raise DataValidationError.for_parameter(
                "params", f"{self.cls} rejects them ({err})", sorted(params), self.parameter_names()) from None
        for name, value in attributes.items():
            setattr(detector, name, value)
        return detector


class PyODDetector(OutlierScoresMixin, BaseDetector):
    """A PyOD detector that honours the array contract (NumPy or CuPy in, same out).

    Parameters
    ----------
    model : PyODModel
        Which PyOD class, with which defaults.
    contamination : float in (0, 0.5], default 0.1
    params : dict, optional
        Keyword arguments of the underlying PyOD (or cuML) detector.

    Attributes
    ----------
    detector_ : object
        The fitted PyOD detector (or the device class on the GPU path).
    decision_scores_, threshold_, labels_ :
        As in PyOD, in the namespace of the training input.
    """

    def __init__(self, model: PyODModel, contamination: float = 0.1, params: dict | None = None):
        self.model = model
        self.contamination = contamination
        self.params = params

    def _fit(self, X: Any) -> None:
        gpu = not array_namespace(X).__name__.endswith("numpy")
        self.detector_ = self.model.build(self._contamination, dict(self.params or {}), gpu)
        self._on_device = gpu and not type(self.detector_).__module__.startswith("pyod")
        if self._on_device:
            self.detector_.fit(X)
            self.decision_scores_ = self._scores(X)
            return
        try:
            self.detector_.fit(to_host(X))
        except ValueError as err:  # e.g. fewer rows than n_neighbors
            raise DataValidationError.for_parameter("X", f"{self.model.cls} cannot fit it: {err}",
                                                    tuple(X.shape)) from None
        self.decision_scores_ = self._like(X, self.detector_.decision_scores_)

    @staticmethod
    def _like(X: Any, scores: Any) -> Any:
        """Host ``scores`` as float64 in ``X``'s namespace."""
        xp = array_namespace(X)
        return xp.astype(xp.asarray(scores), xp.float64)

    def _scores(self, X: Any) -> Any:
        if self._on_device:  # device classes: lower score_samples means more abnormal
            return -self.detector_.score_samples(X)
        return self._like(X, self.detector_.decision_function(to_host(X)))
