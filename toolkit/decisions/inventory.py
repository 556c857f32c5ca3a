"""Inventory decisions: from forecasts and their errors to stock levels, orders and their cost.

Every function works on thousands of sku x warehouse rows at once through the array namespace
(numpy or cupy): arrays in, arrays out; a frame in, the same kind of frame out (pandas, cudf,
or a lazy Dask frame for the row-wise and per-series functions).

* :func:`lead_time_demand` -- mean, spread and quantile of demand over lead time + review period.
* :func:`safety_stock`, :func:`reorder_point` -- for a cycle-service-level target or a fill-rate
  target (the ``target`` keyword is required, so every call says which one it means).
* :func:`eoq`, :func:`newsvendor_quantity` -- order sizes.
* :func:`simulate_policy` -- (s,S), (R,S), base-stock (and a learned lookup table) simulated day
  by day for all series at once, with KPIs.
* :class:`QLearningReplenisher` and :func:`compare_policies` -- a tabular Q-learning agent always
  reported next to the tuned base-stock policy on the same held-out demand.
* :func:`service_cost_frontier` -- what each service target costs, every policy and target
  simulated in one vectorised run.

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
    errors (overlapping windows; a window holding a missing error is skipped), so errors that are
    correlated from day to day widen it as they should; a window with missing errors (stock-out
    days) counts when ``min_coverage`` of its days are observed, its sum scaled up to ``P`` days.
    ``method="empirical"`` takes the quantile
    of those sums (numpy's default linear interpolation) and their standard deviation;
    ``method="normal"`` takes ``var = P g0 + 2 sum_j (P-j) g_j`` from the errors' autocovariances
    ``g_j`` up to lag ``P-1`` and the normal quantile. Summing *daily* quantiles instead adds the
    spreads of the days (``P sigma`` in place of ``sqrt(P) sigma`` for independent errors), which
    roughly doubles safety stock for typical lead times.
Service targets
    Cycle service level ``alpha`` (probability of no stock-out in a replenishment cycle):
    ``SS = Phi^-1(alpha) sigma``. Fill rate ``beta`` (share of demand met from stock on hand):
    ``SS = k sigma`` with ``sigma G(k) = (1 - beta) Q``, ``G(k) = phi(k) - k (1 - Phi(k))`` the
    standard normal loss function and ``Q`` the expected demand per replenishment cycle (the
    backorder approximation of Silver, Pyke and Peterson). ``G`` is inverted by bisection, which
    is exact to float64 and vectorises. The normal CDF and its inverse come from
    ``scipy.special`` (numpy) or ``cupyx.scipy.special`` (cupy): the array API has no ``erf``.
A simulated day
    receive what arrives -> review and order -> demand -> costs. Holding cost is charged per unit
    on hand at the end of the day; shortage cost per unit of lost sales (lost-sales mode) or per
    unit backordered at the end of each day (backorder mode, where the cost-optimal base-stock
    level is the newsvendor quantile ``p/(p+h)`` of ``P``-day demand); ordering cost per order
    placed. A *replenishment cycle* runs from one arrival to the next (for order-up-to policies
    every review counts, even a zero order; for (s,S) only real orders); the cycle service level
    is the share of complete cycles without a stock-out day; the fill rate is the demand met from
    stock on hand over total demand; a stock-out day is a day with unmet demand.
Q-learning
    One table per series, all trained at once: the state is the inventory position binned into
    ``n_states`` bins, the action an order of ``0 .. n_actions-1`` units of a per-series step,
    the reward minus the day's cost. Training runs episodes on demand resampled from the
    training history (random contiguous windows, so weekly patterns survive) with an
    epsilon-greedy schedule; random numbers are drawn on the host with a seeded numpy
    generator, so a run is reproducible on either backend.
"""

from __future__ import annotations

import math
from typing import Any, NamedTuple, Sequence

import numpy as np
from sklearn.base import BaseEstimator

from toolkit import backend
from toolkit.errors import DataValidationError
from toolkit.panel import as_list, map_series

__all__ = [
    "LeadTimeDemand",
    "lead_time_demand",
    "standard_normal_loss",
    "safety_stock",
    "reorder_point",
    "eoq",
    "newsvendor_quantity",
    "simulate_policy",
    "QLearningReplenisher",
    "compare_policies",
    "service_cost_frontier",
    "KPIS",
    "POLICIES",
]

DEFAULT_ID_COLS = ("sku", "warehouse")
TARGETS = ("cycle_service_level", "fill_rate")
POLICIES = ("base_stock", "RS", "sS", "table")
KPIS = (
    "cycle_service_level",
    "fill_rate",
    "stockout_days",
    "avg_on_hand",
    "orders_placed",
    "demand",
    "unmet_demand",
    "holding_cost",
    "shortage_cost",
    "ordering_cost",
    "total_cost",
)


# --------------------------------------------------------------------------- input plumbing


def _is_array(value: Any) -> bool:
    return hasattr(value, "__array_namespace__") and hasattr(value, "shape")


def _is_frame(value: Any) -> bool:
    return hasattr(value, "columns") and hasattr(value, "dtypes")


def _namespace(*values: Any) -> Any:
    arrays = [v for v in values if _is_array(v)]
    return backend.array_namespace(*arrays) if arrays else backend.array_namespace(np.empty(0))


def _is_cupy(xp: Any) -> bool:
    return "cupy" in xp.__name__


def _norm(xp: Any) -> tuple[Any, Any]:
    """Normal CDF and its inverse for ``xp``'s arrays (``ndtr``, ``ndtri``)."""
    if _is_cupy(xp):
        from cupyx.scipy.special import ndtr, ndtri
    else:
        from scipy.special import ndtr, ndtri
    return ndtr, ndtri


def _host(x: Any) -> np.ndarray:
    return np.asarray(backend.to_host(x))


def _raise(label: str, problem: str, bad: Any, keys: Sequence[Any] | None = None) -> None:
    """Raise DataValidationError naming ``label``, the problem, a count and a few offenders."""
    bad = _host(bad)
    if bad.ndim > 1:
        rows = bad.reshape(bad.shape[0], -1).any(axis=1)
        count, where = int(bad.sum()), np.flatnonzero(rows)
        what = f"{count} values {problem} in {int(rows.sum())} series"
    else:
        where = np.flatnonzero(bad.ravel())
        what = f"{where.size} values {problem}"
    shown = [keys[i] for i in where[:5]] if keys is not None else where[:5].tolist()
    raise DataValidationError(f"column {label!r}: {what} (e.g. {shown})", column=label)


def _check(xp: Any, label: str, bad: Any, problem: str, keys: Sequence[Any] | None = None) -> None:
    if bool(xp.any(bad)):
        _raise(label, problem, bad, keys)


def _floats(xp: Any, value: Any) -> Any:
    return xp.asarray(value, dtype=xp.float64)


def _check_range(
    xp: Any,
    label: str,
    x: Any,
    *,
    low: float | None = None,
    high: float | None = None,
    open_low: bool = False,
    open_high: bool = False,
    keys: Sequence[Any] | None = None,
) -> None:
    """NaN/inf and bounds check; the message says which bound was broken."""
    _check(xp, label, ~xp.isfinite(x), "are NaN or infinite", keys)
    if low is not None:
        bad = x <= low if open_low else x < low
        _check(xp, label, bad, f"are {'<=' if open_low else '<'} {low}", keys)
    if high is not None:
        bad = x >= high if open_high else x > high
        _check(xp, label, bad, f"are {'>=' if open_high else '>'} {high}", keys)


def _integers(xp: Any, label: str, value: Any, low: int, keys: Sequence[Any] | None = None) -> Any:
    """Whole-number periods (lead time, review period) as int64, checked ``>= low``."""
    x = _floats(xp, value)
    _check_range(xp, label, x, low=low, keys=keys)
    _check(xp, label, x != xp.round(x), "are not whole days", keys)
    return xp.astype(x, xp.int64)


def _column(frame: Any, name: str, dtype: str = "float64") -> Any:
    """Values of ``frame[name]`` as a numpy or cupy array (missing -> NaN)."""
    if name not in frame.columns:
        raise DataValidationError(f"column {name!r}: missing (columns are {list(frame.columns)})", column=name)
    col = frame[name]
    if backend.is_gpu(col):
        return col.astype(dtype).to_cupy(na_value=np.nan) if dtype == "float64" else col.astype(dtype).to_cupy()
    if dtype == "float64":
        return col.to_numpy(dtype="float64", na_value=np.nan)
    return col.astype(dtype).to_numpy()


def _scalar_out(result: Any, inputs: Sequence[Any]) -> Any:
    """Plain float when every input was a Python/NumPy scalar, else the array."""
    if getattr(result, "ndim", 1) == 0 and not any(_is_array(v) and v.ndim > 0 for v in inputs):
        return float(result)
    return result


def _rowwise(data: Any, out_col: str, kernel: Any, **args: Any) -> Any:
    """Run a row-wise ``kernel(xp, values, labels)`` on arrays, or on ``data``'s columns.

    With ``data`` (a frame), string arguments name its columns and the result is added as
    ``out_col``; a Dask frame is handled partition by partition, lazily.
    """
    if data is None:
        xp = _namespace(*args.values())
        values = {k: _floats(xp, v) for k, v in args.items()}
        return _scalar_out(kernel(xp, values, {k: k for k in args}), list(args.values()))
    if backend.is_dask(data):
        meta = _assign_rowwise(data._meta, out_col, kernel, args)
        return data.map_partitions(_assign_rowwise, out_col, kernel, args, meta=meta)
    if len(data) == 0:
        raise DataValidationError("frame is empty: nothing to compute", column=None)
    return _assign_rowwise(data, out_col, kernel, args)


