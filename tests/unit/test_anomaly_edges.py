"""Edges of toolkit.anomaly the main tests left open (issue 19): prices at or below zero in order lines,
``predict_confidence`` against PyOD, and the messages of refused arguments."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from pyod.models.copod import COPOD as PyODCOPOD
from pyod.models.ecod import ECOD as PyODECOD

from toolkit.anomaly import COPOD, ECOD, evaluate, order_line_anomalies
from toolkit.anomaly.domain import group_robust_z
from toolkit.errors import DataValidationError


def test_order_prices_at_or_below_zero_are_price_deviations_kept_out_of_the_reference():
    """sku a: 10, 30 and a free line; sku b: three 5s and a negative price.

    The reference of a is the median of log 10 and log 30 only (the geometric mean sqrt(300)),
    so 10 and 30 sit log(sqrt 3) / log 2 = 0.79 price ratios away and are clean; counting the
    zero as log 0 = -inf would move the median to log 10 and flag the 30 (log2 3 = 1.58).
    """
    orders = pd.DataFrame({"order_id": range(7), "sku": ["a", "a", "a", "b", "b", "b", "b"],
                           "quantity": [1.0, 1.0, 1.0, 3.0, 3.0, 3.0, 3.0],
                           "unit_price": [10.0, 30.0, 0.0, 5.0, 5.0, 5.0, -5.0]})
    out = order_line_anomalies(orders)
    assert out["reason"].tolist() == ["", "", "price_deviation", "", "", "", "price_deviation"]
    assert out["is_anomaly"].tolist() == [False, False, True, False, False, False, True]
    half_log3 = 0.5 * math.log(3.0) / math.log(2.0)
    # constant quantities: robust z 0, so the score is the price deviation alone
    np.testing.assert_allclose(out["anomaly_score"].to_numpy()[[0, 1, 3, 4, 5]],
                               [half_log3, half_log3, 0.0, 0.0, 0.0], rtol=1e-12, atol=1e-12)
    assert np.isposinf(out["anomaly_score"].to_numpy()[[2, 6]]).all()


def test_group_robust_z_names_what_the_column_is_needed_for():
    df = pd.DataFrame({"g": ["a", "a"], "x": ["1", "2"]})
    with pytest.raises(DataValidationError) as err:
        group_robust_z(df, "x", "g")
    assert err.value.column == "x" and "(needed for a robust z)" in str(err.value)


def test_evaluate_refuses_join_keys_that_are_not_names_naming_on():
    dates = pd.date_range("2024-01-01", periods=3)
    scored = pd.DataFrame({"sku": "a", "location": "web", "date": dates, "anomaly_score": [0.0, 1.0, 2.0]})
    truth = pd.DataFrame({"table": "sales", "type": "demand_spike", "sku": "a", "location": "web",
                          "date": dates[[1]]})
    for bad in (5, ["sku", 3]):
        with pytest.raises(DataValidationError) as err:
            evaluate(truth, scored, on=bad)
        assert err.value.parameter == "on" and "parameter 'on'" in str(err.value)


@pytest.mark.parametrize("ours, theirs", [(ECOD, PyODECOD), (COPOD, PyODCOPOD)])
def test_predict_confidence_equals_pyod(ours, theirs):
    """PyOD's confidence (Perini et al.): 1 - BinomCDF(n - floor(n c); n, (1 + #train <= s) / (2 + n)),
    complemented for inliers; rows far inside, far outside and at the threshold."""
    rng = np.random.default_rng(19)
    X = rng.standard_normal((200, 3))
    Y = np.vstack([rng.standard_normal((40, 3)), [[6.0, -6.0, 6.0], [0.0, 0.0, 0.0]]])
    a = ours(contamination=0.1).fit(X)
    b = theirs(contamination=0.1).fit(X)
    want = b.predict_confidence(Y)
    np.testing.assert_allclose(a.predict_confidence(Y), want, rtol=1e-9, atol=1e-12)
    labels, confidence = a.predict(Y, return_confidence=True)
    np.testing.assert_array_equal(labels, b.predict(Y))
    np.testing.assert_allclose(confidence, want, rtol=1e-9, atol=1e-12)
    probs, confidence = a.predict_proba(Y, return_confidence=True)
    np.testing.assert_allclose(confidence, want, rtol=1e-9, atol=1e-12)
    assert 0.0 < want.min() and want.max() <= 1.0 and want.std() > 0.01  # not a constant the code could hit by luck
