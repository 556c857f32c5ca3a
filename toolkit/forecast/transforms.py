"""Target transforms: invertible changes of the target a global model learns on.

A transform is an object with

* ``forward(z, layout) -> z``: transform the target ``z`` (float array in the layout's
  *sorted* order: rows of a series contiguous, oldest first) and keep, per series, what the
  inverse needs (:attr:`state`, one array of length ``n_series`` per name);
* ``inverse(paths) -> paths``: undo it on forecasts laid out ``(h, n_series)`` (row ``k`` is
  step ``k + 1`` of every series, in layout order), using the kept state;
* ``domain(z)``: the rows it cannot take (``log1p`` needs values > -1) and the rule, so the
  forecaster can name the input column and series keys before any work.

:class:`TargetTransforms` composes them: ``forward`` in order, ``inverse`` in reverse, state
kept per transform. Names map to classes in :data:`TRANSFORMS`, whose order is the order of
application, whatever the order the names are given in: ``boxcox`` or ``log1p`` (one of
them), then ``scale``, then ``sdiff`` (seasonal difference), then ``diff``; a new transform
is one class and one entry at its place in that order. Because the state is per series,
the Dask fit computes it partition by partition (every series whole in one partition) and
stitches the arrays together with :meth:`TargetTransforms.set_state`; ``sdiff`` keeps a
season of levels per series and needs an in-memory fit.

* ``boxcox``: per-series Box-Cox with the maximum-likelihood exponent in ``[-1, 2]``
  (:mod:`toolkit.kernels.boxcox`); needs values > 0 (``log1p`` suits counts with zeros).
* ``sdiff``: ``z_t - z_{t-m}`` with ``m`` the season length (``TargetTransforms(...,
  season=m)``; the forecasters pass the frequency's); the first ``m`` rows of a series
  have no value (counted as transform warm-up), and forecasts are cumulated season by
  season from the last ``m`` levels.

Intervals: the forecasters' conformal intervals are computed on forecasts already
transformed back (``backtest`` residuals in the original units), so they hold for any
chain.

Examples
--------
>>> import numpy as np
>>> from toolkit.panel import SeriesLayout
>>> from toolkit.forecast.transforms import TargetTransforms
>>> layout = SeriesLayout.from_codes(np.array([0, 0, 0, 1, 1]))
>>> chain = TargetTransforms(["diff", "log1p"])
>>> z = chain.forward(np.array([0.0, 1.0, 3.0, 9.0, 9.0]), layout)
>>> np.round(chain.inverse(np.zeros((2, 2))), 6).tolist()  # no change: the last levels
[[3.0, 9.0], [3.0, 9.0]]
>>> seasonal = TargetTransforms("sdiff", season=2)
>>> z = seasonal.forward(np.array([1.0, 5.0, 2.0, 6.0, 1.0]), SeriesLayout.from_codes(np.zeros(5, int)))
>>> z.tolist(), seasonal.inverse(np.ones((3, 1))).ravel().tolist()
([nan, nan, 1.0, 1.0, -1.0], [7.0, 2.0, 8.0])
"""

from __future__ import annotations

from typing import Any, Sequence

from toolkit.backend import array_namespace
from toolkit.errors import DataValidationError
from toolkit.kernels.boxcox import boxcox, boxcox_lambda, inv_boxcox
from toolkit.kernels.grouped import group_mean
from toolkit.panel import SeriesLayout, checks

__all__ = ["TargetTransform", "BoxCox", "Log1p", "Scale", "SeasonalDiff", "Diff", "TRANSFORMS", "EXCLUSIVE",
           "TargetTransforms"]


