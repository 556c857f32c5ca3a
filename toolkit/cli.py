"""The ``toolkit`` command: generate data, run notebooks into reports, read records, run benchmarks.

Examples
--------
::

    toolkit data --out datasets/generated --n-skus 200 --n-days 730
    toolkit run notebooks/*.ipynb --out reports -p SCALE=0.2
    toolkit report reports/00_quickstart.ipynb
    toolkit bench
"""

from __future__ import annotations

import argparse
import ast
import json
import subprocess
import sys
import time
from pathlib import Path


def _parameter(text: str) -> tuple[str, object]:
    key, sep, raw = text.partition("=")
    if not sep:
        raise argparse.ArgumentTypeError(f"parameters are KEY=VALUE, got {text!r}")
    try:
        value = ast.literal_eval(raw)
    except (ValueError, SyntaxError):
        value = raw
    return key, value


def _data(args: argparse.Namespace) -> int:
    from toolkit.datasets import write_parquet

    start = time.perf_counter()
    out = write_parquet(args.out, n_skus=args.n_skus, n_locations=args.n_locations, n_days=args.n_days,
                        seed=args.seed, progress=not args.quiet)
    rows = args.n_skus * args.n_locations * args.n_days
    seconds = time.perf_counter() - start
    print(f"wrote {rows:,} sales rows (+ orders, inventory, shipments, marketing, truth) to {out} "
          f"in {seconds:.1f} s ({rows / seconds:,.0f} sales rows/s)")
    return 0


def _run(args: argparse.Namespace) -> int:
    from toolkit.report import run_notebook

    params = dict(args.parameter or [])
    for notebook in args.notebooks:
        result = run_notebook(notebook, parameters=params, output_dir=args.out, progress=not args.quiet)
        print(f"{notebook}: {result.seconds:.1f} s -> {result.html} ({len(result.records)} records)")
    return 0


def _report(args: argparse.Namespace) -> int:
    from toolkit.report import read_records

    for notebook in args.notebooks:
        print(json.dumps({"notebook": notebook, "records": read_records(notebook)}, indent=2))
    return 0


def _bench(args: argparse.Namespace) -> int:
    scripts = sorted(Path(args.dir).glob("bench_*.py"))
    status = 0
    for script in scripts:
        print(f"== {script}", flush=True)
        status |= subprocess.call([sys.executable, str(script)])
    return status


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``toolkit`` command."""
    parser = argparse.ArgumentParser(prog="toolkit", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)

    data = sub.add_parser("data", help="generate the synthetic dataset as partitioned Parquet")
    data.add_argument("--out", default="datasets/generated")
    data.add_argument("--n-skus", type=int, default=200)
    data.add_argument("--n-locations", type=int, default=6)
    data.add_argument("--n-days", type=int, default=730)
    data.add_argument("--seed", type=int, default=0)
    data.add_argument("--quiet", action="store_true")
    data.set_defaults(func=_data)

    run = sub.add_parser("run", help="execute notebooks with papermill and write HTML reports")
    run.add_argument("notebooks", nargs="+")
    run.add_argument("--out", default="reports")
    run.add_argument("-p", "--parameter", type=_parameter, action="append", help="KEY=VALUE (repeatable)")
    run.add_argument("--quiet", action="store_true")
    run.set_defaults(func=_run)

    report = sub.add_parser("report", help="print the metrics recorded in executed notebooks")
    report.add_argument("notebooks", nargs="+")
    report.set_defaults(func=_report)

    bench = sub.add_parser("bench", help="run every benchmarks/bench_*.py")
    bench.add_argument("--dir", default="benchmarks")
    bench.set_defaults(func=_bench)

    args = parser.parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    raise SystemExit(main())
