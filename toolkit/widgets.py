"""ipywidgets explorers used by the curated notebooks.

Each explorer is an ``ipywidgets.VBox`` whose controls are in ``.controls`` (a dict, so a
test or a user can drive them from Python: ``w.controls["sku"].value = "SKU00002"``) and whose
current result is an attribute (``.selection``, ``.table``) recomputed by ``update()`` each
time a control changes. The computation lives in plain functions (:func:`select_forecast`,
:func:`inventory_what_if`, :func:`select_deliveries`, :func:`budget_what_if`) that the
widgets call, so it is tested without a browser; the widgets only wire controls to those
functions and draw with :mod:`toolkit.plots`.

Input contract: the functions and the explorers' constructors check their inputs before any
work (frames in memory with the columns they use, names that exist, numbers in range) with
:mod:`toolkit.panel.checks` and :func:`toolkit.plots.host_frame`, and raise
:class:`~toolkit.errors.DataValidationError` naming the parameter or column (unknown names
list the valid choices); an unfitted marketing model raises scikit-learn's
``NotFittedError``. Non-finite values are shown as they are (tables) or not drawn (plots).
"""

from __future__ import annotations

from typing import Any, Mapping, Sequence

import numpy as np

from toolkit import backend
from toolkit.errors import DataValidationError
from toolkit.panel.checks import (
    DEFAULT_ID_COLS,
    as_list,
    check_choice,
    check_frame,
    check_int,
    check_number,
    require_datetime,
    require_finite,
)
from toolkit.plots import check_media_model, host_frame, spend_by_channel

__all__ = ["Explorer", "output_item", "select_forecast", "ForecastExplorer", "inventory_what_if", "InventoryWhatIf", "select_deliveries",
           "DeliveryExplorer", "budget_what_if", "BudgetExplorer"]


def _forecast_frames(history: Any, forecasts: Any, ids: list[str], time_col: str, target_col: str | None = None
                     ) -> tuple[Any, dict[str, Any]]:
    """History and every forecast frame on the host, checked for the columns the explorer uses."""
    hist = host_frame(history, "history", [*ids, time_col], [target_col] if target_col else [], "by the explorer")
    if not isinstance(forecasts, Mapping) or not forecasts:
        raise DataValidationError.for_parameter("forecasts", "expected a non-empty mapping model name -> frame",
                                                type(forecasts).__name__)
    return hist, {str(name): host_frame(frame, f"forecasts[{name!r}]", [*ids, time_col], purpose="by the explorer")
                  for name, frame in forecasts.items()}


class Explorer:
    """What every explorer shares: its ``controls`` wired to ``update``, laid out above an output area.

    A subclass fills ``self.controls`` (name -> ipywidgets control), implements ``update``
    (recompute from the controls, then :meth:`show` what to draw) and calls :meth:`wire` last
    in its constructor.

    Drawing sets the ``Output`` widget's ``outputs`` state in one assignment instead of
    capturing ``display``/``plt.show()`` inside ``with output:``. Captured output makes a
    headless runner (nbclient, hence papermill and ``toolkit run``) mirror every captured item
    back to the kernel as a comm message on the shell channel while it waits for the cell's
    ``execute_reply`` on that same channel; jupyter_client sends it through a synchronous shadow
    of the asyncio socket, which can swallow the wake-up of the waiting reply (jupyter/nbclient#312),
    and the cell then "finishes" only when its timeout expires (issue 18). Setting the state
    sends nothing from the runner, renders the same in JupyterLab, and is what the HTML
    report embeds (the widget state holds the last drawn view).
    """

    controls: dict

    def wire(self, split: int | None = None) -> None:
        """Observe every control, lay them out in one row (or two, at ``split``), and draw once."""
        import ipywidgets as w

        self.output = w.Output()
        for control in self.controls.values():
            control.observe(self.update, names="value")
        shown = list(self.controls.values())
        rows = [shown] if split is None else [shown[:split], shown[split:]]
        self.widget = w.VBox([*(w.HBox(row) for row in rows), self.output])
        self.update()

    def update(self, *_: Any) -> None:
        """Recompute from the controls and redraw."""
        raise NotImplementedError

    def show(self, *items: Any) -> None:
        """Replace what the output area shows by ``items`` (figures, frames, text), in one update."""
        self.output.outputs = tuple(output_item(item) for item in items)

    def _ipython_display_(self) -> None:
        from IPython.display import display

        display(self.widget)


