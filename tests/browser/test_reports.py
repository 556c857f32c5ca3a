"""Each curated notebook's HTML report, opened from disk with the network blocked: it makes no request
but to the file itself (and data URIs), logs no error, every widget renders -- live from the embedded
state when the widgets manager is installed, else as its last view -- no widget box is empty, records
are invisible, the summary table of the recorded metrics ends the page and the title is the notebook's."""

from __future__ import annotations

import json

import nbformat
import pytest

from tests.browser.test_lab import EXPLORERS, PARAMS
from toolkit.report.html import notebook_title, render_html, widget_manager_js

SUMMARY_ROWS = """() => {
  const h = [...document.querySelectorAll('h2')].find(e => e.textContent.startsWith('Recorded metrics'));
  let t = h && h.nextElementSibling;
  while (t && t.tagName !== 'TABLE') t = t.nextElementSibling;
  return t ? t.querySelectorAll('tbody tr').length : -1;
}"""
EMPTY_BOXES = """() => [...document.querySelectorAll('.jupyter-widgets.jp-OutputArea-output')]
  .filter(box => box.getBoundingClientRect().height < 30).length"""


def _open_offline(context, path):
    page = context.new_page()
    seen = {"blocked": [], "failed": [], "errors": []}

    def only_the_file(route):
        if route.request.url.startswith(("file:", "data:")):
            route.continue_()
        else:
            seen["blocked"].append(route.request.url)
            route.abort()

    page.route("**/*", only_the_file)
    page.on("requestfailed", lambda r: seen["failed"].append(r.url))
    page.on("console", lambda m: seen["errors"].append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: seen["errors"].append(str(e)))
    page.goto(path.as_uri(), wait_until="load")
    return page, seen


@pytest.mark.parametrize("name", sorted(PARAMS))
def test_report_renders_completely_offline(notebook_run, browser_context, name, tmp_path):
    run = notebook_run(f"{name}.ipynb", PARAMS[name])
    nb = nbformat.read(str(run.notebook), as_version=4)
    reports = {"as written": run.html}
    if name in EXPLORERS:
        assert nb.metadata.get("widgets"), "the executed notebook keeps its widgets' state"
        static = tmp_path / f"{name}-static.html"
        static.write_text(render_html(nb, title=notebook_title(nb, name), widgets="static"), encoding="utf-8")
        reports["static views"] = static
    for kind, path in reports.items():
        page, seen = _open_offline(browser_context, path)
        try:
            assert page.title() == notebook_title(nb, name) != "Notebook"
            if name in EXPLORERS:
                cell = page.locator(".jp-CodeCell", has_text=EXPLORERS[name][0]).first
                if kind == "as written" and widget_manager_js() is not None:  # live, from the embedded state
                    cell.locator(".widget-output img").first.wait_for(timeout=60_000)
                    assert cell.locator(".widget-vbox select, .widget-vbox .noUi-handle").count() >= 1
                else:  # the controls' settings as text and the output area's figure
                    assert cell.locator(".toolkit-controls").count() == 1 and cell.locator("img").count() >= 1
            page.wait_for_function(f"() => ({EMPTY_BOXES})() === 0", timeout=60_000)
            text = page.locator("body").inner_text()
            assert "Error rendering Jupyter widget" not in text and "Error displaying widget" not in text
            assert "application/vnd.toolkit.record+json" not in page.content()
            if kind == "as written":
                assert page.locator("h2").last.inner_text().startswith("Recorded metrics")  # the summary ends it
                assert page.evaluate(SUMMARY_ROWS) == len(run.records)
            assert seen == {"blocked": [], "failed": [], "errors": []}, (kind, json.dumps(seen)[:2000])
        finally:
            page.close()
