"""GPU tests for toolkit.scale: dask-cuda cluster, cuDF-backed partitions, pipeline parity with pandas."""

from __future__ import annotations

import dask
import numpy as np
import pandas as pd
import pytest

pytestmark = pytest.mark.gpu
pytest.importorskip("cupy")

from toolkit import pipeline, scale  # noqa: E402
from toolkit.datasets import make_retail, write_parquet  # noqa: E402

KEYS = ["sku", "location", "date"]


def _sorted(df: pd.DataFrame) -> pd.DataFrame:
    return df.sort_values(KEYS).reset_index(drop=True)


@pytest.fixture(scope="module")
def written(tmp_path_factory):
    root = tmp_path_factory.mktemp("retail-gpu")
    write_parquet(root, n_skus=300, n_locations=2, n_days=90, seed=3, progress=False)
    return root


def test_read_parquet_dataset_on_gpu_gives_cudf_partitions(written):
    pytest.importorskip("cudf", reason="cuDF-backed Dask partitions need cudf")
    from toolkit.backend import is_gpu, to_host

    ddf = scale.read_parquet_dataset(written, "sales", backend_name="gpu")
    assert is_gpu(ddf)
    host = scale.read_parquet_dataset(written, "sales", backend_name="cpu")
    with dask.config.set(scheduler="sync"):
        got = to_host(ddf).compute().reset_index(drop=True)
        expected = host.compute().reset_index(drop=True)
    pd.testing.assert_frame_equal(got, expected, check_dtype=False)


def test_pipeline_on_cudf_matches_pandas(written):
    pytest.importorskip("cudf", reason="the cuDF pipeline path needs cudf")
    from toolkit.backend import is_gpu, to_host

    host = scale.read_parquet_dataset(written, "sales", backend_name="cpu")
    device = scale.read_parquet_dataset(written, "sales", backend_name="gpu")
    with dask.config.set(scheduler="sync"):
        ref = pipeline.run_pipeline(host)
        res = pipeline.run_pipeline(device)
        assert is_gpu(res.scores)
        got = _sorted(to_host(res.scores).compute())
        expected = _sorted(ref.scores.compute())
    assert res.rows_fit == ref.rows_fit
    np.testing.assert_allclose(np.asarray(to_host(res.model.coef_)), ref.model.coef_, rtol=1e-6, atol=1e-8)
    np.testing.assert_allclose(got["prediction"], expected["prediction"], rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(got["anomaly_score"], expected["anomaly_score"], rtol=1e-5, atol=1e-6)


def test_cuda_cluster_one_worker_per_gpu_with_cudf_backend():
    pytest.importorskip("dask_cuda", reason="LocalCUDACluster needs dask-cuda")
    pytest.importorskip("cudf", reason="cuDF spilling needs cudf")
    from toolkit.backend import gpu_count

    before = dask.config.get("dataframe.backend")
    with scale.cluster(gpu=True, rmm_pool_size=None, dashboard_address=None) as client:
        assert client.dataframe_backend == "cudf" == dask.config.get("dataframe.backend")
        assert len(client.scheduler_info()["workers"]) == gpu_count()
        sales = make_retail(n_skus=8, n_locations=2, n_days=90, seed=1, progress=False, backend="cpu").sales
        import dask.dataframe as dd

        ddf = dd.from_pandas(sales, npartitions=3).to_backend("cudf")
        res = pipeline.run_pipeline(ddf)
        got = _sorted(res.scores.compute().to_pandas())
    assert dask.config.get("dataframe.backend") == before
    expected = _sorted(pipeline.run_pipeline(sales).scores)
    np.testing.assert_allclose(got["anomaly_score"], expected["anomaly_score"], rtol=1e-5, atol=1e-6)
