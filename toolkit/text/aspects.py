"""What reviews talk about: seed-lexicon aspects and complaints, and topics learned by NMF.

* :func:`detect_aspects` -- per review and aspect (quality, damage, size_fit, delivery, price,
  service): does a clause mention it (a seed word of :data:`~toolkit.text.lexicon.ASPECT_TERMS`),
  and is that clause negative (a **complaint**)? One pass of the vectorised lexicon scorer
  (:mod:`toolkit.text.scorer`), on NumPy or CuPy.
* :class:`TopicModel` -- topics learned from the text itself: non-negative matrix
  factorisation of the TF-IDF matrix (:class:`~toolkit.text.TextVectorizer`, words only) by
  multiplicative updates written on the array namespace, so the same code runs with SciPy on
  the CPU and CuPy on the GPU (cuML has no NMF). Each topic is labelled with the seed aspect
  its top words weigh most on (``topic_aspects_``), or ``"other"``: the learned topics check
  the seed lexicons and find what they miss.

Design choices: the multiplicative updates are Lee and Seung's for the Frobenius loss, as
scikit-learn's ``NMF(solver="mu")``; the initialisation is scikit-learn's ``"random"`` scheme
(uniform entries scaled by ``sqrt(mean(X) / n_topics)``) from a seeded NumPy stream, so results
do not depend on the device.

Examples
--------
>>> import pandas as pd
>>> from toolkit.text import detect_aspects
>>> out = detect_aspects(pd.Series(["arrived late but fits perfectly"]))
>>> bool(out.loc[0, "complaint_delivery"]), bool(out.loc[0, "complaint_size_fit"]), bool(out.loc[0, "aspect_size_fit"])
(True, False, True)
"""

from __future__ import annotations

from typing import Any

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.utils.validation import check_is_fitted

from toolkit import panel
from toolkit.backend import array_namespace, to_host
from toolkit.errors import DataValidationError
from toolkit.panel import frames
from toolkit.text.lexicon import ASPECT_TERMS, Lexicon
from toolkit.text.normalize import check_texts, encode
from toolkit.text.scorer import LexiconScores, score_tokens
from toolkit.text.vectorize import TextVectorizer

__all__ = ["detect_aspects", "aspect_columns", "aspect_frame", "TopicModel", "nmf_updates"]

_EPS = 1e-10


def aspect_columns(aspects: tuple[str, ...] = tuple(ASPECT_TERMS)) -> tuple[list[str], list[str]]:
    """Names of the mention and complaint columns: ``aspect_<a>`` and ``complaint_<a>``."""
    return [f"aspect_{a}" for a in aspects], [f"complaint_{a}" for a in aspects]


def aspect_frame(like: Any, scores: LexiconScores, aspects: tuple[str, ...]) -> Any:
    """``like`` (a frame) with the mention and complaint columns of ``scores`` added."""
    mentions, complaints = aspect_columns(aspects)
    xp = array_namespace(scores.mention)
    columns = {name: xp.asarray(scores.mention[:, a], copy=True) for a, name in enumerate(mentions)}  # contiguous
    columns.update({name: xp.asarray(scores.complaint[:, a], copy=True) for a, name in enumerate(complaints)})
    return frames.assign(like, columns)


def detect_aspects(texts: Any, complaint_margin: float = 0.05) -> Any:
    """Aspect mentions and complaints of every review.

    Parameters
    ----------
    texts : Series of str (pandas or cuDF)
        Missing text mentions nothing.
    complaint_margin : float >= 0
        A clause is negative when its valence sum is below ``-complaint_margin``.

    Returns
    -------
    frame
        Index of ``texts``; bool columns ``aspect_<a>`` and ``complaint_<a>`` per aspect.

    Raises
    ------
    DataValidationError
        Not a Series of strings; a negative or non-finite ``complaint_margin``.
    """
    check_texts(texts)
    margin = panel.check_number("complaint_margin", complaint_margin, 0.0)
    lexicon = Lexicon.default()
    scores = score_tokens(encode(texts, lexicon.vocabulary), lexicon, complaint_margin=margin)
    base = frames.assign(texts.to_frame(name="_text"), {})[[]]
    return aspect_frame(base, scores, lexicon.aspects)


def nmf_updates(X: Any, W: Any, H: Any, n_iter: int, update_H: bool = True) -> tuple[Any, Any]:
    """Lee-Seung multiplicative updates of ``X ~ W @ H`` (Frobenius loss), ``n_iter`` times, ``W`` then ``H``
    in each round (scikit-learn's order).

    ``X`` is a SciPy or CuPy sparse matrix (or a dense array), ``W`` and ``H`` non-negative
    arrays of the same library; with ``update_H=False`` only ``W`` moves (a transform).
    """
    xp = array_namespace(W)
    for _ in range(n_iter):
        W = W * xp.asarray(X @ H.T) / xp.maximum(W @ (H @ H.T), _EPS)
        if update_H:
            H = H * xp.asarray((X.T @ W).T) / xp.maximum((W.T @ W) @ H, _EPS)
    return W, H


