"""Backend on a real GPU: detection, dispatch and round trips (skipped without one)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from toolkit import backend

pytestmark = pytest.mark.gpu


def test_detection_and_array_round_trip():
    cupy = pytest.importorskip("cupy")
    assert backend.gpu_available() and backend.gpu_count() >= 1
    x = np.arange(10.0)
    d = backend.to_device(x)
    assert isinstance(d, cupy.ndarray)
    assert backend.array_namespace(d).__name__.endswith("cupy")
    np.testing.assert_array_equal(backend.to_host(d), x)
    with backend.use("gpu"):
        assert backend.current() == "gpu"


def test_frame_round_trip():
    cudf = pytest.importorskip("cudf", reason="cuDF is not installed on this GPU machine")
    df = pd.DataFrame({"a": [1.0, 2.0], "b": ["x", "y"]})
    g = backend.to_device(df)
    assert isinstance(g, cudf.DataFrame)
    assert backend.frame_lib(g) is cudf
    pd.testing.assert_frame_equal(backend.to_host(g), df)
