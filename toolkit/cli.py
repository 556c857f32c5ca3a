"""The ``toolkit`` command: generate data, run notebooks into reports, read records, run benchmarks.

Errors: a user error -- bad data or parameters (:class:`~toolkit.errors.DataValidationError`),
a missing file or directory, no usable GPU, a notebook cell that failed -- prints one line
``toolkit: error: ...`` to stderr and exits with status 1 (2 for a malformed command line, as
argparse does; 130 when interrupted). ``--debug`` (before or after the sub-command) shows the
full traceback instead. Any other exception is a bug and keeps its traceback.

Examples
--------
::

    toolkit data --out datasets/generated --n-skus 200 --n-days 730
    toolkit run notebooks/*.ipynb --out reports -p SCALE=0.2 -p SEED=1
    toolkit report reports/00_quickstart.ipynb
    toolkit bench
    toolkit --debug bench --dir benchmarks
"""

from __future__ import annotations

import argparse
import ast
import json
import subprocess
import sys
import time
from pathlib import Path

from toolkit.errors import BackendUnavailableError, DataValidationError
from toolkit.report.execution import STALL_TIMEOUT

__all__ = ["main", "UsageError"]


class UsageError(Exception):
    """A command the user can fix (a missing directory, nothing to run): one line, exit status 1."""


def _user_errors() -> tuple[type[BaseException], ...]:
    """Exceptions reported in one line: the user's to fix, not the toolkit's (a failed or stalled cell included)."""
    from toolkit.report.execution import NotebookExecutionError, StalledCellError

    return (UsageError, DataValidationError, BackendUnavailableError, OSError, NotebookExecutionError,
            StalledCellError)


def _parameter(text: str) -> tuple[str, object]:
    key, sep, raw = text.partition("=")
    if not sep or not key.strip().isidentifier():
        raise argparse.ArgumentTypeError(f"parameters are KEY=VALUE with KEY a Python name, got {text!r}")
    try:
        value = ast.literal_eval(raw)
    except (ValueError, SyntaxError):
        value = raw
    return key.strip(), value


def _existing_files(paths: list[str], what: str) -> list[Path]:
    missing = [p for p in paths if not Path(p).is_file()]
    if missing:
        raise UsageError(f"no such {what}: {', '.join(missing)}")
    return [Path(p) for p in paths]


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

    notebooks = _existing_files(args.notebooks, "notebook")
    params = dict(args.parameter or [])
    for notebook in notebooks:
        result = run_notebook(notebook, parameters=params, output_dir=args.out, progress=not args.quiet,
                              stall_timeout=args.stall_timeout)
        slowest = result.slowest
        slow = f" (slowest: cell {slowest.index}, {slowest.seconds:.1f} s: {slowest.first_line})" if slowest else ""
        print(f"{notebook}: {result.seconds:.1f} s{slow} -> {result.html} ({len(result.records)} records)",
              flush=True)
    return 0


def _report(args: argparse.Namespace) -> int:
    from toolkit.report import read_records

    for notebook in _existing_files(args.notebooks, "notebook"):
        print(json.dumps({"notebook": str(notebook), "records": read_records(notebook)}, indent=2))
    return 0


def _bench(args: argparse.Namespace) -> int:
    folder = Path(args.dir)
    if not folder.is_dir():
        raise UsageError(f"benchmark directory {str(folder)!r} does not exist")
    scripts = sorted(folder.glob("bench_*.py"))
    if not scripts:
        raise UsageError(f"no benchmarks (bench_*.py) in {str(folder)!r}")
    failed = []
    for script in scripts:
        print(f"== {script}", flush=True)
        if subprocess.call([sys.executable, str(script)]) != 0:
            failed.append(script.name)
    if failed:
        print(f"toolkit: error: {len(failed)} of {len(scripts)} benchmarks failed: {', '.join(failed)}",
              file=sys.stderr)
        return 1
    return 0


def _parser() -> argparse.ArgumentParser:
    debug = argparse.ArgumentParser(add_help=False)
    debug.add_argument("--debug", action="store_true", default=argparse.SUPPRESS,
                       help="show the full traceback of an error")
    parser = argparse.ArgumentParser(prog="toolkit", description=__doc__.splitlines()[0], parents=[debug])
    sub = parser.add_subparsers(dest="command", required=True)

    data = sub.add_parser("data", parents=[debug], help="generate the synthetic dataset as partitioned Parquet")
    data.add_argument("--out", default="datasets/generated")
    data.add_argument("--n-skus", type=int, default=200)
    data.add_argument("--n-locations", type=int, default=6)
    data.add_argument("--n-days", type=int, default=730)
    data.add_argument("--seed", type=int, default=0)
    data.add_argument("--quiet", action="store_true")
    data.set_defaults(func=_data)

    run = sub.add_parser("run", parents=[debug], help="execute notebooks and write HTML reports")
    run.add_argument("notebooks", nargs="+")
    run.add_argument("--out", default="reports")
    run.add_argument("-p", "--parameter", type=_parameter, action="append", help="KEY=VALUE (repeatable)")
    run.add_argument("--quiet", action="store_true")
    run.add_argument("--stall-timeout", type=float, default=STALL_TIMEOUT, metavar="SECONDS",
                     help="stop a cell with no output and an idle kernel for this long (default %(default)s)")
    run.set_defaults(func=_run)

    report = sub.add_parser("report", parents=[debug], help="print the metrics recorded in executed notebooks")
    report.add_argument("notebooks", nargs="+")
    report.set_defaults(func=_report)

    bench = sub.add_parser("bench", parents=[debug], help="run every bench_*.py of a directory")
    bench.add_argument("--dir", default="benchmarks")
    bench.set_defaults(func=_bench)
    return parser


def _one_line(err: BaseException) -> str:
    text = " ".join(str(err).split()) or type(err).__name__
    from toolkit.report.execution import NotebookExecutionError, StalledCellError

    own = (UsageError, DataValidationError, NotebookExecutionError, StalledCellError)  # messages that name the place
    return text if isinstance(err, own) else f"{type(err).__name__}: {text}"


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``toolkit`` command; returns the exit status.

    Examples
    --------
    >>> main(["bench", "--dir", "/nonexistent"])  # doctest: +SKIP
    toolkit: error: benchmark directory '/nonexistent' does not exist (--debug for the traceback)
    1
    """
    args = _parser().parse_args(argv)
    debug = getattr(args, "debug", False)
    try:
        return args.func(args)
    except _user_errors() as err:
        if debug:
            raise
        print(f"toolkit: error: {_one_line(err)} (--debug for the traceback)", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        if debug:
            raise
        print("toolkit: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    raise SystemExit(main())
