"""The input contract of every public function of toolkit.features, as Hypothesis properties.

For generated valid panels with one defect injected (``tests.contract``), for things that are
not frames, and for bad parameters, every public function either raises
``DataValidationError`` naming the column or parameter at fault, or applies its documented
handling: NaN is a missing value (no error, every input row comes back, with the same
index), ``+-inf`` is refused, duplicated (keys, time) rows are refused where rows are laid
out per series. Dask input goes through the same checks and gives what pandas gives.
"""

from __future__ import annotations

from typing import Any, Callable

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.contract import assert_rejects, corrupt, corruptions, not_frames, panels
from toolkit import features as F
from toolkit.errors import DataValidationError

IDS = ["sku", "location"]
SPEC = F.FeatureSpec(lags=(1,), rolling={2: ("mean", "max")}, expanding=("mean",), ewm_alphas=(0.5,),
                     calendar=("dayofweek",), fourier=((7.0, 1),), exog=("promo",))
SETTINGS = settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])


class Case:
    """A public frame function called on a panel, the value column it reads, and how it lays rows out."""

    def __init__(self, name: str, call: Callable[[Any], Any], column: str, per_series: bool = True,
                 unique: bool = True, strict_empty: bool = True):
        self.name, self.call, self.column = name, call, column
        self.per_series = per_series  # keys and time define the layout: missing keys are refused
        self.unique = unique  # repeated (keys, time) rows are refused
        self.strict_empty = strict_empty  # an empty in-memory frame is refused

    def __repr__(self) -> str:
        return self.name


CASES = [
    Case("add_lags", lambda d: F.add_lags(d, [1, 2]), "units"),
    Case("add_rolling", lambda d: F.add_rolling(d, 2, ("mean", "std", "q0.5")), "units"),
    Case("add_expanding", lambda d: F.add_expanding(d, ("mean", "count")), "units"),
    Case("add_ewm", lambda d: F.add_ewm(d, alphas=[0.3], spans=[3]), "units"),
    Case("add_diff", lambda d: F.add_diff(d, 1), "units"),
    Case("add_pct_change", lambda d: F.add_pct_change(d, 1), "units"),
    Case("add_price_features", lambda d: F.add_price_features(d, window=3), "price"),
    Case("add_channel_share", lambda d: F.add_channel_share(d, window=3), "units"),
    Case("add_target_encoding", lambda d: F.add_target_encoding(d, "sku"), "units", unique=False),
    Case("add_adstock", lambda d: F.add_adstock(d, "price", decay=0.5, max_lag=2, id_cols=IDS), "price"),
    Case("add_saturation", lambda d: F.add_saturation(d, "price", half_sat=20.0, shape=2.0), "price",
         per_series=False, unique=False, strict_empty=False),
    Case("build_features", lambda d: F.build_features(d, SPEC), "units"),
    Case("build_features_last_n", lambda d: F.build_features(d, SPEC, last_n=2), "units"),
]
TIME_CASES = [  # functions of the time column only
    Case("add_calendar", lambda d: F.add_calendar(d, features=["dayofweek", "month", "is_weekend"]), "date",
         per_series=False, unique=False),
    Case("add_fourier", lambda d: F.add_fourier(d, period=7.0, order=2), "date", per_series=False, unique=False),
]
ALL_CASES = CASES + TIME_CASES


def _expected(case: Case, kind: str) -> list[str] | None:
    """Names the error must mention, or None when the documented handling is success."""
    if kind == "nan":
        return None
    if kind == "duplicate_row":
        return ["date"] if case.unique else None
    if kind == "missing_key":
        return ["sku"] if case.per_series else None
    if kind == "empty":
        return [case.column] if case.strict_empty else None
    return [case.column]  # drop_column, inf, text


