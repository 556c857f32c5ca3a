"""The toolkit command: user errors are one line on stderr and a non-zero status; --debug shows the traceback."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from toolkit import cli
from toolkit.datasets import load_parquet, make_retail

ROOT = Path(__file__).resolve().parents[2]


def _toolkit(*args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "toolkit.cli", *args], capture_output=True, text=True, cwd=cwd,
                          env={**os.environ, "PYTHONPATH": str(ROOT)}, timeout=300)


def test_bench_on_a_missing_directory_fails_in_one_line(tmp_path):
    result = _toolkit("bench", "--dir", str(tmp_path / "missing"))
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "does not exist" in lines[0] and "missing" in lines[0]
    assert "Traceback" not in result.stderr and result.stdout == ""


def test_debug_shows_the_traceback_before_or_after_the_command(tmp_path):
    for args in (("--debug", "bench", "--dir", str(tmp_path / "x")), ("bench", "--dir", str(tmp_path / "x"), "--debug")):
        result = _toolkit(*args)
        assert result.returncode != 0
        assert "Traceback" in result.stderr and "UsageError" in result.stderr


def test_bench_without_benchmarks_fails_and_a_failing_benchmark_is_reported(tmp_path, capsys):
    assert cli.main(["bench", "--dir", str(tmp_path)]) == 1
    assert "no benchmarks" in capsys.readouterr().err
    (tmp_path / "bench_ok.py").write_text("print('fine')\n")
    (tmp_path / "bench_bad.py").write_text("raise SystemExit(3)\n")
    (tmp_path / "helper.py").write_text("raise SystemExit(4)\n")  # not a benchmark: not run
    assert cli.main(["bench", "--dir", str(tmp_path)]) == 1
    err = capsys.readouterr().err
    assert "1 of 2 benchmarks failed: bench_bad.py" in err
    (tmp_path / "bench_bad.py").unlink()
    assert cli.main(["bench", "--dir", str(tmp_path)]) == 0


def test_bad_data_parameters_are_one_line_errors_naming_the_parameter(tmp_path, capsys):
    assert cli.main(["data", "--out", str(tmp_path / "d"), "--n-skus", "-3", "--quiet"]) == 1
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "'n_skus'" in err
    (tmp_path / "file").write_text("x")
    assert cli.main(["data", "--out", str(tmp_path / "file"), "--n-skus", "3", "--quiet"]) == 1
    assert "'path'" in capsys.readouterr().err
    with pytest.raises(SystemExit) as exit_:  # not an integer: argparse's usage error, status 2
        cli.main(["data", "--n-skus", "many"])
    assert exit_.value.code == 2


def test_data_writes_a_dataset_load_parquet_accepts(tmp_path, capsys):
    assert cli.main(["data", "--out", str(tmp_path / "d"), "--n-skus", "3", "--n-locations", "2", "--n-days", "30",
                     "--seed", "4", "--quiet"]) == 0
    expected = make_retail(n_skus=3, n_locations=2, n_days=30, seed=4, progress=False)
    pd.testing.assert_frame_equal(load_parquet(tmp_path / "d", tables=("sales",)).sales, expected.sales)


def test_missing_notebooks_are_named_before_anything_runs(tmp_path, capsys):
    assert cli.main(["run", str(tmp_path / "a.ipynb"), "--out", str(tmp_path / "out"), "--quiet"]) == 1
    assert "no such notebook" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()
    assert cli.main(["report", str(tmp_path / "b.ipynb")]) == 1
    assert "b.ipynb" in capsys.readouterr().err
    (tmp_path / "c.ipynb").write_text("not json")
    assert cli.main(["report", str(tmp_path / "c.ipynb")]) == 1
    assert "not a readable notebook" in capsys.readouterr().err


def test_bugs_keep_their_traceback(monkeypatch):
    def broken(args):
        raise ZeroDivisionError("a bug")

    monkeypatch.setattr(cli, "_bench", broken)
    with pytest.raises(ZeroDivisionError):
        cli.main(["bench"])


def test_run_parses_repeated_parameters_as_python_literals(tmp_path, monkeypatch, capsys):
    """``-p KEY=VALUE`` values are Python literals where they parse (0.2, [1, 2]) and strings otherwise;
    a malformed one is argparse's usage error (status 2) under the program's own name."""
    import types

    import toolkit.report

    seen = []

    def fake_run(notebook, *, parameters, output_dir, progress, stall_timeout):
        seen.append((notebook, parameters, output_dir, progress, stall_timeout))
        return types.SimpleNamespace(slowest=None, seconds=0.5, html=tmp_path / "nb.html", records=[])

    monkeypatch.setattr(toolkit.report, "run_notebook", fake_run)
    (tmp_path / "nb.ipynb").write_text("{}")
    args = ["run", str(tmp_path / "nb.ipynb"), "--out", str(tmp_path / "out"), "--quiet", "--stall-timeout", "7",
            "-p", "SCALE=0.2", "-p", "NAME=abc", "--parameter", "DAYS=[1, 2]"]
    assert cli.main(args) == 0
    assert seen == [(tmp_path / "nb.ipynb", {"SCALE": 0.2, "NAME": "abc", "DAYS": [1, 2]}, str(tmp_path / "out"),
                     False, 7.0)]
    assert "nb.ipynb: 0.5 s ->" in capsys.readouterr().out
    with pytest.raises(SystemExit) as exit_:
        cli.main(["run", str(tmp_path / "nb.ipynb"), "-p", "1x=3"])
    assert exit_.value.code == 2
    err = capsys.readouterr().err
    assert err.startswith("usage: toolkit run ")
    assert "toolkit run: error: argument -p/--parameter: parameters are KEY=VALUE with KEY a Python name, got '1x=3'" in err
