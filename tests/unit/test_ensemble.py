"""Ensembles of forecasters and the boosting models, against combinations computed by hand with pandas."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LinearRegression

from toolkit import forecast as fcm
from toolkit.features import FeatureSpec
from toolkit.regress import MODELS, make_model

KEYS = ["sku", "location"]


def _panel(n_series: int = 4, n: int = 48, freq: str = "MS", seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    dates = pd.date_range("2015-01-01", periods=n, freq=freq)
    parts = []
    for i in range(n_series):
        season = 1 + 0.3 * np.sin(2 * np.pi * np.arange(n) / 12)
        trend = 50 + (i + 1) * np.arange(n) * (0.5 if i % 2 else -0.1)
        parts.append(pd.DataFrame({"sku": f"s{i}", "location": "web", "date": dates,
                                   "units": trend * season + rng.normal(0, 2 + 3 * i, n)}))
    return pd.concat(parts, ignore_index=True)


MEMBERS = {"naive": fcm.Naive(), "snaive": fcm.SeasonalNaive(), "theta": fcm.Theta()}


def _member_paths(df, h):
    return {name: m.fit(df).predict(h).set_index([*KEYS, "date"])["forecast"] for name, m in MEMBERS.items()}


@pytest.mark.parametrize("combine", ["median", "mean"])
def test_median_and_mean_combine_the_members(combine):
    df = _panel()
    out = fcm.Ensemble(MEMBERS, combine=combine, horizon=6).fit(df).predict().set_index([*KEYS, "date"])
    paths = pd.DataFrame(_member_paths(df, 6))
    expected = paths.median(axis=1) if combine == "median" else paths.mean(axis=1)
    np.testing.assert_allclose(out["forecast"], expected.loc[out.index], rtol=1e-10)


def _backtest_errors(df, h, n_windows):
    """Per series and member: backtest MAE / in-sample naive MAE (pandas only)."""
    naive_mae = df.sort_values("date").groupby("sku")["units"].apply(lambda s: s.diff().abs().mean())
    table = {}
    for name, member in MEMBERS.items():
        res = fcm.backtest(member, df, n_windows=n_windows, horizon=h, progress=False, metrics=("mae",))
        f = res.forecasts
        table[name] = (f["actual"] - f["forecast"]).abs().groupby(f["sku"]).mean() / naive_mae
    return pd.DataFrame(table)


@pytest.mark.parametrize("per", ["panel", "series"])
def test_weights_are_inverse_backtest_errors(per):
    df = _panel()
    ens = fcm.Ensemble(MEMBERS, combine="weighted", per=per, n_windows=2, horizon=6).fit(df)
    errors = _backtest_errors(df, 6, 2)
    np.testing.assert_allclose(ens.errors_.set_index("sku")[list(MEMBERS)], errors.loc[ens.errors_["sku"]],
                               rtol=1e-10)
    basis = errors if per == "series" else pd.DataFrame([errors.mean()] * len(errors), index=errors.index)
    weights = (1 / basis).div((1 / basis).sum(axis=1), axis=0)
    np.testing.assert_allclose(ens.weights_.set_index("sku")[list(MEMBERS)], weights.loc[ens.weights_["sku"]],
                               rtol=1e-10)
    out = ens.predict().set_index([*KEYS, "date"])
    paths = pd.DataFrame(_member_paths(df, 6))
    w = weights.loc[paths.index.get_level_values("sku")].to_numpy()
    np.testing.assert_allclose(out["forecast"], (paths.to_numpy() * w).sum(axis=1), rtol=1e-10)


def test_best_chooses_the_member_of_least_backtest_error_per_series():
    df = _panel()
    ens = fcm.Ensemble(MEMBERS, combine="best", per="series", n_windows=2, horizon=6).fit(df)
    errors = _backtest_errors(df, 6, 2)
    chosen = ens.weights_.set_index("sku")[list(MEMBERS)].idxmax(axis=1)
    assert chosen.to_dict() == errors.idxmin(axis=1).to_dict()
    out = ens.predict().set_index([*KEYS, "date"])
    paths = pd.DataFrame(_member_paths(df, 6))
    pick = [paths.loc[i, chosen[i[0]]] for i in out.index]
    np.testing.assert_allclose(out["forecast"], pick, rtol=1e-10)


def test_default_ensemble_reports_member_fallbacks():
    df = pd.concat([_panel(n=60), _panel(n_series=1, n=14, seed=4).assign(sku="tiny")], ignore_index=True)
    ens = fcm.Ensemble().fit(df)
    assert ens.horizon_ == 18 and set(ens.members_) == {"global", "ets", "theta"}
    assert ens.report_.fallback["global.short_series"] == 1
    assert ens.report_.rows_in == len(df)
    out = ens.predict()
    assert len(out) == 5 * 18 and np.isfinite(out["forecast"]).all()


@pytest.mark.parametrize("name", ["lightgbm", "xgboost"])
def test_boosting_models_forecast_a_panel(name):
    pytest.importorskip(name)  # xgboost is an optional extra
    df = _panel(n_series=6, n=60)
    fc = fcm.Forecaster(make_model(name, n_estimators=50), horizon=3).fit(df)
    out = fc.predict()
    assert np.isfinite(out["forecast"]).all() and fc.model_.estimator_.__class__.__name__ in (
        "LGBMRegressor", "XGBRegressor")
    assert MODELS[name].allow_nan


def test_xgboost_fits_a_dask_collection_with_xgboost_dask():
    pytest.importorskip("xgboost")
    pytest.importorskip("xgboost.dask")
    import dask.dataframe as dd
    from distributed import Client, LocalCluster

    rng = np.random.default_rng(0)
    X = pd.DataFrame(rng.normal(size=(400, 3)), columns=["a", "b", "c"])
    y = pd.Series(X @ np.array([1.0, -2.0, 0.5]), name="y")
    with LocalCluster(n_workers=1, threads_per_worker=1, processes=False, dashboard_address=":0") as cluster, \
            Client(cluster):
        model = make_model("xgboost", n_estimators=30).fit(dd.from_pandas(X, npartitions=2),
                                                           dd.from_pandas(y, npartitions=2))
        assert type(model.estimator_).__name__ == "DaskXGBRegressor"
        pred = np.asarray(model.predict(dd.from_pandas(X, npartitions=2)).compute())
    assert np.corrcoef(pred, y)[0, 1] > 0.95


def test_spec_for_freq_is_the_global_default_in_the_ensemble():
    ens = fcm.Ensemble().fit(_panel(n=60))
    assert ens.members_["global"].spec_ == FeatureSpec.for_freq("MS")


def test_members_get_the_future_exogenous_values():
    """units = 10 + 5 promo exactly: the exogenous-only OLS member forecasts 10 or 15 from the future
    promo, Naive repeats the last value (10, day 60 has no promo); the mean is worked out by hand."""
    dates = pd.date_range("2024-01-01", periods=60)
    promo = np.arange(60) % 3 == 0
    df = pd.DataFrame({"sku": "a", "location": "web", "date": dates, "units": 10.0 + 5.0 * promo, "promo": promo})
    spec = FeatureSpec(lags=(), rolling={}, calendar=(), fourier=(), exog=("promo",))
    members = {"promo": fcm.Forecaster(LinearRegression(), spec), "naive": fcm.Naive()}
    ens = fcm.Ensemble(members, combine="mean", horizon=4).fit(df, future_exog=["promo"])
    future = pd.DataFrame({"sku": "a", "location": "web", "date": pd.date_range("2024-03-01", periods=4),
                           "promo": [False, True, False, True]})
    out = ens.predict(future_df=future)
    np.testing.assert_allclose(out["forecast"], [10.0, 12.5, 10.0, 12.5], rtol=1e-9)
