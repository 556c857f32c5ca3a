"""Domain detectors over the toolkit's tables: orders, prices, inventory, shipments, marketing.

Each is a short composition of the generic pieces (robust z per group, balance checks) with
the business rule stated in its docstring, and returns the same kind of frame it was given
with ``anomaly_score``, ``is_anomaly`` and, where several rules apply, ``reason``.

Input policy, the same as :func:`toolkit.anomaly.detect`: the frame is checked at the edge
(columns present and numeric, keys and dates not missing -- a row must belong to one group),
an ``inf`` in a measured column is refused naming the column and a few keys, and NaN is
missing (each detector says how a missing value is scored). Groups are laid out once with
:class:`toolkit.panel.SeriesLayout` and the statistics computed on arrays, so pandas and cuDF
share one code path; :func:`inventory_shrink` also takes Dask frames (per series, via
:func:`toolkit.panel.per_series`).

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

from typing import Any, Sequence

import numpy as np

from toolkit import panel
from toolkit.anomaly.rules import robust_scale, scaled_deviation
from toolkit.backend import to_host
from toolkit.kernels.windows import rolling_quantile, window_edges

__all__ = ["group_robust_z", "order_line_anomalies", "inventory_shrink", "carrier_delays", "click_fraud",
           "price_changes", "ORDER_REASONS"]

ORDER_REASONS = ("", "duplicate", "negative_quantity", "missing_price", "extreme_quantity", "price_deviation")
"""``reason`` of :func:`order_line_anomalies`, by code (0 = clean)."""


def _checked(df: Any, param: str, keys: list[str], measured: Sequence[str], other: Sequence[str] = (),
             who: str = "", dask: bool = False) -> None:
    """The edge of every domain detector: frame, columns, numeric measures, keys present, no ``inf``."""
    panel.check_frame(df, param, dask=dask)
    panel.require_columns(df, [*keys, *other, *measured], f"by {who}")
    panel.require_numeric(df, measured, f"by {who}")
    panel.require_not_null(df, keys, keys, f"by {who} to place each row in a group")
    panel.require_finite(df, measured, [*keys, *other], purpose=f"by {who}; NaN is treated as missing")


def _robust_center(layout: Any, x: Any) -> tuple[Any, Any]:
    """Median and robust scale of ``x`` (input order) within each group, per input row."""
    xp = layout.xp
    med, scale = robust_scale(xp.reshape(layout.gather(x), (-1, 1)), layout.bounds)
    per_row = xp.stack([xp.take(med[:, 0], layout.series_of_row), xp.take(scale[:, 0], layout.series_of_row)],
                       axis=1)
    per_row = layout.scatter(per_row)
    return per_row[:, 0], per_row[:, 1]


def _robust_z(layout: Any, x: Any) -> Any:
    med, scale = _robust_center(layout, x)
    return scaled_deviation(x, med, scale)


def group_robust_z(df: Any, col: str, id_cols: str | Sequence[str] | None) -> Any:
    """Signed robust z-score of ``df[col]`` inside each ``id_cols`` group, in ``df``'s row order.

    Same definition as :func:`toolkit.anomaly.rules.robust_z` (0 for a constant group).

    Returns
    -------
    array (len(df),), numpy or CuPy; NaN where the value is NaN.

    Raises
    ------
    DataValidationError
        Not an in-memory frame, missing or non-numeric column, missing key values.

    Examples
    --------
    >>> import pandas as pd
    >>> df = pd.DataFrame({"g": ["a"] * 5, "x": [1.0, 2.0, 3.0, 4.0, 100.0]})
    >>> [round(float(z), 3) for z in group_robust_z(df, "x", "g")][:3]
    [-1.349, -0.674, 0.0]
    """
    keys = panel.as_list(id_cols)
    panel.check_frame(df, dask=False)
    panel.require_columns(df, [*keys, col], "for a robust z")
    panel.require_numeric(df, [col], "for a robust z")
    return _robust_z(panel.SeriesLayout.from_frame(df, keys, None, unique=False), panel.values(df, col))


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
       on tightly distributed prices, a data error by a factor). A price of zero or below is
       infinitely far below any reference: flagged with an infinite deviation, and left out of
       the sku's median.

    A missing quantity is not scored by rules 2 and 4; an ``inf`` quantity or price is refused.

    Parameters
    ----------
    orders : pandas or cuDF DataFrame (one row per order line)
    id_cols : str or list of str, default "sku"
        Groups defining the reference quantity and price.
    quantity_col, price_col : str
    quantity_k : float > 0, default 10
        Robust z cut-off for quantities (order sizes are heavy-tailed).
    price_ratio : float > 1, default 2
        Price cut-off as a factor of the reference price.

    Returns
    -------
    frame
        ``orders`` with ``anomaly_score`` (the larger of ``z_quantity / quantity_k`` and
        ``|log(price / reference)| / log(price_ratio)``, so rules 4-5 flag above 1; ``inf`` for
        rules 1-3 and for a price of zero or below), ``is_anomaly`` and ``reason`` (``""`` when
        clean, see :data:`ORDER_REASONS`).

    Raises
    ------
    DataValidationError
        Not a frame, missing or non-numeric columns, missing keys, ``inf`` values,
        ``quantity_k <= 0`` or ``price_ratio <= 1``.
    """
    keys = panel.as_list(id_cols)
    _checked(orders, "orders", keys, [quantity_col, price_col], who="order_line_anomalies")
    quantity_k = panel.check_number("quantity_k", quantity_k, 0.0, low_open=True)
    price_ratio = panel.check_number("price_ratio", price_ratio, 1.0, low_open=True)
    xp = panel.namespace(orders)
    dup = panel.frames.as_array(orders.duplicated(keep="first"))
    qty = panel.values(orders, quantity_col)
    price = panel.values(orders, price_col)
    layout = panel.SeriesLayout.from_frame(orders, keys, None, unique=False)
    zq = _robust_z(layout, xp.where(qty > 0, qty, xp.nan)) / quantity_k
    # deviation of log price from the group's median log price, in units of log(price_ratio)
    log_price = xp.log(xp.where(price > 0, price, xp.nan))
    log_ref, _ = _robust_center(layout, log_price)
    dev = xp.abs(log_price - log_ref) / float(np.log(price_ratio))
    zq = xp.where(xp.isnan(zq), 0.0, zq)
    dev = xp.where(price <= 0, xp.inf, xp.where(xp.isnan(dev), 0.0, dev))
    negative = qty < 0
    no_price = xp.isnan(price)
    score = xp.where(dup | negative | no_price, xp.inf, xp.maximum(zq, dev))
    code = xp.where(dup, 1, xp.where(negative, 2, xp.where(no_price, 3, xp.where(zq > 1, 4, xp.where(dev > 1, 5, 0)))))
    reason = np.asarray(ORDER_REASONS, dtype=object)[np.asarray(to_host(code))]
    return panel.assign(orders, {"anomaly_score": score, "is_anomaly": code > 0, "reason": reason})


