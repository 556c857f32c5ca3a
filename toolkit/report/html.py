"""HTML reports that read completely offline: widgets embedded, no CDN, the notebook's title.

nbconvert's lab template loads require.js, MathJax and the Jupyter widgets manager
(``embed-amd.js`` at an unpinned version) from public CDNs; offline, a report's explorers are
empty boxes. :func:`render_html` renders with the same template minus those scripts, and:

* **widgets** -- the executed notebook keeps the widgets' state (``metadata.widgets``). When the
  widgets' HTML manager is installed (``make install`` unpacks ``@jupyter-widgets/html-manager``
  at the version matching the ipywidgets we pin into ``build/html-manager``; another place can
  be given by ``TOOLKIT_WIDGET_MANAGER``), its standalone bundle is inlined, its font files as
  data URIs, and the live widgets render from the embedded state. Otherwise each widget is
  replaced by its last rendered view: its controls' settings as a line of text and the output
  area's figures and tables.
* **math** is left as text (no MathJax), **title** is the notebook's first heading,
  ``record()`` outputs are dropped (they render as nothing anyway), cells tagged
  ``hide-input`` show their output only, a provenance header opens the report and the recorded
  metrics' summary table ends it.

Examples
--------
>>> import nbformat
>>> nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell("# 02 · Warehouse *inventory*\\ntext")])
>>> notebook_title(nb, "fallback")
'02 · Warehouse inventory'
"""

from __future__ import annotations

import base64
import copy
import os
import re
from pathlib import Path
from typing import Any

from toolkit.errors import DataValidationError
from toolkit.report.records import RECORD_MIME

__all__ = ["WIDGET_STATE_MIME", "WIDGET_VIEW_MIME", "notebook_title", "widget_manager_js", "static_widget_views",
           "render_html"]

WIDGET_STATE_MIME = "application/vnd.jupyter.widget-state+json"
WIDGET_VIEW_MIME = "application/vnd.jupyter.widget-view+json"
MANAGER_ENV = "TOOLKIT_WIDGET_MANAGER"
_FONT_TYPES = {"woff2": "font/woff2", "woff": "font/woff", "ttf": "font/ttf", "eot": "application/vnd.ms-fontobject",
               "svg": "image/svg+xml"}
_TEMPLATE = """{%- extends 'index.html.j2' -%}
{%- block html_head_js_requirejs -%}{%- endblock html_head_js_requirejs -%}
{%- block jupyter_widgets -%}
{%- if "widgets" in nb.metadata and resources.toolkit_widget_js -%}
<script>{{ resources.toolkit_widget_js }}</script>
{%- endif -%}
{%- endblock jupyter_widgets -%}
{%- block html_head_js_mathjax -%}{%- endblock html_head_js_mathjax -%}
{%- block html_head_js_mermaidjs -%}{%- endblock html_head_js_mermaidjs -%}
"""


def notebook_title(nb: Any, fallback: str) -> str:
    """The text of the notebook's first Markdown heading (emphasis and code marks removed), else ``fallback``."""
    for cell in nb.cells:
        if cell.cell_type != "markdown":
            continue
        for line in cell.source.splitlines():
            match = re.match(r"^#{1,6}\s+(.+?)\s*#*\s*$", line)
            if match:
                return re.sub(r"[*_`]", "", match.group(1)).strip()
    return fallback


def _manager_dir() -> Path:
    configured = os.environ.get(MANAGER_ENV)
    if configured:
        return Path(configured)
    return Path(__file__).resolve().parents[2] / "build" / "html-manager" / "package" / "dist"


def widget_manager_js() -> str | None:
    """The standalone widgets manager bundle, ready to inline (fonts as data URIs), or None if not installed.

    Looks in ``$TOOLKIT_WIDGET_MANAGER`` (the ``dist`` folder of ``@jupyter-widgets/html-manager``),
    else in ``build/html-manager/package/dist`` of the source tree (where ``make install`` unpacks it).
    """
    folder = _manager_dir()
    bundle = folder / "embed.js"
    if not bundle.is_file():
        return None
    text = bundle.read_text(encoding="utf-8")

    def as_data_uri(match: re.Match) -> str:
        name, kind = match.group(2), match.group(3)
        asset = folder / name
        if kind != "woff2" or not asset.is_file():  # browsers take the woff2 source; the others are never fetched
            return '"data:,"'
        return f'"data:{_FONT_TYPES[kind]};base64,{base64.b64encode(asset.read_bytes()).decode("ascii")}"'

    text = re.sub(r'\b([A-Za-z_$][\w$]*)\.p\+"([0-9a-f]{20}\.(woff2|woff|ttf|eot|svg))"', as_data_uri, text)
    # webpack finds its public path from the <script src> that loaded it and throws for an inline script:
    # the page's own address will do, every asset it would fetch is inlined above
    text = re.sub(r'if\(!([A-Za-z_$][\w$]*)\)throw new Error\("Automatic publicPath is not supported in this browser"\);',
                  r"if(!\1)\1=document.baseURI;", text)
    return text.replace("</script", "<\\/script")


