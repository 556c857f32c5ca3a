"""Documents to sparse term matrices, on SciPy or CuPy, for the learned models of :mod:`toolkit.text`.

:class:`TextVectorizer` learns a vocabulary (the ``max_features`` most frequent tokens seen at
least ``min_count`` times, minus stop words) and turns documents into a CSR matrix: one column
per vocabulary token, plus ``bigram_buckets`` columns for the hashed pairs of adjacent known
tokens (so "not good" differs from "good" without a vocabulary of pairs), weighted by
sublinear term frequency x inverse document frequency and scaled to unit length per row.

Tokenisation is :func:`toolkit.text.encode` (pyarrow on pandas, nvtext on cuDF) and the
matrix is built from the token arrays in one pass (a COO matrix summed into CSR), in
``scipy.sparse`` or ``cupyx.scipy.sparse`` as :func:`toolkit.panel.frames.sparse` says: the
matrix lives where the text does, ready for scikit-learn or cuML estimators.

Design choices: the vocabulary is learned from token counts (one pass, no per-document
Python); pairs are hashed with a fixed multiplicative hash of the two token ids, so the same
vocabulary always gives the same columns; ``idf = ln((1 + n) / (1 + df)) + 1`` as
scikit-learn's ``TfidfTransformer(smooth_idf=True)``.

Examples
--------
>>> import pandas as pd
>>> from toolkit.text import TextVectorizer
>>> vec = TextVectorizer(min_count=1, bigram_buckets=0, stop_words=()).fit(pd.Series(["good fit", "bad fit"]))
>>> vec.vocabulary_
['fit', 'bad', 'good']
>>> vec.transform(pd.Series(["good good"])).toarray().round(3).tolist()
[[0.0, 0.0, 1.0]]
"""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.utils.validation import check_is_fitted

from toolkit import panel
from toolkit.backend import array_namespace
from toolkit.errors import DataValidationError
from toolkit.panel import frames
from toolkit.text.normalize import Tokens, check_texts, encode, normalize

__all__ = ["TextVectorizer", "term_matrix", "STOP_WORDS"]

_PAIR_HASH = 2_654_435_761  # Knuth's multiplicative constant


def _stop_words() -> tuple[str, ...]:
    from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS

    keep = {"not", "no", "never", "nor", "nothing", "cannot", "but", "too", "very", "least", "less", "more", "much",
            "off", "well", "few", "fill", "up", "down"}  # opinion carriers: keep them
    return tuple(sorted(set(ENGLISH_STOP_WORDS) - keep))


STOP_WORDS = _stop_words()
"""scikit-learn's English stop words less the negations and degree words that carry opinion."""
PUNCTUATION = (".", ",", ";", "!", "?")


def term_matrix(tokens: Tokens, n_columns: int, bigram_buckets: int = 0) -> Any:
    """Raw counts (CSR, float64) of the tokens' vocabulary ids, plus hashed adjacent pairs.

    Column ``j < len(vocabulary)`` counts token ``j``; pairs of adjacent known tokens of one
    document go to column ``len(vocabulary) + hash(pair) % bigram_buckets``.
    """
    xp = array_namespace(tokens.ids)
    n_vocab = len(tokens.vocabulary)
    doc = tokens.doc_of_token()
    known = tokens.ids >= 0
    rows, cols = doc[known], tokens.ids[known]
    if bigram_buckets and tokens.ids.shape[0] > 1:
        left, right = tokens.ids[:-1], tokens.ids[1:]
        pair = (left >= 0) & (right >= 0) & (doc[:-1] == doc[1:])
        code = (xp.astype(left[pair], xp.uint64) * _PAIR_HASH + xp.astype(right[pair], xp.uint64)) \
            % xp.asarray(bigram_buckets, dtype=xp.uint64)
        rows = xp.concat([rows, doc[:-1][pair]])
        cols = xp.concat([cols, n_vocab + xp.astype(code, xp.int64)])
    data = xp.ones(rows.shape[0], dtype=xp.float64)
    coo = frames.sparse(tokens.ids).coo_matrix((data, (rows, cols)), shape=(tokens.n_docs, n_columns))
    return coo.tocsr()


