"""Demand over lead time + review period: mean, spread and quantile per series.

Design choices (where the issue is silent)
------------------------------------------
Errors
    Forecast errors are ``actual - forecast``: a positive error is demand the forecast missed.
Protection period
    ``P = L + R`` days for lead time ``L`` and review period ``R``. An order placed on day ``t``
    arrives at the start of day ``t + L`` (``L = 0``: at once, before that day's demand) and must
    last until the next order arrives, so it covers demand on days ``t .. t+L+R-1``.
Lead-time demand
    The mean is the sum of the first ``P`` daily forecasts plus the mean of the summed errors (the
    forecast's bias over ``P`` days). The spread comes from *sums* of ``P`` consecutive backtest
    errors (overlapping windows), so errors that are correlated from day to day widen it as
    they should; a window with missing errors (stock-out days) counts when ``min_coverage`` of
    its days are observed, its sum scaled up to ``P`` days. ``method="empirical"`` takes the
    quantile of those sums (numpy's default linear interpolation) and their standard
    deviation; ``method="normal"`` takes ``var = P g0 + 2 sum_j (P-j) g_j`` from the errors'
    autocovariances ``g_j`` up to lag ``P-1`` and the normal quantile. Summing *daily*
    quantiles instead adds the spreads of the days (``P sigma`` in place of ``sqrt(P) sigma``
    for independent errors), which roughly doubles safety stock for typical lead times.
Non-finite values
    A NaN error is a missing day (a stock-out day has no error); an infinite error is refused,
    naming the error column and the series, since it would poison every window over it. The
    forecast must be finite over each series' protection period (later days are not read).

Examples
--------
>>> import numpy as np
>>> from toolkit.decisions.inventory import lead_time_demand
>>> errors = np.tile([-1.0, 1.0], (1, 50))  # alternating errors cancel over an even period
>>> float(lead_time_demand(np.array([5.0]), errors, lead_time=2).std[0])
0.0
"""

from __future__ import annotations

from typing import Any, NamedTuple, Sequence

from toolkit import panel
from toolkit.errors import DataValidationError
from toolkit.decisions.inventory.formulas import normal_functions
from toolkit.decisions.inventory.inputs import (
    INVENTORY_ID_COLS,
    SeriesInputs,
    dense_panel,
    is_frame,
    match_series,
    namespace_of,
    series_constant,
)

__all__ = ["LeadTimeDemand", "lead_time_demand", "METHODS"]

METHODS = ("empirical", "normal")


class LeadTimeDemand(NamedTuple):
    """Demand over the protection period (lead time + review period), per series.

    Attributes
    ----------
    mean : array
        Sum of the daily forecasts over the period plus the forecast's bias over it.
    std : array
        Standard deviation of the summed demand.
    quantile : array or None
        Quantile of the summed demand at ``service_level`` (None when none was asked for).
    """

    mean: Any
    std: Any
    quantile: Any


def _window_sums(xp: Any, errors: Any, period: Any, min_coverage: float) -> tuple[Any, Any]:
    """Sums of ``period[i]`` consecutive values per row, and which windows are usable.

    A window with missing values is usable when at least ``min_coverage`` of its days are
    observed; its sum is then scaled up from the observed days (each missing day counts as the
    window's mean).
    """
    n, T = errors.shape
    finite = xp.isfinite(errors)
    zeros = xp.zeros((n, 1), dtype=xp.float64)
    csum = xp.concat([zeros, xp.cumulative_sum(xp.where(finite, errors, 0.0), axis=1)], axis=1)
    cgap = xp.concat([zeros, xp.cumulative_sum(xp.astype(~finite, xp.float64), axis=1)], axis=1)
    end = xp.arange(T, dtype=xp.int64)[None, :] + period[:, None]
    inside = end <= T
    end = xp.minimum(end, T)
    sums = xp.take_along_axis(csum, end, axis=1) - csum[:, :T]
    days = xp.astype(period, xp.float64)[:, None]
    seen = days - (xp.take_along_axis(cgap, end, axis=1) - cgap[:, :T])
    need = xp.maximum(xp.ceil(min_coverage * days - 1e-9), 1.0)
    usable = inside & (seen >= need)
    sums = xp.where(usable, sums * days / xp.maximum(seen, 1.0), 0.0)
    return sums, usable


def _row_quantile(xp: Any, values: Any, valid: Any, level: Any) -> Any:
    """Per-row quantile of the valid entries, linear interpolation (numpy's default method)."""
    count = xp.sum(xp.astype(valid, xp.int64), axis=1)
    ordered = xp.sort(xp.where(valid, values, xp.inf), axis=1)
    pos = level * xp.astype(count - 1, xp.float64)
    lo = xp.astype(xp.floor(pos), xp.int64)
    hi = xp.minimum(lo + 1, count - 1)
    v_lo = xp.take_along_axis(ordered, lo[:, None], axis=1)[:, 0]
    v_hi = xp.take_along_axis(ordered, hi[:, None], axis=1)[:, 0]
    return v_lo + (pos - xp.astype(lo, xp.float64)) * (v_hi - v_lo)


