"""ECOD and COPOD written once against the array namespace (numpy on CPU, CuPy on GPU).

Both detectors score a row by the empirical tail probabilities of its values, column by
column: with ``F`` the ECDF of a column, the left tail is ``-log F(x)`` (``F(x)`` = share of
values ``<= x``) and the right tail ``-log G(x)`` (``G(x)`` = share of values ``>= x``). The
sign of the column's (biased) skewness picks a third "skew-corrected" tail: the left tail for
a left-skewed column, the right tail for a right-skewed one and their sum when the skewness is
zero. ECOD adds up ``max(left, right, skew-corrected)`` over the columns; COPOD adds up
``max(skew-corrected, (left + right) / 2)``. These are exactly PyOD's definitions
(``pyod.models.ecod`` / ``pyod.models.copod``), including two semantics users rarely notice:

* scores of *new* rows are computed against the ECDF and the skewness of the training rows
  *and the new rows together* (PyOD concatenates them), so ``decision_function(X_train)``
  equals ``decision_scores_``;
* ``threshold_`` is the ``1 - contamination`` percentile of the training scores (linear
  interpolation) and ``predict`` flags scores strictly above it.

Why not call PyOD: it re-sorts the whole training set (twice, for both tails) inside every
``decision_function`` call and runs on the host only. Here the training columns are sorted
once at ``fit``; scoring sorts only the new rows and counts training values with
``searchsorted``; the skewness of the union comes from combining stored central moments. The
same code runs on CuPy arrays, so detection stays on the GPU.

The grouped kernel :func:`segment_tail_scores` scores many groups (one fit per sku, lane,
warehouse...) in one pass: rows sorted by group, values ranked inside each segment, moments
summed per segment with cumulative sums -- no Python loop over groups.

Examples
--------
>>> import numpy as np
>>> from toolkit.anomaly import ECOD
>>> X = np.random.default_rng(0).normal(size=(200, 3))
>>> X[0] = 8.0
>>> det = ECOD(contamination=0.01).fit(X)
>>> int(det.decision_scores_.argmax())
0
"""

from __future__ import annotations

from typing import Any

import numpy as np
from pyod.models.base import BaseDetector

from toolkit.anomaly.scoring import FeatureScoresMixin
from toolkit.backend import array_namespace
from toolkit.kernels.segments import segment_ids, segment_order

__all__ = ["ECOD", "COPOD", "segment_tail_scores", "tail_scores_from_counts"]


def _skew_sign(n: Any, mean: Any, m2: Any, m3: Any, eps: float, xp: Any) -> Any:
    """Sign of the biased sample skewness from central sums, with scipy's near-constant rule.

    ``m2``/``m3`` are sums of squared/cubed deviations. scipy returns NaN (PyOD then 0) when the
    variance is below ``(eps * mean) ** 2``; so do we.
    """
    var = m2 / n
    zero = var <= (eps * mean) ** 2
    sign = xp.sign(m3)
    return xp.where(zero | (var == 0), xp.zeros_like(sign), sign)


def tail_scores_from_counts(le: Any, ge: Any, n: Any, sign: Any, kind: str) -> Any:
    """Per-feature outlier scores from tail counts.

    Parameters
    ----------
    le, ge : array (d, n_rows)
        Number of reference values ``<= x`` and ``>= x`` for each value.
    n : int or array broadcastable to ``le``
        Size of the reference set.
    sign : array (d, 1) or broadcastable
        Sign of the skewness of each column (-1, 0 or 1).
    kind : {"ecod", "copod"}

    Returns
    -------
    array (d, n_rows), float64
    """
    xp = array_namespace(le)
    log_n = xp.log(xp.asarray(n, dtype=xp.float64))
    if kind == "ecod":
        # max(u_l, u_r) = -log(min(le, ge) / n): one log instead of two; a zero skewness
        # (u_skew = u_l + u_r, the largest) is handled only where it occurs.
        out = log_n - xp.log(xp.astype(xp.minimum(le, ge), xp.float64))
        zero = sign == 0
        if bool(xp.any(zero)):
            both = 2.0 * log_n - xp.log(xp.astype(le, xp.float64)) - xp.log(xp.astype(ge, xp.float64))
            out = xp.where(zero, both, out)
        return out
    u_l = log_n - xp.log(xp.astype(le, xp.float64))
    u_r = log_n - xp.log(xp.astype(ge, xp.float64))
    mean = (u_l + u_r) / 2.0
    if getattr(sign, "ndim", 0) == 0:  # one column: pick the skew-corrected tail directly
        s = float(sign)
        u_skew = u_r if s > 0 else (u_l if s < 0 else u_l + u_r)
    else:
        u_skew = u_l * -xp.sign(sign - 1.0) + u_r * xp.sign(sign + 1.0)
    return xp.maximum(u_skew, mean)