def output_item(item: Any) -> dict:
    r"""One notebook output (nbformat dict) for a matplotlib figure, a frame or a text.

    Figures become PNG images (closed afterwards), frames HTML tables with a text fallback,
    anything else a line of text.

    Examples
    --------
    >>> output_item("no incident on this lane")["text"]
    'no incident on this lane\n'
    """
    import base64
    import io

    from matplotlib.figure import Figure

    if isinstance(item, Figure):
        buffer = io.BytesIO()
        item.savefig(buffer, format="png", dpi=100, bbox_inches="tight")
        width, height = (round(v) for v in item.get_size_inches() * 100)
        return {"output_type": "display_data", "metadata": {},
                "data": {"image/png": base64.b64encode(buffer.getvalue()).decode("ascii"),
                         "text/plain": f"<Figure size {width}x{height} with {len(item.axes)} Axes>"}}
    if hasattr(item, "to_html"):
        return {"output_type": "display_data", "metadata": {},
                "data": {"text/html": item.to_html(), "text/plain": repr(item)}}
    return {"output_type": "stream", "name": "stdout", "text": f"{item}\n"}


def _figure(*subplots: int, figsize: tuple[float, float]) -> tuple[Any, Any]:
    """A figure outside pyplot's registry (nothing for the inline backend to show twice) and its axes."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=figsize)
    return fig, fig.subplots(*subplots)


def select_forecast(
    history: Any,
    forecasts: Mapping[str, Any],
    key: Sequence[Any],
    model: str,
    horizon: int,
    *,
    id_cols: str | Sequence[str] = DEFAULT_ID_COLS,
    time_col: str = "date",
    history_days: int | None = 90,
) -> tuple[Any, Any]:
    """The rows an explorer shows: one series' recent history and a model's first ``horizon`` days.

    Parameters
    ----------
    history : frame
        Long panel of actuals (``id_cols``, ``time_col``, target).
    forecasts : mapping of str to frame
        Model name -> prediction frame (``id_cols``, ``time_col``, ``forecast``, bounds).
    key : sequence
        The series' key values, in ``id_cols`` order.
    model : str
        A key of ``forecasts``.
    horizon : int
        Days of forecast to keep (>= 1).
    history_days : int, optional
        Last days of history to keep (all when None).

    Returns
    -------
    (history rows, forecast rows) : host (pandas) frames sorted by time

    Raises
    ------
    DataValidationError
        A frame that is not in memory or lacks ``id_cols``/``time_col``; ``model`` not a key
        of ``forecasts`` (the keys are listed); ``horizon``/``history_days`` not whole
        numbers >= 1; a ``key`` of another length than ``id_cols``; no history for ``key``.

    Examples
    --------
    >>> import pandas as pd
    >>> from toolkit.widgets import select_forecast
    >>> h = pd.DataFrame({"sku": "a", "location": "web", "date": pd.date_range("2024-01-01", periods=5), "units": 1.0})
    >>> f = pd.DataFrame({"sku": "a", "location": "web", "date": pd.date_range("2024-01-06", periods=3), "forecast": 2.0})
    >>> hist, fc = select_forecast(h, {"m": f}, ("a", "web"), "m", 2)
    >>> len(hist), len(fc)
    (5, 2)
    """
    ids = as_list(id_cols)
    if not ids:
        raise DataValidationError.for_parameter("id_cols", "must name at least one series key column", id_cols)
    history, forecasts = _forecast_frames(history, forecasts, ids, time_col)
    model = check_choice("model", model, list(forecasts))
    horizon = check_int("horizon", horizon, minimum=1)
    if history_days is not None:
        history_days = check_int("history_days", history_days, minimum=1)
    key = tuple(key) if isinstance(key, (tuple, list)) else (key,)
    if len(key) != len(ids):
        raise DataValidationError.for_parameter("key", f"expected one value per id column {ids}", key)

    def rows(frame: Any) -> Any:
        mask = np.ones(len(frame), dtype=bool)
        for col, value in zip(ids, key):
            mask &= (frame[col] == value).to_numpy()
        return frame[mask].sort_values(time_col)

    hist = rows(history)
    if len(hist) == 0:
        raise DataValidationError(f"column {ids[0]!r}: no history for series {key}", column=ids[0])
    if history_days is not None:
        hist = hist.tail(history_days)
    return hist, rows(forecasts[model]).head(horizon)


class ForecastExplorer(Explorer):
    """Pick a series, a model and a horizon; see history, forecast and interval.

    Parameters
    ----------
    history : frame
        Long panel of actuals.
    forecasts : mapping of str to frame
        Model name -> prediction frame (``forecast`` and optional bound columns).
    id_cols, time_col, target_col : str
        Column names.
    lower_col, upper_col : str, optional
        Interval bounds in the prediction frames (drawn when a model has them).
    actual : frame, optional
        Held-out actuals drawn as dots.
    history_days : int
        Days of history shown.

    Attributes
    ----------
    widget : ipywidgets.VBox
        What the notebook displays (the explorer also displays itself).
    controls : dict
        One dropdown per id column, ``model`` and the ``horizon`` slider.
    selection : (frame, frame)
        The current :func:`select_forecast` result.
    """

    def __init__(
        self,
        history: Any,
        forecasts: Mapping[str, Any],
        *,
        id_cols: str | Sequence[str] = DEFAULT_ID_COLS,
        time_col: str = "date",
        target_col: str = "units",
        lower_col: str | None = None,
        upper_col: str | None = None,
        actual: Any = None,
        history_days: int = 90,
    ):
        import ipywidgets as w

        ids = as_list(id_cols)
        if not ids:
            raise DataValidationError.for_parameter("id_cols", "must name at least one series key column", id_cols)
        self.history, self.forecasts = _forecast_frames(history, forecasts, ids, time_col, target_col)
        self.ids, self.time_col, self.target_col = ids, time_col, target_col
        self.lower_col, self.upper_col = lower_col, upper_col
        self.history_days = check_int("history_days", history_days, minimum=1)
        self.actual = None if actual is None else host_frame(actual, "actual", [*ids, time_col], [target_col])
        first = next(iter(self.forecasts.values()))
        steps = int(first.groupby(self.ids, observed=True).size().max())
        self.controls = {
            col: w.Dropdown(options=[str(v) for v in sorted(first[col].astype(str).unique())], description=col)
            for col in self.ids
        }
        self.controls["model"] = w.Dropdown(options=list(self.forecasts), description="model")
        self.controls["horizon"] = w.IntSlider(value=steps, min=1, max=steps, description="horizon")
        self.wire(split=3)

    def _key(self) -> tuple:
        key = []
        for col in self.ids:
            value = self.controls[col].value
            match = self.history[col][self.history[col].astype(str) == value]
            key.append(match.iloc[0] if len(match) else value)
        return tuple(key)

    def update(self, *_: Any) -> None:
        """Recompute the selection from the controls and redraw."""
        from toolkit import plots

        model = self.controls["model"].value
        self.selection = select_forecast(self.history, self.forecasts, self._key(), model,
                                         self.controls["horizon"].value, id_cols=self.ids, time_col=self.time_col,
                                         history_days=self.history_days)
        hist, fc = self.selection
        bounds = self.lower_col in fc.columns and self.upper_col in fc.columns
        actual = None
        if self.actual is not None:
            actual = self.actual[self.actual[self.time_col].isin(fc[self.time_col])]
            for col, value in zip(self.ids, self._key()):
                actual = actual[actual[col] == value]
        fig, ax = _figure(figsize=(10, 3.5))
        plots.forecast(hist, fc, time_col=self.time_col, target_col=self.target_col,
                       lower_col=self.lower_col if bounds else None, upper_col=self.upper_col if bounds else None,
                       actual=actual, title=f"{' / '.join(map(str, self._key()))} - {model}", ax=ax)
        self.show(fig)


def inventory_what_if(
    demand: Any,
    lead_time: Any,
    *,
    forecast: Any,
    errors: Any,
    service_level: float = 0.95,
    extra_lead_time: int = 0,
    holding_cost: float = 1.0,
    shortage_cost: float = 10.0,
    ordering_cost: float = 0.0,
    review_period: int = 7,
    target: str = "cycle_service_level",
    frontier_levels: Sequence[float] = (0.8, 0.9, 0.95, 0.98, 0.995),
    backorders: bool = False,
) -> tuple[Any, Any]:
    """KPI table at one service target and the service/cost frontier, for a what-if setting.

    Lead times are those given plus ``extra_lead_time`` days; everything else is passed to
    :func:`toolkit.decisions.inventory.service_cost_frontier`.

    Returns
    -------
    (table, frontier) : frames
        ``table``: one row per policy at ``service_level``; ``frontier``: every policy at
        every level of ``frontier_levels`` (and ``service_level``).

    Raises
    ------
    DataValidationError
        ``extra_lead_time`` not a whole number >= 0; a service level outside (0, 1);
        ``demand`` not a NumPy/CuPy array; lead times that are not whole days >= 0; and what
        :func:`~toolkit.decisions.inventory.service_cost_frontier` refuses.

    Examples
    --------
    >>> import numpy as np
    >>> from toolkit.widgets import inventory_what_if
    >>> rng = np.random.default_rng(0)
    >>> d, e = rng.poisson(8.0, (3, 60)).astype(float), rng.normal(0, 3, (3, 120))
    >>> table, frontier = inventory_what_if(d, 2, forecast=np.full(3, 8.0), errors=e, service_level=0.9)
    >>> list(table["policy"])
    ['base_stock', 'RS', 'sS']
    """
    from toolkit.decisions.inventory import service_cost_frontier

    extra_lead_time = check_int("extra_lead_time", extra_lead_time, minimum=0)
    service_level = check_number("service_level", service_level, 0.0, 1.0, low_open=True, high_open=True)
    if isinstance(frontier_levels, (str, bytes)) or not isinstance(frontier_levels, Sequence):
        raise DataValidationError.for_parameter("frontier_levels", "expected a sequence of service levels",
                                                frontier_levels)
    levels = sorted({check_number("frontier_levels", v, 0.0, 1.0, low_open=True, high_open=True)
                     for v in frontier_levels} | {service_level})
    try:
        xp = backend.array_namespace(demand)
    except TypeError as err:
        raise DataValidationError.for_parameter("demand", "expected a NumPy or CuPy array of shape (series, days)",
                                                type(demand).__name__) from err
    lead = xp.asarray(lead_time)
    if not xp.isdtype(lead.dtype, ("integral", "real floating")) or bool(xp.any(lead < 0)) \
            or bool(xp.any(lead != xp.round(lead))):
        raise DataValidationError.for_parameter("lead_time", "expected whole numbers of days >= 0",
                                                backend.to_host(lead).tolist())
    lead = xp.astype(lead, xp.int64) + extra_lead_time
    frontier = service_cost_frontier(demand, lead, forecast=forecast, errors=errors, service_levels=levels,
                                     target=target, review_period=review_period, holding_cost=holding_cost,
                                     shortage_cost=shortage_cost, ordering_cost=ordering_cost, backorders=backorders)
    table = frontier[frontier["service_target"] == float(service_level)].reset_index(drop=True)
    return table, frontier


class InventoryWhatIf(Explorer):
    """What-if explorer: service level, extra lead time, holding and shortage costs.

    Every change re-plans the policies (:func:`inventory_what_if`) and redraws the KPI table
    and the service/cost frontier.

    Parameters
    ----------
    demand, lead_time, forecast, errors
        As in :func:`inventory_what_if` (arrays, one row per sku x warehouse).
    **settings
        Any other keyword of :func:`inventory_what_if`, with its defaults: the starting
        values of the sliders (``service_level`` in [0.8, 0.995], ``extra_lead_time`` in
        [0, 14], ``holding_cost`` in [0.01, 100], ``shortage_cost`` in [0.1, 1000]) and the
        fixed settings (``ordering_cost``, ``review_period``, ``target``, ``backorders``,
        ``frontier_levels``).

    Attributes
    ----------
    widget : ipywidgets.VBox
    controls : dict
        ``service_level``, ``extra_lead_time``, ``holding_cost``, ``shortage_cost`` sliders.
    table, frontier : frames
        The current results.

    Raises
    ------
    DataValidationError
        An unknown setting (the valid ones are listed), a slider start outside its range,
        and what :func:`inventory_what_if` refuses.
    """

    SLIDERS = {"service_level": (0.8, 0.995), "extra_lead_time": (0, 14), "holding_cost": (0.01, 100.0),
               "shortage_cost": (0.1, 1000.0)}
    """Settings driven by a slider, with the slider's range."""

    def __init__(self, demand: Any, lead_time: Any, *, forecast: Any, errors: Any, **settings: Any):
        import inspect

        import ipywidgets as w

        defaults = {name: p.default for name, p in inspect.signature(inventory_what_if).parameters.items()
                    if p.default is not inspect.Parameter.empty}
        for name in settings:
            check_choice("settings", name, list(defaults))
        start = {**defaults, **settings}
        for name, (low, high) in self.SLIDERS.items():
            start[name] = check_number(name, start[name], low, high)
        self.data = {"demand": demand, "lead_time": lead_time, "forecast": forecast, "errors": errors}
        self.fixed = {name: value for name, value in start.items() if name not in self.SLIDERS}
        self.controls = {
            "service_level": w.FloatSlider(value=start["service_level"], min=0.8, max=0.995, step=0.005,
                                           readout_format=".3f", description="service"),
            "extra_lead_time": w.IntSlider(value=check_int("extra_lead_time", start["extra_lead_time"]), min=0, max=14,
                                           description="+lead days"),
            "holding_cost": w.FloatLogSlider(value=start["holding_cost"], base=10, min=-2, max=2, description="holding"),
            "shortage_cost": w.FloatLogSlider(value=start["shortage_cost"], base=10, min=-1, max=3,
                                              description="shortage"),
        }
        self.wire(split=2)

    def update(self, *_: Any) -> None:
        """Re-plan with the current controls and redraw the table and the frontier."""
        from toolkit import plots

        settings = {name: control.value for name, control in self.controls.items()}
        self.table, self.frontier = inventory_what_if(**self.data, **settings, **self.fixed)
        shown = backend.to_host(self.table)[["policy", "cycle_service_level", "fill_rate", "avg_on_hand", "total_cost"]]
        fig, ax = _figure(figsize=(6, 3.5))
        best = shown.sort_values("total_cost")["policy"].iloc[0]
        plots.frontier(self.frontier, service_col="fill_rate", highlight=best, ax=ax)
        self.show(shown.round(3), fig)


