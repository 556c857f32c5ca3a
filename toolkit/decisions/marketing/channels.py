"""The daily channel panel: each (date, channel) of marketing with the order revenue it drove.

:func:`channel_panel` integrates online (web, app, marketplace) and offline (store) order
systems with :func:`toolkit.cleanse.integrate_channels` and joins each day's spend,
impressions, clicks and conversions to the revenue, units and orders of that day and channel.

Design choices (where the issue is silent)
------------------------------------------
* **Every order line is accounted for.** The :class:`PanelReport` counts the lines in, the
  lines used, and every line left out under its reason, with its revenue
  (``quantity * unit_price``; a line without a finite price or quantity has none):
  ``rows_in = rows_used + sum(dropped)`` and ``revenue_in = revenue_used +
  sum(revenue_dropped)`` hold exactly.
* **Lines outside the marketing calendar are dropped and reported, not kept.** The panel is
  one row per (date, channel) of ``marketing`` because its consumer, the marketing-mix model,
  needs the spend of every row; a day with revenue but no spend record would be read as a day
  of zero spend and bias the media effect. Lines before the first or after the last marketing
  date are counted as ``outside_marketing_calendar``; lines on a day within the calendar
  whose channel has no marketing row that day as ``no_marketing_row``. Either raises a
  warning naming the count and the share of revenue, so a calendar mismatch is never silent.
* **Non-finite values.** Media columns must be finite and >= 0 (refused naming the column
  and the (date, channel) keys). A line with a missing or infinite quantity or price is
  left out as ``missing_price``; a line without a timestamp as ``missing_time``. Timestamps
  outside the years 1677-2262 (which do not fit in datetime64[ns], where the panel compares
  days) are refused naming the column, in either table.
* **The panel's own columns.** ``revenue``, ``units`` and ``orders`` are float64 whether or
  not every (date, channel) had a sale, and whatever the dtype of ``quantity`` (summed in
  float64). A ``marketing`` table that already has a column of one of these names is refused
  (naming it): the panel would otherwise have to overwrite it or rename one of the two.
* A single ``orders`` frame's channel column decides each line's channel: a ``"channel"``
  label in ``mapping`` does not relabel the lines of a split frame.
* The panel is small (a row per day and channel): it is built on the host with pandas and
  comes back in ``marketing``'s frame library. Dask input is refused: compute it first.

Examples
--------
>>> import pandas as pd
>>> from toolkit.decisions.marketing import channel_panel
>>> orders = pd.DataFrame({"order_id": [1, 2], "channel": ["web", "web"],
...     "order_ts": pd.to_datetime(["2024-01-01 10:00", "2024-01-09 12:00"]), "quantity": [2, 1],
...     "unit_price": [5.0, 3.0]})
>>> mkt = pd.DataFrame({"date": pd.to_datetime(["2024-01-01"]), "channel": ["web"], "spend": [1.0],
...     "impressions": 100, "clicks": 5, "conversions": 1})
>>> report = []
>>> import warnings; warnings.simplefilter("ignore")
>>> channel_panel(orders, mkt, report=report)["revenue"].tolist(), report[0].dropped["outside_marketing_calendar"]
([10.0], 1)
"""

from __future__ import annotations

import dataclasses
import warnings
from typing import Any, Mapping, Sequence

import numpy as np
import pandas as pd

from toolkit import backend, panel
from toolkit.decisions.checks import require_non_negative

__all__ = ["MEDIA_COLS", "DROP_REASONS", "PanelReport", "channel_panel", "check_media"]

MEDIA_COLS = ("spend", "impressions", "clicks", "conversions")
"""The media columns of a marketing table, one row per (date, channel)."""
DROP_REASONS = ("seen_in_two_systems", "duplicated", "negative_quantity", "missing_price", "missing_time",
                "outside_marketing_calendar", "no_marketing_row")
"""Why :func:`channel_panel` leaves an order line out, in the order the rules apply."""
ORDER_COLS = ("order_id", "order_ts", "quantity", "unit_price")
PANEL_COLS = ("revenue", "units", "orders")
"""The columns :func:`channel_panel` adds to the marketing rows (float64)."""