_STOCK_COLS = ("on_hand", "receipts", "units_sold")


def _shrink_frame(inventory: Any, keys: list[str], day_col: str, tolerance: float) -> Any:
    """Shrink of an in-memory frame (or one series-whole Dask partition), rows sorted by series and day."""
    panel.require_finite(inventory, _STOCK_COLS, [*keys, day_col], purpose="by inventory_shrink; NaN is missing")
    layout = panel.SeriesLayout.from_frame(inventory, keys, day_col)
    xp = layout.xp
    on_hand, receipts, sold = (layout.gather(panel.values(inventory, c)) for c in _STOCK_COLS)
    previous = xp.concat([xp.full(1, xp.nan), on_hand[:-1]]) if layout.n else on_hand
    previous = xp.where(layout.position == 0, xp.nan, previous)
    shrink = previous + receipts - sold - on_hand
    ordered = inventory if layout.order is None else panel.take(inventory, layout.order)
    return panel.assign(ordered, {"shrink": shrink, "anomaly_score": shrink,
                                  "is_anomaly": ~xp.isnan(shrink) & (shrink > tolerance)})


def inventory_shrink(inventory: Any, id_cols: str | Sequence[str] = ("sku", "warehouse"), time_col: str = "date",
                     tolerance: float = 0.5) -> Any:
    """Stock lost without sales: ``on_hand[t-1] + receipts[t] - units_sold[t] - on_hand[t]``.

    A positive balance gap is stock that left the shelf without being sold (theft, damage,
    miscounts); the first day of a series has no previous stock and gets NaN, as does a day
    with a missing stock figure (never flagged).

    Parameters
    ----------
    inventory : pandas, cuDF or Dask DataFrame
        ``id_cols``, ``time_col``, ``on_hand``, ``receipts``, ``units_sold``; one row per
        series and day.
    id_cols : default ("sku", "warehouse")
    time_col : default "date"
    tolerance : float >= 0, default 0.5
        Units of gap tolerated (rounding); ``is_anomaly`` is ``shrink > tolerance``.

    Returns
    -------
    frame
        Sorted by ``id_cols + [time_col]``, with ``shrink`` (units), ``anomaly_score`` (= shrink)
        and ``is_anomaly``. Dask in, lazy Dask out (per series, via ``per_series``).

    Raises
    ------
    DataValidationError
        Not a frame, missing or non-numeric columns, missing keys or dates, repeated (keys,
        date) rows, ``inf`` values, a negative ``tolerance``.
    """
    keys = panel.as_list(id_cols)
    _checked(inventory, "inventory", keys, _STOCK_COLS, [time_col], who="inventory_shrink", dask=True)
    panel.require_datetime(inventory, time_col)
    tolerance = panel.check_number("tolerance", tolerance, 0.0)
    return panel.per_series(inventory, _shrink_frame, keys, time_col, keys=keys, day_col=time_col,
                            tolerance=tolerance)


