"""``detect``: score the rows of a frame, per group if asked, and flag them without labels.

Flow: validate the columns (before any work), order the rows by group (and time), call an
array kernel, put ``anomaly_score``, ``is_anomaly`` and ``anomaly_rank`` back in the input's
row order. pandas in, pandas out; cuDF in, cuDF out; Dask in, lazy Dask out.

Per-group fits (``id_cols``): the rules (robust z, IQR, Hampel, seasonal-hybrid ESD) and
ECOD/COPOD run as segment kernels over all groups at once (no Python loop over groups).
PyOD's other detectors (iforest, knn, lof, hbos, pca, autoencoder) have no batched form:
they are fitted group by group in a loop over the groups of the frame; on a Dask frame the
partitions (each holding whole groups, see :func:`toolkit.scale.map_series`) run in
parallel, which is the path for many groups.

Thresholds (``threshold=``) without labels:

* ``"contamination"``: the ``1 - contamination`` quantile of the scores, per group (PyOD's rule);
* ``"mad"``: ``median + k * 1.4826 * MAD`` of the scores, per group (the default for learnt
  detectors, so nobody is stuck with PyOD's 10 %);
* ``"rule"``: the rule's own cut (robust z > 3.5, IQR score > 1.5, Hampel |z| > 3, the ESD
  test's verdict) -- the default for a single rule;
* ``"budget"``: the ``budget`` highest scores per ``budget_by`` group (per day by default), the
  way an operations team sizes its alert queue.

Ensembles (``method=[...]``) standardise each method's scores (z-score per group, PyOD's
``standardizer`` convention) and combine them by mean or max before thresholding.

Rows with a NaN in ``cols`` are not used to fit and get a NaN score (never flagged), except
for the time-series rules, which skip NaN inside their windows.

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

from typing import Any, Sequence

import numpy as np

from toolkit.anomaly.detectors import _NATIVE, _PYOD, make_detector
from toolkit.anomaly.native import check_contamination, segment_tail_scores
from toolkit.anomaly.rules import (
    MAD_SCALE,
    hampel,
    iqr_score,
    robust_z,
    seasonal_esd,
)
from toolkit.backend import array_namespace, frame_lib, is_dask, is_gpu
from toolkit.errors import DataValidationError
from toolkit.kernels.segments import segment_ids, segment_quantile, segment_rank, segment_sort, segment_sum, standardize
from toolkit.panel import as_list

__all__ = ["detect", "apply_threshold", "segment_threshold", "METHODS", "OUTPUT_COLUMNS"]

OUTPUT_COLUMNS = ("anomaly_score", "is_anomaly", "anomaly_rank")
_SEGMENT_TABULAR = ("ecod", "copod", "robust_z", "iqr")
_SERIES = ("hampel", "seasonal_esd")
METHODS = tuple(sorted({*_NATIVE, *_PYOD, *_SERIES}))
_RULE_CUT = {"robust_z": 3.5, "iqr": 1.5, "hampel": 3.0}
_THRESHOLDS = ("contamination", "mad", "rule", "budget")


# --------------------------------------------------------------------------- array kernels
def segment_threshold(scores: Any, starts: Any, how: str = "mad", *, contamination: float | None = None,
                      k: float = 3.0, cut: float | None = None) -> Any:
    """Score threshold of each segment: a quantile (``contamination``), ``median + k * MAD``
    (``mad``) or a fixed ``cut`` (``rule``); NaN scores are ignored.

    Returns
    -------
    array (n_groups,)
    """
    xp = array_namespace(scores)
    n_groups = starts.shape[0] - 1
    if how == "rule":
        return xp.full((n_groups,), float(cut), dtype=xp.float64)
    col = xp.reshape(scores, (-1, 1))
    counts = segment_sum(xp.astype(~xp.isnan(col), xp.float64), starts)
    srt, _ = segment_sort(col, starts, stable=False)
    if how == "contamination":
        return segment_quantile(srt, starts, counts, 1.0 - check_contamination(contamination))[:, 0]
    if how == "mad":
        med = segment_quantile(srt, starts, counts, 0.5)
        gid = segment_ids(starts, scores.shape[0])
        dsrt, _ = segment_sort(xp.abs(col - xp.take(med, gid, axis=0)), starts, stable=False)
        return (med + k * MAD_SCALE * segment_quantile(dsrt, starts, counts, 0.5))[:, 0]
    raise DataValidationError(f"threshold must be one of {_THRESHOLDS}, got {how!r}")


def apply_threshold(scores: Any, starts: Any, how: str = "mad", *, contamination: float | None = None,
                    k: float = 3.0, budget: int | None = None, cut: float | None = None) -> Any:
    """Flag scores inside each segment without labels.

    Parameters
    ----------
    scores : array (n,); NaN is never flagged
    starts : array (n_groups + 1,) of segment boundaries (one segment = a global threshold)
    how : {"contamination", "mad", "budget", "rule"}
        ``contamination``: above the segment's ``1 - contamination`` quantile (PyOD).
        ``mad``: above ``median + k * 1.4826 * MAD`` of the segment's scores.
        ``budget``: the ``budget`` highest scores of each segment.
        ``rule``: above the fixed ``cut``.
    contamination, k, budget, cut : parameters of the chosen rule.

    Returns
    -------
    array (n,) of bool

    Examples
    --------
    >>> import numpy as np
    >>> apply_threshold(np.array([1.0, 2.0, 9.0, 1.5]), np.array([0, 4]), "budget", budget=1).tolist()
    [False, False, True, False]
    """
    xp = array_namespace(scores)
    ok = ~xp.isnan(scores)
    if how == "budget":
        if budget is None or int(budget) < 1:
            raise DataValidationError(f"threshold='budget' needs budget >= 1, got {budget!r}")
        return ok & (segment_rank(scores, starts) <= int(budget))
    thr = segment_threshold(scores, starts, how, contamination=contamination, k=k, cut=cut)
    return ok & (scores > xp.take(thr, segment_ids(starts, scores.shape[0])))


# --------------------------------------------------------------------------- frame plumbing
def _column(df: Any, col: str) -> Any:
    """A numeric column as a float64 array (numpy for pandas, CuPy for cuDF), NaN for NA."""
    s = df[col]
    if is_gpu(df):
        return s.astype("float64").to_cupy(na_value=np.nan)
    return s.to_numpy(dtype="float64", na_value=np.nan)


def _validate_schema(df: Any, cols: list[str], keys: list[str], time_col: str | None, needs_time: bool) -> None:
    """Columns present and numeric: checkable on a Dask frame's meta without computing."""
    from pandas.api.types import is_bool_dtype, is_numeric_dtype

    missing = [c for c in [*cols, *keys] if c not in df.columns]
    if needs_time and time_col not in df.columns:
        missing.append(time_col)
    if missing:
        raise DataValidationError(f"column {missing[0]!r}: missing (columns present: {list(df.columns)[:10]})",
                                  column=missing[0])
    for c in cols:
        dtype = df[c].dtype
        if not (is_numeric_dtype(dtype) or is_bool_dtype(dtype)):
            head = df[c].head(3)
            head = (head.to_pandas() if is_gpu(df) else head).tolist()
            rows = f"all {len(df)} rows affected, e.g. {head}" if head else "every row is affected"
            raise DataValidationError(
                f"column {c!r}: not numeric (dtype {dtype}); {rows}; encode it or leave it out of cols", column=c)


