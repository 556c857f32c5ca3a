"""The input contract of toolkit.anomaly, property-based (Hypothesis): bad frames and parameters are refused
naming the column or parameter, estimators raise NotFittedError before fit, documented handling otherwise
(NaN = missing, rows in = rows out), and results agree with independent references (PyOD, numpy, pandas,
plain loops written here)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, assume, event, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from pyod.models.base import BaseDetector
from pyod.models.copod import COPOD as PyODCOPOD
from pyod.models.ecod import ECOD as PyODECOD
from sklearn.exceptions import NotFittedError

from tests.contract import assert_rejects, corrupt, corruptions, not_frames, panels
from toolkit.anomaly import (
    COPOD,
    DETECTORS,
    ECOD,
    IQR,
    DetectorInfo,
    RobustZ,
    alarms,
    apply_threshold,
    carrier_delays,
    click_fraud,
    detect,
    evaluate,
    explain,
    inventory_shrink,
    make_detector,
    order_line_anomalies,
    price_changes,
    register,
    residual_anomalies,
    segment_threshold,
)
from toolkit.anomaly.domain import group_robust_z
from toolkit.anomaly.registry import METHODS, unregister
from toolkit.anomaly.scoring import FeatureScoresMixin

pytestmark = pytest.mark.filterwarnings("ignore::RuntimeWarning")

SETTINGS = settings(max_examples=20, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                           HealthCheck.filter_too_much])
FEW = settings(SETTINGS, max_examples=10)
KEYS = ["sku", "location"]
CUT = {"robust_z": 3.5, "iqr": 1.5, "hampel": 3.0}


# ----------------------------------------------------------------------------- independent references
def _robust_z_ref(x: np.ndarray) -> np.ndarray:
    """Robust z written plainly: MAD * 1.4826, else mean |dev| * 1.2533, else 0; NaN stays NaN."""
    x = np.asarray(x, dtype=float)
    if np.all(np.isnan(x)):
        return x
    med = np.nanmedian(x)
    dev = x - med
    scale = np.nanmedian(np.abs(dev)) * 1.4826
    if not scale > 0:
        scale = np.nanmean(np.abs(dev)) * 1.2533
    if not scale > 0:
        return np.where(np.isnan(dev), np.nan, 0.0)
    return dev / scale


def _iqr_ref(x: np.ndarray) -> np.ndarray:
    q1, q3 = np.nanpercentile(x, [25, 75])
    out = np.maximum(np.maximum(q1 - x, x - q3), 0.0)
    if q3 > q1:
        return out / (q3 - q1)
    return np.where(out > 0, np.inf, out)


def _incidents_ref(flags: pd.DataFrame, keys: list[str], window: float, min_hits: int, suppress: float) -> list:
    """Incidents by a plain loop over each series' flagged rows in time order."""
    hits = flags[flags["is_anomaly"]].sort_values([*keys, "date"], kind="stable")
    out = []
    for key, g in hits.groupby(keys, sort=True) if keys else [((), hits)]:
        rows = list(zip(g["date"], g["anomaly_score"]))
        clusters, current = [], [rows[0]] if rows else []
        for prev, row in zip(rows, rows[1:]):
            if (row[0] - prev[0]).total_seconds() / 86400 > window:
                clusters.append(current)
                current = []
            current.append(row)
        if current:
            clusters.append(current)
        raised = [c for c in clusters if len(c) >= min_hits]
        merged = []
        for c in raised:
            if merged and (c[0][0] - merged[-1][-1][0]).total_seconds() / 86400 <= suppress:
                merged[-1] = merged[-1] + c
            else:
                merged.append(list(c))
        for c in merged:
            best = max(range(len(c)), key=lambda i: (c[i][1], -i))
            key_tuple = key if isinstance(key, tuple) else (key,)
            out.append((*key_tuple, c[0][0], c[-1][0], len(c), c[best][1], c[best][0]))
    return out


def _pyod_ref(name: str):
    return {"ecod": PyODECOD, "copod": PyODCOPOD}[name]


# ----------------------------------------------------------------------------- non-frame input
_ACTUAL = pd.DataFrame({"sku": "a", "location": "web", "date": pd.date_range("2024-01-01", periods=4),
                        "units": [1.0, 2.0, 3.0, 9.0]})
_FORECAST = _ACTUAL[KEYS + ["date"]].assign(**{"q0.05": 0.0, "q0.95": 5.0})
FRAME_FUNCTIONS = {
    "detect": (lambda x: detect(x, "units"), ["df"]),
    "alarms": (lambda x: alarms(x), ["flags"]),
    "residual_actual": (lambda x: residual_anomalies(x, _FORECAST), ["actual_df"]),
    "residual_forecast": (lambda x: residual_anomalies(_ACTUAL, x), ["forecast_df"]),
    "order_line_anomalies": (lambda x: order_line_anomalies(x), ["orders"]),
    "inventory_shrink": (lambda x: inventory_shrink(x), ["inventory"]),
    "carrier_delays": (lambda x: carrier_delays(x), ["shipments"]),
    "click_fraud": (lambda x: click_fraud(x), ["marketing"]),
    "price_changes": (lambda x: price_changes(x), ["sales"]),
    "group_robust_z": (lambda x: group_robust_z(x, "units", "sku"), ["df"]),
}


@SETTINGS
@given(bad=not_frames(), name=st.sampled_from(sorted(FRAME_FUNCTIONS)))
def test_functions_taking_frames_refuse_anything_else(bad, name):
    call, params = FRAME_FUNCTIONS[name]
    err = assert_rejects(lambda: call(bad), params)
    assert "DataFrame" in str(err)


