"""Closed-form inventory formulas: safety stock, reorder point, EOQ and the newsvendor quantity.

Each formula works on numbers (a float comes back), on arrays of any namespace (NumPy or
CuPy; an array comes back), or on the columns of a frame given as ``data=`` (string
arguments name its columns; the frame comes back with one more column, lazily per partition
for a Dask frame).

Non-finite values are refused: a NaN or infinite input is reported naming its column (or
parameter) and a few rows (by ``sku``/``warehouse`` when the frame has them), never turned
into a NaN result that later sums would carry.

Service targets (where the issue is silent)
-------------------------------------------
Cycle service level ``alpha`` (probability of no stock-out in a replenishment cycle):
``SS = Phi^-1(alpha) sigma``. Fill rate ``beta`` (share of demand met from stock on hand):
``SS = k sigma`` with ``sigma G(k) = (1 - beta) Q``, ``G(k) = phi(k) - k (1 - Phi(k))`` the
standard normal loss function and ``Q`` the expected demand per replenishment cycle (the
backorder approximation of Silver, Pyke and Peterson). ``G`` is inverted by bisection, which
is exact to float64 and vectorises. The normal CDF and its inverse come from
``scipy.special`` (NumPy) or ``cupyx.scipy.special`` (CuPy): the array API has no ``erf``.

Examples
--------
>>> from toolkit.decisions.inventory import eoq, safety_stock
>>> round(eoq(1300, 8, 0.225), 2), round(safety_stock(10.0, 0.95, target="cycle_service_level"), 2)
(304.05, 16.45)
"""

from __future__ import annotations

import math
from typing import Any, Sequence

import numpy as np

from toolkit import panel
from toolkit.errors import DataValidationError
from toolkit.decisions.inventory.inputs import INVENTORY_ID_COLS, SeriesInputs, namespace_of, rowwise

__all__ = [
    "TARGETS",
    "normal_functions",
    "standard_normal_loss",
    "inverse_loss",
    "safety_stock",
    "reorder_point",
    "eoq",
    "newsvendor_quantity",
]

TARGETS = ("cycle_service_level", "fill_rate")


def normal_functions(xp: Any) -> tuple[Any, Any]:
    """The standard normal CDF and its inverse (``ndtr``, ``ndtri``) for ``xp``'s arrays."""
    if "cupy" in xp.__name__:
        from cupyx.scipy.special import ndtr, ndtri
    else:
        from scipy.special import ndtr, ndtri
    return ndtr, ndtri


def _loss(xp: Any, z: Any) -> Any:
    ndtr = normal_functions(xp)[0]
    return xp.exp(-0.5 * z * z) / math.sqrt(2.0 * math.pi) - z * (1.0 - ndtr(z))


def standard_normal_loss(z: Any) -> Any:
    """Standard normal loss function ``G(z) = phi(z) - z (1 - Phi(z))`` = E[(Z - z)+].

    Parameters
    ----------
    z : float or array
        Finite values (NaN or infinity is refused).

    Returns
    -------
    float or array (same namespace as ``z``)

    Examples
    --------
    >>> from toolkit.decisions.inventory import standard_normal_loss
    >>> round(standard_normal_loss(0.0), 4)
    0.3989
    """
    def kernel(xp, v, checks):
        return _loss(xp, checks.check("z", v["z"]))

    return rowwise(None, "loss", kernel, {"z": z})


def inverse_loss(xp: Any, g: Any) -> Any:
    """Solve ``G(k) = g`` for ``k`` by bisection on [-50, 40] (G is strictly decreasing)."""
    lo = xp.full(g.shape, -50.0, dtype=xp.float64)
    hi = xp.full(g.shape, 40.0, dtype=xp.float64)
    for _ in range(80):
        mid = 0.5 * (lo + hi)
        above = _loss(xp, mid) > g
        lo = xp.where(above, mid, lo)
        hi = xp.where(above, hi, mid)
    return 0.5 * (lo + hi)


def _safety_factor(xp: Any, v: dict, checks: SeriesInputs, target: str) -> Any:
    """Safety factor k (safety stock / sigma) for the target, inputs checked."""
    sigma = checks.check("sigma", v["sigma"], low=0.0)
    level = checks.check("service_level", v["service_level"], low=0.0, high=1.0, open_low=True, open_high=True)
    if target == "cycle_service_level":
        return normal_functions(xp)[1](level)
    if "order_quantity" not in v:
        raise DataValidationError.for_parameter("order_quantity", "required for a fill-rate target (the expected "
                                                                  "demand per replenishment cycle)")
    order = checks.check("order_quantity", v["order_quantity"], low=0.0, open_low=True)
    g = (1.0 - level) * order / xp.where(sigma > 0, sigma, 1.0)
    return xp.where(sigma > 0, inverse_loss(xp, g), 0.0)


