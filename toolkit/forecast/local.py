"""Local statistical forecasters: exponential smoothing (SES, Holt, damped, ETS) and Theta, one model per series.

Every series gets its own parameters, but all series are fitted together: the panel becomes
a left-aligned matrix (one row per series, :func:`toolkit.kernels.seasonal.left_aligned`)
and the kernels of :mod:`toolkit.kernels.smoothing` loop over time steps only, on NumPy or
CuPy, whatever the number of series. The forecasters share the input contract, time axis,
conformal intervals and output frame of the baselines (:mod:`toolkit.forecast.baselines`).

Design choices (where the issue is silent):

* **Additive errors, least squares.** Smoothing parameters minimise the one-step squared
  errors (the additive-error likelihood) from heuristic initial states; the recursions and
  bounds are those of ``statsmodels``' Holt-Winters (see :mod:`toolkit.kernels.smoothing`).
* **Per-series choice.** :class:`ETS` with ``trend="auto"`` and/or ``seasonal="auto"``
  keeps, per series, the model of least AICc among the candidates safe on that series; a
  fixed choice is used where it is safe. A season needs two whole cycles (and positive
  values when multiplicative), a trend three values; elsewhere the series falls back to a
  simpler model (multiplicative -> additive season -> none; damped -> linear -> none),
  counted in ``report_.fallback`` and shown per series in ``models_``.
* **The season** is ``season_length`` steps, by default the frequency's
  (:func:`toolkit.panel.season_length`: 12 for monthly, 4 quarterly, 7 daily, 52 weekly).
* **Stock-outs** (excluded) and other missing values inside a series are skipped by the
  recursions: the states move on as forecast, no error is counted.
* **Theta** is the classical method (:func:`toolkit.kernels.smoothing.fit_theta`): seasonal
  adjustment when the 90 % autocorrelation test at the season passes (multiplicative, or
  additive for series with a value <= 0), simple exponential smoothing plus half the
  least-squares slope as drift.

Examples
--------
>>> import numpy as np, pandas as pd
>>> from toolkit.forecast import ETS
>>> df = pd.DataFrame({"sku": "a", "location": "web", "date": pd.date_range("2020-01-01", periods=36, freq="MS"),
...                    "units": 100 + np.arange(36.0) + 10 * np.tile([1, -1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0], 3)})
>>> fc = ETS(seasonal="add", trend="add").fit(df)
>>> fc.freq_, fc.horizon_, fc.models_["model"].tolist()
('MS', 18, ['ETS(A,A,A)'])
>>> fc.predict(2)["forecast"].round(1).tolist()
[146.0, 127.0]
"""

from __future__ import annotations

from typing import Any

import numpy as np

from toolkit import backend
from toolkit.forecast.baselines import Baseline
from toolkit.forecast.frequency import default_season
from toolkit.kernels.seasonal import left_aligned, row_lengths
from toolkit.kernels.smoothing import ETS_SEASONS, ETS_TRENDS, choose_ets, fit_theta
from toolkit.panel import SeriesLayout, checks

__all__ = ["LocalModel", "ETS", "SES", "Holt", "DampedTrend", "Theta"]

_SHORT = {"none": "N", "add": "A", "damped": "Ad", "mul": "M"}


class LocalModel(Baseline):
    """A forecaster fitting one statistical model per series, all series at once (left-aligned matrix)."""

    def width(self) -> int | None:
        return None

    def season_in_force(self) -> int:
        """The season length: the given one, else the frequency's."""
        given = getattr(self, "season_length", None)
        return int(given) if given is not None else default_season(self.freq_)

    def _check_own_params(self) -> None:
        if getattr(self, "season_length", None) is not None:
            checks.check_int("season_length", self.season_length, minimum=1)
        checks.check_number("tol", self.tol, 0.0, 0.1, low_open=True)

    def _state_from(self, layout: SeriesLayout, observed: Any) -> Any:
        y = left_aligned(observed, layout.bounds)
        fit, names, fallback = self._fit_matrix(y, row_lengths(layout.bounds), self.season_in_force())
        self.models_ = backend.to_host(self.series_).assign(model=names).reset_index(drop=True)
        self.report_.fallback = fallback
        return fit

    def _fit_matrix(self, y: Any, lengths: Any, m: int) -> tuple[Any, np.ndarray, dict]:
        raise NotImplementedError

    def _path(self, h: int) -> Any:
        return self.state_.forecast(h).T


