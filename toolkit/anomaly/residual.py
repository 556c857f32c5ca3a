"""``residual_anomalies``: actuals outside the forecast's prediction interval.

A demand anomaly is a surprise *given what we knew*: the forecast already carries holidays,
promotions, prices and seasonality as features, so an expected promotion spike sits inside the
interval and is not flagged; the calendar-awareness comes from the forecast by construction.

Score: how far outside the interval the actual lies, in interval widths
(``(actual - upper) / (upper - lower)`` above, ``(lower - actual) / (upper - lower)`` below,
0 inside). Kinds: ``"spike"`` (above), ``"drop"`` (below), ``"stockout"`` (the row is flagged as
a stock-out -- zero sales because nothing was on the shelf -- which is censored demand, not a
demand anomaly: it is reported with its own kind and never as a drop), ``"missing"`` (no
actual for a forecast row). Rows are the forecast's rows: nothing is dropped.

Input policy: both frames are checked at the edge (columns present, the actual and the
interval numeric, keys and times present, one row per series and time); an ``inf`` actual or
quantile is refused naming the column and a few keys (an interval with an infinite bound
scores nothing); a missing actual is the ``"missing"`` kind, a missing bound scores 0.

Examples
--------
>>> import pandas as pd
>>> from toolkit.anomaly import residual_anomalies
>>> actual = pd.DataFrame({"sku": ["a"] * 3, "location": ["web"] * 3,
...                        "date": pd.date_range("2024-01-01", periods=3), "units": [5.0, 30.0, 0.0],
...                        "stockout": [False, False, True]})
>>> fc = actual[["sku", "location", "date"]].assign(**{"q0.1": 3.0, "q0.9": 8.0})
>>> residual_anomalies(actual, fc, quantiles=(0.1, 0.9))["kind"].tolist()
['normal', 'spike', 'stockout']
"""

from __future__ import annotations

import numbers
from typing import Any, Sequence

from toolkit import panel
from toolkit.backend import is_dask
from toolkit.errors import DataValidationError

__all__ = ["residual_anomalies", "quantile_column"]


def quantile_column(df: Any, q: float | str) -> str:
    """The column of ``df`` holding quantile ``q``: the name itself when ``q`` is a string, else
    the first of ``"q{q}"``, ``"{q}"``, ``"q{100q}"`` present (e.g. ``"q0.1"``, ``"0.1"``, ``"q10"``)."""
    if isinstance(q, str):
        panel.require_columns(df, [q], "as a forecast quantile")
        return q
    if isinstance(q, bool) or not isinstance(q, numbers.Real) or not 0.0 < float(q) < 1.0:
        raise DataValidationError.for_parameter("quantiles", "each must be a level in (0, 1) or a column name", q)
    names = [f"q{q:g}", f"{q:g}", f"q{int(round(q * 100))}"]
    for name in names:
        if name in df.columns:
            return name
    raise DataValidationError(
        f"column {names[0]!r}: missing; no column for quantile {q} in the forecast frame (tried {names}; "
        f"columns: {list(df.columns)[:12]})", column=names[0])


def residual_anomalies(actual_df: Any, forecast_df: Any, quantiles: Sequence[float | str] = (0.05, 0.95),
                       id_cols: str | Sequence[str] = ("sku", "location"), time_col: str = "date",
                       target_col: str = "units", stockout_col: str | None = "stockout",
                       min_score: float = 0.0) -> Any:
    """Flag actuals outside the forecast interval, scored by how far out they are.

    Parameters
    ----------
    actual_df : pandas, cuDF or Dask DataFrame
        ``id_cols``, ``time_col``, ``target_col`` and optionally ``stockout_col``.
    forecast_df : frame of the same library
        ``id_cols``, ``time_col`` and the interval's quantile columns.
    quantiles : pair of float or str, default (0.05, 0.95)
        Lower and upper quantile levels (located with :func:`quantile_column`) or column names.
    id_cols, time_col, target_col : as everywhere in the toolkit.
    stockout_col : str or None, default "stockout"
        Boolean column of ``actual_df`` marking stock-out days; ``None`` to skip (then a zero
        actual with a positive lower bound is a drop).
    min_score : float, default 0
        Flag only points more than this many interval widths outside.

    Returns
    -------
    frame
        The forecast rows with ``actual``, ``lower``, ``upper``, ``anomaly_score``,
        ``is_anomaly`` (demand anomalies only: spikes and drops), ``kind``
        (``normal``/``spike``/``drop``/``stockout``/``missing``); Dask in, lazy Dask out.

    Raises
    ------
    DataValidationError
        Not frames; missing or non-numeric columns; missing keys or times, duplicated (keys,
        time) rows or ``inf`` values in either frame; lower > upper; a quantile that is
        neither a level in (0, 1) nor a column; a negative ``min_score``.
    """
    panel.check_frame(actual_df, "actual_df")
    panel.check_frame(forecast_df, "forecast_df")
    keys = panel.as_list(id_cols)
    if isinstance(quantiles, (str, bytes)) or not isinstance(quantiles, Sequence) or len(quantiles) != 2:
        raise DataValidationError.for_parameter("quantiles", "must be a (lower, upper) pair", quantiles)
    lo_col = quantile_column(forecast_df, quantiles[0])
    hi_col = quantile_column(forecast_df, quantiles[1])
    need_a = [*keys, time_col, target_col] + ([stockout_col] if stockout_col else [])
    panel.require_columns(actual_df, need_a, "by residual_anomalies in actual_df")
    panel.require_columns(forecast_df, [*keys, time_col], "by residual_anomalies in forecast_df")
    panel.require_numeric(actual_df, [target_col], "by residual_anomalies")
    panel.require_numeric(forecast_df, [lo_col, hi_col], "by residual_anomalies")
    min_score = panel.check_number("min_score", min_score, 0.0)
    if is_dask(actual_df) or is_dask(forecast_df):
        return _residual_dask(actual_df, forecast_df, keys, time_col, target_col, stockout_col, lo_col, hi_col,
                              min_score)
    for frame, measured in ((actual_df, [target_col]), (forecast_df, [lo_col, hi_col])):
        panel.require_not_null(frame, [*keys, time_col], keys, "by residual_anomalies to join actuals to forecasts")
        panel.require_unique(frame, [*keys, time_col], "by residual_anomalies")
        panel.require_finite(frame, measured, [*keys, time_col], purpose="by residual_anomalies; NaN is missing")
    return _residual_frame(actual_df, forecast_df, keys, time_col, target_col, stockout_col, lo_col, hi_col,
                           min_score)