_NOT_ARRAYS = st.one_of(st.none(), st.integers(), st.text(max_size=5),
                        st.dictionaries(st.sampled_from(["a", "b"]), st.integers(), max_size=2))


@SETTINGS
@given(bad=_NOT_ARRAYS)
def test_functions_taking_arrays_refuse_non_arrays(bad):
    fitted = ECOD().fit(np.random.default_rng(0).normal(size=(20, 2)))
    assert_rejects(lambda: evaluate(bad, np.zeros(3)), ["truth"])
    assert_rejects(lambda: evaluate(np.zeros(3, dtype=int), bad), ["scores_or_flags"])
    assert_rejects(lambda: explain(fitted, bad), ["X"])
    assert_rejects(lambda: apply_threshold(bad, np.array([0, 1])), ["scores"])
    for cls in (ECOD, COPOD, RobustZ, IQR):
        assert_rejects(lambda cls=cls: cls().fit(bad), ["X"])


# ----------------------------------------------------------------------------- detect
def _expected_rejection(df: pd.DataFrame, cols: list[str], method: str) -> str | None:
    """The column detect must name for data-dependent refusals (constant/all-NaN column, small group)."""
    for c in cols:
        if df[c].dropna().nunique() <= 1:
            return c
    usable = df[cols].notna().all(axis=1)
    if method == "hampel":
        sizes = df.groupby(KEYS).size()
    else:
        sizes = usable.groupby([df[k] for k in KEYS]).sum()
        sizes = sizes[sizes > 0]
    return cols[0] if bool((sizes < 3).any()) else None


def _check_detect_output(df: pd.DataFrame, out: pd.DataFrame, cols: list[str], method: str) -> None:
    assert len(out) == len(df) and out.index.equals(df.index)  # rows in = rows out, order kept
    pd.testing.assert_frame_equal(out[df.columns], df)
    assert out["is_anomaly"].dtype == bool
    unscored = out["anomaly_score"].isna()
    assert not out.loc[unscored, "is_anomaly"].any() and out.loc[unscored, "anomaly_rank"].isna().all()
    if method != "hampel":  # NaN in a feature: not fitted, not scored
        assert unscored.equals(df[cols].isna().any(axis=1))
    for _, g in out.groupby(KEYS, sort=False):
        g = g.sort_values("date", kind="stable")
        scored = g[g["anomaly_score"].notna()]
        if not len(scored):
            continue
        ranks = scored["anomaly_score"].rank(ascending=False, method="first")
        np.testing.assert_array_equal(scored["anomaly_rank"], ranks)
        X = scored[cols].to_numpy()
        if method in ("ecod", "copod"):
            ref = _pyod_ref(method)().fit(X).decision_scores_
            np.testing.assert_allclose(scored["anomaly_score"], ref, rtol=1e-9, atol=1e-12)
            s = scored["anomaly_score"].to_numpy()
            med = np.median(s)
            cut = med + 3.0 * 1.4826 * np.median(np.abs(s - med))
            clear = np.abs(s - cut) > 1e-9 * max(1.0, abs(cut))
            np.testing.assert_array_equal(scored["is_anomaly"].to_numpy()[clear], (s > cut)[clear])
        elif method in ("robust_z", "iqr"):
            per_col = [np.abs(_robust_z_ref(X[:, j])) if method == "robust_z" else _iqr_ref(X[:, j])
                       for j in range(X.shape[1])]
            np.testing.assert_allclose(scored["anomaly_score"], np.max(per_col, axis=0), rtol=1e-9, atol=1e-12)
    rule = CUT.get(method)
    if rule is not None:
        np.testing.assert_array_equal(out["is_anomaly"], out["anomaly_score"].fillna(-np.inf) > rule)


@settings(SETTINGS, max_examples=30)
@given(df=panels(), kind=st.one_of(st.none(), corruptions()), row=st.integers(0, 500),
       method=st.sampled_from(["ecod", "copod", "robust_z", "iqr", "hampel"]))
def test_detect_on_corrupted_panels(df, kind, row, method):
    cols = ["units", "price"]
    bad = df if kind is None else corrupt(df, kind, "units", row)
    event(f"corruption {kind}")

    def call():
        return detect(bad, cols, method=method, id_cols=KEYS, progress=False)

    refused = {"drop_column": ["units"], "inf": ["units"], "text": ["units"], "missing_key": ["sku"],
               "empty": ["frame is empty"]}
    if kind in refused:
        err = assert_rejects(call, refused[kind])
        if kind in ("inf", "missing_key"):  # the offending row's keys are shown
            assert str(bad.iloc[row % len(bad)]["location"]) in str(err)
        return
    if kind == "duplicate_row" and method == "hampel":  # a series needs one row per time
        assert_rejects(call, ["date"])
        return
    column = _expected_rejection(bad, cols, method)
    if column is not None:
        event("refused: constant column or small group")
        assert_rejects(call, [column])
        return
    event("scored")
    _check_detect_output(bad, call(), cols, method)


