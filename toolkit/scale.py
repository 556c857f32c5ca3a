"""Scale-out with Dask: clusters and lazy reading of the partitioned datasets.

The same verbs take a pandas/cuDF frame or a Dask frame (:mod:`toolkit.panel.partitions`
holds the one strategy for per-series work on Dask: series-whole partitions). This module
supplies what a user needs around it:

* :func:`cluster` starts (or connects to) a Dask cluster and returns its ``Client`` as a
  context manager: a ``dask_cuda.LocalCUDACluster`` (one worker per visible GPU, an RMM pool,
  cuDF spilling) when a usable GPU and dask-cuda are present, otherwise a ``LocalCluster``
  sized to the machine. For its lifetime Dask's ``dataframe.backend`` is ``"cudf"`` or
  ``"pandas"`` to match.
* :func:`read_parquet_dataset` reads the partitioned Parquet written by
  :func:`toolkit.datasets.write_parquet` lazily, one partition per file, with the same
  categories in every partition, and without any shuffle: the writer puts whole skus in each
  file, so the frame is recorded as series-partitioned as it is read.
* :func:`partition_by_series`, :func:`map_series` and friends are re-exported from
  :mod:`toolkit.panel.partitions` for users who lay out a Dask frame themselves.

The end-to-end pipeline of the scaling notebook lives in :mod:`toolkit.pipeline`.

Cluster ownership: the client returned by :func:`cluster` closes the cluster it started and
restores Dask's configuration when closed (or when its ``with`` block ends); with
``address=`` it only disconnects.

Examples
--------
>>> from toolkit.scale import cluster
>>> with cluster(n_workers=1, gpu=False, dashboard_address=None) as client:  # doctest: +SKIP
...     client.submit(sum, [1, 2]).result()
3
"""

from __future__ import annotations

import os
from typing import Any, Sequence

from toolkit import backend
from toolkit.datasets.manifest import check_schema, read_manifest, table_files
from toolkit.datasets.parquet import dataset_path
from toolkit.datasets.retail import resolve_backend
from toolkit.errors import BackendUnavailableError, DataValidationError
from toolkit.panel.checks import as_list, check_choice, check_int
from toolkit.panel.partitions import (
    assume_partitioned_by_series,
    is_partitioned_by_series,
    map_series,
    partition_by_series,
)

__all__ = [
    "cluster",
    "partition_by_series",
    "is_partitioned_by_series",
    "assume_partitioned_by_series",
    "map_series",
    "read_parquet_dataset",
]

_SKU_TABLES = {"sales": "date", "inventory": "date"}  # tables written per block of skus, with their time column


# --------------------------------------------------------------------------- clusters


def _dask_cuda_importable() -> bool:
    try:
        import dask_cuda  # noqa: F401
    except ImportError:
        return False
    return True


def _wants_gpu(gpu: bool | str) -> bool:
    """Resolve ``gpu`` to a bool; ``True`` without a usable GPU and dask-cuda raises."""
    if gpu == "auto":
        return backend.current() == "gpu" and _dask_cuda_importable()
    if gpu is True:
        if not backend.gpu_available():
            raise BackendUnavailableError("cluster(gpu=True) needs a usable GPU and none was found")
        if not _dask_cuda_importable():
            raise BackendUnavailableError("cluster(gpu=True) needs dask-cuda: pip install 'toolkit[gpu]'")
        return True
    return False


def _workers_have_gpu(client: Any) -> bool:
    """True when every worker of a remote cluster reports a usable GPU and imports dask-cuda."""
    try:
        answers = client.run(lambda: backend.gpu_available() and _dask_cuda_importable())
    except Exception:  # workers without the toolkit installed: assume host workers
        return False
    return bool(answers) and all(answers.values())


def _client_class() -> type:
    from distributed import Client

    class ClusterClient(Client):
        """A ``distributed.Client`` that also closes the cluster it started and restores Dask's config."""

        def __init__(self, address: Any, owned_cluster: Any = None, dataframe_backend: str = "pandas", **kwargs):
            self._owned_cluster = owned_cluster
            self._toolkit_config = None
            self.use_backend(dataframe_backend)
            try:
                super().__init__(address, **kwargs)
            except BaseException:
                self._release()
                raise

        def use_backend(self, name: str) -> None:
            """Set Dask's ``dataframe.backend`` to ``name`` until the client closes."""
            import dask

            self._restore_config()
            self._toolkit_config = dask.config.set({"dataframe.backend": name})
            self.dataframe_backend = name

        def _restore_config(self) -> None:
            config, self._toolkit_config = getattr(self, "_toolkit_config", None), None
            if config is not None:
                config.__exit__(None, None, None)

        def _release(self) -> None:
            cluster, self._owned_cluster = getattr(self, "_owned_cluster", None), None
            if cluster is not None:
                cluster.close()
            self._restore_config()

        def close(self, *args: Any, **kwargs: Any) -> Any:
            result = super().close(*args, **kwargs)
            self._release()
            return result

    return ClusterClient


