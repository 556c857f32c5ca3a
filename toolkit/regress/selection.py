"""Model selection on time: per-series evaluation, time-series splits, hyper-parameter search, importance.

Design choices (where the issue is silent):

* **Time-series CV** splits on distinct time stamps, not on rows, so every series of a panel
  is cut at the same dates; the validation windows are the last ``n_windows`` blocks of
  ``horizon`` stamps, ``step`` apart, and training ends ``gap`` stamps before each window.
* :func:`evaluate` computes per-series metrics with groupby sums of elementwise errors (no
  per-group Python), on pandas or cuDF. Its non-finite policy is the metrics' one: NaN actuals
  or forecasts are missing (the pair is not scored; ``n`` counts scored pairs), ``inf`` is
  rejected naming the column and a few series keys.
* MASE's scale is the mean absolute ``season``-lag difference of each series' history. With
  ``freq`` the lag is taken on the calendar (a value and the one ``season`` steps earlier;
  a missing period drops the pair), without it on rows, which assumes one row per period.
  :func:`~toolkit.forecast.backtest` passes its forecaster's calendar.
* Bad parameters (unknown metric or window kind, non-integer horizon...) raise
  :class:`~toolkit.errors.DataValidationError` naming the parameter and, for names, the
  valid choices.

Examples
--------
>>> import pandas as pd
>>> from toolkit.regress import evaluate
>>> df = pd.DataFrame({"sku": ["a", "a", "b"], "units": [1.0, None, 2.0], "forecast": [2.0, 3.0, 2.0]})
>>> evaluate(df, id_cols="sku", metrics=("mae",)).per_series[["n", "mae"]].to_dict("index")
{'a': {'n': 1.0, 'mae': 1.0}, 'b': {'n': 1.0, 'mae': 0.0}}
"""

from __future__ import annotations

from collections import namedtuple
from typing import Any, Callable, Sequence

import numpy as np
import pandas as pd
from sklearn.base import clone

from toolkit import backend
from toolkit.errors import DataValidationError
from toolkit.panel import checks, frames, timeaxis
from toolkit.regress.inputs import column_names, host_times, require_fitted
from toolkit.regress.metrics import METRICS

__all__ = ["Evaluation", "evaluate", "time_series_splits", "SearchResult", "search", "permutation_importance"]

Evaluation = namedtuple("Evaluation", ["per_series", "overall"])
SearchResult = namedtuple("SearchResult", ["best_params", "best_score", "best_estimator", "results"])

_EVALUATED = (*METRICS, "mase")


def _ratio(num: Any, den: Any) -> Any:
    """``num / den`` with NaN where ``den`` is 0 (no pairs, no non-zero actuals); Series or scalars."""
    if hasattr(den, "where"):
        return num / den.where(den != 0)
    return float(num) / float(den) if den != 0 else float("nan")


def _metric_table(s: Any, metrics: Sequence[str]) -> dict:
    """Metric columns from the summed error parts ``s`` (per series, or one pooled row)."""
    out = {"n": s["n"]}
    formulas = {
        "mae": lambda: _ratio(s["abs_err"], s["n"]),
        "mse": lambda: _ratio(s["sq_err"], s["n"]),
        "rmse": lambda: _ratio(s["sq_err"], s["n"]) ** 0.5,
        "mape": lambda: _ratio(s["ape"], s["ape_n"]),
        "smape": lambda: _ratio(s["sape"], s["n"]),
        "wape": lambda: _ratio(s["abs_err"], s["abs_y"]),
        "bias": lambda: _ratio(s["err"], s["n"]),
    }
    for m in metrics:
        if m in formulas:
            out[m] = formulas[m]()
    if "inside" in s:
        out["coverage"] = _ratio(s["inside"], s["int_n"])
    return out


