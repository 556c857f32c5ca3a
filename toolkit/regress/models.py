"""Named regressors that run where their data lives: the model table and :func:`make_model`.

Design choices (where the issue is silent):

* **One table.** :data:`MODELS` maps a name to a :class:`ModelInfo`: the scikit-learn-API
  class for host data, the one for device data (cuML, XGBoost on CUDA) and the one for Dask
  collections with GPU partitions, with their default parameters. Adding a model is one
  entry, e.g. ``MODELS["extra_trees"] = ModelInfo("sklearn.ensemble.ExtraTreesRegressor")``;
  :func:`make_model`, :class:`Model` and the forecasters read it.
  Classes are named by import path and imported at ``fit``, so an optional library
  (cuML, XGBoost, torch) costs nothing until used.
* **Placement at fit.** :class:`Model` chooses the class from where the training data lives
  (:func:`toolkit.panel.blocks.placement`): the ``gpu`` class for CuPy/cuDF input when it
  imports, the ``cpu`` class otherwise (device input is then copied to the host unless the
  class takes device arrays itself, ``device_input``); a Dask collection goes to a class that
  fits it out of core (``dask_input``, or ``dask_gpu`` on GPU partitions), anything else is
  refused (fit on a sample instead).
* **Optional libraries.** An entry may name the pip extra that installs its library
  (``extra``); a model whose library is missing is refused when it is made, naming the
  extra (``pip install 'toolkit[xgboost]'``), instead of failing at fit with an import
  error. XGBoost stays out of the base install: the ``xgboost`` extra brings the CPU-only
  wheel (``xgboost-cpu``, a tenth of the size), the ``gpu`` extras the full ``xgboost``
  with CUDA; the two must not be installed together (they ship the same module).
* **Gradient boosting for forecasting.** ``lightgbm`` and ``xgboost`` default to 500
  shallow-ish trees at learning rate 0.05 with row and column subsampling: many series
  pooled give plenty of rows, and a slower rate with more trees generalises better across
  series than the libraries' defaults (100 trees at 0.1 / 0.3). XGBoost trains on the GPU
  with ``device="cuda"`` for CuPy/cuDF data and with ``xgboost.dask`` on Dask collections
  (CPU or GPU partitions; it needs a ``distributed`` client).
* **Input contract.** ``fit`` refuses ``inf`` in ``X``, ``y`` or the weights and NaN in
  ``y``, naming the column; NaN in ``X`` is refused too unless the model handles missing
  values natively (``allow_nan``: gradient boosting). ``predict`` matches frame columns to
  ``feature_names_in_`` by name; ``NotFittedError`` before fit. Unknown names and unknown
  estimator parameters raise :class:`~toolkit.errors.DataValidationError`.

Examples
--------
>>> from toolkit.regress.models import MODELS
>>> MODELS["gradient_boosting"].cpu, MODELS["gradient_boosting"].gpu, MODELS["ridge"].dask_input
('sklearn.ensemble.HistGradientBoostingRegressor', 'xgboost.XGBRegressor', True)
"""

from __future__ import annotations

import dataclasses
import importlib
import importlib.util
from typing import Any, Mapping

import numpy as np
from sklearn.base import BaseEstimator, RegressorMixin

from toolkit import backend
from toolkit.errors import DataValidationError
from toolkit.panel import blocks, checks
from toolkit.regress.inputs import align_columns, check_values, column_names, require_fitted

__all__ = ["ModelInfo", "MODELS", "Model", "make_model", "importable", "require_library"]


