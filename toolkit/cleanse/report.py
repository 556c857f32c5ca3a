"""What each cleaning step did: rows in and out, rows dropped and inserted per reason, values changed.

Every step returns a :class:`StepCounts` with its output; a :class:`CleanReport` collects
them in order. Conventions:

* **Rows add up per step**: ``rows_in - sum(dropped) + sum(inserted) == rows_out``. A row
  dropped for several reasons is counted once, under the first reason that applies (the
  step documents its order), so the reasons are disjoint.
* **Violations list every rule**: ``violations`` counts, per ``"<column> <rule>"``, every row
  that breaks the rule, whatever happened to it -- a row breaking two rules appears under
  both. Validation with ``errors="drop"`` therefore shows the dropped rows once in ``dropped``
  and each rule's full count in ``violations``.
* **Values** count cells changed in place per kind: ``filled``, ``clipped``, ``flagged``,
  ``nulled``, ``coerced``, ``unparseable``, ``pseudonymized``, ``off calendar`` ...

On Dask, a stand-alone transform records counts that are still lazy (a ``Delayed``); they
are computed together, in one pass of their own, the first time the report is read.
:func:`toolkit.cleanse.clean` computes them with its result instead.

Examples
--------
>>> from toolkit.cleanse.report import CleanReport, StepCounts
>>> counts = StepCounts.start(5)
>>> counts.drop("units >= 0", 2)
>>> report = CleanReport()
>>> report.record("validate", counts)
>>> report.rows_in, report.rows_out, report.dropped
(5, 3, {'units >= 0': 2})
"""

from __future__ import annotations

import dataclasses
from typing import Any, Sequence

import pandas as pd

from toolkit.errors import DataValidationError
from toolkit.panel import KEYS_SHOWN

__all__ = ["Violation", "StepCounts", "CleanReport", "check_report"]


@dataclasses.dataclass
class Violation:
    """Rows of one column breaking one rule: how many, and a few of their keys."""

    column: str
    rule: str
    count: int
    examples: list

    @property
    def label(self) -> str:
        return f"{self.column} {self.rule}"


def _add(table: dict, key: str, n: int) -> None:
    if n:
        table[key] = table.get(key, 0) + int(n)


@dataclasses.dataclass
class StepCounts:
    """Counts of one step on one frame (or one partition); see the module conventions."""

    rows_in: int = 0
    rows_out: int = 0
    dropped: dict = dataclasses.field(default_factory=dict)
    inserted: dict = dataclasses.field(default_factory=dict)
    values: dict = dataclasses.field(default_factory=dict)
    violations: list = dataclasses.field(default_factory=list)

    @classmethod
    def start(cls, rows: int) -> "StepCounts":
        """Counts of a step that has not changed anything yet: ``rows`` in and out."""
        return cls(rows_in=int(rows), rows_out=int(rows))

    def drop(self, reason: str, n: int) -> None:
        """``n`` rows dropped for ``reason`` (``rows_out`` follows)."""
        _add(self.dropped, reason, n)
        self.rows_out -= int(n)

    def insert(self, reason: str, n: int) -> None:
        """``n`` rows inserted for ``reason`` (``rows_out`` follows)."""
        _add(self.inserted, reason, n)
        self.rows_out += int(n)

    def value(self, kind: str, n: int) -> None:
        """``n`` values changed in place (filled, clipped, nulled...)."""
        _add(self.values, kind, n)

    def violation(self, column: str, rule: str, n: int, examples: Sequence[Any]) -> None:
        """``n`` rows break ``rule`` in ``column``."""
        if n:
            self.violations.append(Violation(column, rule, int(n), list(examples)[:KEYS_SHOWN]))

    @classmethod
    def merge(cls, parts: Sequence["StepCounts"]) -> "StepCounts":
        """The counts of several partitions summed (violations merged by column and rule)."""
        out = cls()
        seen: dict[tuple, Violation] = {}
        for part in parts:
            out.rows_in += part.rows_in
            out.rows_out += part.rows_out
            for field in ("dropped", "inserted", "values"):
                for key, n in getattr(part, field).items():
                    _add(getattr(out, field), key, n)
            for v in part.violations:
                known = seen.get((v.column, v.rule))
                if known is None:
                    seen[(v.column, v.rule)] = known = Violation(v.column, v.rule, 0, [])
                    out.violations.append(known)
                known.count += v.count
                known.examples = (known.examples + list(v.examples))[:KEYS_SHOWN]
        return out

    def as_dict(self, step: str) -> dict:
        """Plain ints: ``step``, ``rows_in``, ``rows_out``, ``dropped``, ``inserted``, ``values``, ``violations``."""
        return {"step": step, "rows_in": int(self.rows_in), "rows_out": int(self.rows_out),
                "dropped": dict(self.dropped), "inserted": dict(self.inserted), "values": dict(self.values),
                "violations": {v.label: v.count for v in self.violations}}


