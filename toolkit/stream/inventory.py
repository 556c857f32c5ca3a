"""Inventory monitor: stock counts and orders -> shrink, stock-out risk and a live reorder plan.

:class:`InventoryMonitor` reads stock-count events (:data:`~toolkit.stream.schema.INVENTORY`:
``on_hand`` and ``on_order`` after a period's ``receipts`` and ``units_sold``, per sku and
warehouse) and, through :meth:`InventoryMonitor.observe_orders`, the order lines of the
demand stream, so the position moves with every order, not only with the next count.

Per (sku, warehouse):

* **shrink** -- the balance of two consecutive counts, ``on_hand[t-1] + receipts[t] -
  units_sold[t] - on_hand[t]``, the definition of :func:`toolkit.anomaly.inventory_shrink`;
  stock that left without a sale beyond ``shrink_tolerance`` units is a ``shrink`` alert;
* **projected stock** -- the last count minus the units ordered since (orders stamped after
  the count, from the sku's locations served by the warehouse: ``warehouse_of``);
  ``position`` adds what is on order;
* **demand per day** -- from the demand monitor's forecasts summed over the warehouse's
  locations (:meth:`use_forecasts`, with their spread as variance), else an EWM of the counted
  ``units_sold`` (mean and variance, ``demand_alpha``);
* **reorder point** -- :func:`toolkit.decisions.inventory.reorder_point` with a
  cycle-service-level target over lead time + review period; the plan orders up to
  ``reorder point + cover_days`` of demand whenever the position is at or below it;
* **stock-out risk** -- a ``stockout_risk`` alert (at most one per series and day) when even
  the position (projected stock plus what is on order) does not cover the mean demand over
  the lead time: an order placed now arrives after the shelf is expected to run empty. (A
  position merely below the reorder point is the plan's ordinary ``"order"`` status.)

Stock-out risk is judged on the projected stock at the end of each micro-batch (the projection
only falls between two counts, so no crossing is missed) and at most once per series and day.
The engine applies a poll's counts before its orders, so the orders a count already includes
are not taken off again; a micro-batch that spans a count is judged after it. A stream replayed
so fast that one micro-batch spans hours therefore sees fewer intraday risks than a live one.

A count older than (or as old as) the last one applied is *stale*: it is handed back to the
engine, which reports it (a count describes the stock at its time; applying it after a newer
one would move the stock back).

Examples
--------
>>> import pandas as pd
>>> from toolkit.stream.inventory import InventoryMonitor
>>> hist = pd.DataFrame({"sku": "a", "warehouse": "W", "date": pd.date_range("2024-01-01", periods=3),
...                      "on_hand": [40.0, 35.0, 30.0], "on_order": 0.0, "units_sold": [5.0, 5.0, 5.0]})
>>> mon = InventoryMonitor(lead_time=3).fit(hist)
>>> mon.plan()[["on_hand", "demand_per_day", "status"]].to_dict("records")
[{'on_hand': 30.0, 'demand_per_day': 5.0, 'status': 'ok'}]
"""

from __future__ import annotations

from typing import Any, Mapping

import numpy as np
import pandas as pd

from toolkit import panel
from toolkit.decisions.inventory import reorder_point
from toolkit.errors import DataValidationError
from toolkit.stream.alerts import make_alerts
from toolkit.stream.keys import KeyRegistry
from toolkit.stream.schema import INVENTORY, EventSchema, ValidEvents, time_ns

__all__ = ["InventoryMonitor", "PLAN_COLUMNS"]

_DAY = 86_400 * 10**9
_NONE = np.iinfo(np.int64).min
PLAN_COLUMNS = ("on_hand", "sold_since_count", "projected_on_hand", "on_order", "position", "demand_per_day",
                "lead_time", "reorder_point", "order_up_to", "order_quantity", "status")
"""Columns of :meth:`InventoryMonitor.plan` after the key columns."""


