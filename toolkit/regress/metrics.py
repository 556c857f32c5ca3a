"""Forecast-error metrics on arrays: mae, mse, rmse, mape, smape, wape, mase, bias, pinball loss, coverage.

Design choices (where the issue is silent):

* Inputs are NumPy/CuPy arrays, pandas/cuDF Series or lists; results are Python floats.
* **Missing values** (NaN, pandas NA) mark a missing actual or forecast: the pair is left out
  (``evaluate`` reports how many pairs it scored in ``n``). **Infinite values** are rejected
  with a :class:`~toolkit.errors.DataValidationError` naming the argument (``y``, ``yhat``...)
  and a few positions: one ``inf`` would otherwise turn the whole metric into ``inf``/NaN.
* ``bias`` is ``mean(forecast - actual)`` (positive means over-forecasting); ``mape`` skips
  zero actuals; ``smape`` counts 0/0 as 0 and lies in [0, 2].

Examples
--------
>>> from toolkit.regress import mae, wape
>>> mae([1.0, 2.0, float("nan")], [2.0, 2.0, 5.0]), wape([1.0, 3.0], [2.0, 3.0])
(0.5, 0.25)
"""

from __future__ import annotations

from typing import Any

import numpy as np

from toolkit import backend
from toolkit.panel import checks
from toolkit.regress.inputs import as_float_array

__all__ = ["mae", "mse", "rmse", "mape", "smape", "wape", "mase", "bias", "pinball_loss", "coverage", "METRICS"]


def _flat(obj: Any, name: str) -> Any:
    """One argument as a 1-D float array; ``inf`` rejected naming ``name``."""
    arr = as_float_array(obj, name)
    arr = arr.reshape(-1)
    xp = backend.array_namespace(arr)
    where = xp.nonzero(xp.isinf(arr))[0]
    if where.shape[0]:
        checks.fail(name, "infinite values; replace or drop them first", int(where.shape[0]),
                    [f"position {int(i)}" for i in backend.to_host(where[: checks.KEYS_SHOWN])])
    return arr


def _pair(**objs: Any) -> tuple:
    """Flatten to float arrays (named for errors) and drop positions where any input is NaN."""
    arrays = [_flat(obj, name) for name, obj in objs.items()]
    lengths = [int(a.shape[0]) for a in arrays]
    names = list(objs)
    for name, length in zip(names[1:], lengths[1:]):
        if length != lengths[0]:
            checks.fail(name, f"has {length} values but {names[0]} has {lengths[0]}: they must pair up")
    xp = backend.array_namespace(*arrays)
    ok = ~xp.isnan(arrays[0])
    for a in arrays[1:]:
        ok = ok & ~xp.isnan(a)
    return (xp, *(a[ok] for a in arrays))


def _mean(xp: Any, a: Any) -> float:
    return float(xp.mean(a)) if a.shape[0] else float("nan")


def mae(y: Any, yhat: Any) -> float:
    """Mean absolute error, ignoring NaN pairs.

    Examples
    --------
    >>> from toolkit.regress import mae
    >>> mae([1.0, 2.0, float("nan")], [2.0, 2.0, 5.0])
    0.5
    """
    xp, a, b = _pair(y=y, yhat=yhat)
    return _mean(xp, xp.abs(b - a))


def mse(y: Any, yhat: Any) -> float:
    """Mean squared error, ignoring NaN pairs."""
    xp, a, b = _pair(y=y, yhat=yhat)
    return _mean(xp, (b - a) ** 2)


def rmse(y: Any, yhat: Any) -> float:
    """Root mean squared error, ignoring NaN pairs."""
    return float(np.sqrt(mse(y, yhat)))


def mape(y: Any, yhat: Any) -> float:
    """Mean absolute percentage error as a fraction, over non-zero actuals."""
    xp, a, b = _pair(y=y, yhat=yhat)
    nz = a != 0
    return _mean(xp, xp.abs(b[nz] - a[nz]) / xp.abs(a[nz]))


def smape(y: Any, yhat: Any) -> float:
    """Symmetric MAPE, ``mean(2|e| / (|y| + |yhat|))`` in [0, 2]; 0/0 counts as 0."""
    xp, a, b = _pair(y=y, yhat=yhat)
    den = xp.abs(a) + xp.abs(b)
    # den is 0 only where y = yhat = 0, whose error is 0 too: dividing by 1 there gives the 0 of 0/0
    return _mean(xp, 2.0 * xp.abs(b - a) / xp.where(den > 0, den, 1.0))


def wape(y: Any, yhat: Any) -> float:
    """Weighted absolute percentage error ``sum|e| / sum|y|``.

    Examples
    --------
    >>> from toolkit.regress import wape
    >>> wape([1.0, 3.0], [2.0, 3.0])
    0.25
    """
    xp, a, b = _pair(y=y, yhat=yhat)
    den = float(xp.sum(xp.abs(a)))
    return float(xp.sum(xp.abs(b - a))) / den if den > 0 else float("nan")


def bias(y: Any, yhat: Any) -> float:
    """Mean error ``mean(yhat - y)``: positive when over-forecasting."""
    xp, a, b = _pair(y=y, yhat=yhat)
    return _mean(xp, b - a)


def mase(y: Any, yhat: Any, y_train: Any, season: int = 1) -> float:
    """Mean absolute scaled error: MAE over the in-sample MAE of the seasonal naive forecast.

    Parameters
    ----------
    y, yhat : actuals and forecasts
    y_train : training history of the same series, in time order
    season : int
        Lag of the naive forecast used for scaling (1: naive, 7: weekly seasonal naive).

    Examples
    --------
    >>> round(mase([4.0], [5.0], [1.0, 3.0, 2.0, 6.0]), 4)
    0.4286
    """
    season = checks.check_int("season", season, minimum=1)
    full = _flat(y_train, "y_train")
    diffs = full[season:] - full[:-season]
    xp = backend.array_namespace(diffs)
    diffs = diffs[~xp.isnan(diffs)]
    scale = _mean(xp, xp.abs(diffs))
    return mae(y, yhat) / scale if scale > 0 else float("nan")


def pinball_loss(y: Any, yhat: Any, quantile: float = 0.5) -> float:
    """Mean pinball (quantile) loss of ``yhat`` as the ``quantile`` forecast."""
    quantile = checks.check_number("quantile", quantile, 0.0, 1.0, low_open=True, high_open=True)
    xp, a, b = _pair(y=y, yhat=yhat)
    d = a - b
    return _mean(xp, xp.maximum(quantile * d, (quantile - 1.0) * d))


def coverage(y: Any, lower: Any, upper: Any) -> float:
    """Fraction of actuals inside ``[lower, upper]`` (NaN triples ignored)."""
    xp, a, lo, hi = _pair(y=y, lower=lower, upper=upper)
    return _mean(xp, xp.astype((a >= lo) & (a <= hi), xp.float64))


METRICS = {"mae": mae, "mse": mse, "rmse": rmse, "mape": mape, "smape": smape, "wape": wape, "bias": bias}
"""Point-forecast metrics by name, ``f(y, yhat) -> float``: errors (lower is better) except ``bias`` (signed)."""
