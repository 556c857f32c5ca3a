"""Policy simulation: (s,S), (R,S), base-stock and learned order tables, lost sales or backorders.

:func:`simulate_policy` validates its inputs -- arrays, or a long demand panel with a table of
per-series parameters -- and runs the array kernel of :mod:`~toolkit.decisions.inventory.kernel`
for all series at once. A Dask demand panel is simulated per series partition, lazily.

Non-finite values are refused: demand, policy levels, lead times, review periods, costs and
starting stock must be finite numbers (an error names the column or parameter and a few
series), since one NaN day would make every later stock level and cost of its series NaN.

Examples
--------
>>> import numpy as np
>>> from toolkit.decisions.inventory import simulate_policy
>>> kpi = simulate_policy(np.array([[3.0, 3.0, 3.0, 3.0]]), "base_stock", {"S": 6.0}, lead_time=1)
>>> float(kpi["fill_rate"][0]), float(kpi["orders_placed"][0])
(1.0, 3.0)
"""

from __future__ import annotations

from typing import Any, Mapping, Sequence

from toolkit import panel
from toolkit.errors import DataValidationError
from toolkit.decisions.inventory.inputs import (
    INVENTORY_ID_COLS,
    SeriesInputs,
    dense_panel,
    is_frame,
    namespace_of,
    per_series_value,
)
from toolkit.decisions.inventory.kernel import KPIS, POLICIES, simulate_arrays

__all__ = ["simulate_policy", "checked_simulation", "POLICY_PARAMS", "PATHS"]

POLICY_PARAMS = {"base_stock": ("S",), "RS": ("S",), "sS": ("s", "S"), "table": ("table", "bin_width")}
"""The parameters each policy needs."""
PATHS = ("on_hand", "order", "served", "unmet")
COSTS = ("holding_cost", "shortage_cost", "ordering_cost")


def _policy_params(checks: SeriesInputs, policy: str, params: Mapping[str, Any], n: int) -> dict[str, Any]:
    out = {}
    for name in POLICY_PARAMS[policy]:
        if name not in params:
            raise DataValidationError.for_parameter(name, f"policy {policy!r} needs parameter {name!r} in params")
        if name == "table":
            value = checks.floats(name, params[name])
            if value.ndim != 2 or value.shape[0] != n:
                raise DataValidationError.for_parameter("table", f"expected shape ({n}, n_states), got "
                                                                 f"{tuple(value.shape)}")
            out[name] = checks.check(name, value, low=0.0)
        else:
            out[name] = checks.check(name, checks.floats(name, params[name], n), low=0.0,
                                     open_low=name == "bin_width")
    if policy == "sS":
        checks.refuse("S", out["S"] < out["s"], "order-up-to levels S below the reorder point s")
    return out


def checked_simulation(checks: SeriesInputs, demand: Any, policy: str, params: Mapping[str, Any], lead_time: Any,
                       review_period: Any, holding_cost: Any, shortage_cost: Any, ordering_cost: Any,
                       backorders: bool, initial_on_hand: Any, return_paths: bool) -> dict[str, Any]:
    """Check every input of a simulation on ``(n, T)`` ``demand`` (naming it), then run the kernel."""
    xp = checks.xp
    if demand.ndim != 2:
        raise DataValidationError.for_parameter("demand", f"expected a 2-D (series, days) array, got "
                                                          f"{demand.ndim}-D")
    n = demand.shape[0]
    checks.check("demand", demand, low=0.0)
    policy_values = _policy_params(checks, policy, params, n)
    lead = checks.whole_days("lead_time", checks.floats("lead_time", lead_time, n), 0)
    review = checks.whole_days("review_period", checks.floats("review_period", 1 if policy == "base_stock"
                                                              else review_period, n), 1)
    costs = {name: checks.check(name, checks.floats(name, value, n), low=0.0)
             for name, value in zip(COSTS, (holding_cost, shortage_cost, ordering_cost))}
    if initial_on_hand is None:
        if "S" not in policy_values:
            raise DataValidationError.for_parameter("initial_on_hand", f"required for policy {policy!r} (no "
                                                                       "order-up-to level to start from)")
        start = policy_values["S"]
    else:
        start = checks.check("initial_on_hand", checks.floats("initial_on_hand", initial_on_hand, n), low=0.0)
    return simulate_arrays(xp, demand, policy, policy_values, lead, review, start, bool(backorders),
                           costs["holding_cost"], costs["shortage_cost"], costs["ordering_cost"], return_paths)


