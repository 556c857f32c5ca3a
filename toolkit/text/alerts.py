"""Alerts when complaints about one aspect surge for a sku, supplier or carrier, with example reviews.

:func:`complaint_alerts` counts, per group of ``by`` (a sku, a supplier, a carrier: any
column of the scored reviews) and aspect, the complaints of each day, and scores every day
with a **causal surge statistic** -- only reviews up to that day enter it, so an alert is
raised on the day it could have been raised:

* ``recent``: complaints in the last ``window`` days, out of ``n_recent`` reviews;
* ``expected = n_recent x share``, where ``share`` is the group's complaint share of that
  aspect over the ``baseline`` days before the window, shrunk towards the share of all groups
  so far with the weight of ``prior_reviews`` reviews (a new or quiet group is judged against
  everyone);
* ``surge_score = (recent - expected) / sqrt(expected + 0.5)``, a Poisson z-score; 0 on days
  before all groups together have ``prior_reviews`` reviews ahead of the window (no history
  yet to say what is normal).

Delivery complaints follow carriers more than skus: watch them per carrier (``by="carrier"``
after joining the shipments), and the product aspects per sku or supplier.

A day is flagged when ``surge_score >= threshold`` and ``recent >= min_complaints``; the flags
go to :func:`toolkit.anomaly.alarms`, which merges flags of one group and aspect less than
``window`` days apart into one incident. Each incident comes with up to ``n_examples`` of the
most negative complaints about that aspect written in the window before it was first seen:
the explanation a planner reads.

Input policy: reviews with a missing timestamp or key are not used and are counted in the
result's ``attrs["n_missing"]``; complaint columns are booleans (or 0/1) and, like sentiment,
must be finite and present (refused by name otherwise).

Examples
--------
>>> import pandas as pd
>>> from toolkit.text import complaint_alerts
>>> days = pd.date_range("2024-01-01", periods=40)
>>> reviews = pd.DataFrame({"sku": "a", "review_ts": days.repeat(2), "sentiment": -0.5,
...                         "text": "arrived broken", "complaint_damage": [False] * 60 + [True] * 20})
>>> alerts = complaint_alerts(reviews, aspects=("damage",), min_complaints=3)
>>> alerts[["sku", "aspect", "first_seen"]].values.tolist()
[['a', 'damage', Timestamp('2024-02-01 00:00:00')]]
"""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np

from toolkit import panel
from toolkit.anomaly import alarms
from toolkit.backend import array_namespace, to_host
from toolkit.errors import DataValidationError
from toolkit.panel import frames
from toolkit.text.lexicon import ASPECTS
from toolkit.text.normalize import text_column
from toolkit.text.signals import DAY_NS, group_codes

__all__ = ["complaint_alerts", "surge_scores", "ALERT_COLUMNS"]

ALERT_COLUMNS = ("aspect", "first_seen", "last_seen", "n_hits", "peak_score", "peak_at", "duration_days",
                 "complaints", "examples")


def _window_sum(xp: Any, daily: Any, width: int, end_shift: int = 0) -> Any:
    """Sums along axis 0 of ``daily`` over days ``(t - end_shift - width, t - end_shift]``."""
    cum = xp.concat([xp.zeros_like(daily[:1]), xp.cumsum(daily, axis=0)], axis=0)
    n = daily.shape[0]
    t = xp.arange(n)
    hi = xp.clip(t + 1 - end_shift, 0, n)
    lo = xp.clip(t + 1 - end_shift - width, 0, n)
    return xp.take(cum, hi, axis=0) - xp.take(cum, lo, axis=0)


def surge_scores(complaints: Any, reviews: Any, window: int = 7, baseline: int = 56, prior_reviews: float = 20.0
                 ) -> tuple[Any, Any]:
    """Causal surge scores of daily counts.

    Parameters
    ----------
    complaints : array (days, groups, aspects)
        Complaints per day.
    reviews : array (days, groups)
        Reviews per day.
    window, baseline : int
        Days of the recent window and of the baseline before it.
    prior_reviews : float
        Weight, in reviews, of the all-groups share in each group's baseline share.

    Returns
    -------
    (score, recent) : arrays (days, groups, aspects)

    Raises
    ------
    DataValidationError
        Arrays of other shapes, negative or non-finite counts, bad window sizes.
    """
    if getattr(complaints, "ndim", None) != 3 or getattr(reviews, "ndim", None) != 2 \
            or tuple(complaints.shape[:2]) != tuple(reviews.shape):
        raise DataValidationError.for_parameter("complaints", "expected arrays (days, groups, aspects) and reviews "
                                                              "(days, groups) of matching shape",
                                                (getattr(complaints, "shape", None), getattr(reviews, "shape", None)))
    xp = array_namespace(complaints, reviews)
    for name, values in (("complaints", complaints), ("reviews", reviews)):
        if not bool(xp.all(xp.isfinite(values))) or bool(xp.any(values < 0)):
            raise DataValidationError.for_parameter(name, "counts must be finite and non-negative")
    window = panel.check_int("window", window, minimum=1)
    baseline = panel.check_int("baseline", baseline, minimum=1)
    prior_reviews = panel.check_number("prior_reviews", prior_reviews, 0.0)
    complaints, reviews = xp.astype(complaints, xp.float64), xp.astype(reviews, xp.float64)
    recent = _window_sum(xp, complaints, window)
    n_recent = _window_sum(xp, reviews, window)[..., None]
    base_c = _window_sum(xp, complaints, baseline, end_shift=window)
    base_n = _window_sum(xp, reviews, baseline, end_shift=window)[..., None]
    all_c = _window_sum(xp, xp.sum(complaints, axis=1), complaints.shape[0], end_shift=window)[:, None, :]
    all_n = _window_sum(xp, xp.sum(reviews, axis=1), complaints.shape[0], end_shift=window)[:, None, None]
    prior = xp.where(all_n > 0, all_c / xp.where(all_n > 0, all_n, 1.0), 0.0)
    share = (base_c + prior_reviews * prior) / (base_n + prior_reviews)
    expected = n_recent * share
    warm = all_n >= max(prior_reviews, 1.0)  # no score before the history says what is normal
    return xp.where(warm, (recent - expected) / xp.sqrt(expected + 0.5), 0.0), recent


