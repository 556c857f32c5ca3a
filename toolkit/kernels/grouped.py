"""Exact per-group sums and means by group id (``bincount`` of the array's own library).

:func:`toolkit.kernels.segments.segment_sum` takes differences of one running sum, which is
fast but loses the digits of a small group that follows large ones (``1e12 + 1 - 1e12``).
Per-series statistics that feed a forecast (a series' level for scaling, its spread for
intervals) use these instead: each group accumulates only its own values, as
``groupby(...).sum()`` does, on NumPy or CuPy (``bincount`` with weights exists in both; the
array API has no equivalent, so the native module of the namespace is called).

Examples
--------
>>> import numpy as np
>>> group_sum(np.array([1e12, 1e12, 1e-3]), np.array([0, 0, 1]), 2).tolist()
[2000000000000.0, 0.001]
>>> group_mean(np.array([1.0, np.nan, 3.0, 4.0]), np.array([0, 0, 0, 1]), 3).tolist()
[2.0, 4.0, nan]
"""

from __future__ import annotations

import importlib
from typing import Any

from toolkit.backend import array_namespace

__all__ = ["group_sum", "group_mean"]


def _native(xp: Any) -> Any:
    import array_api_compat

    return importlib.import_module("cupy" if array_api_compat.is_cupy_namespace(xp) else "numpy")


def group_sum(values: Any, group_ids: Any, n_groups: int) -> Any:
    """Sum of ``values`` (float, no NaN) for each of ``n_groups`` groups (0 for an empty group)."""
    xp = array_namespace(values)
    return _native(xp).bincount(group_ids, weights=values, minlength=n_groups)[:n_groups]


def group_mean(values: Any, group_ids: Any, n_groups: int) -> Any:
    """Mean of the non-NaN ``values`` of each group (NaN for a group without any)."""
    xp = array_namespace(values)
    ok = ~xp.isnan(values)
    total = group_sum(xp.where(ok, values, 0.0), group_ids, n_groups)
    count = group_sum(xp.astype(ok, xp.float64), group_ids, n_groups)
    return xp.where(count > 0, total / xp.where(count > 0, count, 1.0), float("nan"))
