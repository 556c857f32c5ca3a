"""A live view of a running engine in JupyterLab, and a static snapshot of it for HTML reports.

:class:`LiveDashboard` listens to a :class:`~toolkit.stream.StreamEngine` (it adds itself to
``engine.listeners``) and redraws at most every ``refresh_s`` seconds while the stream runs:

* a status line -- events processed, recent events per second, event-to-processed latency
  (p50 / p99 of the recent batches), alerts by type, dead letters;
* the latest alerts (type, keys, event time, score, reason);
* a sparkline of one demand series -- its last closed buckets, the units of the running bucket
  so far, and the forecast of that bucket with its band -- for the series picked in
  ``controls["series"]`` (a dropdown of the series that alerted, latest first). Drawing it
  costs about 0.1 s, which the engine waits for, so while the stream runs it is redrawn at
  most every ``image_s`` seconds (at once when another series is picked).

The widgets (``ipywidgets``) are imported when the dashboard is first shown, never by
``import toolkit.stream``. :meth:`LiveDashboard.snapshot_html` renders the same content as
static HTML (the sparkline as an inline PNG), which survives in an executed notebook's HTML
report where live widgets do not.

Examples
--------
::

    engine = StreamEngine(monitors, alerts=MemorySink())
    board = LiveDashboard(engine)
    board            # shows the widget in JupyterLab
    engine.run(ReplaySource(events, speedup=3600))
    HTML(board.snapshot_html())
"""

from __future__ import annotations

import base64
import html
import io
import time
from collections import deque
from typing import Any

import numpy as np
import pandas as pd

from toolkit import panel
from toolkit.errors import DataValidationError
from toolkit.stream.demand import DemandMonitor

__all__ = ["LiveDashboard", "sparkline_png"]

_SHOWN = ("type", "key", "event_time", "score", "reason")


