"""Forecasting: one global model over many series, baselines, backtests and conformal intervals.

Design choices (where the issue is silent):

* **One interface.** :class:`Forecaster` and the baselines (:class:`Naive`,
  :class:`SeasonalNaive`, :class:`MovingAverage`, :class:`Croston`) share
  ``fit(df, id_cols, time_col, target_col)`` and ``predict(h, future_df=None, quantiles=None)``;
  ``predict`` returns a frame of the input's kind with the keys, the time column, ``forecast``
  and one ``q{level}`` column per requested quantile, sorted by keys and time.
* **Regular steps.** Series advance in fixed steps of ``freq`` (default one day); a series'
  forecast starts one step after its own last row. Lags count rows, as in
  :mod:`toolkit.features`: fill calendar gaps first (``toolkit.cleanse``).
* **Recursive prediction on a tail buffer.** After fitting, only the last ``spec.lookback``
  rows of each series are kept. Step ``s`` appends one row per series (target NaN, exogenous
  values from ``future_df`` for *that* date), computes the features of those rows only with
  ``build_features(..., last_n=1)``, predicts, and writes the prediction into the target. A
  spec with expanding or EWM statistics needs the whole history (``lookback`` is then
  unbounded) and keeps it all.
* **Direct strategy** fits one model per horizon step ``k`` on a copy of the spec whose lags
  and window shift are moved ``k - 1`` rows back, so the features of a future row reach only
  rows at or before the forecast origin; calendar, Fourier and exogenous features stay those of
  the target row.
* **Target transforms** ``"log1p"``, ``"scale"`` (divide by each series' mean absolute
  training value) and ``"diff"`` (first difference), alone or as a sequence applied in that
  order; features and model see the transformed target, forecasts are inverted (differences
  are cumulated from each series' last level).
* **Stock-outs.** A row flagged in ``stockout_col`` recorded censored sales, not demand. With
  ``stockouts="exclude"`` (default) such rows leave the training loss and the calibration and
  backtest errors (their actuals count as missing), while the features keep seeing the
  recorded sales, exactly as they will at prediction time. ``stockouts="include"`` treats them
  as ordinary rows.
* **Conformal intervals.** ``calibration_windows=k`` makes ``fit`` run a ``k``-window backtest
  on the training data (a fresh model per window, no look-ahead) and keep, for each horizon
  step, the residuals ``(actual - forecast) / scale`` of every series, ``scale`` being the
  series' in-sample naive MAE (mean absolute change from one step to the next; its mean
  absolute value when that is zero). Scaling by a spread rather than a level keeps
  low-volume count series (whose spread grows like the square root of the level) from
  getting intervals too wide for large series and too narrow for small ones. The ``q`` quantile forecast is
  ``forecast + scale * quantile_q(residuals of that step)``. Forecasts and bounds are clipped
  at zero when the training target is non-negative.
* **Frames.** pandas and cuDF frames in memory (the model runs where :mod:`toolkit.regress`
  puts it). ``Forecaster.fit`` also takes a Dask DataFrame: it validates from the meta and one
  pass of per-series counts, builds features and transforms per series partition
  (:func:`toolkit.scale.map_series`), fits :class:`~toolkit.regress.LinearRegression` /
  :class:`~toolkit.regress.Ridge` (or ``make_model("ridge")``) out of core by TSQR and any other
  model on a seeded sample of about ``dask_sample_rows`` training rows, and brings only the
  tail buffer (``spec.lookback`` rows per series) into memory, so ``predict`` runs in memory,
  batched over all series. The frame is read in four passes (per-series statistics, drop
  counts, the fit, the tail); persist it first when the cluster can hold it. Calibration, the
  direct strategy, specs needing the whole history, the baselines and :func:`backtest` need an
  in-memory frame: compute the Dask frame first.

Examples
--------
>>> import numpy as np, pandas as pd
>>> from toolkit.features import FeatureSpec
>>> from toolkit.forecast import Forecaster
>>> from toolkit.regress import LinearRegression
>>> dates = pd.date_range("2024-01-01", periods=60)
>>> df = pd.DataFrame({"sku": "a", "location": "web", "date": dates,
...                    "units": 10.0 + np.arange(60) % 7})
>>> spec = FeatureSpec(lags=(7,), rolling={}, calendar=(), fourier=())
>>> fc = Forecaster(LinearRegression(), spec, horizon=3).fit(df)
>>> fc.predict()["forecast"].round(6).tolist()
[14.0, 15.0, 16.0]
"""

from __future__ import annotations

import dataclasses
from collections import namedtuple
from typing import Any, Sequence

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, clone

from toolkit import backend
from toolkit.errors import DataValidationError
from toolkit.features import FULL_HISTORY, FeatureSpec, build_features
from toolkit.regress import _values, evaluate, make_model
from toolkit.panel import as_list, map_series, partition_by_series

__all__ = [
    "Forecaster",
    "Naive",
    "SeasonalNaive",
    "MovingAverage",
    "Croston",
    "backtest",
    "BacktestResult",
    "FitReport",
]

_TRANSFORMS = ("log1p", "scale", "diff")
_KEYS_SHOWN = 5


# --------------------------------------------------------------------------- validation


def _fail(column: str, problem: str, frame: Any = None, mask: Any = None, keys: Sequence[str] = ()) -> None:
    """Raise DataValidationError naming the column, the problem, the count and a few keys."""
    message = f"column {column!r}: {problem}"
    if frame is not None and mask is not None:
        count = int(mask.sum())
        shown = backend.to_host(frame.loc[mask, list(keys)].head(_KEYS_SHOWN))
        message += f" ({count} rows; e.g. {[tuple(r) for r in shown.itertuples(index=False)]})"
    raise DataValidationError(message, column=column)


def _check_columns(df: Any, columns: Sequence[str], purpose: str) -> None:
    for col in columns:
        if col not in df.columns:
            _fail(col, f"missing ({purpose})")


def _check_horizon(h: Any) -> int:
    if h is None or int(h) != h or h < 1:
        raise DataValidationError(f"horizon must be an integer >= 1, got {h!r}", column="horizon")
    return int(h)


def _check_duplicates(df: Any, keys: list[str], time_col: str) -> None:
    dup = df.duplicated(subset=[*keys, time_col])
    if bool(dup.any()):
        _fail(time_col, "duplicated (keys, time) rows", df, dup, [*keys, time_col])


# --------------------------------------------------------------------------- panel helpers


def _series_codes(df: Any, keys: list[str]) -> tuple[Any, Any]:
    """Series table (unique keys, sorted) and each row's code into it, as a host/device array."""
    grouped = df.groupby(keys, observed=True, sort=True)
    codes = _values(grouped.ngroup(), "int64")
    table = grouped.size().reset_index()[keys]
    return table, codes


def _time_ints(df: Any, time_col: str) -> Any:
    return _values(df[time_col].astype("int64"), "int64")


