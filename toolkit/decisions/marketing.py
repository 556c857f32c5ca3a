"""Cross-channel marketing decisions: the channel panel, a marketing-mix model, budgets, fraud.

* :func:`channel_panel` integrates online (web, app, marketplace) and offline (store) order
  systems with :func:`toolkit.cleanse.integrate_channels` and joins each day's spend,
  impressions, clicks and conversions to the revenue they drove.
* :class:`MarketingMixModel` explains each channel's daily revenue by a baseline (trend,
  weekday, yearly Fourier terms, holidays) plus the channel's own media response: geometric
  adstock (:func:`toolkit.features.add_adstock`) passed through a Hill saturation curve
  (:func:`toolkit.features.add_saturation`), with a non-negative effect.
* :func:`allocate_budget` splits a daily budget between channels on the fitted response
  curves (SciPy's SLSQP); :func:`allocate_budget_lp` solves the linear-programming form over
  (sku, day, channel) nodes with HiGHS, optionally capped by the stock each sku has.
* :func:`click_fraud` flags days whose clicks do not match the spend and impressions.

Design choices
--------------
* **One response per channel.** A channel's revenue is modelled from its own spend: the panel
  is one row per (date, channel) and each channel gets its own baseline coefficients. Media
  cross-effects are out of scope.
* **Decay and saturation by time-series CV.** For every channel the model scores a grid of
  (decay, half saturation, shape) candidates on expanding-window folds
  (:func:`toolkit.regress.time_series_splits`) and keeps the one with the least squared error;
  the half saturation is given relative to the mean adstock of the channel, so one grid fits
  every spend scale. With a single media column per channel the non-negative least-squares
  problem has a closed form: project the revenue and the media curve off the baseline
  columns (Frisch-Waugh), take ``beta = max(0, <h, y> / <h, h>)``, then solve the baseline
  coefficients; this is exact (the problem is convex in ``beta``) and vectorises over all
  candidates at once, which is why it is written out rather than calling
  ``scipy.optimize.lsq_linear`` once per candidate and fold (the tests use that as reference).
* **ROI is an extrapolation.** ROI compares revenue with the revenue at zero spend; when spend
  never comes near zero the data pin the curve only over the observed range and the ROI rests
  on the Hill form. :attr:`MarketingMixModel.roi_` therefore comes with the spread of ROIs
  refitted on each CV training window; the marginal ROI (slope at the current spend) is what
  the data identify best and what budget moves should follow.
* **Budgets in steady state.** A constant daily spend ``s`` gives the adstock
  ``s * (1 - d^(L+1)) / (1 - d)`` (``L`` = ``max_lag``), so the daily response curve of a
  channel is ``beta * hill(that)``; the allocation maximises the sum of these curves.
* The panel is small (a row per day and channel): model fitting runs on the host with NumPy;
  frames come back in the input's library.

Examples
--------
>>> from toolkit.datasets import make_retail
>>> from toolkit.decisions.marketing import channel_panel, MarketingMixModel
>>> data = make_retail(n_skus=20, n_locations=4, n_days=240, progress=False)
>>> panel = channel_panel(data.orders, data.marketing)
>>> sorted(panel["channel"].unique().tolist())
['app', 'marketplace', 'store', 'web']
"""

from __future__ import annotations

import dataclasses
import math
from typing import Any, Mapping, Sequence

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator

from toolkit import backend
from toolkit.errors import DataValidationError
from toolkit.panel import as_list

__all__ = [
    "channel_panel",
    "PanelReport",
    "MarketingMixModel",
    "allocate_budget",
    "allocate_budget_lp",
    "hill",
    "marketing_anomalies",
    "MarketingAnomalies",
]

_KEYS_SHOWN = 5
_MEDIA_COLS = ("spend", "impressions", "clicks", "conversions")


def hill(x: Any, half_sat: float, shape: float) -> Any:
    """The Hill curve ``x^s / (x^s + k^s)`` (numpy or cupy; ``x >= 0``).

    Examples
    --------
    >>> float(hill(2.0, 2.0, 1.5))
    0.5
    """
    xs = x**shape
    return xs / (xs + half_sat**shape)


def _hill_slope(x: Any, half_sat: float, shape: float) -> Any:
    """d hill / d x."""
    ks = half_sat**shape
    xs = x**shape
    with np.errstate(divide="ignore", invalid="ignore"):
        slope = shape * x ** (shape - 1) * ks / (xs + ks) ** 2
    at_zero = 1.0 / half_sat if shape == 1 else (np.inf if shape < 1 else 0.0)
    return np.where(np.asarray(x) > 0, slope, at_zero)


def _fail(column: str, problem: str, count: int | None = None, keys: Sequence[Any] | None = None) -> None:
    raise DataValidationError.for_column(column, problem, count, keys, limit=_KEYS_SHOWN)


