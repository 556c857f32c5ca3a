"""Baseline forecasters: naive, seasonal naive, moving average and Croston (SBA, TSB).

Each baseline computes one row of values per series from the recent history, laid out as a
right-aligned ``(n_series, width)`` matrix by :meth:`toolkit.panel.SeriesLayout.dense`
(stock-outs as NaN when they are excluded), with no Python loop over series. They share the
input contract, time axis, intervals and output of :mod:`toolkit.forecast.base`; ``fit``
takes ``future_exog`` and ``predict`` takes ``future_df`` for interface parity and ignores
them. The columns are those of the ``fit`` call, else those of the optional ``spec`` (a
:class:`~toolkit.features.FeatureSpec`, as the global forecaster's), else the toolkit's
defaults. ``horizon=None``, ``season=None`` and ``window=None`` follow the frequency
(:mod:`toolkit.forecast.frequency`): 12 months, 4 quarters, 7 days...

Examples
--------
>>> import pandas as pd
>>> from toolkit.forecast import SeasonalNaive
>>> df = pd.DataFrame({"sku": "a", "location": "web", "date": pd.date_range("2024-01-01", periods=8, freq="W-SUN"),
...                    "units": [1.0, 2.0, 3.0, 4.0, 1.0, 2.0, 3.0, 4.0]})
>>> out = SeasonalNaive(season=4, horizon=2).fit(df).predict()
>>> out["forecast"].tolist(), out["date"].dt.strftime("%Y-%m-%d").tolist()
([1.0, 2.0], ['2024-03-03', '2024-03-10'])
"""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np

from toolkit import backend
from toolkit.forecast.base import FitReport, PanelForecaster
from toolkit.forecast.frequency import default_season, default_window
from toolkit.panel import SeriesLayout, checks

__all__ = ["Baseline", "Naive", "SeasonalNaive", "MovingAverage", "Croston"]


def _nanmean_rows(xp: Any, a: Any) -> Any:
    ok = ~xp.isnan(a)
    count = xp.sum(xp.astype(ok, xp.float64), axis=1)
    total = xp.sum(xp.where(ok, a, 0.0), axis=1)
    return xp.where(count > 0, total / xp.where(count > 0, count, 1.0), float("nan"))


def _last_valid(xp: Any, dense: Any) -> Any:
    """Last non-NaN value of each row (NaN if none)."""
    ok = ~xp.isnan(dense)
    idx = xp.arange(dense.shape[1])
    last = xp.max(xp.where(ok, idx[None, :], -1), axis=1)
    value = xp.take_along_axis(dense, xp.reshape(xp.clip(last, 0, None), (-1, 1)), axis=1)[:, 0]
    return xp.where(last >= 0, value, float("nan"))


