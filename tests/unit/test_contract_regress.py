"""The input contract of toolkit.regress, property-based (Hypothesis).

Bad frames and parameters are refused with DataValidationError naming the column or parameter
(never an internal AttributeError/KeyError/IndexError/TypeError), estimators raise scikit-learn's
NotFittedError before fit and match columns by name at predict, and the documented handling holds
(NaN pairs left out of metrics, rows in = rows scored + rows left out), checked against
scikit-learn and numpy.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import sklearn.linear_model as sklm
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from sklearn import metrics as skm
from sklearn.exceptions import NotFittedError

from tests.contract import assert_rejects, corrupt, corruptions, not_frames, panels
from toolkit import regress as rg
from toolkit.errors import DataValidationError

pytestmark = pytest.mark.filterwarnings("ignore::RuntimeWarning")

SETTINGS = settings(max_examples=20, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                           HealthCheck.filter_too_much])
FEW = settings(SETTINGS, max_examples=8)

LINEAR = [rg.LinearRegression, rg.Ridge, lambda: rg.RidgeCV(n_windows=2), lambda: rg.make_model("ridge"),
          lambda: rg.make_model("huber"), lambda: rg.make_model("gradient_boosting", max_iter=5)]
ESTIMATORS = LINEAR + [lambda: rg.TorchRegressor(max_epochs=2)]


def _design(seed: int, n: int = 80) -> tuple[pd.DataFrame, pd.Series]:
    """A frame of mixed dtypes (float, int8, bool) and a linear target."""
    rng = np.random.default_rng(seed)
    X = pd.DataFrame({"price": rng.normal(10, 2, n), "dow": (np.arange(n) % 7).astype("int8"),
                      "promo": rng.random(n) < 0.3, "noise": rng.normal(size=n)})
    y = pd.Series(3.0 + 2.0 * X["price"] - 0.5 * X["dow"] + 4.0 * X["promo"] + rng.normal(scale=0.1, size=n),
                  name="units")
    return X, y


# ----------------------------------------------------------------------------- estimators
@pytest.mark.parametrize("make", ESTIMATORS)
def test_predict_before_fit_is_not_fitted_error(make):
    X, _ = _design(0)
    with pytest.raises(NotFittedError):
        make().predict(X)


@pytest.mark.parametrize("make", ESTIMATORS)
@FEW
@given(bad=not_frames())
def test_fit_refuses_what_is_not_numbers(make, bad):
    X, y = _design(1)
    assume(not (isinstance(bad, (np.ndarray, pd.Series)) and len(bad) == len(X)))
    assert_rejects(lambda: make().fit(bad, y), ["X", "units", "y"])


@pytest.mark.parametrize("make", ESTIMATORS)
@FEW
@given(kind=corruptions(["inf", "nan", "text"]), column=st.sampled_from(["price", "dow", "noise"]),
       row=st.integers(0, 79))
def test_fit_refuses_non_finite_or_text_naming_the_column(make, kind, column, row):
    X, y = _design(2)
    bad = corrupt(X, kind, column, row)
    if kind == "nan" and make is LINEAR[-1]:  # gradient boosting takes missing features (documented)
        make().fit(bad, y)
        return
    err = assert_rejects(lambda: make().fit(bad, y), [column])
    assert err.column == column


@pytest.mark.parametrize("make", ESTIMATORS)
@FEW
@given(kind=st.sampled_from(["inf", "nan"]), row=st.integers(0, 79))
def test_fit_refuses_a_bad_target_naming_it(make, kind, row):
    X, y = _design(3)
    bad = y.copy()
    bad.iloc[row] = np.inf if kind == "inf" else np.nan
    assert_rejects(lambda: make().fit(X, bad), ["units"])


@pytest.mark.parametrize("make", ESTIMATORS)
@FEW
@given(order=st.permutations(["price", "dow", "promo", "noise"]))
def test_predict_matches_columns_by_name(make, order):
    X, y = _design(4)
    model = make().fit(X, y)
    np.testing.assert_allclose(np.asarray(model.predict(X[list(order)])), np.asarray(model.predict(X)))
    # an extra column is ignored; a missing one is named
    np.testing.assert_allclose(np.asarray(model.predict(X.assign(extra=1.0)[list(order) + ["extra"]])),
                               np.asarray(model.predict(X)))
    dropped = order[0]
    assert_rejects(lambda: model.predict(X.drop(columns=[dropped])), [dropped])


@pytest.mark.parametrize("make", [rg.LinearRegression, rg.Ridge, lambda: rg.make_model("ridge")])
@SETTINGS
@given(column=st.sampled_from(["price", "noise"]), row=st.integers(0, 79),
       value=st.sampled_from([1e308, -1e308, 1e200, 3e160]))
def test_values_whose_squares_overflow_are_named(make, column, row, value):
    """1e308 used to give NaN coefficients silently; now the input column is named."""
    X, y = _design(5)
    bad = X.copy()
    bad.loc[row, column] = value
    err = assert_rejects(lambda: make().fit(bad, y), [column])
    assert "too large" in str(err) and f"row {row}" in str(err)
    big_y = y.copy()
    big_y.iloc[row] = value
    assert_rejects(lambda: make().fit(X, big_y), ["units"])


def test_large_but_representable_values_still_fit_like_sklearn():
    X, y = _design(6)
    Xb = X.assign(price=X["price"] * 1e120)
    ours = rg.LinearRegression().fit(Xb, y)
    ref = sklm.LinearRegression().fit(Xb.astype(float), y)
    np.testing.assert_allclose(ours.predict(Xb), ref.predict(Xb.astype(float)), rtol=1e-8)


@SETTINGS
@given(seed=st.integers(0, 10_000))
def test_mixed_dtype_frames_fit_like_sklearn(seed):
    X, y = _design(seed)
    ours = rg.LinearRegression().fit(X, y)
    ref = sklm.LinearRegression().fit(X.astype(float), y)
    np.testing.assert_allclose(ours.coef_, ref.coef_, rtol=1e-7, atol=1e-9)
    assert ours.feature_names_in_ == list(X.columns)


@pytest.mark.parametrize("make,param,value", [
    (lambda v: rg.Ridge(alpha=v), "alpha", -1.0),
    (lambda v: rg.Ridge(alpha=v), "alpha", "big"),
    (lambda v: rg.RidgeCV(alphas=v), "alphas", "abc"),
    (lambda v: rg.RidgeCV(alphas=v), "alphas", [1.0, -2.0]),
    (lambda v: rg.RidgeCV(n_windows=v), "n_windows", 0),
    (lambda v: rg.TorchRegressor(kind=v), "kind", "gru"),
    (lambda v: rg.TorchRegressor(hidden_size=v), "hidden_size", 0),
    (lambda v: rg.TorchRegressor(validation_fraction=v), "validation_fraction", 1.5),
    (lambda v: rg.make_model("ridge", **{v: 1}), "params", "no_such_parameter"),
])
def test_bad_parameters_are_named(make, param, value):
    X, y = _design(7)
    assert_rejects(lambda: make(value).fit(X, y), [param])


@SETTINGS
@given(name=st.text(min_size=1, max_size=8).filter(lambda s: s.lower() not in rg.MODELS))
def test_unknown_model_names_list_the_choices(name):
    err = assert_rejects(lambda: rg.make_model(name), ["name"])
    assert "choose from" in str(err) and "gradient_boosting" in str(err)


def test_model_table_is_one_entry_per_model(monkeypatch):
    """A model registered in MODELS is built by make_model with its defaults (issue 13 adds lightgbm so)."""
    monkeypatch.setitem(rg.MODELS, "tiny_tree", rg.ModelInfo("sklearn.tree.DecisionTreeRegressor",
                                                             {"max_depth": 2, "random_state": 0}))
    X, y = _design(8)
    model = rg.make_model("tiny_tree").fit(X, y)
    from sklearn.tree import DecisionTreeRegressor

    ref = DecisionTreeRegressor(max_depth=2, random_state=0).fit(X, y)
    np.testing.assert_allclose(model.predict(X), ref.predict(X))


def test_coef_table_and_dask_refusals():
    X, y = _design(9)
    with pytest.raises(NotFittedError):
        rg.LinearRegression().coef_table()
    dd = pytest.importorskip("dask.dataframe")
    dX = dd.from_pandas(X, npartitions=2)
    assert_rejects(lambda: rg.TorchRegressor().fit(dX, y), ["X"])
    assert_rejects(lambda: rg.RidgeCV().fit(dX, y), ["X"])


# ----------------------------------------------------------------------------- metrics
METRIC_FUNCTIONS = [rg.mae, rg.mse, rg.rmse, rg.mape, rg.smape, rg.wape, rg.bias]
REFERENCES = {rg.mae: skm.mean_absolute_error, rg.mse: skm.mean_squared_error, rg.rmse: skm.root_mean_squared_error,
              rg.mape: None, rg.smape: None, rg.wape: None, rg.bias: None}


@pytest.mark.parametrize("metric", METRIC_FUNCTIONS)
@SETTINGS
@given(bad=st.one_of(st.none(), st.text(max_size=4), st.dictionaries(st.text(max_size=2), st.integers(), max_size=2),
                     st.lists(st.text(min_size=1, max_size=3), min_size=2, max_size=2)))
def test_metrics_refuse_what_is_not_numbers(metric, bad):
    assert_rejects(lambda: metric(bad, [1.0, 2.0]), ["y"])
    assert_rejects(lambda: metric([1.0, 2.0], bad), ["yhat"])


@pytest.mark.parametrize("metric", METRIC_FUNCTIONS)
def test_metrics_refuse_inf_and_unequal_lengths(metric):
    assert_rejects(lambda: metric([1.0, np.inf], [1.0, 2.0]), ["y"])
    assert_rejects(lambda: metric([1.0, 2.0], [1.0, -np.inf]), ["yhat"])
    assert_rejects(lambda: metric([1.0, 2.0, 3.0], [1.0, 2.0]), ["yhat"])


@SETTINGS
@given(data=hnp.arrays(np.float64, st.integers(2, 30), elements=st.floats(0.5, 100)),
       noise=st.floats(-5, 5), holes=st.lists(st.integers(0, 29), max_size=5))
def test_metrics_leave_nan_pairs_out_and_match_sklearn(data, noise, holes):
    y, f = data.copy(), data + noise
    for i in holes:
        if i < len(y):
            y[i] = np.nan
    ok = ~np.isnan(y)
    assume(ok.any())
    a, b = data[ok], f[ok]
    for metric, ref in REFERENCES.items():
        if ref is not None:
            assert metric(y, f) == pytest.approx(ref(a, b), rel=1e-9, abs=1e-12)
    assert rg.bias(y, f) == pytest.approx(float(np.mean(b - a)), abs=1e-9)
    assert rg.mape(y, f) == pytest.approx(skm.mean_absolute_percentage_error(a, b), rel=1e-9)
    assert rg.wape(y, f) == pytest.approx(np.abs(b - a).sum() / np.abs(a).sum(), rel=1e-9)


@FEW
@given(bad=st.one_of(st.none(), st.text(max_size=4), st.lists(st.text(min_size=1, max_size=3), min_size=2,
                                                              max_size=2)))
def test_interval_and_scaled_metrics_refuse_what_is_not_numbers(bad):
    assert_rejects(lambda: rg.coverage([1.0, 2.0], bad, [3.0, 4.0]), ["lower"])
    assert_rejects(lambda: rg.coverage([1.0, 2.0], [0.0, 1.0], bad), ["upper"])
    assert_rejects(lambda: rg.mase([1.0, 2.0], [1.0, 2.0], bad), ["y_train"])
    assert_rejects(lambda: rg.pinball_loss(bad, [1.0, 2.0]), ["y"])


def test_metric_parameters_are_checked():
    assert_rejects(lambda: rg.pinball_loss([1.0], [1.0], quantile=1.5), ["quantile"])
    assert_rejects(lambda: rg.mase([1.0], [1.0], [1.0, 2.0], season=0), ["season"])


# ----------------------------------------------------------------------------- evaluate
def _fixed_panel() -> pd.DataFrame:
    return pd.DataFrame({"sku": ["a", "a", "b"], "location": "web", "units": [1.0, 2.0, 3.0],
                         "date": pd.to_datetime(["2024-01-01", "2024-01-02", "2024-01-01"])})


def _scored(df: pd.DataFrame, seed: int = 0) -> pd.DataFrame:
    return df.assign(forecast=df["units"] + np.random.default_rng(seed).normal(size=len(df)))


@SETTINGS
@given(bad=not_frames())
def test_evaluate_refuses_non_frames(bad):
    assert_rejects(lambda: rg.evaluate(bad), ["df"])


@SETTINGS
@given(df=panels(), kind=corruptions(["drop_column", "inf", "text"]), column=st.sampled_from(["units", "forecast",
                                                                                              "sku"]),
       row=st.integers(0, 50))
def test_evaluate_refuses_corrupt_frames_naming_the_column(df, kind, column, row):
    assume(not (column == "sku" and kind != "drop_column"))
    bad = corrupt(_scored(df), kind, column, row)
    assert_rejects(lambda: rg.evaluate(bad), [column])


@SETTINGS
@given(df=panels(), holes=st.lists(st.integers(0, 50), max_size=4))
def test_evaluate_counts_scored_pairs_and_matches_groupby(df, holes):
    scored = _scored(df)
    for i in holes:
        scored.loc[i % len(scored), "units"] = np.nan
    ev = rg.evaluate(scored, metrics=("mae", "bias"))
    ok = scored.dropna(subset=["units"])
    assert ev.overall["n"] == len(ok)  # rows in = rows scored + rows with a missing actual
    assert ev.per_series["n"].sum() + scored["units"].isna().sum() == len(scored)
    if not len(ok):  # every actual missing: nothing scored, no series has a bias
        assert ev.per_series["bias"].isna().all()
        return
    assert ev.overall["mae"] == pytest.approx(skm.mean_absolute_error(ok["units"], ok["forecast"]))
    ref = ok.groupby(["sku", "location"]).apply(lambda g: (g["forecast"] - g["units"]).mean(), include_groups=False)
    np.testing.assert_allclose(ev.per_series["bias"].dropna().to_numpy(), ref.to_numpy())


@SETTINGS
@given(metric=st.text(min_size=1, max_size=6).filter(lambda s: s.lower() not in {*rg.METRICS, "mase"}))
def test_evaluate_unknown_metric_lists_choices(metric):
    df = _scored(_fixed_panel())
    err = assert_rejects(lambda: rg.evaluate(df, metrics=(metric,)), ["metrics"])
    assert "choose from" in str(err)


def test_evaluate_mase_needs_history():
    df = _scored(_fixed_panel())
    assert_rejects(lambda: rg.evaluate(df, metrics=("mase",)), ["train_df"])
    assert_rejects(lambda: rg.evaluate(df, metrics=("mase",), train_df=[1, 2]), ["train_df"])


# ----------------------------------------------------------------------------- time-series splits, search
@SETTINGS
@given(n=st.integers(10, 60), n_windows=st.integers(1, 3), horizon=st.integers(1, 5), gap=st.integers(0, 2),
       step=st.one_of(st.none(), st.integers(1, 4)))
def test_time_series_splits_put_training_before_validation(n, n_windows, horizon, gap, step):
    times = np.repeat(np.arange(n), 2)  # two series per stamp
    if n - horizon - (n_windows - 1) * (step or horizon) - gap < 1:
        assert_rejects(lambda: rg.time_series_splits(times, None, n_windows, horizon, step, gap), ["time"])
        return
    splits = rg.time_series_splits(times, None, n_windows, horizon, step, gap)
    assert len(splits) == n_windows
    for train, valid in splits:
        assert times[train].max() + gap < times[valid].min()
        assert len(np.unique(times[valid])) == horizon and len(valid) == 2 * horizon
        assert not np.intersect1d(train, valid).size
    assert np.unique(times[splits[-1][1]]).max() == n - 1


@pytest.mark.parametrize("kwargs,param", [
    ({"n_windows": 0}, "n_windows"), ({"horizon": 1.5}, "horizon"), ({"horizon": "7"}, "horizon"),
    ({"gap": -1}, "gap"), ({"step": 0}, "step"), ({"window": "rolling"}, "window"),
    ({"window": "sliding"}, "train_size"),
])
def test_time_series_splits_name_bad_parameters(kwargs, param):
    assert_rejects(lambda: rg.time_series_splits(np.arange(50), None, **{"n_windows": 2, "horizon": 3, **kwargs}),
                   [param])


@SETTINGS
@given(bad=not_frames())
def test_time_series_splits_refuse_non_frames_with_a_time_column(bad):
    assert_rejects(lambda: rg.time_series_splits(bad, "date"), ["df"])


@pytest.mark.parametrize("kwargs,param", [
    ({"grid": {"no_such": [1]}}, "grid"), ({"grid": "alpha"}, "grid"), ({"grid": {"alpha": 3.0}}, "grid"),
    ({"scoring": "accuracy"}, "scoring"), ({"n_iter": 0}, "n_iter"), ({"model": "ridge"}, "model"),
    ({"X": "abc"}, "X"), ({"time": np.arange(5)}, "time"),
])
def test_search_names_bad_arguments(kwargs, param):
    X, y = _design(10, n=120)
    args = {"model": rg.Ridge(), "grid": {"alpha": [0.1, 1.0]}, "X": X, "y": y, "horizon": 10, **kwargs}
    assert_rejects(lambda: rg.search(**args), [param])


@pytest.mark.parametrize("kwargs,param", [
    ({"valid_size": 0}, "valid_size"), ({"valid_size": 500}, "valid_size"), ({"n_repeats": 0}, "n_repeats"),
    ({"scoring": "r2"}, "scoring"), ({"model": object()}, "model"),
])
def test_permutation_importance_names_bad_arguments(kwargs, param):
    X, y = _design(11)
    args = {"model": rg.LinearRegression(), "X": X, "y": y, **kwargs}
    assert_rejects(lambda: rg.permutation_importance(**args), [param])


def test_permutation_importance_without_refit_needs_a_fitted_model():
    X, y = _design(12)
    with pytest.raises(NotFittedError):
        rg.permutation_importance(rg.LinearRegression(), X, y, refit=False)
    fitted = rg.LinearRegression().fit(X.iloc[:60], y.iloc[:60])
    out = rg.permutation_importance(fitted, X, y, refit=False, n_repeats=2)
    assert out["feature"].iloc[0] == "price"


def test_errors_are_data_validation_errors_not_internal_ones():
    """The exception type users catch: DataValidationError is a ValueError."""
    assert issubclass(DataValidationError, ValueError)


@pytest.mark.parametrize("bad", [np.array([b"1", b"2"]), np.array(["1", "2"]), pd.Series(["1", "2"]),
                                 pd.Series([[1, 2], [3, 4]]), np.array([[1, 2], [3, 4], None], dtype=object)[:2]],
                         ids=["bytes", "unicode", "text-series", "series-of-lists", "object-array-of-lists"])
def test_text_and_nested_values_are_refused_where_numbers_are_expected(bad):
    from toolkit.regress.inputs import as_float_array

    with pytest.raises(DataValidationError, match=r"^parameter 'y': expected numbers, got text \(or nested values\)"):
        as_float_array(bad, "y")


def test_a_list_of_rows_is_a_table_of_numbers():
    from toolkit.regress.inputs import as_float_array

    np.testing.assert_array_equal(as_float_array([[1, 2], [3, 4]], "X"), [[1.0, 2.0], [3.0, 4.0]])
    np.testing.assert_array_equal(as_float_array(np.array([1, 2.5], dtype=object), "y"), [1.0, 2.5])