def _autocov_std(xp: Any, errors: Any, period: Any) -> Any:
    """sqrt of 1' Sigma 1 for a P-day window, Sigma Toeplitz from the errors' autocovariances."""
    finite = xp.isfinite(errors)
    m = xp.astype(finite, xp.float64)
    count = xp.sum(m, axis=1)
    mu = xp.sum(xp.where(finite, errors, 0.0), axis=1) / xp.maximum(count, 1.0)
    c = xp.where(finite, errors - mu[:, None], 0.0)
    T = errors.shape[1]
    pf = xp.astype(period, xp.float64)
    var = xp.zeros(errors.shape[0], dtype=xp.float64)
    for lag in range(min(int(xp.max(period)), T)):
        num = xp.sum(c[:, : T - lag] * c[:, lag:], axis=1)
        den = xp.sum(m[:, : T - lag] * m[:, lag:], axis=1)
        weight = pf if lag == 0 else 2.0 * xp.maximum(pf - lag, 0.0)
        var = var + weight * num / xp.maximum(den, 1.0)
    return xp.sqrt(xp.maximum(var, 0.0))


def _ltd_arrays(checks: SeriesInputs, forecast: Any, errors: Any, lead_time: Any, review_period: Any,
                service_level: Any, method: str, min_coverage: float) -> LeadTimeDemand:
    xp = checks.xp
    if errors.ndim != 2:
        raise DataValidationError.for_parameter("errors", f"expected a 2-D (series, days) array, got {errors.ndim}-D")
    n = errors.shape[0]
    if forecast.ndim not in (1, 2) or forecast.shape[0] != n:
        raise DataValidationError.for_parameter(
            "forecast", f"expected {n} rows (one per series of errors), got shape {tuple(forecast.shape)}")
    checks.check("errors", errors, allow_nan=True)
    L = checks.whole_days("lead_time", checks.floats("lead_time", lead_time, n), 0)
    R = checks.whole_days("review_period", checks.floats("review_period", review_period, n), 0)
    P = L + R
    checks.refuse("lead_time", P < 1, "give a protection period (lead time + review period) under 1 day")
    if forecast.ndim == 1:
        fsum = checks.check("forecast", forecast) * xp.astype(P, xp.float64)
    else:
        H = forecast.shape[1]
        checks.refuse("forecast", P > H, f"protection periods longer than the {H}-day forecast horizon")
        head = xp.arange(H, dtype=xp.int64)[None, :] < P[:, None]
        checks.refuse("forecast", head & ~xp.isfinite(forecast), "NaN or infinite values within the protection "
                                                                 "period (lead time + review period)")
        fsum = xp.sum(xp.where(head, forecast, 0.0), axis=1)
    sums, valid = _window_sums(xp, errors, P, min_coverage)
    count = xp.sum(xp.astype(valid, xp.int64), axis=1)
    checks.refuse("errors", count < 2, "series with fewer than 2 usable windows of lead time + review period days "
                                       "(see min_coverage)")
    bias = xp.sum(xp.where(valid, sums, 0.0), axis=1) / xp.astype(count, xp.float64)
    mean = fsum + bias
    if method == "empirical":
        dev = xp.where(valid, sums - bias[:, None], 0.0)
        std = xp.sqrt(xp.sum(dev * dev, axis=1) / xp.astype(count - 1, xp.float64))
    else:
        std = _autocov_std(xp, errors, P)
    quantile = None
    if service_level is not None:
        level = checks.check("service_level", checks.floats("service_level", service_level, n), low=0.0, high=1.0,
                             open_low=True, open_high=True)
        if method == "empirical":
            quantile = fsum + _row_quantile(xp, sums, valid, level)
        else:
            quantile = mean + normal_functions(xp)[1](level) * std
    return LeadTimeDemand(mean, std, quantile)


