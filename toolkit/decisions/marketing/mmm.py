"""The marketing-mix model: a baseline plus each channel's Hill-saturated geometric adstock.

:class:`MarketingMixModel` explains each channel's daily revenue by a baseline (trend,
weekday, yearly Fourier terms, holidays) plus the channel's own media response: geometric
adstock (:func:`toolkit.features.add_adstock`) passed through a Hill saturation curve, with a
non-negative effect.

Design choices (where the issue is silent)
------------------------------------------
* **One response per channel.** A channel's revenue is modelled from its own spend: the panel
  is one row per (date, channel) and each channel gets its own baseline coefficients. Media
  cross-effects are out of scope.
* **Decay and saturation by time-series CV.** For every channel the model scores a grid of
  (decay, half saturation, shape) candidates on expanding-window folds
  (:func:`toolkit.regress.time_series_splits`) and keeps the one with the least squared error;
  the half saturation is given relative to the mean adstock of the channel, so one grid fits
  every spend scale. With a single media column per channel the non-negative least-squares
  problem has a closed form (:func:`nonneg_media_fit`): project the revenue and the media
  curve off the baseline columns (Frisch-Waugh), take ``beta = max(0, <h, y> / <h, h>)``,
  then solve the baseline coefficients; this is exact (the problem is convex in ``beta``) and
  vectorises over all candidates at once.
* **ROI is an extrapolation.** ROI compares revenue with the revenue at zero spend; when spend
  never comes near zero the data pin the curve only over the observed range and the ROI rests
  on the Hill form. :attr:`MarketingMixModel.roi_` therefore comes with the spread of ROIs
  refitted on each CV training window; the marginal ROI (slope at the current spend) is what
  the data identify best and what budget moves should follow.
* **Budgets in steady state.** A constant daily spend ``s`` gives the adstock
  ``s * (1 - d^(L+1)) / (1 - d)`` (``L`` = ``max_lag``), so the daily response curve of a
  channel is ``beta * hill(that)``.
* **Spend is matched by channel name.** The curve methods take a mapping (or a Series)
  channel -> spend, matched by name; a plain sequence is read in ``channels_`` order and must
  have one value per channel.
* **Non-finite values.** Spend must be finite and >= 0 and the target finite (refused naming
  the column and the (date, channel) keys): one NaN day would make every CV error NaN.
* The panel is small (a row per day and channel): fitting runs on the host with NumPy; frames
  come back in the fitted panel's library. Methods that need a fit raise scikit-learn's
  ``NotFittedError`` before it.

Examples
--------
>>> import pandas as pd
>>> from toolkit.decisions.marketing import MarketingMixModel
>>> curves = pd.DataFrame({"decay": [0.0], "half_sat": [100.0], "shape": [1.0], "beta": [500.0]}, index=["web"])
>>> float(MarketingMixModel.from_params(curves).response({"web": 100.0})["web"])
250.0
"""

from __future__ import annotations

from typing import Any, Mapping, Sequence

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator
from sklearn.utils.validation import check_is_fitted

from toolkit import backend, panel
from toolkit.decisions.checks import require_non_negative
from toolkit.errors import DataValidationError

__all__ = ["MarketingMixModel", "hill", "hill_slope", "nonneg_media_fit", "baseline_basis"]


