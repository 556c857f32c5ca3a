"""The words of generated reviews: phrase banks per aspect and polarity, and their assembly.

A generated review is a few clauses, one per aspect it talks about, each drawn from a bank of
phrasings of that (aspect, polarity) -- plain, negated ("not happy with the fit"), double
negative ("no complaints about delivery"), intensified, informal, misspelled -- with the
product's noun filled in, between an optional opener and closer that carry no opinion.
:func:`assemble` joins the picked clauses with varied punctuation and connectives ("but"
between clauses of opposite polarity), capitalises the first letter and shouts a few reviews
in capitals, all with array operations (pyarrow compute), so a million reviews take seconds.

The banks are written for this generator; their wording is what the aspect lexicons of
:mod:`toolkit.text` have to recognise, so those lexicons are written independently (seed
words), not read from here.

Examples
--------
>>> import numpy as np
>>> from toolkit.datasets.phrases import ASPECTS, PhraseBank
>>> bank = PhraseBank(["apparel"])
>>> rng = np.random.default_rng(0)
>>> text = bank.assemble(rng, category=np.array([0]), aspects=np.array([[2, -1, -1]]),
...                      polarity=np.array([[0, 0, 0]]))
>>> len(text) == 1 and isinstance(text[0], str)
True
"""

from __future__ import annotations

import numpy as np

__all__ = ["ASPECTS", "NOUNS", "CLAUSES", "PhraseBank"]

ASPECTS = ("quality", "damage", "size_fit", "delivery", "price", "service")
"""The aspects reviews talk about, in this order (the aspect index of the generator)."""

NOUNS = {
    "electronics": ("headphones", "charger", "speaker", "device", "cable"),
    "home": ("lamp", "pan", "blender", "kettle", "organizer"),
    "apparel": ("shirt", "jacket", "dress", "jeans", "sneakers"),
    "beauty": ("cream", "shampoo", "serum", "lotion", "kit"),
    "grocery": ("coffee", "tea", "snack box", "olive oil", "granola"),
    "toys": ("puzzle", "toy", "board game", "doll", "lego set"),
}
"""Product nouns per category, filled into the ``{item}`` of a phrase."""

# (aspect, polarity) -> phrasings; polarity 0 = negative, 1 = positive
CLAUSES: dict[tuple[str, int], tuple[str, ...]] = {
    ("quality", 0): (
        "the {item} feels cheap and flimsy", "poor quality, it broke after two days", "the {item} stopped working",
        "not happy with the quality at all", "really disappointed with the build quality",
        "it fell apart within a week", "the {item} is defective", "quality is terrible compared to before",
        "this {item} is junk", "not worth it, the quality is awful", "very poor quality control on this {item}",
        "the {item} does not work properly", "cheaply made and it shows", "qualty is bad, broke right away",
        "worst {item} i have bought", "the material is not good", "the {item} is faulty and useless",
    ),
    ("quality", 1): (
        "great quality", "the {item} feels solid and well made", "excellent build quality", "works perfectly",
        "the quality is not bad at all", "really sturdy {item}", "love this {item}", "high quality for sure",
        "exactly as described and works great", "the {item} is amazing", "very well made", "no issues with the quality",
        "good quality {item}", "it does the job perfectly", "awesome {item}, highly recommend", "quality is superb",
    ),
    ("damage", 0): (
        "the {item} arrived damaged", "box was crushed and the {item} was broken", "it came cracked",
        "arrived with scratches and a dent", "the {item} was smashed in the box", "received it broken",
        "the package was torn open and the {item} damaged", "leaking when it arrived", "item came damaged, not acceptable",
        "the {item} was dented and scratched", "arrived broken, very upset", "recieved it damaged",
        "parts were missing and the {item} was broken", "the seal was broken on arrival",
    ),
    ("damage", 1): (
        "arrived in perfect condition", "well packaged, no damage", "the {item} came intact",
        "packaging was great and nothing was broken", "arrived safe and sound", "not a single scratch",
        "came well protected", "no damage at all",
    ),
    ("size_fit", 0): (
        "runs small, order a size up", "the fit is not right", "way too tight", "too small for the size",
        "the {item} is too big and loose", "sizing is completely off", "does not fit as expected",
        "the size chart is wrong", "it runs really small", "not true to size", "had to return it, wrong fit",
        "the {item} fits terribly", "too short and too tight", "sizes are inconsistent, this one is way off",
    ),
    ("size_fit", 1): (
        "fits perfectly", "true to size", "the fit is great", "the size is just right", "comfortable and fits well",
        "perfect fit", "sizing is accurate", "fits like a glove", "not too tight, not too loose",
    ),
    ("delivery", 0): (
        "delivery was late", "shipping took forever", "arrived a week late", "the package was delayed again",
        "delivery was very slow", "it never arrived on time", "the courier was late and tracking was useless",
        "took way too long to arrive", "shipping was a nightmare", "not delivered when promised", "late delivery",
        "delivery took days longer than promised", "still waiting on the package, delayed", "slow shipping",
    ),
    ("delivery", 1): (
        "fast delivery", "arrived quickly", "shipping was fast", "arrived a day early", "quick shipping",
        "delivered on time", "no complaints about delivery", "super fast delivery", "arrived right on schedule",
    ),
    ("price", 0): (
        "way too expensive", "overpriced for what it is", "the price went up, not worth it anymore",
        "too pricey", "not worth the money", "price is too high now", "expensive for the quality",
        "they raised the price, ridiculous", "costs more than it should", "not good value for money",
        "the new price is a rip off",
    ),
    ("price", 1): (
        "great value", "good price", "worth every penny", "cheap and good", "affordable", "great deal",
        "excellent value for money", "the price is fair", "not expensive at all", "good value",
    ),
    ("service", 0): (
        "customer service was rude", "support never answered", "terrible customer service",
        "the refund took forever", "nobody helped me", "service was unhelpful", "no response from support",
        "they refused to help", "returns process was awful",
    ),
    ("service", 1): (
        "customer service was helpful", "great support", "friendly service", "support answered quickly",
        "the staff were very helpful", "easy returns", "service was excellent", "no problems with the service",
    ),
}

