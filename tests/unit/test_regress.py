"""Tests of toolkit.regress against numpy, scikit-learn and closed forms."""

from __future__ import annotations

import re

import dask.array as da
import dask.dataframe as dd
import numpy as np
import pandas as pd
import pytest
import sklearn.linear_model as sklm
from sklearn import metrics as skm
from sklearn.model_selection import TimeSeriesSplit

from toolkit import regress as rg
from toolkit.kernels import lstsq
from toolkit.regress import models
from toolkit.errors import DataValidationError


@pytest.fixture
def data():
    rng = np.random.default_rng(42)
    X = rng.normal(size=(500, 4))
    y = 2.0 + X @ np.array([1.0, -2.0, 0.5, 3.0]) + rng.normal(scale=0.3, size=500)
    w = rng.uniform(0.1, 2.0, size=500)
    return X, y, w


def _lstsq_with_intercept(X, y, w=None):
    A = np.column_stack([np.ones(len(X)), X])
    if w is not None:
        s = np.sqrt(w)
        A, y = A * s[:, None], y * s
    return np.linalg.lstsq(A, y, rcond=None)[0]


def test_ols_matches_numpy_lstsq_and_sklearn(data):
    X, y, _ = data
    model = rg.LinearRegression().fit(X, y)
    ref = _lstsq_with_intercept(X, y)
    np.testing.assert_allclose(model.coef_, ref[1:], rtol=1e-10)
    np.testing.assert_allclose(model.intercept_, ref[0], rtol=1e-10)
    sk = sklm.LinearRegression().fit(X, y)
    np.testing.assert_allclose(model.coef_, sk.coef_, rtol=1e-10)
    np.testing.assert_allclose(model.predict(X), sk.predict(X), rtol=1e-10)
    np.testing.assert_allclose(model.r2_, sk.score(X, y), rtol=1e-10)


def test_ols_small_blocks_equal_one_block(data):
    X, y, w = data
    whole = lstsq.block_factor(X, y, w, True, block_rows=10_000)
    tiny = lstsq.block_factor(X, y, w, True, block_rows=7)
    a, b = lstsq.LeastSquaresSolution(whole.R, True, 500), lstsq.LeastSquaresSolution(tiny.R, True, 500)
    np.testing.assert_allclose(a.coef(), b.coef(), rtol=1e-10)


def test_device_path_factors_each_block_with_cupy_qr_mode_r(monkeypatch):
    # No GPU here: a stand-in ``cupy`` whose qr is numpy's records that the device path calls
    # cupy.linalg.qr(A, mode="r") on every block (no host work buffer) and that the factor of the
    # stacked blocks is right: R'R equals A'A of A = sqrt(w) [1, X, y] (closed form)
    import sys
    import types

    modes = []

    def qr(A, mode):
        modes.append(mode)
        return np.linalg.qr(A, mode=mode)

    fake = types.ModuleType("cupy")
    fake.linalg, fake.ndarray = types.SimpleNamespace(qr=qr), type("ndarray", (), {})
    monkeypatch.setitem(sys.modules, "cupy", fake)
    monkeypatch.setattr(lstsq, "_is_cupy", lambda xp: True)
    rng = np.random.default_rng(4)
    X, y, w = rng.normal(size=(50, 3)), rng.normal(size=50), rng.uniform(0.5, 2.0, 50)
    factor = lstsq.block_factor(X, y, w, True, block_rows=16)
    assert modes == ["r"] * 4
    A = np.sqrt(w)[:, None] * np.column_stack([np.ones(50), X, y])
    np.testing.assert_allclose(factor.R.T @ factor.R, A.T @ A, rtol=1e-10, atol=1e-10)


def test_ols_weighted_matches_sklearn(data):
    X, y, w = data
    model = rg.LinearRegression().fit(X, y, sample_weight=w)
    sk = sklm.LinearRegression().fit(X, y, sample_weight=w)
    ref = _lstsq_with_intercept(X, y, w)
    np.testing.assert_allclose(model.coef_, sk.coef_, rtol=1e-9)
    np.testing.assert_allclose(model.intercept_, sk.intercept_, rtol=1e-9)
    np.testing.assert_allclose(model.coef_, ref[1:], rtol=1e-9)
    np.testing.assert_allclose(model.r2_, sk.score(X, y, sample_weight=w), rtol=1e-9)


