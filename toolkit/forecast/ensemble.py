"""``Ensemble``: combine global and local forecasters, or choose among them, per panel or per series.

Design choices (where the issue is silent):

* **Members** are any forecasters of this package (the global :class:`Forecaster`, the
  local models, the baselines), fitted on the same panel with the ensemble's frequency and
  horizon. By default: the global model with its frequency defaults, :class:`ETS` and
  :class:`Theta` -- one model pooling the series, two fitting each series alone, whose
  errors differ most.
* **Combination.** ``"median"`` and ``"mean"`` need no backtest. ``"weighted"`` weighs each
  member by the inverse of its backtest error; ``"best"`` keeps the member of least
  backtest error. ``per="panel"`` computes one weight (or choice) for the whole panel,
  ``per="series"`` one per series (a series without backtest actuals gets the panel's).
* **Backtest error** is each member's mean absolute error over ``n_windows`` rolling
  windows of the horizon (:func:`~toolkit.forecast.backtest` on the training data, so no
  look-ahead), divided by the series' in-sample naive error (the interval scale of
  :mod:`toolkit.forecast.intervals`), so series of any size weigh alike in a panel error.
* **Fallbacks and reports.** Each member keeps its own fallbacks for short series (the
  global model's ``fallback``); ``report_.fallback`` sums them, prefixed with the member's
  name, and ``weights_`` shows the weights in force.
* **Intervals** are conformal on the combined forecast (``calibration_windows``), as for
  every forecaster.

Examples
--------
>>> import numpy as np, pandas as pd
>>> from toolkit.forecast import Ensemble, Naive, SeasonalNaive
>>> df = pd.DataFrame({"sku": "a", "location": "web", "date": pd.date_range("2020-01-01", periods=24, freq="MS"),
...                    "units": np.tile([1.0, 2.0, 3.0, 4.0, 5.0, 6.0], 4)})
>>> ens = Ensemble({"naive": Naive(), "snaive": SeasonalNaive(season=6)}, combine="best", n_windows=2, horizon=3)
>>> ens.fit(df).predict(3)["forecast"].tolist(), ens.weights_["snaive"].tolist()
([1.0, 2.0, 3.0], [1.0])
"""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np
import pandas as pd
from sklearn.base import clone

from toolkit import backend
from toolkit.errors import DataValidationError
from toolkit.forecast.backtest import backtest
from toolkit.forecast.base import FitReport, PanelForecaster
from toolkit.forecast.forecaster import Forecaster
from toolkit.forecast.local import ETS, Theta
from toolkit.panel import checks, frames

__all__ = ["Ensemble", "COMBINE", "PER"]

COMBINE = ("median", "mean", "weighted", "best")
PER = ("panel", "series")


def default_members() -> dict[str, Any]:
    """The global model with frequency defaults, ETS and Theta."""
    return {"global": Forecaster(), "ets": ETS(), "theta": Theta()}


