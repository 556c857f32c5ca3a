"""Replays of the generated supply chain with injected incidents: the events, their truth, warm monitors.

:func:`retail_scenario` cuts a :class:`~toolkit.datasets.RetailData` at a day: everything
before it is *history* (to warm the monitors), the following ``days`` (plus ``tail_hours`` of
the next day, so the last day's bucket closes) become *event streams* --

* ``orders``: each sales row's units split into order lines of about ``line_size`` units at
  uniform random times of its day (the generator has one order line per series and day);
* ``inventory``: each stock row as a count stamped at 23:59:59 of its day;
* ``shipments``: each shipment delivered in the window, stamped at a random hour (08-20 h) of
  its delivery day (``ship_date + actual_days``);

-- into which it injects incidents, each recorded in ``truth`` (``type``, keys, ``start``,
``end``): demand spikes (a burst of orders worth 3-6 usual days within an hour), demand drops
(90 % of a day's order lines of a busy series removed), inventory shrink (a count 30 % + 1
unit below the balance), carrier delays (a lane's deliveries from some hour on 3 days
later), plus malformed events (missing key, negative or non-numeric quantity, unreadable
time), events arriving out of order within the lateness, and events arriving beyond it.
An ``arrival_ts`` column says when each event reaches the system (the event time, or later).

:func:`warm_monitors` fits the three monitors on the scenario's history.

Examples
--------
>>> from toolkit.datasets import make_retail
>>> from toolkit.stream.scenario import TRUTH_KEYS, retail_scenario
>>> data = make_retail(n_skus=20, n_locations=4, n_days=90, seed=1, progress=False)
>>> sc = retail_scenario(data, seed=0)
>>> sorted(sc.events), bool(sc.truth["type"].isin(list(TRUTH_KEYS)).all())
(['inventory', 'orders', 'shipments'], True)
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from toolkit import panel
from toolkit.backend import to_host
from toolkit.errors import DataValidationError

__all__ = ["Scenario", "retail_scenario", "split_orders", "warm_monitors", "stockouts_after", "TRUTH_KEYS"]

_DAY = pd.Timedelta(days=1)
TRUTH_KEYS = {"demand_spike": ["sku", "location"], "demand_drop": ["sku", "location"],
              "shrink": ["sku", "warehouse"], "carrier_delay": ["carrier", "zone"]}
"""Key columns of each injected incident type (for :func:`toolkit.stream.evaluate_alerts`)."""


@dataclass
class Scenario:
    """A replay window of the generated data (see the module docstring).

    Attributes
    ----------
    history : dict
        ``sales``, ``inventory``, ``shipments`` (with ``delivered_date``) before ``start``.
    events : dict
        ``orders``, ``inventory``, ``shipments`` event frames with ``arrival_ts``.
    truth : pandas.DataFrame
        One row per injected incident: ``type``, ``start``, ``end`` and its key columns.
    warehouse_of : dict
        location -> warehouse.
    lead_times : dict
        sku -> supplier lead time (days).
    start, end : pandas.Timestamp
        The event window.
    malformed, late : int
        Malformed events injected; events injected to arrive beyond the lateness.
    """

    history: dict
    events: dict
    truth: pd.DataFrame
    warehouse_of: dict
    lead_times: dict
    start: pd.Timestamp
    end: pd.Timestamp
    malformed: int
    late: int

    @property
    def n_events(self) -> int:
        return sum(len(f) for f in self.events.values())


def split_orders(sales: pd.DataFrame, rng: np.random.Generator, line_size: float = 2.0) -> pd.DataFrame:
    """Order lines from daily sales rows: ``ceil(units / line_size)`` lines per row at random times of its day.

    Rows with missing, infinite, zero or negative units give no line; a row's lines add up to
    its units (integer units: whole-unit lines differing by at most one unit).

    Returns
    -------
    pandas.DataFrame
        ``sku``, ``location``, ``order_ts``, ``quantity`` (float64), sorted by ``order_ts``.
    """
    units = sales["units"].to_numpy(dtype=np.float64, na_value=np.nan)
    keep = np.flatnonzero(np.isfinite(units) & (units > 0))
    units = units[keep]
    lines = np.ceil(units / line_size).astype(np.int64)
    row = np.repeat(np.arange(keep.shape[0]), lines)
    within = np.arange(row.shape[0]) - np.repeat(np.cumsum(lines) - lines, lines)
    base = np.floor(units / lines)
    # the remainder, one unit per line from the first, its fraction (non-integer units) on the next line
    quantity = base[row] + np.clip((units - base * lines)[row] - within, 0.0, 1.0)
    days = sales["date"].to_numpy(dtype="datetime64[ns]")[keep][row]
    offsets = (rng.random(row.shape[0]) * 86_400e9).astype("timedelta64[ns]")
    out = pd.DataFrame({"sku": sales["sku"].to_numpy()[keep][row].astype(str),
                        "location": sales["location"].to_numpy()[keep][row].astype(str),
                        "order_ts": days + offsets, "quantity": quantity.astype(np.float64)})
    return out.sort_values("order_ts", kind="stable").reset_index(drop=True)


def _busy_series(history_sales: pd.DataFrame, minimum: float, n: int, rng: np.random.Generator) -> pd.DataFrame:
    med = history_sales.groupby(["sku", "location"], observed=True)["units"].median().reset_index()
    med = med[med["units"] >= minimum]
    take = min(n, len(med))
    return med.iloc[rng.choice(len(med), take, replace=False)] if take else med.iloc[:0]


def retail_scenario(data: Any, start: Any = None, days: int = 1, tail_hours: float = 2.0, seed: int = 0,
                    spikes: int = 6, drops: int = 3, shrinks: int = 4, delays: int = 1, malformed: int = 8,
                    late: int = 5, out_of_order: float = 0.05, line_size: float = 2.0,
                    lateness: Any = "1h") -> Scenario:
    """Cut ``data`` at ``start`` and build the event streams of the next ``days`` with incidents.

    Parameters
    ----------
    data : RetailData
        From :func:`toolkit.datasets.make_retail` (or :func:`~toolkit.datasets.load_parquet`).
    start : date-like, optional
        First replayed day (default: the last ``days`` days of the data, less one for the tail).
    days : int, default 1
    tail_hours : float, default 2
        Hours of the following day replayed too (the last day's bucket then closes).
    seed : int
    spikes, drops, shrinks, delays, malformed, late : int
        Incidents of each kind injected (spikes, drops and shrinks on the first day).
    out_of_order : float in [0, 1), default 0.05
        Share of order lines arriving up to half the lateness after their event time.
    line_size : float, default 2
        Mean units per order line.
    lateness : str, default "1h"
        The lateness the engine allows; late events arrive 30 min beyond it.

    Returns
    -------
    Scenario

    Raises
    ------
    DataValidationError
        Not generated data, a window outside the data, or a bad count.
    """
    tables = {}
    for name in ("sales", "inventory", "shipments", "locations", "products"):
        table = getattr(data, name, None)
        if table is None:
            raise DataValidationError.for_parameter("data", f"expected a RetailData with a {name!r} table",
                                                    type(data).__name__)
        tables[name] = to_host(table)
    days = panel.check_int("days", days, minimum=1)
    counts = {k: panel.check_int(k, v, minimum=0) for k, v in (("spikes", spikes), ("drops", drops),
                                                                  ("shrinks", shrinks), ("delays", delays),
                                                                  ("malformed", malformed), ("late", late))}
    out_of_order = panel.check_number("out_of_order", out_of_order, 0.0, 1.0, high_open=True)
    tail = pd.Timedelta(hours=panel.check_number("tail_hours", tail_hours, 0.0, 23.0))
    slack = pd.Timedelta(lateness)
    sales = tables["sales"]
    last_day = sales["date"].max()
    start = (last_day - days * _DAY) if start is None else pd.Timestamp(start).normalize()
    end = start + days * _DAY + tail
    if start <= sales["date"].min() + 28 * _DAY or end > last_day + _DAY:
        raise DataValidationError.for_parameter("start", "the window needs 28 days of history before it and must "
                                                         "lie within the data", str(start))
    rng = np.random.default_rng([seed, 15])
    history = {"sales": sales[sales["date"] < start].reset_index(drop=True)}
    window = sales[(sales["date"] >= start) & (sales["date"] < end)]
    orders = split_orders(window, rng, line_size)
    orders = orders[orders["order_ts"] < end].reset_index(drop=True)
    truth, orders = _inject_demand(orders, history["sales"], start, counts, rng)
    inv = tables["inventory"]
    history["inventory"] = inv[inv["date"] < start].reset_index(drop=True)
    counts_frame = inv[(inv["date"] >= start) & (inv["date"] < start + days * _DAY)].reset_index(drop=True)
    counts_frame = pd.DataFrame({"sku": counts_frame["sku"].astype(str), "warehouse": counts_frame["warehouse"].astype(str),
                                 "ts": counts_frame["date"] + pd.Timedelta(hours=23, minutes=59, seconds=59),
                                 **{c: counts_frame[c].astype(np.float64) for c in ("on_hand", "on_order", "receipts",
                                                                                    "units_sold")}})
    truth.append(_inject_shrink(counts_frame, start, counts["shrinks"], rng))
    ship = tables["shipments"].copy()
    ship["delivered_date"] = ship["ship_date"] + pd.to_timedelta(ship["actual_days"].astype(np.int64), unit="D")
    history["shipments"] = ship[ship["delivered_date"] < start].reset_index(drop=True)
    arrived = ship[(ship["delivered_date"] >= start) & (ship["delivered_date"] < end)]
    hours = pd.to_timedelta(8 + 12 * rng.random(len(arrived)), unit="h")
    deliveries = pd.DataFrame({"shipment_id": arrived["shipment_id"].to_numpy(),
                               "carrier": arrived["carrier"].astype(str).to_numpy(),
                               "zone": arrived["zone"].astype(str).to_numpy(),
                               "delivered_ts": (arrived["delivered_date"] + hours).to_numpy(),
                               "promised_days": arrived["promised_days"].astype(np.float64).to_numpy(),
                               "actual_days": arrived["actual_days"].astype(np.float64).to_numpy()})
    deliveries = deliveries[deliveries["delivered_ts"] < end].reset_index(drop=True)
    truth.append(_inject_delays(deliveries, start, counts["delays"], rng))
    events = {"orders": orders, "inventory": counts_frame, "shipments": deliveries}
    for frame, col in ((orders, "order_ts"), (counts_frame, "ts"), (deliveries, "delivered_ts")):
        frame["arrival_ts"] = frame[col]
    shift = rng.random(len(orders)) < out_of_order
    orders.loc[shift, "arrival_ts"] = orders.loc[shift, "order_ts"] + pd.to_timedelta(
        rng.random(int(shift.sum())) * slack.total_seconds() / 2, unit="s")
    events["orders"] = _inject_bad_orders(orders, start, end, days, counts["malformed"], counts["late"], slack, rng)
    truth.append(_generator_truth(to_host(data.truth) if getattr(data, "truth", None) is not None else None,
                                  start, start + days * _DAY, deliveries))
    locations = tables["locations"]
    return Scenario(history=history, events=events,
                    truth=pd.concat([t for t in truth if len(t)], ignore_index=True),
                    warehouse_of=dict(zip(locations["location"].astype(str), locations["warehouse"].astype(str))),
                    lead_times=dict(zip(tables["products"]["sku"].astype(str),
                                        tables["products"]["lead_time_days"].astype(float))),
                    start=start, end=end, malformed=counts["malformed"], late=counts["late"])


def _inject_demand(orders: pd.DataFrame, history: pd.DataFrame, start: pd.Timestamp, counts: dict,
                   rng: np.random.Generator) -> tuple[list, pd.DataFrame]:
    truth = []
    recent = history[history["date"] >= start - 28 * _DAY]
    drops = _busy_series(recent, 8.0, counts["drops"], rng)
    taken = set(zip(drops["sku"].astype(str), drops["location"].astype(str)))
    spikes = _busy_series(recent, 3.0, counts["spikes"] + len(drops), rng)
    spikes = spikes[[(a, b) not in taken for a, b in zip(spikes["sku"].astype(str), spikes["location"].astype(str))]]
    spikes = spikes.iloc[: counts["spikes"]]
    extra = []
    for row in spikes.itertuples(index=False):
        at = start + pd.Timedelta(hours=float(rng.uniform(6, 17)))
        units = max(8.0, float(np.round(row.units * rng.uniform(3, 6))))
        n = int(np.ceil(units / 2))
        times = at + pd.to_timedelta(np.sort(rng.random(n)) * 3600, unit="s")
        extra.append(pd.DataFrame({"sku": row.sku, "location": row.location, "order_ts": times,
                                   "quantity": np.full(n, units / n)}))
        truth.append({"type": "demand_spike", "sku": row.sku, "location": row.location, "start": times[0],
                      "end": start + _DAY})
    for row in drops.itertuples(index=False):
        mine = (orders["sku"] == row.sku) & (orders["location"] == row.location) & \
               (orders["order_ts"] >= start) & (orders["order_ts"] < start + _DAY)
        rows = np.flatnonzero(mine.to_numpy())
        orders = orders.drop(index=orders.index[rows[: int(np.ceil(0.9 * rows.shape[0]))]])
        truth.append({"type": "demand_drop", "sku": row.sku, "location": row.location, "start": start,
                      "end": start + _DAY})
    orders = pd.concat([orders, *extra], ignore_index=True).sort_values("order_ts", kind="stable")
    return [pd.DataFrame(truth)], orders.reset_index(drop=True)


def _generator_truth(truth: pd.DataFrame | None, start: pd.Timestamp, stop: pd.Timestamp,
                     deliveries: pd.DataFrame) -> pd.DataFrame:
    """The generator's own incidents in the window, as scenario truth (its sales spikes and drops,
    inventory shrink, and carrier delays by the lanes and times their shipments were delivered)."""
    if truth is None or not len(truth):
        return pd.DataFrame()
    day = truth["date"]
    inside = (day >= start) & (day < stop)
    rows = []
    sales = truth[inside & (truth["table"] == "sales") & truth["type"].isin(["demand_spike", "demand_drop"])]
    rows.append(pd.DataFrame({"type": sales["type"].astype(str), "sku": sales["sku"].astype(str),
                              "location": sales["location"].astype(str), "start": sales["date"],
                              "end": sales["date"] + _DAY}))
    shrink = truth[inside & (truth["type"] == "inventory_shrink")]
    end_of_day = shrink["date"] + pd.Timedelta(hours=23, minutes=59, seconds=59)
    rows.append(pd.DataFrame({"type": "shrink", "sku": shrink["sku"].astype(str),
                              "warehouse": shrink["warehouse"].astype(str), "start": end_of_day, "end": end_of_day}))
    late = truth[(truth["type"] == "carrier_delay") & truth["shipment_id"].notna()]
    if len(late):
        when = pd.Series(deliveries["delivered_ts"].to_numpy(), index=deliveries["shipment_id"].to_numpy())
        hit = late[late["shipment_id"].isin(when.index)]
        if len(hit):
            lanes = pd.DataFrame({"carrier": hit["carrier"].astype(str), "zone": hit["zone"].astype(str),
                                  "start": when.loc[hit["shipment_id"].to_numpy()].to_numpy()})
            first = lanes.groupby(["carrier", "zone"], as_index=False)["start"].min()
            first["type"], first["end"] = "carrier_delay", first["start"].dt.normalize() + _DAY
            rows.append(first)
    return pd.concat([r for r in rows if len(r)], ignore_index=True) if any(len(r) for r in rows) else pd.DataFrame()


def _inject_shrink(counts: pd.DataFrame, start: pd.Timestamp, n: int, rng: np.random.Generator) -> pd.DataFrame:
    first = np.flatnonzero(((counts["ts"] < start + _DAY) & (counts["on_hand"] >= 5)).to_numpy())
    rows = rng.choice(first, min(n, first.shape[0]), replace=False) if first.shape[0] else first
    lost = np.floor(counts.loc[rows, "on_hand"].to_numpy() * 0.3) + 1
    counts.loc[rows, "on_hand"] = counts.loc[rows, "on_hand"].to_numpy() - lost
    return pd.DataFrame({"type": "shrink", "sku": counts.loc[rows, "sku"].to_numpy(),
                         "warehouse": counts.loc[rows, "warehouse"].to_numpy(),
                         "start": counts.loc[rows, "ts"].to_numpy(), "end": counts.loc[rows, "ts"].to_numpy()})


def _inject_delays(deliveries: pd.DataFrame, start: pd.Timestamp, n: int, rng: np.random.Generator) -> pd.DataFrame:
    first_day = deliveries[deliveries["delivered_ts"] < start + _DAY]
    sizes = first_day.groupby(["carrier", "zone"]).size()
    lanes = sizes[sizes >= 8].index.tolist()
    picks = [lanes[i] for i in rng.choice(len(lanes), min(n, len(lanes)), replace=False)] if lanes else []
    rows = []
    for carrier, zone in picks:
        at = start + pd.Timedelta(hours=float(rng.uniform(9, 13)))
        hit = (deliveries["carrier"] == carrier) & (deliveries["zone"] == zone) & (deliveries["delivered_ts"] >= at) \
            & (deliveries["delivered_ts"] < start + _DAY)
        deliveries.loc[hit, "actual_days"] += 3.0
        if bool(hit.any()):
            rows.append({"type": "carrier_delay", "carrier": carrier, "zone": zone,
                         "start": deliveries.loc[hit, "delivered_ts"].min(), "end": start + _DAY})
    return pd.DataFrame(rows)


def _inject_bad_orders(orders: pd.DataFrame, start: pd.Timestamp, end: pd.Timestamp, days: int, malformed: int,
                       late: int, slack: pd.Timedelta, rng: np.random.Generator) -> pd.DataFrame:
    out = orders.astype({"sku": object, "quantity": object, "order_ts": object})
    bad = []
    kinds = ("missing_key", "negative", "text_quantity", "bad_time")
    for i in range(malformed):
        row = out.iloc[int(rng.integers(len(out)))].to_dict()
        kind = kinds[i % len(kinds)]
        if kind == "missing_key":
            row["sku"] = None
        elif kind == "negative":
            row["quantity"] = -3.0
        elif kind == "text_quantity":
            row["quantity"] = "three"
        else:
            row["order_ts"] = "yesterday-ish"
        bad.append(row)
    closed = start + days * _DAY  # the last full day closes once the watermark passes it + lateness
    for _ in range(late if end > closed + slack else 0):
        row = out.iloc[int(rng.integers(len(out)))].to_dict()
        row["order_ts"] = closed - pd.Timedelta(minutes=float(rng.uniform(5, 50)))
        row["arrival_ts"] = min(end - pd.Timedelta(minutes=1), closed + slack + pd.Timedelta(minutes=30))
        bad.append(row)
    if bad:
        out = pd.concat([out, pd.DataFrame(bad)], ignore_index=True)
    return out


def stockouts_after(data: Any, scenario: Scenario) -> pd.DataFrame:
    """Whether each (sku, warehouse) ran out of stock in the lead time after the replayed days.

    A stock-out is a day, after the last replayed day and within the sku's lead time, on which
    a location the warehouse serves started with no stock (``sales.stockout``): what a
    ``stockout_risk`` alert at the end of the replay predicts.

    Returns
    -------
    pandas.DataFrame
        ``sku``, ``warehouse``, ``stocked_out`` (bool), ``days_checked``.
    """
    sales = to_host(data.sales)
    first = scenario.start + int((scenario.end - scenario.start) // _DAY) * _DAY  # the day after the full days
    frame = pd.DataFrame({"sku": sales["sku"].astype(str), "location": sales["location"].astype(str),
                          "date": sales["date"], "stockout": sales["stockout"].astype(bool)})
    frame["warehouse"] = frame["location"].map(scenario.warehouse_of)
    lead = frame["sku"].map(scenario.lead_times).fillna(7.0)
    after = (frame["date"] >= first) & (frame["date"] < first + pd.to_timedelta(lead, "D"))
    out = frame[after].groupby(["sku", "warehouse"], as_index=False).agg(stocked_out=("stockout", "any"),
                                                                         days_checked=("date", "nunique"))
    return out


def warm_monitors(scenario: Scenario, method: str = "robust_z", lateness: Any = "1h", model: Any = None,
                  spec: Any = None) -> list:
    """Demand, inventory and carrier monitors fitted on the scenario's history.

    Returns
    -------
    list
        ``[DemandMonitor, InventoryMonitor, CarrierMonitor]``, ready for a
        :class:`~toolkit.stream.StreamEngine`.
    """
    from toolkit.stream.demand import DemandMonitor
    from toolkit.stream.inventory import InventoryMonitor
    from toolkit.stream.lanes import CarrierMonitor

    demand = DemandMonitor(spec=spec, method=method, lateness=lateness).fit(scenario.history["sales"], model=model)
    inventory = InventoryMonitor(lead_time=scenario.lead_times, warehouse_of=scenario.warehouse_of)
    inventory.fit(scenario.history["inventory"])
    carrier = CarrierMonitor(lateness=lateness).fit(scenario.history["shipments"], time_col="delivered_date")
    return [demand, inventory, carrier]
