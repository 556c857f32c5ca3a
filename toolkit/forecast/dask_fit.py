"""Fitting a :class:`~toolkit.forecast.Forecaster` on a Dask DataFrame without bringing it into memory.

The frame is shuffled once so that every series lies whole in one partition
(:func:`toolkit.panel.partition_by_series`); every per-series step then runs the *same*
in-memory code as the in-memory fit on each partition (:mod:`toolkit.forecast.training`,
:mod:`toolkit.forecast.transforms`, :func:`toolkit.forecast.intervals.series_scale`,
:func:`toolkit.panel.check_spacing`), so both fits agree to rounding:

1. one pass of per-partition summaries: the input contract's counts (NaN/``inf`` target,
   ``inf`` exogenous values, duplicated (keys, time), values outside the transform's domain),
   the frequency (inferred per partition when not given; all must agree), the spacing
   report, and per series the row count, last time, interval scale and transform state;
   problems raise with the total count and a few keys, as the in-memory checks do;
2. features of the transformed target per partition (lazy), and the drop reasons of every
   row (counted: the fit report);
3. the fit: :class:`~toolkit.regress.LinearRegression` / :class:`~toolkit.regress.Ridge` /
   ``make_model("ridge")`` (and cuML's Dask estimators on GPU partitions) fit out of core by
   TSQR; any other model on a seeded sample of about ``dask_sample_rows`` training rows;
4. the tail buffer (``spec.lookback`` rows per series) is computed into memory.

Persist the frame first when the cluster can hold it. Calibration, the direct strategy and
specs needing the whole history need an in-memory frame.

Examples
--------
>>> import numpy as np, pandas as pd, dask.dataframe as dd
>>> from toolkit.features import FeatureSpec
>>> from toolkit.forecast import Forecaster
>>> from toolkit.regress import LinearRegression
>>> df = pd.DataFrame({"sku": np.repeat(["a", "b"], 30), "location": "web",
...                    "date": np.tile(pd.date_range("2024-01-01", periods=30).values, 2),
...                    "units": np.tile(np.arange(30.0), 2)})
>>> spec = FeatureSpec(lags=(1,), rolling={}, calendar=(), fourier=())
>>> fc = Forecaster(LinearRegression(), spec, horizon=2).fit(dd.from_pandas(df, npartitions=2))
>>> fc.predict()["forecast"].round(6).tolist()
[30.0, 31.0, 30.0, 31.0]
"""

from __future__ import annotations

import functools
from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import clone

from toolkit import backend
from toolkit.errors import DataValidationError
from toolkit.features import FULL_HISTORY, build_features
from toolkit.forecast.base import MAX_MAGNITUDE
from toolkit.forecast.intervals import series_scale
from toolkit.forecast.training import FLAGS, report_from_counts, tail_rows, training_flags, transform_target
from toolkit.forecast.transforms import TargetTransforms
from toolkit.kernels.grouped import group_sum
from toolkit.panel import (SeriesLayout, SpacingReport, blocks, check_spacing, checks, frames, infer_freq, map_series,
                           partition_by_series, to_offset)

__all__ = ["fit_dask", "fits_out_of_core"]

_PROBLEMS = ("nan_target", "inf_target", "inf_exog", "huge_target", "huge_exog", "duplicated", "domain")


def fits_out_of_core(model: Any, on_gpu: bool) -> bool:
    """True for the models that fit a Dask matrix out of core (blocked QR in toolkit.regress, cuML Dask)."""
    from toolkit.regress import LinearRegression, Model, Ridge

    if isinstance(model, Model):
        return model.accepts_dask(on_gpu)
    return isinstance(model, (LinearRegression, Ridge))