class ETS(LocalModel):
    """Exponential smoothing with additive errors: level, optional (damped) trend, optional season.

    Parameters
    ----------
    trend : {"auto", "none", "add", "damped"}
        ``"auto"`` chooses per series by AICc among the three.
    seasonal : {"auto", "none", "add", "mul"}
        ``"auto"`` chooses per series by AICc among the three (multiplicative only on
        positive series).
    season_length : int, optional
        Default: the frequency's.
    horizon, stockouts, freq, calibration_windows, irregular, spec
        As for every forecaster (:mod:`toolkit.forecast.base`).
    tol : float, default 1e-4
        Precision of the parameter search.

    Attributes
    ----------
    state_ : EtsFit
        Per-series parameters (``alpha``, ``beta``, ``gamma``, ``phi``) and final states.
    models_ : pandas.DataFrame
        Series keys and the model kept, e.g. ``"ETS(A,Ad,M)"`` (error, trend, season).
    report_ : FitReport
        ``fallback`` counts series that could not take the requested model.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> df = pd.DataFrame({"sku": "a", "location": "web", "date": pd.date_range("2024-01-01", periods=30),
    ...                    "units": 10.0 + 2 * np.arange(30)})
    >>> ETS(trend="add", seasonal="none").fit(df).predict(3)["forecast"].round(3).tolist()
    [70.0, 72.0, 74.0]
    """

    def __init__(self, trend: str = "auto", seasonal: str = "auto", season_length: int | None = None,
                 horizon: int | None = None, stockouts: str = "exclude", freq: Any = None,
                 calibration_windows: int = 0, irregular: str = "raise", spec: Any = None, tol: float = 1e-4):
        self._keep(locals())

    def _check_own_params(self) -> None:
        checks.check_choice("trend", self.trend, ("auto",) + ETS_TRENDS)
        checks.check_choice("seasonal", self.seasonal, ("auto",) + ETS_SEASONS)
        super()._check_own_params()

    def _fit_matrix(self, y: Any, lengths: Any, m: int) -> tuple[Any, np.ndarray, dict]:
        trends = ETS_TRENDS if self.trend == "auto" else (self.trend,)
        seasons = ETS_SEASONS if self.seasonal == "auto" else (self.seasonal,)
        if m <= 1:
            seasons = ("none",)
        fit, choice, candidates, n_requested = choose_ets(y, lengths, m, trends, seasons, tol=float(self.tol))
        choice = np.asarray(backend.to_host(choice))
        names = np.asarray([f"ETS(A,{_SHORT[t]},{_SHORT[s]})" for t, s in candidates], dtype=object)[choice]
        fallback = {}
        if (choice >= n_requested).any():
            fallback = {"simpler_model": int((choice >= n_requested).sum())}
        return fit, names, fallback


class SES(ETS):
    """Simple exponential smoothing (level only): :class:`ETS` with no trend and no season.

    Examples
    --------
    >>> import pandas as pd
    >>> df = pd.DataFrame({"sku": "a", "location": "web", "date": pd.date_range("2024-01-01", periods=4),
    ...                    "units": [5.0, 5.0, 5.0, 5.0]})
    >>> SES(horizon=2).fit(df).predict()["forecast"].tolist()
    [5.0, 5.0]
    """

    def __init__(self, horizon: int | None = None, stockouts: str = "exclude", freq: Any = None,
                 calibration_windows: int = 0, irregular: str = "raise", spec: Any = None, tol: float = 1e-4):
        self._keep(locals())
        self.trend, self.seasonal, self.season_length = "none", "none", None


class Holt(SES):
    """Holt's linear trend: :class:`ETS` with an additive trend and no season."""

    def __init__(self, horizon: int | None = None, stockouts: str = "exclude", freq: Any = None,
                 calibration_windows: int = 0, irregular: str = "raise", spec: Any = None, tol: float = 1e-4):
        super().__init__(horizon, stockouts, freq, calibration_windows, irregular, spec, tol)
        self.trend = "add"


class DampedTrend(SES):
    """Damped trend (Gardner & McKenzie): :class:`ETS` with a damped additive trend and no season."""

    def __init__(self, horizon: int | None = None, stockouts: str = "exclude", freq: Any = None,
                 calibration_windows: int = 0, irregular: str = "raise", spec: Any = None, tol: float = 1e-4):
        super().__init__(horizon, stockouts, freq, calibration_windows, irregular, spec, tol)
        self.trend = "damped"


class Theta(LocalModel):
    """The classical Theta method (theta = 2): SES with drift on seasonally adjusted series.

    Parameters
    ----------
    season_length : int, optional
        Default: the frequency's; 1 turns the seasonal adjustment off.
    deseasonalize : {"test", "always", "never"}, default "test"
        Adjust where the seasonality test passes, on every series long enough, or never.
    horizon, stockouts, freq, calibration_windows, irregular, spec
        As for every forecaster.
    tol : float, default 1e-4

    Attributes
    ----------
    state_ : ThetaFit
    models_ : pandas.DataFrame
        Series keys and ``"Theta"`` or ``"Theta(seasonal)"``.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> df = pd.DataFrame({"sku": "a", "location": "web", "date": pd.date_range("2020-01-01", periods=8, freq="QS"),
    ...                    "units": [10.0, 11.0, 12.0, 13.0, 14.0, 15.0, 16.0, 17.0]})
    >>> Theta(horizon=2).fit(df).predict()["forecast"].round(3).tolist()
    [17.5, 18.0]
    """

    def __init__(self, season_length: int | None = None, deseasonalize: str = "test", horizon: int | None = None,
                 stockouts: str = "exclude", freq: Any = None, calibration_windows: int = 0,
                 irregular: str = "raise", spec: Any = None, tol: float = 1e-4):
        self._keep(locals())

    def _check_own_params(self) -> None:
        checks.check_choice("deseasonalize", self.deseasonalize, ("test", "always", "never"))
        super()._check_own_params()

    def _fit_matrix(self, y: Any, lengths: Any, m: int) -> tuple[Any, np.ndarray, dict]:
        xp = backend.array_namespace(y)
        seasonal = None
        if self.deseasonalize != "test":
            seasonal = xp.full((int(y.shape[0]),), self.deseasonalize == "always") & (lengths >= 2 * m)
        fit = fit_theta(y, lengths, m, seasonal=seasonal, tol=float(self.tol))
        found = np.asarray(backend.to_host(fit.seasonal))
        names = np.where(found, "Theta(seasonal)", "Theta").astype(object)
        return fit, names, {}

