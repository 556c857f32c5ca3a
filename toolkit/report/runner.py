"""Run a notebook with parameters into an executed notebook and an HTML report with provenance.

:func:`run_notebook` checks everything before a kernel starts (the path, the parameters
against the notebook's parameters cell, the output folder, the timeouts), injects the
parameters after the cell tagged ``parameters`` (a cell tagged ``injected-parameters``, as
papermill writes it), executes with :func:`toolkit.report.execution.execute_notebook`
(per-cell times, stalled cells stopped and named), and writes ``<name>.ipynb`` and
``<name>.html`` (:func:`toolkit.report.html.render_html`) whose first cell is a provenance
header -- toolkit version, backend, versions of the main packages, every parameter in force
(the notebook's defaults overridden by the injected values, seed included), the date and the
run time -- and whose last is the summary table of the recorded metrics.

Examples
--------
>>> provenance({"SEED": 1}, 2.04)["parameters"], provenance(seconds=2.04)["run_seconds"]
({'SEED': 1}, 2.0)
"""

from __future__ import annotations

import dataclasses
import datetime as _dt
import math
import numbers
import os
import time
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

from toolkit.errors import DataValidationError
from toolkit.panel.checks import check_int, check_number
from toolkit.report.execution import (
    STALL_TIMEOUT,
    CellTime,
    NotebookExecutionError,
    execute_notebook,
)
from toolkit.report.html import notebook_title, render_html
from toolkit.report.parameters import (
    check_parameter_names,
    check_parameters,
    inject_parameters,
    notebook_parameters,
)
from toolkit.report.records import (
    read_metrics,
    read_notebook,
    summary_markdown,
    to_json_value,
)

__all__ = ["run_notebook", "NotebookRun", "provenance"]

_PACKAGES = ("toolkit", "pandas", "numpy", "dask", "scikit-learn", "pyod", "torch", "cudf-cu12", "cuml-cu12",
             "cupy-cuda12x")


def provenance(parameters: dict | None = None, seconds: float | None = None) -> dict[str, Any]:
    """What produced a report: versions, backend, parameters, date and run time.

    Raises
    ------
    DataValidationError
        ``parameters`` is not a dict keyed by Python names, or ``seconds`` is not a
        non-negative number.
    """
    from toolkit import backend

    parameters = check_parameter_names(parameters)
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
        "parameters": to_json_value(parameters, "parameters"),
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
    cells : list of CellTime
        Wall time of each executed code cell.
    parameters : dict
        Every parameter in force (the notebook's defaults overridden by the injected values).
    """

    notebook: Path
    html: Path
    records: dict
    seconds: float
    cells: list[CellTime] = dataclasses.field(default_factory=list)
    parameters: dict = dataclasses.field(default_factory=dict)

    @property
    def slowest(self) -> CellTime | None:
        """The slowest code cell."""
        return max(self.cells, key=lambda c: c.seconds, default=None)


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


def run_notebook(
    path: str | os.PathLike,
    parameters: dict | None = None,
    output_dir: str | os.PathLike = "reports",
    kernel_name: str = "python3",
    timeout: int | None = 900,
    progress: bool = False,
    stall_timeout: float | None = STALL_TIMEOUT,
    widgets: str = "auto",
) -> NotebookRun:
    """Execute a notebook with parameters and render it to HTML with a provenance header.

    Parameters
    ----------
    path : path
        The source notebook (with a cell tagged ``parameters``).
    parameters : dict, optional
        Values injected after the parameters cell, each of the type of its default there
        (e.g. ``{"SCALE": 0.1, "SEED": 0}``).
    output_dir : path
        Where ``<name>.ipynb`` (executed) and ``<name>.html`` go; created if missing.
    kernel_name : str
        Jupyter kernel to execute with.
    timeout : int, optional
        Longest time of one cell, in seconds (None: no limit).
    progress : bool
        Print each code cell's time once the notebook has run.
    stall_timeout : float, optional
        Seconds a cell may go without output and without kernel CPU before it is stopped as
        stalled (None: never).
    widgets : {"auto", "live", "static"}
        How the report shows widgets (:func:`toolkit.report.html.render_html`).

    Returns
    -------
    NotebookRun

    Raises
    ------
    DataValidationError
        Checked before anything runs: ``path`` is not an existing notebook file;
        ``parameters`` is not a dict keyed by the notebook's parameter names, or a value is
        not of its default's type (named); ``output_dir`` is not a path or is an existing
        file; ``kernel_name`` is not a non-empty string; ``timeout`` is not a whole number
        >= 1 (or None); ``stall_timeout`` is not a positive number (or None).
    toolkit.report.execution.StalledCellError
        A cell made no progress for ``stall_timeout`` seconds (notebook and cell named).
    toolkit.report.execution.NotebookExecutionError
        A cell failed; the partially executed notebook is still written.

    Examples
    --------
    >>> from toolkit.report import run_notebook
    >>> run = run_notebook("notebooks/00_quickstart.ipynb", {"SCALE": 0.1, "N_DAYS": 365}, "reports")  # doctest: +SKIP
    >>> run.records["sales_rows"], run.html.name  # doctest: +SKIP
    (43800, '00_quickstart.html')
    """
    import nbformat

    nb = read_notebook(path, "path")
    src = Path(path)
    parameters = check_parameter_names(parameters)
    to_json_value(parameters, "parameters")
    if not isinstance(output_dir, (str, os.PathLike)) or Path(output_dir).is_file():
        raise DataValidationError.for_parameter("output_dir", "expected a directory path", output_dir)
    if not isinstance(kernel_name, str) or not kernel_name:
        raise DataValidationError.for_parameter("kernel_name", "expected a Jupyter kernel name", kernel_name)
    if timeout is not None:
        check_int("timeout", timeout, minimum=1)
    if stall_timeout is not None:
        check_number("stall_timeout", stall_timeout, minimum=0.0, low_open=True)
    parameters = check_parameters(nb, parameters, src.name)
    in_force = {**notebook_parameters(nb), **parameters}

    out_dir = Path(output_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    executed = out_dir / src.name
    nb = inject_parameters(nb, parameters) if parameters else nb
    start = time.perf_counter()
    try:
        result = execute_notebook(nb, name=str(src), cwd=src.resolve().parent, kernel_name=kernel_name,
                                  timeout=timeout, stall_timeout=stall_timeout)
    except (NotebookExecutionError, TimeoutError):
        nbformat.write(nb, str(executed))
        raise
    seconds = time.perf_counter() - start
    if progress:
        for cell in result.cells:
            print(f"  cell {cell.index}: {cell.seconds:.1f} s  {cell.first_line}")
    info = provenance(to_json_value(in_force, "parameters"), seconds)
    nb.metadata["toolkit_provenance"] = info
    nbformat.write(nb, str(executed))
    metrics = read_metrics(nb)
    html = out_dir / f"{src.stem}.html"
    html.write_text(render_html(nb, title=notebook_title(nb, src.stem), header_markdown=_provenance_markdown(info),
                                footer_markdown=summary_markdown(metrics), widgets=widgets), encoding="utf-8")
    return NotebookRun(notebook=executed, html=html, records={k: m["value"] for k, m in metrics.items()},
                       seconds=seconds, cells=result.cells, parameters=in_force)