@dataclasses.dataclass
class PanelReport:
    """Order lines (and their revenue) used and left out by :func:`channel_panel`.

    Attributes
    ----------
    rows_in : int
        Order lines given (over every source system).
    rows_used : int
        Lines whose revenue is in the panel.
    dropped : dict
        Lines left out per reason (every key of :data:`DROP_REASONS`, zero when none).
    revenue_in, revenue_used : float
        ``quantity * unit_price`` summed over the lines given / used (lines without a finite
        value count 0).
    revenue_dropped : dict
        Revenue left out per reason.
    """

    rows_in: int
    rows_used: int
    dropped: dict
    revenue_in: float = 0.0
    revenue_used: float = 0.0
    revenue_dropped: dict = dataclasses.field(default_factory=dict)

    def __repr__(self) -> str:
        lost = {k: v for k, v in self.dropped.items() if v}
        share = 1.0 - self.revenue_used / self.revenue_in if self.revenue_in else 0.0
        return (f"PanelReport(rows_in={self.rows_in}, rows_used={self.rows_used}, dropped={lost}, "
                f"revenue_dropped={share:.1%} of {self.revenue_in:,.2f})")


def check_media(frame: pd.DataFrame, columns: Sequence[str], keys: Sequence[str], purpose: str) -> None:
    """Media columns present, numeric, finite and >= 0 (offenders named by ``keys``)."""
    panel.require_columns(frame, [*keys, *columns], purpose)
    panel.require_numeric(frame, columns, purpose)
    require_non_negative(frame, columns, keys, purpose)


def _marketing_table(marketing: Any, time_col: str, channel_col: str, channels: Sequence[str] | None
                     ) -> tuple[pd.DataFrame, list[str]]:
    panel.check_frame(marketing, "marketing", dask=False)
    purpose = "in marketing, for the channel panel"
    panel.require_columns(marketing, [time_col, channel_col, *MEDIA_COLS], purpose)
    for column in PANEL_COLS:
        if column in marketing.columns:
            panel.fail(column, "already in marketing, but the channel panel computes it from the order lines; "
                               "rename or drop it first")
    panel.require_not_empty(marketing, purpose)
    panel.require_datetime(marketing, time_col)
    mkt = backend.to_host(marketing)
    panel.require_not_null(mkt, [time_col, channel_col], [time_col, channel_col], purpose)
    panel.time_values(mkt, time_col)  # refuses dates past the nanosecond range, which a cast would wrap around
    check_media(mkt, MEDIA_COLS, [time_col, channel_col], purpose)
    mkt = mkt.assign(**{channel_col: mkt[channel_col].astype(str)})
    panel.require_unique(mkt, [time_col, channel_col], purpose)
    if channels is None:
        known = [str(c) for c in pd.unique(mkt[channel_col])]
    else:
        known = [str(c) for c in panel.as_list(channels, "channels")]
    unknown = ~mkt[channel_col].isin(known)
    if unknown.any():
        panel.fail(channel_col, f"unknown channel in marketing (expected {known})", int(unknown.sum()),
                   sorted(set(mkt.loc[unknown, channel_col]))[: panel.KEYS_SHOWN])
    return mkt, known


def _sources(orders: Any, channel_col: str, mapping: Mapping | None) -> tuple[dict, Mapping | None]:
    """Order lines per source system: the given dict, or one frame split by its channel column."""
    if isinstance(orders, Mapping):
        if not orders:
            panel.fail(channel_col, "orders is an empty dict: give at least one source system's order lines")
        for name, frame in orders.items():
            panel.check_frame(frame, f"orders[{name!r}]", dask=False)
        return {name: backend.to_host(frame) for name, frame in orders.items()}, mapping
    panel.check_frame(orders, "orders", dask=False)
    panel.require_columns(orders, [channel_col], "to split orders into channel systems")
    host = backend.to_host(orders)
    panel.require_not_null(host, [channel_col], ["order_id"], "to split orders into channel systems")
    names = host[channel_col].astype(str)
    sources = {name: host[(names == name).to_numpy()].drop(columns=channel_col) for name in pd.unique(names)}
    return sources, {name: {**(mapping or {}).get(name, {}), "channel": name} for name in sources}


def _line_revenue(lines: pd.DataFrame) -> np.ndarray:
    qty = lines["quantity"].to_numpy(dtype="float64", na_value=np.nan)
    price = lines["unit_price"].to_numpy(dtype="float64", na_value=np.nan)
    revenue = qty * price
    return np.where(np.isfinite(revenue), revenue, 0.0)


