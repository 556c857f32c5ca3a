"""PyOD's detector contract written once: input checks, fit template and score post-processing.

Every detector class of the package (:class:`~toolkit.anomaly.ECOD`, :class:`~toolkit.anomaly.COPOD`,
:class:`~toolkit.anomaly.RobustZ`, :class:`~toolkit.anomaly.IQR` and the PyOD wrapper behind
:func:`~toolkit.anomaly.make_detector`) inherits :class:`OutlierScoresMixin` before PyOD's
``BaseDetector``. The mixin owns what PyOD's base class does on NumPy only, rewritten on the
array namespace (NumPy or CuPy):

* ``fit(X)`` validates ``X``, calls the subclass's ``_fit(X)`` (which sets
  ``decision_scores_``), then post-processes the scores: ``threshold_`` is the
  ``1 - contamination`` quantile of the training scores (linear interpolation, PyOD's
  percentile), ``labels_`` flags scores strictly above it, and the mean and standard
  deviation of the scores are kept for ``predict_proba(method="unify")``;
* ``decision_function(X)`` checks the detector is fitted (scikit-learn's ``NotFittedError``
  otherwise), validates ``X`` and calls the subclass's ``_scores(X)``;
* ``predict``, ``predict_proba`` (``"linear"``: min-max scaled by the training scores,
  ``"unify"``: Gaussian scaling) and ``predict_confidence`` follow PyOD's definitions.

Input policy (the same for every detector): ``X`` is a 2-d numeric array (a 1-d array is
one feature) or a pandas/cuDF DataFrame of numeric columns. NaN and ``inf`` are refused with
a :class:`~toolkit.errors.DataValidationError` naming the feature and a few rows -- PyOD's
``check_array`` refuses them too, and one infinite value would otherwise decide every
threshold. A frame's column names are recorded at fit (``feature_names_in_``); a frame
scored later is matched by name (reordered when it holds the same columns, refused when it
does not), never by position. ``contamination`` must lie in (0, 0.5].

Examples
--------
>>> import numpy as np
>>> from toolkit.anomaly import RobustZ
>>> det = RobustZ(contamination=0.2).fit(np.array([[1.0], [2.0], [3.0], [4.0], [30.0]]))
>>> det.labels_.tolist(), det.predict(np.array([[2.5], [50.0]])).tolist()
([0, 0, 0, 0, 1], [0, 1])
"""

from __future__ import annotations

import math
import numbers
from typing import Any

import numpy as np

from toolkit import panel
from toolkit.backend import array_namespace, to_host
from toolkit.errors import DataValidationError
from toolkit.kernels.segments import quantile

__all__ = ["OutlierScoresMixin", "FeatureScoresMixin", "check_contamination", "feature_matrix", "PROBABILITY_METHODS"]

PROBABILITY_METHODS = ("linear", "unify")
_ROWS_SHOWN = 5


def check_contamination(contamination: Any) -> float:
    """Return ``contamination`` as a float, raising unless it lies in (0, 0.5].

    Raises
    ------
    DataValidationError
        Naming the parameter ``contamination``, when the value is outside (0, 0.5] or not a number.

    Examples
    --------
    >>> check_contamination(0.05)
    0.05
    """
    if isinstance(contamination, bool) or not isinstance(contamination, numbers.Real) \
            or not 0.0 < float(contamination) <= 0.5:
        raise DataValidationError.for_parameter("contamination", "must be a number in (0, 0.5]", contamination)
    return float(contamination)


def feature_matrix(X: Any) -> tuple[Any, list[str] | None]:
    """``X`` as a 2-d numeric array of its namespace (NumPy or CuPy), and a frame's column names.

    A 1-d array is one feature; integer and boolean arrays become float64, float arrays keep
    their precision; a pandas/cuDF DataFrame becomes float64 columns (names returned, else
    None). Values are not checked for NaN or ``inf`` here.

    Raises
    ------
    DataValidationError
        Naming ``X``: not an array or in-memory frame (a Dask collection must be computed
        first), not 2-d, or not numeric (naming the column for a frame).

    Examples
    --------
    >>> import pandas as pd
    >>> A, names = feature_matrix(pd.DataFrame({"a": [1, 2], "b": [0.5, 1.5]}))
    >>> A.tolist(), names
    ([[1.0, 0.5], [2.0, 1.5]], ['a', 'b'])
    """
    expected = "expected a 2-d numeric NumPy or CuPy array, or an in-memory DataFrame"
    if hasattr(X, "columns"):
        panel.check_frame(X, "X", dask=False)
        panel.require_columns(X, list(X.columns), "as features")
        panel.require_numeric(X, list(X.columns), "as features")
        xp = panel.namespace(X)
        if not len(X.columns):
            return xp.zeros((len(X), 0), dtype=xp.float64), []
        return xp.stack([panel.values(X, c) for c in X.columns], axis=1), [str(c) for c in X.columns]
    if X is None or isinstance(X, (str, bytes, dict, set)) or np.isscalar(X):
        raise DataValidationError.for_parameter("X", expected, type(X).__name__)
    try:
        xp = array_namespace(X)
    except TypeError:
        try:
            X = np.asarray(X)
            xp = array_namespace(X)
        except (TypeError, ValueError):
            raise DataValidationError.for_parameter("X", expected, type(X).__name__) from None
    if not xp.__name__.endswith(("numpy", "cupy")):  # e.g. a Dask array: compute it first
        raise DataValidationError.for_parameter("X", expected, type(X).__name__)
    X = xp.asarray(X)
    if X.ndim == 1:
        X = xp.reshape(X, (-1, 1))
    if X.ndim != 2:
        raise DataValidationError.for_parameter("X", "must be 2-d (n_samples, n_features)", tuple(X.shape))
    if not (xp.isdtype(X.dtype, ("real floating", "integral")) or X.dtype == xp.bool):
        raise DataValidationError.for_parameter("X", "must hold numbers", str(X.dtype))
    if not xp.isdtype(X.dtype, "real floating"):
        X = xp.astype(X, xp.float64)
    return X, None


