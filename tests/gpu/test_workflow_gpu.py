"""The whole workflow and every public frame verb on cuDF and dask_cudf, equal to the pandas run.

``tests/gpu/workflow.py`` holds the workflow (clean -> features -> forecast -> backtest ->
detect -> inventory -> marketing/logistics) and one call per public verb; here they run on
cuDF frames, and on dask_cudf frames on a ``LocalCUDACluster``, and every output is compared
with the pandas run (tolerance ``workflow.RTOL``/``ATOL``; Dask outputs in key order). Frames
that come back must be of the input's library -- cuDF for cuDF, dask_cudf for dask_cudf --
except the results documented as host summaries (``workflow.HOST_RESULTS``, report dicts,
pooled metrics). The same code runs on pandas and pandas-backed Dask without a GPU
(``tests/unit/test_gpu_workflow.py``), so a failure here is about the GPU libraries.
"""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.gpu
cudf = pytest.importorskip("cudf", reason="the cuDF workflow needs cudf")

from toolkit.backend import is_dask, is_gpu  # noqa: E402

from tests.gpu import workflow as w  # noqa: E402

CUDF = w.Library("cudf", cudf.from_pandas)
CHAIN_HOST = {"clean_report", "backtest_overall", "budget"}
"""Chain outputs that are host results by design (a report dict, pooled metrics, the budget table)."""


@pytest.fixture(scope="module")
def pandas_chain():
    return w.chain(w.PANDAS)


def _assert_on_device(name, output):
    for frame in w.frames_in(output):
        assert is_gpu(frame), f"{name}: a {type(frame).__module__}.{type(frame).__name__} came back from cuDF input"


def test_workflow_on_cudf_equals_pandas(pandas_chain):
    got = w.chain(CUDF)
    assert set(got) == set(pandas_chain)
    for name, output in got.items():
        if name not in CHAIN_HOST:
            _assert_on_device(name, output)
        w.assert_same(output, pandas_chain[name], name)


@pytest.mark.parametrize("name", sorted(w.VERBS))
def test_every_public_verb_on_cudf_equals_pandas(name):
    host = w.VERBS[name](w.Tables(w.PANDAS))
    device = w.VERBS[name](w.Tables(CUDF))
    if name not in w.HOST_RESULTS:
        _assert_on_device(name, device)
    w.assert_same(device, host, name, rtol=1e-4 if name in w.SEARCHED else w.RTOL)


def test_workflow_on_dask_cudf_with_local_cuda_cluster_equals_pandas(pandas_chain):
    pytest.importorskip("dask_cuda", reason="LocalCUDACluster needs dask-cuda")
    pytest.importorskip("dask_cudf", reason="cuDF-backed Dask frames need dask-cudf")
    import dask.dataframe as dd

    from toolkit import scale

    lib = w.Library("dask_cudf", lambda df: dd.from_pandas(df, npartitions=3).to_backend("cudf"), dask=True)
    with scale.cluster(gpu=True, rmm_pool_size=None, dashboard_address=None):
        got = w.chain(lib)
        assert set(got) <= set(pandas_chain) and {"clean", "features", "detect", "simulation"} <= set(got)
        for name, output in got.items():
            if name not in CHAIN_HOST:
                _assert_on_device(name, output)
            if name in ("clean", "features", "detect", "simulation"):  # lazy Dask outputs stay lazy
                assert is_dask(output), name
            w.assert_same(output, pandas_chain[name], name, sort=True)
