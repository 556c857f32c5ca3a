"""Execute a notebook in a fresh kernel, cell by cell, and fail fast when a cell makes no progress.

:func:`execute_notebook` drives nbclient directly (papermill's engine adds nothing we use
besides parameter injection, done by :mod:`toolkit.report.parameters`), times every cell, keeps
the widgets' state in the executed notebook (what the HTML report embeds) and watches each
running cell.

The stall behind issue 18: a cell that builds an ipywidgets explorer finished in a second, yet
the runner waited for its per-cell timeout (900 s) and then carried on as if nothing had
happened. Captured with the shell and iopub traffic logged: the kernel had sent ``status:
idle`` and the ``execute_reply`` was sitting in the client's shell socket (``zmq.EVENTS`` =
POLLIN) while the client's poll for it never woke; one call to the socket's event handler
delivered it at once. The wake-up was lost because nbclient mirrors every output captured by an
``Output`` widget back to the kernel as a ``comm_msg`` on the shell channel while it polls that
same channel for the reply (jupyter/nbclient#312), and jupyter_client's ``Session.send`` sends
through a synchronous shadow of the asyncio socket: the send processes the socket's pending
commands, which consumes the edge-triggered ``ZMQ_FD`` signal of a reply arriving at that
moment, and pyzmq's asyncio layer, which never saw the send, does not look again. Two changes
remove it: the explorers set their ``Output`` state instead of capturing output (the runner has
nothing to mirror), and this runner's output-widget mimic sends through the asyncio socket,
whose send re-checks for a waiting message (pyzmq's own edge handling). ipykernel's version
only changes how often the race is hit.

Failing fast: a cell is *stalled* when, for ``stall_timeout`` seconds, no output message of the
cell arrived and the kernel with its child processes (Dask workers) used no CPU; it is then
stopped and :class:`StalledCellError` names the notebook, the cell and its first line. A cell
that computes or prints is never stalled, however long it runs; ``timeout`` still bounds each
cell's total time.

Examples
--------
>>> from toolkit.report.execution import StalledCellError
>>> str(StalledCellError("nb.ipynb", 3, "x = slow()", 120.0))
'nb.ipynb: cell 3 (x = slow()) made no progress for 120 s: no output and the kernel idle'
"""

from __future__ import annotations

import asyncio
import dataclasses
import os
import time
from pathlib import Path
from typing import Any

__all__ = ["CellTime", "StalledCellError", "NotebookExecutionError", "ExecutedNotebook", "execute_notebook",
           "STALL_TIMEOUT"]

STALL_TIMEOUT = 90.0
"""Seconds without output or kernel CPU after which a cell counts as stalled (reported before 2 minutes)."""
_CPU_EPSILON = 0.02  # CPU seconds per check below which the kernel counts as idle


class StalledCellError(TimeoutError):
    """A cell made no progress (no output, kernel and its children idle) for too long."""

    def __init__(self, notebook: str, cell_index: int, first_line: str, seconds: float):
        self.notebook, self.cell_index, self.first_line, self.seconds = notebook, cell_index, first_line, seconds
        super().__init__(f"{notebook}: cell {cell_index} ({first_line}) made no progress for {seconds:.0f} s: "
                         "no output and the kernel idle")


class NotebookExecutionError(RuntimeError):
    """A cell raised; the message names the notebook, the cell and the error."""

    def __init__(self, notebook: str, cell_index: int, first_line: str, error: str):
        self.notebook, self.cell_index, self.first_line, self.error = notebook, cell_index, first_line, error
        super().__init__(f"{notebook}: cell {cell_index} ({first_line}) failed: {error}")


@dataclasses.dataclass(frozen=True)
class CellTime:
    """Wall time of one executed code cell."""

    index: int
    seconds: float
    first_line: str


@dataclasses.dataclass
class ExecutedNotebook:
    """What :func:`execute_notebook` returns: the executed notebook and its cells' times."""

    nb: Any
    cells: list[CellTime]

    @property
    def slowest(self) -> CellTime | None:
        """The slowest code cell (None for a notebook without code)."""
        return max(self.cells, key=lambda c: c.seconds, default=None)


def first_line(source: str) -> str:
    """The first non-blank line of a cell's source, shortened for messages."""
    line = next((line.strip() for line in source.splitlines() if line.strip()), "")
    return line if len(line) <= 60 else line[:57] + "..."


