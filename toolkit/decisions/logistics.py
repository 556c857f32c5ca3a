"""Delivery decisions: delivery-time model and late risk, lane delays, zone volumes, routes.

The logistics use case turns shipments into four decisions: how long a parcel will take
(:class:`DeliveryTimeModel`), which parcels will miss their promised date (:func:`late_risk`,
judged by :func:`evaluate_late_risk`), which carrier lanes are delayed now
(:func:`lane_delays`), how many parcels each zone will ship (:func:`zone_demand_forecast`) and
how one day's deliveries are routed (:func:`plan_routes`).

Design choices
--------------
* **Delivery time is a linear model on one-hot lanes.** Carrier, zone and weekday enter as
  indicator columns (first level dropped), distance, weight and the day's volume ratio as
  numbers; the regression is :class:`toolkit.regress.LinearRegression` (numpy or cupy, by where
  the frame lives) unless another estimator is given. The design matrix is built with array
  operations on the frame's columns, so a cuDF frame never leaves the GPU.
* **Late risk from the residual distribution.** Actual days are integers, rounded from a
  latent continuous delay; a parcel is late when ``actual >= promised + 1``, i.e. when the
  latent ``prediction + residual > promised + 0.5``. By default the residual is read as normal
  with the training residuals' mean and standard deviation, the variance reduced by 1/12
  (Sheppard's correction: rounding to whole days adds that much); ``distribution="empirical"``
  uses the share of training residuals above the threshold instead (one ``searchsorted``).
* **Routing with PyVRP.** :func:`plan_routes` builds a capacitated VRP for PyVRP's hybrid
  genetic search, bounded by ``time_limit`` seconds so it never hangs. PyVRP works on
  integers: distances are scaled by :data:`DISTANCE_SCALE` and rounded, loads are used as
  they are when integral, else scaled by 1000 (demands rounded up, capacity down, so a plan
  feasible for the solver is feasible for the data). Reported distances are recomputed in
  floating point from the coordinates. NVIDIA cuOpt is used instead when ``solver="auto"``
  finds a usable GPU and the ``cuopt`` package; inputs and outputs are the same. The routing
  itself runs on the host (PyVRP has no GPU path): the frame's few stop columns are copied
  there and the plan comes back in the input's frame library.
* **Lane delays on residuals.** :func:`lane_delays` feeds ``actual - expected`` days to
  :func:`toolkit.anomaly.carrier_delays` instead of ``actual - promised``: weekday and volume
  effects the model explains no longer look like incidents, so per-lane thresholds are tighter.
* **In-memory frames.** These functions take pandas or cuDF frames (a day's stops, a year of
  shipments); compute a Dask frame first.

Examples
--------
>>> import pandas as pd
>>> from toolkit.decisions.logistics import plan_routes
>>> stops = pd.DataFrame({"x": [0.0, 10.0, 0.0, -10.0], "y": [10.0, 0.0, -10.0, 0.0],
...                       "demand": [1, 1, 1, 1]})
>>> plan = plan_routes(stops, depot=(0.0, 0.0), vehicles=2, capacity=2, time_limit=0.2)
>>> sorted(plan.routes["stop"].tolist())
[0, 1, 2, 3]
"""

from __future__ import annotations

import dataclasses
import math
from importlib.util import find_spec
from typing import Any, Sequence

import numpy as np
from sklearn.base import BaseEstimator

from toolkit import backend
from toolkit.errors import DataValidationError
from toolkit.panel import as_list

__all__ = [
    "delivery_features",
    "DeliveryTimeModel",
    "late_risk",
    "evaluate_late_risk",
    "lane_delays",
    "LaneDelays",
    "zone_volumes",
    "zone_demand_forecast",
    "RoutePlan",
    "RoutingError",
    "plan_routes",
    "DISTANCE_SCALE",
]

DISTANCE_SCALE = 1000
"""Distances are multiplied by this and rounded to integers for the routing solver."""

_EARTH_RADIUS_KM = 6371.0088
_KEYS_SHOWN = 5


class RoutingError(RuntimeError):
    """The routing solver found no feasible plan within its time limit."""


# --------------------------------------------------------------------------- validation


def _fail(column: str, problem: str, count: int | None = None, keys: Sequence[Any] | None = None) -> None:
    raise DataValidationError.for_column(column, problem, count, keys, limit=_KEYS_SHOWN)


def _require(frame: Any, columns: Sequence[str], purpose: str) -> None:
    if backend.is_dask(frame):
        raise TypeError(f"a Dask frame was given (needed {purpose}): these functions work on a day's or a "
                        "year's shipments in memory, call .compute() first")
    cols = frame.columns
    for col in columns:
        if col not in cols:
            _fail(col, f"missing (needed {purpose})")
    if len(frame) == 0:
        _fail(columns[0], f"the frame is empty (needed {purpose})")