def test_ols_without_intercept(data):
    X, y, _ = data
    model = rg.LinearRegression(fit_intercept=False).fit(X, y)
    np.testing.assert_allclose(model.coef_, np.linalg.lstsq(X, y, rcond=None)[0], rtol=1e-10)
    assert model.intercept_ == 0.0


def test_ols_rank_deficient_is_minimum_norm(data):
    X, y, _ = data
    Xd = np.column_stack([X, X[:, 0] + X[:, 1], X[:, 2]])  # a sum and a duplicate
    model = rg.LinearRegression().fit(Xd, y)
    ref = _lstsq_with_intercept(Xd, y)
    np.testing.assert_allclose(model.coef_, ref[1:], rtol=1e-8, atol=1e-10)
    np.testing.assert_allclose(model.intercept_, ref[0], rtol=1e-8)
    sk = sklm.LinearRegression().fit(Xd, y)
    np.testing.assert_allclose(model.coef_, sk.coef_, rtol=1e-8, atol=1e-10)
    assert model.rank_ == 4
    # no intercept: numpy lstsq on X itself
    model0 = rg.LinearRegression(fit_intercept=False).fit(Xd, y)
    np.testing.assert_allclose(model0.coef_, np.linalg.lstsq(Xd, y, rcond=None)[0], rtol=1e-8, atol=1e-10)


def test_standard_errors_closed_form(data):
    X, y, _ = data
    model = rg.LinearRegression().fit(X, y)
    A = np.column_stack([np.ones(len(X)), X])
    beta = np.linalg.solve(A.T @ A, A.T @ y)
    resid = y - A @ beta
    sigma2 = resid @ resid / (len(y) - A.shape[1])
    se = np.sqrt(np.diag(sigma2 * np.linalg.inv(A.T @ A)))
    np.testing.assert_allclose(model.intercept_se_, se[0], rtol=1e-8)
    np.testing.assert_allclose(model.coef_se_, se[1:], rtol=1e-8)
    table = model.coef_table()
    assert table.index.tolist() == ["intercept", "x0", "x1", "x2", "x3"]
    from scipy import stats

    t = beta / se
    np.testing.assert_allclose(table["p_value"], 2 * stats.t.sf(np.abs(t), len(y) - 5), rtol=1e-6, atol=1e-300)


def test_seed_ar3_example_reproduced():
    """The seed's method: y_t = b0 + sum_i b_i y_{t-i}, fitted by least squares, with the intercept."""
    rng = np.random.default_rng(7)
    b0, b = 5.0, np.array([0.5, 0.2, 0.1])
    y = np.empty(4000)
    y[:3] = 25.0
    for t in range(3, len(y)):
        y[t] = b0 + b @ y[t - 3 : t][::-1] + rng.normal()
    X = np.column_stack([y[2:-1], y[1:-2], y[:-3]])  # lags 1, 2, 3
    target = y[3:]
    model = rg.LinearRegression().fit(X, target)
    np.testing.assert_allclose(model.coef_, b, atol=0.05)
    np.testing.assert_allclose(model.intercept_, b0, atol=1.0)
    ref = _lstsq_with_intercept(X, target)
    np.testing.assert_allclose(model.coef_, ref[1:], rtol=1e-9)
    # truth lies inside +-3 standard errors
    assert np.all(np.abs(model.coef_ - b) < 3 * model.coef_se_)
    # forecast the next T days recursively, as the seed does
    hist = list(y[-3:])
    for _ in range(5):
        hist.append(float(model.predict(np.array([[hist[-1], hist[-2], hist[-3]]]))[0]))
    expected = model.intercept_ + model.coef_ @ np.array([y[-1], y[-2], y[-3]])
    np.testing.assert_allclose(hist[3], expected)


