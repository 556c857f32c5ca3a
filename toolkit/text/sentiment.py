"""Sentiment of reviews: a lexicon model without training, and a model learned from ratings.

* :func:`lexicon_sentiment` -- ``method="lexicon"`` (default): VADER's lexicon and rules as
  array operations over all tokens (:mod:`toolkit.text.scorer`), on NumPy or CuPy; or
  ``method="vader"``: the ``vaderSentiment`` package itself, one review at a time in Python
  on the host (the reference, and the baseline of ``benchmarks/bench_text.py``). Both give
  VADER's compound score in [-1, 1].
* :class:`RatingModel` -- a supervised model trained on the star ratings that come with
  reviews: :class:`~toolkit.text.TextVectorizer` (TF-IDF of words and hashed word pairs) and
  a multinomial logistic regression, scikit-learn's on the CPU and cuML's on the GPU through
  the same calls (:func:`toolkit.panel.frames.estimator`). Its :meth:`~RatingModel.sentiment`
  is the expected rating mapped to [-1, 1] (``(E[rating] - mid) / half-range``), comparable
  with the lexicon score.

Input policy: texts must be strings; missing text scores 0 (lexicon) or what the model says
of an empty review; ratings must be finite numbers (rows with a missing rating are refused,
named, rather than dropped silently).

Examples
--------
>>> import pandas as pd
>>> from toolkit.text import lexicon_sentiment
>>> lexicon_sentiment(pd.Series(["love it", "arrived damaged", None])).round(3).tolist()
[0.637, -0.44, 0.0]
"""

from __future__ import annotations

from typing import Any

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.utils.validation import check_is_fitted

from toolkit import panel
from toolkit.backend import array_namespace, to_host
from toolkit.errors import DataValidationError
from toolkit.panel import frames
from toolkit.text.lexicon import Lexicon, vader_module
from toolkit.text.normalize import check_texts, encode, text_column
from toolkit.text.scorer import score_tokens
from toolkit.text.vectorize import TextVectorizer

__all__ = ["lexicon_sentiment", "RatingModel", "SENTIMENT_METHODS"]

SENTIMENT_METHODS = ("lexicon", "vader")


def _as_series(like: Any, values: Any, name: str) -> Any:
    """``values`` (an array in ``like``'s row order) as a Series of ``like``'s library and index."""
    out = frames.assign(like.to_frame(name="_text"), {name: values})[name]
    return out


def lexicon_sentiment(texts: Any, method: str = "lexicon") -> Any:
    """VADER compound sentiment of every text, in [-1, 1].

    Parameters
    ----------
    texts : Series of str (pandas or cuDF)
        Missing text scores 0.
    method : {"lexicon", "vader"}
        ``"lexicon"``: the vectorised model (NumPy/CuPy); ``"vader"``: the ``vaderSentiment``
        package, review by review on the host (slow; for reference).

    Returns
    -------
    Series of float64
        Same library and index as ``texts``.

    Raises
    ------
    DataValidationError
        Not a Series of strings; an unknown ``method``.

    Examples
    --------
    >>> import pandas as pd
    >>> lexicon_sentiment(pd.Series(["not bad at all"]), method="vader").tolist()
    [0.431]
    """
    method = panel.check_choice("method", method, SENTIMENT_METHODS)
    check_texts(texts)
    if method == "vader":
        analyzer = vader_module().SentimentIntensityAnalyzer()
        host = to_host(texts)
        scores = np.array([analyzer.polarity_scores(t)["compound"] if isinstance(t, str) else 0.0 for t in host],
                          dtype=np.float64)
        xp = panel.namespace(texts)
        return _as_series(texts, xp.asarray(scores), "sentiment")
    lexicon = Lexicon.default()
    scores = score_tokens(encode(texts, lexicon.vocabulary), lexicon)
    return _as_series(texts, scores.compound, "sentiment")


