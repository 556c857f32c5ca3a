"""From point flags to what a planner acts on: incidents (``alarms``) and reasons (``explain``).

``alarms`` groups flagged rows of each series into incidents: flags no more than ``window``
days apart belong to one incident, an incident needs ``min_hits`` flags to be raised (one
isolated flag is noise), and an incident starting within ``suppress`` days after the end of the
previous one of the same series is merged into it instead of paging someone again.

``explain`` ranks the features behind a flagged row: per-feature tail scores for ECOD/COPOD
(with the tail probability ``exp(-score)``), per-feature robust z for the rule detectors, and
for any other detector the robust z of each feature against the explained data (a
model-agnostic proxy, said so in the output's ``kind`` column).

Examples
--------
>>> import pandas as pd
>>> from toolkit.anomaly import alarms
>>> flags = pd.DataFrame({"sku": ["a"] * 5, "date": pd.date_range("2024-01-01", periods=5),
...                       "anomaly_score": [1.0, 5.0, 1.0, 7.0, 1.0],
...                       "is_anomaly": [False, True, False, True, False]})
>>> inc = alarms(flags, min_hits=2, window=3, id_cols="sku")
>>> inc[["sku", "n_hits", "peak_score"]].values.tolist()
[['a', 2, 7.0]]
"""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np

from toolkit.anomaly.native import _TailDetector
from toolkit.anomaly.rules import IQR, RobustZ
from toolkit.backend import array_namespace, frame_lib, is_gpu, to_host
from toolkit.errors import DataValidationError
from toolkit.panel import as_list

__all__ = ["alarms", "explain"]


def alarms(flags: Any, min_hits: int = 2, window: float = 7, suppress: float = 0,
           id_cols: str | Sequence[str] | None = ("sku", "location"), time_col: str = "date",
           score_col: str = "anomaly_score", flag_col: str = "is_anomaly") -> Any:
    """Turn point flags into incidents per series.

    Parameters
    ----------
    flags : pandas or cuDF DataFrame
        Rows with ``flag_col`` (bool), ``score_col`` and ``time_col``, e.g. :func:`detect`'s output.
    min_hits : int, default 2
        Flags an incident needs before it is raised.
    window : float, default 7
        Flags at most this many days apart join the same incident.
    suppress : float, default 0
        An incident starting at most this many days after the previous one (same series) ended
        is merged into it, so a flapping series raises one incident.
    id_cols : str or list of str
        Series keys (``None`` or ``[]``: one series).
    time_col, score_col, flag_col : str

    Returns
    -------
    frame
        One row per incident: ``id_cols``, ``first_seen``, ``last_seen``, ``n_hits``,
        ``peak_score``, ``peak_at`` and ``duration_days`` (last - first + 1), sorted by keys and
        ``first_seen``.

    Raises
    ------
    DataValidationError
        Missing columns, ``min_hits < 1`` or negative ``window`` / ``suppress``.
    """
    keys = as_list(id_cols)
    missing = [c for c in [*keys, time_col, score_col, flag_col] if c not in flags.columns]
    if missing:
        raise DataValidationError(f"column {missing[0]!r}: missing (alarms needs the output of detect)",
                                  column=missing[0])
    if int(min_hits) < 1 or window < 0 or suppress < 0:
        raise DataValidationError(f"alarms: need min_hits >= 1, window >= 0, suppress >= 0; got "
                                  f"{min_hits}, {window}, {suppress}")
    lib = frame_lib(flags)
    hit = flags[flags[flag_col].fillna(False).astype(bool)][[*keys, time_col, score_col]]
    out_cols = [*keys, "first_seen", "last_seen", "n_hits", "peak_score", "peak_at", "duration_days"]
    if len(hit) == 0:
        empty = hit[keys].head(0).copy() if keys else lib.DataFrame()
        return empty.assign(first_seen=hit[time_col].head(0), last_seen=hit[time_col].head(0),
                            n_hits=np.zeros(0, dtype="int64"), peak_score=np.zeros(0),
                            peak_at=hit[time_col].head(0), duration_days=np.zeros(0))[out_cols]
    hit = hit.sort_values([*keys, time_col]).reset_index(drop=True)
    days = _as_days(hit[time_col])
    xp = array_namespace(days)
    if keys:
        group = hit.groupby(keys, sort=False, observed=True).ngroup()
        group = group.to_cupy() if is_gpu(hit) else group.to_numpy()
    else:
        group = xp.zeros((len(hit),), dtype=xp.int64)
    gap = xp.concat([xp.asarray([xp.inf]), days[1:] - days[:-1]])
    same = xp.concat([xp.asarray([False]), group[1:] == group[:-1]])
    cluster = xp.cumulative_sum(xp.astype(~same | (gap > window), xp.int64))
    hit["__c"] = cluster
    agg = hit.groupby("__c", sort=True).agg({time_col: ["min", "max", "count"], score_col: "max"})
    agg.columns = ["first_seen", "last_seen", "n_hits", "peak_score"]
    peak = hit.sort_values(score_col, ascending=False).drop_duplicates("__c")[["__c", time_col, *keys]]
    peak = peak.rename(columns={time_col: "peak_at"})
    inc = agg.reset_index().merge(peak, on="__c", how="left")
    inc = inc[inc["n_hits"] >= int(min_hits)].sort_values([*keys, "first_seen"]).reset_index(drop=True)
    if suppress > 0 and len(inc) > 1:
        inc = _merge_suppressed(inc, keys, suppress, score_col)
    first = _as_days(inc["first_seen"])
    last = _as_days(inc["last_seen"])
    inc["duration_days"] = last - first + 1
    return inc[out_cols]