def test_dask_array_and_frame_fit_equal_in_memory(data):
    X, y, w = data
    ref = rg.LinearRegression().fit(X, y, sample_weight=w)
    Xd = da.from_array(X, chunks=(97, 2))
    yd = da.from_array(y, chunks=120)
    wd = da.from_array(w, chunks=50)
    lazy = rg.LinearRegression().fit(Xd, yd, sample_weight=wd)
    np.testing.assert_allclose(lazy.coef_, ref.coef_, rtol=1e-10)
    np.testing.assert_allclose(lazy.intercept_, ref.intercept_, rtol=1e-10)
    np.testing.assert_allclose(lazy.coef_se_, ref.coef_se_, rtol=1e-9)
    np.testing.assert_allclose(lazy.r2_, ref.r2_, rtol=1e-10)
    pred = lazy.predict(Xd)
    assert isinstance(pred, da.Array)
    np.testing.assert_allclose(pred.compute(), ref.predict(X), rtol=1e-10)

    frame = pd.DataFrame(X, columns=list("abcd")).assign(y=y)
    ddf = dd.from_pandas(frame, npartitions=5)
    fr = rg.LinearRegression().fit(ddf[list("abcd")], ddf["y"])
    np.testing.assert_allclose(fr.coef_, ref_unweighted := rg.LinearRegression().fit(X, y).coef_, rtol=1e-10)
    assert fr.feature_names_in_ == list("abcd")
    out = fr.predict(ddf[list("abcd")])
    np.testing.assert_allclose(out.compute().to_numpy(), X @ ref_unweighted + fr.intercept_, rtol=1e-10)


def test_frame_input_returns_series_with_index(data):
    X, y, _ = data
    frame = pd.DataFrame(X, columns=["p", "q", "r", "s"], index=np.arange(1000, 1500))
    model = rg.LinearRegression().fit(frame, pd.Series(y, index=frame.index))
    pred = model.predict(frame)
    assert isinstance(pred, pd.Series) and pred.index.equals(frame.index)
    assert model.coef_table().index.tolist()[1:] == ["p", "q", "r", "s"]


def test_ridge_matches_sklearn(data):
    X, y, w = data
    for alpha in (0.1, 10.0, 1000.0):
        ours = rg.Ridge(alpha=alpha).fit(X, y, sample_weight=w)
        sk = sklm.Ridge(alpha=alpha, solver="svd").fit(X, y, sample_weight=w)
        np.testing.assert_allclose(ours.coef_, sk.coef_, rtol=1e-8)
        np.testing.assert_allclose(ours.intercept_, sk.intercept_, rtol=1e-8)


def test_ridgecv_picks_alpha_of_manual_time_series_cv():
    rng = np.random.default_rng(3)
    X = rng.normal(size=(240, 20))
    y = X[:, :3] @ np.array([1.0, 0.5, -0.5]) + rng.normal(scale=2.0, size=240)
    alphas = (0.01, 1.0, 30.0, 300.0, 1e5)
    cv = rg.RidgeCV(alphas=alphas, n_windows=4, horizon=30).fit(X, y)
    scores = []
    for a in alphas:
        errs = []
        for train, valid in TimeSeriesSplit(n_splits=4, test_size=30).split(X):
            m = sklm.Ridge(alpha=a).fit(X[train], y[train])
            errs.append(skm.mean_squared_error(y[valid], m.predict(X[valid])))
        scores.append(np.mean(errs))
    assert cv.alpha_ == alphas[int(np.argmin(scores))]
    np.testing.assert_allclose(cv.cv_scores_.mean(axis=1).to_numpy(), scores, rtol=1e-8)
    np.testing.assert_allclose(cv.coef_, sklm.Ridge(alpha=cv.alpha_).fit(X, y).coef_, rtol=1e-8)


@pytest.mark.parametrize("gap,max_train", [(0, None), (2, None), (1, 12)])
def test_time_series_splits_match_sklearn(gap, max_train):
    times = np.arange(60)
    window = "sliding" if max_train else "expanding"
    ours = rg.time_series_splits(times, None, n_windows=3, horizon=7, gap=gap, window=window, train_size=max_train)
    ref = TimeSeriesSplit(n_splits=3, test_size=7, gap=gap, max_train_size=max_train).split(times)
    for (t1, v1), (t2, v2) in zip(ours, ref):
        np.testing.assert_array_equal(t1, t2)
        np.testing.assert_array_equal(v1, v2)


