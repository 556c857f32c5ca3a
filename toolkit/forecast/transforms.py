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
application (``log1p``, then ``scale``, then ``diff``, whatever the order the names are given
in, as before); a new transform (a seasonal difference, Box-Cox) is one class and one entry
at its place in that order. Because the state is per series, the Dask fit computes it
partition by partition (every series whole in one partition) and stitches the arrays
together with :meth:`TargetTransforms.set_state`.

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
"""

from __future__ import annotations

from typing import Any, Sequence

from toolkit.errors import DataValidationError
from toolkit.kernels.grouped import group_mean
from toolkit.panel import SeriesLayout, checks

__all__ = ["TargetTransform", "Log1p", "Scale", "Diff", "TRANSFORMS", "TargetTransforms"]


class TargetTransform:
    """Base class: the identity. Subclasses override ``forward``/``inverse`` and name their state."""

    name = "identity"
    state_names: tuple[str, ...] = ()

    def __init__(self) -> None:
        self.state: dict[str, Any] = {}

    def domain(self, z: Any) -> tuple[Any, str] | None:
        """``(bad_rows_mask, rule)`` for values this transform cannot take, or None."""
        return None

    def forward(self, z: Any, layout: SeriesLayout) -> Any:
        return z

    def inverse(self, paths: Any) -> Any:
        return paths


class Log1p(TargetTransform):
    """``log(1 + y)``: multiplicative effects become additive; needs ``y > -1``."""

    name = "log1p"

    def domain(self, z: Any) -> tuple[Any, str] | None:
        return z <= -1, "log1p needs values > -1"

    def forward(self, z: Any, layout: SeriesLayout) -> Any:
        return layout.xp.log1p(z)

    def inverse(self, paths: Any) -> Any:
        from toolkit.backend import array_namespace

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


class Diff(TargetTransform):
    """First difference within each series (the first row of a series becomes NaN)."""

    name = "diff"
    state_names = ("last_level",)

    def forward(self, z: Any, layout: SeriesLayout) -> Any:
        xp = layout.xp
        prev = xp.concat([xp.asarray([float("nan")], dtype=xp.float64), z[:-1]])
        d = xp.where(layout.position == 0, float("nan"), z - prev)
        self.state = {"last_level": xp.take(z, layout.ends - 1) if layout.n else xp.zeros(0, dtype=xp.float64)}
        return d

    def inverse(self, paths: Any) -> Any:
        from toolkit.backend import array_namespace

        return self.state["last_level"][None, :] + array_namespace(paths).cumulative_sum(paths, axis=0)


TRANSFORMS: dict[str, type[TargetTransform]] = {"log1p": Log1p, "scale": Scale, "diff": Diff}
"""Name -> transform class; the dict order is the order of application."""


class TargetTransforms:
    """Transforms by name, applied in :data:`TRANSFORMS` order and inverted in reverse.

    Parameters
    ----------
    names : str or sequence of str or None
        Among the keys of :data:`TRANSFORMS`.

    Raises
    ------
    DataValidationError
        An unknown name (the message lists the choices).
    """

    def __init__(self, names: str | Sequence[str] | None):
        given = checks.as_list(names, "target_transform")
        for name in given:
            checks.check_choice("target_transform", name, TRANSFORMS)
        self.names = tuple(name for name in TRANSFORMS if name in given)
        self.steps = [TRANSFORMS[name]() for name in self.names]

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