class TargetTransform:
    """Base class: the identity. Subclasses override ``forward``/``inverse`` and name their state."""

    name = "identity"
    state_names: tuple[str, ...] = ()
    warmup = 0
    """Rows at the start of each series the transform leaves without a value."""
    in_memory_only = False
    """True when the state does not fit one value per series (the Dask fit refuses it)."""

    def __init__(self, season: int = 1) -> None:
        self.state: dict[str, Any] = {}
        self.season = season

    def domain(self, z: Any) -> tuple[Any, str] | None:
        """``(bad_rows_mask, rule)`` for values this transform cannot take, or None."""
        return None

    def forward(self, z: Any, layout: SeriesLayout) -> Any:
        return z

    def inverse(self, paths: Any) -> Any:
        return paths


class BoxCox(TargetTransform):
    """Box-Cox with each series' maximum-likelihood exponent; needs ``y > 0``."""

    name = "boxcox"
    state_names = ("boxcox_lambda",)

    def domain(self, z: Any) -> tuple[Any, str] | None:
        return z <= 0, "boxcox needs values > 0 (use log1p for counts with zeros)"

    def forward(self, z: Any, layout: SeriesLayout) -> Any:
        lam = boxcox_lambda(z, layout.series_of_row, layout.n_series)
        self.state = {"boxcox_lambda": lam}
        return boxcox(z, layout.xp.take(lam, layout.series_of_row))

    def inverse(self, paths: Any) -> Any:
        return inv_boxcox(paths, self.state["boxcox_lambda"][None, :])


class Log1p(TargetTransform):
    """``log(1 + y)``: multiplicative effects become additive; needs ``y > -1``."""

    name = "log1p"

    def domain(self, z: Any) -> tuple[Any, str] | None:
        return z <= -1, "log1p needs values > -1"

    def forward(self, z: Any, layout: SeriesLayout) -> Any:
        return layout.xp.log1p(z)

    def inverse(self, paths: Any) -> Any:
        return array_namespace(paths).expm1(paths)


class Scale(TargetTransform):
    """Divide each series by its mean absolute (transformed) training value (1 when that is 0)."""

    name = "scale"
    state_names = ("level_scale",)

    def forward(self, z: Any, layout: SeriesLayout) -> Any:
        xp = layout.xp
        mean = group_mean(xp.abs(z), layout.series_of_row, layout.n_series)
        self.state = {"level_scale": xp.where(mean > 0, mean, 1.0)}
        return z / xp.take(self.state["level_scale"], layout.series_of_row)

    def inverse(self, paths: Any) -> Any:
        return paths * self.state["level_scale"][None, :]


class SeasonalDiff(TargetTransform):
    """Difference with the value one season earlier within each series (first ``season`` rows NaN)."""

    name = "sdiff"
    state_names = ("last_season",)
    in_memory_only = True

    @property
    def warmup(self) -> int:
        return int(self.season)

    def forward(self, z: Any, layout: SeriesLayout) -> Any:
        xp = layout.xp
        m = int(self.season)
        prev = xp.concat([xp.full((m,), float("nan"), dtype=xp.float64), z[:-m]]) if m < z.shape[0] else \
            xp.full(z.shape, float("nan"), dtype=xp.float64)
        d = xp.where(layout.position < m, float("nan"), z - prev)
        # the last m levels of each series, oldest first (NaN where a series is shorter than m)
        back = layout.ends[:, None] - m + xp.arange(m)[None, :]
        valid = back >= layout.starts[:, None]
        last = xp.take(z, xp.reshape(xp.clip(back, 0, None), (-1,))) if z.shape[0] else xp.zeros(0)
        last = xp.reshape(last, (layout.n_series, m)) if z.shape[0] else xp.zeros((layout.n_series, m))
        self.state = {"last_season": xp.where(valid, last, float("nan"))}
        return d

    def inverse(self, paths: Any) -> Any:
        xp = array_namespace(paths)
        last = self.state["last_season"]  # (n_series, m)
        m = int(last.shape[1])
        levels = []
        for k in range(int(paths.shape[0])):
            earlier = last[:, k] if k < m else levels[k - m]
            levels.append(paths[k] + earlier)
        return xp.stack(levels, axis=0) if levels else paths