_MESSAGES = {
    "nan_target": "missing values (NaN) (needed by Forecaster.fit); fill or drop them first "
                  "(toolkit.cleanse.fill_missing)",
    "inf_target": "infinite values (needed by Forecaster.fit); replace or drop them first",
    "inf_exog": "infinite values in exogenous columns (needed by Forecaster.fit); replace or drop them first",
    "huge_target": f"values too large (above {MAX_MAGNITUDE:g}, their squares overflow float64); rescale the "
                   "column or drop those rows",
    "huge_exog": f"values too large in exogenous columns (above {MAX_MAGNITUDE:g}); rescale them",
    "duplicated": "duplicated (keys, time) rows: each series needs one row per time; drop or aggregate them "
                  "first (toolkit.cleanse.drop_duplicates)",
}


def _problems(part: Any, keys: list[str], tcol: str, target: str, exog: list[str], chain: TargetTransforms) -> dict:
    """Offending rows of one partition per problem: (count, a few (keys, time) examples)."""
    y = frames.values(part, target)
    xp = frames.namespace(part)
    masks = {"nan_target": xp.isnan(y), "inf_target": xp.isinf(y),
             "inf_exog": xp.zeros(len(part), dtype=xp.bool),
             "duplicated": frames.as_array(part.duplicated(subset=[*keys, tcol], keep="first"))}
    masks["huge_target"] = (xp.abs(y) > MAX_MAGNITUDE) & ~masks["inf_target"]
    masks["huge_exog"] = xp.zeros(len(part), dtype=xp.bool)
    for col in exog:
        x = frames.values(part, col)
        masks["inf_exog"] = masks["inf_exog"] | xp.isinf(x)
        masks["huge_exog"] = masks["huge_exog"] | ((xp.abs(x) > MAX_MAGNITUDE) & ~xp.isinf(x))
    messages = dict(_MESSAGES)
    violation = chain.check_domain(y)
    masks["domain"] = violation[0] & ~xp.isnan(y) if violation is not None else xp.zeros_like(masks["nan_target"])
    messages["domain"] = violation[1] if violation is not None else ""
    out = {}
    for name, mask in masks.items():
        where = xp.nonzero(mask)[0]
        if int(where.shape[0]):
            out[name] = (int(where.shape[0]), checks.examples(part, where, [*keys, tcol]), messages[name])
    return out


def _partition_summary(part: Any, keys: list[str], tcol: str, target: str, stock_col: str | None,
                       exog: list[str], names: tuple, freq: str | None, irregular: str) -> dict:
    """Problems, frequency, spacing and per-series statistics of one series-whole partition."""
    chain = TargetTransforms(names)
    out = {"rows": len(part), "problems": _problems(part, keys, tcol, target, exog, chain), "freq": freq,
           "spacing": None, "stats": None}
    if out["problems"] or len(part) == 0:
        return out
    layout = SeriesLayout.from_frame(part, keys, tcol)
    if freq is None:
        try:
            out["freq"] = infer_freq(part, keys, tcol, layout=layout)
        except DataValidationError:  # only single-row series here: nothing to read, nothing irregular
            out["freq"] = None
    if out["freq"] is not None:
        out["spacing"] = check_spacing(part, out["freq"], keys, tcol, layout=layout).per_series
    y = frames.values(part, target)
    xp = layout.xp
    transform_target(part, layout, chain, target, [*keys, tcol])
    observed = xp.where(frames.values(part, stock_col) > 0, float("nan"), y) if stock_col else y
    stats = {"_rows": xp.astype(layout.lengths, xp.int64),
             "_neg": group_sum(xp.astype(layout.gather(y) < 0, xp.float64), layout.series_of_row, layout.n_series),
             "_scale": series_scale(layout, layout.gather(observed)), **chain.state}
    last = frames.take(part[[*keys, tcol]], layout.last_rows()).reset_index(drop=True)
    out["stats"] = frames.assign(last, stats)
    return out


