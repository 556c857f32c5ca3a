"""Benchmark: toolkit.features.build_features against mlforecast's MLForecast.preprocess.

Both compute, on a panel of ``--series`` series x ``--days`` days, lags 1, 7, 14, 28, rolling
mean over 7 and 28 rows, rolling std over 28 rows (all on the target shifted by one row),
day of week and month, in the same process on the same frame. The script checks that the
values agree, then prints the best-of-``--repeat`` wall time of each, the ratio
ours/mlforecast, and the peak memory of each call.

Peak memory is measured with ``tracemalloc`` (Python and NumPy allocations, which covers
pandas, numba's output arrays and coreforecast's NumPy buffers) in a separate, untimed call,
so tracing does not slow the timed runs. It is reported next to the size of the output frame.

Run it under the benchmark lock (the machine's cores are shared)::

    flock /tmp/bench.lock .venv/bin/python benchmarks/bench_features.py
    flock /tmp/bench.lock .venv/bin/python benchmarks/bench_features.py --scale 10
"""

from __future__ import annotations

import argparse
import gc
import time
import tracemalloc

import numpy as np
import pandas as pd

from toolkit.features import FeatureSpec, build_features

LAGS = (1, 7, 14, 28)


def make_panel(n_series: int, n_days: int, seed: int = 0) -> pd.DataFrame:
    """Sorted long panel: one categorical id, daily dates, float32 Poisson-like target."""
    rng = np.random.default_rng(seed)
    ids = pd.Categorical.from_codes(np.repeat(np.arange(n_series, dtype=np.int32), n_days),
                                    categories=[f"SKU{i:06d}" for i in range(n_series)])
    dates = np.tile(pd.date_range("2024-01-01", periods=n_days, freq="D").to_numpy(), n_series)
    level = rng.gamma(2.0, 5.0, n_series).repeat(n_days)
    units = rng.poisson(level).astype(np.float32)
    return pd.DataFrame({"sku": ids, "date": dates, "units": units})


def ours(df: pd.DataFrame) -> pd.DataFrame:
    spec = FeatureSpec(lags=LAGS, rolling={7: ("mean",), 28: ("mean", "std")}, calendar=("dayofweek", "month"),
                       fourier=(), id_cols=("sku",), time_col="date", target_col="units")
    return build_features(df, spec)


def theirs(df: pd.DataFrame) -> pd.DataFrame:
    from mlforecast import MLForecast
    from mlforecast.lag_transforms import RollingMean, RollingStd

    fcst = MLForecast(models=[], freq="D", lags=list(LAGS),
                      lag_transforms={1: [RollingMean(7), RollingMean(28), RollingStd(28)]},
                      date_features=["dayofweek", "month"])
    return fcst.preprocess(df, id_col="sku", time_col="date", target_col="units", dropna=False)


PAIRS = {  # ours -> mlforecast
    **{f"lag_{k}": f"lag{k}" for k in LAGS},
    "rolling_mean_7": "rolling_mean_lag1_window_size7",
    "rolling_mean_28": "rolling_mean_lag1_window_size28",
    "rolling_std_28": "rolling_std_lag1_window_size28",
    "dayofweek": "dayofweek",
    "month": "month",
}


def check(a: pd.DataFrame, b: pd.DataFrame) -> None:
    b = b.sort_values(["sku", "date"]).reset_index(drop=True)
    a = a.sort_values(["sku", "date"]).reset_index(drop=True)
    assert len(a) == len(b), (len(a), len(b))
    for mine, other in PAIRS.items():
        # mlforecast works in the target's float32 and slides its std window (add/remove), which
        # leaves up to ~2e-4 of round-off where the exact std of a constant window is 0
        atol = 1e-3 if "std" in mine else 1e-5
        np.testing.assert_allclose(a[mine].to_numpy("float64"), b[other].to_numpy("float64"), rtol=1e-5, atol=atol,
                                   equal_nan=True, err_msg=mine)


def best_time(func, df: pd.DataFrame, repeat: int) -> tuple[float, float]:
    """Best wall time and best CPU time (user + system, page faults included) over ``repeat`` calls."""
    wall, cpu = [], []
    for _ in range(repeat):
        gc.collect()
        start, start_cpu = time.perf_counter(), time.process_time()
        out = func(df)
        wall.append(time.perf_counter() - start)
        cpu.append(time.process_time() - start_cpu)
        del out
    return min(wall), min(cpu)


def peak_memory(func, df: pd.DataFrame) -> tuple[int, int]:
    """(peak bytes traced during the call, bytes of the returned frame)."""
    gc.collect()
    tracemalloc.start()
    tracemalloc.reset_peak()
    out = func(df)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    size = int(out.memory_usage(index=True, deep=False).sum())
    del out
    return peak, size


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--series", type=int, default=5000)
    parser.add_argument("--days", type=int, default=730)
    parser.add_argument("--scale", type=int, default=1, help="multiply the number of series")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    n_series = args.series * args.scale
    df = make_panel(n_series, args.days)
    print(f"panel: {n_series} series x {args.days} days = {len(df):,} rows "
          f"({df.memory_usage(deep=False).sum() / 2**20:.0f} MiB)")
    a, b = ours(df), theirs(df)  # warm-up (numba compilation / caches) and value check
    check(a, b)
    print(f"values agree with mlforecast on {len(PAIRS)} features (allclose rtol=1e-5, atol=1e-5; 1e-3 for std)")
    del a, b
    t_ours, c_ours = best_time(ours, df, args.repeat)
    t_theirs, c_theirs = best_time(theirs, df, args.repeat)
    m_ours, size_ours = peak_memory(ours, df)
    m_theirs, size_theirs = peak_memory(theirs, df)
    mib = 2**20
    print(f"time  ours {t_ours:.3f} s | mlforecast {t_theirs:.3f} s | ratio ours/mlforecast {t_ours / t_theirs:.2f}"
          f" (best of {args.repeat})")
    print(f"cpu   ours {c_ours:.3f} s | mlforecast {c_theirs:.3f} s | ratio ours/mlforecast {c_ours / c_theirs:.2f}")
    print(f"peak memory (tracemalloc) ours {m_ours / mib:.0f} MiB | mlforecast {m_theirs / mib:.0f} MiB | "
          f"ratio {m_ours / m_theirs:.2f}")
    print(f"output frame ours {size_ours / mib:.0f} MiB | mlforecast {size_theirs / mib:.0f} MiB | "
          f"peak/output ours {m_ours / size_ours:.2f} | mlforecast {m_theirs / size_theirs:.2f}")
    print(f"per million rows (wall): ours {t_ours / len(df) * 1e6:.3f} s | mlforecast {t_theirs / len(df) * 1e6:.3f} s")


if __name__ == "__main__":
    main()
