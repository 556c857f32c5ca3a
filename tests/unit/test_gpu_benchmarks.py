"""The GPU benchmarks' harness, exercised without a GPU.

Every ``benchmarks/gpu_bench_*.py`` runs in a subprocess with ``--device cpu --tiny`` (the
device path on NumPy through the same array-API code, torch on the CPU) and must write one
JSON record whose values agree within the tolerances it states; the harness itself
(``benchmarks/gpu_common.py``) is checked on hand-made cases: an agreement check that cannot
fail, a timer that skips its warm-up or a summary that overwrites earlier runs would fail here.
The GPU figures themselves need a GPU (``make gpu-check``).
"""

from __future__ import annotations

import importlib.util
import json
import math
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[2]
BENCH = ROOT / "benchmarks"
SCRIPTS = sorted(BENCH.glob("gpu_bench_*.py"))
FAMILIES = {  # script -> (benchmark name in the record, has a peer)
    "gpu_bench_features.py": ("features", True),
    "gpu_bench_ecod.py": ("ecod_copod", True),
    "gpu_bench_ols.py": ("ols", True),
    "gpu_bench_inventory.py": ("inventory", False),
    "gpu_bench_autoencoder.py": ("autoencoder", True),
    "gpu_bench_local.py": ("local_models", True),
}