def _central_sums(xp: Any, x: Any) -> tuple[Any, Any, Any]:
    """Mean and sums of squared / cubed deviations of a 1-d array, in float64."""
    v = xp.astype(x, xp.float64)
    mean = xp.mean(v)
    dev = v - mean
    sq = dev * dev
    return mean, xp.sum(sq), xp.sum(sq * dev)


def _scatter_rows(xp: Any, order: Any, values: Any) -> Any:
    """Undo a per-row permutation: ``out[j, order[j, i]] = values[j, i]``."""
    d, n = order.shape
    offsets = xp.reshape(xp.arange(d, dtype=order.dtype) * n, (d, 1))
    flat = xp.zeros((d * n,), dtype=values.dtype)
    flat[xp.reshape(order + offsets, (-1,))] = xp.reshape(values, (-1,))
    return xp.reshape(flat, (d, n))


def _run_bounds(xp: Any, new: Any) -> tuple[Any, Any]:
    """First and last position of the run each element belongs to, for rows of (d, n) flags.

    ``new[j, i]`` is True where a run (of equal values, or a new segment) starts; column 0
    must be True.
    """
    d, n = new.shape
    new_flat = xp.reshape(new, (-1,))
    run = xp.cumulative_sum(xp.astype(new_flat, xp.int64), axis=0) - 1
    starts = xp.nonzero(new_flat)[0]
    # every row starts a run, so the run after the last one of a row starts the next row
    nexts = xp.concat([starts[1:], xp.asarray([d * n], dtype=starts.dtype)])
    offset = xp.reshape(xp.arange(d, dtype=starts.dtype) * n, (d, 1))
    first = xp.reshape(xp.take(starts, run, axis=0), (d, n)) - offset
    last = xp.reshape(xp.take(nexts, run, axis=0), (d, n)) - offset - 1
    return first, last


def _runs_1d(xp: Any, s: Any) -> tuple[Any, Any]:
    """For a sorted 1-d array: index of the first and one past the last element of each
    element's run of equal values (so ``#{<= s[i]} = end[i]`` and ``#{>= s[i]} = n - first[i]``)."""
    n = s.shape[0]
    new = xp.ones((n,), dtype=xp.bool)
    new[1:] = s[1:] != s[:-1]
    if bool(xp.all(new)):  # no ties: the run of each value is itself
        pos = xp.arange(n, dtype=xp.int64)
        return pos, pos + 1
    run = xp.cumulative_sum(xp.astype(new, xp.int64)) - 1
    starts = xp.nonzero(new)[0]
    ends = xp.concat([starts[1:], xp.asarray([n], dtype=starts.dtype)])
    return xp.take(starts, run), xp.take(ends, run)


