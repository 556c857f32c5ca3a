"""Browser fixtures: Debian's Chromium driven by Playwright, and a JupyterLab server on a loopback port.

Every process a fixture starts is stopped in its teardown, on failure too: the server by its
process group, the browser by Playwright. Chromium is the system's (``make test`` installs it
with apt-get when ``/usr/bin/chromium`` is missing); Playwright's own browser downloads are never
used. Without Chromium the tests skip, unless ``TOOLKIT_BROWSER_REQUIRED`` is set (``make
test`` sets it), where they fail.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = os.environ.get("TOOLKIT_CHROMIUM", "/usr/bin/chromium")
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync"]


def pytest_collection_modifyitems(config, items):
    for item in items:
        if "tests/browser/" in str(item.fspath).replace(os.sep, "/"):
            item.add_marker(pytest.mark.browser)


@pytest.fixture(scope="session")
def browser_context(tmp_path_factory):
    """A Chromium context with a fresh profile; pages collect console errors in ``page.errors``."""
    if not Path(CHROMIUM).exists():
        message = f"no Chromium at {CHROMIUM} (make test installs Debian's chromium)"
        if os.environ.get("TOOLKIT_BROWSER_REQUIRED"):
            pytest.fail(message)
        pytest.skip(message)
    playwright_api = pytest.importorskip("playwright.sync_api")
    with playwright_api.sync_playwright() as driver:
        context = driver.chromium.launch_persistent_context(
            str(tmp_path_factory.mktemp("chromium-profile")), executable_path=CHROMIUM, headless=True, args=FLAGS,
            viewport={"width": 1400, "height": 1000})
        try:
            yield context
        finally:
            context.close()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="session")
def lab(tmp_path_factory):
    """A JupyterLab server on 127.0.0.1 serving a fresh folder: ``(base_url, token, folder)``."""
    folder = tmp_path_factory.mktemp("lab")
    home = tmp_path_factory.mktemp("lab-home")
    port, token = _free_port(), secrets.token_hex(16)
    env = {**os.environ, "PYTHONPATH": str(ROOT), "JUPYTER_RUNTIME_DIR": str(home / "runtime"),
           "JUPYTERLAB_SETTINGS_DIR": str(home / "settings"), "JUPYTERLAB_WORKSPACES_DIR": str(home / "workspaces"),
           "TOOLKIT_BACKEND": "cpu", "MPLBACKEND": "module://matplotlib_inline.backend_inline"}
    command = [sys.executable, "-m", "jupyterlab", f"--ServerApp.port={port}", "--ServerApp.ip=127.0.0.1",
               "--ServerApp.open_browser=False", f"--IdentityProvider.token={token}",
               f"--ServerApp.root_dir={folder}", "--ServerApp.port_retries=0", "--LabApp.news_url=None",
               "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate"]
    if os.geteuid() == 0:
        command.append("--allow-root")
    # every cell rendered (no windowing: the tests read cells off screen), no news or update checks
    for plugin, values in {"notebook-extension/tracker": {"windowingMode": "none", "autoStartDefaultKernel": True},
                           "apputils-extension/notification": {"fetchNews": "false", "checkForUpdates": False}}.items():
        path = home / "settings" / "@jupyterlab" / f"{plugin}.jupyterlab-settings"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(values))
    log = open(home / "server.log", "w")
    server = subprocess.Popen(command, cwd=folder, env=env, stdout=log, stderr=subprocess.STDOUT,
                              start_new_session=True)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                urllib.request.urlopen(f"{base}/api/status?token={token}", timeout=2).read()
                break
            except OSError:
                if server.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"JupyterLab did not start:\n{(home / 'server.log').read_text()[-3000:]}")
                time.sleep(0.5)
        yield base, token, folder
    finally:
        _stop(server)
        log.close()
        shutil.rmtree(home / "runtime", ignore_errors=True)


def _stop(server: subprocess.Popen) -> None:
    """Stop the server and every process under it (kernels run in sessions of their own, Dask workers under them)."""
    import psutil

    try:
        children = psutil.Process(server.pid).children(recursive=True)
    except psutil.NoSuchProcess:
        children = []
    for signum in (signal.SIGTERM, signal.SIGKILL):
        try:
            os.killpg(server.pid, signum)
        except ProcessLookupError:
            pass
        for child in children:
            try:
                child.send_signal(signum)
            except psutil.NoSuchProcess:
                pass
        _, alive = psutil.wait_procs(children, timeout=15)
        try:
            server.wait(timeout=15)
        except subprocess.TimeoutExpired:
            continue
        if not alive:
            return
