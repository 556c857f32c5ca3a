"""toolkit.text on the GPU: the same calls on cuDF (nvtext tokens, CuPy arrays, CuPy sparse matrices,
cuML's LogisticRegression) against pandas/scikit-learn on the same reviews."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from toolkit import text
from toolkit.datasets import make_retail

pytestmark = pytest.mark.gpu
cudf = pytest.importorskip("cudf")
cp = pytest.importorskip("cupy")


@pytest.fixture(scope="module")
def host_data():
    return make_retail(n_skus=20, n_locations=3, n_days=150, seed=5, incident_rate=1.5, backend="cpu",
                       progress=False)


def _host(obj):
    return obj.to_pandas() if hasattr(obj, "to_pandas") else obj


def test_normalize_and_encode_match_pandas(host_data):
    texts = host_data.reviews["text"].head(2000)
    device = cudf.from_pandas(texts)
    assert _host(text.normalize(device)).tolist() == text.normalize(texts).tolist()
    vocabulary = text.Lexicon.default().vocabulary
    on_host, on_device = text.encode(texts, vocabulary), text.encode(device, vocabulary)
    assert isinstance(on_device.ids, cp.ndarray)
    np.testing.assert_array_equal(cp.asnumpy(on_device.offsets), on_host.offsets)
    np.testing.assert_array_equal(cp.asnumpy(on_device.ids), on_host.ids)


def test_score_reviews_matches_pandas(host_data):
    reviews = host_data.reviews.head(3000)
    host = text.score_reviews(reviews)
    device = _host(text.score_reviews(cudf.from_pandas(reviews)))
    np.testing.assert_allclose(device["sentiment"].to_numpy(), host["sentiment"].to_numpy(), atol=1e-12)
    for col in [c for c in host.columns if c.startswith(("aspect_", "complaint"))]:
        assert device[col].tolist() == host[col].tolist(), col


def test_vectorizer_on_cupy_sparse_matches_scipy(host_data):
    texts = host_data.reviews["text"].head(2000)
    host = text.TextVectorizer(bigram_buckets=2**12).fit(texts)
    device = text.TextVectorizer(bigram_buckets=2**12).fit(cudf.from_pandas(texts))
    assert device.vocabulary_ == host.vocabulary_
    X_dev = device.transform(cudf.from_pandas(texts))
    assert type(X_dev).__module__.startswith("cupyx")
    np.testing.assert_allclose(X_dev.get().toarray(), host.transform(texts).toarray(), atol=1e-12)


def test_rating_model_on_cuml_learns_like_scikit_learn(host_data):
    reviews = host_data.reviews
    train, test = reviews.iloc[: len(reviews) // 2], reviews.iloc[len(reviews) // 2:]
    host = text.RatingModel().fit(train)
    device = text.RatingModel().fit(cudf.from_pandas(train))
    assert type(device.classifier_).__module__.startswith("cuml")
    accuracy = device.score(cudf.from_pandas(test))
    assert accuracy == pytest.approx(host.score(test), abs=0.03)
    sentiment = device.sentiment(cudf.from_pandas(test))
    assert isinstance(sentiment, cudf.Series) and float(sentiment.min()) >= -1 and float(sentiment.max()) <= 1


def test_topic_model_on_cupy_fits_as_well(host_data):
    texts = host_data.reviews["text"].head(3000)
    host = text.TopicModel(n_topics=5, random_state=0).fit(texts)
    device = text.TopicModel(n_topics=5, random_state=0).fit(cudf.from_pandas(texts))
    assert isinstance(device.components_, cp.ndarray)
    assert device.reconstruction_err_ == pytest.approx(host.reconstruction_err_, rel=1e-6)


def test_signals_and_alerts_match_pandas(host_data):
    scored = text.score_reviews(host_data.reviews)
    sales = host_data.sales
    host = text.review_signals(scored, sales, lag=7)
    device = text.review_signals(cudf.from_pandas(scored), cudf.from_pandas(sales), lag=7)
    assert (device.n_used, device.n_late, device.n_unmatched) == (host.n_used, host.n_late, host.n_unmatched)
    got = _host(device.frame)[host.columns].to_numpy()
    np.testing.assert_allclose(got, host.frame[host.columns].to_numpy(), rtol=1e-9, atol=1e-12)
    alerts_host = text.complaint_alerts(scored)
    alerts_device = text.complaint_alerts(cudf.from_pandas(scored))
    cols = ["sku", "aspect", "first_seen", "last_seen", "n_hits"]
    pd.testing.assert_frame_equal(alerts_device[cols].astype({"sku": str}), alerts_host[cols].astype({"sku": str}))