def carrier_delays(shipments: Any, id_cols: str | Sequence[str] = ("carrier", "zone"), time_col: str = "ship_date",
                   k: float = 3.5, min_shipments: int = 3) -> Any:
    """Lane-days whose mean delay is abnormal for the lane.

    Each shipment's delay is ``actual_days - promised_days``; shipments are aggregated per lane
    (``id_cols``) and day, and each lane-day's mean delay is scored by its robust z against the
    lane's own history (so a slow lane is not an anomaly, a lane slower than usual is). A
    shipment with a missing delay (not delivered yet) is not counted in ``n_shipments``.

    Parameters
    ----------
    shipments : pandas or cuDF DataFrame
        ``id_cols``, ``time_col``, ``actual_days``, ``promised_days``.
    id_cols : default ("carrier", "zone")
    time_col : default "ship_date"
    k : float >= 0, default 3.5
        Robust z cut-off.
    min_shipments : int >= 1, default 3
        Lane-days with fewer shipments are scored but never flagged.

    Returns
    -------
    frame
        One row per lane and day: ``id_cols``, ``date``, ``n_shipments``, ``mean_delay``,
        ``late_share`` (share delivered after the promise), ``anomaly_score`` (robust z of
        ``mean_delay`` within the lane) and ``is_anomaly``.

    Raises
    ------
    DataValidationError
        Not a frame, missing or non-numeric columns, missing keys or ship dates, ``inf``
        values, a negative ``k`` or ``min_shipments < 1``.
    """
    keys = panel.as_list(id_cols)
    _checked(shipments, "shipments", keys, ["actual_days", "promised_days"], [time_col], who="carrier_delays")
    panel.require_datetime(shipments, time_col)
    panel.require_not_null(shipments, [time_col], keys, "by carrier_delays to place each shipment on a day")
    k = panel.check_number("k", k, 0.0)
    min_shipments = panel.check_int("min_shipments", min_shipments, minimum=1)
    delay = shipments["actual_days"].astype("float64") - shipments["promised_days"].astype("float64")
    frame = panel.frames.new_frame(shipments, {**{c: shipments[c] for c in keys},
                                               "date": shipments[time_col].dt.floor("D"), "__d": delay,
                                               "__late": (delay > 0).astype("float64").where(delay.notna())})
    lanes = frame.groupby([*keys, "date"], sort=True, observed=True).agg({"__d": ["count", "mean"], "__late": "mean"})
    lanes.columns = ["n_shipments", "mean_delay", "late_share"]
    lanes = lanes.reset_index()
    layout = panel.SeriesLayout.from_frame(lanes, keys, "date")
    z = _robust_z(layout, panel.values(lanes, "mean_delay"))
    xp = layout.xp
    big = panel.values(lanes, "n_shipments") >= min_shipments
    return panel.assign(lanes, {"anomaly_score": z, "is_anomaly": big & ~xp.isnan(z) & (z > k)})


