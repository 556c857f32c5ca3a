"""Tests of toolkit.decisions.logistics against independent references.

Routing is checked on the public CVRPLIB instance E-n22-k4 (optimal cost 375, read with the
``vrplib`` parser) and on a tiny instance solved by brute force; distances are recomputed with
scipy / scikit-learn; the delivery-time model is compared with scikit-learn's OLS on
``pandas.get_dummies``; late risk with the closed-form normal probability.
"""

from __future__ import annotations

import itertools
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy.spatial.distance import cdist
from scipy.stats import norm

from tests.fixture_scope import module_unless_mutating
from toolkit.datasets import make_retail
from toolkit.decisions.logistics import (
    DeliveryTimeModel,
    RoutingError,
    delivery_features,
    evaluate_late_risk,
    late_risk,
    plan_routes,
)
from toolkit.errors import DataValidationError

DATA = Path(__file__).resolve().parents[1] / "data"


# --------------------------------------------------------------------------- routing


@pytest.fixture(scope="module")
def e_n22_k4():
    vrplib = pytest.importorskip("vrplib")
    inst = vrplib.read_instance(str(DATA / "E-n22-k4.vrp"))
    coords = np.asarray(inst["node_coord"], dtype=float)
    demand = np.asarray(inst["demand"], dtype=float)
    stops = pd.DataFrame({"x": coords[1:, 0], "y": coords[1:, 1], "demand": demand[1:],
                          "customer": np.arange(2, len(coords) + 1)})
    return stops, tuple(coords[0]), float(inst["capacity"])


def _route_lengths(routes: pd.DataFrame, depot, cols=("x", "y"), metric=None) -> dict:
    out = {}
    for vehicle, visits in routes.sort_values(["vehicle", "sequence"]).groupby("vehicle"):
        pts = np.vstack([depot, visits[list(cols)].to_numpy(), depot])
        if metric is None:
            out[vehicle] = float(np.sum(np.diag(cdist(pts[:-1], pts[1:]))))
        else:
            out[vehicle] = float(np.sum(np.diag(metric(pts[:-1], pts[1:]))))
    return out


def test_e_n22_k4_within_one_percent_of_optimal(e_n22_k4):
    stops, depot, capacity = e_n22_k4
    start = time.perf_counter()
    plan = plan_routes(stops, depot, vehicles=4, capacity=capacity, time_limit=1.0, id_col="customer")
    assert time.perf_counter() - start < 10
    assert plan.distance <= 375 * 1.01
    routes = plan.routes
    # every customer exactly once
    assert sorted(routes["stop"].tolist()) == stops["customer"].tolist()
    # no vehicle over capacity, loads recomputed from the instance's demands
    demand = stops.set_index("customer")["demand"]
    loads = routes.assign(d=routes["stop"].map(demand)).groupby("vehicle")["d"].sum()
    assert (loads <= capacity).all() and len(loads) <= 4
    np.testing.assert_allclose(plan.vehicles.set_index("vehicle")["load"].sort_index(), loads.sort_index())
    # reported distances are the geometry of the visiting order
    lengths = _route_lengths(routes, depot)
    np.testing.assert_allclose(plan.vehicles.set_index("vehicle")["distance"].sort_index(),
                               pd.Series(lengths).sort_index(), rtol=1e-9)
    assert plan.distance == pytest.approx(sum(lengths.values()))


def _brute_force_cvrp(points: np.ndarray, demand: np.ndarray, capacity: float) -> float:
    """Optimal CVRP cost by enumerating set partitions and the best tour of each part."""
    n = len(demand)
    dist = cdist(points, points)

    def tour(part):
        best = np.inf
        for perm in itertools.permutations(part):
            path = [0, *[p + 1 for p in perm], 0]
            best = min(best, sum(dist[a, b] for a, b in zip(path[:-1], path[1:])))
        return best

    def partitions(items):
        if not items:
            yield []
            return
        first, rest = items[0], items[1:]
        for sub in partitions(rest):
            for i in range(len(sub)):
                yield sub[:i] + [[first, *sub[i]]] + sub[i + 1:]
            yield [[first], *sub]

    best = np.inf
    for parts in partitions(list(range(n))):
        if all(demand[p].sum() <= capacity for p in parts):
            best = min(best, sum(tour(p) for p in parts))
    return best


