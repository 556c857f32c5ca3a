"""Statistical rules: robust z-score, IQR fences, rolling Hampel, seasonal-hybrid ESD.

Every rule is an array kernel that works on many series at once: the rows of each group form
a contiguous segment (``starts`` gives the boundaries), statistics are computed per segment
by sorting inside segments (one stable sort by value, one by group), never by a Python loop
over groups. The same code runs on numpy and CuPy arrays.

Design choices where the literature leaves room:

* The robust z-score scales the MAD by 1.4826 (consistent for the normal); when the MAD is 0
  (more than half the values equal, e.g. intermittent demand) the mean absolute deviation
  scaled by 1.2533 is used instead; when both are 0 the series is constant and every z is 0.
* IQR fences use numpy's linear-interpolation quartiles; the score is the distance outside
  the box in IQR units (0 inside the box), so ``score > k`` is Tukey's rule with factor ``k``.
* The Hampel filter is centred (``2 * half_window + 1`` rows, clipped at series ends) and
  assumes one row per period (fill calendar gaps first).
* Seasonal-hybrid ESD (Hochenbaum, Vallis & Kejariwal, 2017) removes a robust seasonal
  component -- the median of each phase of the period -- and the series median, then runs
  the generalized ESD test with median and MAD in place of mean and standard deviation. STL
  is not used (no statsmodels dependency); the phase median is the robust analogue. The ESD
  critical values come from scipy on the host (they depend only on series lengths).

Detectors :class:`RobustZ` and :class:`IQR` wrap the first two rules in PyOD's API so they
can be used by :func:`toolkit.anomaly.make_detector`, ensembles and :func:`explain`.

Examples
--------
>>> import numpy as np
>>> from toolkit.anomaly.rules import robust_z
>>> x = np.array([[1.0], [2.0], [3.0], [4.0], [100.0]])
>>> z = robust_z(x, np.array([0, 5]))
>>> round(float(z[4, 0]), 2)
65.43
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from pyod.models.base import BaseDetector

from toolkit.anomaly.scoring import FeatureScoresMixin
from toolkit.backend import array_namespace
from toolkit.kernels.segments import segment_ids, segment_quantile, segment_sort, segment_sum

__all__ = [
    "robust_scale",
    "robust_z",
    "scaled_deviation",
    "quartiles",
    "box_distance",
    "iqr_score",
    "hampel",
    "seasonal_esd",
    "RobustZ",
    "IQR",
]

MAD_SCALE = 1.4826
MEAN_AD_SCALE = 1.2533


def _segment_stats(values: Any, starts: Any) -> tuple[Any, Any, Any]:
    """Sorted values, non-NaN counts per segment and the row-to-group map."""
    xp = array_namespace(values)
    gid = segment_ids(starts, values.shape[0])
    counts = segment_sum(xp.astype(~xp.isnan(values), xp.float64), starts)
    srt, _ = segment_sort(values, starts, stable=False)
    return srt, counts, gid


def robust_scale(values: Any, starts: Any) -> tuple[Any, Any]:
    """Median and robust scale (1.4826 MAD, else 1.2533 mean |dev|) per segment and column."""
    xp = array_namespace(values)
    srt, counts, gid = _segment_stats(values, starts)
    med = segment_quantile(srt, starts, counts, 0.5)
    dev = xp.abs(values - xp.take(med, gid, axis=0))
    dsrt, _ = segment_sort(dev, starts, stable=False)
    mad = segment_quantile(dsrt, starts, counts, 0.5) * MAD_SCALE
    mean_ad = segment_sum(xp.where(xp.isnan(dev), 0.0, dev), starts) / xp.maximum(counts, 1.0) * MEAN_AD_SCALE
    scale = xp.where(mad > 0, mad, mean_ad)
    return med, scale


def scaled_deviation(values: Any, center: Any, scale: Any) -> Any:
    """``(values - center) / scale`` where ``scale > 0``; 0 where the scale is 0 (a constant
    group), NaN where the value is NaN. Arrays broadcast together."""
    xp = array_namespace(values)
    dev = values - center
    return xp.where(scale > 0, dev / xp.where(scale > 0, scale, 1.0), xp.where(xp.isnan(dev), xp.nan, 0.0))


def robust_z(values: Any, starts: Any) -> Any:
    """Robust z-scores ``(x - median) / scale`` of each column inside each segment.

    Parameters
    ----------
    values : array (n_rows, d), float; NaN allowed (their z is NaN)
    starts : array (n_groups + 1,) of segment boundaries (rows sorted by group)

    Returns
    -------
    array (n_rows, d), signed z (0 for a constant segment).
    """
    xp = array_namespace(values)
    med, scale = robust_scale(values, starts)
    gid = segment_ids(starts, values.shape[0])
    return scaled_deviation(values, xp.take(med, gid, axis=0), xp.take(scale, gid, axis=0))


def quartiles(values: Any, starts: Any) -> tuple[Any, Any]:
    """First and third quartiles (linear interpolation, NaN ignored) per segment and column."""
    srt, counts, _ = _segment_stats(values, starts)
    return segment_quantile(srt, starts, counts, 0.25), segment_quantile(srt, starts, counts, 0.75)


def box_distance(values: Any, q1: Any, q3: Any) -> Any:
    """Distance of ``values`` outside ``[q1, q3]`` in units of ``q3 - q1`` (0 inside the box).

    With ``q3 == q1`` the box value scores 0 and any other value ``inf``; NaN stays NaN.
    """
    xp = array_namespace(values)
    iqr = q3 - q1
    out = xp.maximum(xp.maximum(q1 - values, values - q3), 0.0)
    return xp.where(iqr > 0, out / xp.where(iqr > 0, iqr, 1.0), xp.where(out > 0, xp.inf, out))


def iqr_score(values: Any, starts: Any) -> Any:
    """Distance outside the interquartile box, in IQR units, per column and segment.

    0 inside ``[Q1, Q3]``; ``score > 1.5`` is Tukey's outlier rule. A segment with IQR 0
    scores 0 on its box value and ``inf`` elsewhere.
    """
    xp = array_namespace(values)
    gid = segment_ids(starts, values.shape[0])
    q1, q3 = quartiles(values, starts)
    return box_distance(values, xp.take(q1, gid, axis=0), xp.take(q3, gid, axis=0))


def hampel(values: Any, starts: Any, half_window: int = 3) -> Any:
    """Rolling Hampel z: ``(x - rolling median) / (1.4826 * rolling MAD)`` inside segments.

    Parameters
    ----------
    values : array (n_rows,), rows of each series contiguous and in time order
    starts : array (n_groups + 1,)
    half_window : int
        The centred window covers ``2 * half_window + 1`` rows, clipped at the series ends.

    Returns
    -------
    array (n_rows,): signed score; ``|score| > 3`` is the usual Hampel flag. 0 where the
    window's MAD is 0 and the value equals the median, ``inf`` where it differs.
    """
    xp = array_namespace(values)
    n = values.shape[0]
    gid = segment_ids(starts, n)
    lo = xp.take(starts[:-1], gid)
    hi = xp.take(starts[1:], gid)
    offsets = xp.arange(-half_window, half_window + 1, dtype=xp.int64)
    idx = xp.reshape(xp.arange(n, dtype=xp.int64), (-1, 1)) + xp.reshape(offsets, (1, -1))
    inside = (idx >= xp.reshape(lo, (-1, 1))) & (idx < xp.reshape(hi, (-1, 1)))
    win = xp.take(values, xp.reshape(xp.clip(idx, 0, n - 1), (-1,)))
    win = xp.where(inside, xp.reshape(win, idx.shape), xp.nan)
    med = xp.nanmedian(win, axis=1)
    mad = xp.nanmedian(xp.abs(win - xp.reshape(med, (-1, 1))), axis=1) * MAD_SCALE
    dev = values - med
    flat = xp.where(dev > 0, xp.inf, xp.where(dev < 0, -xp.inf, 0.0))
    return xp.where(mad > 0, dev / xp.where(mad > 0, mad, 1.0), flat)


def _esd_critical(n: np.ndarray, k: int, alpha: float) -> np.ndarray:
    """Generalized ESD critical values lambda_i, i = 1..k, for series lengths ``n`` (host)."""
    from scipy import stats

    i = np.arange(1, k + 1, dtype=np.float64)[None, :]
    nn = n.astype(np.float64)[:, None]
    p = 1.0 - alpha / (2.0 * (nn - i + 1.0))
    df = np.maximum(nn - i - 1.0, 1.0)
    t = stats.t.ppf(p, df)
    return (nn - i) * t / np.sqrt((df + t ** 2) * (nn - i + 1.0))


def seasonal_esd(values: Any, starts: Any, period: int = 7, max_anomalies: float = 0.05,
                 alpha: float = 0.05) -> tuple[Any, Any]:
    """Seasonal-hybrid ESD test on many series at once.

    Parameters
    ----------
    values : array (n_rows,), each series contiguous, in time order, one row per period step
    starts : array (n_groups + 1,)
    period : int
        Season length in rows (7 for daily data with a weekly cycle).
    max_anomalies : float in (0, 0.5]
        Upper bound on the share of anomalies tested per series.
    alpha : float
        Significance level of the ESD test.

    Returns
    -------
    score : array (n_rows,)
        ``|residual - median| / MAD`` of the deseasonalised series (NaN where the input is NaN).
    flag : array (n_rows,) of bool
        Points the generalized ESD test declares anomalous.
    """
    xp = array_namespace(values)
    n = values.shape[0]
    sizes = starts[1:] - starts[:-1]
    n_groups = int(sizes.shape[0])
    max_len = int(xp.max(sizes)) if n_groups else 0
    gid = segment_ids(starts, n)
    pos = xp.arange(n, dtype=xp.int64) - xp.take(starts[:-1], gid)
    # series as rows of a padded matrix; the loop below runs over ESD steps, not groups
    mat = xp.full((n_groups, max_len), xp.nan, dtype=xp.float64)
    mat[gid, pos] = xp.astype(values, xp.float64)
    phase = xp.arange(max_len) % period
    seasonal = xp.full((n_groups, max_len), xp.nan, dtype=xp.float64)
    for p in range(min(period, max_len)):
        cols = phase == p
        seasonal[:, cols] = xp.nanmedian(mat[:, cols], axis=1, keepdims=True)
    resid = mat - seasonal
    resid = resid - xp.nanmedian(resid, axis=1, keepdims=True)
    med = xp.nanmedian(resid, axis=1, keepdims=True)
    mad = xp.nanmedian(xp.abs(resid - med), axis=1, keepdims=True) * MAD_SCALE
    score_mat = xp.abs(resid - med) / xp.where(mad > 0, mad, xp.inf)
    valid = ~xp.isnan(mat)
    n_valid = xp.sum(xp.astype(valid, xp.int64), axis=1)
    k = max(1, int(math.floor(max_anomalies * max_len)))
    work = xp.where(valid, resid, xp.nan)
    removed = xp.zeros((n_groups, k), dtype=xp.int64)
    stat = xp.zeros((n_groups, k), dtype=xp.float64)
    rows = xp.arange(n_groups)
    for step in range(k):
        med = xp.nanmedian(work, axis=1, keepdims=True)
        mad = xp.nanmedian(xp.abs(work - med), axis=1, keepdims=True) * MAD_SCALE
        dev = xp.abs(work - med)
        dev = xp.where(xp.isnan(dev), -1.0, dev)
        j = xp.argmax(dev, axis=1)
        r = xp.take_along_axis(dev, xp.reshape(j, (-1, 1)), axis=1)[:, 0]
        m = mad[:, 0]
        stat[:, step] = xp.where(m > 0, r / xp.where(m > 0, m, 1.0), xp.where(r > 0, xp.inf, 0.0))
        removed[:, step] = j
        work[rows, j] = xp.nan
    lam = xp.asarray(_esd_critical(np.asarray(_to_numpy(n_valid)), k, alpha))
    allowed = xp.reshape(xp.arange(1, k + 1), (1, -1)) <= xp.reshape(
        xp.astype(xp.floor(max_anomalies * xp.astype(n_valid, xp.float64)), xp.int64), (-1, 1))
    exceed = (stat > lam) & allowed
    steps = xp.reshape(xp.arange(1, k + 1), (1, -1))
    n_anom = xp.max(xp.where(exceed, steps, 0), axis=1)
    flag_mat = xp.zeros((n_groups, max_len), dtype=xp.bool)
    take = steps <= xp.reshape(n_anom, (-1, 1))
    flag_rows = xp.broadcast_to(xp.reshape(rows, (-1, 1)), (n_groups, k))
    flag_mat[flag_rows[take], removed[take]] = True
    score = score_mat[gid, pos]
    return xp.where(xp.isnan(values), xp.nan, score), flag_mat[gid, pos]


def _to_numpy(x: Any) -> np.ndarray:
    return x.get() if hasattr(x, "get") else np.asarray(x)


class _RuleDetector(FeatureScoresMixin, BaseDetector):
    """PyOD-API wrapper around a per-feature rule score; the row score is the max over features.

    Subclasses record their statistics in ``_fit_stats`` and score a validated matrix in
    ``_feature_scores``; checks and thresholds come from
    :class:`~toolkit.anomaly.scoring.OutlierScoresMixin`.
    """

    _min_fit_rows = 3
    feature_combine = "max"

    def __init__(self, contamination: float = 0.1):
        self.contamination = contamination

    def _fit(self, X: Any) -> None:
        self._fit_stats(X)
        self.decision_scores_ = self._scores(X)


class RobustZ(_RuleDetector):
    """Robust z-score detector: score = max over features of ``|x - median| / (1.4826 MAD)``.

    Parameters
    ----------
    contamination : float in (0, 0.5], default 0.1
        Sets ``threshold_`` as in PyOD. The rule's own cut (score > 3.5) is often a better
        threshold; :func:`toolkit.anomaly.detect` uses it with ``threshold="rule"``.

    Examples
    --------
    >>> import numpy as np
    >>> from toolkit.anomaly import RobustZ
    >>> X = np.array([[1.0], [2.0], [3.0], [4.0], [100.0]])
    >>> float(RobustZ().fit(X).decision_scores_[2])
    0.0
    """

    rule_threshold = 3.5
    feature_kind = "robust_z"

    def _fit_stats(self, X: Any) -> None:
        xp = array_namespace(X)
        med, scale = robust_scale(X, xp.asarray([0, X.shape[0]]))
        self.median_ = med[0]
        self.scale_ = scale[0]

    def signed_feature_scores(self, X: Any) -> Any:
        """Signed robust z of each value against the training median and scale."""
        self._check_fitted()
        return self._signed(self._validated(X, fitting=False))

    def _signed(self, X: Any) -> Any:
        return scaled_deviation(X, self.median_, self.scale_)

    def _feature_scores(self, X: Any) -> Any:
        xp = array_namespace(X)
        return xp.abs(self._signed(X))


class IQR(_RuleDetector):
    """IQR-fence detector: score = max over features of the distance outside [Q1, Q3] in IQRs.

    ``score > 1.5`` is Tukey's rule (``threshold="rule"`` in :func:`toolkit.anomaly.detect`).

    Examples
    --------
    >>> import numpy as np
    >>> from toolkit.anomaly import IQR
    >>> X = np.array([[1.0], [2.0], [3.0], [4.0], [10.0]])
    >>> float(IQR().fit(X).decision_scores_[4])
    3.0
    """

    rule_threshold = 1.5
    feature_kind = "iqr"

    def _fit_stats(self, X: Any) -> None:
        xp = array_namespace(X)
        q1, q3 = quartiles(X, xp.asarray([0, X.shape[0]]))
        self.q1_, self.q3_ = q1[0], q3[0]

    def _feature_scores(self, X: Any) -> Any:
        """Distance outside the box in IQR units per feature, shape (n_samples, n_features)."""
        return box_distance(X, self.q1_, self.q3_)
