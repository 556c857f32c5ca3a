"""The input contract of toolkit.text, property-based (Hypothesis): every public function refuses
non-frames, corrupted frames and bad parameters with DataValidationError naming the column or
parameter (NotFittedError before fit), never an internal error; documented handling otherwise
(missing text = empty review, rows in = rows out + counted)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.contract import assert_rejects, corrupt, not_frames
from toolkit import text
from toolkit.datasets import load_drug_reviews, make_retail

SETTINGS = settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
WORDS = ["great", "late", "broken", "fits", "not", "good", "price", "rude", "!", ",", "the", "box", "too", "small"]


@st.composite
def review_frames(draw, min_rows=1, max_rows=25):
    """Valid scored reviews: sku, review_ts, text (some missing), rating, then score_reviews' columns."""
    n = draw(st.integers(min_rows, max_rows))
    texts = [None if draw(st.booleans()) and i % 5 == 4 else " ".join(draw(st.lists(st.sampled_from(WORDS), max_size=6)))
             for i in range(n)]
    days = draw(st.lists(st.integers(0, 30), min_size=n, max_size=n))
    frame = pd.DataFrame({"sku": [f"s{d % 3}" for d in days], "review_ts": pd.Timestamp("2024-01-01")
                          + pd.to_timedelta(days, unit="D"), "text": pd.Series(texts, dtype=object),
                          "rating": [1 + d % 5 for d in days]})
    return text.score_reviews(frame)


def _sales(reviews):
    return pd.DataFrame({"sku": np.repeat(["s0", "s1", "s2"], 40),
                         "date": np.tile(pd.date_range("2024-01-01", periods=40), 3), "units": 1.0})


FUNCTIONS = {
    "normalize": lambda x: text.normalize(x),
    "tokenize": lambda x: text.tokenize(x),
    "encode": lambda x: text.encode(x, ["a"]),
    "lexicon_sentiment": lambda x: text.lexicon_sentiment(x),
    "detect_aspects": lambda x: text.detect_aspects(x),
    "vectorizer.fit": lambda x: text.TextVectorizer().fit(x),
    "topics.fit": lambda x: text.TopicModel().fit(x),
}


@pytest.mark.parametrize("name", sorted(FUNCTIONS))
@SETTINGS
@given(bad=not_frames())
def test_text_functions_refuse_what_is_not_a_series_of_strings(name, bad):
    if isinstance(bad, pd.Series) and bad.dtype == object:
        return
    assert_rejects(lambda: FUNCTIONS[name](bad), ["texts", "units"])


FRAME_FUNCTIONS = {
    "score_reviews": (lambda df: text.score_reviews(df), ["reviews"]),
    "rating_model.fit": (lambda df: text.RatingModel().fit(df), ["df"]),
    "review_signals": (lambda df: text.review_signals(df, _sales(None)), ["reviews"]),
    "review_signals(panel)": (lambda df: text.review_signals(text.score_reviews(pd.DataFrame(
        {"text": ["ok"], "sku": ["s0"], "review_ts": [pd.Timestamp("2024-01-01")]})), df), ["panel"]),
    "complaint_alerts": (lambda df: text.complaint_alerts(df), ["reviews"]),
    "incident_table": (lambda df: text.incident_table(df), ["truth"]),
    "match_alerts": (lambda df: text.match_alerts(df, text.incident_table(pd.DataFrame(
        {"table": [], "type": [], "sku": [], "carrier": [], "date": pd.to_datetime([]), "magnitude": []}))),
        ["alerts"]),
    "review_browser": (lambda df: text.review_browser(df, _sales(None)), ["reviews"]),
}


@pytest.mark.parametrize("name", sorted(FRAME_FUNCTIONS))
@SETTINGS
@given(bad=not_frames())
def test_frame_functions_refuse_non_frames(name, bad):
    call, names = FRAME_FUNCTIONS[name]
    assert_rejects(lambda: call(bad), names)


@SETTINGS
@given(reviews=review_frames(), kind=st.sampled_from(["drop_column", "text", "inf", "nan", "missing_key"]),
       column=st.sampled_from(["sentiment", "complaint_damage", "review_ts", "sku"]))