def test_small_instance_matches_brute_force():
    rng = np.random.default_rng(4)
    pts = rng.uniform(0, 100, (7, 2))
    demand = rng.integers(1, 5, 6).astype(float)
    stops = pd.DataFrame({"x": pts[1:, 0], "y": pts[1:, 1], "demand": demand})
    plan = plan_routes(stops, tuple(pts[0]), capacity=7.0, time_limit=0.5)
    assert plan.distance == pytest.approx(_brute_force_cvrp(pts, demand, 7.0), rel=1e-3)


def test_haversine_distances_match_scikit_learn():
    from sklearn.metrics.pairwise import haversine_distances

    stops = pd.DataFrame({"lat": [40.0, 40.5, 41.0, 40.2], "lon": [-74.0, -73.5, -74.2, -74.8],
                          "demand": [1.5, 2.25, 0.5, 1.0]})
    depot = (40.3, -74.1)
    plan = plan_routes(stops, depot, capacity=3.0, coord_cols=("lat", "lon"), metric="haversine", time_limit=0.3)

    def km(a, b):
        return haversine_distances(np.deg2rad(a), np.deg2rad(b)) * 6371.0088

    lengths = _route_lengths(plan.routes, depot, ("lat", "lon"), km)
    assert plan.distance == pytest.approx(sum(lengths.values()), rel=1e-9)
    assert (plan.vehicles["load"] <= 3.0).all()
    assert sorted(plan.routes["stop"]) == [0, 1, 2, 3]


@pytest.mark.parametrize(
    "kwargs, column",
    [
        ({"capacity": 0}, "capacity"),
        ({"capacity": -5}, "capacity"),
        ({"capacity": 2.0}, "demand"),  # stop 2 weighs 3 > capacity
        ({"capacity": 3.0, "vehicles": 1}, "demand"),  # total 6 > 1 x 3
        ({"capacity": 5.0, "time_limit": 0}, "time_limit"),
        ({"capacity": 5.0, "vehicles": 0}, "vehicles"),
    ],
)
def test_bad_routing_arguments_raise_before_solving(kwargs, column):
    stops = pd.DataFrame({"x": [1.0, 2.0, 3.0], "y": [0.0, 1.0, 0.0], "demand": [1.0, 2.0, 3.0], "id": ["a", "b", "c"]})
    with pytest.raises(DataValidationError, match=column) as err:
        plan_routes(stops, (0.0, 0.0), id_col="id", **{"time_limit": 0.1, **kwargs})
    assert column in (err.value.column, err.value.parameter)
    if kwargs == {"capacity": 2.0}:
        assert "'c'" in str(err.value) and "1 offending rows" in str(err.value)


@pytest.mark.parametrize("column, value", [("demand", -1.0), ("demand", np.nan), ("x", np.inf)])
def test_bad_stop_values(column, value):
    stops = pd.DataFrame({"x": [1.0, 2.0], "y": [0.0, 1.0], "demand": [1.0, 1.0]})
    stops.loc[1, column] = value
    with pytest.raises(DataValidationError, match=repr(column)):
        plan_routes(stops, (0.0, 0.0), capacity=5.0, time_limit=0.1)


def test_missing_column_and_empty_frame():
    with pytest.raises(DataValidationError, match="'demand'"):
        plan_routes(pd.DataFrame({"x": [1.0], "y": [1.0]}), (0, 0), capacity=1.0)
    with pytest.raises(DataValidationError, match="empty"):
        plan_routes(pd.DataFrame({"x": [], "y": [], "demand": []}), (0, 0), capacity=1.0)


