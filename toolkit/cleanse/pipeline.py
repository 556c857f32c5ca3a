"""``clean``: run a declared list of cleaning steps and return the clean frame with its report.

A step is declared as ``"name"``, ``("name", {params})`` -- the name of a cleansing verb and
its keyword arguments (without ``df`` and ``report``) -- or a callable ``frame -> frame``
(alone, or as ``(callable, {"name": label})``), whose change in row count is reported under
its name. Declarations are checked before any work: an unknown name lists the valid ones, an
unknown or missing parameter lists the parameters of that step, and the steps' own
parameter checks run then too.

In memory the steps run in turn, and a failing ``validate`` raises before any later step
runs. On Dask the whole list is one graph, persisted together with the report's counts in
one ``dask.persist`` (see :mod:`toolkit.cleanse.runner`): the data are read and cleaned once,
and a failing ``validate`` raises after that pass, with totals over all partitions.

Examples
--------
>>> import pandas as pd
>>> from toolkit.cleanse import clean
>>> clean(pd.DataFrame({"a": [1]}), ["scrub"])  # doctest: +ELLIPSIS
Traceback (most recent call last):
...
toolkit.errors.DataValidationError: parameter 'steps[0]': unknown value, got 'scrub'; choose from ['validate', ...]
"""

from __future__ import annotations

import functools
import inspect
from typing import Any, Callable, Mapping, Sequence

from toolkit.cleanse.calendar import CalendarStep, complete_calendar
from toolkit.cleanse.coercion import CoerceStep, coerce_types
from toolkit.cleanse.duplicates import DedupeStep, drop_duplicates
from toolkit.cleanse.fill import FillStep, fill_missing
from toolkit.cleanse.outliers import OutlierStep, clip_outliers, flag_outliers
from toolkit.cleanse.privacy import PseudonymizeStep, pseudonymize
from toolkit.cleanse.report import CleanReport
from toolkit.cleanse.runner import run_steps
from toolkit.cleanse.steps import CustomStep, Step
from toolkit.cleanse.validation import ValidateStep, validate
from toolkit.errors import DataValidationError
from toolkit.panel import check_choice, check_frame

__all__ = ["STEPS", "make_step", "clean"]

STEPS: dict[str, tuple[Callable[..., Any], Callable[..., Step]]] = {
    "validate": (validate, ValidateStep),
    "coerce_types": (coerce_types, CoerceStep),
    "drop_duplicates": (drop_duplicates, DedupeStep),
    "complete_calendar": (complete_calendar, CalendarStep),
    "fill_missing": (fill_missing, FillStep),
    "flag_outliers": (flag_outliers, functools.partial(OutlierStep, action="flag")),
    "clip_outliers": (clip_outliers, functools.partial(OutlierStep, action="clip", suffix="")),
    "pseudonymize": (pseudonymize, PseudonymizeStep),
}
"""Step name -> (the public verb whose parameters it takes, the step it builds)."""


def _arguments(name: str, params: Mapping[str, Any], where: str) -> dict:
    """``params`` completed with the verb's defaults; unknown or missing parameters refused."""
    verb, _ = STEPS[name]
    signature = inspect.signature(verb)
    allowed = [p for p in signature.parameters if p not in ("df", "report")]
    for key in params:
        if key not in allowed:
            raise DataValidationError.for_parameter(where, f"unknown parameter of step {name!r}", key, allowed)
    args = {p: signature.parameters[p].default for p in allowed}
    args.update(params)
    missing = [p for p, v in args.items() if v is inspect.Parameter.empty]
    if missing:
        raise DataValidationError.for_parameter(where, f"step {name!r} needs parameter {missing[0]!r}",
                                                dict(params), allowed)
    return args


def make_step(spec: Any, where: str = "steps[0]") -> Step:
    """The :class:`~toolkit.cleanse.steps.Step` of one declaration (see the module docstring)."""
    if callable(spec) and not isinstance(spec, (str, tuple, list)):
        return CustomStep(spec)
    if isinstance(spec, str):
        name, params = spec, {}
    elif isinstance(spec, (tuple, list)) and len(spec) in (1, 2):
        name, params = spec[0], spec[1] if len(spec) == 2 else {}
        if not isinstance(params, Mapping):
            raise DataValidationError.for_parameter(where, "the parameters of a step must be a dict", params)
    else:
        raise DataValidationError.for_parameter(where, "expected 'name', ('name', {params}) or a callable", spec)
    if callable(name):
        label = params.get("name")
        if label is not None and not isinstance(label, str):
            raise DataValidationError.for_parameter(where, "the name of a custom step must be a string", label)
        return CustomStep(name, label)
    if not isinstance(name, str):
        raise DataValidationError.for_parameter(where, "a step name must be a string", name, list(STEPS))
    name = check_choice(where, name, list(STEPS))
    _, build = STEPS[name]
    return build(**_arguments(name, params, where))


def clean(df: Any, steps: Sequence[Any]) -> tuple[Any, CleanReport]:
    """Run a declared list of cleaning steps; return the clean frame and its :class:`CleanReport`.

    Parameters
    ----------
    df : pandas, cuDF or Dask DataFrame
    steps : list
        Each item is ``"name"``, ``("name", {params})`` with a name among ``validate``,
        ``coerce_types``, ``drop_duplicates``, ``complete_calendar``, ``fill_missing``,
        ``flag_outliers``, ``clip_outliers``, ``pseudonymize`` (params as in those functions),
        or a callable ``frame -> frame`` (on Dask it runs per partition).

    Returns
    -------
    clean_df : frame
        Same kind as ``df``. A Dask input gives a *persisted* Dask frame: the data were read and
        cleaned once, together with the report's counts.
    report : CleanReport
        Per step: rows in and out, rows dropped and inserted per reason, values changed,
        rule violations; rows in = rows out + dropped - inserted for every step.

    Raises
    ------
    DataValidationError
        ``df`` is not a frame; ``steps`` is not a list of declarations; an unknown step or
        parameter; from a ``validate`` step (in memory: before any later step runs; Dask:
        after the one pass, with totals over all partitions), or from a step's own checks.

    Examples
    --------
    >>> import pandas as pd
    >>> from toolkit.cleanse import clean
    >>> df = pd.DataFrame({"sku": ["a", "a", "a"], "location": "web", "units": [1.0, 1.0, 9.0],
    ...                    "date": pd.to_datetime(["2024-01-01", "2024-01-01", "2024-01-02"])})
    >>> out, report = clean(df, ["drop_duplicates"])
    >>> print(report)  # doctest: +NORMALIZE_WHITESPACE
     #  step                   rows in    rows out   dropped  inserted  details
    ---------------------------------------------------------------------------
     1  drop_duplicates              3           2         1         0  dropped duplicate: 1
    """
    check_frame(df)
    if isinstance(steps, (str, bytes, Mapping)) or not isinstance(steps, Sequence):
        raise DataValidationError.for_parameter("steps", "expected a list of step declarations",
                                                type(steps).__name__)
    plan = [make_step(spec, f"steps[{i}]") for i, spec in enumerate(steps)]
    report = CleanReport()
    out, _ = run_steps(df, plan, report, persist=True)
    return out, report
