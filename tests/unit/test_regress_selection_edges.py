"""The time split inside ``permutation_importance``, checked on the held-out later slice (issue 19).

The data make the importance on the training slice and on the later slice differ sharply:
``y = 2 x0 + 3 x1`` (plus a little noise) where ``x0`` varies a lot early and hardly late, and
``x1`` the other way round. Rows come in shuffled order with several rows per time stamp, so
only a split on distinct stamps (not on row order, not on rows) puts the right rows on each
side. The importances are compared with

* a hand computation on the right slice (the fit on the stamps before the cut, the
  documented permutations of ``numpy.random.default_rng(random_state)``), to 1e-12, and
* scikit-learn's ``permutation_importance`` on the same fitted model and slice (independent
  permutations, so within a statistical tolerance), which differs by an order of magnitude
  from the importance on the training slice.
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest
from sklearn import linear_model as sklm
from sklearn.inspection import permutation_importance as sk_permutation_importance
from sklearn.metrics import mean_absolute_error

from toolkit import regress as rg
from toolkit.errors import DataValidationError

N_STAMPS, PER_STAMP, LATE = 40, 5, 10  # 200 rows; the last 10 stamps (25%) behave differently


def _shifting_data(seed: int = 0):
    rng = np.random.default_rng(seed)
    stamp = np.repeat(np.arange(N_STAMPS), PER_STAMP)
    late = stamp >= N_STAMPS - LATE
    x0 = np.where(late, 0.05, 3.0) * rng.normal(size=stamp.size)
    x1 = np.where(late, 3.0, 0.05) * rng.normal(size=stamp.size)
    y = 2.0 * x0 + 3.0 * x1 + 0.01 * rng.normal(size=stamp.size)
    order = rng.permutation(stamp.size)  # rows in no particular time order
    dates = pd.Timestamp("2024-01-01") + pd.to_timedelta(stamp[order], unit="D")
    return np.column_stack([x0, x1])[order], y[order], pd.Series(dates), late[order]


def _hand_importance(X, y, time, n_valid_stamps, n_repeats, random_state):
    """Fit on the stamps before the last ``n_valid_stamps``, permute each column of the later rows."""
    stamps = np.unique(time)
    cut = stamps[len(stamps) - n_valid_stamps]
    train, valid = time < cut, time >= cut
    model = sklm.LinearRegression().fit(X[train], y[train])
    Xv, yv = X[valid], y[valid]
    baseline = mean_absolute_error(yv, model.predict(Xv))
    rng = np.random.default_rng(random_state)
    out = {}
    for j in range(X.shape[1]):
        deltas = []
        for _ in range(n_repeats):
            shuffled = Xv.copy()
            shuffled[:, j] = Xv[rng.permutation(len(yv)), j]
            deltas.append(mean_absolute_error(yv, model.predict(shuffled)) - baseline)
        out[j] = (np.mean(deltas), np.std(deltas))
    return out, baseline, model, train, valid


@pytest.mark.parametrize("as_frame", [False, True])
def test_importance_is_scored_on_the_later_time_slice(as_frame):
    X, y, time, late = _shifting_data()
    names = ["early_driver", "late_driver"] if as_frame else ["x0", "x1"]
    Xin = pd.DataFrame(X, columns=names) if as_frame else X
    yin = pd.Series(y, name="units") if as_frame else y
    imp = rg.permutation_importance(rg.LinearRegression(), Xin, yin, time=time, valid_size=0.25, n_repeats=7,
                                    random_state=3)
    hand, baseline, model, train, valid = _hand_importance(X, y, time.to_numpy(), LATE, 7, 3)
    np.testing.assert_array_equal(valid, late)  # the hand split is the later slice
    assert list(imp.columns) == ["feature", "importance_mean", "importance_std", "baseline"]
    assert imp["feature"].tolist() == [names[1], names[0]]  # late driver first
    got = imp.set_index("feature")
    for j, name in enumerate(names):
        assert got.loc[name, "importance_mean"] == pytest.approx(hand[j][0], rel=1e-12, abs=1e-12)
        assert got.loc[name, "importance_std"] == pytest.approx(hand[j][1], rel=1e-12, abs=1e-12)
    np.testing.assert_allclose(imp["baseline"], baseline, rtol=1e-12)

    # scikit-learn on the same model and the later slice (its own permutations)
    later = sk_permutation_importance(model, X[valid], y[valid], scoring="neg_mean_absolute_error", n_repeats=50,
                                      random_state=0)
    np.testing.assert_allclose(got.loc[names, "importance_mean"], later.importances_mean, rtol=0.15)
    # on the training slice the ranking flips by more than an order of magnitude: a split on rows, or
    # scoring the training rows, could not pass the comparisons above
    early = sk_permutation_importance(model, X[train], y[train], scoring="neg_mean_absolute_error", n_repeats=50,
                                      random_state=0)
    assert early.importances_mean[0] > 10 * early.importances_mean[1]
    assert later.importances_mean[1] > 10 * later.importances_mean[0]


def test_without_refit_the_given_model_is_scored_on_the_later_slice():
    X, y, time, late = _shifting_data(1)
    fitted = sklm.LinearRegression().fit(X[~late][:40], y[~late][:40] + 0.5)  # not what a refit would give
    before = fitted.coef_.copy()
    imp = rg.permutation_importance(fitted, X, y, time=time, valid_size=LATE, n_repeats=4, refit=False)
    assert np.array_equal(fitted.coef_, before)  # not refitted
    Xv, yv = X[late], y[late]
    baseline = mean_absolute_error(yv, fitted.predict(Xv))
    rng = np.random.default_rng(0)
    hand = []
    for j in range(2):
        deltas = []
        for _ in range(4):
            shuffled = Xv.copy()
            shuffled[:, j] = Xv[rng.permutation(len(yv)), j]
            deltas.append(mean_absolute_error(yv, fitted.predict(shuffled)) - baseline)
        hand.append(np.mean(deltas))
    got = imp.set_index("feature")["importance_mean"]
    np.testing.assert_allclose([got["x0"], got["x1"]], hand, rtol=1e-12)
    assert imp["baseline"].iloc[0] == pytest.approx(baseline, rel=1e-12)


@pytest.mark.parametrize("valid_size,n_valid", [(1, 1), (1.0, 1), (3, 3), (0.25, 10), (0.01, 1), (0.3, 12)])
def test_valid_size_as_a_count_or_a_fraction_of_distinct_stamps(valid_size, n_valid):
    """A count of stamps (an int, or 1.0), or a fraction of the 40 distinct stamps, rounded, at least one."""
    X, y, time, _ = _shifting_data(2)
    imp = rg.permutation_importance(rg.LinearRegression(), X, y, time=time, valid_size=valid_size, n_repeats=2)
    hand, baseline, _, _, valid = _hand_importance(X, y, time.to_numpy(), n_valid, 2, 0)
    assert valid.sum() == n_valid * PER_STAMP
    assert imp["baseline"].iloc[0] == pytest.approx(baseline, rel=1e-12)
    np.testing.assert_allclose(imp.set_index("feature").loc[["x0", "x1"], "importance_mean"],
                               [hand[0][0], hand[1][0]], rtol=1e-12)


@pytest.mark.parametrize("valid_size", [N_STAMPS, 1.5 * N_STAMPS, 0.999])
def test_a_window_of_every_stamp_is_refused(valid_size):
    X, y, time, _ = _shifting_data(3)
    with pytest.raises(DataValidationError, match="valid_size.*leaves no training time stamps.*40 distinct"):
        rg.permutation_importance(rg.LinearRegression(), X, y, time=time, valid_size=valid_size)


@pytest.mark.parametrize("valid_size", [2.7, 1.5, N_STAMPS + 0.5])
def test_a_fractional_count_of_stamps_is_refused_not_truncated(valid_size):
    """2.7 stamps is neither a count nor a fraction: it was silently cut to 2."""
    X, y, time, _ = _shifting_data(3)
    with pytest.raises(DataValidationError, match="valid_size.*must be whole"):
        rg.permutation_importance(rg.LinearRegression(), X, y, time=time, valid_size=valid_size)


def test_defaults_hold_out_the_last_fifth_with_five_repeats_of_seed_zero():
    X, y, time, _ = _shifting_data(4)
    imp = rg.permutation_importance(rg.LinearRegression(), X, y, time=time)
    hand, baseline, _, _, _ = _hand_importance(X, y, time.to_numpy(), 8, 5, 0)
    np.testing.assert_allclose(imp.set_index("feature").loc[["x0", "x1"], "importance_mean"],
                               [hand[0][0], hand[1][0]], rtol=1e-12)
    np.testing.assert_allclose(imp["baseline"], baseline, rtol=1e-12)


def test_without_time_the_row_order_is_the_time_order():
    X, y, _, _ = _shifting_data(5)
    imp = rg.permutation_importance(rg.LinearRegression(), X, y, valid_size=50, n_repeats=3)
    hand, baseline, _, _, valid = _hand_importance(X, y, np.arange(len(y)), 50, 3, 0)
    assert np.flatnonzero(valid).tolist() == list(range(len(y) - 50, len(y)))
    assert imp["baseline"].iloc[0] == pytest.approx(baseline, rel=1e-12)
    np.testing.assert_allclose(imp.set_index("feature").loc[["x0", "x1"], "importance_mean"],
                               [hand[0][0], hand[1][0]], rtol=1e-12)


def test_one_repeat_is_enough_and_zero_is_refused():
    X, y, time, _ = _shifting_data(6)
    imp = rg.permutation_importance(rg.LinearRegression(), X, y, time=time, n_repeats=1)
    assert np.all(imp["importance_std"] == 0.0)
    with pytest.raises(DataValidationError, match="^parameter 'n_repeats': must be >= 1"):
        rg.permutation_importance(rg.LinearRegression(), X, y, time=time, n_repeats=0)
    for bad in (0, 0.0, -1):
        with pytest.raises(DataValidationError, match="^parameter 'valid_size': must be > 0"):
            rg.permutation_importance(rg.LinearRegression(), X, y, time=time, valid_size=bad)
    with pytest.raises(DataValidationError, match="^parameter 'scoring': unknown value, got 'r2'"):
        rg.permutation_importance(rg.LinearRegression(), X, y, time=time, scoring="r2")


@pytest.mark.parametrize("model", [sklm.LinearRegression, type("FitOnly", (), {"fit": lambda self, X, y: self}),
                                   type("PredictOnly", (), {"predict": lambda self, X: X[:, 0]})])
def test_a_model_needs_fit_and_predict(model):
    X, y, time, _ = _shifting_data(7)
    if model is sklm.LinearRegression:
        assert len(rg.permutation_importance(model(), X, y, time=time, n_repeats=1)) == 2
        return
    with pytest.raises(DataValidationError, match="^parameter 'model': expected a regressor with fit and predict, "
                                                  "got <.*(FitOnly|PredictOnly) object"):
        rg.permutation_importance(model(), X, y, time=time)


# --------------------------------------------------------------------------- evaluate: every metric, every edge


def _scored_panel():
    """Four series: ordinary, with zeros and ones, with a single scored pair, and with nothing scored.

    Categorical keys with an unused category; rows in no particular order.
    """
    rows = [
        # sku, units, forecast, lower, upper
        ("b", 4.0, 5.0, 3.0, 6.0),
        ("b", 2.0, 1.0, 2.0, 3.0),      # actual on the lower bound: inside
        ("b", 6.0, 6.5, 5.0, 6.0),      # actual on the upper bound: inside
        ("b", np.nan, 3.0, 1.0, 2.0),   # missing actual: not scored
        ("b", 3.0, np.nan, 1.0, 4.0),   # missing forecast: not scored
        ("b", 5.0, 2.0, np.nan, 9.0),   # scored, but no interval
        ("a", 0.0, 0.0, 0.0, 1.0),      # both zero: sMAPE term 0, left out of MAPE
        ("a", 0.0, 0.4, -1.0, -0.5),    # zero actual: left out of MAPE, outside the interval
        ("a", 1.0, 0.2, 0.5, 2.0),      # an actual of one (MAPE counts it)
        ("a", 0.2, 0.3, 0.25, 0.4),     # |y| + |f| below one (sMAPE), below the lower bound
        ("c", 2.0, 3.5, 1.0, 3.0),      # the only scored pair of c
        ("d", np.nan, 1.0, 0.0, 2.0),   # d: nothing scored
    ]
    df = pd.DataFrame(rows, columns=["sku", "units", "forecast", "lo", "hi"])
    df["sku"] = pd.Categorical(df["sku"], categories=["d", "c", "b", "a", "unused"])
    df["location"] = "w1"
    return df.iloc[[5, 0, 7, 10, 3, 8, 11, 1, 6, 4, 9, 2]].reset_index(drop=True)


def _hand_metrics(g: pd.DataFrame) -> dict:
    g = g.dropna(subset=["units", "forecast"])
    y, f = g["units"].to_numpy(), g["forecast"].to_numpy()
    e = f - y
    nz = y != 0
    den = np.abs(y) + np.abs(f)
    with np.errstate(invalid="ignore", divide="ignore"):
        both = g.dropna(subset=["lo", "hi"])
        out = {
            "n": float(len(y)),
            "mae": np.mean(np.abs(e)) if len(y) else np.nan,
            "mse": np.mean(e ** 2) if len(y) else np.nan,
            "rmse": np.sqrt(np.mean(e ** 2)) if len(y) else np.nan,
            "mape": np.mean(np.abs(e[nz]) / np.abs(y[nz])) if nz.any() else np.nan,
            "smape": np.mean(np.where(den > 0, 2 * np.abs(e) / np.where(den > 0, den, 1), 0.0)) if len(y) else np.nan,
            "wape": np.abs(e).sum() / np.abs(y).sum() if np.abs(y).sum() else np.nan,
            "bias": np.mean(e) if len(y) else np.nan,
            "coverage": (np.mean((both["units"] >= both["lo"]) & (both["units"] <= both["hi"]))
                         if len(both) else np.nan),
        }
    return out


ALL_METRICS = ("mae", "mse", "rmse", "mape", "smape", "wape", "bias")


def test_evaluate_every_metric_per_series_and_pooled_against_numpy():
    df = _scored_panel()
    ev = rg.evaluate(df, metrics=ALL_METRICS, lower_col="lo", upper_col="hi")
    per = ev.per_series
    assert list(per.columns) == ["n", *ALL_METRICS, "coverage"]
    assert per.index.names == ["sku", "location"]
    assert [k[0] for k in per.index] == ["d", "c", "b", "a"]  # sorted by key, observed categories only
    for sku, g in df.groupby("sku", observed=True):
        hand = _hand_metrics(g)
        row = per.loc[(sku, "w1")]
        for name, value in hand.items():
            np.testing.assert_allclose(row[name], value, rtol=1e-12, err_msg=f"{sku} {name}")
    pooled = _hand_metrics(df)
    assert list(ev.overall.index) == ["n", *ALL_METRICS, "coverage"]
    for name, value in pooled.items():
        np.testing.assert_allclose(ev.overall[name], value, rtol=1e-12, err_msg=name)
    # by hand, so the numpy reference is pinned too
    assert per.loc[("a", "w1"), "mape"] == pytest.approx((0.8 / 1.0 + 0.1 / 0.2) / 2)
    assert per.loc[("a", "w1"), "smape"] == pytest.approx((0 + 2 + 2 * 0.8 / 1.2 + 2 * 0.1 / 0.5) / 4)
    assert per.loc[("b", "w1"), "coverage"] == pytest.approx(3 / 3)
    assert per.loc[("a", "w1"), "coverage"] == pytest.approx(2 / 4)
    assert per.loc[("c", "w1"), "n"] == 1 and per.loc[("c", "w1"), "rmse"] == pytest.approx(1.5)
    assert per.loc[("d", "w1"), "n"] == 0 and per.loc[("d", "w1"), ALL_METRICS].isna().all()


def test_evaluate_pooled_metrics_of_a_single_pair():
    df = pd.DataFrame({"sku": ["a", "a"], "location": "w", "units": [2.0, np.nan], "forecast": [3.5, 1.0]})
    ev = rg.evaluate(df, metrics=ALL_METRICS)
    assert ev.overall["n"] == 1
    np.testing.assert_allclose(ev.overall[list(ALL_METRICS)].to_numpy(dtype=float),
                               [1.5, 2.25, 1.5, 0.75, 3 / 5.5, 0.75, 1.5])


def test_evaluate_pooled_metrics_without_a_denominator_are_nan():
    zeros = pd.DataFrame({"sku": ["a", "b"], "location": "w", "units": [0.0, 0.0], "forecast": [1.0, 0.0]})
    ev = rg.evaluate(zeros, metrics=ALL_METRICS)
    assert np.isnan(ev.overall["mape"]) and np.isnan(ev.overall["wape"])  # no non-zero actual
    assert ev.overall["mae"] == pytest.approx(0.5) and ev.overall["smape"] == pytest.approx(1.0)
    missing = zeros.assign(units=np.nan)
    ev = rg.evaluate(missing, metrics=ALL_METRICS, lower_col="forecast", upper_col="forecast")
    assert ev.overall["n"] == 0 and ev.overall.drop("n").isna().all()
    assert ev.per_series.drop(columns="n").isna().all().all()


@pytest.mark.parametrize("given,missing", [("lower_col", "upper_col"), ("upper_col", "lower_col")])
def test_evaluate_interval_needs_both_bounds(given, missing):
    """One bound alone was silently ignored (no coverage, no word); now the missing one is named."""
    df = _scored_panel()
    with pytest.raises(DataValidationError, match=f"{missing}.*both interval bounds.*{given} is 'lo'"):
        rg.evaluate(df, metrics=("mae",), **{given: "lo"})


def _history():
    """Per series: a history whose lag-2 naive MAE is known; b's is below one; c is constant (scale 0)."""
    rows = [("a", d, v) for d, v in enumerate([1.0, 4.0, 2.0, 8.0, 3.0])]   # |2-1|, |8-4|, |3-2| -> 2
    rows += [("b", d, v) for d, v in enumerate([1.0, 1.0, 1.5, 0.5])]       # |1.5-1|, |0.5-1| -> 0.5
    rows += [("c", d, 5.0) for d in range(4)]
    rows += [("d", d, float(d)) for d in range(3)]                         # |2-0| -> 2
    hist = pd.DataFrame(rows, columns=["sku", "date", "units"]).sample(frac=1, random_state=0)
    hist["location"] = "w1"
    hist["date"] = pd.Timestamp("2024-01-01") + pd.to_timedelta(hist["date"], unit="D")
    return hist


