"""``evaluate``: how well scores or flags recover known anomalies (the generator's ``truth``).

Metrics: ROC-AUC and PR-AUC (average precision) of the scores, precision@k (k = number of
true anomalous rows unless given), point-wise precision/recall/F1 of the flags, and
event-level precision/recall/F1: the true anomalous rows of one series no more than
``event_gap`` days apart form one event (an injected incident counts once), an event is found
when any of its rows is flagged, and a predicted event (consecutive flags of a series) is
correct when it touches a true event. Point-adjusted F1 -- which marks a whole true segment as
found after one hit -- is deliberately not reported: it rewards random detectors.

Metrics are computed on the host with scikit-learn; cuDF inputs are copied there (labels and
scores only).

Input policy: labels are 0/1 (or booleans); scores may hold NaN (ranked last: an unscored row
is never a detection) and ``inf`` (``+inf`` ranks first, ``-inf`` last), the values
:func:`detect` and the domain detectors write; a missing flag counts as not flagged. A
truth table needs ``table`` and ``type`` columns and a scored frame to join to; unknown
``table`` names list the valid ones; anomaly ``types`` absent from the truth leave no
positive row (``n_pos = 0``, the AUCs NaN), which the result reports.

Examples
--------
>>> import numpy as np
>>> from toolkit.anomaly import evaluate
>>> m = evaluate(np.array([0, 0, 1, 0, 1]), np.array([0.1, 0.2, 0.9, 0.3, 0.8]))
>>> m["roc_auc"], m["precision_at_k"]
(1.0, 1.0)
"""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np

from toolkit import panel
from toolkit.backend import to_host
from toolkit.errors import DataValidationError
from toolkit.panel import as_list

__all__ = ["evaluate", "TRUTH_KEYS"]

#: join keys between ``truth`` and a scored table, tried in order (first fully present wins)
TRUTH_KEYS: dict[str, list[list[str]]] = {
    "sales": [["sku", "location", "date"]],
    "orders": [["order_id"]],
    "inventory": [["sku", "warehouse", "date"]],
    "shipments": [["shipment_id"], ["carrier", "zone", "date"]],
    "marketing": [["channel", "date"]],
}


def _point_metrics(y: np.ndarray, score: np.ndarray, flag: np.ndarray | None, k: int | None) -> dict:
    from sklearn.metrics import average_precision_score, roc_auc_score

    finite = np.isfinite(score)
    lo = float(score[finite].min()) - 1.0 if finite.any() else 0.0
    hi = float(score[finite].max()) + 1.0 if finite.any() else 1.0
    s = np.where(np.isposinf(score), hi, np.where(finite, score, lo))  # NaN ranks last
    n_pos = int(y.sum())
    out: dict[str, Any] = {"n": int(y.size), "n_pos": n_pos}
    both = 0 < n_pos < y.size
    out["roc_auc"] = float(roc_auc_score(y, s)) if both else float("nan")
    out["pr_auc"] = float(average_precision_score(y, s)) if both else float("nan")
    kk = int(k) if k is not None else n_pos
    top = np.argsort(-s, kind="stable")[:kk] if kk > 0 else np.zeros(0, dtype=np.int64)
    out["precision_at_k"] = float(y[top].mean()) if kk > 0 else float("nan")
    out["k"] = kk
    if flag is None:
        flag = np.zeros(y.size, dtype=bool)
        flag[top] = True
    tp = int((flag & (y == 1)).sum())
    fp = int((flag & (y == 0)).sum())
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / n_pos if n_pos else float("nan")
    out.update(precision=precision, recall=recall, f1=_f1(precision, recall), n_flagged=int(flag.sum()))
    return out


def _f1(p: float, r: float) -> float:
    return 2 * p * r / (p + r) if (p + r) > 0 and not np.isnan(r) else 0.0


def _runs(mask: np.ndarray, group: np.ndarray, days: np.ndarray, gap: float) -> np.ndarray:
    """Run id of each masked row (rows sorted by group then time); -1 for unmasked rows."""
    idx = np.flatnonzero(mask)
    run = np.full(mask.size, -1, dtype=np.int64)
    if idx.size == 0:
        return run
    g, d = group[idx], days[idx]
    new = np.ones(idx.size, dtype=bool)
    new[1:] = (g[1:] != g[:-1]) | (d[1:] - d[:-1] > gap)
    run[idx] = np.cumsum(new) - 1
    return run


def _event_metrics(y: np.ndarray, flag: np.ndarray, group: np.ndarray, days: np.ndarray, gap: float) -> dict:
    true_run = _runs(y == 1, group, days, gap)
    pred_run = _runs(flag, group, days, gap)
    n_true = int(true_run.max() + 1) if (true_run >= 0).any() else 0
    n_pred = int(pred_run.max() + 1) if (pred_run >= 0).any() else 0
    found = np.unique(true_run[(true_run >= 0) & flag])
    # a predicted event is correct when it touches a true anomalous row, or lies within gap
    # days of one in the same series (the flag caught the incident's edge)
    near = _near_true(y == 1, group, days, gap)
    good = np.unique(pred_run[(pred_run >= 0) & near])
    recall = found.size / n_true if n_true else float("nan")
    precision = good.size / n_pred if n_pred else 0.0
    return {"n_events": n_true, "n_pred_events": n_pred, "event_precision": precision,
            "event_recall": recall, "event_f1": _f1(precision, recall)}


