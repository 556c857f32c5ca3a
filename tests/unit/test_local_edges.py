"""Edges of the local models and their kernels that the reference comparisons of test_local.py
do not reach: a user model built on ``LocalModel`` without a season, the length rules of
``ets_eligible``, the no-trend start level, and the compass search's default first step.

References: pandas groupby means, numpy means and least-squares lines, hand-computed cases.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from toolkit.forecast import LocalModel
from toolkit.kernels.search import compass_search, grid
from toolkit.kernels.smoothing import ets_eligible, initial_states


class _RowMean:
    """The state of :class:`_MeanModel`: every series' mean, repeated."""

    def __init__(self, mean: np.ndarray) -> None:
        self.mean = mean

    def forecast(self, h: int) -> np.ndarray:
        return np.repeat(self.mean[:, None], h, axis=1)


class _MeanModel(LocalModel):
    """A user's local model: no ``season_length`` parameter at all (the base class must cope)."""

    def __init__(self, horizon=None, stockouts="exclude", freq=None, calibration_windows=0, irregular="raise",
                 spec=None, tol=1e-4):
        self._keep(locals())

    def _fit_matrix(self, y, lengths, m):
        self.season_seen_ = m
        return _RowMean(np.nanmean(y, axis=1)), np.full(y.shape[0], "mean", dtype=object), {}


def test_a_local_model_without_season_length_fits_with_the_frequency_season():
    rng = np.random.default_rng(3)
    df = pd.concat([pd.DataFrame({"sku": sku, "location": "web", "date": pd.date_range("2024-01-01", periods=n),
                                  "units": rng.poisson(5.0, n).astype(float)})
                    for sku, n in (("a", 9), ("b", 14))], ignore_index=True)
    model = _MeanModel(horizon=2).fit(df)
    assert model.season_seen_ == 7  # daily data: the frequency's season, as the docstring promises
    out = model.predict()
    want = df.groupby("sku")["units"].mean()
    np.testing.assert_allclose(out["forecast"].to_numpy(), np.repeat(want.loc[["a", "b"]].to_numpy(), 2))


@pytest.mark.parametrize("trend, least", [("none", 1), ("add", 3), ("damped", 4)])
def test_ets_eligible_needs_exactly_the_documented_number_of_values(trend, least):
    """A trend needs three values, a damped trend four, a level one: the bound itself is eligible."""
    lengths = np.array([least - 1, least, least + 1])
    y = np.where(np.arange(6)[None, :] < lengths[:, None], 2.0, np.nan)
    assert ets_eligible(y, lengths, 1, trend, "none").tolist() == [False, True, True]
    # with a season of 3: two whole cycles (6 values) are needed on top of the trend's own rule
    y6 = np.where(np.arange(8)[None, :] < np.array([5, 6])[:, None], 2.0, np.nan)
    assert ets_eligible(y6, np.array([5, 6]), 3, trend, "add").tolist() == [False, True]


def test_initial_level_without_trend_is_the_mean_of_the_first_ten_values():
    """No trend: the least-squares line through the first ten values, read at their middle = their mean."""
    y = np.array([[10.0, 12.0, 14.0, 16.0, 18.0, 20.0, 22.0, 24.0, 26.0, 28.0, 100.0, 100.0],
                  [5.0, 1.0, 4.0, 1.0, 5.0, 9.0, 2.0, 6.0, 5.0, 3.0, 5.0, 8.0],
                  [3.0, 7.0, 8.0, np.nan, np.nan, np.nan, np.nan, np.nan, np.nan, np.nan, np.nan, np.nan]])
    lengths = np.array([12, 12, 3])
    level0, slope0, _ = initial_states(y, lengths)
    np.testing.assert_allclose(level0, [19.0, np.mean(y[1, :10]), 6.0])
    np.testing.assert_array_equal(slope0, 0.0)
    # with a trend: the line's value one step before the first value, and its slope
    level_t, slope_t, _ = initial_states(y, lengths, trend=True)
    for i, n in enumerate((10, 10, 3)):
        slope, intercept = np.polyfit(np.arange(n), y[i, :n], 1)
        assert slope_t[i] == pytest.approx(slope) and level_t[i] == pytest.approx(intercept - slope)


def test_compass_search_first_step_is_half_the_grid_spacing():
    """A 3 x 3 start grid on the unit square (spacing 0.5): the first move is 0.25 along one axis."""
    target = np.array([[0.7, 0.5]])

    def loss(points):
        return ((points - target[:, None, :]) ** 2).sum(axis=-1)

    start = grid([0.0, 0.5, 1.0], [0.0, 0.5, 1.0])
    best, value = compass_search(loss, 1, start, [0.0, 0.0], [1.0, 1.0], max_iter=1)
    # grid best (0.5, 0.5); candidates (0.75, 0.5), (0.5, 0.75), (0.25, 0.5), (0.5, 0.25): the first wins
    np.testing.assert_allclose(best, [[0.75, 0.5]])
    assert value[0] == pytest.approx(0.05 ** 2)