def evaluate(
    df: Any,
    target_col: str = "units",
    pred_col: str = "forecast",
    id_cols: str | Sequence[str] = checks.DEFAULT_ID_COLS,
    metrics: Sequence[str] = ("mae", "rmse", "wape", "smape", "bias"),
    train_df: Any = None,
    time_col: str = checks.DEFAULT_TIME_COL,
    season: int = 7,
    lower_col: str | None = None,
    upper_col: str | None = None,
    freq: Any = None,
) -> Evaluation:
    """Per-series and overall forecast metrics from one frame of actuals and forecasts.

    Parameters
    ----------
    df : pandas or cuDF DataFrame
        One row per (series, time) with ``target_col`` (actuals) and ``pred_col``.
    metrics : names among mae, mse, rmse, mape, smape, wape, bias (and "mase", which needs
        ``train_df``: the history before the forecast window, scaled by the in-sample
        ``season``-lag naive MAE of each series).
    lower_col, upper_col : str, optional
        Interval columns, given together; adds ``coverage``.
    freq : str or offset, optional
        Calendar of ``train_df`` for MASE's scale: each value is paired with the value
        ``season`` steps of ``freq`` earlier in its series, so a gap in the history (a missing
        day) leaves pairs out instead of pairing values that are not a season apart. Without
        it the rows of each series, in time order, are taken as consecutive periods.

    Returns
    -------
    Evaluation
        ``per_series`` (frame indexed by ``id_cols``, one column per metric and ``n``) and
        ``overall`` (pandas Series: pooled metrics; ``mase`` is the mean over series).

    Raises
    ------
    DataValidationError
        Not a frame, a missing or non-numeric column, ``inf`` values, an unknown metric,
        ``mase`` without ``train_df``, one interval bound without the other, an unknown ``freq``.

    Examples
    --------
    >>> import pandas as pd
    >>> from toolkit.regress import evaluate
    >>> df = pd.DataFrame({"sku": ["a", "a", "b"], "units": [1.0, 3.0, 2.0], "forecast": [2.0, 3.0, 2.0]})
    >>> evaluate(df, id_cols="sku", metrics=("mae",)).overall["mae"].round(4)
    np.float64(0.3333)
    """
    checks.check_frame(df, dask=False)
    keys = checks.as_list(id_cols)
    metrics = [checks.check_choice("metrics", m, _EVALUATED) for m in checks.as_list(metrics, "metrics")]
    if freq is not None:
        freq = timeaxis.to_offset(freq)
    if (lower_col is None) != (upper_col is None):
        given, missing = ("lower_col", "upper_col") if upper_col is None else ("upper_col", "lower_col")
        raise DataValidationError.for_parameter(missing, f"coverage needs both interval bounds; {given} is "
                                                         f"{lower_col if upper_col is None else upper_col!r}", None)
    values = [target_col, pred_col, *(c for c in (lower_col, upper_col) if c)]
    checks.require_columns(df, [*keys, *values], "for the evaluation")
    checks.require_numeric(df, values, "for the evaluation")
    checks.require_finite(df, values, keys, purpose="for the evaluation")
    if "mase" in metrics:
        if train_df is None:
            raise DataValidationError.for_parameter(
                "train_df", "metric 'mase' needs the history before the forecast window", None)
        season = checks.check_int("season", season, minimum=1)
        checks.check_frame(train_df, "train_df", dask=False)
        checks.require_columns(train_df, [*keys, time_col, target_col], "in train_df for MASE")
        checks.require_numeric(train_df, [target_col], "in train_df for MASE")
        checks.require_finite(train_df, [target_col], keys, purpose="in train_df for MASE")
        if freq is not None:
            checks.require_datetime(train_df, time_col)
    y = df[target_col].astype("float64")
    f = df[pred_col].astype("float64")
    ok = y.notna() & f.notna()
    err = (f - y).where(ok)
    den = y.abs() + f.abs()
    parts = {
        "n": ok.astype("float64"),
        "err": err,
        "abs_err": err.abs(),
        "sq_err": err * err,
        "abs_y": y.abs().where(ok),
        "ape": (err.abs() / y.abs()).where(ok & (y != 0)),
        "ape_n": (ok & (y != 0)).astype("float64"),
        "sape": (2.0 * err.abs() / den.where(den > 0)).fillna(0.0).where(ok),
    }
    if lower_col is not None:
        ok_int = ok & df[lower_col].notna() & df[upper_col].notna()
        inside = (y >= df[lower_col]) & (y <= df[upper_col])
        parts["inside"] = inside.astype("float64").where(ok_int)
        parts["int_n"] = ok_int.astype("float64")
    work = df[keys].assign(**parts)
    sums = work.groupby(keys, observed=True, sort=True).sum()
    columns = _metric_table(sums, metrics)
    per_series = sums.assign(**columns)[list(columns)]
    total = backend.to_host(sums.sum())
    overall = pd.Series({k: float(v) for k, v in _metric_table(total, metrics).items()}, dtype="float64")
    if "mase" in metrics:
        hist = train_df[[*keys, time_col, target_col]].sort_values([*keys, time_col])
        scale = (hist[target_col].astype("float64") - _season_ago(hist, keys, time_col, target_col, season, freq)
                 ).abs().groupby([hist[k] for k in keys], observed=True).mean()
        scale.index.names = keys
        per_series["mase"] = (sums["abs_err"] / sums["n"].where(sums["n"] > 0)) / scale.where(scale > 0)
        overall["mase"] = float(backend.to_host(per_series["mase"]).mean())
    return Evaluation(per_series, overall)