def simulate_policy(
    demand: Any,
    policy: str,
    params: Any,
    lead_time: Any,
    *,
    review_period: Any = 1,
    holding_cost: Any = 1.0,
    shortage_cost: Any = 0.0,
    ordering_cost: Any = 0.0,
    backorders: bool = False,
    initial_on_hand: Any = None,
    return_paths: bool = False,
    id_cols: str | Sequence[str] = INVENTORY_ID_COLS,
    time_col: str = "date",
    target_col: str = "units",
) -> Any:
    """Simulate an inventory policy day by day over a demand path, for all series at once.

    Each day: receive arrivals, review (every ``review_period`` days) and order, meet demand
    (lost sales, or backorders), charge costs. See :mod:`toolkit.decisions.inventory.kernel`
    for the definitions of the KPIs and costs.

    Parameters
    ----------
    demand : array or frame
        ``(n, T)`` daily demand, or a long panel (``id_cols``, ``time_col``, ``target_col``;
        pandas, cuDF or Dask) where every series covers the same days. Finite and >= 0.
    policy : {"base_stock", "RS", "sS", "table"}
        ``base_stock``: daily review, order up to ``S``. ``RS``: every ``review_period`` days
        order up to ``S``. ``sS``: at each review, when the inventory position is at or below
        ``s`` order up to ``S``. ``table``: order ``table[i, bin]`` where ``bin`` is the inventory
        position divided by ``bin_width`` (what :class:`QLearningReplenisher` learns; arrays only).
    params : dict or frame
        Policy parameters (``S``; ``s`` and ``S``; ``table`` and ``bin_width``), scalars or per
        series. With a demand frame, an in-memory frame keyed by ``id_cols`` whose columns carry
        them (and any other per-series argument given by column name).
    lead_time : int, array or str
        Whole days >= 0 from order to arrival, per series.
    review_period : int, array or str
        Whole days >= 1 between reviews for ``RS`` and ``sS`` (``base_stock`` reviews daily).
    holding_cost, shortage_cost, ordering_cost : float, array or str
        Per unit on hand per day; per unit lost (or backordered per day); per order. >= 0.
    backorders : bool
        Unmet demand waits for stock (True) or is lost (False, default).
    initial_on_hand : float, array or str, optional
        Stock on day 0 (default ``S``), nothing on order.
    return_paths : bool
        Also return daily ``on_hand``, ``order``, ``served`` and ``unmet`` paths (in-memory
        input only: the paths are as large as the demand).
    id_cols, time_col, target_col : str
        Frame column names (``id_cols`` defaults to :data:`INVENTORY_ID_COLS`).

    Returns
    -------
    dict of arrays or frame
        Arrays: ``{kpi: (n,) array}`` for :data:`KPIS` (plus ``*_path`` ``(n, T)`` arrays).
        Frame: one row per series (in key order) with ``id_cols`` and the KPIs (lazy for
        Dask); with ``return_paths`` a tuple ``(kpis, paths)`` where ``paths`` is the demand
        panel's keys and dates sorted by series and date, with the four path columns.

    Raises
    ------
    DataValidationError
        An unknown policy or missing policy parameter; non-frame, non-array input; NaN,
        infinite or negative demand; bad levels, lead times, review periods or costs (naming
        the column or parameter and a few series); series covering different days.

    Examples
    --------
    >>> import numpy as np
    >>> from toolkit.decisions.inventory import simulate_policy
    >>> demand = np.array([[3.0, 3.0, 3.0, 3.0]])
    >>> kpi = simulate_policy(demand, "base_stock", {"S": 6.0}, lead_time=1)
    >>> float(kpi["fill_rate"][0]), float(kpi["orders_placed"][0])
    (1.0, 3.0)
    """
    policy = panel.check_choice("policy", policy, POLICIES)
    if not is_frame(demand):
        if not isinstance(params, Mapping):
            raise DataValidationError.for_parameter("params", "expected a dict of policy parameters with array "
                                                              "demand", type(params).__name__)
        xp = namespace_of(demand, lead_time, review_period, *params.values())
        checks = SeriesInputs(xp)
        return checked_simulation(checks, checks.floats("demand", demand), policy, params, lead_time, review_period,
                                  holding_cost, shortage_cost, ordering_cost, backorders, initial_on_hand,
                                  return_paths)
    if policy == "table":
        raise DataValidationError.for_parameter("policy", "'table' takes arrays; use QLearningReplenisher.simulate "
                                                          "or pass arrays", policy)
    panel.check_frame(demand, "demand", dask=not return_paths)
    if is_frame(params):
        panel.check_frame(params, "params", dask=False)
    elif not isinstance(params, Mapping):
        raise DataValidationError.for_parameter("params", "expected a dict or a frame of policy parameters",
                                                type(params).__name__)
    ids = panel.as_list(id_cols)
    panel.require_columns(demand, [*ids, time_col, target_col], "in the demand panel")
    panel.require_numeric(demand, [target_col], "in the demand panel")
    panel.require_not_empty(demand, "to simulate")
    return panel.per_series(demand, _simulate_frame, ids, time_col, policy=policy, params=params,
                            lead_time=lead_time, review_period=review_period, holding_cost=holding_cost,
                            shortage_cost=shortage_cost, ordering_cost=ordering_cost, backorders=backorders,
                            initial_on_hand=initial_on_hand, return_paths=return_paths, ids=ids,
                            date_col=time_col, target_col=target_col)