def segment_tail_scores(values: Any, starts: Any, kind: str = "ecod", eps: float | None = None) -> Any:
    """Per-feature ECOD/COPOD scores fitted separately inside each segment of rows.

    Parameters
    ----------
    values : array (n_rows, d)
        Rows sorted so that each group is a contiguous segment; no NaN.
    starts : array of int (n_groups + 1,)
        Segment boundaries: group ``g`` is ``values[starts[g]:starts[g + 1]]``; ``starts[-1]``
        equals ``n_rows``.
    kind : {"ecod", "copod"}
    eps : float, optional
        Machine epsilon for scipy's near-constant skewness rule (default: of ``values``' dtype).

    Returns
    -------
    array (n_rows, d), float64
        Equal, segment by segment, to PyOD's ``O`` matrix of a detector fitted on that segment.
        Row sums are the segment's ``decision_scores_``.
    """
    xp = array_namespace(values)
    n_rows, d = values.shape
    if eps is None:
        eps = float(np.finfo(np.dtype(str(values.dtype))).eps)
    starts = xp.asarray(starts, dtype=xp.int64)
    sizes = starts[1:] - starts[:-1]
    gid = segment_ids(starts, n_rows)
    xt = xp.ascontiguousarray(values.T)
    order = segment_order(xt, gid, int(sizes.shape[0]))
    s = xp.take_along_axis(xt, order, axis=1)
    gs = xp.broadcast_to(gid, (d, n_rows))  # rows are sorted by group, so position i is in gid[i]

    new = xp.ones((d, n_rows), dtype=xp.bool)
    if n_rows > 1:
        new[:, 1:] = (s[:, 1:] != s[:, :-1]) | (gs[:, 1:] != gs[:, :-1])
    run_first, run_last = _run_bounds(xp, new)
    seg_start = xp.take(starts, gs)
    seg_end = xp.take(starts[1:], gs)
    le = run_last - seg_start + 1
    ge = seg_end - run_first
    n_seg = xp.astype(xp.take(sizes, gs), xp.float64)

    # skewness sign per (column, segment) from segment sums of central powers
    v = xp.astype(xp.asarray(values.T), xp.float64)

    def seg_sum(a: Any) -> Any:
        c = xp.concat([xp.zeros((d, 1), dtype=xp.float64), xp.cumulative_sum(a, axis=1)], axis=1)
        return xp.take(c, starts[1:], axis=1) - xp.take(c, starts[:-1], axis=1)

    size_f = xp.astype(sizes, xp.float64)
    mean = seg_sum(v) / size_f
    dev = v - xp.take(mean, gid, axis=1)
    m2 = seg_sum(dev * dev)
    m3 = seg_sum(dev * dev * dev)
    sign = _skew_sign(size_f, mean, m2, m3, eps, xp)
    # sorting keeps rows inside their segment: the sign at sorted position i is that of gid[i]
    o_sorted = tail_scores_from_counts(le, ge, n_seg, xp.take(sign, gid, axis=1), kind)
    return _scatter_rows(xp, order, o_sorted).T


