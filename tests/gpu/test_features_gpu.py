"""GPU tests of toolkit.features: the array engine on CuPy against NumPy, cudf frames against pandas.

The kernels are compared within tolerance (prefix sums are summed in a different order on the
device); the cudf tests need cudf and skip without it.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from toolkit import features as F

pytestmark = pytest.mark.gpu
cp = pytest.importorskip("cupy")


def _sorted_panel(seed: int = 0):
    """x and per-row series starts for ragged series with NaNs, on the host."""
    rng = np.random.default_rng(seed)
    lengths = rng.integers(1, 90, 200)
    starts = np.repeat(np.cumsum(np.r_[0, lengths[:-1]]), lengths)
    x = rng.gamma(2.0, 4.0, lengths.sum())
    x[rng.random(x.size) < 0.05] = np.nan
    return x, starts


def _close(dev, host, rtol=1e-9, atol=1e-9):
    np.testing.assert_allclose(cp.asnumpy(dev), host, rtol=rtol, atol=atol, equal_nan=True)


@pytest.mark.parametrize("window", [1, 7, 28])
def test_rolling_kernel_cupy_matches_numpy(window):
    x, starts = _sorted_panel()
    stats = ("mean", "std", "sum", "min", "max", "count", "median", "q0.9")
    host = F.rolling_kernel(x, starts, window, stats, shift=1, min_periods=max(1, window // 2), engine="numba")
    dev = F.rolling_kernel(cp.asarray(x), cp.asarray(starts), window, stats, shift=1,
                           min_periods=max(1, window // 2), engine="array")
    for stat in stats:
        assert isinstance(dev[stat], cp.ndarray)
        _close(dev[stat], host[stat], rtol=1e-7, atol=1e-7)


def test_lag_expanding_ewm_cupy_match_numpy():
    x, starts = _sorted_panel(1)
    xd, sd = cp.asarray(x), cp.asarray(starts)
    for k in (1, 5, 40):
        _close(F.lag_kernel(xd, sd, k), F.lag_kernel(x, starts, k))
    stats = ("mean", "std", "count", "sum", "min", "max")
    host = F.expanding_kernel(x, starts, stats, engine="numba")
    dev = F.expanding_kernel(xd, sd, stats, engine="array")
    for stat in stats:
        _close(dev[stat], host[stat], rtol=1e-7, atol=1e-7)
    for alpha in (0.05, 0.3, 0.9):
        _close(F.ewm_kernel(xd, sd, alpha, engine="array"), F.ewm_kernel(x, starts, alpha, engine="numba"))


def test_cudf_build_features_matches_pandas():
    cudf = pytest.importorskip("cudf", reason="cudf frames need cudf; the kernels above only need cupy")
    rng = np.random.default_rng(2)
    parts = [pd.DataFrame({"sku": f"S{i}", "location": "web", "date": pd.date_range("2024-01-01", periods=n),
                           "units": rng.poisson(4, n).astype("float32"), "price": rng.uniform(1, 2, n)})
             for i, n in enumerate(rng.integers(30, 80, 12))]
    df = pd.concat(parts, ignore_index=True).sample(frac=1.0, random_state=0)
    spec = F.FeatureSpec(lags=(1, 7), rolling={7: ("mean", "std", "max")}, ewm_alphas=(0.3,),
                         calendar=("dayofweek", "month", "is_holiday"), country="US", fourier=((7, 2),),
                         exog=("price",))
    host = F.build_features(df, spec)
    dev = F.build_features(cudf.from_pandas(df), spec)
    assert type(dev).__module__.startswith("cudf")
    pd.testing.assert_frame_equal(dev.to_pandas(), host, check_exact=False, rtol=1e-7, atol=1e-7,
                                  check_dtype=False)
    tail = F.build_features(cudf.from_pandas(df), spec, last_n=2).to_pandas()
    pd.testing.assert_frame_equal(tail, F.build_features(df, spec, last_n=2), check_exact=False, rtol=1e-7,
                                  atol=1e-7, check_dtype=False)


def test_kernels_on_cupy_take_bounds_and_skip_infinities():
    x, starts = _sorted_panel(3)
    x[::37] = np.inf
    bounds = np.r_[np.flatnonzero(starts == np.arange(starts.size)), starts.size]
    stats = ("mean", "std", "max", "q0.5")
    host = F.rolling_kernel(x, bounds, 7, stats, min_periods=2, engine="numba")
    dev = F.rolling_kernel(cp.asarray(x), cp.asarray(bounds), 7, stats, min_periods=2, engine="array")
    for stat in stats:
        _close(dev[stat], host[stat], rtol=1e-7, atol=1e-7)
    _close(F.ewm_kernel(cp.asarray(x), cp.asarray(bounds), 0.2, engine="array"), F.ewm_kernel(x, bounds, 0.2))


def test_cudf_commerce_features_match_pandas():
    cudf = pytest.importorskip("cudf", reason="cudf frames need cudf")
    rng = np.random.default_rng(5)
    df = pd.DataFrame([(s, loc, d) for s in ("a", "b", "c") for loc in ("web", "app")
                       for d in pd.date_range("2024-01-01", periods=30)], columns=["sku", "location", "date"])
    df = df.assign(units=rng.poisson(3.0, len(df)).astype(float), price=rng.uniform(5, 9, len(df)),
                   promo=rng.random(len(df)) < 0.2, category=np.where(df["sku"] == "a", "x", "y"))
    df = df.sample(frac=1.0, random_state=1)
    cases = [
        lambda d: F.add_price_features(d, window=5, category_col="category"),
        lambda d: F.add_channel_share(d, window=4),
        lambda d: F.add_target_encoding(d, "category", min_count=2),
        lambda d: F.add_adstock(d, "price", decay=0.4, max_lag=3, id_cols=["sku", "location"]),
    ]
    for case in cases:
        pd.testing.assert_frame_equal(case(cudf.from_pandas(df)).to_pandas(), case(df), check_exact=False,
                                      rtol=1e-7, atol=1e-7, check_dtype=False)