def _rows_kept(case: Case, df: pd.DataFrame, out: pd.DataFrame) -> None:
    if case.name == "build_features_last_n":
        assert set(out.index) <= set(df.index)
        return
    assert out.index.equals(df.index), "rows in must be rows out, same index and order"
    pd.testing.assert_frame_equal(out[df.columns], df)


# ----------------------------------------------------------------------------- not frames


@pytest.mark.parametrize("case", ALL_CASES, ids=repr)
@SETTINGS
@given(bad=not_frames())
def test_not_a_frame_is_refused_naming_df(case, bad):
    err = assert_rejects(lambda: case.call(bad), ["df"])
    assert err.parameter == "df"


# ----------------------------------------------------------------------------- corrupted panels


@pytest.mark.parametrize("case", CASES, ids=repr)
@SETTINGS
@given(df=panels(length=(4, 9)), kind=corruptions(), row=st.integers(0, 200))
def test_corrupted_panel_is_refused_or_handled(case, df, kind, row):
    bad = corrupt(df, kind, case.column, row=row)
    names = _expected(case, kind)
    if names is not None:
        err = assert_rejects(lambda: case.call(bad), names)
        assert names[0] in (err.column, err.parameter) or names[0] in str(err)
        return
    out = case.call(bad)  # the documented handling: NaN is missing, no error
    _rows_kept(case, bad, out)


@pytest.mark.parametrize("case", TIME_CASES, ids=repr)
@SETTINGS
@given(df=panels(length=(1, 6)), kind=corruptions(["drop_column", "text", "empty", "duplicate_row", "missing_key"]),
       row=st.integers(0, 200))
def test_corrupted_time_column_is_refused_or_handled(case, df, kind, row):
    bad = corrupt(df, kind, "date", row=row)
    names = _expected(case, kind)
    if names is not None:
        assert_rejects(lambda: case.call(bad), names)
    else:
        _rows_kept(case, bad, case.call(bad))
    nat = df.copy()
    nat.loc[nat.index[row % len(nat)], "date"] = pd.NaT
    assert_rejects(lambda: case.call(nat), ["date"])


@SETTINGS
@given(df=panels(length=(4, 9)), row=st.integers(0, 200))
def test_a_nan_target_is_missing_as_in_pandas(df, row):
    """One NaN: rolling windows and lags agree with pandas' groupby, so it never poisons later rows."""
    df = df.copy()
    df.loc[df.index[row % len(df)], "units"] = np.nan
    out = F.add_rolling(F.add_lags(df, 1, id_cols=IDS), 3, ("mean", "max"), min_periods=1, id_cols=IDS)
    shifted = df.groupby(IDS)["units"].shift(1)
    roll = shifted.groupby([df["sku"], df["location"]]).rolling(3, min_periods=1)
    np.testing.assert_allclose(out["lag_1"], shifted, equal_nan=True)
    for stat in ("mean", "max"):
        ref = getattr(roll, stat)().reset_index(level=[0, 1], drop=True).reindex(df.index)
        # a running window sum carries rounding of the largest value that passed through it
        np.testing.assert_allclose(out[f"rolling_{stat}_3"], ref, rtol=1e-9, equal_nan=True,
                                   atol=1e-12 * np.nanmax(np.abs(df["units"]), initial=0.0))


@SETTINGS
@given(df=panels(length=(2, 6)), row=st.integers(0, 200))
def test_negative_spend_is_refused_by_saturation(df, row):
    df = df.copy()
    df.loc[df.index[row % len(df)], "price"] = -1.0
    assert_rejects(lambda: F.add_saturation(df, "price", half_sat=1.0), ["price"])


# ----------------------------------------------------------------------------- bad parameters


def _frame() -> pd.DataFrame:
    rng = np.random.default_rng(0)
    df = pd.DataFrame([(s, loc, d) for s in ("a", "b") for loc in ("web", "app")
                       for d in pd.date_range("2024-01-01", periods=8)], columns=[*IDS, "date"])
    return df.assign(units=rng.poisson(3.0, len(df)).astype(float), price=rng.uniform(5, 9, len(df)),
                     promo=(rng.random(len(df)) < 0.3).astype("int8"))


