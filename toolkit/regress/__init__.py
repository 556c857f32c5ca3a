"""Regression: least-squares estimators, a model table, forecast metrics and time-series selection.

The package by concern:

* :mod:`~toolkit.regress.inputs` -- the input contract of every estimator (arrays and frames
  in, non-finite values refused naming the column, columns matched by name at predict);
* :mod:`~toolkit.regress.linear` -- :class:`LinearRegression`, :class:`Ridge`,
  :class:`RidgeCV` on the blocked-QR kernel of :mod:`toolkit.kernels.lstsq` (NumPy, CuPy,
  Dask out of core);
* :mod:`~toolkit.regress.models` -- :data:`MODELS` (name -> :class:`ModelInfo`),
  :class:`Model` and :func:`make_model`: scikit-learn, cuML, XGBoost or torch by where the
  data lives;
* :mod:`~toolkit.regress.torch_models` -- :class:`TorchRegressor` (MLP, LSTM);
* :mod:`~toolkit.regress.metrics` -- :func:`mae`, :func:`wape`... and :data:`METRICS`;
* :mod:`~toolkit.regress.selection` -- :func:`evaluate`, :func:`time_series_splits`,
  :func:`search`, :func:`permutation_importance`.

Examples
--------
>>> import numpy as np
>>> from toolkit import regress
>>> X = np.arange(40.0).reshape(-1, 2)
>>> model = regress.make_model("ridge", alpha=1e-9).fit(X, X @ [1.0, 0.5])
>>> round(regress.mae(X @ [1.0, 0.5], model.predict(X)), 6)
0.0
"""

from toolkit.regress.linear import LinearRegression, Ridge, RidgeCV
from toolkit.regress.metrics import METRICS, bias, coverage, mae, mape, mase, mse, pinball_loss, rmse, smape, wape
from toolkit.regress.models import MODELS, Model, ModelInfo, make_model
from toolkit.regress.selection import Evaluation, SearchResult, evaluate, permutation_importance, search, \
    time_series_splits
from toolkit.regress.torch_models import TorchRegressor

__all__ = [
    "LinearRegression",
    "Ridge",
    "RidgeCV",
    "Model",
    "ModelInfo",
    "TorchRegressor",
    "make_model",
    "MODELS",
    "mae",
    "mse",
    "rmse",
    "mape",
    "smape",
    "wape",
    "mase",
    "bias",
    "pinball_loss",
    "coverage",
    "METRICS",
    "evaluate",
    "Evaluation",
    "time_series_splits",
    "search",
    "SearchResult",
    "permutation_importance",
]