def _as_days(col: Any) -> Any:
    """A datetime (or numeric) column as float days, numpy or CuPy."""
    if str(col.dtype).startswith("datetime"):
        ns = col.astype("datetime64[ns]").astype("int64")  # pandas 3 may hold us or s units
        arr = ns.to_cupy() if is_gpu(col) else ns.to_numpy()
        return arr / 86_400e9
    return col.astype("float64").to_cupy() if is_gpu(col) else col.to_numpy(dtype="float64")


def _merge_suppressed(inc: Any, keys: list[str], suppress: float, score_col: str) -> Any:
    """Merge an incident into the previous one of its series when it starts within ``suppress`` days."""
    first = _as_days(inc["first_seen"])
    last = _as_days(inc["last_seen"])
    xp = array_namespace(first)
    if keys:
        group = inc.groupby(keys, sort=False, observed=True).ngroup()
        group = group.to_cupy() if is_gpu(inc) else group.to_numpy()
    else:
        group = xp.zeros((len(inc),), dtype=xp.int64)
    # incidents of a series are disjoint and sorted, so the previous one ended last
    gap = xp.concat([xp.asarray([xp.inf]), first[1:] - last[:-1]])
    same = xp.concat([xp.asarray([False]), group[1:] == group[:-1]])
    inc["__m"] = xp.cumulative_sum(xp.astype(~same | (gap > suppress), xp.int64))
    peak = inc.sort_values("peak_score", ascending=False).drop_duplicates("__m")[["__m", "peak_at"]]
    agg = inc.groupby([*keys, "__m"], sort=True, observed=True).agg(
        {"first_seen": "min", "last_seen": "max", "n_hits": "sum", "peak_score": "max"}).reset_index()
    return agg.merge(peak, on="__m", how="left").sort_values([*keys, "first_seen"]).reset_index(drop=True)


def explain(detector: Any, X: Any, rows: Any = None, top: int = 3) -> Any:
    """The features that drove each explained row's score.

    Parameters
    ----------
    detector : fitted detector
        :class:`ECOD`/:class:`COPOD` (per-feature tail scores), :class:`RobustZ`/:class:`IQR`
        (per-feature z / IQR distance), or any PyOD-API detector (robust z of each feature
        within ``X`` as a proxy).
    X : array or DataFrame (n_samples, n_features)
        The rows the detector scored; DataFrame columns name the features.
    rows : sequence of int, optional
        Positions in ``X`` to explain; default: the rows ``detector.predict(X)`` flags.
    top : int, default 3
        Features reported per row.

    Returns
    -------
    DataFrame (same library as ``X`` when it is a frame, else pandas)
        One row per (row, feature): ``row``, ``rank`` (1 = strongest), ``feature``, ``value``,
        ``contribution`` (the per-feature score), ``tail_probability`` (ECOD/COPOD, else NaN),
        ``kind`` (``"tail"``, ``"robust_z"``, ``"iqr"`` or ``"robust_z_proxy"``).

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> from toolkit.anomaly import ECOD, explain
    >>> X = pd.DataFrame(np.random.default_rng(0).normal(size=(100, 3)), columns=["a", "b", "c"])
    >>> X.loc[5, "b"] = 9.0
    >>> det = ECOD().fit(X.to_numpy())
    >>> explain(det, X, rows=[5], top=1)["feature"].tolist()
    ['b']
    """
    import pandas as pd

    is_frame = hasattr(X, "columns")
    names = [str(c) for c in X.columns] if is_frame else None
    A = X.to_cupy() if (is_frame and is_gpu(X)) else (X.to_numpy(dtype="float64") if is_frame else X)
    xp = array_namespace(A)
    if A.ndim == 1:
        A = xp.reshape(A, (-1, 1))
    names = names or [f"x{j}" for j in range(A.shape[1])]
    if isinstance(detector, _TailDetector):
        contrib, kind = detector.feature_scores(A), "tail"
    elif isinstance(detector, RobustZ):
        contrib, kind = detector.feature_scores(A), "robust_z"
    elif isinstance(detector, IQR):
        contrib, kind = detector.feature_scores(A), "iqr"
    else:
        contrib, kind = RobustZ().fit(A).feature_scores(A), "robust_z_proxy"
    if rows is None:
        rows = xp.nonzero(detector.predict(A) == 1)[0]
    rows_np = np.asarray(to_host(xp.asarray(rows)), dtype=np.int64).reshape(-1)
    C = np.asarray(to_host(contrib))[rows_np]
    V = np.asarray(to_host(A))[rows_np]
    top = max(1, min(int(top), C.shape[1]))
    order = np.argsort(-C, axis=1, kind="stable")[:, :top]
    r = np.repeat(rows_np, top)
    f = order.reshape(-1)
    c = np.take_along_axis(C, order, axis=1).reshape(-1)
    out = pd.DataFrame({
        "row": r,
        "rank": np.tile(np.arange(1, top + 1), len(rows_np)),
        "feature": np.asarray(names, dtype=object)[f] if len(f) else np.asarray([], dtype=object),
        "value": np.take_along_axis(V, order, axis=1).reshape(-1),
        "contribution": c,
        "tail_probability": np.exp(-c) if kind == "tail" else np.full(c.shape, np.nan),
        "kind": kind,
    })
    if is_frame and is_gpu(X):
        return frame_lib(X).from_pandas(out)
    return out
