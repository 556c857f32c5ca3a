"""Features of the target's own past: lags, rolling and expanding statistics, EWM, differences.

Every function here lays the panel out once (:class:`~toolkit.panel.SeriesLayout`: rows
sorted by series and time, no sort at all when the input already is), hands the kernels of
:mod:`toolkit.kernels.windows` the target in that order with the series bounds, and
scatters the results back, so output rows keep the input order and index.

* **Leakage.** Windows, expanding and EWM statistics, differences and percentage changes
  use the target shifted by ``shift >= 1`` rows (default 1): the feature of row ``t`` never
  sees the value at ``t``. Rows before a window fills are NaN, never zeros.
* **Rows, not calendar time.** Like ``groupby(...).shift`` and mlforecast, a lag of ``k`` is
  ``k`` rows back in the series; fill calendar gaps first (:mod:`toolkit.cleanse`) when a lag
  must mean ``k`` steps of the calendar.
* **Non-finite values**: NaN is missing (skipped as pandas skips it), +-inf is rejected
  naming the column and keys (see :mod:`toolkit.features.inputs`).
* **Dask.** The frame is shuffled so every series lies whole in one partition
  (:func:`toolkit.panel.per_series`); the check "lag longer than every series" is skipped
  there (it would need a pass over the data).
* **Names** are deterministic: ``lag_7``, ``rolling_mean_28``, ``rolling_q0.9_28``,
  ``expanding_std``, ``ewm_mean_0.3``, ``ewm_mean_span4``, ``diff_1``, ``pct_change_1``; a
  non-default ``shift`` appends ``_shift{s}``.

Examples
--------
>>> import pandas as pd
>>> from toolkit.features import add_lags, add_rolling
>>> df = pd.DataFrame({"sku": "a", "date": pd.date_range("2024-01-01", periods=4), "units": [1.0, 2.0, 3.0, 4.0]})
>>> add_rolling(add_lags(df, 1, id_cols="sku"), 2, id_cols="sku")[["lag_1", "rolling_mean_2"]].values.tolist()
[[nan, nan], [1.0, nan], [2.0, 1.5], [3.0, 2.5]]
"""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np

from toolkit import panel
from toolkit.errors import DataValidationError
from toolkit.features.inputs import (
    check_shift,
    column_values,
    layout_rows,
    numbers_of,
    positive_ints,
    require_history,
    run_per_series,
    shift_suffix,
)
from toolkit.kernels.windows import EXPANDING_STATS, ewm_kernel, lag, rolling_kernel, stat_names
from toolkit.panel import DEFAULT_ID_COLS, SeriesLayout

__all__ = [
    "add_lags",
    "add_rolling",
    "add_expanding",
    "add_ewm",
    "add_diff",
    "add_pct_change",
    "ewm_terms",
    "check_min_periods",
]


def _target_in_order(df: Any, layout: SeriesLayout, target: str, shown: Sequence[str]) -> Any:
    # column_values refuses +-inf, so the kernels below are told the values are finite (finite=True)
    return layout.gather(column_values(df, target, shown, keep_float32=True))


def check_min_periods(min_periods: Any, window: int) -> int | None:
    """``None`` or a whole number between 0 and ``window``."""
    if min_periods is None:
        return None
    return panel.check_int("min_periods", min_periods, minimum=0, maximum=window)


def ewm_terms(alphas: Any, spans: Any, shift: int, param: str = "alphas") -> tuple[list[float], list[str]]:
    """Smoothing factors and column names of the EWM means asked for by ``alphas`` and ``spans``.

    ``param`` names the alphas in error messages (``ewm_alphas`` in a :class:`FeatureSpec`).
    """
    values, names = [], []
    for a in numbers_of(alphas, param):
        values.append(panel.check_number(param, a, 0.0, 1.0, low_open=True))
        names.append(f"ewm_mean_{a:g}{shift_suffix(shift)}")
    for s in numbers_of(spans, "spans"):
        values.append(2.0 / (panel.check_number("spans", s, minimum=1.0) + 1.0))
        names.append(f"ewm_mean_span{s:g}{shift_suffix(shift)}")
    return values, names


