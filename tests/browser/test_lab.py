"""Each curated notebook, at small scale, run in JupyterLab in headless Chromium: every cell executes
without an error, the explorers render (no "Error displaying widget"), moving one of each explorer's
controls redraws its output, and the page logs no console error."""

from __future__ import annotations

import json
import re
import time

import nbformat
import pytest

from tests.browser.conftest import ROOT
from tests.notebooks import (
    test_00_quickstart,
    test_01_demand_forecasting,
    test_02_warehouse_inventory,
    test_03_logistics_delivery,
    test_04_cross_channel_marketing,
    test_05_scaling_with_dask,
)
from toolkit.report.parameters import inject_parameters

PARAMS = {module.NOTEBOOK.stem: module.PARAMS for module in (
    test_00_quickstart, test_01_demand_forecasting, test_02_warehouse_inventory, test_03_logistics_delivery,
    test_04_cross_channel_marketing, test_05_scaling_with_dask)}
# the cell that builds each explorer, and the kind of control moved in the browser
EXPLORERS = {"01_demand_forecasting": ("tk.widgets.ForecastExplorer(", "select"),
             "02_warehouse_inventory": ("tk.widgets.InventoryWhatIf(", "slider"),
             "03_logistics_delivery": ("tk.widgets.DeliveryExplorer(", "select"),
             "04_cross_channel_marketing": ("tk.widgets.BudgetExplorer(", "slider")}
PANEL = ".jp-NotebookPanel:not(.lm-mod-hidden)"
ALL_EXECUTED = """() => {
  const prompts = [...document.querySelectorAll('%s .jp-CodeCell .jp-InputPrompt')].map(e => e.textContent.trim());
  return prompts.length > 0 && prompts.every(t => /^\\[\\d+\\]:$/.test(t));
}""" % PANEL


def _prepare(folder, name):
    nb = nbformat.read(str(ROOT / "notebooks" / f"{name}.ipynb"), as_version=4)
    params = {k: v.replace("{tmp}", str(folder / f"{name}-data")) if isinstance(v, str) else v
              for k, v in PARAMS[name].items()}
    nbformat.write(inject_parameters(nb, params), str(folder / f"{name}.ipynb"))


def _run_all(page):
    """Run > Run All Cells once the kernel is up; again if the first click came before the kernel took it."""
    started = "() => [...document.querySelectorAll('%s .jp-CodeCell .jp-InputPrompt')]" \
              ".some(e => /\\[(\\*|\\d+)\\]/.test(e.textContent))" % PANEL
    for attempt in range(3):
        page.wait_for_selector(f'{PANEL} .jp-Notebook-ExecutionIndicator[data-status="idle"]', timeout=180_000)
        page.wait_for_timeout(2000)
        page.locator(".lm-MenuBar-itemLabel", has_text=re.compile("^Run$")).click()
        page.locator('.lm-Menu-item[data-command="runmenu:run-all"]').click()
        try:
            page.wait_for_function(started, timeout=30_000)
            return
        except Exception:
            if attempt == 2:
                raise


def _image(cell):
    images = cell.locator(".widget-output img")
    return images.first.get_attribute("src") if images.count() else None


def _move(cell, kind):
    if kind == "select":
        select = cell.locator("select").first
        options = select.locator("option")
        current = select.evaluate("s => s.selectedIndex")
        select.select_option(index=(current + 1) % options.count())
    else:
        handle = cell.locator(".noUi-handle").first
        handle.focus()
        for _ in range(3):
            handle.press("ArrowLeft")


@pytest.mark.parametrize("name", sorted(PARAMS))
def test_notebook_runs_in_jupyterlab_and_its_explorer_responds(lab, browser_context, name):
    base, token, folder = lab
    _prepare(folder, name)
    page = browser_context.new_page()
    errors = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    try:
        page.goto(f"{base}/lab/tree/{name}.ipynb?token={token}")
        _run_all(page)
        page.wait_for_function(ALL_EXECUTED, timeout=600_000, polling=1000)
        page.wait_for_selector(f'{PANEL} .jp-Notebook-ExecutionIndicator[data-status="idle"]', timeout=120_000)
        text = page.locator(PANEL).inner_text()
        assert "Traceback (most recent call last)" not in text, text[-3000:]
        assert "Error displaying widget" not in text
        if name in EXPLORERS:
            marker, kind = EXPLORERS[name]
            cell = page.locator(f"{PANEL} .jp-CodeCell", has_text=marker).first
            cell.locator(".widget-output img").first.wait_for(timeout=60_000)
            before = _image(cell)
            _move(cell, kind)
            deadline = time.monotonic() + 120
            while _image(cell) == before and time.monotonic() < deadline:
                page.wait_for_timeout(500)
            assert _image(cell) not in (None, before), f"{name}: the explorer did not redraw after its control moved"
            assert "Error displaying widget" not in page.locator(PANEL).inner_text()
        assert errors == [], json.dumps(errors, indent=1)[:3000]
    finally:
        page.close()
