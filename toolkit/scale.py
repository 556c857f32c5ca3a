"""Scale-out with Dask: clusters, series-aware partitioning and the out-of-core pipeline.

The same calls take a pandas/cuDF frame or a Dask frame; this module supplies what the Dask
side needs:

* :func:`cluster` starts (or connects to) a Dask cluster and returns its ``Client`` as a
  context manager: a ``dask_cuda.LocalCUDACluster`` (one worker per visible GPU, an RMM pool,
  cuDF spilling) when a usable GPU and dask-cuda are present, otherwise a ``LocalCluster``
  sized to the machine. For its lifetime Dask's ``dataframe.backend`` is ``"cudf"`` or
  ``"pandas"`` to match.
* :func:`partition_by_series` shuffles a frame so that each series lies whole in one
  partition, sorted by ``id_cols + [time_col]``, and records the fact; :func:`map_series` is
  what the per-series functions of the other modules call: it makes sure of the layout
  (shuffling only when needed) and runs an in-memory function on every partition, lazily.
* :func:`read_parquet_dataset` reads the partitioned Parquet written by
  :func:`toolkit.datasets.write_parquet` lazily, one partition per file, with the same
  categories in every partition, and without any shuffle: the writer puts whole skus in each
  file, so the frame is recorded as series-partitioned as it is read.
* :func:`run_pipeline` is the end-to-end pipeline of the scaling notebook and benchmark:
  cleanse -> features -> OLS fit -> per-series anomaly scores, on pandas, cuDF or Dask input.

Design choices
--------------
* **The layout registry.** Dask collections carry no user metadata that survives
  ``map_partitions``, so the layout is recorded in a registry keyed by the collection's name
  (its graph token). :func:`map_series` registers its own output, so chained per-series
  calls shuffle once. A frame recorded as partitioned by coarser keys (``["sku"]``) holds
  finer series (``["sku", "location"]``) whole as well. :func:`assume_partitioned_by_series`
  records a layout known by construction (files written per block of skus, the output of a
  per-series step that keeps each partition's rows) without checking it.
* **Two passes, nothing persisted.** :func:`run_pipeline` on Dask reads the data twice: once
  to fit the regression (TSQR factors per partition, summed on the client) and once, lazily,
  to score. Recomputing cheap upstream steps costs less than persisting a feature matrix
  larger than memory, and keeps peak memory bounded by a few partitions per worker.
* **Anomaly scores on Pearson residuals, fitted on a sample.** Residuals are divided by a
  Poisson standard deviation ``sqrt(max(yhat, 0) + 1)`` so that a surprise on a slow mover and
  on a fast mover compare; one detector (:func:`toolkit.anomaly.detect`, robust z by default)
  is fitted on all rows in memory, or on a sample of ``detector_sample`` rows on Dask, and
  every partition is scored in parallel. Fitting per series instead ranks the ordinary sales
  of intermittent series (median absolute deviation near 0) above injected spikes.
* **Cluster ownership.** The client returned by :func:`cluster` closes the cluster it started
  and restores Dask's configuration when closed (or when its ``with`` block ends); with
  ``address=`` it only disconnects.

Examples
--------
>>> import pandas as pd, dask.dataframe as dd
>>> from toolkit.scale import partition_by_series, map_series
>>> df = pd.DataFrame({"sku": [1, 2, 1, 2], "date": pd.to_datetime(["2024-01-02", "2024-01-01",
...                    "2024-01-01", "2024-01-02"]), "units": [1.0, 2.0, 3.0, 4.0]})
>>> ddf = partition_by_series(dd.from_pandas(df, npartitions=2), "sku", "date")
>>> out = map_series(ddf, lambda part: part.assign(lag1=part.groupby("sku")["units"].shift(1)),
...                  id_cols="sku", time_col="date")
>>> sorted(out.compute()["lag1"].dropna().tolist())
[2.0, 3.0]
"""