def time_series_splits(
    df: Any,
    time_col: str | None = checks.DEFAULT_TIME_COL,
    n_windows: int = 3,
    horizon: int = 28,
    step: int | None = None,
    gap: int = 0,
    window: str = "expanding",
    train_size: int | None = None,
) -> list[tuple[np.ndarray, np.ndarray]]:
    """Train/validation row positions for backtesting on time, oldest window first.

    The distinct time stamps are ordered; validation window ``i`` is a block of ``horizon``
    stamps, the last one ending at the latest stamp, earlier ones ``step`` stamps apart.
    Training rows are all stamps before the window minus ``gap`` (``expanding``), or the last
    ``train_size`` of those (``sliding``).

    Parameters
    ----------
    df : DataFrame (pandas/cuDF) with ``time_col``, or an array/Series of time stamps (then
        ``time_col=None``).
    n_windows : int >= 1
    horizon : int >= 1
        Stamps per validation window.
    step : int >= 1, optional
        Stamps between window starts (default ``horizon``: adjacent windows).
    gap : int >= 0
        Stamps left out between training and validation.
    window : {"expanding", "sliding"}
    train_size : int, optional
        Training stamps of a sliding window (required for ``sliding``).

    Returns
    -------
    list of (train_positions, valid_positions)
        Host NumPy integer arrays of row positions.

    Examples
    --------
    >>> import numpy as np
    >>> from toolkit.regress import time_series_splits
    >>> [(t.tolist(), v.tolist()) for t, v in time_series_splits(np.arange(6), None, 2, 2)]
    [([0, 1], [2, 3]), ([0, 1, 2, 3], [4, 5])]
    """
    n_windows = checks.check_int("n_windows", n_windows, minimum=1)
    horizon = checks.check_int("horizon", horizon, minimum=1)
    step = horizon if step is None else checks.check_int("step", step, minimum=1)
    gap = checks.check_int("gap", gap, minimum=0)
    window = checks.check_choice("window", window, ("expanding", "sliding"))
    if window == "sliding":
        if train_size is None:
            raise DataValidationError.for_parameter("train_size", "window='sliding' needs train_size", None)
        train_size = checks.check_int("train_size", train_size, minimum=1)
    if time_col is not None:
        checks.check_frame(df, dask=False)
        checks.require_columns(df, [time_col], "for time-series splits")
        checks.require_not_null(df, [time_col], purpose="for time-series splits")
        times = host_times(df[time_col])
    else:
        times = host_times(df, "df")
    if times.ndim != 1:
        raise DataValidationError.for_parameter("df", f"time stamps must be 1-D, got shape {times.shape}")
    stamps = np.unique(times)
    first_valid = len(stamps) - horizon - (n_windows - 1) * step
    if first_valid - gap < 1:
        checks.fail(time_col or "time", f"{len(stamps)} distinct time stamps are too few for {n_windows} windows "
                                        f"of horizon {horizon}, step {step}, gap {gap}")
    codes = np.searchsorted(stamps, times)
    splits = []
    for i in range(n_windows):
        start = first_valid + i * step
        train_end = start - gap
        train_start = max(0, train_end - train_size) if window == "sliding" else 0
        train = np.flatnonzero((codes >= train_start) & (codes < train_end))
        valid = np.flatnonzero((codes >= start) & (codes < start + horizon))
        splits.append((train, valid))
    return splits