def sparkline_png(history: np.ndarray, so_far: float, forecast: float, lower: float, upper: float,
                  title: str = "", width: float = 6.0, height: float = 1.8) -> bytes:
    """A small PNG: closed bucket values, the running bucket so far, and its forecast band.

    Parameters
    ----------
    history : array (w,)
        Last closed bucket values (NaN where missing).
    so_far, forecast, lower, upper : float
        The running bucket's units so far and its forecast with band.
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width, height), dpi=80)
    FigureCanvasAgg(fig)
    ax = fig.add_subplot(1, 1, 1)
    x = np.arange(history.shape[0])
    ax.plot(x, history, color="#4a6fa5", lw=1.4, label="closed buckets")
    now = history.shape[0]
    if np.isfinite(forecast):
        ax.fill_between([now - 0.4, now + 0.4], [lower, lower], [upper, upper], color="#f2b134", alpha=0.35,
                        label="forecast band")
        ax.plot([now - 0.4, now + 0.4], [forecast, forecast], color="#d98c00", lw=1.5)
    ax.plot([now], [so_far], "o", color="#c0392b", ms=5, label="so far")
    ax.set_xticks([])
    ax.tick_params(labelsize=7)
    ax.set_title(title, fontsize=8, loc="left")
    ax.legend(fontsize=6, loc="upper left", frameon=False, ncol=3)
    fig.tight_layout(pad=0.3)
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png")
    return buffer.getvalue()


class LiveDashboard:
    """Live ipywidgets view of a stream engine (see the module docstring).

    Parameters
    ----------
    engine : StreamEngine
    max_alerts : int, default 12
        Alerts listed.
    width : int, default 28
        Closed buckets in the sparkline.
    refresh_s : float, default 0.5
        Least time between redraws of the text while the stream runs.
    image_s : float, default 2
        Least time between redraws of the sparkline while the stream runs.

    Attributes
    ----------
    alerts : pandas.DataFrame
        The latest alerts (newest first).
    stats : dict
        What the status line shows.

    Raises
    ------
    DataValidationError
        ``engine`` is not a StreamEngine, or a bad parameter.
    """

    def __init__(self, engine: Any, max_alerts: int = 12, width: int = 28, refresh_s: float = 0.5,
                 image_s: float = 2.0):
        from toolkit.stream.engine import StreamEngine

        if not isinstance(engine, StreamEngine):
            raise DataValidationError.for_parameter("engine", "expected a StreamEngine", type(engine).__name__)
        self.engine = engine
        self.max_alerts = panel.check_int("max_alerts", max_alerts, minimum=1)
        self.width = panel.check_int("width", width, minimum=2)
        self.refresh_s = panel.check_number("refresh_s", refresh_s, 0.0)
        self.image_s = panel.check_number("image_s", image_s, 0.0)
        self._last_image = 0.0
        self.demand = next((m for m in engine.monitors.values() if isinstance(m, DemandMonitor)), None)
        self.alerts = pd.DataFrame(columns=list(_SHOWN))
        self._recent: deque = deque(maxlen=200)  # (done, events, p50, p99)
        self._events = 0
        self._last_draw = 0.0
        self._widget = None
        self._quiet = False
        self.controls: dict[str, Any] = {}
        self.stats: dict[str, Any] = {}
        engine.listeners.append(self.on_batch)

    # ----------------------------------------------------------------- data
    def on_batch(self, report: Any) -> None:
        """Engine listener: keep the batch's figures and alerts; redraw when ``refresh_s`` has passed."""
        self._events += report.events
        self._recent.append((report.done, report.events, report.seconds))
        if len(report.alerts):
            fresh = report.alerts.iloc[::-1]
            self.alerts = pd.concat([fresh, self.alerts], ignore_index=True).head(self.max_alerts * 20)
        if self._widget is not None and time.time() - self._last_draw >= self.refresh_s:
            self.update(image=time.time() - self._last_image >= self.image_s)

    def _stats(self) -> dict[str, Any]:
        window = [r for r in self._recent if r[0] >= time.time() - 5.0] or list(self._recent)[-5:]
        span = (window[-1][0] - window[0][0]) if len(window) > 1 else 0.0
        rate = sum(r[1] for r in window[1:]) / span if span > 0 else float("nan")
        latency = self.engine.latency()
        counts = self.engine.counts
        return {"events": self._events, "events_per_s": rate, "latency_p50_s": latency["p50"],
                "latency_p99_s": latency["p99"], "alerts": dict(self.engine.alert_counts),
                "dead_letters": sum(c.get("refused", 0) + c.get("late", 0) for c in counts.values())}

    def series_options(self) -> list[str]:
        """Demand series to pick from: those that alerted (latest first), else every series."""
        if self.demand is None:
            return []
        keys = list(self.demand.schema.keys)
        alerted = self.alerts[self.alerts["type"].isin(["demand_spike", "demand_drop"])] if len(self.alerts) else None
        options = list(dict.fromkeys(alerted["key"])) if alerted is not None and len(alerted) else []
        if not options:
            frame = self.demand.registry.frame(np.arange(min(self.demand.registry.n, 50)))
            options = [" ".join(f"{c}={v}" for c, v in zip(keys, row)) for row in frame.itertuples(index=False)]
        return options

    def _series_view(self, key_text: str | None) -> dict[str, Any] | None:
        if self.demand is None or not key_text:
            return None
        labels = dict(part.split("=", 1) for part in key_text.split(" ") if "=" in part)
        slot = self.demand.registry.slots({c: np.array([labels.get(c)], dtype=object) for c in
                                           self.demand.schema.keys}, register=False)[0]
        if slot < 0:
            return None
        row = self.demand.forecasts().iloc[slot]
        return {"history": self.demand.history([slot], self.width)[0], "so_far": float(row["so_far"]),
                "forecast": float(row["forecast"]), "lower": float(row["lower"]), "upper": float(row["upper"]),
                "title": f"{key_text}: units per bucket, the running one so far and its forecast band"}

    def _alert_table(self) -> str:
        shown = self.alerts.head(self.max_alerts)
        if not len(shown):
            return "<p><i>no alert yet</i></p>"
        cells = []
        for row in shown.itertuples(index=False):
            cells.append("<tr>" + "".join(
                f"<td>{html.escape(self._fmt(getattr(row, c, '')))}</td>" for c in _SHOWN) + "</tr>")
        head = "".join(f"<th>{c}</th>" for c in _SHOWN)
        return (f'<table style="font-size:11px"><thead><tr>{head}</tr></thead><tbody>{"".join(cells)}'
                "</tbody></table>")

    @staticmethod
    def _fmt(value: Any) -> str:
        if isinstance(value, float):
            return f"{value:.2f}"
        if isinstance(value, pd.Timestamp):
            return f"{value:%Y-%m-%d %H:%M:%S}"
        return str(value)

    def _status(self) -> str:
        s = self.stats
        alerts = ", ".join(f"{k} {v}" for k, v in sorted(s["alerts"].items())) or "none"
        return (f"<b>{s['events']:,}</b> events &middot; {s['events_per_s']:,.0f} events/s &middot; latency p50 "
                f"{s['latency_p50_s'] * 1e3:.0f} ms, p99 {s['latency_p99_s'] * 1e3:.0f} ms &middot; alerts: {alerts}"
                f" &middot; dead letters {s['dead_letters']}")

    # ----------------------------------------------------------------- widgets
    @property
    def widget(self) -> Any:
        """The ipywidgets box (built, and ipywidgets imported, on first use)."""
        if self._widget is None:
            import ipywidgets as w

            self.controls = {"series": w.Dropdown(options=self.series_options(), description="series",
                                                  layout=w.Layout(width="420px"))}
            self._status_w = w.HTML()
            self._table_w = w.HTML()
            self._image_w = w.Image(format="png")
            self.controls["series"].observe(lambda _: None if self._quiet else self.update(image=True),
                                            names="value")
            self._widget = w.VBox([self._status_w, self.controls["series"], self._image_w, self._table_w])
            self.update()
        return self._widget

    def update(self, image: bool = True) -> None:
        """Recompute the figures and redraw the widgets (the sparkline too when ``image``)."""
        self.stats = self._stats()
        self._last_draw = time.time()
        if self._widget is None:
            return
        dropdown = self.controls["series"]
        options = self.series_options()
        if list(dropdown.options) != options:
            keep = dropdown.value if dropdown.value in options else (options[0] if options else None)
            self._quiet = True  # new options must not trigger a redraw from inside this one
            try:
                dropdown.options = options
                dropdown.value = keep
            finally:
                self._quiet = False
        self._status_w.value = self._status()
        self._table_w.value = self._alert_table()
        view = self._series_view(dropdown.value) if image else None
        if view is not None:
            self._image_w.value = sparkline_png(**view)
            self._last_image = time.time()

    def snapshot_html(self, series: str | None = None) -> str:
        """The dashboard as static HTML (status, sparkline as an inline PNG, alerts) for a report.

        ``series`` is a key text such as ``"sku=SKU00001 location=web"`` (default: the
        dropdown's choice, or the latest series that alerted).
        """
        self.stats = self._stats()
        if series is None:
            chosen = self.controls.get("series")
            series = chosen.value if chosen is not None else next(iter(self.series_options()), None)
        view = self._series_view(series)
        image = ""
        if view is not None:
            data = base64.b64encode(sparkline_png(**view)).decode("ascii")
            image = f'<img alt="sparkline of {html.escape(series)}" src="data:image/png;base64,{data}"/>'
        return f"<div><p>{self._status()}</p>{image}{self._alert_table()}</div>"

    def _ipython_display_(self) -> None:
        from IPython.display import display

        display(self.widget)
