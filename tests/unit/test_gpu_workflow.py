"""The cuDF workflow tests' code (tests/gpu/workflow.py), run without a GPU.

``tests/gpu/test_workflow_gpu.py`` compares cuDF and dask_cudf runs of one workflow and of
every public frame verb with the pandas run; it skips here. These tests make sure that code
is not dead on a CPU machine: the workflow and every verb run on pandas, the workflow on
pandas-backed Dask equals the pandas run, the comparison fails on outputs that differ, and
every public verb of the frame packages is either called there or exempted with a reason.
"""

from __future__ import annotations

import importlib

import numpy as np
import pandas as pd
import pytest

from tests.fixture_scope import module_unless_mutating
from tests.gpu import workflow as w

PACKAGES = {"cleanse": "toolkit.cleanse", "features": "toolkit.features", "regress": "toolkit.regress",
            "forecast": "toolkit.forecast", "anomaly": "toolkit.anomaly", "inventory": "toolkit.decisions.inventory",
            "logistics": "toolkit.decisions.logistics", "marketing": "toolkit.decisions.marketing"}
METRIC_NAMES = {"mae", "mse", "rmse", "mape", "smape", "wape", "mase", "bias", "pinball_loss", "coverage"}
EXEMPT = {
    **{f"regress.{m}": "regress.metrics calls every metric on arrays taken from a cuDF frame" for m in METRIC_NAMES},
    **{f"features.{k}": "array kernels: tests/gpu/test_features_gpu.py runs them on CuPy"
       for k in ("lag_kernel", "rolling_kernel", "expanding_kernel", "ewm_kernel")},
    **{f"anomaly.{k}": "array detectors: tests/gpu/test_anomaly_gpu.py runs them on CuPy"
       for k in ("ECOD", "COPOD", "IQR", "RobustZ", "apply_threshold", "segment_threshold")},
    **{f"inventory.{k}": "array-only: tests/gpu/test_inventory_gpu.py runs it on CuPy"
       for k in ("standard_normal_loss", "compare_policies", "service_cost_frontier", "QLearningReplenisher")},
    "regress.TorchRegressor": "torch on CUDA: tests/gpu/test_regress_gpu.py (make_model('mlp'))",
    "regress.Model": "the wrapper make_model returns (regress.make_model)",
    "logistics.evaluate_late_risk": "takes host labels and probabilities",
    "marketing.hill": "array function (scalars or arrays of any namespace)",
    "anomaly.register": "adds a detector to the registry; no data",
    "forecast.Baseline": "the base class of the baselines",
    "forecast.LocalModel": "the base class of the local models (ETS, SES, Holt, DampedTrend, Theta)",
}
NOT_COVERED_PACKAGES = {
    "stream": "tests/gpu/test_stream_gpu.py checks its window state on CuPy; the monitors keep host state",
    "text": "tests/gpu/test_text_gpu.py runs its calls on cuDF against pandas",
}
"""Packages with public verbs that workflow.VERBS leaves to their own GPU tests, and why."""
"""Public callables not called in workflow.VERBS, and why."""


def _public_verbs() -> set[str]:
    names = set()
    for short, module in PACKAGES.items():
        mod = importlib.import_module(module)
        for name in mod.__all__:
            obj = getattr(mod, name)
            is_class = isinstance(obj, type)
            if not callable(obj) or (name.isupper() and not is_class):  # tables and constants
                continue
            if is_class and not any(hasattr(obj, m) for m in ("fit", "predict", "transform")):
                continue  # result and specification types (FeatureSpec, BacktestResult, ...): no verb
            names.add(f"{short}.{name}")
    return names


def test_every_public_frame_verb_is_called_on_cudf_or_exempted_with_a_reason():
    public = _public_verbs()
    called = {".".join(name.split(".")[:2]) for name in w.VERBS}
    missing = sorted(public - called - set(EXEMPT))
    assert not missing, f"public verbs neither in tests/gpu/workflow.VERBS nor exempted: {missing}"
    stale = sorted((called - public - {"regress.metrics"}) | (set(EXEMPT) - public))
    assert not stale, f"names in workflow.VERBS or EXEMPT that are not public verbs: {stale}"


def test_every_package_with_verbs_is_checked_on_cudf_or_listed_as_not_yet():
    import pkgutil

    import toolkit

    packages = {m.name for m in pkgutil.iter_modules(toolkit.__path__) if m.ispkg}
    frame_floors = {"panel", "kernels", "datasets", "report", "decisions"}  # tested apart, or containers
    covered = {module.split(".")[1] for module in PACKAGES.values()}
    assert packages - frame_floors - covered == set(NOT_COVERED_PACKAGES), (packages, covered)


@pytest.fixture(scope=module_unless_mutating)
def pandas_chain():
    return w.chain(w.PANDAS)


@pytest.mark.slow
def test_workflow_on_dask_equals_pandas(pandas_chain):
    import dask.dataframe as dd

    from toolkit.backend import is_dask

    lib = w.Library("dask", lambda df: dd.from_pandas(df, npartitions=3), dask=True)
    got = w.chain(lib)
    assert {"clean", "features", "detect", "simulation"} <= set(got) <= set(pandas_chain)
    for name in ("clean", "features", "detect", "simulation"):
        assert is_dask(got[name]), name
    for name, output in got.items():
        w.assert_same(output, pandas_chain[name], name, sort=True)


@pytest.mark.slow
def test_every_verb_runs_on_pandas_and_returns_host_objects():
    tables = w.Tables(w.PANDAS)
    for name, call in w.VERBS.items():
        out = call(tables)
        for frame in w.frames_in(out):
            assert type(frame).__module__.startswith("pandas"), name
        w.assert_same(out, call(w.Tables(w.PANDAS)), name)  # deterministic: a second run is equal


def test_assert_same_fails_on_outputs_that_differ(pandas_chain):
    frame = pandas_chain["detect"]
    w.assert_same(frame.copy(), frame, "same")
    changed = frame.copy()
    changed.loc[changed.index[3], "anomaly_score"] += 1e-3
    with pytest.raises(AssertionError):
        w.assert_same(changed, frame, "value")
    with pytest.raises(AssertionError):
        w.assert_same(frame[frame.columns[::-1]], frame, "column order")
    with pytest.raises(AssertionError):
        w.assert_same(frame.iloc[::-1], frame, "row order")
    w.assert_same(frame.iloc[::-1], frame, "row order, sorted", sort=True)
    with pytest.raises(AssertionError):
        w.assert_same({"a": 1.0}, {"a": 1.0, "b": 2.0}, "keys")
    with pytest.raises(AssertionError):
        w.assert_same(np.array([1.0, np.nan]), np.array([1.0, 2.0]), "nan")
    with pytest.raises(AssertionError):
        w.assert_same(pd.Series([1.0], name="x"), pd.Series([1.0], name="y"), "name")
    w.assert_same(pd.Series([1, None], dtype="Int64"), pd.Series([1.0, np.nan]), "nullable vs float")