def test_evaluate_mase_scales_by_the_seasonal_naive_error_of_the_history():
    df = _scored_panel()
    ev = rg.evaluate(df, metrics=("mae", "mase"), train_df=_history(), season=2)
    mase = ev.per_series["mase"]
    mae = ev.per_series["mae"]
    assert mase[("a", "w1")] == pytest.approx(mae[("a", "w1")] / np.mean([1.0, 4.0, 1.0]))
    assert mase[("b", "w1")] == pytest.approx(mae[("b", "w1")] / 0.5)  # a scale below one still scales
    assert np.isnan(mase[("c", "w1")])      # constant history: scale 0
    assert np.isnan(mase[("d", "w1")])      # nothing scored
    assert ev.overall["mase"] == pytest.approx((mase[("a", "w1")] + mase[("b", "w1")]) / 2)  # over those with one


@pytest.mark.parametrize("freq,unit", [("D", "D"), ("MS", "MS")])
def test_evaluate_mase_with_freq_pairs_values_a_season_apart_in_time_across_gaps(freq, unit):
    """Gaps in the history: with ``freq`` only values ``season`` calendar steps apart are paired (a plain
    dictionary lookup here); without it rows are paired, and the gap makes it pair values 3 steps apart."""
    rng = np.random.default_rng(5)
    stamps = pd.date_range("2023-01-01", periods=14, freq=unit)
    keep = {"a": [0, 1, 2, 4, 5, 6, 7, 9, 10, 11, 12, 13], "b": [2, 3, 4, 5, 6, 8, 9, 10]}
    hist = pd.concat([pd.DataFrame({"sku": s, "location": "w1", "date": stamps[idx],
                                    "units": rng.gamma(2.0, 3.0, len(idx))})
                      for s, idx in keep.items()]).sample(frac=1, random_state=1)
    df = pd.DataFrame({"sku": ["a", "b"], "location": "w1", "units": [4.0, 6.0], "forecast": [5.0, 3.5]})
    got = rg.evaluate(df, metrics=("mase",), train_df=hist, season=2, freq=freq).per_series["mase"]
    for sku, err in (("a", 1.0), ("b", 2.5)):
        values = dict(zip(hist.loc[hist["sku"] == sku, "date"], hist.loc[hist["sku"] == sku, "units"]))
        pairs = [abs(v - values[stamps[i - 2]]) for i, t in enumerate(stamps) if (v := values.get(t)) is not None
                 and i >= 2 and stamps[i - 2] in values]
        assert got[(sku, "w1")] == pytest.approx(err / np.mean(pairs), rel=1e-12)
    by_rows = rg.evaluate(df, metrics=("mase",), train_df=hist, season=2).per_series["mase"]
    assert by_rows[("a", "w1")] != pytest.approx(got[("a", "w1")])
    ranks = dict(enumerate(stamps, 1))
    regular = hist[hist["sku"] == "a"].assign(date=lambda d: d["date"].rank().astype(int).map(ranks))
    same = [rg.evaluate(df, metrics=("mase",), train_df=regular, season=2, freq=f).per_series["mase"][("a", "w1")]
            for f in (freq, None)]
    assert same[0] == pytest.approx(same[1], rel=1e-12)  # no gap: the two pairings agree


