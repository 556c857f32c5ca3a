"""Tests of toolkit.anomaly against PyOD, numpy/pandas references and hand-computed cases."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from pyod.models.copod import COPOD as PyODCOPOD
from pyod.models.ecod import ECOD as PyODECOD

from tests.fixture_scope import module_unless_mutating
from toolkit.anomaly import (
    COPOD,
    ECOD,
    IQR,
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
    residual_anomalies,
    segment_threshold,
)
from toolkit.anomaly.native import segment_tail_scores
from toolkit.anomaly.rules import hampel, iqr_score, robust_z, seasonal_esd
from toolkit.errors import DataValidationError

pytestmark = pytest.mark.filterwarnings("ignore::RuntimeWarning")


def _mixed(n: int, seed: int) -> np.ndarray:
    """Columns with right and left skew, ties (integers), a symmetric one and a constant one."""
    rng = np.random.default_rng(seed)
    return np.column_stack([
        rng.standard_normal(n),
        rng.exponential(size=n),
        -rng.lognormal(size=n),
        rng.integers(0, 6, n).astype(float),
        np.full(n, 2.5),
    ])


# ----------------------------------------------------------------------------- native ECOD/COPOD
@pytest.mark.parametrize("ours, theirs", [(ECOD, PyODECOD), (COPOD, PyODCOPOD)])
def test_native_equals_pyod_on_training_rows(ours, theirs):
    X = _mixed(400, 0)
    a = ours(contamination=0.07).fit(X)
    b = theirs(contamination=0.07).fit(X)
    np.testing.assert_allclose(a.decision_scores_, b.decision_scores_, rtol=1e-10, atol=1e-10)
    assert a.threshold_ == pytest.approx(b.threshold_, rel=1e-10)
    np.testing.assert_array_equal(a.labels_, b.labels_)


@pytest.mark.parametrize("ours, theirs", [(ECOD, PyODECOD), (COPOD, PyODCOPOD)])
def test_native_equals_pyod_on_new_rows(ours, theirs):
    X, Y = _mixed(300, 1), _mixed(80, 2)
    Y[0, 0] = 9.0  # beyond the training range
    a = ours().fit(X)
    b = theirs().fit(X)
    np.testing.assert_allclose(a.decision_function(Y), b.decision_function(Y), rtol=1e-10, atol=1e-10)
    np.testing.assert_array_equal(a.predict(Y), b.predict(Y))
    # PyOD scores the training rows again through the union with themselves: same scores
    np.testing.assert_allclose(a.decision_function(X), b.decision_function(X), rtol=1e-10, atol=1e-10)


def test_native_float32_equals_pyod():
    X = np.random.default_rng(3).standard_normal((2000, 6)).astype(np.float32)
    a, b = ECOD().fit(X), PyODECOD().fit(X)
    np.testing.assert_allclose(a.decision_function(X[:100]), b.decision_function(X[:100]), rtol=1e-7)
    Y = np.random.default_rng(4).standard_normal((50, 6))  # float64 batch on a float32 fit
    np.testing.assert_allclose(a.decision_function(Y), b.decision_function(Y), rtol=1e-10)


@pytest.mark.parametrize("kind, theirs", [("ecod", PyODECOD), ("copod", PyODCOPOD)])
def test_segment_tail_scores_equal_pyod_per_group(kind, theirs):
    X = _mixed(450, 4)[:, :4]
    starts = np.array([0, 100, 350, 450])
    got = segment_tail_scores(X, starts, kind=kind).sum(axis=1)
    want = np.concatenate([theirs().fit(X[lo:hi]).decision_scores_ for lo, hi in zip(starts[:-1], starts[1:])])
    np.testing.assert_allclose(got, want, rtol=1e-10, atol=1e-10)


def test_native_rejects_bad_input():
    with pytest.raises(DataValidationError, match="NaN"):
        ECOD().fit(np.array([[1.0], [np.nan], [2.0]]))
    with pytest.raises(DataValidationError, match="at least 2 rows"):
        ECOD().fit(np.array([[1.0]]))
    with pytest.raises(DataValidationError, match=r"\(0, 0.5\]"):
        ECOD(contamination=0.7).fit(np.ones((5, 1)))


# ----------------------------------------------------------------------------- rules
def test_robust_z_and_iqr_equal_numpy_per_segment():
    rng = np.random.default_rng(5)
    X = rng.standard_normal((90, 2))
    X[4, 0] = np.nan
    starts = np.array([0, 30, 70, 90])
    z, q = robust_z(X, starts), iqr_score(X, starts)
    for lo, hi in zip(starts[:-1], starts[1:]):
        seg = X[lo:hi]
        med = np.nanmedian(seg, axis=0)
        mad = np.nanmedian(np.abs(seg - med), axis=0) * 1.4826
        np.testing.assert_allclose(z[lo:hi], (seg - med) / mad, equal_nan=True)
        q1, q3 = np.nanpercentile(seg, [25, 75], axis=0)
        want = np.maximum(np.maximum(q1 - seg, seg - q3), 0) / (q3 - q1)
        np.testing.assert_allclose(q[lo:hi], want, equal_nan=True)


def test_rule_detectors_hand_computed():
    X = np.array([[1.0], [2.0], [3.0], [4.0], [100.0]])
    # median 3, MAD = median(2, 1, 0, 1, 97) = 1
    np.testing.assert_allclose(RobustZ().fit(X).decision_scores_, [2 / 1.4826, 1 / 1.4826, 0, 1 / 1.4826, 97 / 1.4826])
    # quartiles 2 and 4, IQR 2: 1 lies (2 - 1) / 2 below the box, 100 lies (100 - 4) / 2 above
    np.testing.assert_allclose(IQR().fit(X).decision_scores_, [0.5, 0, 0, 0, 48.0])
    # MAD 0 (most values equal) falls back to the mean absolute deviation
    Y = np.array([[5.0], [5.0], [5.0], [5.0], [7.0]])
    mean_ad = (0 + 0 + 0 + 0 + 2) / 5 * 1.2533
    assert RobustZ().fit(Y).decision_scores_[4] == pytest.approx(2 / mean_ad)


def test_hampel_equals_pandas_rolling():
    rng = np.random.default_rng(6)
    x = rng.standard_normal(60)
    x[10] = 8.0
    sizes = [25, 35]
    starts = np.array([0, 25, 60])
    got = hampel(x, starts, half_window=2)
    s = pd.Series(x)
    grp = np.repeat([0, 1], sizes)
    roll = s.groupby(grp).rolling(5, center=True, min_periods=1)
    med = roll.median().reset_index(level=0, drop=True)
    mad = roll.apply(lambda w: np.median(np.abs(w - np.median(w))), raw=True).reset_index(level=0, drop=True)
    np.testing.assert_allclose(got, (x - med) / (1.4826 * mad))
    assert abs(got[10]) > 3


def _esd_reference(y: np.ndarray, period: int, max_anomalies: float, alpha: float) -> set[int]:
    """Seasonal-hybrid ESD written plainly, one series, loops (independent of the kernel)."""
    from scipy import stats

    n = len(y)
    seasonal = np.array([np.median(y[p::period]) for p in range(period)])[np.arange(n) % period]
    r = y - seasonal
    r = r - np.median(r)
    idx = list(range(n))
    removed, passed = [], 0
    for i in range(1, int(np.floor(max_anomalies * n)) + 1):
        vals = r[idx]
        med = np.median(vals)
        mad = np.median(np.abs(vals - med)) * 1.4826
        j = int(np.argmax(np.abs(vals - med)))
        stat = abs(vals[j] - med) / mad
        p = 1 - alpha / (2 * (n - i + 1))
        t = stats.t.ppf(p, n - i - 1)
        lam = (n - i) * t / np.sqrt((n - i - 1 + t ** 2) * (n - i + 1))
        removed.append(idx.pop(j))
        if stat > lam:
            passed = i
    return set(removed[:passed])


def test_seasonal_esd_equals_reference_per_series():
    rng = np.random.default_rng(7)
    week = np.array([3.0, 5, 6, 6, 7, 12, 10])
    a = np.tile(week, 12) + rng.normal(0, 0.4, 84)
    b = np.tile(week[::-1], 10) * 2 + rng.normal(0, 0.5, 70)
    a[20] += 6
    a[50] -= 5
    b[33] += 9
    values = np.concatenate([a, b])
    _, flag = seasonal_esd(values, np.array([0, 84, 154]), period=7, max_anomalies=0.05, alpha=0.05)
    assert set(np.flatnonzero(flag[:84])) == _esd_reference(a, 7, 0.05, 0.05)
    assert set(np.flatnonzero(flag[84:])) == _esd_reference(b, 7, 0.05, 0.05)
    assert {20, 50} <= set(np.flatnonzero(flag[:84])) and 33 in set(np.flatnonzero(flag[84:]))


# ----------------------------------------------------------------------------- detect
@pytest.fixture(scope="module")
def panel() -> pd.DataFrame:
    rng = np.random.default_rng(8)
    frames = []
    for i, n in enumerate([40, 55, 30]):
        frames.append(pd.DataFrame({
            "sku": f"S{i}", "location": "web", "date": pd.date_range("2024-01-01", periods=n),
            "units": rng.poisson(10 + 5 * i, n).astype(float), "price": rng.normal(20 + i, 1, n)}))
    df = pd.concat(frames, ignore_index=True)
    df.loc[5, "units"] = 60.0
    df.loc[70, "price"] = 5.0
    df["sku"] = df["sku"].astype("category")
    return df.sample(frac=1.0, random_state=1).reset_index(drop=True)  # rows deliberately shuffled


@pytest.mark.parametrize("method, ref", [("ecod", PyODECOD), ("copod", PyODCOPOD)])
def test_detect_per_group_equals_pyod_loop(panel, method, ref):
    out = detect(panel, ["units", "price"], method=method, id_cols="sku", contamination=0.1)
    for _, g in out.groupby("sku", observed=True):
        det = ref(contamination=0.1).fit(g[["units", "price"]].to_numpy())
        np.testing.assert_allclose(g["anomaly_score"], det.decision_scores_, rtol=1e-10)
        np.testing.assert_array_equal(g["is_anomaly"].to_numpy(), det.labels_.astype(bool))
        g = g.sort_values("date")  # ties are ranked in time order
        ranks = g["anomaly_score"].rank(ascending=False, method="first")
        np.testing.assert_array_equal(g["anomaly_rank"], ranks)


def test_detect_robust_z_per_group_equals_groupby(panel):
    out = detect(panel, ["units", "price"], method="robust_z", id_cols="sku")
    grp = panel.groupby("sku", observed=True)
    z = []
    for c in ["units", "price"]:
        med = grp[c].transform("median")
        mad = (panel[c] - med).abs().groupby(panel["sku"], observed=True).transform("median") * 1.4826
        z.append(((panel[c] - med) / mad).abs())
    want = np.maximum(z[0], z[1])
    np.testing.assert_allclose(out["anomaly_score"], want)
    np.testing.assert_array_equal(out["is_anomaly"], want > 3.5)  # the rule's own cut
    assert bool(out.loc[(panel["units"] == 60.0).to_numpy(), "is_anomaly"].all())


def test_detect_pyod_detector_per_group_equals_loop(panel):
    out = detect(panel, ["units", "price"], method="iforest", id_cols="sku", contamination=0.1, random_state=0)
    from pyod.models.iforest import IForest

    for _, g in out.groupby("sku", observed=True):
        g = g.sort_values("date")  # groups are fitted in time order (iforest's subsamples depend on it)
        det = IForest(contamination=0.1, random_state=0).fit(g[["units", "price"]].to_numpy())
        np.testing.assert_allclose(g["anomaly_score"], det.decision_scores_)


def test_thresholds_equal_hand_rules(panel):
    scores = detect(panel, ["units", "price"], method="ecod", id_cols="sku", threshold="mad", k=2.0)
    for _, g in scores.groupby("sku", observed=True):
        s = g["anomaly_score"].to_numpy()
        med = np.median(s)
        cut = med + 2.0 * 1.4826 * np.median(np.abs(s - med))
        np.testing.assert_array_equal(g["is_anomaly"].to_numpy(), s > cut)
    budget = detect(panel, ["units", "price"], method="ecod", budget=1, threshold="budget", budget_by="date")
    top = budget.groupby("date")["anomaly_score"].transform("max")
    np.testing.assert_array_equal(budget["is_anomaly"], budget["anomaly_score"] == top)
    assert int(budget["is_anomaly"].sum()) == panel["date"].nunique()
    flags = apply_threshold(np.array([1.0, 3.0, 2.0, np.nan, 5.0]), np.array([0, 3, 5]), "contamination",
                            contamination=0.5)
    # segment 1: 50th percentile of (1, 3, 2) is 2 -> flag 3; segment 2 (NaN, 5): 5 > 5 is False
    assert flags.tolist() == [False, True, False, False, False]



@pytest.mark.parametrize("starts", [[1, 5], [0, 4], [0, 3, 2, 5], [0, 6]])
def test_segment_boundaries_that_do_not_cover_the_scores_say_what_is_expected(starts):
    scores = np.array([1.0, 3.0, 2.0, 4.0, 5.0])
    for call in (lambda: apply_threshold(scores, np.array(starts), "rule", cut=2.0),
                 lambda: segment_threshold(scores, np.array(starts), "rule", cut=2.0)):
        with pytest.raises(DataValidationError, match=r"parameter 'starts': expected increasing ints from 0 "
                                                      r"to len\(scores\) = 5, got \[" + ", ".join(map(str, starts))):
            call()

def test_ensemble_mean_of_standardised_scores(panel):
    cols = ["units", "price"]
    out = detect(panel, cols, method=["ecod", "robust_z"], combine="mean")
    a = PyODECOD().fit(panel[cols].to_numpy()).decision_scores_
    b = RobustZ().fit(panel[cols].to_numpy()).decision_scores_
    want = ((a - a.mean()) / a.std() + (b - b.mean()) / b.std()) / 2
    np.testing.assert_allclose(out["anomaly_score"], want, rtol=1e-10)
    out_max = detect(panel, cols, method=["ecod", "robust_z"], combine="max")
    np.testing.assert_allclose(out_max["anomaly_score"],
                               np.maximum((a - a.mean()) / a.std(), (b - b.mean()) / b.std()), rtol=1e-10)


def test_detect_keeps_rows_and_scores_nan_rows(panel):
    df = panel.copy()
    df.loc[3, "price"] = np.nan
    out = detect(df, ["units", "price"], method="ecod", id_cols="sku")
    assert out.index.equals(df.index) and len(out) == len(df)
    assert np.isnan(out.loc[3, "anomaly_score"]) and not out.loc[3, "is_anomaly"]


@pytest.mark.parametrize("mutate, message, column", [
    (lambda d: d.assign(units=d["sku"].astype(str)), "must be numeric", "units"),
    (lambda d: d.assign(units=np.nan), "all .* NaN", "units"),
    (lambda d: d.assign(units=3.0), "constant", "units"),
])
def test_detect_bad_columns(panel, mutate, message, column):
    with pytest.raises(DataValidationError, match=message) as err:
        detect(mutate(panel), ["units", "price"], method="ecod")
    assert repr(column) in str(err.value) and err.value.column == column


def test_detect_bad_arguments(panel):
    with pytest.raises(DataValidationError, match="at least 21 rows") as err:
        detect(panel.head(60), ["units", "price"], method="lof", id_cols="sku")
    assert "'units'" in str(err.value) and "S" in str(err.value)
    for c in (0.0, 0.51, -0.1):
        with pytest.raises(DataValidationError, match=r"\(0, 0.5\]"):
            detect(panel, "units", method="ecod", contamination=c)
    with pytest.raises(DataValidationError, match="missing"):
        detect(panel, "nope", method="ecod")
    with pytest.raises(DataValidationError, match="unknown method"):
        detect(panel, "units", method="magic")


def test_detect_dask_checks_dtypes_before_work(panel):
    dd = pytest.importorskip("dask.dataframe")
    bad = dd.from_pandas(panel.assign(units=panel["sku"].astype(str)), npartitions=2)
    with pytest.raises(DataValidationError, match="must be numeric") as err:
        detect(bad, ["units"], method="ecod", id_cols="sku")
    assert err.value.column == "units"


def test_detect_groups_without_time_column(panel):
    table = panel.drop(columns=["date"])  # e.g. order lines: groups, no time axis
    out = detect(table, "price", method="robust_z", id_cols="sku", time_col="date")
    for _, g in out.groupby("sku", observed=True):
        med = g["price"].median()
        mad = (g["price"] - med).abs().median() * 1.4826
        np.testing.assert_allclose(g["anomaly_score"], ((g["price"] - med) / mad).abs())


def test_detect_dask_per_group_equals_pandas(panel):
    dd = pytest.importorskip("dask.dataframe")
    ddf = dd.from_pandas(panel, npartitions=3)  # shuffled rows: each series split across partitions
    for method in ("ecod", "hampel"):
        lazy = detect(ddf, ["units", "price"], method=method, id_cols=["sku", "location"], contamination=0.1)
        got = lazy.compute().sort_values(["sku", "date"]).reset_index(drop=True)
        want = detect(panel, ["units", "price"], method=method, id_cols=["sku", "location"], contamination=0.1)
        want = want.sort_values(["sku", "date"]).reset_index(drop=True)
        pd.testing.assert_frame_equal(got[want.columns], want, check_dtype=False, check_categorical=False)


def test_detect_dask_global_fits_sample_and_scores_partitions(panel):
    dd = pytest.importorskip("dask.dataframe")
    ddf = dd.from_pandas(panel, npartitions=3)
    got = detect(ddf, ["units", "price"], method="ecod", contamination=0.1, sample=10_000).compute()
    X = panel[["units", "price"]].to_numpy()
    ref = PyODECOD(contamination=0.1).fit(X)  # sample >= rows: fitted on everything
    parts = [p[["units", "price"]].compute().to_numpy() for p in ddf.partitions]
    want = np.concatenate([ref.decision_function(p) for p in parts])
    np.testing.assert_allclose(got["anomaly_score"].to_numpy(), want, rtol=1e-10)
    np.testing.assert_array_equal(got["is_anomaly"].to_numpy(), want > ref.threshold_)


@pytest.mark.parametrize("combine", ["mean", "max"])
def test_detect_dask_global_ensemble_standardises_each_detector_on_its_own_sample_scores(panel, combine):
    """Each detector's scores are z-scored by the mean and std of its own scores on the sample,
    then combined; the threshold is the combined sample scores' quantile (PyOD fitted on every row)."""
    dd = pytest.importorskip("dask.dataframe")
    ddf = dd.from_pandas(panel, npartitions=3)
    got = detect(ddf, ["units", "price"], method=["ecod", "copod"], contamination=0.1, combine=combine,
                 sample=10_000).compute()
    X = panel[["units", "price"]].to_numpy()
    refs = [PyODECOD(contamination=0.1).fit(X), PyODCOPOD(contamination=0.1).fit(X)]
    moments = [(r.decision_scores_.mean(), r.decision_scores_.std()) for r in refs]
    reduce = np.max if combine == "max" else np.mean
    train = reduce(np.column_stack([(r.decision_scores_ - mu) / sd for r, (mu, sd) in zip(refs, moments)]), axis=1)
    parts = [p[["units", "price"]].compute().to_numpy() for p in ddf.partitions]
    want = reduce(np.column_stack([(np.concatenate([r.decision_function(p) for p in parts]) - mu) / sd
                                   for r, (mu, sd) in zip(refs, moments)]), axis=1)
    np.testing.assert_allclose(got["anomaly_score"].to_numpy(), want, rtol=1e-10)
    np.testing.assert_array_equal(got["is_anomaly"].to_numpy(), want > np.quantile(train, 0.9))

