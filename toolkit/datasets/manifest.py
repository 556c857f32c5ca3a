"""The manifest of a dataset directory: which files hold which table, how many rows, which schema.

:func:`toolkit.datasets.write_parquet` and :meth:`toolkit.datasets.RetailData.to_parquet`
write ``manifest.json`` at the root of the directory, last (atomically, so an interrupted
write leaves no manifest). It lists, per table, its files (one ``<table>.parquet``, or the
``<table>/part-NNNNN.parquet`` parts of the streamed writer) with their row counts, and the
table's schema: column dtypes and, per categorical column, the number of categories and a
SHA-256 digest of them (the lists themselves can be long). It also keeps the generator's
parameters. Readers (:func:`toolkit.datasets.load_parquet`,
:func:`toolkit.scale.read_parquet_dataset`) check the directory against it before reading:

* a part file missing, or holding another number of rows (read from its Parquet footer, no
  data read) -> :class:`~toolkit.errors.DataValidationError` naming the table and the parts;
* a part file in a table's folder that the manifest does not list (a stale or foreign file
  that a folder-wide reader would pick up) -> error naming it;
* a table that is not in the manifest -> error listing the tables that are;
* after reading, columns, dtypes or categories that differ from the manifest -> error naming
  the column.

Design choice: a directory **without** a manifest (written by an older toolkit, or by hand)
is refused with an error that says how to proceed, because its completeness cannot be
checked; readers take ``check_manifest=False`` to read such a directory as it is (every
``<table>.parquet``, or every ``<table>/part-*.parquet`` in name order), unchecked.

Examples
--------
>>> import pandas as pd, tempfile, pathlib
>>> from toolkit.datasets import manifest
>>> root = pathlib.Path(tempfile.mkdtemp())
>>> frame = pd.DataFrame({"sku": pd.Categorical(["a", "b"]), "units": [1.0, 2.0]})
>>> frame.to_parquet(root / "sales.parquet", index=False)
>>> entry = manifest.table_entry(["sales.parquet"], [2], manifest.schema_of(frame))
>>> manifest.write_manifest(root, {"sales": entry}, {}).name
'manifest.json'
>>> [p.name for p in manifest.table_files(root, "sales")]
['sales.parquet']
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any, Mapping, Sequence

from toolkit.errors import DataValidationError
from toolkit.panel.checks import KEYS_SHOWN, check_choice

__all__ = ["MANIFEST", "FORMAT", "table_entry", "schema_of", "write_manifest", "read_manifest", "table_files",
           "check_schema", "clear_table"]

MANIFEST = "manifest.json"
"""File name of the manifest, at the root of a dataset directory."""
FORMAT = "toolkit.datasets/1"
"""Format tag of the manifests this version writes and reads."""


def schema_of(frame: Any) -> dict[str, Any]:
    """Column dtypes, and count + digest of the categories of each categorical column (a host frame)."""
    columns = {str(c): str(frame[c].dtype) for c in frame.columns}
    categories = {}
    for col, dtype in columns.items():
        if dtype == "category":
            cats = [str(v) for v in frame[col].cat.categories]
            categories[col] = {"count": len(cats), "sha256": hashlib.sha256("\x1f".join(cats).encode()).hexdigest()}
    return {"columns": columns, "categories": categories}


def table_entry(files: Sequence[str], rows: Sequence[int], schema: Mapping[str, Any]) -> dict[str, Any]:
    """One table of the manifest: ``files`` (relative to the root, ``/``-separated) with their ``rows``,
    and the table's ``schema`` (:func:`schema_of` any of its frames: they share one schema)."""
    parts = [{"file": str(f), "rows": int(n)} for f, n in zip(files, rows, strict=True)]
    return {"rows": sum(p["rows"] for p in parts), "parts": parts, **schema}


def write_manifest(root: str | os.PathLike, tables: Mapping[str, dict], params: Mapping[str, Any]) -> Path:
    """Write ``root/manifest.json`` atomically (a temporary file renamed over it)."""
    path = Path(root) / MANIFEST
    body = {"format": FORMAT, "generator": dict(params), "tables": dict(tables)}
    tmp = path.with_name(MANIFEST + ".tmp")
    tmp.write_text(json.dumps(body, indent=1, default=str), encoding="utf-8")
    os.replace(tmp, path)
    return path


def clear_table(root: str | os.PathLike, table: str) -> None:
    """Remove the files a writer is about to (re)write for ``table``: ``<table>.parquet`` and
    ``<table>/part-*.parquet`` (nothing else in the directory is touched)."""
    root = Path(root)
    (root / f"{table}.parquet").unlink(missing_ok=True)
    folder = root / table
    if folder.is_dir():
        for part in folder.glob("part-*.parquet"):
            part.unlink()


def _check_root(root: Path) -> None:
    if not root.exists():
        raise DataValidationError.for_parameter("path", "no such directory", str(root))
    if not root.is_dir():
        raise DataValidationError.for_parameter("path", "not a directory (expected a dataset directory)", str(root))


