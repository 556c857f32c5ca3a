"""Exponential smoothing and the Theta method for many series at once, on NumPy or CuPy.

Series are rows of a left-aligned matrix (:func:`toolkit.kernels.seasonal.left_aligned`)
with their ``lengths``; every recursion loops over time steps only, updating all series
(and all candidate parameter sets of a search) in one array operation per step.

**The recursions** are those of Holt-Winters in error-correction form with additive
errors, the convention of ``statsmodels.tsa.holtwinters.ExponentialSmoothing``: with
``base = l + phi * b`` and ``s`` the seasonal index of the value's phase,

* one-step forecast ``base + s`` (additive season) or ``base * s`` (multiplicative);
* ``l' = alpha * (y - s | y / s) + (1 - alpha) * base``,
  ``b' = beta * (l' - l) + (1 - beta) * phi * b``,
  ``s' = gamma * (y - base | y / base) + (1 - gamma) * s``;
* the forecast ``k`` steps ahead is ``l + (phi + ... + phi^k) * b`` with the last seasonal
  index of its phase.

No trend is ``b = 0``; no damping is ``phi = 1``. A missing value (NaN inside a series)
moves the states forward as if the forecast had been observed (no error is counted); after
a series' last value its states stay frozen.

**Fitting** minimises the sum of squared one-step errors (the Gaussian likelihood of the
additive-error model) over the smoothing parameters with
:func:`toolkit.kernels.search.compass_search`, inside the region ``statsmodels`` uses:
``0 < alpha < 1``, ``0 < beta <= alpha``, ``0 < gamma <= 1 - alpha``, ``0.8 <= phi <= 0.98``
(searched as ``alpha``, ``beta / alpha``, ``gamma / (1 - alpha)``, ``phi`` in a box). The
initial states are heuristic, from the first values (:func:`initial_states`): seasonal
indices of a classical decomposition of the first cycles (at most four), and a
least-squares line through the first seasonally adjusted values (two cycles, or ten values
without a season) for the level and slope. A multiplicative season needs positive values;
the loss of a candidate whose level or seasonal index leaves the positive range is +inf.
``aicc`` ranks models of one series: ``n log(SSE / n) + 2 k + 2 k (k + 1) / (n - k - 1)``
with ``k`` the smoothing parameters plus the initial states.

**Theta** (:func:`fit_theta`) is the classical method with ``theta = 2`` (Hyndman & Billah
2003): seasonally adjust by a classical multiplicative decomposition when
:func:`toolkit.kernels.seasonal.seasonality_test` passes (additive when a series has a value
<= 0), fit simple exponential smoothing started at the first value, and add half the
least-squares slope as drift: ``ses + b0 / 2 * (k - 1 + 1 / alpha - (1 - alpha)^n / alpha)``,
re-seasonalised.

Examples
--------
>>> import numpy as np
>>> y = np.array([[10.0, 12.0, 14.0, 16.0, 18.0, 20.0]])
>>> fit = fit_ets(y, np.array([6]), trend=True)
>>> np.round(fit.forecast(2), 3).tolist()
[[22.0, 24.0]]
"""

from __future__ import annotations

import dataclasses
from typing import Any

from toolkit.backend import array_namespace
from toolkit.kernels.search import compass_search, grid
from toolkit.kernels.seasonal import classical_seasonal, first_values, linear_trend, seasonality_test

__all__ = ["EtsFit", "ets_filter", "initial_states", "fit_ets", "ETS_TRENDS", "ETS_SEASONS", "ets_eligible",
           "choose_ets", "ThetaFit", "fit_theta", "PHI_RANGE"]

ETS_TRENDS = ("none", "add", "damped")
ETS_SEASONS = ("none", "add", "mul")

PHI_RANGE = (0.8, 0.98)
"""Bounds of the damping parameter."""
_EPS = 1e-4
_START = {"alpha": (0.05, 0.2, 0.4, 0.7, 0.95), "beta": (0.05, 0.3), "gamma": (0.05, 0.3), "phi": (0.85, 0.95)}


