"""The Box-Cox transform with one exponent per series, chosen by maximum likelihood, on NumPy or CuPy.

``boxcox(y, lam) = (y^lam - 1) / lam`` (``log y`` at ``lam = 0``), for ``y > 0``. The
exponent of each series maximises the profile log-likelihood of a normal model of the
transformed values, ``(lam - 1) * sum(log y) - n / 2 * log(var(boxcox(y, lam)))`` with the
maximum-likelihood variance (the criterion of ``scipy.stats.boxcox_normmax(method="mle")``),
over ``[-1, 2]`` (the usual range; outside it forecasts back-transform badly), by a grid
and a compass search run for all series at once (:func:`toolkit.kernels.search.compass_search`).
Sums per series go through :func:`toolkit.kernels.grouped.group_sum` (each series adds only
its own values).

The inverse maps a transformed forecast back with ``(1 + lam * z)^(1 / lam)``; where
``1 + lam * z <= 0`` (a forecast below what any positive value transforms to) it returns 0,
the lower end of the domain.

Examples
--------
>>> import numpy as np
>>> z = boxcox(np.array([1.0, np.e, 4.0]), np.array([0.0, 0.0, 0.5]))
>>> np.round(z, 6).tolist()
[0.0, 1.0, 2.0]
>>> np.round(inv_boxcox(z, np.array([0.0, 0.0, 0.5])), 6).tolist()
[1.0, 2.718282, 4.0]
"""

from __future__ import annotations

from typing import Any

import numpy as np

from toolkit.backend import array_namespace
from toolkit.kernels.grouped import group_sum
from toolkit.kernels.search import compass_search

__all__ = ["LAMBDA_RANGE", "boxcox", "inv_boxcox", "boxcox_lambda"]

LAMBDA_RANGE = (-1.0, 2.0)
_ZERO = 1e-8


def boxcox(y: Any, lam: Any) -> Any:
    """Box-Cox transform of positive ``y`` with exponents ``lam`` (broadcast against ``y``)."""
    xp = array_namespace(y)
    logs = xp.log(y)
    small = xp.abs(lam) < _ZERO
    return xp.where(small, logs, xp.expm1(lam * logs) / xp.where(small, 1.0, lam))


def inv_boxcox(z: Any, lam: Any) -> Any:
    """Inverse Box-Cox transform (0 where ``1 + lam * z <= 0``)."""
    xp = array_namespace(z)
    small = xp.abs(lam) < _ZERO
    base = 1.0 + lam * z
    inside = base > 0
    powered = xp.exp(xp.log1p(xp.where(inside, lam * z, 0.0)) / xp.where(small, 1.0, lam))
    return xp.where(small, xp.exp(z), xp.where(inside, powered, 0.0))


def boxcox_lambda(values: Any, series: Any, n_series: int, tol: float = 1e-4) -> Any:
    """The maximum-likelihood exponent of every series (see the module docstring).

    Parameters
    ----------
    values : array (n_rows,)
        Positive values, NaN skipped (a series without two distinct values gets 1: no change).
    series : int array (n_rows,)
        Series number of every value.
    n_series : int
    tol : float
        Precision of the exponent.

    Returns
    -------
    array (n_series,)
    """
    xp = array_namespace(values)
    ok = ~xp.isnan(values)
    y = xp.where(ok, values, 1.0)
    weight = xp.astype(ok, xp.float64)
    count = group_sum(weight, series, n_series)
    log_sum = group_sum(xp.log(y) * weight, series, n_series)
    safe_count = xp.where(count > 0, count, 1.0)

    def negative_llf(points: Any) -> Any:
        cols = []
        for j in range(int(points.shape[1])):
            lam = xp.take(points[:, j, 0], series)
            z = boxcox(y, lam) * weight
            mean = group_sum(z, series, n_series) / safe_count
            dev = (z - xp.take(mean, series)) * weight
            var = group_sum(dev * dev, series, n_series) / safe_count
            llf = (points[:, j, 0] - 1.0) * log_sum - count / 2.0 * xp.log(xp.where(var > 0, var, 1.0))
            cols.append(xp.where(var > 0, -llf, float("inf")))
        return xp.stack(cols, axis=1)

    start = np.linspace(LAMBDA_RANGE[0], LAMBDA_RANGE[1], 13)[:, None]
    best, loss = compass_search(negative_llf, n_series, xp.asarray(start), [LAMBDA_RANGE[0]], [LAMBDA_RANGE[1]], tol=tol,
                                xp=xp)
    return xp.where(xp.isinf(loss) | (count < 2), 1.0, best[:, 0])