@dataclasses.dataclass(frozen=True)
class ModelInfo:
    """How a named model is built on each kind of data.

    Parameters
    ----------
    cpu : str
        ``"module.Class"`` of the estimator for host data (the fallback everywhere).
    defaults : mapping
        The toolkit's default parameters of ``cpu`` (the user's parameters override them).
    gpu, gpu_defaults : str, mapping
        Estimator for CuPy/cuDF data, used when its module imports.
    dask_gpu, dask_gpu_defaults : str, mapping
        Estimator fitting Dask collections with GPU partitions out of core.
    dask_cpu, dask_cpu_defaults : str, mapping
        Estimator fitting Dask collections with host partitions out of core.
    device_input : bool
        ``cpu`` itself takes CuPy/cuDF input (no host copy).
    dask_input : bool
        ``cpu`` itself fits Dask collections out of core.
    allow_nan : bool
        ``cpu`` (and ``gpu``) handle NaN features natively.
    extra : str, optional
        The pip extra of the toolkit that installs the model's library, named when it is missing.
    """

    cpu: str
    defaults: Mapping[str, Any] = dataclasses.field(default_factory=dict)
    gpu: str | None = None
    gpu_defaults: Mapping[str, Any] = dataclasses.field(default_factory=dict)
    dask_gpu: str | None = None
    dask_gpu_defaults: Mapping[str, Any] = dataclasses.field(default_factory=dict)
    device_input: bool = False
    dask_input: bool = False
    allow_nan: bool = False
    dask_cpu: str | None = None
    dask_cpu_defaults: Mapping[str, Any] = dataclasses.field(default_factory=dict)
    extra: str | None = None


_BOOSTING = {"n_estimators": 500, "learning_rate": 0.05, "subsample": 0.8, "colsample_bytree": 0.8,
             "random_state": 0}
_XGBOOST = {**_BOOSTING, "max_depth": 6, "tree_method": "hist"}

MODELS: dict[str, ModelInfo] = {
    "ridge": ModelInfo("toolkit.regress.linear.Ridge", device_input=True, dask_input=True),
    "lasso": ModelInfo("sklearn.linear_model.Lasso", gpu="cuml.linear_model.Lasso",
                       dask_gpu="cuml.dask.linear_model.Lasso"),
    "elasticnet": ModelInfo("sklearn.linear_model.ElasticNet", gpu="cuml.linear_model.ElasticNet",
                            dask_gpu="cuml.dask.linear_model.ElasticNet"),
    "huber": ModelInfo("sklearn.linear_model.HuberRegressor"),
    "random_forest": ModelInfo("sklearn.ensemble.RandomForestRegressor", {"random_state": 0, "n_jobs": -1},
                               gpu="cuml.ensemble.RandomForestRegressor", gpu_defaults={"random_state": 0},
                               dask_gpu="cuml.dask.ensemble.RandomForestRegressor"),
    "gradient_boosting": ModelInfo("sklearn.ensemble.HistGradientBoostingRegressor", {"random_state": 0},
                                   gpu="xgboost.XGBRegressor",
                                   gpu_defaults={"device": "cuda", "tree_method": "hist", "random_state": 0},
                                   allow_nan=True),
    "lightgbm": ModelInfo("lightgbm.LGBMRegressor", {**_BOOSTING, "num_leaves": 31, "min_child_samples": 20,
                                                     "subsample_freq": 1, "verbose": -1}, allow_nan=True),
    "xgboost": ModelInfo("xgboost.XGBRegressor", _XGBOOST, gpu="xgboost.XGBRegressor",
                         gpu_defaults={**_XGBOOST, "device": "cuda"}, dask_gpu="xgboost.dask.DaskXGBRegressor",
                         dask_gpu_defaults={**_XGBOOST, "device": "cuda"}, dask_cpu="xgboost.dask.DaskXGBRegressor",
                         dask_cpu_defaults=_XGBOOST, allow_nan=True, extra="xgboost"),
    "mlp": ModelInfo("toolkit.regress.torch_models.TorchRegressor", {"kind": "mlp"}, device_input=True),
    "lstm": ModelInfo("toolkit.regress.torch_models.TorchRegressor", {"kind": "lstm"}, device_input=True),
}
"""Name -> :class:`ModelInfo` of every model :func:`make_model` builds (one entry per model)."""


def importable(module: str) -> bool:
    """True when ``module`` imports here (a GPU library may also fail to initialise)."""
    try:
        importlib.import_module(module)
        return True
    except Exception:  # ImportError, or a GPU library failing to initialise
        return False


def _module_of(path: str) -> str:
    return path.rsplit(".", 1)[0]