def test_detect_refuses_inf_as_ecod_fit_does():
    """The bug: detect used to score an inf row (NaN score, unflagged) while ECOD.fit refuses it."""
    rng = np.random.default_rng(0)
    df = pd.DataFrame({"sku": np.repeat(["a", "b"], 30), "date": np.tile(pd.date_range("2024-01-01", periods=30), 2),
                       "units": rng.normal(10, 1, 60)})
    df.loc[33, "units"] = np.inf
    with pytest.raises(ValueError, match="infinity"):
        PyODECOD().fit(df[["units"]].to_numpy())  # the reference refuses it too
    assert_rejects(lambda: ECOD().fit(df[["units"]]), ["units"])
    for method in ("ecod", "robust_z", "iforest", "hampel", ["ecod", "iqr"]):
        err = assert_rejects(lambda m=method: detect(df, "units", method=m, id_cols="sku", progress=False),
                             ["units"])
        assert "infinite" in str(err) and "'b'" in str(err) and "2024-01-04" in str(err)


def test_detect_refuses_missing_keys_instead_of_scoring_them_as_a_group():
    """The bug: rows with a NaN key formed a group of their own."""
    df = pd.DataFrame({"sku": ["a"] * 6 + [None] * 4, "units": [1.0, 2, 3, 4, 5, 40, 1, 2, 3, 4]})
    assert df.groupby("sku", dropna=False).ngroups == 2  # pandas would make the NaN key a group
    for method, params in (("robust_z", {}), ("ecod", {}), ("knn", {"n_neighbors": 2})):
        err = assert_rejects(lambda m=method, p=params: detect(df, "units", method=m, id_cols="sku", **p), ["sku"])
        assert "4 offending rows" in str(err)


@pytest.mark.parametrize("method", ["ecod", "hampel"])
def test_detect_dask_refuses_inf_and_missing_keys_when_computed(method):
    dd = pytest.importorskip("dask.dataframe")
    rng = np.random.default_rng(1)
    df = pd.DataFrame({"sku": np.repeat(["a", "b"], 10), "location": "web",
                       "date": np.tile(pd.date_range("2024-01-01", periods=10), 2), "units": rng.normal(5, 1, 20)})
    inf = df.assign(units=df["units"].where(df.index != 12, np.inf))
    lazy = detect(dd.from_pandas(inf, npartitions=2), "units", method=method, id_cols=KEYS)
    assert_rejects(lazy.compute, ["units"])
    nokey = df.assign(sku=df["sku"].where(df.index != 3, None))
    lazy = detect(dd.from_pandas(nokey, npartitions=2), "units", method=method, id_cols=KEYS)
    assert_rejects(lazy.compute, ["sku"])


# ----------------------------------------------------------------------------- names and parameters
_PANEL = pd.DataFrame({"sku": "a", "location": "web", "date": pd.date_range("2024-01-01", periods=30),
                       "units": np.arange(30.0) % 7})
_WORD = st.text(alphabet="abcdefghijklmnopqrstuvwxyz_", min_size=1, max_size=10)
_OWN_ARGS = {"df", "cols", "method", "contamination", "id_cols", "threshold", "k", "budget", "budget_by", "combine",
             "time_col", "sample", "random_state", "progress", "name"}


@SETTINGS
@given(name=_WORD.filter(lambda s: s not in METHODS and s not in ("contamination", "mad", "rule", "budget",
                                                                 "mean", "max", "linear", "unify")))
def test_unknown_names_list_the_choices(name):
    for call, param, choice in (
            (lambda: detect(_PANEL, "units", method=name), "method", "ecod"),
            (lambda: detect(_PANEL, "units", method=["ecod", name]), "method", "seasonal_esd"),
            (lambda: detect(_PANEL, "units", threshold=name), "threshold", "budget"),
            (lambda: detect(_PANEL, "units", method=["ecod", "iqr"], combine=name), "combine", "mean"),
            (lambda: make_detector(name), "name", "iforest"),
            (lambda: apply_threshold(np.ones(3), np.array([0, 3]), name), "how", "mad"),
            (lambda: ECOD().fit(np.arange(10.0)).predict_proba(np.ones(2), method=name), "method", "unify")):
        err = assert_rejects(call, [param])
        assert "choose from" in str(err) and choice in str(err)


@SETTINGS
@given(name=_WORD.filter(lambda s: s not in _OWN_ARGS), value=st.integers(1, 5))
def test_parameters_no_method_takes_are_refused(name, value):
    accepted = {"ecod": set(), "hampel": {"half_window"}, "knn": set(make_detector("knn").model.parameter_names())}
    for method, takes in accepted.items():
        if name in takes:
            continue
        err = assert_rejects(lambda m=method: detect(_PANEL, "units", method=m, id_cols="sku", **{name: value}),
                             [name])
        assert method in str(err)
    if name not in accepted["knn"]:
        assert_rejects(lambda: make_detector("knn", **{name: value}), [name])


_NOT_CONTAMINATION = st.one_of(st.floats().filter(lambda x: not 0 < x <= 0.5), st.text(max_size=3), st.booleans())


@SETTINGS
@given(contamination=_NOT_CONTAMINATION,
       budget=st.one_of(st.integers(max_value=0), st.floats(0.1, 5).filter(lambda x: x != int(x)), st.text(max_size=2)),
       k=st.one_of(st.floats(max_value=-1e-9), st.just(float("nan")), st.just(float("inf")), st.text(max_size=2)))
