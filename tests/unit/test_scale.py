"""Tests for toolkit.scale: series layout, Parquet reading, the pipeline (pandas vs Dask), clusters.

References are independent of the code under test: plain pandas (groupby, sort, concat) for
layouts, scikit-learn's LinearRegression for the OLS fit, PyOD's ECOD fitted on one series
for the anomaly scores, and the pandas run of the same pipeline for the Dask runs. Cluster
tests use two single-thread worker processes.
"""

from __future__ import annotations

import os
import signal
import sys
import time

import dask
import dask.dataframe as dd
import numpy as np
import pandas as pd
import pytest

from tests.fixture_scope import module_unless_mutating
from toolkit import backend, pipeline, scale
from toolkit.datasets import load_parquet, make_retail, write_parquet
from toolkit.errors import BackendUnavailableError, DataValidationError

KEYS = ["sku", "location", "date"]


def _panel(n_series: int = 6, n_days: int = 10, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    skus = [f"S{i}" for i in range(n_series)]
    df = pd.DataFrame({
        "sku": pd.Categorical(np.repeat(skus, n_days), categories=skus),
        "location": pd.Categorical(["web"] * (n_series * n_days)),
        "date": np.tile(pd.date_range("2024-01-01", periods=n_days).to_numpy(), n_series),
        "units": rng.poisson(5.0, n_series * n_days).astype("float64"),
    })
    return df.sample(frac=1.0, random_state=seed).reset_index(drop=True)  # series spread over all rows


def _split(df: pd.DataFrame, n: int) -> dd.DataFrame:
    ddf = dd.from_pandas(df, npartitions=n, sort=False)
    parts = [p.compute() for p in ddf.partitions]
    spread = sum(p["sku"].nunique() for p in parts)
    assert spread > df["sku"].nunique(), "test data must split series across input partitions"
    return ddf


def _partitions(ddf) -> list[pd.DataFrame]:
    with dask.config.set(scheduler="sync"):
        return list(dask.compute(*ddf.to_delayed()))


def _sorted(df: pd.DataFrame) -> pd.DataFrame:
    return df.sort_values(KEYS).reset_index(drop=True)


# --------------------------------------------------------------------------- layout


@pytest.mark.parametrize("npartitions", [None, 3, 7])
def test_partition_by_series_makes_series_whole_and_sorted(npartitions):
    df = _panel()
    ddf = _split(df, 4)
    out = scale.partition_by_series(ddf, ["sku", "location"], "date", npartitions=npartitions)
    assert out.npartitions == (npartitions or 4)
    parts = _partitions(out)
    seen: set = set()
    for part in parts:
        keys = set(zip(part["sku"], part["location"]))
        assert not keys & seen, "a series lies in two partitions"
        seen |= keys
        expected = part.sort_values(KEYS, kind="stable")
        assert part[KEYS].reset_index(drop=True).equals(expected[KEYS].reset_index(drop=True))
    whole = pd.concat(parts)
    pd.testing.assert_frame_equal(_sorted(whole), _sorted(df))
    assert scale.is_partitioned_by_series(out, ["sku", "location"], "date")
    by_sku = scale.partition_by_series(ddf, "sku", "date")
    assert scale.is_partitioned_by_series(by_sku, ["sku", "location"], "date")  # coarser keys cover finer series
    assert not scale.is_partitioned_by_series(by_sku, ["location"], "date")
    assert not scale.is_partitioned_by_series(by_sku, ["sku"], "other_time")
    assert not scale.is_partitioned_by_series(ddf, ["sku"], "date")


def test_partition_by_series_hashes_categories_by_value():
    # the same sku gets a different category code in each input partition
    df = _panel(n_series=5, n_days=6)
    pieces = [df.iloc[i::3] for i in range(3)]
    parts = []
    for i, piece in enumerate(pieces):
        cats = sorted(df["sku"].unique(), reverse=bool(i % 2))
        parts.append(dask.delayed(piece.assign(sku=pd.Categorical(piece["sku"].astype(str), categories=cats))))
    meta = df.iloc[:0].assign(sku=pd.Categorical([], categories=sorted(df["sku"].unique())))
    ddf = dd.from_delayed(parts, meta=meta, verify_meta=False)
    out = _partitions(scale.partition_by_series(ddf, "sku", "date", npartitions=2))
    owners: dict = {}
    for i, part in enumerate(out):
        for sku in part["sku"].astype(str).unique():
            assert owners.setdefault(sku, i) == i
    assert sum(len(p) for p in out) == len(df)


def test_partition_by_series_keeps_a_known_layout():
    ddf = scale.partition_by_series(_split(_panel(), 4), "sku", "date")
    assert scale.partition_by_series(ddf, ["sku", "location"], "date") is ddf
    assert scale.partition_by_series(ddf, "sku", "date", npartitions=2).npartitions == 2


def test_partition_by_series_validates_before_work():
    ddf = _split(_panel(), 3)
    with pytest.raises(DataValidationError, match="'store'") as err:
        scale.partition_by_series(ddf, ["sku", "store"], "date")
    assert err.value.column == "store"
    with pytest.raises(DataValidationError, match="'units'.*datetime64"):
        scale.partition_by_series(ddf, "sku", "units")
    with pytest.raises(ValueError, match="npartitions"):
        scale.partition_by_series(ddf, "sku", "date", npartitions=0)
    with pytest.raises(ValueError, match="id_cols"):
        scale.partition_by_series(ddf, [], "date")
    with pytest.raises(DataValidationError, match="^parameter 'ddf': partition_by_series expects a Dask DataFrame, "
                                                  "got a DataFrame$"):
        scale.partition_by_series(_panel(), "sku", "date")


def test_map_series_matches_pandas_groupby_with_split_series():
    df = _panel(n_series=8, n_days=12, seed=3)
    ddf = _split(df, 5)

    def lag_and_cumsum(part):
        part = part.sort_values(KEYS)
        grouped = part.groupby(["sku", "location"], observed=True)["units"]
        return part.assign(lag1=grouped.shift(1), total=grouped.cumsum())

    out = scale.map_series(ddf, lag_and_cumsum, ["sku", "location"], "date")
    assert scale.is_partitioned_by_series(out, ["sku", "location"], "date")
    with dask.config.set(scheduler="sync"):
        got = _sorted(out.compute())
    ref = _sorted(df)
    grouped = ref.groupby(["sku", "location"], observed=True)["units"]
    np.testing.assert_array_equal(got["lag1"].to_numpy(), grouped.shift(1).to_numpy())
    np.testing.assert_array_equal(got["total"].to_numpy(), grouped.cumsum().to_numpy())
    # chained calls reuse the layout instead of shuffling again
    again = scale.map_series(out, lambda p: p.assign(twice=p["units"] * 2), ["sku", "location"], "date")
    assert _shuffles(again) == _shuffles(out) == 1


def _shuffles(ddf) -> int:
    return sum(type(node).__name__ == "RearrangeByColumn" for node in ddf.expr.walk())


def test_assume_partitioned_by_series_records_without_shuffle():
    ddf = _split(_panel(), 3)
    assert scale.assume_partitioned_by_series(ddf, "sku", "date") is ddf
    assert scale.is_partitioned_by_series(ddf, ["sku", "location"], "date")
    with pytest.raises(DataValidationError, match="Dask"):
        scale.assume_partitioned_by_series(_panel(), "sku", "date")


# --------------------------------------------------------------------------- Parquet


@pytest.fixture(scope="module")
def written(tmp_path_factory):
    """A dataset written by write_parquet in three files (blocks of 256 skus)."""
    root = tmp_path_factory.mktemp("retail")
    write_parquet(root, n_skus=600, n_locations=2, n_days=60, seed=4, progress=False)
    return root


def test_read_parquet_dataset_matches_the_in_memory_tables(written):
    ddf = scale.read_parquet_dataset(written, "sales")
    assert ddf.npartitions == 3
    assert ddf["sku"].cat.known and ddf["location"].cat.known
    expected = load_parquet(written, tables=("sales",)).sales
    with dask.config.set(scheduler="sync"):
        got = ddf.compute().reset_index(drop=True)
    pd.testing.assert_frame_equal(got, expected)
    assert list(ddf._meta["sku"].cat.categories) == list(expected["sku"].cat.categories)
    # whole skus per file: recorded as series-partitioned, no shuffle needed
    assert scale.is_partitioned_by_series(ddf, ["sku", "location"], "date")
    owners = [set(p["sku"].unique()) for p in _partitions(ddf)]
    assert all(not a & b for i, a in enumerate(owners) for b in owners[i + 1:])


def test_read_parquet_dataset_columns_and_errors(written):
    inv = scale.read_parquet_dataset(written, "inventory", columns=["sku", "warehouse", "date", "on_hand"])
    assert list(inv.columns) == ["sku", "warehouse", "date", "on_hand"]
    assert scale.is_partitioned_by_series(inv, ["sku", "warehouse"], "date")
    products = scale.read_parquet_dataset(written, "products")
    assert products.npartitions == 1 and len(products.compute()) == 600
    with pytest.raises(DataValidationError, match="'returns'"):
        scale.read_parquet_dataset(written, "returns")
    with pytest.raises(DataValidationError, match="'margin'"):
        scale.read_parquet_dataset(written, "sales", columns=["sku", "margin"])


def test_read_parquet_dataset_refuses_a_dataset_missing_a_part(tmp_path):
    root = write_parquet(tmp_path / "d", n_skus=256 + 5, n_locations=1, n_days=30, seed=1, progress=False)
    (root / "sales" / "part-00001.parquet").unlink()
    with pytest.raises(DataValidationError, match=r"'sales'.*part-00001"):
        scale.read_parquet_dataset(root, "sales")
    assert scale.read_parquet_dataset(root, "inventory").npartitions == 2  # other tables are whole
    (root / "manifest.json").unlink()
    with pytest.raises(DataValidationError, match="manifest.json"):
        scale.read_parquet_dataset(root, "inventory")
    unchecked = scale.read_parquet_dataset(root, "sales", check_manifest=False)
    assert unchecked.npartitions == 1 and len(unchecked.compute()) == 256 * 30


# --------------------------------------------------------------------------- pipeline


@pytest.fixture(scope=module_unless_mutating)
def small_sales():
    return make_retail(n_skus=12, n_locations=3, n_days=150, seed=2, progress=False).sales


@pytest.fixture(scope=module_unless_mutating)
def pandas_result(small_sales):
    return pipeline.run_pipeline(small_sales)


def test_pipeline_ols_matches_sklearn_and_scores_are_robust_z_of_pearson_residuals(small_sales, pandas_result):
    from sklearn.linear_model import LinearRegression

    from toolkit import cleanse, features

    res = pandas_result
    spec = pipeline.pipeline_spec()
    feats = features.build_features(cleanse.fill_missing(small_sales), spec)
    complete = feats.dropna(subset=[*spec.feature_names, "units"])
    X = complete[spec.feature_names].astype("float64").to_numpy()
    ref = LinearRegression().fit(X, complete["units"].astype("float64"))
    np.testing.assert_allclose(res.model.coef_, ref.coef_, rtol=1e-6, atol=1e-8)
    assert res.model.intercept_ == pytest.approx(ref.intercept_, rel=1e-6)
    scores = res.scores
    assert len(scores) == len(complete) == res.rows_fit
    assert scores[KEYS].equals(_sorted(scores)[KEYS])  # sorted by series and time
    # the filled target is the pandas groupby ffill of the raw one
    assert small_sales["units"].isna().any()
    filled = _sorted(small_sales)
    filled["units"] = filled.groupby(["sku", "location"], observed=True)["units"].ffill()
    merged = scores.merge(filled[KEYS + ["units"]], on=KEYS, suffixes=("", "_ref"))
    assert len(merged) == len(scores)
    np.testing.assert_array_equal(merged["units"].to_numpy(), merged["units_ref"].to_numpy())
    np.testing.assert_allclose(scores["residual"], scores["units"] - scores["prediction"])
    # Pearson residuals, and scores = their robust z over all rows: |p - median| / (1.4826 * MAD)
    pearson = scores["residual"] / np.sqrt(scores["prediction"].clip(lower=0) + 1)
    np.testing.assert_allclose(scores["pearson_residual"], pearson, rtol=1e-12)
    median = pearson.median()
    mad = (pearson - median).abs().median() * 1.4826
    expected = (pearson - median).abs() / mad
    np.testing.assert_allclose(scores["anomaly_score"], expected, rtol=1e-9, atol=1e-9)
    np.testing.assert_array_equal(scores["is_anomaly"], expected > 3.5)


def test_pipeline_dask_equals_pandas_with_series_split(small_sales, pandas_result):
    shuffled = small_sales.sample(frac=1.0, random_state=1).reset_index(drop=True)
    ddf = _split(shuffled, 4)
    with dask.config.set(scheduler="sync"):
        res = pipeline.run_pipeline(ddf)
        got = _sorted(res.scores.compute())
    ref = _sorted(pandas_result.scores)
    pd.testing.assert_frame_equal(got[KEYS + ["units"]], ref[KEYS + ["units"]])
    np.testing.assert_allclose(res.model.coef_, pandas_result.model.coef_, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(got["prediction"], ref["prediction"], rtol=1e-9, atol=1e-9)
    np.testing.assert_allclose(got["anomaly_score"], ref["anomaly_score"], rtol=1e-9, atol=1e-9)
    clear = (ref["anomaly_score"] - 3.5).abs() > 1e-6  # the rule's cut; rounding may only matter at it
    np.testing.assert_array_equal(got["is_anomaly"][clear], ref["is_anomaly"][clear])
    assert "anomaly_rank" not in got.columns and list(got.columns) == list(ref.columns)
    assert res.rows_fit == pandas_result.rows_fit


def test_pipeline_dask_detector_fitted_on_a_sample_ranks_like_pandas(small_sales, pandas_result):
    ddf = _split(small_sales.sample(frac=1.0, random_state=2).reset_index(drop=True), 3)
    with dask.config.set(scheduler="sync"):
        got = pipeline.run_pipeline(ddf, detector_sample=2000).scores.compute()
    ref = pandas_result.scores
    assert len(got) == len(ref) > 2000
    top = lambda df: set(map(tuple, df.nlargest(25, "anomaly_score")[KEYS].astype(str).values))  # noqa: E731
    assert top(got) == top(ref)
    # a sample's median and MAD, not the full data's: close, not equal
    assert not np.allclose(_sorted(got)["anomaly_score"], _sorted(ref)["anomaly_score"], rtol=1e-9)
    np.testing.assert_allclose(_sorted(got)["anomaly_score"], _sorted(ref)["anomaly_score"], rtol=0.1, atol=0.1)


def test_pipeline_rejects_a_spec_for_other_columns(small_sales):
    spec = pipeline.pipeline_spec(id_cols="sku")
    with pytest.raises(ValueError, match="id_cols"):
        pipeline.run_pipeline(small_sales, spec=spec)
    with pytest.raises(DataValidationError, match="'price'"):
        pipeline.run_pipeline(small_sales.drop(columns=["price"]))


# --------------------------------------------------------------------------- clusters


def test_cluster_without_gpu():
    with pytest.raises(BackendUnavailableError):
        scale.cluster(gpu=True)
    with pytest.raises(ValueError, match="gpu"):
        scale.cluster(gpu="yes")


def test_cluster_on_gpu_hands_its_sizing_to_dask_cuda(monkeypatch):
    """No GPU here: a stand-in dask_cuda records what LocalCUDACluster is given and starts a host cluster."""
    import types

    from distributed import LocalCluster

    received = {}

    def local_cuda_cluster(n_workers=None, memory_limit=None, enable_cudf_spill=None, rmm_pool_size=None, **kwargs):
        received.update(n_workers=n_workers, memory_limit=memory_limit, enable_cudf_spill=enable_cudf_spill,
                        rmm_pool_size=rmm_pool_size, **kwargs)
        return LocalCluster(n_workers=1, threads_per_worker=1, processes=False, dashboard_address=None)

    monkeypatch.setitem(sys.modules, "dask_cuda", types.SimpleNamespace(LocalCUDACluster=local_cuda_cluster))
    monkeypatch.setattr(backend, "gpu_available", lambda: True)
    with scale.cluster(gpu=True, spill=False, dashboard_address=None, protocol="inproc") as client:
        assert client.dataframe_backend == "cudf" == dask.config.get("dataframe.backend")
    # the documented default pool (80 % of each GPU), spilling as asked, the extra arguments passed on
    assert received == {"n_workers": None, "memory_limit": "auto", "enable_cudf_spill": False, "rmm_pool_size": 0.8,
                        "dashboard_address": None, "protocol": "inproc"}
    received.clear()
    with scale.cluster(gpu=True, n_workers=2, memory_limit="2GiB", rmm_pool_size=None, dashboard_address=None):
        pass
    assert received == {"n_workers": 2, "memory_limit": "2GiB", "enable_cudf_spill": True, "rmm_pool_size": None,
                        "dashboard_address": None}


def test_cluster_sets_backend_limits_memory_and_cleans_up():
    before = dask.config.get("dataframe.backend")
    with scale.cluster(n_workers=2, gpu="auto", memory_limit="900MiB", dashboard_address=None) as client:
        local = client.cluster
        assert client.dataframe_backend == "pandas" == dask.config.get("dataframe.backend")
        workers = client.scheduler_info()["workers"].values()
        assert len(workers) == 2
        assert all(w["memory_limit"] == 900 * 2**20 and w["nthreads"] == 1 for w in workers)
        assert client.submit(sum, [1, 2]).result() == 3
        # address=: connect to the running scheduler; closing that client leaves the cluster up
        with scale.cluster(address=local.scheduler_address) as other:
            assert other.submit(sum, [3, 4]).result() == 7
            assert other.dataframe_backend == "pandas"  # "auto" asked the workers: no GPU
        with scale.cluster(address=local.scheduler_address, gpu=True) as remote_gpu:  # trusted, not probed
            assert remote_gpu.dataframe_backend == "cudf" == dask.config.get("dataframe.backend")
        assert dask.config.get("dataframe.backend") == "pandas"
        assert client.submit(sum, [5, 6]).result() == 11
    assert client.status == "closed" and local.status.name == "closed"
    assert dask.config.get("dataframe.backend") == before


@pytest.fixture(scope="module")
def split_sales():
    data = make_retail(n_skus=16, n_locations=2, n_days=120, seed=5, progress=False)
    return data.sales


@pytest.mark.slow
def test_pipeline_survives_a_killed_worker(split_sales):
    expected = _sorted(pipeline.run_pipeline(split_sales).scores)
    ddf = dd.from_pandas(split_sales.sample(frac=1.0, random_state=0), npartitions=8, sort=False)
    with scale.cluster(n_workers=2, memory_limit="2GiB", dashboard_address=None) as client:
        res = pipeline.run_pipeline(ddf)

        def slow(part):
            time.sleep(0.4)
            return part

        scores = res.scores.map_partitions(slow, meta=res.scores._meta)
        future = client.compute(scores)
        pids = client.run(os.getpid)
        victim = None
        deadline = time.monotonic() + 20
        while victim is None and time.monotonic() < deadline:  # a worker holds a finished partition
            held = {w: keys for w, keys in client.has_what().items() if any(scores._name in str(k) for k in keys)}
            victim = next(iter(held), None)
            time.sleep(0.02)
        assert victim is not None and not future.done(), "the kill must happen mid-computation"
        os.kill(pids[victim], signal.SIGKILL)
        got = _sorted(future.result(timeout=60))
        assert victim not in client.scheduler_info()["workers"]
    pd.testing.assert_frame_equal(got[KEYS + ["units"]], expected[KEYS + ["units"]])
    np.testing.assert_allclose(got["anomaly_score"], expected["anomaly_score"], rtol=1e-9, atol=1e-9)


@pytest.fixture(scope="module")
def many_parts(tmp_path_factory):
    """16 files of 256 skus: each partition is small next to the whole data."""
    root = tmp_path_factory.mktemp("many")
    write_parquet(root, n_skus=16 * 256, n_locations=1, n_days=60, seed=6, progress=False)
    return root


@pytest.mark.slow
def test_pipeline_completes_with_less_memory_than_the_data(many_parts):
    sales = scale.read_parquet_dataset(many_parts, "sales")
    assert sales.npartitions == 16
    data_bytes = int(sales.memory_usage(deep=True).sum().compute(scheduler="sync"))
    expected = _sorted(pipeline.run_pipeline(load_parquet(many_parts, tables=("sales",)).sales).scores)
    limit = data_bytes // 2  # each worker may hold half the data (Dask refuses tasks whose inputs exceed it)
    # workers may not pause or restart on this tiny limit; they must spill instead
    with dask.config.set({"distributed.worker.memory.pause": False, "distributed.worker.memory.terminate": False}):
        client = scale.cluster(n_workers=2, memory_limit=limit, spill=True, dashboard_address=None)
    with client:
        from distributed import wait

        held = sales.persist()
        wait(held)
        spilled = client.run(lambda dask_worker: len(dask_worker.data.slow))
        assert sum(spilled.values()) > 0, "nothing was spilled to disk"
        res = pipeline.run_pipeline(scale.assume_partitioned_by_series(held, "sku", "date"), detector_sample=10**6)
        # gather partition by partition: no worker may hold the whole result
        got = _sorted(pd.concat(client.gather(client.compute(res.scores.to_delayed()))))
    pd.testing.assert_frame_equal(got[KEYS + ["units"]], expected[KEYS + ["units"]])
    np.testing.assert_allclose(got["anomaly_score"], expected["anomaly_score"], rtol=1e-9, atol=1e-9)