# ----------------------------------------------------------------------------- make_detector
@pytest.mark.parametrize("name", ["iforest", pytest.param("hbos", marks=pytest.mark.slow),  # numba compile
                                  "knn", "lof", "pca", "ecod", "copod", "robust_z", "iqr"])
def test_make_detector_pyod_api(name):
    X = np.random.default_rng(9).normal(size=(200, 4))
    det = make_detector(name, contamination=0.05).fit(X)
    assert det.decision_scores_.shape == (200,)
    assert det.labels_.sum() == (det.decision_scores_ > det.threshold_).sum()
    assert det.threshold_ == pytest.approx(np.percentile(det.decision_scores_, 95))
    np.testing.assert_array_equal(det.predict(X[:20]), (det.decision_function(X[:20]) > det.threshold_).astype(int))


def test_make_detector_matches_pyod_and_rejects_bad_names():
    from pyod.models.knn import KNN

    X = np.random.default_rng(10).normal(size=(150, 3))
    np.testing.assert_allclose(make_detector("knn", n_neighbors=7).fit(X).decision_scores_,
                               KNN(n_neighbors=7).fit(X).decision_scores_)
    with pytest.raises(ValueError, match="unknown detector"):
        make_detector("nope")
    with pytest.raises(DataValidationError):
        make_detector("iforest", contamination=0.9)


