"""Customer reviews as a demand and quality signal: text analytics on pandas/scikit-learn and cuDF/cuML.

The package, by concern:

* :mod:`~toolkit.text.normalize` -- :func:`normalize`, :func:`tokenize`, :func:`encode`
  (pyarrow on pandas, nvtext on cuDF, through :mod:`toolkit.panel.frames`);
* :mod:`~toolkit.text.lexicon` -- VADER's lexicon and rules (read from the ``vaderSentiment``
  package), e-commerce words, aspect seed words;
* :mod:`~toolkit.text.scorer` -- the lexicon model as array operations (NumPy | CuPy);
* :mod:`~toolkit.text.sentiment` -- :func:`lexicon_sentiment`, :class:`RatingModel`;
* :mod:`~toolkit.text.vectorize` -- :class:`TextVectorizer` (SciPy | CuPy sparse);
* :mod:`~toolkit.text.aspects` -- :func:`detect_aspects`, :class:`TopicModel` (NMF);
* :mod:`~toolkit.text.score` -- :func:`score_reviews`, everything per review in one pass;
* :mod:`~toolkit.text.signals` -- :func:`review_signals`, leak-free exogenous columns;
* :mod:`~toolkit.text.alerts` -- :func:`complaint_alerts` through :func:`toolkit.anomaly.alarms`;
* :mod:`~toolkit.text.evaluate` -- :func:`incident_table`, :func:`match_alerts`;
* :mod:`~toolkit.text.explorer` -- :func:`review_browser`, an ipywidgets browser (imported lazily).

Floor: ``toolkit.text`` sits above the verbs (it uses :mod:`toolkit.anomaly` and reads the
generator's incident types) and below :mod:`toolkit.forecast`, which consumes its columns.

Examples
--------
>>> import pandas as pd
>>> from toolkit import text
>>> scored = text.score_reviews(pd.DataFrame({"text": ["Arrived late and damaged", "Love it!"]}))
>>> scored[["sentiment", "complaint_delivery", "complaint_damage"]].round(2).values.tolist()
[[-0.69, True, True], [0.67, False, False]]
"""

from toolkit.text.alerts import complaint_alerts, surge_scores
from toolkit.text.aspects import TopicModel, detect_aspects
from toolkit.text.evaluate import incident_table, match_alerts
from toolkit.text.explorer import review_browser
from toolkit.text.lexicon import ASPECT_TERMS, ASPECTS, Lexicon
from toolkit.text.normalize import Tokens, encode, normalize, tokenize
from toolkit.text.score import score_reviews
from toolkit.text.sentiment import RatingModel, lexicon_sentiment
from toolkit.text.signals import ReviewSignals, review_signals, signal_columns
from toolkit.text.vectorize import TextVectorizer

__all__ = [
    "ASPECTS",
    "ASPECT_TERMS",
    "Lexicon",
    "RatingModel",
    "ReviewSignals",
    "TextVectorizer",
    "Tokens",
    "TopicModel",
    "complaint_alerts",
    "detect_aspects",
    "encode",
    "incident_table",
    "lexicon_sentiment",
    "match_alerts",
    "normalize",
    "review_browser",
    "review_signals",
    "score_reviews",
    "signal_columns",
    "surge_scores",
    "tokenize",
]
