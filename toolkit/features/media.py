"""Marketing response features: geometric adstock (carry-over) and Hill saturation of media columns.

* **Spend is decided in advance**, so both transforms use the row's own value.
* **Missing and non-finite values.** Adstock counts missing spend (NaN) as zero spend, and
  rows before a series' first row as zero; saturation leaves NaN as NaN. Infinite values
  are rejected, and so are negative values for saturation (the Hill curve needs ``x >= 0``),
  naming the column and a few rows.
* **Dask.** Adstock runs per series (a channel whole in one partition); saturation is
  elementwise and runs on every partition as it is.

Examples
--------
>>> import pandas as pd
>>> from toolkit.features import add_adstock, add_saturation
>>> df = pd.DataFrame({"channel": "tv", "date": pd.date_range("2024-01-01", periods=3), "spend": [10.0, 0.0, 0.0]})
>>> add_saturation(add_adstock(df, "spend", 0.5, 2), "spend_adstock", half_sat=5.0)["spend_adstock_saturation"].round(3).tolist()
[0.667, 0.5, 0.333]
"""

from __future__ import annotations

from typing import Any, Mapping, Sequence

from toolkit import panel
from toolkit.features.inputs import check_panel, column_names, column_values, layout_rows, per_column, run_per_series
from toolkit.kernels.windows import lag

__all__ = ["add_adstock", "add_saturation"]


def _adstock_frame(df, cols, decay, max_lag, normalize, keys, time, strict=True):
    layout = layout_rows(df, keys, time, cols[0], strict)
    xp = layout.xp
    out = {}
    for col in cols:
        x = layout.gather(column_values(df, col, [*keys, time]))
        d = decay[col]
        acc = xp.zeros(x.shape, dtype=xp.float64)
        for k in range(max_lag + 1):  # a loop over lags (max_lag + 1 vector ops), not over series
            past = lag(x, layout.bounds, k)
            acc = acc + (d**k) * xp.where(xp.isnan(past), xp.zeros_like(past), past)
        if normalize:
            acc = acc / sum(d**k for k in range(max_lag + 1))
        out[f"{col}_adstock"] = layout.scatter(acc)
    return panel.assign(df, out)


def add_adstock(
    df: Any,
    cols: str | Sequence[str],
    decay: float | Mapping[str, float],
    max_lag: int,
    normalize: bool = False,
    id_cols: str | Sequence[str] = "channel",
    time_col: str = "date",
) -> Any:
    """Add geometric adstock (carry-over) of media columns per series.

    ``adstock_t = sum_{l=0}^{max_lag} decay^l * x_{t-l}`` within each series (e.g. each
    marketing channel); rows before the first one count as zero spend, and missing values
    count as zero. With ``normalize=True`` the weights are divided by their sum, so the
    adstock is a weighted average of recent spend.

    Parameters
    ----------
    df : pandas, cudf or Dask DataFrame
    cols : str or sequence of str
        Media columns (spend, impressions...).
    decay : float or mapping col -> float
        Retention per row, in ``[0, 1)``.
    max_lag : int
        Rows of carry-over (``>= 0``).
    normalize : bool, default False
    id_cols : str or sequence of str, default "channel"
        Series keys (the marketing table has one row per date and channel).
    time_col : str, default "date"

    Returns
    -------
    frame
        Input columns plus ``{col}_adstock`` (float64).

    Examples
    --------
    >>> import pandas as pd
    >>> df = pd.DataFrame({"channel": "web", "date": pd.date_range("2024-01-01", periods=3),
    ...                    "spend": [100.0, 0.0, 0.0]})
    >>> add_adstock(df, "spend", decay=0.5, max_lag=1)["spend_adstock"].tolist()
    [100.0, 50.0, 0.0]
    """
    cols = column_names(cols, "cols")
    decays = per_column(decay, cols, "decay", 0.0, 1.0, high_open=True)
    max_lag = panel.check_int("max_lag", max_lag, minimum=0)
    return run_per_series(df, _adstock_frame, id_cols, time_col, cols, "for adstock", cols=cols, decay=decays,
                          max_lag=max_lag, normalize=bool(normalize))


def _saturation_frame(df, cols, half_sat, shape):
    xp = panel.namespace(df)
    out = {}
    for col in cols:
        x = column_values(df, col)
        negative = x < 0
        if bool(xp.any(negative)):
            where = xp.nonzero(negative)[0]
            panel.fail(col, "has negative values; the Hill curve needs x >= 0", int(where.shape[0]),
                       panel.examples(df, where, []))
        xs = x ** shape[col]
        out[f"{col}_saturation"] = xs / (xs + half_sat[col] ** shape[col])
    return panel.assign(df, out)


def add_saturation(
    df: Any,
    cols: str | Sequence[str],
    half_sat: float | Mapping[str, float],
    shape: float | Mapping[str, float] = 1.0,
) -> Any:
    """Add the Hill saturation ``x^s / (x^s + k^s)`` of media columns (elementwise, in ``[0, 1)``).

    Parameters
    ----------
    df : pandas, cudf or Dask DataFrame
    cols : str or sequence of str
        Non-negative media columns (often the output of :func:`add_adstock`).
    half_sat : float or mapping col -> float
        ``k``: the value giving half the maximum response (``> 0``).
    shape : float or mapping col -> float, default 1.0
        ``s > 0``; above 1 the curve is S-shaped.

    Returns
    -------
    frame
        Input columns plus ``{col}_saturation`` (float64).

    Examples
    --------
    >>> import pandas as pd
    >>> df = pd.DataFrame({"spend": [0.0, 50.0, 150.0]})
    >>> add_saturation(df, "spend", half_sat=50.0, shape=1.0)["spend_saturation"].tolist()
    [0.0, 0.5, 0.75]
    """
    cols = column_names(cols, "cols")
    half = per_column(half_sat, cols, "half_sat", 0.0, low_open=True)
    shapes = per_column(shape, cols, "shape", 0.0, low_open=True)
    check_panel(df, [], None, cols, "for saturation")
    return panel.per_partition(df, _saturation_frame, cols=cols, half_sat=half, shape=shapes)
