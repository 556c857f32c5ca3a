"""Metrics a notebook records, read back from its outputs, and their summary table.

:func:`record` emits a display output carrying only the MIME type
``application/vnd.toolkit.record+json``: it travels inside the executed ``.ipynb`` like any
other output, JupyterLab and the HTML report have no renderer for it and show nothing, and
:func:`read_records` reads it back so tests assert on what the notebook computed (scrapbook
did this once and is unmaintained; a MIME-typed output needs nothing but IPython). It has no
``text/plain`` fallback and returns None: a fallback or a returned value is what made
``name = value`` lines and stray ``Out[14]: 383372.2164048529`` spill into notebooks.

A record may name its unit; :func:`summary_markdown` turns the records into the table that
ends each report, numbers rounded for reading (shares as percentages, three significant
digits, thousands separated), while the notebook keeps the full values.

Input contract: :func:`record` refuses a name that is not a non-empty string, a unit that is
not a string and a value JSON cannot hold (an object, a frame...) with
:class:`~toolkit.errors.DataValidationError`; non-finite numbers (NaN, ``inf``) are recorded
as ``null``: JSON has no such numbers, and a reader sees "no value" rather than a number.

Examples
--------
>>> format_metric(0.91234, "share"), format_metric(383372.2164048529, "units"), format_metric(0.012345, None)
('91.2 %', '383,372', '0.0123')
"""

from __future__ import annotations

import datetime as _dt
import json
import math
import os
from pathlib import Path
from typing import Any, Mapping

from toolkit.errors import DataValidationError

__all__ = ["RECORD_MIME", "to_json_value", "record", "read_records", "read_metrics", "format_metric",
           "summary_markdown", "read_notebook", "notebook_path"]

RECORD_MIME = "application/vnd.toolkit.record+json"
SHARE = "share"
"""The unit of a fraction in [0, 1] (shown as a percentage)."""


def to_json_value(value: Any, param: str = "value") -> Any:
    """numpy/pandas scalars and containers -> plain JSON values (NaN and inf -> None, dates -> ISO text).

    Examples
    --------
    >>> import numpy as np
    >>> to_json_value({"a": np.float32(1.5), "b": [float("nan")]})
    {'a': 1.5, 'b': [None]}
    """
    if hasattr(value, "item") and getattr(value, "ndim", 1) == 0:
        value = value.item()
    if isinstance(value, float):
        return None if math.isnan(value) or math.isinf(value) else value
    if isinstance(value, (str, int, bool)) or value is None:
        return value
    if isinstance(value, (_dt.date, _dt.datetime)):
        return value.isoformat()
    if isinstance(value, Mapping):
        return {str(k): to_json_value(v, param) for k, v in value.items()}
    if hasattr(value, "tolist"):
        return to_json_value(value.tolist(), param)
    if isinstance(value, (list, tuple)):
        return [to_json_value(v, param) for v in value]
    raise DataValidationError.for_parameter(
        param, "record() takes numbers, strings, booleans, dates and lists/dicts of them", type(value).__name__)


def record(name: str, value: Any, unit: str | None = None) -> None:
    """Record a named metric in the running notebook's outputs, invisibly.

    Parameters
    ----------
    name : str
        Metric name, unique within a notebook (a later record of the same name wins).
    value : number, str, bool, list or dict
        JSON-serialisable value (numpy scalars and arrays are converted).
    unit : str, optional
        What the number counts ("units", "days", "km", "$/day"...); ``"share"`` for a
        fraction in [0, 1], shown as a percentage in the report's summary.

    Raises
    ------
    DataValidationError
        ``name`` is not a non-empty string, ``unit`` is not a string, or ``value`` holds
        something JSON cannot (an object, a frame...). NaN and infinite numbers are recorded
        as ``null``.

    Examples
    --------
    >>> from toolkit.report import record
    >>> record("rows", 3, unit="rows")  # outside a notebook IPython prints the raw payload
    {'application/vnd.toolkit.record+json': {'name': 'rows', 'value': 3, 'unit': 'rows'}}
    """
    from IPython.display import display

    if not isinstance(name, str) or not name.strip():
        raise DataValidationError.for_parameter("name", "expected a non-empty metric name (str)", name)
    if unit is not None and not isinstance(unit, str):
        raise DataValidationError.for_parameter("unit", "expected a unit name (str) or None", unit)
    payload = {"name": name, "value": to_json_value(value), "unit": unit}
    display({RECORD_MIME: payload}, raw=True)