class Ensemble(PanelForecaster):
    """Several forecasters fitted on one panel, their forecasts combined (see the module docstring).

    Parameters
    ----------
    members : dict name -> forecaster, optional
        Default :func:`default_members` (``global``, ``ets``, ``theta``).
    combine : {"median", "mean", "weighted", "best"}
    per : {"panel", "series"}
        Granularity of the weights or choice (``weighted``/``best``).
    n_windows : int, default 2
        Backtest windows behind the weights or choice.
    horizon, stockouts, freq, calibration_windows, irregular, spec
        As for every forecaster; passed on to the members.

    Attributes
    ----------
    members_ : dict name -> fitted forecaster
    weights_ : pandas.DataFrame
        Series keys and one weight column per member (rows sum to 1).
    errors_ : pandas.DataFrame or None
        Backtest error per series and member (``weighted``/``best``).
    report_ : FitReport

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> from toolkit.forecast import Naive, MovingAverage
    >>> df = pd.DataFrame({"sku": "a", "location": "web", "date": pd.date_range("2024-01-01", periods=10),
    ...                    "units": np.arange(10.0)})
    >>> Ensemble({"last": Naive(), "mean": MovingAverage(window=4)}, combine="mean").fit(df).predict(1)["forecast"].tolist()
    [8.25]
    """

    def __init__(self, members: dict | None = None, combine: str = "median", per: str = "panel", n_windows: int = 2,
                 horizon: int | None = None, stockouts: str = "exclude", freq: Any = None,
                 calibration_windows: int = 0, irregular: str = "raise", spec: Any = None):
        self.members = members
        self.combine = combine
        self.per = per
        self.n_windows = n_windows
        self.horizon = horizon
        self.stockouts = stockouts
        self.freq = freq
        self.calibration_windows = calibration_windows
        self.irregular = irregular
        self.spec = spec

    def _members(self) -> dict[str, Any]:
        members = self.members if self.members is not None else default_members()
        if not isinstance(members, dict) or not members:
            raise DataValidationError.for_parameter("members", "expected a non-empty dict name -> forecaster", members)
        for name, member in members.items():
            if not all(hasattr(member, m) for m in ("fit", "predict", "get_params", "resolve_columns")):
                raise DataValidationError.for_parameter("members", f"member {name!r} is not a forecaster of "
                                                                   "toolkit.forecast", member)
        return members

    def _member(self, member: Any) -> Any:
        """A clone of ``member`` on the ensemble's frequency, horizon and shared settings."""
        fc = clone(member)
        settings = {"horizon": self.horizon_, "freq": self.freq_, "stockouts": self.stockouts,
                    "irregular": self.irregular, "calibration_windows": 0}
        return fc.set_params(**{k: v for k, v in settings.items() if k in fc.get_params()})

    def fit(self, df: Any, id_cols: Any = None, time_col: str | None = None, target_col: str | None = None,
            future_exog: Sequence[str] | None = None, stockout_col: str | None = "stockout") -> "Ensemble":
        """Fit every member on ``df`` (after the backtests behind the weights, when needed).

        Returns
        -------
        self

        Raises
        ------
        DataValidationError
            The input contract of :mod:`toolkit.forecast.base` is broken, a parameter is
            invalid, or a member refuses the panel.
        """
        members = self._members()
        checks.check_choice("combine", self.combine, COMBINE)
        checks.check_choice("per", self.per, PER)
        checks.check_int("n_windows", self.n_windows, minimum=1)
        self._check_params()
        keys, time_col, target_col = self.resolve_columns(id_cols, time_col, target_col)
        exog = checks.as_list(future_exog, "future_exog")
        layout = self._validate(df, keys, time_col, target_col, exog, stockout_col, refuse_short=False)
        self._series_state(df, layout)
        fit_kw = {"id_cols": keys, "time_col": time_col, "target_col": target_col, "stockout_col": stockout_col}
        if exog:
            fit_kw["future_exog"] = exog
        self.errors_ = None
        names = list(members)
        if self.combine in ("weighted", "best"):
            self.errors_ = self._backtest_errors(df, members, fit_kw)
            weights = self._weights(self.errors_[names].to_numpy())
        else:
            weights = np.full((layout.n_series, len(names)), 1.0 / len(names))
        self.weights_ = backend.to_host(self.series_).reset_index(drop=True).assign(
            **{name: weights[:, j] for j, name in enumerate(names)})
        self.members_ = {name: self._member(m).fit(df, **fit_kw) for name, m in members.items()}
        fallback = {f"{name}.{reason}": count for name, fc in self.members_.items()
                    for reason, count in getattr(fc.report_, "fallback", {}).items()}
        stockouts = int(layout.xp.sum(~self._loss_mask(df)))
        self.report_ = FitReport(len(df), len(df) - stockouts, {"stockout": stockouts}, fallback)
        self._calibrate(df)
        return self

    def _fit_kwargs(self) -> dict:
        return {"future_exog": self.exog_} if self.exog_ else {}

    def _backtest_errors(self, df: Any, members: dict, fit_kw: dict) -> pd.DataFrame:
        """Mean scaled absolute backtest error per series (rows in layout order) and member."""
        table = backend.to_host(self.series_).reset_index(drop=True)
        scale = np.asarray(backend.to_host(self.scale_))
        extra = {"future_exog": fit_kw["future_exog"]} if "future_exog" in fit_kw else None
        for name, member in members.items():
            res = backtest(self._member(member), df, n_windows=self.n_windows, horizon=self.horizon_,
                           id_cols=self.id_cols_, time_col=self.time_col_, target_col=self.target_col_,
                           stockout_col=fit_kw["stockout_col"], progress=False, metrics=("mae",), fit_kwargs=extra)
            fc = backend.to_host(res.forecasts)
            err = (fc["actual"] - fc["forecast"]).abs().groupby([fc[k] for k in self.id_cols_], observed=True).mean()
            merged = table.merge(err.rename(name).reset_index(), on=self.id_cols_, how="left")
            table[name] = merged[name].to_numpy() / scale
        return table

    def _weights(self, errors: np.ndarray) -> np.ndarray:
        """``(n_series, n_members)`` weights from errors (NaN: no backtest actuals for the series)."""
        panel_error = np.nanmean(np.where(np.isfinite(errors), errors, np.nan), axis=0)
        panel_error = np.where(np.isnan(panel_error), np.inf, panel_error)
        if self.per == "panel" or errors.shape[0] == 0:
            errors = np.broadcast_to(panel_error, errors.shape)
        else:
            errors = np.where(np.isnan(errors).any(axis=1, keepdims=True), panel_error[None, :], errors)
        if self.combine == "best":
            return np.eye(errors.shape[1])[np.argmin(errors, axis=1)]
        inverse = 1.0 / np.maximum(errors, 1e-12)
        inverse = np.where(np.isfinite(inverse), inverse, 0.0)
        total = inverse.sum(axis=1, keepdims=True)
        flat = np.full_like(inverse, 1.0 / errors.shape[1])
        return np.where(total > 0, inverse / np.where(total > 0, total, 1.0), flat)

    def predict(self, h: int | None = None, future_df: Any = None, quantiles: Sequence[float] | None = None) -> Any:
        """Combined forecasts ``h`` steps ahead (keys, time, ``forecast``, ``q{level}``), sorted by keys and time.

        Raises
        ------
        NotFittedError
            Before :meth:`fit`.
        DataValidationError
            Bad ``h`` or quantiles; a member's own refusal (e.g. missing future exogenous values).
        """
        h, quantiles = self._prepare_predict(h, quantiles)
        grid, steps = self._future_grid(h)
        n = int(self.series_.shape[0])
        paths = []
        for fc in self.members_.values():
            forecast = frames.values(fc.predict(h, future_df=future_df), "forecast")
            paths.append(backend.array_namespace(forecast).reshape(forecast, (n, h)))
        xp = backend.array_namespace(paths[0])
        stack = xp.stack(paths, axis=0)  # (members, n, h)
        if self.combine == "median":
            ordered = xp.sort(stack, axis=0)
            k = int(stack.shape[0])
            point = (ordered[(k - 1) // 2] + ordered[k // 2]) / 2.0
        else:
            names = list(self.members_)
            w = xp.asarray(self.weights_[names].to_numpy().T)  # (members, n)
            point = xp.sum(stack * w[:, :, None], axis=0)
        return self._output(grid, steps, xp.reshape(point.T, (-1,)), quantiles)