def _lane_frame(frame: Any, param: str, more: list[str]) -> Any:
    """A lanes/incidents frame on the host; its lane columns are needed unless it is empty (no lane flagged)."""
    check_frame(frame, param, dask=False)
    return host_frame(frame, param, ["carrier", "zone", *more] if len(frame) else [], purpose="by the explorer")


def _day(date: Any) -> Any:
    import pandas as pd

    try:
        day = pd.Timestamp(date)
    except (TypeError, ValueError) as err:
        raise DataValidationError.for_parameter("date", "not a date", date) from err
    if day is pd.NaT:
        raise DataValidationError.for_parameter("date", "not a date", date)
    return day


def select_deliveries(
    shipments: Any,
    lanes: Any,
    incidents: Any,
    carrier: str,
    zone: Any,
    date: Any,
    *,
    time_col: str = "ship_date",
) -> dict:
    """What the delivery explorer shows for one lane (carrier x zone) and one day.

    Parameters
    ----------
    shipments : frame
        With ``carrier``, ``zone``, ``time_col``, ``actual_days``, ``promised_days``.
    lanes, incidents : frames
        :func:`toolkit.decisions.logistics.lane_delays` output (``.lanes``, ``.incidents``).
    carrier, zone, date
        The selection (``date`` anything ``pandas.Timestamp`` reads).

    Returns
    -------
    dict
        ``history`` (delays, actual - promised, of the lane's shipments), ``day`` (delays of
        the lane on ``date``), ``flagged`` (the lane's flagged days), ``incidents`` (the lane's
        incidents) and ``stops`` (every shipment of the zone on ``date``, any carrier: the
        deliveries to route), all host pandas.

    Raises
    ------
    DataValidationError
        ``shipments`` not an in-memory frame with the columns above (``time_col``
        datetime), a missing or infinite ``actual_days``/``promised_days`` (named with a few
        ``shipment_id``); non-empty ``lanes``/``incidents`` without ``carrier``/``zone``
        (``lanes``: ``is_anomaly``); a ``date`` that is not a date.

    Examples
    --------
    >>> import pandas as pd
    >>> s = pd.DataFrame({"carrier": ["A", "A", "B"], "zone": [1, 1, 1], "actual_days": [3, 5, 2],
    ...                   "promised_days": [2, 2, 2], "ship_date": pd.to_datetime(["2024-01-01", "2024-01-02", "2024-01-02"])})
    >>> empty = pd.DataFrame({"carrier": [], "zone": [], "is_anomaly": []})
    >>> view = select_deliveries(s, empty, empty, "A", 1, "2024-01-02")
    >>> view["history"].tolist(), view["day"].tolist(), len(view["stops"])
    ([1, 3], [3], 2)
    """
    ship = host_frame(shipments, "shipments", ["carrier", "zone", time_col], ["actual_days", "promised_days"],
                      "by the delivery explorer")
    require_datetime(ship, time_col)
    require_finite(ship, ["actual_days", "promised_days"], ["shipment_id"], allow_nan=False,
                   purpose="by the delivery explorer")
    lanes_h = _lane_frame(lanes, "lanes", ["is_anomaly"])
    inc_h = _lane_frame(incidents, "incidents", [])
    day = _day(date)
    lane = ship[(ship["carrier"].astype(str) == str(carrier)) & (ship["zone"] == zone)]
    delay = lane["actual_days"].astype("int64") - lane["promised_days"].astype("int64")

    def of_lane(frame: Any) -> Any:
        if len(frame) == 0:
            return frame
        return frame[(frame["carrier"].astype(str) == str(carrier)) & (frame["zone"] == zone)]

    flagged = of_lane(lanes_h)
    flagged = flagged[flagged["is_anomaly"].astype(bool)] if len(flagged) else flagged
    return {
        "history": delay.reset_index(drop=True),
        "day": delay[lane[time_col].dt.floor("D") == day].reset_index(drop=True),
        "flagged": flagged.reset_index(drop=True),
        "incidents": of_lane(inc_h).reset_index(drop=True),
        "stops": ship[(ship["zone"] == zone) & (ship[time_col].dt.floor("D") == day)].reset_index(drop=True),
    }