def complaint_alerts(reviews: Any, by: str | Sequence[str] = "sku", aspects: Sequence[str] = ASPECTS,
                     time_col: str = "review_ts", text_col: str = "text", sentiment_col: str = "sentiment",
                     window: int = 14, baseline: int = 56, threshold: float = 3.0, min_complaints: int = 3,
                     min_days: int = 2, prior_reviews: float = 20.0, n_examples: int = 3) -> Any:
    """Incidents of surging complaints per ``by`` group and aspect, with example reviews.

    Parameters
    ----------
    reviews : pandas or cuDF DataFrame
        Scored reviews (:func:`toolkit.text.score_reviews`) with the ``by`` columns (join
        suppliers from products, carriers from shipments by ``order_id``).
    by : str or list of str, default "sku"
    aspects : sequence of str
        Aspects to watch (``complaint_<a>`` columns).
    time_col, text_col, sentiment_col : str
    window : int >= 1, default 14
        Days of the recent window; flags closer than this join one incident.
    baseline : int >= 1, default 56
        Days before the window that set the expected complaint share.
    threshold : float, default 3.0
        Surge score to flag a day.
    min_complaints : int >= 1, default 3
        Complaints in the window needed to flag a day.
    min_days : int >= 1, default 2
        Flagged days an incident needs before it is raised (``alarms``' ``min_hits``).
    prior_reviews : float >= 0, default 20
    n_examples : int >= 0, default 3

    Returns
    -------
    frame (pandas)
        One row per incident: the ``by`` keys, ``aspect``, ``first_seen``, ``last_seen``,
        ``n_hits``, ``peak_score``, ``peak_at``, ``duration_days`` (as
        :func:`toolkit.anomaly.alarms`), ``complaints`` (in the window at the peak) and
        ``examples`` (list of str); sorted by ``first_seen``. ``attrs`` holds ``n_reviews``,
        ``n_missing``.

    Raises
    ------
    DataValidationError
        Not an in-memory frame, missing or mistyped columns, bad parameters.
    """
    keys = panel.as_list(by, "by")
    if not keys:
        raise DataValidationError.for_parameter("by", "names no column", by)
    aspects = [str(a) for a in panel.as_list(aspects, "aspects")]
    if not aspects:
        raise DataValidationError.for_parameter("aspects", "names no aspect", aspects)
    complaint_cols = [f"complaint_{a}" for a in aspects]
    text_column(reviews, text_col, "reviews")
    panel.require_columns(reviews, [*keys, time_col, sentiment_col, *complaint_cols],
                          "in reviews (score them with toolkit.text.score_reviews)")
    panel.require_datetime(reviews, time_col)
    panel.require_numeric(reviews, [sentiment_col, *complaint_cols], "for complaint alerts")
    panel.require_finite(reviews, [sentiment_col, *complaint_cols], keys, allow_nan=False, purpose="for complaint alerts")
    window = panel.check_int("window", window, minimum=1)
    baseline = panel.check_int("baseline", baseline, minimum=1)
    threshold = panel.check_number("threshold", threshold)
    min_complaints = panel.check_int("min_complaints", min_complaints, minimum=1)
    min_days = panel.check_int("min_days", min_days, minimum=1)
    prior_reviews = panel.check_number("prior_reviews", prior_reviews, 0.0)
    n_examples = panel.check_int("n_examples", n_examples, minimum=0)

    group, _, n_groups = group_codes(reviews, reviews.iloc[:0], keys)
    xp = array_namespace(group)
    ts = frames.time_values(reviews, time_col)
    usable = (group >= 0) & (ts != xp.iinfo(xp.int64).min)
    day = xp.floor_divide(ts, DAY_NS)
    n_missing = int(to_host(xp.sum(~usable)))
    empty = _empty_alerts(reviews, keys, n_missing)
    if not bool(xp.any(usable)) or n_groups == 0:
        return empty
    first_day = int(xp.min(day[usable]))
    n_days = int(xp.max(day[usable])) - first_day + 1
    cell = group[usable] * n_days + (day[usable] - first_day)

    def grid(weights: Any) -> Any:
        counts = xp.bincount(cell, weights=weights, minlength=n_groups * n_days)
        return xp.reshape(counts, (n_groups, n_days)).T

    n_reviews = grid(xp.ones(cell.shape[0], dtype=xp.float64))
    complained = xp.stack([grid(frames.values(reviews, c)[usable]) for c in complaint_cols], axis=-1)
    score, recent = surge_scores(complained, n_reviews, window, baseline, prior_reviews)
    flag = (score >= threshold) & (recent >= min_complaints)
    t_idx, g_idx, a_idx = (to_host(v) for v in xp.nonzero(flag))
    if t_idx.size == 0:
        return empty
    first_rows = _first_rows(to_host(group), n_groups)
    import pandas as pd

    key_table = frames.take(reviews[keys], first_rows)
    key_host = to_host(key_table).reset_index(drop=True)
    flags = key_host.iloc[g_idx].reset_index(drop=True).assign(
        aspect=np.asarray(aspects, dtype=object)[a_idx],
        date=pd.to_datetime((first_day + t_idx) * DAY_NS),
        surge_score=to_host(score[flag]), is_surge=True,
        _group=g_idx, _aspect=a_idx, _recent=to_host(recent[flag]))
    incidents = alarms(flags, min_hits=min_days, window=float(window), id_cols=[*keys, "aspect"], time_col="date",
                       score_col="surge_score", flag_col="is_surge")
    lookup = flags.drop_duplicates([*keys, "aspect", "date"]).set_index([*keys, "aspect", "date"])
    peak = lookup.loc[list(zip(*[incidents[k] for k in keys], incidents["aspect"], incidents["peak_at"]))]
    first = lookup.loc[list(zip(*[incidents[k] for k in keys], incidents["aspect"], incidents["first_seen"]))]
    incidents = incidents.assign(complaints=peak["_recent"].to_numpy())
    examples = _examples(reviews, usable, to_host(group), to_host(day), first["_group"].to_numpy(),
                         first["_aspect"].to_numpy(), (incidents["first_seen"].to_numpy().astype("int64") // DAY_NS),
                         window, complaint_cols, text_col, sentiment_col, n_examples)
    out = incidents.assign(examples=examples).sort_values(["first_seen", *keys, "aspect"], kind="stable")
    out = out[[*keys, *ALERT_COLUMNS]].reset_index(drop=True)
    out.attrs.update(n_reviews=int(reviews.shape[0]), n_missing=n_missing)
    return out


def _first_rows(group: np.ndarray, n_groups: int) -> np.ndarray:
    """The first row of each group number (``group`` -1 rows skipped)."""
    rows = np.full(n_groups, -1, dtype=np.int64)
    valid = np.flatnonzero(group >= 0)
    order = valid[::-1]
    rows[group[order]] = order
    return rows


def _examples(reviews: Any, usable: Any, group: np.ndarray, day: np.ndarray, inc_group: np.ndarray,
              inc_aspect: np.ndarray, inc_day: np.ndarray, window: int, complaint_cols: list[str], text_col: str,
              sentiment_col: str, n_examples: int) -> list[list[str]]:
    """Up to ``n_examples`` most negative complaints of each incident's group and aspect, in the window
    ending on its first day."""
    if n_examples == 0:
        return [[] for _ in inc_group]
    usable = to_host(usable)
    complaints = np.stack([to_host(frames.values(reviews, c)) > 0 for c in complaint_cols], axis=1)
    sentiment = to_host(frames.values(reviews, sentiment_col))
    out = []
    for g, a, d in zip(inc_group, inc_aspect, inc_day):
        rows = np.flatnonzero(usable & (group == g) & complaints[:, a] & (day <= d) & (day > d - window))
        rows = rows[np.argsort(sentiment[rows], kind="stable")[:n_examples]]
        picked = to_host(frames.take(reviews[text_col], rows)).tolist() if rows.size else []
        out.append([str(t) for t in picked])
    return out


def _empty_alerts(reviews: Any, keys: list[str], n_missing: int) -> Any:
    import pandas as pd

    columns = {k: pd.Series([], dtype=object) for k in keys}
    columns.update(aspect=pd.Series([], dtype=object), first_seen=pd.Series([], dtype="datetime64[ns]"),
                   last_seen=pd.Series([], dtype="datetime64[ns]"), n_hits=pd.Series([], dtype="int64"),
                   peak_score=pd.Series([], dtype="float64"), peak_at=pd.Series([], dtype="datetime64[ns]"),
                   duration_days=pd.Series([], dtype="float64"), complaints=pd.Series([], dtype="float64"),
                   examples=pd.Series([], dtype=object))
    out = pd.DataFrame(columns)
    out.attrs.update(n_reviews=int(reviews.shape[0]), n_missing=n_missing)
    return out

