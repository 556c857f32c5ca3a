"""Shared test configuration: GPU tests skip themselves on machines without a usable GPU."""

from __future__ import annotations

import pytest

from toolkit import backend


def pytest_collection_modifyitems(config, items):
    if backend.gpu_available():
        return
    skip_gpu = pytest.mark.skip(reason="no usable GPU (NVML device count 0 or probe allocation failed)")
    for item in items:  # the marker, not item.keywords: those hold directory names too (a checkout in ~/gpu)
        if item.get_closest_marker("gpu") is not None:
            item.add_marker(skip_gpu)


@pytest.fixture(autouse=True)
def _cpu_backend_unless_gpu_test(request, monkeypatch):
    """Tests create data on the CPU unless marked ``gpu``, whatever TOOLKIT_BACKEND says."""
    if request.node.get_closest_marker("gpu") is None:
        monkeypatch.setenv("TOOLKIT_BACKEND", "cpu")
    yield
