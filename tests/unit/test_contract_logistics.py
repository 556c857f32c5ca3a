"""The input contract of toolkit.decisions.logistics, property-based (issue 12, items 6 and 7).

Generated bad input -- non-frames, a defect injected into valid shipments or stops, bad
parameters, unknown names, predict before fit, reordered or missing columns, unseen levels --
must give a DataValidationError (NotFittedError before fit) naming the column or parameter,
or the documented handling; never an internal error; rows in = rows out. References: pandas
groupby counts and the model's own predictions on the unshuffled frame.
"""

from __future__ import annotations

import dask.dataframe as dd
import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sklearn.exceptions import NotFittedError

from tests.contract import assert_rejects, corrupt, not_frames
from toolkit.decisions import logistics as lg
from toolkit.errors import DataValidationError

SETTINGS = settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
NUMERIC = ["distance_km", "weight_kg"]


def make_shipments(n: int, seed: int, days: int = 7) -> pd.DataFrame:
    """Valid shipments: two carriers, three zones, ``days`` ship dates, in shuffled order."""
    rng = np.random.default_rng(seed)
    zone = np.tile([1, 2, 3], n)[:n]
    frame = pd.DataFrame({
        "shipment_id": np.arange(100, 100 + n),
        "carrier": np.tile(["A", "B"], n)[:n], "zone": zone,
        "distance_km": rng.uniform(1, 80, n), "weight_kg": rng.uniform(0.1, 9, n),
        "ship_date": pd.Timestamp("2024-01-01") + pd.to_timedelta(np.arange(n) % days, unit="D"),
        "promised_days": 1 + zone // 2,
        "actual_days": np.round(1.0 + 0.5 * zone + rng.normal(0, 0.5, n)).clip(0),
    })
    return frame.sample(frac=1.0, random_state=seed).reset_index(drop=True)


def shipments(rows=(12, 40)) -> st.SearchStrategy:
    return st.builds(make_shipments, st.integers(*rows), st.integers(0, 10_000))


@pytest.fixture(scope="module")
def fitted():
    frame = make_shipments(300, 0, days=28)
    return lg.DeliveryTimeModel().fit(frame), frame


# --------------------------------------------------------------------------- frames or not


FRAME_CALLS = {
    "delivery_features": (lambda x: lg.delivery_features(x), ["shipments"]),
    "fit": (lambda x: lg.DeliveryTimeModel().fit(x), ["shipments"]),
    "zone_volumes": (lambda x: lg.zone_volumes(x), ["shipments"]),
    "zone_demand_forecast": (lambda x: lg.zone_demand_forecast(x, horizon=3), ["shipments"]),
    "lane_delays": (lambda x: lg.lane_delays(x), ["shipments"]),
    "plan_routes": (lambda x: lg.plan_routes(x, (0.0, 0.0), capacity=5.0, time_limit=0.05), ["stops"]),
}


@SETTINGS
@given(name=st.sampled_from(sorted(FRAME_CALLS)), bad=not_frames())
def test_frame_functions_refuse_what_is_not_a_frame(name, bad):
    call, names = FRAME_CALLS[name]
    assert_rejects(lambda: call(bad), names)


@pytest.mark.parametrize("name", sorted(FRAME_CALLS))
def test_frame_functions_ask_to_compute_dask_first(name):
    call, names = FRAME_CALLS[name]
    stops = pd.DataFrame({"x": [1.0], "y": [1.0], "demand": [1.0], "carrier": "A", "zone": 1, "distance_km": 1.0,
                          "weight_kg": 1.0, "ship_date": pd.Timestamp("2024-01-01"), "actual_days": 1.0})
    err = assert_rejects(lambda: call(dd.from_pandas(stops, npartitions=1)), names)
    assert "compute" in str(err)


# --------------------------------------------------------------------------- delivery features and model


@SETTINGS
@given(frame=shipments(), kind=st.sampled_from(["inf", "nan", "text", "drop_column", "empty"]),
       column=st.sampled_from(NUMERIC), row=st.integers(0, 99))
def test_delivery_features_name_the_bad_column_and_shipment(frame, kind, column, row):
    bad = corrupt(frame, kind, column, row)
    err = assert_rejects(lambda: lg.delivery_features(bad), [column] if kind != "empty" else [])
    if kind in ("inf", "nan"):
        assert str(frame["shipment_id"].iloc[row % len(frame)]) in str(err)


@SETTINGS
@given(frame=shipments(), column=st.sampled_from(["ship_date", "carrier", "zone"]), row=st.integers(0, 99))
def test_delivery_features_refuse_missing_dates_and_lanes(frame, column, row):
    bad = corrupt(frame, "missing_key", column, row, key=column)
    assert_rejects(lambda: lg.delivery_features(bad), [column])


