"""GPU tests of toolkit.stream: the incremental window state on CuPy against NumPy.

The state arrays live on the device (``IncrementalWindows(..., xp=cupy)``) and are updated by the
same array code; the quantiles go through the segment kernels on CuPy. Results agree with the
host state to rounding (the device may fuse multiply-adds). The monitors keep their bucket sums
on the host (see the package docstring), so only the window state is tested here.
"""

from __future__ import annotations

import numpy as np
import pytest

from toolkit.features import FeatureSpec
from toolkit.stream.windows import IncrementalWindows, window_quantile

pytestmark = pytest.mark.gpu
cp = pytest.importorskip("cupy")

SPEC = FeatureSpec(lags=(1, 7), rolling={3: ("mean", "std", "min", "max", "median", "q0.9", "count", "sum"),
                                         14: ("mean", "std")},
                   expanding=("mean", "std", "count", "sum", "min", "max"), ewm_alphas=(0.3,), calendar=(),
                   fourier=(), min_periods=2)


def test_window_state_on_the_device_matches_the_host():
    rng = np.random.default_rng(0)
    n = 5_000
    host = IncrementalWindows(SPEC, capacity=n, history=28)
    dev = IncrementalWindows(SPEC, capacity=n, history=28, xp=cp)
    slots = np.arange(n)
    for step in range(40):
        active = slots[slots % 7 <= step]  # series start at different steps
        values = rng.poisson(5, active.shape[0]).astype(float)
        values[rng.random(active.shape[0]) < 0.05] = np.nan
        host.append(active, values)
        dev.append(cp.asarray(active), cp.asarray(values))
    a, b = host.features(slots), dev.features(cp.asarray(slots))
    for name in a:
        np.testing.assert_allclose(cp.asnumpy(b[name]), a[name], rtol=1e-9, atol=1e-9, equal_nan=True, err_msg=name)
    np.testing.assert_allclose(cp.asnumpy(dev.last(cp.asarray(slots), 28)), host.last(slots, 28), equal_nan=True)


def test_window_quantile_on_the_device():
    rng = np.random.default_rng(1)
    window = rng.normal(size=(1000, 9))
    window[rng.random(window.shape) < 0.2] = np.nan
    np.testing.assert_allclose(cp.asnumpy(window_quantile(cp.asarray(window), 0.9)), window_quantile(window, 0.9),
                               rtol=1e-12, equal_nan=True)
