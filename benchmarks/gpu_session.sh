#!/usr/bin/env bash
# The GPU check on a lent machine, one step per subcommand (README: "GPU check on a lent machine").
# Runs from the repository root on the GPU machine (Python 3.12 with CuPy, torch, numba,
# scikit-learn, statsmodels; no cuDF/cuML; no network). Results go to $OUT (the device tool's
# folder that comes back; benchmarks/out when OUT is unset), flat, at most 8 files per call.
#
#   env                 the machine, driver and packages     -> $OUT/env.txt, $OUT/pip-freeze.txt
#   receive             keep the carried parts (.gpu-carry/pNN/) in $STORE, outside the working
#                       tree, where they survive between calls while the machine stays warm
#   install GROUP...    check, join, unpack and pip-install each group once all its chunks have
#                       arrived (base | rapids | cuml)       -> $OUT/install-GROUP.log
#   bench [ARGS]        every benchmarks/gpu_bench_*.py, ARGS passed on (e.g. --rows N)
#                                                            -> $OUT/bench.log, $OUT/gpu_summary.json
#   test [ARGS]         pytest -m gpu tests/gpu, ARGS passed on -> $OUT/gpu-tests.log
#
# THE PLAN. A lease is 15 device minutes, a fresh start costs 1-2 of them, and the machine goes back
# 30 s after a call returns: the calls of a lease follow each other at once. Every call names its part
# in `carry`; each part is at most 60 MiB (measured 2026-11: base 10 MiB, rapids 305 MiB, cuml 241 MiB
# as xz archives -> p01 = base + the start of rapids, rapids complete in p06, cuml in p10).
#   Before (here, with network and CPUs):
#     make wheelhouse WHEEL_EXTRA=gpu-cu13,dev WHEEL_INTERPRETER=python3.12
#     python benchmarks/gpu_carry.py --wheelhouse wheelhouse      # prints the parts; ~10 CPU-minutes
#   The device copy is the working tree of the checkout the session started in: build .gpu-carry there.
#   Lease A -- CuPy and torch (our pure-Python dependencies only):
#     call 1, carry .gpu-carry/p01, timeout_s 570:
#       S=benchmarks/gpu_session.sh; bash $S receive && bash $S install base && bash $S env;
#       bash $S bench; bash $S test
#     (the benchmarks' defaults take about a minute each, CPU paths included; the tests needing cuDF skip)
#   Lease B -- cuDF (then cuML if minutes remain):
#     calls 1-5, carry p01 .. p05 one per call, timeout_s 90:   bash benchmarks/gpu_session.sh receive
#     call 6, carry p06, timeout_s 540:
#       S=benchmarks/gpu_session.sh; bash $S receive && bash $S install base rapids && bash $S env;
#       bash $S test; python3 benchmarks/gpu_bench_features.py --summary $OUT/gpu_summary.json
#     calls 7-9 (p07 .. p09) receive; call 10 (p10): receive && install cuml && test -k "cuml or iforest or lasso"
#   A lease with time to spare goes on with the next lease's calls (parts received stay only while the
#   machine is held). Afterwards put the figures of gpu_summary.json, the test counts of gpu-tests.log
#   and what `pip check` said in install-*.log into the issue's note; a package the image holds in a
#   version cuDF refuses goes into the next gpu_carry.py run: --device-has pip-freeze.txt --force NAME.
set -uo pipefail

PY=${PY:-python3}
STORE=${TOOLKIT_CARRY_STORE:-/tmp/toolkit-carry}
OUT=${OUT:-benchmarks/out}
CARRY=${TOOLKIT_CARRY_DIR:-.gpu-carry}
mkdir -p "$OUT" "$STORE"
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}" PYTHONUNBUFFERED=1

env_report() {
  {
    echo "== $(date -u +%FT%TZ) $(uname -srm)"
    command -v nvidia-smi >/dev/null && nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv
    "$PY" -V
    "$PY" - <<'EOF'
import importlib
for name in ("numpy", "pandas", "cupy", "torch", "numba", "sklearn", "scipy", "pyarrow", "dask", "cudf", "cuml"):
    try:
        module = importlib.import_module(name)
        print(f"{name} {getattr(module, '__version__', '?')}")
    except Exception as err:  # noqa: BLE001 - a report, not a check
        print(f"{name} unavailable: {type(err).__name__}: {err}")
import torch
print("torch.cuda", torch.cuda.is_available(), torch.version.cuda)
from toolkit.backend import gpu_available, gpu_count
print("toolkit gpu_available", gpu_available(), "gpu_count", gpu_count())
EOF
  } 2>&1 | tee "$OUT/env.txt"
  "$PY" -m pip list --format=freeze >"$OUT/pip-freeze.txt" 2>/dev/null
}