def test_review_signals_refuse_corrupted_reviews_or_count_them(reviews, kind, column):
    if kind in ("inf", "nan") and column in ("review_ts", "sku"):
        kind = "drop_column"
    bad = corrupt(reviews, kind, column)
    call = lambda: text.review_signals(bad, _sales(bad))  # noqa: E731
    if kind == "missing_key":
        out = call()  # a review without key is counted, not used
        assert out.n_reviews == out.n_used + out.n_missing + out.n_unmatched + out.n_late
        return
    if kind == "text" and column == "sku":
        out = call()  # keys may be any type: text keys are fine
        assert out.n_reviews == len(bad)
        return
    assert_rejects(call, [column])


@SETTINGS
@given(reviews=review_frames(), column=st.sampled_from(["text", "review_ts", "complaint_quality", "sentiment"]))
def test_complaint_alerts_refuse_missing_or_mistyped_columns(reviews, column):
    assert_rejects(lambda: text.complaint_alerts(reviews.drop(columns=[column])), [column])
    if column == "review_ts":
        assert_rejects(lambda: text.complaint_alerts(reviews.assign(review_ts="2024-01-01")), [column])


@SETTINGS
@given(reviews=review_frames(min_rows=3))
def test_score_reviews_keeps_every_row(reviews):
    raw = reviews[["sku", "review_ts", "text", "rating"]]
    out = text.score_reviews(raw)
    assert out.index.equals(raw.index) and len(out) == len(raw)
    assert out.loc[raw["text"].isna(), "sentiment"].eq(0.0).all()
    assert out["sentiment"].between(-1, 1).all()


PARAMETERS = [
    ("review_signals", "lag", [0, -1, 1.5, "7", None]),
    ("review_signals", "halflife", [0, -2, "7", [np.inf], None]),
    ("review_signals", "by", [[], 3]),
    ("complaint_alerts", "window", [0, 2.5, "x"]),
    ("complaint_alerts", "baseline", [0, None]),
    ("complaint_alerts", "threshold", [np.nan, "high"]),
    ("complaint_alerts", "min_complaints", [0, 1.5]),
    ("complaint_alerts", "min_days", [0]),
    ("complaint_alerts", "prior_reviews", [-1.0, np.inf]),
    ("complaint_alerts", "n_examples", [-1]),
    ("complaint_alerts", "aspects", [[], 5]),
    ("detect_aspects", "complaint_margin", [-0.1, np.nan]),
    ("score_reviews", "complaint_margin", [-1.0]),
    ("score_reviews", "text_col", [3, "body"]),
    ("lexicon_sentiment", "method", ["textblob", 1]),
    ("review_browser", "n_reviews", [0]),
]


@pytest.mark.parametrize("function,param,values", PARAMETERS)
def test_bad_parameters_are_named(function, param, values):
    reviews = text.score_reviews(pd.DataFrame({"sku": ["s0", "s1"], "review_ts": pd.to_datetime(["2024-01-01"] * 2),
                                               "text": ["late", "great"], "rating": [1, 5]}))
    calls = {
        "review_signals": lambda v: text.review_signals(reviews, _sales(reviews), **{param: v}),
        "complaint_alerts": lambda v: text.complaint_alerts(reviews, **{param: v}),
        "detect_aspects": lambda v: text.detect_aspects(reviews["text"], **{param: v}),
        "score_reviews": lambda v: text.score_reviews(reviews, **{param: v}),
        "lexicon_sentiment": lambda v: text.lexicon_sentiment(reviews["text"], **{param: v}),
        "review_browser": lambda v: text.review_browser(reviews, _sales(reviews), **{param: v}),
    }
    for value in values:
        names = [param, "body"] if param == "text_col" else [param]
        assert_rejects(lambda: calls[function](value), names)


@pytest.mark.parametrize("estimator", [text.RatingModel(), text.TopicModel(), text.TextVectorizer()])
def test_estimators_raise_not_fitted_before_fit(estimator):
    frame = pd.DataFrame({"text": ["a b"]})
    if isinstance(estimator, text.RatingModel):
        assert_rejects(lambda: estimator.predict(frame))
        assert_rejects(lambda: estimator.sentiment(frame))
    else:
        assert_rejects(lambda: estimator.transform(frame["text"]))