@pytest.mark.slow
def test_autoencoder_defaults_fit_quickly():
    X = np.random.default_rng(11).normal(size=(2000, 8)).astype(np.float32)
    X[0] = 12.0
    det = make_detector("autoencoder", epoch_num=3).fit(X)
    assert det.detector_.batch_size == 1024 and det.detector_.epoch_num == 3
    assert det.decision_scores_[0] > np.percentile(det.decision_scores_, 99)


# ----------------------------------------------------------------------------- residuals, alarms, explain
def test_residual_anomalies_hand_case():
    dates = pd.date_range("2024-03-01", periods=5)
    actual = pd.DataFrame({"sku": "a", "location": "web", "date": dates,
                           "units": [10.0, 30.0, 0.0, 0.0, 12.0], "stockout": [False, False, False, True, False]})
    fc = pd.DataFrame({"sku": "a", "location": "web", "date": pd.date_range("2024-03-01", periods=6),
                       "q0.1": [8.0, 8.0, 8.0, 8.0, 8.0, 8.0], "q0.9": [14.0] * 6})
    out = residual_anomalies(actual, fc, quantiles=(0.1, 0.9))
    assert len(out) == len(fc)  # one row per forecast row, nothing dropped
    assert out["kind"].tolist() == ["normal", "spike", "drop", "stockout", "normal", "missing"]
    np.testing.assert_allclose(out["anomaly_score"].iloc[:5], [0, (30 - 14) / 6, 8 / 6, 0, 0])
    assert out["is_anomaly"].tolist() == [False, True, True, False, False, False]
    with pytest.raises(DataValidationError, match="q0.05"):
        residual_anomalies(actual, fc, quantiles=(0.05, 0.9))


