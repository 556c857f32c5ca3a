"""toolkit.anomaly on the GPU: the native detectors and segment kernels on CuPy against NumPy, and
detect on cuDF against pandas (within tolerance)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from toolkit.anomaly import COPOD, ECOD, IQR, RobustZ, detect, make_detector
from toolkit.anomaly.native import segment_tail_scores
from toolkit.anomaly.rules import hampel, iqr_score, robust_z, seasonal_esd

pytestmark = pytest.mark.gpu
cp = pytest.importorskip("cupy")


def _data(n=3000, d=5, seed=0):
    rng = np.random.default_rng(seed)
    X = np.column_stack([rng.standard_normal((n, d - 2)), rng.exponential(size=n), rng.integers(0, 4, n)])
    return X.astype(np.float64)


@pytest.mark.parametrize("cls", [ECOD, COPOD, RobustZ, IQR])
def test_native_detectors_cupy_match_numpy(cls):
    X, Y = _data(), _data(500, seed=1)
    host = cls(contamination=0.05).fit(X)
    dev = cls(contamination=0.05).fit(cp.asarray(X))
    assert isinstance(dev.decision_scores_, cp.ndarray)
    np.testing.assert_allclose(cp.asnumpy(dev.decision_scores_), host.decision_scores_, rtol=1e-9)
    assert dev.threshold_ == pytest.approx(host.threshold_, rel=1e-9)
    np.testing.assert_allclose(cp.asnumpy(dev.decision_function(cp.asarray(Y))), host.decision_function(Y),
                               rtol=1e-9)
    np.testing.assert_array_equal(cp.asnumpy(dev.predict(cp.asarray(Y))), host.predict(Y))


@pytest.mark.parametrize("kind", ["ecod", "copod"])
def test_segment_tail_scores_cupy_match_numpy(kind):
    X = _data(2000)
    starts = np.array([0, 300, 1200, 2000])
    host = segment_tail_scores(X, starts, kind=kind)
    dev = segment_tail_scores(cp.asarray(X), cp.asarray(starts), kind=kind)
    np.testing.assert_allclose(cp.asnumpy(dev), host, rtol=1e-9)


def test_rule_kernels_cupy_match_numpy():
    rng = np.random.default_rng(2)
    X = rng.standard_normal((400, 2))
    X[7, 1] = np.nan
    starts = np.array([0, 150, 400])
    for fn in (robust_z, iqr_score):
        np.testing.assert_allclose(cp.asnumpy(fn(cp.asarray(X), cp.asarray(starts))), fn(X, starts),
                                   rtol=1e-9, equal_nan=True)
    x = np.tile(np.arange(7.0), 40) + rng.normal(0, 0.3, 280)
    x[100] += 8
    s = np.array([0, 140, 280])
    np.testing.assert_allclose(cp.asnumpy(hampel(cp.asarray(x), cp.asarray(s))), hampel(x, s), rtol=1e-9)
    hs, hf = seasonal_esd(x, s)
    ds, df = seasonal_esd(cp.asarray(x), cp.asarray(s))
    np.testing.assert_allclose(cp.asnumpy(ds), hs, rtol=1e-9)
    np.testing.assert_array_equal(cp.asnumpy(df), hf)


def test_pyod_detector_on_cupy_returns_cupy():
    X = _data(1000)
    det = make_detector("hbos", contamination=0.05).fit(cp.asarray(X))
    assert isinstance(det.decision_scores_, cp.ndarray)
    host = make_detector("hbos", contamination=0.05).fit(X)
    np.testing.assert_allclose(cp.asnumpy(det.decision_scores_), host.decision_scores_, rtol=1e-9)


def test_iforest_on_cupy_uses_cuml_when_present():
    pytest.importorskip("cuml", reason="cuML not installed")
    X = _data(2000)
    X[:20] += 8.0
    det = make_detector("iforest", contamination=0.01, random_state=0).fit(cp.asarray(X))
    assert not type(det.detector_).__module__.startswith("pyod")
    top = cp.asnumpy(cp.argsort(-det.decision_scores_)[:20])
    assert len(set(top.tolist()) & set(range(20))) >= 15


def test_detect_cudf_matches_pandas():
    cudf = pytest.importorskip("cudf", reason="cuDF not installed")
    rng = np.random.default_rng(3)
    df = pd.DataFrame({"sku": np.repeat(["a", "b", "c"], 100), "date": np.tile(pd.date_range("2024-01-01",
                       periods=100), 3), "units": rng.poisson(12, 300).astype(float), "price": rng.normal(9, 1, 300)})
    df.loc[17, "units"] = 70.0
    for method in ("ecod", "robust_z", "hampel"):
        want = detect(df, ["units", "price"], method=method, id_cols="sku", contamination=0.05)
        got = detect(cudf.from_pandas(df), ["units", "price"], method=method, id_cols="sku",
                     contamination=0.05).to_pandas()
        np.testing.assert_allclose(got["anomaly_score"], want["anomaly_score"], rtol=1e-9)
        np.testing.assert_array_equal(got["is_anomaly"], want["is_anomaly"])


def test_detect_cudf_refuses_inf_and_missing_keys_like_pandas():
    cudf = pytest.importorskip("cudf", reason="cuDF not installed")
    from toolkit.errors import DataValidationError

    df = pd.DataFrame({"sku": np.repeat(["a", "b"], 20), "date": np.tile(pd.date_range("2024-01-01", periods=20), 2),
                       "units": np.random.default_rng(4).normal(10, 1, 40)})
    inf = df.assign(units=df["units"].where(df.index != 25, np.inf))
    with pytest.raises(DataValidationError, match="'units'.*infinite"):
        detect(cudf.from_pandas(inf), "units", method="ecod", id_cols="sku")
    nokey = df.assign(sku=df["sku"].where(df.index != 3, None))
    with pytest.raises(DataValidationError, match="'sku'"):
        detect(cudf.from_pandas(nokey), "units", method="robust_z", id_cols="sku")


@pytest.mark.parametrize("cls", [ECOD, RobustZ])
def test_score_mixin_on_cupy_returns_cupy(cls):
    X = _data(800)
    dev = cls(contamination=0.05).fit(cp.asarray(X))
    host = cls(contamination=0.05).fit(X)
    for method in ("predict", "predict_proba"):
        got = getattr(dev, method)(cp.asarray(X[:50]))
        assert isinstance(got, cp.ndarray)
        np.testing.assert_allclose(cp.asnumpy(got), getattr(host, method)(X[:50]), rtol=1e-9)