def test_unpackable_fleet_is_a_solver_error_not_a_hang():
    # 3 stops of 3 units, 2 vehicles of 5: total 9 <= 10 but no vehicle can take two stops.
    stops = pd.DataFrame({"x": [10.0, 0.0, 10.0], "y": [0.0, 10.0, 10.0], "demand": [3, 3, 3]})
    start = time.perf_counter()
    with pytest.warns(Warning), pytest.raises(RoutingError, match="no feasible plan"):
        plan_routes(stops, (0.0, 0.0), vehicles=2, capacity=5, time_limit=0.3)
    assert time.perf_counter() - start < 5


# --------------------------------------------------------------------------- delivery time


@pytest.fixture(scope=module_unless_mutating)
def retail():
    return make_retail(n_skus=20, n_locations=4, n_days=240, seed=5, progress=False)


def test_delivery_features_match_pandas_groupby(retail):
    ship = retail.shipments.sample(frac=1.0, random_state=0)  # unsorted input, index kept
    out = delivery_features(ship, volume_keys="warehouse")
    assert out.index.equals(ship.index)
    daily = ship.groupby(["warehouse", "ship_date"], observed=True).size().rename("n").reset_index()
    daily["ratio"] = daily["n"] / daily.groupby("warehouse", observed=True)["n"].transform("mean")
    ref = ship.merge(daily, on=["warehouse", "ship_date"], how="left")
    np.testing.assert_array_equal(out["daily_volume"].to_numpy(), ref["n"].to_numpy())
    np.testing.assert_allclose(out["volume_ratio"].to_numpy(), ref["ratio"].to_numpy())
    np.testing.assert_array_equal(out["weekday"].to_numpy(), ship["ship_date"].dt.weekday.to_numpy())


def test_delivery_features_validation():
    ship = pd.DataFrame({"shipment_id": [7, 8], "carrier": ["A", "B"], "zone": [1, 2],
                         "distance_km": [10.0, -1.0], "weight_kg": [1.0, 1.0],
                         "ship_date": pd.to_datetime(["2024-01-01", "2024-01-02"])})
    with pytest.raises(DataValidationError, match="'distance_km'.*negative.*8"):
        delivery_features(ship)
    with pytest.raises(DataValidationError, match="'weight_kg'"):
        delivery_features(ship.drop(columns="weight_kg"))
    ship.loc[1, "distance_km"] = 5.0
    ship.loc[0, "ship_date"] = pd.NaT
    with pytest.raises(DataValidationError, match="'ship_date'.*missing.*7"):
        delivery_features(ship)


def test_delivery_model_matches_sklearn_ols_on_dummies(retail):
    from sklearn.linear_model import LinearRegression as SkOLS

    ship = retail.shipments
    model = DeliveryTimeModel().fit(ship)
    feats = delivery_features(ship)
    X = pd.get_dummies(feats[["carrier", "zone", "weekday"]].astype(str), drop_first=False, dtype=float)
    X = X.join(feats[["distance_km", "weight_kg", "volume_ratio"]].astype(float))
    ref = SkOLS().fit(X, ship["actual_days"]).predict(X)
    np.testing.assert_allclose(model.predict(ship).to_numpy(), ref, atol=1e-6)
    # The generator's lane effects: zone 8 takes about 7 x 0.45 days longer than zone 1.
    coef = dict(zip(model.feature_names_, model.estimator_.coef_))
    assert coef["zone=8"] == pytest.approx(7 * 0.45, abs=0.5)


