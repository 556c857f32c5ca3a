"""Lanes and zones: which carrier lanes are delayed now, and how many parcels each zone will ship.

Design choices (where the issue is silent)
------------------------------------------
* **Lane delays on residuals.** :func:`lane_delays` feeds ``actual - expected`` days to
  :func:`toolkit.anomaly.carrier_delays` instead of ``actual - promised``: weekday and volume
  effects the delivery-time model explains no longer look like incidents, so per-lane
  thresholds are tighter.
* **Every zone on every day.** :func:`zone_volumes` counts parcels per zone and day, with a
  zero for a day a zone shipped nothing (a forecaster needs the regular daily grid). Weights
  must be finite and >= 0 and zones and dates present: a parcel is never dropped from the
  count silently.
* **In-memory frames.** These functions take pandas or cuDF frames; compute a Dask frame first.

Examples
--------
>>> import pandas as pd
>>> from toolkit.decisions.logistics import zone_volumes
>>> s = pd.DataFrame({"zone": [1, 1, 2], "weight_kg": [1.0, 2.0, 4.0],
...                   "ship_date": pd.to_datetime(["2024-01-01", "2024-01-01", "2024-01-02"])})
>>> zone_volumes(s)["parcels"].tolist()
[2.0, 0.0, 0.0, 1.0]
"""

from __future__ import annotations

import dataclasses
from typing import Any, Sequence

from toolkit import panel
from toolkit.decisions.checks import require_non_negative
from toolkit.decisions.logistics.delivery import DeliveryTimeModel
from toolkit.errors import DataValidationError
from toolkit.panel import frames

__all__ = ["LaneDelays", "lane_delays", "zone_volumes", "zone_demand_forecast"]


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
        With ``actual_days`` (finite, >= 0) and the delivery features' inputs.
    model : DeliveryTimeModel, optional
        Fitted model giving the expected days (default: one fitted on ``shipments``).
    id_cols : default ("carrier", "zone")
    time_col : default "ship_date"
    k : float
        Robust z cut-off (> 0).
    min_shipments : int
        Lane-days with fewer shipments are never flagged.
    min_hits : int
        Flagged days an incident needs.
    window : float
        Flagged days at most this many days apart join one incident.

    Returns
    -------
    LaneDelays

    Raises
    ------
    sklearn.exceptions.NotFittedError
        ``model`` is given but not fitted.
    DataValidationError
        Non-frame or Dask input, missing columns, bad values (see :class:`DeliveryTimeModel`).

    Examples
    --------
    >>> from toolkit.datasets import make_retail
    >>> data = make_retail(n_skus=20, n_locations=3, n_days=120, progress=False)
    >>> found = lane_delays(data.shipments)
    >>> {"first_seen", "last_seen", "n_hits"} <= set(found.incidents.columns)
    True
    """
    from toolkit.anomaly import alarms, carrier_delays

    panel.check_frame(shipments, "shipments", dask=False)
    keys = panel.as_list(id_cols)
    k = panel.check_number("k", k, 0.0, low_open=True)
    if model is not None and not isinstance(model, DeliveryTimeModel):
        raise DataValidationError.for_parameter("model", "expected a DeliveryTimeModel", type(model).__name__)
    purpose = "for lane delays"
    panel.require_columns(shipments, [*keys, time_col, "actual_days"], purpose)
    panel.require_numeric(shipments, ["actual_days"], purpose)
    require_non_negative(shipments, ["actual_days"], [c for c in ("shipment_id",) if c in shipments.columns],
                         purpose)
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
        ``zone_col``, ``time_col`` and ``weight_kg`` (finite, >= 0); zones and dates present.

    Returns
    -------
    frame
        ``zone``, ``date``, ``parcels`` (float64) and ``weight_kg``, sorted by zone and date;
        ``parcels`` sums to the number of shipments.

    Examples
    --------
    >>> import pandas as pd
    >>> s = pd.DataFrame({"zone": [1, 1, 2], "weight_kg": [1.0, 2.0, 4.0],
    ...                   "ship_date": pd.to_datetime(["2024-01-01", "2024-01-01", "2024-01-02"])})
    >>> zone_volumes(s)["parcels"].tolist()
    [2.0, 0.0, 0.0, 1.0]
    """
    panel.check_frame(shipments, "shipments", dask=False)
    purpose = "for zone volumes"
    panel.require_columns(shipments, [zone_col, time_col, "weight_kg"], purpose)
    panel.require_not_empty(shipments, purpose)
    panel.require_datetime(shipments, time_col)
    panel.require_numeric(shipments, ["weight_kg"], purpose)
    shown = [c for c in ("shipment_id",) if c in shipments.columns]
    panel.require_not_null(shipments, [zone_col, time_col], shown, purpose)
    require_non_negative(shipments, ["weight_kg"], shown, purpose)
    lib = frames.ops(shipments).module
    day = shipments[time_col].dt.floor("D")
    frame = lib.DataFrame({"zone": shipments[zone_col], "date": day,
                           "weight_kg": shipments["weight_kg"].astype("float64")})
    daily = frame.groupby(["zone", "date"]).agg(parcels=("weight_kg", "count"), weight_kg=("weight_kg", "sum"))
    daily = daily.reset_index()
    zones = daily[["zone"]].drop_duplicates()
    dates = lib.DataFrame({"date": lib.date_range(day.min(), day.max(), freq="D")})
    dates["date"] = dates["date"].astype(day.dtype)
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
        As for :func:`zone_volumes`.
    horizon : int
        Days ahead (>= 1).
    forecaster : Forecaster or baseline, optional
        Default: :class:`toolkit.forecast.Forecaster` with a linear model on weekly lags
        (7, 14), rolling means (7, 28 days) and weekly Fourier terms, one global model for all
        zones.
    parcels_per_vehicle : float, optional
        Adds ``vehicles = ceil(forecast / parcels_per_vehicle)`` (on the upper quantile when
        ``quantiles`` are given, so the fleet covers a high day); > 0.
    quantiles : list of float, optional
        Conformal quantiles in (0, 1) (the default forecaster calibrates on 3 windows when given).

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

    horizon = panel.check_int("horizon", horizon, minimum=1)
    if parcels_per_vehicle is not None:
        parcels_per_vehicle = panel.check_number("parcels_per_vehicle", parcels_per_vehicle, 0.0, low_open=True)
    if quantiles is not None:
        quantiles = [panel.check_number("quantiles", q, 0.0, 1.0, low_open=True, high_open=True)
                     for q in (quantiles if isinstance(quantiles, (list, tuple)) else [quantiles])]
        if not quantiles:
            quantiles = None
    volumes = zone_volumes(shipments, time_col=time_col)
    if forecaster is None:
        spec = FeatureSpec(lags=(7, 14), rolling={7: ("mean",), 28: ("mean",)}, calendar=(), fourier=((7, 3),),
                           target_col="parcels", id_cols=("zone",), time_col="date")
        forecaster = Forecaster(LinearRegression(), spec, horizon=horizon,
                                calibration_windows=3 if quantiles else 0)
    forecaster.fit(volumes, id_cols="zone", time_col="date", target_col="parcels", stockout_col=None)
    out = forecaster.predict(horizon, quantiles=quantiles)
    if parcels_per_vehicle is not None:
        basis = panel.values(out, f"q{max(quantiles)}" if quantiles else "forecast")
        xp = panel.namespace(out)
        out = panel.assign(out, {"vehicles": xp.astype(xp.ceil(xp.clip(basis, 0, None) / parcels_per_vehicle),
                                                       xp.int64)})
    return out