def _validate(df: Any, cols: list[str], keys: list[str], time_col: str | None, needs_time: bool) -> None:
    """Everything :func:`_validate_schema` checks, plus empty, all-NaN and constant columns."""
    if len(df) == 0:
        raise DataValidationError("detect: the frame is empty")
    _validate_schema(df, cols, keys, time_col, needs_time)
    for c in cols:
        n_valid = int(df[c].count())
        if n_valid == 0:
            raise DataValidationError(f"column {c!r}: all {len(df)} values are NaN", column=c)
        if int(df[c].nunique()) <= 1:
            raise DataValidationError(
                f"column {c!r}: constant (every one of {n_valid} non-NaN values is equal); "
                "it carries no signal, leave it out of cols", column=c)


def _layout(df: Any, keys: list[str], time_col: str | None) -> tuple[Any, Any, Any]:
    """Row permutation sorting by ``keys`` (+ time), group code per sorted row, and n rows."""
    lib = frame_lib(df)
    n = len(df)
    if is_gpu(df):
        import cupy as xp_mod
    else:
        xp_mod = np
    helper = lib.DataFrame({"__pos": xp_mod.arange(n, dtype="int64")})
    by = []
    for i, k in enumerate(keys):
        helper[f"__k{i}"] = df[k].reset_index(drop=True)
        by.append(f"__k{i}")
    if time_col is not None:
        helper["__t"] = df[time_col].reset_index(drop=True)
    if by:
        codes = helper.groupby(by, sort=True, observed=True, dropna=False).ngroup()
        helper["__g"] = codes
    else:
        helper["__g"] = 0
    order_by = ["__g", "__t"] if time_col is not None else ["__g"]
    ordered = helper.sort_values(order_by, kind="stable") if not is_gpu(df) else helper.sort_values(order_by)
    perm = ordered["__pos"].to_numpy() if not is_gpu(df) else ordered["__pos"].to_cupy()
    codes = ordered["__g"].to_numpy(dtype="int64") if not is_gpu(df) else ordered["__g"].astype("int64").to_cupy()
    return perm, codes, n