def _rows(obj: Any, positions: np.ndarray) -> Any:
    """Rows at ``positions`` of a frame/Series or an array (on its device)."""
    if hasattr(obj, "iloc"):
        return frames.take(obj, positions)
    xp = backend.array_namespace(obj)
    return xp.take(obj, xp.asarray(positions), axis=0)


def _scorer(scoring: Any) -> Callable[[Any, Any], float]:
    if callable(scoring):
        return scoring
    return METRICS[checks.check_choice("scoring", scoring, METRICS)]


def _check_xy(X: Any, y: Any, time: Any) -> np.ndarray:
    """Shapes of ``X``/``y`` (arrays or frames of one length) and the time stamps of the rows."""
    for name, obj in (("X", X), ("y", y)):
        if not hasattr(obj, "shape") or isinstance(obj, (str, bytes)):
            raise DataValidationError.for_parameter(name, f"expected an array or frame, got a {type(obj).__name__}")
    if len(X.shape) != 2:
        raise DataValidationError.for_parameter("X", f"must be 2-D (rows x features), got shape {tuple(X.shape)}")
    n = int(X.shape[0])
    if int(y.shape[0]) != n:
        checks.fail(str(getattr(y, "name", None) or "y"), f"{int(y.shape[0])} values for {n} rows of X")
    times = np.arange(n) if time is None else host_times(time)
    if times.shape[0] != n:
        checks.fail("time", f"{times.shape[0]} time stamps for {n} rows of X")
    return times


def _candidates(model: Any, grid: Any, n_iter: int | None, random_state: int) -> list[dict]:
    from sklearn.model_selection import ParameterGrid, ParameterSampler

    if not hasattr(model, "get_params") or not hasattr(model, "fit"):
        raise DataValidationError.for_parameter("model", "expected a scikit-learn estimator "
                                                         "(get_params, set_params, fit, predict)", model)
    grids = [grid] if isinstance(grid, dict) else grid
    if not isinstance(grids, (list, tuple)) or not grids or not all(isinstance(g, dict) for g in grids):
        raise DataValidationError.for_parameter("grid", "expected a dict (or a list of dicts) of parameter "
                                                        "name -> values", grid)
    known = set(model.get_params(deep=True))
    open_ended = getattr(model, "open_params", False)
    for g in grids:
        for name, values in g.items():
            if not open_ended and name not in known:
                raise DataValidationError.for_parameter("grid", f"unknown parameter of {type(model).__name__}",
                                                        name, sorted(known))
            if isinstance(values, (str, bytes)) or not (hasattr(values, "__iter__") or hasattr(values, "rvs")):
                raise DataValidationError.for_parameter("grid", f"values of {name!r} must be a list "
                                                                "(or a distribution for random search)", values)
    if n_iter is None:
        return list(ParameterGrid(grids))
    n_iter = checks.check_int("n_iter", n_iter, minimum=1)
    return list(ParameterSampler(grids, n_iter, random_state=random_state))