from __future__ import annotations

import dataclasses
import functools
import os
from pathlib import Path
from typing import Any, Callable, Sequence

from toolkit import backend
from toolkit.backend import is_dask
from toolkit.errors import BackendUnavailableError, DataValidationError

__all__ = [
    "as_list",
    "cluster",
    "partition_by_series",
    "is_partitioned_by_series",
    "assume_partitioned_by_series",
    "map_series",
    "read_parquet_dataset",
    "run_pipeline",
    "pipeline_spec",
    "PipelineResult",
]

DEFAULT_ID_COLS = ("sku", "location")
_SKU_TABLES = {"sales": "date", "inventory": "date"}  # tables written per block of skus, with their time column
_LAYOUT: dict[str, tuple[tuple[str, ...], str]] = {}


def as_list(cols: str | Sequence[str] | None) -> list[str]:
    """``id_cols`` as a list: a single name becomes a one-element list, ``None`` an empty one."""
    if cols is None:
        return []
    if isinstance(cols, str):
        return [cols]
    return list(cols)


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

    client_class = _client_class()
    if gpu not in (True, False, "auto"):
        raise ValueError(f"gpu must be True, False or 'auto', got {gpu!r}")
    if address is not None:  # the workers' hardware decides, not this machine's
        client = client_class(address, dataframe_backend="pandas")
        if gpu is True or (gpu == "auto" and _workers_have_gpu(client)):
            client.use_backend("cudf")
        return client
    on_gpu = _wants_gpu(gpu)
    if n_workers is not None and int(n_workers) < 1:
        raise ValueError(f"n_workers must be >= 1, got {n_workers}")
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


# --------------------------------------------------------------------------- series layout


def _register(ddf: Any, id_cols: Sequence[str], time_col: str) -> Any:
    _LAYOUT[ddf._name] = (tuple(id_cols), time_col)
    return ddf


def is_partitioned_by_series(ddf: Any, id_cols: str | Sequence[str], time_col: str) -> bool:
    """True when ``ddf`` is known to hold every series of ``id_cols`` whole in one partition.

    A frame partitioned by coarser keys (``["sku"]``) also holds finer series
    (``["sku", "location"]``) whole, so the recorded keys need only be a subset.
    """
    layout = _LAYOUT.get(getattr(ddf, "_name", None))
    if layout is None:
        return False
    keys, recorded_time = layout
    return set(keys) <= set(as_list(id_cols)) and recorded_time == time_col


def assume_partitioned_by_series(ddf: Any, id_cols: str | Sequence[str], time_col: str) -> Any:
    """Record, without checking, that ``ddf`` already holds each series whole in one partition.

    For layouts known by construction: files written per block of series, or the output of a
    per-series step that keeps each partition's rows (a series cannot leave its partition).
    A wrong claim gives wrong per-series results, so prefer :func:`partition_by_series`
    when in doubt.

    Parameters
    ----------
    ddf : dask.dataframe.DataFrame
    id_cols : str or list of str
        Keys whose series are whole in a partition (coarser keys cover finer series).
    time_col : str

    Returns
    -------
    dask.dataframe.DataFrame
        ``ddf`` itself, now recognised by :func:`is_partitioned_by_series`.
    """
    if not is_dask(ddf):
        raise TypeError("assume_partitioned_by_series expects a Dask DataFrame")
    _check_layout_columns(ddf, as_list(id_cols), time_col)
    return _register(ddf, as_list(id_cols), time_col)


def _check_layout_columns(ddf: Any, keys: list[str], time_col: str) -> None:
    if not keys:
        raise ValueError("id_cols must name at least one column")
    missing = [c for c in [*keys, time_col] if c not in ddf.columns]
    if missing:
        raise DataValidationError(
            f"column {missing[0]!r}: missing (needed to partition by series); columns are {list(ddf.columns)}",
            column=missing[0],
        )
    kind = str(ddf._meta[time_col].dtype)
    if not kind.startswith("datetime64"):
        raise DataValidationError(f"column {time_col!r}: dtype {kind}, expected datetime64 (the time column)",
                                  column=time_col)


