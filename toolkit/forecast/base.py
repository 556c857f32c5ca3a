"""What every forecaster shares: the input contract, the time axis, the future grid, intervals, output.

Design choices (where the issue is silent):

* **One interface.** :class:`~toolkit.forecast.Forecaster` and the baselines share
  ``fit(df, id_cols, time_col, target_col)`` and ``predict(h, future_df=None, quantiles=None)``;
  ``predict`` returns a frame of the input's kind with the keys, the time column, ``forecast``
  and one ``q{level}`` column per requested quantile, sorted by keys and time.
* **Input contract** (checked by ``fit`` before any work, errors name the input column and
  a few series keys): a pandas or cuDF frame with the key, time, target and exogenous
  columns; a datetime64 time column; numeric target and exogenous columns, no magnitude
  above :data:`MAX_MAGNITUDE`. The target may hold neither NaN nor ``inf`` (fill or drop missing sales first, e.g.
  ``toolkit.cleanse.fill_missing``; censored sales are marked in the stock-out column, not
  blanked). Exogenous columns may not hold ``inf``; a NaN there leaves its row out of
  training, counted in ``report_.dropped["exog_missing"]``. Missing keys or timestamps and
  repeated (keys, time) rows are refused by :class:`toolkit.panel.SeriesLayout`.
* **The time axis.** ``freq`` is a pandas offset (:func:`toolkit.panel.to_offset`: ``"MS"``
  is a month start, never a millisecond); when it is not given it is inferred from the
  training data (:func:`toolkit.panel.infer_freq`). Every series must be regular on it
  (:func:`toolkit.panel.check_spacing`: no missing step, no off-calendar timestamp), else
  ``fit`` raises naming the time column and a few series; ``irregular="allow"`` opts out
  (lags then count rows, as in :mod:`toolkit.features`; the report is kept in ``spacing_``).
  Forecast timestamps are the next steps of each series on the calendar
  (:func:`toolkit.panel.future_dates`), so monthly forecasts fall on month starts.
  ``horizon=None`` is the frequency's (:mod:`toolkit.forecast.frequency`), in ``horizon_``.
* **Columns.** Keys, time and target are those of the ``fit`` call, else those of the
  forecaster's ``spec`` (a :class:`~toolkit.features.FeatureSpec`), else the defaults.
* **Stock-outs.** A row flagged in ``stockout_col`` recorded censored sales, not demand.
  With ``stockouts="exclude"`` (default) such rows leave the training loss and the
  calibration and backtest errors (their actuals count as missing), while the features keep
  seeing the recorded sales, exactly as they will at prediction time. ``"include"`` treats
  them as ordinary rows.
* **Intervals** are conformal (:mod:`toolkit.forecast.intervals`): residuals of a backtest
  in the original units, so they hold whatever the target transforms.

Examples
--------
>>> import pandas as pd
>>> from toolkit.forecast import Naive
>>> df = pd.DataFrame({"sku": "a", "location": "web", "units": [1.0, 2.0, 5.0],
...                    "date": pd.to_datetime(["2024-01-01", "2024-02-01", "2024-03-01"])})
>>> fc = Naive(horizon=2).fit(df)
>>> fc.freq_, fc.predict()["date"].dt.strftime("%Y-%m-%d").tolist()
('MS', ['2024-04-01', '2024-05-01'])
"""

from __future__ import annotations

import dataclasses
from typing import Any, Sequence

import numpy as np
from sklearn.base import BaseEstimator, clone
from sklearn.utils.validation import check_is_fitted

from toolkit import backend
from toolkit.errors import DataValidationError
from toolkit.features import FeatureSpec
from toolkit.forecast.backtest import BacktestResult, backtest
from toolkit.forecast.frequency import default_horizon
from toolkit.forecast.intervals import check_quantiles, quantile_columns, scaled_residuals, series_scale
from toolkit.panel import (DEFAULT_ID_COLS, DEFAULT_TARGET_COL, DEFAULT_TIME_COL, SeriesLayout, checks, frames,
                           check_spacing, future_dates, infer_freq, to_offset)

__all__ = ["FitReport", "PanelForecaster"]

MAX_MAGNITUDE = 1e150
"""Largest target or exogenous magnitude accepted: squares of larger values overflow float64 in the
regressions, the ``scale`` transform and the interval scale (a ``1e308`` sentinel would turn into NaN)."""
STOCKOUTS = ("exclude", "include")
IRREGULAR = ("raise", "allow")