def _synthetic_shipments(n: int, seed: int, sigma: float = 0.8) -> tuple[pd.DataFrame, np.ndarray]:
    rng = np.random.default_rng(seed)
    zone = rng.integers(1, 6, n)
    carrier = rng.choice(["A", "B"], n)
    date = pd.Timestamp("2024-01-01") + pd.to_timedelta(rng.integers(0, 60, n), unit="D")
    mean = 1.0 + 0.5 * zone + 0.7 * (carrier == "B")
    actual = np.maximum(np.round(mean + rng.normal(0, sigma, n)), 0)
    promised = 1 + zone // 2 + (carrier == "B")
    frame = pd.DataFrame({"shipment_id": np.arange(n), "carrier": carrier, "zone": zone,
                          "distance_km": rng.uniform(1, 100, n), "weight_kg": rng.uniform(0.1, 5, n),
                          "ship_date": date, "promised_days": promised, "actual_days": actual})
    # P(round(mean + e) > promised) = P(e > promised + 0.5 - mean)  (actual >= 1 here almost surely)
    truth = norm.sf((promised + 0.5 - mean) / sigma)
    return frame, truth


def test_late_risk_matches_closed_form_normal_probability():
    train, _ = _synthetic_shipments(20_000, 0)
    test, truth = _synthetic_shipments(5_000, 1)
    model = DeliveryTimeModel().fit(train)
    risk = late_risk(model, test)
    assert risk.index.equals(test.index)
    assert np.abs(risk.to_numpy() - truth).mean() < 0.02
    late = test["actual_days"] > test["promised_days"]
    ev = evaluate_late_risk(late, risk)
    assert ev["calibration_error"] < 0.03


def test_evaluate_late_risk_against_sklearn_and_pandas():
    from sklearn.metrics import brier_score_loss, roc_auc_score

    rng = np.random.default_rng(2)
    p = rng.uniform(0, 1, 2000)
    y = rng.uniform(0, 1, 2000) < p
    ev = evaluate_late_risk(pd.Series(y), pd.Series(p), n_bins=5)
    assert ev["roc_auc"] == pytest.approx(roc_auc_score(y, p))
    assert ev["brier"] == pytest.approx(brier_score_loss(y, p))
    ref = pd.DataFrame({"p": p, "y": y, "bin": pd.cut(p, np.linspace(0, 1, 6), right=False, include_lowest=True)})
    ref = ref.groupby("bin", observed=True).agg(predicted=("p", "mean"), observed=("y", "mean"), count=("y", "size"))
    np.testing.assert_allclose(ev["calibration"][["predicted", "observed"]].to_numpy(),
                               ref[["predicted", "observed"]].to_numpy())
    with pytest.raises(DataValidationError, match="late"):
        evaluate_late_risk(np.ones(3, bool), np.full(3, 0.5))


def test_late_risk_discriminates_on_generated_data(retail):
    ship = retail.shipments
    cut = ship["ship_date"].quantile(0.7)
    model = DeliveryTimeModel().fit(ship[ship["ship_date"] < cut])
    test = ship[ship["ship_date"] >= cut]
    ev = evaluate_late_risk(test["actual_days"] > test["promised_days"], late_risk(model, test))
    assert ev["roc_auc"] > 0.75
    assert ev["calibration_error"] < 0.08


def test_empirical_late_risk_on_continuous_delays():
    train, _ = _synthetic_shipments(20_000, 3)
    test, _ = _synthetic_shipments(4_000, 4)
    rng = np.random.default_rng(5)
    for frame in (train, test):  # continuous delays with a skewed (exponential) noise
        mean = 1.0 + 0.5 * frame["zone"] + 0.7 * (frame["carrier"] == "B")
        frame["actual_days"] = mean + rng.exponential(1.0, len(frame))
    truth = np.exp(-np.clip(test["promised_days"] - (1.0 + 0.5 * test["zone"] + 0.7 * (test["carrier"] == "B")), 0, None))
    model = DeliveryTimeModel(distribution="empirical").fit(train)
    assert not model.integer_days_
    risk = late_risk(model, test)
    assert np.abs(risk.to_numpy() - truth.to_numpy()).mean() < 0.02
    with pytest.raises(ValueError, match="distribution"):
        DeliveryTimeModel(distribution="gamma").fit(train)


# --------------------------------------------------------------------------- lanes and zones


