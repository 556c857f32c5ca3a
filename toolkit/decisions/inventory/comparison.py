"""Policies side by side: the KPI table of :func:`compare_policies` and the service-cost frontier.

Both simulate several policies on the same held-out demand in one vectorised run of the
kernel (series tiled once per policy or target) and summarise the per-series KPIs into one
row per policy: ``cycle_service_level`` (mean over series that completed a cycle),
``fill_rate`` (pooled over series), ``stockout_days`` (mean per series) and sums of the rest.

Demand (training and held-out) must be finite and >= 0: a NaN day is refused naming the input
and the series (fill censored days first), since the simulation cannot step over it.

Examples
--------
>>> from toolkit.decisions.inventory.comparison import FRONTIER_POLICIES
>>> FRONTIER_POLICIES
('base_stock', 'RS', 'sS')
"""

from __future__ import annotations

from typing import Any, Mapping, Sequence

import numpy as np

from toolkit import panel
from toolkit.errors import DataValidationError
from toolkit.panel import frames
from toolkit.decisions.inventory.formulas import TARGETS, eoq, reorder_point, safety_stock
from toolkit.decisions.inventory.inputs import (
    INVENTORY_ID_COLS,
    SeriesInputs,
    dense_panel,
    is_frame,
    match_series,
    namespace_of,
    series_constant,
)
from toolkit.decisions.inventory.kernel import KPIS, simulate_arrays, tile
from toolkit.decisions.inventory.leadtime import lead_time_demand
from toolkit.decisions.inventory.qlearning import QLearningReplenisher
from toolkit.decisions.inventory.simulation import simulate_policy

__all__ = ["compare_policies", "service_cost_frontier", "summarise_policies", "FRONTIER_POLICIES"]

FRONTIER_POLICIES = ("base_stock", "RS", "sS")
_SUMMED = ("avg_on_hand", "orders_placed", "demand", "unmet_demand", "holding_cost", "shortage_cost",
           "ordering_cost", "total_cost")


def summarise_policies(xp: Any, details: Mapping[str, Mapping[str, Any]]) -> Any:
    """One row per policy from per-series KPI arrays (a pandas frame for NumPy, cuDF for CuPy)."""
    rows: dict[str, list] = {key: [] for key in ("policy", *KPIS)}
    for name, kpi in details.items():
        rows["policy"].append(name)
        csl = kpi["cycle_service_level"]
        seen = ~xp.isnan(csl)
        n_seen = max(int(xp.sum(xp.astype(seen, xp.int64))), 1)
        rows["cycle_service_level"].append(float(xp.sum(xp.where(seen, csl, 0.0))) / n_seen)
        demand = float(xp.sum(kpi["demand"]))
        rows["fill_rate"].append(1.0 - float(xp.sum(kpi["unmet_demand"])) / demand if demand > 0 else 1.0)
        rows["stockout_days"].append(float(xp.mean(kpi["stockout_days"])))
        for key in _SUMMED:
            rows[key].append(float(xp.sum(kpi[key])))
    return frames.new_frame(xp.zeros(0), rows)


def _tune_base_stock(xp, train, lead, mean, std, h, p, k, backorders, grid):
    """Per-series S minimising training cost over ``mean + z std`` for z in ``grid``, in one run."""
    n = train.shape[0]
    z = xp.asarray(np.asarray(grid, dtype="float64"))
    levels = xp.maximum(mean[None, :] + z[:, None] * std[None, :], 0.0)
    flat = xp.reshape(levels, (-1,))
    m = len(grid)
    kpi = simulate_arrays(xp, tile(xp, train, m), "base_stock", {"S": flat}, tile(xp, lead, m),
                          xp.ones(n * m, dtype=xp.int64), flat, backorders, tile(xp, h, m), tile(xp, p, m),
                          tile(xp, k, m))
    best = xp.argmin(xp.reshape(kpi["total_cost"], (m, n)), axis=0)
    return xp.take_along_axis(levels, best[None, :], axis=0)[0]


def _scalar_costs(review_period, service_level, holding_cost, shortage_cost, ordering_cost) -> tuple:
    return (panel.check_int("review_period", review_period, minimum=1),
            panel.check_number("service_level", service_level, 0.0, 1.0, low_open=True, high_open=True),
            panel.check_number("holding_cost", holding_cost, 0.0, low_open=True),
            panel.check_number("shortage_cost", shortage_cost, 0.0),
            panel.check_number("ordering_cost", ordering_cost, 0.0))


