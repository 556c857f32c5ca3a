"""GPU benchmark: native ECOD and COPOD (toolkit.anomaly) on CuPy vs on NumPy vs PyOD.

Data: ``--rows`` x ``--cols`` float32, half the columns normal, half exponential (skewed), 1 %
of the rows shifted by 4 in a quarter of the columns. Cases, for ECOD and for COPOD:

* ``fit``: ``fit(X)`` and the training scores ``decision_scores_`` (the device path on CuPy, our
  CPU path on NumPy -- the same array-API code -- and PyOD's detector);
* ``score``: ``decision_function`` of ``rows // 10`` new rows after fitting (PyOD semantics:
  the ECDF of the training rows and the new rows together);
* ``grouped``: ``segment_tail_scores``, one ECOD fit per group of ``--group-rows`` rows in one
  pass (what ``anomaly.detect(..., id_cols=...)`` runs); PyOD has no grouped fit, so no peer.

PyOD's detectors copy and re-sort the data in every call; at 10^7 rows they take minutes, so
the peer runs on the first ``--peer-rows`` rows (default 1M) and its speed-up is in rows per
second; its values are compared with the device path refitted on those rows.

Tolerances: device vs CPU rtol 1e-9, atol 1e-9 (the same tail counts; sums in another order);
vs PyOD rtol 1e-6, atol 1e-6 (PyOD works in float64 from the float32 input). Target: 20x our
CPU path at >= 10^7 rows.
"""

from __future__ import annotations

import sys

import numpy as np

from gpu_common import Run, agreement, arguments, select_device, time_call

SIZES = {"rows": 10_000_000, "cols": 10, "peer_rows": 1_000_000, "group_rows": 2_000}
TINY = {"rows": 3_000, "cols": 4, "peer_rows": 1_500, "group_rows": 300}
TOL = {"cpu": (1e-9, 1e-9), "peer": (1e-6, 1e-6)}


def make_data(rows: int, cols: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    half = cols // 2
    X = np.column_stack([rng.standard_normal((rows, half)), rng.exponential(size=(rows, cols - half))])
    shifted = rng.choice(rows, max(1, rows // 100), replace=False)
    X[shifted, : max(1, cols // 4)] += 4.0
    return X.astype(np.float32)


def bench_detector(run: Run, args, device, name: str, X: np.ndarray, new: np.ndarray) -> None:
    from toolkit.anomaly import COPOD, ECOD

    ours = {"ecod": ECOD, "copod": COPOD}[name]
    Xd, newd = device.put(X), device.put(new)
    small = X[:1000]
    fit_t = {"device": time_call(lambda: ours().fit(Xd), device, args.repeat),
             "cpu": time_call(lambda: ours().fit(X), None, args.cpu_repeat, warmup=lambda: ours().fit(small))}
    fitted_d, fitted_h = fit_t["device"].result, fit_t["cpu"].result
    score_t = {"device": time_call(lambda: fitted_d.decision_function(newd), device, args.repeat),
               "cpu": time_call(lambda: fitted_h.decision_function(new), None, args.cpu_repeat)}
    fit_checks = [agreement("decision_scores_", fitted_d.decision_scores_, fitted_h.decision_scores_, *TOL["cpu"]),
                  agreement("threshold_", np.array([fitted_d.threshold_]), np.array([fitted_h.threshold_]),
                            *TOL["cpu"])]
    score_checks = [agreement("decision_function", score_t["device"].result, score_t["cpu"].result, *TOL["cpu"])]
    rows_fit = {"device": len(X), "cpu": len(X)}
    rows_score = {"device": len(new), "cpu": len(new)}
    if not args.no_peer:
        try:
            from pyod.models.copod import COPOD as PeerCOPOD
            from pyod.models.ecod import ECOD as PeerECOD
        except ImportError:
            run.skip(f"{name} vs PyOD", "PyOD is not installed")
        else:
            peer = {"ecod": PeerECOD, "copod": PeerCOPOD}[name]
            m = min(args.peer_rows or len(X), len(X))
            part, part_new = X[:m], new[: max(1, m // 10)]
            fit_t["peer"] = time_call(lambda: peer().fit(part), None, args.cpu_repeat,
                                      warmup=lambda: peer().fit(small))
            fitted_p = fit_t["peer"].result
            score_t["peer"] = time_call(lambda: fitted_p.decision_function(part_new), None, args.cpu_repeat)
            rows_fit["peer"], rows_score["peer"] = m, len(part_new)
            same_rows = ours().fit(device.put(part))  # the device path on the peer's rows, for the values
            fit_checks.append(agreement("decision_scores_", same_rows.decision_scores_, fitted_p.decision_scores_,
                                        *TOL["peer"], against="peer"))
            score_checks.append(agreement("decision_function", same_rows.decision_function(device.put(part_new)),
                                          score_t["peer"].result, *TOL["peer"], against="peer"))
    params = {"rows": len(X), "cols": X.shape[1], "dtype": "float32", "new_rows": len(new)}
    run.case(f"{name} fit", fit_t, rows_fit, fit_checks, params, target=20.0)
    run.case(f"{name} score", score_t, rows_score, score_checks, params, target=20.0)
    device.free()


def bench_grouped(run: Run, args, device, X: np.ndarray) -> None:
    from toolkit.anomaly.native import segment_tail_scores

    starts = np.append(np.arange(0, len(X), args.group_rows), len(X)).astype(np.int64)
    Xd, starts_d = device.put(X), device.put(starts)
    small = (X[: starts[min(3, len(starts) - 1)]], starts[: min(4, len(starts))])
    timings = {"device": time_call(lambda: segment_tail_scores(Xd, starts_d, "ecod"), device, args.repeat),
               "cpu": time_call(lambda: segment_tail_scores(X, starts, "ecod"), None, args.cpu_repeat,
                                warmup=lambda: segment_tail_scores(*small, "ecod"))}
    checks = [agreement("per-feature scores", timings["device"].result, timings["cpu"].result, *TOL["cpu"])]
    run.case("grouped ecod", timings, len(X), checks,
             {"rows": len(X), "cols": X.shape[1], "groups": len(starts) - 1, "group_rows": args.group_rows},
             target=20.0, note="no peer: PyOD fits one group per call")
    device.free()


def main() -> int:
    args = arguments(__doc__, SIZES, TINY)
    device = select_device(args.device)
    run = Run("ecod_copod", device, args, peer="" if args.no_peer else "PyOD")
    X = make_data(args.rows, args.cols, args.seed)
    new = make_data(max(1, args.rows // 10), args.cols, args.seed + 1)
    for name in ("ecod", "copod"):
        bench_detector(run, args, device, name, X, new)
    bench_grouped(run, args, device, X)
    return run.finish()


if __name__ == "__main__":
    sys.exit(main())