def test_evaluate_refuses_an_unknown_freq():
    with pytest.raises(DataValidationError, match="freq"):
        rg.evaluate(_scored_panel(), metrics=("mase",), train_df=_history(), season=2, freq="fortnightly-ish")


def test_evaluate_mase_of_a_series_with_one_scored_pair_and_the_default_season():
    df = pd.DataFrame({"sku": ["a", "z"], "location": "w1", "units": [3.0, 1.0], "forecast": [5.0, 2.0]})
    hist = pd.DataFrame({"sku": "a", "location": "w1", "date": pd.date_range("2024-01-01", periods=10),
                         "units": [0.0, 1, 2, 3, 4, 5, 6, 10, 11, 12]})
    ev = rg.evaluate(df, metrics=("mase",), train_df=hist)  # season 7: |10-0|, |11-1|, |12-2| -> 10
    assert ev.per_series.loc[("a", "w1"), "mase"] == pytest.approx(2.0 / 10.0)
    assert np.isnan(ev.per_series.loc[("z", "w1"), "mase"])  # z has no history
    assert ev.overall["mase"] == pytest.approx(0.2)


@pytest.mark.parametrize("which", ["df", "train_df"])
def test_evaluate_refuses_dask_frames(which):
    import dask.dataframe as dd

    df = _scored_panel()
    hist = _history()
    args = {"df": df, "train_df": hist}
    args[which] = dd.from_pandas(args[which], npartitions=2)
    with pytest.raises(DataValidationError, match=which):
        rg.evaluate(args["df"], metrics=("mase",), train_df=args["train_df"], season=2)


