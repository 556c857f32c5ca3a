"""Thresholds without labels: which scores of each segment (a series, a day, the whole frame) to flag.

Rules (``how``):

* ``"contamination"``: above the segment's ``1 - contamination`` quantile (PyOD's rule);
* ``"mad"``: above ``median + k * 1.4826 * MAD`` of the segment's scores (robust to the
  outliers it looks for; the default for learnt detectors);
* ``"rule"``: above a fixed ``cut`` (a rule's own threshold, e.g. robust z > 3.5);
* ``"budget"``: the ``budget`` highest scores of each segment (ties in row order), the way an
  operations team sizes its alert queue.

Non-finite policy: NaN scores are ignored by the statistics and never flagged; ``+inf``
scores (an IQR or Hampel score where the spread is zero) count as the largest values and are
flagged by every rule. Scores are sorted inside each segment by the segment kernels, so
nothing loops over segments in Python.

Examples
--------
>>> import numpy as np
>>> from toolkit.anomaly import apply_threshold
>>> apply_threshold(np.array([1.0, 2.0, 9.0, 1.5]), np.array([0, 4]), "rule", cut=5.0).tolist()
[False, False, True, False]
"""

from __future__ import annotations

from typing import Any

import numpy as np

from toolkit import panel
from toolkit.anomaly.rules import MAD_SCALE
from toolkit.anomaly.scoring import check_contamination
from toolkit.backend import array_namespace
from toolkit.errors import DataValidationError
from toolkit.kernels.segments import segment_ids, segment_quantile, segment_rank, segment_sort, segment_sum

__all__ = ["THRESHOLDS", "apply_threshold", "segment_threshold", "check_segments", "flag_segments"]

THRESHOLDS = ("contamination", "mad", "rule", "budget")


def check_segments(scores: Any, starts: Any) -> tuple[Any, Any]:
    """``scores`` as a float 1-d array and ``starts`` as int64 boundaries ``0 = s_0 <= ... = n``.

    Raises
    ------
    DataValidationError
        Naming ``scores`` or ``starts`` when they are not arrays of that shape.
    """
    try:
        xp = array_namespace(scores)
    except TypeError:
        scores = np.asarray(scores) if isinstance(scores, (list, tuple)) else scores
        try:
            xp = array_namespace(scores)
        except TypeError:
            raise DataValidationError.for_parameter("scores", "expected a 1-d array of numbers",
                                                    type(scores).__name__) from None
    scores = xp.asarray(scores)
    if scores.ndim != 1 or not (xp.isdtype(scores.dtype, ("real floating", "integral")) or scores.dtype == xp.bool):
        raise DataValidationError.for_parameter("scores", "expected a 1-d array of numbers",
                                                f"shape {tuple(scores.shape)}, dtype {scores.dtype}")
    scores = xp.astype(scores, xp.float64)
    n = int(scores.shape[0])
    try:
        bounds = xp.asarray(starts)
    except (TypeError, ValueError):
        raise DataValidationError.for_parameter("starts", "expected segment boundaries (ints)",
                                                type(starts).__name__) from None
    if bounds.ndim != 1 or bounds.shape[0] < 1 or not xp.isdtype(bounds.dtype, "integral"):
        raise DataValidationError.for_parameter(
            "starts", f"expected n_segments + 1 increasing ints from 0 to {n}", f"dtype {bounds.dtype}")
    bounds = xp.astype(bounds, xp.int64)
    if int(bounds[0]) != 0 or int(bounds[-1]) != n or bool(xp.any(bounds[1:] < bounds[:-1])):
        raise DataValidationError.for_parameter(
            "starts", f"expected increasing ints from 0 to len(scores) = {n}", bounds.tolist()[:6])
    return scores, bounds


def _check_rule(how: Any, contamination: Any, k: Any, cut: Any) -> str:
    how = panel.check_choice("how", how, THRESHOLDS)
    if how == "contamination":
        check_contamination(contamination)
    elif how == "mad":
        panel.check_number("k", k, 0.0)
    elif how == "rule":
        panel.check_number("cut", cut)
    return how