def test_bad_contamination_budget_and_k_are_refused(contamination, budget, k):
    assert_rejects(lambda: detect(_PANEL, "units", contamination=contamination), ["contamination"])
    assert_rejects(lambda: make_detector("ecod", contamination=contamination), ["contamination"])
    assert_rejects(lambda: ECOD(contamination=contamination).fit(np.arange(9.0)), ["contamination"])
    assert_rejects(lambda: detect(_PANEL, "units", threshold="budget", budget=budget), ["budget"])
    assert_rejects(lambda: apply_threshold(np.ones(3), np.array([0, 3]), "budget", budget=budget), ["budget"])
    assert_rejects(lambda: detect(_PANEL, "units", threshold="mad", k=k), ["k"])
    assert_rejects(lambda: segment_threshold(np.ones(3), np.array([0, 3]), "mad", k=k), ["k"])
    assert_rejects(lambda: detect(_PANEL, "units", threshold="contamination"), ["contamination"])
    assert_rejects(lambda: detect(_PANEL, "units", method="ecod", threshold="rule"), ["threshold"])


# ----------------------------------------------------------------------------- thresholds
@st.composite
def _segments(draw, allow_inf=False):
    sizes = draw(st.lists(st.integers(1, 12), min_size=1, max_size=5))
    n = sum(sizes)
    values = st.one_of(st.integers(-40, 40).map(lambda v: v / 4), st.just(float("nan")),
                       *([st.just(float("inf"))] if allow_inf else []))
    scores = np.asarray(draw(st.lists(values, min_size=n, max_size=n)), dtype=float)
    return scores, np.concatenate([[0], np.cumsum(sizes)])


@SETTINGS
@given(seg=_segments(), c=st.sampled_from([0.05, 0.1, 0.25, 0.5]), k=st.sampled_from([0.0, 1.0, 3.0]),
       budget=st.integers(1, 4), cut=st.integers(-5, 5).map(float))
def test_apply_threshold_matches_numpy_per_segment(seg, c, k, budget, cut):
    scores, starts = seg
    got = {how: apply_threshold(scores, starts, how, contamination=c, k=k, budget=budget, cut=cut)
           for how in ("contamination", "mad", "budget", "rule")}
    thresholds = segment_threshold(scores, starts, "mad", k=k)
    for g, (lo, hi) in enumerate(zip(starts[:-1], starts[1:])):
        s = scores[lo:hi]
        ok = ~np.isnan(s)
        if not ok.any():
            assert np.isnan(thresholds[g]) and not any(got[h][lo:hi].any() for h in got)
            continue
        med = np.median(s[ok])
        want = {"contamination": ok & (s > np.percentile(s[ok], 100 * (1 - c))),
                "mad": ok & (s > med + k * 1.4826 * np.median(np.abs(s[ok] - med))),
                "rule": ok & (s > cut),
                "budget": ok & (pd.Series(s).rank(ascending=False, method="first").to_numpy() <= budget)}
        for how, flags in want.items():
            np.testing.assert_array_equal(got[how][lo:hi], flags, err_msg=how)


@SETTINGS
@given(seg=_segments(allow_inf=True), how=st.sampled_from(["contamination", "mad", "budget", "rule"]))
def test_thresholds_flag_inf_and_never_nan(seg, how):
    scores, starts = seg
    flags = apply_threshold(scores, starts, how, contamination=0.1, budget=1, cut=0.0)
    assert not flags[np.isnan(scores)].any()
    if how != "budget":
        assert flags[np.isposinf(scores)].all()
    assert_rejects(lambda: apply_threshold(scores, starts[:-1], how, contamination=0.1, budget=1, cut=0.0),
                   ["starts"])
    assert_rejects(lambda: apply_threshold(np.stack([scores, scores]), starts, how, contamination=0.1, budget=1,
                                           cut=0.0), ["scores"])


# ----------------------------------------------------------------------------- detectors
_X = hnp.arrays(np.float64, st.tuples(st.integers(25, 45), st.integers(1, 4)),
                elements=st.integers(-200, 200).map(lambda v: v / 8))


@FEW
@given(X=_X, c=st.sampled_from([0.05, 0.1, 0.3]),
       name=st.sampled_from(["ecod", "copod", "robust_z", "iqr", "knn", "iforest"]))
def test_make_detector_keeps_pyods_contract(X, c, name):
    det = make_detector(name, contamination=c)
    for method in ("decision_function", "predict", "predict_proba", "predict_confidence"):
        with pytest.raises(NotFittedError):
            getattr(det, method)(X)
    det.fit(X)
    scores = np.asarray(det.decision_scores_)
    if np.isfinite(scores).all():  # numpy's percentile interpolates inf to NaN, PyOD's threshold with it
        assert det.threshold_ == pytest.approx(np.percentile(scores, 100 * (1 - c)))
    np.testing.assert_array_equal(det.labels_, (scores > det.threshold_).astype(int))
    np.testing.assert_array_equal(det.predict(X[:7]), (det.decision_function(X[:7]) > det.threshold_).astype(int))
    from sklearn.preprocessing import MinMaxScaler  # PyOD's "linear" probability

    proba = det.predict_proba(X[:7])
    want = MinMaxScaler().fit(scores.reshape(-1, 1)).transform(det.decision_function(X[:7]).reshape(-1, 1))
    np.testing.assert_allclose(proba[:, 1], np.clip(want.ravel(), 0, 1), atol=1e-12)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)
    if name in ("ecod", "copod"):
        ref = _pyod_ref(name)(contamination=c).fit(X)
        np.testing.assert_allclose(scores, ref.decision_scores_, rtol=1e-10, atol=1e-12)
        np.testing.assert_allclose(det.decision_function(X[:5]), ref.decision_function(X[:5]), rtol=1e-10)
    bad = X.copy()
    bad[3, -1] = np.inf
    assert_rejects(lambda: make_detector(name).fit(bad), [str(X.shape[1] - 1)])
    assert_rejects(lambda: det.decision_function(bad), ["inf values"])
    assert_rejects(lambda: det.decision_function(np.ones((2, X.shape[1] + 1))), ["X"])


