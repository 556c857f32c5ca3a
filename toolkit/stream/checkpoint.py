"""Checkpoints: the engine's state and the offsets it covers, saved together, atomically.

Exactly-once *state* on top of at-least-once *delivery*: a checkpoint holds every state
array of every monitor and, in the same file, the offset of the last event applied per
(stream, partition). After a crash the engine loads the last checkpoint and the source
resumes after those offsets, so an event applied after the checkpoint (and lost with the
crash) is applied again, exactly once; an event a broker delivers twice is recognised by its
offset and skipped.

The file is ``checkpoint.npz`` in the store's directory: NumPy arrays plus one JSON
document (offsets, counters, settings). It is written to a temporary file, flushed to disk
(``fsync``) and renamed over the previous one, so a crash during a save leaves the previous
checkpoint whole. Nothing is pickled: arrays are plain, labels are text arrays.

Examples
--------
>>> import numpy as np, tempfile
>>> from toolkit.stream.checkpoint import CheckpointStore
>>> store = CheckpointStore(tempfile.mkdtemp())
>>> store.save({"x": np.arange(3)}, {"offsets": {"orders/0": 41}})
>>> arrays, meta = store.load()
>>> arrays["x"].tolist(), meta["offsets"]
([0, 1, 2], {'orders/0': 41})
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any, Mapping

import numpy as np

from toolkit.errors import DataValidationError

__all__ = ["CheckpointStore"]

_META = "__meta__"


class CheckpointStore:
    """Atomic save and load of a checkpoint in ``directory`` (created when missing).

    Raises
    ------
    DataValidationError
        ``directory`` is not a path or is an existing file.
    """

    FILE = "checkpoint.npz"

    def __init__(self, directory: str | os.PathLike):
        if not isinstance(directory, (str, os.PathLike)) or Path(directory).is_file():
            raise DataValidationError.for_parameter("directory", "expected a directory path", directory)
        self.directory = Path(directory)
        self.directory.mkdir(parents=True, exist_ok=True)
        self.path = self.directory / self.FILE
        self.saves = 0

    def save(self, arrays: Mapping[str, Any], meta: Mapping[str, Any]) -> None:
        """Write ``arrays`` (name -> NumPy array) and ``meta`` (JSON-able) as the new checkpoint."""
        if _META in arrays:
            raise DataValidationError.for_parameter("arrays", f"the name {_META!r} is reserved", _META)
        partial = self.directory / (self.FILE + ".tmp")
        payload = {name: np.asarray(value) for name, value in arrays.items()}
        payload[_META] = np.frombuffer(json.dumps(meta).encode("utf-8"), dtype=np.uint8)
        with open(partial, "wb") as handle:
            np.savez(handle, **payload)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(partial, self.path)
        directory = os.open(self.directory, os.O_RDONLY)
        try:
            os.fsync(directory)
        finally:
            os.close(directory)
        self.saves += 1

    def load(self) -> tuple[dict[str, np.ndarray], dict[str, Any]] | None:
        """The last checkpoint as (arrays, meta), or None when there is none.

        Raises
        ------
        DataValidationError
            The file exists but is not a checkpoint (damaged, or written by something else).
        """
        if not self.path.exists():
            return None
        try:
            with np.load(self.path, allow_pickle=False) as data:
                arrays = {name: data[name] for name in data.files if name != _META}
                meta = json.loads(bytes(data[_META]).decode("utf-8"))
        except (OSError, ValueError, KeyError) as err:
            raise DataValidationError.for_parameter("directory", f"{self.path} is not a readable checkpoint "
                                                                 f"({type(err).__name__})", str(self.path)) from err
        return arrays, meta

    def clear(self) -> None:
        """Delete the checkpoint (a fresh start)."""
        if self.path.exists():
            self.path.unlink()
