"""Logistics on the GPU: cupy/cudf results equal numpy/pandas results within tolerance."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from toolkit.decisions import logistics as lg

pytestmark = pytest.mark.gpu
cp = pytest.importorskip("cupy")
DATA = Path(__file__).resolve().parents[1] / "data"


def test_normal_tail_cupy_matches_scipy():
    from scipy.stats import norm

    z = np.linspace(-6, 6, 101)
    from toolkit.decisions.logistics.delivery import normal_sf

    dev = normal_sf(cp.asarray(z), cp)
    assert isinstance(dev, cp.ndarray)
    np.testing.assert_allclose(cp.asnumpy(dev), norm.sf(z), rtol=1e-12, atol=1e-15)


def _shipments(n=4000, seed=0):
    rng = np.random.default_rng(seed)
    zone = rng.integers(1, 6, n)
    carrier = rng.choice(["A", "B", "C"], n)
    mean = 1.0 + 0.5 * zone + 0.7 * (carrier == "B")
    return pd.DataFrame({"shipment_id": np.arange(n), "carrier": carrier, "zone": zone,
                         "distance_km": rng.uniform(1, 100, n), "weight_kg": rng.uniform(0.1, 5, n),
                         "ship_date": pd.Timestamp("2024-01-01") + pd.to_timedelta(rng.integers(0, 60, n), unit="D"),
                         "promised_days": 1 + zone // 2, "actual_days": np.round(mean + rng.normal(0, 0.8, n))})


def test_delivery_model_and_late_risk_cudf_match_pandas():
    cudf = pytest.importorskip("cudf", reason="the frame path needs cuDF")
    host = _shipments()
    dev = cudf.from_pandas(host)
    model_h = lg.DeliveryTimeModel().fit(host)
    model_d = lg.DeliveryTimeModel().fit(dev)
    pred = model_d.predict(dev)
    assert type(pred).__module__.startswith("cudf")
    np.testing.assert_allclose(pred.to_numpy(), model_h.predict(host).to_numpy(), rtol=1e-8, atol=1e-8)
    np.testing.assert_allclose(lg.late_risk(model_d, dev).to_numpy(), lg.late_risk(model_h, host).to_numpy(),
                               atol=1e-8)


def test_plan_routes_cudf_in_cudf_out():
    cudf = pytest.importorskip("cudf", reason="the frame path needs cuDF")
    stops = pd.DataFrame({"x": [0.0, 10.0, 0.0, -10.0], "y": [10.0, 0.0, -10.0, 0.0], "demand": [1, 1, 1, 1]})
    host = lg.plan_routes(stops, (0.0, 0.0), vehicles=2, capacity=2, time_limit=0.3, solver="pyvrp")
    dev = lg.plan_routes(cudf.from_pandas(stops), (0.0, 0.0), vehicles=2, capacity=2, time_limit=0.3, solver="pyvrp")
    assert type(dev.routes).__module__.startswith("cudf")
    assert dev.distance == pytest.approx(host.distance)


def test_cuopt_plan_on_e_n22_k4():
    pytest.importorskip("cuopt", reason="cuOpt is optional")
    vrplib = pytest.importorskip("vrplib")
    inst = vrplib.read_instance(str(DATA / "E-n22-k4.vrp"))
    coords, demand = np.asarray(inst["node_coord"], float), np.asarray(inst["demand"], float)
    stops = pd.DataFrame({"x": coords[1:, 0], "y": coords[1:, 1], "demand": demand[1:]})
    plan = lg.plan_routes(stops, tuple(coords[0]), vehicles=4, capacity=float(inst["capacity"]), time_limit=5.0,
                          solver="cuopt")
    assert plan.solver == "cuopt" and plan.distance <= 375 * 1.02
    assert sorted(plan.routes["stop"].tolist()) == list(range(len(stops)))
    assert (plan.vehicles["load"] <= float(inst["capacity"])).all()
