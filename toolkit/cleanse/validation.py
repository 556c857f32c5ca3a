"""``validate``: check a frame against a :class:`~toolkit.cleanse.schemas.Schema`; raise, drop or null what breaks it.

Rules are checked per column in schema order, and within a column in this order: safe cast
(when the dtype differs and the column allows ``coerce``), not null, finite (float columns),
``>= min``, ``<= max``; then the unique key over the rows that remain.

What happens to a row breaking a value rule (not null, finite, min, max) depends on ``errors``:

* ``"raise"``: :class:`~toolkit.errors.DataValidationError` naming every broken rule with its
  column, count and a few keys (values of ``schema.unique``, or row numbers);
* ``"drop"``: the row is dropped;
* ``"null"``: the offending value is set missing when its column is nullable (counted as
  ``nulled``; integer and boolean columns keep their kind through pandas' nullable dtypes).
  A value in a non-nullable column cannot be nulled without breaking the schema, so its row
  is dropped, as are rows already missing a non-nullable value: the output satisfies the
  schema. To keep such rows and fill them later, validate against
  ``schema.allow_missing("units")`` instead.

Counting convention: a dropped row counts once in ``dropped``, under the first rule it breaks
in the order above (so ``rows_in == rows_out + sum(dropped)``), and every rule lists all the
rows that break it in ``violations`` (a row breaking two rules appears under both). Values
nulled are counted only in rows that are kept. Missing columns, dtypes without a safe cast,
unsafe casts and repeated unique keys always raise, whatever ``errors`` says.

Non-finite values: ``+-inf`` in a float column breaks the ``finite`` rule (unless the column
has ``finite=False``) and is handled like any other value rule.

Examples
--------
>>> import pandas as pd
>>> from toolkit.cleanse import validate, Schema, Column, CleanReport
>>> schema = Schema("t", {"qty": Column("int", min=0, nullable=False), "price": Column("float", min=0)})
>>> report = CleanReport()
>>> validate(pd.DataFrame({"qty": [1, -2, 3], "price": [1.0, -1.0, -5.0]}), schema, "null", report)
   qty  price
0    1    1.0
2    3    NaN
>>> report.steps[0]["dropped"], report.steps[0]["values"]
({'qty >= 0': 1}, {'nulled': 1})
"""

from __future__ import annotations

from typing import Any

from toolkit.cleanse.report import CleanReport, StepCounts, check_report
from toolkit.cleanse.runner import run_steps
from toolkit.cleanse.schemas import Schema, castable, dtype_kind, dtype_matches, resolve_schema, safe_cast, target_dtype
from toolkit.cleanse.steps import Step
from toolkit.errors import DataValidationError
from toolkit.panel import check_choice, check_frame, examples, fail, frames, require_columns

__all__ = ["ERRORS", "ValidateStep", "validate", "raise_violations"]

ERRORS = ("raise", "drop", "null")
UNIQUE_RULE = "unique key"


def _count(xp: Any, mask: Any) -> int:
    return int(xp.sum(xp.astype(mask, xp.int64)))


def _shown(found: list) -> list:
    """Examples of single-column keys shown as values rather than one-element tuples."""
    return [e[0] if isinstance(e, tuple) and len(e) == 1 else e for e in found]


def raise_violations(schema: Schema, violations: list) -> None:
    """Raise one :class:`DataValidationError` naming every violation (nothing when there is none)."""
    if not violations:
        return
    lines = [f"column {v.column!r}: {v.count} rows break rule '{v.rule}' (schema {schema.name!r}); "
             f"keys: {v.examples}" for v in violations]
    raise DataValidationError("; ".join(lines), column=violations[0].column)