BAD_PARAMETERS = [
    # (call taking a frame, the parameter its error must name)
    *[(lambda d, v=v: F.add_lags(d, v), "lags") for v in (0, -1, 1.5, "a", [], [1, 0], True, {"k": 1})],
    *[(lambda d, v=v: F.add_rolling(d, v), "windows") for v in (0, [2, -3], "w", 2.5)],
    *[(lambda d, v=v: F.add_rolling(d, 2, v), "stats") for v in ("mode", ["mean", "zz"], "q1.5", 5, [])],
    *[(lambda d, v=v: F.add_rolling(d, 2, shift=v), "shift") for v in (0, -1, 1.5, "1")],
    *[(lambda d, v=v: F.add_rolling(d, [2, 5], min_periods=v), "min_periods") for v in (-1, 3, 0.5)],
    *[(lambda d, v=v: F.add_expanding(d, v), "stats") for v in ("median", "q0.5", ["zz"])],
    (lambda d: F.add_expanding(d, min_periods=-2), "min_periods"),
    *[(lambda d, v=v: F.add_ewm(d, alphas=v), "alphas") for v in (0.0, 1.5, -0.1, "a", [float("nan")], ())],
    (lambda d: F.add_ewm(d, spans=[0.5]), "spans"),
    *[(lambda d, v=v: F.add_diff(d, v), "periods") for v in (0, [1, -1], None)],
    (lambda d: F.add_pct_change(d, 1, shift=0), "shift"),
    (lambda d: F.add_calendar(d, features=["dow"]), "features"),
    (lambda d: F.add_calendar(d, features=["is_holiday"]), "country"),
    (lambda d: F.add_calendar(d, country="ZZ"), "country"),
    (lambda d: F.add_calendar(d, features=["is_holiday"], country="US", subdivisions="ZZ"), "subdivisions"),
    *[(lambda d, v=v: F.add_fourier(d, period=v), "period") for v in (0, -7, float("nan"), "week")],
    *[(lambda d, v=v: F.add_fourier(d, order=v), "order") for v in (0, 1.5)],
    (lambda d: F.add_price_features(d, window=0), "window"),
    (lambda d: F.add_price_features(d, promo_col="nope"), "nope"),
    (lambda d: F.add_price_features(d, category_col="nope"), "nope"),
    (lambda d: F.add_channel_share(d, sku_col="nope"), "sku_col"),
    (lambda d: F.add_channel_share(d, window=-1), "window"),
    *[(lambda d, v=v: F.add_target_encoding(d, v), "key") for v in ([], 5, None)],
    (lambda d: F.add_target_encoding(d, "sku", min_count=-1), "min_count"),
    (lambda d: F.add_target_encoding(d, "sku", name=3), "name"),
    *[(lambda d, v=v: F.add_adstock(d, "price", decay=v, max_lag=1, id_cols=IDS), "decay")
      for v in (1.0, -0.1, {"other": 0.5}, "x")],
    *[(lambda d, v=v: F.add_adstock(d, "price", decay=0.5, max_lag=v, id_cols=IDS), "max_lag") for v in (-1, 1.5)],
    (lambda d: F.add_adstock(d, [], decay=0.5, max_lag=1), "cols"),
    *[(lambda d, v=v: F.add_saturation(d, "price", half_sat=v), "half_sat") for v in (0, -1, "k")],
    (lambda d: F.add_saturation(d, "price", half_sat=1.0, shape=0), "shape"),
    (lambda d: F.add_lags(d, 1, id_cols=5), "id_cols"),
    (lambda d: F.add_lags(d, 1, target_col="nope"), "nope"),
    (lambda d: F.add_lags(d, 1, time_col="units"), "units"),  # not a datetime column
    *[(lambda d, v=v: F.build_features(d, SPEC, last_n=v), "last_n") for v in (0, 1.5, "1")],
    (lambda d: F.build_features(d, SPEC, engine="cuda"), "engine"),
    (lambda d: F.build_features(d.drop(columns="promo"), SPEC), "promo"),
]