def _sort_partition(part: Any, order: list[str]) -> Any:
    return part.sort_values(order, kind="stable") if len(part) > 1 else part


def partition_by_series(
    ddf: Any,
    id_cols: str | Sequence[str],
    time_col: str,
    npartitions: int | None = None,
) -> Any:
    """Shuffle ``ddf`` so each series lies whole in one partition, sorted by time.

    Rows are assigned to partitions by a hash of the key values (categorical keys hash by
    value, so partitions whose categories differ still agree), then each partition is sorted
    by ``id_cols + [time_col]``. A frame already recorded with a compatible layout is
    returned as is unless another ``npartitions`` is asked for.

    Parameters
    ----------
    ddf : dask.dataframe.DataFrame
        Long-format panel (pandas- or cudf-backed partitions).
    id_cols : str or list of str
        Series keys.
    time_col : str
        Datetime column; each partition is sorted by ``id_cols + [time_col]``.
    npartitions : int, optional
        Output partitions (default: keep the input's count).

    Returns
    -------
    dask.dataframe.DataFrame
        Lazy frame, recorded as series-partitioned for :func:`map_series`.

    Raises
    ------
    TypeError
        ``ddf`` is not a Dask DataFrame.
    DataValidationError
        A key or the time column is missing, or the time column is not datetime64.

    Examples
    --------
    >>> import pandas as pd, dask.dataframe as dd
    >>> df = pd.DataFrame({"sku": list("abab"), "date": pd.date_range("2024-01-01", periods=4),
    ...                    "units": [1.0, 2.0, 3.0, 4.0]})
    >>> parts = partition_by_series(dd.from_pandas(df, npartitions=2), "sku", "date", npartitions=3)
    >>> parts.npartitions
    3
    """
    if not is_dask(ddf):
        raise TypeError("partition_by_series expects a Dask DataFrame")
    keys = as_list(id_cols)
    _check_layout_columns(ddf, keys, time_col)
    if npartitions is not None and (int(npartitions) != npartitions or npartitions < 1):
        raise ValueError(f"npartitions must be a positive integer, got {npartitions}")
    if is_partitioned_by_series(ddf, keys, time_col) and npartitions in (None, ddf.npartitions):
        return ddf
    shuffled = ddf.shuffle(on=keys, npartitions=int(npartitions or ddf.npartitions))
    ordered = shuffled.map_partitions(_sort_partition, [*keys, time_col], meta=ddf._meta)
    return _register(ordered, keys, time_col)


