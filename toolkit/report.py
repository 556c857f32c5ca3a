"""Run notebooks with parameters, record their metrics, render HTML reports with provenance.

A curated notebook records its headline figures with :func:`record`, which emits a display
output with its own MIME type (``application/vnd.toolkit.record+json``): it travels inside
the executed ``.ipynb`` like any other output, renders as nothing in JupyterLab, and
:func:`read_records` reads it back, so tests assert on what the notebook computed.
(scrapbook did this once and is unmaintained; a MIME-typed display output needs nothing but
IPython.)

:func:`run_notebook` executes a notebook with papermill (parameters injected after the cell
tagged ``parameters``), then writes an HTML report whose first cell is a provenance header:
toolkit version, backend, versions of the main packages, every parameter in force (the
notebook's defaults overridden by the injected values, seed included), the date and the run time.

Examples
--------
>>> from toolkit.report import RECORD_MIME
>>> RECORD_MIME
'application/vnd.toolkit.record+json'
"""

from __future__ import annotations

import dataclasses
import datetime as _dt
import json
import math
import os
import time
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

__all__ = ["RECORD_MIME", "record", "read_records", "run_notebook", "NotebookRun", "provenance"]

RECORD_MIME = "application/vnd.toolkit.record+json"
_PACKAGES = ("toolkit", "pandas", "numpy", "dask", "scikit-learn", "pyod", "torch", "cudf-cu12", "cuml-cu12",
             "cupy-cuda12x")


def _jsonable(value: Any) -> Any:
    """numpy/pandas scalars and containers -> plain JSON values (NaN -> None)."""
    if hasattr(value, "item") and getattr(value, "ndim", 1) == 0:
        value = value.item()
    if isinstance(value, float):
        return None if math.isnan(value) or math.isinf(value) else value
    if isinstance(value, (str, int, bool)) or value is None:
        return value
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if hasattr(value, "tolist"):
        return _jsonable(value.tolist())
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    raise TypeError(f"record() takes numbers, strings, booleans and lists/dicts of them, not {type(value).__name__}")


def record(name: str, value: Any) -> Any:
    """Record a named metric in the running notebook's outputs.

    Parameters
    ----------
    name : str
        Metric name, unique within a notebook (a later record of the same name wins).
    value : number, str, bool, list or dict
        JSON-serialisable value (numpy scalars and arrays are converted).

    Returns
    -------
    value
        The value given, so ``x = record("wape", wape)`` reads naturally.

    Examples
    --------
    >>> from toolkit.report import record
    >>> record("rows", 3)  # outside a notebook this displays nothing visible
    3
    """
    from IPython.display import display

    payload = {"name": str(name), "value": _jsonable(value)}
    display({RECORD_MIME: payload, "text/plain": f"{name} = {payload['value']!r}"}, raw=True)
    return value


def read_records(executed_notebook: str | os.PathLike | Any) -> dict[str, Any]:
    """Metrics recorded by :func:`record` in an executed notebook.

    Parameters
    ----------
    executed_notebook : path or nbformat.NotebookNode

    Returns
    -------
    dict
        ``{name: value}`` in recording order.
    """
    import nbformat

    nb = executed_notebook
    if not hasattr(nb, "cells"):
        nb = nbformat.read(os.fspath(executed_notebook), as_version=4)
    records: dict[str, Any] = {}
    for cell in nb.cells:
        for output in cell.get("outputs", []):
            payload = output.get("data", {}).get(RECORD_MIME)
            if payload is not None:
                if isinstance(payload, str):
                    payload = json.loads(payload)
                records[payload["name"]] = payload["value"]
    return records


