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

from typing import Any, Sequence


from toolkit.backend import is_dask, is_gpu
from toolkit.errors import DataValidationError
from toolkit.panel import as_list

__all__ = ["residual_anomalies", "quantile_column"]


def quantile_column(df: Any, q: float | str) -> str:
    """The column of ``df`` holding quantile ``q``: the name itself when ``q`` is a string, else
    the first of ``"q{q}"``, ``"{q}"``, ``"q{100q}"`` present (e.g. ``"q0.1"``, ``"0.1"``, ``"q10"``)."""
    if isinstance(q, str):
        if q not in df.columns:
            raise DataValidationError(f"column {q!r}: missing from the forecast frame", column=q)
        return q
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
        Missing columns, duplicated (keys, time) rows in either frame, or lower > upper.
    """
    keys = as_list(id_cols)
    if len(quantiles) != 2:
        raise DataValidationError(f"quantiles must be a (lower, upper) pair, got {quantiles!r}")
    lo_col = quantile_column(forecast_df, quantiles[0])
    hi_col = quantile_column(forecast_df, quantiles[1])
    need_a = [*keys, time_col, target_col] + ([stockout_col] if stockout_col else [])
    missing = [c for c in need_a if c not in actual_df.columns]
    missing += [c for c in [*keys, time_col] if c not in forecast_df.columns]
    if missing:
        raise DataValidationError(f"column {missing[0]!r}: missing", column=missing[0])
    if is_dask(actual_df) or is_dask(forecast_df):
        return _residual_dask(actual_df, forecast_df, keys, time_col, target_col, stockout_col, lo_col, hi_col,
                              min_score)
    for name, frame in (("actual_df", actual_df), ("forecast_df", forecast_df)):
        dup = frame.duplicated(subset=[*keys, time_col])
        n_dup = int(dup.sum())
        if n_dup:
            rows = frame[dup][[*keys, time_col]].head(3)
            rows = rows.to_pandas() if is_gpu(rows) else rows
            raise DataValidationError(
                f"column {time_col!r}: {n_dup} duplicated ({', '.join(keys)}, {time_col}) rows in {name}, e.g. "
                f"{[tuple(r) for r in rows.itertuples(index=False)]}", column=time_col)
    return _residual_frame(actual_df, forecast_df, keys, time_col, target_col, stockout_col, lo_col, hi_col,
                           min_score)


def _residual_frame(actual_df: Any, forecast_df: Any, keys: list[str], time_col: str, target_col: str,
                    stockout_col: str | None, lo_col: str, hi_col: str, min_score: float) -> Any:
    take = [*keys, time_col, target_col] + ([stockout_col] if stockout_col else [])
    fc = forecast_df.reset_index(drop=True).reset_index().rename(columns={"index": "__row"})
    merged = fc.merge(actual_df[take], on=[*keys, time_col], how="left").sort_values("__row")
    merged = merged.drop(columns=["__row"]).reset_index(drop=True)
    return _score_merged(merged, target_col, stockout_col, lo_col, hi_col, min_score)


_KINDS = {0: "normal", 1: "spike", 2: "drop", 3: "stockout", 4: "missing"}


def _score_merged(merged: Any, target_col: str, stockout_col: str | None, lo_col: str, hi_col: str,
                  min_score: float) -> Any:
    """Interval scores of a frame holding actuals and forecast quantiles side by side."""
    lower = merged[lo_col].astype("float64")
    upper = merged[hi_col].astype("float64")
    bad = lower > upper
    if bool(bad.any()):
        raise DataValidationError(f"column {lo_col!r}: {int(bad.sum())} rows with lower quantile above upper",
                                  column=lo_col)
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
    meta = _score_merged(merged._meta, target_col, stockout_col, lo_col, hi_col, min_score)
    return merged.map_partitions(_score_merged, target_col, stockout_col, lo_col, hi_col, min_score, meta=meta)