def click_fraud(marketing: Any, id_cols: str | Sequence[str] = "channel", k: float = 3.5) -> Any:
    """Days whose clicks jump without the conversions that real interest brings.

    Fraudulent clicks raise the click-through rate and dilute the conversion rate at once.
    Score: ``max(z_ctr, 0) + max(-z_cvr, 0)`` where ``z_ctr`` is the robust z of log CTR
    (clicks / impressions) and ``z_cvr`` of log CVR (conversions / clicks) within the channel;
    flagged when the score exceeds ``k`` *and* the CTR side alone is above ``k / 2`` (a conversion
    slump alone is a funnel problem, not fraud). A day with a missing count scores 0 on the
    side it cannot compute.

    Parameters
    ----------
    marketing : pandas or cuDF DataFrame
        ``id_cols``, ``impressions``, ``clicks``, ``conversions`` (one row per channel and day).
    id_cols : default "channel"
    k : float >= 0, default 3.5

    Returns
    -------
    frame
        ``marketing`` with ``ctr``, ``cvr``, ``anomaly_score`` and ``is_anomaly``.

    Raises
    ------
    DataValidationError
        Not a frame, missing or non-numeric columns, missing keys, ``inf`` values, a negative ``k``.
    """
    keys = panel.as_list(id_cols)
    _checked(marketing, "marketing", keys, ["impressions", "clicks", "conversions"], who="click_fraud")
    k = panel.check_number("k", k, 0.0)
    xp = panel.namespace(marketing)
    imp, clk, conv = (panel.values(marketing, c) for c in ("impressions", "clicks", "conversions"))
    ctr = clk / xp.where(imp > 0, imp, xp.nan)
    cvr = conv / xp.where(clk > 0, clk, xp.nan)
    # half a conversion keeps the log finite on zero-conversion days
    ratio = (conv + 0.5) / (clk + 0.5)
    layout = panel.SeriesLayout.from_frame(marketing, keys, None, unique=False)
    z_ctr = _robust_z(layout, xp.log(xp.where(ctr > 0, ctr, xp.nan)))
    z_cvr = _robust_z(layout, xp.log(xp.where(ratio > 0, ratio, xp.nan)))
    up = xp.where(xp.isnan(z_ctr), 0.0, xp.maximum(z_ctr, 0.0))
    down = xp.where(xp.isnan(z_cvr), 0.0, xp.maximum(-z_cvr, 0.0))
    score = up + down
    return panel.assign(marketing, {"ctr": ctr, "cvr": cvr, "anomaly_score": score,
                                    "is_anomaly": (score > k) & (up > k / 2)})