def test_time_series_splits_on_panel_cut_by_date():
    dates = pd.date_range("2024-01-01", periods=20)
    df = pd.DataFrame({"sku": np.repeat(["a", "b"], 20), "date": np.tile(dates, 2)}).sample(frac=1, random_state=0)
    (train, valid), = rg.time_series_splits(df, "date", n_windows=1, horizon=5)
    assert df["date"].iloc[train].max() < df["date"].iloc[valid].min()
    assert len(valid) == 10 and len(train) == 30
    assert set(df["date"].iloc[valid]) == set(dates[-5:])


def test_metrics_match_sklearn_and_ignore_nan():
    rng = np.random.default_rng(0)
    y = rng.uniform(1, 10, 50)
    f = y + rng.normal(size=50)
    yn, fn = y.copy(), f.copy()
    yn[3], fn[7] = np.nan, np.nan
    ok = ~(np.isnan(yn) | np.isnan(fn))
    a, b = y[ok], f[ok]
    assert rg.mae(yn, fn) == pytest.approx(skm.mean_absolute_error(a, b))
    assert rg.mse(pd.Series(yn), pd.Series(fn)) == pytest.approx(skm.mean_squared_error(a, b))
    assert rg.rmse(yn, fn) == pytest.approx(skm.root_mean_squared_error(a, b))
    assert rg.mape(yn, fn) == pytest.approx(skm.mean_absolute_percentage_error(a, b))
    assert rg.pinball_loss(yn, fn, 0.9) == pytest.approx(skm.mean_pinball_loss(a, b, alpha=0.9))
    assert rg.wape(yn, fn) == pytest.approx(np.abs(a - b).sum() / np.abs(a).sum())
    assert rg.bias(yn, fn) == pytest.approx((b - a).mean())
    assert rg.smape([0.0, 2.0], [0.0, 6.0]) == pytest.approx((0 + 2 * 4 / 8) / 2)
    assert rg.coverage([1.0, 5.0, np.nan, 3.0], [0, 0, 0, 4], [2, 4, 9, 9]) == pytest.approx(1 / 3)
    nullable = pd.Series([1.0, None, 3.0], dtype="Float64")
    assert rg.mae(nullable, [2.0, 2.0, 2.0]) == pytest.approx(1.0)
    hist = np.array([1.0, 3.0, 2.0, 6.0])
    assert rg.mase([4.0], [5.0], hist, season=1) == pytest.approx(1.0 / np.mean([2.0, 1.0, 4.0]))


def test_evaluate_per_series_matches_groupby_loop():
    rng = np.random.default_rng(1)
    df = pd.DataFrame({
        "sku": pd.Categorical(np.repeat(["a", "b", "c"], 10)),
        "location": "web",
        "date": np.tile(pd.date_range("2024-02-01", periods=10), 3),
        "units": rng.poisson(5, 30).astype(float),
        "forecast": rng.uniform(2, 8, 30),
    })
    df.loc[4, "units"] = np.nan
    train = pd.DataFrame({
        "sku": np.repeat(["a", "b", "c"], 20), "location": "web",
        "date": np.tile(pd.date_range("2024-01-01", periods=20), 3), "units": rng.poisson(5, 60).astype(float),
    })
    ev = rg.evaluate(df, metrics=("mae", "rmse", "wape", "mape", "bias", "mase"), train_df=train, season=7)
    for sku, g in df.groupby("sku", observed=True):
        g = g.dropna()
        row = ev.per_series.loc[(sku, "web")]
        assert row["mae"] == pytest.approx(skm.mean_absolute_error(g.units, g.forecast))
        assert row["rmse"] == pytest.approx(skm.root_mean_squared_error(g.units, g.forecast))
        assert row["wape"] == pytest.approx(np.abs(g.units - g.forecast).sum() / g.units.abs().sum())
        nz = g[g.units != 0]
        assert row["mape"] == pytest.approx(skm.mean_absolute_percentage_error(nz.units, nz.forecast))
        h = train[train.sku == sku].units.to_numpy()
        assert row["mase"] == pytest.approx(row["mae"] / np.abs(h[7:] - h[:-7]).mean())
    d = df.dropna()
    assert ev.overall["mae"] == pytest.approx(skm.mean_absolute_error(d.units, d.forecast))
    assert ev.overall["n"] == 29