@pytest.mark.parametrize("cls", [ECOD, COPOD, RobustZ, IQR])
@pytest.mark.parametrize("method", ["decision_function", "predict", "predict_proba", "feature_scores",
                                    "predict_confidence"])
def test_native_detectors_raise_not_fitted_before_fit(cls, method):
    with pytest.raises(NotFittedError):
        getattr(cls(), method)(np.ones((4, 2)))


@FEW
@given(X=_X, cls=st.sampled_from([ECOD, COPOD, RobustZ, IQR]), seed=st.integers(0, 10))
def test_detectors_match_frame_columns_by_name(X, cls, seed):
    names = [f"f{j}" for j in range(X.shape[1])]
    frame = pd.DataFrame(X, columns=names)
    det = cls().fit(frame)
    assert list(det.feature_names_in_) == names
    shuffled = frame[list(np.random.default_rng(seed).permutation(names))]
    np.testing.assert_allclose(det.decision_function(shuffled), det.decision_function(X))
    renamed = frame.rename(columns={names[0]: "other"})
    assert_rejects(lambda: det.decision_function(renamed), [names[0]])
    nan = frame.copy()
    nan.iloc[2, 0] = np.nan
    assert_rejects(lambda: cls().fit(nan), [names[0]])


# ----------------------------------------------------------------------------- the registry
class MadZ(FeatureScoresMixin, BaseDetector):
    """The ARCHITECTURE.md example: |x - median| / MAD, max over features."""

    feature_kind = "mad_z"
    feature_combine = "max"
    _min_fit_rows = 3

    def __init__(self, contamination=0.1):
        self.contamination = contamination

    def _fit(self, X):
        self.median_ = np.median(X, axis=0)
        self.mad_ = np.median(np.abs(X - self.median_), axis=0)
        self.decision_scores_ = self._scores(X)

    def _feature_scores(self, X):
        return np.abs(X - self.median_) / np.where(self.mad_ > 0, self.mad_, np.inf)


def mad_z_scores(values, bounds):
    out = np.empty(values.shape[0])
    for lo, hi in zip(bounds[:-1], bounds[1:]):
        out[lo:hi] = MadZ().fit(values[lo:hi]).decision_scores_
    return out


@FEW
@given(df=panels(n_series=(1, 3), length=(4, 10)))
def test_one_registry_entry_adds_a_detector(df):
    assume(df["units"].nunique() > 1)
    register(DetectorInfo("mad_z", MadZ, kind="tabular", min_rows=3, rule_cut=3.5, scorer=mad_z_scores))
    try:
        assert "mad_z" in METHODS and "mad_z" in DETECTORS
        assert isinstance(make_detector("mad_z", contamination=0.2), MadZ)
        out = detect(df, "units", method="mad_z", id_cols=KEYS)  # threshold: the rule's own cut
        med = df.groupby(KEYS)["units"].transform("median")
        mad = (df["units"] - med).abs().groupby([df[k] for k in KEYS]).transform("median")
        want = ((df["units"] - med).abs() / mad.where(mad > 0, np.inf))
        np.testing.assert_allclose(out["anomaly_score"], want)
        np.testing.assert_array_equal(out["is_anomaly"], want > 3.5)
        assert_rejects(lambda: register(DetectorInfo("mad_z", MadZ, scorer=mad_z_scores)), ["name"])
    finally:
        unregister("mad_z")
    assert "mad_z" not in METHODS


def test_bad_registry_entries_are_refused():
    assert_rejects(lambda: DetectorInfo("x", ECOD, kind="graph", scorer=len), ["kind"])
    assert_rejects(lambda: DetectorInfo("x", None, kind="pyod"), ["factory"])
    assert_rejects(lambda: DetectorInfo("x", ECOD, kind="tabular"), ["scorer"])
    assert_rejects(lambda: DetectorInfo("X", ECOD, scorer=len), ["name"])
    assert_rejects(lambda: register("ecod"), ["info"])
    assert_rejects(lambda: unregister("nope"), ["name"])


# ----------------------------------------------------------------------------- alarms and explain
@st.composite
def _flags(draw):
    df = draw(panels(n_series=(1, 3), length=(3, 15)))
    flagged = draw(st.lists(st.booleans(), min_size=len(df), max_size=len(df)))
    gaps = draw(st.lists(st.integers(0, 3), min_size=len(df), max_size=len(df)))
    df["date"] = df["date"] + pd.to_timedelta(np.cumsum(gaps), unit="D")  # irregular days
    return df.assign(anomaly_score=df["units"], is_anomaly=np.asarray(flagged, dtype=bool))


@SETTINGS
@given(flags=_flags(), window=st.integers(0, 4), min_hits=st.integers(1, 3), suppress=st.integers(0, 5),
       shuffle=st.integers(0, 3))
def test_alarms_match_a_plain_loop(flags, window, min_hits, suppress, shuffle):
    shuffled = flags.sample(frac=1.0, random_state=shuffle)
    inc = alarms(shuffled, min_hits=min_hits, window=window, suppress=suppress, id_cols=KEYS)
    want = _incidents_ref(flags, KEYS, window, min_hits, suppress)
    got = list(inc[[*KEYS, "first_seen", "last_seen", "n_hits", "peak_score", "peak_at"]].itertuples(index=False,
                                                                                                        name=None))
    assert got == want
    days = (inc["last_seen"] - inc["first_seen"]).dt.days + 1
    np.testing.assert_array_equal(inc["duration_days"], days)


