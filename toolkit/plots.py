"""The standard pictures of the curated notebooks: forecasts with intervals, backtest errors,
inventory paths, the service-level / cost frontier, route plans, delay distributions, media
response curves and revenue contributions.

Every function takes frames or arrays of either backend (device data is brought to the host
here, since matplotlib draws from host memory), draws on the ``ax`` it is given or on a new
one, and returns the ``Axes`` so a notebook can add to it. Nothing is shown or saved.
"""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np

from toolkit import backend

__all__ = ["forecast", "backtest_errors", "inventory_paths", "frontier", "routes", "delay_distribution", "response_curves",
           "contributions"]


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


def routes(
    plan: Any,
    depot: Sequence[float],
    *,
    coord_cols: Sequence[str] = ("x", "y"),
    title: str | None = None,
    ax: Any = None,
) -> Any:
    """A route plan on a map-like scatter: one colour per vehicle, depot as a star.

    Parameters
    ----------
    plan : RoutePlan
        From :func:`toolkit.decisions.logistics.plan_routes`.
    depot : (float, float)
        Depot coordinates in the order of ``coord_cols``.
    coord_cols : (str, str)
        Coordinate columns of ``plan.routes``; drawn as (x, y) = (second, first) when they
        are ``("lat", "lon")`` so that longitude runs horizontally.
    title : str, optional
    ax : matplotlib Axes, optional

    Returns
    -------
    matplotlib Axes
    """
    ax = _axes(ax, (6, 6))
    cols = list(coord_cols)
    horizontal, vertical = (1, 0) if cols[0] == "lat" else (0, 1)
    stops = backend.to_host(plan.routes).sort_values(["vehicle", "sequence"])
    for vehicle, visits in stops.groupby("vehicle", sort=True):
        pts = np.vstack([depot, visits[cols].to_numpy(dtype=float), depot])
        line = ax.plot(pts[:, horizontal], pts[:, vertical], "-", lw=1, alpha=0.7)[0]
        ax.scatter(pts[1:-1, horizontal], pts[1:-1, vertical], s=12 + 4 * np.sqrt(visits["demand"].to_numpy(float)),
                   color=line.get_color(), label=f"vehicle {vehicle}")
    ax.scatter([depot[horizontal]], [depot[vertical]], marker="*", s=250, color="black", zorder=5, label="depot")
    ax.set_xlabel(cols[horizontal])
    ax.set_ylabel(cols[vertical])
    ax.set_title(title or f"{len(plan.vehicles)} routes, distance {plan.distance:,.1f}")
    if len(plan.vehicles) <= 12:
        ax.legend(fontsize="small", loc="best")
    return ax


def delay_distribution(
    delays: Any,
    *,
    highlight: Any = None,
    label: str = "days late (actual - promised)",
    title: str | None = None,
    ax: Any = None,
) -> Any:
    """Histogram of delivery delays, optionally with a second set (e.g. one day) on top.

    Parameters
    ----------
    delays : array or Series
        Delays of the reference set (a lane's history).
    highlight : array or Series, optional
        Delays drawn over it (a selected day), normalised the same way.
    label, title : str
    ax : matplotlib Axes, optional

    Returns
    -------
    matplotlib Axes
    """
    ax = _axes(ax, (6, 3.5))
    base = np.asarray(backend.to_host(delays), dtype=float)
    base = base[np.isfinite(base)]
    lo, hi = (np.floor(base.min()), np.ceil(base.max())) if base.size else (-1.0, 1.0)
    if highlight is not None:
        extra = np.asarray(backend.to_host(highlight), dtype=float)
        extra = extra[np.isfinite(extra)]
        if extra.size:
            lo, hi = min(lo, np.floor(extra.min())), max(hi, np.ceil(extra.max()))
    bins = np.arange(lo - 0.5, hi + 1.5)
    ax.hist(base, bins=bins, density=True, alpha=0.6, label="history")
    if highlight is not None and extra.size:
        ax.hist(extra, bins=bins, density=True, alpha=0.6, label="selected")
    ax.axvline(0.0, color="black", lw=1, ls="--")
    ax.set_xlabel(label)
    ax.set_ylabel("share")
    if title:
        ax.set_title(title)
    ax.legend(fontsize="small")
    return ax


def response_curves(
    model: Any,
    *,
    spend: Any = None,
    max_spend: float | None = None,
    points: int = 100,
    title: str | None = None,
    ax: Any = None,
) -> Any:
    """Daily media revenue against daily spend, per channel, with the current spend marked.

    Parameters
    ----------
    model : MarketingMixModel
        Fitted (or built with ``from_params``).
    spend : mapping channel -> daily spend, optional
        Points to mark (default: the fitted mean daily spend).
    max_spend : float, optional
        Right end of the curves (default: 3 x the largest marked spend).
    points : int
    title : str, optional
    ax : matplotlib Axes, optional

    Returns
    -------
    matplotlib Axes
    """
    ax = _axes(ax, (7, 4))
    params = model.params_
    marks = dict(params["mean_spend"]) if spend is None else {str(k): float(v) for k, v in dict(spend).items()}
    top = max_spend or 3.0 * max([v for v in marks.values() if np.isfinite(v)] + [1.0])
    grid = np.linspace(0.0, top, points)
    for channel in params.index:
        curve = model.response_curve(channel, grid)
        line = ax.plot(curve["spend"], curve["response"], label=channel)[0]
        if channel in marks and np.isfinite(marks[channel]):
            at = model.response_curve(channel, [marks[channel]])
            ax.scatter(at["spend"], at["response"], color=line.get_color(), zorder=5)
    ax.set_xlabel("daily spend")
    ax.set_ylabel("daily media revenue")
    ax.set_title(title or "response curves (dots: current spend)")
    ax.legend(fontsize="small")
    return ax


def contributions(
    decomposition: Any,
    *,
    time_col: str = "date",
    channel_col: str = "channel",
    title: str | None = None,
    ax: Any = None,
) -> Any:
    """Revenue over time split into baseline and media contribution per channel (stacked).

    Parameters
    ----------
    decomposition : frame
        :meth:`MarketingMixModel.contributions` output (``baseline``, ``media``, ``actual``).
    time_col, channel_col : str
    title : str, optional
    ax : matplotlib Axes, optional

    Returns
    -------
    matplotlib Axes
    """
    ax = _axes(ax, (10, 4))
    frame = backend.to_host(decomposition)
    media = frame.pivot_table(index=time_col, columns=channel_col, values="media", aggfunc="sum", observed=True)
    base = frame.groupby(time_col)["baseline"].sum()
    actual = frame.groupby(time_col)["actual"].sum()
    ax.stackplot(media.index, base.to_numpy(), *[media[c].to_numpy() for c in media.columns],
                 labels=["baseline", *[f"media: {c}" for c in media.columns]], alpha=0.7)
    ax.plot(actual.index, actual.to_numpy(), color="black", lw=0.6, label="actual")
    ax.set_ylabel("revenue")
    ax.set_title(title or "revenue = baseline + media contributions")
    ax.legend(fontsize="small", loc="upper left", ncol=3)
    return ax