@pytest.mark.parametrize("season", [0, 1.5])
def test_evaluate_refuses_a_bad_season(season):
    with pytest.raises(DataValidationError, match="season"):
        rg.evaluate(_scored_panel(), metrics=("mase",), train_df=_history(), season=season)


def test_evaluate_season_one_is_the_naive_error():
    ev = rg.evaluate(_scored_panel(), metrics=("mae", "mase"), train_df=_history(), season=1)
    a = ("a", "w1")
    assert ev.per_series.loc[a, "mase"] == pytest.approx(ev.per_series.loc[a, "mae"] / np.mean([3.0, 2.0, 6.0, 5.0]))


# --------------------------------------------------------------------------- time-series splits and search


def _hand_splits(n_stamps, n_windows, horizon, step, gap, train_size=None):
    """Stamp ranges (train_start, train_end, valid_start, valid_end) of each window, oldest first."""
    out = []
    for i in range(n_windows):
        valid_end = n_stamps - (n_windows - 1 - i) * step
        valid_start = valid_end - horizon
        train_end = valid_start - gap
        train_start = 0 if train_size is None else max(0, train_end - train_size)
        out.append((train_start, train_end, valid_start, valid_end))
    return out


@pytest.mark.parametrize("n_windows,horizon,step,gap,train_size", [
    (3, 4, 3, 2, None), (3, 4, 3, 2, 5), (2, 2, 5, 0, 30), (1, 3, None, 1, None), (4, 1, 2, 3, 1)])