def _sorted_layout(df: Any, keys: list[str], time_col: str) -> tuple[Any, Any, Any, Any, Any]:
    """(series table, codes, order, position from end, lengths) with rows sorted by series then time."""
    table, codes = _series_codes(df, keys)
    xp = backend.array_namespace(codes)
    t = _time_ints(df, time_col)
    order = xp.argsort(t, stable=True)
    order = xp.take(order, xp.argsort(xp.take(codes, order), stable=True))
    sorted_codes = xp.take(codes, order)
    lengths = xp.astype(_bincount(xp, sorted_codes, int(table.shape[0])), xp.int64)
    starts = xp.cumulative_sum(lengths) - lengths
    pos = xp.arange(order.shape[0]) - xp.take(starts, sorted_codes)
    from_end = xp.take(lengths, sorted_codes) - 1 - pos
    return table, sorted_codes, order, from_end, lengths


def _bincount(xp: Any, codes: Any, n: int) -> Any:
    native = np if not backend.is_gpu(codes) else __import__("cupy")
    return native.bincount(codes, minlength=n)


def _dense(values: Any, sorted_codes: Any, from_end: Any, n_series: int, width: int) -> Any:
    """Right-aligned ``(n_series, width)`` matrix of the last ``width`` values of each series (NaN pad)."""
    xp = backend.array_namespace(values)
    out = xp.full((n_series, width), float("nan"), dtype=xp.float64)
    keep = from_end < width
    out[sorted_codes[keep], width - 1 - from_end[keep]] = values[keep]
    return out


def _take_rows(df: Any, positions: Any) -> Any:
    """Rows at integer ``positions`` (numpy or cupy) of a pandas/cudf frame or Series."""
    return df.iloc[positions if backend.is_gpu(df) else backend.to_host(positions)]


# --------------------------------------------------------------------------- reports


@dataclasses.dataclass
class FitReport:
    """Training rows accounted for: ``rows_in == rows_used + sum(dropped.values())``."""

    rows_in: int
    rows_used: int
    dropped: dict

    def __str__(self) -> str:
        parts = ", ".join(f"{k}: {v}" for k, v in self.dropped.items())
        return f"{self.rows_in} rows in, {self.rows_used} used for training, dropped: {parts or 'none'}"


BacktestResult = namedtuple("BacktestResult", ["forecasts", "per_series", "per_window", "overall"])


# --------------------------------------------------------------------------- shared base


