"""Commerce features: price and promotion, a channel's share of its sku, past-only target encoding.

* **Prices are known in advance**, so price features use the row's own price; shares and
  encodings of the *target* use strictly earlier rows or dates only (no leakage).
* **Groups without groupby.** Statistics of a group of rows (the median price of a category
  on a date, the units of a sku on a date, the past units of a key) come from a
  :class:`~toolkit.panel.SeriesLayout` over the group's columns and the segment kernels of
  :mod:`toolkit.kernels.segments`: one code path for pandas and cuDF.
* **Missing values.** NaN targets, prices and promotions are missing: they are left out of
  sums, medians and encodings as pandas' groupby leaves them out; +-inf is rejected naming
  the column and keys (:mod:`toolkit.features.inputs`). Missing category or encoding keys
  are refused (a row with no group cannot be compared with its group).
* **Dask.** Price features and channel shares are per series (a sku's locations are kept in
  one partition for the shares); target encoding shuffles by its key.

Examples
--------
>>> import pandas as pd
>>> from toolkit.features import add_price_features
>>> df = pd.DataFrame({"sku": "a", "date": pd.date_range("2024-01-01", periods=3), "price": [10.0, 8.0, 10.0]})
>>> add_price_features(df, promo_col=None, id_cols="sku")["discount_depth"].round(2).tolist()
[0.0, 0.2, 0.0]
"""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np

from toolkit import panel
from toolkit.errors import DataValidationError
from toolkit.features.inputs import (
    check_shift,
    column_names,
    column_values,
    layout_rows,
    run_per_series,
    shift_suffix,
)
from toolkit.kernels.segments import segment_quantile, segment_sort, segment_sum
from toolkit.kernels.windows import rolling_kernel
from toolkit.panel import DEFAULT_ID_COLS, SeriesLayout, timeaxis

__all__ = ["add_price_features", "add_channel_share", "add_target_encoding"]

_NS_PER_DAY = timeaxis.fixed_nanos(timeaxis.to_offset("D"))


def _groups(df: Any, cols: Sequence[str]) -> SeriesLayout:
    """Rows grouped by the values of ``cols`` (a date column may be one of them): a segment per group."""
    return SeriesLayout.from_frame(df, cols, None, unique=False)


def _group_median(df: Any, values: Any, cols: Sequence[str]) -> Any:
    """Median of ``values`` (input order, NaN skipped) over the rows sharing ``cols``, for every row."""
    groups = _groups(df, cols)
    xp = groups.xp
    if groups.n == 0:
        return xp.zeros(0, dtype=xp.float64)
    ordered = xp.reshape(groups.gather(values), (-1, 1))
    srt, _ = segment_sort(ordered, groups.bounds, stable=False)
    counts = segment_sum(xp.astype(~xp.isnan(ordered), xp.float64), groups.bounds)
    median = segment_quantile(srt, groups.bounds, counts, 0.5)[:, 0]
    return groups.scatter(xp.take(median, groups.series_of_row))


def _group_sum(df: Any, values: Any, cols: Sequence[str]) -> Any:
    """Sum of ``values`` (input order, NaN skipped) over the rows sharing ``cols``, for every row.

    A running sum inside each group (not differences of one prefix sum over the whole panel,
    which would lose a small group next to large ones to round-off).
    """
    groups = _groups(df, cols)
    xp = groups.xp
    if groups.n == 0:
        return xp.zeros(0, dtype=xp.float64)
    running = rolling_kernel(groups.gather(values), groups, None, ("sum",), shift=0, min_periods=1)["sum"]
    sums = xp.take(running, groups.ends - 1)
    sums = xp.where(xp.isnan(sums), xp.zeros_like(sums), sums)  # a group of missing values sums to 0
    return groups.scatter(xp.take(sums, groups.series_of_row))


# ----------------------------------------------------------------------------- price and promotion


def _days_since_promo(layout: SeriesLayout, promo: Any) -> Any:
    """Days since the latest promotion row of the series (0 on one, NaN before the first)."""
    xp = layout.xp
    idx = xp.arange(layout.n, dtype=xp.int64)
    count = xp.concat([xp.zeros(1, dtype=xp.int64), xp.cumulative_sum(xp.astype(promo, xp.int64))])
    upto = xp.take(count, idx + 1)
    seen = upto - xp.take(count, layout.row_starts)
    promo_rows = xp.nonzero(promo)[0]
    if promo_rows.shape[0] == 0:
        return xp.full(layout.n, xp.nan, dtype=xp.float64)
    last = xp.take(promo_rows, xp.maximum(upto - 1, xp.zeros_like(upto)))
    since = xp.astype(layout.time - xp.take(layout.time, last), xp.float64) / _NS_PER_DAY
    return xp.where(seen > 0, since, xp.asarray(xp.nan, dtype=xp.float64))