def test_lane_scores_are_robust_z_of_model_residuals(retail):
    from toolkit.decisions.logistics import lane_delays

    ship = retail.shipments
    model = DeliveryTimeModel().fit(ship)
    found = lane_delays(ship, model=model)
    resid = ship["actual_days"] - model.predict(ship)
    by_lane_day = [ship["carrier"].astype(str), ship["zone"], ship["ship_date"]]
    ref = resid.groupby(by_lane_day, observed=True).agg(["mean", "size"])
    ref["slow"] = (resid > 0).astype(float).where(resid.notna()).groupby(by_lane_day, observed=True).mean()
    med = ref.groupby(level=[0, 1])["mean"].transform("median")
    mad = (ref["mean"] - med).abs().groupby(level=[0, 1]).transform("median") * 1.4826
    ref["z"] = (ref["mean"] - med) / mad
    lanes = found.lanes.set_index([found.lanes["carrier"].astype(str), "zone", "date"])
    got = lanes.loc[ref.index]
    np.testing.assert_allclose(got["mean_residual"], ref["mean"], atol=1e-9)
    np.testing.assert_array_equal(got["n_shipments"], ref["size"])
    assert 0 < ref["slow"].mean() < 1  # lane-days with slow and with quick parcels
    np.testing.assert_allclose(got["slow_share"], ref["slow"], atol=1e-12)
    finite = np.isfinite(ref["z"]) & (mad > 0)
    np.testing.assert_allclose(got["anomaly_score"][finite.to_numpy()], ref["z"][finite], rtol=1e-9)
    flagged = (ref["z"] > 3.5) & (ref["size"] >= 3)
    np.testing.assert_array_equal(got["is_anomaly"].to_numpy(), flagged.to_numpy())


def test_lane_delays_find_injected_incidents():
    from toolkit.anomaly import evaluate
    from toolkit.decisions.logistics import lane_delays

    data = make_retail(n_skus=30, n_locations=4, n_days=365, seed=1, progress=False)
    found = lane_delays(data.shipments)
    metrics = evaluate(data.truth, found.lanes, table="shipments", types=["carrier_delay"])
    assert metrics["roc_auc"] > 0.95 and metrics["pr_auc"] > 0.8
    truth = data.truth[data.truth["type"] == "carrier_delay"]
    for inc in found.incidents.itertuples():  # isolated flags are filtered: every incident is real
        hit = truth[(truth["carrier"] == str(inc.carrier)) & (truth["zone"] == inc.zone)
                    & truth["date"].between(inc.first_seen - pd.Timedelta(days=3), inc.last_seen)]
        assert len(hit) > 0, inc
    lasting = truth.groupby(["carrier", "zone"])["date"].nunique()
    found_lanes = set(zip(found.incidents["carrier"].astype(str), found.incidents["zone"]))
    assert len(found_lanes & set(lasting[lasting >= 2].index)) >= 0.6 * (lasting >= 2).sum()


def test_zone_volumes_match_pandas(retail):
    from toolkit.decisions.logistics import zone_volumes

    ship = retail.shipments
    out = zone_volumes(ship)
    ref = ship.groupby(["zone", "ship_date"]).agg(parcels=("weight_kg", "size"), w=("weight_kg", "sum"))
    days = pd.date_range(ship["ship_date"].min(), ship["ship_date"].max())
    full = pd.MultiIndex.from_product([sorted(ship["zone"].unique()), days])
    ref = ref.reindex(full, fill_value=0)
    np.testing.assert_array_equal(out["parcels"].to_numpy(), ref["parcels"].to_numpy().astype(float))
    np.testing.assert_allclose(out["weight_kg"].to_numpy(), ref["w"].to_numpy(), rtol=1e-5)


