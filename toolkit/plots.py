"""The standard pictures of the curated notebooks: forecasts with intervals, backtest errors,
inventory paths and the service-level / cost frontier.

Every function takes frames or arrays of either backend (device data is brought to the host
here, since matplotlib draws from host memory), draws on the ``ax`` it is given or on a new
one, and returns the ``Axes`` so a notebook can add to it. Nothing is shown or saved.
"""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np

from toolkit import backend

__all__ = ["forecast", "backtest_errors", "inventory_paths", "frontier"]


def _axes(ax: Any, figsize: tuple[float, float]) -> Any:
    if ax is not None:
        return ax
    import matplotlib.pyplot as plt

    return plt.subplots(figsize=figsize)[1]


def forecast(
    history: Any,
    prediction: Any,
    *,
    time_col: str = "date",
    target_col: str = "units",
    forecast_col: str = "forecast",
    lower_col: str | None = None,
    upper_col: str | None = None,
    actual: Any = None,
    title: str | None = None,
    ax: Any = None,
) -> Any:
    """One series: history, forecast, its interval and (optionally) what actually happened.

    Parameters
    ----------
    history : frame
        Rows of one series with ``time_col`` and ``target_col``.
    prediction : frame
        Rows of the same series with ``time_col``, ``forecast_col`` and optional bounds.
    lower_col, upper_col : str, optional
        Interval columns of ``prediction`` (e.g. ``"q0.1"``, ``"q0.9"``).
    actual : frame, optional
        Held-out rows (``time_col``, ``target_col``) drawn as dots.
    title : str, optional
    ax : matplotlib Axes, optional

    Returns
    -------
    matplotlib Axes

    Examples
    --------
    >>> import matplotlib; matplotlib.use("Agg")
    >>> import pandas as pd
    >>> from toolkit import plots
    >>> h = pd.DataFrame({"date": pd.date_range("2024-01-01", periods=5), "units": [1.0, 2, 3, 2, 1]})
    >>> p = pd.DataFrame({"date": pd.date_range("2024-01-06", periods=2), "forecast": [2.0, 2.0]})
    >>> len(plots.forecast(h, p).lines)
    2
    """
    ax = _axes(ax, (10, 3.5))
    h, p = backend.to_host(history), backend.to_host(prediction)
    ax.plot(h[time_col], h[target_col], lw=0.9, color="0.3", label="history")
    ax.plot(p[time_col], p[forecast_col], lw=1.6, color="tab:blue", label="forecast")
    if lower_col and upper_col:
        ax.fill_between(p[time_col], p[lower_col], p[upper_col], color="tab:blue", alpha=0.2, label="interval")
    if actual is not None:
        a = backend.to_host(actual)
        ax.scatter(a[time_col], a[target_col], s=10, color="tab:orange", zorder=3, label="actual")
    ax.set_ylabel(target_col)
    ax.legend(loc="upper left", fontsize=8)
    if title:
        ax.set_title(title)
    return ax


def backtest_errors(table: Any, metric: str = "wape", *, model_col: str = "model", ax: Any = None) -> Any:
    """Bar chart of one metric per model (lower is better), from a table with one row per model.

    Parameters
    ----------
    table : frame
        Columns ``model_col`` and ``metric``.
    metric : str
    model_col : str
    ax : matplotlib Axes, optional

    Returns
    -------
    matplotlib Axes
    """
    ax = _axes(ax, (6, 3))
    t = backend.to_host(table)
    ax.barh(t[model_col].astype(str), t[metric], color="tab:blue")
    ax.invert_yaxis()
    ax.set_xlabel(f"{metric} (lower is better)")
    for y, value in enumerate(t[metric]):
        ax.annotate(f"{value:.3f}", (value, y), xytext=(3, 0), textcoords="offset points", va="center", fontsize=8)
    return ax


def inventory_paths(
    paths: Any,
    *,
    time_col: str = "date",
    label_cols: Sequence[str] = ("sku", "warehouse"),
    reorder_point: Any = None,
    max_series: int = 4,
    ax: Any = None,
) -> Any:
    """Stock on hand day by day (and the days with unmet demand) for a few series.

    Parameters
    ----------
    paths : frame
        The ``paths`` frame of :func:`toolkit.decisions.inventory.simulate_policy`
        (``label_cols``, ``time_col``, ``on_hand``, ``unmet``).
    label_cols : sequence of str
        Columns that identify a series (its label in the legend).
    reorder_point : dict, optional
        ``{label tuple: level}`` drawn as dashed lines.
    max_series : int
        Series drawn (the first ones).
    ax : matplotlib Axes, optional

    Returns
    -------
    matplotlib Axes
    """
    ax = _axes(ax, (10, 3.5))
    p = backend.to_host(paths)
    cols = list(label_cols)
    for n, (key, part) in enumerate(p.groupby(cols, observed=True, sort=True)):
        if n >= max_series:
            break
        key = key if isinstance(key, tuple) else (key,)
        line = ax.plot(part[time_col], part["on_hand"], lw=1.0, label=" / ".join(map(str, key)))[0]
        short = part[part["unmet"] > 0]
        ax.scatter(short[time_col], np.zeros(len(short)), marker="x", s=14, color=line.get_color())
        if reorder_point is not None and key in reorder_point:
            ax.axhline(reorder_point[key], ls="--", lw=0.8, color=line.get_color())
    ax.set_ylabel("on hand (x: unmet demand)")
    ax.legend(loc="upper right", fontsize=8)
    return ax


def frontier(
    table: Any,
    *,
    service_col: str = "fill_rate",
    cost_col: str = "total_cost",
    label_col: str | None = "policy",
    highlight: Any = None,
    ax: Any = None,
) -> Any:
    """Service level against cost: one point per row (a policy or a target), lines joining
    rows that share ``label_col``.

    Parameters
    ----------
    table : frame
        Columns ``service_col``, ``cost_col`` (and ``label_col``).
    highlight : str, optional
        A ``label_col`` value drawn larger (the chosen policy).
    ax : matplotlib Axes, optional

    Returns
    -------
    matplotlib Axes
    """
    ax = _axes(ax, (6, 4))
    t = backend.to_host(table)
    groups = t.groupby(label_col, sort=False) if label_col else [(None, t)]
    for name, part in groups:
        part = part.sort_values(service_col)
        size = 60 if highlight is not None and name == highlight else 20
        ax.plot(part[service_col], part[cost_col], marker="o", ms=np.sqrt(size), lw=1.0, label=name)
    ax.set_xlabel(service_col.replace("_", " "))
    ax.set_ylabel(cost_col.replace("_", " "))
    if label_col:
        ax.legend(fontsize=8)
    return ax
