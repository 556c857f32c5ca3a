"""A notebook browser of one sku's reviews, sentiment and demand side by side.

:func:`review_browser` returns a :class:`ReviewBrowser`: a dropdown of skus (most reviewed
first), a chart of the sku's daily demand over its daily mean review sentiment and complaint
count, and a table of its latest reviews with rating, sentiment and the aspects complained
about. ``ipywidgets`` and ``matplotlib`` are imported when a browser is built, never at
``import toolkit.text``; the data it shows are computed on the host (one sku at a time).

Examples
--------
>>> import pandas as pd
>>> from toolkit.text import review_browser, score_reviews
>>> reviews = score_reviews(pd.DataFrame({"sku": ["a", "a", "b"], "text": ["late", "great", "broken"],
...                                       "review_ts": pd.to_datetime(["2024-01-01", "2024-01-02", "2024-01-02"]),
...                                       "rating": [2, 5, 1]}))
>>> sales = pd.DataFrame({"sku": ["a", "b"], "date": pd.to_datetime(["2024-01-01"] * 2), "units": [3.0, 1.0]})
>>> browser = review_browser(reviews, sales)  # doctest: +SKIP
>>> browser.select("b"); "broken" in browser.table.value  # doctest: +SKIP
True
"""

from __future__ import annotations

import html
from typing import Any

import pandas as pd

from toolkit import panel
from toolkit.backend import to_host
from toolkit.errors import DataValidationError
from toolkit.text.lexicon import ASPECTS
from toolkit.text.normalize import text_column

__all__ = ["ReviewBrowser", "review_browser"]


class ReviewBrowser:
    """The widget of :func:`review_browser`; :meth:`select` shows a sku.

    Attributes
    ----------
    widget : ipywidgets.VBox
    selector : ipywidgets.Dropdown
    table : ipywidgets.HTML
        The latest reviews of the selected sku.
    demand, sentiment, complaints : pandas Series
        Daily demand, mean review sentiment and complaint count of the selected sku.
    """

    def __init__(self, reviews: pd.DataFrame, sales: pd.DataFrame, settings: dict[str, Any]):
        import ipywidgets as widgets

        self._reviews, self._sales, self._settings = reviews, sales, settings
        by = settings["sku_col"]
        counts = reviews[by].astype(str).value_counts()
        options = counts.index.tolist()
        self.selector = widgets.Dropdown(options=options, description="sku")
        self.table = widgets.HTML()
        self.chart = widgets.Output()
        self.widget = widgets.VBox([self.selector, self.chart, self.table])
        self.selector.observe(lambda change: self.select(change["new"]), names="value")
        if options:
            self.select(options[0])

    def select(self, sku: str) -> None:
        """Show ``sku``: recompute its daily series, redraw the chart, refill the table."""
        s = self._settings
        if sku not in self.selector.options:
            raise DataValidationError.for_parameter("sku", "not among the reviewed skus", sku,
                                                    list(self.selector.options)[:10])
        if self.selector.value != sku:
            self.selector.value = sku  # observe() calls back into select
            return
        mine = self._reviews[self._reviews[s["sku_col"]].astype(str) == sku]
        day = mine[s["time_col"]].dt.floor("D")
        self.sentiment = mine.groupby(day)["sentiment"].mean()
        self.complaints = mine.groupby(day)["complaint"].sum().astype(float)
        sold = self._sales[self._sales[s["sku_col"]].astype(str) == sku]
        self.demand = sold.groupby(s["sales_time_col"])[s["target_col"]].sum()
        self._draw(sku)
        self.table.value = self._table(mine.sort_values(s["time_col"], ascending=False).head(s["n_reviews"]))

    def _draw(self, sku: str) -> None:
        import matplotlib.pyplot as plt

        self.chart.clear_output(wait=True)
        with self.chart:
            fig, (top, bottom) = plt.subplots(2, 1, figsize=(9, 4.5), sharex=True)
            top.plot(self.demand.index, self.demand.to_numpy(), color="tab:blue", lw=1)
            top.set_ylabel("units sold")
            top.set_title(f"{sku}: demand, review sentiment and complaints")
            bottom.bar(self.complaints.index, self.complaints.to_numpy(), color="tab:red", alpha=0.4, label="complaints")
            bottom.set_ylabel("complaints / day")
            twin = bottom.twinx()
            twin.plot(self.sentiment.index, self.sentiment.rolling(7, min_periods=1).mean().to_numpy(), color="k",
                      lw=1, label="sentiment (7-day mean)")
            twin.set_ylim(-1, 1)
            twin.set_ylabel("sentiment")
            fig.tight_layout()
            plt.show()
            plt.close(fig)

    def _table(self, rows: pd.DataFrame) -> str:
        s = self._settings
        head = "".join(f"<th>{h}</th>" for h in ("date", "rating", "sentiment", "complaints", "review"))
        body = []
        for _, row in rows.iterrows():
            about = ", ".join(a for a in ASPECTS if bool(row.get(f"complaint_{a}", False)))
            rating = row[s["rating_col"]] if s["rating_col"] in rows.columns else ""
            body.append(f"<tr><td>{row[s['time_col']]:%Y-%m-%d}</td><td>{html.escape(str(rating))}</td>"
                        f"<td>{row['sentiment']:+.2f}</td><td>{html.escape(about)}</td>"
                        f"<td>{html.escape(str(row[s['text_col']]))}</td></tr>")
        return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"

    def _ipython_display_(self) -> None:  # pragma: no cover - notebook display
        from IPython.display import display

        display(self.widget)


def review_browser(reviews: Any, sales: Any, sku_col: str = "sku", time_col: str = "review_ts",
                   text_col: str = "text", rating_col: str = "rating", sales_time_col: str = "date",
                   target_col: str = "units", n_reviews: int = 15) -> ReviewBrowser:
    """Browse a sku's reviews, sentiment and demand side by side.

    Parameters
    ----------
    reviews : pandas or cuDF DataFrame
        Scored reviews (:func:`toolkit.text.score_reviews`) with ``sku_col`` and ``time_col``.
    sales : pandas or cuDF DataFrame
        ``sku_col``, ``sales_time_col`` and ``target_col`` (summed over locations per day).
    sku_col, time_col, text_col, rating_col, sales_time_col, target_col : str
        ``rating_col`` may be absent from ``reviews``.
    n_reviews : int >= 1
        Reviews listed.

    Returns
    -------
    ReviewBrowser

    Raises
    ------
    DataValidationError
        Not in-memory frames, missing or mistyped columns, ``n_reviews < 1``.
    """
    text_column(reviews, text_col, "reviews")
    panel.require_columns(reviews, [sku_col, time_col, "sentiment", "complaint"], "in reviews (score_reviews output)")
    panel.require_datetime(reviews, time_col)
    panel.check_frame(sales, "sales", dask=False)
    panel.require_columns(sales, [sku_col, sales_time_col, target_col], "in sales")
    panel.require_datetime(sales, sales_time_col)
    panel.require_numeric(sales, [target_col], "to chart demand")
    n_reviews = panel.check_int("n_reviews", n_reviews, minimum=1)
    settings = {"sku_col": sku_col, "time_col": time_col, "text_col": text_col, "rating_col": rating_col,
                "sales_time_col": sales_time_col, "target_col": target_col, "n_reviews": n_reviews}
    return ReviewBrowser(to_host(reviews), to_host(sales), settings)