def test_time_series_splits_of_a_shuffled_panel_match_a_hand_count_of_stamps(n_windows, horizon, step, gap,
                                                                              train_size):
    n_stamps = 30
    stamps = pd.date_range("2024-01-01", periods=n_stamps, freq="W-MON")
    df = pd.DataFrame({"sku": np.repeat(["a", "b"], n_stamps), "day": np.tile(stamps, 2)}).sample(frac=1,
                                                                                                 random_state=1)
    window = "expanding" if train_size is None else "sliding"
    splits = rg.time_series_splits(df, "day", n_windows, horizon, step, gap, window, train_size)
    code = np.searchsorted(stamps, df["day"].to_numpy())
    hand = _hand_splits(n_stamps, n_windows, horizon, step or horizon, gap, train_size)
    assert len(splits) == n_windows
    for (train, valid), (t0, t1, v0, v1) in zip(splits, hand):
        assert train.dtype.kind == "i" and valid.dtype.kind == "i"
        np.testing.assert_array_equal(train, np.flatnonzero((code >= t0) & (code < t1)))
        np.testing.assert_array_equal(valid, np.flatnonzero((code >= v0) & (code < v1)))
        assert len(valid) == 2 * horizon


def test_time_series_splits_defaults():
    times = np.arange(100)
    splits = rg.time_series_splits(pd.DataFrame({"date": times}))
    hand = _hand_splits(100, 3, 28, 28, 0)
    assert [(t.min(), t.max() + 1, v.min(), v.max() + 1) for t, v in splits] == hand