def test_make_model_cpu_estimators_match_sklearn(data):
    from sklearn.base import clone
    from sklearn.ensemble import HistGradientBoostingRegressor

    X, y, _ = data
    lasso = rg.make_model("lasso", alpha=0.1).fit(X, y)
    np.testing.assert_allclose(lasso.predict(X), sklm.Lasso(alpha=0.1).fit(X, y).predict(X))
    enet = rg.make_model("elasticnet", alpha=0.1, l1_ratio=0.3).fit(X, y)
    np.testing.assert_allclose(enet.predict(X), sklm.ElasticNet(alpha=0.1, l1_ratio=0.3).fit(X, y).predict(X))
    gb = rg.make_model("gradient_boosting", max_iter=20).fit(X, y)
    assert isinstance(gb.estimator_, HistGradientBoostingRegressor) and gb.device_ == "cpu"
    np.testing.assert_allclose(
        gb.predict(X), HistGradientBoostingRegressor(max_iter=20, random_state=0).fit(X, y).predict(X)
    )
    rf = rg.make_model("random_forest", n_estimators=10)
    assert clone(rf).get_params() == {"name": "random_forest", "n_estimators": 10}
    ridge = rg.make_model("ridge", alpha=2.0).fit(X, y)
    np.testing.assert_allclose(ridge.predict(X), sklm.Ridge(alpha=2.0).fit(X, y).predict(X), rtol=1e-8)
    with pytest.raises(DataValidationError, match="'name'.*'svm'.*choose from"):
        rg.make_model("svm")


def test_make_model_passes_checked_sample_weights_to_the_estimator(data):
    X, y, w = data
    lasso = rg.make_model("lasso", alpha=0.1).fit(X, y, sample_weight=w)
    ref = sklm.Lasso(alpha=0.1).fit(X, y, sample_weight=w)
    np.testing.assert_allclose(lasso.predict(X), ref.predict(X), rtol=1e-10)
    assert not np.allclose(ref.coef_, sklm.Lasso(alpha=0.1).fit(X, y).coef_)  # the weights matter here
    bad = w.copy()
    bad[[3, 7]] = [np.nan, np.inf]
    refused = r"'sample_weight': NaN or infinite.*2 offending rows.*'row 3', 'row 7'"
    with pytest.raises(DataValidationError, match=refused):
        rg.make_model("lasso", alpha=0.1).fit(X, y, sample_weight=bad)


def test_huber_is_robust_to_outliers():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(300, 1))
    y = 1.0 + 2.0 * X[:, 0] + rng.normal(scale=0.1, size=300)
    y[:15] += 80.0
    huber = rg.make_model("huber").fit(X, y)
    ols = rg.LinearRegression().fit(X, y)
    assert abs(huber.estimator_.intercept_ - 1.0) < 0.1
    assert abs(ols.intercept_ - 1.0) > 3.0


def test_mlp_learns_and_is_deterministic_on_cpu():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(2000, 3))
    y = X @ np.array([1.0, -1.0, 2.0]) + np.sin(X[:, 0])
    a = rg.make_model("mlp", max_epochs=40, random_state=1).fit(X, y)
    b = rg.make_model("mlp", max_epochs=40, random_state=1).fit(X, y)
    np.testing.assert_array_equal(a.predict(X), b.predict(X))
    assert skm.r2_score(y, a.predict(X)) > 0.95
    assert a.estimator_.device_ == "cpu"
    assert 0 < a.estimator_.n_epochs_ <= 40