# ----------------------------------------------------------------------------- lags


def _lags_frame(df, lags, target, keys, time, strict=True):
    layout = layout_rows(df, keys, time, target, strict)
    if strict:
        require_history(layout, max(lags), target, f"lag {max(lags)}")
    x = _target_in_order(df, layout, target, [*keys, time])
    return panel.assign(df, {f"lag_{k}": layout.scatter(lag(x, layout.bounds, k)) for k in lags})


def add_lags(
    df: Any,
    lags: int | Sequence[int],
    target_col: str = "units",
    id_cols: str | Sequence[str] = DEFAULT_ID_COLS,
    time_col: str = "date",
) -> Any:
    """Add ``lag_k``: the target ``k`` rows earlier in the same series.

    Parameters
    ----------
    df : pandas, cudf or Dask DataFrame
        Long-format panel, one row per (series, time); need not be sorted.
    lags : int or sequence of int
        Positive row offsets.
    target_col, id_cols, time_col : str
        The usual column names (``id_cols`` may be a list).

    Returns
    -------
    frame
        Same kind as ``df``: all input columns plus ``lag_k`` (float64), rows in input order.

    Raises
    ------
    DataValidationError
        Not a frame, a missing column, a non-datetime time column or non-numeric target,
        duplicated (keys, time), missing keys or timestamps, an infinite target, a lag at
        least as long as every series, or a lag that is not a positive whole number.

    Examples
    --------
    >>> import pandas as pd
    >>> df = pd.DataFrame({"sku": ["a", "a", "a"], "date": pd.date_range("2024-01-01", periods=3),
    ...                    "units": [1.0, 2.0, 3.0]})
    >>> add_lags(df, [1, 2], id_cols="sku")[["lag_1", "lag_2"]].values.tolist()
    [[nan, nan], [1.0, nan], [2.0, 1.0]]
    """
    return run_per_series(df, _lags_frame, id_cols, time_col, [target_col], "for lag features",
                          lags=positive_ints(lags, "lags"), target=target_col)


# ----------------------------------------------------------------------------- windows


def _rolling_frame(df, windows, stats, shift, min_periods, target, keys, time, strict=True):
    layout = layout_rows(df, keys, time, target, strict)
    if strict:
        if min_periods is None:
            require_history(layout, shift + min(windows) - 1, target,
                            f"rolling window {min(windows)} with shift {shift}")
    x = _target_in_order(df, layout, target, [*keys, time])
    cols = {}
    for w in windows:
        res = rolling_kernel(x, layout, w, stats, shift, min_periods, finite=True)
        cols.update({f"rolling_{s}_{w}{shift_suffix(shift)}": layout.scatter(res[s]) for s in stats})
    return panel.assign(df, cols)


def add_rolling(
    df: Any,
    windows: int | Sequence[int],
    stats: Sequence[str] = ("mean",),
    shift: int = 1,
    min_periods: int | None = None,
    target_col: str = "units",
    id_cols: str | Sequence[str] = DEFAULT_ID_COLS,
    time_col: str = "date",
) -> Any:
    """Add rolling-window statistics of the target, computed on values shifted by ``shift``.

    The window of row ``t`` covers rows ``t-shift-window+1 .. t-shift`` of its series, so with
    the default ``shift=1`` the row's own value is never used. Missing values are skipped;
    windows with fewer than ``min_periods`` non-missing values give NaN.

    Parameters
    ----------
    df : pandas, cudf or Dask DataFrame
    windows : int or sequence of int
        Window lengths in rows.
    stats : sequence of str, default ("mean",)
        Among ``mean, std, min, max, sum, median, count`` and ``'q<level>'`` (e.g. ``'q0.9'``).
    shift : int, default 1
        ``>= 1``.
    min_periods : int, optional
        Default: the window length; at most the shortest window.
    target_col, id_cols, time_col : str

    Returns
    -------
    frame
        Input columns plus ``rolling_{stat}_{window}`` (float64), rows in input order.

    Examples
    --------
    >>> import pandas as pd
    >>> df = pd.DataFrame({"sku": "a", "date": pd.date_range("2024-01-01", periods=4),
    ...                    "units": [1.0, 2.0, 3.0, 4.0]})
    >>> add_rolling(df, 2, ("mean", "max"), id_cols="sku")["rolling_max_2"].tolist()
    [nan, nan, 2.0, 3.0]
    """
    shift = check_shift(shift)
    stats = stat_names(stats)
    windows = positive_ints(windows, "windows")
    min_periods = check_min_periods(min_periods, min(windows))
    return run_per_series(df, _rolling_frame, id_cols, time_col, [target_col], "for rolling features",
                          windows=windows, stats=stats, shift=shift, min_periods=min_periods, target=target_col)