def _train_test(train, test, lead_time, ids, time_col, target_col):
    """Train and test demand as ``(n, T)`` arrays of the same series, checked; and the lead times."""
    if is_frame(train) or is_frame(test):
        panel.check_frame(train, "train", dask=False)
        panel.check_frame(test, "test", dask=False)
        tr = dense_panel(train, ids, time_col, target_col, complete=True, what="train")
        te = dense_panel(test, ids, time_col, target_col, complete=True, what="test")
        xp = tr.layout.xp
        te_values = xp.take(te.values, match_series(tr.keys, te.keys, ids, "test"), axis=0)
        columns = {"train": target_col, "test": target_col}
        if isinstance(lead_time, str):
            lead_time, columns["lead_time"] = series_constant(train, tr, lead_time), lead_time
        checks = SeriesInputs(xp, tr.keys, ids, columns)
        return checks, tr.values, te_values, lead_time
    xp = namespace_of(train, test, lead_time)
    checks = SeriesInputs(xp)
    return checks, checks.floats("train", train), checks.floats("test", test), lead_time


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
    id_cols: str | Sequence[str] = INVENTORY_ID_COLS,
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
        ``(n, T)`` daily demand (same series in the same order), or in-memory long panels
        (pandas or cuDF; compute a Dask frame first) holding the same series, each covering
        the same days. Finite and >= 0.
    lead_time : int, array or str
        Whole days >= 0; with frames a string names a column of ``train`` (one value per series).
    review_period : int >= 1
    service_level : float in (0, 1)
    holding_cost : float > 0 (the EOQ of the (s,S) policy divides by it)
    shortage_cost, ordering_cost : float >= 0
    backorders : bool
        See :func:`simulate_policy`.
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
        Frame column names (``id_cols`` defaults to :data:`INVENTORY_ID_COLS`).

    Returns
    -------
    frame (or (frame, dict))
        One row per policy: ``policy`` and the pooled KPIs (see the module docstring). A pandas
        frame for NumPy/pandas input, cuDF for CuPy/cuDF.

    Raises
    ------
    DataValidationError
        A Dask frame; NaN, infinite or negative demand; series that differ between ``train``
        and ``test``; a bad parameter (named).

    Examples
    --------
    >>> import numpy as np
    >>> from toolkit.decisions.inventory import compare_policies
    >>> rng = np.random.default_rng(0)
    >>> train, test = rng.poisson(6.0, (3, 300)).astype(float), rng.poisson(6.0, (3, 120)).astype(float)
    >>> table = compare_policies(train, test, 2, q_learning={"episodes": 20}, progress=False)
    >>> sorted(table["policy"])
    ['RS_csl', 'base_stock_csl', 'base_stock_tuned', 'q_learning', 'sS_csl']
    """
    review_period, service_level, h0, p0, k0 = _scalar_costs(review_period, service_level, holding_cost,
                                                             shortage_cost, ordering_cost)
    if q_learning is not None and not isinstance(q_learning, Mapping):
        raise DataValidationError.for_parameter("q_learning", "expected a dict of QLearningReplenisher parameters",
                                                type(q_learning).__name__)
    checks, tr, te, lead_time = _train_test(train, test, lead_time, panel.as_list(id_cols), time_col, target_col)
    xp = checks.xp
    if tr.ndim != 2 or te.ndim != 2 or tr.shape[0] != te.shape[0] or tr.shape[1] < 2 or te.shape[1] < 1:
        raise DataValidationError.for_parameter("test", f"train {tuple(tr.shape)} and test {tuple(te.shape)} must be "
                                                        "(series, days) with the same series")
    checks.check("train", tr, low=0.0)
    checks.check("test", te, low=0.0)
    n = tr.shape[0]
    lead = checks.whole_days("lead_time", checks.floats("lead_time", lead_time, n), 0)
    h, p, k = (xp.full(n, value, dtype=xp.float64) for value in (h0, p0, k0))
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
    agent = QLearningReplenisher(**{"holding_cost": h0, "shortage_cost": p0, "ordering_cost": k0,
                                    "backorders": bool(backorders), "random_state": random_state,
                                    "progress": progress, **(q_learning or {})})
    details["q_learning"] = agent.fit(tr, lead).simulate(te, initial_on_hand=tuned)
    levels = {"base_stock_tuned": tuned, "base_stock_csl": s_daily, "sS_csl": s_daily + lot, "RS_csl": s_periodic,
              "q_learning": xp.full(n, xp.nan, dtype=xp.float64)}
    for name, level in levels.items():
        details[name]["order_up_to"] = level
    table = summarise_policies(xp, details)
    return (table, details) if return_details else table


def service_cost_frontier(
    demand: Any,
    lead_time: Any,
    *,
    forecast: Any,
    errors: Any,
    service_levels: Sequence[float] = (0.8, 0.85, 0.9, 0.95, 0.975, 0.99),
    policies: Sequence[str] = FRONTIER_POLICIES,
    target: str = "cycle_service_level",
    review_period: int = 7,
    holding_cost: float = 1.0,
    shortage_cost: float = 10.0,
    ordering_cost: float = 0.0,
    backorders: bool = False,
) -> Any:
    """Cost and achieved service of each policy at each service target, on held-out demand.

    For every policy and target the levels come from :func:`lead_time_demand` (``forecast``
    and backtest ``errors``) and :func:`safety_stock`; all combinations are simulated on
    ``demand`` in one vectorised run (series tiled policy x target times).

    Parameters
    ----------
    demand : array, shape (n, T)
        Held-out daily demand to simulate on (finite, >= 0).
    lead_time : int or array
        Whole days >= 0 per series.
    forecast : array
        ``(n,)`` daily rate or ``(n, H)`` daily forecasts from the first held-out day.
    errors : array, shape (n, T_bt)
        Backtest errors ``actual - forecast`` (NaN = missing day; infinity refused).
    service_levels : sequence of float
        Targets in (0, 1).
    policies : sequence of {"base_stock", "RS", "sS"}
        ``base_stock`` reviews daily (``P = L + 1``); ``RS`` every ``review_period`` days;
        ``sS`` reviews daily with ``s`` the reorder point and ``S = s + EOQ``.
    target : {"cycle_service_level", "fill_rate"}
        Which measure ``service_levels`` are; for fill rate the expected demand per cycle is
        one day (base stock), ``review_period`` days (RS) or the EOQ (sS).
    review_period, holding_cost, shortage_cost, ordering_cost, backorders
        As in :func:`compare_policies` (scalars; ``holding_cost`` > 0 here, for the EOQ).

    Returns
    -------
    frame
        One row per (policy, target): ``policy``, ``service_target``, the pooled KPIs of
        :func:`compare_policies` and ``safety_stock`` (summed over series). pandas for NumPy
        input, cuDF for CuPy.

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
    target = panel.check_choice("target", target, TARGETS)
    names = [panel.check_choice("policies", name, FRONTIER_POLICIES) for name in panel.as_list(policies, "policies")]
    if not names:
        raise DataValidationError.for_parameter("policies", "name at least one policy", policies, FRONTIER_POLICIES)
    review_period = panel.check_int("review_period", review_period, minimum=1)
    h0 = panel.check_number("holding_cost", holding_cost, 0.0, low_open=True)
    p0 = panel.check_number("shortage_cost", shortage_cost, 0.0)
    k0 = panel.check_number("ordering_cost", ordering_cost, 0.0)
    try:
        levels = np.asarray(service_levels, dtype="float64")
    except (TypeError, ValueError):
        levels = np.empty(0)
    if levels.ndim != 1 or levels.size == 0 or np.any(~np.isfinite(levels) | (levels <= 0) | (levels >= 1)):
        raise DataValidationError.for_parameter("service_levels", "expected one or more targets in (0, 1)",
                                                service_levels if isinstance(service_levels, (list, tuple)) else ...)
    for name, value in (("demand", demand), ("forecast", forecast), ("errors", errors)):
        if is_frame(value):
            raise DataValidationError.for_parameter(name, "expected an array (this function takes (series, days) "
                                                          "arrays)", type(value).__name__)
    xp = namespace_of(demand, forecast, errors, lead_time)
    checks = SeriesInputs(xp)
    d = checks.floats("demand", demand)
    if d.ndim != 2:
        raise DataValidationError.for_parameter("demand", f"expected a 2-D (series, days) array, got {d.ndim}-D")
    checks.check("demand", d, low=0.0)
    n = d.shape[0]
    f, e = checks.floats("forecast", forecast), checks.floats("errors", errors)
    lead = checks.whole_days("lead_time", checks.floats("lead_time", lead_time, n), 0)
    rate = f if f.ndim == 1 else xp.mean(f, axis=1)
    h = xp.full(n, h0, dtype=xp.float64)
    k = xp.full(n, k0, dtype=xp.float64)
    lot = eoq(rate * 365.0, k, h * 365.0)
    blocks, labels = [], []
    for policy in names:
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
    kpi = simulate_arrays(xp, tile(xp, d, m), "sS", params, tile(xp, lead, m), review_all, S_all, bool(backorders),
                          tile(xp, h, m), xp.full(n * m, p0, dtype=xp.float64), tile(xp, k, m))
    details = {f"{policy}|{level}": {key: kpi[key][j * n:(j + 1) * n] for key in KPIS}
               for j, (policy, level) in enumerate(labels)}
    table = summarise_policies(xp, details)
    table = table.assign(policy=[p for p, _ in labels], service_target=[lv for _, lv in labels],
                         safety_stock=[float(xp.sum(b[4])) for b in blocks])
    return table[["policy", "service_target", *KPIS, "safety_stock"]]