def test_residual_anomalies_dask_equals_pandas():
    dd = pytest.importorskip("dask.dataframe")
    rng = np.random.default_rng(12)
    dates = pd.date_range("2024-01-01", periods=20)
    actual = pd.DataFrame({"sku": np.repeat(["a", "b"], 20), "location": "web", "date": np.tile(dates, 2),
                           "units": rng.poisson(10, 40).astype(float), "stockout": rng.random(40) < 0.1})
    fc = actual[["sku", "location", "date"]].assign(**{"q0.1": 7.0, "q0.9": 13.0})
    want = residual_anomalies(actual, fc, quantiles=(0.1, 0.9))
    got = residual_anomalies(dd.from_pandas(actual, npartitions=2), dd.from_pandas(fc, npartitions=3),
                             quantiles=(0.1, 0.9)).compute()
    got = got.sort_values(["sku", "date"]).reset_index(drop=True)
    pd.testing.assert_frame_equal(got[want.columns], want.sort_values(["sku", "date"]).reset_index(drop=True),
                                  check_dtype=False)


def test_alarms_hand_case():
    days = pd.to_datetime(["2024-01-01", "2024-01-02", "2024-01-10", "2024-01-20", "2024-01-22", "2024-01-23",
                           "2024-01-26", "2024-01-27"])
    flags = pd.DataFrame({"sku": "a", "location": "web", "date": days,
                          "anomaly_score": [5.0, 6.0, 9.0, 4.0, 8.0, 3.0, 2.0, 7.0], "is_anomaly": True})
    other = flags.head(2).assign(sku="b", is_anomaly=[True, False])
    inc = alarms(pd.concat([flags, other]), min_hits=2, window=2)
    # a: {1, 2} and {20, 22, 23}, {26, 27}; the lone flag of the 10th and b's single flag raise nothing
    assert inc["first_seen"].dt.day.tolist() == [1, 20, 26]
    assert inc["n_hits"].tolist() == [2, 3, 2]
    assert inc["peak_score"].tolist() == [6.0, 8.0, 7.0]
    assert inc["peak_at"].dt.day.tolist() == [2, 22, 27]
    merged = alarms(flags, min_hits=2, window=2, suppress=3)  # 26th starts 3 days after the 23rd
    assert merged["first_seen"].dt.day.tolist() == [1, 20]
    assert merged["last_seen"].dt.day.tolist() == [2, 27] and merged["n_hits"].tolist() == [2, 5]
    assert merged["duration_days"].tolist() == [2, 8]