def channel_panel(
    orders: Any,
    marketing: Any,
    mapping: Mapping[str, Mapping[str, Any]] | None = None,
    channels: Sequence[str] | None = None,
    time_col: str = "date",
    channel_col: str = "channel",
    report: list | None = None,
) -> Any:
    """The integrated daily panel of channels: spend, impressions, clicks, conversions, revenue.

    Parameters
    ----------
    orders : frame or dict of str -> frame
        Order lines (``order_id, order_ts, quantity, unit_price`` and ``channel_col``), or one
        frame per source system (``{"web": ..., "store": ...}``), integrated with
        :func:`toolkit.cleanse.integrate_channels` (``mapping`` is passed to it). A single frame
        is split by its channel column first, so the same integration (de-duplication across
        systems) applies. pandas or cuDF.
    marketing : frame
        One row per (date, channel): ``spend, impressions, clicks, conversions`` (finite, >= 0).
    mapping : dict, optional
        Per source renames/unit/currency/timezone rules for ``integrate_channels``.
    channels : list of str, optional
        The channels expected (default: those of ``marketing``); any other channel in either
        table is an error.
    time_col : str, default "date"
    channel_col : str, default "channel"
    report : list, optional
        A :class:`PanelReport` is appended (rows in = rows used + dropped per reason; the same
        for revenue). Lines are dropped as (in this order) ``seen_in_two_systems`` (copies
        ``integrate_channels`` removes), ``duplicated`` (exact repeats), ``negative_quantity``,
        ``missing_price`` (quantity or price missing or infinite), ``missing_time``,
        ``outside_marketing_calendar`` and ``no_marketing_row`` (see the module docstring).

    Returns
    -------
    frame
        Same library as ``marketing``: one row per (date, channel) of ``marketing`` with the
        media columns, ``revenue`` (sum of ``quantity * unit_price`` over the lines used that
        day and channel, 0 when none), ``orders`` (distinct order ids) and ``units``, all three
        float64.

    Raises
    ------
    DataValidationError
        Non-frame or Dask input, missing columns, negative or non-finite media values,
        duplicated (date, channel) in marketing, an unknown channel, a ``revenue``, ``units``
        or ``orders`` column already in marketing.

    Warns
    -----
    UserWarning
        When order lines fall outside the marketing calendar or on days without a marketing
        row for their channel (count and share of revenue).

    Examples
    --------
    >>> import pandas as pd
    >>> orders = pd.DataFrame({"order_id": [1, 2, 3], "channel": ["web", "store", "web"],
    ...     "order_ts": pd.to_datetime(["2024-01-01 10:00", "2024-01-01 12:00", "2024-01-02 09:00"]),
    ...     "quantity": [2, 1, 1], "unit_price": [5.0, 3.0, 4.0]})
    >>> mkt = pd.DataFrame({"date": pd.to_datetime(["2024-01-01", "2024-01-01", "2024-01-02", "2024-01-02"]),
    ...     "channel": ["web", "store", "web", "store"], "spend": [1.0, 2.0, 1.0, 2.0],
    ...     "impressions": 100, "clicks": 5, "conversions": 1})
    >>> channel_panel(orders, mkt)["revenue"].tolist()
    [3.0, 10.0, 0.0, 4.0]
    """
    from toolkit.cleanse import integrate_channels

    mkt, known = _marketing_table(marketing, time_col, channel_col, channels)
    sources, mapping = _sources(orders, channel_col, mapping)
    rows_in = int(sum(len(frame) for frame in sources.values()))
    integrated = backend.to_host(integrate_channels(sources, mapping, channel_col=channel_col))
    panel.require_columns(integrated, [*ORDER_COLS, channel_col], "for channel revenue")
    panel.require_numeric(integrated, ["quantity", "unit_price"], "for channel revenue")
    panel.require_datetime(integrated, "order_ts")
    panel.time_values(integrated, "order_ts")  # as for the marketing dates: years 1677-2262 only
    names = integrated[channel_col].astype(str)
    unknown = ~names.isin(known)
    if unknown.any():
        panel.fail(channel_col, f"unknown channel in orders (expected {known})", int(unknown.sum()),
                   sorted(set(names[unknown]))[: panel.KEYS_SHOWN])
    revenue = _line_revenue(integrated)
    across = rows_in - len(integrated)
    revenue_across = 0.0
    if across:
        every = backend.to_host(integrate_channels(sources, mapping, channel_col=channel_col, dedupe_on=None))
        revenue_across = float(_line_revenue(every).sum() - revenue.sum())
    reason = _reasons(integrated, names, mkt, time_col, channel_col)
    keep = reason == len(DROP_REASONS)
    dropped = {"seen_in_two_systems": across, **{r: int((reason == i).sum()) for i, r in enumerate(DROP_REASONS)
                                                 if i > 0}}
    revenue_dropped = {"seen_in_two_systems": revenue_across,
                       **{r: float(revenue[reason == i].sum()) for i, r in enumerate(DROP_REASONS) if i > 0}}
    result = _join(mkt, integrated, names, revenue, keep, known, time_col, channel_col)
    out = PanelReport(rows_in=rows_in, rows_used=int(keep.sum()), dropped=dropped,
                      revenue_in=float(revenue.sum()) + revenue_across, revenue_used=float(revenue[keep].sum()),
                      revenue_dropped=revenue_dropped)
    _warn_calendar(out, mkt, time_col)
    if report is not None:
        report.append(out)
    return panel.from_host(marketing, result)