class DeliveryExplorer(Explorer):
    """Pick a carrier, a zone and a day: delay distribution, flagged incidents, route plan.

    Parameters
    ----------
    shipments : frame
        Shipments with ``lat``, ``lon`` and ``weight_kg`` besides the lane columns.
    lane_delays : LaneDelays
        From :func:`toolkit.decisions.logistics.lane_delays`.
    depot : (float, float)
        Depot ``(lat, lon)`` the day's routes start from.
    capacity : float
        Vehicle capacity in kg.
    time_limit : float
        Seconds per route plan (plans are cached per zone and day).

    Attributes
    ----------
    widget : ipywidgets.VBox
    controls : dict
        ``carrier``, ``zone`` and ``date`` dropdowns.
    view : dict
        The current :func:`select_deliveries` result.
    plan : RoutePlan or None
        The current day's route plan for the zone (None when the zone ships nothing that day).
    """

    def __init__(self, shipments: Any, lane_delays: Any, depot: Sequence[float], *, capacity: float = 500.0,
                 time_limit: float = 0.5, time_col: str = "ship_date"):
        import ipywidgets as w

        if not all(hasattr(lane_delays, name) for name in ("lanes", "incidents")):
            raise DataValidationError.for_parameter("lane_delays", "expected the LaneDelays of "
                                                    "toolkit.decisions.logistics.lane_delays", type(lane_delays).__name__)
        self.shipments = host_frame(shipments, "shipments", ["carrier", "zone", time_col, "shipment_id"],
                                    ["actual_days", "promised_days", "lat", "lon", "weight_kg"], "by the explorer")
        require_datetime(self.shipments, time_col)
        if len(self.shipments) == 0:
            raise DataValidationError("the frame is empty (no shipment to explore)", parameter="shipments")
        self.found = lane_delays
        capacity = check_number("capacity", capacity, minimum=0.0, low_open=True)
        time_limit = check_number("time_limit", time_limit, minimum=0.0, low_open=True)
        self.depot, self.capacity, self.time_limit, self.time_col = tuple(depot), capacity, time_limit, time_col
        self._plans: dict = {}
        carriers = sorted(self.shipments["carrier"].astype(str).unique())
        zones = sorted(self.shipments["zone"].unique().tolist())
        dates = sorted(self.shipments[time_col].dt.floor("D").dt.strftime("%Y-%m-%d").unique())
        start = (carriers[0], zones[0], dates[-1])
        inc = backend.to_host(lane_delays.incidents)
        if len(inc):
            top = inc.sort_values("peak_score", ascending=False).iloc[0]
            start = (str(top["carrier"]), top["zone"], top["peak_at"].strftime("%Y-%m-%d"))
        self.controls = {
            "carrier": w.Dropdown(options=carriers, value=start[0], description="carrier"),
            "zone": w.Dropdown(options=zones, value=start[1], description="zone"),
            "date": w.Dropdown(options=dates, value=start[2], description="date"),
        }
        self.wire()

    def _plan(self, zone: Any, date: str) -> Any:
        from toolkit.decisions.logistics import plan_routes

        if (zone, date) not in self._plans:
            stops = self.view["stops"]
            stops = stops[stops["weight_kg"] <= self.capacity]
            self._plans[(zone, date)] = None if len(stops) == 0 else plan_routes(
                stops.assign(demand=stops["weight_kg"].astype(float)), self.depot, capacity=self.capacity,
                time_limit=self.time_limit, coord_cols=("lat", "lon"), metric="haversine", id_col="shipment_id")
        return self._plans[(zone, date)]

    def update(self, *_: Any) -> None:
        """Recompute the view and the day's routes, and redraw."""
        from toolkit import plots

        carrier, zone, date = (self.controls[k].value for k in ("carrier", "zone", "date"))
        self.view = select_deliveries(self.shipments, self.found.lanes, self.found.incidents, carrier, zone, date,
                                      time_col=self.time_col)
        self.plan = self._plan(zone, date)
        fig, axes = _figure(1, 2, figsize=(12, 4.5))
        plots.delay_distribution(self.view["history"], highlight=self.view["day"], ax=axes[0],
                                 title=f"{carrier} zone {zone}: delays, {date} on top")
        if self.plan is not None:
            plots.routes(self.plan, self.depot, coord_cols=("lat", "lon"), ax=axes[1],
                         title=f"zone {zone} on {date}: {len(self.plan.vehicles)} vehicles, "
                               f"{self.plan.distance:,.0f} km")
        shown = self.view["incidents"]
        self.show(fig, shown if len(shown) else "no incident on this lane")