def _near_true(pos: np.ndarray, group: np.ndarray, days: np.ndarray, gap: float) -> np.ndarray:
    """Rows (sorted by group, time) within ``gap`` days of a true anomalous row of their series."""
    key = group.astype(np.float64) * 1e7 + days  # series are far apart on this axis
    true_key = np.sort(key[pos])
    if true_key.size == 0:
        return np.zeros(pos.size, dtype=bool)
    i = np.searchsorted(true_key, key)
    left = np.abs(key - true_key[np.clip(i - 1, 0, true_key.size - 1)]) <= gap
    right = np.abs(true_key[np.clip(i, 0, true_key.size - 1)] - key) <= gap
    return pos | left | right


def _vector(values: Any, param: str) -> np.ndarray:
    """A 1-d host array of numbers or booleans (a column vector is flattened)."""
    if values is None or isinstance(values, (str, bytes, dict, set)) or np.isscalar(values):
        raise DataValidationError.for_parameter(param, "expected a 1-d array of numbers, or a DataFrame",
                                                type(values).__name__)
    try:
        arr = np.asarray(to_host(values))
    except (TypeError, ValueError):
        raise DataValidationError.for_parameter(param, "expected a 1-d array of numbers", type(values).__name__) \
            from None
    if arr.ndim == 2 and arr.shape[1] == 1:
        arr = arr[:, 0]
    if arr.ndim != 1 or arr.dtype.kind not in "biuf":
        raise DataValidationError.for_parameter(param, "expected a 1-d array of numbers",
                                                f"shape {arr.shape}, dtype {arr.dtype}")
    return arr


def _labels_from_truth(truth: Any, scored: Any, table: str | None, types: Sequence[str] | None,
                       on: Sequence[str] | None) -> tuple[np.ndarray, list[str], Any]:
    import pandas as pd

    truth = to_host(truth)
    if table is not None:
        choices = sorted({*TRUTH_KEYS, *(str(t) for t in truth["table"].dropna().unique())})
        table = panel.check_choice("table", table, choices)
        truth = truth[truth["table"] == table]
    if types is not None:
        truth = truth[truth["type"].isin(as_list(types, "types"))]
    tables = truth["table"].unique().tolist()
    if on is None:
        candidates = [c for t in tables for c in TRUTH_KEYS.get(t, [])]
        on = next((c for c in candidates if all(k in scored.columns for k in c)), None)
        if on is None:
            raise DataValidationError(
                f"evaluate: cannot join truth (tables {tables}) to the scored frame; none of the key sets "
                f"{candidates} is present in its columns {list(scored.columns)[:12]}; pass on=[...]")
    on = as_list(on, "on")
    missing = [c for c in on if c not in scored.columns or c not in truth.columns]
    if missing:
        raise DataValidationError(f"column {missing[0]!r}: missing from truth or scored frame", column=missing[0])

    def norm(frame: Any) -> Any:
        cols = {}
        for c in on:
            col = frame[c]
            cols[c] = col if str(col.dtype).startswith("datetime") else col.astype("string")
        return pd.DataFrame(cols)

    tkeys = norm(truth.reset_index(drop=True))
    tkeys["__type"] = truth["type"].to_numpy()
    tkeys = tkeys.dropna(subset=on).drop_duplicates(subset=on)
    skeys = norm(scored.reset_index(drop=True))
    skeys["__row"] = np.arange(len(skeys))
    merged = skeys.merge(tkeys, on=on, how="left").sort_values("__row")
    return merged["__type"].to_numpy(dtype=object), on, skeys


