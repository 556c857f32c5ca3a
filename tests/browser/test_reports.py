"""Each curated notebook's HTML report, opened from disk with the network blocked: it makes no request
but to the file itself (and data URIs), logs no error, every widget box renders with its figure, the
records are invisible, the summary table ends the page and the title is the notebook's."""

from __future__ import annotations

import json

import nbformat
import pytest

from tests.browser.test_lab import EXPLORERS, PARAMS
from toolkit.report.html import notebook_title

SUMMARY_ROWS = """() => {
  const h = [...document.querySelectorAll('h2')].find(e => e.textContent.startsWith('Recorded metrics'));
  let t = h && h.nextElementSibling;
  while (t && t.tagName !== 'TABLE') t = t.nextElementSibling;
  return t ? t.querySelectorAll('tbody tr').length : -1;
}"""
EMPTY_BOXES = """() => [...document.querySelectorAll('.jupyter-widgets.jp-OutputArea-output')]
  .filter(box => box.getBoundingClientRect().height < 30).length"""


@pytest.mark.parametrize("name", sorted(PARAMS))
def test_report_renders_completely_offline(notebook_run, browser_context, name):
    run = notebook_run(f"{name}.ipynb", PARAMS[name])
    page = browser_context.new_page()
    blocked, failed, errors = [], [], []

    def only_the_file(route):
        url = route.request.url
        if url.startswith(("file:", "data:")):
            route.continue_()
        else:
            blocked.append(url)
            route.abort()

    page.route("**/*", only_the_file)
    page.on("requestfailed", lambda r: failed.append(r.url))
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    try:
        page.goto(run.html.as_uri(), wait_until="load")
        nb = nbformat.read(str(run.notebook), as_version=4)
        assert page.title() == notebook_title(nb, name) and page.title() != "Notebook"
        if name in EXPLORERS:
            # the explorer's output area draws its last figure (live widgets or their static view)
            page.wait_for_selector(".widget-output img, .jp-OutputArea-output img", timeout=60_000)
            page.wait_for_function(f"() => ({EMPTY_BOXES})() === 0", timeout=60_000)
            views = nb.metadata.get("widgets", {})
            assert views, "the executed notebook keeps its widgets' state"
            assert page.locator(".widget-output img").count() >= 1
        text = page.locator("body").inner_text()
        assert "Error rendering Jupyter widget" not in text and "Error displaying widget" not in text
        assert "application/vnd.toolkit.record+json" not in page.content()
        assert page.locator("h2").last.inner_text().startswith("Recorded metrics")  # the summary ends the report
        assert page.evaluate(SUMMARY_ROWS) == len(run.records)
        assert blocked == [] and failed == [], json.dumps({"blocked": blocked, "failed": failed})[:2000]
        assert errors == [], json.dumps(errors)[:2000]
    finally:
        page.close()
