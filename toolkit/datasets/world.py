"""The world every block of the generated supply chain shares: products, locations, calendar, media.

:func:`build_world` draws, from the stream ``numpy.random.default_rng([seed, 0])``, what does
not depend on the block of skus being generated: the product catalogue (categories, price
tiers, suppliers and their lead times, a long-tailed popularity), the selling locations (the
online channels web/app/marketplace, then stores served by warehouses), the daily seasonality
per location (trend-free: yearly, weekly and holiday effects from the ``holidays`` package)
and the marketing plan with its true adstock/saturation response
(:func:`geometric_adstock`, :func:`hill`).

Examples
--------
>>> from toolkit.datasets.world import build_world
>>> world = build_world(n_skus=3, n_locations=4, n_days=30, start="2024-01-01", seed=0, country="US")
>>> world["location_names"], world["season"].shape
(['web', 'app', 'marketplace', 'store_01'], (30, 4))
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd

from toolkit.errors import DataValidationError

__all__ = ["CHANNELS", "CARRIERS", "build_world", "geometric_adstock", "hill"]

CHANNELS = ["web", "app", "marketplace", "store"]
"""Categories of every ``channel`` column, in this order."""
CARRIERS = ["FastShip", "ParcelCo", "EcoPost", "CityCourier"]
"""Categories of the shipments' ``carrier`` column, in this order."""
CATEGORIES = ["electronics", "home", "apparel", "beauty", "grocery", "toys"]
CATEGORY_PRICE = np.array([120.0, 45.0, 35.0, 18.0, 6.0, 25.0])
REGIONS = ["north", "south", "east", "west"]
REGION_TZ = {"north": "America/Chicago", "south": "America/New_York", "east": "America/New_York",
             "west": "America/Los_Angeles", "national": "UTC"}


