"""Monitors against independent references: pandas baselines and EWM, PyOD's ECOD, scikit-learn on
build_features, inventory_shrink, the closed-form reorder point; and alert scoring against the truth."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy.stats import norm
from sklearn.linear_model import LinearRegression

from tests.stream_support import sales_history
from toolkit.anomaly import inventory_shrink
from toolkit.errors import DataValidationError
from toolkit.features import FeatureSpec, build_features
from toolkit.stream import (CarrierMonitor, DemandMonitor, EventBatch, InventoryMonitor, MemorySink, ReplaySource,
                            StreamEngine, evaluate_alerts)

DAY = pd.Timestamp("2024-03-01")


def _orders(sku, location, hours, quantity=1.0):
    return pd.DataFrame({"sku": sku, "location": location, "quantity": quantity,
                         "order_ts": [DAY + pd.Timedelta(hours=h) for h in hours]})


def _mad_baseline(values, floor, transform=np.sqrt):
    u = transform(np.asarray(values, dtype=float))
    med = np.median(u)
    return med, max(1.4826 * np.median(np.abs(u - med)), floor)


# ----------------------------------------------------------------------------- demand


def test_spike_is_alerted_at_the_order_that_tips_it_against_a_pandas_baseline():
    history = sales_history(n_series=2)
    monitor = DemandMonitor().fit(history)
    last = history[history["sku"] == "S00"].sort_values("date")["units"].tail(28)
    center, scale = _mad_baseline(last, 0.5)
    assert monitor.center[0] == pytest.approx(center) and monitor.scale[0] == pytest.approx(scale)
    hours = np.linspace(1, 20, 200)
    alerts = MemorySink()
    StreamEngine([monitor], alerts=alerts).run(ReplaySource({"orders": _orders("S00", "web", hours)}), flush=False)
    # the first running total u with robust z (sqrt scale) above 3 and at least 3 units
    units = np.arange(1, 201)
    tipping = int(np.flatnonzero(((np.sqrt(units) - center) / scale > 3.0) & (units >= 3))[0])
    (alert,) = alerts.frame().itertuples()
    assert alert.type == "demand_spike" and alert.sku == "S00"
    assert alert.event_time == DAY + pd.Timedelta(hours=hours[tipping]) and alert.value == units[tipping]
    assert alert.expected == pytest.approx(center ** 2) and "so far" in alert.reason


def test_drop_is_told_when_the_day_closes_and_forecasts_follow_pandas_ewm():
    history = sales_history(n_series=2)
    monitor = DemandMonitor().fit(history)
    series = history[history["sku"] == "S01"].sort_values("date")["units"]
    expected = series.ewm(alpha=0.3, adjust=False).mean().iloc[-1]
    assert monitor.forecasts()["forecast"].iloc[1] == pytest.approx(expected, rel=1e-12)
    orders = pd.concat([_orders("S00", "web", np.linspace(1, 23, 20)),
                        _orders("S01", "store_01", [3.0]),  # ~20 a day usually: 1 is a drop
                        _orders("S00", "web", [25.5])])  # next day, past the lateness: the first day closes
    alerts = MemorySink()
    StreamEngine([monitor], alerts=alerts).run(ReplaySource({"orders": orders}), flush=False)
    frame = alerts.frame()
    assert frame[["type", "sku"]].values.tolist() == [["demand_drop", "S01"]]
    assert frame["event_time"].iloc[0] == DAY + pd.Timedelta(days=1) - pd.Timedelta(1, "ns")
    # after the close, the forecast of S01 moved one EWM step towards the drop
    assert monitor.forecasts()["forecast"].iloc[1] == pytest.approx(0.7 * expected + 0.3 * 1.0, rel=1e-12)


def test_features_snapshot_equals_build_features_of_the_next_row():
    spec = FeatureSpec(lags=(1, 7), rolling={7: ("mean", "std")}, ewm_alphas=(0.2,), calendar=("dayofweek",),
                       fourier=((7, 1),))
    history = sales_history(n_series=3)
    monitor = DemandMonitor(spec=spec).fit(history)
    future = history.groupby(["sku", "location"], as_index=False)["date"].max()
    future["date"] += pd.Timedelta(days=1)
    future["units"] = np.nan
    batch = build_features(pd.concat([history, future], ignore_index=True), spec, last_n=1)
    batch = batch.sort_values("sku").reset_index(drop=True)
    streamed = monitor.features().sort_values("sku").reset_index(drop=True)
    for name in spec.feature_names:
        np.testing.assert_allclose(streamed[name].astype(float), batch[name].astype(float), rtol=1e-12, err_msg=name)


def test_model_forecasts_equal_the_regressor_on_batch_features():
    spec = FeatureSpec(lags=(1, 7), rolling={7: ("mean",)}, calendar=("dayofweek",), fourier=())
    history = sales_history(n_series=4, days=70)
    monitor = DemandMonitor(spec=spec, train_buckets=40).fit(history, model=LinearRegression())
    # reference: the same rows (the last 40 days) through build_features and scikit-learn
    feats = build_features(history, spec)
    train = feats[feats["date"] > history["date"].max() - pd.Timedelta(days=40)].dropna(subset=spec.feature_names)
    reference = LinearRegression().fit(train[spec.feature_names].to_numpy(), train["units"].to_numpy())
    np.testing.assert_allclose(monitor.model.coef_, reference.coef_, rtol=1e-8)
    nxt = monitor.features()
    expected = np.maximum(reference.predict(nxt[spec.feature_names].to_numpy(dtype=float)), 0)
    np.testing.assert_allclose(monitor.forecasts()["forecast"], expected, rtol=1e-8)


def test_ecod_method_scores_like_pyod_on_the_training_rows():
    from pyod.models.ecod import ECOD as PyodECOD

    monitor = DemandMonitor(method="ecod", train_buckets=20).fit(sales_history(n_series=6, days=40))
    train = np.asarray(monitor.detector.sorted_).T  # columns sorted; only their values matter to ECOD
    reference = PyodECOD(contamination=0.005).fit(train)
    probe = np.array([[6.0, 1.5], [0.1, 0.0], [-5.0, -2.0]])
    np.testing.assert_allclose(monitor.detector.decision_function(probe), reference.decision_function(probe),
                               rtol=1e-10)
    flags, _ = monitor._abnormal(np.array([0, 0]), np.array([200.0, 20.0]), 1)
    assert flags.tolist() == [True, False]


@pytest.mark.parametrize("band", [0.9, 0.5])
def test_forecast_band_is_the_normal_quantile_of_the_robust_scale_on_the_square_root_scale(band):
    # a busy series (Poisson 20) and a sparse one whose lower bound clips at 0 units
    sparse = pd.DataFrame({"sku": "S09", "location": "web", "date": pd.date_range(end="2024-02-29", periods=35),
                           "units": np.tile([0.0, 0.0, 1.0, 0.0, 0.0], 7)})
    history = pd.concat([sales_history(n_series=1), sparse], ignore_index=True)
    monitor = DemandMonitor(band=band).fit(history)
    got = monitor.forecasts().set_index("sku")
    z = norm.ppf(0.5 + band / 2)
    for slot, sku in enumerate(["S00", "S09"]):
        units = history[history["sku"] == sku].sort_values("date")["units"]
        center, scale = _mad_baseline(units.tail(28), 0.5)
        point = units.ewm(alpha=0.3, adjust=False).mean().iloc[-1]
        root = np.sqrt(point)
        assert got.loc[sku, "forecast"] == pytest.approx(point, rel=1e-12)
        assert got.loc[sku, "lower"] == pytest.approx(max(root - z * scale, 0.0) ** 2, rel=1e-12)
        assert got.loc[sku, "upper"] == pytest.approx((root + z * scale) ** 2, rel=1e-12)
        # the spread in units by the delta method through the square root
        assert monitor.sigma[slot] == pytest.approx(2 * max(root, 0.5) * scale, rel=1e-12)
    assert (got.loc["S09", "lower"] == 0.0) == (band == 0.9) and got.loc["S00", "lower"] > 0.0  # 0.9: clipped


def test_demand_parameters_and_history_are_checked():
    with pytest.raises(DataValidationError, match="method"):
        DemandMonitor(method="prophet")
    with pytest.raises(DataValidationError, match="band"):
        DemandMonitor(band=1.5)
    with pytest.raises(DataValidationError, match="units"):
        DemandMonitor().fit(sales_history().assign(units=-1.0))
    with pytest.raises(DataValidationError, match="location"):
        DemandMonitor().fit(sales_history().drop(columns="location"))
    with pytest.raises(DataValidationError, match=r"'units'.*numeric.*\(needed to warm the demand monitor\)"):
        DemandMonitor().fit(sales_history().assign(units="3"))
    monitor = DemandMonitor().fit(sales_history())
    with pytest.raises(DataValidationError, match="history"):
        monitor.fit(sales_history())


# ----------------------------------------------------------------------------- inventory


def _counts(days, on_hand, receipts, sold, on_order=0.0):
    return pd.DataFrame({"sku": "A", "warehouse": "W1", "date": pd.date_range("2024-02-01", periods=days),
                         "on_hand": on_hand, "on_order": on_order, "receipts": receipts, "units_sold": sold})


def test_shrink_equals_the_batch_detector_on_the_same_counts():
    history = _counts(5, [50.0, 45, 40, 35, 30], 0.0, 5.0)
    stream = _counts(4, [25.0, 14, 40, 35], [0.0, 0, 30, 0], [5.0, 6, 4, 5])
    stream["date"] += pd.Timedelta(days=5)
    monitor = InventoryMonitor(lead_time=2).fit(history)
    events = stream.assign(ts=stream["date"] + pd.Timedelta(hours=23, minutes=59, seconds=59))
    alerts = MemorySink()
    StreamEngine([monitor], alerts=alerts).run(ReplaySource({"inventory": events}))
    batch = inventory_shrink(pd.concat([history, stream], ignore_index=True), tolerance=0.5)
    flagged = batch[batch["is_anomaly"]]
    got = alerts.frame()
    got = got[got["type"] == "shrink"]
    assert got["event_time"].dt.normalize().tolist() == flagged["date"].tolist()
    np.testing.assert_allclose(got["score"], flagged["shrink"])


def test_reorder_point_follows_the_closed_form_and_orders_move_the_position():
    history = _counts(28, 200.0, 0.0, np.tile([8.0, 12.0], 14))
    monitor = InventoryMonitor(lead_time=3, review_period=1, service_level=0.9, cover_days=5,
                               warehouse_of={"web": "W1"}).fit(history)
    mean, var = 10.0, 4.0
    rop = mean * 4 + norm.ppf(0.9) * np.sqrt(var * 4)
    plan = monitor.plan().iloc[0]
    assert plan["reorder_point"] == pytest.approx(rop) and plan["status"] == "ok"
    demand = DemandMonitor().fit(sales_history(n_series=1))
    engine = StreamEngine([demand, monitor], alerts=(alerts := MemorySink()))
    # 175 units ordered on the web (served by W1): position 25 < 30 = mean demand over the lead time
    orders = pd.DataFrame({"sku": "A", "location": "web", "quantity": 5.0,
                           "order_ts": [pd.Timestamp("2024-03-01 08:00") + pd.Timedelta(minutes=i) for i in range(35)]})
    engine.process(EventBatch("orders", {c: orders[c].to_numpy() for c in orders}, offsets=np.arange(35)))
    plan = monitor.plan().iloc[0]
    assert plan["projected_on_hand"] == 200 - 175 and plan["status"] == "order"
    assert plan["order_quantity"] == np.ceil(plan["order_up_to"] - plan["position"])
    risk = alerts.frame()
    assert risk["type"].tolist() == ["stockout_risk"]
    assert risk["value"].iloc[0] == 25 and risk["expected"].iloc[0] == pytest.approx(30.0)


def test_totals_count_the_counts_applied_over_every_batch_stale_ones_excluded():
    monitor = InventoryMonitor().fit(_counts(3, [30.0, 28, 26], 0.0, 2.0))
    engine = StreamEngine([monitor], dead_letters=MemorySink())

    def counts(sku, hours, on_hand):
        frame = pd.DataFrame({"sku": sku, "warehouse": "W1", "ts": [pd.Timestamp("2024-02-03") + pd.Timedelta(hours=h)
                                                                    for h in hours],
                              "on_hand": on_hand, "on_order": 0.0, "receipts": 0.0, "units_sold": 0.0})
        return EventBatch("inventory", {c: frame[c].to_numpy() for c in frame}, offsets=np.arange(len(frame)))

    engine.process(counts(["A", "A", "B"], [30, 40, 30], 20.0))
    batch = counts(["A", "B", "A"], [20, 50, 60], 20.0)  # the count of A at 20 h is older than one applied: stale
    batch.offsets = np.arange(3, 6)
    engine.process(batch)
    totals = monitor.totals().set_index("sku")["events"]
    assert totals.to_dict() == {"A": 3, "B": 2}


def test_stale_counts_are_reported_not_applied():
    monitor = InventoryMonitor().fit(_counts(3, [30.0, 28, 26], 0.0, 2.0))
    old = pd.DataFrame({"sku": "A", "warehouse": "W1", "ts": [pd.Timestamp("2024-02-02 23:00")],
                        "on_hand": 99.0, "on_order": 0.0, "receipts": 0.0, "units_sold": 0.0})
    engine = StreamEngine([monitor], dead_letters=(dead := MemorySink()))
    engine.process(EventBatch("inventory", {c: old[c].to_numpy() for c in old}, offsets=[0]))
    assert dead.frame()["reason"].str.startswith("stale").all() and monitor.plan()["on_hand"].iloc[0] == 26
    assert engine.counts["inventory"]["late"] == 1


# ----------------------------------------------------------------------------- carriers


def _deliveries(days, per_day, delay, start="2024-02-01"):
    rows = []
    for d in range(days):
        for i in range(per_day):
            rows.append(("FastShip", "3", pd.Timestamp(start) + pd.Timedelta(days=d, hours=8 + i), 2.0,
                         2.0 + delay(d, i)))
    return pd.DataFrame(rows, columns=["carrier", "zone", "delivered_ts", "promised_days", "actual_days"])


def test_carrier_baseline_is_the_lanes_median_and_mad_and_a_slow_day_alerts():
    rng = np.random.default_rng(0)
    noise = rng.integers(0, 2, (30, 4))
    history = _deliveries(30, 4, lambda d, i: float(noise[d, i]))
    history["ship_date"] = history["delivered_ts"].dt.normalize()
    monitor = CarrierMonitor().fit(history)
    daily = history.assign(delay=history["actual_days"] - history["promised_days"]).groupby("ship_date")["delay"].mean()
    center, scale = _mad_baseline(daily.tail(28), 0.25, transform=lambda x: x)
    assert monitor.center[0] == pytest.approx(center) and monitor.scale[0] == pytest.approx(scale)
    late = _deliveries(1, 6, lambda d, i: 3.0, start="2024-03-02")
    alerts = MemorySink()
    StreamEngine([monitor], alerts=alerts).run(ReplaySource({"shipments": late}), flush=False)
    (alert,) = alerts.frame().itertuples()
    # the third delivery is the first with min_shipments = 3 deliveries behind the mean
    assert alert.type == "carrier_delay" and alert.event_time == late["delivered_ts"].iloc[2]
    assert alert.value == 3.0 and alert.zone == "3"


def test_carrier_alerts_do_not_depend_on_the_batching_though_a_mean_moves_both_ways():
    rng = np.random.default_rng(1)
    noise = rng.integers(0, 2, (30, 4))
    history = _deliveries(30, 4, lambda d, i: float(noise[d, i]))
    history["ship_date"] = history["delivered_ts"].dt.normalize()
    # three late deliveries, then on-time ones pulling the day's mean back under the threshold
    day = _deliveries(1, 10, lambda d, i: 3.0 if i < 3 else 0.0, start="2024-03-02")
    runs = []
    for size in (1, 1000):
        alerts = MemorySink()
        StreamEngine([CarrierMonitor().fit(history)], alerts=alerts, max_batch=size).run(
            ReplaySource({"shipments": day}), flush=False)
        runs.append(alerts.frame()[["alert_id", "event_time", "value"]])
    pd.testing.assert_frame_equal(runs[0], runs[1])
    assert runs[1]["event_time"].tolist() == [day["delivered_ts"].iloc[2]]


# ----------------------------------------------------------------------------- scoring alerts


def test_evaluate_alerts_counts_recall_precision_and_delay():
    truth = pd.DataFrame({"type": ["demand_spike", "demand_spike", "shrink"], "sku": ["a", "b", "c"],
                          "location": ["web", "web", None], "warehouse": [None, None, "W"],
                          "start": pd.to_datetime(["2024-01-01 10:00", "2024-01-01 11:00", "2024-01-01 23:00"]),
                          "end": pd.to_datetime(["2024-01-02 00:00", "2024-01-02 00:00", "2024-01-01 23:00"])})
    alerts = pd.DataFrame({"type": ["demand_spike", "demand_spike", "demand_spike", "shrink"],
                           "sku": ["a", "a", "z", "c"], "location": ["web", "web", "web", None],
                           "warehouse": [None, None, None, "W"],
                           "event_time": pd.to_datetime(["2024-01-01 10:30", "2024-01-01 12:00", "2024-01-01 12:00",
                                                         "2024-01-03 00:00"]),
                           "latency_s": [0.1, 0.2, 0.3, 0.4]})
    out = evaluate_alerts(alerts, truth, {"demand_spike": ["sku", "location"], "shrink": ["sku", "warehouse"]},
                          tolerance="1h").set_index("type")
    assert out.loc["demand_spike", ["incidents", "detected", "alerts", "true_alerts"]].tolist() == [2, 1, 3, 2]
    assert out.loc["demand_spike", "recall"] == 0.5 and out.loc["demand_spike", "precision"] == pytest.approx(2 / 3)
    assert out.loc["demand_spike", "delay_median_s"] == 1800.0
    assert out.loc["shrink", "detected"] == 0  # a day late: outside the tolerance
    with pytest.raises(DataValidationError, match="tolerance"):
        evaluate_alerts(alerts, truth, {"shrink": ["sku"]}, tolerance="soon")