def map_series(
    ddf: Any,
    func: Callable[..., Any],
    id_cols: str | Sequence[str],
    time_col: str,
    meta: Any = None,
    **kwargs: Any,
) -> Any:
    """Run an in-memory per-series ``func`` on every partition of a series-partitioned frame.

    Parameters
    ----------
    ddf : dask.dataframe.DataFrame
        Input; shuffled with :func:`partition_by_series` first unless already laid out so.
    func : callable
        ``func(partition, **kwargs) -> frame``; it may add, change or drop rows of a series
        but not move rows between series, so its output stays registered as
        series-partitioned.
    id_cols, time_col : as in :func:`partition_by_series`.
    meta : frame, optional
        Empty frame describing the output; computed by running ``func`` on ``ddf._meta``
        when omitted.

    Returns
    -------
    dask.dataframe.DataFrame
        Lazy result, registered as series-partitioned.
    """
    keys = as_list(id_cols)
    if not is_partitioned_by_series(ddf, keys, time_col):
        ddf = partition_by_series(ddf, keys, time_col)
    if meta is None:
        meta = func(ddf._meta, **kwargs)
    out = ddf.map_partitions(func, meta=meta, **kwargs)
    return _register(out, keys, time_col)


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
) -> Any:
    """Read one table written by :func:`toolkit.datasets.write_parquet` as a lazy Dask frame.

    Each ``path/<table>/part-NNNNN.parquet`` file becomes one partition (a table written as
    a single ``path/<table>.parquet`` file, e.g. by ``RetailData.to_parquet``, becomes one
    partition). Categorical columns get the categories of the first file in every partition
    (known categories, so ``cat`` operations and concatenation work without a pass over the
    data). Because the writer puts whole blocks of skus in each file, ``sales`` and
    ``inventory`` come back recorded as partitioned by ``sku`` (hence by any finer series
    keys) over ``date``: per-series functions run on them without a shuffle.

    Parameters
    ----------
    path : str or path-like
        Directory given to ``write_parquet``.
    table : str, default "sales"
    columns : list of str, optional
        Columns to read (default all).
    backend_name : {"cpu", "gpu"}, optional
        Partitions are pandas or cuDF frames; default :func:`toolkit.backend.current`.

    Returns
    -------
    dask.dataframe.DataFrame

    Raises
    ------
    DataValidationError
        No such table under ``path``, or a requested column is not in it.

    Examples
    --------
    >>> from toolkit.datasets import write_parquet
    >>> root = write_parquet("/tmp/doc-retail", n_skus=300, n_locations=2, n_days=30, progress=False)  # doctest: +SKIP
    >>> read_parquet_dataset(root, "sales").npartitions  # doctest: +SKIP
    2
    """
    import dask.dataframe as dd

    root = Path(path)
    folder, single = root / table, root / f"{table}.parquet"
    files = sorted(folder.glob("part-*.parquet")) if folder.is_dir() else ([single] if single.exists() else [])
    if not files:
        raise DataValidationError(f"table {table!r}: no {table}/part-*.parquet files or {table}.parquet in {root}",
                                  column=table)
    on_gpu = (backend_name or backend.current()) == "gpu"
    wanted = None if columns is None else list(columns)
    if wanted is not None:
        import pyarrow.parquet as pq

        present = pq.read_schema(files[0]).names
        unknown = [c for c in wanted if c not in present]
        if unknown:
            raise DataValidationError(f"column {unknown[0]!r}: not in table {table!r} (columns: {present})",
                                      column=unknown[0])
    meta = _read_part(str(files[0]), wanted, {}, on_gpu).iloc[:0]
    dtypes = {c: meta[c].dtype for c in meta.columns if str(meta[c].dtype) == "category"}
    ddf = dd.from_map(_read_part, [str(f) for f in files], columns=wanted, dtypes=dtypes, on_gpu=on_gpu,
                      meta=meta, label=f"read-{table}", enforce_metadata=False)
    time_col = _SKU_TABLES.get(table)
    if folder.is_dir() and time_col is not None and "sku" in meta.columns and time_col in meta.columns:
        _register(ddf, ["sku"], time_col)
    return ddf


# --------------------------------------------------------------------------- pipeline


@dataclasses.dataclass
class PipelineResult:
    """What :func:`run_pipeline` returns.

    Attributes
    ----------
    model : toolkit.regress.LinearRegression
        The OLS model fitted on every complete row (out of core on Dask input), or the
        model passed to :func:`run_pipeline`.
    scores : frame
        One row per complete row, sorted by series and time within each partition:
        ``id_cols``, ``time_col``, ``target_col``, ``prediction``, ``residual``,
        ``pearson_residual`` and, from :func:`toolkit.anomaly.detect`, ``anomaly_score``
        (higher is more anomalous) and ``is_anomaly``. Lazy on Dask input.
    feature_names : list of str
        Regressors, in ``model.coef_`` order.
    """

    model: Any
    scores: Any
    feature_names: list

    @property
    def rows_fit(self) -> int:
        """Rows the regression was fitted on."""
        return int(self.model.n_samples_)


