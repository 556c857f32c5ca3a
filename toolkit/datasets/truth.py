"""Injected anomalies and the ``truth`` table that records each of them.

Every anomaly the generator injects is one row of ``truth``: its table, its type and the keys
that find it (sku, location, warehouse, carrier, channel, zone, date, order or shipment id),
plus a magnitude (the factor of a spike, the extra days of a delay...). Keys that do not
apply to a type are missing. The types:

* ``sales``: ``demand_spike`` (units x 3-6 on a fully served day), ``demand_drop`` (units x
  0-0.15), ``missing_value`` (units NaN);
* ``orders``: ``negative_quantity``, ``missing_value`` (unit price NaN), ``duplicated_order``
  (the line repeated);
* ``shipments``: ``carrier_delay`` (a lane, carrier x zone, late by 2-4 extra days for 3-6 days);
* ``inventory``: ``inventory_shrink`` (stock lost, drawn inside the inventory simulation);
* ``marketing``: ``click_fraud`` (clicks x 3-8 + 50 on a channel-day).

Examples
--------
>>> from toolkit.datasets.truth import truth_frame
>>> truth_frame("sales", "demand_spike", 0).columns.tolist()[:4]
['table', 'type', 'sku', 'location']
"""

from __future__ import annotations

from typing import Any, Callable

import numpy as np
import pandas as pd

from toolkit.datasets.world import CARRIERS

__all__ = ["TRUTH_COLUMNS", "truth_frame", "carrier_incidents", "inject_sales_anomalies", "inject_order_anomalies",
           "inject_click_fraud"]

TRUTH_COLUMNS = {
    "table": "str",
    "type": "str",
    "sku": "str",
    "location": "str",
    "warehouse": "str",
    "carrier": "str",
    "channel": "str",
    "zone": "Int8",
    "date": "datetime64[ns]",
    "order_id": "Int64",
    "shipment_id": "Int64",
    "magnitude": "float64",
}
"""The columns of ``truth`` and their dtypes."""


def truth_frame(table: str, kind: str, n: int, **columns: Any) -> pd.DataFrame:
    """``n`` truth rows of one anomaly type; ``columns`` gives the keys that apply (others missing)."""
    frame = pd.DataFrame({"table": pd.Series([table] * n, dtype="str"), "type": pd.Series([kind] * n, dtype="str")})
    for name, dtype in TRUTH_COLUMNS.items():
        if name in ("table", "type"):
            continue
        values = columns.get(name)
        if values is None:
            frame[name] = pd.Series([pd.NA] * n, dtype=dtype) if dtype != "datetime64[ns]" else pd.NaT
            frame[name] = frame[name].astype(dtype)
        else:
            frame[name] = pd.Series(np.asarray(values)).astype(dtype)
    return frame


