"""Daily review signals per series, leak-free, as exogenous columns for forecasting.

:func:`review_signals` turns scored reviews (:func:`toolkit.text.score_reviews`) into
columns of a panel (e.g. the sales table): for every panel row of day ``d`` it reads only
reviews written **before day d - lag + 1** (timestamps up to the end of day ``d - lag``):

* ``review_count`` -- reviews written on day ``d - lag``; ``review_sentiment`` -- their mean
  sentiment; ``complaint_share_<aspect>`` -- the share of them complaining about the aspect;
* the same, exponentially weighted over days with each half-life ``h`` (suffix ``_ewm<h>``):
  the count's EWM, and the ratio of the EWM of sums to the EWM of counts for the mean and the
  shares (a review-weighted mean that forgets with half-life ``h``).

**Leak-freedom.** With ``lag = H``, the horizon of a forecast made at the end of day ``o``,
every row of the forecast (days ``o + 1 .. o + H``) reads reviews up to day ``o`` only -- the
forecast origin -- so the columns can go to :class:`toolkit.features.FeatureSpec` ``exog``
and :func:`toolkit.forecast.backtest` (which takes future exogenous values from the panel)
without look-ahead; ``tests/unit/test_text_signals.py`` checks that truncating the reviews at
the origin leaves those rows unchanged. ``lag=1`` gives the freshest leak-free value for a
one-step-ahead use.

Signals are aggregated per ``by`` group (default ``"sku"``: all locations together, which
is denser than per series) and joined onto every panel row of that group.

Input policy: reviews with a missing timestamp or key are not used and are counted
(``n_missing``), so are reviews whose group is not in the panel (``n_unmatched``) and reviews
too late to reach any row (``n_late``); a day without reviews has count 0, mean sentiment 0
and shares 0 (the EWMs carry the last information); a group with no review yet reads 0
everywhere. Sentiment and complaint flags must be finite and present (NaN/inf are refused,
naming the column): one would poison every later value of its group.

Examples
--------
>>> import pandas as pd
>>> from toolkit.text import review_signals
>>> reviews = pd.DataFrame({"sku": ["a", "a"], "review_ts": pd.to_datetime(["2024-01-01 10:00", "2024-01-02 09:00"]),
...                         "sentiment": [0.5, -0.5], "complaint_delivery": [False, True]})
>>> sales = pd.DataFrame({"sku": "a", "date": pd.date_range("2024-01-01", periods=4)})
>>> out = review_signals(reviews, sales, aspects=("delivery",), halflife=(1,))
>>> out.frame["review_count"].tolist(), out.frame["complaint_share_delivery"].tolist()
([0.0, 1.0, 1.0, 0.0], [0.0, 0.0, 1.0, 0.0])
"""

from __future__ import annotations

import dataclasses
import math
from typing import Any, Sequence

from toolkit import panel
from toolkit.backend import array_namespace, to_host
from toolkit.errors import DataValidationError
from toolkit.panel import frames
from toolkit.text.lexicon import ASPECTS

__all__ = ["ReviewSignals", "review_signals", "signal_columns", "group_codes", "DAY_NS"]

DAY_NS = 86_400 * 10**9


@dataclasses.dataclass
class ReviewSignals:
    """The panel with its review columns, and how every review was used.

    Attributes
    ----------
    frame : frame
        The panel (same library, index and row order) with :attr:`columns` added.
    columns : list of str
        The signal columns, for ``FeatureSpec(exog=...)``.
    n_reviews, n_used, n_missing, n_unmatched, n_late : int
        Reviews given; used by some panel row; without timestamp or key; of a group absent
        from the panel; written after the last day any row reads.
    """

    frame: Any
    columns: list
    n_reviews: int
    n_used: int
    n_missing: int
    n_unmatched: int
    n_late: int


def signal_columns(aspects: Sequence[str] = ASPECTS, halflife: Sequence[float] = (7, 28)) -> list[str]:
    """Names of the columns :func:`review_signals` writes, in order."""
    daily = ["review_count", "review_sentiment", *(f"complaint_share_{a}" for a in aspects)]
    return daily + [f"{name}_ewm{h:g}" for h in halflife for name in daily]


def group_codes(left: Any, right: Any, by: list[str]) -> tuple[Any, Any, int]:
    """Joint group numbers of the ``by`` keys of two frames of one library (rows with a missing key: -1)."""
    both = frames.concat([left[by], right[by]], ignore_index=True)
    codes = both.groupby(by, sort=True, observed=True, dropna=True).ngroup()
    values = frames.values(codes.to_frame(name="g"), "g")
    xp = array_namespace(values)
    values = xp.where(xp.isnan(values), -1.0, values)
    codes = xp.astype(values, xp.int64)
    n_groups = int(xp.max(codes)) + 1 if codes.shape[0] else 0
    return codes[:len(left)], codes[len(left):], n_groups


def _ewm(xp: Any, daily: Any, halflife: float) -> Any:
    """EWM along axis 0 (days) of ``daily`` (days, ...): ``e[t] = a x[t] + (1 - a) e[t-1]``, ``e[-1] = 0``."""
    alpha = 1.0 - math.exp(math.log(0.5) / halflife)
    out = xp.empty_like(daily)
    state = xp.zeros_like(daily[0])
    for t in range(daily.shape[0]):
        state = alpha * daily[t] + (1.0 - alpha) * state
        out[t] = state
    return out


def _ratio(xp: Any, num: Any, den: Any) -> Any:
    return xp.where(den > 0, num / xp.where(den > 0, den, 1.0), 0.0)