def evaluate(truth: Any, scores_or_flags: Any, *, table: str | None = None, types: Sequence[str] | None = None,
             on: Sequence[str] | None = None, by_type: bool = False, score_col: str = "anomaly_score",
             flag_col: str = "is_anomaly", k: int | None = None, id_cols: str | Sequence[str] | None = None,
             time_col: str | None = None, event_gap: float = 1.0) -> Any:
    """Score a detector against known anomalies.

    Parameters
    ----------
    truth : array of 0/1, or the generator's ``truth`` DataFrame
        Per-row labels aligned with ``scores_or_flags``, or the truth table, joined to the
        scored frame on the keys of :data:`TRUTH_KEYS` (or ``on``).
    scores_or_flags : array or DataFrame
        Scores (higher = more abnormal) or boolean flags; or a frame with ``score_col``
        and/or ``flag_col`` (e.g. :func:`detect`'s output).
    table : str, optional
        Keep only truth rows of this table (``"sales"``, ``"orders"``...).
    types : list of str, optional
        Keep only these anomaly types (rows of other types are dropped from the evaluation).
    on : list of str, optional
        Join keys (default: from :data:`TRUTH_KEYS`).
    by_type : bool, default False
        One row of metrics per anomaly type (other types' rows excluded from each).
    k : int, optional
        For precision@k (default: the number of true anomalous rows).
    id_cols, time_col : optional
        Series keys and time for event-level metrics (default: the join keys, the time key
        being the datetime one). Without a time key, true rows sharing the series keys are one
        event (both copies of a duplicated order); bare label arrays make each row an event.
    event_gap : float, default 1
        True (and flagged) rows of a series at most this many days apart form one event.

    Returns
    -------
    dict, or pandas DataFrame indexed by type when ``by_type``
        ``n``, ``n_pos``, ``roc_auc``, ``pr_auc``, ``precision_at_k``, ``k``, ``precision``,
        ``recall``, ``f1``, ``n_flagged``, ``n_events``, ``n_pred_events``,
        ``event_precision``, ``event_recall``, ``event_f1``. Without flags, the top-k rows count
        as flagged.
    """
    import pandas as pd

    k = panel.check_int("k", k, minimum=1) if k is not None else None
    event_gap = panel.check_number("event_gap", event_gap, 0.0)
    if hasattr(scores_or_flags, "columns"):
        panel.check_frame(scores_or_flags, "scores_or_flags", dask=False)
        scored = to_host(scores_or_flags)
        present = [c for c in (score_col, flag_col) if c in scored.columns]
        if not present:
            panel.require_columns(scored, [score_col], f"by evaluate (or a {flag_col!r} column)")
        panel.require_numeric(scored, present, "by evaluate")
        score = panel.values(scored, score_col) if score_col in present else None
        flag = None
        if flag_col in present:
            flagged = panel.values(scored, flag_col)
            flag = ~np.isnan(flagged) & (flagged != 0)
    else:
        arr = _vector(scores_or_flags, "scores_or_flags")
        score = arr.astype(np.float64)
        flag = arr if arr.dtype == bool else None
        scored = None
    if score is None:
        score = flag.astype(np.float64)
    if hasattr(truth, "columns"):
        panel.check_frame(truth, "truth", dask=False)
        panel.require_columns(truth, ["table", "type"], "in a truth table (the generator's truth)")
        if scored is None:
            raise DataValidationError.for_parameter("scores_or_flags", "a truth table needs a scored DataFrame to "
                                                                       "join on", type(scores_or_flags).__name__)
        types_row, on_keys, skeys = _labels_from_truth(truth, scored, table, types, on)
        series_keys = as_list(id_cols) if id_cols is not None else [
            c for c in on_keys if not str(skeys[c].dtype).startswith("datetime")]
        tcol = time_col or next((c for c in on_keys if str(skeys[c].dtype).startswith("datetime")), None)
        panel.require_columns(scored, [*series_keys, *([tcol] if tcol else [])], "for event-level metrics")
        if tcol:
            panel.require_datetime(scored, tcol)
        key_frame = scored.reset_index(drop=True)
    else:
        y = _vector(truth, "truth")
        bad = y[~np.isin(y, [0, 1])]
        if bad.size:
            raise DataValidationError.for_parameter("truth", "labels must be 0 or 1", bad[:5].tolist())
        y = y.astype(np.int64)
        if y.size != score.size:
            raise DataValidationError.for_parameter("truth", f"{y.size} labels for {score.size} scores", y.size)
        types_row = np.where(y == 1, "anomaly", None).astype(object)
        series_keys, tcol, key_frame = [], None, None
    if key_frame is not None and tcol is not None:
        days = key_frame[tcol].astype("datetime64[ns]").astype("int64").to_numpy() / 86_400e9
    elif series_keys:  # no time key: rows sharing the keys (e.g. an order_id) are one event
        days = np.zeros(score.size, dtype=np.float64)
    else:  # bare labels: each row its own event
        days = np.arange(score.size, dtype=np.float64) * (event_gap + 1.0)
    if key_frame is not None and series_keys:
        group = key_frame.groupby(series_keys, sort=False, observed=True, dropna=False).ngroup().to_numpy()
    else:
        group = np.zeros(score.size, dtype=np.int64)
    order = np.lexsort((days, group))

    def run(mask: np.ndarray, positive: np.ndarray) -> dict:
        o = order[mask[order]]
        yy = positive[o].astype(np.int64)
        ff = flag[o] if flag is not None else None
        res = _point_metrics(yy, score[o], ff, k)
        if ff is None:
            ff = np.zeros(o.size, dtype=bool)
            s = np.where(np.isnan(score[o]), -np.inf, score[o])
            ff[np.argsort(-s, kind="stable")[:res["k"]]] = True
        res.update(_event_metrics(yy, ff, group[o], days[o], event_gap))
        return res

    labelled = pd.notna(types_row)
    if not by_type:
        return run(np.ones(score.size, dtype=bool), labelled)
    rows = {}
    for t in sorted(pd.unique(types_row[labelled])):
        is_t = types_row == t
        rows[t] = run(~labelled | is_t, is_t)
    return pd.DataFrame.from_dict(rows, orient="index")
