"""GPU tests of toolkit.regress and toolkit.forecast: CuPy/cuDF results equal the NumPy/pandas ones."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

pytestmark = pytest.mark.gpu
cupy = pytest.importorskip("cupy")

from toolkit import regress as rg  # noqa: E402


@pytest.fixture
def data():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(5000, 6))
    y = 1.0 + X @ rng.normal(size=6) + rng.normal(scale=0.2, size=5000)
    w = rng.uniform(0.5, 2.0, size=5000)
    return X, y, w


def test_ols_on_cupy_matches_numpy(data):
    X, y, w = data
    host = rg.LinearRegression().fit(X, y, sample_weight=w)
    dev = rg.LinearRegression().fit(cupy.asarray(X), cupy.asarray(y), sample_weight=cupy.asarray(w))
    assert isinstance(dev.coef_, cupy.ndarray)
    np.testing.assert_allclose(cupy.asnumpy(dev.coef_), host.coef_, rtol=1e-8)
    np.testing.assert_allclose(dev.intercept_, host.intercept_, rtol=1e-8)
    np.testing.assert_allclose(cupy.asnumpy(dev.coef_se_), host.coef_se_, rtol=1e-6)
    np.testing.assert_allclose(dev.r2_, host.r2_, rtol=1e-10)
    pred = dev.predict(cupy.asarray(X))
    assert isinstance(pred, cupy.ndarray)
    np.testing.assert_allclose(cupy.asnumpy(pred), host.predict(X), rtol=1e-8)


def test_rank_deficient_and_ridge_on_cupy(data):
    X, y, _ = data
    Xd = np.column_stack([X, X[:, 0] - X[:, 1]])
    ref = np.linalg.lstsq(np.column_stack([np.ones(len(Xd)), Xd]), y, rcond=None)[0]
    dev = rg.LinearRegression().fit(cupy.asarray(Xd), cupy.asarray(y))
    np.testing.assert_allclose(cupy.asnumpy(dev.coef_), ref[1:], rtol=1e-6, atol=1e-9)
    ridge_h = rg.Ridge(alpha=5.0).fit(X, y)
    ridge_d = rg.make_model("ridge", alpha=5.0).fit(cupy.asarray(X), cupy.asarray(y))
    np.testing.assert_allclose(cupy.asnumpy(ridge_d.predict(cupy.asarray(X))), ridge_h.predict(X), rtol=1e-8)


def test_metrics_on_cupy_match_numpy():
    rng = np.random.default_rng(1)
    y, f = rng.uniform(1, 5, 200), rng.uniform(1, 5, 200)
    y[3] = np.nan
    for name, metric in rg.METRICS.items():
        assert metric(cupy.asarray(y), cupy.asarray(f)) == pytest.approx(metric(y, f)), name
    assert rg.coverage(cupy.asarray(y), cupy.asarray(f - 1), cupy.asarray(f + 1)) == pytest.approx(
        rg.coverage(y, f - 1, f + 1))


def test_mlp_runs_on_cuda_and_returns_cupy(data):
    torch = pytest.importorskip("torch")
    if not torch.cuda.is_available():
        pytest.skip("torch without CUDA")
    X, y, _ = data
    model = rg.make_model("mlp", max_epochs=20).fit(cupy.asarray(X), cupy.asarray(y))
    pred = model.predict(cupy.asarray(X))
    assert isinstance(pred, cupy.ndarray) and model.estimator_.device_ == "cuda"
    host = rg.make_model("mlp", max_epochs=20).fit(X, y)
    assert abs(rg.mae(y, cupy.asnumpy(pred)) - rg.mae(y, host.predict(X))) < 0.2


def test_lasso_uses_cuml_on_device(data):
    pytest.importorskip("cuml", reason="cuML not installed")
    from sklearn.linear_model import Lasso

    X, y, _ = data
    model = rg.make_model("lasso", alpha=0.05).fit(cupy.asarray(X), cupy.asarray(y))
    assert model.device_ == "gpu"
    pred = cupy.asnumpy(cupy.asarray(model.predict(cupy.asarray(X))))
    np.testing.assert_allclose(pred, Lasso(alpha=0.05).fit(X, y).predict(X), rtol=1e-3, atol=1e-3)


def test_evaluate_and_forecast_on_cudf_match_pandas():
    cudf = pytest.importorskip("cudf", reason="cuDF not installed")
    from toolkit import forecast as fcm
    from toolkit.features import FeatureSpec

    rng = np.random.default_rng(2)
    n = 90
    frames = [pd.DataFrame({"sku": f"s{i}", "location": "web", "date": pd.date_range("2024-01-01", periods=n),
                            "units": 10 + i + rng.normal(size=n), "promo": rng.random(n) < 0.2}) for i in range(4)]
    df = pd.concat(frames, ignore_index=True)
    gdf = cudf.from_pandas(df)
    spec = FeatureSpec(lags=(1, 7), rolling={7: ("mean",)}, calendar=("dayofweek",), fourier=(), exog=("promo",))
    train, future = df[df.date < "2024-03-25"], df[df.date >= "2024-03-25"]
    gtrain, gfuture = gdf[gdf.date < "2024-03-25"], gdf[gdf.date >= "2024-03-25"]
    host = fcm.Forecaster(rg.LinearRegression(), spec, horizon=7).fit(train).predict(future_df=future)
    dev = fcm.Forecaster(rg.LinearRegression(), spec, horizon=7).fit(gtrain).predict(future_df=gfuture)
    assert type(dev).__module__.startswith("cudf")
    np.testing.assert_allclose(dev["forecast"].to_numpy(), host["forecast"].to_numpy(), rtol=1e-6)
    snaive_h = fcm.SeasonalNaive(7, horizon=7).fit(train).predict()
    snaive_d = fcm.SeasonalNaive(7, horizon=7).fit(gtrain).predict()
    np.testing.assert_allclose(snaive_d["forecast"].to_numpy(), snaive_h["forecast"].to_numpy())
    ev_h = rg.evaluate(host.merge(future, on=["sku", "location", "date"]), metrics=("mae", "wape"))
    ev_d = rg.evaluate(dev.merge(gfuture, on=["sku", "location", "date"]), metrics=("mae", "wape"))
    np.testing.assert_allclose(ev_d.overall.to_numpy(), ev_h.overall.to_numpy(), rtol=1e-6)
