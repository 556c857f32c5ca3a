"""Benchmark: the global forecaster against baselines (and mlforecast) in a rolling backtest.

On ``make_retail`` data (default 60 SKUs x 5 locations = 300 daily series over two years) a
4-window backtest at horizon 28 scores, on the same windows and rows:

* the baselines naive, seasonal naive (7 days), 28-day moving average and Croston-TSB,
* the default global model: ``Forecaster`` with scikit-learn's HistGradientBoosting, the
  default ``FeatureSpec`` plus price and promo as future-known exogenous columns, per-series
  scaling of the target, stock-out days out of the loss, and 80% conformal intervals
  calibrated inside each window's training data,
* the peer: Nixtla mlforecast with the same model, lags, window means and date features
  (``cross_validation``), when installed.

Stock-out days count as missing actuals for every method (their sales are censored demand).
Missing sales (injected NaN) are filled per series with the previous day's value before
anything runs. Printed: WAPE and MASE of each, the WAPE improvement of the global model over
seasonal naive (goal >= 20%), the empirical coverage of its 80% interval (goal 75-85%), time
and peak extra memory.

Run under the shared benchmark lock::

    flock /tmp/bench.lock .venv/bin/python benchmarks/bench_forecast.py
"""

from __future__ import annotations

import argparse
import time

import pandas as pd

from bench_regress import PeakMemory


def load(n_skus: int, n_locations: int, n_days: int, seed: int) -> pd.DataFrame:
    from toolkit.datasets import make_retail

    sales = make_retail(n_skus=n_skus, n_locations=n_locations, n_days=n_days, seed=seed, progress=False,
                        backend="cpu").sales
    sales = sales.sort_values(["sku", "location", "date"]).reset_index(drop=True)
    sales["units"] = sales.groupby(["sku", "location"], observed=True)["units"].ffill().fillna(0.0)
    return sales.drop(columns=["demand"])  # ground truth the real data lacks


def peer_mlforecast(sales: pd.DataFrame, windows: int, horizon: int) -> pd.DataFrame | None:
    try:
        from mlforecast import MLForecast
        from mlforecast.lag_transforms import RollingMean, RollingStd
    except ImportError:
        return None
    from sklearn.ensemble import HistGradientBoostingRegressor

    df = sales.assign(unique_id=sales["sku"].astype(str) + "|" + sales["location"].astype(str),
                      promo=sales["promo"].astype("float64"), price=sales["price"].astype("float64"))
    df = df[["unique_id", "date", "units", "price", "promo"]].rename(columns={"date": "ds", "units": "y"})
    mlf = MLForecast(
        models={"hgb": HistGradientBoostingRegressor(random_state=0)},
        freq="D",
        lags=[1, 7, 14, 28],
        lag_transforms={1: [RollingMean(7), RollingMean(28), RollingStd(28)]},
        date_features=["dayofweek", "month"],
    )
    cv = mlf.cross_validation(df, n_windows=windows, h=horizon, step_size=horizon, static_features=[])
    keys = sales[["sku", "location"]].drop_duplicates()
    keys = keys.assign(unique_id=keys["sku"].astype(str) + "|" + keys["location"].astype(str))
    cv = cv.merge(keys, on="unique_id").rename(columns={"ds": "date", "hgb": "forecast"})
    return cv[["sku", "location", "date", "forecast"]]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--skus", type=int, default=60)
    parser.add_argument("--locations", type=int, default=5)
    parser.add_argument("--days", type=int, default=730)
    parser.add_argument("--windows", type=int, default=4)
    parser.add_argument("--horizon", type=int, default=28)
    parser.add_argument("--calibration-windows", type=int, default=2)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--no-peer", action="store_true")
    args = parser.parse_args()

    from toolkit import forecast as fcm
    from toolkit.features import FeatureSpec
    from toolkit.regress import evaluate

    sales = load(args.skus, args.locations, args.days, args.seed)
    n_series = len(sales[["sku", "location"]].drop_duplicates())
    print(f"data: {n_series} series x {args.days} days ({len(sales):,} rows), "
          f"{int(sales['stockout'].sum())} stock-out days; backtest {args.windows} windows x h={args.horizon}")

    spec = FeatureSpec(exog=("price", "promo"))
    methods = {
        "naive": fcm.Naive(),
        "seasonal_naive": fcm.SeasonalNaive(season=7),
        "moving_average_28": fcm.MovingAverage(window=28),
        "croston_tsb": fcm.Croston(variant="tsb"),
        "global_hgb": fcm.Forecaster(spec=spec, target_transform="scale",
                                     calibration_windows=args.calibration_windows),
    }
    results = {}
    for name, method in methods.items():
        quantiles = [0.1, 0.9] if name == "global_hgb" else None
        with PeakMemory() as mem:
            t0 = time.perf_counter()
            res = fcm.backtest(method, sales, n_windows=args.windows, horizon=args.horizon, quantiles=quantiles,
                               progress=False)
            seconds = time.perf_counter() - t0
        results[name] = res
        extra = f", coverage(80%) {res.overall['coverage']:.3f}" if quantiles else ""
        print(f"{name:>18}: WAPE {res.overall['wape']:.4f}  MASE {res.overall['mase']:.4f}  "
              f"bias {res.overall['bias']:+.3f}{extra}  ({seconds:.1f} s, peak extra memory "
              f"{mem.peak / 2**20:.0f} MiB)", flush=True)

    reference = results["seasonal_naive"].forecasts[["sku", "location", "date", "actual", "window"]]
    if not args.no_peer:
        with PeakMemory() as mem:
            t0 = time.perf_counter()
            peer = peer_mlforecast(sales, args.windows, args.horizon)
            seconds = time.perf_counter() - t0
        if peer is None:
            print("mlforecast not installed: peer skipped")
        else:
            scored = reference.merge(peer, on=["sku", "location", "date"], how="left")
            ev = evaluate(scored, target_col="actual", pred_col="forecast", metrics=("wape", "bias"))
            print(f"{'mlforecast_hgb':>18}: WAPE {ev.overall['wape']:.4f}  bias {ev.overall['bias']:+.3f}  "
                  f"({seconds:.1f} s, peak extra memory {mem.peak / 2**20:.0f} MiB)")

    model, snaive = results["global_hgb"].overall, results["seasonal_naive"].overall
    gain = 1.0 - model["wape"] / snaive["wape"]
    cov = model["coverage"]
    print(f"global model vs seasonal naive: WAPE improvement {100 * gain:.1f}% (goal >= 20%): "
          f"{'PASS' if gain >= 0.20 else 'FAIL'}")
    print(f"80% interval coverage {100 * cov:.1f}% (goal 75-85%): {'PASS' if 0.75 <= cov <= 0.85 else 'FAIL'}")
    per_window = results["global_hgb"].per_window[["wape", "mase", "coverage"]].round(4)
    print("global model per window:\n" + per_window.to_string())


if __name__ == "__main__":
    main()
