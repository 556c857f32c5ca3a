"""The vectorised lexicon model: VADER's rules as array operations over all tokens at once.

VADER scores one sentence at a time in Python. Here every document of a batch is one run of
array operations over its tokens (:class:`toolkit.text.normalize.Tokens`), the same code on
NumPy and CuPy, so it scales with the array library rather than the interpreter:

1. each token's valence from the :class:`~toolkit.text.lexicon.Lexicon` (booster words
   themselves carry none, as in VADER);
2. **boosters**: a booster 1 or 2 tokens before a rated word, within its clause, adds
   VADER's increment (x 0.95 at distance 2) in the word's direction;
3. **negation**: a negation word up to 3 tokens before, within the clause, multiplies the
   valence by VADER's ``N_SCALAR`` (-0.74);
4. **contrast**: in a sentence with "but" (however, though, although), words before it count
   x 0.5 and words after it x 1.5;
5. **exclamation**: each ``!`` (up to 4) adds 0.292 in the direction of the sum;
6. ``compound = s / sqrt(s^2 + 15)``, VADER's normalisation, in [-1, 1].

Clauses (split at ``. , ; ! ?`` and the contrast words) give the aspects: a clause mentions
an aspect when it holds one of its seed words, and is a **complaint** about it when the
clause's valence sum (steps 1-3) is below ``-complaint_margin``.

Differences from VADER, by design: text is lower-cased first (VADER's capitals emphasis is
not used), only single-word lexicon entries are read, the special cases of "never so",
"least" and idioms are not applied, and a whole review is one unit (VADER's authors average
sentence scores by hand when they need that). :func:`toolkit.text.lexicon_sentiment` with
``method="vader"`` runs the package itself for comparison.

Examples
--------
>>> import pandas as pd
>>> from toolkit.text.lexicon import Lexicon
>>> from toolkit.text.normalize import encode
>>> from toolkit.text.scorer import score_tokens
>>> lex = Lexicon.default()
>>> out = score_tokens(encode(pd.Series(["not good", "good", "late delivery"]), lex.vocabulary), lex)
>>> [round(float(v), 3) for v in out.compound]
[-0.341, 0.44, -0.421]
>>> out.complaint[2].tolist()  # quality, damage, size_fit, delivery, price, service
[False, False, False, True, False, False]
"""

from __future__ import annotations

import dataclasses
from typing import Any

from toolkit.backend import array_namespace
from toolkit.text.lexicon import Lexicon
from toolkit.text.normalize import Tokens

__all__ = ["LexiconScores", "score_tokens", "VADER_ALPHA", "EXCLAIM_STEP"]

VADER_ALPHA = 15.0
EXCLAIM_STEP = 0.292
BOOST_DECAY = (1.0, 0.95)
NEGATION_WINDOW = 3


@dataclasses.dataclass
class LexiconScores:
    """Per-document results of :func:`score_tokens` (arrays of the tokens' library).

    Attributes
    ----------
    compound : float64 (n_docs,)
    mention, complaint : bool (n_docs, n_aspects)
    n_tokens : int64 (n_docs,)
    """

    compound: Any
    mention: Any
    complaint: Any
    n_tokens: Any


def _shifted(xp: Any, values: Any, k: int, fill: Any) -> Any:
    """``values`` moved ``k`` places later (``out[i] = values[i - k]``), ``fill`` in front."""
    out = xp.full(values.shape, fill, dtype=values.dtype)
    if k < values.shape[0]:
        out[k:] = values[:-k]
    return out