def _expanding_frame(df, stats, shift, min_periods, target, keys, time, strict=True):
    layout = layout_rows(df, keys, time, target, strict)
    res = rolling_kernel(_target_in_order(df, layout, target, [*keys, time]), layout, None, stats, shift, min_periods,
                         finite=True)
    return panel.assign(df, {f"expanding_{s}{shift_suffix(shift)}": layout.scatter(res[s]) for s in stats})


def add_expanding(
    df: Any,
    stats: Sequence[str] = ("mean",),
    shift: int = 1,
    min_periods: int = 1,
    target_col: str = "units",
    id_cols: str | Sequence[str] = DEFAULT_ID_COLS,
    time_col: str = "date",
) -> Any:
    """Add expanding statistics of the target over all rows up to ``t - shift`` of each series.

    Parameters
    ----------
    df : pandas, cudf or Dask DataFrame
    stats : sequence of str, default ("mean",)
        Among ``mean, std, count, sum, min, max``.
    shift : int, default 1
    min_periods : int, default 1
    target_col, id_cols, time_col : str

    Returns
    -------
    frame
        Input columns plus ``expanding_{stat}`` (float64), rows in input order.

    Examples
    --------
    >>> import pandas as pd
    >>> df = pd.DataFrame({"sku": "a", "date": pd.date_range("2024-01-01", periods=3),
    ...                    "units": [2.0, 4.0, 9.0]})
    >>> add_expanding(df, ("mean", "count"), id_cols="sku")["expanding_mean"].tolist()
    [nan, 2.0, 3.0]
    """
    shift = check_shift(shift)
    stats = stat_names(stats, EXPANDING_STATS)
    min_periods = panel.check_int("min_periods", min_periods, minimum=0)
    return run_per_series(df, _expanding_frame, id_cols, time_col, [target_col], "for expanding features",
                          stats=stats, shift=shift, min_periods=min_periods, target=target_col)


def _ewm_frame(df, alphas, names, shift, target, keys, time, strict=True):
    layout = layout_rows(df, keys, time, target, strict)
    x = _target_in_order(df, layout, target, [*keys, time])
    return panel.assign(df, {name: layout.scatter(ewm_kernel(x, layout, a, shift, finite=True))
                             for name, a in zip(names, alphas)})


def add_ewm(
    df: Any,
    alphas: Sequence[float] = (),
    spans: Sequence[float] = (),
    shift: int = 1,
    target_col: str = "units",
    id_cols: str | Sequence[str] = DEFAULT_ID_COLS,
    time_col: str = "date",
) -> Any:
    """Add exponentially weighted means of the target (``adjust=False`` recursion), shifted.

    ``ewm_t = alpha * y_t + (1 - alpha) * ewm_{t-1}`` per series, as
    ``pandas.Series.ewm(alpha=..., adjust=False).mean()``, then lagged by ``shift`` rows.

    Parameters
    ----------
    df : pandas, cudf or Dask DataFrame
    alphas : float or sequence of float
        Smoothing factors in ``(0, 1]``; column ``ewm_mean_{alpha}``.
    spans : float or sequence of float
        Spans ``>= 1`` (``alpha = 2 / (span + 1)``); column ``ewm_mean_span{span}``.
    shift : int, default 1
    target_col, id_cols, time_col : str

    Returns
    -------
    frame

    Examples
    --------
    >>> import pandas as pd
    >>> df = pd.DataFrame({"sku": "a", "date": pd.date_range("2024-01-01", periods=3),
    ...                    "units": [2.0, 4.0, 9.0]})
    >>> add_ewm(df, alphas=[0.5], id_cols="sku")["ewm_mean_0.5"].tolist()
    [nan, 2.0, 3.0]
    """
    shift = check_shift(shift)
    values, names = ewm_terms(alphas, spans, shift)
    if not values:
        raise DataValidationError.for_parameter("alphas", "give at least one of alphas or spans", alphas)
    return run_per_series(df, _ewm_frame, id_cols, time_col, [target_col], "for EWM features",
                          alphas=tuple(values), names=tuple(names), shift=shift, target=target_col)