def pipeline_spec(target_col: str = "units", id_cols: str | Sequence[str] = DEFAULT_ID_COLS,
                  time_col: str = "date") -> Any:
    """The feature set of :func:`run_pipeline`: lags, rolling means, calendar, yearly Fourier, price and promo.

    Returns
    -------
    toolkit.features.FeatureSpec
    """
    from toolkit.features import FeatureSpec

    return FeatureSpec(lags=(1, 7, 14, 28), rolling={7: ("mean",), 28: ("mean", "std")},
                       calendar=("dayofweek",), fourier=((365.25, 2),), exog=("price", "promo"),
                       target_col=target_col, id_cols=tuple(as_list(id_cols)), time_col=time_col)


def _predict_frame(frame: Any, model: Any, names: list[str], keys: list[str], time_col: str,
                   target_col: str) -> Any:
    """Complete rows (every feature and the target present) with prediction and residual.

    Works on a whole in-memory panel or on one partition holding whole series; rows come out
    sorted by ``keys + [time_col]``.
    """
    complete = frame.dropna(subset=[*names, target_col])
    part = complete.sort_values([*keys, time_col], kind="stable")
    out = part[[*keys, time_col, target_col]].reset_index(drop=True)
    n = len(out)
    out["prediction"] = _array(model.predict(part[names].astype("float64"))) if n else 0.0
    out["residual"] = out[target_col].astype("float64") - out["prediction"]
    out["pearson_residual"] = out["residual"] / (out["prediction"].clip(lower=0.0) + 1.0) ** 0.5
    return out


def _array(series: Any) -> Any:
    """The values of a pandas or cuDF Series as a numpy or cupy array."""
    return series.to_cupy() if backend.is_gpu(series) else series.to_numpy()


def _fit_inputs(frame: Any, names: list[str], target_col: str) -> tuple[Any, Any]:
    """X and y of the complete rows; on Dask both come from the same partition tasks.

    ``regress`` turns X and y into delayed partitions separately, and Dask's optimizer fuses
    each of them with the whole upstream graph, which would compute the features twice;
    splitting delayed partitions of one frame keeps a single upstream task per partition.
    """
    complete = frame.dropna(subset=[*names, target_col])
    if not is_dask(complete):
        return complete[names].astype("float64"), complete[target_col].astype("float64")
    import dask
    import dask.dataframe as dd

    parts = complete[[*names, target_col]].to_delayed()
    xs = [dask.delayed(_columns)(p, names) for p in parts]
    ys = [dask.delayed(_columns)(p, target_col) for p in parts]
    X = dd.from_delayed(xs, meta=_columns(complete._meta, names), verify_meta=False)
    y = dd.from_delayed(ys, meta=_columns(complete._meta, target_col), verify_meta=False)
    return X, y


def _columns(part: Any, cols: Any) -> Any:
    return part[cols].astype("float64")


