"""Cleansing: validate, repair and integrate raw retail data, accounting for every row.

The first thing a user runs on raw orders, sales, inventory, shipments and marketing data:

* :func:`validate` checks a frame against a :class:`Schema` (required columns, dtypes with or
  without safe coercion, nullability, ranges, unique keys); :data:`SCHEMAS` holds one schema
  per table of :func:`toolkit.datasets.make_retail` (:mod:`~toolkit.cleanse.schemas`,
  :mod:`~toolkit.cleanse.validation`);
* :func:`coerce_types` parses numeric strings, dates and categories, reporting what it cannot
  parse (:mod:`~toolkit.cleanse.coercion`); :func:`drop_duplicates`
  (:mod:`~toolkit.cleanse.duplicates`), :func:`complete_calendar` on any pandas calendar
  (:mod:`~toolkit.cleanse.calendar`), :func:`fill_missing` (:mod:`~toolkit.cleanse.fill`),
  :func:`flag_outliers` and :func:`clip_outliers` (:mod:`~toolkit.cleanse.outliers`),
  :func:`scale` with a fitted :class:`Scaler` (:mod:`~toolkit.cleanse.scaling`),
  :func:`pseudonymize` (:mod:`~toolkit.cleanse.privacy`) and :func:`integrate_channels`
  (:mod:`~toolkit.cleanse.channels`) repair and reshape;
* :func:`clean` runs a declared list of steps (:mod:`~toolkit.cleanse.pipeline`) and returns
  the clean frame with a :class:`CleanReport` (:mod:`~toolkit.cleanse.report`) in which rows
  in = rows out + rows dropped - rows inserted, per step and reason.

Design
------
* **One in-memory step, many backends.** Every transform is a step
  (:mod:`~toolkit.cleanse.steps`) whose ``apply`` takes one in-memory frame (pandas or cuDF)
  and returns it with its counts; frames become arrays and back only through
  :mod:`toolkit.panel` (``SeriesLayout`` for per-series order, frame verbs for columns), and
  the math runs in array kernels on NumPy or CuPy (:mod:`toolkit.kernels.fill`,
  :mod:`~toolkit.cleanse.kernels`). A Dask frame runs the same ``apply`` on each partition,
  after :func:`toolkit.panel.partition_by_series` or a key shuffle where rows must meet, with
  the counts in the same graph (:mod:`~toolkit.cleanse.runner`, the only Dask-aware module).
* **The input contract.** Every public function checks its input before any work and raises
  :class:`~toolkit.errors.DataValidationError` naming the column or parameter (unknown
  schema, method, step or frequency names list the valid ones), documents its policy for
  non-finite values, and counts in its report every row it drops or inserts and every value
  it fills, clips, flags or nulls.
* Transforms keep the input row order, except :func:`complete_calendar` (sorted by
  ``id_cols + [time_col]``) and Dask results (partition order).

Examples
--------
>>> import pandas as pd
>>> from toolkit import cleanse
>>> df = pd.DataFrame({"sku": ["a", "a", "a", "b", "b"], "location": "web",
...                    "date": pd.to_datetime(["2024-01-01", "2024-01-02", "2024-01-02",
...                                            "2024-01-01", "2024-01-03"]),
...                    "units": [1.0, 2.0, 2.0, None, 4.0]})
>>> out, report = cleanse.clean(df, [("drop_duplicates", {}),
...                                  ("complete_calendar", {"fill": {"units": None}}),
...                                  ("fill_missing", {"method": "bfill"})])
>>> out["units"].tolist()
[1.0, 2.0, 4.0, 4.0, 4.0]
>>> report.rows_in, report.rows_out
(5, 5)
"""

from toolkit.cleanse.calendar import complete_calendar
from toolkit.cleanse.channels import integrate_channels
from toolkit.cleanse.coercion import coerce_types
from toolkit.cleanse.duplicates import drop_duplicates
from toolkit.cleanse.fill import fill_missing
from toolkit.cleanse.outliers import clip_outliers, flag_outliers
from toolkit.cleanse.pipeline import clean
from toolkit.cleanse.privacy import pseudonymize
from toolkit.cleanse.report import CleanReport
from toolkit.cleanse.scaling import Scaler, scale
from toolkit.cleanse.schemas import (INVENTORY, LOCATIONS, MARKETING, ORDERS, PRODUCTS, SALES, SCHEMAS, SHIPMENTS,
                                     Column, Schema)
from toolkit.cleanse.validation import validate

__all__ = [  # alphabetical
    "clean",
    "CleanReport",
    "clip_outliers",
    "coerce_types",
    "Column",
    "complete_calendar",
    "drop_duplicates",
    "fill_missing",
    "flag_outliers",
    "integrate_channels",
    "INVENTORY",
    "LOCATIONS",
    "MARKETING",
    "ORDERS",
    "PRODUCTS",
    "pseudonymize",
    "SALES",
    "scale",
    "Scaler",
    "Schema",
    "SCHEMAS",
    "SHIPMENTS",
    "validate",
]