def budget_what_if(model: Any, spend: Mapping[str, float]) -> Any:
    """Predicted daily media revenue, ROI and marginal ROI of a daily spend per channel.

    Parameters
    ----------
    model : MarketingMixModel
    spend : mapping channel -> daily spend

    Returns
    -------
    pandas.DataFrame
        Indexed by channel: ``spend``, ``revenue`` (daily media revenue in steady state),
        ``roi`` and ``marginal_roi``; ``.attrs["total_revenue"]`` and ``.attrs["total_spend"]``.
        Channels missing from ``spend`` spend 0.

    Raises
    ------
    DataValidationError
        ``model`` is not a MarketingMixModel; ``spend`` is not a mapping, names a channel the
        model does not have (its channels are listed) or a spend that is not a finite
        number >= 0.
    sklearn.exceptions.NotFittedError
        ``model`` is not fitted.

    Examples
    --------
    >>> import pandas as pd
    >>> from toolkit.decisions.marketing import MarketingMixModel
    >>> curves = pd.DataFrame({"decay": [0.0], "half_sat": [100.0], "shape": [1.0], "beta": [500.0]}, index=["web"])
    >>> budget_what_if(MarketingMixModel.from_params(curves), {"web": 100.0})["revenue"].tolist()
    [250.0]
    """
    import pandas as pd

    check_media_model(model)
    spend = spend_by_channel(spend, list(model.params_.index))
    revenue = model.response(spend)
    values = revenue.index.map(lambda c: float(spend.get(c, 0.0)))
    table = pd.DataFrame({"spend": values.to_numpy(dtype=float), "revenue": revenue.to_numpy()}, index=revenue.index)
    with np.errstate(divide="ignore", invalid="ignore"):
        table["roi"] = np.where(table["spend"] > 0, table["revenue"] / table["spend"], np.nan)
    table["marginal_roi"] = model.marginal_roi(spend).to_numpy()
    table.index.name = "channel"
    table.attrs["total_revenue"] = float(table["revenue"].sum())
    table.attrs["total_spend"] = float(table["spend"].sum())
    return table