@dataclasses.dataclass
class EtsFit:
    """Fitted parameters and final states of one exponential smoothing model for every series.

    Attributes
    ----------
    alpha, beta, gamma, phi : arrays (n,)
        Smoothing parameters (``beta = 0`` without trend, ``gamma = 0`` without season,
        ``phi = 1`` undamped).
    level, slope : arrays (n,)
        States after each series' last value.
    season : array (n, m) or None
        Latest seasonal index of each phase ``t mod m``.
    lengths : int array (n,)
    sse : array (n,)
        Sum of squared one-step errors (+inf where no valid parameters were found).
    n_obs : array (n,)
        Values that contributed an error.
    n_params, n_states : int or int arrays (n,)
        Smoothing parameters and initial states counted in ``aicc``.
    multiplicative : bool or bool array (n,)
        Multiplicative season (per series when models were chosen per series).
    """

    alpha: Any
    beta: Any
    gamma: Any
    phi: Any
    level: Any
    slope: Any
    season: Any
    lengths: Any
    sse: Any
    n_obs: Any
    n_params: Any
    n_states: Any
    multiplicative: Any = False

    @property
    def aicc(self) -> Any:
        """Corrected Akaike criterion per series (+inf where it is undefined)."""
        xp = array_namespace(self.sse)
        k = xp.astype(xp.asarray(self.n_params + self.n_states), xp.float64)
        n = self.n_obs
        ok = (n > k + 1) & (self.sse > 0) & ~xp.isinf(self.sse)
        safe_n = xp.where(ok, n, k + 2.0)
        value = safe_n * xp.log(xp.where(ok, self.sse, 1.0) / safe_n) + 2 * k + 2 * k * (k + 1) / (safe_n - k - 1)
        return xp.where(ok, value, float("inf"))

    def forecast(self, h: int) -> Any:
        """Point forecasts ``(n, h)`` for steps ``1..h`` after each series' last value."""
        xp = array_namespace(self.level)
        k = xp.astype(xp.arange(1, h + 1), xp.float64)[None, :]
        phi = self.phi[:, None]
        damped_sum = xp.where(phi == 1.0, k, phi * (1.0 - phi ** k) / xp.where(phi == 1.0, 0.5, 1.0 - phi))
        base = self.level[:, None] + damped_sum * self.slope[:, None]
        if self.season is None:
            return base
        m = int(self.season.shape[1])
        phase = (xp.astype(self.lengths, xp.int64)[:, None] - 1 + xp.astype(k, xp.int64)) % m
        s = xp.take_along_axis(self.season, phase, axis=1)
        mult = xp.reshape(xp.asarray(self.multiplicative), (-1, 1))
        return xp.where(mult, base * s, base + s)


def ets_filter(y: Any, lengths: Any, alpha: Any, beta: Any, gamma: Any, phi: Any, level0: Any, slope0: Any,
               season0: Any = None, multiplicative: bool = False) -> tuple[Any, Any, Any, Any, Any]:
    """Run the recursions over ``y`` for one or many parameter sets per series.

    Parameters
    ----------
    y : array (n, T)
        Left-aligned values, NaN missing or padding.
    lengths : int array (n,)
    alpha, beta, gamma, phi : arrays (n, g)
        ``g`` candidate parameter sets per series (``beta``/``gamma`` ignored without
        trend/season: pass zeros).
    level0, slope0 : arrays (n,) or (n, g)
    season0 : array (n, m), optional
        Initial seasonal indices by phase.
    multiplicative : bool

    Returns
    -------
    sse : (n, g) ; n_obs : (n,) ; level, slope : (n, g) ; season : (n, g, m) or None
    """
    xp = array_namespace(y)
    n, width = y.shape
    g = int(alpha.shape[1])
    level = xp.broadcast_to(xp.reshape(level0, (n, -1)), (n, g)) * 1.0
    slope = xp.broadcast_to(xp.reshape(slope0, (n, -1)), (n, g)) * 1.0
    m = int(season0.shape[1]) if season0 is not None else 0
    ring = None
    if m:
        ring = xp.broadcast_to(season0[:, None, :], (n, g, m)) * 1.0
    sse = xp.zeros((n, g), dtype=xp.float64)
    bad = xp.zeros((n, g), dtype=xp.bool)
    n_obs = xp.zeros((n,), dtype=xp.float64)
    keep_a, keep_b, keep_g = 1.0 - alpha, 1.0 - beta, 1.0 - gamma
    for t in range(width):
        active = (t < lengths)[:, None]
        yt = y[:, t:t + 1]
        seen = active & ~xp.isnan(yt)
        n_obs = n_obs + xp.astype(seen[:, 0], xp.float64)
        base = level + phi * slope
        if m:
            s = ring[:, :, t % m]
            fc = base * s if multiplicative else base + s
        else:
            fc = base
        value = xp.where(seen, yt, fc)
        err = value - fc
        sse = sse + err * err
        if m and multiplicative:
            bad = bad | (active & ((base <= 0) | (s <= 0)))
            new_level = alpha * (value / s) + keep_a * base
            new_s = gamma * (value / base) + keep_g * s
        elif m:
            new_level = alpha * (value - s) + keep_a * base
            new_s = gamma * (value - base) + keep_g * s
        else:
            new_level = alpha * value + keep_a * base
        new_slope = beta * (new_level - level) + keep_b * phi * slope
        slope = xp.where(active, new_slope, slope)
        level = xp.where(active, new_level, level)
        if m:
            ring[:, :, t % m] = xp.where(active, new_s, s)
    sse = xp.where(bad, float("inf"), sse)
    return sse, n_obs, level, slope, ring


