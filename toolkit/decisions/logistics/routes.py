"""Routes for one day's deliveries: a capacitated vehicle-routing plan from one depot.

Design choices (where the issue is silent)
------------------------------------------
* **Routing with PyVRP.** :func:`plan_routes` builds a capacitated VRP for PyVRP's hybrid
  genetic search, bounded by ``time_limit`` seconds so it never hangs. PyVRP works on
  integers: distances are scaled by :data:`DISTANCE_SCALE` and rounded, loads are used as
  they are when integral, else scaled by 1000 (demands rounded up, capacity down, so a plan
  feasible for the solver is feasible for the data). Reported distances are recomputed in
  floating point from the coordinates. NVIDIA cuOpt is used instead when ``solver="auto"``
  finds a usable GPU and the ``cuopt`` package; inputs and outputs are the same.
* **On the host.** PyVRP has no GPU path: the frame's few stop columns are copied to the host
  and the plan comes back in the input's frame library. Dask input is refused (a day's stops
  fit in memory: compute them first).
* **Non-finite values are refused**: coordinates must be finite, demand finite and >= 0 (named
  by column and stop), before the solver starts.

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

from toolkit import backend, panel
from toolkit.decisions.checks import require_non_negative
from toolkit.errors import DataValidationError

__all__ = ["RoutePlan", "RoutingError", "plan_routes", "DISTANCE_SCALE", "METRICS", "SOLVERS"]

DISTANCE_SCALE = 1000
"""Distances are multiplied by this and rounded to integers for the routing solver."""
METRICS = ("euclidean", "haversine")
SOLVERS = ("auto", "pyvrp", "cuopt")
_EARTH_RADIUS_KM = 6371.0088


class RoutingError(RuntimeError):
    """The routing solver found no feasible plan within its time limit."""


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
        One row per delivery: coordinates ``coord_cols`` (finite) and ``demand_col`` (weight,
        parcels; finite, >= 0).
    depot : (float, float)
        Depot coordinates, in the order of ``coord_cols``.
    vehicles : int, optional
        Vehicles available (>= 1; default: one per stop, i.e. unlimited).
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
        Before solving: non-frame or Dask input, missing columns, empty frame, non-finite
        coordinates, negative or missing demand, capacity <= 0, a stop heavier than a
        vehicle's capacity, more demand than the fleet can carry, bad ``time_limit``,
        ``vehicles``, ``depot``, or an unknown metric or solver.
    RoutingError
        The solver found no feasible plan within ``time_limit``.

    Examples
    --------
    >>> import pandas as pd
    >>> stops = pd.DataFrame({"x": [1.0, 2.0], "y": [0.0, 0.0], "demand": [1.0, 1.0]})
    >>> plan_routes(stops, (0.0, 0.0), vehicles=1, capacity=2.0, time_limit=0.1).distance
    4.0
    """
    panel.check_frame(stops, "stops", dask=False)
    cols = panel.as_list(coord_cols, "coord_cols")
    if len(cols) != 2:
        raise DataValidationError.for_parameter("coord_cols", "must name two columns", coord_cols)
    metric = panel.check_choice("metric", metric, METRICS)
    solver = panel.check_choice("solver", solver, SOLVERS)
    time_limit = panel.check_number("time_limit", time_limit, 0.0, low_open=True)
    capacity = panel.check_number("capacity", capacity, 0.0, low_open=True)
    purpose = "to plan routes"
    panel.require_columns(stops, [*cols, demand_col, *([id_col] if id_col else [])], purpose)
    panel.require_not_empty(stops, purpose)
    panel.require_numeric(stops, [*cols, demand_col], purpose)
    shown = [id_col] if id_col else []
    panel.require_finite(stops, cols, shown, allow_nan=False, purpose=purpose)
    require_non_negative(stops, [demand_col], shown, purpose)
    host = backend.to_host(stops)
    demand = host[demand_col].to_numpy(dtype="float64")
    heavy = np.flatnonzero(demand > capacity)
    if heavy.size:
        panel.fail(demand_col, f"stops heavier than any vehicle's capacity {capacity:g}", int(heavy.size),
                   panel.examples(host, heavy, shown))
    n = len(host)
    n_vehicles = n if vehicles is None else panel.check_int("vehicles", vehicles, minimum=1)
    if demand.sum() > n_vehicles * capacity:
        panel.fail(demand_col, f"total demand {demand.sum():g} exceeds the fleet's capacity "
                               f"{n_vehicles} x {capacity:g}", n)
    try:
        depot_xy = np.asarray(depot, dtype=float).reshape(-1)
    except (TypeError, ValueError):
        depot_xy = np.empty(0)
    if depot_xy.shape != (2,) or not np.isfinite(depot_xy).all():
        raise DataValidationError.for_parameter("depot", "needs two finite coordinates", depot)
    points = np.vstack([depot_xy, host[cols].to_numpy(dtype="float64")])
    dist = _distance_matrix(points, metric)
    loads, cap = _integer_loads(demand, capacity)
    use_cuopt = solver == "cuopt" or (solver == "auto" and _cuopt_usable())
    if use_cuopt:
        sequences = _solve_cuopt(dist, loads, cap, n_vehicles, time_limit)
    else:
        sequences = _solve_pyvrp(dist, loads, cap, n_vehicles, time_limit, seed)
    routes, fleet = _assemble(host, sequences, dist, demand, capacity, cols, id_col)
    return RoutePlan(routes=panel.from_host(stops, routes), vehicles=panel.from_host(stops, fleet),
                     distance=float(fleet["distance"].sum()), solver="cuopt" if use_cuopt else "pyvrp")


def _assemble(host: Any, sequences: list[list[int]], dist: np.ndarray, demand: np.ndarray, capacity: float,
              cols: list[str], id_col: str | None) -> tuple[Any, Any]:
    """The visits and the per-vehicle summary of a plan, as pandas frames."""
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
    return routes, vehicles