class Baseline(PanelForecaster):
    """A forecaster whose state is computed from each series' last ``width`` values."""

    def width(self) -> int | None:
        """Values of history the state needs (``None``: the whole history)."""
        return 1

    def _keep(self, arguments: dict) -> None:
        """Store the constructor's arguments unchanged, as scikit-learn's ``get_params``/``clone`` expect."""
        for name, value in arguments.items():
            if name not in ("self", "__class__"):
                setattr(self, name, value)

    def _check_own_params(self) -> None:
        """Validate the baseline's own parameters (subclasses)."""

    def fit(self, df: Any, id_cols: Any = None, time_col: str | None = None, target_col: str | None = None,
            future_exog: Sequence[str] | None = None, stockout_col: str | None = "stockout") -> "Baseline":
        """Fit on every series of ``df`` (``future_exog`` is accepted and ignored).

        ``id_cols``, ``time_col`` and ``target_col`` default to the ``spec``'s, else to
        ``("sku", "location")``, ``"date"`` and ``"units"``.

        Returns
        -------
        self

        Raises
        ------
        DataValidationError
            The input contract of :mod:`toolkit.forecast.base` is broken, a series is shorter
            than the baseline needs, or a parameter is invalid.
        """
        self._check_params()
        self._check_own_params()
        keys, time_col, target_col = self.resolve_columns(id_cols, time_col, target_col)
        layout = self._validate(df, keys, time_col, target_col, (), stockout_col)
        observed = self._series_state(df, layout)
        stockouts = int(layout.xp.sum(~self._loss_mask(df)))
        self.report_ = FitReport(len(df), len(df) - stockouts, {"stockout": stockouts})
        self.state_ = self._state_from(layout, observed)
        self._calibrate(df)
        return self

    def _state_from(self, layout: SeriesLayout, observed: Any) -> Any:
        """The forecasting state from the series-sorted target (NaN on excluded stock-outs)."""
        width = self.width() or int(backend.to_host(layout.xp.max(layout.lengths)))
        return self._state(layout.dense(observed, width))

    def _state(self, dense: Any) -> Any:
        raise NotImplementedError

    def predict(self, h: int | None = None, future_df: Any = None, quantiles: Sequence[float] | None = None) -> Any:
        """Forecast ``h`` steps (``future_df`` is accepted for interface parity and ignored).

        Returns
        -------
        frame
            Keys, time, ``forecast`` and ``q{level}`` columns, sorted by keys and time.

        Raises
        ------
        NotFittedError
            Before :meth:`fit`.
        """
        h, quantiles = self._prepare_predict(h, quantiles)
        grid, steps = self._future_grid(h)
        point = self._path(h)  # (h, n_series)
        xp = backend.array_namespace(point)
        return self._output(grid, steps, xp.reshape(point, (-1,)), quantiles)

    def _path(self, h: int) -> Any:
        xp = backend.array_namespace(self.state_)
        return xp.broadcast_to(self.state_[None, :], (h, self.state_.shape[0]))


class Naive(Baseline):
    """Last observed value (skipping stock-outs when excluded), repeated.

    Examples
    --------
    >>> import pandas as pd
    >>> df = pd.DataFrame({"sku": "a", "location": "web", "date": pd.date_range("2024-01-01", periods=3),
    ...                    "units": [1.0, 2.0, 5.0]})
    >>> Naive(horizon=2).fit(df).predict()["forecast"].tolist()
    [5.0, 5.0]
    """

    def __init__(self, horizon: int | None = None, stockouts: str = "exclude", freq: Any = None,
                 calibration_windows: int = 0, irregular: str = "raise", spec: Any = None):
        self._keep(locals())

    def width(self) -> int | None:
        return None

    def _state(self, dense: Any) -> Any:
        return _last_valid(backend.array_namespace(dense), dense)


class SeasonalNaive(Baseline):
    """The value one season earlier: step ``k`` repeats the ``season``-periodic last cycle.

    A stock-out (excluded) in the last cycle is replaced by the mean of that cycle's other steps.

    Examples
    --------
    >>> import pandas as pd
    >>> df = pd.DataFrame({"sku": "a", "location": "web", "date": pd.date_range("2024-01-01", periods=4),
    ...                    "units": [1.0, 2.0, 3.0, 4.0]})
    >>> SeasonalNaive(season=2, horizon=3).fit(df).predict()["forecast"].tolist()
    [3.0, 4.0, 3.0]
    """

    def __init__(self, season: int | None = None, horizon: int | None = None, stockouts: str = "exclude",
                 freq: Any = None, calibration_windows: int = 0, irregular: str = "raise", spec: Any = None):
        self._keep(locals())

    def _check_own_params(self) -> None:
        if self.season is not None:
            checks.check_int("season", self.season, minimum=1)

    def season_in_force(self) -> int:
        """The season in force: the given one, else the frequency's (after the time axis is read)."""
        return int(self.season) if self.season is not None else default_season(self.freq_)

    def width(self) -> int | None:
        return self.season_in_force()

    def min_rows(self) -> int:
        return self.season_in_force()

    def _state(self, dense: Any) -> Any:
        xp = backend.array_namespace(dense)
        mean = _nanmean_rows(xp, dense)
        return xp.where(xp.isnan(dense), mean[:, None], dense)  # (n_series, season)

    def _path(self, h: int) -> Any:
        xp = backend.array_namespace(self.state_)
        phase = xp.asarray(np.arange(h) % int(self.state_.shape[1]))
        return xp.take(self.state_, phase, axis=1).T


