"""Backend detection and dispatch on a CPU machine, with the GPU stack simulated."""

from __future__ import annotations

import subprocess
import sys
import types

import dask.dataframe as dd
import numpy as np
import pandas as pd
import pytest

from toolkit import backend
from toolkit.errors import BackendUnavailableError


@pytest.fixture
def fresh_detection(monkeypatch):
    """Clear the cached detection before and after a test that fakes the GPU stack."""
    backend.gpu_count.cache_clear()
    monkeypatch.delenv("CUDA_VISIBLE_DEVICES", raising=False)
    yield monkeypatch
    backend.gpu_count.cache_clear()


def test_probe_failure_means_no_gpu_even_when_nvml_counts_devices(fresh_detection):
    # cudf/cupy import fine on a machine without a usable GPU; the allocation is what fails.
    fake_cupy = types.ModuleType("cupy")

    def failing_zeros(*args, **kwargs):
        raise RuntimeError("cudaErrorNoDevice: no CUDA-capable device is detected")

    fake_cupy.zeros = failing_zeros
    fresh_detection.setitem(sys.modules, "cupy", fake_cupy)
    fresh_detection.setattr(backend, "_nvml_device_count", lambda: 2)
    assert backend._probe_allocation() is False
    assert backend.gpu_available() is False
    assert backend.gpu_count() == 0


def test_working_probe_counts_visible_devices(fresh_detection):
    fresh_detection.setattr(backend, "_nvml_device_count", lambda: 4)
    fresh_detection.setattr(backend, "_probe_allocation", lambda: True)
    fresh_detection.setenv("CUDA_VISIBLE_DEVICES", "1,3")
    assert backend.gpu_count() == 2
    assert backend.gpu_available() is True


@pytest.mark.parametrize("value", ["", "-1"])
def test_cuda_visible_devices_can_hide_every_gpu(fresh_detection, value):
    calls = []
    fresh_detection.setattr(backend, "_nvml_device_count", lambda: calls.append(1) or 1)
    fresh_detection.setattr(backend, "_probe_allocation", lambda: True)
    fresh_detection.setenv("CUDA_VISIBLE_DEVICES", value)
    assert backend.gpu_available() is False
    assert calls == []  # hidden devices are not even counted


def test_detection_is_cached(fresh_detection):
    calls = []
    fresh_detection.setattr(backend, "_nvml_device_count", lambda: calls.append(1) or 0)
    backend.gpu_available()
    backend.gpu_available()
    assert len(calls) == 1


def test_use_gpu_without_gpu_raises_clear_error(fresh_detection):
    fresh_detection.setattr(backend, "_nvml_device_count", lambda: 0)
    with pytest.raises(BackendUnavailableError, match="no usable GPU"):
        backend.use("gpu")
    fresh_detection.setenv("TOOLKIT_BACKEND", "gpu")
    with pytest.raises(BackendUnavailableError, match="TOOLKIT_BACKEND=gpu"):
        backend.current()


def test_use_is_setter_and_context_manager(fresh_detection):
    fresh_detection.setattr(backend, "_nvml_device_count", lambda: 1)
    fresh_detection.setattr(backend, "_probe_allocation", lambda: True)
    fresh_detection.setenv("TOOLKIT_BACKEND", "cpu")
    assert backend.current() == "cpu"
    with backend.use("gpu"):
        assert backend.current() == "gpu"
        with backend.use("cpu"):
            assert backend.current() == "cpu"
        assert backend.current() == "gpu"
    assert backend.current() == "cpu"
    setter = backend.use("gpu")
    try:
        assert backend.current() == "gpu"
    finally:
        setter.__exit__(None, None, None)
    assert backend.current() == "cpu"


def test_auto_resolves_by_detection(fresh_detection):
    fresh_detection.setenv("TOOLKIT_BACKEND", "auto")
    fresh_detection.setattr(backend, "_nvml_device_count", lambda: 0)
    assert backend.current() == "cpu"


def test_bad_backend_name():
    with pytest.raises(ValueError, match="backend must be one of"):
        backend.use("tpu")


def test_import_toolkit_imports_no_gpu_library_or_torch():
    code = (
        "import sys, toolkit, toolkit.backend, toolkit.datasets; "
        "toolkit.backend.current(); "
        "print(sorted(m for m in ('cudf', 'cupy', 'cuml', 'torch', 'dask_cudf') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         env={"TOOLKIT_BACKEND": "cpu", "PATH": ""})
    assert out.stdout.strip() == "[]"


def test_dispatch_on_host_objects():
    df = pd.DataFrame({"a": [1.0, 2.0]})
    ddf = dd.from_pandas(df, npartitions=1)
    assert backend.frame_lib(df) is pd
    assert backend.frame_lib(ddf) is pd
    assert backend.frame_lib(np.ones(2)) is pd
    assert backend.is_dask(ddf) and not backend.is_dask(df)
    assert not backend.is_gpu(df) and not backend.is_gpu(ddf)
    assert backend.array_namespace(np.ones(2)).__name__.endswith("numpy")
    assert backend.array_namespace(df["a"]).__name__.endswith("numpy")
    assert backend.to_host(df) is df
    x = np.arange(3)
    assert backend.to_host(x) is x
    assert backend.to_backend(df, "cpu") is df


def test_to_device_without_gpu_raises(fresh_detection):
    fresh_detection.setattr(backend, "_nvml_device_count", lambda: 0)
    with pytest.raises(BackendUnavailableError, match="^to_device needs a usable GPU and none was found$"):
        backend.to_device(np.ones(2))


def test_to_device_routes_each_host_kind_to_its_gpu_library(fresh_detection):
    """With a GPU detected (faked) and the GPU libraries faked: numpy goes to cupy.asarray, pandas to
    cudf.from_pandas, a Dask frame to its own to_backend("cudf") (Dask's name of the cuDF backend, lazy)."""
    calls = []
    fake_cupy, fake_cudf = types.ModuleType("cupy"), types.ModuleType("cudf")
    fake_cupy.asarray = lambda obj: calls.append(("cupy.asarray", obj)) or "on device"
    fake_cudf.from_pandas = lambda obj: calls.append(("cudf.from_pandas", obj)) or "on device"
    fresh_detection.setitem(sys.modules, "cupy", fake_cupy)
    fresh_detection.setitem(sys.modules, "cudf", fake_cudf)
    fresh_detection.setattr(backend, "_nvml_device_count", lambda: 1)
    fresh_detection.setattr(backend, "_probe_allocation", lambda: True)
    ddf = dd.from_pandas(pd.DataFrame({"a": [1.0, 2.0]}), npartitions=1)
    fresh_detection.setattr(type(ddf), "to_backend", lambda self, name: calls.append(("to_backend", name)) or "lazy")
    x, df = np.ones(2), pd.DataFrame({"a": [1.0]})
    assert backend.to_device(x) == backend.to_device(df) == "on device"
    assert backend.to_device(ddf) == "lazy"
    assert calls[0][0] == "cupy.asarray" and calls[0][1] is x
    assert calls[1][0] == "cudf.from_pandas" and calls[1][1] is df
    assert calls[2] == ("to_backend", "cudf")
