"""``coerce_types``: parse columns into a schema's dtypes, reporting what cannot be parsed.

Numbers are read from text with whitespace stripped and commas as thousands separators;
dates as ISO 8601 first, then, for what ISO 8601 could not read, with pandas' per-element
``format="mixed"`` parser on the host (``dayfirst`` applies there); time-zone-aware values
become naive UTC. Booleans are read from ``true/false``, ``1/0``, ``yes/no``, ``y/n``,
``t/f`` (any case). A value that cannot be parsed becomes missing and is counted as
``unparseable`` (with a few examples among the violations), or raises with
``errors="raise"``. Rows are never dropped. Integer targets stay integer only when every
value parsed and is integral (float64 otherwise); a boolean column with unparsed values uses
pandas' nullable ``boolean`` dtype. The text ``"inf"`` parses as infinity (a float):
:func:`~toolkit.cleanse.validate` then decides whether the column may hold it.

Examples
--------
>>> import pandas as pd
>>> from toolkit.cleanse import coerce_types, Schema, Column
>>> coerce_types(pd.DataFrame({"q": ["1", " 2,500", "x"]}), Schema("t", {"q": Column("float")}))["q"].tolist()
[1.0, 2500.0, nan]
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from toolkit import backend
from toolkit.cleanse.report import CleanReport, StepCounts, check_report
from toolkit.cleanse.runner import run_steps
from toolkit.cleanse.schemas import Schema, dtype_kind, dtype_matches, resolve_schema, target_dtype
from toolkit.cleanse.steps import Step
from toolkit.errors import DataValidationError
from toolkit.panel import check_choice, check_frame, examples, fail, frames

__all__ = ["CoerceStep", "coerce_types"]

_TRUTH = {"true": True, "1": True, "yes": True, "y": True, "t": True,
          "false": False, "0": False, "no": False, "n": False, "f": False}


def _count(xp: Any, mask: Any) -> int:
    return int(xp.sum(xp.astype(mask, xp.int64)))


def _naive_utc(series: Any) -> Any:
    """Datetimes with a time zone converted to UTC and made naive; naive ones unchanged."""
    if getattr(series.dtype, "tz", None) is not None:
        return series.dt.tz_convert("UTC").dt.tz_localize(None)
    return series


class CoerceStep(Step):
    """The step behind :func:`coerce_types`."""

    name = "coerce_types"

    def __init__(self, schema: Schema | str, errors: str, date_format: str | None, dayfirst: bool) -> None:
        self.schema = resolve_schema(schema)
        self.errors = check_choice("errors", errors, ("null", "raise"))
        if date_format is not None and not isinstance(date_format, str):
            raise DataValidationError.for_parameter("date_format", "expected a strftime format string or None",
                                                    date_format)
        if not isinstance(dayfirst, bool):
            raise DataValidationError.for_parameter("dayfirst", "expected True or False", dayfirst)
        self.date_format, self.dayfirst = date_format, dayfirst

    def _parse(self, part: Any, col: str, target: str) -> Any:
        series = part[col]
        kind = dtype_kind(target)
        text = series.astype("str") if dtype_kind(series.dtype) in ("string", "category") else None
        if kind == "datetime":
            return self._dates(part, series if text is None else text)
        lib = frames.ops(part).module
        if kind in ("int", "float") and text is not None:
            return lib.to_numeric(text.str.strip().str.replace(",", "", regex=False), errors="coerce")
        if kind == "bool" and text is not None:
            return text.str.strip().str.lower().map(_TRUTH)
        return series.astype(target) if kind != "int" else series.astype("float64")

    def _dates(self, part: Any, series: Any) -> Any:
        if dtype_kind(series.dtype) == "datetime":
            return _naive_utc(series).astype("datetime64[ns]")
        lib = frames.ops(part).module
        if self.date_format is not None:
            return lib.to_datetime(series, format=self.date_format, errors="coerce").astype("datetime64[ns]")
        parsed = _naive_utc(lib.to_datetime(series, format="ISO8601", errors="coerce", utc=True))
        retry = frames.as_array(parsed.isna() & series.notna(), bool)
        if bool(retry.any()):  # the mixed parser is pandas-only: the unread values go to the host and back
            rows = backend.to_host(retry).nonzero()[0]
            text = backend.to_host(series).iloc[rows]
            second = _naive_utc(pd.to_datetime(text, format="mixed", dayfirst=self.dayfirst, errors="coerce",
                                               utc=True))
            merged = backend.to_host(parsed).astype("datetime64[ns]").to_numpy(copy=True)
            merged[rows] = second.astype("datetime64[ns]").to_numpy()
            parsed = frames.from_host(part, pd.Series(merged, index=backend.to_host(series.index)))
        return parsed.astype("datetime64[ns]")

    def apply(self, part: Any, stats: Any = None) -> tuple[Any, StepCounts]:
        counts = StepCounts.start(len(part))
        xp = frames.namespace(part)
        out = {}
        for col, rule in self.schema.columns.items():
            if col not in part.columns or dtype_matches(part[col].dtype, rule.dtype):
                continue
            target = target_dtype(rule.dtype)
            new = self._parse(part, col, target)
            missing = frames.isna({col: new}, col)
            bad = missing & ~frames.isna(part, col)
            n_bad = _count(xp, bad)
            where = xp.nonzero(bad)[0]
            if n_bad and self.errors == "raise":
                fail(col, f"values that cannot be parsed as {target} (coerce_types)", n_bad,
                     examples(part, where, [col]))
            kind = dtype_kind(target)
            if kind == "int":
                integral = not bool(xp.any(missing)) and bool((new % 1 == 0).all())
                new = new.astype(target if integral else "float64")
            elif kind == "float":
                new = new.astype(target)
            elif kind == "bool":
                new = new.fillna(False).astype("bool")
                if bool(xp.any(missing)):
                    new = frames.mask({col: new}, col, missing)
            out[col] = new
            counts.value("coerced", _count(xp, ~missing))
            counts.value("unparseable", n_bad)
            counts.violation(col, f"parse as {target}", n_bad, examples(part, where, [col]))
        if out:
            part = part.assign(**out)
        return part, counts


def coerce_types(df: Any, schema: Schema | str, errors: str = "null", date_format: str | None = None,
                 dayfirst: bool = False, report: CleanReport | None = None) -> Any:
    """Parse columns into the schema's dtypes: numbers from strings, dates, categories, booleans.

    Parameters
    ----------
    df : pandas, cuDF or Dask DataFrame
    schema : Schema or str
        Target dtypes; columns absent from ``df`` or already of the right kind are left alone.
    errors : {"null", "raise"}, default "null"
        Values that cannot be parsed become missing and are counted (``unparseable``);
        ``"raise"`` raises :class:`~toolkit.errors.DataValidationError` naming the column instead.
    date_format : str, optional
        An explicit ``strftime`` format (otherwise ISO 8601, then the mixed parser).
    dayfirst : bool, default False
        For the mixed parser: read ``01/02/2024`` as 1 February.
    report : CleanReport, optional

    Returns
    -------
    frame
        Same rows, same order; see the module docstring for the dtypes produced.

    Examples
    --------
    >>> import pandas as pd
    >>> from toolkit.cleanse import coerce_types, Schema, Column
    >>> out = coerce_types(pd.DataFrame({"q": ["1", " 2", "x"]}), Schema("t", {"q": Column("float")}))
    >>> out["q"].tolist()
    [1.0, 2.0, nan]
    """
    check_frame(df)
    check_report(report)
    return run_steps(df, [CoerceStep(schema, errors, date_format, dayfirst)], report)