@pytest.mark.parametrize("gap", [0, 2])
def test_time_series_splits_need_one_training_stamp(gap):
    """3 windows of 4 stamps, step 2, ``gap``: ``4 + 2 * 2 + gap + 1`` stamps are just enough."""
    enough = 4 + 2 * 2 + gap + 1
    (train, _), *_ = rg.time_series_splits(np.arange(enough), None, 3, 4, 2, gap)
    assert train.tolist() == [0]
    with pytest.raises(DataValidationError, match=f"'time'.*{enough - 1} distinct time stamps are too few"):
        rg.time_series_splits(np.arange(enough - 1), None, 3, 4, 2, gap)
    frame = pd.DataFrame({"day": np.arange(enough - 1)})
    with pytest.raises(DataValidationError, match="'day'.*too few"):
        rg.time_series_splits(frame, "day", 3, 4, 2, gap)


def test_time_series_splits_smallest_parameters_are_accepted():
    splits = rg.time_series_splits(np.arange(5), None, n_windows=1, horizon=1, step=1, gap=0, window="sliding",
                                   train_size=1)
    assert [(t.tolist(), v.tolist()) for t, v in splits] == [([3], [4])]


def test_time_series_splits_refuse_bad_stamps_and_frames():
    import dask.dataframe as dd

    with pytest.raises(DataValidationError, match="'df'.*1-D"):
        rg.time_series_splits(np.arange(20).reshape(10, 2), None, 1, 2)
    frame = pd.DataFrame({"day": pd.date_range("2024-01-01", periods=20)})
    with pytest.raises(DataValidationError, match=r"^column 'day': missing values \(needed for time-series splits\)"):
        rg.time_series_splits(frame.assign(day=frame["day"].where(frame.index != 3)), "day", 1, 2)
    with pytest.raises(DataValidationError, match=r"^column 'day': missing \(needed for time-series splits\)"):
        rg.time_series_splits(frame.rename(columns={"day": "when"}), "day", 1, 2)
    with pytest.raises(DataValidationError, match="df"):
        rg.time_series_splits(dd.from_pandas(frame, npartitions=2), "day", 1, 2)


class _Mean:
    """A tiny estimator: predicts ``shrink * mean(y_train) + X @ w`` (parameters ``shrink`` and ``w``)."""

    def __init__(self, shrink=1.0, w=0.0):
        self.shrink, self.w = shrink, w

    def get_params(self, deep=True):
        return {"shrink": self.shrink, "w": self.w}

    def set_params(self, **params):
        for key, value in params.items():
            setattr(self, key, value)
        return self

    def fit(self, X, y):
        self.level_ = self.shrink * float(np.mean(y))
        self.n_fit_ = len(y)
        self.X_seen_ = (type(X).__name__, np.shape(X))
        return self

    def predict(self, X):
        return self.level_ + np.asarray(X)[:, 0] * self.w


def test_search_scores_every_candidate_on_the_time_windows_by_hand():
    rng = np.random.default_rng(3)
    n = 60
    time = rng.permutation(np.repeat(np.arange(30), 2))  # two rows per stamp, in no order
    X = rng.normal(size=(n, 2))
    y = 5.0 + 2.0 * X[:, 0] + 0.1 * time + rng.normal(scale=0.5, size=n)
    grid = [{"shrink": [0.5, 1.0], "w": [0.0]}, {"shrink": [1.0], "w": [2.0, 1.0]}]
    res = rg.search(_Mean(), grid, X, y, time=time, n_windows=3, horizon=4, step=3, gap=1, scoring="mae")
    hand = []
    for params in [{"shrink": 0.5, "w": 0.0}, {"shrink": 1.0, "w": 0.0}, {"shrink": 1.0, "w": 2.0},
                   {"shrink": 1.0, "w": 1.0}]:
        scores = []
        for t0, t1, v0, v1 in _hand_splits(30, 3, 4, 3, 1):
            train, valid = (time >= t0) & (time < t1), (time >= v0) & (time < v1)
            model = _Mean(**params).fit(X[train], y[train])
            scores.append(mean_absolute_error(y[valid], model.predict(X[valid])))
        hand.append((params, np.mean(scores), scores))
    hand.sort(key=lambda h: h[1])
    assert list(res.results.columns) == ["params", "score", "window_0", "window_1", "window_2"]
    assert isinstance(res.results.index, pd.RangeIndex)
    assert res.results["params"].tolist() == [h[0] for h in hand]
    np.testing.assert_allclose(res.results["score"], [h[1] for h in hand], rtol=1e-12)
    np.testing.assert_allclose(res.results[["window_0", "window_1", "window_2"]], [h[2] for h in hand], rtol=1e-12)
    assert res.best_params == hand[0][0] and res.best_score == pytest.approx(hand[0][1], rel=1e-12)
    assert res.best_estimator.n_fit_ == n and res.best_estimator.get_params() == hand[0][0]  # refit on every row
    assert res.best_estimator.X_seen_ == ("ndarray", (n, 2))


