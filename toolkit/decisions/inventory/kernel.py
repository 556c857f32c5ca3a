"""The policy simulation kernel: ``n`` inventories stepped day by day together, on arrays only.

No frames and no checks here: arrays of one namespace (NumPy or CuPy) in, arrays out. The
callers (:func:`~toolkit.decisions.inventory.simulate_policy`, the Q-learning agent, the
policy comparison) validate their inputs first.

A simulated day (where the issue is silent)
-------------------------------------------
receive what arrives -> review and order -> demand -> costs. Holding cost is charged per unit
on hand at the end of the day; shortage cost per unit of lost sales (lost-sales mode) or per
unit backordered at the end of each day (backorder mode, where the cost-optimal base-stock
level is the newsvendor quantile ``p/(p+h)`` of ``P``-day demand); ordering cost per order
placed. A *replenishment cycle* runs from one arrival to the next (for order-up-to policies
every review counts, even a zero order; for (s,S) only real orders); the cycle service level
is the share of complete cycles without a stock-out day; the fill rate is the demand met from
stock on hand over total demand; a stock-out day is a day with unmet demand.

Examples
--------
>>> import numpy as np
>>> from toolkit.decisions.inventory.kernel import simulate_arrays
>>> one = np.ones(1)
>>> kpi = simulate_arrays(np, np.array([[3.0, 3.0, 3.0]]), "base_stock", {"S": 6.0 * one}, np.ones(1, int),
...                       np.ones(1, int), 6.0 * one, False, one, 0 * one, 0 * one)
>>> float(kpi["fill_rate"][0]), float(kpi["orders_placed"][0])
(1.0, 2.0)
"""

from __future__ import annotations

from typing import Any

__all__ = ["KPIS", "POLICIES", "StockState", "order_quantity", "simulate_arrays", "tile"]

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


class StockState:
    """State of ``n`` inventories stepping through days together (simulation and Q-learning).

    Parameters
    ----------
    xp : array namespace
    lead_time : int64 array (n,)
    on_hand : float array (n,)
        Stock at the start, nothing on order.
    backorders : bool
    holding_cost, shortage_cost, ordering_cost : float arrays (n,) or floats
    """

    def __init__(self, xp: Any, lead_time: Any, on_hand: Any, backorders: bool, holding_cost: Any,
                 shortage_cost: Any, ordering_cost: Any):
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

    def position(self) -> Any:
        """Inventory position: net stock plus what is on order."""
        return self.net + self.on_order

    def receive(self, t: int) -> Any:
        """Book day ``t``'s arrivals; return which series see a cycle-starting arrival."""
        slot = t % self.slots
        arriving = self.pipe[:, slot]
        self.net = self.net + arriving
        self.on_order = self.on_order - arriving
        started = self.xp.asarray(self.events[:, slot], copy=True)
        self.pipe[:, slot] = 0.0
        self.events[:, slot] = False
        return started

    def place(self, t: int, quantity: Any, event: Any) -> Any:
        """Order ``quantity``; zero-lead-time orders arrive at once. Returns the immediate events."""
        xp = self.xp
        self.net = self.net + xp.where(self.now, quantity, 0.0)
        later = xp.where(self.now, 0.0, quantity)
        self.on_order = self.on_order + later
        slot = (t + self.lead) % self.slots
        self.pipe[self.rows, slot] += later
        self.events[self.rows, slot] |= event & ~self.now
        return event & self.now

    def serve(self, demand: Any) -> tuple[Any, Any, Any, Any]:
        """Meet demand from stock; returns (served, unmet, holding, shortage) for the day."""
        xp = self.xp
        served = xp.minimum(demand, xp.maximum(self.net, 0.0))
        unmet = demand - served
        self.net = self.net - (demand if self.backorders else served)
        holding = self.h * xp.maximum(self.net, 0.0)
        shortage = self.p * (xp.maximum(-self.net, 0.0) if self.backorders else unmet)
        return served, unmet, holding, shortage


def order_quantity(xp: Any, policy: str, params: dict, position: Any) -> Any:
    """What each series orders at a review, given its inventory position."""
    if policy in ("base_stock", "RS"):
        return xp.maximum(params["S"] - position, 0.0)
    if policy == "sS":
        return xp.where(position <= params["s"], params["S"] - position, 0.0)
    table, width = params["table"], params["bin_width"]
    state = xp.astype(xp.clip(xp.floor(position / width), 0, table.shape[1] - 1), xp.int64)
    return xp.take_along_axis(table, state[:, None], axis=1)[:, 0]


def tile(xp: Any, x: Any, times: int) -> Any:
    """``times`` copies of ``x`` stacked along the first axis (a batch of scenarios)."""
    return xp.concat([x] * times, axis=0)


def simulate_arrays(xp: Any, demand: Any, policy: str, params: dict, lead: Any, review: Any, on_hand: Any,
                    backorders: bool, h: Any, p: Any, k: Any, return_paths: bool = False) -> dict[str, Any]:
    """Simulate ``policy`` on ``(n, T)`` demand; every argument already checked and per series.

    ``params`` holds the policy's arrays (``S``; ``s`` and ``S``; ``table`` and ``bin_width``);
    for ``"sS"`` an optional boolean ``review_cycles`` marks rows whose cycles start at every
    review (order-up-to rows run as (s,S) with ``s = S``). Returns ``{kpi: (n,)}`` for
    :data:`KPIS`, plus ``*_path`` ``(n, T)`` arrays with ``return_paths``.
    """
    n, T = demand.shape
    stock = StockState(xp, lead, on_hand, backorders, h, p, k)
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
        quantity = xp.where(reviewing, order_quantity(xp, policy, params, stock.position()), 0.0)
        placed = quantity > 0
        if policy != "sS":
            event = reviewing
        elif "review_cycles" in params:
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