class MovingAverage(Baseline):
    """Mean of the last ``window`` observed values (stock-outs skipped when excluded).

    Examples
    --------
    >>> import pandas as pd
    >>> df = pd.DataFrame({"sku": "a", "location": "web", "date": pd.date_range("2024-01-01", periods=4),
    ...                    "units": [1.0, 2.0, 3.0, 4.0]})
    >>> MovingAverage(window=2, horizon=1).fit(df).predict()["forecast"].tolist()
    [3.5]
    """

    def __init__(self, window: int | None = None, horizon: int | None = None, stockouts: str = "exclude",
                 freq: Any = None, calibration_windows: int = 0, irregular: str = "raise", spec: Any = None):
        self._keep(locals())

    def _check_own_params(self) -> None:
        if self.window is not None:
            checks.check_int("window", self.window, minimum=1)

    def width(self) -> int | None:
        return int(self.window) if self.window is not None else default_window(self.freq_)

    def _state(self, dense: Any) -> Any:
        return _nanmean_rows(backend.array_namespace(dense), dense)


class Croston(Baseline):
    """Croston's method for intermittent demand, with the SBA and TSB variants.

    ``classic``/``sba``: exponential smoothing (``alpha``) of the non-zero demand sizes and of
    the intervals between them, forecast = size / interval (times ``1 - alpha / 2`` for SBA).
    ``tsb``: sizes smoothed with ``alpha`` at demand periods, the demand probability with
    ``beta`` every period, forecast = probability * size. Series are updated together, one
    time step at a time over a dense (series x time) matrix; missing (stock-out) periods are
    skipped.

    Parameters
    ----------
    alpha, beta : float in (0, 1]
    variant : {"classic", "sba", "tsb"}

    Examples
    --------
    >>> import pandas as pd
    >>> df = pd.DataFrame({"sku": "a", "location": "web", "date": pd.date_range("2024-01-01", periods=6),
    ...                    "units": [0.0, 4.0, 0.0, 0.0, 4.0, 0.0]})
    >>> round(float(Croston(alpha=1.0, horizon=1).fit(df).predict()["forecast"][0]), 3)
    1.333
    """

    def __init__(self, alpha: float = 0.1, beta: float = 0.1, variant: str = "classic", horizon: int | None = None,
                 stockouts: str = "exclude", freq: Any = None, calibration_windows: int = 0,
                 irregular: str = "raise", spec: Any = None):
        self._keep(locals())

    def _check_own_params(self) -> None:
        checks.check_choice("variant", self.variant, ("classic", "sba", "tsb"))
        checks.check_number("alpha", self.alpha, 0.0, 1.0, low_open=True)
        checks.check_number("beta", self.beta, 0.0, 1.0, low_open=True)

    def width(self) -> int | None:
        return None

    def _state(self, dense: Any) -> Any:
        xp = backend.array_namespace(dense)
        n = dense.shape[0]
        nan = float("nan")
        size = xp.full((n,), nan, dtype=xp.float64)
        interval = xp.full((n,), nan, dtype=xp.float64)
        prob = xp.full((n,), nan, dtype=xp.float64)
        since = xp.ones((n,), dtype=xp.float64)
        a, b = float(self.alpha), float(self.beta)
        for t in range(dense.shape[1]):
            y = dense[:, t]
            seen = ~xp.isnan(y)
            demand = seen & (y > 0)
            first = demand & xp.isnan(size)
            size = xp.where(first, y, xp.where(demand, size + a * (y - size), size))
            if self.variant == "tsb":
                occurred = xp.astype(demand, xp.float64)
                prob = xp.where(seen & xp.isnan(prob), occurred, xp.where(seen, prob + b * (occurred - prob), prob))
            else:
                interval = xp.where(first, since, xp.where(demand, interval + a * (since - interval), interval))
                since = xp.where(demand, 1.0, xp.where(seen, since + 1.0, since))
        if self.variant == "tsb":
            value = prob * xp.where(xp.isnan(size), 0.0, size)
        else:
            value = xp.where(xp.isnan(size), 0.0, size / interval)
            if self.variant == "sba":
                value = value * (1.0 - a / 2.0)
        return value
