"""Streaming features equal the batch features: IncrementalWindows against build_features, row by row."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from toolkit.errors import DataValidationError
from toolkit.features import FeatureSpec, build_features
from toolkit.stream.windows import IncrementalWindows, target_feature_names, window_quantile

START = pd.Timestamp("2024-01-01")
FULL = FeatureSpec(lags=(1, 3, 7), rolling={3: ("mean", "std", "min", "max", "sum", "count", "median", "q0.9"),
                                            7: ("mean", "std", "q0.25")},
                   expanding=("mean", "std", "count", "sum", "min", "max"), ewm_alphas=(0.3, 0.05),
                   calendar=(), fourier=(), min_periods=2)


def _panel(rng, n_series=5, length=40, nan_share=0.1, integer=False):
    """A calendar-complete panel whose series start on different days, with missing values."""
    starts = rng.integers(0, 10, n_series)
    rows = []
    for s in range(n_series):
        for t in range(int(starts[s]), length):
            v = float(rng.poisson(5)) if integer else float(rng.normal(50, 20))
            rows.append((f"s{s}", "web", START + pd.Timedelta(days=t), np.nan if rng.random() < nan_share else v))
    return pd.DataFrame(rows, columns=["sku", "location", "date", "units"]), starts


def _stream(df, starts, spec, length):
    """Features of every row computed by appending the rows one bucket at a time."""
    n_series = len(starts)
    dense = np.full((n_series, length), np.nan)
    for r in df.itertuples():
        dense[int(r.sku[1:]), (r.date - START).days] = r.units
    win = IncrementalWindows(spec, capacity=1)
    win.grow(n_series)
    out = []
    for t in range(length):
        slots = np.flatnonzero(starts <= t)
        if slots.shape[0]:
            feats = win.features(slots)
            for i, slot in enumerate(slots.tolist()):
                out.append({"sku": f"s{slot}", "date": START + pd.Timedelta(days=t),
                            **{k: v[i] for k, v in feats.items()}})
            win.append(slots, dense[slots, t])
    return pd.DataFrame(out)


def _compare(df, starts, spec, length, exact=True):
    batch = build_features(df, spec).sort_values(["sku", "date"]).reset_index(drop=True)
    stream = _stream(df, starts, spec, length).sort_values(["sku", "date"]).reset_index(drop=True)
    names = target_feature_names(spec)
    assert len(batch) == len(stream)
    for name in names:
        a, b = stream[name].to_numpy(), batch[name].to_numpy()
        assert np.array_equal(np.isnan(a), np.isnan(b)), name
        if exact:
            np.testing.assert_array_equal(a[~np.isnan(a)], b[~np.isnan(b)], err_msg=name)
        else:
            np.testing.assert_allclose(a[~np.isnan(a)], b[~np.isnan(b)], rtol=1e-12, atol=1e-9, err_msg=name)
    return names


@pytest.mark.parametrize("shift", [1, 2])
def test_every_target_feature_equals_build_features_to_the_bit(shift):
    rng = np.random.default_rng(shift)
    spec = FeatureSpec(**{**{k: getattr(FULL, k) for k in ("lags", "rolling", "expanding", "ewm_alphas",
                                                              "min_periods")},
                          "calendar": (), "fourier": (), "rolling_shift": shift})
    df, starts = _panel(rng)
    names = _compare(df, starts, spec, 40)
    assert len(names) == 22  # 3 lags, 8 + 3 rolling, 6 expanding, 2 EWM


def test_default_min_periods_and_integer_counts():
    rng = np.random.default_rng(7)
    spec = FeatureSpec(lags=(1, 14), rolling={7: ("mean", "std"), 28: ("mean", "max")}, ewm_alphas=(0.5,),
                       calendar=(), fourier=())
    df, starts = _panel(rng, n_series=4, length=60, nan_share=0.0, integer=True)
    _compare(df, starts, spec, 60)


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 10_000), nan_share=st.sampled_from([0.0, 0.3, 0.9]),
       window=st.integers(1, 6), lag=st.integers(1, 8), alpha=st.floats(0.01, 1.0))
def test_random_specs_and_panels_match_the_batch_kernels(seed, nan_share, window, lag, alpha):
    rng = np.random.default_rng(seed)
    spec = FeatureSpec(lags=(lag,), rolling={window: ("mean", "std", "min", "count", "median")},
                       ewm_alphas=(alpha,), expanding=("mean", "max"), calendar=(), fourier=(), min_periods=1)
    df, starts = _panel(rng, n_series=3, length=20, nan_share=nan_share)
    _compare(df, starts, spec, 20)


def test_state_survives_a_round_trip_and_growth():
    rng = np.random.default_rng(3)
    win = IncrementalWindows(FULL, capacity=2)
    for _ in range(12):
        win.append(np.array([0, 1]), rng.normal(size=2))
    copy = IncrementalWindows(FULL, capacity=1)
    copy.load_state_dict({k: v.copy() for k, v in win.state_dict().items()})
    copy.grow(10)
    win.grow(10)
    for _ in range(5):
        values = rng.normal(size=2)
        win.append(np.array([0, 1]), values)
        copy.append(np.array([0, 1]), values)
    a, b = win.features(np.array([0, 1])), copy.features(np.array([0, 1]))
    for name in a:
        np.testing.assert_array_equal(a[name], b[name])
    assert copy.capacity >= 10 and int(copy.rows[0]) == 17


def test_last_reads_the_ring_right_aligned():
    spec = FeatureSpec(lags=(1,), rolling={}, calendar=(), fourier=())
    win = IncrementalWindows(spec, capacity=2, history=4)
    for v in (1.0, 2.0, 3.0, 4.0, 5.0):
        win.append(np.array([0]), np.array([v]))
    win.append(np.array([1]), np.array([9.0]))
    assert win.last(np.array([0, 1]), 3).tolist()[0] == [3.0, 4.0, 5.0]
    assert np.isnan(win.last(np.array([1]), 3)[0, :2]).all()
    with pytest.raises(DataValidationError, match="width"):
        win.last(np.array([0]), 99)


def test_window_quantile_is_numpys_linear_quantile_ignoring_nan():
    rng = np.random.default_rng(0)
    window = rng.normal(size=(50, 7))
    window[rng.random(window.shape) < 0.2] = np.nan
    window[3] = np.nan
    for q in (0.0, 0.25, 0.5, 0.9, 1.0):
        with np.errstate(all="ignore"), pytest.warns(RuntimeWarning):
            expected = np.nanquantile(window, q, axis=1)
        np.testing.assert_allclose(window_quantile(window, q), expected, rtol=1e-12, equal_nan=True)


def test_calendar_features_of_the_next_row_match_build_features():
    spec = FeatureSpec(lags=(1,), rolling={}, calendar=("dayofweek", "month", "is_weekend"),
                       fourier=((7, 2),))
    win = IncrementalWindows(spec, capacity=1)
    stamp = pd.Timestamp("2024-03-09")
    cal = win.calendar(stamp.value)
    df = pd.DataFrame({"sku": "a", "location": "web", "date": pd.date_range("2024-03-07", stamp), "units": 1.0})
    row = build_features(df, spec).iloc[-1]
    for name, value in cal.items():
        assert float(np.asarray(value)[0]) == pytest.approx(float(row[name]), abs=1e-12), name


def test_refuses_exogenous_specs_and_foreign_state():
    with pytest.raises(DataValidationError, match="exog"):
        IncrementalWindows(FeatureSpec(lags=(1,), rolling={}, exog=("price",), calendar=(), fourier=()))
    with pytest.raises(DataValidationError, match="spec"):
        IncrementalWindows({"lags": (1,)})
    win = IncrementalWindows(FULL, capacity=2)
    other = IncrementalWindows(FeatureSpec(lags=(1,), rolling={}, calendar=(), fourier=()), capacity=2)
    with pytest.raises(DataValidationError, match="state"):
        win.load_state_dict(other.state_dict())