def _starts(codes: Any) -> Any:
    xp = array_namespace(codes)
    n = codes.shape[0]
    if n == 0:
        return xp.asarray([0], dtype=xp.int64)
    change = xp.nonzero(codes[1:] != codes[:-1])[0] + 1
    return xp.concat([xp.asarray([0], dtype=xp.int64), xp.astype(change, xp.int64),
                      xp.asarray([n], dtype=xp.int64)])


def _min_rows(method: str, params: dict, d: int) -> int:
    if method in ("knn", "lof"):
        return int(params.get("n_neighbors", 5 if method == "knn" else 20)) + 1
    if method == "pca":
        return d + 1
    if method in ("hampel",):
        return 3
    if method == "seasonal_esd":
        return 2 * int(params.get("period", 7))
    return 3


def _check_group_sizes(df: Any, keys: list[str], perm: Any, starts: Any, need: int, method: str,
                       cols: list[str]) -> None:
    """Raise when a group has fewer usable rows than ``method`` needs, naming a few groups."""
    xp = array_namespace(starts)
    sizes = starts[1:] - starts[:-1]
    small = xp.nonzero(sizes < need)[0]
    if not int(small.shape[0]):
        return
    rows = int(xp.sum(xp.take(sizes, small)))
    where = "the frame"
    if keys:
        first = xp.take(perm, xp.take(starts[:-1], small[:3]))
        sample = df[keys].iloc[first.tolist()]
        sample = sample.to_pandas() if is_gpu(df) else sample
        where = f"groups of {keys}, e.g. {[tuple(r) for r in sample.itertuples(index=False)]}"
    raise DataValidationError(
        f"column {cols[0]!r}: method {method!r} needs at least {need} rows with values per group; "
        f"{int(small.shape[0])} group(s) ({rows} rows) have fewer in {where}", column=cols[0])


_SERIES_PARAMS = ("half_window", "period", "max_anomalies", "alpha")
_SEEDED = ("iforest", "autoencoder")


def _detector_params(method: str, params: dict) -> dict:
    """The keyword arguments of ``params`` meant for a PyOD detector (rule settings removed)."""
    if method in _NATIVE:
        return {}
    out = {k: v for k, v in params.items() if k not in (*_SERIES_PARAMS, "random_state", "progress")}
    if method in _SEEDED:
        out["random_state"] = params.get("random_state", 0)
    return out


def _method_scores(method: str, X: Any, starts: Any, params: dict, contamination: float) -> tuple[Any, Any]:
    """Scores (and rule verdicts, or None) for group-sorted rows without NaN."""
    xp = array_namespace(X)
    if method in ("ecod", "copod"):
        return xp.sum(segment_tail_scores(X, starts, kind=method), axis=1), None
    if method == "robust_z":
        return xp.max(xp.abs(robust_z(X, starts)), axis=1), None
    if method == "iqr":
        return xp.max(iqr_score(X, starts), axis=1), None
    if method == "hampel":
        z = xp.stack([hampel(X[:, j], starts, int(params.get("half_window", 3))) for j in range(X.shape[1])], axis=1)
        return xp.max(xp.abs(z), axis=1), None
    if method == "seasonal_esd":
        esd = {k: params[k] for k in ("period", "max_anomalies", "alpha") if k in params}
        pairs = [seasonal_esd(X[:, j], starts, **esd) for j in range(X.shape[1])]
        score = xp.max(xp.stack([p[0] for p in pairs], axis=1), axis=1)
        flag = xp.any(xp.stack([p[1] for p in pairs], axis=1), axis=1)
        return score, flag
    # PyOD detectors: one fit per group (no batched form exists)
    out = xp.empty((X.shape[0],), dtype=xp.float64)
    bounds = [int(b) for b in (starts.tolist() if hasattr(starts, "tolist") else starts)]
    kwargs = _detector_params(method, params)
    pairs = list(zip(bounds[:-1], bounds[1:]))
    if params.get("progress", True) and len(pairs) > 1:
        from tqdm.auto import tqdm

        pairs = tqdm(pairs, desc=f"{method} per group", unit="group", leave=False)
    for lo, hi in pairs:
        det = make_detector(method, contamination=contamination, **kwargs).fit(X[lo:hi])
        out[lo:hi] = xp.astype(xp.asarray(det.decision_scores_), xp.float64)
    return out, None


