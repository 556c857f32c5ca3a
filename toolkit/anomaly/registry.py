"""The detector registry: one entry per detector name, read by ``detect``, ``make_detector`` and ``DETECTORS``.

A :class:`DetectorInfo` says everything the verbs need to know about a detector:

* ``name`` -- what users pass as ``method=`` / ``make_detector(name)``;
* ``factory`` -- ``factory(contamination=..., **params)`` returns an unfitted PyOD-API detector
  (a class such as :class:`~toolkit.anomaly.ECOD`, or a :class:`~toolkit.anomaly.detectors.PyODModel`);
  ``None`` for detectors that exist only as a per-series rule (they are not in ``DETECTORS``);
* ``kind`` -- ``"tabular"`` (rows scored independently of time; a segment ``scorer`` fits
  every group at once), ``"series"`` (rows of each series in time order, NaN rows kept in
  place, ``scorer`` required) or ``"pyod"`` (no batched form: ``detect`` fits ``factory``
  group by group);
* ``min_rows`` -- rows with values a group needs, an int or ``min_rows(params, n_features)``;
* ``rule_cut`` -- the rule's own threshold for ``threshold="rule"`` (score > cut), or
  ``verdict=True`` when the scorer returns its own flags (``(scores, flags)``);
* ``scorer`` -- ``scorer(values, bounds, **params) -> scores``: ``values`` (n, d) sorted by
  group, ``bounds`` the ``n_groups + 1`` segment offsets, one score per row (higher is more
  abnormal);
* ``params`` -- the scorer's keyword parameters, each with a check ``check(name, value) ->
  value`` run before any work (without a scorer, the factory's own keywords are used).

Adding a detector is one call, and nothing else changes::

    register(DetectorInfo("mad_z", MadZ, kind="tabular", min_rows=3, rule_cut=3.5, scorer=mad_z_scores))

Design choices: names are lower-case and unique (``register(..., replace=True)`` to override
one); ``DETECTORS`` (names with a factory) and ``METHODS`` (every name) are live views of
the registry, so a detector registered later appears in both; ``random_state`` is passed to
every factory that accepts one (seeded detectors are reproducible by default).

Examples
--------
>>> from toolkit.anomaly.registry import lookup
>>> info = lookup("knn")
>>> info.kind, info.rows_needed({"n_neighbors": 7}, 2)
('pyod', 8)
>>> lookup("robust_z").rule_cut
3.5
"""

from __future__ import annotations

import inspect
from dataclasses import dataclass
from typing import Any, Callable, Iterator, Mapping, Sequence

from toolkit import panel
from toolkit.anomaly.detectors import AUTOENCODER_DEFAULTS, PyODModel, batched_autoencoder, cuml_isolation_forest
from toolkit.anomaly.native import COPOD, ECOD, segment_tail_scores
from toolkit.anomaly.rules import IQR, RobustZ, hampel, iqr_score, robust_z, seasonal_esd
from toolkit.anomaly.scoring import check_contamination
from toolkit.backend import array_namespace, to_host
from toolkit.errors import DataValidationError

__all__ = ["DetectorInfo", "DetectorNames", "KINDS", "register", "unregister", "lookup", "make_detector", "DETECTORS",
           "METHODS"]

KINDS = ("tabular", "series", "pyod")
ParamCheck = Callable[[str, Any], Any]