def _common():
    spec = importlib.util.spec_from_file_location("gpu_common", BENCH / "gpu_common.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault("gpu_common", module)  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


common = _common()


def test_one_script_per_kernel_family_and_make_runs_them():
    assert sorted(p.name for p in SCRIPTS) == sorted(FAMILIES)
    makefile = (ROOT / "Makefile").read_text()
    assert "benchmarks/gpu_bench_*.py" in makefile  # gpu-check's loop: the harness module is not run as one


@pytest.mark.slow
@pytest.mark.parametrize("script", SCRIPTS, ids=lambda p: p.stem)
def test_script_runs_on_cpu_and_writes_agreeing_record(script, tmp_path):
    summary = tmp_path / "summary.json"
    env = {**os.environ, "PYTHONPATH": str(ROOT), "TOOLKIT_BACKEND": "cpu", "CUDA_VISIBLE_DEVICES": ""}
    done = subprocess.run([sys.executable, str(script), "--device", "cpu", "--tiny", "--repeat", "1",
                           "--summary", str(summary)], cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    records = json.loads(summary.read_text())
    assert len(records) == 1
    record = records[0]
    name, has_peer = FAMILIES[script.name]
    assert record["benchmark"] == name and record["device"] == "cpu"
    assert record["options"]["tiny"] is True and record["environment"]["numpy"] == np.__version__
    if record["status"] == "skipped":  # only the family whose kernels are not on this branch yet
        assert name == "local_models" and importlib.util.find_spec("toolkit.kernels.smoothing") is None
        assert "issue 13" in record["skipped"][0]["reason"] and "skipped" in done.stdout
        return
    assert record["status"] == "ok", done.stdout[-3000:]
    assert record["cases"]
    for case in record["cases"]:
        assert case["ok"] and case["agreement"]
        assert {"device", "cpu"} <= set(case["seconds"])
        has = "peer" in case["seconds"]  # a case without a peer says why (PyOD has no grouped fit)
        assert has == has_peer or (has_peer and case.get("note", "").startswith("no peer")), case["case"]
        for path, seconds in case["seconds"].items():
            assert seconds > 0 and case["rows"][path] > 0 and len(case["runs"][path]) >= 1
            assert seconds == min(case["runs"][path])
        for value in case["speedup"].values():
            assert value is not None and math.isfinite(value) and value > 0
        for check in case["agreement"]:
            assert check["ok"] and check["n"] > 0 and check["share_within"] >= check.get("min_share", 1.0)
            assert check["rtol"] >= 0 and check["atol"] >= 0 and check["against"] in ("cpu", "peer")
        assert {c["against"] for c in case["agreement"]} == ({"cpu", "peer"} if has else {"cpu"}), case["case"]


def test_agreement_fails_on_values_nan_and_infinities_that_differ():
    x = np.array([1.0, 2.0, np.nan, np.inf])
    assert common.agreement("x", x, x.copy(), 0.0, 0.0)["ok"]
    shifted = x + np.array([0.0, 1e-6, 0.0, 0.0])
    assert not common.agreement("x", shifted, x, 1e-9, 1e-9)["ok"]
    assert common.agreement("x", shifted, x, 1e-6, 0.0)["ok"]  # 1e-6 <= 1e-6 * 2
    assert common.agreement("x", np.array([1.0, 2.0, 3.0, np.inf]), x, 1.0, 1.0)["nan_mismatch"] == 1
    assert not common.agreement("x", np.array([1.0, 2.0, np.nan, -np.inf]), x, 1.0, 1.0)["ok"]
    assert not common.agreement("x", x[:3], x, 1.0, 1.0)["ok"]
    half = common.agreement("x", np.array([1.0, 5.0]), np.array([1.0, 1.0]), 0.0, 0.1, min_share=0.5)
    assert half["ok"] and half["share_within"] == 0.5 and half["max_abs_diff"] == 4.0
    assert not common.agreement("x", np.array([1.0, 5.0]), np.array([1.0, 1.0]), 0.0, 0.1, min_share=0.6)["ok"]


def test_time_call_warms_up_once_then_keeps_the_best_of_repeat():
    calls = []

    def fn():
        calls.append("run")
        return len(calls)

    warm = []
    timing = common.time_call(fn, None, repeat=3, warmup=lambda: warm.append(1))
    assert warm == [1] and len(calls) == 3 and len(timing.runs) == 3
    assert timing.seconds == min(timing.runs) and timing.result == 3
    timing = common.time_call(fn, None, repeat=2)  # default warm-up: one full call, untimed
    assert len(calls) == 6 and len(timing.runs) == 2


def _args(tmp_path, **extra):
    return common.arguments("doc", {"rows": 10}, {"rows": 2}, ["--summary", str(tmp_path / "s.json"), "--device",
                                                                 "cpu", *sum(([f"--{k}", str(v)] for k, v in
                                                                              extra.items()), [])])


def test_run_appends_records_and_exits_1_on_disagreement(tmp_path, capsys):
    device = common.select_device("cpu")
    timing = common.Timing(0.5, [0.5], None)
    good = common.Run("demo", device, _args(tmp_path))
    entry = good.case("c", {"device": timing, "cpu": common.Timing(2.0, [2.0], None)}, {"device": 10, "cpu": 5},
                      [common.agreement("v", np.ones(3), np.ones(3), 0.0, 0.0)], target=20.0)
    assert entry["speedup"]["device_vs_cpu"] == pytest.approx(8.0)  # (10 / 0.5) / (5 / 2.0) rows per second
    assert entry["per_row"] == "rows per second" and entry["meets_target"] is False
    assert good.finish() == 0
    bad = common.Run("demo", device, _args(tmp_path))
    bad.case("c", {"device": timing, "cpu": timing}, 3, [common.agreement("v", np.ones(3), np.zeros(3), 0.0, 0.5)])
    assert bad.finish() == 1
    assert "DISAGREE v vs cpu" in capsys.readouterr().out
    records = json.loads((tmp_path / "s.json").read_text())
    assert [r["status"] for r in records] == ["ok", "disagree"]
    skipped = common.Run("demo", device, _args(tmp_path))
    skipped.skip("everything", "not installed")
    assert skipped.finish() == 0 and json.loads((tmp_path / "s.json").read_text())[-1]["status"] == "skipped"


def test_unreadable_summary_is_kept_aside_not_overwritten(tmp_path):
    (tmp_path / "s.json").write_text("{not json")
    run = common.Run("demo", common.select_device("cpu"), _args(tmp_path))
    run.skip("all", "demo")
    run.finish()
    assert (tmp_path / "s.unreadable.json").read_text() == "{not json"
    assert len(json.loads((tmp_path / "s.json").read_text())) == 1


def test_arguments_tiny_sizes_and_explicit_options_win(tmp_path):
    assert common.arguments("doc", {"rows": 10}, {"rows": 2}, []).rows == 10
    assert common.arguments("doc", {"rows": 10}, {"rows": 2}, ["--tiny"]).rows == 2
    args = common.arguments("doc", {"rows": 10}, {"rows": 2}, ["--tiny", "--rows", "7"])
    assert args.rows == 7 and args.peer_rows is None and args.cpu_rows is None


def test_gpu_device_without_gpu_exits_with_the_cpu_hint(monkeypatch):
    from toolkit import backend

    monkeypatch.setattr(backend, "gpu_available", lambda: False)
    with pytest.raises(SystemExit, match="--device cpu"):
        common.select_device("gpu")
    assert common.select_device("auto").kind == "cpu"
    monkeypatch.setenv(common.DEVICE_ENV, "cpu")
    assert common.select_device().xp is np
