"""Execute the logistics notebook small and check what it recorded against the data itself."""

from __future__ import annotations

from pathlib import Path

import pytest

from toolkit.datasets import make_retail

NOTEBOOK = Path(__file__).resolve().parents[2] / "notebooks" / "03_logistics_delivery.ipynb"
pytestmark = pytest.mark.notebooks
PARAMS = {"SCALE": 0.1, "SEED": 1, "N_DAYS": 365, "N_LOCATIONS": 4, "BACKEND": "cpu", "DATA_DIR": "none",
          "ROUTE_SECONDS": 1.0, "VEHICLE_KG": 40.0, "ROUTE_ZONES": [1, 2]}


def test_logistics_notebook(notebook_run):
    run = notebook_run(NOTEBOOK.name, PARAMS)
    rec = run.records
    assert run.html.exists() and "Report provenance" in run.html.read_text()
    data = make_retail(n_skus=20, n_locations=4, n_days=365, seed=1, progress=False)
    ship = data.shipments
    assert rec["n_shipments"] == ship["shipment_id"].nunique() == len(ship)
    assert rec["late_rate"] == pytest.approx((ship["actual_days"] > ship["promised_days"]).mean())
    # the model beats "it takes what was promised", and its late risk ranks and is calibrated
    assert rec["delivery_mae"] < rec["delivery_mae_promised"]
    assert rec["late_auc"] > 0.75 and rec["late_calibration_error"] < 0.08
    # lane incidents are real injected delays
    assert rec["lane_incidents"] >= 1 and rec["lane_incident_precision"] >= 0.5 and rec["lane_pr_auc"] > 0.6
    # the zone forecast beats seasonal naive and its 90% bound covers most days
    assert rec["zone_wape"] < rec["zone_wape_naive"] and rec["zone_q90_coverage"] > 0.7
    # every parcel of the day to zones 1-2 that fits a van is routed once, no van over capacity
    last = ship[(ship["ship_date"] == ship["ship_date"].max()) & ship["zone"].isin([1, 2])
                & (ship["weight_kg"] <= PARAMS["VEHICLE_KG"])]
    assert rec["route_stops"] == len(last)
    assert 0 < rec["route_utilisation"] <= 1 and rec["route_vehicles"] >= 1 and rec["route_distance_km"] > 0
    # the explorer, driven from code to the strongest incident, shows a day slower than the lane's usual
    assert rec["explorer_day_delay"] > rec["explorer_lane_delay"]