def _reasons(lines: pd.DataFrame, names: pd.Series, mkt: pd.DataFrame, time_col: str, channel_col: str
             ) -> np.ndarray:
    """Index into :data:`DROP_REASONS` of the first rule each line breaks (``len`` when none)."""
    qty = lines["quantity"].to_numpy(dtype="float64", na_value=np.nan)
    price = lines["unit_price"].to_numpy(dtype="float64", na_value=np.nan)
    day = lines["order_ts"].dt.floor("D")
    calendar = mkt[time_col].to_numpy(dtype="datetime64[ns]")
    days = day.to_numpy(dtype="datetime64[ns]")
    first, last = calendar.min(), calendar.max()
    slots = pd.MultiIndex.from_arrays([mkt[time_col], mkt[channel_col]])
    rules = [
        np.zeros(len(lines), dtype=bool),  # seen in two systems: already removed by integrate_channels
        lines.duplicated(keep="first").to_numpy(),
        qty < 0,
        ~(np.isfinite(qty) & np.isfinite(price)),
        np.isnat(days),
        (days < first) | (days > last),
        ~pd.MultiIndex.from_arrays([day, names]).isin(slots),
    ]
    reason = np.full(len(lines), len(DROP_REASONS), dtype=np.int64)
    for index in reversed(range(len(rules))):
        reason[rules[index]] = index
    return reason


def _join(mkt: pd.DataFrame, lines: pd.DataFrame, names: pd.Series, revenue: np.ndarray, keep: np.ndarray,
          known: list[str], time_col: str, channel_col: str) -> pd.DataFrame:
    used = pd.DataFrame({
        time_col: lines["order_ts"].to_numpy(dtype="datetime64[ns]")[keep],
        channel_col: names.to_numpy()[keep],
        "order_id": lines["order_id"].to_numpy()[keep],
        "units": lines["quantity"].to_numpy(dtype="float64", na_value=np.nan)[keep],
        "revenue": revenue[keep],
    })
    used[time_col] = used[time_col].dt.floor("D")
    daily = used.groupby([time_col, channel_col]).agg(
        revenue=("revenue", "sum"), units=("units", "sum"), orders=("order_id", "nunique")).reset_index()
    daily[time_col] = daily[time_col].astype(mkt[time_col].dtype)
    result = mkt.merge(daily, on=[time_col, channel_col], how="left")
    result[list(PANEL_COLS)] = result[list(PANEL_COLS)].fillna(0.0).astype("float64")
    result = result.sort_values([time_col, channel_col], kind="stable").reset_index(drop=True)
    result[channel_col] = pd.Categorical(result[channel_col], categories=known)
    return result


def _warn_calendar(report: PanelReport, mkt: pd.DataFrame, time_col: str) -> None:
    lines = report.dropped["outside_marketing_calendar"] + report.dropped["no_marketing_row"]
    if not lines:
        return
    revenue = report.revenue_dropped["outside_marketing_calendar"] + report.revenue_dropped["no_marketing_row"]
    share = revenue / report.revenue_in if report.revenue_in else 0.0
    warnings.warn(f"channel_panel: {lines} order lines ({share:.1%} of revenue) fall outside the marketing calendar "
                  f"({mkt[time_col].min():%Y-%m-%d} .. {mkt[time_col].max():%Y-%m-%d}) or on days without a "
                  "marketing row for their channel; they are left out of the panel (see the PanelReport)",
                  UserWarning, stacklevel=3)