class TextVectorizer(TransformerMixin, BaseEstimator):
    """Vocabulary + hashed bigrams, sublinear TF-IDF, unit rows; on SciPy or CuPy.

    Parameters
    ----------
    max_features : int, default 20000
        Largest vocabulary (most frequent tokens first; ties in token order).
    min_count : int, default 2
        Tokens seen fewer times are left out.
    bigram_buckets : int, default 2**18
        Columns for hashed pairs of adjacent known tokens (0: unigrams only).
    stop_words : sequence of str, default :data:`STOP_WORDS`
        Tokens never in the vocabulary (punctuation tokens never are).
    idf : bool, default True
        Weight columns by inverse document frequency.

    Attributes
    ----------
    vocabulary_ : list of str
    idf_ : array (n_columns,)
        Of the fit data's array library.
    n_features_out_ : int
    """

    def __init__(self, max_features: int = 20_000, min_count: int = 2, bigram_buckets: int = 2**18,
                 stop_words: Sequence[str] = STOP_WORDS, idf: bool = True):
        self.max_features = max_features
        self.min_count = min_count
        self.bigram_buckets = bigram_buckets
        self.stop_words = stop_words
        self.idf = idf

    def _check_params(self) -> None:
        panel.check_int("max_features", self.max_features, minimum=1)
        panel.check_int("min_count", self.min_count, minimum=1)
        panel.check_int("bigram_buckets", self.bigram_buckets, minimum=0)
        if isinstance(self.stop_words, str) or not all(isinstance(w, str) for w in self.stop_words):
            raise DataValidationError.for_parameter("stop_words", "expected a sequence of words", self.stop_words)

    def fit(self, texts: Any, y: Any = None) -> "TextVectorizer":
        """Learn the vocabulary and the idf weights of ``texts`` (a Series of strings)."""
        self._fit_raw(texts)
        return self

    def fit_transform(self, texts: Any, y: Any = None) -> Any:
        """:meth:`fit` then :meth:`transform`, tokenising ``texts`` once."""
        return self._weigh(self._fit_raw(texts))

    def _fit_raw(self, texts: Any) -> Any:
        """Fit, and return the raw count matrix of ``texts`` the idf was learned from."""
        self._check_params()
        text = normalize(texts)
        counts = frames.token_counts(text)
        dropped = set(self.stop_words) | set(PUNCTUATION)
        counts = counts[(counts >= self.min_count) & ~counts.index.isin(list(dropped))]
        order = np.lexsort((np.asarray(counts.index, dtype=object).astype(str), -counts.to_numpy()))
        self.vocabulary_ = [str(t) for t in np.asarray(counts.index, dtype=object)[order][:self.max_features]]
        self.n_features_out_ = len(self.vocabulary_) + int(self.bigram_buckets)
        raw = term_matrix(encode(text, self.vocabulary_, normalized=True), self.n_features_out_,
                          int(self.bigram_buckets))
        xp = array_namespace(raw.data)
        n = raw.shape[0]
        df = xp.asarray(xp.bincount(raw.indices, minlength=self.n_features_out_), dtype=xp.float64)
        self.idf_ = (xp.log((1.0 + n) / (1.0 + df)) + 1.0) if self.idf else xp.ones_like(df)
        return raw

    def transform(self, texts: Any) -> Any:
        """CSR matrix (n_docs, ``n_features_out_``) of the texts' weighted, unit-length rows."""
        check_is_fitted(self, "vocabulary_")
        check_texts(texts)
        return self._weigh(term_matrix(encode(texts, self.vocabulary_), self.n_features_out_,
                                       int(self.bigram_buckets)))

    def _weigh(self, raw: Any) -> Any:
        """Sublinear tf x idf, rows scaled to unit length (``raw`` is modified)."""
        xp = array_namespace(raw.data)
        raw.data = (1.0 + xp.log(raw.data)) * xp.take(xp.asarray(self.idf_), raw.indices)
        norms = xp.sqrt(xp.asarray(raw.multiply(raw).sum(axis=1)).reshape(-1))
        scale = xp.where(norms > 0, 1.0 / xp.where(norms > 0, norms, 1.0), 0.0)
        return frames.sparse(raw.data).diags(scale) @ raw

    def get_feature_names_out(self, input_features: Any = None) -> np.ndarray:
        """Vocabulary tokens, then ``pair_<bucket>`` for the hashed pairs."""
        check_is_fitted(self, "vocabulary_")
        return np.asarray([*self.vocabulary_, *(f"pair_{b}" for b in range(int(self.bigram_buckets)))], dtype=object)