class _PanelForecaster(BaseEstimator):
    """Validation, future grid, calibration and output shared by every forecaster."""

    _needs_rows = 1

    def _setup(self, df: Any, id_cols: Any, time_col: str, target_col: str, exog: Sequence[str],
               stockout_col: str | None) -> None:
        self._setup_columns(df, id_cols, time_col, target_col, exog, stockout_col)
        if len(df) == 0:
            _fail(target_col, "empty frame")
        _check_duplicates(df, self.id_cols_, time_col)
        missing = df[target_col].isna()
        if bool(missing.any()):
            _fail(target_col, "NaN target in training rows (fill or drop them first)", df, missing,
                  [*self.id_cols_, time_col])
        self.nonnegative_ = bool(float(df[target_col].min()) >= 0)

    def _setup_columns(self, df: Any, id_cols: Any, time_col: str, target_col: str, exog: Sequence[str],
                       stockout_col: str | None) -> None:
        """Parameter, column and dtype checks that read no rows (a Dask frame answers from its meta)."""
        self.horizon = _check_horizon(self.horizon)
        if self.stockouts not in ("exclude", "include"):
            raise ValueError(f"stockouts must be 'exclude' or 'include', got {self.stockouts!r}")
        keys = as_list(id_cols)
        self.id_cols_, self.time_col_, self.target_col_ = keys, time_col, target_col
        self.exog_ = list(exog)
        _check_columns(df, [*keys, time_col, target_col, *self.exog_], f"needed by {type(self).__name__}.fit")
        if not str(df[time_col].dtype).startswith("datetime64"):
            _fail(time_col, f"must be datetime64, got {df[time_col].dtype}")
        self.stockout_col_ = stockout_col if stockout_col and stockout_col in df.columns else None
        freq = str(self.freq)
        self.step_ = pd.Timedelta(freq if freq[:1].isdigit() else f"1{freq}")

    def _loss_mask(self, df: Any) -> Any:
        """Rows that count in losses and errors (False on stock-outs when excluded)."""
        if self.stockouts == "exclude" and self.stockout_col_ is not None:
            return ~df[self.stockout_col_].astype(bool)
        return df[self.target_col_].notna()

    def _layout(self, df: Any) -> tuple:
        """Series table, last times and scales; returns the sorted layout and the dense history.

        The dense history is right-aligned ``(n_series, longest)`` with stock-outs as NaN
        when they are excluded.
        """
        table, codes, order, from_end, lengths = _sorted_layout(df, self.id_cols_, self.time_col_)
        short = backend.to_host(lengths) < self._needs_rows
        if short.any():
            shown = backend.to_host(table)[short]
            _fail(self.target_col_, f"series too short: fewer than {self._needs_rows} rows needed by "
                  f"{type(self).__name__}", shown, shown[self.id_cols_[0]].notna(), self.id_cols_)
        self.series_ = table
        xp = backend.array_namespace(order)
        last = _take_rows(df[[self.time_col_]], order[from_end == 0])
        self.last_time_ = last[self.time_col_].reset_index(drop=True)
        y = _values(df[self.target_col_])
        mask = _values(self._loss_mask(df), "bool")
        ys = xp.take(xp.where(mask, y, float("nan")), order)
        dense = _dense(ys, codes, from_end, int(table.shape[0]), int(xp.max(lengths)))
        spread = _nanmean(xp, xp.abs(dense[:, 1:] - dense[:, :-1]))  # in-sample naive MAE
        level = _nanmean(xp, xp.abs(dense))
        scale = xp.where(xp.isnan(spread) | (spread <= 0), level, spread)
        self.scale_ = xp.where(xp.isnan(scale) | (scale <= 0), 1.0, scale)
        return codes, order, from_end, lengths, dense

    # ---- future grid
    def _future_grid(self, h: int) -> Any:
        """Rows ``(step, series)`` ordered by step then series: keys, time and ``_step``."""
        lib = backend.frame_lib(self.series_)
        n = int(self.series_.shape[0])
        rep = np.tile(np.arange(n), h)
        steps = np.repeat(np.arange(1, h + 1), n)
        grid = _take_rows(self.series_, rep).reset_index(drop=True)
        last = _take_rows(self.last_time_, rep).reset_index(drop=True)
        grid[self.time_col_] = last + lib.Series((steps * self.step_.value).astype("timedelta64[ns]"))
        grid["_step"] = steps
        return grid

    def _future_exog(self, grid: Any, future_df: Any) -> Any:
        """Exogenous values of every grid row from ``future_df`` (validated, order kept)."""
        if not self.exog_:
            return grid
        if future_df is None:
            _fail(self.exog_[0], "future_df is required: the model uses future-known exogenous columns "
                  f"{self.exog_}")
        _check_columns(future_df, [*self.id_cols_, self.time_col_, *self.exog_], "needed in future_df")
        right = future_df[[*self.id_cols_, self.time_col_, *self.exog_]]
        _check_duplicates(right, self.id_cols_, self.time_col_)
        left = grid.assign(_row=np.arange(len(grid)))
        merged = left.merge(right, on=[*self.id_cols_, self.time_col_], how="left", indicator=False)
        merged = merged.sort_values("_row").reset_index(drop=True).drop(columns="_row")
        for col in self.exog_:
            missing = merged[col].isna()
            if bool(missing.any()):
                _fail(col, "future_df lacks values for forecast dates", merged, missing,
                      [*self.id_cols_, self.time_col_])
        return merged

    # ---- calibration
    def _calibrate(self, df: Any) -> None:
        self.residuals_ = None
        if not self.calibration_windows:
            return
        inner = clone(self).set_params(calibration_windows=0)
        result = backtest(inner, df, n_windows=self.calibration_windows, horizon=self.horizon,
                          id_cols=self.id_cols_, time_col=self.time_col_, target_col=self.target_col_,
                          stockout_col=self.stockout_col_, progress=False, _fit_kwargs=self._fit_kwargs())
        self.calibrate(result)

    def calibrate(self, result: BacktestResult) -> "_PanelForecaster":
        """Keep the scaled residuals of a backtest, per horizon step, for conformal quantiles.

        Parameters
        ----------
        result : BacktestResult
            From :func:`backtest` on data up to this forecaster's training end.

        Returns
        -------
        self
        """
        fc = backend.to_host(result.forecasts)
        series = backend.to_host(self.series_).assign(_code=np.arange(len(self.series_)))
        fc = fc.merge(series, on=self.id_cols_, how="inner")
        scale = backend.to_host(self.scale_)[fc["_code"].to_numpy()]
        resid = (fc["actual"].to_numpy(dtype="float64") - fc["forecast"].to_numpy(dtype="float64")) / scale
        steps = fc["step"].to_numpy()
        self.residuals_ = {int(k): np.sort(resid[(steps == k) & ~np.isnan(resid)]) for k in np.unique(steps)}
        return self

    def _quantile_columns(self, out: Any, steps: Any, codes: Any, quantiles: Sequence[float]) -> dict:
        if getattr(self, "residuals_", None) is None:
            raise ValueError("quantiles need calibration: fit with calibration_windows >= 1 or call calibrate()")
        h_max = max(self.residuals_)
        steps_h = backend.to_host(steps)
        if steps_h.max() > h_max:
            raise ValueError(f"intervals are calibrated up to step {h_max}; asked for {int(steps_h.max())}")
        xp = backend.array_namespace(codes)
        scale = xp.take(self.scale_, codes)
        point = _values(out["forecast"])
        cols = {}
        for q in quantiles:
            if not 0 < q < 1:
                raise ValueError(f"quantiles must lie in (0, 1), got {q}")
            table = np.array([np.quantile(self.residuals_[k], q) if len(self.residuals_.get(k, ())) else np.nan
                              for k in range(1, h_max + 1)])
            shift = xp.asarray(table[steps_h - 1])
            value = point + scale * shift
            cols[f"q{q:g}"] = xp.maximum(value, 0.0) if self.nonnegative_ else value
        return cols

    # ---- output
    def _output(self, grid: Any, point: Any, quantiles: Sequence[float] | None) -> Any:
        xp = backend.array_namespace(point)
        if self.nonnegative_:
            point = xp.maximum(point, 0.0)
        out = grid[[*self.id_cols_, self.time_col_]].reset_index(drop=True)
        out["forecast"] = point
        if quantiles:
            n = int(self.series_.shape[0])
            codes = xp.asarray(np.tile(np.arange(n), len(grid) // n))
            steps = xp.asarray(_values(grid["_step"], "int64"))
            for name, values in self._quantile_columns(out, steps, codes, quantiles).items():
                out[name] = values
        return out.sort_values([*self.id_cols_, self.time_col_]).reset_index(drop=True)

    def _fit_kwargs(self) -> dict:
        return {}


def _nanmean(xp: Any, a: Any) -> Any:
    ok = ~xp.isnan(a)
    count = xp.sum(xp.astype(ok, xp.float64), axis=1)
    total = xp.sum(xp.where(ok, a, 0.0), axis=1)
    return xp.where(count > 0, total / xp.where(count > 0, count, 1.0), float("nan"))


# --------------------------------------------------------------------------- the global model


class Forecaster(_PanelForecaster):
    """One global regression model over many series, forecasting ``horizon`` steps ahead.

    Parameters
    ----------
    model : regressor, optional
        Any scikit-learn-API regressor (cloned at fit); default
        ``make_model("gradient_boosting")``.
    spec : FeatureSpec, optional
        Features of each row (default ``FeatureSpec()``); its ``exog`` columns are taken from
        the training frame and, for future rows, from ``future_df``.
    horizon : int, default 28
    target_transform : str or sequence of str, optional
        Among ``"log1p"``, ``"scale"``, ``"diff"`` (applied in that order, inverted on output).
    strategy : {"recursive", "direct"}
    stockouts : {"exclude", "include"}
        How rows flagged in the stock-out column enter the loss (see the module docstring).
    freq : str, default "D"
        Fixed time step of the series (a pandas Timedelta string).
    calibration_windows : int, default 0
        Backtest windows run inside ``fit`` to calibrate conformal intervals (in-memory frames
        only).
    dask_sample_rows : int, default 500_000
        On a Dask frame, models that cannot fit out of core (all but
        :class:`~toolkit.regress.LinearRegression`, :class:`~toolkit.regress.Ridge` and
        ``make_model("ridge")``) are fitted on a uniform row sample of about this many training
        rows (every row when there are fewer), drawn per partition with ``random_state``.
    random_state : int, default 0
        Seed of that sample.

    Attributes
    ----------
    model_ : fitted model (recursive) ; models_ : list of fitted models (direct)
    spec_ : FeatureSpec actually used (keys, target and exogenous columns of ``fit``)
    report_ : FitReport
    series_ : frame of series keys ; scale_ : per-series scale
    residuals_ : dict step -> sorted scaled residuals (after calibration)

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> from toolkit.features import FeatureSpec
    >>> from toolkit.regress import LinearRegression
    >>> df = pd.DataFrame({"sku": "a", "location": "web", "date": pd.date_range("2024-01-01", periods=50),
    ...                    "units": 2.0 ** -np.arange(50) + 1})
    >>> spec = FeatureSpec(lags=(1,), rolling={}, calendar=(), fourier=())
    >>> fc = Forecaster(LinearRegression(), spec, horizon=2).fit(df)
    >>> fc.report_.rows_used
    49
    """

    def __init__(
        self,
        model: Any = None,
        spec: FeatureSpec | None = None,
        horizon: int = 28,
        target_transform: str | Sequence[str] | None = None,
        strategy: str = "recursive",
        stockouts: str = "exclude",
        freq: str = "D",
        calibration_windows: int = 0,
        dask_sample_rows: int = 500_000,
        random_state: int = 0,
    ):
        self.model = model
        self.spec = spec
        self.horizon = horizon
        self.target_transform = target_transform
        self.strategy = strategy
        self.stockouts = stockouts
        self.freq = freq
        self.calibration_windows = calibration_windows
        self.dask_sample_rows = dask_sample_rows
        self.random_state = random_state

    # ---- transforms
    def _transforms(self) -> tuple[str, ...]:
        names = as_list(self.target_transform)
        unknown = [n for n in names if n not in _TRANSFORMS]
        if unknown:
            raise ValueError(f"unknown target_transform {unknown}; choose among {_TRANSFORMS}")
        return tuple(n for n in _TRANSFORMS if n in names)

    def _forward(self, y: Any, sorted_codes: Any, order: Any, from_end: Any) -> Any:
        """Transform the target (rows in input order); keeps what the inverse needs."""
        xp = backend.array_namespace(y)
        z = y
        names = self._transforms()
        if "log1p" in names:
            if bool(xp.any(z <= -1)):
                raise DataValidationError(f"column {self.target_col_!r}: log1p needs values > -1",
                                          column=self.target_col_)
            z = xp.log1p(z)
        codes_in = xp.empty_like(sorted_codes)
        codes_in[order] = sorted_codes
        if "scale" in names:
            self.level_scale_ = self._series_mean_abs(z, sorted_codes, order)
            z = z / xp.take(self.level_scale_, codes_in)
        if "diff" in names:
            zs = xp.take(z, order)
            prev = xp.concat([xp.asarray([float("nan")], dtype=xp.float64), zs[:-1]])
            first = xp.concat([xp.asarray([True]), sorted_codes[1:] != sorted_codes[:-1]])
            d = xp.where(first, float("nan"), zs - prev)
            self.last_level_ = zs[from_end == 0]
            z = xp.empty_like(d)
            z[order] = d
        return z

    def _series_mean_abs(self, z: Any, sorted_codes: Any, order: Any) -> Any:
        xp = backend.array_namespace(z)
        zs = xp.abs(xp.take(z, order))
        n = int(self.series_.shape[0])
        ok = ~xp.isnan(zs)
        sums = _weighted_bincount(sorted_codes, xp.where(ok, zs, 0.0), n)
        counts = _weighted_bincount(sorted_codes, xp.astype(ok, xp.float64), n)
        mean = sums / xp.where(counts > 0, counts, 1.0)
        return xp.where(mean > 0, mean, 1.0)

    def _inverse(self, z: Any, h: int) -> Any:
        """Invert transforms of predictions laid out (step, series) -> original units."""
        xp = backend.array_namespace(z)
        n = int(self.series_.shape[0])
        names = self._transforms()
        if "diff" in names:
            z = self.last_level_[None, :] + xp.cumulative_sum(xp.reshape(z, (h, n)), axis=0)
            z = xp.reshape(z, (-1,))
        if "scale" in names:
            z = z * xp.tile(self.level_scale_, h)
        if "log1p" in names:
            z = xp.expm1(z)
        return z

    # ---- fit
    def _spec_for(self, id_cols, time_col, target_col, future_exog) -> FeatureSpec:
        spec = self.spec if self.spec is not None else FeatureSpec()
        if not isinstance(spec, FeatureSpec):
            raise TypeError(f"spec must be a FeatureSpec, got {type(spec).__name__}")
        exog = list(spec.exog) + [c for c in as_list(future_exog) if c not in spec.exog]
        return dataclasses.replace(
            spec,
            id_cols=tuple(as_list(id_cols)) if id_cols is not None else spec.id_cols,
            time_col=time_col or spec.time_col,
            target_col=target_col or spec.target_col,
            exog=tuple(exog),
        )

    def _step_spec(self, k: int) -> FeatureSpec:
        """The spec of direct model ``k``: target-derived features moved ``k - 1`` rows back."""
        if self.strategy == "recursive" or k == 1:
            return self.spec_
        return dataclasses.replace(self.spec_, lags=tuple(lag + k - 1 for lag in self.spec_.lags),
                                   rolling_shift=self.spec_.rolling_shift + k - 1)

    def fit(
        self,
        df: Any,
        id_cols: str | Sequence[str] | None = None,
        time_col: str | None = None,
        target_col: str | None = None,
        future_exog: Sequence[str] | None = None,
        stockout_col: str | None = "stockout",
    ) -> "Forecaster":
        """Fit the global model on every series of ``df``.

        Parameters
        ----------
        df : pandas, cudf or Dask DataFrame
            Long panel with keys, time, target, the spec's exogenous columns and optionally
            ``stockout_col``. A Dask frame is fitted without being brought into memory (see
            the module docstring); only the tail buffer is computed.
        id_cols, time_col, target_col : optional
            Default to the spec's.
        future_exog : list of str, optional
            Future-known exogenous columns (added to ``spec.exog``); ``predict`` then needs them
            in ``future_df``.
        stockout_col : str, optional
            Boolean stock-out flag column (ignored when absent).

        Returns
        -------
        self

        Raises
        ------
        DataValidationError
            Missing columns, NaN target, duplicated (keys, time), horizon < 1, series shorter
            than the spec's lookback + 1 rows.
        ValueError
            On a Dask frame: ``calibration_windows > 0``, ``strategy="direct"`` or a spec with
            expanding/EWM statistics (compute the frame first).
        """
        if self.strategy not in ("recursive", "direct"):
            raise ValueError(f"strategy must be 'recursive' or 'direct', got {self.strategy!r}")
        spec = self._spec_for(id_cols, time_col, target_col, future_exog)
        self.spec_ = spec
        if backend.is_dask(df):
            return self._fit_dask(df, stockout_col)
        self._setup(df, spec.id_cols, spec.time_col, spec.target_col, spec.exog, stockout_col)
        steps = self.horizon if self.strategy == "direct" else 1
        lookback = self._step_spec(steps).lookback
        self.tail_rows_ = lookback if lookback < FULL_HISTORY else None
        self._needs_rows = (lookback if lookback < FULL_HISTORY else 1) + 1
        sorted_codes, order, from_end, _, _ = self._layout(df)
        z = self._forward(_values(df[self.target_col_]), sorted_codes, order, from_end)
        base = df[[*self.id_cols_, self.time_col_, *self.exog_]].assign(**{self.target_col_: z})
        loss = _values(self._loss_mask(df), "bool")
        model = self.model if self.model is not None else make_model("gradient_boosting")
        self.models_, reports = [], []
        for k in range(1, steps + 1):
            spec_k = self._step_spec(k)
            feats = build_features(base, spec_k)
            X = feats[spec_k.feature_names]
            xp = backend.array_namespace(z)
            no_target = xp.isnan(z)
            stock = ~loss & ~no_target
            bad_feat = _values(X.isna().any(axis=1), "bool") & ~no_target & ~stock
            use = ~(no_target | stock | bad_feat)
            reports.append(FitReport(len(df), int(xp.sum(use)), {
                "transform_warmup": int(xp.sum(no_target)),
                "stockout": int(xp.sum(stock)),
                "feature_warmup": int(xp.sum(bad_feat)),
            }))
            rows = xp.nonzero(use)[0]
            if rows.shape[0] == 0:
                _fail(self.target_col_, "no training rows left after the feature warm-up and stock-outs")
            fitted = clone(model).fit(_take_rows(X, rows), xp.take(z, rows))
            self.models_.append(fitted)
        self.model_ = self.models_[0]
        self.report_ = reports[0]
        keep = from_end < self.tail_rows_ if self.tail_rows_ is not None else from_end >= 0
        self.tail_ = _take_rows(base, order[keep]).reset_index(drop=True)
        self._calibrate(df)
        return self

    def _fit_dask(self, ddf: Any, stockout_col: str | None) -> "Forecaster":
        """Fit on a Dask frame: per-series passes over partitions, only the tail buffer computed."""
        spec = self.spec_
        for wanted, why in ((self.calibration_windows, "calibration_windows > 0 (a backtest needs every series)"),
                            (self.strategy == "direct", 'strategy="direct"'),
                            (spec.lookback >= FULL_HISTORY, "a spec with expanding or EWM statistics (predict "
                                                            "keeps the whole history)")):
            if wanted:
                raise ValueError(f"Forecaster.fit on a Dask frame does not support {why}: compute the "
                                 "frame first (ddf.compute())")
        self._setup_columns(ddf, spec.id_cols, spec.time_col, spec.target_col, spec.exog, stockout_col)
        keys, tcol, target = self.id_cols_, self.time_col_, self.target_col_
        kind = ddf[target].dtype
        if not (pd.api.types.is_numeric_dtype(kind) and not pd.api.types.is_bool_dtype(kind)):
            _fail(target, f"must be numeric, got {kind}")
        names = self._transforms()
        self.tail_rows_ = spec.lookback
        self._needs_rows = spec.lookback + 1
        exclude = self.stockouts == "exclude" and self.stockout_col_ is not None
        stock_col = self.stockout_col_ if exclude else None
        parts = partition_by_series(ddf, keys, tcol)

        # one pass of per-series counts: validation, series table, scales, transform state
        kw = dict(keys=keys, tcol=tcol, target_col=target, stock_col=stock_col, names=names)
        stats = parts.map_partitions(_dask_series_stats, **kw, meta=_dask_series_stats(parts._meta, **kw))
        stats = stats.compute().sort_values(keys).reset_index(drop=True)
        n_rows = int(stats["_rows"].sum())
        if n_rows == 0:
            _fail(target, "empty frame")
        n_dup = int(stats["_dup"].sum())
        if n_dup:
            shown = parts.map_partitions(_duplicated_rows, [*keys, tcol], meta=parts._meta[[*keys, tcol]])
            _fail_counted(tcol, "duplicated (keys, time) rows", n_dup, shown.head(_KEYS_SHOWN, npartitions=-1))
        n_nan = int(stats["_nan"].sum())
        if n_nan:
            shown = parts[parts[target].isna()][[*keys, tcol]].head(_KEYS_SHOWN, npartitions=-1)
            _fail_counted(target, "NaN target in training rows (fill or drop them first)", n_nan, shown)
        ymin = float(stats["_min"].min())
        if "log1p" in names and ymin <= -1:
            _fail(target, "log1p needs values > -1")
        short = stats["_rows"] < self._needs_rows
        if bool(short.any()):
            _fail(target, f"series too short: fewer than {self._needs_rows} rows needed by {type(self).__name__}",
                  stats, short, keys)
        self.series_ = stats[keys]
        self.last_time_ = stats["_last"].rename(tcol)
        self.nonnegative_ = ymin >= 0
        spread, level = _values(stats["_spread"]), _values(stats["_level"])
        xp = backend.array_namespace(spread)
        scale = xp.where(xp.isnan(spread) | (spread <= 0), level, spread)
        self.scale_ = xp.where(xp.isnan(scale) | (scale <= 0), 1.0, scale)
        if "scale" in names:
            self.level_scale_ = _values(stats["_level_scale"])
        if "diff" in names:
            self.last_level_ = _values(stats["_last_level"])

        # features of the transformed target, per series partition (lazy)
        tail_cols = [*keys, tcol, *self.exog_, target]
        cols = tail_cols + ([stock_col] if stock_col and stock_col not in tail_cols else [])
        meta = parts._meta[cols].astype({target: "float64"})
        base = map_series(parts, _dask_transform, keys, tcol, meta=meta, columns=cols, **kw)
        feats = build_features(base, spec)
        fkw = dict(target_col=target, stock_col=stock_col, features=list(spec.feature_names))
        flags = feats.map_partitions(_drop_flags, **fkw, meta=_drop_flags(feats._meta, **fkw))
        per_part = backend.to_host(flags.map_partitions(_flag_counts, meta=_flag_counts(flags._meta)).compute())
        dropped = per_part[list(flags.columns)].sum()
        self.report_ = FitReport(n_rows, n_rows - int(dropped.sum()), {
            "transform_warmup": int(dropped["_no_target"]), "stockout": int(dropped["_stock"]),
            "feature_warmup": int(dropped["_bad_feat"])})
        if self.report_.rows_used == 0:
            _fail(target, "no training rows left after the feature warm-up and stock-outs")
        train = feats[~flags.any(axis=1)]
        # partitions left without training rows (a shuffle can leave some empty) are skipped
        kept = np.flatnonzero((per_part["_rows"] - per_part[list(flags.columns)].sum(axis=1)).to_numpy() > 0)
        if len(kept) < train.npartitions:
            train = train.partitions[kept.tolist()]

        model = self.model if self.model is not None else make_model("gradient_boosting")
        if _fits_dask(model, ddf):
            fitted = clone(model).fit(train[list(spec.feature_names)], train[target])
        else:
            if self.report_.rows_used > self.dask_sample_rows:
                train = train.sample(frac=self.dask_sample_rows / self.report_.rows_used,
                                     random_state=self.random_state)
            sample = train[[*spec.feature_names, target]].compute().reset_index(drop=True)
            fitted = clone(model).fit(sample[list(spec.feature_names)], _values(sample[target]))
        self.models_ = [fitted]
        self.model_ = fitted
        tail = map_series(base, _dask_tail, keys, tcol, meta=base._meta[tail_cols], keys=keys, n=self.tail_rows_,
                          columns=tail_cols)
        self.tail_ = tail.compute().sort_values([*keys, tcol]).reset_index(drop=True)
        self.residuals_ = None
        return self

    def _fit_kwargs(self) -> dict:
        return {"future_exog": self.exog_}

    # ---- predict
    def predict(self, h: int | None = None, future_df: Any = None, quantiles: Sequence[float] | None = None) -> Any:
        """Forecast ``h`` steps after each series' last training row.

        Parameters
        ----------
        h : int, optional
            Steps ahead (default ``horizon``; at most ``horizon`` with ``strategy="direct"``).
        future_df : frame, optional
            Rows (keys, time, exogenous columns) for every series and forecast date; any
            other column (actuals included) is ignored.
        quantiles : list of float, optional
            Conformal quantile levels (needs calibration), e.g. ``[0.1, 0.5, 0.9]``.

        Returns
        -------
        frame
            Keys, time, ``forecast`` and ``q{level}`` columns, sorted by keys and time.
        """
        h = _check_horizon(self.horizon if h is None else h)
        if self.strategy == "direct" and h > self.horizon:
            raise DataValidationError(f"direct strategy forecasts at most horizon={self.horizon} steps, asked {h}",
                                      column="horizon")
        grid = self._future_exog(self._future_grid(h), future_df)
        n = int(self.series_.shape[0])
        future = grid[[*self.id_cols_, self.time_col_, *self.exog_]].assign(
            **{self.target_col_: float("nan")})
        full = backend.frame_lib(grid).concat([self.tail_, future[self.tail_.columns]], ignore_index=True)
        n_tail = len(self.tail_)
        target_pos = list(full.columns).index(self.target_col_)
        preds = []
        with _small_batch_threads(n):
            for s in range(1, h + 1):
                m = n_tail + s * n
                spec_s = self._step_spec(s)
                model_s = self.models_[s - 1] if self.strategy == "direct" else self.model_
                feats = build_features(full.iloc[:m], spec_s, last_n=1)
                expected = np.arange(m - n, m)
                if not np.array_equal(backend.to_host(feats.index.to_numpy() if not backend.is_gpu(feats)
                                                      else feats.index.values), expected):
                    feats = feats.loc[expected]
                yhat = _values(model_s.predict(feats[spec_s.feature_names]))
                full.iloc[m - n : m, target_pos] = yhat
                preds.append(yhat)
        xp = backend.array_namespace(preds[0])
        point = self._inverse(xp.concat(preds), h)
        return self._output(grid, point, quantiles)


def _fits_dask(model: Any, ddf: Any) -> bool:
    """True for the models that fit a Dask matrix out of core (blocked QR in toolkit.regress)."""
    from toolkit.regress import LinearRegression, Model, Ridge

    if isinstance(model, Model):
        return model.accepts_dask(backend.is_gpu(ddf))
    return isinstance(model, (LinearRegression, Ridge))


def _fail_counted(column: str, problem: str, count: int, shown: Any) -> None:
    """Like :func:`_fail` with the count and a few offending rows already computed."""
    rows = [tuple(r) for r in backend.to_host(shown).itertuples(index=False)]
    raise DataValidationError(f"column {column!r}: {problem} ({count} rows; e.g. {rows})", column=column)


def _duplicated_rows(part: Any, subset: list[str]) -> Any:
    return part.loc[part.duplicated(subset=subset), subset]


def _transformed(part: Any, keys: list[str], target_col: str, names: tuple[str, ...]) -> tuple[Any, Any]:
    """(log1p/scale-transformed target, per-series mean abs before scaling) of a series-sorted partition."""
    z = part[target_col].astype("float64")
    if "log1p" in names:
        z = np.log1p(z.where(z > -1))
    level = z.abs().groupby([part[k] for k in keys], observed=True).transform("mean")
    level = level.where(level > 0, 1.0)
    if "scale" in names:
        z = z / level
    return z, level


def _dask_series_stats(part: Any, keys: list[str], tcol: str, target_col: str, stock_col: str | None,
                       names: tuple[str, ...]) -> Any:
    """One row per series of a series partition: row/NaN/duplicate counts, last time, min, scales."""
    y = part[target_col].astype("float64")
    masked = y.where(~part[stock_col].astype(bool)) if stock_col else y
    z, level = _transformed(part, keys, target_col, names)
    by = [part[k] for k in keys]
    work = part[keys].assign(
        _rows=1, _nan=y.isna().astype("int64"), _dup=part.duplicated(subset=[*keys, tcol]).astype("int64"),
        _last=part[tcol], _min=y, _spread=masked.groupby(by, observed=True).diff().abs(),
        _level=masked.abs(), _level_scale=level, _last_level=z,
    )
    return work.groupby(keys, observed=True, sort=True).agg({
        "_rows": "sum", "_nan": "sum", "_dup": "sum", "_last": "max", "_min": "min", "_spread": "mean",
        "_level": "mean", "_level_scale": "first", "_last_level": "last",
    }).reset_index()


def _dask_transform(part: Any, columns: list[str], keys: list[str], tcol: str, target_col: str,
                    stock_col: str | None, names: tuple[str, ...]) -> Any:
    """The partition's ``columns`` with the target transformed as ``Forecaster._forward`` does."""
    z, _ = _transformed(part, keys, target_col, names)
    if "diff" in names:
        z = z.groupby([part[k] for k in keys], observed=True).diff()
    return part[columns].assign(**{target_col: z})


def _drop_flags(part: Any, target_col: str, stock_col: str | None, features: list[str]) -> Any:
    """Why each row leaves training: no (transformed) target, stock-out, feature warm-up (exclusive)."""
    no_target = part[target_col].isna()
    stock = part[stock_col].astype(bool) & ~no_target if stock_col else no_target & False
    bad_feat = part[features].isna().any(axis=1) & ~no_target & ~stock
    return part[[]].assign(_no_target=no_target, _stock=stock, _bad_feat=bad_feat)


def _flag_counts(flags: Any) -> Any:
    """One row: the partition's row count and the count of each drop reason."""
    return flags.sum().to_frame().T.astype("int64").assign(_rows=len(flags))


def _dask_tail(part: Any, keys: list[str], n: int, columns: list[str]) -> Any:
    return part[columns].groupby(keys, observed=True).tail(n)


def _small_batch_threads(n_rows: int) -> Any:
    """One OpenMP/BLAS thread while predicting small per-step batches on the host.

    A recursive step predicts one row per series; for a few thousand rows the thread start-up
    and barriers of tree ensembles (HistGradientBoosting uses OpenMP) cost more than the work,
    and much more on a loaded machine.
    """
    import contextlib

    if n_rows >= 10_000:
        return contextlib.nullcontext()
    from threadpoolctl import threadpool_limits

    return threadpool_limits(limits=1)


def _weighted_bincount(codes: Any, weights: Any, n: int) -> Any:
    native = np if not backend.is_gpu(codes) else __import__("cupy")
    return native.bincount(codes, weights=weights, minlength=n)


# --------------------------------------------------------------------------- baselines


class _Baseline(_PanelForecaster):
    """Baselines compute one row of values per series from the dense recent history."""

    _width = 1

    def fit(self, df: Any, id_cols: Any = ("sku", "location"), time_col: str = "date", target_col: str = "units",
            future_exog: Sequence[str] | None = None, stockout_col: str | None = "stockout") -> "_Baseline":
        """Fit on every series of ``df`` (``future_exog`` is accepted and ignored).

        Returns
        -------
        self
        """
        self._setup(df, id_cols, time_col, target_col, (), stockout_col)
        self._needs_rows = self._min_rows()
        dense = self._layout(df)[-1]
        self.state_ = self._state(dense if self._width is None else dense[:, dense.shape[1] - self._width :])
        mask = _values(self._loss_mask(df), "bool")
        xp = backend.array_namespace(mask)
        self.report_ = FitReport(len(df), int(xp.sum(mask)), {"stockout": int(xp.sum(~mask))})
        self._calibrate(df)
        return self

    def _min_rows(self) -> int:
        return 1

    def predict(self, h: int | None = None, future_df: Any = None, quantiles: Sequence[float] | None = None) -> Any:
        """Forecast ``h`` steps (``future_df`` is accepted for interface parity and ignored).

        Returns
        -------
        frame
            Keys, time, ``forecast`` and ``q{level}`` columns, sorted by keys and time.
        """
        h = _check_horizon(self.horizon if h is None else h)
        grid = self._future_grid(h)
        point = self._path(h)  # (h, n_series)
        xp = backend.array_namespace(point)
        return self._output(grid, xp.reshape(point, (-1,)), quantiles)

    def _path(self, h: int) -> Any:
        xp = backend.array_namespace(self.state_)
        return xp.broadcast_to(self.state_[None, :], (h, self.state_.shape[0]))


def _last_valid(xp: Any, dense: Any) -> Any:
    """Last non-NaN value of each row (NaN if none)."""
    ok = ~xp.isnan(dense)
    width = dense.shape[1]
    idx = xp.arange(width)
    last = xp.max(xp.where(ok, idx[None, :], -1), axis=1)
    value = xp.take_along_axis(dense, xp.reshape(xp.clip(last, 0, None), (-1, 1)), axis=1)[:, 0]
    return xp.where(last >= 0, value, float("nan"))


class Naive(_Baseline):
    """Last observed value (skipping stock-outs when excluded), repeated.

    Examples
    --------
    >>> import pandas as pd
    >>> df = pd.DataFrame({"sku": "a", "location": "web", "date": pd.date_range("2024-01-01", periods=3),
    ...                    "units": [1.0, 2.0, 5.0]})
    >>> Naive(horizon=2).fit(df).predict()["forecast"].tolist()
    [5.0, 5.0]
    """

    _width = None

    def __init__(self, horizon: int = 28, stockouts: str = "exclude", freq: str = "D", calibration_windows: int = 0):
        self.horizon = horizon
        self.stockouts = stockouts
        self.freq = freq
        self.calibration_windows = calibration_windows

    def _state(self, dense: Any) -> Any:
        return _last_valid(backend.array_namespace(dense), dense)


class SeasonalNaive(_Baseline):
    """The value one season earlier: step ``k`` repeats the ``season``-periodic last cycle.

    A stock-out (excluded) in the last cycle is replaced by the mean of that cycle's other days.

    Examples
    --------
    >>> import pandas as pd
    >>> df = pd.DataFrame({"sku": "a", "location": "web", "date": pd.date_range("2024-01-01", periods=4),
    ...                    "units": [1.0, 2.0, 3.0, 4.0]})
    >>> SeasonalNaive(season=2, horizon=3).fit(df).predict()["forecast"].tolist()
    [3.0, 4.0, 3.0]
    """

    def __init__(self, season: int = 7, horizon: int = 28, stockouts: str = "exclude", freq: str = "D",
                 calibration_windows: int = 0):
        self.season = season
        self.horizon = horizon
        self.stockouts = stockouts
        self.freq = freq
        self.calibration_windows = calibration_windows

    @property
    def _width(self) -> int:
        return int(self.season)

    def _min_rows(self) -> int:
        return int(self.season)

    def _state(self, dense: Any) -> Any:
        xp = backend.array_namespace(dense)
        mean = _nanmean(xp, dense)
        return xp.where(xp.isnan(dense), mean[:, None], dense)  # (n_series, season)

    def _path(self, h: int) -> Any:
        xp = backend.array_namespace(self.state_)
        phase = xp.asarray(np.arange(h) % int(self.season))
        return xp.take(self.state_, phase, axis=1).T


class MovingAverage(_Baseline):
    """Mean of the last ``window`` observed values (stock-outs skipped when excluded).

    Examples
    --------
    >>> import pandas as pd
    >>> df = pd.DataFrame({"sku": "a", "location": "web", "date": pd.date_range("2024-01-01", periods=4),
    ...                    "units": [1.0, 2.0, 3.0, 4.0]})
    >>> MovingAverage(window=2, horizon=1).fit(df).predict()["forecast"].tolist()
    [3.5]
    """

    def __init__(self, window: int = 28, horizon: int = 28, stockouts: str = "exclude", freq: str = "D",
                 calibration_windows: int = 0):
        self.window = window
        self.horizon = horizon
        self.stockouts = stockouts
        self.freq = freq
        self.calibration_windows = calibration_windows

    @property
    def _width(self) -> int:
        return int(self.window)

    def _state(self, dense: Any) -> Any:
        return _nanmean(backend.array_namespace(dense), dense)


class Croston(_Baseline):
    """Croston's method for intermittent demand, with the SBA and TSB variants.

    ``classic``/``sba``: exponential smoothing (``alpha``) of the non-zero demand sizes and of
    the intervals between them, forecast = size / interval (times ``1 - alpha / 2`` for SBA).
    ``tsb``: sizes smoothed with ``alpha`` at demand periods, the demand probability with
    ``beta`` every period, forecast = probability * size. Series are updated together, one
    time step at a time over a dense (series x time) matrix; missing (stock-out) periods are
    skipped.

    Parameters
    ----------
    alpha, beta : float
    variant : {"classic", "sba", "tsb"}

    Examples
    --------
    >>> import pandas as pd
    >>> df = pd.DataFrame({"sku": "a", "location": "web", "date": pd.date_range("2024-01-01", periods=6),
    ...                    "units": [0.0, 4.0, 0.0, 0.0, 4.0, 0.0]})
    >>> round(float(Croston(alpha=1.0, horizon=1).fit(df).predict()["forecast"][0]), 3)
    1.333
    """

    _width = None

    def __init__(self, alpha: float = 0.1, beta: float = 0.1, variant: str = "classic", horizon: int = 28,
                 stockouts: str = "exclude", freq: str = "D", calibration_windows: int = 0):
        self.alpha = alpha
        self.beta = beta
        self.variant = variant
        self.horizon = horizon
        self.stockouts = stockouts
        self.freq = freq
        self.calibration_windows = calibration_windows

    def _state(self, dense: Any) -> Any:
        if self.variant not in ("classic", "sba", "tsb"):
            raise ValueError(f"variant must be 'classic', 'sba' or 'tsb', got {self.variant!r}")
        xp = backend.array_namespace(dense)
        n = dense.shape[0]
        nan = float("nan")
        size = xp.full((n,), nan, dtype=xp.float64)
        interval = xp.full((n,), nan, dtype=xp.float64)
        prob = xp.full((n,), nan, dtype=xp.float64)
        since = xp.ones((n,), dtype=xp.float64)
        a, b = float(self.alpha), float(self.beta)
        for t in range(dense.shape[1]):
            y = dense[:, t]
            seen = ~xp.isnan(y)
            demand = seen & (y > 0)
            first = demand & xp.isnan(size)
            size = xp.where(first, y, xp.where(demand, size + a * (y - size), size))
            if self.variant == "tsb":
                occurred = xp.astype(demand, xp.float64)
                prob = xp.where(seen & xp.isnan(prob), occurred, xp.where(seen, prob + b * (occurred - prob), prob))
            else:
                interval = xp.where(first, since, xp.where(demand, interval + a * (since - interval), interval))
                since = xp.where(demand, 1.0, xp.where(seen, since + 1.0, since))
        if self.variant == "tsb":
            value = prob * xp.where(xp.isnan(size), 0.0, size)
        else:
            value = xp.where(xp.isnan(size), 0.0, size / interval)
            if self.variant == "sba":
                value = value * (1.0 - a / 2.0)
        return value


# --------------------------------------------------------------------------- backtest


def backtest(
    forecaster: Any,
    df: Any,
    n_windows: int = 4,
    horizon: int | None = None,
    step: int | None = None,
    quantiles: Sequence[float] | None = None,
    id_cols: Any = None,
    time_col: str | None = None,
    target_col: str | None = None,
    stockout_col: str | None = "stockout",
    metrics: Sequence[str] = ("mae", "rmse", "wape", "bias", "mase"),
    season: int = 7,
    progress: bool = True,
    _fit_kwargs: dict | None = None,
) -> BacktestResult:
    """Refit on growing history and forecast ``horizon`` steps, window after window.

    Window ``i`` trains on every row before its first date and forecasts its ``horizon``
    dates; ``future_df`` is the window's own rows (exogenous columns; the actuals in it are
    ignored by the forecasters). Windows are placed as in
    :func:`toolkit.regress.time_series_splits`.

    Parameters
    ----------
    forecaster : Forecaster or baseline (cloned per window)
    df : pandas or cudf DataFrame
    n_windows, horizon, step : int
        ``horizon`` defaults to the forecaster's; ``step`` to ``horizon``.
    quantiles : list of float, optional
        Also forecast conformal quantiles (the forecaster needs ``calibration_windows``).
    id_cols, time_col, target_col : optional
        Default to the forecaster's spec, else the toolkit's defaults.
    stockout_col : str, optional
        Stock-out rows count as missing actuals when the forecaster excludes them.
    metrics : names for :func:`toolkit.regress.evaluate` (``mase`` scaled on each window's history)
    season : int
        Seasonal lag of MASE's scaling.
    progress : bool
        Show a progress bar over windows.

    Returns
    -------
    BacktestResult
        ``forecasts`` (keys, time, ``window``, ``cutoff``, ``step``, ``forecast``, ``actual``,
        quantile columns), ``per_series`` (metrics per window and series), ``per_window``
        (pooled metrics per window) and ``overall`` (pooled over windows; MASE averaged).
    """
    from toolkit.regress import time_series_splits

    spec = getattr(forecaster, "spec", None) or (FeatureSpec() if isinstance(forecaster, Forecaster) else None)
    keys = as_list(id_cols if id_cols is not None else (spec.id_cols if spec else ("sku", "location")))
    time_col = time_col or (spec.time_col if spec else "date")
    target_col = target_col or (spec.target_col if spec else "units")
    horizon = _check_horizon(horizon if horizon is not None else forecaster.horizon)
    _check_columns(df, [*keys, time_col, target_col], "needed by backtest")
    splits = time_series_splits(df, time_col, n_windows, horizon, step)
    lib = backend.frame_lib(df)
    try:
        from tqdm.auto import tqdm
    except ImportError:  # progress bars are optional
        tqdm = None
    windows = list(enumerate(splits))
    if progress and tqdm is not None:
        windows = tqdm(windows, desc="backtest", leave=False)
    forecasts, per_series, per_window = [], [], []
    for i, (train, valid) in windows:
        train_df, valid_df = _take_rows(df, train), _take_rows(df, valid)
        fc = clone(forecaster).set_params(horizon=horizon)
        fc.fit(train_df, id_cols=keys, time_col=time_col, target_col=target_col, stockout_col=stockout_col,
               **(_fit_kwargs or {}))
        pred = fc.predict(horizon, future_df=valid_df, quantiles=quantiles)
        actual_cols = [*keys, time_col, target_col] + ([stockout_col] if fc.stockout_col_ else [])
        merged = pred.merge(valid_df[actual_cols], on=[*keys, time_col], how="left")
        actual = merged[target_col].astype("float64")
        if fc.stockout_col_ and fc.stockouts == "exclude":
            actual = actual.where(~merged[stockout_col].astype(bool))
        cutoff = train_df[time_col].max()
        merged = merged.drop(columns=[c for c in (target_col, stockout_col) if c in merged.columns])
        merged = merged.assign(actual=actual, window=i, cutoff=cutoff)
        last = lib.DataFrame({k: fc.series_[k] for k in keys}).assign(_last=fc.last_time_)
        merged = merged.merge(last, on=keys, how="left")
        merged["step"] = ((merged[time_col] - merged["_last"]) // fc.step_).astype("int64")
        merged = merged.drop(columns="_last").sort_values([*keys, time_col]).reset_index(drop=True)
        lower = upper = None
        if quantiles and len(quantiles) >= 2:
            lower, upper = f"q{min(quantiles):g}", f"q{max(quantiles):g}"
        history = train_df[[*keys, time_col]].assign(actual=train_df[target_col].astype("float64"))
        if fc.stockout_col_ and fc.stockouts == "exclude":
            history["actual"] = history["actual"].where(~train_df[stockout_col].astype(bool))
        ev = evaluate(merged, target_col="actual", pred_col="forecast", id_cols=keys, metrics=metrics,
                      train_df=history, time_col=time_col, season=season, lower_col=lower, upper_col=upper)
        forecasts.append(merged)
        per_series.append(ev.per_series.reset_index().assign(window=i))
        per_window.append(ev.overall.rename(i))
    forecasts = lib.concat(forecasts, ignore_index=True)
    per_series = lib.concat(per_series, ignore_index=True)
    per_window = pd.DataFrame(per_window).rename_axis("window")
    q = [f"q{min(quantiles):g}", f"q{max(quantiles):g}"] if quantiles and len(quantiles) >= 2 else [None, None]
    overall = evaluate(forecasts, target_col="actual", pred_col="forecast", id_cols=[*keys, "window"],
                       metrics=[m for m in metrics if m != "mase"], lower_col=q[0], upper_col=q[1]).overall
    if "mase" in metrics:
        overall["mase"] = float(backend.to_host(per_series["mase"]).mean())
    return BacktestResult(forecasts, per_series, per_window, overall)