@pytest.mark.parametrize("call,name", BAD_PARAMETERS, ids=[f"{n}-{i}" for i, (_, n) in enumerate(BAD_PARAMETERS)])
def test_bad_parameter_is_named(call, name):
    assert_rejects(lambda: call(_frame()), [name])


SPEC_FIELDS = [
    ({"lags": (0,)}, "lags"), ({"lags": "a"}, "lags"), ({"rolling": {0: ("mean",)}}, "rolling"),
    ({"rolling": {7: ("mode",)}}, "rolling"), ({"rolling": "x"}, "rolling"), ({"min_periods": 99}, "min_periods"),
    ({"rolling_shift": 0}, "rolling_shift"), ({"expanding": ("median",)}, "expanding"),
    ({"ewm_alphas": (2.0,)}, "ewm_alphas"), ({"calendar": ("zz",)}, "calendar"),
    ({"calendar": ("is_holiday",)}, "country"), ({"calendar": ("is_holiday",), "country": "ZZ"}, "country"),
    ({"fourier": ((0, 1),)}, "period"), ({"fourier": ((7, 0),)}, "order"), ({"fourier": (7, 1)}, "fourier"),
    ({"exog": 5}, "exog"), ({"exog": ("lag_1",)}, "exog"), ({"id_cols": 5}, "id_cols"),
    ({"target_col": 5}, "target_col"), ({"time_col": None}, "time_col"), ({"exog": ("units",)}, "exog"),
]


@pytest.mark.parametrize("fields,name", SPEC_FIELDS, ids=[n for _, n in SPEC_FIELDS])
def test_bad_feature_spec_field_is_named(fields, name):
    assert_rejects(lambda: F.FeatureSpec(**fields), [name])


def test_spec_that_is_not_a_feature_spec_is_a_type_error_naming_it():
    with pytest.raises(TypeError, match="parameter 'spec': expected a FeatureSpec, got a dict"):
        F.build_features(_frame(), {"lags": (1,)})


# ----------------------------------------------------------------------------- kernels


def _kernel_calls():
    x = np.arange(6.0)
    starts = np.array([0, 0, 0, 3, 3, 3])
    return [
        (lambda: F.lag_kernel([1.0, 2.0], np.array([0, 0]), 1), "x"),
        (lambda: F.rolling_kernel(np.ones((3, 2)), np.array([0, 3]), 2), "x"),
        (lambda: F.rolling_kernel(x.astype(str), starts, 2), "x"),
        (lambda: F.lag_kernel(x, starts[:4], 1), "starts"),
        (lambda: F.lag_kernel(x, starts.astype(float), 1), "starts"),
        (lambda: F.lag_kernel(x, np.array([0, 7]), 1), "starts"),
        (lambda: F.lag_kernel(x, np.array([0, 4, 2, 6]), 1), "starts"),
        (lambda: F.lag_kernel(x, starts, -1), "k"),
        (lambda: F.rolling_kernel(x, starts, 0), "window"),
        (lambda: F.rolling_kernel(x, starts, 2, ("zz",)), "stats"),
        (lambda: F.rolling_kernel(x, starts, 2, shift=-1), "shift"),
        (lambda: F.rolling_kernel(x, starts, 2, min_periods=3), "min_periods"),
        (lambda: F.rolling_kernel(x, starts, 2, engine="cuda"), "engine"),
        (lambda: F.expanding_kernel(x, starts, ("median",)), "stats"),
        (lambda: F.ewm_kernel(x, starts, 0.0), "alpha"),
        (lambda: F.ewm_kernel(x, starts, 0.5, shift=1.5), "shift"),
    ]