def lead_time_demand(
    forecast: Any,
    errors: Any,
    lead_time: Any,
    review_period: Any = 0,
    *,
    service_level: Any = None,
    method: str = "empirical",
    min_coverage: float = 0.5,
    id_cols: str | Sequence[str] = INVENTORY_ID_COLS,
    time_col: str = "date",
    forecast_col: str = "forecast",
    error_col: str = "error",
) -> Any:
    """Mean, spread and quantile of demand over lead time + review period, per series.

    The quantile is that of the *summed* demand, read from sums of ``lead_time + review_period``
    consecutive backtest errors, not the sum of daily quantiles (see the module docstring).

    Parameters
    ----------
    forecast : array or frame
        Arrays: ``(n,)`` daily demand rate, or ``(n, H)`` daily forecasts from the decision day
        on (the first ``L + R`` are summed). Frame (pandas, cuDF or Dask): long panel with
        ``id_cols``, ``time_col`` and ``forecast_col``, each series' rows from the decision day on.
    errors : array or frame
        Backtest errors ``actual - forecast``: ``(n, T)`` array (NaN = missing day), or a long
        panel with ``id_cols``, ``time_col`` and ``error_col`` holding the same series (both
        Dask, or neither).
    lead_time, review_period : int, array or str
        Whole days >= 0, per series or one for all; with frames a string names a column of
        ``forecast`` holding one value per series.
    service_level : float, array or str, optional
        Probability in (0, 1) at which to read the quantile.
    method : {"empirical", "normal"}
        Empirical quantile of the summed errors, or a normal with variance from their
        autocovariances.
    min_coverage : float in (0, 1]
        Share of a window's days that must have an error (stock-out days have none) for the
        window to count; its sum is scaled up from the observed days. 1 keeps complete windows
        only.
    id_cols, time_col, forecast_col, error_col : str
        Frame column names (``id_cols`` defaults to :data:`INVENTORY_ID_COLS`,
        ``("sku", "warehouse")``).

    Returns
    -------
    LeadTimeDemand or frame
        Arrays: ``(mean, std, quantile)``. Frame: one row per series (in key order) with
        ``id_cols``, ``lead_time``, ``review_period``, ``ltd_mean``, ``ltd_std`` (and
        ``ltd_quantile``); lazy for Dask input.

    Raises
    ------
    DataValidationError
        Non-frame, non-array input; an unknown method; infinite errors; a forecast that is not
        finite over the protection period; bad periods or service level; series that differ
        between the two panels; too few usable error windows.

    Examples
    --------
    >>> import numpy as np
    >>> from toolkit.decisions.inventory import lead_time_demand
    >>> errors = np.random.default_rng(0).normal(0, 2, size=(3, 400))
    >>> ltd = lead_time_demand(np.full(3, 10.0), errors, lead_time=4, service_level=0.95)
    >>> ltd.mean.shape, bool(np.all(ltd.quantile > ltd.mean))
    ((3,), True)
    """
    method = panel.check_choice("method", method, METHODS)
    min_coverage = panel.check_number("min_coverage", min_coverage, 0.0, 1.0, low_open=True)
    if not is_frame(forecast) and not is_frame(errors):
        xp = namespace_of(forecast, errors, lead_time, review_period, service_level)
        checks = SeriesInputs(xp)
        return _ltd_arrays(checks, checks.floats("forecast", forecast), checks.floats("errors", errors), lead_time,
                           review_period, service_level, method, min_coverage)
    panel.check_frame(forecast, "forecast")
    panel.check_frame(errors, "errors")
    ids = panel.as_list(id_cols)
    for frame, col, what in ((forecast, forecast_col, "forecast"), (errors, error_col, "errors")):
        panel.require_columns(frame, [*ids, time_col, col], f"in the {what} panel")
        panel.require_not_empty(frame, f"in the {what} panel")
    panel.require_columns(forecast, [v for v in (lead_time, review_period, service_level) if isinstance(v, str)],
                          "in the forecast panel (one value per series)")
    return panel.per_series_pair(forecast, errors, _ltd_frame, ids, time_col, names=("forecast", "errors"),
                                 lead_time=lead_time, review_period=review_period, service_level=service_level,
                                 method=method, ids=ids, date_col=time_col, forecast_col=forecast_col,
                                 error_col=error_col, min_coverage=min_coverage)


def _ltd_frame(forecast: Any, errors: Any, lead_time: Any, review_period: Any, service_level: Any, method: str,
               ids: list, date_col: str, forecast_col: str, error_col: str, min_coverage: float) -> Any:
    names = ["lead_time", "review_period", "ltd_mean", "ltd_std"] + (["ltd_quantile"] if service_level is not None
                                                                     else [])
    fc = dense_panel(forecast, ids, date_col, forecast_col, complete=False, what="forecast")
    xp = fc.layout.xp
    if fc.layout.n_series == 0:  # an empty Dask partition (or the description of the output)
        return panel.assign(fc.keys, {name: xp.zeros(0, dtype=xp.float64) for name in names})
    err = dense_panel(errors, ids, date_col, error_col, complete=False, what="errors")
    err_values = xp.take(err.values, match_series(fc.keys, err.keys, ids, "errors"), axis=0)
    args = {"lead_time": lead_time, "review_period": review_period, "service_level": service_level}
    columns = {"forecast": forecast_col, "errors": error_col}
    for name, value in args.items():
        if isinstance(value, str):
            args[name], columns[name] = series_constant(forecast, fc, value), value
    checks = SeriesInputs(xp, fc.keys, ids, columns)
    ltd = _ltd_arrays(checks, fc.values, err_values, args["lead_time"], args["review_period"],
                      args["service_level"], method, min_coverage)
    n = fc.layout.n_series
    out = {"lead_time": xp.broadcast_to(checks.floats("lead_time", args["lead_time"]), (n,)),
           "review_period": xp.broadcast_to(checks.floats("review_period", args["review_period"]), (n,)),
           "ltd_mean": ltd.mean, "ltd_std": ltd.std}
    if ltd.quantile is not None:
        out["ltd_quantile"] = ltd.quantile
    return panel.assign(fc.keys, out)
