"""The standard pictures of the curated notebooks: forecasts with intervals, backtest errors,
inventory paths, the service-level / cost frontier, route plans, delay distributions, media
response curves and revenue contributions.

Every function takes frames or arrays of either backend (device data is brought to the host
here, since matplotlib draws from host memory), draws on the ``ax`` it is given or on a new
one, and returns the ``Axes`` so a notebook can add to it. Nothing is shown or saved. A new
figure has the size of its picture, in inches: 10 x 3.5 for the time series (:func:`forecast`,
:func:`inventory_paths`), 10 x 4 for :func:`contributions`, 7 x 4 for :func:`response_curves`,
6 x 6 for :func:`routes`, 6 x 4 for :func:`frontier`, 6 x 3.5 for :func:`delay_distribution`
and 6 x 3 for :func:`backtest_errors`.

Input contract: each function checks its inputs before drawing anything -- a frame where a
frame is expected (in memory: a Dask frame is refused, call ``.compute()`` on the rows to
draw), the columns it draws present and numeric, an ``ax`` that is a matplotlib Axes -- and
raises :class:`~toolkit.errors.DataValidationError` naming the parameter or the column.
Non-finite values: NaN and ``inf`` are not drawn (matplotlib leaves a gap in a line; the
histogram of :func:`delay_distribution` and the scales ignore them).
:func:`host_frame`, :func:`check_media_model` and :func:`spend_by_channel` are the checks,
shared with :mod:`toolkit.widgets`.

Examples
--------
>>> import matplotlib; matplotlib.use("Agg")
>>> from toolkit import plots
>>> plots.backtest_errors([0.3, 0.2])
Traceback (most recent call last):
...
toolkit.errors.DataValidationError: parameter 'table': expected an in-memory pandas or cuDF DataFrame, got a list
"""

from __future__ import annotations

from typing import Any, Mapping, Sequence

import numpy as np

from toolkit import backend
from toolkit.errors import DataValidationError
from toolkit.panel.checks import (
    as_list,
    check_choice,
    check_frame,
    check_int,
    check_number,
    require_columns,
    require_numeric,
)

__all__ = ["forecast", "backtest_errors", "inventory_paths", "frontier", "routes", "delay_distribution", "response_curves",
           "contributions"]


def host_frame(df: Any, param: str, columns: Sequence[str] = (), numeric: Sequence[str] = (), purpose: str = "") -> Any:
    """``df`` on the host after checking it is an in-memory frame with ``columns`` (``numeric`` ones numeric).

    Raises
    ------
    DataValidationError
        Naming ``param`` (not an in-memory frame) or the first missing / non-numeric column.

    Examples
    --------
    >>> import pandas as pd
    >>> host_frame(pd.DataFrame({"a": [1]}), "table", ["b"])
    Traceback (most recent call last):
    ...
    toolkit.errors.DataValidationError: column 'b': missing; available columns: ['a']
    """
    check_frame(df, param, dask=False)
    require_columns(df, [*columns, *numeric], purpose)
    require_numeric(df, numeric, purpose)
    return backend.to_host(df)


def check_media_model(model: Any, param: str = "model") -> Any:
    """Raise unless ``model`` is a fitted :class:`toolkit.decisions.marketing.MarketingMixModel` (or alike).

    Raises
    ------
    DataValidationError
        ``model`` has no media response (``response_curve``, ``response``, ``marginal_roi``).
    sklearn.exceptions.NotFittedError
        ``model`` is not fitted (no ``params_``).
    """
    from sklearn.utils.validation import check_is_fitted

    if not all(callable(getattr(model, name, None)) for name in ("response_curve", "response", "marginal_roi")):
        raise DataValidationError.for_parameter(param, "expected a MarketingMixModel (toolkit.decisions.marketing)",
                                                type(model).__name__)
    check_is_fitted(model, "params_")
    return model


def spend_by_channel(spend: Any, channels: Sequence[str], param: str = "spend") -> dict[str, float]:
    """``{channel: daily spend}`` from a mapping, each channel known and each spend a finite number >= 0."""
    if not isinstance(spend, Mapping):
        raise DataValidationError.for_parameter(param, "expected a mapping channel -> daily spend",
                                                type(spend).__name__)
    return {check_choice(param, str(c), list(channels)): check_number(f"{param}[{c!r}]", v, minimum=0.0)
            for c, v in spend.items()}