receive() {
  local found=0
  for part in "$CARRY"/p*/; do
    [ -d "$part" ] || continue
    cp -f "$part"/* "$STORE"/ && found=1
    echo "received $(basename "$part"): $(ls "$part" | tr '\n' ' ')"
  done
  [ "$found" = 1 ] || { echo "receive: no $CARRY/pNN folder in this call (name it in carry)"; return 1; }
}

install_group() {
  local group=$1 log="$OUT/install-$1.log"
  "$PY" - "$STORE" "$group" <<'EOF' 2>&1 | tee "$log" || return 1
import hashlib, json, lzma, sys, tarfile
from pathlib import Path

store, group = Path(sys.argv[1]), sys.argv[2]
info = json.loads((store / "manifest.json").read_text())["groups"].get(group)
if info is None:
    sys.exit(f"group {group!r} is not in the carried manifest")
missing = [c["file"] for c in info["chunks"] if not (store / c["file"]).exists()]
if missing:
    sys.exit(f"{group}: chunks not received yet: {missing} (parts {sorted({c['part'] for c in info['chunks']})})")
for c in info["chunks"]:
    if hashlib.sha256((store / c["file"]).read_bytes()).hexdigest() != c["sha256"]:
        sys.exit(f"{group}: {c['file']} is damaged (SHA-256 differs): send {c['part']} again")

class Joined:  # the chunks read as one file
    def __init__(self, paths):
        self.files = [open(p, "rb") for p in paths]
    def read(self, size=-1):
        out = b""
        while self.files and (size < 0 or len(out) < size):
            block = self.files[0].read(-1 if size < 0 else size - len(out))
            if not block:
                self.files.pop(0).close()
                continue
            out += block
        return out

target = store / "wheels" / group
target.mkdir(parents=True, exist_ok=True)
with lzma.open(Joined([store / c["file"] for c in info["chunks"]])) as stream, tarfile.open(fileobj=stream, mode="r|") as tar:
    tar.extractall(target, filter="data")
print(f"{group}: {len(list(target.glob('*.whl')))} wheels unpacked in {target}")
EOF
  local target_args=(--no-index --no-deps --no-cache-dir --disable-pip-version-check)
  [ -n "${TOOLKIT_CARRY_TARGET:-}" ] && target_args+=(--target "$TOOLKIT_CARRY_TARGET")
  "$PY" -m pip install "${target_args[@]}" "$STORE/wheels/$group"/*.whl 2>&1 | tail -5 | tee -a "$log"
  local status=${PIPESTATUS[0]}
  [ -z "${TOOLKIT_CARRY_TARGET:-}" ] && { echo "== pip check (informative)"; "$PY" -m pip check 2>&1 | head -40; } | tee -a "$log"
  return "$status"
}

bench() {
  local failed=()
  for script in benchmarks/gpu_bench_*.py; do
    echo "== $script" | tee -a "$OUT/bench.log"
    "$PY" "$script" --summary "$OUT/gpu_summary.json" "$@" 2>&1 | tee -a "$OUT/bench.log"
    [ "${PIPESTATUS[0]}" = 0 ] || failed+=("$script")
  done
  [ ${#failed[@]} = 0 ] || { echo "bench: failed or disagreed: ${failed[*]}" | tee -a "$OUT/bench.log"; return 1; }
}

run_tests() {
  "$PY" -m pytest -m gpu tests/gpu -q -rs -p no:cacheprovider "$@" 2>&1 | tee "$OUT/gpu-tests.log"
  return "${PIPESTATUS[0]}"
}

command=${1:-}
shift || true
case "$command" in
  env) env_report ;;
  receive) receive ;;
  install) [ $# -gt 0 ] || { echo "install: name a group (base, rapids, cuml)"; exit 2; }
           for group in "$@"; do install_group "$group" || exit 1; done ;;
  bench) bench "$@" ;;
  test) run_tests "$@" ;;
  *) sed -n '2,40p' "$0"; exit 2 ;;
esac