def carrier_incidents(rng: np.random.Generator, dates: pd.DatetimeIndex) -> list[tuple[int, int, int, int, float]]:
    """(carrier, zone, first day index, n days, extra days) of each lane delay incident."""
    n = max(2, len(dates) // 60)
    incidents = []
    for _ in range(n):
        first = int(rng.integers(0, max(1, len(dates) - 7)))
        incidents.append((int(rng.integers(0, len(CARRIERS))), int(rng.integers(1, 9)), first,
                          int(rng.integers(3, 7)), float(rng.integers(2, 5))))
    return incidents


KeysOf = Callable[[np.ndarray], dict]
"""``keys_of(rows)``: the truth keys (``sku``, ``location``, ``date``...) of row numbers ``rows``."""


def inject_sales_anomalies(rng: np.random.Generator, units: np.ndarray, demand: np.ndarray, anomaly_rate: float,
                           keys_of: KeysOf) -> list[pd.DataFrame]:
    """Spikes and drops on rows with clear, fully served sales; missing values anywhere.

    ``units`` is changed in place. Returns the truth frames of the three types.
    """
    n_rows = units.size
    n_anom = rng.binomial(n_rows, anomaly_rate) if anomaly_rate > 0 else 0
    served = units == demand  # anomalies go on fully served days, not censored ones
    candidates = np.flatnonzero((units >= 4) & served)
    n_spike = min(int(n_anom * 0.4), candidates.size)
    spike_rows = np.sort(rng.choice(candidates, n_spike, replace=False)) if n_spike else np.array([], int)
    taken = np.zeros(n_rows, dtype=bool)
    taken[spike_rows] = True
    drop_pool = np.flatnonzero((units >= 8) & served & ~taken)
    n_drop = min(int(n_anom * 0.3), drop_pool.size)
    drop_rows = np.sort(rng.choice(drop_pool, n_drop, replace=False)) if n_drop else np.array([], int)
    taken[drop_rows] = True
    n_missing = int(n_anom) - n_spike - n_drop
    miss_pool = np.flatnonzero(~taken)
    missing_rows = np.sort(rng.choice(miss_pool, min(n_missing, miss_pool.size), replace=False))
    spike_factor = rng.uniform(3.0, 6.0, spike_rows.size)
    units[spike_rows] = np.round(units[spike_rows] * spike_factor)
    drop_factor = rng.uniform(0.0, 0.15, drop_rows.size)
    units[drop_rows] = np.floor(units[drop_rows] * drop_factor)
    units[missing_rows] = np.nan
    return [truth_frame("sales", kind, rows.size, **keys_of(rows),
                        magnitude=mag if mag is not None else np.full(rows.size, np.nan))
            for kind, rows, mag in (("demand_spike", spike_rows, spike_factor),
                                    ("demand_drop", drop_rows, drop_factor),
                                    ("missing_value", missing_rows, None))]


def inject_order_anomalies(rng: np.random.Generator, orders: pd.DataFrame, anomaly_rate: float, keys_of: KeysOf
                           ) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Negative quantities, missing unit prices and duplicated lines, a third each.

    Returns the orders (sorted by ``order_id``, duplicates next to their original) and
    their truth rows.
    """
    n = len(orders)
    n_anom = rng.binomial(n, anomaly_rate) if (anomaly_rate > 0 and n) else 0
    picks = rng.choice(n, min(n, int(n_anom)), replace=False) if n_anom else np.array([], int)
    neg, miss, dup = np.array_split(picks, 3)
    qty = orders["quantity"].to_numpy().copy()
    qty[neg] = -np.maximum(qty[neg], 1)
    orders["quantity"] = qty
    price = orders["unit_price"].to_numpy().copy()
    price[miss] = np.nan
    orders["unit_price"] = price
    order_id = orders["order_id"].to_numpy()
    dup = np.sort(dup)
    if dup.size:
        orders = pd.concat([orders, orders.iloc[dup]], ignore_index=True)
        orders = orders.sort_values("order_id", kind="stable").reset_index(drop=True)

    def keyed(kind: str, rows: np.ndarray) -> pd.DataFrame:
        return truth_frame("orders", kind, rows.size, **keys_of(rows), order_id=order_id[rows],
                           magnitude=np.full(rows.size, np.nan))

    truth = pd.concat([keyed("negative_quantity", np.sort(neg)), keyed("missing_value", np.sort(miss)),
                       keyed("duplicated_order", dup)], ignore_index=True)
    return orders, truth


def inject_click_fraud(rng: np.random.Generator, marketing: pd.DataFrame, anomaly_rate: float) -> pd.DataFrame:
    """Inflate the clicks of a few channel-days of ``marketing`` (in place); their truth rows."""
    n = max(1, int(round(len(marketing) * anomaly_rate * 5))) if anomaly_rate > 0 else 0
    rows = np.sort(rng.choice(len(marketing), size=min(n, len(marketing)), replace=False))
    factor = rng.uniform(3.0, 8.0, rows.size)
    clicks = marketing["clicks"].to_numpy().copy()
    clicks[rows] = np.round(clicks[rows] * factor + 50).astype(np.int64)
    marketing["clicks"] = clicks
    return truth_frame(
        "marketing", "click_fraud", len(rows),
        channel=marketing["channel"].to_numpy()[rows].astype(str),
        date=marketing["date"].to_numpy()[rows], magnitude=factor,
    )