def require_library(name: str) -> None:
    """Refuse a model whose library is not installed, naming the pip extra that installs it.

    Raises
    ------
    DataValidationError
        Naming the parameter ``name`` and ``pip install 'toolkit[<extra>]'``.
    """
    info = MODELS[name]
    if info.extra is None:
        return
    root = info.cpu.split(".", 1)[0]
    if importlib.util.find_spec(root) is None:
        raise DataValidationError.for_parameter(
            "name", f"model {name!r} needs the {root} package, which is not installed: pip install "
                    f"'toolkit[{info.extra}]' (CPU) or 'toolkit[gpu]' (CUDA)", name)


def _construct(path: str, params: Mapping[str, Any], name: str) -> Any:
    module, cls = path.rsplit(".", 1)
    try:
        loaded = importlib.import_module(module)
    except ImportError as err:
        extra = MODELS[name].extra
        hint = f": pip install 'toolkit[{extra}]'" if extra else ""
        raise DataValidationError.for_parameter("name", f"model {name!r} needs {module}, which does not import "
                                                        f"({err}){hint}", name) from None
    estimator_class = getattr(loaded, cls)
    try:
        return estimator_class(**params)
    except TypeError as err:
        raise DataValidationError.for_parameter(
            "params", f"model {name!r} ({cls}) does not accept these parameters: {err}",
            sorted(params)) from None


