"""Benchmark: toolkit.regress.LinearRegression vs scikit-learn's LinearRegression, same process.

Fits ordinary least squares with an intercept on an ``n x p`` float64 matrix (default
10,000,000 x 50, 4 GB) and prints the time of each, the time ratio (ours / scikit-learn; the
goal is <= 1.0), the largest coefficient difference and the peak extra memory of each fit
(resident set size sampled every 5 ms above the level before the fit).

Ours runs first on the pristine matrix; scikit-learn then runs with ``copy_X=False`` (it
centres ``X`` in place instead of copying 4 GB first), which is the faster and leaner way to
call it, so the comparison favours the peer. Add ``--device gpu`` on a CUDA machine to time our
fit on a CuPy copy as well.

Run under the shared benchmark lock::

    flock /tmp/bench.lock .venv/bin/python benchmarks/bench_regress.py --rows 10000000
"""

from __future__ import annotations

import argparse
import threading
import time

import numpy as np
import psutil


class PeakMemory:
    """Peak resident memory above the starting level while the ``with`` block runs (bytes)."""

    def __init__(self, interval: float = 0.005):
        self.interval = interval
        self.peak = 0

    def __enter__(self) -> "PeakMemory":
        self._proc = psutil.Process()
        self._base = self._proc.memory_info().rss
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._watch, daemon=True)
        self._thread.start()
        return self

    def _watch(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, self._proc.memory_info().rss - self._base)
            time.sleep(self.interval)

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, self._proc.memory_info().rss - self._base)


def make_data(rows: int, features: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Standard-normal design filled block by block (no full-size temporaries), linear target."""
    rng = np.random.default_rng(seed)
    X = np.empty((rows, features))
    block = 1_000_000
    for start in range(0, rows, block):
        rng.standard_normal(out=X[start : start + block])
    beta = rng.normal(size=features)
    y = X @ beta + 3.0 + rng.normal(scale=0.5, size=rows)
    return X, y, beta


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=10_000_000)
    parser.add_argument("--features", type=int, default=50)
    parser.add_argument("--device", choices=["cpu", "gpu"], default="cpu")
    args = parser.parse_args()

    from sklearn.linear_model import LinearRegression as SkLinearRegression

    from toolkit.regress import LinearRegression

    X, y, _ = make_data(args.rows, args.features)
    gib = X.nbytes / 2**30
    print(f"data: {args.rows:,} x {args.features} float64 ({gib:.2f} GiB)")

    with PeakMemory() as mem_ours:
        t0 = time.perf_counter()
        ours = LinearRegression().fit(X, y)
        t_ours = time.perf_counter() - t0
    print(f"toolkit LinearRegression (blocked QR): {t_ours:.2f} s, peak extra memory {mem_ours.peak / 2**20:.0f} MiB")

    if args.device == "gpu":
        import cupy

        Xd, yd = cupy.asarray(X), cupy.asarray(y)
        LinearRegression().fit(Xd, yd)  # warm-up (kernels, cuSOLVER handles)
        cupy.cuda.Device().synchronize()
        t0 = time.perf_counter()
        gpu = LinearRegression().fit(Xd, yd)
        cupy.cuda.Device().synchronize()
        t_gpu = time.perf_counter() - t0
        diff_gpu = float(np.max(np.abs(cupy.asnumpy(gpu.coef_) - ours.coef_)))
        print(f"toolkit LinearRegression on CuPy: {t_gpu:.3f} s, max |coef diff| vs CPU {diff_gpu:.2e}")
        del Xd, yd

    coef_ours, intercept_ours = ours.coef_.copy(), ours.intercept_
    with PeakMemory() as mem_sk:
        t0 = time.perf_counter()
        sk = SkLinearRegression(copy_X=False).fit(X, y)  # centres X in place: run last
        t_sk = time.perf_counter() - t0
    print(f"scikit-learn LinearRegression(copy_X=False): {t_sk:.2f} s, peak extra memory {mem_sk.peak / 2**20:.0f} MiB")

    diff = float(np.max(np.abs(coef_ours - sk.coef_)))
    print(f"time ratio ours/sklearn: {t_ours / t_sk:.3f} (goal <= 1.0)")
    print(f"max |coef diff|: {diff:.3e}; |intercept diff|: {abs(intercept_ours - sk.intercept_):.3e}")


if __name__ == "__main__":
    main()
