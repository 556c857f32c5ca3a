"""Forecasting: one global model over many series, baselines, backtests and conformal intervals.

The package by concern:

* :mod:`~toolkit.forecast.base` -- what every forecaster shares: the input contract, the
  calendar time axis (``freq`` inferred or given, spacing checked, future dates on the
  calendar), stock-outs, the future grid and the output frame;
* :mod:`~toolkit.forecast.forecaster` -- :class:`Forecaster`, the global regression model
  (recursive or direct), and :mod:`~toolkit.forecast.dask_fit`, its out-of-core fit;
* :mod:`~toolkit.forecast.training` -- the fitting steps both fits share (transformed target,
  rows left out of training, tail buffer);
* :mod:`~toolkit.forecast.transforms` -- invertible target transforms (``log1p``, ``scale``,
  ``diff``) as composable objects;
* :mod:`~toolkit.forecast.baselines` -- :class:`Naive`, :class:`SeasonalNaive`,
  :class:`MovingAverage`, :class:`Croston`;
* :mod:`~toolkit.forecast.intervals` -- conformal quantiles from backtest residuals;
* :mod:`~toolkit.forecast.backtest` -- :func:`backtest`, rolling-origin evaluation that
  refuses forecasts which do not line up with the actuals.

Examples
--------
>>> import numpy as np, pandas as pd
>>> from toolkit.features import FeatureSpec
>>> from toolkit.forecast import Forecaster
>>> from toolkit.regress import LinearRegression
>>> df = pd.DataFrame({"sku": "a", "location": "web", "date": pd.date_range("2020-01-01", periods=48, freq="MS"),
...                    "units": 10.0 + np.arange(48) % 12})
>>> spec = FeatureSpec(lags=(12,), rolling={}, calendar=(), fourier=())
>>> out = Forecaster(LinearRegression(), spec, horizon=3).fit(df).predict()
>>> out["date"].dt.strftime("%Y-%m-%d").tolist(), out["forecast"].round(6).tolist()
(['2024-01-01', '2024-02-01', '2024-03-01'], [10.0, 11.0, 12.0])
"""

from toolkit.forecast.backtest import BacktestResult, backtest
from toolkit.forecast.base import FitReport, PanelForecaster
from toolkit.forecast.baselines import Baseline, Croston, MovingAverage, Naive, SeasonalNaive
from toolkit.forecast.forecaster import Forecaster
from toolkit.forecast.transforms import TRANSFORMS, TargetTransforms

__all__ = [
    "Forecaster",
    "Naive",
    "SeasonalNaive",
    "MovingAverage",
    "Croston",
    "Baseline",
    "PanelForecaster",
    "backtest",
    "BacktestResult",
    "FitReport",
    "TRANSFORMS",
    "TargetTransforms",
]