def _control_text(model: dict) -> str | None:
    """A control's description and current value as HTML (None for a model that is not a control)."""
    state = model.get("state", {})
    if "_options_labels" in state:  # selection widgets sync the index, not the value
        index = state.get("index")
        value = state["_options_labels"][index] if isinstance(index, int) else ""
    elif "value" in state and model.get("model_name") != "OutputModel":
        value = f"{state['value']:.4g}" if isinstance(state["value"], float) else state["value"]
    else:
        return None
    return f"<b>{state.get('description') or ''}</b> {value}"


def static_widget_views(nb: Any) -> Any:
    """A copy of ``nb`` where each widget output is its last rendered view (controls' settings, outputs).

    The widget state is dropped from the copy: nothing is left for a widgets manager to render.
    """
    import nbformat

    shown = copy.deepcopy(nb)
    models = shown.metadata.pop("widgets", {}).get(WIDGET_STATE_MIME, {}).get("state", {})

    def collect(model_id: str, controls: list[str], outputs: list) -> None:
        model = models.get(model_id)
        if model is None:
            return
        state = model.get("state", {})
        if model.get("model_name") == "OutputModel":
            outputs.extend(state.get("outputs", []))
            return
        text = _control_text(model)
        if text is not None:
            controls.append(text)
        for child in state.get("children", []):
            collect(str(child).removeprefix("IPY_MODEL_"), controls, outputs)

    for cell in shown.cells:
        replaced = []
        for output in cell.get("outputs", []):
            view = output.get("data", {}).get(WIDGET_VIEW_MIME)
            if view is None:
                replaced.append(output)
                continue
            controls: list[str] = []
            outputs: list = []
            collect(view.get("model_id", ""), controls, outputs)
            if controls:
                line = " &middot; ".join(controls)
                replaced.append(nbformat.v4.new_output(
                    "display_data", data={"text/html": f'<p class="toolkit-controls">{line}</p>',
                                          "text/plain": re.sub("<[^>]+>", "", line)}))
            replaced.extend(nbformat.from_dict(o) for o in outputs)
        cell["outputs"] = replaced
    return shown


def render_html(nb: Any, *, title: str, header_markdown: str = "", footer_markdown: str = "",
                widgets: str = "auto") -> str:
    """The HTML report of an executed notebook (see the module docstring).

    Parameters
    ----------
    nb : nbformat.NotebookNode
        Executed; not modified.
    title : str
        The page title.
    header_markdown, footer_markdown : str
        Markdown cells put first and last (skipped when empty).
    widgets : {"auto", "live", "static"}
        ``live`` embeds the widgets manager (it must be installed), ``static`` their last
        views, ``auto`` live when the manager is installed.

    Returns
    -------
    str
    """
    import jinja2
    import nbformat
    from nbconvert import HTMLExporter
    from nbconvert.preprocessors import TagRemovePreprocessor

    if widgets not in ("auto", "live", "static"):
        raise DataValidationError.for_parameter("widgets", "unknown choice", widgets, ["auto", "live", "static"])
    manager = None if widgets == "static" else widget_manager_js()
    if widgets == "live" and manager is None:
        raise DataValidationError.for_parameter(
            "widgets", f"the widgets manager is not installed (run make install, or set {MANAGER_ENV})", widgets)
    shown = copy.deepcopy(nb) if manager is not None else static_widget_views(nb)
    for cell in shown.cells:
        if "outputs" in cell:
            cell["outputs"] = [o for o in cell["outputs"] if set(o.get("data", {})) - {RECORD_MIME}
                               or o.get("output_type") not in ("display_data", "execute_result")]
    shown.cells = [*([nbformat.v4.new_markdown_cell(header_markdown)] if header_markdown else []), *shown.cells,
                   *([nbformat.v4.new_markdown_cell(footer_markdown)] if footer_markdown else [])]
    shown.metadata["title"] = title
    exporter = HTMLExporter(template_name="lab", extra_loaders=[jinja2.DictLoader({"toolkit.html.j2": _TEMPLATE})],
                            template_file="toolkit.html.j2")
    exporter.register_preprocessor(TagRemovePreprocessor(remove_input_tags={"hide-input"}), enabled=True)
    body, _ = exporter.from_notebook_node(shown, resources={"toolkit_widget_js": manager or ""})
    return body
