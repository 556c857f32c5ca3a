"""Inventory decisions: from forecasts and their errors to stock levels, orders and their cost.

Every function works on thousands of sku x warehouse series at once through the array
namespace (NumPy or CuPy): arrays in, arrays out; a frame in, the same kind of frame out
(pandas, cuDF, or a lazy Dask frame for the row-wise and per-series functions). Frames are
keyed by :data:`INVENTORY_ID_COLS` (``("sku", "warehouse")``) unless ``id_cols`` says otherwise.

One module per concern:

* :mod:`~toolkit.decisions.inventory.inputs` -- numbers, arrays and long panels in, checked
  per-series arrays out (the frame plumbing, on :mod:`toolkit.panel`);
* :mod:`~toolkit.decisions.inventory.leadtime` -- :func:`lead_time_demand`: mean, spread and
  quantile of demand over lead time + review period;
* :mod:`~toolkit.decisions.inventory.formulas` -- :func:`safety_stock`, :func:`reorder_point`
  (cycle-service-level or fill-rate target, always named), :func:`eoq`,
  :func:`newsvendor_quantity`, :func:`standard_normal_loss`;
* :mod:`~toolkit.decisions.inventory.kernel` -- the pure array kernel stepping (s,S), (R,S),
  base-stock and table policies day by day, lost sales or backorders;
* :mod:`~toolkit.decisions.inventory.simulation` -- :func:`simulate_policy` (checks and frames
  around the kernel);
* :mod:`~toolkit.decisions.inventory.qlearning` -- :class:`QLearningReplenisher`;
* :mod:`~toolkit.decisions.inventory.comparison` -- :func:`compare_policies` (Q-learning always
  next to the tuned base-stock policy) and :func:`service_cost_frontier`.

Bad input is refused before any work with :class:`~toolkit.errors.DataValidationError` naming
the column (frame input) or parameter, and a few series keys; every function documents how it
treats NaN and infinity (errors: NaN is a missing day; everything else must be finite).

Examples
--------
>>> from toolkit.decisions import inventory as inv
>>> round(inv.eoq(demand=1300, ordering_cost=8, holding_cost=0.225), 2)
304.05
"""

from toolkit.decisions.inventory.comparison import compare_policies, service_cost_frontier
from toolkit.decisions.inventory.formulas import (
    eoq,
    newsvendor_quantity,
    reorder_point,
    safety_stock,
    standard_normal_loss,
)
from toolkit.decisions.inventory.inputs import INVENTORY_ID_COLS
from toolkit.decisions.inventory.kernel import KPIS, POLICIES
from toolkit.decisions.inventory.leadtime import LeadTimeDemand, lead_time_demand
from toolkit.decisions.inventory.qlearning import QLearningReplenisher
from toolkit.decisions.inventory.simulation import simulate_policy

__all__ = [
    "INVENTORY_ID_COLS",
    "LeadTimeDemand",
    "lead_time_demand",
    "standard_normal_loss",
    "safety_stock",
    "reorder_point",
    "eoq",
    "newsvendor_quantity",
    "simulate_policy",
    "QLearningReplenisher",
    "compare_policies",
    "service_cost_frontier",
    "KPIS",
    "POLICIES",
]
