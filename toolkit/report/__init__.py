"""Run notebooks with parameters, record their metrics, render HTML reports that read offline.

* :mod:`~toolkit.report.records` -- :func:`record` (invisible, MIME-typed outputs),
  :func:`read_records`, the summary table of a report.
* :mod:`~toolkit.report.parameters` -- injected parameters checked against the parameters cell.
* :mod:`~toolkit.report.execution` -- the kernel-driving runner: per-cell times, stalled cells
  stopped and named (the cause of the 15-minute stall of issue 18 is written there).
* :mod:`~toolkit.report.html` -- self-contained HTML: widgets embedded, no CDN, the notebook's title.
* :mod:`~toolkit.report.runner` -- :func:`run_notebook`, :func:`provenance`.

Examples
--------
>>> from toolkit.report import RECORD_MIME
>>> RECORD_MIME
'application/vnd.toolkit.record+json'
"""

from toolkit.report.execution import CellTime, NotebookExecutionError, StalledCellError
from toolkit.report.parameters import check_parameters, notebook_parameters
from toolkit.report.records import (
           RECORD_MIME,
           format_metric,
           read_metrics,
           read_records,
           record,
           summary_markdown,
)
from toolkit.report.runner import NotebookRun, provenance, run_notebook

__all__ = ["RECORD_MIME", "record", "read_records", "read_metrics", "format_metric", "summary_markdown",
           "run_notebook", "NotebookRun", "provenance", "CellTime", "StalledCellError", "NotebookExecutionError",
           "check_parameters", "notebook_parameters"]
