"""The generated supply chain on disk: streamed Parquet writing and checked reading.

:func:`write_parquet` generates block by block straight to
``path/<table>/part-NNNNN.parquet`` (one part per block of
:data:`~toolkit.datasets.blocks.BLOCK_SKUS` skus, so memory stays bounded by one block
whatever the size) and the small tables to ``path/<table>.parquet``, then writes the
manifest (:mod:`toolkit.datasets.manifest`). It gives exactly the rows
:func:`~toolkit.datasets.make_retail` gives in memory. :func:`load_parquet` checks a
directory against its manifest before reading any data and refuses an incomplete one.

Examples
--------
>>> import tempfile
>>> from toolkit.datasets import load_parquet, write_parquet
>>> root = write_parquet(tempfile.mkdtemp(), n_skus=3, n_locations=2, n_days=30, progress=False)
>>> sorted(p.name for p in root.iterdir())[:3]
['inventory', 'locations.parquet', 'manifest.json']
>>> load_parquet(root, tables=("sales",)).sales.shape
(180, 9)
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Sequence

import pandas as pd

from toolkit.datasets.blocks import PANEL_TABLES, iter_blocks
from toolkit.datasets.incidents import attach_incidents
from toolkit.datasets.manifest import (
    MANIFEST,
    check_schema,
    clear_table,
    read_manifest,
    schema_of,
    table_entry,
    table_files,
    write_manifest,
)
from toolkit.datasets.retail import (
    TABLES,
    RetailData,
    generator_params,
    place,
    resolve_backend,
    small_tables,
)
from toolkit.datasets.world import build_world
from toolkit.errors import DataValidationError
from toolkit.panel.checks import as_list, check_choice

__all__ = ["write_parquet", "load_parquet", "dataset_path"]


def dataset_path(path: Any) -> Path:
    """``path`` as a :class:`~pathlib.Path`, refused when it is not a path or names an existing file."""
    if not isinstance(path, (str, os.PathLike)) or str(path) == "":
        raise DataValidationError.for_parameter("path", "expected a directory path (str or pathlib.Path)", path)
    root = Path(path)
    if root.exists() and not root.is_dir():
        raise DataValidationError.for_parameter("path", "is a file, expected a dataset directory", str(root))
    return root


def write_parquet(path: str | os.PathLike, progress: bool = True, **params: Any) -> Path:
    """Generate the same data as :func:`~toolkit.datasets.make_retail` straight to partitioned Parquet.

    Per-sku tables (sales, orders, inventory, shipments) are written one block of
    :data:`~toolkit.datasets.BLOCK_SKUS` skus at a time to ``path/<table>/part-NNNNN.parquet``,
    so memory stays bounded by one block whatever the size (10^8 sales rows and more); the
    small tables go to ``path/<table>.parquet``; ``path/manifest.json`` (files, rows per
    file, schema, these parameters) is written last. Files of these tables already in
    ``path`` are replaced; an interrupted write leaves no manifest, so readers refuse it.

    Parameters
    ----------
    path : str or path-like
        The dataset directory (created).
    progress : bool
        Show a progress bar over blocks of skus.
    **params
        The generator parameters of :func:`~toolkit.datasets.make_retail` (``n_skus``,
        ``n_locations``, ``n_days``, ``start``, ``seed``, ``anomaly_rate``, ``country``,
        ``incident_rate``),
        with the same defaults and checks.

    Returns
    -------
    pathlib.Path
        ``path``.

    Raises
    ------
    DataValidationError
        ``path`` is a file or not a path; an unknown or out-of-range parameter.
    """
    params = generator_params(**params)
    out = dataset_path(path)
    out.mkdir(parents=True, exist_ok=True)
    (out / MANIFEST).unlink(missing_ok=True)
    for name in TABLES:
        clear_table(out, name)
    world = attach_incidents(build_world(params["n_skus"], params["n_locations"], params["n_days"], params["start"],
                                         params["seed"], params["country"]), params["seed"], params["incident_rate"])
    files: dict[str, list[str]] = {name: [] for name in PANEL_TABLES}
    rows: dict[str, list[int]] = {name: [] for name in PANEL_TABLES}
    schemas: dict[str, dict] = {}
    truths, revenues = [], []
    for block, frames in enumerate(iter_blocks(world, params["seed"], params["anomaly_rate"], progress)):
        for name in PANEL_TABLES:
            (out / name).mkdir(exist_ok=True)
            relative = f"{name}/part-{block:05d}.parquet"
            frames[name].to_parquet(out / relative, index=False)
            files[name].append(relative)
            rows[name].append(len(frames[name]))
            schemas.setdefault(name, schema_of(frames[name]))
        truths.append(frames["truth"])
        revenues.append(frames["revenue"])
    entries = {name: table_entry(files[name], rows[name], schemas[name]) for name in PANEL_TABLES}
    for name, frame in small_tables(world, params["seed"], params["anomaly_rate"], truths, revenues).items():
        frame.to_parquet(out / f"{name}.parquet", index=False)
        entries[name] = table_entry([f"{name}.parquet"], [len(frame)], schema_of(frame))
    write_manifest(out, {name: entries[name] for name in TABLES}, params)
    return out


def load_parquet(path: str | os.PathLike, backend: str | None = None, tables: Sequence[str] = TABLES,
                 check_manifest: bool = True) -> RetailData:
    """Read tables written by :meth:`RetailData.to_parquet` or :func:`write_parquet`.

    Every requested table's files are checked against ``path/manifest.json`` before any data
    is read: a missing part file, a part with another row count, or an unlisted part file in
    a table's folder raises, naming the table and the files; after reading, the columns,
    dtypes and categories are checked too.

    Parameters
    ----------
    path : str or path-like
        The dataset directory.
    backend : {"cpu", "gpu", "auto"}, optional
        Where the frames are created (default :func:`toolkit.backend.current`).
    tables : sequence of str
        Tables to read (others are ``None``); a single name is one table.
    check_manifest : bool, default True
        ``False`` reads a directory without a manifest (written by an older toolkit or by
        hand) as it is: ``<table>.parquet`` or every ``<table>/part-*.parquet``, unchecked --
        a missing part then goes unnoticed.

    Returns
    -------
    RetailData
        ``params`` holds the generator parameters from the manifest (empty unchecked).

    Raises
    ------
    DataValidationError
        No such directory, no manifest (with ``check_manifest``), an unknown table, a
        table absent from the directory, or files that do not match the manifest.
    """
    root = dataset_path(path)
    wanted = [check_choice("tables", name, TABLES) for name in as_list(tables, "tables")]
    target = resolve_backend(backend)
    manifest = read_manifest(root) if check_manifest else None
    files = {name: table_files(root, name, manifest, check_manifest) for name in TABLES if name in wanted}
    frames: dict[str, Any] = dict.fromkeys(TABLES)
    for name, parts in files.items():
        frame = pd.concat([pd.read_parquet(p) for p in parts], ignore_index=True) if len(parts) > 1 \
            else pd.read_parquet(parts[0])
        if manifest is not None:
            check_schema(name, frame, manifest)
        frames[name] = frame
    params = dict(manifest["generator"]) if manifest is not None else {}
    return place(RetailData(**frames, params=params), target)
