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

from toolkit.decisions.logistics import DeliveryTimeModel, evaluate_late_risk, late_risk

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
    return pd.DataFrame({"shipment_id": np.arange(n), "carrier": "A", "zone": 1, "distance_km": 10.0,
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