class InventoryMonitor:
    """Shrink, stock-out risk and reorder plan per (sku, warehouse) (see the module docstring).

    Parameters
    ----------
    lead_time : float or mapping sku -> days, default 7
        Supplier lead time in days (a mapping may come from ``products.lead_time_days``;
        skus it lacks get ``default_lead_time``).
    review_period : float, default 1
        Days between order decisions.
    service_level : float in (0, 1), default 0.95
        Cycle service level of the reorder point.
    cover_days : float, default 14
        Days of demand an order adds on top of the reorder point.
    shrink_tolerance : float, default 0.5
    demand_alpha : float in (0, 1], default 0.2
        EWM weight of the latest counted sales (when no forecast is linked).
    warehouse_of : mapping location -> warehouse, optional
        Which warehouse serves each location (``locations`` table): needed to follow orders.
    default_lead_time : float, default 7
    schema : EventSchema, default INVENTORY
        Value columns: on_hand, on_order, receipts, units_sold.

    Raises
    ------
    DataValidationError
        A parameter out of range, or a lead-time mapping with a negative or non-finite value.
    """

    stream = "inventory"

    def __init__(self, lead_time: Any = 7.0, review_period: float = 1.0, service_level: float = 0.95,
                 cover_days: float = 14.0, shrink_tolerance: float = 0.5, demand_alpha: float = 0.2,
                 warehouse_of: Mapping[str, str] | None = None, default_lead_time: float = 7.0,
                 schema: EventSchema = INVENTORY):
        if not isinstance(schema, EventSchema) or len(schema.values) < 4 or len(schema.keys) != 2:
            raise DataValidationError.for_parameter("schema", "expected an EventSchema with (sku, warehouse) keys and "
                                                              "on_hand, on_order, receipts, units_sold values", schema)
        self.schema = schema
        self.stream = schema.name
        self.default_lead_time = panel.check_number("default_lead_time", default_lead_time, 0.0)
        if isinstance(lead_time, Mapping):
            self.lead_times = {str(k): panel.check_number("lead_time", v, 0.0) for k, v in lead_time.items()}
        else:
            self.default_lead_time = panel.check_number("lead_time", lead_time, 0.0)
            self.lead_times = {}
        self.review_period = panel.check_number("review_period", review_period, 0.0)
        self.service_level = panel.check_number("service_level", service_level, 0.0, 1.0, low_open=True,
                                                high_open=True)
        self.cover_days = panel.check_number("cover_days", cover_days, 0.0)
        self.shrink_tolerance = panel.check_number("shrink_tolerance", shrink_tolerance, 0.0)
        self.demand_alpha = panel.check_number("demand_alpha", demand_alpha, 0.0, 1.0, low_open=True)
        if warehouse_of is not None and not isinstance(warehouse_of, Mapping):
            raise DataValidationError.for_parameter("warehouse_of", "expected a mapping location -> warehouse",
                                                    type(warehouse_of).__name__)
        self.warehouse_of = None if warehouse_of is None else {str(k): str(v) for k, v in warehouse_of.items()}
        self.registry = KeyRegistry(schema.keys)
        self.capacity = 0
        self.arrays: dict[str, np.ndarray] = {}
        self._link = np.zeros(0, dtype=np.int64)  # demand slot -> inventory slot (-1 unknown)
        self._link_seen = 0
        self._ensure(1)

    _FIELDS = {"last_ts": (np.int64, _NONE), "on_hand": (np.float64, np.nan), "on_order": (np.float64, 0.0),
               "sold_since": (np.float64, 0.0), "demand_mean": (np.float64, np.nan),
               "demand_var": (np.float64, np.nan), "from_forecast": (np.bool_, False), "lead": (np.float64, np.nan),
               "rop": (np.float64, np.nan), "alerted_day": (np.int64, _NONE), "events": (np.int64, 0)}

    def _ensure(self, n: int) -> None:
        if n > self.capacity:
            new = max(n, 2 * self.capacity, 16)
            for name, (dtype, init) in self._FIELDS.items():
                arr = np.full(new, init, dtype=dtype)
                if name in self.arrays:
                    arr[: self.capacity] = self.arrays[name]
                self.arrays[name] = arr
            self.capacity = new
        lead = self.arrays["lead"]
        fresh = np.flatnonzero(np.isnan(lead[: self.registry.n]))
        if fresh.shape[0]:
            skus = self.registry.labels(fresh)[self.schema.keys[0]]
            lead[fresh] = [self.lead_times.get(s, self.default_lead_time) for s in skus.tolist()]

    # ----------------------------------------------------------------- warm start
    def fit(self, history: Any, time_col: str = "date", window: int = 28) -> "InventoryMonitor":
        """Warm start from past counts (e.g. the ``inventory`` table): the last count of each series
        (stamped at the end of its day) and the mean and variance of its last ``window`` days of sales.

        Returns
        -------
        self

        Raises
        ------
        DataValidationError
            Not a pandas frame, missing or non-numeric columns, missing keys or dates, infinite
            or negative stock figures.
        """
        keys = list(self.schema.keys)
        on_hand, on_order, _, sold = self.schema.values[:4]
        panel.check_frame(history, "history", dask=False)
        panel.require_columns(history, [*keys, time_col, on_hand, on_order, sold], "to warm the inventory monitor")
        panel.require_numeric(history, [on_hand, on_order, sold], "to warm the inventory monitor")
        panel.require_datetime(history, time_col)
        panel.require_not_null(history, [*keys, time_col], keys, "to place history rows")
        panel.require_finite(history, [on_hand, on_order, sold], keys, allow_nan=False,
                             purpose="to warm the inventory monitor")
        frame = pd.DataFrame({**{k: history[k].astype(str).to_numpy() for k in keys},
                              "_t": time_ns(history[time_col]) + _DAY - 1,
                              "_oh": panel.values(history, on_hand), "_oo": panel.values(history, on_order),
                              "_s": panel.values(history, sold)}).sort_values("_t", kind="stable")
        last = frame.groupby(keys, sort=False).tail(1)
        recent = frame.groupby(keys, sort=False).tail(int(window)).groupby(keys, sort=False)["_s"]
        stats = pd.DataFrame({"mean": recent.mean(), "var": recent.var(ddof=0)}).reset_index()
        slots = self.registry.slots({k: last[k].to_numpy() for k in keys})
        self._ensure(self.registry.n)
        a = self.arrays
        a["last_ts"][slots] = last["_t"].to_numpy()
        a["on_hand"][slots] = last["_oh"].to_numpy()
        a["on_order"][slots] = last["_oo"].to_numpy()
        a["sold_since"][slots] = 0.0
        stat_slots = self.registry.slots({k: stats[k].to_numpy() for k in keys})
        a["demand_mean"][stat_slots] = stats["mean"].to_numpy()
        a["demand_var"][stat_slots] = stats["var"].to_numpy()
        self._plan_rows(np.arange(self.registry.n))
        return self

    # ----------------------------------------------------------------- events
    def apply(self, events: ValidEvents) -> tuple[list[pd.DataFrame], np.ndarray]:
        """Apply stock counts; returns (alerts, stale mask over ``events``)."""
        self._ensure(self.registry.n)
        a = self.arrays
        order = np.lexsort((events.time, events.slots))
        s, t = events.slots[order], events.time[order]
        head = np.r_[True, s[1:] != s[:-1]] if s.shape[0] else np.zeros(0, dtype=bool)
        stale_sorted = (t <= a["last_ts"][s]) | (~head & (t == np.r_[_NONE, t[:-1]]))
        stale = np.zeros(len(events), dtype=bool)
        stale[order] = stale_sorted
        good = order[~stale_sorted]
        if good.shape[0] == 0:
            return [], stale
        s, t, v, arrival = events.slots[good], events.time[good], events.values[good], events.arrival[good]
        on_hand, on_order, receipts, sold = v[:, 0], v[:, 1], v[:, 2], v[:, 3]
        head = np.r_[True, s[1:] != s[:-1]]
        tail = np.r_[s[1:] != s[:-1], True]
        previous = np.where(head, a["on_hand"][s], np.r_[np.nan, on_hand[:-1]])
        shrink = previous + receipts - sold - on_hand
        alerts = []
        hit = np.flatnonzero(np.isfinite(shrink) & (shrink > self.shrink_tolerance))
        if hit.shape[0]:
            alerts.append(self._shrink_alerts(s[hit], t[hit], shrink[hit], previous[hit] + receipts[hit] - sold[hit],
                                              on_hand[hit], arrival[hit]))
        a["events"][: self.registry.n] += np.bincount(s, minlength=self.registry.n)
        self._learn_demand(s, sold, head)
        last = np.flatnonzero(tail)
        slots = s[last]
        a["on_hand"][slots] = on_hand[last]
        a["on_order"][slots] = on_order[last]
        a["last_ts"][slots] = t[last]
        a["sold_since"][slots] = 0.0
        alerts += self._check_stock(slots, t[last], arrival[last])
        return alerts, stale

    def _learn_demand(self, slots: np.ndarray, sold: np.ndarray, head: np.ndarray) -> None:
        """EWM mean and variance of counted sales, in time order within each series (rounds by rank)."""
        a = self.arrays
        starts = np.flatnonzero(head)
        rank = np.arange(slots.shape[0]) - np.repeat(starts, np.diff(np.r_[starts, slots.shape[0]]))
        w = self.demand_alpha
        for r in range(int(rank.max()) + 1 if rank.shape[0] else 0):
            rows = np.flatnonzero((rank == r) & ~a["from_forecast"][slots])
            k, x = slots[rows], sold[rows]
            mean, var = a["demand_mean"][k], a["demand_var"][k]
            fresh = np.isnan(mean)
            diff = x - np.where(fresh, x, mean)
            a["demand_mean"][k] = np.where(fresh, x, mean + w * diff)
            a["demand_var"][k] = np.where(fresh, x, (1.0 - w) * (var + w * diff * diff))

    def inventory_slots(self, demand_registry: KeyRegistry, demand_slots: np.ndarray) -> np.ndarray:
        """Inventory slot of each demand slot (sku, location) through ``warehouse_of``; -1 when unknown."""
        n_demand = demand_registry.n
        if self.warehouse_of is None:
            return np.full(demand_slots.shape[0], -1, dtype=np.int64)
        if self._link.shape[0] < n_demand or self._link_seen < self.registry.n:
            todo = np.arange(n_demand)
            labels = demand_registry.labels(todo)
            sku, location = (labels[c] for c in demand_registry.key_cols[:2])
            warehouse = pd.Series(location).map(self.warehouse_of).to_numpy(dtype=object)
            known = pd.notna(warehouse)
            link = np.full(n_demand, -1, dtype=np.int64)
            if bool(known.any()):
                link[known] = self.registry.slots({self.schema.keys[0]: sku[known],
                                                   self.schema.keys[1]: warehouse[known]}, register=False)
            self._link, self._link_seen = link, self.registry.n
        return self._link[demand_slots]

    def observe_orders(self, demand_registry: KeyRegistry, events: ValidEvents) -> list[pd.DataFrame]:
        """Take order lines of the demand stream off the projected stock; alerts on stock-out risk."""
        if self.warehouse_of is None or len(events) == 0:
            return []
        a = self.arrays
        slots = self.inventory_slots(demand_registry, events.slots)
        known = slots >= 0
        known[known] = events.time[known] > a["last_ts"][slots[known]]
        if not bool(known.any()):
            return []
        k, t, arrival = slots[known], events.time[known], events.arrival[known]
        n = self.registry.n
        a["sold_since"][:n] += np.bincount(k, weights=events.values[known, 0], minlength=n)
        touched = np.unique(k)
        last_t = np.full(n, _NONE)
        np.maximum.at(last_t, k, t)
        first_arrival = np.full(n, np.inf)
        np.minimum.at(first_arrival, k, arrival)
        return self._check_stock(touched, last_t[touched], first_arrival[touched])

    def use_forecasts(self, demand_registry: KeyRegistry, forecast: np.ndarray, scale: np.ndarray,
                      buckets_per_day: float) -> None:
        """Demand per day from the demand monitor's forecasts (per bucket) summed per warehouse."""
        n_demand = demand_registry.n
        inv = self.inventory_slots(demand_registry, np.arange(n_demand))
        ok = (inv >= 0) & np.isfinite(forecast[:n_demand]) & np.isfinite(scale[:n_demand])
        if not bool(ok.any()):
            return
        n = self.registry.n
        mean = np.bincount(inv[ok], weights=forecast[:n_demand][ok] * buckets_per_day, minlength=n)
        var = np.bincount(inv[ok], weights=scale[:n_demand][ok] ** 2 * buckets_per_day, minlength=n)
        linked = np.bincount(inv[ok], minlength=n) > 0
        a = self.arrays
        a["demand_mean"][:n] = np.where(linked, mean, a["demand_mean"][:n])
        a["demand_var"][:n] = np.where(linked, var, a["demand_var"][:n])
        a["from_forecast"][:n] |= linked
        self._plan_rows(np.flatnonzero(linked))

    # ----------------------------------------------------------------- the plan
    def _plan_rows(self, slots: np.ndarray) -> dict[str, np.ndarray]:
        """Reorder point, order-up-to level and order quantity of ``slots`` (reorder points stored)."""
        a = self.arrays
        projected = a["on_hand"][slots] - a["sold_since"][slots]
        position = projected + a["on_order"][slots]
        mean, var, lead = a["demand_mean"][slots], a["demand_var"][slots], a["lead"][slots]
        cover = lead + self.review_period
        ok = np.isfinite(mean) & np.isfinite(var) & np.isfinite(position)
        rop = np.full(slots.shape[0], np.nan)
        if bool(ok.any()):
            rop[ok] = reorder_point(np.maximum(mean[ok], 0.0) * cover[ok], np.sqrt(np.maximum(var[ok], 0.0) * cover[ok]),
                                    self.service_level, target="cycle_service_level")
        a["rop"][slots] = rop
        up_to = rop + mean * self.cover_days
        order = np.where(ok & (position <= rop), np.ceil(np.maximum(up_to - position, 0.0)), 0.0)
        return {"projected": projected, "position": position, "mean": mean, "var": var, "lead": lead, "rop": rop,
                "up_to": up_to, "order": order, "ok": ok}

    def _check_stock(self, slots: np.ndarray, times: np.ndarray, arrival: np.ndarray) -> list[pd.DataFrame]:
        plan = self._plan_rows(slots)
        need = plan["mean"] * plan["lead"]
        risk = plan["ok"] & (plan["position"] < need)
        day = times // _DAY
        risk &= self.arrays["alerted_day"][slots] != day
        hit = np.flatnonzero(risk)
        if hit.shape[0] == 0:
            return []
        self.arrays["alerted_day"][slots[hit]] = day[hit]
        spread = np.sqrt(np.maximum(plan["var"][hit] * plan["lead"][hit], 1e-12))
        score = (need[hit] - plan["position"][hit]) / spread
        reason = [f"position {q:.0f} (projected on hand {p:.0f}) covers {q / max(m, 1e-9):.1f} days of {m:.1f}/day, "
                  f"lead time {lt:g} days; reorder point {r:.0f}: order {o:.0f}"
                  for p, m, lt, q, r, o in zip(plan["projected"][hit].tolist(), plan["mean"][hit].tolist(),
                                               plan["lead"][hit].tolist(), plan["position"][hit].tolist(),
                                               plan["rop"][hit].tolist(), plan["order"][hit].tolist())]
        return [make_alerts("stockout_risk", self.stream, self.registry.labels(slots[hit]), event_time=times[hit],
                            score=score, value=plan["position"][hit], expected=need[hit], reason=reason,
                            bucket=day[hit], arrival=arrival[hit])]

    def _shrink_alerts(self, slots: np.ndarray, times: np.ndarray, shrink: np.ndarray, expected: np.ndarray,
                       counted: np.ndarray, arrival: np.ndarray) -> pd.DataFrame:
        reason = [f"{x:g} units missing: counted {c:g}, expected {e:g} from the last count, receipts and sales"
                  for x, c, e in zip(shrink.tolist(), counted.tolist(), expected.tolist())]
        return make_alerts("shrink", self.stream, self.registry.labels(slots), event_time=times, score=shrink,
                           value=counted, expected=expected, reason=reason, bucket=times // _DAY, arrival=arrival)

    def plan(self) -> pd.DataFrame:
        """The live reorder plan: one row per (sku, warehouse) with :data:`PLAN_COLUMNS`.

        ``status`` is ``"order"`` (position at or below the reorder point), ``"ok"``, or
        ``"unknown"`` (no count or no demand estimate yet).
        """
        n = self.registry.n
        slots = np.arange(n)
        rows = self._plan_rows(slots)
        frame = self.registry.frame(slots)
        a = self.arrays
        frame["on_hand"] = a["on_hand"][:n]
        frame["sold_since_count"] = a["sold_since"][:n]
        frame["projected_on_hand"] = rows["projected"]
        frame["on_order"] = a["on_order"][:n]
        frame["position"] = rows["position"]
        frame["demand_per_day"] = rows["mean"]
        frame["lead_time"] = rows["lead"]
        frame["reorder_point"] = rows["rop"]
        frame["order_up_to"] = rows["up_to"]
        frame["order_quantity"] = rows["order"]
        frame["status"] = np.where(~rows["ok"], "unknown", np.where(rows["order"] > 0, "order", "ok"))
        return frame

    def totals(self) -> pd.DataFrame:
        """Per series: keys and the number of counts applied (since the engine started)."""
        frame = self.registry.frame(np.arange(self.registry.n))
        frame["events"] = self.arrays["events"][: self.registry.n]
        return frame

    # ----------------------------------------------------------------- checkpoints
    def state_dict(self) -> dict[str, Any]:
        state = {f"inv:{k}": v for k, v in self.arrays.items()}
        state.update({f"key:{k}": v for k, v in self.registry.state_dict().items()})
        return state

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        """Restore a state saved by :meth:`state_dict`.

        Raises
        ------
        DataValidationError
            The saved state has other arrays.
        """
        saved = {k[4:]: np.asarray(v) for k, v in state.items() if k.startswith("inv:")}
        if set(saved) != set(self._FIELDS):
            raise DataValidationError.for_parameter("state", "saved inventory state has other arrays",
                                                    sorted(set(saved) ^ set(self._FIELDS)))
        self.registry.load_state_dict({k[4:]: v for k, v in state.items() if k.startswith("key:")})
        self.arrays = {k: v.copy() for k, v in saved.items()}
        self.capacity = int(saved["last_ts"].shape[0])
        self._link, self._link_seen = np.zeros(0, dtype=np.int64), 0
