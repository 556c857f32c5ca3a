"""Budget allocation: a daily budget split between channels, and the node-level linear program.

* :func:`allocate_budget` splits a daily budget between channels on the fitted response
  curves of a :class:`~toolkit.decisions.marketing.MarketingMixModel` (SciPy's SLSQP, several
  starts, since Hill curves with shape > 1 are not concave).
* :func:`allocate_budget_lp` solves the linear-programming form over (sku, day, channel)
  nodes with HiGHS, optionally capped by the stock each sku has.

Non-finite values are refused: returns, capacities, units per spend and available stock must
be finite (capacities, units and stock also >= 0), named by column and a few rows. Nodes whose
stock key has no row in the inventory table are not limited by stock; how many there are is
reported in ``attrs["nodes_without_stock_row"]``.

Examples
--------
>>> import pandas as pd
>>> from toolkit.decisions.marketing import allocate_budget_lp
>>> nodes = pd.DataFrame({"roi": [3.0, 2.0, 1.0], "max_spend": [10.0, 10.0, 10.0]})
>>> allocate_budget_lp(nodes, total=15.0)["spend"].tolist()
[10.0, 5.0, 0.0]
"""

from __future__ import annotations

from typing import Any, Mapping, Sequence

import numpy as np
import pandas as pd
from sklearn.utils.validation import check_is_fitted

from toolkit import backend, panel
from toolkit.decisions.checks import require_non_negative
from toolkit.decisions.marketing.mmm import MarketingMixModel
from toolkit.errors import DataValidationError

__all__ = ["allocate_budget", "allocate_budget_lp"]