def provenance(parameters: dict | None = None, seconds: float | None = None) -> dict[str, Any]:
    """What produced a report: versions, backend, parameters, date and run time."""
    from toolkit import backend

    versions = {}
    for package in _PACKAGES:
        try:
            versions[package] = version(package)
        except PackageNotFoundError:
            continue
    try:
        active = backend.current()
    except Exception as err:  # a report must still render if the backend cannot be resolved
        active = f"unavailable ({err})"
    return {
        "toolkit": versions.get("toolkit", "unknown"),
        "backend": active,
        "gpu_count": backend.gpu_count(),
        "packages": versions,
        "parameters": _jsonable(parameters or {}),
        "generated": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
        "run_seconds": None if seconds is None else round(seconds, 1),
    }


@dataclasses.dataclass
class NotebookRun:
    """Result of :func:`run_notebook`.

    Attributes
    ----------
    notebook, html : pathlib.Path
        The executed notebook and its HTML report.
    records : dict
        Metrics recorded by the notebook.
    seconds : float
        Wall time of the execution.
    """

    notebook: Path
    html: Path
    records: dict
    seconds: float


def _provenance_markdown(info: dict) -> str:
    packages = ", ".join(f"{k} {v}" for k, v in info["packages"].items())
    params = ", ".join(f"`{k}={v!r}`" for k, v in info["parameters"].items()) or "defaults"
    return (
        "**Report provenance** &mdash; "
        f"toolkit {info['toolkit']} &middot; backend **{info['backend']}** (GPUs: {info['gpu_count']}) "
        f"&middot; run {info['run_seconds']} s &middot; generated {info['generated']}  \n"
        f"Parameters: {params}  \n"
        f"Packages: {packages}"
    )


def _default_parameters(path: Path) -> dict[str, Any]:
    """The values of the notebook's ``parameters`` cell (as papermill reads them), so the report
    names every parameter in force, the seed included, not only the injected ones."""
    import ast

    import papermill

    defaults = {}
    for name, info in papermill.inspect_notebook(str(path)).items():
        try:
            defaults[name] = ast.literal_eval(info["default"])
        except (ValueError, SyntaxError):
            defaults[name] = info["default"]
    return defaults


def run_notebook(
    path: str | os.PathLike,
    parameters: dict | None = None,
    output_dir: str | os.PathLike = "reports",
    kernel_name: str = "python3",
    timeout: int | None = 900,
    progress: bool = False,
) -> NotebookRun:
    """Execute a notebook with papermill and render it to HTML with a provenance header.

    Parameters
    ----------
    path : path
        The source notebook (with a cell tagged ``parameters``).
    parameters : dict, optional
        Values injected by papermill (e.g. ``{"SCALE": "small", "SEED": 0}``).
    output_dir : path
        Where ``<name>.ipynb`` (executed) and ``<name>.html`` go; created if missing.
    kernel_name : str
        Jupyter kernel to execute with.
    timeout : int, optional
        Per-cell timeout in seconds.
    progress : bool
        Show papermill's progress bar.

    Returns
    -------
    NotebookRun

    Raises
    ------
    papermill.PapermillExecutionError
        When a cell fails; the partially executed notebook is still written.
    """
    import nbformat
    import papermill
    from nbconvert import HTMLExporter

    src = Path(path)
    out_dir = Path(output_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    executed = out_dir / src.name
    start = time.perf_counter()
    papermill.execute_notebook(
        str(src), str(executed), parameters=parameters or {}, kernel_name=kernel_name,
        progress_bar=progress, execution_timeout=timeout, cwd=str(src.parent),
    )
    seconds = time.perf_counter() - start
    nb = nbformat.read(str(executed), as_version=4)
    info = provenance({**_default_parameters(executed), **(parameters or {})}, seconds)
    header = nbformat.v4.new_markdown_cell(_provenance_markdown(info))
    nb.metadata["toolkit_provenance"] = info
    nbformat.write(nb, str(executed))
    shown = nbformat.from_dict(nb)
    shown.cells = [header, *shown.cells]
    body, _ = HTMLExporter().from_notebook_node(shown)
    html = out_dir / f"{src.stem}.html"
    html.write_text(body, encoding="utf-8")
    return NotebookRun(notebook=executed, html=html, records=read_records(nb), seconds=seconds)
