"""One block of skus of the generated supply chain: demand, the inventory simulation, and the per-sku tables.

Generation runs in blocks of :data:`BLOCK_SKUS` skus, each with its own random stream
(``numpy.random.default_rng([seed, 1, block])``), so the data do not depend on how they are
written: the in-memory generator concatenates the blocks, the Parquet writer streams them.

A block is generated in four steps, all NumPy:

1. **latent demand** (:func:`latent_demand`): per (day, sku, location) a mean with trend,
   the world's seasonality, promotions with price elasticity and the marketing response,
   then a gamma-Poisson draw;
2. **inventory** (:func:`simulate_inventory`): an (s, S) policy per (sku, warehouse) with
   supplier lead times, simulated day by day -- a loop over days vectorised over every
   (sku, warehouse) pair, since a day depends on the day before and a sku never on another.
   What is sold is demand censored by stock; shrink (lost stock) is injected here;
3. **sales**, with injected sales anomalies (:mod:`toolkit.datasets.truth`);
4. **orders** (one line per sales row with units sold, ``order_id`` = global sales row number
   + 1) and **shipments** (one per online order line, ``shipment_id`` = ``order_id``);
5. **reviews** of the order lines, from their own stream (:mod:`toolkit.datasets.reviews`).

Latent incidents (:mod:`toolkit.datasets.incidents`, only with ``incident_rate > 0``) scale
the latent demand and prices of step 1 and add carrier delays to the shipments of step 4.

Examples
--------
>>> from toolkit.datasets.world import build_world
>>> from toolkit.datasets.blocks import iter_blocks
>>> world = build_world(n_skus=2, n_locations=2, n_days=30, start="2024-01-01", seed=0, country="US")
>>> block = next(iter_blocks(world, seed=0, anomaly_rate=0.0, progress=False))
>>> len(block["sales"])
120
"""

from __future__ import annotations

from typing import Any, Iterator

import numpy as np
import pandas as pd

from toolkit.datasets.ids import id_strings
from toolkit.datasets.reviews import block_reviews
from toolkit.datasets.truth import (
    carrier_incidents,
    inject_order_anomalies,
    inject_sales_anomalies,
    truth_frame,
)
from toolkit.datasets.world import CARRIERS, CHANNELS

__all__ = ["BLOCK_SKUS", "PANEL_TABLES", "iter_blocks", "latent_demand", "simulate_inventory"]

BLOCK_SKUS = 256
"""Skus per generated block (and per Parquet part file)."""
PANEL_TABLES = ("sales", "orders", "inventory", "shipments", "reviews")
"""The tables generated block by block (one Parquet part file per block)."""

CARRIER_SHARE = np.array([0.4, 0.3, 0.2, 0.1])
CARRIER_SPEED = np.array([0.0, 0.5, 1.5, 0.3])  # extra days on top of the zone's base
ZONE_EDGES_KM = np.array([50, 150, 300, 600, 1000, 1400, 1800])


def iter_blocks(world: dict, seed: int, anomaly_rate: float, progress: bool) -> Iterator[dict[str, Any]]:
    """Every block's tables (:data:`PANEL_TABLES` and ``truth``), plus ``revenue``: the block's
    incremental revenue per channel (an array in :data:`~toolkit.datasets.world.CHANNELS` order)."""
    incidents = carrier_incidents(np.random.default_rng([seed, 2]), world["dates"])
    if world.get("incidents") is not None:  # carrier problems: delays on every zone of a carrier
        incidents = incidents + world["incidents"].lanes
    n_skus = len(world["skus"])
    starts = range(0, n_skus, BLOCK_SKUS)
    if progress:
        from tqdm.auto import tqdm

        starts = tqdm(starts, desc="make_retail", unit="block")
    for block, first in enumerate(starts):
        yield block_tables(world, block, first, min(first + BLOCK_SKUS, n_skus), seed, anomaly_rate, incidents)