class BudgetExplorer(Explorer):
    """Daily budget sliders per channel; predicted revenue and marginal ROI update live.

    Parameters
    ----------
    model : MarketingMixModel
        Fitted; sliders start at its mean daily spend and reach ``max_factor`` times it.
    max_factor : float

    Attributes
    ----------
    widget : ipywidgets.VBox
    controls : dict
        One ``FloatSlider`` per channel.
    table : pandas.DataFrame
        The current :func:`budget_what_if` result.
    uplift : float
        Predicted daily revenue change against the starting spend.
    """

    def __init__(self, model: Any, *, max_factor: float = 3.0):
        import ipywidgets as w

        self.model = check_media_model(model)
        max_factor = check_number("max_factor", max_factor, minimum=1.0)
        start = {c: float(v) for c, v in model.params_["mean_spend"].items()}
        self.baseline = budget_what_if(model, start)
        self.controls = {
            c: w.FloatSlider(value=round(v, 2), min=0.0, max=round(max(v, 1.0) * max_factor, 2),
                             step=round(max(v, 1.0) / 50, 2), description=c, continuous_update=False)
            for c, v in start.items()
        }
        self.wire(split=2)

    def update(self, *_: Any) -> None:
        """Re-predict with the sliders' spends and redraw."""
        from toolkit import plots

        spend = {c: float(control.value) for c, control in self.controls.items()}
        self.table = budget_what_if(self.model, spend)
        self.uplift = self.table.attrs["total_revenue"] - self.baseline.attrs["total_revenue"]
        fig, ax = _figure(figsize=(7, 3.5))
        plots.response_curves(self.model, spend=spend, ax=ax)
        self.show(self.table.round(2),
                  f"spend {self.table.attrs['total_spend']:,.0f}/day -> media revenue "
                  f"{self.table.attrs['total_revenue']:,.0f}/day ({self.uplift:+,.0f} vs the current split)", fig)