def _array(frame: Any, col: str, dtype: str = "float64") -> Any:
    """A column as a numpy or cupy array of ``dtype`` (nulls become NaN for floats)."""
    series = frame[col]
    if backend.is_gpu(frame):
        return series.astype(dtype).to_cupy(na_value=np.nan) if dtype.startswith("float") else series.to_cupy()
    if dtype.startswith("float"):
        return series.to_numpy(dtype=dtype, na_value=np.nan)
    return series.to_numpy()


def _bad_rows(frame: Any, mask: Any, key_col: str | None) -> tuple[int, list]:
    positions = backend.to_host(backend.array_namespace(mask).nonzero(mask)[0])
    keys = positions[:_KEYS_SHOWN].tolist()
    if key_col is not None and key_col in frame.columns:
        keys = backend.to_host(frame[key_col].iloc[positions[:_KEYS_SHOWN]]).tolist()
    return int(positions.size), keys


def _check_finite(frame: Any, cols: Sequence[str], key_col: str | None, non_negative: Sequence[str] = ()) -> None:
    for col in cols:
        x = _array(frame, col)
        xp = backend.array_namespace(x)
        bad = ~xp.isfinite(x)
        if bool(xp.any(bad)):
            count, keys = _bad_rows(frame, bad, key_col)
            _fail(col, "has missing or infinite values", count, keys)
        if col in non_negative and bool(xp.any(x < 0)):
            count, keys = _bad_rows(frame, x < 0, key_col)
            _fail(col, "has negative values", count, keys)


# --------------------------------------------------------------------------- delivery time


_SHIPMENT_COLS = ("carrier", "zone", "distance_km", "weight_kg", "ship_date")


def delivery_features(
    shipments: Any,
    time_col: str = "ship_date",
    volume_keys: str | Sequence[str] | None = None,
    id_col: str = "shipment_id",
) -> Any:
    """Add the delivery-time drivers: weekday, the day's shipment volume and its ratio to normal.

    Parameters
    ----------
    shipments : pandas or cudf DataFrame
        Needs ``carrier, zone, distance_km, weight_kg`` and ``time_col``.
    time_col : str, default "ship_date"
    volume_keys : str or list of str, optional
        Keys within which the daily volume is counted (e.g. ``"warehouse"``); default: all
        shipments of the day.
    id_col : str, default "shipment_id"
        Used to name offending rows in error messages.

    Returns
    -------
    frame
        Same library and rows (same order and index) plus ``weekday`` (int, Monday=0),
        ``daily_volume`` (shipments that day) and ``volume_ratio`` (daily volume over the mean
        daily volume of its keys).

    Raises
    ------
    DataValidationError
        Missing column, empty frame, missing/infinite or negative distance or weight.

    Examples
    --------
    >>> import pandas as pd
    >>> s = pd.DataFrame({"carrier": ["A", "A", "B"], "zone": [1, 2, 1], "distance_km": [10.0, 90.0, 20.0],
    ...                   "weight_kg": [1.0, 2.0, 3.0],
    ...                   "ship_date": pd.to_datetime(["2024-01-01", "2024-01-01", "2024-01-02"])})
    >>> delivery_features(s)[["weekday", "daily_volume", "volume_ratio"]].values.tolist()
    [[0.0, 2.0, 1.3333333333333333], [0.0, 2.0, 1.3333333333333333], [1.0, 1.0, 0.6666666666666666]]
    """
    keys = as_list(volume_keys)
    _require(shipments, [*_SHIPMENT_COLS[:4], time_col, *keys], "for delivery features")
    _check_finite(shipments, ["distance_km", "weight_kg"], id_col, non_negative=["distance_km", "weight_kg"])
    missing = shipments[time_col].isna()
    if bool(missing.any()):
        count, rows = _bad_rows(shipments, _series_array(missing, backend.array_namespace(_array(shipments, "zone"))) > 0,
                                id_col)
        _fail(time_col, "has missing dates", count, rows)
    frame = shipments.reset_index(drop=True)
    frame["_row"] = np.arange(len(frame))  # host positions; cudf copies them to the device
    daily = frame.groupby([*keys, time_col]).agg(daily_volume=("_row", "count")).reset_index()
    daily["daily_volume"] = daily["daily_volume"].astype("float64")
    if keys:
        mean = daily.groupby(keys)["daily_volume"].transform("mean")
    else:
        mean = daily["daily_volume"].mean()
    daily["volume_ratio"] = daily["daily_volume"] / mean
    merged = frame.merge(daily, on=[*keys, time_col], how="left").sort_values("_row")
    merged.index = shipments.index  # rows are back in input order: restore the caller's index
    merged["weekday"] = merged[time_col].dt.dayofweek.astype("int64")
    return merged.drop(columns="_row")


