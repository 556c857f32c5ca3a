"""The panel layer: how a long-format frame becomes arrays, and back, in one place.

Every verb of the toolkit (cleanse, features, regress, forecast, anomaly, decisions) takes a
long-format panel -- series keys (``id_cols``), a time column (``time_col``), values -- and
computes on arrays. This package is the only place that crosses between the two:

* :mod:`~toolkit.panel.checks` -- the input contract: defaults for the column names, the
  checks every public function runs at its edge (frame type, columns present, numeric,
  datetime, finite, unique keys, parameters and their choices), and the one error format;
* :mod:`~toolkit.panel.frames` -- frame verbs dispatched per frame library (column values,
  take rows, assign columns), so algorithm modules never branch on pandas versus cuDF;
* :mod:`~toolkit.panel.layout` -- :class:`SeriesLayout`, the rows sorted once by series and
  time, with segment boundaries, reused by every per-series step;
* :mod:`~toolkit.panel.timeaxis` -- calendar frequencies (``"MS"`` is a month, never a
  millisecond), inference, spacing checks and future timestamps;
* :mod:`~toolkit.panel.partitions` -- the one Dask strategy for per-series work
  (series-whole partitions) behind :func:`per_series`.

Examples
--------
>>> import pandas as pd
>>> from toolkit import panel
>>> df = pd.DataFrame({"sku": ["a", "a", "b"], "date": pd.to_datetime(["2024-02-01", "2024-01-01", "2024-01-01"]),
...                    "units": [2.0, 1.0, 5.0]})
>>> layout = panel.SeriesLayout.from_frame(df, "sku", "date")
>>> layout.gather(panel.values(df, "units")).tolist(), layout.n_series
([1.0, 2.0, 5.0], 2)
>>> panel.infer_freq(df, "sku")
'MS'
"""

from toolkit.panel.checks import (
    DEFAULT_ID_COLS,
    DEFAULT_TARGET_COL,
    DEFAULT_TIME_COL,
    KEYS_SHOWN,
    as_list,
    check_choice,
    check_frame,
    check_int,
    check_number,
    examples,
    fail,
    require_columns,
    require_datetime,
    require_finite,
    require_not_empty,
    require_not_null,
    require_numeric,
    require_unique,
)
from toolkit.panel.frames import assign, categorical, from_host, namespace, take, time_values, values
from toolkit.panel.layout import SeriesLayout
from toolkit.panel.partitions import (
    assume_partitioned_by_series,
    ensure_partitioned_by_series,
    fit_columns,
    is_partitioned_by_series,
    map_series,
    partition_by_series,
    per_partition,
    per_series,
    per_series_pair,
)
from toolkit.panel.timeaxis import (
    SpacingReport,
    calendar_unit,
    check_spacing,
    future_dates,
    infer_freq,
    periods_per_year,
    season_length,
    step_index,
    to_offset,
)

__all__ = [
    "DEFAULT_ID_COLS",
    "DEFAULT_TARGET_COL",
    "DEFAULT_TIME_COL",
    "KEYS_SHOWN",
    "SeriesLayout",
    "SpacingReport",
    "as_list",
    "assign",
    "calendar_unit",
    "assume_partitioned_by_series",
    "categorical",
    "ensure_partitioned_by_series",
    "fit_columns",
    "check_choice",
    "check_frame",
    "check_int",
    "check_number",
    "check_spacing",
    "examples",
    "fail",
    "from_host",
    "future_dates",
    "infer_freq",
    "is_partitioned_by_series",
    "map_series",
    "namespace",
    "partition_by_series",
    "per_partition",
    "per_series",
    "per_series_pair",
    "periods_per_year",
    "require_columns",
    "require_datetime",
    "require_finite",
    "require_not_empty",
    "require_not_null",
    "require_numeric",
    "require_unique",
    "season_length",
    "step_index",
    "take",
    "time_values",
    "to_offset",
    "values",
]