def score_tokens(tokens: Tokens, lexicon: Lexicon, complaint_margin: float = 0.05) -> LexiconScores:
    """Compound sentiment and aspect mentions/complaints of every document of ``tokens``.

    ``tokens`` must be encoded with ``lexicon.vocabulary``.
    """
    xp = array_namespace(tokens.ids)
    ids, offsets = tokens.ids, tokens.offsets
    n_docs, n_tok = tokens.n_docs, int(ids.shape[0])
    known = ids >= 0
    safe = xp.where(known, ids, 0)

    def per_token(table: Any) -> Any:
        return xp.take(xp.asarray(table), safe)

    valence = xp.where(known, per_token(lexicon.valence), 0.0)
    booster = xp.where(known, per_token(lexicon.booster), 0.0)
    valence = xp.where(booster != 0, 0.0, valence)
    negator = known & per_token(lexicon.negator)
    boundary = known & per_token(lexicon.boundary)
    sentence_end = known & per_token(lexicon.sentence_end)
    contrast = known & per_token(lexicon.contrast)
    exclaim = known & per_token(lexicon.exclaim)

    doc = tokens.doc_of_token()
    position = xp.arange(n_tok, dtype=xp.int64) - xp.take(offsets, doc)
    first = position == 0
    clause = xp.cumsum(xp.astype(first | _shifted(xp, boundary, 1, False), xp.int64)) - 1
    sentence = xp.cumsum(xp.astype(first | _shifted(xp, sentence_end, 1, False), xp.int64)) - 1

    rated = valence != 0
    direction = xp.sign(valence)
    for k, decay in enumerate(BOOST_DECAY, start=1):
        near = _shifted(xp, clause, k, -1) == clause
        valence = valence + xp.where(near & rated, _shifted(xp, booster, k, 0.0) * decay * direction, 0.0)
    negated = xp.zeros(n_tok, dtype=bool)
    for k in range(1, NEGATION_WINDOW + 1):
        negated |= (_shifted(xp, clause, k, -1) == clause) & _shifted(xp, negator, k, False)
    valence = xp.where(negated, valence * lexicon.negation_scalar, valence)
    clause_valence = valence

    n_sentences = int(sentence[-1]) + 1 if n_tok else 0
    contrasts_in = xp.bincount(sentence, weights=xp.astype(contrast, xp.float64), minlength=n_sentences)
    before = xp.cumsum(xp.astype(contrast, xp.float64))
    start_of = xp.zeros(n_sentences, dtype=xp.float64)
    if n_tok:
        starts = xp.nonzero(xp.concat([xp.asarray([True]), sentence[1:] != sentence[:-1]]))[0]
        start_of = xp.take(before - xp.astype(contrast, xp.float64), starts)
    seen = before - xp.take(start_of, sentence)  # contrast words up to and including this token
    weight = xp.where(xp.take(contrasts_in, sentence) > 0, xp.where(seen > 0, 1.5, 0.5), 1.0)
    total = xp.bincount(doc, weights=valence * weight, minlength=n_docs)
    bangs = xp.minimum(xp.bincount(doc, weights=xp.astype(exclaim, xp.float64), minlength=n_docs), 4.0)
    total = total + xp.sign(total) * bangs * EXCLAIM_STEP
    compound = total / xp.sqrt(total * total + VADER_ALPHA)

    n_clauses = int(clause[-1]) + 1 if n_tok else 0
    clause_sum = xp.bincount(clause, weights=clause_valence, minlength=n_clauses)
    clause_doc = xp.zeros(n_clauses, dtype=xp.int64)
    if n_tok:
        clause_doc = xp.take(doc, xp.nonzero(xp.concat([xp.asarray([True]), clause[1:] != clause[:-1]]))[0])
    negative_clause = clause_sum < -complaint_margin
    n_aspects = len(lexicon.aspects)
    mention = xp.zeros((n_docs, n_aspects), dtype=bool)
    complaint = xp.zeros((n_docs, n_aspects), dtype=bool)
    for a in range(n_aspects):
        hit = xp.astype(known & per_token(lexicon.aspect[:, a]), xp.float64)
        in_clause = xp.bincount(clause, weights=hit, minlength=n_clauses) > 0
        mention[:, a] = xp.bincount(clause_doc, weights=xp.astype(in_clause, xp.float64), minlength=n_docs) > 0
        complained = xp.astype(in_clause & negative_clause, xp.float64)
        complaint[:, a] = xp.bincount(clause_doc, weights=complained, minlength=n_docs) > 0
    n_tokens = offsets[1:] - offsets[:-1]
    return LexiconScores(compound, mention, complaint, n_tokens)
