"""Minimising many small objectives at once: a grid start, then a compass search, on NumPy or CuPy.

Local forecasting models fit a few parameters per series (smoothing weights, a Box-Cox
exponent) by minimising a per-series loss. Rather than one optimiser call per series (a
Python loop over series), :func:`compass_search` runs one search for all of them: every
objective evaluation takes a batch of candidate points for every problem, shaped
``(n_problems, n_candidates, n_params)``, and returns ``(n_problems, n_candidates)`` losses,
so the objective itself is one vectorised pass over the data.

The search (a *compass* or coordinate pattern search) starts from the best point of a grid
shared by all problems; at each iteration it tries a step up and down along every
coordinate, moves each problem to its best candidate when that improves its loss, and
halves the step of the problems that did not improve. It needs no derivatives, stays in the
box ``[lower, upper]`` (candidates are clipped to it) and stops when every step is below
``tol``. Non-finite losses count as +inf (an invalid parameter region). It finds a local
minimum, like any such method; the grid start makes it the best basin the grid sees.

Examples
--------
>>> import numpy as np
>>> centres = np.array([[0.2], [0.7]])
>>> loss = lambda p: ((p - centres[:, None, :]) ** 2).sum(axis=-1)
>>> best, value = compass_search(loss, 2, np.linspace(0, 1, 5)[:, None], [0.0], [1.0], tol=1e-6)
>>> np.round(best[:, 0], 4).tolist()
[0.2, 0.7]
"""

from __future__ import annotations

import itertools
from typing import Any, Callable, Sequence

import numpy as np

from toolkit.backend import array_namespace

__all__ = ["grid", "compass_search"]


def grid(*axes: Sequence[float]) -> np.ndarray:
    """Every combination of the given axis values, as ``(n_points, n_axes)`` (a start grid)."""
    return np.asarray(list(itertools.product(*axes)), dtype=np.float64).reshape(-1, len(axes))


def compass_search(objective: Callable[[Any], Any], n: int, start: Any, lower: Sequence[float],
                   upper: Sequence[float], step: float | None = None, tol: float = 1e-4, max_iter: int = 80, xp: Any = None) -> tuple[Any, Any]:
    """Minimise ``objective`` for every problem over the box ``[lower, upper]``.

    Parameters
    ----------
    objective : callable
        ``points (n, g, d) -> losses (n, g)``, vectorised over problems and candidates.
    n : int
        Number of problems.
    start : array (g0, d) or (n, g0, d)
        Start grid (shared by all problems, or one per problem); each problem starts from
        its best grid point.
    lower, upper : sequences of d floats
    step : float, optional
        Initial step, in units of the box width (default: half the grid spacing, taking the
        start points' widest spread over ``g0 ** (1 / d) - 1`` intervals; at least ``tol``).
    tol : float
        Stop when every problem's step (box-width units) is below this.
    max_iter : int
    xp : array namespace, optional
        Namespace of the points (default: that of the objective's first losses).

    Returns
    -------
    best : array (n, d)
    loss : array (n,)
        Its loss (+inf where every candidate was invalid).
    """
    if xp is None:
        xp = array_namespace(start) if hasattr(start, "__array_namespace__") else array_namespace(np.asarray(start))
    start = xp.asarray(start, dtype=xp.float64)
    low = xp.asarray(np.asarray(lower, dtype=np.float64))
    high = xp.asarray(np.asarray(upper, dtype=np.float64))
    width = xp.where(high > low, high - low, 1.0)
    d = int(low.shape[0])
    points = xp.broadcast_to(start[None, :, :] if start.ndim == 2 else start, (n, start.shape[-2], d))
    losses = _finite(xp, objective(points))
    best = _pick(xp, points, xp.argmin(losses, axis=1))
    value = xp.min(losses, axis=1)
    if step is None:
        flat = xp.reshape(points, (-1, d))
        spread = float(xp.max((xp.max(flat, axis=0) - xp.min(flat, axis=0)) / width))
        step = spread / (2.0 * max(int(points.shape[1]) ** (1.0 / d) - 1.0, 1.0)) if spread > 0 else 0.25
        step = max(step, tol)
    size = xp.full((n,), float(step), dtype=xp.float64)
    moves = np.concatenate([np.eye(d), -np.eye(d)])  # (2d, d) unit moves
    moves = xp.asarray(moves)
    for _ in range(max_iter):
        if not bool(xp.any(size >= tol)):
            break
        candidates = best[:, None, :] + size[:, None, None] * moves[None, :, :] * width[None, None, :]
        candidates = xp.clip(candidates, low, high)
        cand_loss = _finite(xp, objective(candidates))
        at = xp.argmin(cand_loss, axis=1)
        cand_best = xp.min(cand_loss, axis=1)
        improved = (cand_best < value) & (size >= tol)
        chosen = _pick(xp, candidates, at)
        best = xp.where(improved[:, None], chosen, best)
        value = xp.where(improved, cand_best, value)
        size = xp.where(improved, size, size / 2.0)
    return best, value


def _pick(xp: Any, points: Any, at: Any) -> Any:
    """``points[i, at[i], :]`` for every problem ``i``."""
    index = xp.broadcast_to(xp.reshape(at, (-1, 1, 1)), (points.shape[0], 1, points.shape[2]))
    return xp.take_along_axis(points, index, axis=1)[:, 0, :]


def _finite(xp: Any, losses: Any) -> Any:
    return xp.where(xp.isnan(losses) | xp.isinf(losses), float("inf"), losses)
