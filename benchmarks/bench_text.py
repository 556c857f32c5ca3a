"""Benchmark toolkit.text against plain scikit-learn (and the vaderSentiment package), in one process.

Documents per second, at 10^5 and 10^6 generated reviews (``--sizes``), on the CPU:

1. **Vectorising** -- :class:`toolkit.text.TextVectorizer` (vocabulary + hashed word pairs,
   sublinear TF-IDF, fit + transform) vs scikit-learn's ``TfidfVectorizer(ngram_range=(1, 2),
   sublinear_tf=True, min_df=2)`` and ``HashingVectorizer(ngram_range=(1, 2))`` +
   ``TfidfTransformer(sublinear_tf=True)``.
2. **Sentiment** -- :func:`toolkit.text.lexicon_sentiment` (VADER's rules vectorised) vs the
   same lexicon through scikit-learn (``CountVectorizer(vocabulary=lexicon)`` and a dot with the
   valences: no negation, booster or contrast rules, so less work) and vs the ``vaderSentiment``
   package (timed on ``--vader-docs`` reviews: it is one Python call per review); and the
   supervised :class:`~toolkit.text.RatingModel`'s ``predict`` vs a scikit-learn
   ``HashingVectorizer`` + ``LogisticRegression`` pipeline's, both trained on the same 50,000
   reviews.
3. **Aspects** -- :func:`toolkit.text.detect_aspects` (mentions and complaints per clause) vs
   aspect mentions through scikit-learn (``CountVectorizer(vocabulary=seed words)`` times the
   word-aspect matrix: mentions only, no complaints).

Ratios are toolkit docs/s over the reference's (> 1: the toolkit is faster). Times are the best
of ``--repeat`` runs. A GPU run (cuDF/cuML through the same calls) is ``--backend gpu`` on a
machine that has one.

Run (the 2 cores are shared; take the lock)::

    flock /tmp/bench.lock .venv/bin/python benchmarks/bench_text.py
"""

from __future__ import annotations

import argparse

import numpy as np
import pandas as pd
from timing import best_of


def corpus(n: int, seed: int = 0) -> pd.Series:
    """``n`` review texts from the generator's phrase banks (1-3 clauses, 12 % negative)."""
    from toolkit.datasets.phrases import ASPECTS, NOUNS, PhraseBank

    rng = np.random.default_rng(seed)
    categories = list(NOUNS)
    n_clauses = rng.choice([1, 2, 3], size=n, p=[0.45, 0.4, 0.15])
    aspects = rng.integers(0, len(ASPECTS), (n, 3))
    aspects[np.arange(3)[None, :] >= n_clauses[:, None]] = -1
    polarity = (rng.random((n, 3)) > 0.12).astype(np.int64)
    texts = PhraseBank(categories).assemble(rng, rng.integers(0, len(categories), n), aspects, polarity)
    return pd.Series(texts, dtype="str")


def _line(task: str, n: int, ours: float, ref_name: str, ref: float, ref_n: int | None = None) -> None:
    ref_n = ref_n or n
    print(f"{task:<12} {n:>9,}  toolkit {n / ours:>11,.0f} docs/s | {ref_name:<34} {ref_n / ref:>11,.0f} docs/s"
          f" | ratio {(n / ours) / (ref_n / ref):6.2f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[100_000, 1_000_000])
    parser.add_argument("--repeat", type=int, default=2)
    parser.add_argument("--vader-docs", type=int, default=20_000)
    parser.add_argument("--backend", default="cpu", choices=["cpu", "gpu"])
    args = parser.parse_args()

    from scipy import sparse
    from sklearn.feature_extraction.text import CountVectorizer, HashingVectorizer, TfidfTransformer, TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline

    from toolkit import backend, text
    from toolkit.text.lexicon import Lexicon

    lexicon = Lexicon.default()
    valence = lexicon.valence
    aspect_matrix = sparse.csr_matrix(lexicon.aspect.astype(np.float64))
    train = corpus(50_000, seed=1)
    ratings = pd.Series(np.clip(np.round(3 + 2 * text.lexicon_sentiment(train).to_numpy()), 1, 5).astype(int))
    train_frame = pd.DataFrame({"text": train, "rating": ratings})
    model = text.RatingModel().fit(backend.to_backend(train_frame, args.backend))
    reference_model = make_pipeline(HashingVectorizer(ngram_range=(1, 2), n_features=2**18, alternate_sign=False),
                                    LogisticRegression(C=4.0, max_iter=300)).fit(train, ratings)
    print(f"backend {args.backend}; best of {args.repeat}; ratio = toolkit docs/s / reference docs/s")
    for n in args.sizes:
        docs = corpus(n)
        data = backend.to_backend(docs, args.backend)
        frame = backend.to_backend(pd.DataFrame({"text": docs}), args.backend)
        repeat = args.repeat if n <= 200_000 else 1

        t_ours, _ = best_of(lambda: text.TextVectorizer().fit_transform(data), repeat)
        t_tfidf, _ = best_of(
            lambda: TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True, min_df=2).fit_transform(docs), repeat)
        t_hash, _ = best_of(lambda: TfidfTransformer(sublinear_tf=True).fit_transform(
            HashingVectorizer(ngram_range=(1, 2), n_features=2**18, alternate_sign=False, norm=None).transform(docs)),
            repeat)
        _line("vectorise", n, t_ours, "sklearn TfidfVectorizer(1,2)", t_tfidf)
        _line("vectorise", n, t_ours, "sklearn Hashing(1,2)+Tfidf", t_hash)

        t_lex, _ = best_of(lambda: backend.to_host(text.lexicon_sentiment(data)), repeat)

        def sklearn_lexicon():
            counts = CountVectorizer(vocabulary=lexicon.vocabulary, token_pattern=r"\S+",
                                     lowercase=False).transform(text.normalize(docs).fillna(""))
            total = counts @ valence
            return total / np.sqrt(total * total + 15.0)

        t_sk_lex, _ = best_of(sklearn_lexicon, repeat)
        few = docs.iloc[: min(args.vader_docs, n)]
        t_vader, _ = best_of(lambda: text.lexicon_sentiment(few, method="vader"), 1)
        _line("sentiment", n, t_lex, "sklearn CountVectorizer(lexicon)", t_sk_lex)
        _line("sentiment", n, t_lex, "vaderSentiment package", t_vader, len(few))
        t_model, _ = best_of(lambda: model.predict(frame), repeat)
        t_sk_model, _ = best_of(lambda: reference_model.predict(docs), repeat)
        _line("rating model", n, t_model, "sklearn Hashing(1,2)+LogisticReg", t_sk_model)

        t_asp, _ = best_of(lambda: text.detect_aspects(data), repeat)

        def sklearn_aspects():
            counts = CountVectorizer(vocabulary=lexicon.vocabulary, token_pattern=r"\S+",
                                     lowercase=False).transform(text.normalize(docs).fillna(""))
            return (counts @ aspect_matrix) > 0

        t_sk_asp, _ = best_of(sklearn_aspects, repeat)
        _line("aspects", n, t_asp, "sklearn CountVectorizer(seeds)", t_sk_asp)


if __name__ == "__main__":
    main()