def _price_frame(df, price_col, promo_col, window, category_col, keys, time, strict=True):
    layout = layout_rows(df, keys, time, price_col, strict)
    xp = layout.xp
    raw_price = column_values(df, price_col, [*keys, time])
    price = layout.gather(raw_price)
    ref = rolling_kernel(price, layout, window, ("max",), shift=0, min_periods=1)["max"]
    with np.errstate(divide="ignore", invalid="ignore"):  # a zero price gives inf or NaN, as in pandas
        cols = {"price_ref": layout.scatter(ref), "discount_depth": layout.scatter(1.0 - price / ref)}
        if category_col:
            cols["price_rel_category"] = raw_price / _group_median(df, raw_price, [category_col, time])
    if promo_col:
        promo = layout.gather(column_values(df, promo_col, [*keys, time])) > 0
        cols["is_promo"] = layout.scatter(xp.astype(promo, xp.int8))
        cols["days_since_promo"] = layout.scatter(_days_since_promo(layout, promo))
    return panel.assign(df, cols)


def add_price_features(
    df: Any,
    price_col: str = "price",
    promo_col: str | None = "promo",
    window: int = 28,
    category_col: str | None = None,
    id_cols: str | Sequence[str] = DEFAULT_ID_COLS,
    time_col: str = "date",
) -> Any:
    """Add price and promotion features (prices are known in advance, so the row's own price is used).

    * ``price_ref``: the series' reference price, the highest price over its last ``window``
      rows including the current one;
    * ``discount_depth``: ``1 - price / price_ref`` (0 at the reference price);
    * ``price_rel_category`` (when ``category_col`` is given): price over the median price of
      the same category on the same date;
    * ``is_promo`` (int8) and ``days_since_promo`` (days since the latest promotion row of the
      series, 0 on a promotion day, NaN before the first), when ``promo_col`` is given.

    Parameters
    ----------
    df : pandas, cudf or Dask DataFrame
    price_col : str, default "price"
    promo_col : str or None, default "promo"
        Numeric or boolean; a promotion where it is above 0.
    window : int, default 28
    category_col : str, optional
        A column of ``df`` grouping comparable products (merge it from the product table).
    id_cols, time_col : str

    Returns
    -------
    frame

    Raises
    ------
    DataValidationError
        Not a frame, a missing or non-numeric column, infinite prices or promotions, missing
        category values, or the layout errors of :class:`~toolkit.panel.SeriesLayout`.

    Examples
    --------
    >>> import pandas as pd
    >>> df = pd.DataFrame({"sku": "a", "date": pd.date_range("2024-01-01", periods=4),
    ...                    "price": [10.0, 7.5, 10.0, 10.0], "promo": [False, True, False, False]})
    >>> out = add_price_features(df, id_cols="sku")
    >>> out["discount_depth"].tolist(), out["days_since_promo"].tolist()
    ([0.0, 0.25, 0.0, 0.0], [nan, 0.0, 1.0, 2.0])
    """
    window = panel.check_int("window", window, minimum=1)
    numeric = [price_col] + ([promo_col] if promo_col else [])
    return run_per_series(df, _price_frame, id_cols, time_col, numeric, "for price features",
                          extra=[category_col] if category_col else [], price_col=price_col, promo_col=promo_col,
                          window=window, category_col=category_col)


# ----------------------------------------------------------------------------- channel share


def _share_frame(df, sku_col, window, shift, target, keys, time, strict=True):
    layout = layout_rows(df, keys, time, target, strict)
    xp = layout.xp
    units = column_values(df, target, [*keys, time])
    total = _group_sum(df, units, [sku_col, time])
    own = rolling_kernel(layout.gather(units), layout, window, ("sum",), shift, 1)["sum"]
    every = rolling_kernel(layout.gather(total), layout, window, ("sum",), shift, 1)["sum"]
    share = xp.where(every > 0, own / xp.where(every > 0, every, xp.ones_like(every)),
                     xp.asarray(xp.nan, dtype=xp.float64))
    return panel.assign(df, {f"channel_share_{window}{shift_suffix(shift)}": layout.scatter(share)})