def test_search_and_importance_hand_frames_to_the_model_as_frames():
    rng = np.random.default_rng(4)
    X = pd.DataFrame(rng.normal(size=(60, 2)), columns=["price", "promo"])
    y = pd.Series(rng.normal(size=60), name="units")
    seen = []

    class FrameOnly(_Mean):
        def fit(self, X, y):
            seen.append((type(X).__name__, type(y).__name__))
            return super().fit(X, y)

        def predict(self, X):
            seen.append((type(X).__name__, list(X.columns)))
            return super().predict(X)

    rg.search(FrameOnly(), {"shrink": [1.0]}, X, y, horizon=5, n_windows=2)
    rg.permutation_importance(FrameOnly(), X, y, n_repeats=1)
    assert seen and all(kind[0] == "DataFrame" for kind in seen)
    assert all(kind[1] in ("Series", ["price", "promo"]) for kind in seen)


def test_search_ties_keep_the_grid_order_and_callable_scoring():
    X = np.zeros((40, 1))
    y = np.arange(40.0)
    calls = []

    def constant(y_true, y_pred):
        calls.append(len(y_true))
        return 1.0

    res = rg.search(_Mean(), {"shrink": [3.0, 1.0, 2.0]}, X, y, horizon=5, scoring=constant, refit=False)
    assert [p["shrink"] for p in res.results["params"]] == [3.0, 1.0, 2.0]
    assert res.best_params == {"shrink": 3.0} and res.best_estimator is None
    assert calls == [5] * 9  # 3 candidates x 3 windows of 5 rows


def test_random_search_draws_like_scikit_learn_parameter_sampler():
    from scipy.stats import uniform
    from sklearn.model_selection import ParameterSampler

    X, y = np.zeros((60, 1)), np.arange(60.0)
    grid = {"shrink": uniform(0.0, 2.0), "w": [0.0, 1.0]}
    for n_iter, seed in [(1, 0), (4, 7)]:
        res = rg.search(_Mean(), grid, X, y, horizon=5, n_iter=n_iter, random_state=seed, refit=False)
        drawn = list(ParameterSampler(grid, n_iter, random_state=seed))
        assert sorted(map(str, res.results["params"])) == sorted(map(str, drawn))
    default_seed = rg.search(_Mean(), grid, X, y, horizon=5, n_iter=3, refit=False)
    assert sorted(map(str, default_seed.results["params"])) == sorted(map(str, ParameterSampler(grid, 3,
                                                                                                random_state=0)))


def test_search_defaults_three_windows_of_28():
    X, y = np.zeros((100, 1)), np.arange(100.0)
    res = rg.search(_Mean(), {"shrink": [1.0]}, X, y, scoring="bias")
    hand = [np.mean(y[v0:v1]) - np.mean(y[:t1]) for _, t1, v0, v1 in _hand_splits(100, 3, 28, 28, 0)]
    np.testing.assert_allclose(res.results[["window_0", "window_1", "window_2"]].to_numpy()[0], -np.array(hand))
    assert res.best_estimator is not None and res.best_estimator.n_fit_ == 100


@pytest.mark.parametrize("grid,match", [
    ({"shrink": "abc"}, "grid.*values of 'shrink' must be a list"),
    ({"shrink": 3.0}, "grid.*values of 'shrink' must be a list"),
    ([], "grid.*expected a dict"),
    ([{"shrink": [1.0]}, "w"], "grid.*expected a dict"),
    ("shrink", "grid.*expected a dict"),
    ({"nope": [1]}, "grid.*unknown parameter of _Mean.*nope"),
])
def test_search_names_a_bad_grid(grid, match):
    with pytest.raises(DataValidationError, match=match):
        rg.search(_Mean(), grid, np.zeros((60, 1)), np.arange(60.0), horizon=5)


def test_search_open_models_take_any_parameter_and_models_need_fit():
    X, y = np.random.default_rng(0).normal(size=(80, 2)), np.arange(80.0)
    res = rg.search(rg.make_model("ridge"), {"alpha": [0.1, 10.0]}, X, y, horizon=10, refit=False)
    assert len(res.results) == 2  # "alpha" is not among get_params() of a Model: accepted as open
    no_fit = type("NoFit", (), {"get_params": lambda self, deep=True: {}})()
    with pytest.raises(DataValidationError, match="model.*scikit-learn estimator"):
        rg.search(no_fit, {}, X, y, horizon=10)
    with pytest.raises(DataValidationError, match="n_iter"):
        rg.search(_Mean(), {"shrink": [1.0]}, X, y, horizon=10, n_iter=0)


@pytest.mark.parametrize("X,y,time,match", [
    (np.zeros((10, 2)), np.zeros(9), None, "^column 'y': 9 values for 10 rows"),
    (np.zeros((10, 2)), pd.Series(np.zeros(9), name="units"), None, "^column 'units': 9 values for 10 rows"),
    (np.zeros(10), np.zeros(10), None, "'X'.*2-D"),
    ("abc", np.zeros(10), None, "'X'.*array or frame"),
    (np.zeros((10, 2)), [0.0] * 10, None, "^parameter 'y': expected an array or frame, got a list"),
    (np.zeros((10, 2)), np.zeros(10), np.arange(9), "'time'.*9 time stamps for 10 rows"),
])
def test_search_and_importance_name_mismatched_inputs(X, y, time, match):
    with pytest.raises(DataValidationError, match=match):
        rg.search(_Mean(), {"shrink": [1.0]}, X, y, time=time, horizon=2, n_windows=1)
    with pytest.raises(DataValidationError, match=match):
        rg.permutation_importance(_Mean(), X, y, time=time)