@dataclass(frozen=True)
class DetectorInfo:
    """What the verbs need to know about one detector (see the module docstring).

    Examples
    --------
    >>> import numpy as np
    >>> from toolkit.anomaly import RobustZ
    >>> info = DetectorInfo("abs_z", RobustZ, kind="tabular", rule_cut=3.5,
    ...                     scorer=lambda values, bounds: np.abs(values).max(axis=1))
    >>> info.score(np.array([[1.0], [-4.0]]), np.array([0, 2]), {})[0].tolist()
    [1.0, 4.0]
    """

    name: str
    factory: Callable[..., Any] | None = None
    kind: str = "tabular"
    min_rows: int | Callable[[Mapping[str, Any], int], int] = 3
    rule_cut: float | None = None
    scorer: Callable[..., Any] | None = None
    params: Mapping[str, ParamCheck] | None = None
    verdict: bool = False

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not self.name or self.name != self.name.lower():
            raise DataValidationError.for_parameter("name", "must be a non-empty lower-case string", self.name)
        panel.check_choice("kind", self.kind, KINDS)
        if self.kind == "pyod" and self.factory is None:
            raise DataValidationError.for_parameter("factory", f"a 'pyod' detector ({self.name!r}) needs one", None)
        if self.kind != "pyod" and self.scorer is None:
            raise DataValidationError.for_parameter("scorer", f"a {self.kind!r} detector ({self.name!r}) needs one",
                                                    None)

    # ----------------------------------------------------------------- questions
    @property
    def has_rule(self) -> bool:
        """Whether ``threshold="rule"`` applies: a fixed cut, or the scorer's own verdict."""
        return self.rule_cut is not None or self.verdict

    @property
    def is_series(self) -> bool:
        """Rows in time order, NaN rows kept in place (the series rules)."""
        return self.kind == "series"

    def rows_needed(self, params: Mapping[str, Any], n_features: int) -> int:
        """Rows with values a group needs, for these parameters and feature count."""
        if callable(self.min_rows):
            return int(self.min_rows(params, n_features))
        return int(self.min_rows)

    def detector_parameters(self) -> tuple[str, ...]:
        """Keyword parameters ``factory`` accepts besides ``contamination``."""
        if self.factory is None:
            return ()
        names = getattr(self.factory, "parameter_names", None)
        if callable(names):
            return tuple(names())
        target = self.factory.__init__ if inspect.isclass(self.factory) else self.factory
        return tuple(n for n, p in inspect.signature(target).parameters.items()
                     if n not in ("self", "contamination") and p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD))

    def parameters(self) -> tuple[str, ...]:
        """Keyword parameters :meth:`score` uses: the scorer's, or the factory's when there is no scorer."""
        return self.detector_parameters() if self.scorer is None else tuple(self.params or ())

    def own_params(self, params: Mapping[str, Any]) -> dict[str, Any]:
        """The entries of ``params`` this detector takes, checked (others are left out)."""
        if self.scorer is None:
            accepted = self.detector_parameters()
            return {k: v for k, v in params.items() if k in accepted}
        return {k: check(k, params[k]) for k, check in (self.params or {}).items() if k in params}

    # ----------------------------------------------------------------- scoring
    def score(self, values: Any, bounds: Any, params: Mapping[str, Any], contamination: float = 0.1,
              progress: bool = False) -> tuple[Any, Any]:
        """Scores of group-sorted ``values`` (n, d), every segment fitted on its own rows.

        Returns
        -------
        scores : array (n,)
        flags : array (n,) of bool, or None
            The scorer's own verdict (``verdict=True``), else None.
        """
        own = self.own_params(params)
        if self.scorer is None:
            return _fit_per_segment(self, values, bounds, own, contamination, progress), None
        out = self.scorer(values, bounds, **own)
        return out if self.verdict else (out, None)


def _fit_per_segment(info: DetectorInfo, values: Any, bounds: Any, params: Mapping[str, Any],
                     contamination: float, progress: bool) -> Any:
    """One fit of ``info.factory`` per segment (detectors without a batched form)."""
    xp = array_namespace(values)
    out = xp.empty((values.shape[0],), dtype=xp.float64)
    edges = [int(b) for b in to_host(bounds).tolist()]
    pairs: Any = list(zip(edges[:-1], edges[1:]))
    if progress and len(pairs) > 1:
        from tqdm.auto import tqdm

        pairs = tqdm(pairs, desc=f"{info.name} per group", unit="group", leave=False)
    for lo, hi in pairs:
        det = info.factory(contamination=contamination, **params).fit(values[lo:hi])
        out[lo:hi] = xp.astype(xp.asarray(det.decision_scores_), xp.float64)
    return out


# --------------------------------------------------------------------------- the table
_REGISTRY: dict[str, DetectorInfo] = {}


def register(info: DetectorInfo, *, replace: bool = False) -> DetectorInfo:
    """Add ``info`` to the registry (``replace=True`` to override an existing name).

    Raises
    ------
    DataValidationError
        ``info`` is not a :class:`DetectorInfo`, or its name is taken and ``replace`` is False.
    """
    if not isinstance(info, DetectorInfo):
        raise DataValidationError.for_parameter("info", "expected a DetectorInfo", type(info).__name__)
    if info.name in _REGISTRY and not replace:
        raise DataValidationError.for_parameter("name", "already registered (pass replace=True to override)",
                                                info.name)
    _REGISTRY[info.name] = info
    return info


def unregister(name: str) -> DetectorInfo:
    """Remove ``name`` from the registry and return its entry (e.g. a detector registered for a test).

    Raises
    ------
    DataValidationError
        ``name`` is not registered (the message lists the names that are).
    """
    info = lookup(name, "name")
    del _REGISTRY[info.name]
    return info