def _one_hot(frame: Any, col: str, levels: Sequence[Any], xp: Any) -> list[Any]:
    """Indicator columns for ``levels[1:]`` (the first level is the baseline)."""
    values = frame[col].astype("str")
    return [_series_array(values == str(level), xp) for level in levels[1:]]


def _series_array(series: Any, xp: Any) -> Any:
    arr = series.to_cupy() if backend.is_gpu(series) else series.to_numpy()
    return xp.asarray(arr, dtype=xp.float64)


class DeliveryTimeModel(BaseEstimator):
    """Predict delivery days from carrier, zone, distance, weight, weekday and daily volume.

    Parameters
    ----------
    estimator : regressor, optional
        Any scikit-learn-API regressor; default :class:`toolkit.regress.LinearRegression`.
    target_col : str, default "actual_days"
    promised_col : str, default "promised_days"
    time_col : str, default "ship_date"
    volume_keys : str or list of str, optional
        Passed to :func:`delivery_features`.
    distribution : {"normal", "empirical"}, default "normal"
        How late risk reads the residuals: a normal law with their mean and standard
        deviation, or their empirical distribution (no shape assumed; lumpy when the
        features take few values).

    Attributes
    ----------
    levels_ : dict
        Levels of ``carrier``, ``zone`` and ``weekday`` seen in training.
    feature_names_ : list of str
    estimator_ : fitted regressor
    residuals_ : array
        Sorted training residuals (actual minus predicted), numpy or cupy.
    residual_mean_, residual_std_ : float
        Their mean and standard deviation (Sheppard-corrected when the target is integral).
    integer_days_ : bool
        Whether the training target held whole days (then late means ``actual >= promised + 1``
        and the latent threshold is ``promised + 0.5``; else ``actual > promised``).

    Examples
    --------
    >>> from toolkit.datasets import make_retail
    >>> data = make_retail(n_skus=10, n_locations=3, n_days=60, progress=False)
    >>> model = DeliveryTimeModel().fit(data.shipments)
    >>> float(abs(model.residuals_).mean()) < 1.5
    True
    """

    def __init__(self, estimator: Any = None, target_col: str = "actual_days", promised_col: str = "promised_days",
                 time_col: str = "ship_date", volume_keys: str | Sequence[str] | None = None,
                 distribution: str = "normal"):
        self.estimator = estimator
        self.target_col = target_col
        self.promised_col = promised_col
        self.time_col = time_col
        self.volume_keys = volume_keys
        self.distribution = distribution

    def _features(self, shipments: Any) -> Any:
        if "volume_ratio" in shipments.columns and "weekday" in shipments.columns:
            return shipments
        return delivery_features(shipments, self.time_col, self.volume_keys)

    def _design(self, feats: Any) -> Any:
        xp = backend.array_namespace(_array(feats, "distance_km"))
        cols = []
        for name in ("carrier", "zone", "weekday"):
            cols += _one_hot(feats, name, self.levels_[name], xp)
        cols += [_array(feats, c) for c in ("distance_km", "weight_kg", "volume_ratio")]
        return xp.stack(cols, axis=1)

    def fit(self, shipments: Any) -> "DeliveryTimeModel":
        """Fit on shipments with known ``target_col``.

        Parameters
        ----------
        shipments : pandas or cudf DataFrame

        Returns
        -------
        self
        """
        from sklearn.base import clone

        from toolkit.regress import LinearRegression

        if self.distribution not in ("normal", "empirical"):
            raise ValueError(f"distribution must be 'normal' or 'empirical', got {self.distribution!r}")
        _require(shipments, [self.target_col], "to fit the delivery-time model")
        _check_finite(shipments, [self.target_col], "shipment_id", non_negative=[self.target_col])
        feats = self._features(shipments)
        self.levels_ = {name: sorted(backend.to_host(feats[name].astype("str").unique()).tolist(),
                                     key=lambda v: (len(v), v)) for name in ("carrier", "zone", "weekday")}
        self.feature_names_ = [f"{n}={v}" for n in ("carrier", "zone", "weekday") for v in self.levels_[n][1:]]
        self.feature_names_ += ["distance_km", "weight_kg", "volume_ratio"]
        X = self._design(feats)
        y = _array(feats, self.target_col)
        est = LinearRegression() if self.estimator is None else clone(self.estimator)
        self.estimator_ = est.fit(X, y)
        xp = backend.array_namespace(y)
        resid = y - xp.asarray(self.estimator_.predict(X))
        self.residuals_ = xp.sort(resid)
        centre = float(xp.mean(resid))
        var = float(xp.mean((resid - centre) ** 2))
        self.integer_days_ = bool(xp.all(y == xp.round(y)))
        if self.integer_days_:
            var = max(var - 1.0 / 12.0, 1e-12)  # Sheppard's correction for integer days
        self.residual_mean_, self.residual_std_ = centre, math.sqrt(var)
        return self

    def predict(self, shipments: Any) -> Any:
        """Expected delivery days, a Series of the input's library aligned with its index."""
        feats = self._features(shipments)
        pred = self.estimator_.predict(self._design(feats))
        return backend.frame_lib(shipments).Series(pred, index=shipments.index, name="predicted_days")

    def late_probability(self, shipments: Any) -> Any:
        """Probability that ``actual > promised`` for each shipment (see :func:`late_risk`)."""
        _require(shipments, [self.promised_col], "for late risk")
        _check_finite(shipments, [self.promised_col], "shipment_id")
        feats = self._features(shipments)
        pred = self.estimator_.predict(self._design(feats))
        xp = backend.array_namespace(self.residuals_)
        threshold = _array(feats, self.promised_col) + (0.5 if self.integer_days_ else 0.0) - xp.asarray(pred)
        if self.distribution == "normal":
            prob = _normal_sf((threshold - self.residual_mean_) / self.residual_std_, xp)
        else:
            above = self.residuals_.shape[0] - xp.searchsorted(self.residuals_, threshold, side="right")
            prob = above / float(self.residuals_.shape[0])
        return backend.frame_lib(shipments).Series(prob, index=shipments.index, name="late_risk")