def _axes(ax: Any, figsize: tuple[float, float]) -> Any:
    if ax is not None:
        if not callable(getattr(ax, "plot", None)):
            raise DataValidationError.for_parameter("ax", "expected a matplotlib Axes", type(ax).__name__)
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
    if (lower_col is None) != (upper_col is None):
        raise DataValidationError.for_parameter("upper_col" if upper_col is None else "lower_col",
                                                "give both interval bounds or neither", None)
    bounds = [c for c in (lower_col, upper_col) if c is not None]
    h = host_frame(history, "history", [time_col], [target_col], "by the history line")
    p = host_frame(prediction, "prediction", [time_col], [forecast_col, *bounds], "by the forecast line")
    a = None if actual is None else host_frame(actual, "actual", [time_col], [target_col], "by the actuals")
    ax = _axes(ax, (10, 3.5))
    ax.plot(h[time_col], h[target_col], lw=0.9, color="0.3", label="history")
    ax.plot(p[time_col], p[forecast_col], lw=1.6, color="tab:blue", label="forecast")
    if bounds:
        ax.fill_between(p[time_col], p[lower_col], p[upper_col], color="tab:blue", alpha=0.2, label="interval")
    if a is not None:
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
    t = host_frame(table, "table", [model_col], [metric], "by the bar chart")
    ax = _axes(ax, (6, 3))
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
    cols = as_list(label_cols, "label_cols")
    p = host_frame(paths, "paths", [*cols, time_col], ["on_hand", "unmet"], "by the inventory paths")
    max_series = check_int("max_series", max_series, minimum=1)
    if reorder_point is not None and not isinstance(reorder_point, Mapping):
        raise DataValidationError.for_parameter("reorder_point", "expected a mapping {label tuple: level}",
                                                type(reorder_point).__name__)
    ax = _axes(ax, (10, 3.5))
    top = 0.0
    for n, (key, part) in enumerate(p.groupby(cols, observed=True, sort=True)):
        if n >= max_series:
            break
        key = key if isinstance(key, tuple) else (key,)
        line = ax.plot(part[time_col], part["on_hand"], lw=1.0, label=" / ".join(map(str, key)))[0]
        short = part[part["unmet"] > 0]
        ax.scatter(short[time_col], np.zeros(len(short)), marker="x", s=14, color=line.get_color())
        top = max(top, float(np.nanmax(part["on_hand"], initial=0.0)))
        if reorder_point is not None and key in reorder_point:
            ax.axhline(reorder_point[key], ls="--", lw=0.8, color=line.get_color())
            top = max(top, float(reorder_point[key]))
    # headroom above the highest level, so its dashed line does not lie on the frame's edge
    ax.set_ylim(bottom=min(ax.get_ylim()[0], 0.0), top=top * 1.12 if top > 0 else None)
    ax.set_ylabel("on hand (x: unmet demand)")
    ax.legend(loc="upper left", bbox_to_anchor=(1.0, 1.0), fontsize=8)  # beside the axes, not over the paths
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
    t = host_frame(table, "table", [label_col] if label_col else [], [service_col, cost_col], "by the frontier")
    ax = _axes(ax, (6, 4))
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
    if not all(hasattr(plan, name) for name in ("routes", "vehicles", "distance")):
        raise DataValidationError.for_parameter("plan", "expected a RoutePlan (toolkit.decisions.logistics.plan_routes)",
                                                type(plan).__name__)
    cols = as_list(coord_cols, "coord_cols")
    if len(cols) != 2:
        raise DataValidationError.for_parameter("coord_cols", "expected two coordinate columns", coord_cols)
    depot = _finite_numbers(depot, "depot")
    if depot.shape != (2,):
        raise DataValidationError.for_parameter("depot", "expected two coordinates", depot.tolist())
    horizontal, vertical = (1, 0) if cols[0] == "lat" else (0, 1)
    stops = host_frame(plan.routes, "plan.routes", ["vehicle"], ["sequence", "demand", *cols], "by the route map")
    stops = stops.sort_values(["vehicle", "sequence"])
    ax = _axes(ax, (6, 6))
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
    base = _numbers(delays, "delays")
    base = base[np.isfinite(base)]
    extra = np.zeros(0) if highlight is None else _numbers(highlight, "highlight")
    extra = extra[np.isfinite(extra)]
    ax = _axes(ax, (6, 3.5))
    lo, hi = (np.floor(base.min()), np.ceil(base.max())) if base.size else (-1.0, 1.0)
    if extra.size:
        lo, hi = min(lo, np.floor(extra.min())), max(hi, np.ceil(extra.max()))
    bins = np.arange(lo - 0.5, hi + 1.5)
    ax.hist(base, bins=bins, density=True, alpha=0.6, label="history")
    if extra.size:
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
    check_media_model(model)
    params = model.params_
    marks = dict(params["mean_spend"]) if spend is None else spend_by_channel(spend, [str(c) for c in params.index])
    points = check_int("points", points, minimum=2)
    if max_spend is not None:
        max_spend = check_number("max_spend", max_spend, minimum=0.0, low_open=True)
    ax = _axes(ax, (7, 4))
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
    frame = host_frame(decomposition, "decomposition", [time_col, channel_col], ["media", "baseline", "actual"],
                       "by the contributions chart")
    ax = _axes(ax, (10, 4))
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


def _numbers(values: Any, param: str) -> np.ndarray:
    """A 1-D float array from an array, a Series or a list of numbers (NaN and inf kept)."""
    if type(values).__name__ == "DataFrame":
        raise DataValidationError.for_parameter(param, "expected an array or Series of numbers, got a DataFrame")
    try:
        out = np.asarray(backend.to_host(values), dtype=float)
    except (TypeError, ValueError) as err:
        raise DataValidationError.for_parameter(param, "expected numbers", type(values).__name__) from err
    if out.ndim != 1:
        raise DataValidationError.for_parameter(param, "expected a one-dimensional array of numbers",
                                                f"shape {out.shape}")
    return out


def _finite_numbers(values: Any, param: str) -> np.ndarray:
    try:
        out = np.asarray(values, dtype=float)
    except (TypeError, ValueError) as err:
        raise DataValidationError.for_parameter(param, "expected numbers", values) from err
    if not np.isfinite(out).all():
        raise DataValidationError.for_parameter(param, "expected finite numbers", out.tolist())
    return out