def lookup(name: Any, param: str = "method", *, need_factory: bool = False) -> DetectorInfo:
    """The registry entry of ``name`` (case-insensitive); unknown names list the choices.

    Raises
    ------
    DataValidationError
        Naming ``param``: the name is unknown (or, with ``need_factory``, has no detector class).
    """
    choices = DETECTORS if need_factory else METHODS
    key = name.lower() if isinstance(name, str) else name
    if not isinstance(key, str) or key not in choices:
        what = "detector" if need_factory else "method"
        raise DataValidationError.for_parameter(param, f"unknown {what}", name, list(choices))
    return _REGISTRY[key]


class DetectorNames(Sequence):
    """Sorted names in the registry, read live (a detector registered later appears).

    ``DETECTORS``: names with a detector class (``make_detector`` accepts them);
    ``METHODS``: every name (``detect`` accepts them).
    """

    def __init__(self, need_factory: bool):
        self._need_factory = need_factory

    def _names(self) -> tuple[str, ...]:
        return tuple(sorted(n for n, info in _REGISTRY.items() if info.factory is not None or not self._need_factory))

    def __getitem__(self, index: Any) -> Any:
        return self._names()[index]

    def __len__(self) -> int:
        return len(self._names())

    def __iter__(self) -> Iterator[str]:
        return iter(self._names())

    def __contains__(self, name: object) -> bool:
        return name in self._names()

    def __eq__(self, other: object) -> bool:
        return self._names() == (tuple(other) if isinstance(other, (tuple, list, DetectorNames)) else other)

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return repr(self._names())


DETECTORS = DetectorNames(need_factory=True)
METHODS = DetectorNames(need_factory=False)


def make_detector(name: str, contamination: float = 0.1, **params: Any) -> Any:
    """A PyOD-API detector by name.

    Parameters
    ----------
    name : str
        One of :data:`DETECTORS`: ``"ecod"``, ``"copod"`` (native, numpy/CuPy), ``"robust_z"``,
        ``"iqr"`` (rules), ``"iforest"`` (cuML on CuPy input when installed, else PyOD),
        ``"hbos"``, ``"knn"``, ``"lof"``, ``"pca"``, ``"autoencoder"`` (PyOD; torch for the
        autoencoder), or any name registered since.
    contamination : float in (0, 0.5], default 0.1
        Share of outliers that sets ``threshold_`` (PyOD semantics).
    **params
        Passed to the detector (e.g. ``n_neighbors`` for knn/lof, ``epoch_num`` for the
        autoencoder, ``random_state`` for iforest).

    Returns
    -------
    BaseDetector
        Unfitted detector with ``fit``, ``decision_function``, ``predict``; after fitting
        ``decision_scores_``, ``threshold_`` and ``labels_``.

    Raises
    ------
    DataValidationError
        An unknown ``name`` (the message lists :data:`DETECTORS`), a parameter the detector
        does not take (listing those it does), ``contamination`` outside (0, 0.5].

    Examples
    --------
    >>> import numpy as np
    >>> from toolkit.anomaly import make_detector
    >>> X = np.random.default_rng(0).normal(size=(200, 3))
    >>> make_detector("ecod", contamination=0.05).fit(X).labels_.sum()
    np.int64(10)
    """
    info = lookup(name, "name", need_factory=True)
    contamination = check_contamination(contamination)
    accepted = info.detector_parameters()
    unknown = sorted(k for k in params if k not in accepted)
    if unknown:
        raise DataValidationError.for_parameter(unknown[0], f"not a parameter of detector {info.name!r}"
                                                + ("" if accepted else " (it takes none besides contamination)"),
                                                params[unknown[0]], list(accepted) or None)
    return info.factory(contamination=contamination, **params)


# --------------------------------------------------------------------------- built-in scorers
def ecod_scores(values: Any, bounds: Any) -> Any:
    """ECOD's ``decision_scores_`` of every segment fitted on its own rows."""
    xp = array_namespace(values)
    return xp.sum(segment_tail_scores(values, bounds, kind="ecod"), axis=1)


def copod_scores(values: Any, bounds: Any) -> Any:
    """COPOD's ``decision_scores_`` of every segment fitted on its own rows."""
    xp = array_namespace(values)
    return xp.sum(segment_tail_scores(values, bounds, kind="copod"), axis=1)


