"""Series keys to dense slot numbers: :class:`KeyRegistry`, growing as new series appear in a stream.

The engine's state lives in arrays indexed by *slot*: one slot per series (a tuple of key
labels such as ``(sku, location)``). Each micro-batch maps its key columns to slots with a
few vectorised hash look-ups: every key column is factorised (pandas' C hash table), its
distinct labels are mapped to global label codes (a dict, over the batch's distinct labels
only, or once per category table for categorical columns), the codes of the columns are
packed into one int64 and looked up in a pandas ``Index`` of the known series. Series seen
for the first time get the next free slots, in order of appearance. Nothing in it loops over
events in Python.

Design choices: labels are compared as text (``str(label)``), so a zone ``3`` from a frame
and ``"3"`` from a JSON message are one key; a missing label (None, NaN, empty text) gives
slot ``-1`` and the engine sends the event to the dead-letter sink. Packing gives each key
column ``63 // n_columns`` bits (2^31 labels per column for two columns); more distinct
labels than that are refused naming the column.

Examples
--------
>>> import numpy as np
>>> from toolkit.stream.keys import KeyRegistry
>>> reg = KeyRegistry(("sku", "location"))
>>> reg.slots({"sku": np.array(["a", "b", "a"]), "location": np.array(["web", "web", "web"])}).tolist()
[0, 1, 0]
>>> reg.slots({"sku": np.array(["b", None]), "location": np.array(["web", "app"])}).tolist()
[1, -1]
>>> reg.frame(np.array([1])).to_dict("records")
[{'sku': 'b', 'location': 'web'}]
"""

from __future__ import annotations

from typing import Any, Mapping, Sequence

import numpy as np
import pandas as pd

from toolkit.errors import DataValidationError
from toolkit.panel import as_list

__all__ = ["KeyRegistry"]


def _text(value: Any) -> str | None:
    """A label as text; None for a missing one."""
    if value is None or (isinstance(value, float) and value != value) or value is pd.NA or value is pd.NaT:
        return None
    if isinstance(value, bytes):
        value = value.decode("utf-8", "replace")
    text = str(value)
    return text if text else None


class _Column:
    """Labels of one key column and their codes (order of first appearance)."""

    def __init__(self, name: str, limit: int):
        self.name = name
        self.limit = limit
        self.labels: list[str] = []
        self.codes: dict[str, int] = {}
        self._category_cache: dict[int, tuple[Any, np.ndarray]] = {}

    def code_of(self, label: str | None) -> int:
        if label is None:
            return -1
        code = self.codes.get(label)
        if code is None:
            code = len(self.labels)
            if code >= self.limit:
                raise DataValidationError.for_column(self.name, f"more than {self.limit} distinct key labels; "
                                                                "a stream keyed by it cannot be packed")
            self.codes[label] = code
            self.labels.append(label)
        return code

    def encode(self, values: Any) -> np.ndarray:
        """Global codes (int64, -1 for missing) of an array-like of labels."""
        if isinstance(values, pd.Series):
            values = values.array
        if isinstance(values, pd.Categorical):
            cats = values.categories
            cached = self._category_cache.get(id(cats))
            if cached is None or cached[0] is not cats:
                table = np.array([self.code_of(_text(c)) for c in cats] + [-1], dtype=np.int64)
                self._category_cache[id(cats)] = (cats, table)  # the Index is kept, so its id stays unique
                cached = self._category_cache[id(cats)]
            return cached[1][values.codes]  # code -1 (missing) reads the trailing -1
        local, uniques = pd.factorize(np.asarray(values, dtype=object), use_na_sentinel=True)
        table = np.array([self.code_of(_text(u)) for u in uniques] + [-1], dtype=np.int64)
        return table[local]