def test_zone_forecast_beats_naive_and_sizes_the_fleet():
    from toolkit.decisions.logistics import zone_demand_forecast, zone_volumes
    from toolkit.forecast import SeasonalNaive

    data = make_retail(n_skus=30, n_locations=4, n_days=300, seed=3, progress=False)
    ship = data.shipments
    cut = ship["ship_date"].max() - pd.Timedelta(days=13)
    past = ship[ship["ship_date"] < cut]
    fc = zone_demand_forecast(past, horizon=14, parcels_per_vehicle=25.0, quantiles=[0.9])
    naive = zone_demand_forecast(past, horizon=14, forecaster=SeasonalNaive(season=7, horizon=14))
    actual = zone_volumes(ship)
    m = fc.merge(actual, on=["zone", "date"]).merge(naive[["zone", "date", "forecast"]], on=["zone", "date"],
                                                    suffixes=("", "_naive"))
    assert len(m) == 14 * ship["zone"].nunique()
    wape = (m["forecast"] - m["parcels"]).abs().sum() / m["parcels"].sum()
    wape_naive = (m["forecast_naive"] - m["parcels"]).abs().sum() / m["parcels"].sum()
    assert wape < wape_naive
    np.testing.assert_array_equal(fc["vehicles"], np.ceil(np.clip(fc["q0.9"], 0, None) / 25.0))
    with pytest.raises(DataValidationError, match="parcels_per_vehicle"):
        zone_demand_forecast(past, parcels_per_vehicle=0)


# --------------------------------------------------------------------------- explorer and plots


def test_delivery_explorer_follows_its_controls(retail):
    import matplotlib

    matplotlib.use("Agg")
    from toolkit.decisions.logistics import lane_delays
    from toolkit.widgets import DeliveryExplorer

    ship = retail.shipments
    found = lane_delays(ship)
    depot = (float(ship["lat"].median()), float(ship["lon"].median()))
    explorer = DeliveryExplorer(ship, found, depot, capacity=200.0, time_limit=0.2)
    day = ship["ship_date"].max()
    explorer.controls["carrier"].value = "ParcelCo"
    explorer.controls["zone"].value = 2
    explorer.controls["date"].value = day.strftime("%Y-%m-%d")
    lane = ship[(ship["carrier"] == "ParcelCo") & (ship["zone"] == 2)]
    expect_day = lane.loc[lane["ship_date"] == day, "actual_days"] - lane.loc[lane["ship_date"] == day, "promised_days"]
    assert sorted(explorer.view["day"].tolist()) == sorted(expect_day.astype(int).tolist())
    assert len(explorer.view["history"]) == len(lane)
    stops = ship[(ship["zone"] == 2) & (ship["ship_date"] == day) & (ship["weight_kg"] <= 200.0)]
    assert sorted(explorer.plan.routes["stop"].tolist()) == sorted(stops["shipment_id"].tolist())
    assert (explorer.plan.vehicles["load"] <= 200.0 + 1e-9).all()
    assert all(explorer.view["incidents"]["carrier"].astype(str) == "ParcelCo")


def test_route_and_delay_plots_draw_every_stop(e_n22_k4):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from toolkit import plots

    stops, depot, capacity = e_n22_k4
    plan = plan_routes(stops, depot, vehicles=4, capacity=capacity, time_limit=0.3)
    ax = plots.routes(plan, depot)
    drawn = sum(len(c.get_offsets()) for c in ax.collections)
    assert drawn == len(stops) + 1  # stops and the depot
    assert len(ax.lines) == len(plan.vehicles)
    ax2 = plots.delay_distribution(np.array([0, 1, 1, 2, -1]), highlight=np.array([3, 4]))
    assert ax2.get_xlabel().startswith("days late")
    plt.close("all")


def test_dask_input_gets_a_clear_error():
    import dask.dataframe as dd

    stops = pd.DataFrame({"x": [1.0, 2.0], "y": [0.0, 1.0], "demand": [1.0, 1.0]})
    with pytest.raises(DataValidationError, match="'stops'.*compute"):
        plan_routes(dd.from_pandas(stops, npartitions=2), (0.0, 0.0), capacity=5.0)