@SETTINGS
@given(flags=_flags(), kind=st.sampled_from(["drop_column", "text", "missing_key"]), row=st.integers(0, 100),
       column=st.sampled_from(["anomaly_score", "is_anomaly", "date"]))
def test_alarms_on_corrupted_flags(flags, kind, row, column):
    bad = corrupt(flags, kind, column, row)
    call = lambda: alarms(bad, id_cols=KEYS)  # noqa: E731
    if kind == "missing_key":
        if bool(bad["is_anomaly"].iloc[row % len(bad)]):  # a flag without a series is refused
            assert_rejects(call, ["sku"])
        else:  # keys of rows that are not flagged do not matter
            assert len(call()) == len(alarms(flags.drop(index=flags.index[row % len(flags)]), id_cols=KEYS))
        return
    assert_rejects(call, [column])
    assert_rejects(lambda: alarms(flags, min_hits=0), ["min_hits"])
    assert_rejects(lambda: alarms(flags, window=-1), ["window"])
    assert_rejects(lambda: alarms(flags, suppress=float("nan")), ["suppress"])


@FEW
@given(X=_X, data=st.data(), top=st.integers(1, 5), kind=st.sampled_from(["ecod", "copod"]))
def test_explain_reports_pyods_per_feature_scores(X, data, top, kind):
    rows = data.draw(st.lists(st.integers(0, X.shape[0] - 1), max_size=4))
    frame = pd.DataFrame(X, columns=[f"f{j}" for j in range(X.shape[1])])
    det = make_detector(kind).fit(X)
    out = explain(det, frame, rows=rows, top=top)
    t = min(top, X.shape[1])
    assert len(out) == len(rows) * t
    O = _pyod_ref(kind)().fit(X).O  # noqa: E741
    for r in rows:
        part = out[out["row"] == r].iloc[:t] if rows.count(r) > 1 else out[out["row"] == r]
        want = np.sort(O[r])[::-1][:t]
        np.testing.assert_allclose(part["contribution"], want, rtol=1e-9, atol=1e-12)
        np.testing.assert_allclose(part["tail_probability"], np.exp(-want), rtol=1e-9)
    with pytest.raises(NotFittedError):
        explain(make_detector(kind), X)
    assert_rejects(lambda: explain(det, X, rows=[X.shape[0]]), ["rows"])
    assert_rejects(lambda: explain(det, X, top=0), ["top"])
    nan = X.copy()
    nan[0, 0] = np.nan
    assert_rejects(lambda: explain(det, nan), ["0"])


# ----------------------------------------------------------------------------- evaluate
@SETTINGS
@given(data=st.data(), n=st.integers(4, 30))
def test_evaluate_matches_hand_formulas(data, n):
    y = np.asarray(data.draw(st.lists(st.integers(0, 1), min_size=n, max_size=n)))
    s = np.asarray(data.draw(st.lists(st.integers(0, 6).map(float), min_size=n, max_size=n)))
    m = evaluate(y, s)
    pos, neg = s[y == 1], s[y == 0]
    if len(pos) and len(neg):
        pairs = sum((p > q) + 0.5 * (p == q) for p in pos for q in neg)
        assert m["roc_auc"] == pytest.approx(pairs / (len(pos) * len(neg)))
        top = sorted(range(n), key=lambda i: (-s[i], i))[:len(pos)]
        assert m["precision_at_k"] == pytest.approx(y[top].mean())
    else:
        assert np.isnan(m["roc_auc"])
    assert m["n"] == n and m["n_pos"] == int(y.sum())
    if y.any():
        assert_rejects(lambda: evaluate(np.where(y == 1, 2, y), s), ["truth"])
    assert_rejects(lambda: evaluate(y[:-1], s), ["truth"])
    assert_rejects(lambda: evaluate(y, s, k=0), ["k"])
    assert_rejects(lambda: evaluate(y, s, event_gap=-1.0), ["event_gap"])


@SETTINGS
@given(table=_WORD.filter(lambda t: t not in ("sales", "orders", "inventory", "shipments", "marketing")))
def test_evaluate_unknown_table_lists_choices(table):
    scored = _PANEL.assign(anomaly_score=1.0, is_anomaly=False)
    truth = pd.DataFrame({"table": ["sales"], "type": ["demand_spike"], "sku": ["a"], "location": ["web"],
                          "date": [_PANEL["date"].iloc[3]]})
    err = assert_rejects(lambda: evaluate(truth, scored, table=table), ["table"])
    assert "sales" in str(err)
    assert_rejects(lambda: evaluate(truth.drop(columns=["type"]), scored), ["type"])


# ----------------------------------------------------------------------------- residual_anomalies
def _residual_ref(actual: pd.DataFrame, forecast: pd.DataFrame) -> tuple[list, list]:
    lookup = {(r.sku, r.location, r.date): r.units for r in actual.itertuples()}
    kinds, scores = [], []
    for r in forecast.itertuples():
        y = lookup.get((r.sku, r.location, r.date), np.nan)
        lo, hi = getattr(r, "_4"), getattr(r, "_5")
        width = hi - lo if hi > lo else 1e-9
        if np.isnan(y):
            kinds.append("missing")
            scores.append(np.nan)
            continue
        above, below = max((y - hi) / width, 0.0), max((lo - y) / width, 0.0)
        kinds.append("spike" if above > 0 else "drop" if below > 0 else "normal")
        scores.append(above if above > 0 else below)
    return kinds, scores