def _require(frame: Any, columns: Sequence[str], purpose: str) -> None:
    if backend.is_dask(frame):
        raise TypeError(f"a Dask frame was given (needed {purpose}): the marketing panel is small, "
                        "call .compute() first")
    cols = frame.columns
    for col in columns:
        if col not in cols:
            _fail(col, f"missing (needed {purpose})")
    if len(frame) == 0:
        _fail(columns[0], f"the frame is empty (needed {purpose})")


def _check_media(frame: pd.DataFrame, cols: Sequence[str], keys: Sequence[str]) -> None:
    """Media columns must be finite and non-negative; named offenders otherwise."""
    for col in cols:
        x = frame[col].to_numpy(dtype="float64", na_value=np.nan)
        for bad, problem in ((~np.isfinite(x), "has missing or infinite values"), (x < 0, "has negative values")):
            if bad.any():
                rows = frame.loc[bad, list(keys)].head(_KEYS_SHOWN)
                _fail(col, problem, int(bad.sum()), [tuple(map(str, r)) for r in rows.itertuples(index=False)])


# --------------------------------------------------------------------------- channel panel


@dataclasses.dataclass
class PanelReport:
    """Order lines used and left out by :func:`channel_panel`.

    Attributes
    ----------
    rows_in : int
        Order lines after integration.
    rows_used : int
    dropped : dict
        Lines left out per reason (``duplicated``, ``negative_quantity``, ``missing_price``).
    """

    rows_in: int
    rows_used: int
    dropped: dict

    def __repr__(self) -> str:
        return f"PanelReport(rows_in={self.rows_in}, rows_used={self.rows_used}, dropped={self.dropped})"


def channel_panel(
    orders: Any,
    marketing: Any,
    mapping: Mapping[str, Mapping[str, Any]] | None = None,
    channels: Sequence[str] | None = None,
    time_col: str = "date",
    channel_col: str = "channel",
    report: list | None = None,
) -> Any:
    """The integrated daily panel of channels: spend, impressions, clicks, conversions, revenue.

    Parameters
    ----------
    orders : frame or dict of str -> frame
        Order lines (``order_id, order_ts, quantity, unit_price`` and ``channel_col``), or one
        frame per source system (``{"web": ..., "store": ...}``), integrated with
        :func:`toolkit.cleanse.integrate_channels` (``mapping`` is passed to it). A single frame
        is split by its channel column first, so the same integration (de-duplication across
        systems) applies.
    marketing : frame
        One row per (date, channel): ``spend, impressions, clicks, conversions``.
    mapping : dict, optional
        Per source renames/unit/currency/timezone rules for ``integrate_channels``.
    channels : list of str, optional
        The channels expected (default: those of ``marketing``); any other channel in either
        table is an error.
    time_col : str, default "date"
    channel_col : str, default "channel"
    report : list, optional
        A :class:`PanelReport` is appended (rows in = rows used + dropped per reason).

    Returns
    -------
    frame
        Same library as ``marketing``: one row per (date, channel) of ``marketing`` with the
        media columns, ``revenue`` (sum of ``quantity * unit_price`` over valid lines of that
        day and channel, 0 when none), ``orders`` (distinct order ids) and ``units``.

    Raises
    ------
    DataValidationError
        Missing columns, negative or missing spend, duplicated (date, channel) in marketing,
        an unknown channel.

    Examples
    --------
    >>> import pandas as pd
    >>> orders = pd.DataFrame({"order_id": [1, 2, 3], "channel": ["web", "store", "web"],
    ...     "order_ts": pd.to_datetime(["2024-01-01 10:00", "2024-01-01 12:00", "2024-01-02 09:00"]),
    ...     "quantity": [2, 1, 1], "unit_price": [5.0, 3.0, 4.0]})
    >>> mkt = pd.DataFrame({"date": pd.to_datetime(["2024-01-01", "2024-01-01", "2024-01-02", "2024-01-02"]),
    ...     "channel": ["web", "store", "web", "store"], "spend": [1.0, 2.0, 1.0, 2.0],
    ...     "impressions": 100, "clicks": 5, "conversions": 1})
    >>> channel_panel(orders, mkt)["revenue"].tolist()
    [3.0, 10.0, 0.0, 4.0]
    """
    from toolkit.cleanse import integrate_channels

    _require(marketing, [time_col, channel_col, *_MEDIA_COLS], "for the channel panel")
    mkt = backend.to_host(marketing)
    _check_media(mkt, _MEDIA_COLS, [time_col, channel_col])
    dup = mkt.duplicated([time_col, channel_col], keep=False)
    if dup.any():
        rows = mkt.loc[dup, [time_col, channel_col]].head(_KEYS_SHOWN).astype(str)
        _fail(channel_col, "duplicated (date, channel) rows in marketing", int(dup.sum()),
              [tuple(r) for r in rows.itertuples(index=False)])
    known = [str(c) for c in (channels if channels is not None else pd.unique(mkt[channel_col].astype(str)))]
    unknown_mkt = ~mkt[channel_col].astype(str).isin(known)
    if unknown_mkt.any():
        _fail(channel_col, f"unknown channel in marketing (expected {known})", int(unknown_mkt.sum()),
              sorted(set(mkt.loc[unknown_mkt, channel_col].astype(str)))[:_KEYS_SHOWN])

    if isinstance(orders, Mapping):
        sources = dict(orders)
    else:
        _require(orders, [channel_col], "to split orders into channel systems")
        host = backend.to_host(orders)
        names = host[channel_col].astype(str)
        sources = {name: host[names == name].drop(columns=channel_col) for name in pd.unique(names)}
        mapping = {name: {**(mapping or {}).get(name, {}), "channel": name} for name in sources}
    integrated = backend.to_host(integrate_channels(sources, mapping, channel_col=channel_col))
    _require(integrated, ["order_id", "order_ts", "quantity", "unit_price", channel_col], "for channel revenue")
    names = integrated[channel_col].astype(str)
    unknown = ~names.isin(known)
    if unknown.any():
        _fail(channel_col, f"unknown channel in orders (expected {known})", int(unknown.sum()),
              sorted(set(names[unknown]))[:_KEYS_SHOWN])

    rows_in = len(integrated)
    duplicated = integrated.duplicated(keep="first").to_numpy()
    qty = integrated["quantity"].to_numpy(dtype="float64", na_value=np.nan)
    price = integrated["unit_price"].to_numpy(dtype="float64", na_value=np.nan)
    negative = ~duplicated & (qty < 0)
    missing = ~duplicated & ~negative & ~(np.isfinite(price) & np.isfinite(qty))
    keep = ~(duplicated | negative | missing)
    lines = pd.DataFrame({
        time_col: integrated["order_ts"].to_numpy()[keep].astype("datetime64[ns]"),
        channel_col: names.to_numpy()[keep],
        "order_id": integrated["order_id"].to_numpy()[keep],
        "units": qty[keep],
        "revenue": qty[keep] * price[keep],
    })
    lines[time_col] = lines[time_col].dt.floor("D")
    daily = lines.groupby([time_col, channel_col]).agg(
        revenue=("revenue", "sum"), units=("units", "sum"), orders=("order_id", "nunique")).reset_index()
    panel = mkt.assign(**{channel_col: mkt[channel_col].astype(str)}).merge(daily, on=[time_col, channel_col],
                                                                            how="left")
    panel[["revenue", "units", "orders"]] = panel[["revenue", "units", "orders"]].fillna(0.0)
    panel = panel.sort_values([time_col, channel_col], kind="stable").reset_index(drop=True)
    panel[channel_col] = pd.Categorical(panel[channel_col], categories=known)
    if report is not None:
        report.append(PanelReport(rows_in=rows_in, rows_used=int(keep.sum()),
                                  dropped={"duplicated": int(duplicated.sum()), "negative_quantity": int(negative.sum()),
                                           "missing_price": int(missing.sum())}))
    return backend.to_device(panel) if backend.is_gpu(marketing) else panel