def hill(x: Any, half_sat: float, shape: float) -> Any:
    """The Hill curve ``x^s / (x^s + k^s)`` (numpy or cupy; ``x`` finite and >= 0, ``k, s > 0``).

    Raises
    ------
    DataValidationError
        ``half_sat`` or ``shape`` not a finite number > 0; ``x`` not numbers, negative or
        not finite (NaN included: a curve value is never silently NaN).

    Examples
    --------
    >>> float(hill(2.0, 2.0, 1.5))
    0.5
    """
    panel.check_number("half_sat", half_sat, 0.0, low_open=True)
    panel.check_number("shape", shape, 0.0, low_open=True)
    if isinstance(x, (str, bytes)) or x is None or isinstance(x, Mapping):
        raise DataValidationError.for_parameter("x", "expected a number or an array of numbers", x)
    try:
        xp = backend.array_namespace(x) if hasattr(x, "__array_namespace__") else np
        values = xp.asarray(x, dtype=xp.float64)
    except (TypeError, ValueError):
        raise DataValidationError.for_parameter("x", "expected a number or an array of numbers",
                                                type(x).__name__) from None
    if not bool(xp.all(xp.isfinite(values))) or bool(xp.any(values < 0)):
        raise DataValidationError.for_parameter("x", "values must be finite and >= 0")
    out = _hill(values, half_sat, shape)
    return float(out) if out.ndim == 0 else out


def _hill(x: Any, half_sat: Any, shape: Any) -> Any:
    xs = x**shape
    return xs / (xs + half_sat**shape)


def hill_slope(x: Any, half_sat: Any, shape: Any) -> np.ndarray:
    """d hill / d x, elementwise (at 0: ``1/k`` for shape 1, infinite below 1, 0 above).

    Examples
    --------
    >>> float(hill_slope(0.0, 50.0, 1.0))
    0.02
    """
    x, k, s = np.broadcast_arrays(np.asarray(x, float), np.asarray(half_sat, float), np.asarray(shape, float))
    ks, xs = k**s, x**s
    with np.errstate(divide="ignore", invalid="ignore"):
        slope = s * x ** (s - 1) * ks / (xs + ks) ** 2
    at_zero = np.where(s == 1, 1.0 / k, np.where(s < 1, np.inf, 0.0))
    return np.where(x > 0, slope, at_zero)


