"""The word lists the lexicon models read: VADER's valences and rules, e-commerce terms, aspect seeds.

* **Valence** -- VADER's lexicon (about 7,500 words and emoticons rated from -4 to +4 by human
  raters, shipped inside the ``vaderSentiment`` package, read from there: no download), its
  negation words (plus "no": "no complaints" is praise), boosters/dampeners and negation
  scalar, plus :data:`DOMAIN_VALENCE`: words
  that carry an opinion in shop reviews but not in VADER's general-purpose list ("late",
  "tight", "overpriced", "flimsy", "fast" ...), written for this toolkit.
* **Aspects** -- :data:`ASPECT_TERMS`: seed words per aspect (quality, damage, size_fit,
  delivery, price, service); a clause mentioning one is about that aspect. A word may seed
  several aspects ("cheap": price, and quality).
* **Structure** -- clause boundaries (``. ! ? , ;`` as tokens written by
  :func:`toolkit.text.normalize`, and the contrast words "but", "however", "though").

:class:`Lexicon` puts them into one vocabulary with per-token arrays, ready for the
vectorised scorer of :mod:`toolkit.text.sentiment`.

Examples
--------
>>> from toolkit.text.lexicon import Lexicon
>>> lex = Lexicon.default()
>>> lex.valence_of("great") > 0 > lex.valence_of("late")
True
>>> sorted(lex.aspects_of("shipping"))
['delivery']
"""

from __future__ import annotations

import functools
import importlib.resources
from typing import Any

import numpy as np

__all__ = ["ASPECTS", "ASPECT_TERMS", "DOMAIN_VALENCE", "BOUNDARIES", "CONTRASTS", "Lexicon", "vader_module"]

ASPECTS = ("quality", "damage", "size_fit", "delivery", "price", "service")
"""The aspects :mod:`toolkit.text` detects, in this order."""

ASPECT_TERMS: dict[str, tuple[str, ...]] = {
    "quality": ("quality", "qualty", "build", "made", "material", "materials", "flimsy", "sturdy", "solid", "cheap",
                "cheaply", "broke", "breaks", "defective", "faulty", "junk", "works", "working", "work", "stopped",
                "durable", "apart", "useless", "crap", "lasted", "poorly"),
    "damage": ("damaged", "damagd", "damage", "broken", "cracked", "crushed", "dented", "dent", "scratches", "scratch",
               "scratched", "smashed", "leaking", "leaked", "torn", "intact", "condition", "packaging", "packaged",
               "seal", "missing", "shattered"),
    "size_fit": ("size", "sizes", "sizing", "fit", "fits", "fitting", "small", "large", "big", "tight", "loose",
                 "short", "long", "narrow", "wide", "chart"),
    "delivery": ("delivery", "delivered", "shipping", "shipped", "ship", "arrival", "courier",
                 "carrier", "package", "parcel", "tracking", "late", "delayed", "delay",
                 "forever", "waiting", "schedule", "early", "fast", "quick", "quickly", "slow"),
    "price": ("price", "priced", "prices", "pricey", "expensive", "overpriced", "cost", "costs", "money", "value",
              "deal", "cheap", "affordable", "penny", "rip", "raised", "increased", "worth", "bargain"),
    "service": ("service", "support", "staff", "refund", "refunds", "returns", "return", "seller", "helpful",
                "unhelpful", "rude", "response", "answered", "replied", "help", "helped", "exchange"),
}
"""Seed words of each aspect."""

DOMAIN_VALENCE: dict[str, float] = {
    # complaints that VADER's general lexicon does not rate
    "late": -1.8, "delayed": -1.5, "slow": -1.2, "forever": -1.0, "waiting": -0.6,
    "tight": -1.3, "loose": -1.0, "small": -0.6, "flimsy": -1.8, "cheaply": -1.2, "broke": -1.9, "faulty": -1.9,
    "junk": -2.2, "overpriced": -2.0, "pricey": -1.2, "expensive": -1.2, "rip": -1.5, "crushed": -1.6,
    "cracked": -1.6, "dented": -1.5, "dent": -1.3, "scratches": -1.2, "scratched": -1.3, "smashed": -1.9,
    "leaking": -1.5, "torn": -1.4, "missing": -1.2, "unhelpful": -1.8, "refused": -1.3, "stopped": -0.8,
    "damagd": -1.9, "off": -0.6, "wrong": -1.8, "nightmare": -2.3,
    "shattered": -1.8, "poorly": -1.6, "disappointed": -2.0, "raised": -0.8, "increased": -0.6,
    # praise that it does not rate
    "fast": 1.4, "quick": 1.2, "quickly": 1.3, "early": 1.0, "sturdy": 1.6, "solid": 1.2, "intact": 1.2,
    "durable": 1.5, "affordable": 1.3, "comfortable": 1.5, "fits": 0.8, "accurate": 1.1, "bargain": 1.4,
}
"""E-commerce words with their valence (VADER's -4..4 scale); they override VADER's value."""

