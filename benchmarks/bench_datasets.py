"""Generator throughput: sales rows per second in memory and streamed to Parquet.

There is no peer to run side by side here; the figure to watch is rows/s and that the
Parquet writer's peak memory stays bounded by one block whatever the size.

    python benchmarks/bench_datasets.py [--skus 2000] [--parquet-skus 4000]
"""

from __future__ import annotations

import argparse
import tempfile
import threading
import time

import psutil

from toolkit.datasets import make_retail, write_parquet


class PeakRSS:
    """Peak resident memory of this process while the block runs (sampled every 20 ms)."""

    def __enter__(self):
        self.proc, self.base, self.peak, self._stop = psutil.Process(), psutil.Process().memory_info().rss, 0, False
        self._thread = threading.Thread(target=self._watch, daemon=True)
        self._thread.start()
        return self

    def _watch(self):
        while not self._stop:
            self.peak = max(self.peak, self.proc.memory_info().rss)
            time.sleep(0.02)

    def __exit__(self, *exc):
        self._stop = True
        self._thread.join()
        self.extra_gib = max(self.peak - self.base, 0) / 2**30
        self.peak_gib = self.peak / 2**30


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--skus", type=int, default=2000)
    parser.add_argument("--parquet-skus", type=int, default=4000)
    parser.add_argument("--locations", type=int, default=7)
    parser.add_argument("--days", type=int, default=730)
    args = parser.parse_args()

    # The streamed writer runs first: RSS the allocator keeps after a big run would hide its peak.
    rows = args.parquet_skus * args.locations * args.days
    with tempfile.TemporaryDirectory() as tmp, PeakRSS() as mem:
        start = time.perf_counter()
        write_parquet(tmp, n_skus=args.parquet_skus, n_locations=args.locations, n_days=args.days, progress=False)
        seconds = time.perf_counter() - start
    print(f"write_parquet (chunked): {rows:,} sales rows in {seconds:.1f} s = {rows / seconds:,.0f} sales rows/s, "
          f"peak RSS {mem.peak_gib:.2f} GiB (+{mem.extra_gib:.2f}; bounded by one block of 256 skus)")

    rows = args.skus * args.locations * args.days
    with PeakRSS() as mem:
        start = time.perf_counter()
        data = make_retail(n_skus=args.skus, n_locations=args.locations, n_days=args.days, progress=False)
        seconds = time.perf_counter() - start
    print(f"make_retail (in memory): {rows:,} sales rows (+{len(data.orders):,} order lines, "
          f"{len(data.shipments):,} shipments) in {seconds:.1f} s = {rows / seconds:,.0f} sales rows/s, "
          f"peak RSS {mem.peak_gib:.2f} GiB (+{mem.extra_gib:.2f})")


if __name__ == "__main__":
    main()