def _residual_frame(actual_df: Any, forecast_df: Any, keys: list[str], time_col: str, target_col: str,
                    stockout_col: str | None, lo_col: str, hi_col: str, min_score: float) -> Any:
    take = [*keys, time_col, target_col] + ([stockout_col] if stockout_col else [])
    fc = forecast_df.reset_index(drop=True).reset_index().rename(columns={"index": "__row"})
    merged = fc.merge(actual_df[take], on=[*keys, time_col], how="left").sort_values("__row")
    merged = merged.drop(columns=["__row"]).reset_index(drop=True)
    return _score_merged(merged, [*keys, time_col], target_col, stockout_col, lo_col, hi_col, min_score)


_KINDS = {0: "normal", 1: "spike", 2: "drop", 3: "stockout", 4: "missing"}


def _score_merged(merged: Any, shown: list[str], target_col: str, stockout_col: str | None, lo_col: str, hi_col: str,
                  min_score: float) -> Any:
    """Interval scores of a frame holding actuals and forecast quantiles side by side.

    ``shown``: the key and time columns named in error messages (checked here as well, for
    the partitions of a Dask join).
    """
    panel.require_not_null(merged, shown, shown, "by residual_anomalies to join actuals to forecasts")
    panel.require_finite(merged, [target_col, lo_col, hi_col], shown, purpose="by residual_anomalies; NaN is missing")
    lower = merged[lo_col].astype("float64")
    upper = merged[hi_col].astype("float64")
    bad = panel.frames.as_array(lower > upper)
    if bool(bad.any()):
        panel.fail(lo_col, f"lower quantile above the upper one ({hi_col!r})", int(bad.sum()),
                   panel.examples(merged, panel.namespace(merged).nonzero(bad)[0], shown))
    y = merged[target_col].astype("float64")
    width = (upper - lower).where(upper > lower, 1e-9)
    above = ((y - upper) / width).clip(lower=0)
    below = ((lower - y) / width).clip(lower=0)
    score = above.where(above > 0, below)
    miss = y.isna()
    stock = merged[stockout_col].fillna(False).astype(bool) if stockout_col else miss & False
    out_of = (score > min_score) & (score > 0)
    code = (out_of & (above > 0)).astype("int8") + 2 * (out_of & (below > 0)).astype("int8")
    code = code.where(~stock, 3).where(~miss, 4)
    flag = out_of & ~stock & ~miss
    out = merged.rename(columns={target_col: "actual"})
    return out.assign(lower=lower, upper=upper, anomaly_score=score.where(~stock, 0.0), is_anomaly=flag,
                      kind=code.map(_KINDS))


def _residual_dask(actual_df: Any, forecast_df: Any, keys: list[str], time_col: str, target_col: str,
                   stockout_col: str | None, lo_col: str, hi_col: str, min_score: float) -> Any:
    """Join lazily on the keys, then score each partition with the in-memory code."""
    import dask.dataframe as dd

    take = [*keys, time_col, target_col] + ([stockout_col] if stockout_col else [])
    merged = dd.merge(forecast_df, actual_df[take], on=[*keys, time_col], how="left")
    shown = [*keys, time_col]
    meta = _score_merged(merged._meta, shown, target_col, stockout_col, lo_col, hi_col, min_score)
    return merged.map_partitions(_score_merged, shown, target_col, stockout_col, lo_col, hi_col, min_score, meta=meta)
