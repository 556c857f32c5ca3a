"""CPU/GPU detection and dispatch.

The toolkit follows one rule (the backend contract of ARCHITECTURE.md, at the repository
root): functions dispatch on their *input* -- pandas in, pandas out; cudf in, cudf out; numpy
in, numpy out; cupy in, cupy out.
The global setting chosen with :func:`use` (or the ``TOOLKIT_BACKEND`` environment variable,
``cpu`` | ``gpu`` | ``auto``) only decides where *new* data is created (the generator and
the loaders).

GPU detection does not trust ``import cudf``: cuDF imports on a machine without a GPU and
fails at the first allocation. :func:`gpu_available` therefore

1. honours ``CUDA_VISIBLE_DEVICES`` (empty or ``-1`` hides every device),
2. counts devices through NVML, loaded with :mod:`ctypes` so that no CUDA context is created
   and no GPU library is imported,
3. probes one tiny allocation with CuPy,

and caches the answer for the life of the process. Nothing here imports cudf, cupy, cuml or
torch at ``import toolkit`` time; they are imported lazily on the GPU path only.

Examples
--------
>>> from toolkit import backend
>>> backend.current() in ("cpu", "gpu")
True
>>> with backend.use("cpu"):
...     backend.current()
'cpu'
"""

from __future__ import annotations

import ctypes
import functools
import importlib
import os
import types
from typing import Any

from toolkit.errors import BackendUnavailableError

__all__ = [
    "gpu_available",
    "gpu_count",
    "current",
    "use",
    "frame_lib",
    "frame_module",
    "array_namespace",
    "to_host",
    "to_device",
    "to_backend",
    "is_dask",
    "is_gpu",
]

_CHOICES = ("cpu", "gpu", "auto")
_setting: str | None = None  # None: read TOOLKIT_BACKEND at each call


def _visible_device_limit() -> int | None:
    """Devices allowed by ``CUDA_VISIBLE_DEVICES``; ``None`` when the variable is unset."""
    value = os.environ.get("CUDA_VISIBLE_DEVICES")
    if value is None:
        return None
    entries = [v.strip() for v in value.split(",") if v.strip()]
    # CUDA stops at the first invalid (negative) ordinal.
    count = 0
    for entry in entries:
        if entry.lstrip("-").isdigit() and int(entry) < 0:
            break
        count += 1
    return count


def _nvml_device_count() -> int:
    """Number of NVIDIA devices NVML sees, 0 when the driver library is absent."""
    for name in ("libnvidia-ml.so.1", "libnvidia-ml.so", "nvml.dll"):
        try:
            nvml = ctypes.CDLL(name)
        except OSError:
            continue
        try:
            if nvml.nvmlInit_v2() != 0:
                return 0
            count = ctypes.c_uint(0)
            ok = nvml.nvmlDeviceGetCount_v2(ctypes.byref(count)) == 0
            nvml.nvmlShutdown()
            return int(count.value) if ok else 0
        except AttributeError:
            return 0
    return 0


def _probe_allocation() -> bool:
    """Allocate one element on the device; any failure means the GPU is not usable."""
    try:
        cupy = importlib.import_module("cupy")
        cupy.zeros(1, dtype="float32").sum().item()
        return True
    except Exception:  # ImportError, CUDARuntimeError, driver mismatch...
        return False


@functools.lru_cache(maxsize=1)
def gpu_count() -> int:
    """Number of usable GPUs: NVML devices, capped by ``CUDA_VISIBLE_DEVICES``, 0 if the probe fails.

    Returns
    -------
    int
        0 on a machine without a usable GPU. Cached for the process.
    """
    limit = _visible_device_limit()
    if limit == 0:
        return 0
    count = _nvml_device_count()
    if limit is not None:
        count = min(count, limit)
    if count == 0 or not _probe_allocation():
        return 0
    return count


def gpu_available() -> bool:
    """True when at least one GPU is visible *and* a tiny allocation on it succeeds.

    Returns
    -------
    bool
        Cached after the first call (see :func:`gpu_count`).
    """
    return gpu_count() > 0


def _requested() -> str:
    name = _setting if _setting is not None else os.environ.get("TOOLKIT_BACKEND", "auto")
    name = name.strip().lower()
    if name not in _CHOICES:
        raise ValueError(f"backend must be one of {_CHOICES}, got {name!r} (check TOOLKIT_BACKEND)")
    return name


def current() -> str:
    """The backend new data is created on: ``"cpu"`` or ``"gpu"``.

    ``auto`` (the default) resolves to ``"gpu"`` when :func:`gpu_available`, else ``"cpu"``.

    Raises
    ------
    BackendUnavailableError
        When ``"gpu"`` was requested through ``TOOLKIT_BACKEND`` and no GPU is usable.
    """
    name = _requested()
    if name == "auto":
        return "gpu" if gpu_available() else "cpu"
    if name == "gpu" and not gpu_available():
        raise BackendUnavailableError(
            "TOOLKIT_BACKEND=gpu but no usable GPU was found (no NVML device, or the probe "
            "allocation failed); install the 'gpu' extra on a CUDA machine or use 'cpu'"
        )
    return name


