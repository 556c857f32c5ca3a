"""From point flags to what a planner acts on: incidents (``alarms``) and reasons (``explain``).

``alarms`` groups flagged rows of each series into incidents: flags no more than ``window``
days apart belong to one incident, an incident needs ``min_hits`` flags to be raised (one
isolated flag is noise), and an incident starting within ``suppress`` days after the end of the
previous one of the same series is merged into it instead of paging someone again. The
flagged rows are laid out once by series and time (:class:`toolkit.panel.SeriesLayout`);
incidents are runs of that order, so everything after the layout is array work, the same on
pandas and cuDF.

``explain`` ranks the features behind a flagged row: detectors that score each feature
(``feature_scores`` with a ``feature_kind``: the tail scores of ECOD/COPOD with their tail
probability ``exp(-score)``, the robust z of :class:`~toolkit.anomaly.RobustZ`, the IQR
distance of :class:`~toolkit.anomaly.IQR`) explain themselves; for any other detector the robust
z of each feature against the explained data is used as a model-agnostic proxy, said so in
the output's ``kind`` column.

Input policy: ``alarms`` reads flags (missing = not flagged) and scores as :func:`detect` and
the domain detectors write them: ``+inf`` is a legitimate score (a rule hit) and may be an
incident's peak; NaN scores never win the peak. Flagged rows must have their keys and time
(a flag that belongs to no series is refused). ``explain`` refuses NaN and ``inf`` in ``X``
like every detector.

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

from toolkit import panel
from toolkit.anomaly.rules import RobustZ
from toolkit.anomaly.scoring import feature_matrix
from toolkit.backend import array_namespace, to_host
from toolkit.errors import DataValidationError
from toolkit.kernels.segments import segment_sort, segment_sum

__all__ = ["alarms", "explain", "INCIDENT_COLUMNS"]

INCIDENT_COLUMNS = ("first_seen", "last_seen", "n_hits", "peak_score", "peak_at", "duration_days")
_DAY_NS = 86_400e9


def _runs(xp: Any, group: Any, start: Any, end: Any, gap: float) -> Any:
    """Bounds of runs of sorted items: a run breaks at a new group or a gap above ``gap`` days."""
    n = int(group.shape[0])
    if n == 0:
        return xp.zeros(1, dtype=xp.int64)
    breaks = (group[1:] != group[:-1]) | (start[1:] - end[:-1] > gap)
    inner = xp.astype(xp.nonzero(breaks)[0], xp.int64) + 1
    return xp.concat([xp.zeros(1, dtype=xp.int64), inner, xp.asarray([n], dtype=xp.int64)])


def _peaks(xp: Any, scores: Any, bounds: Any) -> Any:
    """Position of the highest score of each run (NaN never wins; ties: the earliest)."""
    if int(scores.shape[0]) == 0:
        return xp.zeros(0, dtype=xp.int64)
    _, order = segment_sort(xp.reshape(-scores, (-1, 1)), bounds, stable=True)
    return order[bounds[:-1], 0]


def alarms(flags: Any, min_hits: int = 2, window: float = 7, suppress: float = 0,
           id_cols: str | Sequence[str] | None = ("sku", "location"), time_col: str = "date",
           score_col: str = "anomaly_score", flag_col: str = "is_anomaly") -> Any:
    """Turn point flags into incidents per series.

    Parameters
    ----------
    flags : pandas or cuDF DataFrame
        Rows with ``flag_col`` (bool; missing = not flagged), ``score_col`` and a datetime
        ``time_col``, e.g. :func:`detect`'s output.
    min_hits : int >= 1, default 2
        Flags an incident needs before it is raised.
    window : float >= 0, default 7
        Flags at most this many days apart join the same incident.
    suppress : float >= 0, default 0
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
        Not an in-memory frame, missing columns, a non-numeric score or flag, a time column that
        is not datetime, flagged rows without keys or time, ``min_hits < 1`` or negative
        ``window`` / ``suppress``.
    """
    panel.check_frame(flags, "flags", dask=False)
    keys = panel.as_list(id_cols)
    panel.require_columns(flags, [*keys, time_col, score_col, flag_col], "by alarms (the output of detect)")
    panel.require_numeric(flags, [score_col, flag_col], "by alarms")
    panel.require_datetime(flags, time_col)
    min_hits = panel.check_int("min_hits", min_hits, minimum=1)
    window = panel.check_number("window", window, 0.0)
    suppress = panel.check_number("suppress", suppress, 0.0)
    xp = panel.namespace(flags)
    flagged = panel.values(flags, flag_col)
    where = xp.nonzero(~xp.isnan(flagged) & (flagged != 0))[0]
    hits = panel.take(flags[[*keys, time_col, score_col]], where)
    layout = panel.SeriesLayout.from_frame(hits, keys, time_col, unique=False)
    days = xp.astype(layout.time, xp.float64) / _DAY_NS
    score = layout.gather(panel.values(hits, score_col))
    group = layout.series_of_row
    # incidents: runs of flags, then the raised ones merged when they follow each other closely
    runs = _runs(xp, group, days, days, window)
    first, last, n_hits, peak = runs[:-1], runs[1:] - 1, runs[1:] - runs[:-1], _peaks(xp, score, runs)
    raised = n_hits >= min_hits
    first, last, n_hits, peak = first[raised], last[raised], n_hits[raised], peak[raised]
    merged = _runs(xp, xp.take(group, first), xp.take(days, first), xp.take(days, last), suppress)
    peak = xp.take(peak, _peaks(xp, xp.take(score, peak), merged))
    first, last = xp.take(first, merged[:-1]), xp.take(last, merged[1:] - 1)
    n_hits = xp.astype(segment_sum(xp.astype(n_hits, xp.float64), merged), xp.int64)

    def at(positions: Any, name: str) -> Any:
        rows = panel.take(hits[[time_col]], layout.input_rows(positions))
        return rows.reset_index(drop=True).rename(columns={time_col: name})

    series = panel.take(hits[keys], layout.input_rows(first)).reset_index(drop=True)
    out = panel.frames.concat([series, at(first, "first_seen"), at(last, "last_seen"), at(peak, "peak_at")], axis=1)
    out = panel.assign(out, {"n_hits": n_hits, "peak_score": xp.take(score, peak),
                             "duration_days": xp.take(days, last) - xp.take(days, first) + 1.0})
    return out[[*keys, *INCIDENT_COLUMNS]]


def _rows(rows: Any, n: int) -> np.ndarray:
    """Explained positions as host int64, each in ``[0, n)``."""
    try:
        out = np.asarray(to_host(rows)).reshape(-1)
    except (TypeError, ValueError):
        raise DataValidationError.for_parameter("rows", "expected row positions (ints)", rows) from None
    if out.size and not np.issubdtype(out.dtype, np.integer):
        raise DataValidationError.for_parameter("rows", "expected row positions (ints)", out[:5].tolist())
    bad = out[(out < 0) | (out >= n)]
    if bad.size:
        raise DataValidationError.for_parameter("rows", f"positions outside 0..{n - 1}", bad[:5].tolist())
    return out.astype(np.int64)


def explain(detector: Any, X: Any, rows: Any = None, top: int = 3) -> Any:
    """The features that drove each explained row's score.

    Parameters
    ----------
    detector : fitted detector
        :class:`ECOD`/:class:`COPOD` (per-feature tail scores), :class:`RobustZ`/:class:`IQR`
        (per-feature z / IQR distance), or any fitted PyOD-API detector (robust z of each
        feature within ``X`` as a proxy).
    X : array or DataFrame (n_samples, n_features)
        The rows the detector scored; DataFrame columns name the features. NaN and ``inf``
        are refused, naming the feature.
    rows : sequence of int, optional
        Positions in ``X`` to explain; default: the rows ``detector.predict(X)`` flags.
    top : int >= 1, default 3
        Features reported per row (at most the number of features).

    Returns
    -------
    DataFrame (same library as ``X`` when it is a frame, else pandas)
        One row per (row, feature): ``row``, ``rank`` (1 = strongest), ``feature``, ``value``,
        ``contribution`` (the per-feature score), ``tail_probability`` (ECOD/COPOD, else NaN),
        ``kind`` (``"tail"``, ``"robust_z"``, ``"iqr"`` or ``"robust_z_proxy"``).

    Raises
    ------
    sklearn.exceptions.NotFittedError
        ``detector`` is not fitted.
    DataValidationError
        ``detector`` is not a detector, ``X`` is not a 2-d array or frame of numbers, holds
        NaN/inf or a different number of features; ``rows`` outside ``X``; ``top < 1``.

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
    from sklearn.utils.validation import check_is_fitted

    if not (hasattr(detector, "fit") and hasattr(detector, "decision_function")):
        raise DataValidationError.for_parameter("detector", "expected a fitted PyOD-API detector",
                                                type(detector).__name__)
    check_is_fitted(detector, "decision_scores_")
    top = panel.check_int("top", top, minimum=1)
    A, names = feature_matrix(X)
    names = names if names is not None else [f"x{j}" for j in range(A.shape[1])]
    features = X if hasattr(X, "columns") else A
    kind = getattr(detector, "feature_kind", None)
    if kind is not None and callable(getattr(detector, "feature_scores", None)):
        contrib = detector.feature_scores(features)
    else:
        contrib, kind = RobustZ().fit(features).feature_scores(features), "robust_z_proxy"
    xp = array_namespace(A)
    picked = _rows(xp.nonzero(detector.predict(features) == 1)[0] if rows is None else rows, int(A.shape[0]))
    C = np.asarray(to_host(contrib))[picked]
    V = np.asarray(to_host(A), dtype=np.float64)[picked]
    top = min(top, C.shape[1])
    order = np.argsort(-C, axis=1, kind="stable")[:, :top]
    f = order.reshape(-1)
    c = np.take_along_axis(C, order, axis=1).reshape(-1)
    data = {
        "row": np.repeat(picked, top),
        "rank": np.tile(np.arange(1, top + 1), len(picked)),
        "feature": np.asarray(names, dtype=object)[f] if len(f) else np.asarray([], dtype=object),
        "value": np.take_along_axis(V, order, axis=1).reshape(-1),
        "contribution": c,
        "tail_probability": np.exp(-c) if kind == "tail" else np.full(c.shape, np.nan),
        "kind": np.full(c.shape, kind, dtype=object),
    }
    return panel.frames.new_frame(X, data) if hasattr(X, "columns") else pd.DataFrame(data)
