"""Delivery decisions: delivery-time model and late risk, lane delays, zone volumes, routes.

The logistics use case turns shipments into four decisions: how long a parcel will take
(:class:`DeliveryTimeModel`), which parcels will miss their promised date (:func:`late_risk`,
judged by :func:`evaluate_late_risk`), which carrier lanes are delayed now
(:func:`lane_delays`), how many parcels each zone will ship (:func:`zone_demand_forecast`) and
how one day's deliveries are routed (:func:`plan_routes`). One module per concern:

* :mod:`~toolkit.decisions.logistics.delivery` -- delivery features, the delivery-time model,
  late risk and its evaluation;
* :mod:`~toolkit.decisions.logistics.lanes` -- lane delays and zone volumes and forecasts;
* :mod:`~toolkit.decisions.logistics.routes` -- the capacitated vehicle-routing plan.

Every function takes in-memory pandas or cuDF frames (compute a Dask frame first) and refuses
bad input with a :class:`~toolkit.errors.DataValidationError` naming the column or parameter.

Examples
--------
>>> import pandas as pd
>>> from toolkit.decisions import logistics as lg
>>> s = pd.DataFrame({"zone": [1, 2], "weight_kg": [1.0, 4.0], "ship_date": pd.to_datetime(["2024-01-01"] * 2)})
>>> lg.zone_volumes(s)["parcels"].tolist()
[1.0, 1.0]
"""

from toolkit.decisions.logistics.delivery import (
    DeliveryTimeModel,
    delivery_features,
    evaluate_late_risk,
    late_risk,
)
from toolkit.decisions.logistics.lanes import LaneDelays, lane_delays, zone_demand_forecast, zone_volumes
from toolkit.decisions.logistics.routes import DISTANCE_SCALE, RoutePlan, RoutingError, plan_routes

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