class OutlierScoresMixin:
    """Fit template, input checks and PyOD's score post-processing on NumPy or CuPy arrays.

    Subclasses implement ``_fit(X)`` (set ``decision_scores_`` from the validated training
    matrix) and ``_scores(X)`` (scores of a validated matrix); they may raise
    ``_min_fit_rows`` (default 2). See the module docstring for the contract.
    """

    _min_fit_rows = 2

    # ----------------------------------------------------------------- input
    def _validated(self, X: Any, fitting: bool) -> Any:
        """``X`` as a finite float (n, d) array; records or checks the feature names and count."""
        if hasattr(X, "columns") and not fitting:
            panel.check_frame(X, "X", dask=False)
            X = self._match_names(X)
        X, names = feature_matrix(X)
        self._refuse_non_finite(X, names)
        if fitting:
            if X.shape[0] < self._min_fit_rows:
                raise DataValidationError.for_parameter(
                    "X", f"{type(self).__name__} needs at least {self._min_fit_rows} rows to fit", X.shape[0])
            self.n_features_in_ = int(X.shape[1])
            if names is not None:
                self.feature_names_in_ = np.asarray(names, dtype=object)
            elif hasattr(self, "feature_names_in_"):
                del self.feature_names_in_
        elif X.shape[1] != self.n_features_in_:
            raise DataValidationError.for_parameter(
                "X", f"has {X.shape[1]} features; the detector was fitted on {self.n_features_in_}", X.shape[1])
        return X

    def _match_names(self, frame: Any) -> Any:
        """``frame``'s columns in the fitted order, matched by name (refused when they differ)."""
        fitted = getattr(self, "feature_names_in_", None)
        if fitted is None:
            return frame
        names = [str(c) for c in frame.columns]
        missing = [c for c in fitted if c not in names]
        extra = [c for c in names if c not in set(fitted)]
        if missing or extra:
            column = missing[0] if missing else extra[0]
            raise DataValidationError(
                f"column {column!r}: the frame's columns {names[:10]} are not the fitted features "
                f"{list(fitted)[:10]} (missing {missing[:5]}, unexpected {extra[:5]})", column=column)
        if names == list(fitted):
            return frame
        by_name = {str(c): c for c in frame.columns}
        return frame[[by_name[c] for c in fitted]]

    @staticmethod
    def _refuse_non_finite(X: Any, names: list[str] | None) -> None:
        xp = array_namespace(X)
        # NaN and inf propagate into a sum: a finite sum proves every value finite in one pass with no
        # temporary; a sum that overflows only sends finite input on to the exact check below
        with np.errstate(over="ignore", invalid="ignore"):
            if X.size == 0 or bool(xp.isfinite(xp.sum(X))):
                return
        bad = ~xp.isfinite(X)
        if not bool(xp.any(bad)):
            return
        per_feature = xp.sum(xp.astype(bad, xp.int64), axis=0)
        j = int(xp.argmax(xp.astype(per_feature > 0, xp.int8)))
        rows = xp.nonzero(bad[:, j])[0][:_ROWS_SHOWN]
        feature = names[j] if names else str(j)
        kind = "NaN or inf" if bool(xp.any(xp.isnan(X[:, j]))) and bool(xp.any(xp.isinf(X[:, j]))) else (
            "NaN" if bool(xp.any(xp.isnan(X[:, j]))) else "inf")
        raise DataValidationError.for_column(
            feature, f"{kind} values in the detector's input (feature {j}); drop or impute them first",
            int(per_feature[j]), [f"row {int(r)}" for r in to_host(rows)])

    # ----------------------------------------------------------------- fit and score
    def fit(self, X: Any, y: Any = None) -> Any:
        """Fit on ``X`` (n_samples, n_features) and set ``decision_scores_``, ``threshold_``, ``labels_``.

        Parameters
        ----------
        X : array (numpy or cupy) or pandas/cuDF DataFrame
        y : ignored

        Returns
        -------
        self
        """
        self._contamination = check_contamination(self.contamination)
        X = self._validated(X, fitting=True)
        self._set_n_classes(y)
        self._fit(X)
        self._process_decision_scores()
        return self

    def decision_function(self, X: Any) -> Any:
        """Anomaly scores of ``X`` (higher is more abnormal), in ``X``'s array namespace.

        Raises
        ------
        sklearn.exceptions.NotFittedError
            Before ``fit``.
        """
        self._check_fitted()
        return self._scores(self._validated(X, fitting=False))

    def _check_fitted(self) -> None:
        from sklearn.utils.validation import check_is_fitted

        check_is_fitted(self, ["decision_scores_", "threshold_", "labels_"])

    def _process_decision_scores(self) -> Any:
        """``threshold_``, ``labels_`` and the score moments from ``decision_scores_`` (PyOD's rule)."""
        scores = self.decision_scores_
        xp = array_namespace(scores)
        self.threshold_ = float(quantile(scores, 1.0 - self._contamination))
        self.labels_ = xp.astype(scores > self.threshold_, xp.int64)
        self._mu = float(xp.mean(scores))
        self._sigma = float(xp.std(scores))
        return self

    # ----------------------------------------------------------------- labels and probabilities
    def predict(self, X: Any, return_confidence: bool = False) -> Any:
        """0/1 labels of ``X``: 1 where the score exceeds ``threshold_``.

        With ``return_confidence``, also :meth:`predict_confidence` (host arrays).
        """
        scores = self.decision_function(X)
        xp = array_namespace(scores)
        labels = xp.astype(scores > self.threshold_, xp.int64)
        if return_confidence:
            return labels, self._confidence(scores)
        return labels

    def predict_proba(self, X: Any, method: str = "linear", return_confidence: bool = False) -> Any:
        """Probability of each row of ``X`` being an outlier, as PyOD defines it.

        Parameters
        ----------
        method : {"linear", "unify"}
            ``linear``: the score min-max scaled by the training scores, clipped to [0, 1];
            ``unify``: ``erf((score - mean) / (std * sqrt 2))`` of the training scores, clipped
            at 0 (Kriegel et al., 2011).

        Returns
        -------
        array (n_samples, 2)
            ``[P(inlier), P(outlier)]`` per row, in ``X``'s namespace.
        """
        method = panel.check_choice("method", method, PROBABILITY_METHODS)
        scores = self.decision_function(X)
        xp = array_namespace(scores)
        if method == "linear":
            lo = xp.min(self.decision_scores_)
            span = xp.max(self.decision_scores_) - lo
            p = (scores - lo) / xp.where(span > 0, span, 1.0)
        else:
            from scipy.special import erf

            z = (to_host(scores) - self._mu) / (self._sigma * math.sqrt(2.0) if self._sigma > 0 else 1.0)
            p = xp.asarray(erf(z))
        p = xp.clip(xp.astype(p, xp.float64), 0.0, 1.0)
        probs = xp.stack([1.0 - p, p], axis=1)
        if return_confidence:
            return probs, self._confidence(scores)
        return probs

    def predict_confidence(self, X: Any) -> Any:
        """How consistently the label of each row would survive a perturbed training set (PyOD).

        Perini et al. (2020): with ``k`` training scores at or below the row's score, the
        outlier probability is ``(1 + k) / (2 + n)`` and the confidence the binomial
        probability that the row keeps its label. Returned as a NumPy array.
        """
        return self._confidence(self.decision_function(X))

    def _confidence(self, scores: Any) -> np.ndarray:
        from scipy.stats import binom

        train = np.sort(np.asarray(to_host(self.decision_scores_), dtype=np.float64))
        s = np.asarray(to_host(scores), dtype=np.float64)
        n = train.size
        posterior = (1.0 + np.searchsorted(train, s, side="right")) / (2.0 + n)
        confidence = 1.0 - binom.cdf(n - int(n * self._contamination), n, posterior)
        inlier = s <= self.threshold_
        confidence[inlier] = 1.0 - confidence[inlier]
        return confidence


class FeatureScoresMixin(OutlierScoresMixin):
    """For detectors whose row score combines a score per feature (ECOD/COPOD: sum; rules: max).

    Subclasses implement ``_feature_scores(X)`` on a validated matrix and set
    ``feature_kind`` (what a feature score is, reported by :func:`toolkit.anomaly.explain`) and
    ``feature_combine`` (``"sum"`` or ``"max"``).
    """

    feature_kind = "feature"
    feature_combine = "sum"

    def feature_scores(self, X: Any) -> Any:
        """The score of every value of ``X``, shape (n_samples, n_features).

        Raises
        ------
        sklearn.exceptions.NotFittedError
            Before ``fit``.
        """
        self._check_fitted()
        return self._feature_scores(self._validated(X, fitting=False))

    def _scores(self, X: Any) -> Any:
        xp = array_namespace(X)
        per_feature = self._feature_scores(X)
        return xp.sum(per_feature, axis=1) if self.feature_combine == "sum" else xp.max(per_feature, axis=1)