@pytest.mark.parametrize("index", range(len(_kernel_calls())))
def test_kernel_parameters_are_checked(index):
    call, name = _kernel_calls()[index]
    assert_rejects(call, [name])


@SETTINGS
@given(values=st.lists(st.one_of(st.floats(-1e6, 1e6), st.just(np.nan), st.just(np.inf), st.just(-np.inf)),
                       min_size=1, max_size=40),
       window=st.integers(1, 6), cut=st.integers(0, 40))
def test_kernels_match_pandas_on_any_float_input(values, window, cut):
    """Whatever the floats (NaN, +-inf included), the kernels give what pandas' window functions give."""
    x = np.asarray(values, dtype="float64")
    cut = min(cut, len(x))
    bounds = np.array(sorted({0, cut, len(x)}))
    groups = np.repeat(np.arange(len(bounds) - 1), np.diff(bounds))
    s = pd.Series(x)
    shifted = s.groupby(groups).shift(1)
    for engine in ("numba", "array"):
        res = F.rolling_kernel(x, bounds, window, ("mean", "max"), shift=1, min_periods=1, engine=engine)
        roll = shifted.groupby(groups).rolling(window, min_periods=1)
        for stat in ("mean", "max"):
            ref = getattr(roll, stat)().reset_index(level=0, drop=True).to_numpy()
            np.testing.assert_allclose(res[stat], ref, rtol=1e-7, atol=1e-6, equal_nan=True)


# ----------------------------------------------------------------------------- Dask


def _dask(df: pd.DataFrame):
    dd = pytest.importorskip("dask.dataframe")
    return dd.from_pandas(df, npartitions=2, sort=False)


@pytest.mark.parametrize("case", ALL_CASES, ids=repr)
@settings(max_examples=4, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(df=panels(n_series=(2, 4), length=(4, 8)))
def test_dask_gives_what_pandas_gives(case, df):
    lazy = case.call(_dask(df))
    assert type(lazy).__module__.split(".")[0] in ("dask", "dask_expr")
    got, expected = lazy.compute().sort_index(), case.call(df).sort_index()
    added = [c for c in expected.columns if c not in df.columns]
    pd.testing.assert_frame_equal(got[added], expected[added], check_exact=False, rtol=1e-12)
    # input columns come back as they went in (Dask may store text keys as pyarrow strings)
    pd.testing.assert_frame_equal(got[df.columns], expected[df.columns], check_dtype=False)


@pytest.mark.parametrize("case", CASES, ids=repr)
@settings(max_examples=3, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(df=panels(n_series=(2, 3), length=(4, 6)), kind=corruptions(["drop_column", "text", "inf"]))
def test_dask_input_is_checked(case, df, kind):
    """Columns and dtypes at the call (no compute); infinite values when the partitions run."""
    bad = _dask(corrupt(df, kind, case.column, row=1))
    if kind == "inf":
        assert_rejects(lambda: case.call(bad).compute(), [case.column])
    else:
        assert_rejects(lambda: case.call(bad), [case.column])


def test_a_dask_array_is_not_a_frame():
    with pytest.raises(DataValidationError, match="parameter 'df'"):
        F.add_lags(_dask(_frame()).to_dask_array(), 1)


def test_empty_window_lists_and_holidays_without_a_country_are_refused_showing_what_was_given():
    df = pd.DataFrame({"sku": "a", "location": "x", "date": pd.date_range("2024-01-01", periods=5), "units": 1.0})
    with pytest.raises(DataValidationError) as err:
        F.add_lags(df, lags=[])
    assert str(err.value) == "parameter 'lags': give at least one positive whole number, got []"
    for country in (None, ""):
        with pytest.raises(DataValidationError) as err:
            F.add_calendar(df, features=["is_holiday"], country=country)
        assert str(err.value) == ("parameter 'country': holiday features need a country (e.g. country='US'), "
                                  f"got {country!r}")