def _detect_frame(df: Any, cols: list[str], methods: list[str], keys: list[str], time_col: str | None,
                  how: str, contamination: float | None, k: float, budget: int | None,
                  budget_by: list[str] | None, combine: str, params: dict) -> Any:
    series = any(m in _SERIES for m in methods)
    use_time = time_col if (series or (time_col is not None and time_col in df.columns)) else None
    perm, codes, n = _layout(df, keys, use_time)
    xp = array_namespace(perm)
    X_all = xp.stack([_column(df, c) for c in cols], axis=1)
    Xs = xp.take(X_all, perm, axis=0)
    valid = ~xp.any(xp.isnan(Xs), axis=1)
    starts_all = _starts(codes)
    d = len(cols)
    per_method = []
    verdict = None
    for m in methods:
        if m in _SERIES:
            _check_group_sizes(df, keys, perm, starts_all, _min_rows(m, params, d), m, cols)
            score, flag = _method_scores(m, Xs, starts_all, params, contamination or 0.1)
            verdict = flag
        else:
            idx = xp.nonzero(valid)[0]
            codes_v = xp.take(codes, idx)
            starts_v = _starts(codes_v)
            _check_group_sizes(df, keys, xp.take(perm, idx), starts_v, _min_rows(m, params, d), m, cols)
            sub, _ = _method_scores(m, xp.take(Xs, idx, axis=0), starts_v, params, contamination or 0.1)
            score = xp.full((n,), xp.nan, dtype=xp.float64)
            score[idx] = sub
        per_method.append(score)
    if len(per_method) == 1:
        combined = per_method[0]
    else:
        z = xp.stack([standardize(s, starts_all) for s in per_method], axis=1)
        combined = xp.nanmax(z, axis=1) if combine == "max" else xp.nanmean(z, axis=1)
    # thresholds
    if how == "budget" and budget_by is not None and list(budget_by) != keys:
        bperm, bcodes, _ = _layout(df, list(budget_by), None)
        inv = xp.empty((n,), dtype=xp.int64)
        inv[perm] = xp.arange(n, dtype=xp.int64)
        sb = xp.take(combined, xp.take(inv, bperm))
        fb = apply_threshold(sb, _starts(bcodes), "budget", budget=budget)
        flags_orig = xp.zeros((n,), dtype=xp.bool)
        flags_orig[bperm] = fb
        flags = xp.take(flags_orig, perm)
    elif how == "rule" and methods[0] == "seasonal_esd":
        flags = verdict & ~xp.isnan(combined)
    else:
        flags = apply_threshold(combined, starts_all, how, contamination=contamination, k=k, budget=budget,
                                cut=_RULE_CUT.get(methods[0]))
    rank = segment_rank(combined, starts_all)
    out_score = xp.empty((n,), dtype=xp.float64)
    out_flag = xp.empty((n,), dtype=xp.bool)
    out_rank = xp.empty((n,), dtype=xp.float64)
    out_score[perm] = combined
    out_flag[perm] = flags
    out_rank[perm] = rank
    return df.assign(anomaly_score=out_score, is_anomaly=out_flag, anomaly_rank=out_rank)


