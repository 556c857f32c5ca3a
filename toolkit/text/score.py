"""Score a reviews table in one pass: sentiment, aspect mentions and complaints per review.

:func:`score_reviews` tokenises the text once and runs the vectorised lexicon model
(:mod:`toolkit.text.scorer`) for the compound sentiment and the aspect columns; with a fitted
:class:`~toolkit.text.RatingModel` it adds the learned sentiment too. The result is the input
of :func:`toolkit.text.review_signals` and :func:`toolkit.text.complaint_alerts`.

Examples
--------
>>> import pandas as pd
>>> from toolkit.text import score_reviews
>>> reviews = pd.DataFrame({"text": ["Box was crushed, item damaged", "Perfect fit!"]})
>>> out = score_reviews(reviews)
>>> out[["complaint", "complaint_damage", "negative"]].values.tolist()
[[True, True, True], [False, False, False]]
"""

from __future__ import annotations

from typing import Any

from toolkit import panel
from toolkit.panel import frames
from toolkit.text.aspects import aspect_frame
from toolkit.text.lexicon import Lexicon
from toolkit.text.normalize import encode, text_column
from toolkit.text.scorer import score_tokens

__all__ = ["score_reviews", "NEGATIVE_BELOW"]

NEGATIVE_BELOW = -0.05
"""A review is ``negative`` when its compound sentiment is below this (VADER's convention)."""


def score_reviews(reviews: Any, text_col: str = "text", model: Any = None, complaint_margin: float = 0.05) -> Any:
    """``reviews`` with sentiment and aspect columns added (same library, index and row order).

    Parameters
    ----------
    reviews : pandas or cuDF DataFrame
        With a string column ``text_col``; missing text counts as an empty review.
    text_col : str
    model : RatingModel, optional
        A fitted :class:`~toolkit.text.RatingModel` reading ``text_col``: adds
        ``sentiment_model``, its rating-based sentiment in [-1, 1].
    complaint_margin : float >= 0
        See :func:`~toolkit.text.detect_aspects`.

    Returns
    -------
    frame
        Added: ``sentiment`` (lexicon compound, [-1, 1]), ``negative`` (bool), ``aspect_<a>``
        and ``complaint_<a>`` per aspect (bool), ``complaint`` (any aspect), ``n_tokens``, and
        ``sentiment_model`` when ``model`` is given.

    Raises
    ------
    DataValidationError
        Not an in-memory frame, no such text column, non-string text, a bad margin.
    sklearn.exceptions.NotFittedError
        ``model`` is not fitted.
    """
    text_column(reviews, text_col, "reviews")
    margin = panel.check_number("complaint_margin", complaint_margin, 0.0)
    if model is not None:
        from sklearn.utils.validation import check_is_fitted

        check_is_fitted(model, "classifier_")
    lexicon = Lexicon.default()
    scores = score_tokens(encode(reviews[text_col], lexicon.vocabulary), lexicon, complaint_margin=margin)
    xp = panel.namespace(reviews)
    columns = {"sentiment": scores.compound, "negative": scores.compound < NEGATIVE_BELOW,
               "complaint": xp.any(scores.complaint, axis=1), "n_tokens": scores.n_tokens}
    out = aspect_frame(frames.assign(reviews, columns), scores, lexicon.aspects)
    if model is not None:
        out = frames.assign(out, {"sentiment_model": frames.values(
            model.sentiment(reviews).to_frame(name="sentiment_model"), "sentiment_model")})
    return out
