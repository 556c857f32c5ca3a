"""Events and alerts as JSON messages, for Redis Streams and Kafka.

One message is one event: a JSON object with the schema's columns -- key labels as text,
the time as ISO-8601 text (naive UTC, nanoseconds), values as numbers -- so any producer can
write it (``{"sku": "SKU00001", "location": "web", "order_ts": "2024-07-17T10:31:02.5",
"quantity": 2}``). Encoding a frame goes through pandas' JSON writer (C code, one call per
frame); decoding parses a whole micro-batch in one ``json.loads`` of the messages joined into
an array, and falls back to one message at a time only when some message is not JSON, so
the bad ones can be named. A message that is not a JSON object becomes a decoding error of
its row, a missing field a missing value: the engine dead-letters either with the reason.

Examples
--------
>>> import pandas as pd
>>> from toolkit.stream.codec import encode_frame, decode_messages
>>> from toolkit.stream.schema import ORDERS
>>> orders = pd.DataFrame({"sku": ["a"], "location": ["web"], "quantity": [2.0],
...                        "order_ts": pd.to_datetime(["2024-07-17 10:31:02.5"])})
>>> messages = encode_frame(orders, ORDERS)
>>> messages[0]
b'{"sku":"a","location":"web","order_ts":"2024-07-17T10:31:02.500000000","quantity":2.0}'
>>> columns, errors = decode_messages(messages + [b"{oops"], ORDERS)
>>> columns["sku"].tolist(), errors
(['a', None], {1: 'not JSON'})
"""

from __future__ import annotations

import json
from typing import Any, Sequence

import numpy as np
import pandas as pd

from toolkit import panel
from toolkit.stream.schema import EventSchema

__all__ = ["encode_frame", "decode_messages", "encode_alerts"]


def encode_frame(frame: Any, schema: EventSchema) -> list[bytes]:
    """One JSON message (UTF-8 bytes) per row of ``frame``, with the schema's columns.

    Raises
    ------
    DataValidationError
        Not a frame, or a schema column missing.
    """
    panel.check_frame(frame, "frame", dask=False)
    panel.require_columns(frame, list(schema.columns), f"to encode {schema.name!r} events")
    if not len(frame):
        return []
    out = pd.DataFrame({c: frame[c].astype(str) if c in schema.keys else frame[c] for c in schema.columns})
    text = out.to_json(orient="records", lines=True, date_format="iso", date_unit="ns")
    return [line.replace('Z"', '"').encode("utf-8") for line in text.splitlines() if line]


def encode_alerts(alerts: pd.DataFrame) -> list[bytes]:
    """One JSON message per alert (every column; times as ISO-8601 text)."""
    if not len(alerts):
        return []
    text = alerts.to_json(orient="records", lines=True, date_format="iso", date_unit="ns")
    return [line.encode("utf-8") for line in text.splitlines() if line]


def decode_messages(payloads: Sequence[Any], schema: EventSchema) -> tuple[dict[str, np.ndarray], dict[int, str]]:
    """Columns (object arrays, None where absent) of JSON messages, and ``row -> reason`` of the undecodable.

    Parameters
    ----------
    payloads : sequence of bytes or str
    schema : EventSchema

    Returns
    -------
    columns : dict
        Column -> object array (one entry per message).
    errors : dict
        Row -> ``"not JSON"`` or ``"not a JSON object"``. (A missing field is left to
        :func:`~toolkit.stream.schema.validate`, which names it.)
    """
    raw = [p.decode("utf-8", "replace") if isinstance(p, (bytes, bytearray)) else str(p) for p in payloads]
    errors: dict[int, str] = {}
    try:
        records = json.loads("[" + ",".join(raw) + "]") if raw else []
        if len(records) != len(raw):
            raise ValueError("a message held more than one value")
    except ValueError:
        records = []
        for i, text in enumerate(raw):
            try:
                records.append(json.loads(text))
            except ValueError:
                records.append(None)
                errors[i] = "not JSON"
    is_object = [type(r) is dict for r in records]
    for i, ok in enumerate(is_object):
        if not ok:
            errors.setdefault(i, "not a JSON object")
    columns = {}
    for c in schema.columns:
        column = np.empty(len(records), dtype=object)
        column[:] = [r.get(c) if ok else None for r, ok in zip(records, is_object)]
        columns[c] = column
    return columns, errors
