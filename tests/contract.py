"""Shared Hypothesis strategies and assertions for the input contract (issue: bad input never slips through).

Every public function gets property-based tests built from these pieces:

* :func:`not_frames` -- things users pass where a frame is expected;
* :func:`panels` -- small valid long-format panels (``sku``, ``location``, ``date``, numeric columns);
* :func:`corruptions` + :func:`corrupt` -- one realistic defect injected into a valid panel
  (a missing column, ``inf``, NaN, a text value in a numeric column, a duplicated (keys, time)
  row, a missing key, an empty frame);
* :func:`assert_rejects` -- the call raises ``DataValidationError`` (or scikit-learn's
  ``NotFittedError``) whose message names one of the expected columns/parameters, and never an
  internal ``AttributeError``/``KeyError``/``IndexError``/``TypeError``.

Examples
--------
>>> from hypothesis import given
>>> from tests.contract import panels
>>> panels().example().columns.tolist()[:3]  # doctest: +SKIP
['sku', 'location', 'date']
"""

from __future__ import annotations

from typing import Any, Callable, Iterable

import numpy as np
import pandas as pd
from hypothesis import strategies as st
from sklearn.exceptions import NotFittedError

from toolkit.errors import DataValidationError

__all__ = ["not_frames", "panels", "corruptions", "corrupt", "assert_rejects", "KINDS"]


def not_frames() -> st.SearchStrategy:
    """Values that are not data frames: lists, dicts, arrays, Series, scalars, None, strings."""
    return st.one_of(
        st.none(),
        st.integers(),
        st.text(max_size=5),
        st.lists(st.floats(allow_nan=False), max_size=4),
        st.dictionaries(st.sampled_from(["sku", "units", "date"]), st.lists(st.integers(), max_size=3), max_size=3),
        st.builds(lambda n: np.arange(n, dtype=float), st.integers(0, 5)),
        st.builds(lambda n: pd.Series(np.arange(n, dtype=float), name="units"), st.integers(0, 5)),
    )


@st.composite
def panels(draw, n_series=(1, 4), length=(3, 12), numeric=("units", "price", "promo"), freq="D") -> pd.DataFrame:
    """A valid panel: string keys ``sku``/``location``, a regular ``date`` axis, non-negative numbers."""
    n = draw(st.integers(*n_series))
    rows = []
    for s in range(n):
        m = draw(st.integers(*length))
        start = pd.Timestamp("2024-01-01") + pd.Timedelta(days=draw(st.integers(0, 5)))
        dates = pd.date_range(start, periods=m, freq=freq)
        for d in dates:
            rows.append((f"s{s}", "web" if s % 2 == 0 else "store", d))
    df = pd.DataFrame(rows, columns=["sku", "location", "date"])
    values = st.floats(0, 100, allow_nan=False, allow_infinity=False, width=32)
    for col in numeric:
        df[col] = np.asarray(draw(st.lists(values, min_size=len(df), max_size=len(df))), dtype="float64")
    if "promo" in df:
        df["promo"] = (df["promo"] > 50).astype("int8")
    return df


KINDS = ("drop_column", "inf", "nan", "text", "duplicate_row", "missing_key", "empty")

FIT_REFUSAL_NAMES = {"drop_column": None, "inf": None, "nan": None, "text": None, "duplicate_row": ["date"],
                     "missing_key": ["sku"], "empty": ["frame is empty"]}
"""What a forecaster's ``fit`` names when refusing each corruption (None: the corrupted column itself)."""


def corruptions(kinds: Iterable[str] = KINDS) -> st.SearchStrategy:
    """Which defect to inject (see :func:`corrupt`)."""
    return st.sampled_from(list(kinds))


def corrupt(df: pd.DataFrame, kind: str, column: str, row: int = 0, key: str = "sku") -> pd.DataFrame:
    """``df`` with one defect in ``column`` (or ``key``) at ``row``.

    drop_column: ``column`` removed. inf: ``+inf`` at ``row``. nan: NaN at ``row``. text: the
    column becomes text. duplicate_row: ``row`` repeated. missing_key: ``key`` missing at
    ``row``. empty: no rows.
    """
    out = df.copy()
    row = row % max(len(out), 1)
    if kind == "drop_column":
        return out.drop(columns=[column])
    if kind == "inf":
        out[column] = out[column].astype("float64")
        out.iloc[row, out.columns.get_loc(column)] = np.inf
    elif kind == "nan":
        out[column] = out[column].astype("float64")
        out.iloc[row, out.columns.get_loc(column)] = np.nan
    elif kind == "text":
        out[column] = out[column].astype(str)
    elif kind == "duplicate_row":
        out = pd.concat([out, out.iloc[[row]]], ignore_index=True)
    elif kind == "missing_key":
        out[key] = out[key].astype(object)
        out.iloc[row, out.columns.get_loc(key)] = None
    elif kind == "empty":
        out = out.iloc[:0]
    else:
        raise ValueError(f"unknown corruption {kind!r}")
    return out


def _mentions(message: str, name: str) -> bool:
    """A column or parameter name must appear quoted, as the messages show names: ``'sku'`` is named
    by "column 'sku'" (or an entry of it, "'sku['web']'") but not by "column 'skus'"; a name with a
    space is a phrase, found as it is."""
    if " " in name:
        return name in message
    quoted = (repr(name), f"'{name}'", f"'{name}[", f'"{name}[')  # forecasts['sku']: an entry of 'forecasts'
    return any(q in message for q in quoted)


def assert_rejects(call: Callable[[], Any], names: Iterable[str] = ()) -> Exception:
    """``call()`` raises DataValidationError or NotFittedError naming one of ``names`` (quoted, or a
    phrase with a space, see :func:`_mentions`).

    Returns the exception so a test can check more.
    """
    names = list(names)
    try:
        call()
    except (DataValidationError, NotFittedError) as err:
        message = str(err)
        if names:
            assert any(_mentions(message, n) for n in names), f"error does not name any of {names}: {message}"
        return err
    except (AttributeError, KeyError, IndexError, TypeError, ZeroDivisionError) as err:  # pragma: no cover
        raise AssertionError(f"internal {type(err).__name__} leaked instead of DataValidationError: {err}") from err
    raise AssertionError(f"no error raised; expected one naming {names}")