def _resolve(method: str | Sequence[str], contamination: float | None, threshold: str | None,
             budget: int | None) -> tuple[list[str], str]:
    methods = [method] if isinstance(method, str) else list(method)
    if not methods:
        raise DataValidationError("detect: method list is empty")
    methods = [str(m).lower() for m in methods]
    unknown = [m for m in methods if m not in METHODS]
    if unknown:
        raise DataValidationError(f"detect: unknown method {unknown[0]!r}; choose from {METHODS}")
    if contamination is not None:
        check_contamination(contamination)
    if threshold is None:
        if contamination is not None:
            threshold = "contamination"
        elif budget is not None:
            threshold = "budget"
        elif len(methods) == 1 and (methods[0] in _RULE_CUT or methods[0] == "seasonal_esd"):
            threshold = "rule"
        else:
            threshold = "mad"
    if threshold not in _THRESHOLDS:
        raise DataValidationError(f"threshold must be one of {_THRESHOLDS}, got {threshold!r}")
    if threshold == "contamination" and contamination is None:
        raise DataValidationError("threshold='contamination' needs a contamination value in (0, 0.5]")
    if threshold == "rule" and (len(methods) > 1 or not (methods[0] in _RULE_CUT or methods[0] == "seasonal_esd")):
        raise DataValidationError(f"threshold='rule' needs a single rule method ({sorted(_RULE_CUT)} or seasonal_esd)")
    if threshold == "budget" and (budget is None or int(budget) < 1):
        raise DataValidationError(f"threshold='budget' needs budget >= 1, got {budget!r}")
    return methods, threshold


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
        Numeric feature columns.
    method : str or list of str, default "ecod"
        One of ``ecod, copod, robust_z, iqr, hampel, seasonal_esd, iforest, hbos, knn, lof,
        pca, autoencoder``; a list makes a standardised-score ensemble.
    contamination : float in (0, 0.5], optional
        When given (and ``threshold`` is not), flags the top share of each group.
    id_cols : str or list of str, optional
        Fit and threshold each group separately (None: one fit over all rows).
    threshold : {"contamination", "mad", "rule", "budget"}, optional
        Default: "contamination" if ``contamination`` is given, else "budget" if ``budget`` is,
        else "rule" for a single rule method, else "mad".
    k : float, default 3.0
        Multiplier of the scaled MAD for ``threshold="mad"``.
    budget : int, optional
        Alerts per ``budget_by`` group for ``threshold="budget"``.
    budget_by : str or list of str, optional
        Groups sharing one budget; default ``time_col`` (top ``budget`` per day) when present,
        else ``id_cols``.
    combine : {"mean", "max"}
        How an ensemble combines standardised scores.
    time_col : str, default "date"
        Orders rows of each series (needed by hampel and seasonal_esd).
    sample : int, default 100_000
        Dask frames without ``id_cols``: rows sampled to fit the detector before every
        partition is scored with ``map_partitions``.
    random_state : int, default 0
        Seed of that sample and of the seeded detectors (iforest, autoencoder).
    progress : bool, default True
        Progress bar over groups when a PyOD detector is fitted group by group.
    **params
        Detector parameters (``n_neighbors``, ``half_window`` for hampel, ``period``,
        ``max_anomalies``, ``alpha`` for seasonal_esd, ...).

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
        Missing, non-numeric, all-NaN or constant columns; groups with fewer rows than the
        method needs; contamination outside (0, 0.5]; an unknown method or threshold.

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
    cols = as_list(cols)
    if not cols:
        raise DataValidationError("detect: cols is empty")
    keys = as_list(id_cols)
    methods, how = _resolve(method, contamination, threshold, budget)
    if combine not in ("mean", "max"):
        raise DataValidationError(f"combine must be 'mean' or 'max', got {combine!r}")
    if budget_by is None:
        bby = [time_col] if (how == "budget" and time_col in df.columns) else keys
    else:
        bby = as_list(budget_by)
    params = {**params, "random_state": random_state, "progress": progress}
    needs_time = any(m in _SERIES for m in methods)
    if is_dask(df):
        # values (all-NaN, constant, group sizes) are checked where the data is: on the fitting
        # sample, or inside each partition's groups when the graph runs
        _validate_schema(df._meta, cols, keys, time_col, needs_time)
        return _detect_dask(df, cols, methods, keys, time_col, how, contamination, k, budget, bby, combine,
                            sample, random_state, params)
    _validate(df, cols, keys, time_col, needs_time)
    return _detect_frame(df, cols, methods, keys, time_col if time_col in df.columns else None, how,
                         contamination, k, budget, bby, combine, params)