def promo_flags(rng: np.random.Generator, n_days: int, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Promotion runs of 3-7 days starting about once every 45 days per series, and their depth."""
    starts = rng.random((n_days, n)) < 1 / 45
    length = rng.integers(3, 8, n)
    counts = np.cumsum(starts, axis=0)
    shifted = np.zeros_like(counts)
    for value in np.unique(length):
        cols = length == value
        shifted[value:, cols] = counts[:-value, cols]
    promo = (counts - shifted) > 0
    depth = rng.uniform(0.1, 0.35, n)
    return promo, depth


def latent_demand(rng: np.random.Generator, world: dict, first: int, last: int) -> dict[str, np.ndarray]:
    """Demand of skus ``first:last`` per (day, sku, location): ``demand``, ``price``, ``promo`` and
    ``share`` (each sku's share of popularity, which splits the marketing response)."""
    dates = world["dates"]
    n_days, n_loc = len(dates), len(world["location_names"])
    ns = last - first
    pop = world["popularity"][first:last]
    base_price = world["base_price"][first:last]
    growth = rng.normal(0.05, 0.12, ns)
    trend = 1.0 + growth[None, :] * (np.arange(n_days)[:, None] / 365.0)
    elasticity = rng.uniform(-2.5, -1.0, ns)
    promo, depth = promo_flags(rng, n_days, ns * n_loc)
    promo = promo.reshape(n_days, ns, n_loc)
    depth = depth.reshape(ns, n_loc)
    noise = rng.normal(0.0, 0.02, (n_days, ns, n_loc))
    price = base_price[None, :, None] * (1.0 - depth[None] * promo) * (1.0 + noise)
    plan = world.get("incidents")  # latent incidents (toolkit.datasets.incidents), None at rate 0
    if plan is not None:
        price = price * plan.price_factor[:, first:last, None]
    price = np.round(price, 2)
    price_effect = (price / base_price[None, :, None]) ** elasticity[None, :, None]
    share = pop / world["popularity"].sum()
    mean = (pop[None, :, None] * world["loc_scale"][None, None, :] * trend[:, :, None]
            * world["season"][:, None, :] * price_effect)
    mean += world["marketing_units"][:, None, :] * share[None, :, None]
    mean = np.maximum(mean, 0.0)  # a steeply falling trend must not give a negative rate
    if plan is not None:
        mean = mean * plan.demand_factor[:, first:last, None]
    gamma = rng.gamma(6.0, 1.0 / 6.0, mean.shape)
    demand = rng.poisson(mean * gamma).astype(np.float64)
    return {"demand": demand, "price": price, "promo": promo, "share": share}


def simulate_inventory(rng: np.random.Generator, world: dict, demand: np.ndarray, first: int, last: int,
                       anomaly_rate: float) -> dict[str, np.ndarray]:
    """The (s, S) policy per (sku, warehouse), day by day, censoring ``demand`` (day, sku, location).

    Returns
    -------
    dict
        ``units`` and ``stockout`` (day, sku, location); ``on_hand``, ``on_order``,
        ``receipts``, ``units_sold`` and ``shrink`` (day, sku, warehouse).
    """
    n_days, n_loc, n_wh = len(world["dates"]), len(world["location_names"]), world["n_wh"]
    ns = last - first
    pop = world["popularity"][first:last]
    lead = world["lead_time"][first:last].astype(np.int64)
    onehot = np.zeros((n_loc, n_wh))
    onehot[np.arange(n_loc), world["wh_of_loc"]] = 1.0
    wh_mean = (pop[:, None] * (world["loc_scale"] @ onehot)[None, :]) * world["season"].mean()  # (s, w)
    z = rng.uniform(0.0, 1.6, ns)[:, None]
    reorder = np.ceil(wh_mean * (lead[:, None] + 1) + z * np.sqrt(wh_mean * (lead[:, None] + 1)) * 1.5)
    up_to = reorder + np.ceil(wh_mean * rng.integers(7, 22, ns)[:, None]) + 1
    max_lead = int(lead.max()) + 1
    pipeline = np.zeros((max_lead, ns, n_wh))
    on_hand = up_to.copy()
    on_order = np.zeros((ns, n_wh))
    shrink_draw = rng.random((n_days, ns, n_wh)) < anomaly_rate
    lead_slot = lead[:, None] * np.ones((1, n_wh), dtype=np.int64)
    rows_s, rows_w = np.meshgrid(np.arange(ns), np.arange(n_wh), indexing="ij")
    units = np.empty_like(demand)
    stockout = np.empty(demand.shape, dtype=bool)
    out = {k: np.empty((n_days, ns, n_wh)) for k in ("on_hand", "on_order", "receipts", "units_sold")}
    shrink = np.zeros((n_days, ns, n_wh))
    for t in range(n_days):
        slot = t % max_lead
        receipts = pipeline[slot].copy()
        pipeline[slot] = 0.0
        available = on_hand + receipts
        dem_l = demand[t]
        dem_w = dem_l @ onehot
        ratio = np.divide(available, dem_w, out=np.ones_like(available), where=dem_w > 0)
        ratio = np.minimum(ratio, 1.0)
        sold_l = np.floor(dem_l * (ratio @ onehot.T) + 1e-9)
        units[t] = sold_l
        stockout[t] = (available <= 0) @ onehot.T > 0
        sold_w = sold_l @ onehot
        on_hand = available - sold_w
        on_order -= receipts
        lost = np.where(shrink_draw[t] & (on_hand >= 4), np.ceil(0.3 * on_hand) + 1, 0.0)
        on_hand -= lost
        shrink[t] = lost
        position = on_hand + on_order
        qty = np.where(position <= reorder, up_to - position, 0.0)
        pipeline[(t + lead_slot) % max_lead, rows_s, rows_w] += qty
        on_order += qty
        out["on_hand"][t], out["on_order"][t], out["receipts"][t], out["units_sold"][t] = (
            on_hand, on_order, receipts, sold_w)
    return {"units": units, "stockout": stockout, "shrink": shrink, **out}


def as_rows(a: np.ndarray) -> np.ndarray:
    """(day, sku, location) -> one value per row ordered by (sku, location, day)."""
    return np.ascontiguousarray(np.transpose(a, (1, 2, 0))).reshape(-1)


def block_tables(world: dict, block: int, first: int, last: int, seed: int, anomaly_rate: float,
                 incidents: list) -> dict[str, Any]:
    """Generate every per-sku table for skus ``first:last`` (0-based, end exclusive)."""
    rng = np.random.default_rng([seed, 1, block])
    dates = world["dates"]
    n_days, n_loc, n_wh = len(dates), len(world["location_names"]), world["n_wh"]
    ns = last - first
    latent = latent_demand(rng, world, first, last)
    demand, price = latent["demand"], latent["price"]
    stock = simulate_inventory(rng, world, demand, first, last, anomaly_rate)
    units = stock["units"]

    row_offset = first * n_loc * n_days
    sku_codes = np.repeat(np.arange(first, last), n_loc * n_days)
    loc_codes = np.tile(np.repeat(np.arange(n_loc), n_days), ns)
    day_idx = np.tile(np.arange(n_days), ns * n_loc)
    units_rows = as_rows(units).astype(np.float32)
    demand_rows = as_rows(demand).astype(np.float32)
    date_rows = dates.to_numpy()[day_idx]
    sku_names = np.asarray(world["skus"], dtype=object)
    loc_names = np.asarray(world["location_names"], dtype=object)
    truths = inject_sales_anomalies(rng, units_rows, demand_rows, anomaly_rate, lambda rows: {
        "sku": sku_names[sku_codes[rows]], "location": loc_names[loc_codes[rows]], "date": date_rows[rows]})
    sales = pd.DataFrame({
        "sku": pd.Categorical.from_codes(sku_codes, categories=world["skus"]),
        "location": pd.Categorical.from_codes(loc_codes, categories=world["location_names"]),
        "channel": pd.Categorical.from_codes(world["channel_of_loc"][loc_codes], categories=CHANNELS),
        "date": date_rows, "units": units_rows, "price": as_rows(price).astype(np.float32),
        "promo": as_rows(latent["promo"]), "stockout": as_rows(stock["stockout"]), "demand": demand_rows,
    })

    orders, shipments, more_truth = orders_and_shipments(rng, world, sales, row_offset, sku_codes, loc_codes,
                                                         day_idx, anomaly_rate, incidents)
    truths += more_truth
    reviews = block_reviews(world, block, seed, sales, shipments, row_offset, day_idx)

    wh_names = world["warehouse_names"]
    inv_sku = np.repeat(np.arange(first, last), n_wh * n_days)
    inv_wh = np.tile(np.repeat(np.arange(n_wh), n_days), ns)
    inv_day = np.tile(np.arange(n_days), ns * n_wh)
    inventory = pd.DataFrame({
        "sku": pd.Categorical.from_codes(inv_sku, categories=world["skus"]),
        "warehouse": pd.Categorical.from_codes(inv_wh, categories=wh_names),
        "date": dates.to_numpy()[inv_day],
        **{k: as_rows(stock[k]).astype(np.float32) for k in ("on_hand", "on_order", "receipts", "units_sold")},
    })
    shrink = as_rows(stock["shrink"])
    shrink_rows = np.flatnonzero(shrink > 0)
    truths.append(truth_frame(
        "inventory", "inventory_shrink", shrink_rows.size, sku=sku_names[inv_sku[shrink_rows]],
        warehouse=np.asarray(wh_names, dtype=object)[inv_wh[shrink_rows]],
        date=inventory["date"].to_numpy()[shrink_rows], magnitude=shrink[shrink_rows]))
    # Revenue the marketing response brought in: its extra demand (channel response x sku share)
    # on the share of the day's demand that was served, at the day's price. Demand lost to
    # stock-outs earned nothing, so it does not count towards the true ROI.
    served = np.divide(units, demand, out=np.ones_like(units), where=demand > 0)
    extra = world["marketing_units"][:, None, :] * latent["share"][None, :, None] * served * price
    revenue = np.bincount(np.tile(world["channel_of_loc"], n_days * ns), weights=extra.reshape(-1),
                          minlength=len(CHANNELS))
    return {"sales": sales, "orders": orders, "inventory": inventory, "shipments": shipments, "reviews": reviews,
            "revenue": revenue,
            "truth": pd.concat(truths, ignore_index=True)}


def orders_and_shipments(rng: np.random.Generator, world: dict, sales: pd.DataFrame, row_offset: int,
                         sku_codes: np.ndarray, loc_codes: np.ndarray, day_idx: np.ndarray, anomaly_rate: float,
                         incidents: list) -> tuple[pd.DataFrame, pd.DataFrame, list[pd.DataFrame]]:
    """Order lines of the block's sales rows with units sold, their shipments, and the truth of both."""
    units = sales["units"].to_numpy()
    sold = np.flatnonzero(units > 0)  # NaN compares False: missing sales rows have no order line
    n = sold.size
    order_id = (row_offset + sold + 1).astype(np.int64)
    n_customers = max(1000, 50 * len(world["skus"]))
    customer = rng.integers(1, n_customers + 1, n)
    seconds = rng.integers(0, 86400, n).astype("timedelta64[s]")
    order_ts = (sales["date"].to_numpy()[sold] + seconds).astype("datetime64[ns]")
    orders = pd.DataFrame({
        "order_id": order_id,
        "order_ts": order_ts,
        "sku": pd.Categorical.from_codes(sku_codes[sold], categories=world["skus"]),
        "location": pd.Categorical.from_codes(loc_codes[sold], categories=world["location_names"]),
        "channel": pd.Categorical.from_codes(world["channel_of_loc"][loc_codes[sold]], categories=CHANNELS),
        "customer_id": id_strings("C", customer, 8),
        "email": id_strings("customer", customer, 8, "@example.com"),
        "quantity": units[sold].astype(np.int32),
        "unit_price": sales["price"].to_numpy()[sold].copy(),
    })
    # Shipments for online order lines (before anomalies, which are data errors of the order system).
    online = world["is_online"][loc_codes[sold]]
    shipments, ship_truth = shipments_of(rng, world, orders.loc[online], day_idx[sold][online], incidents)
    sku_names = np.asarray(world["skus"], dtype=object)
    loc_names = np.asarray(world["location_names"], dtype=object)
    dates = sales["date"].to_numpy()
    orders, order_truth = inject_order_anomalies(rng, orders, anomaly_rate, lambda rows: {
        "sku": sku_names[sku_codes[sold[rows]]], "location": loc_names[loc_codes[sold[rows]]],
        "date": dates[sold[rows]]})
    return orders, shipments, [order_truth, ship_truth]


def shipments_of(rng: np.random.Generator, world: dict, lines: pd.DataFrame, day: np.ndarray, incidents: list
                 ) -> tuple[pd.DataFrame, pd.DataFrame]:
    """One shipment per online order line (``day``: the lines' day index), with lane delay incidents."""
    n = len(lines)
    dates = world["dates"]
    n_days = len(dates)
    carrier = rng.choice(len(CARRIERS), size=n, p=CARRIER_SHARE)
    distance = np.minimum(rng.lognormal(np.log(180.0), 0.9, n), 2500.0)
    zone = (np.searchsorted(ZONE_EDGES_KM, distance) + 1).astype(np.int8)
    ship_day = np.minimum(day + (rng.random(n) < 0.3), n_days - 1)
    weekday = dates.dayofweek.to_numpy()[ship_day]
    volume = np.bincount(ship_day, minlength=n_days).astype(float)
    load = volume[ship_day] / max(volume.mean(), 1.0)
    promised = (1 + (zone - 1) // 2 + np.round(CARRIER_SPEED[carrier])).astype(np.int16)
    expected = 0.8 + 0.45 * zone + CARRIER_SPEED[carrier] + 0.6 * (weekday >= 4) + 0.5 * (load - 1.0)
    actual = np.maximum(1, np.round(expected + rng.normal(0, 0.6, n)))
    delay = np.zeros(n)
    truth = []
    for c, z, first_day, length, extra in incidents:
        hit = (carrier == c) & (zone == z) & (ship_day >= first_day) & (ship_day < first_day + length)
        n_hit = int(np.count_nonzero(hit))
        delay[hit] = extra
        truth.append(truth_frame("shipments", "carrier_delay", n_hit, carrier=np.full(n_hit, CARRIERS[c], dtype=object),
                                 zone=np.full(n_hit, z), date=dates.to_numpy()[ship_day[hit]],
                                 shipment_id=lines["order_id"].to_numpy()[hit], magnitude=np.full(n_hit, extra)))
    actual = (actual + delay).astype(np.int16)
    weight = np.round(np.abs(lines["quantity"].to_numpy()) * rng.lognormal(-0.5, 0.8, n), 3).astype(np.float32)
    cost = (3.0 + 0.8 * weight + 0.004 * distance) * (1.0 + 0.15 * (carrier == 0))
    angle = rng.uniform(0, 2 * np.pi, n)
    wh = world["wh_of_loc"][lines["location"].cat.codes.to_numpy()]
    wh_lat = 35.0 + 2.5 * wh
    wh_lon = -95.0 + 4.0 * wh
    lat = wh_lat + distance * np.sin(angle) / 111.0
    lon = wh_lon + distance * np.cos(angle) / (111.0 * np.cos(np.deg2rad(wh_lat)))
    shipments = pd.DataFrame({
        "shipment_id": lines["order_id"].to_numpy(),
        "order_id": lines["order_id"].to_numpy(),
        "warehouse": pd.Categorical.from_codes(wh, categories=world["warehouse_names"]),
        "ship_date": dates.to_numpy()[ship_day],
        "carrier": pd.Categorical.from_codes(carrier, categories=CARRIERS),
        "zone": zone,
        "distance_km": distance.astype(np.float32),
        "weight_kg": weight,
        "promised_days": promised,
        "actual_days": actual,
        "cost": np.round(cost, 2).astype(np.float32),
        "lat": lat.astype(np.float32),
        "lon": lon.astype(np.float32),
    })
    ship_truth = pd.concat(truth, ignore_index=True) if truth else truth_frame("shipments", "carrier_delay", 0)
    return shipments, ship_truth