class KeyRegistry:
    """Series keys (tuples of labels, one per key column) <-> dense slot numbers.

    Parameters
    ----------
    key_cols : str or sequence of str
        The key columns, in order.

    Attributes
    ----------
    n : int
        Series registered so far (slots ``0 .. n - 1``).
    """

    def __init__(self, key_cols: str | Sequence[str]):
        self.key_cols = tuple(as_list(key_cols, "key_cols"))
        if not self.key_cols:
            raise DataValidationError.for_parameter("key_cols", "a stream needs at least one key column", key_cols)
        self._bits = 63 // len(self.key_cols)
        self._columns = [_Column(c, 2 ** self._bits - 1) for c in self.key_cols]
        self._slot_codes = np.zeros((0, len(self.key_cols)), dtype=np.int64)
        self._index = pd.Index(np.zeros(0, dtype=np.int64))

    @property
    def n(self) -> int:
        return int(self._slot_codes.shape[0])

    def _packed(self, codes: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
        packed = np.zeros(codes[0].shape[0], dtype=np.int64)
        missing = np.zeros(codes[0].shape[0], dtype=bool)
        for c in codes:
            missing |= c < 0
            packed = (packed << self._bits) | np.maximum(c, 0)
        return packed, missing

    def slots(self, columns: Mapping[str, Any], register: bool = True) -> np.ndarray:
        """Slot of every row of the key ``columns`` (arrays of labels); -1 where a label is missing.

        Parameters
        ----------
        columns : mapping column -> array-like
            One array per key column (NumPy, pandas Series or Categorical), all of one length.
        register : bool, default True
            Give new series the next free slots; with False they get -1.

        Raises
        ------
        DataValidationError
            A key column is absent from ``columns``.
        """
        for col in self.key_cols:
            if col not in columns:
                raise DataValidationError.for_column(col, "missing key column in the events")
        codes = [column.encode(columns[name]) for column, name in zip(self._columns, self.key_cols)]
        packed, missing = self._packed(codes)
        found = self._index.get_indexer(packed)
        new = (found < 0) & ~missing
        if register and bool(new.any()):
            fresh, first = np.unique(packed[new], return_index=True)
            fresh = fresh[np.argsort(first)]  # slots in order of first appearance
            rows = np.flatnonzero(new)[np.sort(first)]
            self._slot_codes = np.concatenate([self._slot_codes, np.stack([c[rows] for c in codes], axis=1)])
            self._index = self._index.append(pd.Index(fresh))
            found = self._index.get_indexer(packed)
        found[missing] = -1
        return found.astype(np.int64)

    def labels(self, slots: Any) -> dict[str, np.ndarray]:
        """Key labels (object arrays of str) of ``slots``, per key column."""
        slots = np.asarray(slots, dtype=np.int64)
        out = {}
        for j, column in enumerate(self._columns):
            table = np.asarray(column.labels + [None], dtype=object)
            out[column.name] = table[np.where(slots >= 0, self._slot_codes[np.maximum(slots, 0), j]
                                              if self.n else -1, -1)]
        return out

    def frame(self, slots: Any) -> pd.DataFrame:
        """The key columns of ``slots`` as a pandas frame (one row per slot)."""
        return pd.DataFrame(self.labels(slots))

    def column_labels(self, name: str) -> list[str]:
        """Every label of key column ``name`` registered so far, by code."""
        return list(self._columns[self.key_cols.index(name)].labels)

    def state_dict(self) -> dict[str, Any]:
        """Labels and slot codes as arrays (a checkpoint)."""
        state: dict[str, Any] = {"slot_codes": self._slot_codes}
        for column in self._columns:
            state[f"labels:{column.name}"] = np.asarray(column.labels, dtype=str)
        return state

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        """Restore a registry saved by :meth:`state_dict` (same key columns).

        Raises
        ------
        DataValidationError
            The saved registry has other key columns.
        """
        for column in self._columns:
            if f"labels:{column.name}" not in state:
                raise DataValidationError.for_parameter("state", f"saved keys lack column {column.name!r}",
                                                        sorted(state))
        for column in self._columns:
            column.labels = [str(v) for v in np.asarray(state[f"labels:{column.name}"]).tolist()]
            column.codes = {label: i for i, label in enumerate(column.labels)}
            column._category_cache = {}
        self._slot_codes = np.asarray(state["slot_codes"], dtype=np.int64).reshape(-1, len(self._columns))
        self._index = pd.Index(self._packed([self._slot_codes[:, j] for j in range(len(self._columns))])[0])