def add_channel_share(
    df: Any,
    window: int = 28,
    shift: int = 1,
    sku_col: str = "sku",
    target_col: str = "units",
    id_cols: str | Sequence[str] = DEFAULT_ID_COLS,
    time_col: str = "date",
) -> Any:
    """Add a series' share of its sku's total over the past ``window`` rows (shifted by ``shift``).

    ``channel_share_{window} = sum(own target) / sum(sku total across series)`` over the rows
    ``t-shift-window+1 .. t-shift`` of the series, where the sku total of a date sums the target
    of every series of that sku on that date. NaN when the sku sold nothing in the window.
    A Dask frame is shuffled by ``sku_col`` (so every location of a sku is in one partition).

    Parameters
    ----------
    df : pandas, cudf or Dask DataFrame
    window : int, default 28
    shift : int, default 1
    sku_col : str, default "sku"
        The key the shares add up within (must be one of ``id_cols``).
    target_col, id_cols, time_col : str

    Returns
    -------
    frame

    Examples
    --------
    >>> import pandas as pd
    >>> df = pd.DataFrame({"sku": "a", "location": ["web", "web", "app", "app"],
    ...                    "date": pd.to_datetime(["2024-01-01", "2024-01-02"] * 2),
    ...                    "units": [3.0, 0.0, 1.0, 5.0]})
    >>> add_channel_share(df, window=1)["channel_share_1"].tolist()
    [nan, 0.75, nan, 0.25]
    """
    shift = check_shift(shift)
    window = panel.check_int("window", window, minimum=1)
    ids = panel.as_list(id_cols)
    if sku_col not in ids:
        raise DataValidationError.for_parameter("sku_col", "must be one of id_cols", sku_col, ids)
    return run_per_series(df, _share_frame, ids, time_col, [target_col], "for channel share", shuffle_by=[sku_col],
                          sku_col=sku_col, window=window, shift=shift, target=target_col)


# ----------------------------------------------------------------------------- target encoding


def _encoding_frame(df, target, min_count, name, keys, time, strict=True):
    layout = layout_rows(df, keys, time, target, strict, unique=False)  # several rows may share (key, date)
    xp = layout.xp
    y = layout.gather(column_values(df, target, [*keys, time]))
    # running sum and count of the key's values up to each row (inclusive), within the key
    running = rolling_kernel(y, layout, None, ("sum", "count"), shift=0, min_periods=0)
    # the rows before the first row of each row's (key, date) run are its strictly earlier dates
    new_day = layout.position == 0
    if layout.n > 1:
        new_day[1:] |= layout.time[1:] != layout.time[:-1]
    first_of_day = xp.take(xp.nonzero(new_day)[0], xp.cumulative_sum(xp.astype(new_day, xp.int64)) - 1)
    before = xp.maximum(first_of_day - 1, xp.zeros_like(first_of_day))
    has_past = first_of_day > layout.row_starts
    past_count = xp.where(has_past, xp.take(running["count"], before), 0.0)
    past_sum = xp.where(past_count > 0, xp.take(running["sum"], before), 0.0)
    enc = xp.where(past_count >= max(min_count, 1), past_sum / xp.maximum(past_count, xp.ones_like(past_count)),
                   xp.asarray(xp.nan, dtype=xp.float64))
    return panel.assign(df, {name: layout.scatter(enc)})


def add_target_encoding(
    df: Any,
    key: str | Sequence[str],
    target_col: str = "units",
    time_col: str = "date",
    min_count: int = 1,
    name: str | None = None,
) -> Any:
    """Add the mean of the target by ``key`` over strictly earlier dates (past-only encoding).

    For a row at date ``d``, the encoding averages the non-missing target of every row with
    the same key value(s) and a date before ``d``; rows of the same date (other series) are
    excluded, so the encoding cannot leak the value it helps predict. NaN until ``min_count``
    past values exist.

    Parameters
    ----------
    df : pandas, cudf or Dask DataFrame
        Rows need not be sorted; several rows may share (key, date).
    key : str or sequence of str
        Column(s) to encode, e.g. ``"category"`` or ``["category", "location"]``.
    target_col, time_col : str
    min_count : int, default 1
    name : str, optional
        Output column (default ``te_{key}_{target}``, keys joined by ``_``).

    Returns
    -------
    frame

    Examples
    --------
    >>> import pandas as pd
    >>> df = pd.DataFrame({"category": ["x", "x", "x", "y"],
    ...                    "date": pd.to_datetime(["2024-01-01", "2024-01-01", "2024-01-02", "2024-01-02"]),
    ...                    "units": [1.0, 3.0, 10.0, 5.0]})
    >>> add_target_encoding(df, "category")["te_category_units"].tolist()
    [nan, nan, 2.0, nan]
    """
    keys = column_names(key, "key")
    min_count = panel.check_int("min_count", min_count, minimum=0)
    if name is not None and not isinstance(name, str):
        raise DataValidationError.for_parameter("name", "expected a column name (str)", name)
    name = name or f"te_{'_'.join(keys)}_{target_col}"
    return run_per_series(df, _encoding_frame, keys, time_col, [target_col], "for target encoding",
                          target=target_col, min_count=min_count, name=name)