def cluster(
    n_workers: int | None = None,
    gpu: bool | str = "auto",
    memory_limit: str | int | float | None = None,
    spill: bool = True,
    address: str | None = None,
    threads_per_worker: int | None = None,
    rmm_pool_size: str | int | float | None = 0.8,
    **kwargs: Any,
) -> Any:
    """Start a local Dask cluster (or connect to one) and return its client.

    Parameters
    ----------
    n_workers : int, optional
        Workers to start. GPU: default one per visible GPU. CPU: default one process per
        core, each with one thread.
    gpu : bool or "auto", default "auto"
        ``"auto"``: a ``LocalCUDACluster`` when :func:`toolkit.backend.current` is ``"gpu"``
        (so ``TOOLKIT_BACKEND=cpu`` forces host workers) and dask-cuda imports, else a
        ``LocalCluster``. ``True`` requires both. With ``address``, ``"auto"`` asks the
        workers whether they have GPUs and ``True`` trusts that they do.
    memory_limit : str, int or float, optional
        Host memory per worker (``"4GiB"``, bytes, or a fraction of the machine); default
        ``"auto"``: the machine's memory divided among the workers.
    spill : bool, default True
        CPU: workers spill stored results to disk when they pass 60 % of ``memory_limit``
        (Dask's defaults); ``False`` turns that off (workers still pause at 80 % and restart
        at 95 %). GPU: enables cuDF's native spilling from device to host memory.
    address : str, optional
        Connect to this running scheduler (``"tcp://host:8786"``) instead of starting one,
        so the same notebook runs on a multi-node cluster; sizing arguments are ignored.
    threads_per_worker : int, optional
        CPU: default ``max(1, cores // n_workers)``. GPU: one.
    rmm_pool_size : str, int, float or None, default 0.8
        GPU: RMM pool per worker (fraction of device memory, bytes or ``"20GB"``); ``None``
        allocates without a pool.
    **kwargs
        Passed on to ``LocalCluster`` / ``LocalCUDACluster`` (``dashboard_address``, ...).

    Returns
    -------
    distributed.Client
        Use it as a context manager: leaving the block closes the client, the cluster it
        started and restores Dask's ``dataframe.backend``. ``client.dataframe_backend`` says
        which backend (``"cudf"`` or ``"pandas"``) new Dask frames use meanwhile.

    Raises
    ------
    DataValidationError
        ``gpu`` not True, False or "auto"; ``n_workers`` or ``threads_per_worker`` not a
        whole number >= 1; ``address`` not a string.
    BackendUnavailableError
        ``gpu=True`` without a usable GPU or without dask-cuda.

    Examples
    --------
    >>> from toolkit.scale import cluster
    >>> with cluster(n_workers=1, gpu=False, dashboard_address=None) as client:  # doctest: +SKIP
    ...     client.submit(sum, [1, 2]).result()
    3
    """
    import dask

    if not (isinstance(gpu, bool) or (isinstance(gpu, str) and gpu == "auto")):
        raise DataValidationError.for_parameter("gpu", "unknown value", gpu, [True, False, "auto"])
    if n_workers is not None:
        n_workers = check_int("n_workers", n_workers, minimum=1)
    if threads_per_worker is not None:
        threads_per_worker = check_int("threads_per_worker", threads_per_worker, minimum=1)
    if address is not None and not isinstance(address, str):
        raise DataValidationError.for_parameter("address", "expected a scheduler address string", address)
    client_class = _client_class()
    if address is not None:  # the workers' hardware decides, not this machine's
        client = client_class(address, dataframe_backend="pandas")
        if gpu is True or (gpu == "auto" and _workers_have_gpu(client)):
            client.use_backend("cudf")
        return client
    on_gpu = _wants_gpu(gpu)
    memory = "auto" if memory_limit is None else memory_limit
    if on_gpu:
        from dask_cuda import LocalCUDACluster

        local = LocalCUDACluster(n_workers=n_workers, memory_limit=memory, enable_cudf_spill=bool(spill),
                                 rmm_pool_size=rmm_pool_size, **kwargs)
        return client_class(local, owned_cluster=local, dataframe_backend="cudf")
    from distributed import LocalCluster

    cores = os.cpu_count() or 1
    workers = int(n_workers) if n_workers is not None else cores
    threads = threads_per_worker or max(1, cores // workers)
    settings = {} if spill else {"distributed.worker.memory.target": False, "distributed.worker.memory.spill": False}
    with dask.config.set(settings):  # read by the nannies when they start their workers
        local = LocalCluster(n_workers=workers, threads_per_worker=threads, processes=True,
                             memory_limit=memory, **kwargs)
    return client_class(local, owned_cluster=local, dataframe_backend="pandas")


# --------------------------------------------------------------------------- reading


def _read_part(path: str, columns: list[str] | None, dtypes: dict, on_gpu: bool) -> Any:
    """One Parquet file as a frame, its categorical columns cast to the dataset's categories."""
    lib = backend.frame_module("gpu" if on_gpu else "cpu")
    frame = lib.read_parquet(path, columns=columns)
    changed = {c: t for c, t in dtypes.items() if c in frame.columns and str(frame[c].dtype) == "category"
               and not frame[c].dtype == t}
    return frame.astype(changed) if changed else frame


def read_parquet_dataset(
    path: str | os.PathLike,
    table: str = "sales",
    columns: Sequence[str] | None = None,
    backend_name: str | None = None,
    check_manifest: bool = True,
) -> Any:
    """Read one table written by :func:`toolkit.datasets.write_parquet` as a lazy Dask frame.

    The table's files are first checked against the dataset's ``manifest.json``
    (:mod:`toolkit.datasets.manifest`): a missing part file, a part with another row count
    or an unlisted part file raises before anything is read, naming the table and the
    parts. Each ``path/<table>/part-NNNNN.parquet`` file listed becomes one partition (a
    table written as a single ``path/<table>.parquet`` file, e.g. by
    ``RetailData.to_parquet``, becomes one partition). Categorical columns get the
    categories of the first file in every partition (known categories, so ``cat``
    operations and concatenation work without a pass over the data). Because the writer
    puts whole blocks of skus in each file, ``sales`` and ``inventory`` come back recorded
    as partitioned by ``sku`` (hence by any finer series keys) over ``date``: per-series
    functions run on them without a shuffle.

    Parameters
    ----------
    path : str or path-like
        Directory given to ``write_parquet``.
    table : str, default "sales"
    columns : list of str, optional
        Columns to read (default all).
    backend_name : {"cpu", "gpu", "auto"}, optional
        Partitions are pandas or cuDF frames; default :func:`toolkit.backend.current`.
    check_manifest : bool, default True
        ``False`` reads a directory without a manifest as it is (every
        ``<table>/part-*.parquet``, or ``<table>.parquet``), unchecked.

    Returns
    -------
    dask.dataframe.DataFrame

    Raises
    ------
    DataValidationError
        No such directory, no manifest, no such table (the tables there are listed), part
        files that do not match the manifest, or a requested column not in the table.

    Examples
    --------
    >>> from toolkit.datasets import write_parquet
    >>> root = write_parquet("/tmp/doc-retail", n_skus=300, n_locations=2, n_days=30, progress=False)  # doctest: +SKIP
    >>> read_parquet_dataset(root, "sales").npartitions  # doctest: +SKIP
    2
    """
    import dask.dataframe as dd
    import pyarrow.parquet as pq

    root = dataset_path(path)
    if not isinstance(table, str):
        raise DataValidationError.for_parameter("table", "expected a table name", table)
    wanted = None if columns is None else as_list(columns, "columns")
    on_gpu = resolve_backend(backend_name) == "gpu"
    manifest = read_manifest(root) if check_manifest else None
    if manifest is not None:
        table = check_choice("table", table, sorted(manifest["tables"]))
    files = table_files(root, table, manifest, check_manifest)
    present = list(manifest["tables"][table]["columns"]) if manifest else pq.read_schema(files[0]).names
    unknown = [c for c in wanted or () if c not in present]
    if unknown:
        raise DataValidationError(f"column {unknown[0]!r}: not in table {table!r} (columns: {present})",
                                  column=unknown[0])
    meta = _read_part(str(files[0]), wanted, {}, on_gpu).iloc[:0]
    if manifest is not None:
        check_schema(table, meta, manifest, dtypes=not on_gpu, complete=wanted is None)
    dtypes = {c: meta[c].dtype for c in meta.columns if str(meta[c].dtype) == "category"}
    ddf = dd.from_map(_read_part, [str(f) for f in files], columns=wanted, dtypes=dtypes, on_gpu=on_gpu,
                      meta=meta, label=f"read-{table}", enforce_metadata=False)
    time_col = _SKU_TABLES.get(table)
    written_by_block = files[0].parent != root
    if written_by_block and time_col is not None and "sku" in meta.columns and time_col in meta.columns:
        assume_partitioned_by_series(ddf, ["sku"], time_col)
    return ddf