def _assign_rowwise(data: Any, out_col: str, kernel: Any, args: dict[str, Any]) -> Any:
    values, labels = {}, {}
    for key, value in args.items():
        if isinstance(value, str):
            values[key], labels[key] = _column(data, value), value
        else:
            values[key], labels[key] = value, key
    xp = _namespace(*values.values())
    values = {k: _floats(xp, v) for k, v in values.items()}
    result = kernel(xp, values, labels)
    n = len(data)
    return data.assign(**{out_col: xp.broadcast_to(result, (n,)) if result.ndim == 0 else result})


# --------------------------------------------------------------------------- panels <-> arrays


def _check_columns(frame: Any, columns: Sequence[str], what: str) -> None:
    for col in columns:
        if col not in frame.columns:
            raise DataValidationError(
                f"column {col!r}: missing from the {what} frame (columns are {list(frame.columns)})", column=col
            )
    if len(frame) == 0:
        raise DataValidationError(f"the {what} frame is empty", column=None)


def _arange_like(frame: Any) -> Any:
    """0 .. len(frame)-1 on the frame's device (numpy for pandas, cupy for cudf)."""
    if backend.is_gpu(frame):
        import cupy

        return cupy.arange(len(frame), dtype=cupy.int64)
    return np.arange(len(frame), dtype=np.int64)


def _key_list(keys: Any, id_cols: list[str]) -> list[tuple]:
    host = backend.to_host(keys[id_cols])
    return list(host.itertuples(index=False, name=None))


def _panel(
    frame: Any,
    id_cols: list[str],
    time_col: str,
    value_col: str,
    what: str,
    keys: Any = None,
    complete: bool = True,
) -> tuple[Any, Any, Any]:
    """A long panel as a dense ``(n_series, n_days)`` float64 array, series sorted by key.

    Returns ``(keys, values, sorted_frame)``; ``keys`` is a frame of the series keys in array
    row order (the given ``keys`` when passed: the panel must then hold exactly those series).
    ``complete`` requires every series to cover the same dates with no gap; otherwise series
    may differ in length and the tail of shorter ones is NaN.
    """
    _check_columns(frame, [*id_cols, time_col, value_col], what)
    order = [*id_cols, time_col]
    dup = frame.duplicated(subset=order)
    if bool(dup.any()):
        bad = backend.to_host(frame.loc[dup, order].head(5))
        raise DataValidationError(
            f"column {time_col!r}: {int(dup.sum())} duplicated ({', '.join(id_cols)}, {time_col}) rows in the "
            f"{what} frame (e.g. {list(bad.itertuples(index=False, name=None))})",
            column=time_col,
        )
    own = frame[id_cols].drop_duplicates().sort_values(id_cols).reset_index(drop=True)
    if keys is None:
        keys = own
    elif len(own) != len(keys) or len(own.merge(keys, on=id_cols, how="inner")) != len(keys):
        extra = own.merge(keys.assign(_in=1), on=id_cols, how="left")
        extra = extra[extra["_in"].isna()]
        missing = keys.merge(own.assign(_in=1), on=id_cols, how="left")
        missing = missing[missing["_in"].isna()]
        raise DataValidationError(
            f"columns {id_cols}: the {what} frame's series differ from the other input's: "
            f"{len(missing)} missing (e.g. {_key_list(missing.head(5), id_cols)}), "
            f"{len(extra)} extra (e.g. {_key_list(extra.head(5), id_cols)})",
            column=id_cols[0],
        )
    coded = keys.assign(_code=_arange_like(keys))
    merged = frame.merge(coded, on=id_cols, how="inner").sort_values(["_code", time_col]).reset_index(drop=True)
    n = len(keys)
    counts = _column(merged.groupby("_code", sort=True).size().reset_index(name="_n"), "_n", "int64")
    xp = _namespace(counts)
    width = int(xp.max(counts))
    if complete:
        if bool(xp.any(counts != width)) or len(merged) != n * width:
            _raise(time_col, f"(series) cover fewer days than the longest series ({width}) in the {what} frame", counts != width,
                   _key_list(keys, id_cols))
        days = xp.reshape(_column(merged, time_col, "int64"), (n, width))
        _check(xp, time_col, xp.any(days != days[:1, :], axis=1), f"series whose dates differ from the first series' in the {what} frame", _key_list(keys, id_cols))
        values = xp.reshape(_column(merged, value_col), (n, width))
    else:
        code = _column(merged, "_code", "int64")
        pos = _column(merged.groupby("_code", sort=False).cumcount().rename("_pos").to_frame(), "_pos", "int64")
        values = xp.full((n, width), xp.nan, dtype=xp.float64)
        values[code, pos] = _column(merged, value_col)
    return keys, values, merged


def _per_series(value: Any, table: Any, keys: Any, id_cols: list[str], what: str) -> Any:
    """A per-series argument: a scalar/array as given, or a column of ``table`` looked up by key."""
    if not isinstance(value, str):
        return value
    if table is None or not _is_frame(table):
        raise DataValidationError(f"column {value!r}: given by name but there is no {what} frame to read it from", column=value)
    _check_columns(table, [*id_cols, value], what)
    dup = table.duplicated(subset=id_cols)
    if bool(dup.any()):
        raise DataValidationError(
            f"column {value!r}: {int(dup.sum())} series appear more than once in the {what} frame "
            f"(e.g. {_key_list(table[dup].head(5), id_cols)})",
            column=value,
        )
    coded = keys.assign(_code=_arange_like(keys))
    merged = coded.merge(table[[*id_cols, value]], on=id_cols, how="left").sort_values("_code")
    values = _column(merged, value)
    xp = _namespace(values)
    _check(xp, value, xp.isnan(values), f"missing for these series in the {what} frame", _key_list(keys, id_cols))
    return values


def _first_per_series(frame_sorted: Any, column: str, n: int, width: int) -> Any:
    """The value of ``column`` on each series' first row of a complete sorted panel."""
    values = _column(frame_sorted, column)
    xp = _namespace(values)
    return xp.reshape(values, (n, width))[:, 0]


# --------------------------------------------------------------------------- lead-time demand


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
    seen = xp.astype(period, xp.float64)[:, None] - (xp.take_along_axis(cgap, end, axis=1) - cgap[:, :T])
    need = xp.maximum(xp.ceil(min_coverage * xp.astype(period, xp.float64) - 1e-9), 1.0)[:, None]
    usable = inside & (seen >= need)
    sums = xp.where(usable, sums * xp.astype(period, xp.float64)[:, None] / xp.maximum(seen, 1.0), 0.0)
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


def _ltd_arrays(xp, forecast, errors, lead_time, review_period, service_level, method, keys=None, labels=None,
                min_coverage=0.5):
    labels = labels or {}
    if errors.ndim != 2:
        raise DataValidationError(f"column {labels.get('errors', 'errors')!r}: expected a 2-D (series, days) array, got {errors.ndim}-D", column="errors")
    n = errors.shape[0]
    if forecast.ndim not in (1, 2) or forecast.shape[0] != n:
        raise DataValidationError(
            f"column {labels.get('forecast', 'forecast')!r}: expected {n} rows (one per series of errors), got shape {tuple(forecast.shape)}",
            column="forecast",
        )
    L = _integers(xp, labels.get("lead_time", "lead_time"), xp.broadcast_to(_floats(xp, lead_time), (n,)), 0, keys)
    R = _integers(xp, labels.get("review_period", "review_period"), xp.broadcast_to(_floats(xp, review_period), (n,)), 0, keys)
    P = L + R
    _check(xp, labels.get("lead_time", "lead_time"), P < 1, "give a protection period (lead time + review period) under 1 day", keys)
    f_label = labels.get("forecast", "forecast")
    if forecast.ndim == 1:
        _check_range(xp, f_label, forecast, keys=keys)
        fsum = forecast * xp.astype(P, xp.float64)
    else:
        H = forecast.shape[1]
        _check(xp, f_label, P > H, f"(protection periods) longer than the {H}-day forecast horizon", keys)
        head = xp.arange(H, dtype=xp.int64)[None, :] < P[:, None]
        _check(xp, f_label, head & ~xp.isfinite(forecast), "are NaN or infinite within the protection period", keys)
        fsum = xp.sum(xp.where(head, forecast, 0.0), axis=1)
    if not 0.0 < float(min_coverage) <= 1.0:
        raise ValueError(f"min_coverage must lie in (0, 1], got {min_coverage}")
    sums, valid = _window_sums(xp, errors, P, float(min_coverage))
    count = xp.sum(xp.astype(valid, xp.int64), axis=1)
    _check(xp, labels.get("errors", "errors"), count < 2, "(series) with fewer than 2 usable windows of lead time + review period days (see min_coverage)", keys)
    bias = xp.sum(xp.where(valid, sums, 0.0), axis=1) / xp.astype(count, xp.float64)
    mean = fsum + bias
    if method == "empirical":
        dev = xp.where(valid, sums - bias[:, None], 0.0)
        std = xp.sqrt(xp.sum(dev * dev, axis=1) / xp.astype(count - 1, xp.float64))
    elif method == "normal":
        std = _autocov_std(xp, errors, P)
    else:
        raise ValueError(f"method must be 'empirical' or 'normal', got {method!r}")
    quantile = None
    if service_level is not None:
        level = xp.broadcast_to(_floats(xp, service_level), (n,))
        _check_range(xp, labels.get("service_level", "service_level"), level, low=0.0, high=1.0, open_low=True, open_high=True, keys=keys)
        if method == "empirical":
            quantile = fsum + _row_quantile(xp, sums, valid, level)
        else:
            quantile = mean + _norm(xp)[1](level) * std
    return LeadTimeDemand(mean, std, quantile)


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
        gamma = num / xp.maximum(den, 1.0)
        weight = pf if lag == 0 else 2.0 * xp.maximum(pf - lag, 0.0)
        var = var + weight * gamma
    return xp.sqrt(xp.maximum(var, 0.0))


