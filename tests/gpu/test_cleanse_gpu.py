"""toolkit.cleanse on the GPU: the array kernels on CuPy against NumPy, the frame steps on cuDF
against pandas (within tolerance)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from toolkit import cleanse as cl
from toolkit.cleanse.kernels import segment_quantiles, window_median
from toolkit.kernels.fill import segment_fill

pytestmark = pytest.mark.gpu
cp = pytest.importorskip("cupy")


def sorted_segments(seed=0, n_seg=50, length=40, nan_rate=0.3):
    """Values of ``n_seg`` segments of ``length`` rows, and the segment bounds (SeriesLayout convention)."""
    rng = np.random.default_rng(seed)
    x = rng.gamma(2.0, 3.0, n_seg * length)
    x[rng.random(x.size) < nan_rate] = np.nan
    return x, np.arange(0, n_seg * length + 1, length, dtype=np.int64)


@pytest.mark.parametrize("method,limit", [("ffill", None), ("bfill", 2), ("linear", 3), ("linear", None)])
def test_fill_kernel_cupy_matches_numpy(method, limit):
    x, bounds = sorted_segments()
    host, host_mask = segment_fill(x, bounds, method, limit)
    dev, dev_mask = segment_fill(cp.asarray(x), cp.asarray(bounds), method, limit)
    np.testing.assert_allclose(cp.asnumpy(dev), host, rtol=1e-12, equal_nan=True)
    np.testing.assert_array_equal(cp.asnumpy(dev_mask), host_mask)


def test_window_median_cupy_matches_numpy():
    x, bounds = sorted_segments(nan_rate=0.1)
    med, mad = window_median(x, bounds, 3)
    dmed, dmad = window_median(cp.asarray(x), cp.asarray(bounds), 3, chunk=512)
    np.testing.assert_allclose(cp.asnumpy(dmed), med, rtol=1e-12, equal_nan=True)
    np.testing.assert_allclose(cp.asnumpy(dmad), mad, rtol=1e-12, equal_nan=True)


def test_segment_quantiles_cupy_match_numpy():
    x, bounds = sorted_segments(nan_rate=0.2)
    host = segment_quantiles(x, bounds, (0.25, 0.5, 0.75))
    dev = segment_quantiles(cp.asarray(x), cp.asarray(bounds), (0.25, 0.5, 0.75))
    for h, d in zip(host, dev):
        np.testing.assert_allclose(cp.asnumpy(d), h, rtol=1e-12, equal_nan=True)


def test_cudf_steps_match_pandas():
    cudf = pytest.importorskip("cudf", reason="cuDF steps need cudf")
    rng = np.random.default_rng(0)
    df = pd.DataFrame({"sku": np.repeat([f"S{i}" for i in range(20)], 30), "location": "web",
                       "date": np.tile(pd.date_range("2024-01-01", periods=30).to_numpy(), 20),
                       "units": rng.gamma(2.0, 3.0, 600)})
    df.loc[rng.random(600) < 0.2, "units"] = np.nan
    df.loc[rng.random(600) < 0.01, "units"] = np.inf  # outliers by definition; the fill steps refuse them
    steps = [("clip_outliers", {"method": "iqr", "id_cols": ["sku", "location"]}),
             ("fill_missing", {"method": "linear"}), ("fill_missing", {"method": "median"}),
             ("flag_outliers", {"method": "hampel", "id_cols": ["sku", "location"]}),
             ("complete_calendar", {"freq": "D"}),
             ("validate", {"schema": cl.Schema("t", {"units": cl.Column("float", min=0)}), "errors": "null"})]
    host, host_report = cl.clean(df, steps)
    dev, dev_report = cl.clean(cudf.from_pandas(df), steps)
    assert isinstance(dev, cudf.DataFrame)
    pd.testing.assert_frame_equal(dev.to_pandas(), host, check_dtype=False, atol=1e-9)
    assert dev_report.to_dict() == host_report.to_dict()


def test_cudf_pseudonymize_coerce_and_scaler_match_pandas():
    cudf = pytest.importorskip("cudf", reason="cuDF steps need cudf")
    df = pd.DataFrame({"sku": ["a", "a", "b", "b"], "email": ["x@y", None, "z@w", "x@y"],
                       "units": [1.0, 3.0, 10.0, 30.0], "when": ["2024-01-05", "2024-02-10T10:00:00+01:00",
                                                                  "05/03/2024", "bad"]})
    key = b"k" * 32
    host = cl.pseudonymize(df, "email", key)
    dev = cl.pseudonymize(cudf.from_pandas(df), "email", key)
    assert dev["email"].to_pandas().astype(str).tolist() == host["email"].astype(str).tolist()
    schema = cl.Schema("t", {"when": cl.Column("datetime")})
    pd.testing.assert_frame_equal(cl.coerce_types(cudf.from_pandas(df), schema).to_pandas(),
                                  cl.coerce_types(df, schema), check_dtype=False)
    scaler = cl.Scaler("units", "robust", id_cols="sku").fit(cudf.from_pandas(df))
    np.testing.assert_allclose(scaler.transform(cudf.from_pandas(df))["units"].to_numpy(),
                               cl.Scaler("units", "robust", id_cols="sku").fit(df).transform(df)["units"].to_numpy())