def segment_threshold(scores: Any, starts: Any, how: str = "mad", *, contamination: float | None = None,
                      k: float = 3.0, cut: float | None = None) -> Any:
    """Score threshold of each segment: a quantile (``contamination``), ``median + k * MAD``
    (``mad``) or a fixed ``cut`` (``rule``); NaN scores are ignored.

    Parameters
    ----------
    scores : array (n,)
    starts : array (n_groups + 1,) of segment boundaries
    how : {"contamination", "mad", "rule"}
    contamination : float in (0, 0.5], for ``how="contamination"``
    k : float >= 0, for ``how="mad"``
    cut : float, for ``how="rule"``

    Returns
    -------
    array (n_groups,)
        NaN for a segment without a finite score.

    Raises
    ------
    DataValidationError
        Naming the parameter: ``how`` unknown (or ``"budget"``, which has no single
        threshold), a missing or out-of-range ``contamination`` / ``k`` / ``cut``, or
        ``scores`` / ``starts`` of the wrong shape.

    Examples
    --------
    >>> import numpy as np
    >>> segment_threshold(np.array([1.0, 2.0, 3.0, 10.0, 20.0]), np.array([0, 3, 5]), "contamination",
    ...                   contamination=0.5).tolist()
    [2.0, 15.0]
    """
    how = _check_rule(how, contamination, k, cut)
    if how == "budget":
        raise DataValidationError.for_parameter("how", "a budget flags the top scores, it has no threshold; "
                                                       "use apply_threshold", how, ["contamination", "mad", "rule"])
    scores, starts = check_segments(scores, starts)
    return _thresholds(scores, starts, how, contamination, k, cut)


def _thresholds(scores: Any, starts: Any, how: str, contamination: float | None, k: float,
                cut: float | None) -> Any:
    xp = array_namespace(scores)
    n_groups = starts.shape[0] - 1
    if how == "rule":
        return xp.full((n_groups,), float(cut), dtype=xp.float64)
    col = xp.reshape(scores, (-1, 1))
    counts = segment_sum(xp.astype(~xp.isnan(col), xp.float64), starts)
    srt, _ = segment_sort(col, starts, stable=False)
    if how == "contamination":
        return segment_quantile(srt, starts, counts, 1.0 - float(contamination))[:, 0]
    med = segment_quantile(srt, starts, counts, 0.5)
    gid = segment_ids(starts, scores.shape[0])
    dsrt, _ = segment_sort(xp.abs(col - xp.take(med, gid, axis=0)), starts, stable=False)
    return (med + float(k) * MAD_SCALE * segment_quantile(dsrt, starts, counts, 0.5))[:, 0]


def apply_threshold(scores: Any, starts: Any, how: str = "mad", *, contamination: float | None = None,
                    k: float = 3.0, budget: int | None = None, cut: float | None = None) -> Any:
    """Flag scores inside each segment without labels.

    Parameters
    ----------
    scores : array (n,); NaN is never flagged, +inf always is
    starts : array (n_groups + 1,) of segment boundaries (one segment = a global threshold)
    how : {"contamination", "mad", "budget", "rule"}
        ``contamination``: above the segment's ``1 - contamination`` quantile (PyOD).
        ``mad``: above ``median + k * 1.4826 * MAD`` of the segment's scores.
        ``budget``: the ``budget`` highest scores of each segment.
        ``rule``: above the fixed ``cut``.
    contamination, k, budget, cut : parameters of the chosen rule.

    Returns
    -------
    array (n,) of bool

    Raises
    ------
    DataValidationError
        Naming the parameter: an unknown ``how`` (listing the choices), the rule's parameter
        missing or out of range, ``scores`` / ``starts`` of the wrong shape.

    Examples
    --------
    >>> import numpy as np
    >>> apply_threshold(np.array([1.0, 2.0, 9.0, 1.5]), np.array([0, 4]), "budget", budget=1).tolist()
    [False, False, True, False]
    """
    how = _check_rule(how, contamination, k, cut)
    if how == "budget":
        budget = panel.check_int("budget", budget, minimum=1)
    scores, starts = check_segments(scores, starts)
    return flag_segments(scores, starts, how, contamination=contamination, k=k, budget=budget, cut=cut)


def flag_segments(scores: Any, starts: Any, how: str, *, contamination: float | None = None, k: float = 3.0,
                  budget: int | None = None, cut: float | None = None) -> Any:
    """:func:`apply_threshold` on arguments already checked (the verbs' inner path)."""
    xp = array_namespace(scores)
    ok = ~xp.isnan(scores)
    if how == "budget":
        return ok & (segment_rank(scores, starts) <= int(budget))
    thr = _thresholds(scores, starts, how, contamination, k, cut)
    above = scores > xp.take(thr, segment_ids(starts, scores.shape[0]))
    return ok & (above | xp.isposinf(scores))