@SETTINGS
@given(df=panels(), kind=st.one_of(st.none(), corruptions()), row=st.integers(0, 500), data=st.data())
def test_residual_anomalies_on_corrupted_actuals(df, kind, row, data):
    bounds = np.sort(np.asarray(data.draw(st.lists(st.integers(0, 100).map(float), min_size=2 * len(df),
                                                   max_size=2 * len(df)))).reshape(-1, 2), axis=1)
    forecast = df[KEYS + ["date"]].assign(**{"q0.1": bounds[:, 0], "q0.9": bounds[:, 1]})
    actual = df if kind is None else corrupt(df, kind, "units", row)

    def call():
        return residual_anomalies(actual, forecast, quantiles=(0.1, 0.9), stockout_col=None)

    refused = {"drop_column": ["units"], "inf": ["units"], "text": ["units"], "missing_key": ["sku"],
               "duplicate_row": ["date"]}
    if kind in refused:
        assert_rejects(call, refused[kind])
        return
    out = call()  # clean, NaN or empty actuals: one row per forecast row
    assert len(out) == len(forecast)
    kinds, scores = _residual_ref(actual, forecast)
    assert out["kind"].tolist() == kinds
    np.testing.assert_allclose(out["anomaly_score"], scores, rtol=1e-12)
    np.testing.assert_array_equal(out["is_anomaly"], np.isin(kinds, ["spike", "drop"]))
    assert_rejects(lambda: residual_anomalies(actual, forecast, quantiles=(0.1,)), ["quantiles"])
    assert_rejects(lambda: residual_anomalies(actual, forecast, quantiles=(0.1, 1.5)), ["quantiles"])
    assert_rejects(lambda: residual_anomalies(actual, forecast.assign(**{"q0.9": np.inf}), quantiles=(0.1, 0.9),
                                              stockout_col=None), ["q0.9"])


# ----------------------------------------------------------------------------- domain detectors
@SETTINGS
@given(df=panels(numeric=("on_hand", "receipts", "units_sold")), kind=st.one_of(st.none(), corruptions()),
       row=st.integers(0, 500))
def test_inventory_shrink_on_corrupted_stock(df, kind, row):
    inv = df.rename(columns={"location": "warehouse"})
    bad = inv if kind is None else corrupt(inv, kind, "on_hand", row)
    call = lambda: inventory_shrink(bad)  # noqa: E731
    refused = {"drop_column": ["on_hand"], "inf": ["on_hand"], "text": ["on_hand"], "missing_key": ["sku"],
               "duplicate_row": ["date"]}
    if kind in refused:
        assert_rejects(call, refused[kind])
        return
    out = call()
    ordered = bad.sort_values(["sku", "warehouse", "date"])
    prev = ordered.groupby(["sku", "warehouse"])["on_hand"].shift(1)
    want = prev + ordered["receipts"] - ordered["units_sold"] - ordered["on_hand"]
    assert out.index.equals(ordered.index)  # rows in = rows out, sorted by series and day
    np.testing.assert_allclose(out["shrink"], want)
    np.testing.assert_array_equal(out["is_anomaly"], (want > 0.5).to_numpy())
    assert_rejects(lambda: inventory_shrink(inv, tolerance=-1), ["tolerance"])


@SETTINGS
@given(df=panels(numeric=("quantity", "unit_price")), kind=st.one_of(st.none(), corruptions()),
       row=st.integers(0, 500), negative=st.integers(0, 500))
def test_order_line_anomalies_on_corrupted_orders(df, kind, row, negative):
    orders = df.copy()
    orders.iloc[negative % len(orders), orders.columns.get_loc("quantity")] *= -1
    bad = orders if kind is None else corrupt(orders, kind, "unit_price", row)
    call = lambda: order_line_anomalies(bad)  # noqa: E731
    refused = {"drop_column": ["unit_price"], "inf": ["unit_price"], "text": ["unit_price"], "missing_key": ["sku"]}
    if kind in refused:
        assert_rejects(call, refused[kind])
        return
    out = call()
    assert out.index.equals(bad.index)
    dup = bad.duplicated().to_numpy()
    neg = (bad["quantity"] < 0).to_numpy()
    no_price = bad["unit_price"].isna().to_numpy()
    want = np.where(dup, "duplicate", np.where(neg, "negative_quantity", np.where(no_price, "missing_price", "")))
    rules = dup | neg | no_price
    np.testing.assert_array_equal(out["reason"].to_numpy()[rules], want[rules])
    assert np.isinf(out["anomaly_score"].to_numpy()[rules]).all()
    np.testing.assert_array_equal(out["is_anomaly"], out["reason"] != "")
    assert_rejects(lambda: order_line_anomalies(orders, price_ratio=1.0), ["price_ratio"])


@SETTINGS
@given(df=panels(numeric=("actual_days", "promised_days")), kind=st.one_of(st.none(), corruptions()),
       row=st.integers(0, 500), k=st.sampled_from([1.0, 3.5]))