def search(
    model: Any,
    grid: dict | Sequence[dict],
    X: Any,
    y: Any,
    time: Any = None,
    n_windows: int = 3,
    horizon: int = 28,
    step: int | None = None,
    gap: int = 0,
    scoring: Any = "mae",
    n_iter: int | None = None,
    random_state: int = 0,
    refit: bool = True,
) -> SearchResult:
    """Grid (or random) search of hyper-parameters scored on time-series splits.

    Parameters
    ----------
    model : estimator with ``get_params``/``set_params`` (cloned for each fit)
    grid : dict or list of dicts
        Parameter name -> values (lists, or scipy distributions for random search).
    X, y : features and target (arrays or frames of one length)
    time : array-like, optional
        Time stamp of each row (default: row order is time order).
    n_windows, horizon, step, gap : see :func:`time_series_splits`
    scoring : str or callable
        A metric of :data:`~toolkit.regress.METRICS` or ``f(y, yhat) -> float``; lower is better.
    n_iter : int, optional
        Random search over ``n_iter`` draws instead of the full grid.
    refit : bool
        Refit the best parameters on all rows.

    Returns
    -------
    SearchResult
        ``best_params``, ``best_score`` (mean over windows), ``best_estimator`` (refitted or
        None) and ``results`` (pandas frame, one row per candidate, sorted by score).

    Examples
    --------
    >>> import numpy as np
    >>> from toolkit.regress import Ridge, search
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(200, 3)); y = X.sum(axis=1)
    >>> search(Ridge(), {"alpha": [0.001, 1000.0]}, X, y, horizon=20).best_params
    {'alpha': 0.001}
    """
    score = _scorer(scoring)
    candidates = _candidates(model, grid, n_iter, random_state)
    times = _check_xy(X, y, time)
    splits = time_series_splits(times, None, n_windows, horizon, step, gap)
    rows = []
    for params in candidates:
        fold_scores = []
        for train, valid in splits:
            est = clone(model).set_params(**params)
            est.fit(_rows(X, train), _rows(y, train))
            fold_scores.append(score(_rows(y, valid), est.predict(_rows(X, valid))))
        rows.append({"params": params, "score": float(np.mean(fold_scores)),
                     **{f"window_{j}": s for j, s in enumerate(fold_scores)}})
    results = pd.DataFrame(rows).sort_values("score", kind="stable").reset_index(drop=True)
    best = results.loc[0, "params"]
    best_estimator = clone(model).set_params(**best).fit(X, y) if refit else None
    return SearchResult(best, float(results.loc[0, "score"]), best_estimator, results)


def _shuffled(Xv: Any, j: int, perm: np.ndarray) -> Any:
    """``Xv`` with column ``j`` permuted by ``perm`` (frame columns keep their order)."""
    shuffled = Xv.copy()
    if hasattr(Xv, "columns"):
        name = Xv.columns[j]
        column = frames.values(Xv, name)
        shuffled[name] = column[backend.array_namespace(column).asarray(perm)]
    else:
        shuffled[:, j] = Xv[backend.array_namespace(Xv).asarray(perm), j]
    return shuffled


def _season_ago(hist: Any, keys: list[str], time_col: str, target_col: str, season: int, freq: Any) -> Any:
    """The value ``season`` periods before each row of ``hist`` (sorted by series and time) in its series:
    ``season`` rows back without ``freq``; with it, the row ``season`` calendar steps back, NaN when absent."""
    if freq is None:
        return hist.groupby(keys, observed=True)[target_col].shift(season)
    steps, _ = timeaxis.step_index(frames.time_values(hist, time_col), freq)
    xp = frames.namespace(hist)
    here = frames.assign(hist[keys], {"__step": steps, "__row": xp.arange(len(hist))})
    earlier = frames.assign(hist[keys], {"__step": steps + season, "__value": frames.values(hist, target_col)})
    earlier = earlier.drop_duplicates([*keys, "__step"], keep="last")
    found = here.merge(earlier, on=[*keys, "__step"], how="left").sort_values("__row")  # cuDF merges unordered
    return frames.series(hist, frames.values(found, "__value"), index=hist.index)