def baseline_basis(C: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Orthonormal basis of the baseline columns and their pseudo-inverse (one SVD)."""
    U, s, Vt = np.linalg.svd(C, full_matrices=False)
    keep = s > s[0] * max(C.shape) * np.finfo(float).eps
    U, s, Vt = U[:, keep], s[keep], Vt[keep]
    return U, (Vt.T / s) @ U.T


def nonneg_media_fit(C: np.ndarray, H: np.ndarray, y: np.ndarray,
                     basis: tuple[np.ndarray, np.ndarray] | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Least squares of ``y`` on ``[C, h_j]`` with ``beta_j >= 0``, for every column ``h_j`` of ``H``.

    ``basis`` is :func:`baseline_basis` of ``C`` when already computed. Returns the baseline
    coefficients ``G`` (one column per candidate) and ``beta``.

    Examples
    --------
    >>> import numpy as np
    >>> C, h = np.ones((4, 1)), np.array([[0.0], [1.0], [2.0], [3.0]])
    >>> G, beta = nonneg_media_fit(C, h, 1.0 + 2.0 * h[:, 0])
    >>> np.round(G[:, 0], 6).tolist(), np.round(beta, 6).tolist()
    ([1.0], [2.0])
    """
    U, pinv = baseline_basis(C) if basis is None else basis
    H_r = H - U @ (U.T @ H)
    y_r = y - U @ (U.T @ y)
    hh = np.einsum("ij,ij->j", H_r, H_r)
    beta = np.maximum(np.divide(H_r.T @ y_r, hh, out=np.zeros_like(hh), where=hh > 0), 0.0)
    G = pinv @ (y[:, None] - H * beta)
    return G, beta


class MarketingMixModel(BaseEstimator):
    """Marketing-mix model: baseline + Hill-saturated geometric adstock per channel.

    ``revenue[t, c] = baseline_c(t) + beta_c * hill(adstock_c(spend)[t], k_c, s_c)`` with
    ``beta_c >= 0``; the baseline has an intercept, a linear trend, weekday indicators,
    yearly Fourier terms and holiday / pre-holiday indicators, with coefficients per channel.

    Parameters
    ----------
    decays : sequence of float
        Candidate adstock decays (``[0, 1)``).
    half_sats : sequence of float
        Candidate half saturations (> 0), relative to the channel's mean adstock.
    shapes : sequence of float
        Candidate Hill shapes (> 0).
    max_lag : int
        Days of adstock carry-over (>= 0).
    fourier_order : int
        Yearly Fourier pairs in the baseline (0 for none).
    country : str or None
        Holiday calendar of the baseline (``holidays`` package); None for no holidays.
    n_windows, horizon : int
        Expanding-window CV folds: ``n_windows`` validation blocks of ``horizon`` days (>= 1).
    spend_col, target_col, channel_col, time_col : str

    Attributes
    ----------
    channels_ : list of str
    params_ : pandas.DataFrame
        Per channel: ``decay``, ``half_sat`` (absolute, in adstocked spend), ``shape``,
        ``beta`` (revenue per day at saturation), ``cv_rmse``, ``spend`` (total),
        ``contribution`` (total), ``roi``, ``roi_low``, ``roi_high`` (range over CV training
        windows), ``mean_spend`` (per day) and ``marginal_roi`` at that spend.
    roi_ : pandas.Series
        ROI per channel (contribution / spend over the fitted period).
    cv_scores_ : dict of str -> pandas.DataFrame
        Per channel, the CV error of every candidate.
    feature_names_in_ : ndarray of str
        The panel columns the fit read (time, channel, spend, target).

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> days = pd.date_range("2024-01-01", periods=200)
    >>> rng = np.random.default_rng(0)
    >>> spend = np.repeat(rng.uniform(0, 100, 20), 10)
    >>> mmm = MarketingMixModel(decays=(0.5,), half_sats=(1.0,), shapes=(1.0,), fourier_order=0, country=None,
    ...                         n_windows=2, horizon=30)
    >>> ad = pd.Series(spend).ewm(alpha=0.5, adjust=False).mean().to_numpy() * 2  # geometric adstock, decay 0.5
    >>> revenue = 1000 + 300 * hill(ad, ad.mean(), 1.0)
    >>> panel = pd.DataFrame({"date": days, "channel": "web", "spend": spend, "revenue": revenue})
    >>> round(float(mmm.fit(panel).params_.loc["web", "beta"]))
    300
    """

    def __init__(
        self,
        decays: Sequence[float] = (0.0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8),
        half_sats: Sequence[float] = (0.5, 0.75, 1.0, 1.5, 2.0),
        shapes: Sequence[float] = (1.0, 1.5, 2.0),
        max_lag: int = 60,
        fourier_order: int = 6,
        country: str | None = "US",
        n_windows: int = 4,
        horizon: int = 60,
        spend_col: str = "spend",
        target_col: str = "revenue",
        channel_col: str = "channel",
        time_col: str = "date",
    ):
        self.decays = decays
        self.half_sats = half_sats
        self.shapes = shapes
        self.max_lag = max_lag
        self.fourier_order = fourier_order
        self.country = country
        self.n_windows = n_windows
        self.horizon = horizon
        self.spend_col = spend_col
        self.target_col = target_col
        self.channel_col = channel_col
        self.time_col = time_col

    # ------------------------------------------------------------------ data
    def _check_args(self) -> None:
        for name, low, low_open, high in (("decays", 0.0, False, 1.0), ("half_sats", 0.0, True, None),
                                          ("shapes", 0.0, True, None)):
            grid = getattr(self, name)
            if isinstance(grid, (str, bytes)) or not isinstance(grid, Sequence) and not hasattr(grid, "__len__"):
                raise DataValidationError.for_parameter(name, "expected a sequence of candidate values", grid)
            if len(grid) == 0:
                raise DataValidationError.for_parameter(name, "needs at least one candidate", list(grid))
            for value in grid:
                panel.check_number(name, value, low, high, low_open=low_open, high_open=high is not None)
        panel.check_int("max_lag", self.max_lag, minimum=0)
        panel.check_int("fourier_order", self.fourier_order, minimum=0)
        panel.check_int("n_windows", self.n_windows, minimum=1)
        panel.check_int("horizon", self.horizon, minimum=1)

    def _wide(self, frame: Any) -> tuple[pd.DataFrame, pd.DataFrame]:
        """Validate the (date, channel) panel; spend and target as (dates x channels) tables."""
        tcol, ccol = self.time_col, self.channel_col
        panel.check_frame(frame, "panel", dask=False)
        purpose = "by the marketing-mix model"
        panel.require_columns(frame, [tcol, ccol, self.spend_col, self.target_col], purpose)
        panel.require_not_empty(frame, purpose)
        panel.require_datetime(frame, tcol)
        panel.require_numeric(frame, [self.spend_col, self.target_col], purpose)
        host = backend.to_host(frame)
        panel.require_not_null(host, [tcol, ccol], [tcol, ccol], purpose)
        require_non_negative(host, [self.spend_col], [tcol, ccol], purpose)
        panel.require_finite(host, [self.target_col], [tcol, ccol], allow_nan=False, purpose=purpose)
        host = host.assign(**{ccol: host[ccol].astype(str)})
        panel.require_unique(host, [tcol, ccol], purpose)
        spend = host.pivot(index=tcol, columns=ccol, values=self.spend_col).sort_index()
        target = host.pivot(index=tcol, columns=ccol, values=self.target_col).sort_index()
        days = pd.date_range(spend.index.min(), spend.index.max(), freq="D")
        if len(days) != len(spend) or spend.isna().any().any():
            missing = int(len(days) * spend.shape[1] - spend.notna().sum().sum())
            panel.fail(tcol, "the panel needs one row per day and channel without gaps", missing)
        need = self.horizon * self.n_windows + 28
        if len(days) < need:
            panel.fail(tcol, f"{len(days)} days are too few for {self.n_windows} CV windows of {self.horizon} days "
                             f"(need at least {need})")
        return spend, target

    def _baseline(self, days: pd.DatetimeIndex) -> np.ndarray:
        from toolkit.features import add_calendar, add_fourier

        frame = pd.DataFrame({"date": days})
        features = ["dayofweek"] + (["is_holiday", "days_to_holiday"] if self.country else [])
        cal = add_calendar(frame, "date", features=features, country=self.country)
        cols = [np.ones(len(days)), (np.arange(len(days)) - len(days) / 2) / 365.25]
        dow = cal["dayofweek"].to_numpy()
        cols += [(dow == k).astype(float) for k in range(1, 7)]
        if self.country:
            holiday = cal["is_holiday"].to_numpy(dtype=float)
            to_next = cal["days_to_holiday"].to_numpy(dtype=float, na_value=np.nan)
            cols += [holiday, ((to_next >= 1) & (to_next <= 3)).astype(float)]
        if self.fourier_order > 0:
            four = add_fourier(frame, "date", period=365.25, order=self.fourier_order)
            cols += [four[c].to_numpy(dtype=float) for c in four.columns if c.startswith("fourier_")]
        return np.column_stack(cols)

    def _adstocks(self, spend: pd.DataFrame) -> dict[float, pd.DataFrame]:
        from toolkit.features import add_adstock

        long = spend.stack().rename("spend").reset_index()
        long.columns = ["date", "channel", "spend"]
        out = {}
        for d in sorted(set(float(v) for v in self.decays)):
            ad = add_adstock(long, "spend", decay=d, max_lag=self.max_lag, id_cols="channel", time_col="date")
            out[d] = ad.pivot(index="date", columns="channel", values="spend_adstock").loc[spend.index, spend.columns]
        return out

    # ------------------------------------------------------------------ fit
    def fit(self, panel: Any) -> "MarketingMixModel":
        """Choose decay and saturation per channel by time-series CV, then fit on all days.

        Parameters
        ----------
        panel : pandas or cudf DataFrame
            One row per (date, channel), every day present for every channel, with the spend
            and target columns (e.g. the output of :func:`channel_panel`).

        Returns
        -------
        self

        Raises
        ------
        DataValidationError
            A bad hyper-parameter (named); non-frame or Dask input; missing columns;
            negative, missing or infinite spend; missing or infinite target; duplicated or
            missing (date, channel) rows; too few days for the CV windows.
        """
        from toolkit.regress import time_series_splits

        self._check_args()
        spend, target = self._wide(panel)
        days = spend.index
        C = self._baseline(days)
        folds = time_series_splits(np.asarray(days), None, n_windows=self.n_windows, horizon=self.horizon)
        adstocks = self._adstocks(spend)
        grid = [(d, k, s) for d in sorted(adstocks) for k in self.half_sats for s in self.shapes]
        bases = [baseline_basis(C[train]) for train, _ in folds]
        full = baseline_basis(C)
        n_valid = sum(len(v) for _, v in folds)
        rows, self.cv_scores_, self.curves_ = [], {}, {}
        for channel in spend.columns:
            y = target[channel].to_numpy(dtype=float)
            x = spend[channel].to_numpy(dtype=float)
            H = np.column_stack([self._curve(adstocks[d][channel].to_numpy(), k, s) for d, k, s in grid])
            err = np.zeros(len(grid))
            for (train, valid), basis in zip(folds, bases):
                G, beta = nonneg_media_fit(C[train], H[train], y[train], basis)
                err += ((y[valid, None] - (C[valid] @ G + H[valid] * beta)) ** 2).sum(axis=0)
            best = int(np.argmin(err))
            d, k_rel, s = grid[best]
            ad = adstocks[d][channel].to_numpy()
            h = H[:, best]
            G, beta = nonneg_media_fit(C, h[:, None], y, full)
            fold_roi = []
            for (train, _), basis in zip(folds, bases):
                _, b = nonneg_media_fit(C[train], h[train, None], y[train], basis)
                fold_roi.append(float(b[0] * h[train].sum() / max(x[train].sum(), 1e-12)))
            contribution = float(beta[0] * h.sum())
            roi = contribution / x.sum() if x.sum() > 0 else float("nan")
            self.curves_[channel] = {"G": G[:, 0], "h": h}
            self.cv_scores_[channel] = pd.DataFrame(grid, columns=["decay", "half_sat_rel", "shape"]).assign(
                cv_rmse=np.sqrt(err / n_valid))
            rows.append({"channel": channel, "decay": d, "half_sat": k_rel * ad.mean(), "shape": s,
                         "beta": float(beta[0]), "cv_rmse": float(np.sqrt(err[best] / n_valid)),
                         "spend": float(x.sum()), "contribution": contribution, "roi": roi,
                         "roi_low": min([roi, *fold_roi]), "roi_high": max([roi, *fold_roi]),
                         "mean_spend": float(x.mean())})
        self._finish(pd.DataFrame(rows).set_index("channel"))
        self.days_ = days
        self.baseline_design_ = C
        self.target_ = target
        self.spend_ = spend
        self.frame_like_ = panel.iloc[:0]
        self.feature_names_in_ = np.asarray([self.time_col, self.channel_col, self.spend_col, self.target_col],
                                            dtype=object)
        return self

    @staticmethod
    def _curve(adstock: np.ndarray, half_sat_rel: float, shape: float) -> np.ndarray:
        return _hill(adstock, half_sat_rel * adstock.mean(), shape) if adstock.mean() > 0 else np.zeros_like(adstock)

    def _finish(self, params: pd.DataFrame) -> None:
        self.channels_ = [str(c) for c in params.index]
        spend = params["mean_spend"].to_numpy(float)
        params["marginal_roi"] = (self.marginal_roi(spend, params).to_numpy() if np.isfinite(spend).all()
                                  else np.nan)
        self.params_ = params
        self.roi_ = params["roi"].rename("roi") if "roi" in params else pd.Series(np.nan, index=params.index, name="roi")

    @classmethod
    def from_params(cls, params: pd.DataFrame, max_lag: int = 60) -> "MarketingMixModel":
        """A model with given response curves (for what-if analysis and budget tests).

        Parameters
        ----------
        params : pandas.DataFrame
            Indexed by channel with ``decay`` in [0, 1), ``half_sat`` (absolute, > 0),
            ``shape`` (> 0), ``beta`` (>= 0) and optionally ``mean_spend`` (the current daily spend).
        max_lag : int

        Returns
        -------
        MarketingMixModel
            With ``params_`` set; only the curve methods (``response``, ``marginal_roi``,
            ``response_curve``) and :func:`allocate_budget` are available (``contributions``
            raises ``NotFittedError``).
        """
        if not isinstance(params, pd.DataFrame):
            raise DataValidationError.for_parameter("params", "expected a pandas DataFrame indexed by channel",
                                                    type(params).__name__)
        panel.require_columns(params, ["decay", "half_sat", "shape", "beta"], "for the response curves")
        panel.require_numeric(params, ["decay", "half_sat", "shape", "beta"], "for the response curves")
        panel.require_not_empty(params, "for the response curves")
        table = params.copy()
        table.index = table.index.astype(str)
        require_non_negative(table.reset_index(), ["decay", "half_sat", "shape", "beta"], [table.index.name or "index"])
        broken = {"decay": table["decay"] >= 1, "half_sat": table["half_sat"] <= 0, "shape": table["shape"] <= 0}
        bad = broken["decay"] | broken["half_sat"] | broken["shape"]
        if bad.any():
            panel.fail(next(column for column, rows in broken.items() if rows.any()),
                       "each curve needs 0 <= decay < 1, half_sat > 0 and shape > 0", int(bad.sum()),
                       list(table.index[bad.to_numpy()]))
        model = cls(max_lag=panel.check_int("max_lag", max_lag, minimum=0))
        if "mean_spend" not in table:
            table["mean_spend"] = np.nan
        model._finish(table)
        return model

    # ------------------------------------------------------------------ curves
    def _steady_factor(self, decay: np.ndarray) -> np.ndarray:
        return (1.0 - decay ** (self.max_lag + 1)) / (1.0 - decay)

    def spend_vector(self, spend: Any, params: pd.DataFrame | None = None) -> np.ndarray:
        """Daily spend per channel, in ``params_`` order, from a mapping/Series (by name) or a sequence.

        Raises
        ------
        DataValidationError
            An unknown channel, a sequence of the wrong length, negative or non-finite spend.
        """
        p = self._params(params)
        channels = list(p.index)
        if hasattr(spend, "items") and not isinstance(spend, (str, bytes)):
            named = {str(c): v for c, v in spend.items()}
            unknown = [c for c in named if c not in channels]
            if unknown:
                panel.fail(self.channel_col, f"unknown channel {unknown[0]!r}; choose from {channels}")
            values = [named.get(c, 0.0) for c in channels]
        elif isinstance(spend, (str, bytes)) or not hasattr(spend, "__len__"):
            raise DataValidationError.for_parameter("spend", "expected a mapping channel -> daily spend or one value "
                                                             "per channel", spend)
        else:
            values = list(np.asarray(spend, dtype=object).reshape(-1))
            if len(values) != len(channels):
                raise DataValidationError.for_parameter("spend", f"needs {len(channels)} values (channels "
                                                                 f"{channels}), got {len(values)}")
        try:
            vec = np.asarray(values, dtype=float)
        except (TypeError, ValueError):
            raise DataValidationError.for_parameter("spend", "daily spend must be numbers", values) from None
        if not np.isfinite(vec).all() or (vec < 0).any():
            raise DataValidationError.for_parameter("spend", "daily spend must be finite and >= 0",
                                                    dict(zip(channels, vec.tolist())))
        return vec

    def _params(self, params: pd.DataFrame | None) -> pd.DataFrame:
        if params is not None:
            return params
        check_is_fitted(self, "params_")
        return self.params_

    def response(self, spend: Mapping[str, float] | Sequence[float], params: pd.DataFrame | None = None) -> pd.Series:
        """Daily revenue each channel's media adds at a constant daily ``spend`` (steady state).

        Parameters
        ----------
        spend : mapping channel -> daily spend (a Series too), or a sequence in ``channels_`` order

        Returns
        -------
        pandas.Series
            Indexed by channel.

        Raises
        ------
        sklearn.exceptions.NotFittedError
            Before :meth:`fit` (or :meth:`from_params`).
        """
        p = self._params(params)
        x = self.spend_vector(spend, p)
        ad = x * self._steady_factor(p["decay"].to_numpy(float))
        values = p["beta"].to_numpy(float) * _hill(ad, p["half_sat"].to_numpy(float), p["shape"].to_numpy(float))
        return pd.Series(values, index=p.index, name="response")

    def marginal_roi(self, spend: Mapping[str, float] | Sequence[float], params: pd.DataFrame | None = None
                     ) -> pd.Series:
        """Extra revenue per extra unit of daily spend, at a constant daily ``spend``.

        Returns
        -------
        pandas.Series
            Indexed by channel.
        """
        p = self._params(params)
        x = self.spend_vector(spend, p)
        factor = self._steady_factor(p["decay"].to_numpy(float))
        slope = hill_slope(x * factor, p["half_sat"].to_numpy(float), p["shape"].to_numpy(float))
        return pd.Series(p["beta"].to_numpy(float) * slope * factor, index=p.index, name="marginal_roi")

    def response_curve(self, channel: str, spend: Sequence[float]) -> pd.DataFrame:
        """A channel's daily response over a grid of constant daily spends (finite, >= 0).

        Returns
        -------
        pandas.DataFrame
            ``spend``, ``response``, ``roi`` (response / spend) and ``marginal_roi``.
        """
        check_is_fitted(self, "params_")
        name = str(panel.check_choice("channel", str(channel), self.channels_))
        try:
            grid = np.asarray(spend, dtype=float).reshape(-1)
        except (TypeError, ValueError):
            raise DataValidationError.for_parameter("spend", "expected a sequence of daily spends", spend) from None
        if not np.isfinite(grid).all() or (grid < 0).any():
            raise DataValidationError.for_parameter("spend", "daily spends must be finite and >= 0", grid.tolist())
        p = self.params_.loc[[name]]
        decay, half, shape = (p[c].to_numpy(float) for c in ("decay", "half_sat", "shape"))
        beta, factor = p["beta"].to_numpy(float), self._steady_factor(decay)
        resp = beta * _hill(grid * factor, half, shape)
        mroi = beta * hill_slope(grid * factor, half, shape) * factor
        with np.errstate(divide="ignore", invalid="ignore"):
            roi = np.where(grid > 0, resp / grid, np.nan)
        return pd.DataFrame({"spend": grid, "response": resp, "roi": roi, "marginal_roi": mroi})

    # ------------------------------------------------------------------ fitted values
    def contributions(self) -> Any:
        """Daily decomposition of the fitted period.

        Returns
        -------
        frame
            One row per (date, channel): ``actual``, ``baseline``, ``media``, ``fitted`` (in the
            fitted panel's library).

        Raises
        ------
        sklearn.exceptions.NotFittedError
            Before :meth:`fit` (a model from :meth:`from_params` has no fitted period).
        """
        check_is_fitted(self, "curves_")
        parts = []
        for channel in self.channels_:
            curve = self.curves_[channel]
            base = self.baseline_design_ @ curve["G"]
            media = self.params_.loc[channel, "beta"] * curve["h"]
            parts.append(pd.DataFrame({self.time_col: self.days_, self.channel_col: channel,
                                       "actual": self.target_[channel].to_numpy(float), "baseline": base,
                                       "media": media, "fitted": base + media}))
        out = pd.concat(parts, ignore_index=True).sort_values([self.time_col, self.channel_col], kind="stable")
        return panel.from_host(self.frame_like_, out.reset_index(drop=True))