def _service_args(target: str, order_quantity: Any) -> dict[str, Any]:
    panel.check_choice("target", target, TARGETS)
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
        Standard deviation of demand over lead time + review period (``ltd_std``), >= 0.
    service_level : float, array or str
        Target in (0, 1): alpha or beta according to ``target``.
    target : {"cycle_service_level", "fill_rate"}
        Required, so that every call says which service measure it means.
    order_quantity : float, array or str, optional
        Expected demand per replenishment cycle (fill-rate target only), > 0: the order
        quantity of an (s,Q)/(s,S) policy, mean demand over the review period of an (R,S) policy.
    data : frame, optional
        pandas, cuDF or Dask. When given, string arguments name its columns and a frame comes
        back with ``out_col``.
    out_col : str, optional
        Default ``"safety_stock_csl"`` or ``"safety_stock_fill_rate"``.

    Returns
    -------
    float, array or frame

    Raises
    ------
    DataValidationError
        An unknown target; a NaN, infinite or out-of-range input (naming its column or
        parameter and a few rows); a missing column; an empty frame.

    Examples
    --------
    >>> from toolkit.decisions.inventory import safety_stock
    >>> round(safety_stock(10.0, 0.95, target="cycle_service_level"), 2)
    16.45
    """
    args = {"sigma": sigma, "service_level": service_level, **_service_args(target, order_quantity)}
    out_col = out_col or ("safety_stock_csl" if target == "cycle_service_level" else "safety_stock_fill_rate")

    def kernel(xp, v, checks):
        return _safety_factor(xp, v, checks, target) * v["sigma"]

    return rowwise(data, out_col, kernel, args, INVENTORY_ID_COLS)


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
        Mean demand over lead time + review period (``ltd_mean``), >= 0.
    sigma, service_level, target, order_quantity, data
        As in :func:`safety_stock` (same checks, same non-finite policy: refused).
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
    args = {"mean": mean, "sigma": sigma, "service_level": service_level, **_service_args(target, order_quantity)}
    out_col = out_col or ("reorder_point_csl" if target == "cycle_service_level" else "reorder_point_fill_rate")

    def kernel(xp, v, checks):
        checks.check("mean", v["mean"], low=0.0)
        return v["mean"] + _safety_factor(xp, v, checks, target) * v["sigma"]

    return rowwise(data, out_col, kernel, args, INVENTORY_ID_COLS)


def _eoq_kernel(xp: Any, v: dict, checks: SeriesInputs) -> Any:
    checks.check("demand", v["demand"], low=0.0)
    checks.check("ordering_cost", v["ordering_cost"], low=0.0)
    checks.check("holding_cost", v["holding_cost"], low=0.0, open_low=True)
    return xp.sqrt(2.0 * v["ordering_cost"] * v["demand"] / v["holding_cost"])


def eoq(demand: Any, ordering_cost: Any, holding_cost: Any, *, data: Any = None, out_col: str = "eoq") -> Any:
    """Economic order quantity ``sqrt(2 K D / h)``.

    Parameters
    ----------
    demand : float, array or str
        Demand per period (e.g. a year), >= 0.
    ordering_cost : float, array or str
        Fixed cost ``K`` per order, >= 0.
    holding_cost : float, array or str
        Cost ``h`` of holding one unit for one period (same period as ``demand``), > 0.
    data, out_col
        As in :func:`safety_stock` (non-finite inputs are refused).

    Returns
    -------
    float, array or frame

    Examples
    --------
    >>> from toolkit.decisions.inventory import eoq
    >>> round(eoq(1300, 8, 0.225), 2)
    304.05
    """
    args = {"demand": demand, "ordering_cost": ordering_cost, "holding_cost": holding_cost}
    return rowwise(data, out_col, _eoq_kernel, args, INVENTORY_ID_COLS)


def _check_levels(levels: Sequence[float]) -> np.ndarray:
    try:
        lv = np.asarray(levels, dtype="float64")
    except (TypeError, ValueError):
        lv = np.empty(0)
    if lv.ndim != 1 or lv.size < 2 or not np.all(np.isfinite(lv)) or np.any(np.diff(lv) <= 0) \
            or np.any((lv <= 0) | (lv >= 1)):
        raise DataValidationError.for_parameter("levels", "must be at least 2 increasing probabilities in (0, 1)",
                                                levels if isinstance(levels, (list, tuple)) else ...)
    return lv


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
        ``(n, k)`` (or ``(k,)``) demand quantiles at ``levels``, non-negative and
        non-decreasing along ``k``; with ``data``, the names of its ``k`` quantile columns.
        NaN or infinite quantiles are refused (naming the column and rows).
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
    lv = _check_levels(levels)
    if data is None:
        if isinstance(quantiles, str) or (isinstance(quantiles, (list, tuple)) and quantiles
                                          and all(isinstance(q, str) for q in quantiles)):
            raise DataValidationError.for_parameter("quantiles", "column names need a frame (pass data=...)",
                                                    quantiles)
        xp = namespace_of(quantiles, underage_cost, overage_cost)
        checks = SeriesInputs(xp)
        q = checks.floats("quantiles", quantiles)
        result = _newsvendor(xp, q, lv, underage_cost, overage_cost, checks, "quantiles")
        return float(result) if result.ndim == 0 else result
    names = panel.as_list(quantiles, "quantiles")
    if len(names) != lv.size:
        raise DataValidationError.for_parameter("quantiles", f"{len(names)} columns for {lv.size} levels", names)
    panel.check_frame(data, "data")
    costs = [c for c in (underage_cost, overage_cost) if isinstance(c, str)]
    panel.require_columns(data, [*names, *costs], f"for {out_col}")
    panel.require_numeric(data, [*names, *costs], f"for {out_col}")
    panel.require_not_empty(data, f"to compute {out_col}")
    shown = [c for c in INVENTORY_ID_COLS if c in data.columns]
    return panel.per_partition(data, _newsvendor_frame, names=names, lv=lv, underage_cost=underage_cost,
                               overage_cost=overage_cost, out_col=out_col, shown=shown)


def _newsvendor_frame(data: Any, names: list, lv: np.ndarray, underage_cost: Any, overage_cost: Any, out_col: str,
                      shown: list) -> Any:
    xp = panel.namespace(data)
    n = len(data)
    columns = {k: v for k, v in (("underage_cost", underage_cost), ("overage_cost", overage_cost))
               if isinstance(v, str)}
    checks = SeriesInputs(xp, data, shown, {**columns, **{c: c for c in names}, "quantiles": ",".join(names)})
    columns_q = [checks.check(c, panel.values(data, c), low=0.0) for c in names]
    q = xp.stack(columns_q, axis=1) if n else xp.zeros((0, lv.size), dtype=xp.float64)
    costs = [panel.values(data, value) if isinstance(value, str) else value for value in (underage_cost, overage_cost)]
    return panel.assign(data, {out_col: _newsvendor(xp, q, lv, costs[0], costs[1], checks, ",".join(names))})


def _newsvendor(xp: Any, q: Any, lv: np.ndarray, underage_cost: Any, overage_cost: Any, checks: SeriesInputs,
                label: str) -> Any:
    squeeze = q.ndim == 1
    q = q[None, :] if squeeze else q
    if q.ndim != 2 or q.shape[1] != lv.size:
        raise DataValidationError.for_parameter("quantiles", f"expected {lv.size} quantiles per row (one per level), "
                                                             f"got shape {tuple(q.shape)}")
    n = q.shape[0]
    checks.check("quantiles", q, low=0.0)
    checks.refuse("quantiles", xp.any(q[:, 1:] < q[:, :-1], axis=1),
                  f"rows whose quantiles ({label}) decrease with the level")
    cu = checks.check("underage_cost", checks.floats("underage_cost", underage_cost, n), low=0.0, open_low=True)
    co = checks.check("overage_cost", checks.floats("overage_cost", overage_cost, n), low=0.0, open_low=True)
    ratio = cu / (cu + co)
    grid = xp.asarray(lv)
    outside = (ratio < grid[0]) | (ratio > grid[-1])
    if bool(xp.any(outside)):
        checks.reject("levels", f"critical ratios c_u / (c_u + c_o) outside the given levels [{lv[0]}, {lv[-1]}]; "
                                "give quantiles further into the tails", outside)
    j = xp.clip(xp.searchsorted(grid, ratio, side="right") - 1, 0, lv.size - 2)
    lo, hi = xp.take(grid, j), xp.take(grid, j + 1)
    q_lo = xp.take_along_axis(q, j[:, None], axis=1)[:, 0]
    q_hi = xp.take_along_axis(q, (j + 1)[:, None], axis=1)[:, 0]
    out = q_lo + (ratio - lo) / (hi - lo) * (q_hi - q_lo)
    return out[0] if squeeze else out