def read_manifest(root: str | os.PathLike) -> dict[str, Any]:
    """The manifest of dataset directory ``root``.

    Raises
    ------
    DataValidationError
        ``root`` is not a directory, has no manifest (the message says how to proceed), or
        its manifest is not one this version reads.
    """
    root = Path(root)
    _check_root(root)
    path = root / MANIFEST
    if not path.exists():
        raise DataValidationError(
            f"parameter 'path': {str(root)!r} has no {MANIFEST}, so whether every file of the dataset is there "
            "cannot be checked (it was written by an older toolkit or by hand). Rewrite it with "
            "toolkit.datasets.write_parquet / RetailData.to_parquet (or `toolkit data --out DIR`), or pass "
            "check_manifest=False to read the files as they are", parameter="path")
    try:
        body = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as err:
        raise DataValidationError(f"parameter 'path': {str(path)!r} is not a readable manifest ({err})",
                                  parameter="path") from err
    if not isinstance(body, dict) or body.get("format") != FORMAT or not isinstance(body.get("tables"), dict):
        raise DataValidationError(f"parameter 'path': {str(path)!r} is not a {FORMAT} manifest", parameter="path")
    return body


def _parquet_rows(path: Path) -> int | None:
    """Rows recorded in a Parquet file's footer (no data read); None when it is not a Parquet file."""
    import pyarrow.parquet as pq

    try:
        return int(pq.ParquetFile(path).metadata.num_rows)
    except Exception:  # pyarrow raises ArrowInvalid/OSError subclasses for a truncated or foreign file
        return None


def _shown(names: list[str]) -> str:
    more = f" and {len(names) - KEYS_SHOWN} more" if len(names) > KEYS_SHOWN else ""
    return f"{names[:KEYS_SHOWN]}{more}"


def table_files(root: str | os.PathLike, table: str, manifest: Mapping[str, Any] | None = None,
                check_manifest: bool = True) -> list[Path]:
    """The files of ``table`` in read order, checked against the manifest.

    Parameters
    ----------
    root : path
        The dataset directory.
    table : str
    manifest : dict, optional
        Already read with :func:`read_manifest` (read here when omitted).
    check_manifest : bool, default True
        ``False``: no manifest is read or checked; the files are ``<table>.parquet`` or every
        ``<table>/part-*.parquet`` in name order, whatever is there.

    Raises
    ------
    DataValidationError
        See the module notes: missing or resized parts, unlisted parts, unknown table.
    """
    root = Path(root)
    if not check_manifest:
        _check_root(root)
        single, folder = root / f"{table}.parquet", root / table
        files = [single] if single.exists() else sorted(folder.glob("part-*.parquet")) if folder.is_dir() else []
        if not files:
            raise DataValidationError(f"table {table!r}: no {single.name} or {table}/part-*.parquet in {root}",
                                      column=table)
        return files
    manifest = read_manifest(root) if manifest is None else manifest
    table = check_choice("table", table, sorted(manifest["tables"]))
    entry = manifest["tables"][table]
    listed = [root / part["file"] for part in entry["parts"]]
    missing = [part["file"] for part, path in zip(entry["parts"], listed) if not path.is_file()]
    if missing:
        raise DataValidationError(
            f"table {table!r}: {len(missing)} of its {len(listed)} part files are missing from {root}: "
            f"{_shown(missing)}; the dataset is incomplete (rewrite it)", column=table)
    resized = [f"{part['file']} ({found} rows, manifest: {part['rows']})" for part, path in zip(entry["parts"], listed)
               if (found := _parquet_rows(path)) != part["rows"]]
    if resized:
        raise DataValidationError(f"table {table!r}: part files differ from the manifest: {_shown(resized)}",
                                  column=table)
    folders = {path.parent for path in listed if path.parent != root}
    known = set(listed)
    extra = sorted(str(p.relative_to(root)) for folder in folders for p in folder.glob("part-*.parquet")
                   if p not in known)
    if extra:
        raise DataValidationError(
            f"table {table!r}: part files not listed in the manifest: {_shown(extra)}; remove them or rewrite the "
            "dataset (a folder-wide reader would add their rows)", column=table)
    return listed


def check_schema(table: str, frame: Any, manifest: Mapping[str, Any], *, dtypes: bool = True,
                 complete: bool = True) -> None:
    """Raise naming the first column of ``frame`` whose name, dtype or categories differ from the manifest.

    ``dtypes=False`` checks the column names only (for frames of another library, e.g. cuDF
    partitions, whose dtype names differ from pandas'); ``complete=False`` allows ``frame`` to
    hold a subset of the table's columns.
    """
    entry = manifest["tables"][table]
    found = schema_of(frame) if dtypes else {"columns": {str(c): None for c in frame.columns}, "categories": {}}
    for col in found["columns"]:
        if col not in entry["columns"]:
            raise DataValidationError(f"column {col!r}: in the files of table {table!r} but not in its manifest",
                                      column=col)
    for col in entry["columns"] if complete else ():
        if col not in found["columns"]:
            raise DataValidationError(f"column {col!r}: in the manifest of table {table!r} but not in its files",
                                      column=col)
    if not dtypes:
        return
    for col, dtype in found["columns"].items():
        if dtype != entry["columns"][col]:
            raise DataValidationError(f"column {col!r}: dtype {dtype} in the files of table {table!r}, "
                                      f"{entry['columns'][col]} in the manifest", column=col)
        if entry["categories"].get(col) != found["categories"].get(col):
            raise DataValidationError(f"column {col!r}: categories of table {table!r} differ from the manifest "
                                      "(parts of different datasets?)", column=col)