BOUNDARIES = (".", "!", "?", ",", ";")
"""Punctuation tokens that end a clause (``!`` and ``?`` also end a sentence, like ``.``)."""
SENTENCE_ENDS = (".", "!", "?", ";")
CONTRASTS = ("but", "however", "though", "although")
"""Words that shift weight to the clause after them (VADER's "but" rule)."""
EMOTICONS = {"emo_smile": ":)", "emo_frown": ":("}


def vader_module() -> Any:
    """The ``vaderSentiment.vaderSentiment`` module (its lexicon ships inside the package).

    Raises
    ------
    ImportError
        ``vaderSentiment`` is not installed, with the command that installs it.
    """
    try:
        from vaderSentiment import vaderSentiment
    except ImportError as err:  # pragma: no cover - depends on the environment
        raise ImportError("toolkit.text needs the package 'vaderSentiment' (its lexicon ships with it): "
                          "pip install vaderSentiment") from err
    return vaderSentiment


@functools.lru_cache(maxsize=1)
def _vader_valences() -> dict[str, float]:
    vader = vader_module()
    text = importlib.resources.files("vaderSentiment").joinpath("vader_lexicon.txt").read_text(encoding="utf-8")
    valences = {}
    for line in text.splitlines():
        parts = line.split("\t")
        if len(parts) >= 2 and parts[0] and " " not in parts[0]:
            valences[parts[0].lower()] = float(parts[1])
    assert vader.N_SCALAR < 0  # the negation rule below relies on VADER's sign convention
    return valences


class Lexicon:
    """One vocabulary with the per-token arrays the vectorised scorer reads.

    Attributes
    ----------
    vocabulary : list of str
    valence : ndarray of float64
        VADER valence (domain words override), 0 for structure words.
    negator, boundary, sentence_end, contrast, exclaim : ndarray of bool
    booster : ndarray of float64
        VADER's booster increment (+0.293 / -0.293), 0 elsewhere.
    aspect : ndarray of bool, (n_tokens, n_aspects)
        Seed membership of each token in each aspect of ``aspects``.
    aspects : tuple of str
    negation_scalar : float
        VADER's ``N_SCALAR`` (-0.74): a negated word's valence is multiplied by it.
    """

    def __init__(self, valences: dict[str, float], negators: list[str], boosters: dict[str, float],
                 aspect_terms: dict[str, tuple[str, ...]], negation_scalar: float):
        structure = [*BOUNDARIES, *CONTRASTS]
        words = sorted(set(valences) | set(negators) | set(boosters) | set(structure)
                       | {w for terms in aspect_terms.values() for w in terms})
        index = {w: i for i, w in enumerate(words)}
        n = len(words)
        self.vocabulary = words
        self.aspects = tuple(aspect_terms)
        self.valence = np.zeros(n)
        for word, value in valences.items():
            self.valence[index[word]] = value
        self.negator = self._flags(index, negators)
        self.boundary = self._flags(index, [*BOUNDARIES, *CONTRASTS])
        self.sentence_end = self._flags(index, SENTENCE_ENDS)
        self.contrast = self._flags(index, CONTRASTS)
        self.exclaim = self._flags(index, ["!"])
        self.booster = np.zeros(n)
        for word, value in boosters.items():
            self.booster[index[word]] = value
        self.aspect = np.zeros((n, len(self.aspects)), dtype=bool)
        for a, terms in enumerate(aspect_terms.values()):
            self.aspect[[index[t] for t in terms], a] = True
        self.negation_scalar = float(negation_scalar)
        self._index = index

    @staticmethod
    def _flags(index: dict[str, int], words: list[str]) -> np.ndarray:
        flags = np.zeros(len(index), dtype=bool)
        flags[[index[w] for w in words if w in index]] = True
        return flags

    @classmethod
    @functools.lru_cache(maxsize=1)
    def default(cls) -> "Lexicon":
        """VADER's lexicon and rules with :data:`DOMAIN_VALENCE` and :data:`ASPECT_TERMS` (cached)."""
        vader = vader_module()
        valences = dict(_vader_valences())
        for token, emoticon in EMOTICONS.items():
            valences[token] = valences.get(emoticon, 0.0)
        valences.update(DOMAIN_VALENCE)
        negators = [w for w in vader.NEGATE if "'" not in w] + ["no"]
        for word in negators:  # a negation word negates the next words instead of carrying valence
            valences.pop(word, None)
        boosters = {w: v for w, v in vader.BOOSTER_DICT.items() if " " not in w and "-" not in w}
        return cls(valences, negators, boosters, ASPECT_TERMS, vader.N_SCALAR)

    def valence_of(self, word: str) -> float:
        """The valence of ``word`` (0 when it is not in the vocabulary)."""
        return float(self.valence[self._index[word]]) if word in self._index else 0.0

    def aspects_of(self, word: str) -> list[str]:
        """The aspects ``word`` seeds."""
        if word not in self._index:
            return []
        return [a for a, hit in zip(self.aspects, self.aspect[self._index[word]]) if hit]