@dataclasses.dataclass
class FitReport:
    """Training rows accounted for: ``rows_in == rows_used + sum(dropped.values())``.

    ``fallback`` counts series that a forecaster handed to a simpler model, by reason (a
    series too short for the global model's features, a season or trend a local model
    could not fit safely); their rows still count as used.
    """

    rows_in: int
    rows_used: int
    dropped: dict
    fallback: dict = dataclasses.field(default_factory=dict)

    def __str__(self) -> str:
        parts = ", ".join(f"{k}: {v}" for k, v in self.dropped.items())
        text = f"{self.rows_in} rows in, {self.rows_used} used for training, dropped: {parts or 'none'}"
        if self.fallback:
            text += "; series on a fallback: " + ", ".join(f"{k}: {v}" for k, v in self.fallback.items())
        return text


class PanelForecaster(BaseEstimator):
    """Validation, time axis, future grid, calibration and output shared by every forecaster."""

    def min_rows(self) -> int:
        """Rows every series needs (shorter series are refused, naming them)."""
        return 1

    # ---- parameters and columns
    def resolve_columns(self, id_cols: Any = None, time_col: str | None = None,
                        target_col: str | None = None) -> tuple[list[str], str, str]:
        """The key, time and target columns: the given ones, else the ``spec``'s, else the toolkit's defaults."""
        spec = getattr(self, "spec", None)
        if spec is not None and not isinstance(spec, FeatureSpec):
            raise DataValidationError.for_parameter("spec", f"expected a FeatureSpec, got a {type(spec).__name__}")
        keys = checks.as_list(id_cols) if id_cols is not None else list(spec.id_cols if spec else DEFAULT_ID_COLS)
        return (keys, time_col or (spec.time_col if spec else DEFAULT_TIME_COL),
                target_col or (spec.target_col if spec else DEFAULT_TARGET_COL))

    def _check_params(self) -> int | None:
        """Validate the shared parameters; the horizon as an int (None: from the frequency at fit)."""
        checks.check_choice("stockouts", self.stockouts, STOCKOUTS)
        checks.check_choice("irregular", getattr(self, "irregular", "raise"), IRREGULAR)
        checks.check_int("calibration_windows", self.calibration_windows, minimum=0)
        if self.freq is not None:
            to_offset(self.freq)
        if self.horizon is None:
            return None
        return checks.check_int("horizon", self.horizon, minimum=1)

    # ---- the input contract
    def check_columns(self, df: Any, keys: list[str], time_col: str, target_col: str, exog: Sequence[str],
                      stockout_col: str | None) -> None:
        """The column and dtype part of the input contract (a Dask frame answers from its meta).

        Records the columns in force (``id_cols_``, ``time_col_``, ``target_col_``, ``exog_``,
        ``stockout_col_``: the stock-out column only when ``df`` has it).
        """
        self.id_cols_, self.time_col_, self.target_col_ = list(keys), time_col, target_col
        self.exog_ = list(exog)
        if stockout_col is not None and not isinstance(stockout_col, str):
            raise DataValidationError.for_parameter("stockout_col", "expected a column name or None", stockout_col)
        self.stockout_col_ = stockout_col if stockout_col and stockout_col in set(df.columns) else None
        who = f"by {type(self).__name__}.fit"
        keys, time_col, target = self.id_cols_, self.time_col_, self.target_col_
        if not keys:
            raise DataValidationError.for_parameter("id_cols", "must name at least one key column", keys)
        checks.require_columns(df, [*keys, time_col, target, *self.exog_], who)
        checks.require_datetime(df, time_col)
        checks.require_numeric(df, [target, *self.exog_], who)
        if self.stockout_col_:
            checks.require_numeric(df, [self.stockout_col_], "as the stock-out flag")

    def _check_values(self, df: Any) -> None:
        """Checks on values of an in-memory frame (raise naming the column and a few keys)."""
        who = f"by {type(self).__name__}.fit"
        shown = [*self.id_cols_, self.time_col_]
        checks.require_not_empty(df, f"to fit {type(self).__name__} on", column=self.target_col_)
        checks.require_finite(df, [self.target_col_], shown, allow_nan=False, purpose=who)
        checks.require_finite(df, self.exog_, shown, purpose=who)
        for col in [self.target_col_, *self.exog_]:
            magnitude = frames.namespace(df).abs(frames.values(df, col))
            where = frames.namespace(df).nonzero(magnitude > MAX_MAGNITUDE)[0]
            if int(where.shape[0]):
                checks.fail(col, f"values up to {float(magnitude[where].max()):.3g} are too large (above "
                                 f"{MAX_MAGNITUDE:g}, their squares overflow float64); rescale the column or drop "
                                 "those rows", int(where.shape[0]), checks.examples(df, where, shown))
        if self.stockout_col_:
            checks.require_not_null(df, [self.stockout_col_], shown, "as the stock-out flag")

    def _validate(self, df: Any, keys: list[str], time_col: str, target_col: str, exog: Sequence[str],
                  stockout_col: str | None, refuse_short: bool = True) -> SeriesLayout:
        """The whole input contract of an in-memory fit; the panel's layout.

        The time axis comes first (``freq_``, ``horizon_``), so that ``min_rows`` may depend
        on it; series shorter than ``min_rows`` are refused, naming them, unless
        ``refuse_short`` is False (the caller hands them to a fallback: :meth:`short_series`).
        """
        checks.check_frame(df, dask=False)
        self.check_columns(df, keys, time_col, target_col, exog, stockout_col)
        self._check_values(df)
        layout = SeriesLayout.from_frame(df, self.id_cols_, self.time_col_)
        self._time_axis(df, layout)
        short = self.short_series(layout) if refuse_short else np.zeros(0, dtype=np.int64)
        if short.size:
            checks.fail(self.target_col_, f"series too short: fewer than {self.min_rows()} rows needed by "
                                          f"{type(self).__name__}", int(short.size),
                        checks.examples(df, layout.first_rows()[layout.xp.asarray(short)], self.id_cols_))
        return layout

    def short_series(self, layout: SeriesLayout) -> np.ndarray:
        """Numbers (layout order) of the series with fewer than ``min_rows()`` rows (host array)."""
        return np.flatnonzero(np.asarray(backend.to_host(layout.lengths)) < self.min_rows())

    def _time_axis(self, df: Any, layout: SeriesLayout) -> None:
        """``freq_`` (given or inferred), ``horizon_`` and ``spacing_``; raise on irregular series unless allowed."""
        keys, time_col = self.id_cols_, self.time_col_
        offset = to_offset(self.freq) if self.freq is not None else to_offset(
            infer_freq(df, keys, time_col, layout=layout))
        self.freq_ = offset.freqstr
        self.horizon_ = int(self.horizon) if self.horizon is not None else default_horizon(offset)
        self.spacing_ = check_spacing(df, offset, keys, time_col, layout=layout)
        if getattr(self, "irregular", "raise") == "raise":
            self.spacing_.raise_if_irregular(time_col)

    def _loss_mask(self, df: Any) -> Any:
        """Rows that count in losses and errors (False on stock-outs when excluded), input order."""
        xp = frames.namespace(df)
        if self.stockouts == "exclude" and self.stockout_col_ is not None:
            return frames.values(df, self.stockout_col_) == 0
        return xp.ones(len(df), dtype=xp.bool)

    def _series_state(self, df: Any, layout: SeriesLayout) -> Any:
        """Series table, last times, interval scale, sign of the target; the sorted target."""
        y = frames.values(df, self.target_col_)
        xp = layout.xp
        self.series_ = layout.keys(df, self.id_cols_)
        self.last_time_ = frames.take(df[self.time_col_], layout.last_rows()).reset_index(drop=True)
        observed = xp.where(self._loss_mask(df), y, float("nan"))
        self.scale_ = series_scale(layout, layout.gather(observed))
        self.nonnegative_ = bool(float(xp.min(y)) >= 0)
        return layout.gather(observed)

    # ---- the future
    def _future_grid(self, h: int) -> tuple[Any, np.ndarray]:
        """Rows ``(step, series)`` ordered by step then series (keys and time), and each row's step."""
        n = int(self.series_.shape[0])
        stamps = future_dates(self.last_time_, h, self.freq_)  # (n, h)
        grid = frames.take(self.series_, np.tile(np.arange(n), h)).reset_index(drop=True)
        steps = np.repeat(np.arange(1, h + 1), n)
        return frames.assign(grid, {self.time_col_: stamps.T.reshape(-1)}), steps

    def _future_exog(self, grid: Any, future_df: Any) -> Any:
        """Exogenous values of every grid row from ``future_df`` (validated, grid order kept)."""
        if not self.exog_:
            return grid
        keys, time_col = self.id_cols_, self.time_col_
        if future_df is None:
            checks.fail(self.exog_[0], f"future_df is required: the model uses future-known exogenous columns "
                                       f"{self.exog_}")
        checks.check_frame(future_df, "future_df", dask=False)
        checks.require_columns(future_df, [*keys, time_col, *self.exog_], "in future_df")
        checks.require_datetime(future_df, time_col)
        checks.require_numeric(future_df, self.exog_, "in future_df")
        right = future_df[[*keys, time_col, *self.exog_]]
        checks.require_unique(right, [*keys, time_col], "in future_df")
        checks.require_finite(right, self.exog_, [*keys, time_col], purpose="in future_df")
        row = "_row"
        while row in right.columns:  # the grid's row number, under a name no exogenous column takes
            row = f"_{row}"
        left = frames.assign(grid, {row: frames.namespace(grid).arange(len(grid))})
        merged = left.merge(right, on=[*keys, time_col], how="left")
        merged = merged.sort_values(row).reset_index(drop=True).drop(columns=row)
        for col in self.exog_:
            missing = frames.isna(merged, col)
            where = frames.namespace(merged).nonzero(missing)[0]
            if int(where.shape[0]):
                checks.fail(col, "future_df lacks values for forecast dates", int(where.shape[0]),
                            checks.examples(merged, where, [*keys, time_col]))
        return merged

    # ---- calibration
    def _fit_kwargs(self) -> dict:
        return {}

    def _calibrate(self, df: Any) -> None:
        self.residuals_ = None
        if not self.calibration_windows:
            return
        inner = clone(self).set_params(calibration_windows=0, freq=self.freq_)
        result = backtest(inner, df, n_windows=self.calibration_windows, horizon=self.horizon_,
                          id_cols=self.id_cols_, time_col=self.time_col_, target_col=self.target_col_,
                          stockout_col=self.stockout_col_, progress=False, fit_kwargs=self._fit_kwargs())
        self.calibrate(result)

    def calibrate(self, result: BacktestResult) -> "PanelForecaster":
        """Keep the scaled residuals of a backtest, per horizon step, for conformal quantiles.

        Parameters
        ----------
        result : BacktestResult
            From :func:`~toolkit.forecast.backtest` on data up to this forecaster's training end.

        Returns
        -------
        self
        """
        check_is_fitted(self, "series_")
        forecasts = getattr(result, "forecasts", None)
        if forecasts is None or not hasattr(forecasts, "columns"):
            checks.fail("forecasts", "calibrate needs a BacktestResult (its forecasts frame)")
        checks.require_columns(forecasts, [*self.id_cols_, "step", "forecast", "actual"], "to calibrate")
        self.residuals_ = scaled_residuals(forecasts, self.series_, self.scale_, self.id_cols_)
        return self

    # ---- output
    def _output(self, grid: Any, steps: np.ndarray, point: Any, quantiles: Sequence[float]) -> Any:
        """The forecast frame sorted by keys and time (grid rows are step-major)."""
        xp = backend.array_namespace(point)
        if self.nonnegative_:
            point = xp.maximum(point, 0.0)
        n = int(self.series_.shape[0])
        columns = {"forecast": point}
        if quantiles:
            codes = xp.asarray(np.tile(np.arange(n), len(steps) // max(n, 1)))
            columns.update(quantile_columns(point, xp.asarray(steps), codes, self.scale_,
                                            getattr(self, "residuals_", None), quantiles, self.nonnegative_))
        out = frames.assign(grid[[*self.id_cols_, self.time_col_]].reset_index(drop=True), columns)
        h = len(steps) // max(n, 1)
        series_major = (np.arange(n)[:, None] + n * np.arange(h)[None, :]).reshape(-1)
        return frames.take(out, series_major).reset_index(drop=True)

    def _prepare_predict(self, h: int | None, quantiles: Any) -> tuple[int, list[float]]:
        check_is_fitted(self, "series_")
        h = checks.check_int("h", self.horizon_ if h is None else h, minimum=1)
        return h, check_quantiles(quantiles)