def test_lstm_fits_sequence_rows():
    rng = np.random.default_rng(0)
    series = np.sin(np.arange(1200) / 5.0) + 0.05 * rng.normal(size=1200)
    X = np.lib.stride_tricks.sliding_window_view(series[:-1], 8)  # oldest first
    y = series[8:]
    model = rg.make_model("lstm", hidden_size=16, n_layers=1, max_epochs=30, lr=1e-2).fit(X, y)
    assert skm.r2_score(y, model.predict(X)) > 0.9


def test_torch_regressor_names_the_bad_sequence_and_the_expected_shape():
    """3-D input (n sequences, features, steps) is checked flattened per sequence: the NaN at
    sequence 3, feature 1, step 2 of a (6, 2, 3) array is column 1 * 3 + 2 = 5 of row 3."""
    X = np.random.default_rng(0).normal(size=(6, 2, 3))
    y = np.arange(6.0)
    bad = X.copy()
    bad[3, 1, 2] = np.nan
    nan_msg = r"^column 'X\[:, 5\]': NaN or infinite values.*\(1 offending rows; e\.g\. \['row 3'\]\)$"
    with pytest.raises(DataValidationError, match=nan_msg):
        rg.TorchRegressor(kind="lstm", max_epochs=1).fit(bad, y)
    seq = rg.TorchRegressor(kind="lstm", max_epochs=1).fit(X, y)
    with pytest.raises(DataValidationError, match=nan_msg):
        seq.predict(bad)
    with pytest.raises(DataValidationError,
                       match=r"^parameter 'X': expected sequences of shape \(n, 2, \.\.\.\), got \(6, 1, 3\)$"):
        seq.predict(X[:, :1, :])
    flat = rg.TorchRegressor(max_epochs=1).fit(pd.DataFrame(X[:, :, 0], columns=["a", "b"]), y)
    with pytest.raises(DataValidationError, match=r"^column 'b': missing from X at predict: TorchRegressor was "
                                                  r"fitted on \['a', 'b'\]"):
        flat.predict(pd.DataFrame({"a": [1.0]}))
    with pytest.raises(DataValidationError, match=r"^parameter 'X': TorchRegressor was fitted on 2 features, "
                                                  r"got shape \(2, 3\)$"):
        flat.predict(np.ones((2, 3)))


def test_search_matches_manual_loop():
    rng = np.random.default_rng(5)
    X = rng.normal(size=(200, 5))
    y = X[:, 0] + rng.normal(scale=1.5, size=200)
    grid = {"alpha": [0.1, 10.0, 100.0, 1000.0]}
    res = rg.search(rg.Ridge(), grid, X, y, n_windows=3, horizon=20, scoring="mae")
    manual = {}
    for a in grid["alpha"]:
        errs = [skm.mean_absolute_error(y[v], sklm.Ridge(alpha=a).fit(X[t], y[t]).predict(X[v]))
                for t, v in TimeSeriesSplit(n_splits=3, test_size=20).split(X)]
        manual[a] = np.mean(errs)
    best = min(manual, key=manual.get)
    assert res.best_params == {"alpha": best}
    assert res.best_score == pytest.approx(manual[best])
    assert len(res.results) == 4
    rand = rg.search(rg.Ridge(), grid, X, y, horizon=20, n_iter=2, refit=False)
    assert len(rand.results) == 2 and rand.best_estimator is None


def test_permutation_importance_ranks_and_matches_sklearn():
    from sklearn.inspection import permutation_importance as sk_perm

    rng = np.random.default_rng(2)
    X = pd.DataFrame(rng.normal(size=(600, 3)), columns=["strong", "weak", "noise"])
    y = 3 * X["strong"] + 0.5 * X["weak"] + rng.normal(scale=0.1, size=600)
    imp = rg.permutation_importance(rg.LinearRegression(), X, y, valid_size=0.25, n_repeats=20)
    assert imp["feature"].tolist() == ["strong", "weak", "noise"]
    fitted = sklm.LinearRegression().fit(X.iloc[:450], y.iloc[:450])
    ref = sk_perm(fitted, X.iloc[450:], y.iloc[450:], scoring="neg_mean_absolute_error", n_repeats=20, random_state=0)
    ours = imp.set_index("feature").loc[["strong", "weak"], "importance_mean"].to_numpy()
    np.testing.assert_allclose(ours, ref.importances_mean[:2], rtol=0.15)
    assert abs(imp.set_index("feature").loc["noise", "importance_mean"]) < 0.01


