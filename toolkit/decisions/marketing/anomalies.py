"""Marketing anomalies: click fraud and abnormal media prices per channel, joined into incidents.

Click fraud raises clicks without conversions (:func:`toolkit.anomaly.click_fraud`), and more
clicks than impressions (clicks on a day without ads) is fraud outright; a spend anomaly is a
day whose cost per thousand impressions is far from the channel's usual price (robust z of
its log with :func:`toolkit.anomaly.detect`, ``method="robust_z"``): money spent on
impressions that were never served, or a bidding error.

Non-finite values are refused: the media columns must be finite and >= 0 (named by column and
(date, channel) keys). A day without impressions has no cost per thousand and gets a spend
score of 0 (it cannot be judged on price). The table is small: it is scored on the host and
comes back in ``marketing``'s frame library.

Examples
--------
>>> from toolkit.datasets import make_retail
>>> from toolkit.decisions.marketing import marketing_anomalies
>>> data = make_retail(n_skus=10, n_locations=4, n_days=120, progress=False)
>>> int(marketing_anomalies(data.marketing).days["click_fraud"].sum()) >= 1
True
"""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np
import pandas as pd

from toolkit import backend, panel
from toolkit.decisions.marketing.channels import MEDIA_COLS, check_media

__all__ = ["MarketingAnomalies", "marketing_anomalies"]


@dataclasses.dataclass
class MarketingAnomalies:
    """Click-fraud and spend anomalies from :func:`marketing_anomalies`.

    Attributes
    ----------
    days : frame
        ``marketing`` with ``ctr``, ``cvr``, ``click_score``, ``click_fraud`` (from
        :func:`toolkit.anomaly.click_fraud`), ``cpm``, ``spend_score`` and ``spend_anomaly``
        (robust z of log cost per thousand impressions within the channel, flagged above ``k``),
        ``anomaly_score`` (the larger score) and ``is_anomaly`` (either flag).
    incidents : frame
        :func:`toolkit.anomaly.alarms` of the flagged days per channel.
    """

    days: Any
    incidents: Any


def marketing_anomalies(
    marketing: Any,
    channel_col: str = "channel",
    time_col: str = "date",
    k: float = 5.0,
    min_hits: int = 1,
    window: float = 3,
) -> MarketingAnomalies:
    """Click fraud and abnormal media prices per channel, joined into incidents.

    Parameters
    ----------
    marketing : pandas or cudf DataFrame
        One row per (date, channel): ``spend, impressions, clicks, conversions``.
    k : float
        Robust z cut-off of both rules (> 0; 5: with a few channels over a year or two, a 3.5
        cut-off raises several false alarms a year per channel).
    min_hits, window : as in :func:`toolkit.anomaly.alarms`.

    Returns
    -------
    MarketingAnomalies

    Raises
    ------
    DataValidationError
        Non-frame or Dask input, missing columns, negative, missing or infinite media values,
        a bad ``k``.

    Examples
    --------
    >>> from toolkit.datasets import make_retail
    >>> data = make_retail(n_skus=10, n_locations=4, n_days=120, progress=False)
    >>> found = marketing_anomalies(data.marketing)
    >>> int(found.days["click_fraud"].sum()) >= 1
    True
    """
    from toolkit.anomaly import alarms, click_fraud, detect

    panel.check_frame(marketing, "marketing", dask=False)
    k = panel.check_number("k", k, 0.0, low_open=True)
    purpose = "for marketing anomalies"
    panel.require_columns(marketing, [time_col, channel_col, *MEDIA_COLS], purpose)
    panel.require_not_empty(marketing, purpose)
    host = backend.to_host(marketing)
    panel.require_not_null(host, [time_col, channel_col], [time_col, channel_col], purpose)
    check_media(host, MEDIA_COLS, [time_col, channel_col], purpose)
    clicks = click_fraud(host, id_cols=channel_col, k=k).rename(
        columns={"anomaly_score": "click_score", "is_anomaly": "click_fraud"})
    impressions = clicks["impressions"].astype("float64")
    # More clicks than impressions (e.g. clicks on a dark day) cannot be real; the robust z
    # cannot score them (no click-through rate), so they rank just above every scored day.
    impossible = clicks["clicks"].astype("float64") > impressions
    if bool(impossible.any()):
        top = float(clicks["click_score"].max()) if bool(clicks["click_score"].notna().any()) else 0.0
        clicks["click_score"] = clicks["click_score"].where(~impossible, max(top, k) + 1.0)
        clicks["click_fraud"] = clicks["click_fraud"] | impossible
    clicks["cpm"] = clicks["spend"].astype("float64") / impressions.where(impressions > 0) * 1000.0
    positive = clicks["cpm"].where(clicks["cpm"] > 0)
    work = pd.DataFrame({channel_col: clicks[channel_col], time_col: clicks[time_col], "log_cpm": np.log(positive)})
    scored = detect(work, "log_cpm", method="robust_z", id_cols=channel_col, time_col=time_col)
    score = scored["anomaly_score"].fillna(0.0).to_numpy()
    clicks["spend_score"] = score
    clicks["spend_anomaly"] = score > k
    clicks["anomaly_score"] = clicks[["click_score", "spend_score"]].max(axis=1)
    clicks["is_anomaly"] = clicks["click_fraud"] | clicks["spend_anomaly"]
    incidents = alarms(clicks, min_hits=min_hits, window=window, id_cols=channel_col, time_col=time_col)
    return MarketingAnomalies(days=panel.from_host(marketing, clicks), incidents=panel.from_host(marketing,
                                                                                                     incidents))