@SETTINGS
@given(frame=shipments())
def test_delivery_features_keep_every_row_and_count_like_pandas(frame):
    out = lg.delivery_features(frame)
    assert len(out) == len(frame) and out.index.equals(frame.index)
    reference = frame.groupby("ship_date")["shipment_id"].transform("size")  # independent count
    np.testing.assert_array_equal(out["daily_volume"].to_numpy(), reference.to_numpy())
    np.testing.assert_array_equal(out["weekday"].to_numpy(), frame["ship_date"].dt.dayofweek.to_numpy())


def test_model_before_fit_is_not_fitted():
    frame = make_shipments(30, 1)
    model = lg.DeliveryTimeModel()
    for call in (lambda: model.predict(frame), lambda: model.late_probability(frame), lambda: lg.late_risk(model, frame),
                 lambda: lg.lane_delays(frame, model=model)):
        with pytest.raises(NotFittedError):
            call()


@SETTINGS
@given(frame=shipments(), data=st.data())
def test_predict_matches_columns_by_name(fitted, frame, data):
    model, _ = fitted
    columns = data.draw(st.permutations(list(frame.columns)))
    expected = model.predict(frame)
    got = model.predict(frame[list(columns)])
    np.testing.assert_allclose(got.to_numpy(), expected.to_numpy())
    assert len(got) == len(frame)
    missing = data.draw(st.sampled_from(["carrier", "zone", "distance_km", "weight_kg", "ship_date"]))
    assert_rejects(lambda: model.predict(frame.drop(columns=missing)), [missing])


def test_unseen_levels_are_refused_by_name(fitted):
    model, frame = fitted
    err = assert_rejects(lambda: model.predict(frame.assign(carrier=np.where(frame.index < 3, "Z", frame["carrier"]))),
                         ["carrier"])
    assert "'Z'" in str(err) and "3 offending rows" in str(err)


@SETTINGS
@given(frame=shipments(), kind=st.sampled_from(["inf", "nan", "text"]), column=st.sampled_from(
    ["actual_days", "distance_km"]), row=st.integers(0, 99))
def test_fit_names_the_bad_column(frame, kind, column, row):
    assert_rejects(lambda: lg.DeliveryTimeModel().fit(corrupt(frame, kind, column, row)), [column])


@SETTINGS
@given(distribution=st.text(min_size=1, max_size=8).filter(lambda d: d.lower() not in ("normal", "empirical")))
def test_unknown_distribution_lists_the_choices(distribution):
    err = assert_rejects(lambda: lg.DeliveryTimeModel(distribution=distribution).fit(make_shipments(30, 1)),
                         ["distribution"])
    assert "empirical" in str(err)


@SETTINGS
@given(frame=shipments(), kind=st.sampled_from(["inf", "nan", "text", "drop_column"]), row=st.integers(0, 99))
def test_late_risk_names_the_promised_column(fitted, frame, kind, row):
    model, _ = fitted
    bad = corrupt(frame, kind, "promised_days", row)
    assert_rejects(lambda: lg.late_risk(model, bad), ["promised_days"])
    risk = lg.late_risk(model, frame)
    assert len(risk) == len(frame) and bool(risk.between(0, 1).all())


@SETTINGS
@given(bad=st.one_of(not_frames(), st.just("model")))
def test_late_risk_refuses_what_is_not_a_model(bad):
    assert_rejects(lambda: lg.late_risk(bad, make_shipments(30, 1)), ["model"])


@SETTINGS
@given(p=st.lists(st.floats(allow_nan=True, allow_infinity=True), min_size=4, max_size=4).filter(
           lambda v: any(not np.isfinite(x) or x < 0 or x > 1 for x in v)),
       bins=st.sampled_from([0, -2, 1.5, "x"]))
def test_evaluate_late_risk_names_bad_probabilities_and_bins(p, bins):
    late = np.array([0, 1, 0, 1])
    assert_rejects(lambda: lg.evaluate_late_risk(late, np.asarray(p)), ["probability"])
    assert_rejects(lambda: lg.evaluate_late_risk(late, np.array([0.1, 0.9, 0.2, 0.8]), n_bins=bins), ["n_bins"])
    assert_rejects(lambda: lg.evaluate_late_risk(np.array([0, 1, np.nan, 1]), np.full(4, 0.5)), ["late"])
    assert_rejects(lambda: lg.evaluate_late_risk(late, np.full(3, 0.5)), ["probability"])


# --------------------------------------------------------------------------- lanes and zones