class use:
    """Choose where new data is created: ``"cpu"``, ``"gpu"`` or ``"auto"``.

    Works as a plain setter and as a context manager that restores the previous choice.

    Parameters
    ----------
    name : {"cpu", "gpu", "auto"}

    Raises
    ------
    BackendUnavailableError
        ``use("gpu")`` on a machine without a usable GPU.

    Examples
    --------
    >>> from toolkit import backend
    >>> with backend.use("cpu"):
    ...     backend.current()
    'cpu'
    """

    def __init__(self, name: str):
        global _setting
        name = str(name).strip().lower()
        if name not in _CHOICES:
            raise ValueError(f"backend must be one of {_CHOICES}, got {name!r}")
        if name == "gpu" and not gpu_available():
            raise BackendUnavailableError(
                "backend 'gpu' requested but no usable GPU was found (no NVML device, or the "
                "probe allocation failed); install the 'gpu' extra on a CUDA machine"
            )
        self._previous = _setting
        self.name = name
        _setting = name

    def __enter__(self) -> "use":
        return self

    def __exit__(self, *exc: object) -> None:
        global _setting
        _setting = self._previous

    def __repr__(self) -> str:
        return f"use({self.name!r})"


def _root_module(obj: Any) -> str:
    return type(obj).__module__.split(".", 1)[0]


def is_dask(obj: Any) -> bool:
    """True for Dask collections (dask.dataframe / dask.array, pandas- or cudf-backed)."""
    return _root_module(obj) in ("dask", "dask_cudf", "dask_expr")


def _meta(obj: Any) -> Any:
    """The in-memory object that describes ``obj``: its ``_meta`` for a Dask collection."""
    return obj._meta if is_dask(obj) else obj


def is_gpu(obj: Any) -> bool:
    """True when ``obj`` (or a Dask collection's partitions) lives on the GPU (cudf or cupy)."""
    return _root_module(_meta(obj)) in ("cudf", "cupy", "dask_cudf")


def frame_lib(obj: Any) -> types.ModuleType:
    """The dataframe library of ``obj``: :mod:`pandas` or ``cudf``.

    Dask frames answer for their partitions. Arrays answer for the frame library that
    matches them (numpy -> pandas, cupy -> cudf).

    Examples
    --------
    >>> import pandas as pd
    >>> from toolkit.backend import frame_lib
    >>> frame_lib(pd.DataFrame({"a": [1]})).__name__
    'pandas'
    """
    if is_gpu(obj):
        return importlib.import_module("cudf")
    return importlib.import_module("pandas")


def frame_module(backend: str | None = None) -> types.ModuleType:
    """The dataframe library new frames are created with, for ``backend`` (default :func:`current`)."""
    name = backend or current()
    if name == "auto":
        name = "gpu" if gpu_available() else "cpu"
    if name == "gpu":
        if not gpu_available():
            raise BackendUnavailableError("backend 'gpu' requested but no usable GPU was found")
        return importlib.import_module("cudf")
    return importlib.import_module("pandas")


def _as_array(obj: Any) -> Any:
    """Series/Index -> their values as numpy or cupy; arrays unchanged."""
    if hasattr(obj, "to_cupy") and _root_module(obj) == "cudf":
        return obj.to_cupy()
    if hasattr(obj, "to_numpy") and _root_module(obj) == "pandas":
        return obj.to_numpy()
    return obj


def array_namespace(*arrays: Any) -> types.ModuleType:
    """The array-API namespace shared by ``arrays``: numpy's or cupy's (via array-api-compat).

    pandas/cudf Series are accepted and answer for their values. Mixing host and device
    arrays raises ``TypeError``.

    Examples
    --------
    >>> import numpy as np
    >>> from toolkit.backend import array_namespace
    >>> array_namespace(np.ones(3)).__name__
    'array_api_compat.numpy'
    """
    import array_api_compat

    return array_api_compat.array_namespace(*(_as_array(a) for a in arrays))


def to_host(obj: Any) -> Any:
    """Bring ``obj`` to host memory: cudf -> pandas, cupy -> numpy; host objects unchanged.

    A Dask collection stays lazy and is converted partition by partition.
    """
    if is_dask(obj):
        return obj.to_backend("pandas") if is_gpu(obj) and hasattr(obj, "to_backend") else obj
    root = _root_module(obj)
    if root == "cudf":
        return obj.to_pandas()
    if root == "cupy":
        return obj.get()
    return obj


def to_device(obj: Any) -> Any:
    """Move ``obj`` to the GPU: pandas -> cudf, numpy -> cupy; device objects unchanged.

    Raises
    ------
    BackendUnavailableError
        When no usable GPU is present.
    """
    if is_gpu(obj):
        return obj
    if not gpu_available():
        raise BackendUnavailableError("to_device needs a usable GPU and none was found")
    if is_dask(obj):
        return obj.to_backend("cudf")
    if _root_module(obj) == "numpy":
        return importlib.import_module("cupy").asarray(obj)
    return importlib.import_module("cudf").from_pandas(obj)


def to_backend(obj: Any, backend: str | None = None) -> Any:
    """Put a host object on ``backend`` (default :func:`current`): ``to_device`` for gpu, else as is."""
    name = backend or current()
    return to_device(obj) if name == "gpu" else to_host(obj)