class _TailDetector(FeatureScoresMixin, BaseDetector):
    """Fit and score of :class:`ECOD` and :class:`COPOD` (see the module docstring); the
    input checks and threshold come from :class:`~toolkit.anomaly.scoring.OutlierScoresMixin`.

    ``feature_scores(X)`` is PyOD's ``O`` matrix of ``X``: as in PyOD, the ECDF and skewness
    are those of the training rows and ``X`` together; the row score is its sum.
    """

    _kind = "ecod"
    feature_kind = "tail"
    feature_combine = "sum"

    def __init__(self, contamination: float = 0.1):
        self.contamination = contamination

    def _fit(self, X: Any) -> None:
        """Sort each training column once and record its moments; score the training rows."""
        xp = array_namespace(X)
        n, d = X.shape
        self.n_train_ = n
        self._eps = float(np.finfo(np.dtype(str(X.dtype))).eps)
        xt = xp.ascontiguousarray(X.T)
        moments = [_central_sums(xp, xt[j]) for j in range(d)]
        self._mean, self._m2, self._m3 = (xp.stack([m[k] for m in moments]) for k in range(3))
        sign = _skew_sign(n, self._mean, self._m2, self._m3, self._eps, xp)
        self.sorted_ = xp.empty_like(xt)
        self.first_ = xp.empty((d, n), dtype=xp.int64)
        out = xp.empty((d, n), dtype=xp.float64)
        for j in range(d):  # column by column: each pass stays in cache
            order = xp.argsort(xt[j], stable=False)
            s = xp.take(xt[j], order)
            first, end = _runs_1d(xp, s)
            self.sorted_[j] = s
            self.first_[j] = first
            out[j, order] = tail_scores_from_counts(end, n - first, n, sign[j], self._kind)
        self.O_ = out.T
        self.decision_scores_ = xp.sum(self.O_, axis=1)

    def _feature_scores(self, X: Any) -> Any:
        xp = array_namespace(X)
        m, d = X.shape
        n = self.n_train_
        xt = xp.ascontiguousarray(X.T)
        moments = [_central_sums(xp, xt[j]) for j in range(d)]
        mean_b, m2_b, m3_b = (xp.stack([mo[k] for mo in moments]) for k in range(3))
        # central sums of training rows and X together (pairwise combination)
        total = n + m
        delta = mean_b - self._mean
        mean = self._mean + delta * (m / total)
        m2 = self._m2 + m2_b + delta ** 2 * (n * m / total)
        m3 = (self._m3 + m3_b + delta ** 3 * (n * m * (n - m) / total ** 2)
              + 3.0 * delta * (n * m2_b - m * self._m2) / total)
        sign = _skew_sign(total, mean, m2, m3, self._eps, xp)
        out = xp.empty((d, m), dtype=xp.float64)
        for j in range(d):
            ref = self.sorted_[j]
            order = xp.argsort(xt[j], stable=False)
            s = xp.take(xt[j], order)
            if s.dtype != ref.dtype:  # compare in the wider type, as PyOD's concatenation does
                common = xp.result_type(s.dtype, ref.dtype)
                s, ref = xp.astype(s, common), xp.astype(ref, common)
            first, end = _runs_1d(xp, s)
            # training values <= s: one search; training values < s follow from the run
            # starts recorded at fit wherever s occurs in the training column
            le_tr = xp.searchsorted(ref, s, side="right")
            last = xp.clip(le_tr - 1, 0, None)
            hit = (le_tr > 0) & (xp.take(ref, last) == s)
            lt_tr = xp.where(hit, xp.take(self.first_[j], last), le_tr)
            out[j, order] = tail_scores_from_counts(end + le_tr, (m - first) + (n - lt_tr), total, sign[j],
                                                    self._kind)
        return out.T


class ECOD(_TailDetector):
    """ECOD (empirical-CDF outlier detection), PyOD's definition, fitted once and scored fast.

    Parameters
    ----------
    contamination : float in (0, 0.5], default 0.1
        Expected share of outliers; sets ``threshold_`` (PyOD semantics).

    Attributes
    ----------
    decision_scores_ : array (n_samples,)
        Scores of the training rows (same namespace as the input).
    O_ : array (n_samples, n_features)
        Per-feature tail scores of the training rows; rows sum to ``decision_scores_``.
    threshold_ : float
    labels_ : array of int (n_samples,)
    sorted_ : array (n_features, n_samples)
        Sorted training columns, searched at scoring time.

    Examples
    --------
    >>> import numpy as np
    >>> from toolkit.anomaly import ECOD
    >>> X = np.random.default_rng(1).normal(size=(100, 2))
    >>> det = ECOD(contamination=0.05).fit(X)
    >>> int(det.labels_.sum())
    5
    """

    _kind = "ecod"


class COPOD(_TailDetector):
    """COPOD (copula-based outlier detection), PyOD's definition, fitted once and scored fast.

    Parameters and attributes as :class:`ECOD`; the per-feature score is
    ``max(skew-corrected tail, mean of both tails)``.

    Examples
    --------
    >>> import numpy as np
    >>> from toolkit.anomaly import COPOD
    >>> X = np.random.default_rng(1).normal(size=(100, 2))
    >>> COPOD().fit(X).decision_function(X[:3]).shape
    (3,)
    """

    _kind = "copod"
