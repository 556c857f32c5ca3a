"""Benchmark: the end-to-end pipeline out of core with Dask at 10^6, 10^7 (and 10^8) sales rows.

For each size the script

1. generates the synthetic supply chain straight to partitioned Parquet with
   :func:`toolkit.datasets.write_parquet` (memory bounded by one block of 256 skus; one core),
2. runs :func:`toolkit.pipeline.run_pipeline` on a :func:`toolkit.scale.cluster` (one
   single-thread worker process per core): cleanse -> features -> OLS fit (TSQR over
   partitions) -> per-series anomaly scores, the scores written to Parquet,
3. prints wall time (generation, fit pass, score pass), rows per second and the peak resident
   memory of the whole process tree (this process, the scheduler, the nannies and workers),
   sampled every 0.1 s with psutil.

A small warm-up run first lets every worker import the toolkit and load its compiled numba
kernels, so the first size is not charged for it.

The fit pass is everything :func:`toolkit.pipeline.run_pipeline` computes eagerly: the OLS fit
(one pass) and the anomaly detector's row count and fitting sample (two more passes inside
:func:`toolkit.anomaly.detect`); the score pass computes and writes the scores.

At the smallest size (up to 2 million rows) it also runs the same pipeline on the in-memory
pandas frame in this process (the peer) and checks that the Dask scores equal the pandas scores (at that size the
anomaly detector is fitted on every row rather than on the default sample of 100,000 rows). With two or more
sizes it prints the cost per row of each size relative to the previous one (linear growth
means a ratio near 1).

Run it under the benchmark lock (the machine's cores are shared)::

    flock /tmp/bench.lock .venv/bin/python benchmarks/bench_scale.py
    flock /tmp/bench.lock .venv/bin/python benchmarks/bench_scale.py --with-1e8
"""

from __future__ import annotations

import argparse
import math
import shutil
import tempfile
import threading
import time
from pathlib import Path

import numpy as np
import pandas as pd
import psutil

from toolkit import pipeline, scale
from toolkit.datasets import load_parquet, write_parquet

N_LOCATIONS, N_DAYS = 5, 730
KEYS = ["sku", "location", "date"]
CHECK_MAX_ROWS = 2e6  # the pandas peer holds the whole panel and its features in this process


class PeakMemory:
    """Peak summed RSS of this process and all its descendants, sampled in a thread."""

    def __init__(self, interval: float = 0.1):
        self.interval, self.peak, self._stop = interval, 0, threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _rss(self) -> int:
        me = psutil.Process()
        total = 0
        for proc in [me, *me.children(recursive=True)]:
            try:
                total += proc.memory_info().rss
            except psutil.Error:
                continue
        return total

    def _run(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, self._rss())
            self._stop.wait(self.interval)

    def __enter__(self) -> "PeakMemory":
        self.peak = self._rss()
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


def gib(n: float) -> str:
    return f"{n / 2**30:.2f} GiB"


def parity(dask_scores: pd.DataFrame, pandas_scores: pd.DataFrame) -> str:
    a = dask_scores.sort_values(KEYS).reset_index(drop=True)
    b = pandas_scores.sort_values(KEYS).reset_index(drop=True)
    if len(a) != len(b) or not a[KEYS].astype(str).equals(b[KEYS].astype(str)):
        raise AssertionError(f"Dask scored {len(a)} rows, pandas {len(b)}, or their keys differ")
    np.testing.assert_array_equal(a["units"].to_numpy(), b["units"].to_numpy())
    np.testing.assert_allclose(a["prediction"], b["prediction"], rtol=1e-9, atol=1e-9)
    np.testing.assert_allclose(a["anomaly_score"], b["anomaly_score"], rtol=1e-9, atol=1e-12)
    d_pred = float(np.max(np.abs(a["prediction"].to_numpy() - b["prediction"].to_numpy())))
    d_score = float(np.max(np.abs(a["anomaly_score"].to_numpy() - b["anomaly_score"].to_numpy())))
    return f"max |dprediction| {d_pred:.1e}, max |dscore| {d_score:.1e}"