class Diff(TargetTransform):
    """First difference within each series (the first row of a series becomes NaN)."""

    name = "diff"
    state_names = ("last_level",)
    warmup = 1

    def forward(self, z: Any, layout: SeriesLayout) -> Any:
        xp = layout.xp
        prev = xp.concat([xp.asarray([float("nan")], dtype=xp.float64), z[:-1]])
        d = xp.where(layout.position == 0, float("nan"), z - prev)
        self.state = {"last_level": xp.take(z, layout.ends - 1) if layout.n else xp.zeros(0, dtype=xp.float64)}
        return d

    def inverse(self, paths: Any) -> Any:
        return self.state["last_level"][None, :] + array_namespace(paths).cumulative_sum(paths, axis=0)


TRANSFORMS: dict[str, type[TargetTransform]] = {"boxcox": BoxCox, "log1p": Log1p, "scale": Scale,
                                                "sdiff": SeasonalDiff, "diff": Diff}
"""Name -> transform class; the dict order is the order of application."""
EXCLUSIVE = (("boxcox", "log1p"),)
"""Transforms that cannot be combined (both change the scale of the raw target)."""


class TargetTransforms:
    """Transforms by name, applied in :data:`TRANSFORMS` order and inverted in reverse.

    Parameters
    ----------
    names : str or sequence of str or None
        Among the keys of :data:`TRANSFORMS`.
    season : int, default 1
        Season length of ``sdiff`` (settable later with :meth:`set_season`).

    Raises
    ------
    DataValidationError
        An unknown name (the message lists the choices) or two exclusive ones.
    """

    def __init__(self, names: str | Sequence[str] | None, season: int = 1):
        given = checks.as_list(names, "target_transform")
        for name in given:
            checks.check_choice("target_transform", name, TRANSFORMS)
        for group in EXCLUSIVE:
            if all(name in given for name in group):
                raise DataValidationError.for_parameter("target_transform", f"choose one of {list(group)}", given)
        self.names = tuple(name for name in TRANSFORMS if name in given)
        self.steps = [TRANSFORMS[name]() for name in self.names]
        self.set_season(season)

    def set_season(self, season: int) -> "TargetTransforms":
        """Set the season length of the seasonal difference (the forecasters pass the frequency's)."""
        season = checks.check_int("season", season, minimum=1)
        for step in self.steps:
            step.season = season
        return self

    @property
    def warmup(self) -> int:
        """Rows at the start of each series left without a transformed value."""
        return sum(step.warmup for step in self.steps)

    @property
    def in_memory_only(self) -> bool:
        """True when a step keeps more than one value per series (no Dask fit)."""
        return any(step.in_memory_only for step in self.steps)

    def check_domain(self, z: Any) -> tuple[Any, str] | None:
        """The first transform's domain violation of the raw target (the others see transformed values)."""
        return self.steps[0].domain(z) if self.steps else None

    def forward(self, z: Any, layout: SeriesLayout) -> Any:
        """Transform the sorted target ``z``; every step keeps its per-series state."""
        for step in self.steps:
            z = step.forward(z, layout)
        return z

    def inverse(self, paths: Any) -> Any:
        """Undo the transforms on ``(h, n_series)`` forecasts."""
        for step in reversed(self.steps):
            paths = step.inverse(paths)
        return paths

    @property
    def state_names(self) -> list[str]:
        """Names of the per-series state arrays the steps keep."""
        return [name for step in self.steps for name in step.state_names]

    @property
    def state(self) -> dict[str, Any]:
        """Every step's per-series state, by state name."""
        return {name: value for step in self.steps for name, value in step.state.items()}

    def set_state(self, state: dict[str, Any]) -> None:
        """Install per-series state computed elsewhere (the Dask fit, partition by partition)."""
        for step in self.steps:
            missing = [n for n in step.state_names if n not in state]
            if missing:
                raise DataValidationError.for_parameter("state", f"transform {step.name!r} needs {missing}")
            step.state = {n: state[n] for n in step.state_names}