def test_explain_uses_pyod_per_feature_scores():
    rng = np.random.default_rng(13)
    X = pd.DataFrame(rng.normal(size=(150, 4)), columns=["a", "b", "c", "d"])
    X.loc[9, "c"] = 7.0  # the column's extreme
    X.loc[9, "a"] = -1.6  # in the lower tail, not the extreme
    det = ECOD().fit(X.to_numpy())
    ref = PyODECOD().fit(X.to_numpy())
    out = explain(det, X, rows=[9], top=2)
    want = np.argsort(-ref.O[9])[:2]
    assert out["feature"].tolist() == [X.columns[i] for i in want] == ["c", "a"]
    np.testing.assert_allclose(out["contribution"], ref.O[9][want])
    np.testing.assert_allclose(out["tail_probability"], np.exp(-ref.O[9][want]))
    z = explain(RobustZ().fit(X.to_numpy()), X, rows=[9], top=1)
    assert z["feature"].tolist() == ["c"] and z["kind"].tolist() == ["robust_z"]


# ----------------------------------------------------------------------------- evaluate
def test_evaluate_hand_case():
    y = np.array([0, 1, 0, 0, 1, 0])
    s = np.array([0.1, 0.9, 0.8, 0.2, 0.3, 0.0])
    m = evaluate(y, s)
    # positives 0.9 and 0.3 against negatives 0.1, 0.8, 0.2, 0.0: 4 + 3 of 8 pairs ordered right
    assert m["roc_auc"] == pytest.approx(7 / 8)
    # ranking 0.9(+), 0.8, 0.3(+): AP = (1/1 + 2/3) / 2
    assert m["pr_auc"] == pytest.approx((1 + 2 / 3) / 2)
    assert m["precision_at_k"] == pytest.approx(0.5)
    f = evaluate(y, np.array([False, True, True, False, False, False]))
    assert (f["precision"], f["recall"], f["f1"]) == (0.5, 0.5, 0.5)