def lead_time_demand(
    forecast: Any,
    errors: Any,
    lead_time: Any,
    review_period: Any = 0,
    *,
    service_level: Any = None,
    method: str = "empirical",
    min_coverage: float = 0.5,
    id_cols: str | Sequence[str] = DEFAULT_ID_COLS,
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
        on (the first ``L + R`` are summed). Frame: long panel with ``id_cols``, ``time_col``
        and ``forecast_col``, each series' rows from the decision day on.
    errors : array or frame
        Backtest errors ``actual - forecast``: ``(n, T)`` array (NaN = missing day), or a long
        panel with ``id_cols``, ``time_col`` and ``error_col`` holding the same series.
    lead_time, review_period : int, array or str
        Whole days, per series or one for all; with frames a string names a column of
        ``forecast`` (constant within a series).
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
        Frame column names (``id_cols`` defaults to ``("sku", "warehouse")``).

    Returns
    -------
    LeadTimeDemand or frame
        Arrays: ``(mean, std, quantile)``. Frame: one row per series with ``id_cols``,
        ``lead_time``, ``review_period``, ``ltd_mean``, ``ltd_std`` (and ``ltd_quantile``).

    Examples
    --------
    >>> import numpy as np
    >>> from toolkit.decisions.inventory import lead_time_demand
    >>> errors = np.random.default_rng(0).normal(0, 2, size=(3, 400))
    >>> ltd = lead_time_demand(np.full(3, 10.0), errors, lead_time=4, service_level=0.95)
    >>> ltd.mean.shape, bool(np.all(ltd.quantile > ltd.mean))
    ((3,), True)
    """
    if method not in ("empirical", "normal"):
        raise ValueError(f"method must be 'empirical' or 'normal', got {method!r}")
    if not _is_frame(forecast):
        xp = _namespace(forecast, errors, lead_time, review_period, service_level)
        return _ltd_arrays(xp, _floats(xp, forecast), _floats(xp, errors), lead_time, review_period, service_level,
                           method, min_coverage=min_coverage)
    ids = as_list(id_cols)
    if backend.is_dask(forecast) or backend.is_dask(errors):
        return _ltd_dask(forecast, errors, lead_time, review_period, service_level, method, ids, time_col,
                         forecast_col, error_col, min_coverage)
    return _ltd_frame(forecast, errors, lead_time, review_period, service_level, method, ids, time_col, forecast_col,
                      error_col, min_coverage)


def _ltd_frame(forecast, errors, lead_time, review_period, service_level, method, ids, time_col, forecast_col, error_col,
               min_coverage):
    keys, fc, f_sorted = _panel(forecast, ids, time_col, forecast_col, "forecast", complete=False)
    _, err, _ = _panel(errors, ids, time_col, error_col, "errors", keys=keys, complete=False)
    n, width = fc.shape
    labels = {"forecast": forecast_col, "errors": error_col}
    args = {}
    for name, value in (("lead_time", lead_time), ("review_period", review_period), ("service_level", service_level)):
        if isinstance(value, str):
            firsts = f_sorted.groupby("_code", sort=True)[value].first().reset_index()
            args[name], labels[name] = _column(firsts, value), value
        else:
            args[name] = value
    xp = _namespace(fc)
    ltd = _ltd_arrays(xp, fc, err, args["lead_time"], args["review_period"], args["service_level"], method,
                      _key_list(keys, ids), labels, min_coverage)
    out = keys.assign(
        lead_time=xp.broadcast_to(_floats(xp, args["lead_time"]), (n,)),
        review_period=xp.broadcast_to(_floats(xp, args["review_period"]), (n,)),
        ltd_mean=ltd.mean,
        ltd_std=ltd.std,
    )
    if ltd.quantile is not None:
        out = out.assign(ltd_quantile=ltd.quantile)
    return out


def _ltd_dask(forecast, errors, lead_time, review_period, service_level, method, ids, time_col, forecast_col, error_col,
              min_coverage):
    import dask.dataframe as dd

    if not (backend.is_dask(forecast) and backend.is_dask(errors)):
        raise TypeError("lead_time_demand: give both forecast and errors as Dask frames, or neither")
    extra = [v for v in (lead_time, review_period, service_level) if isinstance(v, str)]
    # both halves get the same columns, so every partition of the concatenation has them all
    f_part = forecast[[*ids, time_col, forecast_col, *extra]].assign(**{error_col: np.nan, "_part": 0})
    e_part = errors[[*ids, time_col, error_col]].assign(**{forecast_col: np.nan, **{c: np.nan for c in extra}, "_part": 1})
    e_part = e_part[list(f_part.columns)]
    both = dd.concat([f_part, e_part])
    if service_level is None:
        out_cols = ["lead_time", "review_period", "ltd_mean", "ltd_std"]
    else:
        out_cols = ["lead_time", "review_period", "ltd_mean", "ltd_std", "ltd_quantile"]
    meta = both._meta[ids].assign(**{c: np.float64() for c in out_cols}).iloc[:0]

    def one(part):
        if len(part) == 0:
            return meta
        f = part[part["_part"] == 0].drop(columns=["_part", error_col])
        e = part[part["_part"] == 1].drop(columns=["_part", forecast_col, *extra])
        return _ltd_frame(f, e, lead_time, review_period, service_level, method, ids, time_col, forecast_col, error_col,
                          min_coverage)

    return map_series(both, one, ids, time_col, meta=meta)


# --------------------------------------------------------------------------- closed forms


def standard_normal_loss(z: Any) -> Any:
    """Standard normal loss function ``G(z) = phi(z) - z (1 - Phi(z))`` = E[(Z - z)+].

    Parameters
    ----------
    z : float or array

    Returns
    -------
    float or array (same namespace as ``z``)

    Examples
    --------
    >>> from toolkit.decisions.inventory import standard_normal_loss
    >>> round(standard_normal_loss(0.0), 4)
    0.3989
    """
    xp = _namespace(z)
    zz = _floats(xp, z)
    return _scalar_out(_loss(xp, zz), [z])


def _loss(xp: Any, z: Any) -> Any:
    ndtr = _norm(xp)[0]
    return xp.exp(-0.5 * z * z) / math.sqrt(2.0 * math.pi) - z * (1.0 - ndtr(z))


def _inverse_loss(xp: Any, g: Any) -> Any:
    """Solve ``G(k) = g`` for ``k`` by bisection on [-50, 40] (G is strictly decreasing)."""
    lo = xp.full(g.shape, -50.0, dtype=xp.float64)
    hi = xp.full(g.shape, 40.0, dtype=xp.float64)
    for _ in range(80):
        mid = 0.5 * (lo + hi)
        above = _loss(xp, mid) > g
        lo = xp.where(above, mid, lo)
        hi = xp.where(above, hi, mid)
    return 0.5 * (lo + hi)


def _check_target(target: str) -> None:
    if target not in TARGETS:
        raise ValueError(f"target must be 'cycle_service_level' or 'fill_rate' (say which one you mean), got {target!r}")


def _safety_factor(xp, v, labels, target):
    """Safety factor k (safety stock / sigma) for the target, with validation."""
    _check_range(xp, labels["sigma"], v["sigma"], low=0.0)
    _check_range(xp, labels["service_level"], v["service_level"], low=0.0, high=1.0, open_low=True, open_high=True)
    if target == "cycle_service_level":
        return _norm(xp)[1](v["service_level"])
    if "order_quantity" not in v:
        raise DataValidationError("column 'order_quantity': required for a fill-rate target (expected demand per cycle)", column="order_quantity")
    _check_range(xp, labels["order_quantity"], v["order_quantity"], low=0.0, open_low=True)
    sigma = v["sigma"]
    g = (1.0 - v["service_level"]) * v["order_quantity"] / xp.where(sigma > 0, sigma, 1.0)
    return xp.where(sigma > 0, _inverse_loss(xp, g), 0.0)


def _ss_kernel(target):
    def kernel(xp, v, labels):
        return _safety_factor(xp, v, labels, target) * v["sigma"]

    return kernel


def _rop_kernel(target):
    def kernel(xp, v, labels):
        _check_range(xp, labels["mean"], v["mean"], low=0.0)
        return v["mean"] + _safety_factor(xp, v, labels, target) * v["sigma"]

    return kernel


def _fill_args(order_quantity: Any) -> dict[str, Any]:
    return {} if order_quantity is None else {"order_quantity": order_quantity}


def safety_stock(
    sigma: Any,
    service_level: Any,
    *,
    target: str,
    order_quantity: Any = None,
    data: Any = None,
    out_col: str | None = None,
) -> Any:
    """Safety stock for a cycle-service-level or a fill-rate target.

    ``target="cycle_service_level"``: ``Phi^-1(alpha) * sigma``, the probability of no stock-out
    in a replenishment cycle is ``alpha``. ``target="fill_rate"``: ``k * sigma`` with
    ``sigma * G(k) = (1 - beta) * order_quantity``, a share ``beta`` of demand met from stock
    (``G`` the standard normal loss function). A fill-rate safety stock may be negative when the
    order quantity alone reaches the target.

    Parameters
    ----------
    sigma : float, array or str
        Standard deviation of demand over lead time + review period (``ltd_std``).
    service_level : float, array or str
        Target in (0, 1): alpha or beta according to ``target``.
    target : {"cycle_service_level", "fill_rate"}
        Required, so that every call says which service measure it means.
    order_quantity : float, array or str, optional
        Expected demand per replenishment cycle (fill-rate target only): the order quantity
        of an (s,Q)/(s,S) policy, mean demand over the review period of an (R,S) policy.
    data : frame, optional
        When given, string arguments name its columns and a frame comes back with ``out_col``.
    out_col : str, optional
        Default ``"safety_stock_csl"`` or ``"safety_stock_fill_rate"``.

    Returns
    -------
    float, array or frame

    Examples
    --------
    >>> from toolkit.decisions.inventory import safety_stock
    >>> round(safety_stock(10.0, 0.95, target="cycle_service_level"), 2)
    16.45
    """
    _check_target(target)
    out_col = out_col or ("safety_stock_csl" if target == "cycle_service_level" else "safety_stock_fill_rate")
    return _rowwise(data, out_col, _ss_kernel(target), sigma=sigma, service_level=service_level, **_fill_args(order_quantity))


def reorder_point(
    mean: Any,
    sigma: Any,
    service_level: Any,
    *,
    target: str,
    order_quantity: Any = None,
    data: Any = None,
    out_col: str | None = None,
) -> Any:
    """Reorder point (or order-up-to level) = mean demand over the protection period + safety stock.

    Parameters
    ----------
    mean : float, array or str
        Mean demand over lead time + review period (``ltd_mean``).
    sigma, service_level, target, order_quantity, data
        As in :func:`safety_stock`.
    out_col : str, optional
        Default ``"reorder_point_csl"`` or ``"reorder_point_fill_rate"``.

    Returns
    -------
    float, array or frame

    Examples
    --------
    >>> from toolkit.decisions.inventory import reorder_point
    >>> round(reorder_point(100.0, 10.0, 0.95, target="cycle_service_level"), 2)
    116.45
    """
    _check_target(target)
    out_col = out_col or ("reorder_point_csl" if target == "cycle_service_level" else "reorder_point_fill_rate")
    return _rowwise(data, out_col, _rop_kernel(target), mean=mean, sigma=sigma, service_level=service_level, **_fill_args(order_quantity))


def _eoq_kernel(xp, v, labels):
    _check_range(xp, labels["demand"], v["demand"], low=0.0)
    _check_range(xp, labels["ordering_cost"], v["ordering_cost"], low=0.0)
    _check_range(xp, labels["holding_cost"], v["holding_cost"], low=0.0, open_low=True)
    return xp.sqrt(2.0 * v["ordering_cost"] * v["demand"] / v["holding_cost"])


def eoq(demand: Any, ordering_cost: Any, holding_cost: Any, *, data: Any = None, out_col: str = "eoq") -> Any:
    """Economic order quantity ``sqrt(2 K D / h)``.

    Parameters
    ----------
    demand : float, array or str
        Demand per period (e.g. a year).
    ordering_cost : float, array or str
        Fixed cost ``K`` per order.
    holding_cost : float, array or str
        Cost ``h`` of holding one unit for one period (same period as ``demand``), > 0.
    data, out_col
        As in :func:`safety_stock`.

    Returns
    -------
    float, array or frame

    Examples
    --------
    >>> from toolkit.decisions.inventory import eoq
    >>> round(eoq(1300, 8, 0.225), 2)
    304.05
    """
    return _rowwise(data, out_col, _eoq_kernel, demand=demand, ordering_cost=ordering_cost, holding_cost=holding_cost)


def newsvendor_quantity(
    quantiles: Any,
    levels: Sequence[float],
    underage_cost: Any,
    overage_cost: Any,
    *,
    data: Any = None,
    out_col: str = "newsvendor_quantity",
) -> Any:
    """Order quantity at the critical ratio ``c_u / (c_u + c_o)`` read from forecast quantiles.

    The forecast's quantile function is interpolated linearly between the given levels; the
    critical ratio must lie within them (no extrapolation into the tails).

    Parameters
    ----------
    quantiles : array or list of str
        ``(n, k)`` (or ``(k,)``) demand quantiles at ``levels``, non-decreasing along ``k``; with
        ``data``, the names of its ``k`` quantile columns.
    levels : sequence of float
        Increasing probabilities in (0, 1), one per quantile.
    underage_cost, overage_cost : float, array or str
        Cost of a unit short (``c_u``, e.g. lost margin ``p``) and of a unit left over
        (``c_o``, e.g. holding ``h``), > 0.
    data, out_col
        As in :func:`safety_stock`.

    Returns
    -------
    float, array or frame

    Examples
    --------
    >>> import numpy as np
    >>> from scipy.stats import norm
    >>> from toolkit.decisions.inventory import newsvendor_quantity
    >>> levels = np.linspace(0.01, 0.99, 99)
    >>> round(newsvendor_quantity(norm.ppf(levels, 50, 8), levels, 0.70, 0.18), 1)
    56.6
    """
    lv = np.asarray(levels, dtype="float64")
    if lv.ndim != 1 or lv.size < 2 or np.any(np.diff(lv) <= 0) or np.any((lv <= 0) | (lv >= 1)):
        raise DataValidationError("column 'levels': must be at least 2 increasing probabilities in (0, 1)", column="levels")
    if data is not None:
        names = as_list(quantiles)
        if len(names) != lv.size:
            raise DataValidationError(f"column 'quantiles': {len(names)} columns for {lv.size} levels", column="quantiles")
        if backend.is_dask(data):
            meta = _newsvendor_frame(data._meta, names, lv, underage_cost, overage_cost, out_col)
            return data.map_partitions(_newsvendor_frame, names, lv, underage_cost, overage_cost, out_col, meta=meta)
        if len(data) == 0:
            raise DataValidationError("frame is empty: nothing to compute", column=None)
        return _newsvendor_frame(data, names, lv, underage_cost, overage_cost, out_col)
    xp = _namespace(quantiles, underage_cost, overage_cost)
    q = _floats(xp, quantiles)
    result = _newsvendor(xp, q, lv, underage_cost, overage_cost, "quantiles", {})
    one_series = q.ndim == 1 and not any(_is_array(c) and c.ndim > 0 for c in (underage_cost, overage_cost))
    return float(result) if one_series and not _is_cupy(xp) else result


def _newsvendor_frame(data, names, lv, underage_cost, overage_cost, out_col):
    cols = [_column(data, c) for c in names]
    xp = _namespace(*cols) if cols else _namespace()
    q = xp.stack(cols, axis=1) if len(data) else xp.zeros((0, len(names)), dtype=xp.float64)
    costs, labels = {}, {}
    for key, value in (("underage_cost", underage_cost), ("overage_cost", overage_cost)):
        costs[key], labels[key] = (_column(data, value), value) if isinstance(value, str) else (value, key)
    result = _newsvendor(xp, q, lv, costs["underage_cost"], costs["overage_cost"], ",".join(names), labels)
    return data.assign(**{out_col: result})


def _newsvendor(xp, q, lv, underage_cost, overage_cost, q_label, labels):
    squeeze = q.ndim == 1
    q = q[None, :] if squeeze else q
    if q.ndim != 2 or q.shape[1] != lv.size:
        raise DataValidationError(f"column {q_label!r}: expected {lv.size} quantiles per row, got shape {tuple(q.shape)}", column="quantiles")
    _check_range(xp, q_label, q, low=0.0)
    _check(xp, q_label, xp.any(q[:, 1:] < q[:, :-1], axis=1), "(rows) whose quantiles decrease with the level")
    cu = xp.broadcast_to(_floats(xp, underage_cost), (q.shape[0],))
    co = xp.broadcast_to(_floats(xp, overage_cost), (q.shape[0],))
    _check_range(xp, labels.get("underage_cost", "underage_cost"), cu, low=0.0, open_low=True)
    _check_range(xp, labels.get("overage_cost", "overage_cost"), co, low=0.0, open_low=True)
    ratio = cu / (cu + co)
    grid = xp.asarray(lv)
    _check(xp, "levels", (ratio < grid[0]) | (ratio > grid[-1]), f"(critical ratios) outside the given levels [{lv[0]}, {lv[-1]}]")
    j = xp.clip(xp.searchsorted(grid, ratio, side="right") - 1, 0, lv.size - 2)
    lo, hi = grid[j], grid[j + 1]
    q_lo = xp.take_along_axis(q, j[:, None], axis=1)[:, 0]
    q_hi = xp.take_along_axis(q, (j + 1)[:, None], axis=1)[:, 0]
    out = q_lo + (ratio - lo) / (hi - lo) * (q_hi - q_lo)
    return out[0] if squeeze else out


# --------------------------------------------------------------------------- simulation kernel


class _Stock:
    """State of ``n`` inventories stepping through days together (shared by simulation and RL)."""

    def __init__(self, xp, lead_time, on_hand, backorders, holding_cost, shortage_cost, ordering_cost):
        self.xp = xp
        n = on_hand.shape[0]
        self.lead = lead_time
        self.now = lead_time == 0
        self.slots = int(xp.max(lead_time)) + 1 if n else 1
        self.rows = xp.arange(n, dtype=xp.int64)
        self.net = xp.asarray(on_hand, dtype=xp.float64, copy=True)
        self.on_order = xp.zeros(n, dtype=xp.float64)
        self.pipe = xp.zeros((n, self.slots), dtype=xp.float64)
        self.events = xp.zeros((n, self.slots), dtype=xp.bool)
        self.backorders = backorders
        self.h, self.p, self.k = holding_cost, shortage_cost, ordering_cost

    def position(self):
        return self.net + self.on_order

    def receive(self, t):
        """Book today's arrivals; return which series see a cycle-starting arrival."""
        slot = t % self.slots
        arriving = self.pipe[:, slot]
        self.net = self.net + arriving
        self.on_order = self.on_order - arriving
        started = self.xp.asarray(self.events[:, slot], copy=True)
        self.pipe[:, slot] = 0.0
        self.events[:, slot] = False
        return started

    def place(self, t, quantity, event):
        """Order ``quantity``; zero-lead-time orders arrive at once. Returns immediate events."""
        xp = self.xp
        self.net = self.net + xp.where(self.now, quantity, 0.0)
        later = xp.where(self.now, 0.0, quantity)
        self.on_order = self.on_order + later
        slot = (t + self.lead) % self.slots
        self.pipe[self.rows, slot] += later
        self.events[self.rows, slot] |= event & ~self.now
        return event & self.now

    def serve(self, demand):
        """Meet demand from stock; returns (served, unmet, holding, shortage) for the day."""
        xp = self.xp
        served = xp.minimum(demand, xp.maximum(self.net, 0.0))
        unmet = demand - served
        self.net = self.net - (demand if self.backorders else served)
        holding = self.h * xp.maximum(self.net, 0.0)
        shortage = self.p * (xp.maximum(-self.net, 0.0) if self.backorders else unmet)
        return served, unmet, holding, shortage


def _order_quantity(xp, policy, params, position):
    if policy in ("base_stock", "RS"):
        return xp.maximum(params["S"] - position, 0.0)
    if policy == "sS":
        return xp.where(position <= params["s"], params["S"] - position, 0.0)
    table, width = params["table"], params["bin_width"]
    state = xp.astype(xp.clip(xp.floor(position / width), 0, table.shape[1] - 1), xp.int64)
    return xp.take_along_axis(table, state[:, None], axis=1)[:, 0]


def _simulate_arrays(xp, demand, policy, params, lead, review, on_hand, backorders, h, p, k, return_paths):
    n, T = demand.shape
    stock = _Stock(xp, lead, on_hand, backorders, h, p, k)
    daily = xp.asarray(xp.permute_dims(demand, (1, 0)), copy=True)
    zeros = xp.zeros(n, dtype=xp.float64)
    cycle_open = xp.zeros(n, dtype=xp.bool)
    cycle_short = xp.zeros(n, dtype=xp.bool)
    cycles, good_cycles = zeros, zeros
    served_sum, unmet_sum, stockout_days, on_hand_sum = zeros, zeros, zeros, zeros
    orders, holding_sum, shortage_sum = zeros, zeros, zeros
    paths = {"on_hand": [], "order": [], "served": [], "unmet": []}
    for t in range(T):
        started = stock.receive(t)
        reviewing = (t % review) == 0
        quantity = xp.where(reviewing, _order_quantity(xp, policy, params, stock.position()), 0.0)
        placed = quantity > 0
        if policy != "sS":
            event = reviewing
        elif "review_cycles" in params:  # mixed run: order-up-to rows count every review as a cycle
            event = xp.where(params["review_cycles"], reviewing, placed)
        else:
            event = placed
        started = started | stock.place(t, quantity, event)
        closing = cycle_open & started
        cycles = cycles + xp.astype(closing, xp.float64)
        good_cycles = good_cycles + xp.astype(closing & ~cycle_short, xp.float64)
        cycle_open = cycle_open | started
        cycle_short = cycle_short & ~started
        served, unmet, holding, shortage = stock.serve(daily[t])
        short_today = unmet > 0
        cycle_short = cycle_short | short_today
        served_sum = served_sum + served
        unmet_sum = unmet_sum + unmet
        stockout_days = stockout_days + xp.astype(short_today, xp.float64)
        on_hand_now = xp.maximum(stock.net, 0.0)
        on_hand_sum = on_hand_sum + on_hand_now
        orders = orders + xp.astype(placed, xp.float64)
        holding_sum = holding_sum + holding
        shortage_sum = shortage_sum + shortage
        if return_paths:
            for key, value in (("on_hand", on_hand_now), ("order", quantity), ("served", served), ("unmet", unmet)):
                paths[key].append(value)
    total = served_sum + unmet_sum
    ordering = k * orders
    out = {
        "cycle_service_level": xp.where(cycles > 0, good_cycles / xp.where(cycles > 0, cycles, 1.0), xp.nan),
        "fill_rate": xp.where(total > 0, served_sum / xp.where(total > 0, total, 1.0), 1.0),
        "stockout_days": stockout_days,
        "avg_on_hand": on_hand_sum / max(T, 1),
        "orders_placed": orders,
        "demand": total,
        "unmet_demand": unmet_sum,
        "holding_cost": holding_sum,
        "shortage_cost": shortage_sum,
        "ordering_cost": ordering,
        "total_cost": holding_sum + shortage_sum + ordering,
    }
    if return_paths:
        for key, values in paths.items():
            out[f"{key}_path"] = xp.stack(values, axis=1) if values else xp.zeros((n, 0), dtype=xp.float64)
    return out


def _policy_params(xp, policy, params, n, labels, keys):
    if policy not in POLICIES:
        raise ValueError(f"policy must be one of {POLICIES}, got {policy!r}")
    needed = {"base_stock": ("S",), "RS": ("S",), "sS": ("s", "S"), "table": ("table", "bin_width")}[policy]
    out = {}
    for name in needed:
        if name not in params:
            raise DataValidationError(f"column {name!r}: policy {policy!r} needs parameter {name!r}", column=name)
        value = _floats(xp, params[name])
        label = labels.get(name, name)
        if name == "table":
            if value.ndim != 2 or value.shape[0] != n:
                raise DataValidationError(f"column 'table': expected shape ({n}, n_states), got {tuple(value.shape)}", column="table")
            _check_range(xp, label, value, low=0.0, keys=keys)
        else:
            value = xp.broadcast_to(value, (n,))
            _check_range(xp, label, value, low=0.0, open_low=name == "bin_width", keys=keys)
        out[name] = value
    if policy == "sS":
        _check(xp, labels.get("S", "S"), out["S"] < out["s"], "are below the reorder point s", keys)
    return out


def _simulate_checked(xp, demand, policy, params, lead_time, review_period, holding_cost, shortage_cost,
                      ordering_cost, backorders, initial_on_hand, return_paths, keys=None, labels=None):
    labels = labels or {}
    if demand.ndim != 2:
        raise DataValidationError(f"column {labels.get('demand', 'demand')!r}: expected a 2-D (series, days) array", column="demand")
    n = demand.shape[0]
    _check_range(xp, labels.get("demand", "demand"), demand, low=0.0, keys=keys)
    p = _policy_params(xp, policy, params, n, labels, keys)
    lead = _integers(xp, labels.get("lead_time", "lead_time"), xp.broadcast_to(_floats(xp, lead_time), (n,)), 0, keys)
    if policy == "base_stock":
        review_period = 1
    review = _integers(xp, labels.get("review_period", "review_period"), xp.broadcast_to(_floats(xp, review_period), (n,)), 1, keys)
    costs = {}
    for name, value in (("holding_cost", holding_cost), ("shortage_cost", shortage_cost), ("ordering_cost", ordering_cost)):
        costs[name] = xp.broadcast_to(_floats(xp, value), (n,))
        _check_range(xp, labels.get(name, name), costs[name], low=0.0, keys=keys)
    if initial_on_hand is None:
        if "S" not in p:
            raise DataValidationError("column 'initial_on_hand': required for policy 'table' (no order-up-to level to start from)", column="initial_on_hand")
        start = p["S"]
    else:
        start = xp.broadcast_to(_floats(xp, initial_on_hand), (n,))
        _check_range(xp, labels.get("initial_on_hand", "initial_on_hand"), start, low=0.0, keys=keys)
    return _simulate_arrays(xp, demand, policy, p, lead, review, start, bool(backorders),
                            costs["holding_cost"], costs["shortage_cost"], costs["ordering_cost"], return_paths)


def simulate_policy(
    demand: Any,
    policy: str,
    params: Any,
    lead_time: Any,
    *,
    review_period: Any = 1,
    holding_cost: Any = 1.0,
    shortage_cost: Any = 0.0,
    ordering_cost: Any = 0.0,
    backorders: bool = False,
    initial_on_hand: Any = None,
    return_paths: bool = False,
    id_cols: str | Sequence[str] = DEFAULT_ID_COLS,
    time_col: str = "date",
    target_col: str = "units",
) -> Any:
    """Simulate an inventory policy day by day over a demand path, for all series at once.

    Each day: receive arrivals, review (every ``review_period`` days) and order, meet demand
    (lost sales, or backorders), charge costs. See the module docstring for the definitions of
    the KPIs and costs.

    Parameters
    ----------
    demand : array or frame
        ``(n, T)`` daily demand, or a long panel (``id_cols``, ``time_col``, ``target_col``)
        where every series covers the same days.
    policy : {"base_stock", "RS", "sS", "table"}
        ``base_stock``: daily review, order up to ``S``. ``RS``: every ``review_period`` days
        order up to ``S``. ``sS``: at each review, when the inventory position is at or below
        ``s`` order up to ``S``. ``table``: order ``table[i, bin]`` where ``bin`` is the inventory
        position divided by ``bin_width`` (what :class:`QLearningReplenisher` learns; arrays only).
    params : dict or frame
        Policy parameters (``S``; ``s`` and ``S``; ``table`` and ``bin_width``), scalars or per
        series. With a demand frame, a frame keyed by ``id_cols`` whose columns carry them (and any
        other per-series argument given by column name).
    lead_time : int, array or str
        Whole days from order to arrival, per series.
    review_period : int, array or str
        Days between reviews for ``RS`` and ``sS`` (``base_stock`` reviews daily).
    holding_cost, shortage_cost, ordering_cost : float, array or str
        Per unit on hand per day; per unit lost (or backordered per day); per order.
    backorders : bool
        Unmet demand waits for stock (True) or is lost (False, default).
    initial_on_hand : float, array or str, optional
        Stock on day 0 (default ``S``), nothing on order.
    return_paths : bool
        Also return daily ``on_hand``, ``order``, ``served`` and ``unmet`` paths.
    id_cols, time_col, target_col : str
        Frame column names.

    Returns
    -------
    dict of arrays or frame
        Arrays: ``{kpi: (n,) array}`` for :data:`KPIS` (plus ``*_path`` ``(n, T)`` arrays).
        Frame: one row per series with ``id_cols`` and the KPIs; with ``return_paths`` a tuple
        ``(kpis, paths)`` where ``paths`` is the sorted panel with the four path columns.

    Examples
    --------
    >>> import numpy as np
    >>> from toolkit.decisions.inventory import simulate_policy
    >>> demand = np.array([[3.0, 3.0, 3.0, 3.0]])
    >>> kpi = simulate_policy(demand, "base_stock", {"S": 6.0}, lead_time=1)
    >>> float(kpi["fill_rate"][0]), float(kpi["orders_placed"][0])
    (1.0, 3.0)
    """
    if not _is_frame(demand):
        xp = _namespace(demand, lead_time, review_period)
        return _simulate_checked(xp, _floats(xp, demand), policy, params, lead_time, review_period, holding_cost,
                                 shortage_cost, ordering_cost, backorders, initial_on_hand, return_paths)
    ids = as_list(id_cols)
    if policy == "table":
        raise ValueError("policy 'table' takes arrays; use QLearningReplenisher.simulate or pass arrays")
    if backend.is_dask(demand):
        if return_paths:
            raise ValueError("return_paths is not available for Dask frames (the paths are as large as the input)")
        meta = demand._meta[ids].assign(**{k: np.float64() for k in KPIS}).iloc[:0]

        def one(part):
            if len(part) == 0:
                return meta
            return _simulate_frame(part, policy, params, lead_time, review_period, holding_cost, shortage_cost,
                                   ordering_cost, backorders, initial_on_hand, False, ids, time_col, target_col, subset=True)

        return map_series(demand, one, ids, time_col, meta=meta)
    return _simulate_frame(demand, policy, params, lead_time, review_period, holding_cost, shortage_cost,
                           ordering_cost, backorders, initial_on_hand, return_paths, ids, time_col, target_col)


def _simulate_frame(demand, policy, params, lead_time, review_period, holding_cost, shortage_cost, ordering_cost,
                    backorders, initial_on_hand, return_paths, ids, time_col, target_col, subset=False):
    keys, values, ordered = _panel(demand, ids, time_col, target_col, "demand")
    key_list = _key_list(keys, ids)
    table = params if _is_frame(params) else None
    if table is not None and subset:
        table = table.merge(keys, on=ids, how="inner")
    labels = {"demand": target_col}
    names = {"S": "S", "s": "s"}
    if table is not None:
        param_values = {name: _per_series(name, table, keys, ids, "params") for name in names if name in table.columns}
    else:
        param_values = dict(params)
    resolved = {}
    for name, value in (("lead_time", lead_time), ("review_period", review_period), ("holding_cost", holding_cost),
                        ("shortage_cost", shortage_cost), ("ordering_cost", ordering_cost), ("initial_on_hand", initial_on_hand)):
        resolved[name] = _per_series(value, table, keys, ids, "params")
        if isinstance(value, str):
            labels[name] = value
    xp = _namespace(values)
    out = _simulate_checked(xp, values, policy, param_values, resolved["lead_time"], resolved["review_period"],
                            resolved["holding_cost"], resolved["shortage_cost"], resolved["ordering_cost"], backorders,
                            resolved["initial_on_hand"], return_paths, key_list, labels)
    kpis = keys.assign(**{k: out[k] for k in KPIS})
    if not return_paths:
        return kpis
    paths = ordered[[*ids, time_col]].assign(**{k: xp.reshape(out[f"{k}_path"], (-1,)) for k in ("on_hand", "order", "served", "unmet")})
    return kpis, paths


# --------------------------------------------------------------------------- Q-learning


class QLearningReplenisher(BaseEstimator):
    """Tabular Q-learning replenishment agent, one Q-table per series, trained all at once.

    State: inventory position (on hand + on order - backorders) in ``n_states`` bins of a
    per-series width that spans ``state_span`` times a high protection-period demand
    (``mean * (L+1) + 3 * std * sqrt(L+1)`` of daily training demand). Action: order ``a``
    steps of ``max_order / (n_actions - 1)`` units, ``max_order`` being ``order_span`` times
    a high daily demand (``mean + 3 std``). Reward: minus the day's holding, shortage and
    ordering cost. Episodes run on random contiguous windows of the training demand
    (wrapping around), starting from a random inventory position; epsilon decays linearly
    from ``epsilon_start`` to ``epsilon_end``.

    Parameters
    ----------
    n_states, n_actions : int
        Table size.
    episodes, episode_days : int
        Training length.
    learning_rate, discount : float
        Q-learning step size and daily discount factor.
    epsilon_start, epsilon_end : float
        Exploration schedule.
    state_span, order_span : float
        Reach of the state bins and of the largest order (see above).
    holding_cost, shortage_cost, ordering_cost : float
        As in :func:`simulate_policy`.
    backorders : bool
        As in :func:`simulate_policy`.
    random_state : int
        Seed of the host random generator.
    progress : bool
        Show a progress bar over training episodes.

    Attributes
    ----------
    q_table_ : array, shape (n, n_states, n_actions)
    bin_width_, action_unit_, lead_time_ : arrays, shape (n,)

    Examples
    --------
    >>> import numpy as np
    >>> from toolkit.decisions.inventory import QLearningReplenisher
    >>> demand = np.random.default_rng(0).poisson(5.0, size=(2, 200)).astype(float)
    >>> agent = QLearningReplenisher(episodes=20, episode_days=60, shortage_cost=5.0).fit(demand, lead_time=2)
    >>> agent.q_table_.shape
    (2, 24, 10)
    """

    def __init__(
        self,
        n_states: int = 24,
        n_actions: int = 10,
        episodes: int = 200,
        episode_days: int = 120,
        learning_rate: float = 0.2,
        discount: float = 0.9,
        epsilon_start: float = 1.0,
        epsilon_end: float = 0.02,
        state_span: float = 1.5,
        order_span: float = 2.0,
        holding_cost: float = 1.0,
        shortage_cost: float = 10.0,
        ordering_cost: float = 0.0,
        backorders: bool = False,
        random_state: int = 0,
        progress: bool = True,
    ):
        self.n_states = n_states
        self.n_actions = n_actions
        self.episodes = episodes
        self.episode_days = episode_days
        self.learning_rate = learning_rate
        self.discount = discount
        self.epsilon_start = epsilon_start
        self.epsilon_end = epsilon_end
        self.state_span = state_span
        self.order_span = order_span
        self.holding_cost = holding_cost
        self.shortage_cost = shortage_cost
        self.ordering_cost = ordering_cost
        self.backorders = backorders
        self.random_state = random_state
        self.progress = progress

    def _state(self, xp, position):
        return xp.astype(xp.clip(xp.floor(position / self.bin_width_), 0, self.n_states - 1), xp.int64)

    def fit(self, demand: Any, lead_time: Any) -> "QLearningReplenisher":
        """Train on ``(n, T)`` daily demand history with per-series ``lead_time`` (whole days).

        Returns
        -------
        self
        """
        if self.n_states < 2 or self.n_actions < 2:
            raise ValueError("n_states and n_actions must be at least 2")
        xp = _namespace(demand, lead_time)
        d = _floats(xp, demand)
        if d.ndim != 2 or d.shape[1] < 2:
            raise DataValidationError("column 'demand': expected a 2-D (series, days) array with at least 2 days", column="demand")
        _check_range(xp, "demand", d, low=0.0)
        n, T = d.shape
        lead = _integers(xp, "lead_time", xp.broadcast_to(_floats(xp, lead_time), (n,)), 0)
        for name in ("holding_cost", "shortage_cost", "ordering_cost"):
            _check_range(xp, name, _floats(xp, getattr(self, name)), low=0.0)
        mu, sd = xp.mean(d, axis=1), xp.std(d, axis=1)
        period = xp.astype(lead + 1, xp.float64)
        top = mu * period + 3.0 * sd * xp.sqrt(period)
        high_day = mu + 3.0 * sd
        self.bin_width_ = xp.where(top > 0, self.state_span * top / self.n_states, 1.0)
        self.action_unit_ = xp.where(high_day > 0, self.order_span * high_day / (self.n_actions - 1), 0.0)
        self.lead_time_ = lead
        q = xp.zeros((n, self.n_states, self.n_actions), dtype=xp.float64)
        rng = np.random.default_rng(self.random_state)
        rows = xp.arange(n, dtype=xp.int64)
        days = self.episode_days
        episodes = range(self.episodes)
        if self.progress:
            from tqdm.auto import tqdm

            episodes = tqdm(episodes, desc="Q-learning", leave=False)
        for episode in episodes:
            frac = episode / max(self.episodes - 1, 1)
            epsilon = self.epsilon_start + frac * (self.epsilon_end - self.epsilon_start)
            start = xp.asarray(rng.integers(0, T, size=n))
            idx = (start[:, None] + xp.arange(days, dtype=xp.int64)[None, :]) % T
            path = xp.permute_dims(xp.take_along_axis(d, idx, axis=1), (1, 0))
            explore = xp.asarray(rng.random((days, n)) < epsilon)
            random_action = xp.asarray(rng.integers(0, self.n_actions, size=(days, n)))
            on_hand = xp.asarray(rng.random(n)) * self.bin_width_ * self.n_states
            stock = _Stock(xp, lead, on_hand, self.backorders, self.holding_cost, self.shortage_cost, self.ordering_cost)
            state = self._state(xp, stock.position())
            for t in range(days):
                stock.receive(t)
                greedy = xp.argmax(q[rows, state], axis=1)
                action = xp.where(explore[t], random_action[t], greedy)
                quantity = xp.astype(action, xp.float64) * self.action_unit_
                stock.place(t, quantity, quantity > 0)
                _, _, holding, shortage = stock.serve(path[t])
                reward = -(holding + shortage + self.ordering_cost * xp.astype(quantity > 0, xp.float64))
                nxt = self._state(xp, stock.position())
                target = reward + self.discount * xp.max(q[rows, nxt], axis=1)
                q[rows, state, action] += self.learning_rate * (target - q[rows, state, action])
                state = nxt
        self.q_table_ = q
        return self

    def order_table(self) -> Any:
        """Greedy order quantity per series and state, shape ``(n, n_states)``."""
        xp = _namespace(self.q_table_)
        return xp.astype(xp.argmax(self.q_table_, axis=2), xp.float64) * self.action_unit_[:, None]

    def simulate(self, demand: Any, *, initial_on_hand: Any, return_paths: bool = False) -> dict[str, Any]:
        """Run the greedy policy on ``demand`` (``(n, T)``) with :func:`simulate_policy`."""
        return simulate_policy(
            demand, "table", {"table": self.order_table(), "bin_width": self.bin_width_}, self.lead_time_,
            holding_cost=self.holding_cost, shortage_cost=self.shortage_cost, ordering_cost=self.ordering_cost,
            backorders=self.backorders, initial_on_hand=initial_on_hand, return_paths=return_paths,
        )


# --------------------------------------------------------------------------- policy comparison


def _tile(xp, x, times):
    return xp.concat([x] * times, axis=0)


def _tune_base_stock(xp, train, lead, mean, std, h, p, k, backorders, grid):
    """Per-series S minimising training cost over ``mean + z std`` for z in ``grid``, in one run."""
    n = train.shape[0]
    z = xp.asarray(np.asarray(grid, dtype="float64"))
    levels = xp.maximum(mean[None, :] + z[:, None] * std[None, :], 0.0)
    flat = xp.reshape(levels, (-1,))
    kpi = _simulate_arrays(xp, _tile(xp, train, len(grid)), "base_stock", {"S": flat}, _tile(xp, lead, len(grid)),
                           xp.ones(n * len(grid), dtype=xp.int64), flat, backorders,
                           _tile(xp, h, len(grid)), _tile(xp, p, len(grid)), _tile(xp, k, len(grid)), False)
    cost = xp.reshape(kpi["total_cost"], (len(grid), n))
    best = xp.argmin(cost, axis=0)
    return xp.take_along_axis(levels, best[None, :], axis=0)[0]


def compare_policies(
    train: Any,
    test: Any,
    lead_time: Any,
    *,
    review_period: int = 7,
    service_level: float = 0.95,
    holding_cost: float = 1.0,
    shortage_cost: float = 10.0,
    ordering_cost: float = 0.0,
    backorders: bool = False,
    q_learning: dict[str, Any] | None = None,
    random_state: int = 0,
    return_details: bool = False,
    progress: bool = True,
    id_cols: str | Sequence[str] = DEFAULT_ID_COLS,
    time_col: str = "date",
    target_col: str = "units",
) -> Any:
    """KPI table of replenishment policies on the same held-out demand, Q-learning included.

    Policies, all parameterised from ``train`` and simulated on ``test``:

    * ``base_stock_tuned``: order-up-to ``S`` chosen per series from ``mean + z std`` of
      ``L+1``-day demand (z from -1 to 4) by least total cost on the training demand;
    * ``base_stock_csl``: order-up-to the reorder point for ``service_level`` (cycle service);
    * ``sS_csl``: ``s`` = that reorder point, ``S = s + EOQ`` (yearly demand, ``K``, ``365 h``);
    * ``RS_csl``: every ``review_period`` days order up to the ``L+R``-day quantile;
    * ``q_learning``: :class:`QLearningReplenisher` trained on ``train``, starting from the
      tuned base-stock level.

    Each policy starts with its order-up-to level on hand (the agent with the tuned one).

    Parameters
    ----------
    train, test : array or frame
        ``(n, T)`` daily demand (same series in the same order), or long panels.
    lead_time : int, array or str
        Whole days; with frames a string names a column of ``train``.
    review_period, service_level, holding_cost, shortage_cost, ordering_cost, backorders
        See :func:`simulate_policy` and :func:`reorder_point` (scalars here).
    q_learning : dict, optional
        Extra :class:`QLearningReplenisher` parameters (e.g. ``episodes``).
    random_state : int
        Seed of the agent.
    progress : bool
        Show a progress bar while the agent trains.
    return_details : bool
        Also return ``{policy: per-series KPI dict}``, each with the series' ``order_up_to``
        level (NaN for the agent, which has none).
    id_cols, time_col, target_col : str
        Frame column names.

    Returns
    -------
    frame (or (frame, dict))
        One row per policy: ``policy``, ``cycle_service_level`` (mean over series),
        ``fill_rate`` (pooled), ``stockout_days`` (mean per series), ``avg_on_hand`` (sum over
        series), ``orders_placed`` and the costs (sums). A pandas frame for numpy/pandas input,
        cudf for cupy/cudf.

    Examples
    --------
    >>> import numpy as np
    >>> from toolkit.decisions.inventory import compare_policies
    >>> rng = np.random.default_rng(0)
    >>> train, test = rng.poisson(6.0, (3, 300)).astype(float), rng.poisson(6.0, (3, 120)).astype(float)
    >>> table = compare_policies(train, test, 2, q_learning={"episodes": 20})
    >>> sorted(table["policy"])
    ['RS_csl', 'base_stock_csl', 'base_stock_tuned', 'q_learning', 'sS_csl']
    """
    ids = as_list(id_cols)
    if backend.is_dask(train) or backend.is_dask(test):
        raise TypeError("compare_policies needs every series in memory: compute the Dask frames first "
                        "(the policy table is small; simulate_policy itself accepts Dask frames)")
    if _is_frame(train):
        keys, tr, tr_sorted = _panel(train, ids, time_col, target_col, "train")
        _, te, _ = _panel(test, ids, time_col, target_col, "test", keys=keys)
        if isinstance(lead_time, str):
            lead_time = _first_per_series(tr_sorted, lead_time, *tr.shape)
        lib = backend.frame_lib(train)
    else:
        xp0 = _namespace(train, test)
        tr, te = _floats(xp0, train), _floats(xp0, test)
        lib = backend.frame_lib(tr)
    xp = _namespace(tr, te)
    if tr.ndim != 2 or te.ndim != 2 or tr.shape[0] != te.shape[0]:
        raise DataValidationError(f"column 'test': train {tuple(tr.shape)} and test {tuple(te.shape)} must be (series, days) with the same series", column="test")
    _check_range(xp, "train", tr, low=0.0)
    _check_range(xp, "test", te, low=0.0)
    n = tr.shape[0]
    lead = _integers(xp, "lead_time", xp.broadcast_to(_floats(xp, lead_time), (n,)), 0)
    for name, value in (("review_period", review_period), ("service_level", service_level), ("holding_cost", holding_cost),
                        ("shortage_cost", shortage_cost), ("ordering_cost", ordering_cost)):
        if not isinstance(value, (int, float)):
            raise TypeError(f"{name} must be a scalar in compare_policies")
    h = xp.full(n, float(holding_cost), dtype=xp.float64)
    p = xp.full(n, float(shortage_cost), dtype=xp.float64)
    k = xp.full(n, float(ordering_cost), dtype=xp.float64)
    rate = xp.mean(tr, axis=1)
    errors = tr - rate[:, None]
    daily_review = lead_time_demand(rate, errors, lead, 1, service_level=service_level)
    periodic = lead_time_demand(rate, errors, lead, review_period, service_level=service_level)
    s_daily = reorder_point(daily_review.mean, daily_review.std, service_level, target="cycle_service_level")
    s_periodic = reorder_point(periodic.mean, periodic.std, service_level, target="cycle_service_level")
    lot = eoq(rate * 365.0, k, h * 365.0)
    tuned = _tune_base_stock(xp, tr, lead, daily_review.mean, daily_review.std, h, p, k, bool(backorders),
                             np.linspace(-1.0, 4.0, 21))
    common = dict(holding_cost=h, shortage_cost=p, ordering_cost=k, backorders=backorders)
    details = {
        "base_stock_tuned": simulate_policy(te, "base_stock", {"S": tuned}, lead, **common),
        "base_stock_csl": simulate_policy(te, "base_stock", {"S": s_daily}, lead, **common),
        "sS_csl": simulate_policy(te, "sS", {"s": s_daily, "S": s_daily + lot}, lead, **common),
        "RS_csl": simulate_policy(te, "RS", {"S": s_periodic}, lead, review_period=review_period, **common),
    }
    agent_params = {"progress": progress, **(q_learning or {})}
    agent = QLearningReplenisher(holding_cost=float(holding_cost), shortage_cost=float(shortage_cost),
                                 ordering_cost=float(ordering_cost), backorders=bool(backorders),
                                 random_state=random_state, **agent_params)
    details["q_learning"] = agent.fit(tr, lead).simulate(te, initial_on_hand=tuned)
    levels = {"base_stock_tuned": tuned, "base_stock_csl": s_daily, "sS_csl": s_daily + lot, "RS_csl": s_periodic,
              "q_learning": xp.full(n, xp.nan, dtype=xp.float64)}
    for name, level in levels.items():
        details[name]["order_up_to"] = level
    table = _summarise(xp, lib, details)
    return (table, details) if return_details else table


def _summarise(xp, lib, details):
    rows = {key: [] for key in ("policy", *KPIS)}
    for name, kpi in details.items():
        rows["policy"].append(name)
        csl = kpi["cycle_service_level"]
        seen = ~xp.isnan(csl)
        rows["cycle_service_level"].append(float(xp.sum(xp.where(seen, csl, 0.0)) / max(int(xp.sum(xp.astype(seen, xp.int64))), 1)))
        demand = float(xp.sum(kpi["demand"]))
        rows["fill_rate"].append(1.0 - float(xp.sum(kpi["unmet_demand"])) / demand if demand > 0 else 1.0)
        rows["stockout_days"].append(float(xp.mean(kpi["stockout_days"])))
        for key in ("avg_on_hand", "orders_placed", "demand", "unmet_demand", "holding_cost", "shortage_cost", "ordering_cost", "total_cost"):
            rows[key].append(float(xp.sum(kpi[key])))
    return lib.DataFrame(rows)


def service_cost_frontier(
    demand: Any,
    lead_time: Any,
    *,
    forecast: Any,
    errors: Any,
    service_levels: Sequence[float] = (0.8, 0.85, 0.9, 0.95, 0.975, 0.99),
    policies: Sequence[str] = ("base_stock", "RS", "sS"),
    target: str = "cycle_service_level",
    review_period: int = 7,
    holding_cost: float = 1.0,
    shortage_cost: float = 10.0,
    ordering_cost: float = 0.0,
    backorders: bool = False,
) -> Any:
    """Cost and achieved service of each policy at each service target, on held-out demand.

    For every policy and target the levels come from :func:`lead_time_demand` (``forecast``
    and backtest ``errors``) and :func:`reorder_point`; all combinations are simulated on
    ``demand`` in one vectorised run (series tiled policy x target times).

    Parameters
    ----------
    demand : array, shape (n, T)
        Held-out daily demand to simulate on.
    lead_time : int or array
        Whole days per series.
    forecast : array
        ``(n,)`` daily rate or ``(n, H)`` daily forecasts from the first held-out day.
    errors : array, shape (n, T_bt)
        Backtest errors ``actual - forecast``.
    service_levels : sequence of float
        Targets in (0, 1).
    policies : sequence of {"base_stock", "RS", "sS"}
        ``base_stock`` reviews daily (``P = L + 1``); ``RS`` every ``review_period`` days;
        ``sS`` reviews daily with ``s`` the reorder point and ``S = s + EOQ``.
    target : {"cycle_service_level", "fill_rate"}
        Which measure ``service_levels`` are; for fill rate the expected demand per cycle is
        one day (base stock), ``review_period`` days (RS) or the EOQ (sS).
    review_period, holding_cost, shortage_cost, ordering_cost, backorders
        As in :func:`compare_policies` (scalars).

    Returns
    -------
    frame
        One row per (policy, target): ``policy``, ``service_target``, the pooled KPIs of
        :func:`compare_policies` and ``safety_stock`` (summed over series). pandas for numpy
        input, cudf for cupy.

    Examples
    --------
    >>> import numpy as np
    >>> from toolkit.decisions.inventory import service_cost_frontier
    >>> rng = np.random.default_rng(0)
    >>> demand = rng.poisson(10.0, (4, 90)).astype(float)
    >>> errors = rng.poisson(10.0, (4, 200)) - 10.0
    >>> table = service_cost_frontier(demand, 3, forecast=np.full(4, 10.0), errors=errors, service_levels=[0.9, 0.99])
    >>> len(table)
    6
    """
    _check_target(target)
    xp = _namespace(demand, forecast, errors, lead_time)
    d = _floats(xp, demand)
    if d.ndim != 2:
        raise DataValidationError("column 'demand': expected a 2-D (series, days) array", column="demand")
    n = d.shape[0]
    f, e = _floats(xp, forecast), _floats(xp, errors)
    lead = _integers(xp, "lead_time", xp.broadcast_to(_floats(xp, lead_time), (n,)), 0)
    levels = np.asarray(service_levels, dtype="float64")
    if levels.ndim != 1 or levels.size == 0 or np.any(~np.isfinite(levels) | (levels <= 0) | (levels >= 1)):
        raise DataValidationError("column 'service_levels': targets must lie in (0, 1)", column="service_levels")
    unknown = [p for p in policies if p not in ("base_stock", "RS", "sS")]
    if unknown:
        raise ValueError(f"policies must be among 'base_stock', 'RS', 'sS', got {unknown}")
    rate = f if f.ndim == 1 else xp.mean(f, axis=1)
    h = xp.full(n, float(holding_cost), dtype=xp.float64)
    k = xp.full(n, float(ordering_cost), dtype=xp.float64)
    lot = eoq(rate * 365.0, k, h * 365.0)
    blocks, labels = [], []
    for policy in policies:
        review = review_period if policy == "RS" else 1
        ltd = lead_time_demand(f, e, lead, review)
        per_cycle = {"base_stock": rate, "RS": rate * review, "sS": xp.maximum(lot, rate)}[policy]
        for level in levels:
            extra = {"order_quantity": per_cycle} if target == "fill_rate" else {}
            ss = safety_stock(ltd.std, float(level), target=target, **extra)
            level_s = xp.maximum(ltd.mean + ss, 0.0)
            blocks.append((policy, review, level_s, level_s + lot if policy == "sS" else level_s, ss))
            labels.append((policy, float(level)))
    m = len(blocks)
    s_all = xp.concat([b[2] for b in blocks])
    S_all = xp.concat([b[3] for b in blocks])
    review_all = xp.concat([xp.full(n, b[1], dtype=xp.int64) for b in blocks])
    is_ss = xp.concat([xp.full(n, b[0] == "sS", dtype=xp.bool) for b in blocks])
    # one run: an order-up-to row is an (s,S) row with s = S (order S - IP whenever IP <= S),
    # whose cycles start at every review
    params = {"s": xp.where(is_ss, s_all, S_all), "S": S_all, "review_cycles": ~is_ss}
    kpi = _simulate_arrays(xp, _tile(xp, d, m), "sS", params, _tile(xp, lead, m), review_all, S_all, bool(backorders),
                           _tile(xp, h, m), xp.full(n * m, float(shortage_cost), dtype=xp.float64), _tile(xp, k, m), False)
    details = {}
    for j, (policy, level) in enumerate(labels):
        part = {key: kpi[key][j * n:(j + 1) * n] for key in KPIS}
        details[f"{policy}|{level}"] = part
    table = _summarise(xp, backend.frame_lib(d), details)
    table = table.assign(
        policy=[p for p, _ in labels],
        service_target=[lv for _, lv in labels],
        safety_stock=[float(xp.sum(b[4])) for b in blocks],
    )
    return table[["policy", "service_target", *KPIS, "safety_stock"]]