def run_pipeline(
    sales: Any,
    spec: Any = None,
    fill_method: str = "ffill",
    target_col: str = "units",
    id_cols: str | Sequence[str] = DEFAULT_ID_COLS,
    time_col: str = "date",
    model: Any = None,
    detector: str = "robust_z",
    detector_sample: int = 100_000,
    random_state: int = 0,
) -> PipelineResult:
    """Cleanse -> features -> OLS fit -> per-series anomaly scores, in memory or out of core.

    1. :func:`toolkit.cleanse.fill_missing` fills missing targets forward within each series;
    2. :func:`toolkit.features.build_features` computes ``spec`` (default
       :func:`pipeline_spec`);
    3. :class:`toolkit.regress.LinearRegression` is fitted on every row whose features and
       target are all present (TSQR over partitions on Dask);
    4. each row's Pearson residual ``(y - yhat) / sqrt(max(yhat, 0) + 1)`` (the residual in
       units of a Poisson standard deviation, so slow and fast movers are comparable) is
       scored by :func:`toolkit.anomaly.detect` (robust z-score by default).

    Rows whose features are incomplete (the first ``spec.lookback`` days of each series, or
    a series that starts with missing units) are neither fitted nor scored:
    ``len(sales) - result.rows_fit`` of them when the model was fitted here.

    Parameters
    ----------
    sales : pandas, cudf or Dask DataFrame
        Daily panel with ``id_cols``, ``time_col``, ``target_col`` and the exogenous columns
        of ``spec`` (``price``, ``promo`` by default). A Dask frame is laid out by series
        first unless already recorded so (:func:`read_parquet_dataset` frames are).
    spec : toolkit.features.FeatureSpec, optional
    fill_method : str, default "ffill"
        ``method`` of :func:`toolkit.cleanse.fill_missing`.
    target_col, id_cols, time_col : str
        As everywhere in the toolkit.
    model : fitted regressor, optional
        Score with this model (e.g. one fitted on the whole data) instead of fitting one;
        it must take the columns of ``spec.feature_names``.
    detector : str, default "robust_z"
        ``method`` of :func:`toolkit.anomaly.detect`, fitted on the Pearson residuals of all
        series together and flagging with its own rule.
    detector_sample : int, default 100_000
        Dask input: the detector is fitted on a random sample of this many scored rows, then
        every partition is scored in parallel (all rows when there are fewer; then the scores
        equal the in-memory ones).
    random_state : int, default 0
        Seed of that sample.

    Returns
    -------
    PipelineResult
        The regression is fitted (one pass over the data); ``scores`` is lazy on Dask input
        (computing or writing it is the second pass).

    Examples
    --------
    >>> from toolkit.datasets import make_retail
    >>> from toolkit.scale import run_pipeline
    >>> data = make_retail(n_skus=4, n_locations=2, n_days=90, progress=False)
    >>> result = run_pipeline(data.sales)
    >>> result.scores.columns.tolist()
    ['sku', 'location', 'date', 'units', 'prediction', 'residual', 'pearson_residual', 'anomaly_score', 'is_anomaly']
    """
    from toolkit import anomaly, cleanse, features, regress

    keys = as_list(id_cols)
    spec = spec if spec is not None else pipeline_spec(target_col, keys, time_col)
    if list(spec.id_cols) != keys or spec.time_col != time_col or spec.target_col != target_col:
        raise ValueError("spec.id_cols/time_col/target_col must match the pipeline's id_cols/time_col/target_col")
    names = list(spec.feature_names)
    columns = (sales._meta if is_dask(sales) else sales).columns
    for col in [*keys, time_col, target_col, *spec.exog]:
        if col not in columns:
            raise DataValidationError(f"column {col!r}: missing (needed by run_pipeline); columns are {list(columns)}",
                                      column=col)
    frame = sales
    if is_dask(frame):
        frame = partition_by_series(frame, keys, time_col)
    filled = cleanse.fill_missing(frame, cols=target_col, method=fill_method, id_cols=keys, time_col=time_col)
    if is_dask(filled):
        # a per-series fill keeps every row in its partition: the layout survives
        assume_partitioned_by_series(filled, keys, time_col)
    feats = features.build_features(filled, spec)
    if model is None:
        model = regress.LinearRegression().fit(*_fit_inputs(feats, names, target_col))
    predict = functools.partial(_predict_frame, model=model, names=names, keys=keys, time_col=time_col,
                                target_col=target_col)
    if is_dask(feats):
        residuals = map_series(feats, predict, keys, time_col, meta=predict(feats._meta))
    else:
        residuals = predict(feats)
    scores = anomaly.detect(residuals, "pearson_residual", method=detector, time_col=time_col,
                            sample=detector_sample, random_state=random_state)
    if "anomaly_rank" in scores.columns:  # only the in-memory path ranks (a global rank needs a sort)
        scores = scores.drop(columns=["anomaly_rank"])
    return PipelineResult(model=model, scores=scores, feature_names=names)