@SETTINGS
@given(params=st.fixed_dictionaries({}, optional={"max_features": st.sampled_from([0, -1, 1.5]),
                                                  "min_count": st.sampled_from([0, "2"]),
                                                  "bigram_buckets": st.sampled_from([-1, None])}))
def test_vectorizer_parameters_are_checked(params):
    if not params:
        return
    assert_rejects(lambda: text.TextVectorizer(**params).fit(pd.Series(["a b", "b c"])), list(params))


@SETTINGS
@given(ratings=st.sampled_from(["same", "nan", "inf", "fraction", "text"]))
def test_rating_model_refuses_ratings_it_cannot_learn(ratings):
    frame = pd.DataFrame({"text": ["good", "bad", "ok", "fine"], "rating": [5.0, 1.0, 3.0, 4.0]})
    if ratings == "same":
        frame["rating"] = 5.0
    elif ratings == "nan":
        frame.loc[1, "rating"] = np.nan
    elif ratings == "inf":
        frame.loc[1, "rating"] = np.inf
    elif ratings == "fraction":
        frame.loc[1, "rating"] = 2.5
    else:
        frame["rating"] = frame["rating"].astype(str)
    assert_rejects(lambda: text.RatingModel(min_count=1).fit(frame), ["rating"])


def test_rating_model_reads_its_column_by_name():
    frame = pd.DataFrame({"rating": [5, 1] * 6, "text": ["great", "awful"] * 6, "other": "x"})
    model = text.RatingModel(min_count=1).fit(frame)
    reordered = frame[["other", "text", "rating"]]
    assert model.predict(reordered).tolist() == model.predict(frame).tolist()
    assert list(model.feature_names_in_) == ["text"]
    assert_rejects(lambda: model.predict(frame.drop(columns="text")), ["text"])


@SETTINGS
@given(shape=st.sampled_from(["2d", "mismatch", "negative", "nan", "list"]))
def test_surge_scores_refuse_bad_arrays(shape):
    complaints, reviews = np.ones((5, 2, 3)), np.ones((5, 2))
    if shape == "2d":
        complaints = complaints[..., 0]
    elif shape == "mismatch":
        reviews = np.ones((4, 2))
    elif shape == "negative":
        reviews = -reviews
    elif shape == "nan":
        complaints[0, 0, 0] = np.nan
    else:
        complaints = complaints.tolist()
    assert_rejects(lambda: text.surge_scores(complaints, reviews), ["complaints", "reviews"])


@pytest.mark.parametrize("kwargs,name", [({"incident_rate": -0.1}, "incident_rate"), ({"incident_rate": 13}, "incident_rate"),
                                         ({"incident_rate": "high"}, "incident_rate")])
def test_make_retail_checks_the_incident_rate(kwargs, name):
    assert_rejects(lambda: make_retail(n_skus=2, n_locations=1, n_days=30, progress=False, **kwargs), [name])


def test_load_drug_reviews_checks_its_split():
    assert_rejects(lambda: load_drug_reviews(split="validation"), ["split"])


def test_match_alerts_checks_its_parameters():
    incidents = text.incident_table(pd.DataFrame({"table": [], "type": [], "sku": [], "carrier": [],
                                                  "date": pd.to_datetime([]), "magnitude": []}))
    alerts = pd.DataFrame({"sku": ["a"], "aspect": ["damage"], "first_seen": [pd.Timestamp("2024-01-01")]})
    assert_rejects(lambda: text.match_alerts(alerts, incidents, key="supplier"), ["key"])
    assert_rejects(lambda: text.match_alerts(alerts, incidents, grace_days=-1), ["grace_days"])
    assert_rejects(lambda: text.match_alerts(alerts, incidents, same_aspect="yes"), ["same_aspect"])
    assert_rejects(lambda: text.match_alerts(alerts.drop(columns="aspect"), incidents), ["aspect"])


@pytest.mark.parametrize("max_iter", [0, -3, 2.5])
def test_rating_model_needs_at_least_one_solver_iteration(max_iter):
    # scikit-learn's LogisticRegression itself accepts max_iter=0 (no step at all): the model refuses it
    frame = pd.DataFrame({"text": ["great", "awful"] * 3, "rating": [5, 1] * 3})
    err = assert_rejects(lambda: text.RatingModel(min_count=1, max_iter=max_iter).fit(frame), ["max_iter"])
    assert err.parameter == "max_iter"