def _check(reviews: Any, table: Any, by: list[str], time_col: str, panel_time_col: str, sentiment_col: str,
           complaint_cols: list[str]) -> None:
    panel.check_frame(reviews, "reviews", dask=False)
    panel.check_frame(table, "panel", dask=False)
    panel.require_columns(reviews, [*by, time_col, sentiment_col, *complaint_cols],
                          "in reviews (score them with toolkit.text.score_reviews)")
    panel.require_columns(table, [*by, panel_time_col], "in the panel")
    panel.require_datetime(reviews, time_col)
    panel.require_datetime(table, panel_time_col)
    panel.require_numeric(reviews, [sentiment_col, *complaint_cols], "for review signals")
    panel.require_finite(reviews, [sentiment_col, *complaint_cols], by, allow_nan=False, purpose="for review signals")
    panel.require_not_null(table, [*by, panel_time_col], by, "to place review signals")


def review_signals(reviews: Any, panel_df: Any, by: str | Sequence[str] = "sku", time_col: str = "review_ts",
                   panel_time_col: str = "date", lag: int = 1, halflife: Sequence[float] = (7, 28),
                   aspects: Sequence[str] = ASPECTS, sentiment_col: str = "sentiment") -> ReviewSignals:
    """Leak-free daily review signals of each ``by`` group, joined onto the rows of ``panel_df``.

    Parameters
    ----------
    reviews : pandas or cuDF DataFrame
        Scored reviews: ``by`` keys, datetime ``time_col``, ``sentiment_col`` and
        ``complaint_<a>`` for every aspect of ``aspects``.
    panel_df : frame of the same library
        Rows to give signals to: ``by`` keys and a datetime ``panel_time_col`` (daily).
    by : str or list of str, default "sku"
    time_col, panel_time_col : str
    lag : int >= 1, default 1
        A row of day ``d`` reads reviews up to the end of day ``d - lag``; use the forecast
        horizon for forecasting (see the module notes).
    halflife : sequence of float > 0, default (7, 28)
        Half-lives in days of the EWM columns (empty: daily columns only).
    aspects : sequence of str
    sentiment_col : str

    Returns
    -------
    ReviewSignals

    Raises
    ------
    DataValidationError
        Not in-memory frames, missing or mistyped columns, non-finite sentiment, missing panel
        keys or dates, ``lag < 1``, a half-life that is not a positive number.
    """
    by = panel.as_list(by, "by")
    if not by:
        raise DataValidationError.for_parameter("by", "names no column", by)
    aspects = [str(a) for a in panel.as_list(aspects, "aspects")]
    complaint_cols = [f"complaint_{a}" for a in aspects]
    _check(reviews, panel_df, by, time_col, panel_time_col, sentiment_col, complaint_cols)
    lag = panel.check_int("lag", lag, minimum=1)
    if isinstance(halflife, (str, bytes)) or not hasattr(halflife, "__iter__"):
        raise DataValidationError.for_parameter("halflife", "expected a sequence of half-lives in days", halflife)
    halflife = [panel.check_number("halflife", h, 0.0, low_open=True) for h in halflife]

    row_group, review_group, n_groups = group_codes(panel_df, reviews, by)
    xp = array_namespace(row_group)
    row_day = xp.floor_divide(frames.time_values(panel_df, panel_time_col), DAY_NS)
    ts = frames.time_values(reviews, time_col)
    missing_time = ts == xp.iinfo(xp.int64).min
    review_day = xp.floor_divide(ts, DAY_NS)
    missing = missing_time | (review_group < 0)
    present = xp.zeros(max(n_groups, 1), dtype=bool)
    if row_group.shape[0]:
        present[row_group] = True
    unmatched = ~missing & ~xp.take(present, xp.where(review_group >= 0, review_group, 0))
    last_read = int(xp.max(row_day)) - lag if row_day.shape[0] else -(2**62)
    late = ~missing & ~unmatched & (review_day > last_read)
    used = ~missing & ~unmatched & ~late
    first_day = min(int(xp.min(row_day)) - lag if row_day.shape[0] else 0,
                    int(xp.min(review_day[used])) if bool(xp.any(used)) else 0)
    n_days = max(last_read - first_day + 1, 1)

    cell = review_group[used] * n_days + (review_day[used] - first_day)
    size = max(n_groups, 1) * n_days

    def daily(weights: Any) -> Any:
        grid = xp.bincount(cell, weights=weights, minlength=size)
        return xp.reshape(grid, (max(n_groups, 1), n_days)).T  # (days, groups)

    quantities = [daily(xp.ones(cell.shape[0], dtype=xp.float64)),
                  daily(frames.values(reviews, sentiment_col)[used])]
    quantities += [daily(frames.values(reviews, c)[used]) for c in complaint_cols]
    stack = xp.stack(quantities, axis=-1)  # (days, groups, 2 + aspects)

    def as_signals(sums: Any) -> list[Any]:
        count = sums[..., 0]
        return [count, _ratio(xp, sums[..., 1], count)] + [_ratio(xp, sums[..., 2 + a], count)
                                                          for a in range(len(aspects))]

    grids = as_signals(stack)
    for h in halflife:
        grids += as_signals(_ewm(xp, stack, h))
    read = row_day - lag - first_day  # the day each row reads
    valid = read >= 0
    at = xp.where(valid, read, 0)
    names = signal_columns(aspects, halflife)
    columns = {name: xp.where(valid, grid[at, row_group], 0.0) for name, grid in zip(names, grids)}
    counts = [int(to_host(xp.sum(mask))) for mask in (used, missing, unmatched, late)]
    return ReviewSignals(frames.assign(panel_df, columns), names, int(reviews.shape[0]), *counts)
