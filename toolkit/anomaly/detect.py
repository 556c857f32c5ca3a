"""``detect``: score the rows of a frame, per group if asked, and flag them without labels.

Flow: check the arguments and columns (before any work), lay the rows out once with
:class:`toolkit.panel.SeriesLayout` (by ``id_cols``, then time), let each method's registry
entry (:mod:`toolkit.anomaly.registry`) score the sorted arrays, threshold them, and put
``anomaly_score``, ``is_anomaly`` and ``anomaly_rank`` back in the input's row order with
:func:`toolkit.panel.assign`. pandas in, pandas out; cuDF in, cuDF out; Dask in, lazy Dask out.

Per-group fits (``id_cols``): tabular rules and ECOD/COPOD run as segment kernels over all
groups at once (no Python loop over groups). Detectors without a batched form (iforest, knn,
lof, hbos, pca, autoencoder) are fitted group by group; on a Dask frame the series-whole
partitions of :func:`toolkit.panel.per_series` run in parallel, which is the path for many
groups.

Thresholds (``threshold=``, see :mod:`toolkit.anomaly.thresholds`) without labels:
``"contamination"`` (PyOD's quantile), ``"mad"`` (median + k scaled MAD of the scores, the
default for learnt detectors), ``"rule"`` (the rule's own cut: robust z > 3.5, IQR score >
1.5, Hampel |z| > 3, the ESD test's verdict; the default for a single rule) and ``"budget"``
(the ``budget`` highest scores per ``budget_by`` group, per day by default).

Ensembles (``method=[...]``) standardise each method's scores (z-score per group, PyOD's
``standardizer`` convention) and combine them by mean or max before thresholding.

Input policy (the same for every detector, as :class:`~toolkit.anomaly.ECOD` and PyOD's
``fit``): an ``inf`` in ``cols`` is refused with a
:class:`~toolkit.errors.DataValidationError` naming the column and a few keys, since one
infinite value decides every threshold and ensemble z-score of its group. NaN is missing:
rows with a NaN in ``cols`` are not used to fit and get a NaN score (never flagged), except
for the time-series rules, which skip NaN inside their windows. Missing keys or timestamps
are refused (a row must belong to one series); rows are never dropped.

Examples
--------
>>> import numpy as np, pandas as pd
>>> from toolkit.anomaly import detect
>>> rng = np.random.default_rng(0)
>>> df = pd.DataFrame({"sku": np.repeat(["a", "b"], 50), "units": rng.normal(10, 1, 100)})
>>> df.loc[7, "units"] = 40.0
>>> out = detect(df, "units", method="robust_z", id_cols="sku")
>>> out.loc[out["is_anomaly"]].index.tolist()
[7]
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Any, Sequence

from toolkit import panel
from toolkit.anomaly.registry import METHODS, DetectorInfo, lookup
from toolkit.anomaly.scoring import check_contamination
from toolkit.anomaly.thresholds import THRESHOLDS, flag_segments, segment_threshold
from toolkit.backend import is_dask
from toolkit.errors import DataValidationError
from toolkit.kernels.segments import segment_rank, segment_sum, standardize

__all__ = ["detect", "DetectionPlan", "OUTPUT_COLUMNS", "COMBINE"]

OUTPUT_COLUMNS = ("anomaly_score", "is_anomaly", "anomaly_rank")
COMBINE = ("mean", "max")


@dataclass(frozen=True)
class DetectionPlan:
    """The checked arguments of one :func:`detect` call: methods, threshold rule and parameters."""

    infos: tuple[DetectorInfo, ...]
    how: str
    contamination: float | None
    k: float
    budget: int | None
    combine: str
    params: dict
    progress: bool

    @property
    def series(self) -> bool:
        """Whether a per-series rule (rows in time order, one row per time) is among the methods."""
        return any(info.is_series for info in self.infos)

    @property
    def fit_contamination(self) -> float:
        """Contamination passed to detectors (PyOD's default 0.1 when none was given)."""
        return self.contamination if self.contamination is not None else 0.1

    @classmethod
    def build(cls, method: Any, contamination: Any, threshold: Any, k: Any, budget: Any, combine: Any,
              random_state: Any, progress: Any, params: dict, n_features: int) -> "DetectionPlan":
        """Check every argument of :func:`detect` that does not need the data."""
        names = [method] if isinstance(method, str) else method
        if isinstance(names, (bytes, dict)) or not isinstance(names, Sequence) or not names:
            raise DataValidationError.for_parameter("method", "expected a method name or a non-empty list of them",
                                                    method)
        infos = tuple(lookup(m, "method") for m in names)
        if contamination is not None:
            contamination = check_contamination(contamination)
        how = threshold if threshold is not None else _default_threshold(infos, contamination, budget)
        how = panel.check_choice("threshold", how, THRESHOLDS)
        if how == "contamination" and contamination is None:
            raise DataValidationError.for_parameter("contamination", "threshold='contamination' needs a value in "
                                                                     "(0, 0.5]", None)
        if how == "rule" and (len(infos) > 1 or not infos[0].has_rule):
            raise DataValidationError.for_parameter("threshold", "'rule' needs a single method with a rule of its "
                                                                 "own", [i.name for i in infos], _rule_methods())
        if how == "budget":
            budget = panel.check_int("budget", budget, minimum=1)
        k = panel.check_number("k", k, 0.0)
        combine = panel.check_choice("combine", combine, COMBINE)
        if random_state is not None:
            random_state = panel.check_int("random_state", random_state, minimum=0)
        accepted = sorted({p for info in infos for p in info.parameters()} - {"random_state"})
        unknown = sorted(p for p in params if p not in accepted)
        if unknown:
            raise DataValidationError.for_parameter(
                unknown[0], f"not a parameter of method(s) {[i.name for i in infos]}", params[unknown[0]],
                accepted or None)
        params = {**params, "random_state": random_state}
        for info in infos:  # run the parameter checks and the row rules now, before any work
            info.own_params(params)
            info.rows_needed(params, n_features)
        return cls(infos, how, contamination, k, budget, combine, params, bool(progress))


def _rule_methods() -> list[str]:
    return [m for m in METHODS if lookup(m).has_rule]


def _default_threshold(infos: tuple[DetectorInfo, ...], contamination: float | None, budget: Any) -> str:
    if contamination is not None:
        return "contamination"
    if budget is not None:
        return "budget"
    if len(infos) == 1 and infos[0].has_rule:
        return "rule"
    return "mad"


# --------------------------------------------------------------------------- in memory
def _matrix(df: Any, cols: list[str]) -> Any:
    xp = panel.namespace(df)
    return xp.stack([panel.values(df, c) for c in cols], axis=1)


def _check_values(df: Any, X: Any, cols: list[str], shown: list[str], strict: bool) -> None:
    """``inf`` refused in every frame or partition; empty, all-NaN and constant columns in a whole frame."""
    xp = panel.namespace(df)
    if strict:
        panel.require_not_empty(df, "to detect anomalies in", cols[0])
    for j, col in enumerate(cols):
        where = xp.nonzero(xp.isinf(X[:, j]))[0]
        if int(where.shape[0]):
            panel.fail(col, "infinite values; detectors need finite numbers (NaN is treated as missing): replace "
                            "or drop them first", int(where.shape[0]), panel.examples(df, where, shown or [col]))
        if not strict:
            continue
        present = X[:, j][~xp.isnan(X[:, j])]
        if not int(present.shape[0]):
            panel.fail(col, f"all {X.shape[0]} values are NaN")
        if bool(xp.min(present) == xp.max(present)):
            panel.fail(col, f"constant (every one of {int(present.shape[0])} non-NaN values is equal); it carries no "
                            "signal, leave it out of cols")


def _check_group_sizes(df: Any, layout: Any, first_sorted: Any, bounds: Any, need: int, info: DetectorInfo,
                       col: str, keys: list[str]) -> None:
    """Raise when a group has fewer usable rows than the method needs, naming a few groups."""
    xp = layout.xp
    sizes = bounds[1:] - bounds[:-1]
    small = xp.nonzero(sizes < need)[0]
    if not int(small.shape[0]):
        return
    rows = int(xp.sum(xp.take(sizes, small)))
    groups = panel.examples(df, layout.input_rows(xp.take(first_sorted, small)), keys) if keys else None
    panel.fail(col, f"method {info.name!r} needs at least {need} rows with values per group; "
                    f"{int(small.shape[0])} group(s) of {keys or 'the frame'} have fewer", rows, groups)


def _score(df: Any, Xs: Any, layout: Any, info: DetectorInfo, plan: DetectionPlan, cols: list[str],
           keys: list[str]) -> tuple[Any, Any]:
    """One method's scores (and rule verdict) of the layout-sorted rows ``Xs``."""
    xp = layout.xp
    need = info.rows_needed(plan.params, len(cols))
    if info.is_series:  # every row, NaN included, in time order
        _check_group_sizes(df, layout, layout.starts, layout.bounds, need, info, cols[0], keys)
        return info.score(Xs, layout.bounds, plan.params, plan.fit_contamination, plan.progress)
    valid = ~xp.any(xp.isnan(Xs), axis=1)
    idx = xp.nonzero(valid)[0]
    score = xp.full((Xs.shape[0],), xp.nan, dtype=xp.float64)
    if not int(idx.shape[0]):
        return score, None
    counts = xp.astype(segment_sum(xp.astype(valid, xp.float64), layout.bounds), xp.int64)
    kept = counts[counts > 0]  # groups without a usable row are left unscored
    bounds = xp.concat([xp.zeros(1, dtype=xp.int64), xp.cumulative_sum(kept)])
    _check_group_sizes(df, layout, xp.take(idx, bounds[:-1]), bounds, need, info, cols[0], keys)
    sub, _ = info.score(xp.take(Xs, idx, axis=0), bounds, plan.params, plan.fit_contamination, plan.progress)
    score[idx] = sub
    return score, None


def _with_outputs(df: Any, score: Any, flag: Any, rank: Any | None) -> Any:
    columns = {"anomaly_score": score, "is_anomaly": flag}
    if rank is not None:
        columns["anomaly_rank"] = rank
    return panel.assign(df, columns)


def _detect_frame(df: Any, cols: list[str], keys: list[str], time_col: str | None, budget_by: list[str],
                  plan: DetectionPlan, strict: bool = True) -> Any:
    """:func:`detect` on an in-memory frame (or one series-whole Dask partition, ``strict=False``)."""
    xp = panel.namespace(df)
    if not strict and len(df) == 0:
        empty = xp.zeros(0, dtype=xp.float64)
        return _with_outputs(df, empty, xp.zeros(0, dtype=xp.bool), empty)
    X = _matrix(df, cols)
    _check_values(df, X, cols, [*keys, *([time_col] if time_col else [])], strict)
    layout = panel.SeriesLayout.from_frame(df, keys, time_col, unique=plan.series)
    Xs = layout.gather(X)
    scores, verdict = [], None
    for info in plan.infos:
        s, verdict = _score(df, Xs, layout, info, plan, cols, keys)
        scores.append(s)
    if len(scores) == 1:
        combined = scores[0]
    else:
        z = xp.stack([standardize(s, layout.bounds) for s in scores], axis=1)
        combined = _combine(xp, z, plan.combine)
    if plan.how == "budget" and budget_by != keys:
        by_budget = panel.SeriesLayout.from_frame(df, budget_by, None, unique=False)
        flags_in = by_budget.scatter(flag_segments(by_budget.gather(layout.scatter(combined)), by_budget.bounds,
                                                   "budget", budget=plan.budget))
        flags = layout.gather(flags_in)
    elif plan.how == "rule" and verdict is not None:
        flags = verdict & ~xp.isnan(combined)
    else:
        flags = flag_segments(combined, layout.bounds, plan.how, contamination=plan.contamination, k=plan.k,
                              budget=plan.budget, cut=plan.infos[0].rule_cut)
    rank = segment_rank(combined, layout.bounds)
    return _with_outputs(df, layout.scatter(combined), layout.scatter(flags), layout.scatter(rank))


def detect(df: Any, cols: str | Sequence[str], method: str | Sequence[str] = "ecod",
           contamination: float | None = None, id_cols: str | Sequence[str] | None = None, *,
           threshold: str | None = None, k: float = 3.0, budget: int | None = None,
           budget_by: str | Sequence[str] | None = None, combine: str = "mean", time_col: str = "date",
           sample: int = 100_000, random_state: int = 0, progress: bool = True, **params: Any) -> Any:
    """Score rows for anomalies and flag them; per group when ``id_cols`` is given.

    Parameters
    ----------
    df : pandas, cuDF or Dask DataFrame
    cols : str or list of str
        Numeric feature columns; ``inf`` is refused, NaN is missing (see the module docstring).
    method : str or list of str, default "ecod"
        A name of :data:`toolkit.anomaly.registry.METHODS`: ``ecod, copod, robust_z, iqr,
        hampel, seasonal_esd, iforest, hbos, knn, lof, pca, autoencoder`` or one registered
        since; a list makes a standardised-score ensemble.
    contamination : float in (0, 0.5], optional
        When given (and ``threshold`` is not), flags the top share of each group.
    id_cols : str or list of str, optional
        Fit and threshold each group separately (None: one fit over all rows).
    threshold : {"contamination", "mad", "rule", "budget"}, optional
        Default: "contamination" if ``contamination`` is given, else "budget" if ``budget`` is,
        else "rule" for a single rule method, else "mad".
    k : float >= 0, default 3.0
        Multiplier of the scaled MAD for ``threshold="mad"``.
    budget : int >= 1, optional
        Alerts per ``budget_by`` group for ``threshold="budget"``.
    budget_by : str or list of str, optional
        Groups sharing one budget; default ``time_col`` (top ``budget`` per day) when present,
        else ``id_cols``.
    combine : {"mean", "max"}
        How an ensemble combines standardised scores.
    time_col : str, default "date"
        Orders rows of each series (needed by hampel and seasonal_esd, which also need one
        row per series and time); used when present, ignored by tabular methods otherwise.
    sample : int, default 100_000
        Dask frames without ``id_cols``: rows sampled to fit the detector before every
        partition is scored.
    random_state : int, default 0
        Seed of that sample and of every detector that takes one (iforest, autoencoder, pca).
    progress : bool, default True
        Progress bar over groups when a detector is fitted group by group.
    **params
        Detector parameters (``n_neighbors``, ``half_window`` for hampel, ``period``,
        ``max_anomalies``, ``alpha`` for seasonal_esd, ...); a name no chosen method takes is
        refused, listing those they take.

    Returns
    -------
    frame
        ``df`` with ``anomaly_score`` (float64, higher is more abnormal; the z-combined score
        for ensembles), ``is_anomaly`` (bool) and ``anomaly_rank`` (1 = most abnormal in its
        group, ties in time order, NaN when unscored); groups are fitted with their rows in time
        order when ``time_col`` is present. A Dask result without ``id_cols`` carries no rank (it
        would need a global sort; use ``nlargest``).

    Raises
    ------
    DataValidationError
        Not a frame; missing, non-numeric, all-NaN or constant columns; ``inf`` values; missing
        keys or timestamps; groups with fewer rows than the method needs; an unknown method,
        threshold or parameter (the message lists the choices); contamination outside
        (0, 0.5], a negative ``k``, a ``budget`` below 1.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> from toolkit.anomaly import detect
    >>> rng = np.random.default_rng(1)
    >>> df = pd.DataFrame({"a": rng.normal(size=200), "b": rng.normal(size=200)})
    >>> df.loc[3, ["a", "b"]] = [6.0, -6.0]
    >>> out = detect(df, ["a", "b"], method=["ecod", "iforest"], budget=1, threshold="budget",
    ...              budget_by=[], random_state=0)
    >>> int(out["anomaly_rank"].idxmin())
    3
    """
    panel.check_frame(df)
    cols = panel.as_list(cols, "cols")
    if not cols:
        raise DataValidationError.for_parameter("cols", "names no column", cols)
    keys = panel.as_list(id_cols, "id_cols")
    plan = DetectionPlan.build(method, contamination, threshold, k, budget, combine, random_state, progress, params,
                               len(cols))
    use_time = time_col if isinstance(time_col, str) and time_col in df.columns else None
    if plan.series:
        if not isinstance(time_col, str):
            raise DataValidationError.for_parameter("time_col", "the per-series rules (hampel, seasonal_esd) need "
                                                                "a time column", time_col)
        panel.require_columns(df, [time_col], "by the per-series rules (hampel, seasonal_esd)")
    budget_by = panel.as_list(budget_by, "budget_by") if budget_by is not None else (
        [time_col] if plan.how == "budget" and use_time else keys)
    panel.require_columns(df, [*cols, *keys, *budget_by], "by detect")
    panel.require_numeric(df, cols, "by detect")
    if use_time:
        panel.require_datetime(df, use_time)
    if is_dask(df):
        sample = panel.check_int("sample", sample, minimum=1)
        return _detect_dask(df, cols, keys, use_time, budget_by, plan, sample, random_state)
    return _detect_frame(df, cols, keys, use_time, budget_by, plan)


# --------------------------------------------------------------------------- Dask
def _empty_outputs(meta: Any, rank: bool) -> Any:
    xp = panel.namespace(meta)
    empty = xp.zeros(0, dtype=xp.float64)
    return _with_outputs(meta, empty, xp.zeros(0, dtype=xp.bool), empty if rank else None)


def _detect_dask(ddf: Any, cols: list[str], keys: list[str], time_col: str | None, budget_by: list[str],
                 plan: DetectionPlan, sample: int, random_state: int | None) -> Any:
    if keys:
        if plan.how == "budget" and budget_by != keys:
            raise DataValidationError.for_parameter(
                "budget_by", "on a Dask frame an alert budget is applied per id_cols group; pass budget_by=id_cols "
                             "or compute a budget per day after detect", budget_by)
        run = functools.partial(_detect_frame, cols=cols, keys=keys, time_col=time_col, budget_by=keys, plan=plan)
        if time_col is not None:
            return panel.per_series(ddf, run, keys, time_col, partition_kwargs={"strict": False})
        # no time axis (e.g. order lines): whole groups per partition are enough
        return ddf.shuffle(on=keys).map_partitions(run, strict=False, meta=_empty_outputs(ddf._meta, rank=True))
    if plan.series:
        raise DataValidationError.for_parameter("id_cols", "hampel and seasonal_esd are per-series rules: name the "
                                                           "series keys", keys)
    if plan.how == "budget":
        raise DataValidationError.for_parameter("id_cols", "an alert budget on a Dask frame needs groups whole in "
                                                           "partitions: name the series keys", keys)
    fitted, center, cut = _fit_on_sample(ddf, cols, plan, sample, random_state)
    return ddf.map_partitions(_score_partition, cols, fitted, center, cut, [c for c in [time_col] if c],
                              plan.combine, meta=_empty_outputs(ddf._meta, rank=False))


def _fit_on_sample(ddf: Any, cols: list[str], plan: DetectionPlan, sample: int,
                   random_state: int | None) -> tuple[list, list, float]:
    """Detectors fitted on a sample of the rows, their score moments and the sample's threshold."""
    for info in plan.infos:
        if info.factory is None:
            raise DataValidationError.for_parameter("method", "has no detector class to fit on a sample of a Dask "
                                                              "frame", info.name)
    n_rows = int(ddf.shape[0].compute())
    frac = min(1.0, sample / max(n_rows, 1))
    fit_df = ddf[cols].sample(frac=frac, random_state=random_state).compute() if frac < 1 else ddf[cols].compute()
    X = _matrix(fit_df, cols)
    _check_values(fit_df, X, cols, [], strict=True)
    xp = panel.namespace(fit_df)
    X = xp.take(X, xp.nonzero(~xp.any(xp.isnan(X), axis=1))[0], axis=0)
    fitted, center, train = [], [], []
    for info in plan.infos:
        det = info.factory(contamination=plan.fit_contamination, **info.own_params(plan.params)).fit(X)
        s = xp.astype(xp.asarray(det.decision_scores_), xp.float64)
        fitted.append(det)
        center.append((float(xp.mean(s)), float(xp.std(s))))
        train.append(s if len(plan.infos) == 1 else (s - center[-1][0]) / (center[-1][1] or 1.0))
    train_score = train[0] if len(train) == 1 else _combine(xp, xp.stack(train, axis=1), plan.combine)
    one = xp.asarray([0, train_score.shape[0]], dtype=xp.int64)
    # the threshold learnt on the sample is applied to every partition
    cut = float(segment_threshold(train_score, one, plan.how, contamination=plan.contamination, k=plan.k,
                                  cut=plan.infos[0].rule_cut)[0])
    return fitted, center, cut


def _combine(xp: Any, z: Any, combine: str) -> Any:
    """An ensemble's row scores from its standardised scores ``z`` (n, n_methods), NaN ignored."""
    return xp.nanmax(z, axis=1) if combine == "max" else xp.nanmean(z, axis=1)


def _score_partition(part: Any, cols: list[str], fitted: list, center: list, cut: float, shown: list[str],
                     combine: str) -> Any:
    xp = panel.namespace(part)
    if len(part) == 0:
        return _empty_outputs(part, rank=False)
    X = _matrix(part, cols)
    _check_values(part, X, cols, shown, strict=False)
    idx = xp.nonzero(~xp.any(xp.isnan(X), axis=1))[0]
    parts = []
    for det, (mu, sd) in zip(fitted, center):
        s = xp.full((len(part),), xp.nan, dtype=xp.float64)
        if int(idx.shape[0]):
            s[idx] = xp.astype(xp.asarray(det.decision_function(xp.take(X, idx, axis=0))), xp.float64)
        parts.append(s if len(fitted) == 1 else (s - mu) / (sd if sd > 0 else 1.0))
    score = parts[0] if len(parts) == 1 else _combine(xp, xp.stack(parts, axis=1), combine)
    return _with_outputs(part, score, ~xp.isnan(score) & (score > cut), None)