# --------------------------------------------------------------------------- Dask
def _score_partition(part: Any, cols: list[str], fitted: list, center: list, how: str, cut: float) -> Any:
    xp_arrays = [_column(part, c) for c in cols]
    if len(part) == 0:
        return part.assign(anomaly_score=np.zeros(0), is_anomaly=np.zeros(0, dtype=bool))
    xp = array_namespace(xp_arrays[0])
    X = xp.stack(xp_arrays, axis=1)
    valid = ~xp.any(xp.isnan(X), axis=1)
    idx = xp.nonzero(valid)[0]
    parts = []
    for det, (mu, sd) in zip(fitted, center):
        s = xp.full((len(part),), xp.nan, dtype=xp.float64)
        if int(idx.shape[0]):
            s[idx] = xp.astype(xp.asarray(det.decision_function(xp.take(X, idx, axis=0))), xp.float64)
        parts.append(s if len(fitted) == 1 else (s - mu) / (sd if sd > 0 else 1.0))
    score = parts[0] if len(parts) == 1 else xp.nanmean(xp.stack(parts, axis=1), axis=1)
    return part.assign(anomaly_score=score, is_anomaly=~xp.isnan(score) & (score > cut))


def _detect_dask(ddf: Any, cols: list[str], methods: list[str], keys: list[str], time_col: str, how: str,
                 contamination: float | None, k: float, budget: int | None, bby: list[str], combine: str,
                 sample: int, random_state: int, params: dict) -> Any:
    from toolkit.panel import map_series

    if keys:
        if how == "budget" and bby != keys:
            raise DataValidationError("on a Dask frame an alert budget is applied per id_cols group; "
                                      "pass budget_by=id_cols or compute a budget per day after detect")

        def run(part: Any) -> Any:
            if len(part) == 0:
                return part.assign(anomaly_score=np.zeros(0), is_anomaly=np.zeros(0, dtype=bool),
                                   anomaly_rank=np.zeros(0))
            return _detect_frame(part, cols, methods, keys, time_col if time_col in part.columns else None, how,
                                 contamination, k, budget, keys, combine, params)

        meta = ddf._meta.assign(anomaly_score=np.zeros(0), is_anomaly=np.zeros(0, dtype=bool),
                                anomaly_rank=np.zeros(0))
        if time_col in ddf.columns:
            return map_series(ddf, run, keys, time_col, meta=meta)
        shuffled = ddf.shuffle(on=keys)
        return shuffled.map_partitions(run, meta=meta)
    if any(m in _SERIES for m in methods):
        raise DataValidationError("hampel and seasonal_esd are per-series rules: pass id_cols")
    if how == "budget":
        raise DataValidationError("an alert budget on a Dask frame needs id_cols (groups whole in partitions)")
    n_rows = int(ddf.shape[0].compute()) if hasattr(ddf.shape[0], "compute") else len(ddf)
    frac = min(1.0, sample / max(n_rows, 1))
    fit_df = ddf[cols].sample(frac=frac, random_state=random_state).compute() if frac < 1 else ddf[cols].compute()
    _validate(fit_df, cols, [], None, False)
    xp_cols = [_column(fit_df, c) for c in cols]
    xp = array_namespace(xp_cols[0])
    X = xp.stack(xp_cols, axis=1)
    X = xp.take(X, xp.nonzero(~xp.any(xp.isnan(X), axis=1))[0], axis=0)
    fitted, center, train = [], [], []
    for m in methods:
        det = make_detector(m, contamination=contamination or 0.1, **_detector_params(m, params)).fit(X)
        s = xp.astype(xp.asarray(det.decision_scores_), xp.float64)
        fitted.append(det)
        center.append((float(xp.mean(s)), float(xp.std(s))))
        train.append(s if len(methods) == 1 else (s - center[-1][0]) / (center[-1][1] or 1.0))
    train_score = train[0] if len(train) == 1 else xp.mean(xp.stack(train, axis=1), axis=1)
    one = xp.asarray([0, train_score.shape[0]], dtype=xp.int64)
    # the threshold learnt on the sample is applied to every partition
    cut = float(segment_threshold(train_score, one, how, contamination=contamination, k=k,
                                  cut=_RULE_CUT.get(methods[0]))[0])
    meta = ddf._meta.assign(anomaly_score=np.zeros(0), is_anomaly=np.zeros(0, dtype=bool))
    return ddf.map_partitions(_score_partition, cols, fitted, center, how, cut, meta=meta)