@dataclasses.dataclass
class _Entry:
    step: str
    counts: Any  # StepCounts, or a dask Delayed of one until read


class CleanReport:
    """What each cleaning step did to the rows and values (see the module conventions).

    For every step: rows in, rows out, rows dropped and inserted per reason, values changed
    per kind and rule violations. Print it for a table; :meth:`to_dict` and :meth:`to_frame`
    give the same figures as data.

    Examples
    --------
    >>> import pandas as pd
    >>> from toolkit.cleanse import CleanReport, drop_duplicates
    >>> report = CleanReport()
    >>> out = drop_duplicates(pd.DataFrame({"a": [1, 1, 2]}), report=report)
    >>> report.to_dict()["steps"][0]["dropped"]
    {'duplicate': 1}
    """

    def __init__(self) -> None:
        self._entries: list[_Entry] = []

    def record(self, step: str, counts: Any) -> None:
        """Append the counts of ``step`` (a :class:`StepCounts`, or a Dask ``Delayed`` of one)."""
        self._entries.append(_Entry(step, counts))

    def _resolve(self) -> None:
        pending = [e for e in self._entries if not isinstance(e.counts, StepCounts)]
        if pending:
            import dask

            for entry, counts in zip(pending, dask.compute(*[e.counts for e in pending])):
                entry.counts = counts

    @property
    def steps(self) -> list[dict]:
        """One dict per step (see :meth:`StepCounts.as_dict`)."""
        self._resolve()
        return [e.counts.as_dict(e.step) for e in self._entries]

    @property
    def rows_in(self) -> int:
        steps = self.steps
        return steps[0]["rows_in"] if steps else 0

    @property
    def rows_out(self) -> int:
        steps = self.steps
        return steps[-1]["rows_out"] if steps else 0

    @property
    def dropped(self) -> dict[str, int]:
        """Rows dropped per reason over all steps."""
        out: dict[str, int] = {}
        for s in self.steps:
            for key, n in s["dropped"].items():
                _add(out, key, n)
        return out

    def to_dict(self) -> dict:
        """``{"rows_in", "rows_out", "dropped", "steps": [...]}`` with plain ints."""
        return {"rows_in": self.rows_in, "rows_out": self.rows_out, "dropped": self.dropped, "steps": self.steps}

    def to_frame(self) -> pd.DataFrame:
        """One row per (step, kind, reason): kind is ``rows``, ``dropped``, ``inserted``, ``values`` or
        ``violations``."""
        rows = []
        for i, s in enumerate(self.steps, 1):
            rows.append((i, s["step"], "rows", "in", s["rows_in"]))
            rows.append((i, s["step"], "rows", "out", s["rows_out"]))
            for kind in ("dropped", "inserted", "values", "violations"):
                rows.extend((i, s["step"], kind, key, n) for key, n in s[kind].items())
        return pd.DataFrame(rows, columns=["step_no", "step", "kind", "reason", "count"])

    def __str__(self) -> str:
        head = f"{'#':>2}  {'step':<18}{'rows in':>12}{'rows out':>12}{'dropped':>10}{'inserted':>10}  details"
        lines = [head, "-" * len(head)]
        for i, s in enumerate(self.steps, 1):
            details = [f"dropped {k}: {v}" for k, v in s["dropped"].items()]
            details += [f"inserted {k}: {v}" for k, v in s["inserted"].items()]
            details += [f"{k}: {v}" for k, v in s["values"].items()]
            details += [f"rule {k}: {v} rows" for k, v in s["violations"].items() if s["dropped"].get(k) != v]
            lines.append(f"{i:>2}  {s['step']:<18}{s['rows_in']:>12,}{s['rows_out']:>12,}"
                         f"{sum(s['dropped'].values()):>10,}{sum(s['inserted'].values()):>10,}  "
                         + "; ".join(details))
        return "\n".join(lines)

    def __repr__(self) -> str:
        if any(not isinstance(e.counts, StepCounts) for e in self._entries):
            return f"CleanReport({len(self._entries)} steps, pending)"
        return f"CleanReport({len(self._entries)} steps, rows {self.rows_in:,} -> {self.rows_out:,})"


def check_report(report: Any) -> None:
    """Refuse a ``report`` argument that is neither ``None`` nor a :class:`CleanReport`."""
    if report is not None and not isinstance(report, CleanReport):
        raise DataValidationError.for_parameter("report", "expected a CleanReport or None", type(report).__name__)
