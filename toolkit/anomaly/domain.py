"""Domain detectors over the toolkit's tables: orders, inventory, shipments, marketing.

Each is a short composition of the generic pieces (robust z per group, balance checks) with
the business rule stated in its docstring, and returns the same kind of frame it was given
with ``anomaly_score``, ``is_anomaly`` and, where several rules apply, ``reason``.

Examples
--------
>>> import pandas as pd
>>> from toolkit.anomaly import inventory_shrink
>>> inv = pd.DataFrame({"sku": ["a"] * 3, "warehouse": ["W"] * 3,
...                     "date": pd.date_range("2024-01-01", periods=3),
...                     "on_hand": [10.0, 8.0, 2.0], "receipts": [0.0, 0.0, 0.0],
...                     "units_sold": [0.0, 2.0, 1.0]})
>>> inventory_shrink(inv)["shrink"].tolist()
[nan, 0.0, 5.0]
"""

from __future__ import annotations

from functools import partial
from typing import Any, Sequence

import numpy as np

from toolkit.anomaly.detect import _column, _layout, _starts
from toolkit.anomaly.rules import robust_scale
from toolkit.kernels.segments import segment_ids
from toolkit.backend import array_namespace, frame_lib, is_dask, is_gpu
from toolkit.errors import DataValidationError
from toolkit.panel import as_list, map_series

__all__ = ["group_robust_z", "order_line_anomalies", "inventory_shrink", "carrier_delays", "click_fraud"]


def _require(df: Any, cols: Sequence[str], who: str) -> None:
    missing = [c for c in cols if c not in df.columns]
    if missing:
        raise DataValidationError(f"column {missing[0]!r}: missing ({who} needs {list(cols)})", column=missing[0])


def _group_center(df: Any, col: str, keys: list[str]) -> tuple[Any, Any, Any]:
    """``df[col]``, its group median and robust scale per row, in ``df``'s row order."""
    perm, codes, n = _layout(df, keys, None)
    xp = array_namespace(perm)
    x = xp.reshape(xp.take(_column(df, col), perm), (-1, 1))
    starts = _starts(codes)
    med, scale = robust_scale(x, starts)
    gid = segment_ids(starts, n)
    out = xp.empty((3, n), dtype=xp.float64)
    out[:, perm] = xp.stack([x[:, 0], xp.take(med[:, 0], gid), xp.take(scale[:, 0], gid)])
    return out[0], out[1], out[2]


def group_robust_z(df: Any, col: str, id_cols: str | Sequence[str] | None) -> Any:
    """Signed robust z-score of ``df[col]`` inside each ``id_cols`` group, in ``df``'s row order.

    Same definition as :func:`toolkit.anomaly.rules.robust_z` (0 for a constant group).

    Returns
    -------
    array (len(df),), numpy or CuPy; NaN where the value is NaN.
    """
    x, med, scale = _group_center(df, col, as_list(id_cols))
    xp = array_namespace(x)
    dev = x - med
    return xp.where(scale > 0, dev / xp.where(scale > 0, scale, 1.0), xp.where(xp.isnan(dev), xp.nan, 0.0))