def _simulate_frame(demand: Any, policy: str, params: Any, lead_time: Any, review_period: Any, holding_cost: Any,
                    shortage_cost: Any, ordering_cost: Any, backorders: bool, initial_on_hand: Any,
                    return_paths: bool, ids: list, date_col: str, target_col: str) -> Any:
    dense = dense_panel(demand, ids, date_col, target_col, complete=True, what="demand")
    xp = dense.layout.xp
    if dense.layout.n_series == 0:  # an empty Dask partition (or the description of the output)
        return panel.assign(dense.keys, {k: xp.zeros(0, dtype=xp.float64) for k in KPIS})
    table = params if is_frame(params) else None
    columns = {"demand": target_col}
    if table is not None:
        policy_values = {name: per_series_value(name, table, dense, ids, "params")
                         for name in POLICY_PARAMS[policy] if name in table.columns}
        columns.update({name: name for name in policy_values})
    else:
        policy_values = dict(params)
    args = {}
    for name, value in (("lead_time", lead_time), ("review_period", review_period), ("holding_cost", holding_cost),
                        ("shortage_cost", shortage_cost), ("ordering_cost", ordering_cost),
                        ("initial_on_hand", initial_on_hand)):
        args[name] = per_series_value(value, table, dense, ids, "params")
        if isinstance(value, str):
            columns[name] = value
    checks = SeriesInputs(xp, dense.keys, ids, columns)
    out = checked_simulation(checks, dense.values, policy, policy_values, args["lead_time"], args["review_period"],
                             args["holding_cost"], args["shortage_cost"], args["ordering_cost"], backorders,
                             args["initial_on_hand"], return_paths)
    kpis = panel.assign(dense.keys, {k: out[k] for k in KPIS})
    if not return_paths:
        return kpis
    layout = dense.layout
    rows = layout.input_rows(xp.arange(layout.n, dtype=xp.int64))
    paths = panel.take(demand[[*ids, date_col]], rows).reset_index(drop=True)
    return kpis, panel.assign(paths, {k: xp.reshape(out[f"{k}_path"], (-1,)) for k in PATHS})