def _normal_sf(z: Any, xp: Any) -> Any:
    """Standard normal survival function on numpy or cupy."""
    if xp.__name__.endswith("cupy"):
        from cupyx.scipy.special import ndtr
    else:
        from scipy.special import ndtr
    return ndtr(-z)


def late_risk(model: DeliveryTimeModel, shipments: Any) -> Any:
    """Probability that each shipment misses its promised date.

    ``P(actual > promised) = P(residual > promised + 0.5 - predicted)``, read from the fitted
    model's empirical distribution of training residuals.

    Parameters
    ----------
    model : DeliveryTimeModel
        Fitted.
    shipments : pandas or cudf DataFrame
        With ``promised_days`` and the delivery features' inputs.

    Returns
    -------
    Series
        Probabilities in [0, 1], named ``late_risk``, aligned with ``shipments``.

    Examples
    --------
    >>> from toolkit.datasets import make_retail
    >>> data = make_retail(n_skus=10, n_locations=3, n_days=60, progress=False)
    >>> risk = late_risk(DeliveryTimeModel().fit(data.shipments), data.shipments)
    >>> bool(risk.between(0, 1).all())
    True
    """
    return model.late_probability(shipments)


def evaluate_late_risk(late: Any, probability: Any, n_bins: int = 10) -> dict:
    """Discrimination and calibration of late-risk probabilities.

    Parameters
    ----------
    late : array or Series of bool
        Whether each shipment was late (``actual_days > promised_days``).
    probability : array or Series
        Predicted probabilities.
    n_bins : int
        Bins of the calibration curve (uniform on [0, 1]).

    Returns
    -------
    dict
        ``roc_auc`` and ``brier`` (scikit-learn), ``late_rate``, ``mean_probability``,
        ``calibration`` (a pandas frame: ``predicted`` and ``observed`` rate per non-empty bin,
        ``count``) and ``calibration_error`` (count-weighted mean |observed - predicted|).

    Examples
    --------
    >>> import numpy as np
    >>> out = evaluate_late_risk(np.array([0, 0, 1, 1]), np.array([0.1, 0.4, 0.35, 0.8]))
    >>> out["roc_auc"]
    0.75
    """
    import pandas as pd
    from sklearn.metrics import brier_score_loss, roc_auc_score

    y = np.asarray(backend.to_host(late), dtype=bool)
    p = np.asarray(backend.to_host(probability), dtype=float)
    if y.shape != p.shape:
        raise DataValidationError(f"column 'late_risk': {p.shape[0]} probabilities for {y.shape[0]} outcomes",
                                  column="late_risk")
    if y.all() or not y.any():
        raise DataValidationError("column 'late': needs both late and on-time shipments to evaluate", column="late")
    bins = np.minimum((p * n_bins).astype(int), n_bins - 1)
    count = np.bincount(bins, minlength=n_bins)
    used = count > 0
    table = pd.DataFrame({
        "predicted": np.bincount(bins, weights=p, minlength=n_bins)[used] / count[used],
        "observed": np.bincount(bins, weights=y.astype(float), minlength=n_bins)[used] / count[used],
        "count": count[used],
    })
    return {
        "roc_auc": float(roc_auc_score(y, p)),
        "brier": float(brier_score_loss(y, p)),
        "late_rate": float(y.mean()),
        "mean_probability": float(p.mean()),
        "calibration": table,
        "calibration_error": float(np.average(np.abs(table["observed"] - table["predicted"]), weights=table["count"])),
    }


# --------------------------------------------------------------------------- routing