def build_world(n_skus: int, n_locations: int, n_days: int, start: str, seed: int, country: str) -> dict[str, Any]:
    """Products, locations, calendar effects and marketing: the parts shared by every block.

    The arguments are assumed checked (:func:`toolkit.datasets.retail.generator_params`).

    Returns
    -------
    dict
        ``products`` and ``locations`` (frames), ``marketing`` (frame, before click fraud),
        ``response_params`` (list of dicts per channel), and the arrays the block generator
        reads: ``season`` and ``marketing_units`` (days x locations), ``popularity``,
        ``base_price``, ``lead_time`` (per sku), location lookups and ``dates``.
    """
    rng = np.random.default_rng([seed, 0])
    width = max(5, len(str(n_skus)))
    skus = [f"SKU{i:0{width}d}" for i in range(1, n_skus + 1)]
    category = rng.integers(0, len(CATEGORIES), n_skus)
    base_price = np.round(CATEGORY_PRICE[category] * rng.lognormal(0.0, 0.5, n_skus), 2)
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
            "category": pd.Categorical.from_codes(category, CATEGORIES),
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
    region = ["national"] * len(online) + [REGIONS[i % len(REGIONS)] for i in range(n_stores)]
    channel = online + ["store"] * n_stores
    wh_names = [f"WH{i:02d}" for i in range(1, n_wh + 1)]
    locations = pd.DataFrame(
        {
            "location": pd.Categorical(names, categories=names),
            "channel": pd.Categorical(channel, categories=CHANNELS),
            "online": np.array([c != "store" for c in channel]),
            "region": pd.Categorical(region, categories=["national", *REGIONS]),
            "warehouse": pd.Categorical(warehouse, categories=wh_names),
            "timezone": pd.array([REGION_TZ[r] for r in region], dtype="str"),
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
    holiday_days = pd.DatetimeIndex(sorted(pd.Timestamp(d) for d in country_holidays(country, years)))
    is_holiday = dates.isin(holiday_days)
    before = np.zeros(n_days, dtype=bool)
    for lag in (1, 2, 3):
        before |= dates.isin(holiday_days - pd.Timedelta(days=lag))
    holiday = np.ones((n_days, n_locations))
    holiday[is_holiday] = np.where(is_online, 1.6, 0.5)
    holiday[before & ~is_holiday] *= 1.25
    season = yearly[:, None] * weekly * holiday  # (t, l)

    marketing, response_params, mkt_units = marketing_plan(rng, dates, channel, loc_scale, popularity, base_price,
                                                           season)
    return {
        "products": products,
        "locations": locations,
        "skus": skus,
        "location_names": names,
        "warehouse_names": wh_names,
        "channel_of_loc": np.array([CHANNELS.index(c) for c in channel]),
        "wh_of_loc": np.array([wh_names.index(w) for w in warehouse]),
        "loc_scale": loc_scale,
        "is_online": is_online,
        "dates": dates,
        "season": season,
        "popularity": popularity,
        "base_price": base_price,
        "lead_time": lead_time,
        "marketing": marketing,
        "response_params": response_params,
        "marketing_units": mkt_units,  # (t, l): extra demand units per unit of sku popularity share
        "n_wh": n_wh,
    }


def country_holidays(country: str, years: range) -> list:
    """The holiday dates of ``country`` over ``years`` (the ``holidays`` package).

    Raises
    ------
    DataValidationError
        ``holidays`` has no calendar for ``country``.
    """
    import holidays

    try:
        return list(holidays.country_holidays(country, years=years).keys())
    except NotImplementedError as err:
        raise DataValidationError.for_parameter("country", "holidays has no calendar for this country code",
                                                country) from err


def geometric_adstock(x: np.ndarray, decay: float) -> np.ndarray:
    """Carry-over of spend: ``a[t] = x[t] + decay * a[t-1]``.

    Examples
    --------
    >>> geometric_adstock(np.array([1.0, 0.0, 0.0]), 0.5).tolist()
    [1.0, 0.5, 0.25]
    """
    out = np.empty_like(x)
    carry = 0.0
    for t, value in enumerate(x):
        carry = value + decay * carry
        out[t] = carry
    return out


def hill(x: np.ndarray, half_sat: float, shape: float) -> np.ndarray:
    """Saturation: ``x**shape / (x**shape + half_sat**shape)``, 0.5 at ``x = half_sat``.

    Examples
    --------
    >>> hill(np.array([0.0, 2.0]), 2.0, 1.0).tolist()
    [0.0, 0.5]
    """
    xs = np.power(x, shape)
    return xs / (xs + half_sat**shape)


def marketing_plan(rng: np.random.Generator, dates: pd.DatetimeIndex, channel: list[str], loc_scale: np.ndarray,
                   popularity: np.ndarray, base_price: np.ndarray, season: np.ndarray
                   ) -> tuple[pd.DataFrame, list[dict], np.ndarray]:
    """Daily spend per channel and the true additive response it drives in demand.

    Returns
    -------
    (marketing, params, units)
        The marketing table, one dict of true response parameters per channel, and the extra
        demand units per day and location (days x locations).
    """
    n_days = len(dates)
    present = [c for c in CHANNELS if c in channel]
    avg_price = float(np.average(base_price, weights=popularity))
    rows, params = [], []
    mkt_units = np.zeros((n_days, len(channel)))
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
        ad = geometric_adstock(spend, decay)
        half_sat = float(ad.mean() * rng.uniform(0.7, 1.3))
        hill_mean = float(hill(ad, half_sat, shape).mean())
        beta_units = target_roi * mean_spend / (hill_mean * avg_price)  # extra units/day at saturation
        response_units = beta_units * hill(ad, half_sat, shape)
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
    marketing["channel"] = pd.Categorical(marketing["channel"], categories=CHANNELS)
    marketing = marketing.sort_values(["date", "channel"], kind="stable").reset_index(drop=True)
    return marketing, params, mkt_units
