"""Mutation score of all of ``toolkit/`` estimated from a uniform random sample of its mutants.

mutmut writes about 64,000 mutants for the package; checking each one takes weeks on 2 cores, so the
package-wide score is estimated from a random sample instead (random mutant sampling: the score of a
few hundred mutants drawn uniformly estimates the full score within a few points). ``make
mutate-sample`` draws the sample, runs mutmut on exactly those mutants and prints the estimate with a
95 % Wilson interval; the survivors it lists are real mutants to kill or argue equivalent, as with
``make mutate``.

``python tests/mutation_sample.py draw N [--seed S] --out FILE`` writes N mutant names drawn from
``mutants/`` to FILE and prints, one per line, those that some unit test reaches (the names to give
``mutmut run``; a mutant no test reaches is left out there and counts as "no tests").
``python tests/mutation_sample.py score FILE [--survivors]`` prints the sample's counts per package,
the score ``(killed + timeout) / (checked - skipped)`` (mutmut's definition, as in
``tests/mutation_score.py``) and its interval.

The draw depends only on the sorted list of mutant names and the seed, so the same code and seed give
the same sample. After adding tests, ``score FILE --to-rerun`` lists the sampled mutants not killed
yet (survived, untested, not checked) for ``mutmut run``: the "after" score on the same mutants
without checking the killed ones again. mutmut forgets the results of a function edited since its
run (when it next writes the mutants), so after editing code score again and rerun what is left.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
from collections import Counter
from pathlib import Path

from scipy.stats import binomtest

sys.path.insert(0, str(Path(__file__).parent))
from mutation_score import module_results, score  # noqa: E402  (a script beside this one)

_STATS = "mutmut-stats.json"


def _function_of(mutant: str) -> str:
    """The key mutmut's stats use for the function a mutant changes (as mutmut's run loop builds it)."""
    return mutant.replace("__init__.", "").partition("__mutmut_")[0]


def covered_functions(root: Path) -> set[str]:
    """Functions that at least one unit test reaches, from mutmut's recorded stats."""
    path = root / _STATS
    if not path.exists():
        raise SystemExit(f"{path} is missing: run make mutate-sample (or make mutate) once to record it")
    return {name for name, tests in json.loads(path.read_text())["tests_by_mangled_function_name"].items() if tests}


def draw(root: Path, size: int, seed: int) -> list[str]:
    """``size`` mutant names drawn uniformly without replacement from every module under ``root``."""
    names = sorted(name for statuses in module_results(root, []).values() for name in statuses)
    if not 0 < size <= len(names):
        raise SystemExit(f"sample size must be between 1 and the {len(names)} mutants in {root}/, got {size}")
    return random.Random(seed).sample(names, size)


def sample_statuses(root: Path, sample: list[str]) -> dict[str, str]:
    """Status of each sampled mutant; one whose function no test reaches is "no tests", one whose
    function was edited so that it no longer has that mutant is "gone" (left out of the score)."""
    found = {name: status for statuses in module_results(root, []).values() for name, status in statuses.items()}
    missing = [name for name in sample if name not in found]
    if len(missing) > len(sample) // 10:
        raise SystemExit(f"{len(missing)} sampled mutants are not in {root}/ (first: {missing[0]}): "
                         "the code changed a lot since the draw, draw again")
    covered = covered_functions(root)
    return {name: "gone" if name not in found else found[name] if _function_of(name) in covered else "no tests"
            for name in sample}


def wilson_interval(hits: int, trials: int) -> tuple[float, float]:
    """95 % Wilson score interval of a proportion, in percent."""
    ci = binomtest(hits, trials).proportion_ci(confidence_level=0.95, method="wilson")
    return 100.0 * ci.low, 100.0 * ci.high


def _present(counts: Counter) -> Counter:
    """``counts`` without the mutants that are gone."""
    return Counter({status: n for status, n in counts.items() if status != "gone"})


def report(statuses: dict[str, str], survivors: bool) -> None:
    cols = ("killed", "survived", "no tests", "timeout", "suspicious", "not checked")
    by_package: dict[str, Counter] = {}
    for name, status in statuses.items():
        package = ".".join(name.split(".")[:2])
        by_package.setdefault(package, Counter())[status] += 1
    print(f"{'package (sampled mutants)':<30}" + "".join(f"{c:>12}" for c in cols) + f"{'score':>8}")
    total: Counter = Counter()
    for package, counts in sorted(by_package.items()):
        total += counts
        print(f"{package:<30}" + "".join(f"{counts[c]:>12}" for c in cols) + f"{score(_present(counts)):>7.1f}%")
    print(f"{'sample':<30}" + "".join(f"{total[c]:>12}" for c in cols) + f"{score(_present(total)):>7.1f}%")
    trials = sum(total.values()) - total["skipped"] - total["not checked"] - total["gone"]
    if trials:
        low, high = wilson_interval(total["killed"] + total["timeout"], trials)
        hits = total["killed"] + total["timeout"]
        print(f"toolkit/ score estimated from {trials} checked mutants: {100.0 * hits / trials:.1f}% "
              f"(95 % interval {low:.1f}-{high:.1f}%)")
    if total["gone"]:
        print(f"{total['gone']} sampled mutants are gone (their function was edited since the draw): left out")
    if total["not checked"]:
        print(f"{total['not checked']} sampled mutants not checked yet: the estimate is of a biased part of the sample")
    if survivors:
        for name, status in sorted(statuses.items()):
            if status in ("survived", "no tests", "suspicious"):
                print(f"  {status:<10} {name}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--root", default="mutants", type=Path)
    sub = parser.add_subparsers(dest="command", required=True)
    p_draw = sub.add_parser("draw", help="draw a sample and print the names to run")
    p_draw.add_argument("size", type=int)
    p_draw.add_argument("--seed", type=int, default=19)
    p_draw.add_argument("--out", type=Path, required=True)
    p_score = sub.add_parser("score", help="score a drawn sample")
    p_score.add_argument("sample", type=Path)
    p_score.add_argument("--survivors", action="store_true")
    p_score.add_argument("--to-rerun", action="store_true",
                         help="print only the sampled mutants not killed yet (survived, untested, unchecked)")
    args = parser.parse_args(argv)
    if args.command == "draw":
        sample = draw(args.root, args.size, args.seed)
        args.out.write_text("\n".join(sample) + "\n")
        covered = covered_functions(args.root)
        print("\n".join(name for name in sample if _function_of(name) in covered))
        return 0
    statuses = sample_statuses(args.root, args.sample.read_text().split())
    if args.to_rerun:
        print("\n".join(name for name, status in statuses.items() if status not in ("killed", "timeout", "gone")))
        return 0
    report(statuses, args.survivors)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