class TopicModel(TransformerMixin, BaseEstimator):
    """Topics of review text by NMF of its TF-IDF matrix, labelled with the seed aspects.

    Parameters
    ----------
    n_topics : int, default 8
    max_iter : int, default 200
        Multiplicative update rounds.
    max_features : int, default 5000
        Vocabulary size of the vectorizer (stop words out, unigrams only).
    min_count : int, default 3
    top_words : int, default 10
        Words per topic used for labelling and shown by :meth:`topic_words`.
    random_state : int, default 0

    Attributes
    ----------
    vectorizer_ : TextVectorizer
    components_ : array (n_topics, n_words)
        ``H``; of the text's array library.
    topic_aspects_ : list of str
        The seed aspect of each topic, or ``"other"``.
    reconstruction_err_ : float
        Frobenius norm of ``X - W H`` on the fit data.

    Examples
    --------
    >>> import pandas as pd
    >>> texts = pd.Series(["late delivery slow shipping", "shipping late again", "too small size tight fit",
    ...                    "size runs small tight"] * 5)
    >>> model = TopicModel(n_topics=2, min_count=1).fit(texts)
    >>> sorted(model.topic_aspects_)
    ['delivery', 'size_fit']
    """

    def __init__(self, n_topics: int = 8, max_iter: int = 200, max_features: int = 5000, min_count: int = 3,
                 top_words: int = 10, random_state: int = 0):
        self.n_topics = n_topics
        self.max_iter = max_iter
        self.max_features = max_features
        self.min_count = min_count
        self.top_words = top_words
        self.random_state = random_state

    def fit(self, texts: Any, y: Any = None) -> "TopicModel":
        """Learn the topics of ``texts`` (a Series of strings)."""
        self.fit_transform(texts)
        return self

    def fit_transform(self, texts: Any, y: Any = None) -> Any:
        """Learn the topics and return the document-topic weights ``W`` (n_docs, n_topics)."""
        check_texts(texts)
        k = panel.check_int("n_topics", self.n_topics, minimum=1)
        n_iter = panel.check_int("max_iter", self.max_iter, minimum=1)
        panel.check_int("top_words", self.top_words, minimum=1)
        seed = panel.check_int("random_state", self.random_state, minimum=0)
        self.vectorizer_ = TextVectorizer(max_features=self.max_features, min_count=self.min_count, bigram_buckets=0)
        X = self.vectorizer_.fit_transform(texts)
        xp = array_namespace(X.data)
        n_docs, n_words = X.shape
        if n_words < k or n_docs < k:
            raise DataValidationError.for_parameter(
                "n_topics", f"more topics than documents ({n_docs}) or words ({n_words}) to share them", k)
        rng = np.random.default_rng(seed)
        scale = np.sqrt(float(X.sum()) / (n_docs * n_words) / k)
        H0 = scale * rng.standard_normal((k, n_words))
        W0 = scale * rng.standard_normal((n_docs, k))
        W, H = nmf_updates(X, xp.asarray(np.abs(W0)), xp.asarray(np.abs(H0)), n_iter)
        self.components_ = H
        self.n_components_ = k
        self.n_iter_ = n_iter
        self.reconstruction_err_ = _frobenius_error(X, W, H)
        self.topic_aspects_ = self._label_topics()
        return W

    def transform(self, texts: Any) -> Any:
        """Document-topic weights of new texts (``W`` fitted with the topics fixed)."""
        check_is_fitted(self, "components_")
        X = self.vectorizer_.transform(check_texts(texts))
        xp = array_namespace(X.data)
        W0 = xp.full((X.shape[0], self.n_components_), float(xp.sqrt(xp.mean(X.data) / self.n_components_))
                     if X.nnz else 1.0, dtype=xp.float64)
        W, _ = nmf_updates(X, W0, self.components_, self.n_iter_, update_H=False)
        return W

    def topic_words(self, n: int | None = None) -> list[list[str]]:
        """The ``n`` (default ``top_words``) heaviest words of each topic."""
        check_is_fitted(self, "components_")
        n = panel.check_int("n", self.top_words if n is None else n, minimum=1)
        H = to_host(self.components_)
        words = np.asarray(self.vectorizer_.vocabulary_, dtype=object)
        return [words[np.argsort(-row, kind="stable")[:n]].tolist() for row in H]

    def _label_topics(self) -> list[str]:
        H = to_host(self.components_)
        index = {w: i for i, w in enumerate(self.vectorizer_.vocabulary_)}
        labels = []
        for row in H:
            top = np.argsort(-row, kind="stable")[:self.top_words]
            weight = {aspect: float(sum(row[index[t]] for t in terms if t in index and index[t] in top))
                      for aspect, terms in ASPECT_TERMS.items()}
            best = max(weight, key=weight.get)
            labels.append(best if weight[best] > 0 else "other")
        return labels


def _frobenius_error(X: Any, W: Any, H: Any) -> float:
    """``||X - W H||_F`` without forming ``W H`` densely: ``|X|^2 - 2 <X, WH> + |WH|^2``."""
    xp = array_namespace(W)
    x2 = float(xp.sum(X.data * X.data))
    cross = float(xp.sum(xp.asarray(X @ H.T) * W))
    wh2 = float(xp.sum((W.T @ W) * (H @ H.T)))
    return float(np.sqrt(max(x2 - 2.0 * cross + wh2, 0.0)))
