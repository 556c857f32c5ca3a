"""The input contract of the local models, the ensemble and the new transforms and models (Hypothesis).

Generated bad frames and parameters get DataValidationError naming the input column or the
parameter, forecasters raise NotFittedError before fit, rows in = rows used + dropped, and a
Box-Cox target outside its domain is refused naming the column and keys.
"""

from __future__ import annotations

import importlib.util

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from sklearn.exceptions import NotFittedError

from tests.contract import FIT_REFUSAL_NAMES, assert_rejects, corrupt, corruptions, not_frames, panels
from toolkit import forecast as fcm
from toolkit.features import FeatureSpec
from toolkit.regress import LinearRegression, make_model

pytestmark = pytest.mark.filterwarnings("ignore::RuntimeWarning")

SETTINGS = settings(max_examples=12, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                           HealthCheck.filter_too_much])
FEW = settings(SETTINGS, max_examples=6)

FORECASTERS = {
    "ets": lambda **kw: fcm.ETS(**{"horizon": 2, **kw}),
    "ses": lambda **kw: fcm.SES(**{"horizon": 2, **kw}),
    "holt": lambda **kw: fcm.Holt(**{"horizon": 2, **kw}),
    "damped": lambda **kw: fcm.DampedTrend(**{"horizon": 2, **kw}),
    "theta": lambda **kw: fcm.Theta(**{"horizon": 2, **kw}),
    "ensemble": lambda **kw: fcm.Ensemble({"naive": fcm.Naive(), "ses": fcm.SES()}, **{"horizon": 2, **kw}),
}
ALL = list(FORECASTERS)


def _clean(n_series: int = 3, n: int = 30, freq: str = "D") -> pd.DataFrame:
    rng = np.random.default_rng(0)
    dates = pd.date_range("2023-01-01", periods=n, freq=freq)
    return pd.concat([pd.DataFrame({"sku": f"s{i}", "location": "web", "date": dates,
                                    "units": rng.poisson(5 + i, n).astype(float) + 1}) for i in range(n_series)],
                     ignore_index=True)


@pytest.mark.parametrize("name", ALL)
def test_predict_before_fit_is_not_fitted_error(name):
    with pytest.raises(NotFittedError):
        FORECASTERS[name]().predict()


@pytest.mark.parametrize("name", ALL)
@FEW
@given(bad=not_frames())
def test_fit_refuses_non_frames(name, bad):
    assert_rejects(lambda: FORECASTERS[name]().fit(bad), ["df"])


@pytest.mark.parametrize("name", ALL)
@SETTINGS
@given(df=panels(n_series=(1, 3), length=(4, 8), numeric=("units",)), kind=corruptions(),
       column=st.sampled_from(["units", "date", "sku"]), row=st.integers(0, 40))
def test_fit_refuses_corrupt_frames_naming_the_input_column(name, df, kind, column, row):
    if kind in ("inf", "nan", "text"):
        assume(column == "units")
    bad = corrupt(df, kind, column, row)
    err = assert_rejects(lambda: FORECASTERS[name]().fit(bad), FIT_REFUSAL_NAMES[kind] or [column])
    if kind in ("inf", "nan"):
        assert err.column == column and repr(bad.iloc[row % len(bad)]["sku"]) in str(err)


@pytest.mark.parametrize("make,param", [
    (lambda: fcm.ETS(trend="multiplicative"), "trend"), (lambda: fcm.ETS(seasonal="both"), "seasonal"),
    (lambda: fcm.ETS(season_length=0), "season_length"), (lambda: fcm.Theta(deseasonalize="maybe"), "deseasonalize"),
    (lambda: fcm.Theta(tol=0.0), "tol"), (lambda: fcm.SES(horizon=0), "horizon"),
    (lambda: fcm.Holt(freq="XYZ"), "freq"),
    (lambda: fcm.Ensemble(combine="vote"), "combine"), (lambda: fcm.Ensemble(per="sku"), "per"),
    (lambda: fcm.Ensemble(n_windows=0), "n_windows"), (lambda: fcm.Ensemble(members={}), "members"),
    (lambda: fcm.Ensemble(members={"x": 3}), "members"), (lambda: fcm.SES(spec={"id_cols": "sku"}), "spec"),
])
def test_bad_parameters_are_named(make, param):
    err = assert_rejects(lambda: make().fit(_clean()), [param])
    if param in ("trend", "seasonal", "combine", "per", "deseasonalize"):
        assert "choose from" in str(err)


@pytest.mark.parametrize("name", ALL)
@FEW
@given(h=st.one_of(st.integers(-3, 0), st.text(max_size=3)))
def test_bad_predict_arguments_are_named(name, h):
    fc = FORECASTERS[name]().fit(_clean())
    assert_rejects(lambda: fc.predict(h), ["h"])
    assert_rejects(lambda: fc.predict(2, quantiles=[0.1, 0.9]), ["quantiles"])  # not calibrated


@pytest.mark.parametrize("name", ALL)
@FEW
@given(df=panels(n_series=(1, 4), length=(1, 12), numeric=("units",)), stock=st.lists(st.integers(0, 40), max_size=3))
def test_rows_in_equal_rows_used_plus_dropped_and_every_series_forecast(name, df, stock):
    df = df.assign(stockout=False)
    for i in stock:
        df.loc[i % len(df), "stockout"] = True
    fc = FORECASTERS[name](freq="D")
    fc.fit(df)
    rep = fc.report_
    assert rep.rows_in == len(df) == rep.rows_used + sum(rep.dropped.values())
    assert rep.dropped["stockout"] == int(df["stockout"].sum())
    out = fc.predict(2)
    assert len(out) == 2 * df.groupby(["sku", "location"]).ngroups


@SETTINGS
@given(df=panels(n_series=(1, 3), length=(4, 8), numeric=("units",)), row=st.integers(0, 40),
       value=st.sampled_from([0.0, -1.0, -5.5]))
def test_boxcox_refuses_non_positive_targets_naming_column_and_keys(df, row, value):
    df = df.assign(units=df["units"] + 1.0)
    df.loc[row % len(df), "units"] = value
    spec = FeatureSpec(lags=(1,), rolling={}, calendar=(), fourier=())
    fc = fcm.Forecaster(LinearRegression(), spec, horizon=1, target_transform="boxcox", fallback="naive")
    err = assert_rejects(lambda: fc.fit(df), ["units"])
    assert "boxcox" in str(err) and repr(df.iloc[row % len(df)]["sku"]) in str(err)


@pytest.mark.parametrize("season", [0, -2, 1.5, "x"])
def test_transform_season_is_checked(season):
    assert_rejects(lambda: fcm.TargetTransforms("sdiff", season=season), ["season"])


def test_ensemble_refuses_a_member_without_a_forecaster_interface_naming_it():
    err = assert_rejects(lambda: fcm.Ensemble({"ok": fcm.Naive(), "bad": LinearRegression()}).fit(_clean()),
                         ["members"])
    assert "'bad'" in str(err)


def test_missing_xgboost_names_the_extra(monkeypatch):
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "xgboost" else real(name, *a))
    err = assert_rejects(lambda: make_model("xgboost"), ["name"])
    assert "toolkit[xgboost]" in str(err)
    make_model("lightgbm")  # a runtime dependency: always there