def robust_z_scores(values: Any, bounds: Any) -> Any:
    """Largest ``|robust z|`` over the features, per segment."""
    xp = array_namespace(values)
    return xp.max(xp.abs(robust_z(values, bounds)), axis=1)


def iqr_scores(values: Any, bounds: Any) -> Any:
    """Largest distance outside the interquartile box (in IQRs) over the features, per segment."""
    xp = array_namespace(values)
    return xp.max(iqr_score(values, bounds), axis=1)


def hampel_scores(values: Any, bounds: Any, half_window: int = 3) -> Any:
    """Largest ``|rolling Hampel z|`` over the features (rows in time order)."""
    xp = array_namespace(values)
    z = xp.stack([hampel(values[:, j], bounds, half_window) for j in range(values.shape[1])], axis=1)
    return xp.max(xp.abs(z), axis=1)


def seasonal_esd_scores(values: Any, bounds: Any, period: int = 7, max_anomalies: float = 0.05,
                        alpha: float = 0.05) -> tuple[Any, Any]:
    """Seasonal-hybrid ESD per feature: the largest score, and the test's verdict on any feature."""
    xp = array_namespace(values)
    pairs = [seasonal_esd(values[:, j], bounds, period, max_anomalies, alpha) for j in range(values.shape[1])]
    return (xp.max(xp.stack([p[0] for p in pairs], axis=1), axis=1),
            xp.any(xp.stack([p[1] for p in pairs], axis=1), axis=1))


def _whole_at_least(minimum: int) -> ParamCheck:
    def check(name: str, value: Any) -> int:
        return panel.check_int(name, value, minimum=minimum)

    return check


def _share(name: str, value: Any) -> float:
    return panel.check_number(name, value, 0.0, 0.5, low_open=True)


def _probability(name: str, value: Any) -> float:
    return panel.check_number(name, value, 0.0, 1.0, low_open=True, high_open=True)


def _neighbours_plus_one(default: int) -> Callable[[Mapping[str, Any], int], int]:
    def rows(params: Mapping[str, Any], n_features: int) -> int:
        return panel.check_int("n_neighbors", params.get("n_neighbors", default), minimum=1) + 1

    return rows


def _features_plus_one(params: Mapping[str, Any], n_features: int) -> int:
    return n_features + 1


def _two_periods(params: Mapping[str, Any], n_features: int) -> int:
    return 2 * panel.check_int("period", params.get("period", 7), minimum=1)


_AUTOENCODER = PyODModel("pyod.models.auto_encoder", "AutoEncoder", defaults=AUTOENCODER_DEFAULTS,
                         load=batched_autoencoder, attributes=("cpu_threads",))

BUILT_IN = (
    DetectorInfo("ecod", ECOD, kind="tabular", min_rows=3, scorer=ecod_scores),
    DetectorInfo("copod", COPOD, kind="tabular", min_rows=3, scorer=copod_scores),
    DetectorInfo("robust_z", RobustZ, kind="tabular", min_rows=3, rule_cut=RobustZ.rule_threshold,
                 scorer=robust_z_scores),
    DetectorInfo("iqr", IQR, kind="tabular", min_rows=3, rule_cut=IQR.rule_threshold, scorer=iqr_scores),
    DetectorInfo("hampel", None, kind="series", min_rows=3, rule_cut=3.0, scorer=hampel_scores,
                 params={"half_window": _whole_at_least(1)}),
    DetectorInfo("seasonal_esd", None, kind="series", min_rows=_two_periods, scorer=seasonal_esd_scores,
                 verdict=True, params={"period": _whole_at_least(1), "max_anomalies": _share,
                                       "alpha": _probability}),
    DetectorInfo("iforest", PyODModel("pyod.models.iforest", "IForest", gpu=cuml_isolation_forest), kind="pyod"),
    DetectorInfo("hbos", PyODModel("pyod.models.hbos", "HBOS"), kind="pyod"),
    DetectorInfo("knn", PyODModel("pyod.models.knn", "KNN"), kind="pyod", min_rows=_neighbours_plus_one(5)),
    DetectorInfo("lof", PyODModel("pyod.models.lof", "LOF"), kind="pyod", min_rows=_neighbours_plus_one(20)),
    DetectorInfo("pca", PyODModel("pyod.models.pca", "PCA"), kind="pyod", min_rows=_features_plus_one),
    DetectorInfo("autoencoder", _AUTOENCODER, kind="pyod"),
)
"""The detectors the toolkit ships, registered at import."""
for _built_in in BUILT_IN:
    register(_built_in)