def _bounds_table(channels: list[str], total: float, bounds: Any) -> tuple[np.ndarray, np.ndarray]:
    low, high = np.zeros(len(channels)), np.full(len(channels), float(total))
    if bounds is not None:
        if not isinstance(bounds, Mapping):
            raise DataValidationError.for_parameter("bounds", "expected a mapping channel -> (low, high)",
                                                    type(bounds).__name__)
        for c, pair in bounds.items():
            if str(c) not in channels:
                raise DataValidationError.for_parameter("bounds", "unknown channel", c, channels)
            if isinstance(pair, (str, bytes)) or not hasattr(pair, "__len__") or len(pair) != 2:
                raise DataValidationError.for_parameter("bounds", f"channel {c!r} needs a (low, high) pair", pair)
            i = channels.index(str(c))
            lo, hi = pair
            low[i] = 0.0 if lo is None else panel.check_number("bounds", lo)
            high[i] = float(total) if hi is None else panel.check_number("bounds", hi)
    bad = (low < 0) | (high < low)
    if bad.any():
        raise DataValidationError.for_parameter("bounds", "each channel needs 0 <= low <= high; bad for "
                                                          f"{[channels[i] for i in np.flatnonzero(bad)]}")
    if low.sum() > total * (1 + 1e-12) or high.sum() < total * (1 - 1e-12):
        raise DataValidationError.for_parameter(
            "bounds", f"infeasible: the lower bounds sum to {low.sum():g} and the upper bounds to {high.sum():g}, so "
                      f"no split of the total {total:g} respects them")
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
        Daily budget (finite, > 0).
    bounds : mapping channel -> (low, high), optional
        Daily spend limits; ``None`` in a pair means no limit. A channel whose skus will stock
        out gets ``(0, 0)`` (see :func:`allocate_budget_lp` for the sku-level form).
    current : mapping channel -> daily spend, optional
        The split to compare with, matched by channel name (default: the fitted period's mean
        daily spend, scaled to ``total``).
    n_starts : int
        Starting points of the local search (>= 1).
    seed : int

    Returns
    -------
    pandas.DataFrame
        Indexed by channel: ``current``, ``optimal`` (daily spend), ``revenue_current``,
        ``revenue_optimal`` (daily media revenue), ``marginal_roi`` at the optimum.
        ``.attrs["uplift"]`` is the predicted extra revenue per day.

    Raises
    ------
    sklearn.exceptions.NotFittedError
        The model is neither fitted nor built from parameters.
    DataValidationError
        Infeasible bounds (lower bounds above the total, upper bounds below it), an unknown
        channel, a total that is not a finite number > 0.

    Examples
    --------
    >>> import pandas as pd
    >>> from toolkit.decisions.marketing import MarketingMixModel, allocate_budget
    >>> curves = pd.DataFrame({"decay": [0.0, 0.0], "half_sat": [100.0, 100.0], "shape": [1.0, 1.0],
    ...                        "beta": [500.0, 500.0]}, index=["web", "app"])
    >>> plan = allocate_budget(MarketingMixModel.from_params(curves), total=300.0)
    >>> plan["optimal"].round(2).tolist()
    [150.0, 150.0]
    """
    from scipy.optimize import minimize

    if not isinstance(model, MarketingMixModel):
        raise DataValidationError.for_parameter("model", "expected a MarketingMixModel", type(model).__name__)
    check_is_fitted(model, "params_")
    total = panel.check_number("total", total, 0.0, low_open=True)
    n_starts = panel.check_int("n_starts", n_starts, minimum=1)
    p = model.params_
    channels = list(p.index)
    low, high = _bounds_table(channels, total, bounds)
    scale = total

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
        current_vec = model.spend_vector(current, p)
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


def _stock_rows(host: pd.DataFrame, inventory: Any, keys: list[str], units_col: str, available_col: str
                ) -> tuple[Any, list[float], int]:
    """The stock constraints (sparse rows over nodes), their right-hand sides, and unmatched nodes."""
    from scipy import sparse

    panel.check_frame(inventory, "inventory", dask=False)
    purpose = "for the inventory constraint"
    panel.require_columns(host, [units_col, *keys], purpose)
    panel.require_columns(inventory, [*keys, available_col], purpose)
    panel.require_numeric(host, [units_col], purpose)
    panel.require_numeric(inventory, [available_col], purpose)
    inv = backend.to_host(inventory)
    n = len(host)
    require_non_negative(host, [units_col], keys, purpose)
    require_non_negative(inv, [available_col], keys, purpose)
    key_frame = host[keys].reset_index(drop=True).astype(str).assign(_node=np.arange(n))
    inv_keys = inv[keys].astype(str).reset_index(drop=True).assign(_k=np.arange(len(inv)))
    matched = key_frame.merge(inv_keys, on=keys, how="inner")
    unmatched = n - int(matched["_node"].nunique())
    if not len(matched):
        return None, [], unmatched
    units = host[units_col].to_numpy(dtype="float64")
    rows = sparse.csr_matrix((units[matched["_node"].to_numpy()], (matched["_k"].to_numpy(),
                                                                   matched["_node"].to_numpy())), shape=(len(inv), n))
    return rows, inv[available_col].to_numpy(dtype="float64").tolist(), unmatched


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
        One row per decision node with ``return_col`` (revenue per unit of spend, finite) and
        ``capacity_col`` (finite, >= 0); with ``inventory`` also ``units_col`` and ``stock_keys``.
    total : float
        Budget (finite, >= 0).
    inventory : frame, optional
        ``stock_keys`` + ``available_col`` (units the warehouse can ship, finite, >= 0). Nodes
        whose key is absent from it are not limited (counted in
        ``attrs["nodes_without_stock_row"]``).

    Returns
    -------
    frame
        ``nodes`` (same library, same rows) plus ``spend`` and ``revenue`` (``r * spend``);
        on pandas ``.attrs["objective"]`` holds the optimal total revenue and
        ``.attrs["nodes_without_stock_row"]`` the nodes no stock row limits.

    Raises
    ------
    DataValidationError
        Non-frame or Dask input, missing columns, non-finite returns, negative or non-finite
        capacity, units or stock, a negative budget.

    Examples
    --------
    >>> import pandas as pd
    >>> nodes = pd.DataFrame({"roi": [3.0, 2.0, 1.0], "max_spend": [10.0, 10.0, 10.0]})
    >>> allocate_budget_lp(nodes, total=15.0)["spend"].tolist()
    [10.0, 5.0, 0.0]
    """
    from scipy import sparse
    from scipy.optimize import linprog

    panel.check_frame(nodes, "nodes", dask=False)
    total = panel.check_number("total", total, 0.0)
    keys = panel.as_list(stock_keys, "stock_keys")
    purpose = "for the budget LP"
    panel.require_columns(nodes, [return_col, capacity_col], purpose)
    panel.require_numeric(nodes, [return_col, capacity_col], purpose)
    panel.require_not_empty(nodes, purpose)
    host = backend.to_host(nodes)
    panel.require_finite(host, [return_col], keys, allow_nan=False, purpose=purpose)
    require_non_negative(host, [capacity_col], keys, purpose)
    r = host[return_col].to_numpy(dtype="float64")
    cap = host[capacity_col].to_numpy(dtype="float64")
    n = len(host)
    rows, rhs, unmatched = [sparse.csr_matrix(np.ones((1, n)))], [total], 0
    if inventory is not None:
        stock, available, unmatched = _stock_rows(host, inventory, keys, units_col, available_col)
        if stock is not None:
            rows.append(stock)
            rhs += available
    res = linprog(-r, A_ub=sparse.vstack(rows).tocsr(), b_ub=np.asarray(rhs), bounds=np.column_stack([np.zeros(n), cap]),
                  method="highs")
    if res.status != 0:
        raise RuntimeError(f"HiGHS could not solve the budget LP: {res.message}")
    spend = np.clip(res.x, 0.0, cap)
    out = host.assign(spend=spend, revenue=r * spend)
    out.attrs["objective"] = float(-res.fun)
    out.attrs["nodes_without_stock_row"] = unmatched if inventory is not None else 0
    return panel.from_host(nodes, out)