@dataclasses.dataclass
class RoutePlan:
    """A delivery plan from :func:`plan_routes`.

    Attributes
    ----------
    routes : frame
        One row per visit: ``vehicle``, ``sequence`` (1 = first stop), ``stop`` (the stop's
        position in the input, or its ``id_col`` value), the coordinates, ``demand`` and
        ``load`` (cumulative load delivered so far on that route).
    vehicles : frame
        One row per used vehicle: ``vehicle``, ``stops``, ``load``, ``distance``,
        ``utilisation`` (load / capacity).
    distance : float
        Total distance (units of the coordinates; km for ``metric="haversine"``).
    solver : str
        ``"pyvrp"`` or ``"cuopt"``.
    """

    routes: Any
    vehicles: Any
    distance: float
    solver: str

    def __repr__(self) -> str:
        return f"RoutePlan(vehicles={len(self.vehicles)}, stops={len(self.routes)}, distance={self.distance:.2f}, solver={self.solver!r})"


def _distance_matrix(points: np.ndarray, metric: str) -> np.ndarray:
    if metric == "euclidean":
        diff = points[:, None, :] - points[None, :, :]
        return np.sqrt((diff**2).sum(axis=2))
    lat, lon = np.deg2rad(points[:, 0]), np.deg2rad(points[:, 1])
    dlat = lat[:, None] - lat[None, :]
    dlon = lon[:, None] - lon[None, :]
    a = np.sin(dlat / 2) ** 2 + np.cos(lat[:, None]) * np.cos(lat[None, :]) * np.sin(dlon / 2) ** 2
    return 2 * _EARTH_RADIUS_KM * np.arcsin(np.sqrt(np.clip(a, 0.0, 1.0)))


def _integer_loads(demand: np.ndarray, capacity: float) -> tuple[np.ndarray, int]:
    if np.all(demand == np.round(demand)) and float(capacity) == round(capacity):
        return demand.astype(np.int64), int(capacity)
    return np.ceil(demand * 1000 - 1e-9).astype(np.int64), int(math.floor(capacity * 1000 + 1e-9))


def _solve_pyvrp(dist: np.ndarray, loads: np.ndarray, cap: int, n_vehicles: int, time_limit: float,
                 seed: int) -> list[list[int]]:
    import pyvrp
    from pyvrp.stop import MaxRuntime

    model = pyvrp.Model()
    locations = [model.add_location(x=0, y=0) for _ in range(dist.shape[0])]
    model.add_depot(locations[0])
    model.add_vehicle_type(num_available=n_vehicles, capacity=[cap])
    for i in range(1, dist.shape[0]):
        model.add_client(locations[i], delivery=[int(loads[i - 1])])
    scaled = np.round(dist * DISTANCE_SCALE).astype(np.int64)
    for i, frm in enumerate(locations):
        for j, to in enumerate(locations):
            if i != j:
                model.add_edge(frm, to, distance=int(scaled[i, j]))
    result = model.solve(stop=MaxRuntime(time_limit), seed=seed, display=False)
    if not result.is_feasible():
        raise RoutingError(
            f"PyVRP found no feasible plan for {len(loads)} stops with {n_vehicles} vehicles of capacity "
            f"{cap} within time_limit={time_limit}s; add vehicles, capacity or time")
    # Client activities are numbered 0..n-1 in insertion order, i.e. stop positions.
    return [[act.idx for act in route.schedule() if act.is_client()] for route in result.best.routes()]


def _solve_cuopt(dist: np.ndarray, loads: np.ndarray, cap: int, n_vehicles: int, time_limit: float) -> list[list[int]]:
    """cuOpt's GPU routing (``cuopt.routing``): same problem, location 0 is the depot."""
    import cudf
    from cuopt import routing

    n = dist.shape[0]
    data = routing.DataModel(n, n_vehicles, n - 1)
    data.add_cost_matrix(cudf.DataFrame(dist.astype(np.float32)))
    data.set_order_locations(cudf.Series(np.arange(1, n, dtype=np.int32)))
    data.add_capacity_dimension("load", cudf.Series(loads.astype(np.int32)),
                                cudf.Series(np.full(n_vehicles, cap, dtype=np.int32)))
    settings = routing.SolverSettings()
    settings.set_time_limit(float(time_limit))
    solution = routing.Solve(data, settings)
    if solution.get_status() != 0:
        raise RoutingError(f"cuOpt found no feasible plan: {solution.get_error_message()}")
    route = solution.get_route().to_pandas()
    plans = []
    for _, visits in route.groupby("truck_id", sort=True):
        plans.append([int(loc) - 1 for loc in visits["route"].tolist() if int(loc) != 0])
    return plans


def _cuopt_usable() -> bool:
    return backend.gpu_available() and find_spec("cuopt") is not None


