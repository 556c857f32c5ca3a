"""Alerts: one table format for every monitor, stable alert ids, and scoring them against the truth.

Every alert is one row of a pandas frame with :data:`ALERT_COLUMNS`: its ``type`` (one of
:data:`ALERT_TYPES`), the stream and the series it is about (``key`` as text, and the key
columns of that stream), the event time it refers to, a ``score`` (higher is more abnormal),
the observed ``value`` and what was ``expected``, a human ``reason``, and, filled in by the
engine when it is emitted, ``detected_at`` (wall time) and ``latency_s`` (from the arrival of
the first event that could have triggered it to its emission: an upper bound).

``alert_id`` is a digest of (type, stream, key, bucket or day): the same incident alerted again
after a restart (at-least-once delivery) carries the same id, so a sink can drop repeats.

:func:`evaluate_alerts` scores alerts against a truth table of incidents (type, keys, start
and end event times): recall (incidents with a matching alert), precision (alerts matching an
incident), and the detection delay in event time (first matching alert's ``event_time`` minus
the incident's start) and in wall time (its ``latency_s``).

Examples
--------
>>> import numpy as np
>>> from toolkit.stream.alerts import make_alerts
>>> a = make_alerts("demand_spike", "orders", {"sku": np.array(["a"]), "location": np.array(["web"])},
...                 event_time=np.array([0]), score=np.array([6.0]), value=np.array([30.0]),
...                 expected=np.array([5.0]), reason=["30 units so far"], bucket=np.array([0]),
...                 arrival=np.array([1.0]))
>>> a[["type", "key", "score"]].to_dict("records")
[{'type': 'demand_spike', 'key': 'sku=a location=web', 'score': 6.0}]
"""

from __future__ import annotations

import hashlib
from typing import Any, Mapping, Sequence

import numpy as np
import pandas as pd

from toolkit import panel
from toolkit.errors import DataValidationError

__all__ = ["ALERT_TYPES", "ALERT_COLUMNS", "make_alerts", "empty_alerts", "evaluate_alerts", "TRUTH_COLUMNS"]

ALERT_TYPES = ("demand_spike", "demand_drop", "stockout_risk", "shrink", "carrier_delay")
"""What the built-in monitors alert on."""
ALERT_COLUMNS = ("alert_id", "type", "stream", "key", "event_time", "score", "value", "expected", "reason",
                 "arrival", "detected_at", "latency_s")
"""Columns every alert frame has (the stream's key columns follow ``key``)."""
TRUTH_COLUMNS = ("type", "start", "end")
"""Columns a truth table needs besides the key columns of each type."""


def _digest(parts: Sequence[Any]) -> str:
    return hashlib.blake2b("\x1f".join(map(str, parts)).encode(), digest_size=8).hexdigest()


def make_alerts(kind: str, stream: str, keys: Mapping[str, Any], *, event_time: Any, score: Any, value: Any,
                expected: Any, reason: Sequence[str], bucket: Any, arrival: Any) -> pd.DataFrame:
    """Alerts of one type as a frame (:data:`ALERT_COLUMNS` plus the key columns).

    Parameters
    ----------
    kind : str
        The alert type.
    stream : str
    keys : mapping column -> array (m,)
        Key labels of each alert's series.
    event_time : int64 array (m,)
        Event time (ns) the alert refers to.
    score, value, expected : float arrays (m,)
    reason : sequence of str (m,)
    bucket : int array (m,)
        The bucket (or day) of the incident: with type, stream and key it makes the id.
    arrival : float array (m,)
        Wall time of the first event that could have triggered the alert.
    """
    names = list(keys)
    labels = [np.asarray(keys[c], dtype=object) for c in names]
    m = len(reason)
    key_text = [" ".join(f"{c}={v}" for c, v in zip(names, row)) for row in zip(*labels)] if names else [""] * m
    bucket = np.asarray(bucket).tolist()
    frame = pd.DataFrame({
        "alert_id": [_digest((kind, stream, k, b)) for k, b in zip(key_text, bucket)],
        "type": pd.Series([kind] * m, dtype=object),
        "stream": pd.Series([stream] * m, dtype=object),
        "key": pd.Series(key_text, dtype=object),
        **{c: pd.Series(v, dtype=object) for c, v in zip(names, labels)},
        "event_time": pd.to_datetime(np.asarray(event_time, dtype=np.int64), unit="ns"),
        "score": np.asarray(score, dtype=np.float64),
        "value": np.asarray(value, dtype=np.float64),
        "expected": np.asarray(expected, dtype=np.float64),
        "reason": pd.Series(list(reason), dtype=object),
        "arrival": np.asarray(arrival, dtype=np.float64),
        "detected_at": np.full(m, np.nan),
        "latency_s": np.full(m, np.nan),
    })
    return frame


