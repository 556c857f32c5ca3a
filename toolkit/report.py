"""Run notebooks with parameters, record their metrics, render HTML reports with provenance.

A curated notebook records its headline figures with :func:`record`, which emits a display
output with its own MIME type (``application/vnd.toolkit.record+json``): it travels inside
the executed ``.ipynb`` like any other output, renders as nothing in JupyterLab, and
:func:`read_records` reads it back, so tests assert on what the notebook computed.
(scrapbook did this once and is unmaintained; a MIME-typed display output needs nothing but
IPython.)

Input contract: every public function checks its arguments before any work and raises
:class:`~toolkit.errors.DataValidationError` naming the parameter (a record name that is not a
non-empty string, a value JSON cannot hold, a notebook path that does not exist, parameters
that are not a dict keyed by Python names...). Non-finite numbers in a recorded value (NaN,
``inf``) are recorded as ``null``: JSON has no such numbers, and a reader sees "no value"
rather than a number.

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
import numbers
import os
import time
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any, Mapping

from toolkit.errors import DataValidationError
from toolkit.panel.checks import check_int

__all__ = ["RECORD_MIME", "record", "read_records", "run_notebook", "NotebookRun", "provenance"]

RECORD_MIME = "application/vnd.toolkit.record+json"
_PACKAGES = ("toolkit", "pandas", "numpy", "dask", "scikit-learn", "pyod", "torch", "cudf-cu12", "cuml-cu12",
             "cupy-cuda12x")


def _jsonable(value: Any, param: str = "value") -> Any:
    """numpy/pandas scalars and containers -> plain JSON values (NaN and inf -> None, dates -> ISO text)."""
    if hasattr(value, "item") and getattr(value, "ndim", 1) == 0:
        value = value.item()
    if isinstance(value, float):
        return None if math.isnan(value) or math.isinf(value) else value
    if isinstance(value, (str, int, bool)) or value is None:
        return value
    if isinstance(value, (_dt.date, _dt.datetime)):
        return value.isoformat()
    if isinstance(value, Mapping):
        return {str(k): _jsonable(v, param) for k, v in value.items()}
    if hasattr(value, "tolist"):
        return _jsonable(value.tolist(), param)
    if isinstance(value, (list, tuple)):
        return [_jsonable(v, param) for v in value]
    raise DataValidationError.for_parameter(
        param, "record() takes numbers, strings, booleans, dates and lists/dicts of them", type(value).__name__)


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

    Raises
    ------
    DataValidationError
        ``name`` is not a non-empty string, or ``value`` holds something JSON cannot (an
        object, a frame...). NaN and infinite numbers are recorded as ``null``.

    Examples
    --------
    >>> from toolkit.report import record
    >>> rows = record("rows", 3)  # outside a notebook IPython prints the raw payload
    {'application/vnd.toolkit.record+json': {'name': 'rows', 'value': 3}, 'text/plain': 'rows = 3'}
    >>> rows
    3
    """
    from IPython.display import display

    if not isinstance(name, str) or not name.strip():
        raise DataValidationError.for_parameter("name", "expected a non-empty metric name (str)", name)
    payload = {"name": name, "value": _jsonable(value)}
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

    Raises
    ------
    DataValidationError
        Not a notebook or a path to an existing one; a file that is not a notebook; a
        record output without a name.
    """
    nb = executed_notebook if hasattr(executed_notebook, "cells") else _read_notebook(executed_notebook,
                                                                                       "executed_notebook")
    records: dict[str, Any] = {}
    for cell in nb.cells:
        for output in cell.get("outputs", []):
            payload = output.get("data", {}).get(RECORD_MIME)
            if payload is not None:
                if isinstance(payload, str):
                    payload = json.loads(payload)
                if not isinstance(payload, Mapping) or "name" not in payload:
                    raise DataValidationError.for_parameter("executed_notebook",
                                                            f"a {RECORD_MIME} output has no name", payload)
                records[payload["name"]] = payload.get("value")
    return records


def _notebook_path(path: Any, param: str) -> Path:
    if not isinstance(path, (str, os.PathLike)):
        raise DataValidationError.for_parameter(param, "expected a notebook path (str or pathlib.Path)",
                                                type(path).__name__)
    src = Path(path)
    if not src.is_file():
        raise DataValidationError.for_parameter(param, "no such notebook file", str(src))
    return src


def _read_notebook(path: Any, param: str) -> Any:
    import nbformat

    src = _notebook_path(path, param)
    try:
        return nbformat.read(str(src), as_version=4)
    except Exception as err:  # nbformat raises NotJSONError, ValidationError, UnicodeDecodeError...
        raise DataValidationError.for_parameter(param, f"not a readable notebook ({type(err).__name__})",
                                                str(src)) from err


def _check_parameters(parameters: Any) -> dict[str, Any]:
    if parameters is None:
        return {}
    if not isinstance(parameters, Mapping):
        raise DataValidationError.for_parameter("parameters", "expected a dict of NAME: value",
                                                type(parameters).__name__)
    bad = [k for k in parameters if not (isinstance(k, str) and k.isidentifier())]
    if bad:
        raise DataValidationError.for_parameter("parameters", "names must be Python identifiers", bad[0])
    return dict(parameters)


def provenance(parameters: dict | None = None, seconds: float | None = None) -> dict[str, Any]:
    """What produced a report: versions, backend, parameters, date and run time.

    Raises
    ------
    DataValidationError
        ``parameters`` is not a dict keyed by Python names, or ``seconds`` is not a
        non-negative number.

    Examples
    --------
    >>> provenance({"SEED": 1}, 2.04)["parameters"], provenance(seconds=2.04)["run_seconds"]
    ({'SEED': 1}, 2.0)
    """
    from toolkit import backend

    parameters = _check_parameters(parameters)
    if seconds is not None and (isinstance(seconds, bool) or not isinstance(seconds, numbers.Real)
                                or not math.isfinite(seconds) or seconds < 0):
        raise DataValidationError.for_parameter("seconds", "expected a non-negative number of seconds", seconds)

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
        "parameters": _jsonable(parameters, "parameters"),
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
    DataValidationError
        Checked before anything runs: ``path`` is not an existing notebook file;
        ``parameters`` is not a dict keyed by Python names (or holds values JSON cannot);
        ``output_dir`` is not a path or is an existing file; ``kernel_name`` is not a
        non-empty string; ``timeout`` is not a whole number >= 1 (or None).
    papermill.PapermillExecutionError
        When a cell fails; the partially executed notebook is still written.
    """
    import nbformat
    import papermill
    from nbconvert import HTMLExporter

    src = _notebook_path(path, "path")
    parameters = _check_parameters(parameters)
    _jsonable(parameters, "parameters")
    if not isinstance(output_dir, (str, os.PathLike)) or Path(output_dir).is_file():
        raise DataValidationError.for_parameter("output_dir", "expected a directory path", output_dir)
    if not isinstance(kernel_name, str) or not kernel_name:
        raise DataValidationError.for_parameter("kernel_name", "expected a Jupyter kernel name", kernel_name)
    if timeout is not None:
        check_int("timeout", timeout, minimum=1)
    out_dir = Path(output_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    executed = out_dir / src.name
    start = time.perf_counter()
    papermill.execute_notebook(
        str(src), str(executed), parameters=parameters, kernel_name=kernel_name,
        progress_bar=progress, execution_timeout=timeout, cwd=str(src.parent),
    )
    seconds = time.perf_counter() - start
    nb = nbformat.read(str(executed), as_version=4)
    info = provenance({**_default_parameters(executed), **parameters}, seconds)
    header = nbformat.v4.new_markdown_cell(_provenance_markdown(info))
    nb.metadata["toolkit_provenance"] = info
    nbformat.write(nb, str(executed))
    shown = nbformat.from_dict(nb)
    shown.cells = [header, *shown.cells]
    body, _ = HTMLExporter().from_notebook_node(shown)
    html = out_dir / f"{src.stem}.html"
    html.write_text(body, encoding="utf-8")
    return NotebookRun(notebook=executed, html=html, records=read_records(nb), seconds=seconds)