def plan_routes(
    stops: Any,
    depot: Sequence[float],
    vehicles: int | None = None,
    capacity: float = 1.0,
    time_limit: float = 2.0,
    demand_col: str = "demand",
    coord_cols: Sequence[str] = ("x", "y"),
    id_col: str | None = None,
    metric: str = "euclidean",
    solver: str = "auto",
    seed: int = 0,
) -> RoutePlan:
    """Plan capacitated vehicle routes for one day's deliveries from one depot.

    Parameters
    ----------
    stops : pandas or cudf DataFrame
        One row per delivery: coordinates ``coord_cols`` and ``demand_col`` (weight, parcels).
    depot : (float, float)
        Depot coordinates, in the order of ``coord_cols``.
    vehicles : int, optional
        Vehicles available (default: one per stop, i.e. unlimited).
    capacity : float
        Capacity of every vehicle, in the units of ``demand_col`` (> 0).
    time_limit : float
        Seconds the solver may search (> 0); the search stops then with its best plan.
    demand_col : str, default "demand"
    coord_cols : (str, str), default ("x", "y")
        Planar coordinates, or ``("lat", "lon")`` in degrees with ``metric="haversine"``.
    id_col : str, optional
        Column naming stops in the plan (default: their positions 0..n-1).
    metric : {"euclidean", "haversine"}
        Haversine distances are in km.
    solver : {"auto", "pyvrp", "cuopt"}
        ``auto`` uses cuOpt when a GPU and the ``cuopt`` package are present, else PyVRP.
    seed : int
        Seed of the search.

    Returns
    -------
    RoutePlan
        Frames in the input's library.

    Raises
    ------
    DataValidationError
        Before solving: missing columns, empty frame, non-finite coordinates, negative or
        missing demand, capacity <= 0, a stop heavier than a vehicle's capacity, more demand
        than the fleet can carry, bad ``time_limit``.
    RoutingError
        The solver found no feasible plan within ``time_limit``.

    Examples
    --------
    >>> import pandas as pd
    >>> stops = pd.DataFrame({"x": [1.0, 2.0], "y": [0.0, 0.0], "demand": [1.0, 1.0]})
    >>> plan_routes(stops, (0.0, 0.0), vehicles=1, capacity=2.0, time_limit=0.1).distance
    4.0
    """
    cols = list(coord_cols)
    if len(cols) != 2:
        raise ValueError(f"coord_cols must name two columns, got {coord_cols!r}")
    if metric not in ("euclidean", "haversine"):
        raise ValueError(f"metric must be 'euclidean' or 'haversine', got {metric!r}")
    if solver not in ("auto", "pyvrp", "cuopt"):
        raise ValueError(f"solver must be 'auto', 'pyvrp' or 'cuopt', got {solver!r}")
    if not (isinstance(time_limit, (int, float)) and math.isfinite(time_limit) and time_limit > 0):
        raise DataValidationError(f"argument 'time_limit': must be a finite number of seconds > 0, got {time_limit!r}",
                                  column="time_limit")
    if not (isinstance(capacity, (int, float, np.number)) and math.isfinite(capacity) and capacity > 0):
        raise DataValidationError(f"argument 'capacity': vehicle capacity must be > 0, got {capacity!r}",
                                  column="capacity")
    _require(stops, [*cols, demand_col, *([id_col] if id_col else [])], "to plan routes")
    _check_finite(stops, [*cols, demand_col], id_col, non_negative=[demand_col])
    host = backend.to_host(stops)
    demand = host[demand_col].to_numpy(dtype="float64")
    heavy = demand > capacity
    if heavy.any():
        count, keys = _bad_rows(host, heavy, id_col)
        _fail(demand_col, f"stops heavier than any vehicle's capacity {capacity}", count, keys)
    n = len(host)
    n_vehicles = n if vehicles is None else int(vehicles)
    if n_vehicles < 1:
        raise DataValidationError(f"argument 'vehicles': needs at least one vehicle, got {vehicles!r}",
                                  column="vehicles")
    if demand.sum() > n_vehicles * capacity:
        _fail(demand_col, f"total demand {demand.sum():g} exceeds the fleet's capacity "
                          f"{n_vehicles} x {capacity:g}", n)
    depot_xy = np.asarray(depot, dtype=float).reshape(-1)
    if depot_xy.shape != (2,) or not np.isfinite(depot_xy).all():
        raise DataValidationError(f"argument 'depot': needs two finite coordinates, got {depot!r}", column="depot")
    points = np.vstack([depot_xy, host[cols].to_numpy(dtype="float64")])
    dist = _distance_matrix(points, metric)
    loads, cap = _integer_loads(demand, capacity)
    use_cuopt = solver == "cuopt" or (solver == "auto" and _cuopt_usable())
    if use_cuopt:
        sequences = _solve_cuopt(dist, loads, cap, n_vehicles, time_limit)
    else:
        sequences = _solve_pyvrp(dist, loads, cap, n_vehicles, time_limit, seed)
    return _assemble(host, stops, sequences, dist, demand, capacity, cols, demand_col, id_col,
                     "cuopt" if use_cuopt else "pyvrp")


