"""Benchmark: ``toolkit.cleanse.clean`` against the same steps written by hand in pandas.

The input is ``--rows`` order lines with the schema of ``make_retail``'s orders table, built
directly with NumPy (``make_retail`` would need ~14M sales rows to yield 10M order lines), with
the generator's kinds of injected errors: exact duplicate lines, negative quantities and missing
unit prices. Both sides run, in this process on the same frame, the steps a user runs first on
raw orders:

1. drop exact duplicate lines;
2. validate against the orders schema (required columns, dtypes, not-null, ranges, unique
   ``order_id``), dropping rows with negative quantities;
3. fill missing unit prices with the median of the sku;
4. clip quantities to the per-(sku, location) IQR fences;
5. pseudonymize ``customer_id`` and ``email`` with HMAC-SHA256.

The hand-written side is the idiomatic pandas a data scientist writes for the same job
(``drop_duplicates``, boolean masks, ``groupby().transform``, :func:`hmac.digest` of the categories of
a categorical column, as ``pseudonymize`` returns categories). The script checks that both results agree, then prints the wall time of each, the
ratio ours / hand-written and the peak memory of each above its starting point, next to the size
of the input frame.

Peak memory is the process' resident set size sampled every 5 ms by a thread (it counts NumPy,
pandas and Arrow string buffers alike; Arrow is told to use the system allocator so that freed
memory is returned and the second run starts from a clean baseline).

Run it under the benchmark lock (the machine's cores are shared)::

    flock /tmp/bench.lock .venv/bin/python benchmarks/bench_cleanse.py
    flock /tmp/bench.lock .venv/bin/python benchmarks/bench_cleanse.py --rows 1000000
"""

from __future__ import annotations

import os

os.environ.setdefault("ARROW_DEFAULT_MEMORY_POOL", "system")

import argparse  # noqa: E402
import dataclasses  # noqa: E402
import gc  # noqa: E402
import hmac  # noqa: E402
import threading  # noqa: E402
import time  # noqa: E402

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import psutil  # noqa: E402

from toolkit import cleanse  # noqa: E402

KEY = b"benchmark-key-0123456789abcdefgh"
# the orders schema, with missing unit prices allowed (they are filled, not dropped)
SCHEMA = dataclasses.replace(cleanse.ORDERS, columns={
    **cleanse.ORDERS.columns, "unit_price": dataclasses.replace(cleanse.ORDERS.columns["unit_price"], nullable=True)})
STEPS = [
    ("drop_duplicates", {}),
    ("validate", {"schema": SCHEMA, "errors": "drop"}),
    ("fill_missing", {"cols": "unit_price", "method": "median", "id_cols": "sku", "time_col": "order_ts"}),
    ("clip_outliers", {"cols": "quantity", "method": "iqr", "id_cols": ["sku", "location"]}),
    ("pseudonymize", {"cols": ["customer_id", "email"], "key": KEY}),
]


def make_orders(n_rows: int, seed: int = 0, error_rate: float = 0.002) -> pd.DataFrame:
    """Order lines with the orders schema of ``make_retail`` and injected errors."""
    rng = np.random.default_rng(seed)
    n_skus, n_locations, n_customers = 5000, 20, 500_000
    locations = ["web", "app", "marketplace", *[f"store_{i:02d}" for i in range(1, n_locations - 2)]]
    channels = ["web", "app", "marketplace", "store"]
    loc = rng.integers(0, n_locations, n_rows)
    sku = rng.integers(0, n_skus, n_rows)
    base_price = np.round(rng.lognormal(2.5, 0.8, n_skus), 2)
    customers = np.array([f"C{i:08d}" for i in range(1, n_customers + 1)], dtype=object)
    emails = np.array([f"customer{i:08d}@example.com" for i in range(1, n_customers + 1)], dtype=object)
    cust = rng.integers(0, n_customers, n_rows)
    quantity = (rng.poisson(2.0, n_rows) + 1).astype(np.int32)
    price = (base_price[sku] * rng.uniform(0.9, 1.1, n_rows)).astype(np.float32)
    n_bad = int(n_rows * error_rate)
    quantity[rng.choice(n_rows, n_bad, replace=False)] *= -1
    price[rng.choice(n_rows, n_bad, replace=False)] = np.nan
    df = pd.DataFrame({
        "order_id": np.arange(1, n_rows + 1, dtype=np.int64),
        "order_ts": (np.datetime64("2024-01-01", "ns")
                     + rng.integers(0, 366 * 86400, n_rows).astype("timedelta64[s]")).astype("datetime64[ns]"),
        "sku": pd.Categorical.from_codes(sku, categories=[f"SKU{i:05d}" for i in range(1, n_skus + 1)]),
        "location": pd.Categorical.from_codes(loc, categories=locations),
        "channel": pd.Categorical.from_codes(np.minimum(loc, 3), categories=channels),
        "customer_id": pd.array(customers[cust], dtype="str"),
        "email": pd.array(emails[cust], dtype="str"),
        "quantity": quantity,
        "unit_price": price,
    })
    dup = np.sort(rng.choice(n_rows, n_bad, replace=False))
    return pd.concat([df, df.iloc[dup]], ignore_index=True).sort_values("order_id", kind="stable",
                                                                         ignore_index=True)


