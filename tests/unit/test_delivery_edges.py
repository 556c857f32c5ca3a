"""Edge cases of toolkit.decisions.logistics.delivery (issue 19): the calibration table and error of
``evaluate_late_risk`` on a hand-computed case with uneven and empty bins, and late risk read from
residuals that are known exactly (a constant regressor), ties and degenerate spreads included."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy.stats import norm
from sklearn.dummy import DummyRegressor
from sklearn.metrics import brier_score_loss, roc_auc_score

from toolkit.decisions.logistics import DeliveryTimeModel, delivery_features, evaluate_late_risk, late_risk
from toolkit.errors import DataValidationError

# --------------------------------------------------------------------------- calibration


def test_calibration_error_is_the_count_weighted_gap_over_non_empty_bins():
    p = np.array([0.1, 0.2, 0.2, 0.5, 0.7, 0.8, 1.0])
    late = np.array([0, 1, 0, 1, 1, 1, 0], dtype=bool)
    ev = evaluate_late_risk(late, p, n_bins=4)
    # bins of width 0.25: [0, .25) holds 3, [.25, .5) none, [.5, .75) holds .5 and .7, [.75, 1] holds .8 and 1.0
    table = ev["calibration"]
    np.testing.assert_allclose(table["predicted"], [0.5 / 3, 0.6, 0.9])
    np.testing.assert_allclose(table["observed"], [1 / 3, 1.0, 0.5])
    assert table["count"].tolist() == [3, 2, 2]
    # gaps 1/6, 0.4, 0.4 weighted by 3, 2, 2 over 7 shipments (unweighted it would be 0.3222)
    assert ev["calibration_error"] == pytest.approx((3 / 6 + 2 * 0.4 + 2 * 0.4) / 7)
    assert ev["calibration_error"] == pytest.approx(0.3)
    assert ev["late_rate"] == pytest.approx(4 / 7)
    assert ev["mean_probability"] == pytest.approx(p.mean())
    assert ev["roc_auc"] == pytest.approx(roc_auc_score(late, p))
    assert ev["brier"] == pytest.approx(brier_score_loss(late, p))


def test_calibration_with_one_bin_is_the_gap_of_the_means():
    p = np.array([0.1, 0.3, 0.9, 0.6])
    late = np.array([False, True, True, False])
    ev = evaluate_late_risk(late, p, n_bins=1)
    assert ev["calibration"]["count"].tolist() == [4]
    assert ev["calibration_error"] == pytest.approx(abs(0.5 - p.mean()))


def test_probability_one_falls_in_the_last_bin_not_a_new_one():
    p = np.array([0.05, 0.95, 1.0, 1.0])
    late = np.array([False, True, True, False])
    ev = evaluate_late_risk(late, p, n_bins=2)
    assert ev["calibration"]["count"].tolist() == [1, 3]
    np.testing.assert_allclose(ev["calibration"]["predicted"], [0.05, (0.95 + 2.0) / 3])
    np.testing.assert_allclose(ev["calibration"]["observed"], [0.0, 2 / 3])


# --------------------------------------------------------------------------- late risk from known residuals


def _shipments(actual, promised):
    n = len(actual)
    return pd.DataFrame({"shipment_id": 100 + np.arange(n), "carrier": "A", "zone": 1, "distance_km": 10.0,
                         "weight_kg": 1.0, "weekday": 0, "volume_ratio": 1.0,
                         "actual_days": np.asarray(actual, float), "promised_days": np.asarray(promised, float)})


def _constant_model(actual, distribution):
    """A model predicting 2 days whatever the drivers: residuals are ``actual - 2`` exactly."""
    model = DeliveryTimeModel(estimator=DummyRegressor(strategy="constant", constant=2.0), distribution=distribution)
    return model.fit(_shipments(actual, np.zeros(len(actual))))


def test_whole_days_use_the_half_day_threshold_and_sheppards_correction():
    actual = [1, 2, 2, 3, 5]
    resid = np.array(actual, float) - 2.0  # -1 0 0 1 3
    model = _constant_model(actual, "normal")
    assert model.integer_days_
    assert model.residual_mean_ == pytest.approx(0.6)
    assert model.residual_std_ == pytest.approx(np.sqrt(resid.var() - 1 / 12))
    promised = np.array([0.0, 2.0, 4.0])
    risk = late_risk(model, _shipments([0, 0, 0], promised)).to_numpy()
    expected = norm.sf((promised + 0.5 - 2.0 - 0.6) / np.sqrt(1.84 - 1 / 12))
    np.testing.assert_allclose(risk, expected, rtol=1e-9)
    empirical = late_risk(_constant_model(actual, "empirical"), _shipments([0, 0, 0], promised)).to_numpy()
    # thresholds -1.5, 0.5, 2.5 on residuals -1 0 0 1 3: 5, 2 and 1 of 5 above
    np.testing.assert_allclose(empirical, [1.0, 0.4, 0.2])


def test_continuous_days_compare_with_the_promise_itself_and_ties_are_on_time():
    actual = [1.5, 2.0, 2.0, 3.0, 4.5]
    model = _constant_model(actual, "empirical")
    assert not model.integer_days_
    promised = np.array([0.0, 2.0, 4.0, 4.5])
    # thresholds -2, 0, 2, 2.5 on residuals -0.5 0 0 1 2.5: a residual equal to the threshold is not late
    risk = late_risk(model, _shipments(np.zeros(4), promised)).to_numpy()
    np.testing.assert_allclose(risk, [1.0, 0.4, 0.2, 0.0])
    normal = _constant_model(actual, "normal")
    assert normal.residual_std_ == pytest.approx(np.sqrt(1.14))  # no rounding correction for continuous days
    np.testing.assert_allclose(late_risk(normal, _shipments(np.zeros(4), promised)).to_numpy(),
                               norm.sf((promised - 2.0 - 0.6) / np.sqrt(1.14)), rtol=1e-9)


def test_residuals_without_spread_give_certain_outcomes():
    model = _constant_model([2, 2, 2], "normal")  # every residual 0: the corrected variance is floored
    risk = late_risk(model, _shipments([0, 0], [1.0, 2.0])).to_numpy()
    np.testing.assert_allclose(risk, [1.0, 0.0], atol=1e-12)  # 2 days promised 1 is late, promised 2 on time


# --------------------------------------------------------------------------- inputs at the edges


def test_evaluate_late_risk_accepts_the_closed_unit_interval_and_refuses_non_binary_outcomes():
    ev = evaluate_late_risk(np.array([False, True, False, True]), np.array([0.0, 1.0, 0.0, 0.5]), n_bins=2)
    assert ev["calibration"]["count"].tolist() == [2, 2]  # 0 and 1 are valid probabilities
    with pytest.raises(DataValidationError, match=r"^parameter 'late': outcomes must be true/false"):
        evaluate_late_risk(np.array([0.0, 1.0, 2.0, 1.0]), np.full(4, 0.5))  # finite but not 0/1
    with pytest.raises(DataValidationError, match=r"^parameter 'probability': 7 values are NaN or outside \[0, 1\] "
                                                  r"\(e\.g\. at positions \[0, 1, 2, 3, 4\]\)"):
        evaluate_late_risk(np.array([0, 1] * 4), np.array([1.5] * 7 + [0.5]))
    for bad in (np.nan, -0.1):
        with pytest.raises(DataValidationError, match=r"^parameter 'probability': 1 values are NaN or outside"):
            evaluate_late_risk(np.array([0, 1, 0, 1]), np.array([0.2, bad, 0.5, 0.5]))
    with pytest.raises(DataValidationError, match=r"^parameter 'probability': 3 probabilities for 4 outcomes"):
        evaluate_late_risk(np.array([0, 1, 0, 1]), np.full(3, 0.5))
    with pytest.raises(DataValidationError, match=r"^parameter 'n_bins'"):
        evaluate_late_risk(np.array([0, 1]), np.array([0.2, 0.8]), n_bins=0)


@pytest.mark.parametrize("bad", [None, "late", {"a": 1}, pd.DataFrame({"late": [0, 1]})])
def test_evaluate_late_risk_refuses_what_is_not_a_vector(bad):
    with pytest.raises(DataValidationError, match=r"^parameter 'late': expected an array or Series"):
        evaluate_late_risk(bad, np.array([0.2, 0.8]))
    with pytest.raises(DataValidationError, match=r"^parameter 'probability': expected an array or Series"):
        evaluate_late_risk(np.array([0, 1]), bad)


def test_outputs_are_named_and_the_design_is_described_in_natural_level_order():
    frame = _shipments([1, 2, 3, 4, 2, 3], np.zeros(6)).assign(zone=[1, 2, 10, 1, 2, 10], carrier=list("ABABAB"))
    model = DeliveryTimeModel().fit(frame)
    assert model.levels_["zone"] == ["1", "2", "10"]  # 10 after 2, not between 1 and 2
    assert model.feature_names_ == ["carrier=B", "zone=2", "zone=10", "distance_km", "weight_kg", "volume_ratio"]
    assert model.feature_names_in_.tolist() == ["carrier", "zone", "distance_km", "weight_kg", "weekday",
                                                "volume_ratio"]
    assert model.predict(frame).name == "predicted_days"
    assert late_risk(model, frame).name == "late_risk"


def test_drivers_given_in_part_are_computed_from_the_ship_date():
    dated = _shipments([1, 2, 3, 2], np.ones(4)).drop(columns=["weekday", "volume_ratio"]).assign(
        ship_date=pd.to_datetime(["2024-01-01", "2024-01-01", "2024-01-02", "2024-01-03"]), zone=[1, 2, 1, 2])
    model = DeliveryTimeModel().fit(dated)
    expected = model.predict(delivery_features(dated))
    for partial in (dated.assign(weekday=0), dated.assign(volume_ratio=1.0)):  # one of the two is not enough
        np.testing.assert_allclose(model.predict(partial).to_numpy(), expected.to_numpy())


def test_two_shipments_on_one_day_are_one_day_of_volume_two():
    pair = _shipments([1, 2], np.ones(2)).drop(columns=["weekday", "volume_ratio"]).assign(
        ship_date=pd.to_datetime(["2024-03-05", "2024-03-05"]))
    out = delivery_features(pair)
    assert out["daily_volume"].tolist() == [2.0, 2.0]
    assert out["volume_ratio"].tolist() == [1.0, 1.0]
    assert out["weekday"].tolist() == [1, 1]  # a Tuesday


@pytest.mark.parametrize("column,value,problem", [("volume_ratio", -0.5, "negative"), ("distance_km", -1.0, "negative"),
                                                  ("weight_kg", np.inf, "infinite"), ("carrier", None, "missing"),
                                                  ("weekday", None, "missing"), ("zone", None, "missing")])
def test_given_drivers_are_checked_naming_the_column_and_shipment(column, value, problem):
    model = _constant_model([1, 2, 3], "normal")
    frame = _shipments([1, 2, 3], [1, 1, 1]).astype({column: object if value is None else float})
    frame.loc[2, column] = value
    for call in (lambda: model.predict(frame), lambda: late_risk(model, frame)):
        with pytest.raises(DataValidationError, match=rf"^column '{column}': {problem} values \(needed .*\(102,\)"):
            call()
    unnamed = frame.drop(columns="shipment_id")  # without the id column: still the one-format error
    with pytest.raises(DataValidationError, match=rf"^column '{column}': {problem} values \(needed "):
        model.predict(unnamed)


def test_negative_promised_days_are_refused_naming_the_shipment():
    model = _constant_model([1, 2, 3], "normal")
    with pytest.raises(DataValidationError, match=r"column 'promised_days'.*negative.*\(101,\)"):
        late_risk(model, _shipments([1, 2, 3], [1.0, -1.0, 2.0]))
    with pytest.raises(DataValidationError, match=r"column 'actual_days'.*negative.*\(100,\)"):
        DeliveryTimeModel().fit(_shipments([-1, 2, 3], [1, 1, 1]))


# --------------------------------------------------------------------------- mutation survivors (issue 19)


def test_default_calibration_has_ten_uniform_bins_like_scikit_learn():
    from sklearn.calibration import calibration_curve

    rng = np.random.default_rng(7)
    p = rng.uniform(0, 1, 400)
    p = p[np.abs(p * 10 - np.round(p * 10)) > 1e-6]  # no value on a bin edge (sklearn puts edges left, we right)
    p = np.concatenate([p, [0.0, 0.095]])  # one bin of width 0.1, two of width 1/11
    late = rng.uniform(0, 1, p.size) < p
    late[:2] = [False, True]
    observed, predicted = calibration_curve(late, p, n_bins=10, strategy="uniform")
    table = evaluate_late_risk(late, p)["calibration"]  # n_bins left at its default
    np.testing.assert_allclose(table["observed"], observed)
    np.testing.assert_allclose(table["predicted"], predicted)
    counts = np.histogram(p, bins=np.linspace(0, 1, 11))[0]
    assert table["count"].tolist() == counts[counts > 0].tolist()


def test_a_column_vector_of_probabilities_is_read_as_one_per_outcome():
    late = np.array([False, True, True, False, True])
    p = np.array([0.1, 0.7, 0.4, 0.3, 0.9])
    flat = evaluate_late_risk(late, p, n_bins=3)
    column = evaluate_late_risk(late.reshape(-1, 1), p.reshape(-1, 1), n_bins=3)  # e.g. predict_proba[:, [1]]
    assert column["roc_auc"] == pytest.approx(roc_auc_score(late, p))
    pd.testing.assert_frame_equal(column["calibration"], flat["calibration"])


def test_outcomes_and_probabilities_that_are_not_numbers_are_refused_naming_the_parameter():
    with pytest.raises(DataValidationError, match=r"^parameter 'late': expected numbers without missing values, "
                                                  r"got 'ndarray'$"):
        evaluate_late_risk(np.array(["yes", "no"]), np.array([0.1, 0.2]))
    # an object column with a None is a missing probability, counted like NaN (not an internal TypeError)
    with pytest.raises(DataValidationError, match=r"^parameter 'probability': 1 values are NaN or outside"):
        evaluate_late_risk(np.array([0, 1, 0, 1]), np.array([0.2, None, 0.5, 0.5], dtype=object))
    with pytest.raises(DataValidationError, match=r"^parameter 'late': outcomes must be true/false"):
        evaluate_late_risk(pd.Series([True, None, False, True], dtype=object), np.full(4, 0.5))
    with pytest.raises(DataValidationError, match=r"^parameter 'probability': expected an array or Series, "
                                                  r"got 'str'$"):
        evaluate_late_risk(np.array([0, 1]), "0.5")
    with pytest.raises(DataValidationError, match=r"^parameter 'late': needs both late and on-time shipments "
                                                  r"to evaluate$"):
        evaluate_late_risk(np.ones(3, bool), np.full(3, 0.5))


def test_late_risk_refuses_another_estimator_naming_the_parameter_and_its_type():
    from sklearn.linear_model import LinearRegression as SkOLS

    with pytest.raises(DataValidationError, match=r"^parameter 'model': expected a DeliveryTimeModel, "
                                                  r"got 'LinearRegression'$"):
        late_risk(SkOLS(), _shipments([1, 2], [1, 1]))


def test_errors_say_what_the_values_are_needed_for():
    model = _constant_model([1, 2, 3], "normal")
    frame = _shipments([1, 2, 3], [1, 1, 1])
    with pytest.raises(DataValidationError, match=r"^parameter 'distribution': unknown value, got 'gamma'"):
        DeliveryTimeModel(distribution="gamma").fit(frame)
    with pytest.raises(DataValidationError, match=r"^column 'actual_days': missing \(needed to fit the "
                                                  r"delivery-time model\)"):
        DeliveryTimeModel().fit(frame.drop(columns="actual_days"))
    with pytest.raises(DataValidationError, match=r"^column 'distance_km': missing \(needed to predict delivery "
                                                  r"days\)"):
        model.predict(frame.drop(columns="distance_km"))
    with pytest.raises(DataValidationError, match=r"^column 'promised_days': missing \(needed for late risk\)"):
        late_risk(model, frame.drop(columns="promised_days"))
    empty = frame.iloc[:0]  # drivers given: the model's own checks, not delivery_features', see the frame
    for call, purpose in ((DeliveryTimeModel().fit, "to fit the delivery-time model"),
                          (model.predict, "to predict delivery days"), (model.late_probability, "for late risk")):
        with pytest.raises(DataValidationError, match=rf"^the frame is empty \(nothing {purpose}\)$"):
            call(empty)


def test_predictions_and_risks_keep_the_shipments_index():
    frame = _shipments([1, 2, 3, 5], [1, 2, 2, 3]).set_index(pd.Index([40, 10, 30, 20], name="order"))
    model = DeliveryTimeModel().fit(frame)
    for out in (model.predict(frame), late_risk(model, frame)):
        assert out.index.equals(frame.index)


def test_feature_names_in_follow_scikit_learns_convention():
    from sklearn.linear_model import LinearRegression as SkOLS

    frame = _shipments([1, 2, 3], [1, 1, 1])
    reference = SkOLS().fit(frame[["distance_km", "weight_kg"]], frame["actual_days"]).feature_names_in_
    assert DeliveryTimeModel().fit(frame).feature_names_in_.dtype == reference.dtype  # object, not fixed-width str


def test_a_model_whose_fit_failed_is_not_fitted():
    from sklearn.exceptions import NotFittedError

    frame = _shipments([1, 2, 3], [1, 1, 1])
    model = DeliveryTimeModel(estimator=DummyRegressor(strategy="constant"))  # no constant: its fit raises
    with pytest.raises((TypeError, ValueError), match="[Cc]onstant"):  # sklearn's own error
        model.fit(frame)
    for call in (model.predict, model.late_probability):
        with pytest.raises(NotFittedError):
            call(frame)


def test_volume_keys_count_the_daily_volume_within_each_key():
    rng = np.random.default_rng(3)
    days = pd.to_datetime("2024-01-01") + pd.to_timedelta(rng.integers(0, 10, 80), unit="D")
    frame = pd.DataFrame({"shipment_id": np.arange(80), "carrier": rng.choice(["A", "B"], 80), "zone": 1,
                          "distance_km": rng.uniform(1, 50, 80), "weight_kg": rng.uniform(0.1, 3, 80),
                          "warehouse": np.where(np.arange(80) < 60, "big", "small"), "ship_date": days})
    size = frame.groupby(["warehouse", "ship_date"])["shipment_id"].transform("size")
    per_day = frame.groupby(["warehouse", "ship_date"]).size()
    ratio = size / frame["warehouse"].map(per_day.groupby(level="warehouse").mean())  # pandas reference
    frame["actual_days"] = np.round(1 + 2 * ratio + rng.normal(0, 0.3, 80))
    given = frame.assign(weekday=frame["ship_date"].dt.weekday, volume_ratio=ratio)
    reference = DeliveryTimeModel().fit(given).predict(given).to_numpy()
    keyed = DeliveryTimeModel(volume_keys="warehouse").fit(frame)
    np.testing.assert_allclose(keyed.predict(frame).to_numpy(), reference)
    unkeyed = DeliveryTimeModel().fit(frame).predict(frame).to_numpy()
    assert np.abs(unkeyed - reference).max() > 0.1  # the keys matter on this data


def test_unseen_lanes_name_the_levels_and_the_shipments():
    model = _constant_model([1, 2, 3], "normal")
    frame = _shipments([1, 2, 3], [1, 1, 1]).assign(carrier=["A", "Z", "Q"])
    with pytest.raises(DataValidationError, match=r"^column 'carrier': levels not seen in training: \['Q', 'Z'\] "
                                                  r"\(the model has \['A'\]\) \(2 offending rows; "
                                                  r"e\.g\. \[\(101,\), \(102,\)\]\)$"):
        model.predict(frame)


def test_fit_and_predict_refuse_what_is_not_an_in_memory_frame_naming_shipments():
    import dask.dataframe as dd

    model = _constant_model([1, 2, 3], "normal")
    lazy = dd.from_pandas(_shipments([1, 2, 3], [1, 1, 1]), npartitions=1)  # drivers given: no delivery_features
    for method in (DeliveryTimeModel().fit, model.predict, model.late_probability):
        with pytest.raises(DataValidationError, match=r"^parameter 'shipments': expected an in-memory pandas or "
                                                      r"cuDF DataFrame, got a list$"):
            method([1, 2])
        with pytest.raises(DataValidationError, match=r"^parameter 'shipments': .*call \.compute\(\) first"):
            method(lazy)


_PURPOSES = {"fit": ("actual_days", "to fit the delivery-time model"),
             "predict": (None, "to predict delivery days"), "late_probability": ("promised_days", "for late risk")}


@pytest.mark.parametrize("call", sorted(_PURPOSES))
def test_every_check_on_given_drivers_names_the_column_the_purpose_and_the_shipment(call):
    days_col, purpose = _PURPOSES[call]
    frame = _shipments([1, 2, 3], [1, 1, 1])
    model = _constant_model([1, 2, 3], "normal")
    method = DeliveryTimeModel().fit if call == "fit" else getattr(model, call)
    shipment = r" \(1 offending rows; e\.g\. \[\(101,\)\]\)"
    bad = [(frame.assign(volume_ratio=["a", "b", "c"]), rf"column 'volume_ratio': must be numeric.* \(needed {purpose}\)"),
           (frame.assign(distance_km=[1.0, -1.0, 2.0]), rf"column 'distance_km': negative values \(needed {purpose}\)"
                                                        rf"{shipment}$"),
           (frame.assign(zone=[1, None, 2]), rf"column 'zone': missing values \(needed {purpose}\){shipment}$")]
    if days_col:
        bad += [(frame.assign(**{days_col: ["a", "b", "c"]}), rf"column '{days_col}': must be numeric.* \(needed {purpose}\)"),
                (frame.assign(**{days_col: [1.0, np.inf, 1.0]}), rf"column '{days_col}': infinite values \(needed "
                                                                  rf"{purpose}\).*{shipment}$"),
                (frame.assign(**{days_col: [1.0, -2.0, 1.0]}), rf"column '{days_col}': negative values \(needed "
                                                                rf"{purpose}\){shipment}$")]
    for shipments, message in bad:
        with pytest.raises(DataValidationError, match="^" + message):
            method(shipments)


# --------------------------------------------------------------------------- delivery_features at the edges


def _dated(dates, **columns):
    n = len(dates)
    base = {"shipment_id": 7 + np.arange(n), "carrier": "A", "zone": 1, "distance_km": 10.0, "weight_kg": 1.0,
            "ship_date": pd.to_datetime(dates, format="ISO8601")}
    return pd.DataFrame({**base, **columns})


def test_shipments_at_other_times_of_one_day_share_its_volume_and_weekday():
    # a real bug fixed here: the day was the exact timestamp, so 09:00 and 17:30 counted as two days of one shipment
    frame = _dated(["2024-01-01 09:00", "2024-01-01 17:30", "2024-01-02 08:00", "1969-12-31 23:59",
                    "1969-12-31 00:01", "1900-01-01 12:00"])
    out = delivery_features(frame)
    day = frame["ship_date"].dt.normalize()  # pandas reference: count per calendar day
    daily = frame.groupby(day)["shipment_id"].transform("size")
    np.testing.assert_array_equal(out["daily_volume"].to_numpy(), daily.to_numpy(float))
    np.testing.assert_allclose(out["volume_ratio"].to_numpy(), daily / frame.groupby(day).size().mean())
    np.testing.assert_array_equal(out["weekday"].to_numpy(), frame["ship_date"].dt.weekday.to_numpy())
    assert out["weekday"].dtype.kind == "i"  # whole weekdays, as documented
    assert out["daily_volume"].tolist() == [2.0, 2.0, 1.0, 2.0, 2.0, 1.0]


def test_delivery_features_errors_name_the_parameter_the_column_the_purpose_and_the_shipment():
    import dask.dataframe as dd

    frame = _dated(["2024-01-01", "2024-01-02", "2024-01-02"])
    shipment = r" \(1 offending rows; e\.g\. \[\(8,\)\]\)$"
    cases = [([1], {}, r"parameter 'shipments': expected an in-memory pandas or cuDF DataFrame, got a list$"),
             (dd.from_pandas(frame, npartitions=1), {}, r"parameter 'shipments': .*call \.compute\(\) first"),
             (frame, {"volume_keys": 5}, r"parameter 'volume_keys': expected a column name"),
             (frame.drop(columns="zone"), {}, r"column 'zone': missing \(needed for delivery features\); available"),
             (frame.iloc[:0], {}, r"the frame is empty \(nothing for delivery features\)$"),
             (frame.assign(weight_kg=["a", "b", "c"]), {}, r"column 'weight_kg': must be numeric.* \(needed for "
                                                           r"delivery features\)"),
             (frame.assign(weight_kg=[1.0, -1.0, 1.0]), {}, rf"column 'weight_kg': negative values \(needed for "
                                                            rf"delivery features\){shipment}"),
             (frame.assign(zone=[1, None, 1]), {}, rf"column 'zone': missing values \(needed for delivery "
                                                   rf"features\){shipment}")]
    for shipments, kwargs, message in cases:
        with pytest.raises(DataValidationError, match="^" + message):
            delivery_features(shipments, **kwargs)


def test_the_models_id_column_names_shipments_when_the_drivers_are_computed():
    frame = _dated(["2024-01-01", "2024-01-02", "2024-01-02"]).rename(columns={"shipment_id": "order"})
    frame["actual_days"] = [1.0, 2.0, 3.0]
    model = DeliveryTimeModel(id_col="order").fit(frame)
    with pytest.raises(DataValidationError, match=r"^column 'distance_km': negative values \(needed for delivery "
                                                  r"features\) \(1 offending rows; e\.g\. \[\(8,\)\]\)$"):
        model.predict(frame.assign(distance_km=[1.0, -1.0, 1.0]))
