"""toolkit.cleanse on the GPU: the array kernels on CuPy against NumPy, the frame steps on cuDF
against pandas (within tolerance)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from toolkit import cleanse as cl

pytestmark = pytest.mark.gpu
cp = pytest.importorskip("cupy")


def sorted_segments(seed=0, n_seg=50, length=40, nan_rate=0.3):
    rng = np.random.default_rng(seed)
    seg = np.repeat(np.arange(n_seg, dtype=np.int64), length)
    x = rng.gamma(2.0, 3.0, seg.size)
    x[rng.random(seg.size) < nan_rate] = np.nan
    return x, seg


@pytest.mark.parametrize("method,limit", [("ffill", None), ("bfill", 2), ("linear", 3), ("linear", None)])
def test_fill_kernel_cupy_matches_numpy(method, limit):
    x, seg = sorted_segments()
    host, host_mask = cl._fill_kernel(x, seg, method, limit)
    dev, dev_mask = cl._fill_kernel(cp.asarray(x), cp.asarray(seg), method, limit)
    np.testing.assert_allclose(cp.asnumpy(dev), host, rtol=1e-12, equal_nan=True)
    np.testing.assert_array_equal(cp.asnumpy(dev_mask), host_mask)


def test_window_median_cupy_matches_numpy():
    x, seg = sorted_segments(nan_rate=0.1)
    med, mad = cl._window_median(x, seg, 3)
    dmed, dmad = cl._window_median(cp.asarray(x), cp.asarray(seg), 3, chunk=512)
    np.testing.assert_allclose(cp.asnumpy(dmed), med, rtol=1e-12, equal_nan=True)
    np.testing.assert_allclose(cp.asnumpy(dmad), mad, rtol=1e-12, equal_nan=True)


def test_cudf_steps_match_pandas():
    cudf = pytest.importorskip("cudf", reason="cuDF steps need cudf")
    rng = np.random.default_rng(0)
    df = pd.DataFrame({"sku": np.repeat([f"S{i}" for i in range(20)], 30), "location": "web",
                       "date": np.tile(pd.date_range("2024-01-01", periods=30).to_numpy(), 20),
                       "units": rng.gamma(2.0, 3.0, 600)})
    df.loc[rng.random(600) < 0.2, "units"] = np.nan
    steps = [("fill_missing", {"method": "linear"}), ("fill_missing", {"method": "median"}),
             ("clip_outliers", {"method": "iqr", "id_cols": ["sku", "location"]}),
             ("flag_outliers", {"method": "hampel", "id_cols": ["sku", "location"]})]
    host, host_report = cl.clean(df, steps)
    dev, dev_report = cl.clean(cudf.from_pandas(df), steps)
    assert isinstance(dev, cudf.DataFrame)
    pd.testing.assert_frame_equal(dev.to_pandas(), host, check_dtype=False, atol=1e-9)
    assert dev_report.to_dict() == host_report.to_dict()