def test_bad_input_raises_data_validation_error(data):
    X, y, w = data
    frame = pd.DataFrame(X, columns=["a", "b", "c", "d"])
    frame.loc[[3, 9], "c"] = np.nan
    with pytest.raises(DataValidationError, match="'c'.*NaN or infinite.*2 offending rows.*row 3"):
        rg.LinearRegression().fit(frame, y)
    yb = pd.Series(y.copy(), name="units")
    yb[5] = np.inf
    with pytest.raises(DataValidationError, match="'units'.*NaN or infinite.*1 offending rows"):
        rg.LinearRegression().fit(X, yb)
    with pytest.raises(DataValidationError, match="sample_weight.*negative"):
        rg.LinearRegression().fit(X, y, sample_weight=-w)
    with pytest.raises(DataValidationError, match="target has shape"):
        rg.Ridge().fit(X, y[:-1])
    with pytest.raises(DataValidationError, match="'date'.*too few"):
        rg.time_series_splits(pd.DataFrame({"date": pd.date_range("2024-01-01", periods=10)}), "date", 3, 5)
    with pytest.raises(DataValidationError, match="horizon"):
        rg.time_series_splits(np.arange(10), None, 1, 0)
    with pytest.raises(DataValidationError, match="'forecast'.*missing"):
        rg.evaluate(pd.DataFrame({"sku": ["a"], "location": ["w"], "units": [1.0]}))


@pytest.mark.filterwarnings("ignore::RuntimeWarning")  # numpy notes the overflow before the fit refuses
def test_fit_that_overflows_names_the_largest_column():
    # each value passes the input check (squares stay finite), yet slopes of order 1e150 / 1e-160
    # overflow float64: the fit refuses, naming the input of largest magnitude (here the target)
    rng = np.random.default_rng(8)
    X = pd.DataFrame({"a": rng.normal(size=20) * 1e-160, "b": rng.normal(size=20) * 1e-160})
    y = pd.Series(rng.normal(size=20) * 1e150, name="units")
    top = re.escape(f"{np.abs(y).max():.3g}")
    with pytest.raises(DataValidationError, match=rf"^column 'units': the least-squares fit is not finite.*"
                                                  rf"largest magnitude {top} in this column") as err:
        rg.LinearRegression().fit(X, y)
    assert err.value.column == "units"
    with pytest.raises(DataValidationError, match="^column 'y': the least-squares fit is not finite"):
        rg.LinearRegression().fit(X.to_numpy(), y.to_numpy())


def test_dask_input_goes_to_out_of_core_models_only(monkeypatch):
    X = pd.DataFrame({"a": np.arange(40.0), "b": np.arange(40.0) % 7})
    y = pd.Series(2.0 * X["a"] - X["b"] + 1.0)
    dX, dy = dd.from_pandas(X, npartitions=3), dd.from_pandas(y, npartitions=3)
    ridge = rg.make_model("ridge", alpha=1e-9).fit(dX, dy)
    np.testing.assert_allclose(ridge.estimator_.coef_, [2.0, -1.0], atol=1e-6)
    with pytest.raises(DataValidationError, match="'lasso' cannot fit a Dask collection"):
        rg.make_model("lasso").fit(dX, dy)
    assert not rg.make_model("random_forest").accepts_dask(on_gpu=True) or models.importable("cuml.dask")
    # With cuML's Dask estimators importable, GPU partitions go to them (module chosen without importing it).
    monkeypatch.setattr(models, "importable", lambda module: True)
    assert rg.make_model("lasso")._spec(on_gpu=True, on_dask=True)[:2] == ("cuml.dask.linear_model", "Lasso")
    assert rg.make_model("random_forest").accepts_dask(on_gpu=True)
    assert not rg.make_model("huber").accepts_dask(on_gpu=True)