def _assemble(host: Any, stops: Any, sequences: list[list[int]], dist: np.ndarray, demand: np.ndarray,
              capacity: float, cols: list[str], demand_col: str, id_col: str | None, solver: str) -> RoutePlan:
    import pandas as pd

    rows, summary = [], []
    sequences = [seq for seq in sequences if seq]
    for vehicle, seq in enumerate(sequences):
        path = [0, *[s + 1 for s in seq], 0]
        length = float(sum(dist[a, b] for a, b in zip(path[:-1], path[1:])))
        load = np.cumsum(demand[seq])
        rows.append(pd.DataFrame({
            "vehicle": vehicle,
            "sequence": np.arange(1, len(seq) + 1),
            "stop": host[id_col].to_numpy()[seq] if id_col else np.asarray(seq),
            cols[0]: host[cols[0]].to_numpy(dtype="float64")[seq],
            cols[1]: host[cols[1]].to_numpy(dtype="float64")[seq],
            "demand": demand[seq],
            "load": load,
        }))
        summary.append({"vehicle": vehicle, "stops": len(seq), "load": float(load[-1]), "distance": length,
                        "utilisation": float(load[-1]) / capacity})
    routes = pd.concat(rows, ignore_index=True)
    vehicles = pd.DataFrame(summary, columns=["vehicle", "stops", "load", "distance", "utilisation"])
    total = float(vehicles["distance"].sum())
    if backend.is_gpu(stops):
        routes, vehicles = backend.to_device(routes), backend.to_device(vehicles)
    return RoutePlan(routes=routes, vehicles=vehicles, distance=total, solver=solver)


# --------------------------------------------------------------------------- lanes and zones


@dataclasses.dataclass
class LaneDelays:
    """Lane delay anomalies from :func:`lane_delays`.

    Attributes
    ----------
    lanes : frame
        One row per lane (``id_cols``) and day: ``n_shipments``, ``mean_residual`` (actual minus
        expected days), ``slow_share`` (share slower than expected), ``anomaly_score`` (robust z
        of the mean residual within the lane) and ``is_anomaly``.
    incidents : frame
        :func:`toolkit.anomaly.alarms` of the flagged lane-days: ``first_seen``, ``last_seen``,
        ``n_hits``, ``peak_score``, ``peak_at``, ``duration_days`` per lane.
    """

    lanes: Any
    incidents: Any


def lane_delays(
    shipments: Any,
    model: DeliveryTimeModel | None = None,
    id_cols: str | Sequence[str] = ("carrier", "zone"),
    time_col: str = "ship_date",
    k: float = 3.5,
    min_shipments: int = 3,
    min_hits: int = 2,
    window: float = 3,
) -> LaneDelays:
    """Carrier x zone lanes that deliver slower than the delivery-time model expects.

    The residual ``actual - expected`` of every shipment removes what the model explains
    (zone, carrier, weekday, volume); :func:`toolkit.anomaly.carrier_delays` then averages it
    per lane and day and scores each lane-day by its robust z against the lane's own history
    (a per-lane threshold), and :func:`toolkit.anomaly.alarms` joins flagged days into
    incidents.

    Parameters
    ----------
    shipments : pandas or cudf DataFrame
        With ``actual_days`` and the delivery features' inputs.
    model : DeliveryTimeModel, optional
        Fitted model giving the expected days (default: one fitted on ``shipments``).
    id_cols : default ("carrier", "zone")
    time_col : default "ship_date"
    k : float
        Robust z cut-off.
    min_shipments : int
        Lane-days with fewer shipments are never flagged.
    min_hits : int
        Flagged days an incident needs.
    window : float
        Flagged days at most this many days apart join one incident.

    Returns
    -------
    LaneDelays

    Examples
    --------
    >>> from toolkit.datasets import make_retail
    >>> data = make_retail(n_skus=20, n_locations=3, n_days=120, progress=False)
    >>> found = lane_delays(data.shipments)
    >>> {"first_seen", "last_seen", "n_hits"} <= set(found.incidents.columns)
    True
    """
    from toolkit.anomaly import alarms, carrier_delays

    keys = as_list(id_cols)
    _require(shipments, [*keys, time_col, "actual_days"], "for lane delays")
    model = DeliveryTimeModel(time_col=time_col).fit(shipments) if model is None else model
    expected = model.predict(shipments)
    frame = shipments[[*keys, time_col, "actual_days"]].assign(promised_days=expected)
    lanes = carrier_delays(frame, id_cols=keys, time_col=time_col, k=k, min_shipments=min_shipments)
    lanes = lanes.rename(columns={"mean_delay": "mean_residual", "late_share": "slow_share"})
    incidents = alarms(lanes, min_hits=min_hits, window=window, id_cols=keys, time_col="date")
    return LaneDelays(lanes=lanes, incidents=incidents)


