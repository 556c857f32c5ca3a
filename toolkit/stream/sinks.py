"""Where alerts and dead letters go: an in-memory frame, Parquet files, a callback.

A sink takes pandas frames (one per micro-batch that produced rows) through
:meth:`Sink.write`. Redis and Kafka sinks live with their sources
(:mod:`toolkit.stream.redis_io`, :mod:`toolkit.stream.kafka_io`). Alerts carry an
``alert_id`` that is the same when an incident is alerted again after a restart
(at-least-once delivery): :class:`MemorySink` keeps the first of each id when asked
(``unique=True``); the other sinks pass repeats on, as a message bus would.

Examples
--------
>>> import pandas as pd
>>> from toolkit.stream.sinks import MemorySink
>>> sink = MemorySink()
>>> sink.write(pd.DataFrame({"alert_id": ["x"], "score": [1.0]}))
>>> sink.write(pd.DataFrame({"alert_id": ["x"], "score": [1.0]}))
>>> len(sink.frame()), len(sink.frame(unique=True))
(2, 1)
"""

from __future__ import annotations

import os
import uuid
from pathlib import Path
from typing import Any, Callable

import pandas as pd

from toolkit.errors import DataValidationError

__all__ = ["Sink", "MemorySink", "ParquetSink", "CallbackSink", "check_sink"]


class Sink:
    """A destination for frames of alerts (or dead letters)."""

    def write(self, frame: pd.DataFrame) -> None:  # pragma: no cover - interface
        raise NotImplementedError

    def close(self) -> None:
        """Release what the sink holds (files, connections); writing after it is an error."""


def check_sink(sink: Any, param: str) -> Sink:
    """``sink`` when it has a ``write`` method; a callable becomes a :class:`CallbackSink`.

    Raises
    ------
    DataValidationError
        Naming ``param``: neither a sink nor a callable.
    """
    if hasattr(sink, "write") and callable(sink.write):
        return sink
    if callable(sink):
        return CallbackSink(sink)
    raise DataValidationError.for_parameter(param, "expected a sink (an object with write(frame)) or a callable",
                                            type(sink).__name__)


class MemorySink(Sink):
    """Keeps every frame written, in memory; :meth:`frame` concatenates them."""

    def __init__(self) -> None:
        self.frames: list[pd.DataFrame] = []

    def write(self, frame: pd.DataFrame) -> None:
        self.frames.append(frame)

    def frame(self, unique: bool = False) -> pd.DataFrame:
        """Every row written, in order; ``unique``: the first row of each ``alert_id`` only."""
        frames = [f for f in self.frames if len(f)]
        if not frames:
            return self.frames[0].iloc[:0] if self.frames else pd.DataFrame()
        out = pd.concat(frames, ignore_index=True)
        if unique and "alert_id" in out.columns:
            out = out.drop_duplicates("alert_id").reset_index(drop=True)
        return out

    def __len__(self) -> int:
        return sum(len(f) for f in self.frames)


class ParquetSink(Sink):
    """One Parquet file per frame written, ``part-<run>-<n>.parquet`` under ``directory``.

    Files are written to a temporary name and renamed, so a reader never sees half a file;
    ``run`` (a random id per sink) keeps the files of a restarted engine apart.
    ``pandas.read_parquet(directory)`` reads them all back.

    Raises
    ------
    DataValidationError
        ``directory`` is not a path, or is an existing file.
    """

    def __init__(self, directory: str | os.PathLike):
        if not isinstance(directory, (str, os.PathLike)) or Path(directory).is_file():
            raise DataValidationError.for_parameter("directory", "expected a directory path", directory)
        self.directory = Path(directory)
        self.directory.mkdir(parents=True, exist_ok=True)
        self.run = uuid.uuid4().hex[:8]
        self.count = 0

    def write(self, frame: pd.DataFrame) -> None:
        if not len(frame):
            return
        final = self.directory / f"part-{self.run}-{self.count:06d}.parquet"
        partial = final.with_suffix(".tmp")
        frame.to_parquet(partial, index=False)
        os.replace(partial, final)
        self.count += 1


class CallbackSink(Sink):
    """Calls ``callback(frame)`` for every frame written (e.g. to update a dashboard or page someone)."""

    def __init__(self, callback: Callable[[pd.DataFrame], Any]):
        if not callable(callback):
            raise DataValidationError.for_parameter("callback", "expected a callable", type(callback).__name__)
        self.callback = callback

    def write(self, frame: pd.DataFrame) -> None:
        self.callback(frame)
