"""Leakage-safe feature engineering for long-format panels, one code path for CPU and GPU.

Turns a panel (series keys, a datetime column, a target, exogenous columns) into a model
matrix. The package is split by concern:

* :mod:`~toolkit.features.target` -- the target's own past: lags, rolling and expanding
  statistics, EWM means, differences and percentage changes;
* :mod:`~toolkit.features.calendar` -- calendar and holiday features, Fourier terms;
* :mod:`~toolkit.features.commerce` -- price and promotion, channel share, past-only
  target encoding;
* :mod:`~toolkit.features.media` -- marketing response: adstock and Hill saturation;
* :mod:`~toolkit.features.spec` -- :class:`FeatureSpec` declares a feature set as data and
  :func:`build_features` computes it, for the whole panel or the last rows of each series;
* :mod:`~toolkit.features.inputs` -- the checks every function runs at its edge and the
  **non-finite policy**: NaN is a missing value handled as pandas handles it (windows skip
  it, so one NaN never makes later windows NaN); ``+-inf`` in a target or value column is
  rejected with a :class:`~toolkit.errors.DataValidationError` naming the column and keys.

The math lives in :mod:`toolkit.kernels.windows` (array-API engine, NumPy or CuPy) and
:mod:`toolkit.kernels.compiled` (numba, CPU); the frames go through :mod:`toolkit.panel`
(:class:`~toolkit.panel.SeriesLayout` sorts a panel once, or not at all when it is already
sorted; :func:`~toolkit.panel.per_series` runs the same function on every series partition
of a Dask frame). Features are float64 columns (calendar ones int8/int16/bool, the holiday
name categorical) appended to the input columns without copying them; a column that already
has a feature's name is replaced (and moves to the end). Output rows keep the input order
and index.

Examples
--------
>>> import pandas as pd
>>> from toolkit.features import FeatureSpec, build_features
>>> df = pd.DataFrame({"sku": "a", "location": "web", "date": pd.date_range("2024-01-01", periods=4),
...                    "units": [1.0, 2.0, float("nan"), 4.0]})
>>> spec = FeatureSpec(lags=(1,), rolling={2: ("mean",)}, min_periods=1, calendar=(), fourier=())
>>> build_features(df, spec)["rolling_mean_2"].tolist()
[nan, 1.0, 1.5, 2.0]
"""

from toolkit.features.calendar import CALENDAR_FEATURES, HOLIDAY_FEATURES, INTRADAY_FEATURES, add_calendar, add_fourier
from toolkit.features.commerce import add_channel_share, add_price_features, add_target_encoding
from toolkit.features.media import add_adstock, add_saturation
from toolkit.features.spec import FREQUENCY_FEATURES, FULL_HISTORY, FeatureSpec, build_features
from toolkit.features.target import add_diff, add_ewm, add_expanding, add_lags, add_pct_change, add_rolling
from toolkit.kernels.windows import (
    EXPANDING_STATS,
    ROLLING_STATS,
    ewm_kernel,
    expanding_kernel,
    lag_kernel,
    rolling_kernel,
)

__all__ = [
    "FeatureSpec",
    "build_features",
    "add_lags",
    "add_rolling",
    "add_expanding",
    "add_ewm",
    "add_diff",
    "add_pct_change",
    "add_calendar",
    "add_fourier",
    "add_price_features",
    "add_channel_share",
    "add_target_encoding",
    "add_adstock",
    "add_saturation",
    "lag_kernel",
    "rolling_kernel",
    "expanding_kernel",
    "ewm_kernel",
    "CALENDAR_FEATURES",
    "HOLIDAY_FEATURES",
    "ROLLING_STATS",
    "EXPANDING_STATS",
    "FULL_HISTORY",
    "FREQUENCY_FEATURES",
    "INTRADAY_FEATURES",
]