def _tiny():
    df = pd.DataFrame({"sku": ["a", "b"], "location": "w", "units": [1.0, 2.0], "forecast": [1.0, 3.0]})
    hist = pd.DataFrame({"sku": ["a", "a", "b"], "location": "w", "date": pd.date_range("2024-01-01", periods=3),
                         "units": [1.0, 2.0, 3.0]})
    return df, hist


@pytest.mark.parametrize("change,message", [
    (lambda df, h: ({"df": df.drop(columns="forecast")}), r"^column 'forecast': missing \(needed for the evaluation\)"),
    (lambda df, h: ({"df": df.assign(forecast=["x", "y"])}), r"^column 'forecast': must be numeric.*\(needed for the evaluation\)"),
    (lambda df, h: ({"df": df.assign(forecast=[1.0, np.inf])}),
     r"^column 'forecast': infinite values \(needed for the evaluation\).*\('b', 'w'\)"),
    (lambda df, h: ({"metrics": ("mae", "r2")}), r"^parameter 'metrics': unknown value, got 'r2'; choose from"),
    (lambda df, h: ({"metrics": 5}), r"^parameter 'metrics': expected a column name"),
    (lambda df, h: ({"metrics": ("mase",), "train_df": None}),
     r"^parameter 'train_df': metric 'mase' needs the history before the forecast window, got None$"),
    (lambda df, h: ({"metrics": ("mase",), "season": 0}), r"^parameter 'season': must be >= 1"),
    (lambda df, h: ({"metrics": ("mase",), "train_df": [1, 2]}), r"^parameter 'train_df': expected an in-memory"),
    (lambda df, h: ({"metrics": ("mase",), "train_df": h.drop(columns="date")}),
     r"^column 'date': missing \(needed in train_df for MASE\)"),
    (lambda df, h: ({"metrics": ("mase",), "train_df": h.assign(units=["x", "y", "z"])}),
     r"^column 'units': must be numeric.*\(needed in train_df for MASE\)"),
    (lambda df, h: ({"metrics": ("mase",), "train_df": h.assign(units=[1.0, np.inf, 2.0])}),
     r"^column 'units': infinite values \(needed in train_df for MASE\).*\('a', 'w'\)"),
])
def test_evaluate_errors_name_the_input_and_what_it_is_needed_for(change, message):
    df, hist = _tiny()
    args = {"df": df, "metrics": ("mae",), "train_df": hist, "season": 1, **change(df, hist)}
    with pytest.raises(DataValidationError, match=message):
        rg.evaluate(args.pop("df"), **args)


@pytest.mark.parametrize("kwargs,message", [
    ({"n_windows": 0}, "^parameter 'n_windows': must be >= 1"),
    ({"horizon": 0}, "^parameter 'horizon': must be >= 1"),
    ({"step": 0}, "^parameter 'step': must be >= 1"),
    ({"gap": -1}, "^parameter 'gap': must be >= 0"),
    ({"window": "rolling"}, "^parameter 'window': unknown value, got 'rolling'; choose from"),
    ({"window": "sliding"}, "^parameter 'train_size': window='sliding' needs train_size"),
    ({"window": "sliding", "train_size": 0}, "^parameter 'train_size': must be >= 1"),
])
def test_time_series_splits_name_each_bad_parameter_and_its_range(kwargs, message):
    with pytest.raises(DataValidationError, match=message):
        rg.time_series_splits(np.arange(50), None, **{"n_windows": 2, "horizon": 3, **kwargs})


def test_search_messages_in_full_and_nested_parameters():
    from sklearn.compose import TransformedTargetRegressor

    X, y = np.random.default_rng(0).normal(size=(60, 2)), np.arange(60.0)
    no_fit = type("NoFit", (), {"get_params": lambda self, deep=True: {}})()
    cases = [
        (no_fit, {}, re.escape("parameter 'model': expected a scikit-learn estimator (get_params, set_params, fit, "
                               "predict), got <") + ".*NoFit object"),
        (_Mean(), [], re.escape("parameter 'grid': expected a dict (or a list of dicts) of parameter name -> values, "
                                "got []")),
        (_Mean(), {"nope": [1]}, re.escape("parameter 'grid': unknown parameter of _Mean, got 'nope'; choose from "
                                           "['shrink', 'w']")),
    ]
    for model, grid, message in cases:
        with pytest.raises(DataValidationError, match=f"^{message}"):
            rg.search(model, grid, X, y, horizon=5)
    nested = rg.search(TransformedTargetRegressor(regressor=sklm.Ridge()), {"regressor__alpha": [0.1, 10.0]}, X, y,
                       horizon=5, refit=False)  # a parameter of the inner estimator (get_params(deep=True))
    assert len(nested.results) == 2
    with pytest.raises(DataValidationError, match="^parameter 'df': expected an array or Series of time stamps"):
        rg.time_series_splits("abc", None)