def price_changes(sales: Any, id_cols: str | Sequence[str] = "sku", time_col: str = "date",
                  price_col: str = "price", window: int = 28, min_change: float = 0.1,
                  direction: str = "both", promo_col: str | None = None) -> Any:
    """Days a series' price stands ``min_change`` or more away from its own recent level.

    A price move is the one incident a retailer knows the day it happens, and demand answers it
    at once through the price elasticity; this rule turns it into flags that
    :func:`~toolkit.anomaly.alarms` groups into incidents, next to the incidents other signals
    reveal later (complaint surges in reviews, :func:`toolkit.text.complaint_alerts`).

    The reference of a row is the **median price of the ``window`` rows before it** in its
    series (the row itself excluded, missing prices skipped; NaN until ``window // 2`` prices are
    known): a short promotion does not move a median, so it is one flagged run and its end is
    not flagged again. Promotions close together do move it (two one-week discounts in a month
    make the discounted price the median): name the promotion flag in ``promo_col`` and promoted
    rows neither enter the reference nor get flagged, so the rule judges regular prices only.
    ``price_change = price / reference - 1``. Windows count rows, one per period (fill calendar
    gaps first, as for the Hampel rule). A missing price, or a reference that is not positive,
    gives NaN and is never flagged.

    Parameters
    ----------
    sales : pandas or cuDF DataFrame
        ``id_cols``, ``time_col`` (datetime) and ``price_col``, one row per series and period.
    id_cols : str or list of str, default "sku"
    time_col : str, default "date"
    price_col : str, default "price"
    window : int >= 1, default 28
        Rows before each row whose median is its reference price.
    min_change : float > 0, default 0.1
        Relative move that flags a row (0.1: ten percent).
    direction : {"both", "up", "down"}, default "both"
        Which moves are flagged; "up" watches price rises only (promotions are moves down).
    promo_col : str, optional
        Boolean (or 0/1) column marking promoted rows: left out of the reference, scored 0,
        never flagged. A missing flag counts as not promoted.

    Returns
    -------
    frame
        ``sales`` (same kind, same row order) with ``reference_price``, ``price_change``,
        ``anomaly_score`` (the move in the flagged direction over ``min_change``, 0 for a move
        the other way or on a promoted row, NaN when there is no reference) and ``is_anomaly``
        (score >= 1).

    Raises
    ------
    DataValidationError
        Not an in-memory frame, missing or non-numeric columns, missing keys or dates, repeated
        (keys, date) rows, ``inf`` prices, a non-numeric ``promo_col``, ``window < 1``,
        ``min_change <= 0`` or an unknown ``direction``.

    Examples
    --------
    >>> import pandas as pd
    >>> from toolkit.anomaly import price_changes
    >>> sales = pd.DataFrame({"sku": "a", "date": pd.date_range("2024-01-01", periods=6),
    ...                       "price": [10.0, 10.0, 10.0, 12.0, 12.0, 10.0]})
    >>> price_changes(sales, window=3, direction="up")["is_anomaly"].tolist()
    [False, False, False, True, True, False]
    """
    keys = panel.as_list(id_cols)
    promo = [] if promo_col is None else [promo_col]
    _checked(sales, "sales", keys, [price_col], [time_col, *promo], who="price_changes")
    if promo_col is not None:
        panel.require_numeric(sales, [promo_col], "as a promotion flag (booleans or 0/1)")
    window = panel.check_int("window", window, minimum=1)
    min_change = panel.check_number("min_change", min_change, 0.0, low_open=True)
    direction = panel.check_choice("direction", direction, ("both", "up", "down"))
    layout = panel.SeriesLayout.from_frame(sales, keys, time_col)
    xp = layout.xp
    price = layout.gather(panel.values(sales, price_col))  # float64, NaN where missing
    promoted = xp.zeros(price.shape, dtype=xp.bool)
    if promo_col is not None:
        flag = panel.values(sales, promo_col)
        promoted = layout.gather(~xp.isnan(flag) & (flag != 0))
    lo, hi = window_edges(layout.row_starts, window, shift=1)
    reference = rolling_quantile(xp.where(promoted, xp.nan, price), lo, hi, 0.5, min_periods=max(1, window // 2))
    change = price / xp.where(reference > 0, reference, xp.nan) - 1.0
    moved = xp.abs(change) if direction == "both" else xp.maximum(change if direction == "up" else -change, 0.0)
    score = xp.where(promoted & ~xp.isnan(moved), 0.0, moved / min_change)
    flagged = ~xp.isnan(score) & (score >= 1.0)
    return panel.assign(sales, {"reference_price": layout.scatter(reference), "price_change": layout.scatter(change),
                                "anomaly_score": layout.scatter(score), "is_anomaly": layout.scatter(flagged)})