@SETTINGS
@given(frame=shipments(), kind=st.sampled_from(["inf", "nan", "text", "drop_column"]), row=st.integers(0, 99))
def test_zone_volumes_never_lose_a_parcel(frame, kind, row):
    out = lg.zone_volumes(frame)
    assert out["parcels"].sum() == len(frame)  # rows in = parcels counted
    reference = frame.groupby("zone").size()
    np.testing.assert_array_equal(out.groupby("zone")["parcels"].sum().loc[reference.index].to_numpy(),
                                  reference.to_numpy())
    assert_rejects(lambda: lg.zone_volumes(corrupt(frame, kind, "weight_kg", row)), ["weight_kg"])
    assert_rejects(lambda: lg.zone_volumes(corrupt(frame, "missing_key", "zone", row, key="zone")), ["zone"])


@SETTINGS
@given(case=st.sampled_from([("horizon", 0), ("horizon", 2.5), ("horizon", "x"), ("parcels_per_vehicle", 0.0),
                             ("parcels_per_vehicle", -3.0), ("parcels_per_vehicle", np.nan), ("quantiles", [1.5]),
                             ("quantiles", [0.0]), ("quantiles", ["x"])]))
def test_zone_demand_forecast_bad_parameters_are_named(case):
    param, bad = case
    assert_rejects(lambda: lg.zone_demand_forecast(make_shipments(30, 1), **{param: bad}), [param])


@SETTINGS
@given(frame=shipments(), kind=st.sampled_from(["inf", "nan", "text", "drop_column"]), row=st.integers(0, 99),
       k=st.sampled_from([0.0, -1.0, np.nan]))
def test_lane_delays_name_the_bad_column_and_parameter(fitted, frame, kind, row, k):
    model, _ = fitted
    assert_rejects(lambda: lg.lane_delays(corrupt(frame, kind, "actual_days", row), model=model), ["actual_days"])
    assert_rejects(lambda: lg.lane_delays(frame, model=model, k=k), ["k"])
    assert_rejects(lambda: lg.lane_delays(frame, model="fitted"), ["model"])


# --------------------------------------------------------------------------- routes


@st.composite
def stops(draw):
    n = draw(st.integers(1, 5))
    coords = st.floats(-50, 50, allow_nan=False)
    return pd.DataFrame({"x": draw(st.lists(coords, min_size=n, max_size=n)),
                         "y": draw(st.lists(coords, min_size=n, max_size=n)),
                         "demand": draw(st.lists(st.integers(0, 3), min_size=n, max_size=n)),
                         "stop_id": [f"st{i}" for i in range(n)]})


@SETTINGS
@given(frame=stops(), kind=st.sampled_from(["inf", "nan", "text", "drop_column", "empty"]),
       column=st.sampled_from(["x", "y", "demand"]), row=st.integers(0, 9))
def test_plan_routes_names_the_bad_column_before_solving(frame, kind, column, row):
    bad = corrupt(frame, kind, column, row)
    err = assert_rejects(lambda: lg.plan_routes(bad, (0.0, 0.0), capacity=10.0, time_limit=0.05, id_col="stop_id"),
                         [column] if kind != "empty" else [])
    if kind in ("inf", "nan"):
        assert frame["stop_id"].iloc[row % len(frame)] in str(err)


BAD_ROUTING = {"capacity": [0.0, -1.0, np.nan, "x"], "time_limit": [0, -1.0, np.inf], "vehicles": [0, 1.5, "x"],
               "metric": ["manhattan", "", 3], "solver": ["ortools", None], "depot": [(0.0,), (np.nan, 0.0), "xy"],
               "coord_cols": [("x",), ("x", "y", "z"), 5]}


@SETTINGS
@given(case=st.sampled_from([(p, v) for p, values in BAD_ROUTING.items() for v in values]))
def test_plan_routes_bad_parameters_are_named(case):
    param, bad = case
    frame = pd.DataFrame({"x": [1.0, 2.0], "y": [0.0, 1.0], "demand": [1.0, 1.0]})
    kwargs = {"depot": (0.0, 0.0), "capacity": 5.0, "time_limit": 0.05, param: bad}
    err = assert_rejects(lambda: lg.plan_routes(frame, **kwargs), [param])
    if param in ("metric", "solver"):
        assert "choose from" in str(err)


@settings(max_examples=5, deadline=None)
@given(frame=stops().filter(lambda f: f["demand"].sum() > 0))
def test_plan_routes_visits_every_stop_once(frame):
    plan = lg.plan_routes(frame, (0.0, 0.0), capacity=10.0, time_limit=0.05, id_col="stop_id")
    assert sorted(plan.routes["stop"]) == sorted(frame["stop_id"])  # rows in = visits out
    assert plan.routes["demand"].sum() == pytest.approx(frame["demand"].sum())