def order_line_anomalies(orders: Any, id_cols: str | Sequence[str] = "sku", quantity_col: str = "quantity",
                         price_col: str = "unit_price", quantity_k: float = 10.0, price_ratio: float = 2.0) -> Any:
    """Flag order lines: duplicates, negative or extreme quantities, missing or off-reference prices.

    Rules, in priority order for ``reason``:

    1. ``duplicate``: an exact copy of an earlier row (the first copy is not flagged);
    2. ``negative_quantity``: quantity < 0;
    3. ``missing_price``: unit price is NaN;
    4. ``extreme_quantity``: robust z of the (positive) quantity within the sku above ``quantity_k``;
    5. ``price_deviation``: unit price more than ``price_ratio`` times above or below the sku's
       median price (a ratio rather than a z-score: promotions move prices by tens of percent
       on tightly distributed prices, a data error by a factor).

    Parameters
    ----------
    orders : pandas or cuDF DataFrame (one row per order line)
    id_cols : str or list of str, default "sku"
        Groups defining the reference quantity and price.
    quantity_col, price_col : str
    quantity_k : float, default 10
        Robust z cut-off for quantities (order sizes are heavy-tailed).
    price_ratio : float > 1, default 2
        Price cut-off as a factor of the reference price.

    Returns
    -------
    frame
        ``orders`` with ``anomaly_score`` (the larger of ``z_quantity / quantity_k`` and
        ``|log(price / reference)| / log(price_ratio)``, so rules 4-5 flag above 1; ``inf`` for
        rules 1-3), ``is_anomaly`` and ``reason`` (``""`` when clean).
    """
    keys = as_list(id_cols)
    _require(orders, [*keys, quantity_col, price_col], "order_line_anomalies")
    if not price_ratio > 1:
        raise DataValidationError(f"price_ratio must be > 1, got {price_ratio!r}")
    dup = orders.duplicated(keep="first")
    dup = dup.to_cupy() if is_gpu(orders) else dup.to_numpy()
    qty = _column(orders, quantity_col)
    price = _column(orders, price_col)
    xp = array_namespace(qty)
    negative = qty < 0
    no_price = xp.isnan(price)
    work = orders[keys].assign(__q=orders[quantity_col].where(orders[quantity_col] > 0),
                               __lp=np.log(orders[price_col].astype("float64").where(orders[price_col] > 0)))
    zq = group_robust_z(work, "__q", keys) / quantity_k
    # deviation of log price from the sku's median log price, in units of log(price_ratio)
    log_price, log_ref, _ = _group_center(work, "__lp", keys)
    dev = xp.abs(log_price - log_ref) / float(np.log(price_ratio))
    zq = xp.where(xp.isnan(zq), 0.0, zq)
    dev = xp.where(xp.isnan(dev), 0.0, dev)
    score = xp.where(dup | negative | no_price, xp.inf, xp.maximum(zq, dev))
    code = xp.where(dup, 1, xp.where(negative, 2, xp.where(no_price, 3, xp.where(zq > 1, 4, xp.where(dev > 1, 5, 0)))))
    names = {0: "", 1: "duplicate", 2: "negative_quantity", 3: "missing_price", 4: "extreme_quantity",
             5: "price_deviation"}
    reason = frame_lib(orders).Series(code).map(names)
    reason.index = orders.index
    return orders.assign(anomaly_score=score, is_anomaly=code > 0, reason=reason)


def _shrink_part(part: Any, keys: list[str], time_col: str, tolerance: float) -> Any:
    part = part.sort_values([*keys, time_col])
    prev = part.groupby(keys, sort=False, observed=True)["on_hand"].shift(1)
    shrink = prev + part["receipts"] - part["units_sold"] - part["on_hand"]
    return part.assign(shrink=shrink.astype("float64"), anomaly_score=shrink.astype("float64"),
                       is_anomaly=(shrink > tolerance).fillna(False).astype(bool))


def inventory_shrink(inventory: Any, id_cols: str | Sequence[str] = ("sku", "warehouse"), time_col: str = "date",
                     tolerance: float = 0.5) -> Any:
    """Stock lost without sales: ``on_hand[t-1] + receipts[t] - units_sold[t] - on_hand[t]``.

    A positive balance gap is stock that left the shelf without being sold (theft, damage,
    miscounts); the first day of a series has no previous stock and gets NaN.

    Parameters
    ----------
    inventory : pandas, cuDF or Dask DataFrame
        ``id_cols``, ``time_col``, ``on_hand``, ``receipts``, ``units_sold``; one row per day.
    id_cols : default ("sku", "warehouse")
    time_col : default "date"
    tolerance : float, default 0.5
        Units of gap tolerated (rounding); ``is_anomaly`` is ``shrink > tolerance``.

    Returns
    -------
    frame
        Sorted by ``id_cols + [time_col]``, with ``shrink`` (units), ``anomaly_score`` (= shrink)
        and ``is_anomaly``. Dask in, lazy Dask out (per series, via ``map_series``).
    """
    keys = as_list(id_cols)
    _require(inventory, [*keys, time_col, "on_hand", "receipts", "units_sold"], "inventory_shrink")
    if is_dask(inventory):
        meta = _shrink_part(inventory._meta, keys, time_col, tolerance)
        return map_series(inventory, partial(_shrink_part, keys=keys, time_col=time_col, tolerance=tolerance),
                          keys, time_col, meta=meta)
    return _shrink_part(inventory, keys, time_col, tolerance)