OPENERS = ("", "", "", "", "bought this for my son.", "second time ordering.", "got this last week.",
           "ordered this as a gift.", "update:", "so,", "honestly,", "overall", "well,", "first impressions:")
CLOSERS = ("", "", "", "", "", "would buy again.", "will update later.", "thanks.", "just my two cents.",
           "as expected.", "we will see.", ":)", ":(", "meh.")
SAME = (". ", ", ", " and ", ". also ", "! ", ", plus ")
TURN = (" but ", ", but ", ". however ", " though ", ". on the other hand ")


class PhraseBank:
    """The clause bank expanded for a list of categories (every phrase with every noun).

    Parameters
    ----------
    categories : list of str
        Category names, in the order of the category codes :meth:`assemble` receives.
    """

    def __init__(self, categories: list[str]):
        texts: list[str] = []
        starts = np.zeros((len(categories), len(ASPECTS), 2), dtype=np.int64)
        counts = np.zeros_like(starts)
        for c, category in enumerate(categories):
            nouns = NOUNS.get(category, ("item", "product"))
            for a, aspect in enumerate(ASPECTS):
                for polarity in (0, 1):
                    phrases = sorted({p.format(item=n) for p in CLAUSES[(aspect, polarity)] for n in nouns})
                    starts[c, a, polarity], counts[c, a, polarity] = len(texts), len(phrases)
                    texts.extend(phrases)
        self.texts = np.asarray(texts, dtype=object)
        self.starts, self.counts = starts, counts

    def assemble(self, rng: np.random.Generator, category: np.ndarray, aspects: np.ndarray,
                 polarity: np.ndarray, shout: float = 0.03) -> np.ndarray:
        """Review texts from clause choices.

        Parameters
        ----------
        rng : numpy Generator
        category : int array (n,)
            Category code of each review.
        aspects : int array (n, k)
            Aspect indices of each review's clauses, -1 for no clause (the first is always set).
        polarity : int array (n, k)
            0 negative, 1 positive per clause.
        shout : float
            Share of reviews written in capitals.

        Returns
        -------
        ndarray of str (n,)
        """
        import pyarrow as pa
        import pyarrow.compute as pc

        n, k = aspects.shape
        pieces = [self._pick(rng, OPENERS, n)]
        for j in range(k):
            used = aspects[:, j] >= 0
            a, p = np.where(used, aspects[:, j], 0), polarity[:, j]
            which = self.starts[category, a, p] + (rng.random(n) * self.counts[category, a, p]).astype(np.int64)
            clause = np.where(used, self.texts[which], "")
            if j > 0:
                turned = used & (polarity[:, j] != polarity[:, j - 1])
                sep = np.where(turned, self._pick(rng, TURN, n), self._pick(rng, SAME, n))
                clause = np.where(used, sep.astype(object) + clause, "")
            else:
                clause = np.where(pieces[0] == "", clause, " " + clause)
            pieces.append(clause)
        ending = rng.choice(np.array([".", "!", "", "!!", "..."], dtype=object), n, p=[0.45, 0.2, 0.2, 0.1, 0.05])
        closer = self._pick(rng, CLOSERS, n)
        pieces += [ending, np.where(closer == "", "", " " + closer)]
        joined = pc.binary_join_element_wise(*[pa.array(x, type=pa.large_string()) for x in pieces],
                                             pa.scalar("", type=pa.large_string()))
        text = pc.utf8_capitalize(joined).to_numpy(zero_copy_only=False)
        loud = rng.random(n) < shout
        text[loud] = pc.utf8_upper(pa.array(text[loud], type=pa.large_string())).to_numpy(zero_copy_only=False)
        return text

    @staticmethod
    def _pick(rng: np.random.Generator, options: tuple[str, ...], n: int) -> np.ndarray:
        return np.asarray(options, dtype=object)[rng.integers(0, len(options), n)]