def test_evaluate_event_level_counts_incidents_once():
    dates = pd.date_range("2024-01-01", periods=10)
    scored = pd.DataFrame({"sku": "a", "location": "web", "date": dates, "anomaly_score": np.arange(10.0),
                           "is_anomaly": [False, False, True, False, False, False, False, False, True, False]})
    truth = pd.DataFrame({"table": "sales", "type": "demand_spike", "sku": "a", "location": "web",
                          "date": dates[[1, 2, 3, 6]]})
    m = evaluate(truth, scored, table="sales")
    # events: days 1-3 (one incident) and day 6; the flag on day 2 finds the first, day 8 is a false alarm
    assert (m["n_events"], m["event_recall"], m["event_precision"]) == (2, 0.5, 0.5)
    assert m["recall"] == pytest.approx(1 / 4) and m["precision"] == pytest.approx(1 / 2)


# ----------------------------------------------------------------------------- domain detectors
def test_domain_detectors_hand_cases():
    inv = pd.DataFrame({"sku": ["a"] * 4, "warehouse": ["W"] * 4, "date": pd.date_range("2024-01-01", periods=4),
                        "on_hand": [10.0, 8.0, 20.0, 12.0], "receipts": [0.0, 0.0, 15.0, 0.0],
                        "units_sold": [0.0, 2.0, 3.0, 5.0]})
    out = inventory_shrink(inv)
    np.testing.assert_allclose(out["shrink"], [np.nan, 0.0, 0.0, 3.0])
    assert out["is_anomaly"].tolist() == [False, False, False, True]

    orders = pd.DataFrame({"order_id": [1, 2, 3, 4, 5, 5, 6, 7], "sku": ["a"] * 8,
                           "quantity": [2, 3, -1, 2, 1, 1, 2, 3], "unit_price": [10.0, 10.5, 10.0, np.nan, 9.5,
                                                                                  9.5, 31.0, 10.0]})
    res = order_line_anomalies(orders)
    assert res["reason"].tolist() == ["", "", "negative_quantity", "missing_price", "", "duplicate",
                                      "price_deviation", ""]

    rng = np.random.default_rng(14)
    days = pd.date_range("2024-01-01", periods=30)
    ship = pd.DataFrame({"carrier": "X", "zone": 3, "ship_date": np.repeat(days, 4), "promised_days": 2,
                         "actual_days": rng.integers(2, 4, 120)})
    ship.loc[ship["ship_date"] == days[12], "actual_days"] = 7
    lanes = carrier_delays(ship)
    assert len(lanes) == 30 and lanes.loc[lanes["is_anomaly"], "date"].tolist() == [days[12]]

    mk = pd.DataFrame({"channel": "web", "date": days, "impressions": 10_000,
                       "clicks": rng.integers(95, 106, 30), "conversions": rng.integers(4, 7, 30)})
    mk.loc[17, "clicks"] = 600
    assert click_fraud(mk).loc[lambda d: d["is_anomaly"]].index.tolist() == [17]