def zone_volumes(shipments: Any, time_col: str = "ship_date", zone_col: str = "zone") -> Any:
    """Daily parcels and weight per zone, every zone on every day (zero when none shipped).

    Parameters
    ----------
    shipments : pandas or cudf DataFrame
        ``zone_col``, ``time_col`` and ``weight_kg``.

    Returns
    -------
    frame
        ``zone``, ``date``, ``parcels`` (float64) and ``weight_kg``, sorted by zone and date.

    Examples
    --------
    >>> import pandas as pd
    >>> s = pd.DataFrame({"zone": [1, 1, 2], "weight_kg": [1.0, 2.0, 4.0],
    ...                   "ship_date": pd.to_datetime(["2024-01-01", "2024-01-01", "2024-01-02"])})
    >>> zone_volumes(s)["parcels"].tolist()
    [2.0, 0.0, 0.0, 1.0]
    """
    _require(shipments, [zone_col, time_col, "weight_kg"], "for zone volumes")
    lib = backend.frame_lib(shipments)
    day = shipments[time_col].dt.floor("D")
    frame = lib.DataFrame({"zone": shipments[zone_col], "date": day,
                           "weight_kg": shipments["weight_kg"].astype("float64")})
    daily = frame.groupby(["zone", "date"]).agg(parcels=("weight_kg", "count"), weight_kg=("weight_kg", "sum"))
    daily = daily.reset_index()
    zones = daily[["zone"]].drop_duplicates()
    dates = lib.DataFrame({"date": lib.date_range(day.min(), day.max(), freq="D")})
    grid = zones.merge(dates, how="cross")
    out = grid.merge(daily, on=["zone", "date"], how="left").fillna({"parcels": 0.0, "weight_kg": 0.0})
    out["parcels"] = out["parcels"].astype("float64")
    return out.sort_values(["zone", "date"]).reset_index(drop=True)


def zone_demand_forecast(
    shipments: Any,
    horizon: int = 14,
    forecaster: Any = None,
    parcels_per_vehicle: float | None = None,
    quantiles: Sequence[float] | None = None,
    time_col: str = "ship_date",
) -> Any:
    """Forecast parcels per zone and day with the toolkit's forecaster; vehicles they need.

    Parameters
    ----------
    shipments : pandas or cudf DataFrame
    horizon : int
        Days ahead.
    forecaster : Forecaster or baseline, optional
        Default: :class:`toolkit.forecast.Forecaster` with a linear model on weekly lags
        (7, 14), rolling means (7, 28 days) and weekly Fourier terms, one global model for all
        zones.
    parcels_per_vehicle : float, optional
        Adds ``vehicles = ceil(forecast / parcels_per_vehicle)`` (on the upper quantile when
        ``quantiles`` are given, so the fleet covers a high day).
    quantiles : list of float, optional
        Conformal quantiles (the default forecaster calibrates on 3 windows when given).

    Returns
    -------
    frame
        ``zone``, ``date``, ``forecast`` (+ ``q{level}`` columns, ``vehicles``).

    Examples
    --------
    >>> from toolkit.datasets import make_retail
    >>> data = make_retail(n_skus=20, n_locations=3, n_days=150, progress=False)
    >>> fc = zone_demand_forecast(data.shipments, horizon=7, parcels_per_vehicle=50)
    >>> int(fc["date"].nunique()), bool((fc["vehicles"] >= 0).all())
    (7, True)
    """
    from toolkit.features import FeatureSpec
    from toolkit.forecast import Forecaster
    from toolkit.regress import LinearRegression

    if parcels_per_vehicle is not None and not parcels_per_vehicle > 0:
        raise DataValidationError(f"argument 'parcels_per_vehicle': must be > 0, got {parcels_per_vehicle!r}",
                                  column="parcels_per_vehicle")
    panel = zone_volumes(shipments, time_col=time_col)
    if forecaster is None:
        spec = FeatureSpec(lags=(7, 14), rolling={7: ("mean",), 28: ("mean",)}, calendar=(), fourier=((7, 3),),
                           target_col="parcels", id_cols=("zone",), time_col="date")
        forecaster = Forecaster(LinearRegression(), spec, horizon=horizon,
                                calibration_windows=3 if quantiles else 0)
    forecaster.fit(panel, id_cols="zone", time_col="date", target_col="parcels", stockout_col=None)
    out = forecaster.predict(horizon, quantiles=quantiles)
    if parcels_per_vehicle is not None:
        basis = _series_values(out[f"q{max(quantiles)}"] if quantiles else out["forecast"])
        xp = backend.array_namespace(basis)
        out["vehicles"] = xp.astype(xp.ceil(xp.clip(basis, 0, None) / parcels_per_vehicle), xp.int64)
    return out


def _series_values(series: Any) -> Any:
    return series.to_cupy() if backend.is_gpu(series) else series.to_numpy(dtype="float64")
