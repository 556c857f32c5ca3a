"""GPU benchmark: panel features -- lags, rolling mean/std/quantiles, EWM -- on CuPy vs our numba path vs mlforecast.

Case ``kernels``: the window kernels of ``toolkit.kernels.windows`` on values sorted by series
(ragged series of ``--days // 2`` to ``--days`` rows, float64 counts): the array engine on CuPy
(the device path), the engine our CPU path picks (``engine="auto"``: numba loops; quantiles on
the NumPy array engine), and mlforecast's own kernels (coreforecast's ``GroupedArray`` lag
transforms, all cores) on the same array and CSR bounds. Features: lags 1, 7, 28; rolling mean,
std, median and 90 % quantile over 7 rows; rolling mean and std over 28 rows; EWM with alpha 0.3;
all shifted by one row (as mlforecast's ``lag_transforms={1: [...]}``).

Case ``frames`` (needs cuDF for the device path): ``build_features`` on a cuDF frame vs on the
pandas frame vs ``MLForecast.preprocess``, lags and rolling mean/std plus day of week and month.

Tolerances: lags exact; rolling statistics and EWM rtol 1e-7, atol 1e-7 (1e-6 for std) between
the engines (prefix sums against sliding loops); rtol 1e-6, atol 1e-6 against coreforecast
(its sliding sums accumulate round-off along a series). Target: 20x our CPU path at >= 10^7 rows.

    python benchmarks/gpu_bench_features.py                      # on the GPU, 20M rows
    python benchmarks/gpu_bench_features.py --device cpu --tiny  # the harness on NumPy
"""

from __future__ import annotations

import os
import sys

import numpy as np

from gpu_common import Run, agreement, arguments, ragged_bounds, select_device, time_call

LAGS = (1, 7, 28)
ROLLING = {7: ("mean", "std", "median", "q0.9"), 28: ("mean", "std")}
ALPHA = 0.3
SIZES = {"rows": 20_000_000, "days": 730, "frame_rows": 10_000_000}
TINY = {"rows": 6_000, "days": 120, "frame_rows": 4_000}


def kernel_features(x, layout, engine: str) -> dict:
    """Every feature of the kernels case, by name, from one engine."""
    from toolkit.kernels.windows import ewm_kernel, lag_kernel, rolling_kernel

    out = {f"lag_{k}": lag_kernel(x, layout, k) for k in LAGS}
    for window, stats in ROLLING.items():
        for stat, values in rolling_kernel(x, layout, window, stats, shift=1, engine=engine).items():
            out[f"rolling_{stat}_{window}"] = values
    out[f"ewm_{ALPHA}"] = ewm_kernel(x, layout, ALPHA, shift=1, engine=engine)
    return out


def peer_features(x: np.ndarray, bounds: np.ndarray, threads: int) -> dict:
    """The same features from coreforecast, the kernels mlforecast calls."""
    from coreforecast.grouped_array import GroupedArray
    from coreforecast import lag_transforms as lt

    ga = GroupedArray(x, bounds, num_threads=threads)
    transforms = {f"lag_{k}": lt.Lag(k) for k in LAGS}
    for window, stats in ROLLING.items():
        for stat in stats:
            if stat == "mean":
                transforms[f"rolling_mean_{window}"] = lt.RollingMean(lag=1, window_size=window)
            elif stat == "std":
                transforms[f"rolling_std_{window}"] = lt.RollingStd(lag=1, window_size=window)
            else:
                p = 0.5 if stat == "median" else float(stat[1:])
                transforms[f"rolling_{stat}_{window}"] = lt.RollingQuantile(lag=1, p=p, window_size=window)
    transforms[f"ewm_{ALPHA}"] = lt.ExponentiallyWeightedMean(lag=1, alpha=ALPHA)
    return {name: t.transform(ga) for name, t in transforms.items()}


def tolerance(name: str, against: str) -> tuple[float, float]:
    if name.startswith("lag_"):
        return 0.0, 0.0
    if against == "peer":
        return 1e-6, 1e-6
    return 1e-7, (1e-6 if "std" in name else 1e-7)


def compare(got: dict, want: dict, against: str, rows=slice(None)) -> list:
    checks = []
    for name, values in got.items():
        rtol, atol = tolerance(name, against)
        checks.append(agreement(name, values[rows] if against == "peer" else values, want[name], rtol, atol, against))
    return checks