def test_price_changes_promotions_close_together_and_a_real_rise():
    """Regular price 10, one-week promotions at 7 on days 20-26 and 30-36, a rise to 12 from day 50.

    Without the promotion flag the two promotions are 14 of the 28 prices before day 37, the
    reference is (7 + 10) / 2 = 8.5 and the return to 10 reads as a 17.6 % rise. With it, the
    rise is flagged from day 50 while the 12s in the window are fewer than the 16, 16, ..., 13
    regular 10s (counted by hand): days 50-62; on day 63 13 vs 13 gives a reference of 11 and a
    change of 9.1 %, under the 10 % cut.
    """
    days = pd.date_range("2024-01-01", periods=80)
    promo = np.zeros(80, dtype=bool)
    promo[20:27] = promo[30:37] = True
    price = np.where(promo, 7.0, 10.0)
    price[50:] = 12.0
    sales = pd.DataFrame({"sku": "a", "date": days, "price": price, "promo": promo})
    naive = price_changes(sales, direction="up")
    assert naive.loc[37, "reference_price"] == 8.5 and bool(naive.loc[37, "is_anomaly"])
    judged = price_changes(sales, direction="up", promo_col="promo")
    assert judged.index[judged["is_anomaly"]].tolist() == list(range(50, 63))
    assert judged.loc[63, "reference_price"] == 11.0
    assert (judged.loc[promo, "anomaly_score"] == 0).all()  # promotions: scored 0, never flagged
    # both directions at 25 %: every promoted day is a 30 % move down (on day 36, 13 sevens against 15
    # tens keep the reference at 10); the 17.6 % on day 37 and the 20 % rise on day 50 stay under the cut
    both = price_changes(sales, min_change=0.25)
    assert both.index[both["is_anomaly"]].tolist() == [*range(20, 27), *range(30, 37)]

def test_inventory_shrink_dask_equals_pandas():
    dd = pytest.importorskip("dask.dataframe")
    rng = np.random.default_rng(15)
    days = pd.date_range("2024-01-01", periods=30)
    inv = pd.DataFrame({"sku": np.repeat(["a", "b", "c"], 30), "warehouse": "W1", "date": np.tile(days, 3),
                        "receipts": rng.integers(0, 3, 90) * 10.0, "units_sold": rng.integers(0, 5, 90) * 1.0})
    inv["on_hand"] = 100 + inv.groupby("sku")["receipts"].cumsum() - inv.groupby("sku")["units_sold"].cumsum()
    inv.loc[[10, 75], "on_hand"] -= 4.0  # stock vanishes on two days
    want = inventory_shrink(inv).reset_index(drop=True)
    shuffled = inv.sample(frac=1.0, random_state=2)
    got = inventory_shrink(dd.from_pandas(shuffled, npartitions=4)).compute()
    got = got.sort_values(["sku", "warehouse", "date"]).reset_index(drop=True)
    pd.testing.assert_frame_equal(got[want.columns], want, check_dtype=False)
    assert int(want["is_anomaly"].sum()) == 2


@pytest.fixture(scope=module_unless_mutating)
def retail():
    from toolkit.datasets import make_retail

    return make_retail(n_skus=30, n_locations=3, n_days=365, seed=3, anomaly_rate=0.005, progress=False)


