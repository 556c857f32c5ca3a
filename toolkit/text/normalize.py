"""Normalisation and tokenisation of review text, the same calls on pandas, cuDF and Dask.

:func:`normalize` lower-cases, turns ``n't`` into `` not`` (so "didn't" negates like "did
not"), drops apostrophes ("it's" -> "its"), keeps the emoticons ``:)`` / ``:(`` as the tokens
``emo_smile`` / ``emo_frown``, writes clause punctuation as tokens of its own (``.`` for
``. :``, and ``, ; ?``, every ``!`` on its own), replaces every other character that is not a letter, digit or
underscore by a space and collapses blanks. It only uses string methods that pandas, cuDF
and Dask share (``str.lower``, ``str.replace``), so it runs where the text is: pyarrow's
RE2 kernels on pandas, cuDF's regex engine on the GPU.

:func:`tokenize` splits normalised text on blanks (lists per document);
:func:`encode` looks tokens up in a vocabulary and returns them as arrays
(:class:`Tokens`), the input of every model of :mod:`toolkit.text`.

Input policy: text must be strings; a missing text (None/NA) is an empty review -- no tokens,
so sentiment 0 and no aspect -- and is never dropped. Non-string values are refused, naming
the column and a few offending rows.

Examples
--------
>>> import pandas as pd
>>> from toolkit.text import normalize, tokenize
>>> normalize(pd.Series(["Didn't fit :( ...but FAST delivery!!"])).tolist()
['did not fit emo_frown . but fast delivery ! !']
>>> tokenize(pd.Series(["Great, thanks"])).tolist()
[['great', ',', 'thanks']]
"""

from __future__ import annotations

import dataclasses
from typing import Any, Sequence

from toolkit import panel
from toolkit.backend import array_namespace, is_dask
from toolkit.errors import DataValidationError
from toolkit.panel import frames

__all__ = ["normalize", "tokenize", "encode", "Tokens", "text_column", "check_texts"]

_STEPS: tuple[tuple[str, str, bool], ...] = (
    ("\u2019", "'", False),
    (":)", " emo_smile ", False),
    (":(", " emo_frown ", False),
    ("n't", " not", False),
    ("'", "", False),
    (r"[.:]+", " . ", True),
    ("!", " ! ", False),  # each one: VADER weighs up to four
    (r"\?+", " ? ", True),
    (r";+", " ; ", True),
    (r",+", " , ", True),
    (r"[^a-z0-9_.,;!? ]+", " ", True),
    (r"\s+", " ", True),
)


def check_texts(texts: Any, param: str = "texts") -> Any:
    """``texts`` if it is a pandas/cuDF/Dask Series of strings (missing allowed), else raise.

    Raises
    ------
    DataValidationError
        Not a Series, or a Series holding non-string values (named with a few of their rows).
    """
    if not (hasattr(texts, "dtype") and hasattr(texts, "index")) or hasattr(texts, "columns"):
        raise DataValidationError.for_parameter(param, "expected a Series of strings (pandas, cuDF or Dask)",
                                                type(texts).__name__)
    kind = str(texts.dtype)
    name = str(texts.name if texts.name is not None else param)
    if not (kind in ("object", "str") or kind.startswith("string")):
        panel.fail(name, f"expected strings, got dtype {kind}")
    if is_dask(texts):
        return texts
    bad = frames.non_string_rows(texts)
    if bad.size:
        rows = frames.take(texts, bad[:panel.KEYS_SHOWN]).index.to_numpy().tolist()
        panel.fail(name, f"values that are not strings (dtype {kind}; rows shown)", int(bad.size), rows)
    return texts


def text_column(df: Any, text_col: str, param: str = "df", dask: bool = False) -> Any:
    """Column ``text_col`` of frame ``df``, checked like :func:`check_texts`.

    Raises
    ------
    DataValidationError
        ``df`` is not a frame, lacks ``text_col``, or the column does not hold strings.
    """
    panel.check_frame(df, param, dask=dask)
    if not isinstance(text_col, str):
        raise DataValidationError.for_parameter("text_col", "expected a column name", text_col)
    panel.require_columns(df, [text_col], "(the review text)")
    return check_texts(df[text_col], text_col)


def normalize(texts: Any) -> Any:
    """Lower-cased text with negations, emoticons and clause punctuation as tokens.

    Parameters
    ----------
    texts : Series of str (pandas, cuDF or Dask)
        Missing values stay missing.

    Returns
    -------
    Series of str
        Same kind and index as ``texts``.

    Raises
    ------
    DataValidationError
        Not a Series of strings.

    Examples
    --------
    >>> import pandas as pd
    >>> normalize(pd.Series(["It's NOT bad; arrived early :)"])).tolist()
    ['its not bad ; arrived early emo_smile']
    """
    out = check_texts(texts).str.lower()
    for pattern, replacement, regex in _STEPS:
        out = out.str.replace(pattern, replacement, regex=regex)
    return out.str.strip()


def tokenize(texts: Any) -> Any:
    """Tokens of each normalised text: a Series of lists (``[]`` for a missing text).

    Examples
    --------
    >>> import pandas as pd
    >>> tokenize(pd.Series(["Not good!", None])).tolist()
    [['not', 'good', '!'], []]
    """
    return normalize(texts).fillna("").str.split()


@dataclasses.dataclass
class Tokens:
    """Documents as vocabulary positions: document ``i`` owns ``ids[offsets[i]:offsets[i + 1]]``.

    Attributes
    ----------
    offsets : int64 array (n_docs + 1,)
    ids : int64 array (n_tokens,)
        Position in ``vocabulary``; -1 for a token outside it.
    vocabulary : list of str
    """

    offsets: Any
    ids: Any
    vocabulary: Sequence[str]

    @property
    def n_docs(self) -> int:
        return int(self.offsets.shape[0]) - 1

    def doc_of_token(self) -> Any:
        """Document index of every token (empty documents allowed)."""
        xp = array_namespace(self.offsets)
        positions = xp.arange(self.ids.shape[0], dtype=xp.int64)
        return xp.searchsorted(self.offsets, positions, side="right") - 1


def encode(texts: Any, vocabulary: Sequence[str], normalized: bool = False) -> Tokens:
    """Normalise (unless ``normalized``) and look every token up in ``vocabulary``.

    On pandas the split and lookup run in pyarrow, on cuDF in nvtext
    (:func:`toolkit.panel.frames.token_ids`); arrays come back in the Series' array library.

    Examples
    --------
    >>> import pandas as pd
    >>> tok = encode(pd.Series(["bad fit", "good"]), ["bad", "fit", "good"])
    >>> tok.offsets.tolist(), tok.ids.tolist()
    ([0, 2, 3], [0, 1, 2])
    """
    text = check_texts(texts) if normalized else normalize(texts)
    if is_dask(text):
        raise DataValidationError.for_parameter("texts", "encode needs an in-memory Series (compute the Dask "
                                                         "column, or map this function over its partitions)",
                                                type(texts).__name__)
    offsets, ids = frames.token_ids(text, list(vocabulary))
    return Tokens(offsets, ids, list(vocabulary))