class RatingModel(ClassifierMixin, BaseEstimator):
    """Star ratings from text: TF-IDF words and word pairs + multinomial logistic regression.

    Parameters
    ----------
    text_col : str, default "text"
    rating_col : str, default "rating"
        Whole-number ratings (e.g. 1-5, or class codes); each distinct value is a class.
    C : float > 0, default 4.0
        Inverse regularisation strength of the logistic regression.
    max_iter : int, default 300
    max_features, min_count, bigram_buckets : int
        Of the :class:`~toolkit.text.TextVectorizer`.

    Attributes
    ----------
    vectorizer_ : TextVectorizer
    classifier_ : scikit-learn or cuML LogisticRegression
    classes_ : ndarray
        The ratings seen in ``fit``, sorted.
    feature_names_in_ : ndarray
        ``[text_col]``: the column ``predict`` reads (checked by name).

    Examples
    --------
    >>> import pandas as pd
    >>> train = pd.DataFrame({"text": ["great", "love it", "awful", "broken"] * 5, "rating": [5, 5, 1, 1] * 5})
    >>> model = RatingModel(min_count=1).fit(train)
    >>> model.predict(pd.DataFrame({"text": ["great", "broken"]})).tolist()
    [5, 1]
    """

    def __init__(self, text_col: str = "text", rating_col: str = "rating", C: float = 4.0, max_iter: int = 300,
                 max_features: int = 50_000, min_count: int = 2, bigram_buckets: int = 2**18):
        self.text_col = text_col
        self.rating_col = rating_col
        self.C = C
        self.max_iter = max_iter
        self.max_features = max_features
        self.min_count = min_count
        self.bigram_buckets = bigram_buckets

    def fit(self, df: Any, y: Any = None) -> "RatingModel":
        """Fit on frame ``df`` (``text_col`` and ``rating_col``; ``y`` is ignored).

        Raises
        ------
        DataValidationError
            Not a frame, missing columns, non-string text, ratings that are missing, not
            numbers or not whole, fewer than two distinct ratings, bad parameters.
        """
        texts = text_column(df, self.text_col)
        panel.require_columns(df, [self.rating_col], "(the ratings to learn from)")
        panel.require_numeric(df, [self.rating_col], "(ratings)")
        panel.require_not_empty(df, "to learn ratings")
        panel.require_finite(df, [self.rating_col], allow_nan=False, purpose="to learn ratings")
        C = panel.check_number("C", self.C, 0.0, low_open=True)
        max_iter = panel.check_int("max_iter", self.max_iter, minimum=1)
        ratings = panel.values(df, self.rating_col)
        xp = array_namespace(ratings)
        if bool(xp.any(ratings != xp.round(ratings))):
            panel.fail(self.rating_col, "ratings must be whole numbers (classes)")
        classes = np.unique(to_host(ratings))
        if classes.size < 2:
            panel.fail(self.rating_col, f"needs at least two distinct ratings to learn from, got {classes.tolist()}")
        self.vectorizer_ = TextVectorizer(max_features=self.max_features, min_count=self.min_count,
                                          bigram_buckets=self.bigram_buckets)
        X = self.vectorizer_.fit_transform(texts)
        LogisticRegression = frames.estimator(ratings, "linear_model.LogisticRegression")
        self.classifier_ = LogisticRegression(C=C, max_iter=max_iter).fit(X, xp.astype(ratings, xp.int64))
        self.classes_ = classes.astype(np.int64)
        self.feature_names_in_ = np.asarray([self.text_col], dtype=object)
        self.n_features_in_ = 1
        return self

    def _matrix(self, df: Any) -> Any:
        check_is_fitted(self, "classifier_")
        texts = text_column(df, self.text_col)
        return self.vectorizer_.transform(texts)

    def predict_proba(self, df: Any) -> Any:
        """Class probabilities (n, n_classes) in ``classes_`` order, an array of the text's library."""
        X = self._matrix(df)
        return self.classifier_.predict_proba(X)

    def predict(self, df: Any) -> Any:
        """The most probable rating of each review (an array of the text's library)."""
        proba = self.predict_proba(df)
        xp = array_namespace(proba)
        return xp.take(xp.asarray(self.classes_), xp.argmax(proba, axis=1))

    def expected_rating(self, df: Any) -> Any:
        """Probability-weighted mean rating of each review."""
        proba = self.predict_proba(df)
        xp = array_namespace(proba)
        return proba @ xp.asarray(self.classes_, dtype=xp.float64)

    def sentiment(self, df: Any) -> Any:
        """The expected rating mapped onto [-1, 1]: lowest class -1, highest +1.

        Returns
        -------
        Series of float64, same library and index as ``df``.
        """
        check_is_fitted(self, "classifier_")
        low, high = float(self.classes_[0]), float(self.classes_[-1])
        score = (self.expected_rating(df) - (low + high) / 2.0) / ((high - low) / 2.0)
        return _as_series(df[self.text_col], score, "sentiment")

    def score(self, df: Any, y: Any = None, sample_weight: Any = None) -> float:
        """Accuracy of :meth:`predict` against ``rating_col``."""
        if y is not None:
            raise DataValidationError.for_parameter("y", "RatingModel reads the ratings from rating_col", "given")
        panel.require_columns(df, [self.rating_col], "(the ratings to score against)")
        truth = panel.values(df, self.rating_col)
        xp = array_namespace(truth)
        return float(xp.mean(xp.astype(self.predict(df), xp.float64) == truth))