def test_generated_sales_anomalies_recovered(retail):
    """Bars from a seasonal rule on raw units; promotions and stock-outs are the hard negatives."""
    s = retail.sales
    esd = detect(s, "units", method="seasonal_esd", id_cols=["sku", "location"])
    spike = evaluate(retail.truth, esd, table="sales", types=["demand_spike"])
    assert spike["roc_auc"] >= 0.95 and spike["event_recall"] >= 0.8
    ecod = detect(s, "units", method="ecod", id_cols=["sku", "location"])
    drop = evaluate(retail.truth, ecod, table="sales", types=["demand_drop"])
    assert drop["roc_auc"] >= 0.85
    missing = evaluate(retail.truth, s.assign(is_anomaly=s["units"].isna()), table="sales", types=["missing_value"])
    assert missing["recall"] == 1.0 and missing["precision"] == 1.0


def test_generated_domain_anomalies_recovered(retail):
    t = retail.truth
    orders = evaluate(t, order_line_anomalies(retail.orders), table="orders", by_type=True)
    assert orders.loc["negative_quantity", "roc_auc"] >= 0.99
    assert orders.loc["missing_value", "roc_auc"] >= 0.99
    assert orders.loc["duplicated_order", "event_recall"] >= 0.99  # one copy of each pair is flagged
    shrink = evaluate(t, inventory_shrink(retail.inventory), table="inventory")
    assert shrink["roc_auc"] >= 0.95 and shrink["precision"] >= 0.9
    lanes = evaluate(t, carrier_delays(retail.shipments), table="shipments", on=["carrier", "zone", "date"])
    assert lanes["roc_auc"] >= 0.9
    fraud = evaluate(t, click_fraud(retail.marketing), table="marketing")
    assert fraud["roc_auc"] >= 0.95 and fraud["recall"] >= 0.8


@pytest.mark.filterwarnings("error")
def test_detectors_take_huge_finite_values_and_refuse_each_non_finite_one():
    """The finiteness check sums the input first: a sum that overflows (finite values near the
    float32 maximum) must neither refuse the input nor warn; one NaN or inf anywhere is refused."""
    rng = np.random.default_rng(3)
    X = rng.standard_normal((60, 3)).astype("float32")
    X[:30, 1] = 3e38
    ours = ECOD().fit(X)
    scaled = X.astype("float64")
    scaled[:, 1] /= 1e30  # ECOD reads ranks and the sign of the skewness: both survive a positive scale
    np.testing.assert_allclose(ours.decision_scores_, PyODECOD().fit(scaled).decision_scores_, rtol=1e-6)
    for bad in (np.nan, np.inf, -np.inf):
        Y = X.copy()
        Y[41, 2] = bad
        with pytest.raises(DataValidationError, match=r"column '2'.*row 41"):
            ECOD().fit(Y)
        with pytest.raises(DataValidationError, match=r"column '2'.*row 41"):
            ours.decision_function(Y)


@pytest.mark.parametrize("call,message", [
    (lambda df: price_changes([1.0]),
     r"^parameter 'sales': expected an in-memory pandas or cuDF DataFrame, got a list$"),
    (lambda df: price_changes(df, promo_col="promo"), r"^column 'promo': missing \(needed by price_changes\)"),
    (lambda df: price_changes(df, time_col="day"), r"^column 'day': missing \(needed by price_changes\)"),
    (lambda df: price_changes(df.assign(promo="x"), promo_col="promo"),
     r"^column 'promo': must be numeric or boolean, got dtype \w+ \(needed as a promotion flag \(booleans or 0/1\)\)"),
    (lambda df: price_changes(df.assign(price=[1.0, np.inf, 2.0])),
     r"^column 'price': infinite values \(needed by price_changes; NaN is treated as missing\)"),
    (lambda df: price_changes(df, window=2, direction="BOTH"), None),  # choices are read case-insensitively
])
def test_price_changes_messages_name_the_input_and_what_it_is_needed_for(call, message):
    df = pd.DataFrame({"sku": "a", "date": pd.date_range("2024-01-01", periods=3), "price": [1.0, 2.0, 3.0]})
    if message is None:
        assert call(df)["is_anomaly"].tolist() == [False, True, True]  # 2 vs 1 (+100 %), then 3 vs 1.5 (+100 %)
        return
    with pytest.raises(DataValidationError, match=message):
        call(df)


def test_robust_z_mean_ad_fallback_skips_missing_values():
    # intermittent series (MAD 0) with a missing value: the fallback scale is the mean |x - median|
    # of the present values times sqrt(pi / 2) (pandas reference), and the NaN row alone gets NaN
    x = pd.Series([0.0, 0.0, np.nan, 0.0, 3.0, 0.0, 5.0, 0.0])
    med = x.median()
    assert (x - med).abs().median() == 0
    scale = (x - med).abs().mean() * 1.2533  # pandas skips NaN: (3 + 5) / 7
    z = robust_z(x.to_numpy().reshape(-1, 1), np.array([0, 8]))[:, 0]
    np.testing.assert_allclose(z, (x - med) / scale, equal_nan=True)
    assert np.isnan(z[2]) and np.isfinite(np.delete(z, 2)).all()
