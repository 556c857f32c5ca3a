"""GPU benchmark: blocked-QR least squares (toolkit.regress) on CuPy vs on NumPy vs scikit-learn.

Data: ``--rows`` x ``--cols`` float64 with correlated columns (a shared factor), a known
coefficient vector and noise; weights uniform in [0.5, 2] for the weighted case. Cases:

* ``ols``: ``LinearRegression().fit(X, y)`` -- input checks, blocked QR (1M-row blocks on the
  GPU, 32k on the host), the SVD solve and the standard errors -- against
  ``sklearn.linear_model.LinearRegression`` (LAPACK ``gelsd`` on all cores);
* ``weighted ridge``: ``Ridge(alpha=10).fit(X, y, sample_weight=w)`` against scikit-learn's
  ``Ridge`` (its ``cholesky`` solver on the weighted normal equations).

Agreement: coefficients and intercept within rtol 1e-8, atol 1e-10 between the device and our
CPU path; rtol 1e-6, atol 1e-8 against scikit-learn (QR against normal equations / SVD).
"""

from __future__ import annotations

import sys

import numpy as np

from gpu_common import Run, agreement, arguments, select_device, time_call

SIZES = {"rows": 20_000_000, "cols": 20}
TINY = {"rows": 5_000, "cols": 6}
TOL = {"cpu": (1e-8, 1e-10), "peer": (1e-6, 1e-8)}


def make_data(rows: int, cols: int, seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((rows, cols))
    X += 0.5 * rng.standard_normal((rows, 1))  # a shared factor: correlated columns
    beta = rng.normal(size=cols)
    y = 3.0 + X @ beta + rng.normal(scale=0.5, size=rows)
    w = rng.uniform(0.5, 2.0, rows)
    return X, y, w


def coefficients(model) -> np.ndarray:
    coef = model.coef_.get() if hasattr(model.coef_, "get") else np.asarray(model.coef_)
    return np.append(coef, float(model.intercept_))


def bench(run: Run, args, device, name: str, ours, peer, X, y, w) -> None:
    Xd, yd = device.put(X), device.put(y)
    wd = None if w is None else device.put(w)
    small = slice(0, min(len(X), 2_000))
    kw_host = {} if w is None else {"sample_weight": w}
    timings = {
        "device": time_call(lambda: ours().fit(Xd, yd, **({} if wd is None else {"sample_weight": wd})), device,
                            args.repeat),
        "cpu": time_call(lambda: ours().fit(X, y, **kw_host), None, args.cpu_repeat,
                         warmup=lambda: ours().fit(X[small], y[small],
                                                   **({} if w is None else {"sample_weight": w[small]}))),
    }
    checks = [agreement("coef + intercept", coefficients(timings["device"].result),
                        coefficients(timings["cpu"].result), *TOL["cpu"])]
    rows = {"device": len(X), "cpu": len(X)}
    if not args.no_peer:
        m = min(args.peer_rows or len(X), len(X))
        part = slice(0, m)
        kw_peer = {} if w is None else {"sample_weight": w[part]}
        timings["peer"] = time_call(lambda: peer().fit(X[part], y[part], **kw_peer), None, args.cpu_repeat,
                                    warmup=lambda: peer().fit(X[small], y[small], **({} if w is None else {
                                        "sample_weight": w[small]})))
        rows["peer"] = m
        same = timings["device"].result if m == len(X) else ours().fit(
            Xd[:m], yd[:m], **({} if wd is None else {"sample_weight": wd[:m]}))
        checks.append(agreement("coef + intercept", coefficients(same), coefficients(timings["peer"].result),
                                *TOL["peer"], against="peer"))
    run.case(name, timings, rows, checks, {"rows": len(X), "cols": X.shape[1], "weighted": w is not None})
    device.free()


def main() -> int:
    args = arguments(__doc__, SIZES, TINY)
    device = select_device(args.device)
    from sklearn.linear_model import LinearRegression as PeerOLS
    from sklearn.linear_model import Ridge as PeerRidge

    from toolkit.regress import LinearRegression, Ridge

    run = Run("ols", device, args, peer="" if args.no_peer else "scikit-learn")
    X, y, w = make_data(args.rows, args.cols, args.seed)
    bench(run, args, device, "ols", LinearRegression, PeerOLS, X, y, None)
    bench(run, args, device, "weighted ridge", lambda: Ridge(alpha=10.0),
          lambda: PeerRidge(alpha=10.0, solver="cholesky"), X, y, w)
    return run.finish()


if __name__ == "__main__":
    sys.exit(main())