def initial_states(y: Any, lengths: Any, m: int = 1, multiplicative: Any = False,
                   trend: bool = False) -> tuple[Any, Any, Any]:
    """Heuristic ``level0, slope0, season0`` (see the module docstring); ``season0`` None when ``m <= 1``."""
    xp = array_namespace(y)
    n = int(y.shape[0])
    season0 = None
    adjusted = y
    first = xp.minimum(lengths, 10)
    if m > 1:
        mult = xp.broadcast_to(xp.asarray(multiplicative), (n,))
        cycles = xp.clip(lengths // m, 2, 4)
        t = xp.arange(y.shape[1])[None, :]
        head = xp.where(t < (cycles * m)[:, None], y, float("nan"))
        season0 = classical_seasonal(head[:, : 4 * m], m, mult)
        season0 = xp.where(xp.isnan(season0), xp.where(mult, 1.0, 0.0)[:, None], season0)
        phase = xp.astype(t % m, xp.int64)
        s_t = xp.take(season0, phase[0], axis=1)
        adjusted = xp.where(mult[:, None], y / xp.where(mult[:, None] & (s_t != 0), s_t, 1.0), y - s_t)
        first = xp.minimum(lengths, 2 * m)
    intercept, slope = linear_trend(adjusted, first)
    if not trend:
        return intercept + slope * (xp.astype(first, xp.float64) - 1.0) / 2.0, xp.zeros_like(slope), season0
    return intercept - slope, slope, season0


def _unpack(points: Any, names: tuple[str, ...]) -> dict[str, Any]:
    """Search coordinates -> smoothing parameters (beta and gamma scaled into their ranges)."""
    p = {name: points[..., i] for i, name in enumerate(names)}
    alpha = p["alpha"]
    xp = array_namespace(alpha)
    zero = xp.zeros_like(alpha)
    return {"alpha": alpha, "beta": alpha * p["beta"] if "beta" in p else zero,
            "gamma": (1.0 - alpha) * p["gamma"] if "gamma" in p else zero,
            "phi": p["phi"] if "phi" in p else zero + 1.0}


def fit_ets(y: Any, lengths: Any, trend: bool = False, damped: bool = False, season: int = 1,
            multiplicative: bool = False, level0: Any = None, tol: float = 1e-4) -> EtsFit:
    """Fit one exponential smoothing model to every row of ``y`` (see the module docstring).

    Parameters
    ----------
    y : array (n, T) left-aligned, NaN missing or padding
    lengths : int array (n,)
    trend, damped : bool
        Additive trend, damped (``damped`` implies ``trend``).
    season : int
        Seasonal period ``m`` (1: no season).
    multiplicative : bool
        Multiplicative season (the caller keeps it to positive series).
    level0 : array (n,), optional
        A known initial level (e.g. the first value, as the Theta method does); default heuristic.
    tol : float
        Search tolerance on the parameters.

    Returns
    -------
    EtsFit
    """
    xp = array_namespace(y)
    trend = trend or damped
    names = ("alpha",) + (("beta",) if trend else ()) + (("gamma",) if season > 1 else ()) + \
        (("phi",) if damped else ())
    lev0, slope0, season0 = initial_states(y, lengths, season, multiplicative, trend)
    if level0 is not None:
        lev0 = xp.asarray(level0, dtype=xp.float64)
    lower = [_EPS if name != "phi" else PHI_RANGE[0] for name in names]
    upper = [1.0 - _EPS if name != "phi" else PHI_RANGE[1] for name in names]
    starts = grid(*(_START[name] for name in names))

    def loss(points: Any) -> Any:
        par = _unpack(points, names)
        return ets_filter(y, lengths, par["alpha"], par["beta"], par["gamma"], par["phi"], lev0, slope0, season0,
                          multiplicative)[0]

    best, _ = compass_search(loss, int(y.shape[0]), xp.asarray(starts), lower, upper, tol=tol, xp=xp)
    par = _unpack(best[:, None, :], names)
    sse, n_obs, level, slope, ring = ets_filter(y, lengths, par["alpha"], par["beta"], par["gamma"], par["phi"],
                                                lev0, slope0, season0, multiplicative)
    return EtsFit(alpha=par["alpha"][:, 0], beta=par["beta"][:, 0], gamma=par["gamma"][:, 0], phi=par["phi"][:, 0],
                  level=level[:, 0], slope=slope[:, 0], season=None if ring is None else ring[:, 0, :],
                  lengths=lengths, sse=sse[:, 0], n_obs=n_obs, n_params=len(names),
                  n_states=1 + int(trend) + (season - 1 if season > 1 else 0), multiplicative=multiplicative)


def ets_eligible(y: Any, lengths: Any, m: int, trend: str, season: str) -> Any:
    """Series on which a model is safe: a season needs ``m > 1`` and two whole cycles, a
    multiplicative one positive values; a trend three values, a damped trend four."""
    xp = array_namespace(y)
    ok = lengths >= {"none": 1, "add": 3, "damped": 4}[trend]
    if season != "none":
        ok = ok & (lengths >= 2 * m) & (m > 1)
    if season == "mul":
        ok = ok & (xp.min(xp.where(xp.isnan(y), float("inf"), y), axis=1) > 0)
    return ok


def _fallbacks(trend: str, season: str) -> list[tuple[str, str]]:
    """The simpler models to use, in order, where a model is not safe on a series."""
    chain = [(trend, season)]
    if season == "mul":
        chain.append((trend, "add"))
    if season != "none":
        chain.append((trend, "none"))
    if trend == "damped":
        chain.append(("add", "none"))
    if trend != "none":
        chain.append(("none", "none"))
    return chain


def _scatter(xp: Any, full: Any, rows: Any, part: Any) -> Any:
    out = xp.asarray(full, copy=True)
    out[rows] = part
    return out


def choose_ets(y: Any, lengths: Any, m: int, trends: Any = ETS_TRENDS, seasons: Any = ETS_SEASONS,
               tol: float = 1e-4) -> tuple[EtsFit, Any, list[tuple[str, str]], int]:
    """Fit every requested (trend, season) model and keep one per series.

    With several requested models, each series keeps the one of least ``aicc`` among those
    safe on it (:func:`ets_eligible`); with one, that one where it is safe. Where none is,
    the series falls back along simpler models (multiplicative -> additive season -> no
    season; damped -> additive -> no trend) to simple exponential smoothing, always safe.

    Returns
    -------
    fit : EtsFit
        The chosen models' parameters and states, per series.
    choice : int array (n,)
        Index into ``candidates`` of each series' model.
    candidates : list of (trend, season)
        The requested models, then the fallbacks.
    n_requested : int
        ``choice >= n_requested`` marks a fallback.
    """
    xp = array_namespace(y)
    n = int(y.shape[0])
    requested = [(t, s) for t in trends for s in seasons]
    candidates = list(requested)
    for model in requested:
        candidates += [c for c in _fallbacks(*model) if c not in candidates]
    inf = xp.full((n,), float("inf"), dtype=xp.float64)
    scores, fits = [], []
    for k, (trend, season) in enumerate(candidates):
        ok = ets_eligible(y, lengths, m, trend, season)
        rows = xp.nonzero(ok)[0]
        if int(rows.shape[0]) == 0:
            scores.append(inf)
            fits.append(None)
            continue
        fit = fit_ets(xp.take(y, rows, axis=0), xp.take(lengths, rows), trend=trend != "none",
                      damped=trend == "damped", season=m if season != "none" else 1,
                      multiplicative=season == "mul", tol=tol)
        usable = ~xp.isinf(fit.sse) & ~xp.isnan(fit.sse)
        single = len(requested) == 1 or k >= len(requested)
        score = xp.where(usable, xp.zeros_like(fit.sse) if single else fit.aicc, float("inf"))
        scores.append(_scatter(xp, inf, rows, score))
        fits.append((rows, fit))
    table = xp.stack(scores, axis=1)
    picked = xp.argmin(table[:, : len(requested)], axis=1)
    found = xp.min(table[:, : len(requested)], axis=1) < float("inf")
    if len(candidates) > len(requested):
        later = table[:, len(requested):] < float("inf")
        first = xp.argmax(xp.astype(later, xp.int64), axis=1) + len(requested)
        picked = xp.where(found, picked, first)
    return _gather(xp, fits, picked, lengths, m), picked, candidates, len(requested)


def _gather(xp: Any, fits: list, choice: Any, lengths: Any, m: int) -> EtsFit:
    """One EtsFit holding, for each series, the states of its chosen candidate."""
    n = int(choice.shape[0])
    zeros = xp.zeros((n,), dtype=xp.float64)
    out = {name: zeros for name in ("alpha", "beta", "gamma", "level", "slope", "sse", "n_obs",
                                    "n_params", "n_states")}
    out["phi"] = zeros + 1.0
    out["multiplicative"] = xp.zeros((n,), dtype=xp.bool)
    season = xp.zeros((n, m), dtype=xp.float64) if m > 1 else None
    for k, item in enumerate(fits):
        if item is None:
            continue
        rows, fit = item
        take = choice[rows] == k
        dest = rows[take]
        for name in ("alpha", "beta", "gamma", "phi", "level", "slope", "sse", "n_obs"):
            out[name] = _scatter(xp, out[name], dest, getattr(fit, name)[take])
        for name in ("n_params", "n_states"):
            out[name] = _scatter(xp, out[name], dest, float(getattr(fit, name)))
        if fit.season is not None:
            season = _scatter(xp, season, dest, fit.season[take])
            out["multiplicative"] = _scatter(xp, out["multiplicative"], dest, bool(fit.multiplicative))
    return EtsFit(season=season, lengths=lengths, **out)


@dataclasses.dataclass
class ThetaFit:
    """The classical Theta method fitted to every series.

    Attributes
    ----------
    ses : EtsFit
        Simple exponential smoothing of the seasonally adjusted series.
    drift : array (n,)
        Least-squares slope of the adjusted series (the theta-0 line).
    seasonal : bool array (n,)
        Series found seasonal (and adjusted).
    indices : array (n, m) or None
        Seasonal indices by phase (1 or 0 where not seasonal).
    multiplicative : bool array (n,)
    """

    ses: EtsFit
    drift: Any
    seasonal: Any
    indices: Any
    multiplicative: Any

    def forecast(self, h: int, theta: float = 2.0) -> Any:
        """Point forecasts ``(n, h)``."""
        xp = array_namespace(self.drift)
        fit = self.ses
        alpha = fit.alpha[:, None]
        n = xp.astype(fit.lengths, xp.float64)[:, None]
        k = xp.astype(xp.arange(1, h + 1), xp.float64)[None, :]
        horizon = k - 1.0 + 1.0 / alpha - (1.0 - alpha) ** n / alpha
        path = fit.forecast(h) + (1.0 - 1.0 / theta) * self.drift[:, None] * horizon
        if self.indices is None:
            return path
        m = int(self.indices.shape[1])
        phase = (xp.astype(fit.lengths, xp.int64)[:, None] - 1 + xp.astype(k, xp.int64)) % m
        s = xp.take_along_axis(self.indices, phase, axis=1)
        return xp.where(self.multiplicative[:, None], path * s, path + s)


def fit_theta(y: Any, lengths: Any, season: int = 1, seasonal: Any = None, tol: float = 1e-4) -> ThetaFit:
    """Fit the classical Theta method to every row (see the module docstring).

    ``seasonal`` (bool array (n,), optional) overrides the seasonality test.
    """
    xp = array_namespace(y)
    n = int(y.shape[0])
    indices = None
    positive = xp.min(xp.where(xp.isnan(y), float("inf"), y), axis=1) > 0
    if season > 1:
        found = seasonality_test(y, lengths, season) if seasonal is None else xp.asarray(seasonal, dtype=xp.bool)
        indices = classical_seasonal(y, season, positive)
        neutral = xp.where(positive, 1.0, 0.0)[:, None]
        indices = xp.where(found[:, None] & ~xp.isnan(indices), indices, neutral)
        phase = xp.astype(xp.arange(y.shape[1]) % season, xp.int64)
        s_t = xp.take(indices, phase, axis=1)
        y = xp.where(positive[:, None], y / xp.where(positive[:, None] & (s_t != 0), s_t, 1.0), y - s_t)
    else:
        found = xp.zeros((n,), dtype=xp.bool)
    _, drift = linear_trend(y)
    ses = fit_ets(y, lengths, level0=first_values(y), tol=tol)
    return ThetaFit(ses=ses, drift=drift, seasonal=found, indices=indices, multiplicative=positive)