# --------------------------------------------------------------------------- marketing-mix model


def _baseline_basis(C: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Orthonormal basis of the baseline columns and their pseudo-inverse (one SVD)."""
    U, s, Vt = np.linalg.svd(C, full_matrices=False)
    keep = s > s[0] * max(C.shape) * np.finfo(float).eps
    U, s, Vt = U[:, keep], s[keep], Vt[keep]
    return U, (Vt.T / s) @ U.T


def _nonneg_media_fit(C: np.ndarray, H: np.ndarray, y: np.ndarray,
                      basis: tuple[np.ndarray, np.ndarray] | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Least squares of ``y`` on ``[C, h_j]`` with ``beta_j >= 0``, for every column ``h_j`` of ``H``.

    ``basis`` is :func:`_baseline_basis` of ``C`` when already computed. Returns the baseline
    coefficients ``G`` (one column per candidate) and ``beta``.
    """
    U, pinv = _baseline_basis(C) if basis is None else basis
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
        Candidate half saturations, relative to the channel's mean adstock.
    shapes : sequence of float
        Candidate Hill shapes.
    max_lag : int
        Days of adstock carry-over.
    fourier_order : int
        Yearly Fourier pairs in the baseline (0 for none).
    country : str or None
        Holiday calendar of the baseline (``holidays`` package); None for no holidays.
    n_windows, horizon : int
        Expanding-window CV folds: ``n_windows`` validation blocks of ``horizon`` days.
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
        if any(not 0.0 <= d < 1.0 for d in self.decays):
            raise ValueError(f"decays must lie in [0, 1), got {self.decays}")
        if any(v <= 0 for v in [*self.half_sats, *self.shapes]):
            raise ValueError("half_sats and shapes must be > 0")

    def _wide(self, panel: Any) -> tuple[pd.DataFrame, pd.DataFrame]:
        """Validate the (date, channel) panel; spend and target as (dates x channels) tables."""
        tcol, ccol = self.time_col, self.channel_col
        _require(panel, [tcol, ccol, self.spend_col, self.target_col], "by the marketing-mix model")
        host = backend.to_host(panel)
        _check_media(host, [self.spend_col], [tcol, ccol])
        y = host[self.target_col].to_numpy(dtype="float64", na_value=np.nan)
        if not np.isfinite(y).all():
            _fail(self.target_col, "has missing or infinite values", int((~np.isfinite(y)).sum()))
        frame = host.assign(**{ccol: host[ccol].astype(str)})
        dup = frame.duplicated([tcol, ccol], keep=False)
        if dup.any():
            _fail(ccol, "duplicated (date, channel) rows", int(dup.sum()),
                  frame.loc[dup, [tcol, ccol]].astype(str).head(_KEYS_SHOWN).values.tolist())
        spend = frame.pivot(index=tcol, columns=ccol, values=self.spend_col).sort_index()
        target = frame.pivot(index=tcol, columns=ccol, values=self.target_col).sort_index()
        days = pd.date_range(spend.index.min(), spend.index.max(), freq="D")
        if len(days) != len(spend) or spend.isna().any().any():
            missing = int(len(days) * spend.shape[1] - spend.notna().sum().sum())
            _fail(tcol, "the panel needs one row per day and channel without gaps", missing)
        need = self.horizon * self.n_windows + 28
        if len(days) < need:
            _fail(tcol, f"{len(days)} days are too few for {self.n_windows} CV windows of {self.horizon} days "
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
            Missing columns, negative/missing spend, missing target, duplicated or missing
            (date, channel) rows, too few days for the CV windows.
        """
        from toolkit.regress import time_series_splits

        self._check_args()
        spend, target = self._wide(panel)
        self.input_gpu_ = backend.is_gpu(panel)
        days = spend.index
        C = self._baseline(days)
        folds = time_series_splits(np.asarray(days), None, n_windows=self.n_windows, horizon=self.horizon)
        adstocks = self._adstocks(spend)
        grid = [(d, k, s) for d in sorted(adstocks) for k in self.half_sats for s in self.shapes]
        bases = [_baseline_basis(C[train]) for train, _ in folds]
        full = _baseline_basis(C)
        rows, self.cv_scores_, self.curves_ = [], {}, {}
        for channel in spend.columns:
            y = target[channel].to_numpy(dtype=float)
            x = spend[channel].to_numpy(dtype=float)
            H = np.column_stack([self._curve(adstocks[d][channel].to_numpy(), k, s) for d, k, s in grid])
            err = np.zeros(len(grid))
            for (train, valid), basis in zip(folds, bases):
                G, beta = _nonneg_media_fit(C[train], H[train], y[train], basis)
                err += ((y[valid, None] - (C[valid] @ G + H[valid] * beta)) ** 2).sum(axis=0)
            best = int(np.argmin(err))
            d, k_rel, s = grid[best]
            ad = adstocks[d][channel].to_numpy()
            h = H[:, best]
            G, beta = _nonneg_media_fit(C, h[:, None], y, full)
            fold_roi = []
            for (train, _), basis in zip(folds, bases):
                _, b = _nonneg_media_fit(C[train], h[train, None], y[train], basis)
                fold_roi.append(float(b[0] * h[train].sum() / max(x[train].sum(), 1e-12)))
            contribution = float(beta[0] * h.sum())
            roi = contribution / x.sum() if x.sum() > 0 else float("nan")
            self.curves_[channel] = {"G": G[:, 0], "h": h}
            self.cv_scores_[channel] = pd.DataFrame(grid, columns=["decay", "half_sat_rel", "shape"]).assign(
                cv_rmse=np.sqrt(err / sum(len(v) for _, v in folds)))
            rows.append({"channel": channel, "decay": d, "half_sat": k_rel * ad.mean(), "shape": s,
                         "beta": float(beta[0]), "cv_rmse": float(np.sqrt(err[best] / sum(len(v) for _, v in folds))),
                         "spend": float(x.sum()), "contribution": contribution, "roi": roi,
                         "roi_low": min([roi, *fold_roi]), "roi_high": max([roi, *fold_roi]),
                         "mean_spend": float(x.mean())})
        self._finish(pd.DataFrame(rows).set_index("channel"))
        self.days_ = days
        self.baseline_design_ = C
        self.target_ = target
        self.spend_ = spend
        return self

    @staticmethod
    def _curve(adstock: np.ndarray, half_sat_rel: float, shape: float) -> np.ndarray:
        return hill(adstock, half_sat_rel * adstock.mean(), shape) if adstock.mean() > 0 else np.zeros_like(adstock)

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
            Indexed by channel with ``decay``, ``half_sat`` (absolute), ``shape``, ``beta`` and
            optionally ``mean_spend`` (the current daily spend).
        max_lag : int

        Returns
        -------
        MarketingMixModel
            With ``params_`` set; only the curve methods (``response``, ``marginal_roi``,
            ``response_curve``) and :func:`allocate_budget` are available.
        """
        model = cls(max_lag=max_lag)
        table = params.copy()
        table.index = table.index.astype(str)
        if "mean_spend" not in table:
            table["mean_spend"] = np.nan
        model._finish(table)
        return model

    # ------------------------------------------------------------------ curves
    def _steady_adstock(self, spend: np.ndarray, decay: np.ndarray) -> np.ndarray:
        return spend * (1.0 - decay ** (self.max_lag + 1)) / (1.0 - decay)

    def _spend_vector(self, spend: Mapping[str, float] | Sequence[float] | np.ndarray, params: pd.DataFrame) -> np.ndarray:
        if isinstance(spend, Mapping):
            unknown = [c for c in spend if str(c) not in params.index]
            if unknown:
                _fail(self.channel_col, f"unknown channel {unknown[0]!r} (model has {list(params.index)})")
            vec = np.array([float(spend.get(c, 0.0)) for c in params.index])
        else:
            vec = np.asarray(spend, dtype=float).reshape(-1)
            if vec.size != len(params):
                raise ValueError(f"spend needs {len(params)} values (channels {list(params.index)}), got {vec.size}")
        if not np.isfinite(vec).all() or (vec < 0).any():
            _fail(self.spend_col, f"daily spend must be finite and >= 0, got {dict(zip(params.index, vec))}")
        return vec

    def response(self, spend: Mapping[str, float] | Sequence[float], params: pd.DataFrame | None = None) -> pd.Series:
        """Daily revenue each channel's media adds at a constant daily ``spend`` (steady state).

        Parameters
        ----------
        spend : mapping channel -> daily spend, or a sequence in ``channels_`` order

        Returns
        -------
        pandas.Series
            Indexed by channel.
        """
        p = self.params_ if params is None else params
        x = self._spend_vector(spend, p)
        ad = self._steady_adstock(x, p["decay"].to_numpy(float))
        values = p["beta"].to_numpy(float) * hill(ad, p["half_sat"].to_numpy(float), p["shape"].to_numpy(float))
        return pd.Series(values, index=p.index, name="response")

    def marginal_roi(self, spend: Mapping[str, float] | Sequence[float], params: pd.DataFrame | None = None) -> pd.Series:
        """Extra revenue per extra unit of daily spend, at a constant daily ``spend``.

        Returns
        -------
        pandas.Series
            Indexed by channel.
        """
        p = self.params_ if params is None else params
        x = self._spend_vector(spend, p)
        decay = p["decay"].to_numpy(float)
        factor = (1.0 - decay ** (self.max_lag + 1)) / (1.0 - decay)
        half, shape = p["half_sat"].to_numpy(float), p["shape"].to_numpy(float)
        slope = np.array([float(_hill_slope(np.float64(a), k, s)) for a, k, s in zip(x * factor, half, shape)])
        return pd.Series(p["beta"].to_numpy(float) * slope * factor, index=p.index, name="marginal_roi")

    def response_curve(self, channel: str, spend: Sequence[float]) -> pd.DataFrame:
        """A channel's daily response over a grid of constant daily spends.

        Returns
        -------
        pandas.DataFrame
            ``spend``, ``response``, ``roi`` (response / spend) and ``marginal_roi``.
        """
        if str(channel) not in self.params_.index:
            _fail(self.channel_col, f"unknown channel {channel!r} (model has {self.channels_})")
        grid = np.asarray(spend, dtype=float)
        p = self.params_.loc[[str(channel)]]
        resp = np.array([self.response([s], p).iloc[0] for s in grid])
        mroi = np.array([self.marginal_roi([s], p).iloc[0] for s in grid])
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
        """
        parts = []
        for channel in self.channels_:
            curve = self.curves_[channel]
            base = self.baseline_design_ @ curve["G"]
            media = self.params_.loc[channel, "beta"] * curve["h"]
            parts.append(pd.DataFrame({self.time_col: self.days_, self.channel_col: channel,
                                       "actual": self.target_[channel].to_numpy(float), "baseline": base,
                                       "media": media, "fitted": base + media}))
        out = pd.concat(parts, ignore_index=True).sort_values([self.time_col, self.channel_col], kind="stable")
        out = out.reset_index(drop=True)
        return backend.to_device(out) if self.input_gpu_ else out


# --------------------------------------------------------------------------- budgets


def _bounds_table(model: MarketingMixModel, total: float, bounds: Any) -> tuple[np.ndarray, np.ndarray]:
    channels = list(model.params_.index)
    low, high = np.zeros(len(channels)), np.full(len(channels), float(total))
    if bounds is not None:
        unknown = [c for c in bounds if str(c) not in channels]
        if unknown:
            _fail("channel", f"bounds name unknown channel {unknown[0]!r} (model has {channels})")
        for i, c in enumerate(channels):
            if c in bounds:
                lo, hi = bounds[c]
                low[i] = 0.0 if lo is None else float(lo)
                high[i] = float(total) if hi is None else float(hi)
    bad = (low < 0) | (high < low) | ~np.isfinite(low) | ~np.isfinite(high)
    if bad.any():
        _fail("bounds", f"each channel needs 0 <= low <= high; bad for {[channels[i] for i in np.flatnonzero(bad)]}")
    if low.sum() > total * (1 + 1e-12) or high.sum() < total * (1 - 1e-12):
        _fail("bounds", f"infeasible: the lower bounds sum to {low.sum():g} and the upper bounds to {high.sum():g}, "
                        f"so no split of the total {total:g} respects them")
    return low, high


def allocate_budget(
    model: MarketingMixModel,
    total: float,
    bounds: Mapping[str, tuple[float | None, float | None]] | None = None,
    current: Mapping[str, float] | None = None,
    n_starts: int = 8,
    seed: int = 0,
) -> pd.DataFrame:
    """Split a daily budget between channels to maximise predicted revenue (SciPy SLSQP).

    Maximises ``sum_c response_c(spend_c)`` (the fitted steady-state curves) subject to
    ``sum_c spend_c = total`` and ``low_c <= spend_c <= high_c``. Hill curves with shape > 1
    are not concave, so SLSQP starts from the current split, the even split and random
    feasible splits, and the best end point is kept.

    Parameters
    ----------
    model : MarketingMixModel
        Fitted (or built with :meth:`MarketingMixModel.from_params`).
    total : float
        Daily budget (> 0).
    bounds : mapping channel -> (low, high), optional
        Daily spend limits; ``None`` in a pair means no limit. A channel whose skus will stock
        out gets ``(0, 0)`` (see :func:`allocate_budget_lp` for the sku-level form).
    current : mapping channel -> daily spend, optional
        The split to compare with (default: the fitted period's mean daily spend, scaled to
        ``total``).
    n_starts : int
        Starting points of the local search.
    seed : int

    Returns
    -------
    pandas.DataFrame
        Indexed by channel: ``current``, ``optimal`` (daily spend), ``revenue_current``,
        ``revenue_optimal`` (daily media revenue), ``marginal_roi`` at the optimum.
        ``.attrs["uplift"]`` is the predicted extra revenue per day.

    Raises
    ------
    DataValidationError
        Infeasible bounds (lower bounds above the total, upper bounds below it), an unknown
        channel, a negative total.

    Examples
    --------
    >>> import pandas as pd
    >>> curves = pd.DataFrame({"decay": [0.0, 0.0], "half_sat": [100.0, 100.0], "shape": [1.0, 1.0],
    ...                        "beta": [500.0, 500.0]}, index=["web", "app"])
    >>> plan = allocate_budget(MarketingMixModel.from_params(curves), total=300.0)
    >>> plan["optimal"].round(2).tolist()
    [150.0, 150.0]
    """
    from scipy.optimize import minimize

    if not (isinstance(total, (int, float, np.number)) and math.isfinite(total) and total > 0):
        _fail("spend", f"the total budget must be a finite number > 0, got {total!r}")
    low, high = _bounds_table(model, float(total), bounds)
    p = model.params_
    scale = float(total)

    def objective(z):  # in units of the total, for a well-scaled problem
        return -float(model.response(z * scale, p).sum()) / scale

    def gradient(z):
        return -model.marginal_roi(z * scale, p).to_numpy()

    rng = np.random.default_rng(seed)
    lo, hi = low / scale, high / scale
    if current is None:
        base = p["mean_spend"].to_numpy(float)
        base = base if np.isfinite(base).all() and base.sum() > 0 else np.ones(len(p))
        current_vec = base / base.sum() * total
    else:
        current_vec = model._spend_vector(current, p)
    starts = [np.clip(current_vec / scale, lo, hi), np.clip(np.full(len(p), 1.0 / len(p)), lo, hi)]
    starts += [np.clip(rng.dirichlet(np.ones(len(p))), lo, hi) for _ in range(max(n_starts - 2, 0))]
    best = None
    for z0 in starts:
        res = minimize(objective, z0, jac=gradient, method="SLSQP", bounds=list(zip(lo, hi)),
                       constraints=[{"type": "eq", "fun": lambda z: z.sum() - 1.0, "jac": lambda z: np.ones_like(z)}],
                       options={"ftol": 1e-12, "maxiter": 500})
        z = np.clip(res.x, lo, hi)
        if abs(z.sum() - 1.0) > 1e-6:
            continue
        if best is None or objective(z) < objective(best):
            best = z
    if best is None:
        raise RuntimeError("SLSQP found no split that meets the budget and bounds")
    optimal = best * scale
    table = pd.DataFrame({"current": current_vec, "optimal": optimal,
                          "revenue_current": model.response(current_vec, p).to_numpy(),
                          "revenue_optimal": model.response(optimal, p).to_numpy(),
                          "marginal_roi": model.marginal_roi(optimal, p).to_numpy()}, index=p.index)
    table.index.name = "channel"
    table.attrs["uplift"] = float(table["revenue_optimal"].sum() - table["revenue_current"].sum())
    return table


def allocate_budget_lp(
    nodes: Any,
    total: float,
    return_col: str = "roi",
    capacity_col: str = "max_spend",
    inventory: Any = None,
    units_col: str = "units_per_spend",
    available_col: str = "available_units",
    stock_keys: str | Sequence[str] = ("sku", "date"),
) -> Any:
    """The linear-programming budget: ``max sum r_n p_n`` over (sku, day, channel) nodes.

    Subject to ``0 <= p_n <= capacity_n`` (per-node capacity), ``sum p_n <= total`` and,
    with ``inventory``, ``sum_{n in k} units_per_spend_n * p_n <= available_k`` for every stock
    key ``k`` (e.g. (sku, date)): spend is not pushed on skus the warehouse cannot serve
    (``available = 0`` forbids it). Solved with SciPy's HiGHS ``linprog``.

    Parameters
    ----------
    nodes : pandas or cudf DataFrame
        One row per decision node with ``return_col`` (revenue per unit of spend) and
        ``capacity_col`` (>= 0); with ``inventory`` also ``units_col`` and ``stock_keys``.
    total : float
        Budget (>= 0).
    inventory : frame, optional
        ``stock_keys`` + ``available_col`` (units the warehouse can ship). Nodes whose key is
        absent from it are not limited.

    Returns
    -------
    frame
        ``nodes`` (same library, same rows) plus ``spend`` and ``revenue`` (``r * spend``);
        ``.attrs["objective"]`` holds the optimal total revenue on pandas.

    Raises
    ------
    DataValidationError
        Missing columns, negative or non-finite capacity, return or units, negative budget.

    Examples
    --------
    >>> import pandas as pd
    >>> nodes = pd.DataFrame({"roi": [3.0, 2.0, 1.0], "max_spend": [10.0, 10.0, 10.0]})
    >>> allocate_budget_lp(nodes, total=15.0)["spend"].tolist()
    [10.0, 5.0, 0.0]
    """
    from scipy import sparse
    from scipy.optimize import linprog

    _require(nodes, [return_col, capacity_col], "for the budget LP")
    host = backend.to_host(nodes)
    keys = as_list(stock_keys)
    if not (isinstance(total, (int, float, np.number)) and math.isfinite(total) and total >= 0):
        _fail("spend", f"the total budget must be a finite number >= 0, got {total!r}")
    _check_media(host.reset_index(drop=True).assign(_node=np.arange(len(host))), [capacity_col], ["_node"])
    r = host[return_col].to_numpy(dtype="float64", na_value=np.nan)
    if not np.isfinite(r).all():
        _fail(return_col, "has missing or infinite values", int((~np.isfinite(r)).sum()))
    cap = host[capacity_col].to_numpy(dtype="float64")
    n = len(host)
    rows = [sparse.csr_matrix(np.ones((1, n)))]
    rhs = [float(total)]
    if inventory is not None:
        _require(host, [units_col, *keys], "for the inventory constraint")
        _require(inventory, [*keys, available_col], "for the inventory constraint")
        inv = backend.to_host(inventory)
        _check_media(host.reset_index(drop=True).assign(_node=np.arange(n)), [units_col], ["_node"])
        _check_media(inv, [available_col], keys)
        key_frame = host[keys].reset_index(drop=True).astype(str)
        inv_keys = inv[keys].astype(str).assign(_k=np.arange(len(inv)))
        matched = key_frame.assign(_node=np.arange(n)).merge(inv_keys, on=keys, how="inner")
        if len(matched):
            units = host[units_col].to_numpy(dtype="float64")
            A = sparse.csr_matrix((units[matched["_node"].to_numpy()],
                                   (matched["_k"].to_numpy(), matched["_node"].to_numpy())), shape=(len(inv), n))
            rows.append(A)
            rhs += inv[available_col].to_numpy(dtype="float64").tolist()
    res = linprog(-r, A_ub=sparse.vstack(rows).tocsr(), b_ub=np.asarray(rhs), bounds=np.column_stack([np.zeros(n), cap]),
                  method="highs")
    if res.status != 0:
        raise RuntimeError(f"HiGHS could not solve the budget LP: {res.message}")
    spend = np.clip(res.x, 0.0, cap)
    out = host.assign(spend=spend, revenue=r * spend)
    out.attrs["objective"] = float(-res.fun)
    return backend.to_device(out) if backend.is_gpu(nodes) else out


# --------------------------------------------------------------------------- anomalies


@dataclasses.dataclass
class MarketingAnomalies:
    """Click-fraud and spend anomalies from :func:`marketing_anomalies`.

    Attributes
    ----------
    days : frame
        ``marketing`` with ``ctr``, ``cvr``, ``click_score``, ``click_fraud`` (from
        :func:`toolkit.anomaly.click_fraud`), ``cpm``, ``spend_score`` and ``spend_anomaly``
        (robust z of log cost per thousand impressions within the channel, flagged above ``k``), ``anomaly_score``
        (the larger score) and ``is_anomaly`` (either flag).
    incidents : frame
        :func:`toolkit.anomaly.alarms` of the flagged days per channel.
    """

    days: Any
    incidents: Any


def marketing_anomalies(
    marketing: Any,
    channel_col: str = "channel",
    time_col: str = "date",
    k: float = 5.0,
    min_hits: int = 1,
    window: float = 3,
) -> MarketingAnomalies:
    """Click fraud and abnormal media prices per channel, joined into incidents.

    Click fraud raises clicks without conversions (:func:`toolkit.anomaly.click_fraud`), and
    more clicks than impressions (clicks on a day without ads) is fraud outright; a
    spend anomaly is a day whose cost per thousand impressions is far from the channel's usual
    price (robust z of its log with :func:`toolkit.anomaly.detect`, ``method="robust_z"``):
    money spent on impressions that were never served, or a bidding error.

    Parameters
    ----------
    marketing : pandas or cudf DataFrame
        One row per (date, channel): ``spend, impressions, clicks, conversions``.
    k : float
        Robust z cut-off of both rules (5: with a few channels over a year or two, a 3.5 cut-off
        raises several false alarms a year per channel).
    min_hits, window : as in :func:`toolkit.anomaly.alarms`.

    Returns
    -------
    MarketingAnomalies

    Raises
    ------
    DataValidationError
        Missing columns, negative or missing media values.

    Examples
    --------
    >>> from toolkit.datasets import make_retail
    >>> data = make_retail(n_skus=10, n_locations=4, n_days=120, progress=False)
    >>> found = marketing_anomalies(data.marketing)
    >>> int(found.days["click_fraud"].sum()) >= 1
    True
    """
    from toolkit.anomaly import alarms, click_fraud, detect

    if backend.is_gpu(marketing):  # a few thousand rows: score on the host, return on the device
        found = marketing_anomalies(backend.to_host(marketing), channel_col, time_col, k, min_hits, window)
        return MarketingAnomalies(days=backend.to_device(found.days), incidents=backend.to_device(found.incidents))

    _require(marketing, [time_col, channel_col, *_MEDIA_COLS], "for marketing anomalies")
    _check_media(backend.to_host(marketing), _MEDIA_COLS, [time_col, channel_col])
    clicks = click_fraud(marketing, id_cols=channel_col, k=k).rename(
        columns={"anomaly_score": "click_score", "is_anomaly": "click_fraud"})
    impressions = clicks["impressions"].astype("float64")
    # More clicks than impressions (e.g. clicks on a dark day) cannot be real; the robust z
    # cannot score them (no click-through rate), so they rank just above every scored day.
    impossible = clicks["clicks"].astype("float64") > impressions
    if bool(impossible.any()):
        top = float(clicks["click_score"].max()) if bool(clicks["click_score"].notna().any()) else 0.0
        clicks["click_score"] = clicks["click_score"].where(~impossible, max(top, k) + 1.0)
        clicks["click_fraud"] = clicks["click_fraud"] | impossible
    clicks["cpm"] = clicks["spend"].astype("float64") / impressions.where(impressions > 0) * 1000.0
    positive = clicks["cpm"].where(clicks["cpm"] > 0)
    work = pd.DataFrame({channel_col: clicks[channel_col], time_col: clicks[time_col], "log_cpm": np.log(positive)})
    scored = detect(work, "log_cpm", method="robust_z", id_cols=channel_col, time_col=time_col)
    score = scored["anomaly_score"].fillna(0.0).to_numpy()
    clicks["spend_score"] = score
    clicks["spend_anomaly"] = score > k
    clicks["anomaly_score"] = clicks[["click_score", "spend_score"]].max(axis=1)
    clicks["is_anomaly"] = clicks["click_fraud"] | clicks["spend_anomaly"]
    incidents = alarms(clicks, min_hits=min_hits, window=window, id_cols=channel_col, time_col=time_col)
    return MarketingAnomalies(days=clicks, incidents=incidents)
