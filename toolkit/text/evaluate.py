"""How well complaint alerts find the generator's incidents, and how early.

:func:`incident_table` reads the latent incidents of a generated dataset from its ``truth``
(one row per incident and active day, table ``"reviews"``; see
:mod:`toolkit.datasets.incidents`) into one row per incident: its type and aspect, the sku
or carrier, the first and last day, the **demand onset** -- the first day demand is below
normal (batch defects: the first day the truth's demand multiplier is below 1; price
increases: the first day, since demand follows the price at once; carrier problems: none) --
and the deepest multiplier. Overlapping incidents of one type and sku (or carrier), which the
generator does not draw, would read as one.

:func:`match_alerts` pairs them with :func:`toolkit.text.complaint_alerts`: an incident is
detected when an alert of its sku (or carrier) and aspect is first seen between its first day
and ``grace_days`` after its last; ``detected_at`` is the earliest such alert,
``lead_days = demand_onset - detected_at`` (positive: the alert came before demand fell).
Alerts matching no incident are counted as false alarms (some are real: the generator also
has short carrier-lane delays that customers notice).

Examples
--------
>>> import pandas as pd
>>> from toolkit.text.evaluate import incident_table
>>> truth = pd.DataFrame({"table": "reviews", "type": "damaged_batch", "sku": "A", "carrier": None,
...                       "date": pd.date_range("2024-03-01", periods=4), "magnitude": [1.0, 1.0, 0.8, 0.6]})
>>> incident_table(truth)[["sku", "aspect", "demand_onset", "depth"]].values.tolist()
[['A', 'damage', Timestamp('2024-03-03 00:00:00'), 0.6]]
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from toolkit import panel
from toolkit.backend import to_host
from toolkit.datasets.incidents import INCIDENT_ASPECT
from toolkit.errors import DataValidationError

__all__ = ["incident_table", "match_alerts", "INCIDENT_COLUMNS"]

INCIDENT_COLUMNS = ("type", "aspect", "sku", "carrier", "start", "end", "demand_onset", "depth")
_DAY = pd.Timedelta(days=1)


def incident_table(truth: Any) -> pd.DataFrame:
    """One row per latent incident of a generated ``truth`` table (pandas).

    Raises
    ------
    DataValidationError
        Not a frame, or without the truth columns used (table, type, sku, carrier, date,
        magnitude).
    """
    panel.check_frame(truth, "truth", dask=False)
    panel.require_columns(truth, ["table", "type", "sku", "carrier", "date", "magnitude"], "(a generated truth)")
    panel.require_datetime(truth, "date")
    host = to_host(truth)
    rows = host[(host["table"] == "reviews") & host["type"].isin(list(INCIDENT_ASPECT))]
    rows = rows.assign(sku=rows["sku"].astype(object), carrier=rows["carrier"].astype(object))
    rows = rows.sort_values(["type", "sku", "carrier", "date"], na_position="first", kind="stable")
    key = pd.Series(list(zip(rows["type"].astype(object), rows["sku"].fillna("-"), rows["carrier"].fillna("-"))),
                    index=rows.index, dtype=object)
    new_run = (key != key.shift()) | (rows["date"].diff() > _DAY)  # a repeated day (overlap) continues a run
    run = new_run.cumsum().to_numpy()
    out = []
    for _, part in rows.groupby(run, sort=True):
        kind = str(part["type"].iloc[0])
        magnitude = part["magnitude"].to_numpy(dtype=float)
        if kind == "price_increase":
            onset, depth = part["date"].iloc[0], float(magnitude.max())
        elif kind == "carrier_problem":
            onset, depth = pd.NaT, float(magnitude.max())
        else:
            below = np.flatnonzero(magnitude < 1.0)
            onset = part["date"].iloc[below[0]] if below.size else pd.NaT
            depth = float(magnitude.min())
        out.append({"type": kind, "aspect": INCIDENT_ASPECT[kind], "sku": part["sku"].iloc[0],
                    "carrier": part["carrier"].iloc[0], "start": part["date"].iloc[0], "end": part["date"].iloc[-1],
                    "demand_onset": onset, "depth": depth})
    table = pd.DataFrame(out, columns=list(INCIDENT_COLUMNS))
    for col in ("start", "end", "demand_onset"):
        table[col] = pd.to_datetime(table[col]).astype("datetime64[ns]")
    return table.sort_values(["start", "type"], kind="stable").reset_index(drop=True)


def match_alerts(alerts: Any, incidents: pd.DataFrame, key: str = "sku", grace_days: float = 7.0,
                 same_aspect: bool = True) -> tuple[pd.DataFrame, dict[str, float]]:
    """Detection of each incident by the alerts, and the summary.

    Parameters
    ----------
    alerts : frame
        :func:`toolkit.text.complaint_alerts` output with a ``key`` column.
    incidents : DataFrame
        :func:`incident_table` output; only incidents with a ``key`` are evaluated.
    key : {"sku", "carrier"}
    grace_days : float >= 0
        An alert first seen up to this many days after an incident's last day still counts.
    same_aspect : bool
        Require the alert's aspect to be the incident's.

    Returns
    -------
    (per_incident, summary)
        ``per_incident``: the incidents with ``detected``, ``detected_at``, ``delay_days``
        (detected_at - start) and ``lead_days`` (demand_onset - detected_at). ``summary``:
        ``n_incidents``, ``recall``, ``mean_lead_days`` and ``share_before_onset`` (over detected
        incidents with a demand onset), ``n_alerts``, ``false_alarms``, ``precision``.
    """
    key = panel.check_choice("key", key, ("sku", "carrier"))
    grace = pd.Timedelta(days=panel.check_number("grace_days", grace_days, 0.0))
    panel.check_frame(alerts, "alerts", dask=False)
    panel.require_columns(alerts, [key, "aspect", "first_seen"], "(complaint_alerts output)")
    panel.check_frame(incidents, "incidents", dask=False)
    panel.require_columns(incidents, list(INCIDENT_COLUMNS), "(incident_table output)")
    if not isinstance(same_aspect, bool):
        raise DataValidationError.for_parameter("same_aspect", "expected True or False", same_aspect)
    alert_host = to_host(alerts).reset_index(drop=True)
    evaluated = incidents[incidents[key].notna()].reset_index(drop=True)
    detected_at, matched = [], np.zeros(len(alert_host), dtype=bool)
    alert_key = alert_host[key].astype(str).to_numpy()
    for inc in evaluated.itertuples(index=False):
        hit = (alert_key == str(getattr(inc, key))) \
            & (alert_host["first_seen"] >= inc.start).to_numpy() \
            & (alert_host["first_seen"] <= inc.end + grace).to_numpy()
        if same_aspect:
            hit &= (alert_host["aspect"] == inc.aspect).to_numpy()
        matched |= hit
        detected_at.append(alert_host.loc[hit, "first_seen"].min() if hit.any() else pd.NaT)
    per = evaluated.assign(detected_at=pd.to_datetime(pd.Series(detected_at, dtype="datetime64[ns]")))
    per["detected"] = per["detected_at"].notna()
    per["delay_days"] = (per["detected_at"] - per["start"]) / _DAY
    per["lead_days"] = (per["demand_onset"] - per["detected_at"]) / _DAY
    timed = per[per["detected"] & per["demand_onset"].notna()]
    summary = {
        "n_incidents": float(len(per)),
        "recall": float(per["detected"].mean()) if len(per) else float("nan"),
        "mean_lead_days": float(timed["lead_days"].mean()) if len(timed) else float("nan"),
        "share_before_onset": float((timed["lead_days"] > 0).mean()) if len(timed) else float("nan"),
        "n_alerts": float(len(alert_host)),
        "false_alarms": float((~matched).sum()),
        "precision": float(matched.mean()) if len(alert_host) else float("nan"),
    }
    return per, summary
