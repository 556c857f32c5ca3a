"""Edge cases of toolkit.regress.metrics (issue 19): seasonal MASE, zero actuals, 0/0, quantile and
interval boundaries, signs -- each against scikit-learn or a hand-computed value."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn import metrics as skm

from toolkit import regress as rg
from toolkit.errors import DataValidationError


def _seasonal_naive_scale(history, season):
    """In-sample MAE of the seasonal naive forecast, written as a plain loop over complete pairs."""
    gaps = [abs(history[t] - history[t - season]) for t in range(season, len(history))
            if not (np.isnan(history[t]) or np.isnan(history[t - season]))]
    return sum(gaps) / len(gaps)


def test_mase_season_7_against_hand_computed_weekly_scale():
    history = [3.0, 5.0, 2.0, 8.0, 6.0, 1.0, 4.0, 5.0, 9.0, 2.0, 6.0, 6.0, 3.0, 7.0]
    # |y[t] - y[t-7]| for t = 7..13: 2, 4, 0, 2, 0, 2, 3 -> scale 13/7; MAE of the forecasts: (3 + 1) / 2
    assert rg.mase([10.0, 4.0], [7.0, 5.0], history, season=7) == pytest.approx(2.0 / (13.0 / 7.0))
    assert _seasonal_naive_scale(history, 7) == pytest.approx(13.0 / 7.0)
    # the lag is the season, not 1: the lag-1 scale of the same history is different
    assert rg.mase([10.0, 4.0], [7.0, 5.0], history, season=1) == pytest.approx(2.0 / _seasonal_naive_scale(history, 1))
    assert _seasonal_naive_scale(history, 1) != pytest.approx(13.0 / 7.0)
    # season defaults to 1, the plain naive forecast
    assert rg.mase([10.0, 4.0], [7.0, 5.0], history) == pytest.approx(2.0 / _seasonal_naive_scale(history, 1))


def test_mase_season_12_against_hand_computed_monthly_scale():
    history = [10, 12, 14, 11, 9, 8, 7, 9, 10, 12, 15, 16, 11, 12, 16, 10, 9, 10, 7, 8, 10, 14, 15, 18, 12, 11]
    # |y[t] - y[t-12]| for t = 12..25: 1 0 2 1 0 2 0 1 0 2 0 2 1 1 -> 13 over 14 pairs
    actual, forecast = [13.0, 12.0, 17.0], [12.0, 14.0, 17.0]
    assert rg.mase(actual, forecast, pd.Series(history, dtype="float64"), season=12) == pytest.approx(
        1.0 / (13.0 / 14.0))
    assert _seasonal_naive_scale(np.asarray(history, float), 12) == pytest.approx(13.0 / 14.0)


def test_mase_leaves_out_pairs_with_a_missing_history_value():
    history = np.array([4.0, 1.0, 6.0, np.nan, 2.0, 3.0, 9.0, 5.0])
    # season 3, t = 3..7: (nan,4) out, (2,1)->1, (3,6)->3, (9,nan) out, (5,2)->3 -> 7/3
    assert rg.mase([2.0], [4.0], history, season=3) == pytest.approx(2.0 / (7.0 / 3.0))
    assert _seasonal_naive_scale(history, 3) == pytest.approx(7.0 / 3.0)


def test_mase_is_nan_without_a_usable_scale():
    assert np.isnan(rg.mase([1.0], [2.0], [5.0, 5.0, 5.0, 5.0], season=2))  # flat history: zero scale
    assert np.isnan(rg.mase([1.0], [2.0], [1.0, 2.0, 3.0], season=7))  # history shorter than the season
    assert np.isnan(rg.mase([1.0], [2.0], [1.0, np.nan, np.nan, 4.0], season=2))  # every pair incomplete


def test_smape_counts_zero_over_zero_as_zero_and_uses_absolute_values():
    assert rg.smape([0.0, 0.0], [0.0, 0.0]) == 0.0
    assert rg.smape([0.0, 1.0, 4.0], [0.0, 3.0, 4.0]) == pytest.approx((0.0 + 2 * 2 / 4 + 0.0) / 3)
    assert rg.smape([-2.0], [2.0]) == pytest.approx(2.0)  # opposite signs: the upper end of [0, 2]
    assert rg.smape([0.0], [5.0]) == pytest.approx(2.0)
    # small magnitudes (|y| + |yhat| below 1) are scaled like any other: 2 * 0.4 / 0.8 and 2 * 0.1 / 0.5
    assert rg.smape([0.2, 0.3], [0.6, 0.2]) == pytest.approx((1.0 + 0.4) / 2)


def test_mape_skips_zero_actuals_and_matches_sklearn_on_the_rest():
    y = np.array([0.0, 2.0, 4.0, 0.0, -5.0])
    f = np.array([1.0, 3.0, 2.0, 7.0, -4.0])
    nonzero = y != 0
    expected = skm.mean_absolute_percentage_error(y[nonzero], f[nonzero])
    assert expected == pytest.approx((0.5 + 0.5 + 0.2) / 3)
    assert rg.mape(y, f) == pytest.approx(expected)
    assert np.isnan(rg.mape([0.0, 0.0], [1.0, 2.0]))


@pytest.mark.parametrize("quantile", [0.1, 0.25, 0.9])
def test_pinball_loss_matches_sklearn_on_both_sides(quantile):
    rng = np.random.default_rng(3)
    y = rng.uniform(0, 10, 40)
    f = y + rng.normal(scale=2.0, size=40)  # errors of both signs
    assert rg.pinball_loss(y, f, quantile) == pytest.approx(skm.mean_pinball_loss(y, f, alpha=quantile))


def test_pinball_loss_hand_values_and_open_quantile_range():
    # under-forecast by 2 costs q * 2, over-forecast by 2 costs (1 - q) * 2
    assert rg.pinball_loss([5.0], [3.0], 0.1) == pytest.approx(0.2)
    assert rg.pinball_loss([5.0], [7.0], 0.1) == pytest.approx(1.8)
    assert rg.pinball_loss([5.0, 5.0], [3.0, 7.0], 0.9) == pytest.approx((1.8 + 0.2) / 2)
    assert rg.pinball_loss([5.0], [3.0]) == pytest.approx(1.0)  # default: the median, half the absolute error
    for edge in (0.0, 1.0):
        with pytest.raises(DataValidationError, match="parameter 'quantile'"):
            rg.pinball_loss([1.0], [1.0], quantile=edge)
    assert rg.pinball_loss([1.0], [0.0], 0.001) == pytest.approx(0.001)  # just inside the open range


def test_coverage_counts_actuals_on_the_bounds_as_inside():
    y = [1.0, 3.0, 5.0, 0.0, 2.0]
    lower = [1.0, 0.0, 0.0, 1.0, 2.5]
    upper = [2.0, 3.0, 4.0, 2.0, 3.0]
    # on the lower bound, on the upper bound, above, below, below -> 2 of 5
    assert rg.coverage(y, lower, upper) == pytest.approx(2 / 5)
    assert rg.coverage([2.0], [2.0], [2.0]) == 1.0


def test_wape_bias_and_rmse_hand_values():
    assert rg.wape([-2.0, 2.0], [0.0, 2.0]) == pytest.approx(2.0 / 4.0)  # absolute actuals in the denominator
    assert np.isnan(rg.wape([0.0, 0.0], [1.0, 2.0]))
    assert rg.wape([0.2, -0.3], [0.4, -0.3]) == pytest.approx(0.2 / 0.5)  # a denominator below 1 is kept
    assert rg.bias([1.0, 2.0], [2.0, 4.0]) == pytest.approx(1.5)  # over-forecasting is positive
    assert rg.bias([2.0, 4.0], [1.0, 2.0]) == pytest.approx(-1.5)
    assert rg.rmse([0.0, 0.0], [3.0, -4.0]) == pytest.approx(np.sqrt(12.5))
    assert rg.mse([0.0, 0.0], [3.0, -4.0]) == pytest.approx(12.5)


def test_all_missing_pairs_give_nan_not_an_error():
    for metric in (rg.mae, rg.mse, rg.mape, rg.smape, rg.bias):
        assert np.isnan(metric([np.nan, 1.0], [2.0, np.nan]))
    assert np.isnan(rg.pinball_loss([np.nan], [1.0], 0.3))
    assert np.isnan(rg.coverage([1.0], [np.nan], [2.0]))


def test_infinite_values_are_named_with_their_positions():
    with pytest.raises(DataValidationError, match=r"^column 'yhat': infinite values; replace or drop them first "
                                                  r"\(1 offending rows; e\.g\. \['position 2'\]\)"):
        rg.mae([1.0, 2.0, 3.0], [1.0, 2.0, np.inf])
    with pytest.raises(DataValidationError, match=r"^column 'y_train': infinite values.*'position 0'"):
        rg.mase([1.0], [1.0], [-np.inf, 1.0, 2.0])
    with pytest.raises(DataValidationError, match=r"^parameter 'season': must be >= 1"):
        rg.mase([1.0], [1.0], [1.0, 2.0], season=0)
    with pytest.raises(DataValidationError, match=r"'yhat'.*3 values but y has 2"):
        rg.bias([1.0, 2.0], [1.0, 2.0, 3.0])
    with pytest.raises(DataValidationError, match=r"'upper'.*1 values but y has 2"):  # the third input named
        rg.coverage([1.0, 2.0], [0.0, 1.0], [3.0])


def test_column_vectors_are_flattened_not_broadcast():
    column = np.array([[1.0], [2.0], [3.0]])  # a (3, 1) column would broadcast against (3,) to a 3 x 3 grid
    assert rg.mae(column, [1.0, 2.0, 4.0]) == pytest.approx(1 / 3)
    assert rg.bias([1.0, 2.0, 4.0], column) == pytest.approx(-1 / 3)
    assert rg.mase(column, [1.0, 2.0, 4.0], np.array([[1.0], [3.0], [2.0]])) == pytest.approx((1 / 3) / 1.5)


@pytest.mark.filterwarnings("error")
def test_metrics_of_no_scored_pair_are_nan_without_a_warning():
    """Every pair missing: NaN quietly (NumPy's mean of an empty array would warn 'Mean of empty slice')."""
    nan = float("nan")
    for metric in (rg.mae, rg.mse, rg.bias, rg.smape):
        assert np.isnan(metric([nan, 1.0], [2.0, nan]))
    assert np.isnan(rg.coverage([nan], [0.0], [1.0]))