def hand_written(df: pd.DataFrame) -> pd.DataFrame:
    """The same five steps in plain pandas."""
    df = df.drop_duplicates()
    # validation: required columns and dtypes, nulls, ranges, unique order ids
    for col, rule in SCHEMA.columns.items():
        if col not in df.columns:
            raise ValueError(f"missing column {col}")
        if not rule.nullable and df[col].isna().any():
            raise ValueError(f"nulls in {col}")
    if not pd.api.types.is_integer_dtype(df["quantity"]) or not pd.api.types.is_float_dtype(df["unit_price"]):
        raise ValueError("wrong dtypes")
    if (df["unit_price"] < 0).any():
        raise ValueError("negative prices")
    if df["order_id"].duplicated().any():
        raise ValueError("duplicated order ids")
    df = df[df["quantity"] >= 0]
    # fill missing prices with the sku median
    price = df["unit_price"].astype("float64")
    df = df.assign(unit_price=price.fillna(price.groupby(df["sku"], observed=True).transform("median")))
    # clip quantities to per-(sku, location) IQR fences
    qty = df["quantity"].astype("float64")
    g = qty.groupby([df["sku"], df["location"]], observed=True)
    q1, q3 = g.transform("quantile", 0.25), g.transform("quantile", 0.75)
    df = df.assign(quantity=qty.clip(q1 - 1.5 * (q3 - q1), q3 + 1.5 * (q3 - q1)))
    # pseudonymize: hash each distinct value once (standard library's one-shot HMAC), as categories
    out = {}
    for col in ("customer_id", "email"):
        cat = df[col].astype("category").cat.remove_unused_categories()
        out[col] = cat.cat.rename_categories(
            [hmac.digest(KEY, v.encode(), "sha256").hex() for v in cat.cat.categories.tolist()])
    return df.assign(**out)


def ours(df: pd.DataFrame) -> pd.DataFrame:
    out, _ = cleanse.clean(df, STEPS)
    return out


class PeakRSS:
    """Peak resident memory above the level at entry, sampled by a thread."""

    def __enter__(self) -> "PeakRSS":
        gc.collect()
        self._proc = psutil.Process()
        self.base = self._proc.memory_info().rss
        self.peak = self.base
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()
        return self

    def _sample(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, self._proc.memory_info().rss)
            time.sleep(0.005)

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, self._proc.memory_info().rss)

    @property
    def delta(self) -> int:
        return self.peak - self.base


def run(func, df):
    with PeakRSS() as mem:
        start = time.perf_counter()
        out = func(df)
        seconds = time.perf_counter() - start
    return out, seconds, mem.delta


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=10_000_000, help="order lines before duplicates (default 10M)")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    df = make_orders(args.rows, args.seed)
    size = int(df.memory_usage(deep=True).sum())
    mib = 2.0 ** 20
    print(f"bench_cleanse: {len(df):,} order lines, input frame {size / mib:,.0f} MiB, steps: "
          + ", ".join(name for name, _ in STEPS))

    theirs_out, t_theirs, m_theirs = run(hand_written, df)
    ours_out, t_ours, m_ours = run(ours, df)
    pd.testing.assert_frame_equal(ours_out.reset_index(drop=True), theirs_out.reset_index(drop=True),
                                  check_dtype=False, check_categorical=False)
    print(f"hand-written pandas : {t_theirs:7.2f} s   peak +{m_theirs / mib:,.0f} MiB ({m_theirs / size:.2f}x input)")
    print(f"toolkit clean()     : {t_ours:7.2f} s   peak +{m_ours / mib:,.0f} MiB ({m_ours / size:.2f}x input)")
    print(f"ratio ours/hand-written: time {t_ours / t_theirs:.2f}, peak memory {m_ours / max(m_theirs, 1):.2f}")


if __name__ == "__main__":
    main()
