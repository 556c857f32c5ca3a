"""Identifier strings of the generated tables (customer ids, e-mail addresses).

Examples
--------
>>> import numpy as np
>>> from toolkit.datasets.ids import id_strings
>>> id_strings("C", np.array([7, 12]), 4).tolist()
['C0007', 'C0012']
"""

from __future__ import annotations

import numpy as np
import pandas as pd

__all__ = ["id_strings"]


def id_strings(prefix: str, numbers: np.ndarray, width: int, suffix: str = "") -> pd.Series:
    """Zero-padded id strings built with pyarrow compute (much faster than Python formatting).

    Examples
    --------
    >>> id_strings("C", np.array([7, 12]), 4).tolist()
    ['C0007', 'C0012']
    """
    import pyarrow as pa
    import pyarrow.compute as pc

    text = pc.utf8_lpad(pc.cast(pa.array(numbers), pa.string()), width=width, padding="0")
    joined = pc.binary_join_element_wise(prefix, text, suffix, "")
    return pd.Series(pd.arrays.ArrowStringArray(joined).astype("str"))