def notebook_path(path: Any, param: str) -> Path:
    """``path`` as an existing notebook file, or :class:`DataValidationError` naming ``param``."""
    if not isinstance(path, (str, os.PathLike)):
        raise DataValidationError.for_parameter(param, "expected a notebook path (str or pathlib.Path)",
                                                type(path).__name__)
    src = Path(path)
    if not src.is_file():
        raise DataValidationError.for_parameter(param, "no such notebook file", str(src))
    return src


def read_notebook(path: Any, param: str) -> Any:
    """The notebook at ``path`` (nbformat v4), or :class:`DataValidationError` naming ``param``."""
    import nbformat

    src = notebook_path(path, param)
    try:
        return nbformat.read(str(src), as_version=4)
    except Exception as err:  # nbformat raises NotJSONError, ValidationError, UnicodeDecodeError...
        raise DataValidationError.for_parameter(param, f"not a readable notebook ({type(err).__name__})",
                                                str(src)) from err


def read_metrics(executed_notebook: str | os.PathLike | Any) -> dict[str, dict[str, Any]]:
    """Recorded metrics with their units: ``{name: {"value": ..., "unit": ...}}`` in recording order.

    Raises
    ------
    DataValidationError
        Not a notebook or a path to an existing one; a file that is not a notebook; a
        record output without a name.
    """
    nb = executed_notebook if hasattr(executed_notebook, "cells") else read_notebook(executed_notebook,
                                                                                      "executed_notebook")
    metrics: dict[str, dict[str, Any]] = {}
    for cell in nb.cells:
        for output in cell.get("outputs", []):
            payload = output.get("data", {}).get(RECORD_MIME)
            if payload is None:
                continue
            if isinstance(payload, str):
                payload = json.loads(payload)
            if not isinstance(payload, Mapping) or "name" not in payload:
                raise DataValidationError.for_parameter("executed_notebook", f"a {RECORD_MIME} output has no name",
                                                        payload)
            metrics.pop(payload["name"], None)  # a later record wins, in its own place
            metrics[payload["name"]] = {"value": payload.get("value"), "unit": payload.get("unit")}
    return metrics


def read_records(executed_notebook: str | os.PathLike | Any) -> dict[str, Any]:
    """Metrics recorded by :func:`record` in an executed notebook.

    Parameters
    ----------
    executed_notebook : path or nbformat.NotebookNode

    Returns
    -------
    dict
        ``{name: value}`` in recording order.

    Raises
    ------
    DataValidationError
        Not a notebook or a path to an existing one; a file that is not a notebook; a
        record output without a name.
    """
    return {name: metric["value"] for name, metric in read_metrics(executed_notebook).items()}


def format_metric(value: Any, unit: str | None) -> str:
    """A recorded value as a reader wants it: rounded, shares as percentages, no value as a dash."""
    if value is None:
        return "&ndash;"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int):
        return f"{value * 100:.1f} %" if unit == SHARE else f"{value:,}"
    if isinstance(value, float):
        if unit == SHARE:
            return f"{value * 100:.1f} %"
        size = abs(value)
        if size >= 1000:
            return f"{value:,.0f}"
        if size != 0 and size < 0.001:
            return f"{value:.1e}"
        return f"{value:.3g}"
    if isinstance(value, (list, dict)):
        text = json.dumps(value)
        return text if len(text) <= 60 else text[:57] + "..."
    return str(value)


def summary_markdown(metrics: Mapping[str, Mapping[str, Any]]) -> str:
    """The Markdown table of recorded metrics that ends a report (empty text when there are none).

    Examples
    --------
    >>> print(summary_markdown({"fill_rate": {"value": 0.951, "unit": "share"}}))
    ## Recorded metrics
    <BLANKLINE>
    | metric | value | unit |
    | --- | ---: | --- |
    | fill rate | 95.1 % | share |
    """
    if not metrics:
        return ""
    rows = ["## Recorded metrics", "", "| metric | value | unit |", "| --- | ---: | --- |"]
    for name, metric in metrics.items():
        unit = metric.get("unit")
        rows.append(f"| {name.replace('_', ' ')} | {format_metric(metric.get('value'), unit)} | {unit or ''} |")
    return "\n".join(rows)