def run_size(client, rows_wanted: float, work: Path, check: bool) -> dict:
    n_skus = math.ceil(rows_wanted / (N_LOCATIONS * N_DAYS))
    rows = n_skus * N_LOCATIONS * N_DAYS
    data_dir, out_dir = work / f"data-{rows}", work / f"scores-{rows}"
    for d in (data_dir, out_dir):
        shutil.rmtree(d, ignore_errors=True)
    with PeakMemory() as mem:
        t0 = time.perf_counter()
        write_parquet(data_dir, n_skus=n_skus, n_locations=N_LOCATIONS, n_days=N_DAYS, seed=0, progress=False)
        t1 = time.perf_counter()
        sales = scale.read_parquet_dataset(data_dir, "sales")
        # checked size: the detector is fitted on every row (not a sample) so that pandas and Dask agree
        result = pipeline.run_pipeline(sales, detector_sample=rows if check else 100_000)
        t2 = time.perf_counter()
        result.scores.to_parquet(out_dir, write_index=False)
        t3 = time.perf_counter()
    gen, fit, score = t1 - t0, t2 - t1, t3 - t2
    total = t3 - t0
    print(f"rows={rows:>11,d} partitions={sales.npartitions:>4d}  generate {gen:7.1f} s  fit pass {fit:7.1f} s  "
          f"score pass {score:7.1f} s  total {total:7.1f} s  rows/s {rows / total:>9,.0f} "
          f"(pipeline only {rows / (fit + score):>9,.0f})  peak memory {gib(mem.peak)}", flush=True)
    out = {"rows": rows, "total": total, "pipeline": fit + score, "peak": mem.peak}
    if check:
        sales_pd = load_parquet(data_dir, tables=("sales",)).sales
        t4 = time.perf_counter()
        reference = pipeline.run_pipeline(sales_pd).scores
        t5 = time.perf_counter()
        got = pd.read_parquet(out_dir)
        print(f"  pandas in-memory pipeline (this process) {t5 - t4:.1f} s vs Dask {fit + score:.1f} s "
              f"(ratio dask/pandas {(fit + score) / (t5 - t4):.2f}); "
              f"Dask == pandas on {len(got):,d} scored rows: {parity(got, reference)}", flush=True)
        del sales_pd, reference, got
    shutil.rmtree(out_dir, ignore_errors=True)
    shutil.rmtree(data_dir, ignore_errors=True)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", type=float, nargs="+", default=[1e6, 1e7], help="sales rows per run")
    parser.add_argument("--with-1e8", action="store_true", help="add a run at 10^8 rows")
    parser.add_argument("--workers", type=int, default=None, help="worker processes (default: one per core)")
    parser.add_argument("--work-dir", default=None, help="where data and scores are written (default: a temp dir)")
    args = parser.parse_args()
    sizes = sorted(set(args.sizes + ([1e8] if args.with_1e8 else [])))
    work = Path(args.work_dir or tempfile.mkdtemp(prefix="bench_scale-"))
    work.mkdir(parents=True, exist_ok=True)
    print(f"machine: {psutil.cpu_count()} cores, {gib(psutil.virtual_memory().total)} RAM; work dir {work}")
    results = []
    with scale.cluster(n_workers=args.workers, gpu="auto", dashboard_address=None) as client:
        info = client.scheduler_info()["workers"].values()
        print(f"cluster: {len(info)} workers x {next(iter(info))['nthreads']} thread(s), backend "
              f"{client.dataframe_backend}, memory limit {gib(next(iter(info))['memory_limit'])} per worker")
        start = time.perf_counter()
        warm = write_parquet(work / "warm-up", n_skus=2 * 256, n_locations=2, n_days=60, progress=False)
        pipeline.run_pipeline(scale.read_parquet_dataset(warm, "sales")).scores.to_parquet(work / "warm-up-scores")
        print(f"warm-up (worker imports, numba kernels), not counted: {time.perf_counter() - start:.1f} s")
        for i, size in enumerate(sizes):
            results.append(run_size(client, size, work, check=(i == 0 and size <= CHECK_MAX_ROWS)))
    for prev, cur in zip(results, results[1:]):
        ratio = (cur["pipeline"] / cur["rows"]) / (prev["pipeline"] / prev["rows"])
        ratio_total = (cur["total"] / cur["rows"]) / (prev["total"] / prev["rows"])
        print(f"cost per row {cur['rows']:,d} vs {prev['rows']:,d}: pipeline x{ratio:.2f}, end to end x{ratio_total:.2f}")
    if args.work_dir is None:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
