"""Mutation score per module from mutmut's results in ``mutants/`` (``make mutate`` prints it).

``python tests/mutation_score.py [GLOB ...] [--survivors]``: one line per module whose mutants
match a glob of mutant names (``toolkit.regress.metrics.*``; all modules by default) with the
mutants killed, survived, without a covering test, timed out and not checked yet, and the score
``(killed + timeout) / (total - skipped)`` -- mutmut's own definition, so a mutant that no test
reaches counts against the module. ``--survivors`` lists the survivors and the untested mutants
(``mutmut show NAME`` prints one's diff).
"""

from __future__ import annotations

import argparse
import fnmatch
import json
from collections import Counter
from pathlib import Path

# mutmut's exit codes (mutmut.stats.status_by_exit_code), kept here so this runs without mutmut
_STATUS = {1: "killed", 3: "killed", 0: "survived", 5: "no tests", 33: "no tests", 34: "skipped",
           36: "timeout", -24: "timeout", 24: "timeout", 152: "timeout", 255: "timeout", None: "not checked",
           37: "type check"}


def _status(code: int | None) -> str:
    return _STATUS.get(code, "suspicious")


def module_results(root: Path, globs: list[str]) -> dict[str, dict[str, str]]:
    """``{module: {mutant name: status}}`` for the mutants matching ``globs`` (all when empty)."""
    out: dict[str, dict[str, str]] = {}
    for meta in sorted(root.glob("**/*.py.meta")):
        module = str(meta.relative_to(root))[: -len(".py.meta")].replace("/", ".")
        codes = json.loads(meta.read_text())["exit_code_by_key"]
        chosen = {k: _status(v) for k, v in codes.items()
                  if not globs or any(fnmatch.fnmatch(k, g) for g in globs)}
        if chosen:
            out[module] = chosen
    return out


def score(counts: Counter) -> float:
    tested = sum(counts.values()) - counts["skipped"]
    return 100.0 * (counts["killed"] + counts["timeout"]) / tested if tested else float("nan")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("globs", nargs="*", help="globs of mutant names (default: every module)")
    parser.add_argument("--survivors", action="store_true", help="list survived and untested mutants")
    parser.add_argument("--root", default="mutants", type=Path)
    args = parser.parse_args(argv)
    results = module_results(args.root, [g for g in args.globs if g not in ("", "toolkit")])
    if not results:
        print(f"no mutmut results under {args.root}/ for {args.globs or 'any module'}: run make mutate first")
        return 1
    cols = ("killed", "survived", "no tests", "timeout", "suspicious", "not checked")
    print(f"{'module':<44}" + "".join(f"{c:>12}" for c in cols) + f"{'score':>8}")
    total: Counter = Counter()
    for module, statuses in results.items():
        counts = Counter(statuses.values())
        total += counts
        print(f"{module:<44}" + "".join(f"{counts[c]:>12}" for c in cols) + f"{score(counts):>7.1f}%")
    if len(results) > 1:
        print(f"{'all above':<44}" + "".join(f"{total[c]:>12}" for c in cols) + f"{score(total):>7.1f}%")
    if args.survivors:
        for statuses in results.values():
            for name, status in statuses.items():
                if status in ("survived", "no tests", "suspicious"):
                    print(f"  {status:<10} {name}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