def permutation_importance(
    model: Any,
    X: Any,
    y: Any,
    time: Any = None,
    valid_size: float | int = 0.2,
    scoring: Any = "mae",
    n_repeats: int = 5,
    random_state: int = 0,
    refit: bool = True,
) -> pd.DataFrame:
    """Increase of the validation error when one feature is shuffled, on a time-based window.

    The validation window is the latest ``valid_size`` of the distinct time stamps (a fraction
    in (0, 1), rounded, at least one stamp; or a count of stamps >= 1). With ``refit`` a clone
    of ``model`` is fitted on the earlier rows first; otherwise ``model`` must already be fitted
    (on data before the window). Each feature, in column order, is shuffled ``n_repeats``
    times within the window, by permutations drawn from
    ``numpy.random.default_rng(random_state)``; the importance is the score of the shuffled
    window minus the unshuffled one.

    Parameters
    ----------
    model : regressor
    X : DataFrame or 2-D array
    y : target
    time : array-like, optional
        Time stamp of each row (default: row order).
    valid_size : float or int
    scoring : str or callable (lower is better)
    n_repeats : int >= 1
    random_state : int

    Returns
    -------
    pandas.DataFrame
        ``feature, importance_mean, importance_std`` sorted by decreasing importance, and the
        unshuffled validation score ``baseline``.

    Examples
    --------
    >>> import numpy as np
    >>> from toolkit.regress import LinearRegression, permutation_importance
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(300, 2)); y = 3 * X[:, 0]
    >>> permutation_importance(LinearRegression(), X, y)["feature"].tolist()
    ['x0', 'x1']
    """
    score = _scorer(scoring)
    n_repeats = checks.check_int("n_repeats", n_repeats, minimum=1)
    valid_size = checks.check_number("valid_size", valid_size, minimum=0.0, low_open=True)
    if valid_size >= 1 and valid_size != int(valid_size):
        raise DataValidationError.for_parameter("valid_size", "a count of time stamps (>= 1) must be whole; "
                                                              "a fraction must be below 1", valid_size)
    if not hasattr(model, "fit") or not hasattr(model, "predict"):
        raise DataValidationError.for_parameter("model", "expected a regressor with fit and predict", model)
    if not refit:
        require_fitted(model)
    times = _check_xy(X, y, time)
    stamps = np.unique(times)
    n_valid = int(valid_size) if valid_size >= 1 else max(1, int(round(len(stamps) * valid_size)))
    if n_valid >= len(stamps):
        raise DataValidationError.for_parameter("valid_size", f"leaves no training time stamps "
                                                              f"({len(stamps)} distinct stamps)", valid_size)
    cut = stamps[len(stamps) - n_valid]
    train, valid = np.flatnonzero(times < cut), np.flatnonzero(times >= cut)
    fitted = clone(model).fit(_rows(X, train), _rows(y, train)) if refit else model
    Xv, yv = _rows(X, valid), _rows(y, valid)
    baseline = score(yv, fitted.predict(Xv))
    names = column_names(X) or [f"x{j}" for j in range(X.shape[1])]
    rng = np.random.default_rng(random_state)
    rows = []
    for j, name in enumerate(names):
        deltas = [score(yv, fitted.predict(_shuffled(Xv, j, rng.permutation(len(valid))))) - baseline
                  for _ in range(n_repeats)]
        rows.append({"feature": name, "importance_mean": float(np.mean(deltas)),
                     "importance_std": float(np.std(deltas)), "baseline": baseline})
    return pd.DataFrame(rows).sort_values("importance_mean", ascending=False, kind="stable").reset_index(drop=True)
