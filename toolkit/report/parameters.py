"""The parameters a notebook declares, and injected values checked against them.

A curated notebook declares its parameters in the cell tagged ``parameters`` as literal
assignments (``SCALE = 1.0``); the default's type is the parameter's type. An injected value
must have it: a float parameter takes an int or a float (never a bool), an int parameter a
whole number (``365.0`` becomes ``365``), a list parameter a list or tuple, a str parameter a
str; a parameter whose default is ``None`` or not a literal takes anything. A name the cell
does not declare is refused with the declared names listed. So
``toolkit run notebooks/00_quickstart.ipynb -p SCALE=small`` stops before any kernel starts
with one line naming ``SCALE``, instead of failing deep inside the notebook.

Examples
--------
>>> check_value("SCALE", 0.2, 1.0), check_value("N_DAYS", 365.0, 730)
(0.2, 365)
"""

from __future__ import annotations

import ast
import numbers
from pathlib import Path
from typing import Any, Mapping

from toolkit.errors import DataValidationError

__all__ = ["notebook_parameters", "check_value", "check_parameters", "check_parameter_names", "inject_parameters"]

_NO_LITERAL = object()


def _declared(nb: Any) -> dict[str, tuple[Any, str]]:
    """``{name: (literal default or _NO_LITERAL, source text)}`` of the cell tagged ``parameters``."""
    cell = next((c for c in nb.cells if "parameters" in c.get("metadata", {}).get("tags", [])), None)
    if cell is None:
        return {}
    try:
        tree = ast.parse(cell.source)
    except SyntaxError:
        return {}
    declared: dict[str, tuple[Any, str]] = {}
    for node in tree.body:
        target = node.targets[0] if isinstance(node, ast.Assign) and len(node.targets) == 1 else \
            node.target if isinstance(node, ast.AnnAssign) else None
        if not isinstance(target, ast.Name) or node.value is None:
            continue
        text = ast.get_source_segment(cell.source, node.value) or ""
        try:
            declared[target.id] = (ast.literal_eval(node.value), text)
        except (ValueError, SyntaxError, TypeError):
            declared[target.id] = (_NO_LITERAL, text)
    return declared


def notebook_parameters(nb: Any) -> dict[str, Any]:
    """``{name: default}`` of the cell tagged ``parameters`` (a non-literal default is kept as source text).

    Parameters
    ----------
    nb : nbformat.NotebookNode

    Examples
    --------
    >>> import nbformat
    >>> cell = nbformat.v4.new_code_cell("SEED = 7  # the seed\\nNAMES = ['a']\\nWHEN = today()")
    >>> cell.metadata["tags"] = ["parameters"]
    >>> nb = nbformat.v4.new_notebook(cells=[cell])
    >>> notebook_parameters(nb)
    {'SEED': 7, 'NAMES': ['a'], 'WHEN': 'today()'}
    """
    return {name: text if value is _NO_LITERAL else value for name, (value, text) in _declared(nb).items()}


def check_value(name: str, value: Any, default: Any) -> Any:
    """``value`` for the parameter ``name`` whose default is ``default``, or a DataValidationError naming it."""
    def refuse(kind: str) -> DataValidationError:
        return DataValidationError.for_parameter(name, f"expected {kind} (the notebook's default is {default!r})",
                                                 value)

    if default is None or default is _NO_LITERAL:
        return value
    if isinstance(default, bool):
        if not isinstance(value, bool):
            raise refuse("True or False")
        return value
    if isinstance(default, int):
        if isinstance(value, bool) or not isinstance(value, numbers.Real) or value != int(value):
            raise refuse("a whole number")
        return int(value)
    if isinstance(default, float):
        if isinstance(value, bool) or not isinstance(value, numbers.Real):
            raise refuse("a number")
        return value
    if isinstance(default, (list, tuple)):
        if not isinstance(value, (list, tuple)):
            raise refuse("a list")
        return value
    if isinstance(default, dict):
        if not isinstance(value, Mapping):
            raise refuse("a dict")
        return value
    if isinstance(default, str) and not isinstance(value, str):
        raise refuse("a string")
    return value


def check_parameter_names(parameters: Any) -> dict[str, Any]:
    """``parameters`` as a dict keyed by Python names (None -> {}), or DataValidationError naming ``parameters``."""
    if parameters is None:
        return {}
    if not isinstance(parameters, Mapping):
        raise DataValidationError.for_parameter("parameters", "expected a dict of NAME: value",
                                                type(parameters).__name__)
    bad = [k for k in parameters if not (isinstance(k, str) and k.isidentifier())]
    if bad:
        raise DataValidationError.for_parameter("parameters", "names must be Python identifiers", bad[0])
    return dict(parameters)


def check_parameters(nb: Any, parameters: Mapping[str, Any], notebook: str | Path = "the notebook") -> dict[str, Any]:
    """Injected ``parameters`` checked against the notebook's parameters cell (see the module docstring).

    Returns
    -------
    dict
        The values to inject (whole-number floats of int parameters converted).

    Raises
    ------
    DataValidationError
        A name the parameters cell does not declare (the declared ones are listed), or a value
        of another type than the default's, naming the parameter.

    Examples
    --------
    >>> import nbformat
    >>> cell = nbformat.v4.new_code_cell("SCALE = 1.0")
    >>> cell.metadata["tags"] = ["parameters"]
    >>> check_parameters(nbformat.v4.new_notebook(cells=[cell]), {"SCALE": "small"})
    Traceback (most recent call last):
    ...
    toolkit.errors.DataValidationError: parameter 'SCALE': expected a number (the notebook's default is 1.0), got 'small'
    """
    declared = _declared(nb)
    checked = {}
    for name, value in parameters.items():
        if name not in declared:
            raise DataValidationError.for_parameter(name, f"not a parameter of {notebook}", value,
                                                    choices=sorted(declared))
        checked[name] = check_value(name, value, declared[name][0])
    return checked


def inject_parameters(nb: Any, parameters: Mapping[str, Any]) -> Any:
    """A copy of ``nb`` with a cell tagged ``injected-parameters`` assigning ``parameters`` after the parameters cell.

    As papermill does: a previously injected cell is replaced; without a parameters cell the
    assignments go first. Values are written as Python literals (``repr``).

    Examples
    --------
    >>> import nbformat
    >>> cell = nbformat.v4.new_code_cell("SCALE = 1.0")
    >>> cell.metadata["tags"] = ["parameters"]
    >>> inject_parameters(nbformat.v4.new_notebook(cells=[cell]), {"SCALE": 0.1}).cells[1].source
    '# Parameters\\nSCALE = 0.1'
    """
    import copy

    import nbformat

    shown = copy.deepcopy(nb)
    cells = [c for c in shown.cells if "injected-parameters" not in c.get("metadata", {}).get("tags", [])]
    source = "\n".join(["# Parameters", *(f"{name} = {value!r}" for name, value in parameters.items())])
    injected = nbformat.v4.new_code_cell(source, metadata={"tags": ["injected-parameters"]})
    at = next((i + 1 for i, c in enumerate(cells) if "parameters" in c.get("metadata", {}).get("tags", [])), 0)
    shown.cells = [*cells[:at], injected, *cells[at:]]
    return shown