def _raise_problems(summaries: list[dict], fc: Any) -> None:
    """The first problem found in any partition, with its total count and a few examples."""
    for name in _PROBLEMS:
        found = [s["problems"][name] for s in summaries if name in s["problems"]]
        if not found:
            continue
        count = sum(c for c, _, _ in found)
        shown = [e for _, examples, _ in found for e in examples][: checks.KEYS_SHOWN]
        exog_col = fc.exog_[0] if fc.exog_ else fc.target_col_
        column = {"inf_exog": exog_col, "huge_exog": exog_col, "duplicated": fc.time_col_}.get(name, fc.target_col_)
        checks.fail(column, found[0][2], count, shown)


def _time_axis(fc: Any, summaries: list[dict], n_series: int) -> None:
    found = sorted({s["freq"] for s in summaries if s["freq"] is not None})
    if not found:
        checks.fail(fc.time_col_, "cannot infer the frequency: every series has a single row; pass freq explicitly")
    if len(found) > 1:
        checks.fail(fc.time_col_, f"series partitions read different frequencies {found}; pass freq explicitly")
    fc.freq_ = to_offset(found[0]).freqstr
    tables = [s["spacing"] for s in summaries if s["spacing"] is not None and len(s["spacing"])]
    per_series = pd.concat(tables, ignore_index=True) if tables else pd.DataFrame(
        columns=[*fc.id_cols_, "rows", "first", "last", "missing_steps", "off_calendar"])
    fc.spacing_ = SpacingReport(fc.freq_, per_series, n_series)
    if fc.irregular == "raise":
        fc.spacing_.raise_if_irregular(fc.time_col_)


def _transformed_partition(part: Any, keys: list[str], tcol: str, target: str, columns: list[str],
                           names: tuple) -> Any:
    """The partition's ``columns`` with the target transformed as the in-memory fit does."""
    if len(part) == 0:
        return part[columns].astype({target: "float64"})
    layout = SeriesLayout.from_frame(part, keys, tcol)
    z = transform_target(part, layout, TargetTransforms(names), target, [*keys, tcol])
    return frames.assign(part[columns], {target: z})[columns]


def _flag_counts(flags: Any) -> Any:
    """One row: the partition's row count and the count of each drop reason."""
    return flags.sum().to_frame().T.astype("int64").assign(_rows=len(flags))


def _check_supported(fc: Any) -> None:
    spec = fc.spec_
    for wanted, why in ((fc.calibration_windows, "calibration_windows > 0 (a backtest needs every series)"),
                        (fc.strategy == "direct", 'strategy="direct"'),
                        (spec.lookback >= FULL_HISTORY, "a spec with expanding or EWM statistics (predict keeps "
                                                        "the whole history)")):
        if wanted:
            raise DataValidationError.for_parameter(
                "df", f"Forecaster.fit on a Dask frame does not support {why}: compute the frame first "
                      "(ddf.compute())")


