"""The structure ARCHITECTURE.md promises: floors kept, no import cycle, no private names across modules."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "toolkit"
MAX_LINES = 800


def _modules() -> dict[str, Path]:
    out = {}
    for path in PACKAGE.rglob("*.py"):
        parts = path.relative_to(ROOT).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        out[name] = path
    return out


def _imports(path: Path, name: str) -> list[tuple[str, list[str]]]:
    """(imported module, names taken from it) for every toolkit import of a module, lazy ones included."""
    tree = ast.parse(path.read_text())
    package = name if path.name == "__init__.py" else name.rsplit(".", 1)[0]
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
                module = f"{base}.{node.module}" if node.module else base
            else:
                module = node.module or ""
            if module.split(".")[0] == "toolkit":
                found.append((module, [a.name for a in node.names]))
        elif isinstance(node, ast.Import):
            found += [(a.name, []) for a in node.names if a.name.split(".")[0] == "toolkit"]
    return found


def test_import_linter_contract_is_kept():
    """The floors declared in pyproject.toml ([tool.importlinter]) and drawn in ARCHITECTURE.md."""
    code = "import sys; from importlinter.cli import lint_imports; sys.exit(lint_imports(no_cache=True, no_logo=True))"
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-2000:]
    assert "broken" in result.stdout and "0 broken" in result.stdout


def test_no_module_imports_another_units_private_names():
    offenders = []
    for name, path in _modules().items():
        for module, names in _imports(path, name):
            private = [n for n in names if n.startswith("_") and not n.startswith("__")]
            if private and module != name:
                offenders.append(f"{name} imports {private} from {module}")
    assert not offenders, "\n".join(offenders)


def test_no_import_cycle_between_modules():
    modules = _modules()
    graph: dict[str, set[str]] = {}
    for name, path in modules.items():
        deps = set()
        for module, names in _imports(path, name):
            for target in [f"{module}.{n}" for n in names] + [module]:
                if target in modules and target != name:
                    deps.add(target)
                    break
        graph[name] = deps
    # a package's __init__ re-exporting its submodules is not a cycle of logic
    for name in graph:
        graph[name] = {d for d in graph[name] if not (name.startswith(d + ".") and d in modules)}
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        stack.append(node)
        for dep in sorted(graph[node]):
            if state.get(dep) == 1:
                return stack[stack.index(dep):] + [dep]
            if dep not in state:
                cycle = visit(dep)
                if cycle:
                    return cycle
        stack.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state:
            cycle = visit(node)
            assert cycle is None, " -> ".join(cycle)


@pytest.mark.parametrize("name", sorted(_modules()))
def test_no_module_is_over_the_size_limit(name):
    lines = len(_modules()[name].read_text().splitlines())
    assert lines <= MAX_LINES, f"{name} has {lines} lines (limit ~{MAX_LINES}): split it by concern"


def _architecture_examples() -> list[str]:
    text = (ROOT / "ARCHITECTURE.md").read_text()
    blocks = text.split("```python\n")[1:]
    return [block.split("```", 1)[0] for block in blocks]


def test_architecture_examples_run_as_written():
    """The feature, detector, model and decision-helper examples of ARCHITECTURE.md work."""
    import numpy as np
    import pandas as pd

    from toolkit import panel
    from toolkit.anomaly import DetectorInfo, RobustZ, detect, register
    from toolkit.anomaly.registry import unregister
    from toolkit.anomaly.rules import robust_z
    from toolkit.backend import array_namespace
    from toolkit.decisions.checks import require_non_negative
    from toolkit.decisions.inventory import INVENTORY_ID_COLS
    from toolkit.features import FeatureSpec
    from toolkit.features.inputs import column_values, layout_rows, positive_ints, run_per_series
    from toolkit.forecast import Forecaster
    from toolkit.kernels.windows import rolling_kernel
    from toolkit.panel import DEFAULT_ID_COLS
    from toolkit.regress.models import MODELS, ModelInfo, make_model

    examples = _architecture_examples()
    assert len(examples) >= 4
    rng = np.random.default_rng(0)
    df = pd.DataFrame({"sku": np.repeat(["a", "b"], 50), "location": "web",
                       "date": np.tile(pd.date_range("2024-01-01", periods=50), 2),
                       "units": rng.normal(10, 1, 100)})
    df.loc[7, "units"] = 40.0
    namespace = dict(locals())
    try:
        for code in examples[:4]:
            exec(compile(code, "ARCHITECTURE.md", "exec"), namespace)
        ranged = namespace["add_rolling_range"](df, 2)
        assert ranged["rolling_range_2"].iloc[2] == abs(df["units"].iloc[1] - df["units"].iloc[0])
        flagged = detect(df, "units", method="mad_z", id_cols="sku")
        assert flagged.index[flagged["is_anomaly"]].tolist() == [7]
        positions = pd.DataFrame({"sku": ["a", "b"], "warehouse": "w1", "on_hand": [3.0, 9.0],
                                  "on_order": 0.0, "reorder_point": 5.0, "order_up_to": 12.0})
        assert namespace["reorder_plan"](positions)["order_quantity"].tolist() == [9.0, 0.0]
    finally:
        MODELS.pop("extra_trees", None)
        unregister("mad_z")