def test_carrier_delays_on_corrupted_shipments(df, kind, row, k):
    ship = df.rename(columns={"sku": "carrier", "location": "zone", "date": "ship_date"})
    bad = ship if kind is None else corrupt(ship, kind, "actual_days", row, key="carrier")
    call = lambda: carrier_delays(bad, k=k, min_shipments=1)  # noqa: E731
    refused = {"drop_column": ["actual_days"], "inf": ["actual_days"], "text": ["actual_days"],
               "missing_key": ["carrier"]}
    if kind in refused:
        assert_rejects(call, refused[kind])
        return
    out = call()
    delay = bad["actual_days"] - bad["promised_days"]
    lanes = delay.groupby([bad["carrier"], bad["zone"], bad["ship_date"].dt.floor("D")]).agg(["count", "mean"])
    assert len(out) == len(lanes)
    np.testing.assert_array_equal(out["n_shipments"], lanes["count"])
    np.testing.assert_allclose(out["mean_delay"], lanes["mean"])
    z = np.concatenate([np.zeros(0)] + [_robust_z_ref(g.to_numpy()) for _, g in lanes["mean"].groupby(level=[0, 1])])
    np.testing.assert_allclose(out["anomaly_score"], z, rtol=1e-9, atol=1e-12)
    clear = np.abs(np.nan_to_num(z) - k) > 1e-9
    np.testing.assert_array_equal(out["is_anomaly"].to_numpy()[clear], (np.nan_to_num(z) > k)[clear])


@SETTINGS
@given(df=panels(numeric=("impressions", "clicks", "conversions")), kind=st.one_of(st.none(), corruptions()),
       row=st.integers(0, 500))
def test_click_fraud_on_corrupted_marketing(df, kind, row):
    mk = df.rename(columns={"sku": "channel"})
    bad = mk if kind is None else corrupt(mk, kind, "clicks", row, key="channel")
    call = lambda: click_fraud(bad)  # noqa: E731
    refused = {"drop_column": ["clicks"], "inf": ["clicks"], "text": ["clicks"], "missing_key": ["channel"]}
    if kind in refused:
        assert_rejects(call, refused[kind])
        return
    out = call()
    assert out.index.equals(bad.index)
    ctr = bad["clicks"] / bad["impressions"].where(bad["impressions"] > 0)
    np.testing.assert_allclose(out["ctr"], ctr)
    z_ctr = np.log(ctr.where(ctr > 0)).groupby(bad["channel"]).transform(lambda g: _robust_z_ref(g.to_numpy()))
    up = np.maximum(z_ctr.fillna(0.0), 0.0)
    assert (out["anomaly_score"] >= up - 1e-9).all()  # the CTR side is part of the score
    assert not (out["is_anomaly"] & (up <= 3.5 / 2 - 1e-9)).any()  # never flagged without a CTR jump


def _price_changes_ref(df: pd.DataFrame, window: int, min_change: float, direction: str, promo: bool) -> pd.DataFrame:
    """Reference price, change and score by pandas: per series in time order, the median of the previous
    ``window`` prices (promoted rows left out when ``promo``), at least ``window // 2`` of them."""
    ordered = df.sort_values(["sku", "location", "date"], kind="stable")
    promoted = (ordered["promo"].fillna(0) != 0) if promo else pd.Series(False, index=ordered.index)
    regular = ordered["price"].where(~promoted)
    reference = regular.groupby([ordered["sku"], ordered["location"]]).transform(
        lambda g: g.shift(1).rolling(window, min_periods=max(1, window // 2)).median())
    change = ordered["price"] / reference.where(reference > 0) - 1
    moved = {"both": change.abs(), "up": change.clip(lower=0), "down": (-change).clip(lower=0)}[direction]
    score = (moved / min_change).mask(promoted & moved.notna(), 0.0)
    return pd.DataFrame({"reference_price": reference, "price_change": change, "anomaly_score": score}).loc[df.index]


@SETTINGS
@given(df=panels(numeric=("price", "promo")), kind=st.one_of(st.none(), corruptions()), row=st.integers(0, 500),
       window=st.integers(1, 6), min_change=st.sampled_from([0.05, 0.3]),
       direction=st.sampled_from(["both", "up", "down"]), promo=st.booleans(),
       shuffle=st.integers(0, 2**16))
def test_price_changes_on_corrupted_sales(df, kind, row, window, min_change, direction, promo, shuffle):
    sales = df.sample(frac=1.0, random_state=shuffle)  # any row order in, the same order out
    bad = sales if kind is None else corrupt(sales, kind, "price", row)
    call = lambda: price_changes(bad, ["sku", "location"], window=window, min_change=min_change,  # noqa: E731
                                 direction=direction, promo_col="promo" if promo else None)
    refused = {"drop_column": ["price"], "inf": ["price"], "text": ["price"], "missing_key": ["sku"],
               "duplicate_row": ["date"]}
    if kind in refused:
        assert_rejects(call, refused[kind])
        return
    out = call()
    assert out.index.equals(bad.index)
    want = _price_changes_ref(bad, window, min_change, direction, promo)
    for col in ("reference_price", "price_change", "anomaly_score"):
        np.testing.assert_allclose(out[col].to_numpy(), want[col].to_numpy(), rtol=1e-12, atol=1e-12, err_msg=col)
    np.testing.assert_array_equal(out["is_anomaly"], (want["anomaly_score"] >= 1).to_numpy())
    for param, value in (("window", 0), ("min_change", 0.0), ("direction", "sideways")):
        assert_rejects(lambda: price_changes(sales, **{param: value}), [param])
    assert_rejects(lambda: price_changes(sales.assign(promo="yes"), promo_col="promo"), ["promo"])
