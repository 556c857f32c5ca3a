"""GPU tests of the local-model kernels and forecasters: CuPy/cuDF results equal the NumPy/pandas ones."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

pytestmark = pytest.mark.gpu
cupy = pytest.importorskip("cupy")

from toolkit.kernels.boxcox import boxcox_lambda  # noqa: E402
from toolkit.kernels.seasonal import left_aligned, seasonality_test  # noqa: E402
from toolkit.kernels.smoothing import choose_ets, fit_ets, fit_theta  # noqa: E402


@pytest.fixture
def series():
    rng = np.random.default_rng(0)
    lengths = rng.integers(30, 80, size=200)
    values = np.concatenate([100 + 20 * np.sin(np.arange(n) * np.pi / 6) + np.arange(n) * rng.uniform(-0.5, 1)
                             + rng.normal(0, 3, n) for n in lengths])
    bounds = np.concatenate([[0], np.cumsum(lengths)])
    return values, bounds


def test_smoothing_kernels_on_cupy_match_numpy(series):
    values, bounds = series
    y = left_aligned(values, bounds)
    yd = left_aligned(cupy.asarray(values), cupy.asarray(bounds))
    lengths, lengths_d = np.diff(bounds), cupy.asarray(np.diff(bounds))
    host = fit_ets(y, lengths, trend=True, damped=True, season=12, multiplicative=True)
    dev = fit_ets(yd, lengths_d, trend=True, damped=True, season=12, multiplicative=True)
    assert isinstance(dev.level, cupy.ndarray)
    np.testing.assert_allclose(cupy.asnumpy(dev.forecast(6)), host.forecast(6), rtol=1e-8)
    np.testing.assert_allclose(cupy.asnumpy(fit_theta(yd, lengths_d, 12).forecast(6)),
                               fit_theta(y, lengths, 12).forecast(6), rtol=1e-8)
    np.testing.assert_array_equal(cupy.asnumpy(seasonality_test(yd, lengths_d, 12)), seasonality_test(y, lengths, 12))
    fit_h, choice_h, _, _ = choose_ets(y, lengths, 12)
    fit_d, choice_d, _, _ = choose_ets(yd, lengths_d, 12)
    np.testing.assert_array_equal(cupy.asnumpy(choice_d), choice_h)
    series_of_row = np.repeat(np.arange(len(bounds) - 1), np.diff(bounds))
    np.testing.assert_allclose(cupy.asnumpy(boxcox_lambda(cupy.asarray(values), cupy.asarray(series_of_row), 200)),
                               boxcox_lambda(values, series_of_row, 200), atol=1e-6)


def test_local_forecasters_on_cudf_match_pandas(series):
    cudf = pytest.importorskip("cudf")
    from toolkit import forecast as fcm

    values, bounds = series
    lengths = np.diff(bounds)
    df = pd.concat([pd.DataFrame({"sku": f"s{i:03d}", "location": "web",
                                  "date": pd.date_range(end="2020-12-01", periods=n, freq="MS"),
                                  "units": values[bounds[i]:bounds[i + 1]]}) for i, n in enumerate(lengths)],
                   ignore_index=True)
    for fc in (fcm.ETS(horizon=4), fcm.Theta(horizon=4)):
        host = fc.fit(df).predict()
        dev = type(fc)(horizon=4).fit(cudf.from_pandas(df)).predict()
        np.testing.assert_allclose(dev["forecast"].to_numpy(), host["forecast"].to_numpy(), rtol=1e-8)