def carrier_delays(shipments: Any, id_cols: str | Sequence[str] = ("carrier", "zone"), time_col: str = "ship_date",
                   k: float = 3.5, min_shipments: int = 3) -> Any:
    """Lane-days whose mean delay is abnormal for the lane.

    Each shipment's delay is ``actual_days - promised_days``; shipments are aggregated per lane
    (``id_cols``) and day, and each lane-day's mean delay is scored by its robust z against the
    lane's own history (so a slow lane is not an anomaly, a lane slower than usual is).

    Parameters
    ----------
    shipments : pandas or cuDF DataFrame
        ``id_cols``, ``time_col``, ``actual_days``, ``promised_days``.
    id_cols : default ("carrier", "zone")
    time_col : default "ship_date"
    k : float, default 3.5
        Robust z cut-off.
    min_shipments : int, default 3
        Lane-days with fewer shipments are scored but never flagged.

    Returns
    -------
    frame
        One row per lane and day: ``id_cols``, ``date``, ``n_shipments``, ``mean_delay``,
        ``late_share`` (share delivered after the promise), ``anomaly_score`` (robust z of
        ``mean_delay`` within the lane) and ``is_anomaly``.
    """
    keys = as_list(id_cols)
    _require(shipments, [*keys, time_col, "actual_days", "promised_days"], "carrier_delays")
    delay = (shipments["actual_days"].astype("float64") - shipments["promised_days"].astype("float64"))
    day = shipments[time_col].dt.floor("D")
    frame = frame_lib(shipments).DataFrame({**{c: shipments[c] for c in keys}, "date": day, "__d": delay,
                                            "__late": (delay > 0).astype("float64")})
    lanes = frame.groupby([*keys, "date"], sort=True, observed=True).agg(
        {"__d": ["count", "mean"], "__late": "mean"})
    lanes.columns = ["n_shipments", "mean_delay", "late_share"]
    lanes = lanes.reset_index()
    z = group_robust_z(lanes, "mean_delay", keys)
    xp = array_namespace(z)
    big = _column(lanes, "n_shipments") >= min_shipments
    return lanes.assign(anomaly_score=z, is_anomaly=big & xp.where(xp.isnan(z), False, z > k))


def click_fraud(marketing: Any, id_cols: str | Sequence[str] = "channel", k: float = 3.5) -> Any:
    """Days whose clicks jump without the conversions that real interest brings.

    Fraudulent clicks raise the click-through rate and dilute the conversion rate at once.
    Score: ``max(z_ctr, 0) + max(-z_cvr, 0)`` where ``z_ctr`` is the robust z of log CTR
    (clicks / impressions) and ``z_cvr`` of log CVR (conversions / clicks) within the channel;
    flagged when the score exceeds ``k`` *and* the CTR side alone is above ``k / 2`` (a conversion
    slump alone is a funnel problem, not fraud).

    Parameters
    ----------
    marketing : pandas or cuDF DataFrame
        ``id_cols``, ``impressions``, ``clicks``, ``conversions`` (one row per channel and day).
    id_cols : default "channel"
    k : float, default 3.5

    Returns
    -------
    frame
        ``marketing`` with ``ctr``, ``cvr``, ``anomaly_score`` and ``is_anomaly``.
    """
    keys = as_list(id_cols)
    _require(marketing, [*keys, "impressions", "clicks", "conversions"], "click_fraud")
    imp = marketing["impressions"].astype("float64")
    clk = marketing["clicks"].astype("float64")
    conv = marketing["conversions"].astype("float64")
    ctr = clk / imp.where(imp > 0)
    cvr = conv / clk.where(clk > 0)
    # half a conversion keeps the log finite on zero-conversion days
    work = marketing[keys].assign(__lctr=np.log(ctr.where(ctr > 0)), __lcvr=np.log((conv + 0.5) / (clk + 0.5)))
    z_ctr = group_robust_z(work, "__lctr", keys)
    z_cvr = group_robust_z(work, "__lcvr", keys)
    xp = array_namespace(z_ctr)
    up = xp.where(xp.isnan(z_ctr), 0.0, xp.maximum(z_ctr, 0.0))
    down = xp.where(xp.isnan(z_cvr), 0.0, xp.maximum(-z_cvr, 0.0))
    score = up + down
    return marketing.assign(ctr=ctr, cvr=cvr, anomaly_score=score, is_anomaly=(score > k) & (up > k / 2))