# ----------------------------------------------------------------------------- changes


def _change_frame(df, periods, shift, kind, target, keys, time, strict=True):
    layout = layout_rows(df, keys, time, target, strict)
    if strict:
        require_history(layout, shift + max(periods), target, f"{kind} {max(periods)} with shift {shift}")
    x = _target_in_order(df, layout, target, [*keys, time])
    base = lag(x, layout.bounds, shift)
    cols = {}
    for k in periods:
        past = lag(x, layout.bounds, shift + k)
        if kind == "diff":
            value = base - past
        else:
            with np.errstate(divide="ignore", invalid="ignore"):  # a zero base gives +-inf or NaN, as in pandas
                value = base / past - 1.0
        cols[f"{kind}_{k}{shift_suffix(shift)}"] = layout.scatter(value)
    return panel.assign(df, cols)


def _add_change(df, periods, shift, kind, target_col, id_cols, time_col):
    shift = check_shift(shift)
    periods = positive_ints(periods, "periods")
    return run_per_series(df, _change_frame, id_cols, time_col, [target_col], f"for {kind} features",
                          periods=periods, shift=shift, kind=kind, target=target_col)


def add_diff(
    df: Any,
    periods: int | Sequence[int] = 1,
    shift: int = 1,
    target_col: str = "units",
    id_cols: str | Sequence[str] = DEFAULT_ID_COLS,
    time_col: str = "date",
) -> Any:
    """Add ``diff_k = y[t-shift] - y[t-shift-k]`` per series (differences of the shifted target).

    Parameters
    ----------
    df : pandas, cudf or Dask DataFrame
    periods : int or sequence of int, default 1
    shift : int, default 1
    target_col, id_cols, time_col : str

    Returns
    -------
    frame

    Examples
    --------
    >>> import pandas as pd
    >>> df = pd.DataFrame({"sku": "a", "date": pd.date_range("2024-01-01", periods=4),
    ...                    "units": [1.0, 4.0, 9.0, 16.0]})
    >>> add_diff(df, 1, id_cols="sku")["diff_1"].tolist()
    [nan, nan, 3.0, 5.0]
    """
    return _add_change(df, periods, shift, "diff", target_col, id_cols, time_col)


def add_pct_change(
    df: Any,
    periods: int | Sequence[int] = 1,
    shift: int = 1,
    target_col: str = "units",
    id_cols: str | Sequence[str] = DEFAULT_ID_COLS,
    time_col: str = "date",
) -> Any:
    """Add ``pct_change_k = y[t-shift] / y[t-shift-k] - 1`` per series.

    Parameters
    ----------
    df : pandas, cudf or Dask DataFrame
    periods : int or sequence of int, default 1
    shift : int, default 1
    target_col, id_cols, time_col : str

    Returns
    -------
    frame
        A zero denominator gives ``inf`` (or NaN for 0/0), as pandas does.

    Examples
    --------
    >>> import pandas as pd
    >>> df = pd.DataFrame({"sku": "a", "date": pd.date_range("2024-01-01", periods=3),
    ...                    "units": [2.0, 3.0, 6.0]})
    >>> add_pct_change(df, 1, id_cols="sku")["pct_change_1"].tolist()
    [nan, nan, 0.5]
    """
    return _add_change(df, periods, shift, "pct_change", target_col, id_cols, time_col)