def fit_dask(fc: Any, ddf: Any, stockout_col: str | None, chain: TargetTransforms) -> Any:
    """Fit ``fc`` (a Forecaster with ``spec_`` set) on the Dask frame ``ddf``; returns ``fc``."""
    import dask

    _check_supported(fc)
    if chain.in_memory_only:
        raise DataValidationError.for_parameter("target_transform", "the seasonal difference needs an in-memory "
                                                                    "frame (compute it first)", chain.names)
    spec = fc.spec_
    fc.check_columns(ddf, list(spec.id_cols), spec.time_col, spec.target_col, spec.exog, stockout_col)
    keys, tcol, target = fc.id_cols_, fc.time_col_, fc.target_col_
    stock_col = fc.stockout_col_ if fc.stockouts == "exclude" else None
    parts = partition_by_series(ddf, keys, tcol)
    freq = to_offset(fc.freq).freqstr if fc.freq is not None else None

    kw = dict(keys=keys, tcol=tcol, target=target, stock_col=stock_col, exog=fc.exog_, names=chain.names,
              freq=freq, irregular=fc.irregular)
    summaries = list(dask.compute(*[dask.delayed(_partition_summary)(p, **kw) for p in parts.to_delayed()]))
    n_rows = sum(s["rows"] for s in summaries)
    if n_rows == 0:
        raise DataValidationError("the frame is empty (nothing to fit Forecaster on)", column=target)
    _raise_problems(summaries, fc)
    stats = frames.concat([s["stats"] for s in summaries if s["stats"] is not None], ignore_index=True)
    stats = stats.sort_values(keys).reset_index(drop=True)
    _time_axis(fc, summaries, len(stats))
    fc.settle_frequency_defaults()
    spec = fc.spec_
    fc.tail_rows_ = spec.lookback
    short = stats[stats["_rows"] < fc.min_rows()]
    if len(short):
        checks.fail(target, f"series too short: fewer than {fc.min_rows()} rows needed by Forecaster (the short-series "
                            "fallback needs an in-memory frame)", len(short),
                    [tuple(r) for r in backend.to_host(short[keys]).head(checks.KEYS_SHOWN).itertuples(index=False)])
    fc.series_ = stats[keys]
    fc.fallback_, fc.fallback_series_, fc.long_series_ = None, stats[keys].iloc[:0], np.arange(len(stats))
    fc.last_time_ = stats[tcol].reset_index(drop=True)
    fc.scale_ = frames.values(stats, "_scale")
    fc.nonnegative_ = float(backend.to_host(stats["_neg"]).sum()) == 0
    chain.set_state({name: frames.values(stats, name) for name in chain.state_names})
    fc.transforms_ = chain

    tail_cols = [*keys, tcol, *fc.exog_, target]
    cols = tail_cols + ([stock_col] if stock_col and stock_col not in tail_cols else [])
    meta = parts._meta[cols].astype({target: "float64"})
    base = map_series(parts, _transformed_partition, keys, tcol, meta=meta, keys=keys, tcol=tcol, target=target,
                      columns=cols, names=chain.names)
    feats = build_features(base, spec)
    fkw = dict(target_col=target, stock_col=stock_col, exog=fc.exog_, features=list(spec.feature_names))
    flags = feats.map_partitions(training_flags, **fkw, meta=training_flags(feats._meta, **fkw))
    per_part = backend.to_host(flags.map_partitions(_flag_counts, meta=_flag_counts(flags._meta)).compute())
    fc.report_ = report_from_counts(n_rows, per_part[list(FLAGS)].sum())
    if fc.report_.rows_used == 0:
        checks.fail(target, f"no training rows left ({fc.report_})")
    train = feats[~flags.any(axis=1)]
    # partitions left without training rows (a shuffle can leave some empty) are skipped
    kept = np.flatnonzero((per_part["_rows"] - per_part[list(FLAGS)].sum(axis=1)).to_numpy() > 0)
    if len(kept) < train.npartitions:
        train = train.partitions[kept.tolist()]
    model = fc.model_to_fit()
    if fits_out_of_core(model, blocks.placement(ddf).device == "gpu"):
        fitted = clone(model).fit(train[list(spec.feature_names)], train[target])
    else:
        if fc.report_.rows_used > fc.dask_sample_rows:
            train = train.sample(frac=fc.dask_sample_rows / fc.report_.rows_used, random_state=fc.random_state)
        sample = train[[*spec.feature_names, target]].compute().reset_index(drop=True)
        fitted = clone(model).fit(sample[list(spec.feature_names)], frames.values(sample, target))
    fc.models_ = [fitted]
    fc.model_ = fitted
    last_rows = functools.partial(tail_rows, id_cols=keys, time_col=tcol, rows=fc.tail_rows_, columns=tail_cols)
    tail = map_series(base, last_rows, keys, tcol, meta=base._meta[tail_cols])
    fc.tail_ = tail.compute().sort_values([*keys, tcol]).reset_index(drop=True)
    fc.residuals_ = None
    return fc