def empty_alerts() -> pd.DataFrame:
    """An alert frame without rows."""
    return make_alerts("demand_spike", "", {}, event_time=[], score=[], value=[], expected=[], reason=[], bucket=[],
                       arrival=[])


def _check_table(df: Any, param: str, columns: Sequence[str]) -> None:
    panel.check_frame(df, param, dask=False)
    panel.require_columns(df, columns, f"to score alerts ({param})")


def evaluate_alerts(alerts: pd.DataFrame, truth: pd.DataFrame, keys: Mapping[str, Sequence[str]],
                    tolerance: Any = "1D") -> pd.DataFrame:
    """Recall, precision and detection delay of alerts against a truth table of incidents.

    Parameters
    ----------
    alerts : pandas.DataFrame
        Alert frame (:data:`ALERT_COLUMNS` and key columns), e.g. a ``MemorySink``'s.
    truth : pandas.DataFrame
        One row per incident: ``type``, ``start``, ``end`` (event times) and the key
        columns of its type.
    keys : mapping type -> key columns
        Which columns identify the series of each type, e.g.
        ``{"demand_spike": ["sku", "location"], "carrier_delay": ["carrier", "zone"]}``.
        Types of ``truth`` not in ``keys`` are not scored.
    tolerance : timedelta-like, default "1D"
        An alert counts for an incident when its ``event_time`` lies in
        ``[start, end + tolerance]``.

    Returns
    -------
    pandas.DataFrame
        One row per type: ``incidents``, ``detected``, ``recall``, ``alerts``,
        ``true_alerts``, ``precision``, ``delay_median_s`` / ``delay_p90_s`` (event time from
        the incident's start to its first alert) and ``latency_median_s`` (wall time).

    Raises
    ------
    DataValidationError
        Not frames, missing columns, a bad ``tolerance``.

    Examples
    --------
    >>> import pandas as pd
    >>> truth = pd.DataFrame({"type": ["shrink"], "sku": ["a"], "warehouse": ["W"],
    ...                       "start": pd.to_datetime(["2024-01-01"]), "end": pd.to_datetime(["2024-01-01"])})
    >>> alerts = pd.DataFrame({"type": ["shrink", "shrink"], "sku": ["a", "b"], "warehouse": ["W", "W"],
    ...                        "event_time": pd.to_datetime(["2024-01-01 06:00", "2024-01-01 00:00"]),
    ...                        "latency_s": [0.2, 0.1]})
    >>> evaluate_alerts(alerts, truth, {"shrink": ["sku", "warehouse"]})[["recall", "precision"]].values.tolist()
    [[1.0, 0.5]]
    """
    _check_table(alerts, "alerts", ["type", "event_time", "latency_s"])
    _check_table(truth, "truth", list(TRUTH_COLUMNS))
    if not isinstance(keys, Mapping):
        raise DataValidationError.for_parameter("keys", "expected a mapping type -> key columns", type(keys).__name__)
    try:
        slack = pd.Timedelta(tolerance)
    except (TypeError, ValueError):
        raise DataValidationError.for_parameter("tolerance", "expected a time span such as '1D' or '30min'",
                                                tolerance) from None
    rows = []
    for kind, cols in keys.items():
        cols = panel.as_list(cols, "keys")
        inc = truth[truth["type"] == kind].reset_index(drop=True)
        got = alerts[alerts["type"] == kind].reset_index(drop=True)
        panel.require_columns(inc, cols, f"to match {kind} incidents (truth)")
        panel.require_columns(got, cols, f"to match {kind} alerts")
        inc["_key"] = inc[cols].astype(str).agg("\x1f".join, axis=1) if len(inc) else ""
        got["_key"] = got[cols].astype(str).agg("\x1f".join, axis=1) if len(got) else ""
        inc["_incident"] = np.arange(len(inc))
        got["_alert"] = np.arange(len(got))
        pairs = got[["_key", "_alert", "event_time", "latency_s"]].merge(inc[["_key", "_incident", "start", "end"]],
                                                                        on="_key")
        pairs = pairs[(pairs["event_time"] >= pairs["start"]) & (pairs["event_time"] <= pairs["end"] + slack)]
        first = pairs.sort_values("event_time").drop_duplicates("_incident")
        delay = (first["event_time"] - first["start"]).dt.total_seconds()
        n_inc, n_alerts = len(inc), len(got)
        true_alerts = int(pairs["_alert"].nunique())
        rows.append({
            "type": kind, "incidents": n_inc, "detected": len(first),
            "recall": len(first) / n_inc if n_inc else np.nan,
            "alerts": n_alerts, "true_alerts": true_alerts,
            "precision": true_alerts / n_alerts if n_alerts else np.nan,
            "delay_median_s": float(delay.median()) if len(delay) else np.nan,
            "delay_p90_s": float(delay.quantile(0.9)) if len(delay) else np.nan,
            "latency_median_s": float(first["latency_s"].median()) if len(first) else np.nan,
        })
    return pd.DataFrame(rows)