def _client_class() -> type:
    """The nbclient client with the async-safe output widget and the stall watchdog (imported lazily)."""
    import psutil
    from nbclient import NotebookClient
    from nbclient.exceptions import DeadKernelError
    from nbclient.jsonutil import json_clean
    from nbclient.output_widget import OutputWidget

    class AsyncSafeOutputWidget(OutputWidget):
        """nbclient's Output-widget mimic, sending its state through the asyncio shell socket."""

        def _publish_msg(self, msg_type: str, data: dict | None = None, metadata: dict | None = None,
                         buffers: list | None = None, **keys: Any) -> None:
            session = self.kernel_client.session
            content = json_clean(dict(data=data or {}, comm_id=self.comm_id, **keys))
            msg = session.msg(msg_type, content=content, parent=self.parent_header, metadata=metadata or {})
            # zmq.asyncio.Socket.send_multipart, not Session.send (a synchronous shadow): after sending,
            # pyzmq checks the socket for a message that arrived meanwhile and wakes its waiting poll.
            self.kernel_client.shell_channel.socket.send_multipart([*session.serialize(msg), *(buffers or [])])

    class WatchedClient(NotebookClient):
        """Times every cell and stops one that makes no progress for ``stall_timeout`` seconds."""

        def __init__(self, nb: Any, *, notebook_name: str, stall_timeout: float | None, **kwargs: Any):
            super().__init__(nb, **kwargs)
            self.widget_registry = {"@jupyter-widgets/output": {"OutputModel": AsyncSafeOutputWidget}}
            self.notebook_name, self.stall_timeout = notebook_name, stall_timeout
            self.cell_times: list[CellTime] = []
            self._progress = time.monotonic()
            self._stalled: float | None = None

        def process_message(self, msg: dict, cell: Any, cell_index: int) -> Any:
            self._progress = time.monotonic()
            return super().process_message(msg, cell, cell_index)

        def _kernel_cpu(self) -> float | None:
            try:
                kernel = psutil.Process(self.km.provisioner.process.pid)
                return sum(sum(p.cpu_times()[:2]) for p in [kernel, *kernel.children(recursive=True)])
            except (AttributeError, psutil.Error):
                return None

        async def _watch(self, check_every: float) -> None:
            cpu = self._kernel_cpu()
            while True:
                await asyncio.sleep(check_every)
                now_cpu = self._kernel_cpu()
                if cpu is None or now_cpu is None or now_cpu - cpu > _CPU_EPSILON:
                    self._progress = time.monotonic()
                cpu = now_cpu
                idle = time.monotonic() - self._progress
                if idle >= self.stall_timeout and self.task_poll_for_reply is not None:
                    self._stalled = idle
                    self.task_poll_for_reply.cancel()
                    return

        async def _async_poll_kernel_alive(self) -> None:
            # nbclient's check that the kernel lives, ending when the cell is stopped as stalled (nbclient's
            # own would go on polling a client that is shut down)
            while self._stalled is None and self.kc is not None:
                await asyncio.sleep(1)
                try:
                    await self._async_check_alive()
                except DeadKernelError:
                    if self.task_poll_for_reply is not None:
                        self.task_poll_for_reply.cancel()
                    return

        async def async_execute_cell(self, cell: Any, cell_index: int, execution_count: int | None = None,
                                     store_history: bool = True) -> Any:
            if cell.cell_type != "code" or not cell.source.strip():
                return await super().async_execute_cell(cell, cell_index, execution_count, store_history)
            start = self._progress = time.monotonic()
            self._stalled = None
            self.task_poll_for_reply = None
            watch = None
            if self.stall_timeout is not None:
                watch = asyncio.ensure_future(self._watch(min(5.0, self.stall_timeout / 4)))
            try:
                return await super().async_execute_cell(cell, cell_index, execution_count, store_history)
            except (DeadKernelError, asyncio.CancelledError):
                if self._stalled is not None:
                    raise StalledCellError(self.notebook_name, cell_index, first_line(cell.source),
                                           self._stalled) from None
                raise
            finally:
                if watch is not None:
                    watch.cancel()
                self.cell_times.append(CellTime(cell_index, time.monotonic() - start, first_line(cell.source)))

    return WatchedClient


def execute_notebook(nb: Any, *, name: str, cwd: str | Path, kernel_name: str = "python3",
                     timeout: int | None = 900, stall_timeout: float | None = STALL_TIMEOUT) -> ExecutedNotebook:
    """Execute ``nb`` (a parameterized ``nbformat`` notebook) in place in a fresh kernel.

    Parameters
    ----------
    nb : nbformat.NotebookNode
        Executed in place: outputs, execution counts, widget state (``metadata.widgets``).
    name : str
        The notebook's name in error messages.
    cwd : path
        The kernel's working directory.
    kernel_name : str
    timeout : int, optional
        Longest time of one cell in seconds (None: no limit).
    stall_timeout : float, optional
        Seconds without output or kernel CPU after which a cell is stopped (None: never).

    Returns
    -------
    ExecutedNotebook

    Raises
    ------
    StalledCellError
        A cell made no progress for ``stall_timeout`` seconds.
    NotebookExecutionError
        A cell raised (``nb`` holds the outputs up to it) or ran past ``timeout``.
    """
    from nbclient.exceptions import CellExecutionError, CellTimeoutError

    import shutil
    import tempfile

    from traitlets.config import Config

    # Unix sockets (absolute paths in a private folder) rather than loopback TCP ports: nothing else on the
    # machine can connect to the kernel, and ipykernel 7 has no unencrypted-TCP warning to print at each start.
    sockets = Path(tempfile.mkdtemp(prefix="toolkit-kernel-"))
    ipc = {"transport": "ipc", "ip": str(sockets / "kernel")} if os.name == "posix" else {}  # no ipc on Windows
    config = Config({"KernelManager": ipc})
    client = _client_class()(nb, notebook_name=name, stall_timeout=stall_timeout, timeout=timeout,
                             kernel_name=kernel_name, resources={"metadata": {"path": str(cwd)}},
                             store_widget_state=True, record_timing=True, config=config)
    try:
        client.execute()
    except CellExecutionError as err:
        index, cell = _last_started(client, nb)
        raise NotebookExecutionError(name, index, first_line(cell.source),
                                     f"{err.ename}: {err.evalue}" if err.ename else str(err)) from err
    except CellTimeoutError as err:
        index, cell = _last_started(client, nb)
        raise NotebookExecutionError(name, index, first_line(cell.source),
                                     f"ran past the {timeout} s cell timeout") from err
    finally:
        shutil.rmtree(sockets, ignore_errors=True)
    return ExecutedNotebook(nb=nb, cells=client.cell_times)


def _last_started(client: Any, nb: Any) -> tuple[int, Any]:
    index = client.cell_times[-1].index if client.cell_times else 0
    return index, nb.cells[index]
