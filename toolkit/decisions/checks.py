"""Input checks the decision helpers share on top of :mod:`toolkit.panel.checks`.

Spend, impressions, distances, weights, capacities and stock are quantities: finite and never
negative. :func:`require_non_negative` refuses anything else in the one message format of the
panel layer, naming the column and a few offending rows by their keys.

Examples
--------
>>> import pandas as pd
>>> from toolkit.decisions.checks import require_non_negative
>>> df = pd.DataFrame({"channel": ["web", "app"], "spend": [3.0, -1.0]})
>>> require_non_negative(df, ["spend"], keys=["channel"])
Traceback (most recent call last):
...
toolkit.errors.DataValidationError: column 'spend': negative values (1 offending rows; e.g. [('app',)])
"""

from __future__ import annotations

from typing import Any, Iterable, Sequence

from toolkit import panel

__all__ = ["require_non_negative"]


def require_non_negative(df: Any, columns: Iterable[str], keys: Sequence[str] = (), purpose: str = "",
                         allow_nan: bool = False) -> None:
    """Raise naming the column and keys when a value is infinite, negative, or NaN (unless ``allow_nan``).

    ``df`` is an in-memory pandas or cuDF frame whose ``columns`` are numeric (check with
    :func:`toolkit.panel.require_numeric` first).
    """
    columns = list(columns)
    panel.require_finite(df, columns, keys, allow_nan=allow_nan, purpose=purpose)
    needed = f" (needed {purpose})" if purpose else ""
    for col in columns:
        x = panel.values(df, col)
        xp = panel.namespace(df)
        where = xp.nonzero(x < 0)[0]
        if int(where.shape[0]):
            panel.fail(col, f"negative values{needed}", int(where.shape[0]), panel.examples(df, where, keys))