def bench_kernels(run: Run, args, device) -> None:
    from toolkit.kernels.windows import as_layout

    rng = np.random.default_rng(args.seed)
    bounds = ragged_bounds(rng, max(1, args.rows // ((3 * args.days) // 4)), args.days)
    n = int(bounds[-1])
    level = rng.gamma(2.0, 5.0, bounds.shape[0] - 1).repeat(np.diff(bounds))
    x = rng.poisson(level).astype(np.float64)
    params = {"series": int(bounds.shape[0] - 1), "days": args.days, "lags": LAGS,
              "rolling": {str(k): v for k, v in ROLLING.items()}, "ewm_alpha": ALPHA}

    xd, layout_d = device.put(x), as_layout(device.put(bounds), n)
    layout_h = as_layout(bounds, n)
    timings = {"device": time_call(lambda: kernel_features(xd, layout_d, "array"), device, args.repeat)}
    small_end = int(bounds[min(4, bounds.shape[0] - 1)])
    small = as_layout(bounds[: min(5, bounds.shape[0])], small_end)
    timings["cpu"] = time_call(lambda: kernel_features(x, layout_h, "auto"), None, args.cpu_repeat,
                               warmup=lambda: kernel_features(x[:small_end], small, "auto"))
    checks = compare(timings["device"].result, timings["cpu"].result, "cpu")
    rows = {"device": n, "cpu": n}
    if not args.no_peer:
        threads = os.cpu_count() or 1
        try:
            import coreforecast  # noqa: F401
        except ImportError:
            run.skip("kernels vs coreforecast", "coreforecast (mlforecast's kernels) is not installed")
        else:
            m = int(bounds[np.searchsorted(bounds, min(args.peer_rows or n, n), side="right") - 1]) or n
            cut = bounds[bounds <= m]
            timings["peer"] = time_call(lambda: peer_features(x[:m], cut, threads), None, args.cpu_repeat,
                                        warmup=lambda: peer_features(x[:small_end], bounds[:5], threads))
            rows["peer"] = m
            checks += compare(timings["device"].result, timings["peer"].result, "peer", slice(0, m))
            params["peer_threads"] = threads
    run.case("kernels", timings, rows, checks, params, target=20.0)


def make_frame(rows: int, days: int, seed: int):
    import pandas as pd

    rng = np.random.default_rng(seed)
    n_series = max(1, rows // days)
    ids = pd.Categorical.from_codes(np.repeat(np.arange(n_series, dtype=np.int32), days),
                                    categories=[f"SKU{i:07d}" for i in range(n_series)])
    dates = np.tile(pd.date_range("2024-01-01", periods=days, freq="D").to_numpy(), n_series)
    units = rng.poisson(rng.gamma(2.0, 5.0, n_series).repeat(days)).astype(np.float64)
    return pd.DataFrame({"sku": ids, "date": dates, "units": units})


FRAME_PAIRS = {"lag_1": "lag1", "lag_7": "lag7", "lag_28": "lag28", "rolling_mean_7": "rolling_mean_lag1_window_size7",
               "rolling_mean_28": "rolling_mean_lag1_window_size28", "rolling_std_28": "rolling_std_lag1_window_size28",
               "dayofweek": "dayofweek", "month": "month"}


def bench_frames(run: Run, args, device) -> None:
    from toolkit.features import FeatureSpec, build_features

    spec = FeatureSpec(lags=LAGS, rolling={7: ("mean",), 28: ("mean", "std")}, calendar=("dayofweek", "month"),
                       fourier=(), id_cols=("sku",), time_col="date", target_col="units")
    df = make_frame(args.frame_rows, args.days, args.seed)
    if device.on_gpu:
        try:
            import cudf
        except ImportError:
            run.skip("frames", "cuDF is not installed: build_features on cuDF frames not timed (kernels case ran)")
            return
        frame = cudf.from_pandas(df)
    else:
        frame = df.copy()
    timings = {"device": time_call(lambda: build_features(frame, spec), device, args.repeat),
               "cpu": time_call(lambda: build_features(df, spec), None, args.cpu_repeat,
                                warmup=lambda: build_features(df.head(2 * args.days), spec))}
    got = timings["device"].result
    got = got.to_pandas() if hasattr(got, "to_pandas") else got
    want = timings["cpu"].result
    checks = [agreement(c, got[c].to_numpy("float64"), want[c].to_numpy("float64"), 1e-7, 1e-6) for c in FRAME_PAIRS]
    if not args.no_peer:
        try:
            from mlforecast import MLForecast
            from mlforecast.lag_transforms import RollingMean, RollingStd
        except ImportError:
            run.skip("frames vs mlforecast", "mlforecast is not installed")
        else:
            fcst = MLForecast(models=[], freq="D", lags=list(LAGS), num_threads=os.cpu_count() or 1,
                              lag_transforms={1: [RollingMean(7), RollingMean(28), RollingStd(28)]},
                              date_features=["dayofweek", "month"])
            timings["peer"] = time_call(lambda: fcst.preprocess(df, id_col="sku", time_col="date", target_col="units",
                                                                dropna=False), None, args.cpu_repeat,
                                        warmup=lambda: fcst.preprocess(df.head(2 * args.days), id_col="sku",
                                                                       time_col="date", target_col="units",
                                                                       dropna=False))
            theirs = timings["peer"].result.sort_values(["sku", "date"]).reset_index(drop=True)
            mine = got.sort_values(["sku", "date"]).reset_index(drop=True)
            checks += [agreement(c, mine[c].to_numpy("float64"), theirs[p].to_numpy("float64"), 1e-5,
                                 1e-3 if "std" in c else 1e-5, "peer") for c, p in FRAME_PAIRS.items()]
    run.case("frames", timings, len(df), checks, {"rows": len(df), "days": args.days, "features": list(FRAME_PAIRS)},
             note="device path: build_features on cuDF" if device.on_gpu else "")


def main() -> int:
    args = arguments(__doc__, SIZES, TINY)
    device = select_device(args.device)
    run = Run("features", device, args, peer="" if args.no_peer else "coreforecast/mlforecast")
    bench_kernels(run, args, device)
    device.free()
    bench_frames(run, args, device)
    return run.finish()


if __name__ == "__main__":
    sys.exit(main())
