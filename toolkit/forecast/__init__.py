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
* :mod:`~toolkit.forecast.local` -- local statistical models fitted to all series at once:
  :class:`ETS` (per-series choice of trend and season), :class:`SES`, :class:`Holt`,
  :class:`DampedTrend`, :class:`Theta`;
* :mod:`~toolkit.forecast.ensemble` -- :class:`Ensemble`: global and local forecasters
  combined (median, mean, weights from backtest errors) or chosen per panel or series;
* :mod:`~toolkit.forecast.frequency` -- defaults that follow from the frequency (horizon,
  season, moving-average window);
* :mod:`~toolkit.forecast.intervals` -- conformal quantiles from backtest residuals;
* :mod:`~toolkit.forecast.backtest` -- :func:`backtest`, rolling-origin evaluation that
  refuses forecasts which do not line up with the actuals.

Examples
--------
>>> import numpy as np, pandas as pd
>>> from toolkit.forecast import MovingAverage, backtest
>>> df = pd.DataFrame({"sku": "a", "location": "web", "date": pd.date_range("2020-01-05", periods=30, freq="W-SUN"),
...                    "units": np.arange(30.0)})
>>> fc = MovingAverage(window=2, horizon=2).fit(df)
>>> fc.freq_, fc.predict()["date"].dt.strftime("%Y-%m-%d").tolist(), fc.predict()["forecast"].tolist()
('W-SUN', ['2020-08-02', '2020-08-09'], [28.5, 28.5])
"""

from toolkit.forecast.backtest import BacktestResult, backtest
from toolkit.forecast.base import FitReport, PanelForecaster
from toolkit.forecast.baselines import Baseline, Croston, MovingAverage, Naive, SeasonalNaive
from toolkit.forecast.ensemble import Ensemble
from toolkit.forecast.forecaster import Forecaster
from toolkit.forecast.local import ETS, SES, DampedTrend, Holt, LocalModel, Theta
from toolkit.forecast.transforms import TRANSFORMS, TargetTransforms

__all__ = [
    "Forecaster",
    "Ensemble",
    "Naive",
    "SeasonalNaive",
    "MovingAverage",
    "Croston",
    "ETS",
    "SES",
    "Holt",
    "DampedTrend",
    "Theta",
    "LocalModel",
    "Baseline",
    "PanelForecaster",
    "backtest",
    "BacktestResult",
    "FitReport",
    "TRANSFORMS",
    "TargetTransforms",
]