class ValidateStep(Step):
    """The step behind :func:`validate` (see the module docstring)."""

    name = "validate"

    def __init__(self, schema: Schema | str, errors: str) -> None:
        self.schema = resolve_schema(schema)
        self.errors = check_choice("errors", errors, ERRORS)
        self.colocate = list(self.schema.unique) if self.schema.unique else None

    def check(self, frame: Any) -> None:
        s = self.schema
        require_columns(frame, [c for c, rule in s.columns.items() if rule.required], f"by schema {s.name!r}")
        for col, rule in s.columns.items():
            if col not in frame.columns:
                continue
            dtype = frame[col].dtype
            if not dtype_matches(dtype, rule.dtype) and not (rule.coerce and castable(dtype, rule.dtype)):
                reason = "no safe cast exists" if rule.coerce else "the schema allows no cast (coerce=False)"
                fail(col, f"dtype {dtype} does not match {rule.dtype!r} (schema {s.name!r}: {reason}); "
                          "convert it first (toolkit.cleanse.coerce_types)")

    def fatal(self, violations: list) -> list:
        """The violations that raise: all with ``errors="raise"``, else unsafe casts and repeated keys."""
        return [v for v in violations if self.errors == "raise" or v.rule == UNIQUE_RULE
                or v.rule.startswith("safe cast")]

    def _rules(self, view: dict, col: str, rule: Any, xp: Any) -> list:
        """(rule name, mask of offending rows) for the value rules of one (cast) column."""
        found = []
        if not rule.nullable:
            found.append(("not null", frames.isna(view, col)))
        kind = dtype_kind(view[col].dtype)
        if kind in ("int", "float"):
            x = frames.values(view, col)
            if rule.finite and kind == "float":
                found.append(("finite", xp.isinf(x)))
            if rule.min is not None:
                found.append((f">= {rule.min:g}", x < rule.min))
            if rule.max is not None:
                found.append((f"<= {rule.max:g}", x > rule.max))
        return found

    def apply(self, part: Any, stats: Any = None) -> tuple[Any, StepCounts]:
        counts = StepCounts.start(len(part))
        keys = list(self.schema.unique)
        xp = frames.namespace(part)
        dropped = xp.zeros(len(part), dtype=xp.bool)
        casts: dict[str, Any] = {}
        to_null: dict[str, Any] = {}
        for col, rule in self.schema.columns.items():
            if col not in part.columns:
                continue
            found = []
            if not dtype_matches(part[col].dtype, rule.dtype):
                target = target_dtype(rule.dtype)
                casts[col], changed = safe_cast(part, col, target)
                found.append((f"safe cast to {target}", changed))
                counts.value("coerced", _count(xp, ~frames.isna(casts, col)))
            view = {col: casts.get(col, part[col])}
            for rule_name, mask in found + self._rules(view, col, rule, xp):
                n_bad = _count(xp, mask)
                if not n_bad:
                    continue
                counts.violation(col, rule_name, n_bad, _shown(examples(part, xp.nonzero(mask)[0], keys)))
                if self.errors == "raise" or rule_name.startswith("safe cast"):
                    continue
                if self.errors == "null" and rule.nullable:
                    to_null[col] = mask | to_null[col] if col in to_null else mask
                else:
                    counts.drop(f"{col} {rule_name}", _count(xp, mask & ~dropped))
                    dropped = dropped | mask
        for col, mask in to_null.items():
            kept = mask & ~dropped
            casts[col] = frames.mask({col: casts.get(col, part[col])}, col, kept)
            counts.value("nulled", _count(xp, kept))
        if casts:
            part = part.assign(**casts)
        if bool(xp.any(dropped)):
            part = frames.take(part, xp.nonzero(~dropped)[0])
        if keys and all(k in part.columns for k in keys):
            repeated = frames.as_array(part[keys].duplicated(keep=False), bool)
            counts.violation(", ".join(keys), UNIQUE_RULE, _count(xp, repeated),
                             _shown(examples(part, xp.nonzero(repeated)[0], keys)))
        return part, counts

    def finish(self, counts: StepCounts) -> None:
        raise_violations(self.schema, self.fatal(counts.violations))


def validate(df: Any, schema: Schema | str, errors: str = "raise", report: CleanReport | None = None) -> Any:
    """Check ``df`` against ``schema``; raise, drop or null what breaks it.

    Parameters
    ----------
    df : pandas, cuDF or Dask DataFrame
    schema : Schema or str
        A :class:`~toolkit.cleanse.schemas.Schema`, or the name of a shipped one (``"orders"``,
        see :data:`~toolkit.cleanse.schemas.SCHEMAS`); an unknown name lists the valid ones.
    errors : {"raise", "drop", "null"}, default "raise"
        What to do with rows breaking a value rule (see the module docstring: ``"null"`` drops
        the rows whose offending value is in a non-nullable column).
    report : CleanReport, optional
        Receives the step's counts: rows dropped per first broken rule, values nulled and
        coerced, and every rule's violation count.

    Returns
    -------
    frame
        ``df`` with safe casts applied, offending rows dropped or values nulled; on Dask the
        checks are computed first (one pass), then the lazy result is returned.

    Raises
    ------
    DataValidationError
        ``df`` is not a frame, ``schema`` or ``errors`` is unknown, a required column is
        missing, a dtype has no safe cast; with ``errors="raise"`` any broken rule; always an
        unsafe cast or a repeated unique key. The message names the column, the rule, the
        number of offending rows and a few keys.

    Examples
    --------
    >>> import pandas as pd
    >>> from toolkit.cleanse import validate, Schema, Column
    >>> schema = Schema("t", {"qty": Column("int", min=0)})
    >>> validate(pd.DataFrame({"qty": [1, -2]}), schema)
    Traceback (most recent call last):
    ...
    toolkit.errors.DataValidationError: column 'qty': 1 rows break rule '>= 0' (schema 't'); keys: ['row 1']
    """
    check_frame(df)
    check_report(report)
    return run_steps(df, [ValidateStep(schema, errors)], report, checked=True)