class Model(RegressorMixin, BaseEstimator):
    """A named regressor that runs where its training data lives (see :func:`make_model`).

    Parameters
    ----------
    name : str
        One of :data:`MODELS`.
    **params
        Passed to the underlying estimator (scikit-learn, cuML, XGBoost or
        :class:`~toolkit.regress.TorchRegressor`), on top of the table's defaults.

    Attributes
    ----------
    estimator_ : the fitted underlying estimator
    device_ : {"cpu", "gpu"}
        Where the estimator ran.
    feature_names_in_ : list of str or None
    n_features_in_ : int
    """

    open_params = True
    """Any estimator parameter is accepted (checked when the estimator is built at fit)."""

    def __init__(self, name: str, **params: Any):
        self.name = checks.check_choice("name", name, MODELS)
        require_library(self.name)
        self.params = params

    def get_params(self, deep: bool = True) -> dict:
        return {"name": self.name, **self.params}

    def set_params(self, **params: Any) -> "Model":
        if "name" in params:
            self.name = checks.check_choice("name", params.pop("name"), MODELS)
            require_library(self.name)
        self.params = {**self.params, **params}
        return self

    def __sklearn_clone__(self) -> "Model":
        return type(self)(self.name, **self.params)

    @property
    def info(self) -> ModelInfo:
        """This model's entry of :data:`MODELS`."""
        return MODELS[self.name]

    def accepts_dask(self, on_gpu: bool) -> bool:
        """True when this model fits a Dask collection out of core: ``ridge`` always (blocked QR),
        ``lasso``/``elasticnet``/``random_forest`` on GPU partitions when ``cuml.dask`` imports,
        ``xgboost`` on any partitions (``xgboost.dask``)."""
        info = self.info
        if info.dask_input:
            return True
        path = info.dask_gpu if on_gpu else info.dask_cpu
        return path is not None and importable(_module_of(path))

    def _spec(self, on_gpu: bool, on_dask: bool = False) -> tuple[str, str, dict, bool]:
        """(module, class, defaults, host_copy) for this model and input location."""
        info = self.info
        if on_dask and not info.dask_input:
            if not self.accepts_dask(on_gpu):
                raise DataValidationError.for_parameter(
                    "X", f"model {self.name!r} cannot fit a Dask collection here: use 'ridge' or LinearRegression "
                         "(out of core on any backend), cuML's Dask estimators (lasso, elasticnet, random_forest on "
                         "GPU partitions with cuml installed), xgboost, or fit on a sample (Forecaster does: "
                         "dask_sample_rows)")
            path, defaults, host_copy = ((info.dask_gpu, info.dask_gpu_defaults, False) if on_gpu else
                                         (info.dask_cpu, info.dask_cpu_defaults, False))
        elif on_gpu and info.gpu is not None and importable(_module_of(info.gpu)):
            path, defaults, host_copy = info.gpu, info.gpu_defaults, False
        else:
            path, defaults, host_copy = info.cpu, info.defaults, on_gpu and not info.device_input
        module, cls = path.rsplit(".", 1)
        return module, cls, dict(defaults), host_copy

    def fit(self, X: Any, y: Any, sample_weight: Any = None) -> "Model":
        """Fit the estimator matching the input's location.

        Parameters
        ----------
        X, y : arrays or frames (NumPy/pandas -> scikit-learn; CuPy/cuDF -> cuML where it exists;
            Dask collections -> :meth:`accepts_dask` models only, cuML's Dask estimators on GPU)
        sample_weight : array, optional

        Returns
        -------
        self

        Raises
        ------
        DataValidationError
            Non-finite values (see the module docstring), a Dask collection this model cannot
            fit, parameters the estimator does not accept.
        """
        place = blocks.placement(X)
        module, cls, defaults, host_copy = self._spec(place.device == "gpu", place.lazy)
        if not place.lazy and (len(getattr(X, "shape", ())) != 3 or self.name != "lstm"):
            check_values(X, y, sample_weight, allow_nan=self.info.allow_nan)
        estimator = _construct(f"{module}.{cls}", {**defaults, **self.params}, self.name)
        if host_copy:
            X, y = backend.to_host(X), backend.to_host(y)
            sample_weight = None if sample_weight is None else backend.to_host(sample_weight)
        kwargs = {} if sample_weight is None else {"sample_weight": sample_weight}
        estimator.fit(X, y, **kwargs)
        self.estimator_ = estimator
        self.device_ = "gpu" if place.device == "gpu" and not host_copy else "cpu"
        self.host_copy_ = host_copy
        self.feature_names_in_ = column_names(X)
        shape = getattr(X, "shape", (0, 1))
        self.n_features_in_ = int(shape[1]) if len(shape) > 1 else 1
        return self

    def predict(self, X: Any) -> Any:
        """Predictions of the fitted estimator, on the device of the input.

        Frame columns are matched to ``feature_names_in_`` by name.

        Raises
        ------
        NotFittedError
            Before :meth:`fit`.
        DataValidationError
            A fitted column is missing or the number of columns differs.
        """
        require_fitted(self, "estimator_")
        if len(getattr(X, "shape", ())) != 3:
            X = align_columns(X, self.feature_names_in_, self.n_features_in_, f"model {self.name!r}")
        if self.host_copy_ and blocks.placement(X).device == "gpu":
            return backend.to_device(np.asarray(self.estimator_.predict(backend.to_host(X))))
        return self.estimator_.predict(X)


def make_model(name: str, **params: Any) -> Model:
    """A scikit-learn-API regressor by name that runs where the data is.

    Parameters
    ----------
    name : str
        A key of :data:`MODELS`: ``ridge`` (:class:`~toolkit.regress.Ridge`, NumPy, CuPy,
        Dask), ``lasso``, ``elasticnet``, ``huber`` (robust to outliers), ``random_forest``,
        ``gradient_boosting`` (HistGradientBoosting on CPU, XGBoost on GPU), ``lightgbm``,
        ``xgboost`` (CPU, CUDA with ``device="cuda"``, Dask with ``xgboost.dask``; the
        ``xgboost`` extra), ``mlp``/``lstm`` (:class:`~toolkit.regress.TorchRegressor`).
    **params
        Estimator parameters.

    Returns
    -------
    Model

    Raises
    ------
    DataValidationError
        Unknown ``name`` (the message lists the choices), or its library is not installed
        (the message names the pip extra).

    Examples
    --------
    >>> import numpy as np
    >>> from toolkit.regress import make_model
    >>> X = np.arange(20.0).reshape(-1, 1)
    >>> model = make_model("huber").fit(X, 2 * X[:, 0] + 1)
    >>> round(float(model.predict(np.array([[30.0]]))[0]), 2)
    61.0
    """
    return Model(name, **params)
