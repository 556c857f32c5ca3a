"""``Forecaster``: one global regression model over many series, recursive or direct.

Design choices (where the issue is silent; the shared contract, time axis, stock-outs and
intervals are in :mod:`toolkit.forecast.base`):

* **Recursive prediction on a tail buffer.** After fitting, only the last ``spec.lookback``
  rows of each series are kept. Step ``s`` appends one row per series (target NaN, exogenous
  values from ``future_df`` for *that* date), computes the features of those rows only with
  ``build_features(..., last_n=1)``, predicts, and writes the prediction into the target. A
  spec with expanding or EWM statistics needs the whole history (``lookback`` is then
  unbounded) and keeps it all.
* **Direct strategy** fits one model per horizon step ``k`` on a copy of the spec whose lags
  and window shift are moved ``k - 1`` rows back, so the features of a future row reach only
  rows at or before the forecast origin; calendar, Fourier and exogenous features stay those
  of the target row.
* **Target transforms** (:mod:`toolkit.forecast.transforms`): ``"log1p"``, ``"scale"``
  (divide by each series' mean absolute training value) and ``"diff"`` (first difference),
  alone or as a sequence applied in that order; features and model see the transformed
  target, forecasts are inverted (differences are cumulated from each series' last level).
* **Rows left out of training** are counted in ``report_`` (transform warm-up, stock-outs,
  missing exogenous values, feature warm-up): :mod:`toolkit.forecast.training`.
* **Frequency defaults.** With ``spec=None`` the features are
  :meth:`FeatureSpec.for_freq` of the data's frequency (lags up to a season, windows, the
  calendar term of the season); ``horizon=None`` is the frequency's
  (:mod:`toolkit.forecast.frequency`); ``sdiff`` uses the frequency's season.
* **Short series.** A series shorter than the features (and the transforms) need, plus
  one row, cannot train the global model. With ``fallback`` (default ``"ets"``: a local
  :class:`~toolkit.forecast.ETS` per series) such series are forecast by that model
  instead of failing the whole fit; they are counted in ``report_.fallback`` and listed in
  ``fallback_series_``. ``fallback=None`` refuses them, naming a few.
* **Dask.** ``fit`` also takes a Dask DataFrame (:mod:`toolkit.forecast.dask_fit`): only the
  tail buffer comes into memory, so ``predict`` runs in memory, batched over all series.

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

import contextlib
import dataclasses
from typing import Any, Sequence

import numpy as np
from sklearn.base import clone

from toolkit import backend
from toolkit.errors import DataValidationError
from toolkit.features import FULL_HISTORY, FeatureSpec, build_features
from toolkit.forecast.base import FitReport, PanelForecaster
from toolkit.forecast.dask_fit import fit_dask
from toolkit.forecast.frequency import default_horizon, default_season
from toolkit.forecast.local import ETS, Theta
from toolkit.forecast.baselines import Naive, SeasonalNaive
from toolkit.forecast.training import fit_report, tail_rows, training_flags, transform_target
from toolkit.forecast.transforms import TargetTransforms
from toolkit.panel import SeriesLayout, blocks, calendar_unit, checks, frames
from toolkit.regress import make_model

__all__ = ["Forecaster", "STRATEGIES", "FALLBACKS", "DEFAULT_MODEL"]

STRATEGIES = ("recursive", "direct")
FALLBACKS = {"ets": ETS, "theta": Theta, "naive": Naive, "seasonal_naive": SeasonalNaive}
"""Names of the local forecasters ``fallback`` accepts (or pass a forecaster)."""
DEFAULT_MODEL = "gradient_boosting"
"""The :data:`toolkit.regress.MODELS` entry fitted when ``model`` is None."""


def _small_batch_threads(n_rows: int) -> Any:
    """One OpenMP/BLAS thread while predicting small per-step batches on the host.

    A recursive step predicts one row per series; for a few thousand rows the thread start-up
    and barriers of tree ensembles (HistGradientBoosting uses OpenMP) cost more than the work,
    and much more on a loaded machine.
    """
    if n_rows >= 10_000:
        return contextlib.nullcontext()
    from threadpoolctl import threadpool_limits

    return threadpool_limits(limits=1)


class Forecaster(PanelForecaster):
    """One global regression model over many series, forecasting ``horizon`` steps ahead.

    Parameters
    ----------
    model : regressor, optional
        Any scikit-learn-API regressor (cloned at fit); default ``make_model(DEFAULT_MODEL)``.
    spec : FeatureSpec, optional
        Features of each row; default :meth:`FeatureSpec.for_freq` of the data's frequency.
        Its ``exog`` columns are taken from the training frame and, for future rows, from
        ``future_df``.
    horizon : int, optional
        Default: the frequency's (28 days, 18 months, 8 quarters, 13 weeks...).
    target_transform : "auto", str, sequence of str or None, default "auto"
        Among ``"boxcox"``/``"log1p"``, ``"scale"``, ``"sdiff"``, ``"diff"`` (applied in that
        order, inverted on output). ``"auto"`` is :meth:`default_transforms` of the data's
        frequency (none on a Dask frame).
    strategy : {"recursive", "direct"}
    stockouts : {"exclude", "include"}
        How rows flagged in the stock-out column enter the loss.
    freq : str or pandas offset, optional
        The series' calendar frequency (``"D"``, ``"W-SUN"``, ``"MS"``...); inferred from the
        training data when not given.
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
    irregular : {"raise", "allow"}, default "raise"
        What ``fit`` does when a series is not regular on ``freq`` (gaps, off-calendar
        timestamps): refuse naming a few series, or go on (lags then count rows).
    fallback : str, forecaster or None, default "ets"
        Local forecaster for series too short for the global model (a name of
        :data:`FALLBACKS` or a forecaster, cloned); None refuses them.

    Attributes
    ----------
    model_ : fitted model (recursive) ; models_ : list of fitted models (direct)
    spec_ : FeatureSpec actually used (keys, target and exogenous columns of ``fit``)
    freq_ : str ; horizon_ : int ; spacing_ : SpacingReport
    report_ : FitReport
        Rows used and dropped; ``fallback["short_series"]`` series on the fallback.
    fallback_ : fitted fallback forecaster or None ; fallback_series_ : frame of their keys
    series_ : frame of series keys ; scale_ : per-series interval scale
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
    >>> fc.report_.rows_used, fc.freq_
    (49, 'D')
    """

    def __init__(
        self,
        model: Any = None,
        spec: FeatureSpec | None = None,
        horizon: int | None = None,
        target_transform: str | Sequence[str] | None = "auto",
        strategy: str = "recursive",
        stockouts: str = "exclude",
        freq: Any = None,
        calibration_windows: int = 0,
        dask_sample_rows: int = 500_000,
        random_state: int = 0,
        irregular: str = "raise",
        fallback: Any = "ets",
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
        self.irregular = irregular
        self.fallback = fallback

    # ---- parameters
    def _base_spec(self) -> FeatureSpec:
        spec = self.spec if self.spec is not None else FeatureSpec()
        if not isinstance(spec, FeatureSpec):
            raise DataValidationError.for_parameter("spec", f"expected a FeatureSpec, got a {type(spec).__name__}")
        return spec

    def resolve_columns(self, id_cols: Any = None, time_col: str | None = None,
                        target_col: str | None = None) -> tuple[list[str], str, str]:
        """The key, time and target columns: the given ones, else the spec's."""
        spec = self._base_spec()
        keys = checks.as_list(id_cols) if id_cols is not None else list(spec.id_cols)
        return keys, time_col or spec.time_col, target_col or spec.target_col

    def _spec_for(self, id_cols: Any, time_col: str | None, target_col: str | None, future_exog: Any) -> FeatureSpec:
        spec = self._base_spec()
        keys, time_col, target_col = self.resolve_columns(id_cols, time_col, target_col)
        extra = checks.as_list(future_exog, "future_exog")
        exog = list(spec.exog) + [c for c in extra if c not in spec.exog]
        return dataclasses.replace(spec, id_cols=tuple(keys), time_col=time_col, target_col=target_col,
                                   exog=tuple(exog))

    @staticmethod
    def default_transforms(freq: Any, nonnegative: bool) -> tuple[str, ...]:
        """The target transforms of ``target_transform="auto"`` at ``freq``.

        Monthly and quarterly panels (few, long-lived series with trends and a short season)
        learn on ``log1p`` (when the target is non-negative), per-series ``scale`` and the
        seasonal difference: the model predicts year-on-year growth, which trees pool well
        across series and which extrapolates a level a tree alone cannot. Yearly panels
        take the first difference instead; weekly, daily and intraday panels (many,
        intermittent series, long seasons) are left untransformed, as before.

        Examples
        --------
        >>> Forecaster.default_transforms("MS", True), Forecaster.default_transforms("D", True)
        (('log1p', 'scale', 'sdiff'), ())
        """
        unit = calendar_unit(freq)
        if unit not in ("M", "Q", "Y"):
            return ()
        return (("log1p",) if nonnegative else ()) + ("scale", "diff" if unit == "Y" else "sdiff")

    def settle_frequency_defaults(self, nonnegative: bool | None = None) -> None:
        """With ``freq_`` known: ``horizon_``, the spec of the frequency when none was given, the
        ``"auto"`` transforms (when ``nonnegative`` is known) and the season of ``sdiff``."""
        self.horizon_ = int(self.horizon) if self.horizon is not None else default_horizon(self.freq_)
        if isinstance(self.target_transform, str) and self.target_transform == "auto" and nonnegative is not None:
            self.transforms_ = TargetTransforms(self.default_transforms(self.freq_, nonnegative))
        if self.spec is None:
            given = self.spec_
            self.spec_ = FeatureSpec.for_freq(self.freq_, id_cols=given.id_cols, time_col=given.time_col,
                                              target_col=given.target_col, exog=given.exog)
        self.transforms_.set_season(default_season(self.freq_))

    def _step_spec(self, k: int) -> FeatureSpec:
        """The spec of direct model ``k``: target-derived features moved ``k - 1`` rows back."""
        if self.strategy == "recursive" or k == 1:
            return self.spec_
        return dataclasses.replace(self.spec_, lags=tuple(lag + k - 1 for lag in self.spec_.lags),
                                   rolling_shift=self.spec_.rolling_shift + k - 1)

    def _n_models(self) -> int:
        return int(self.horizon_) if self.strategy == "direct" else 1

    def min_rows(self) -> int:
        """The spec's lookback + the transforms' warm-up + 1 rows (the lookback counts 1 when the
        spec needs the whole history)."""
        lookback = self._step_spec(self._n_models()).lookback
        return (lookback if lookback < FULL_HISTORY else 1) + self.transforms_.warmup + 1

    def model_to_fit(self) -> Any:
        """The regressor to clone and fit: ``model``, else ``make_model(DEFAULT_MODEL)``."""
        return self.model if self.model is not None else make_model(DEFAULT_MODEL)

    def _fit_kwargs(self) -> dict:
        return {"future_exog": self.exog_}

    def _fallback_model(self) -> Any:
        if isinstance(self.fallback, str):
            return FALLBACKS[checks.check_choice("fallback", self.fallback, FALLBACKS)]()
        if not all(hasattr(self.fallback, m) for m in ("fit", "predict", "get_params", "resolve_columns")):
            raise DataValidationError.for_parameter("fallback", f"expected one of {sorted(FALLBACKS)}, a forecaster "
                                                                "or None", self.fallback)
        return self.fallback

    # ---- fit
    def fit(
        self,
        df: Any,
        id_cols: str | Sequence[str] | None = None,
        time_col: str | None = None,
        target_col: str | None = None,
        future_exog: Sequence[str] | None = None,
        stockout_col: str | None = "stockout",
    ) -> "Forecaster":
        """Fit the global model on every series of ``df`` (short series on the fallback).

        Parameters
        ----------
        df : pandas, cuDF or Dask DataFrame
            Long panel with keys, time, target, the spec's exogenous columns and optionally
            ``stockout_col``. A Dask frame is fitted without being brought into memory;
            only the tail buffer is computed.
        id_cols, time_col, target_col : optional
            Default to the spec's.
        future_exog : list of str, optional
            Future-known exogenous columns (added to ``spec.exog``); ``predict`` then needs them
            in ``future_df``.
        stockout_col : str, optional
            Stock-out flag column (ignored when absent).

        Returns
        -------
        self

        Raises
        ------
        DataValidationError
            Not a frame; missing, non-numeric or non-datetime columns; NaN or ``inf`` target,
            ``inf`` exogenous values (naming the column and keys); duplicated (keys, time);
            series shorter than the spec's lookback + 1 rows with ``fallback=None``; an
            irregular time axis; bad parameters (unknown strategy, transform, freq...). On a
            Dask frame also ``calibration_windows > 0``, ``strategy="direct"``, ``sdiff``,
            short series or a spec with expanding/EWM statistics (compute the frame first).
        """
        checks.check_choice("strategy", self.strategy, STRATEGIES)
        self._check_params()
        checks.check_int("dask_sample_rows", self.dask_sample_rows, minimum=1)
        fallback = self._fallback_model() if self.fallback is not None else None
        whole = df
        auto = isinstance(self.target_transform, str) and self.target_transform == "auto"
        self.transforms_ = TargetTransforms(None if auto else self.target_transform)
        spec = self._spec_for(id_cols, time_col, target_col, future_exog)
        self.spec_ = spec
        if blocks.placement(df).lazy:
            return fit_dask(self, df, stockout_col, self.transforms_)
        layout = self._validate(df, list(spec.id_cols), spec.time_col, spec.target_col, spec.exog, stockout_col,
                                refuse_short=False)
        self.settle_frequency_defaults(nonnegative=bool(float(layout.xp.min(frames.values(df, self.target_col_))) >= 0))
        short = self.short_series(layout)
        if short.size and fallback is None:
            checks.fail(self.target_col_, f"series too short: fewer than {self.min_rows()} rows needed by "
                                          "Forecaster (pass fallback='ets' to forecast them with a local model)",
                        int(short.size), checks.examples(df, layout.first_rows()[layout.xp.asarray(short)],
                                                         self.id_cols_))
        self._series_state(df, layout)
        self.fallback_, self.fallback_series_ = None, frames.take(self.series_, short).reset_index(drop=True)
        self.long_series_ = np.setdiff1d(np.arange(layout.n_series), short)
        fallback_report = None
        if short.size:
            df, layout, fallback_report = self._fit_fallback(df, layout, short, fallback, stockout_col)
        self.report_ = self._fit_global(df, layout) if self.long_series_.size else FitReport(0, 0, {})
        if fallback_report is not None:
            self.report_ = _merge_reports(self.report_, fallback_report, int(short.size))
        self._calibrate(whole)
        return self

    def _fit_fallback(self, df: Any, layout: SeriesLayout, short: np.ndarray, fallback: Any,
                      stockout_col: str | None) -> tuple[Any, SeriesLayout, FitReport]:
        """Fit the fallback on the short series; the frame and layout of the others."""
        xp = layout.xp
        is_short = np.zeros(layout.n_series, dtype=bool)
        is_short[short] = True
        row_short = xp.take(xp.asarray(is_short), layout.series_of_row)
        sorted_rows = layout.order if layout.order is not None else xp.arange(layout.n)
        short_rows, long_rows = xp.sort(sorted_rows[row_short]), xp.sort(sorted_rows[~row_short])
        params = {"horizon": self.horizon_, "freq": self.freq_, "irregular": self.irregular,
                  "stockouts": self.stockouts}
        model = clone(fallback)
        model.set_params(**{k: v for k, v in params.items() if k in model.get_params()})
        self.fallback_ = model.fit(frames.take(df, short_rows).reset_index(drop=True), id_cols=self.id_cols_,
                                   time_col=self.time_col_, target_col=self.target_col_, stockout_col=stockout_col)
        rest = frames.take(df, long_rows).reset_index(drop=True)
        return rest, SeriesLayout.from_frame(rest, self.id_cols_, self.time_col_), self.fallback_.report_

    def _fit_global(self, df: Any, layout: SeriesLayout) -> FitReport:
        """Fit the global model(s) on ``df`` (every series long enough); the fit report."""
        keys, tcol, target = self.id_cols_, self.time_col_, self.target_col_
        lookback = self._step_spec(self._n_models()).lookback
        self.tail_rows_ = lookback if lookback < FULL_HISTORY else None
        z = transform_target(df, layout, self.transforms_, target, [*keys, tcol])
        stock_col = self.stockout_col_ if self.stockouts == "exclude" else None
        columns = [*keys, tcol, *self.exog_] + ([stock_col] if stock_col and stock_col not in self.exog_ else [])
        base = frames.assign(df[columns], {target: z})
        model = self.model_to_fit()
        xp = layout.xp
        self.models_, reports = [], []
        for k in range(1, self._n_models() + 1):
            spec_k = self._step_spec(k)
            feats = build_features(base, spec_k)
            flags = training_flags(feats, target, stock_col, self.exog_, spec_k.feature_names)
            reports.append(fit_report(flags))
            rows = xp.nonzero(~frames.as_array(flags.any(axis=1)))[0]
            if rows.shape[0] == 0:
                checks.fail(target, f"no training rows left ({reports[-1]})")
            X = frames.take(feats[list(spec_k.feature_names)], rows)
            self.models_.append(clone(model).fit(X, xp.take(z, rows)))
        self.model_ = self.models_[0]
        self.tail_ = tail_rows(base, keys, tcol, self.tail_rows_, [*keys, tcol, *self.exog_, target], layout)
        return reports[0]

    # ---- predict
    def predict(self, h: int | None = None, future_df: Any = None, quantiles: Sequence[float] | None = None) -> Any:
        """Forecast ``h`` steps after each series' last training row.

        Parameters
        ----------
        h : int, optional
            Steps ahead (default ``horizon_``; at most ``horizon_`` with ``strategy="direct"``).
        future_df : frame, optional
            Rows (keys, time, exogenous columns) for every series and forecast date; any
            other column (actuals included) is ignored.
        quantiles : list of float, optional
            Conformal quantile levels (needs calibration), e.g. ``[0.1, 0.5, 0.9]``.

        Returns
        -------
        frame
            Keys, time, ``forecast`` and ``q{level}`` columns, sorted by keys and time.

        Raises
        ------
        NotFittedError
            Before :meth:`fit`.
        DataValidationError
            Bad ``h`` or quantiles, or a ``future_df`` lacking the exogenous values.
        """
        h, quantiles = self._prepare_predict(h, quantiles)
        if self.strategy == "direct" and h > int(self.horizon_):
            raise DataValidationError.for_parameter(
                "h", f"the direct strategy forecasts at most horizon={self.horizon_} steps", h)
        grid, steps = self._future_grid(h)
        n = int(self.series_.shape[0])
        xp = frames.namespace(grid)
        long_idx = getattr(self, "long_series_", np.arange(n))
        point = xp.full((h, n), float("nan"), dtype=xp.float64)
        if long_idx.size:
            rows = (np.arange(h)[:, None] * n + long_idx[None, :]).reshape(-1)
            point[:, xp.asarray(long_idx)] = self._global_paths(frames.take(grid, rows).reset_index(drop=True),
                                                                 h, future_df)
        if getattr(self, "fallback_", None) is not None:
            short_idx = np.setdiff1d(np.arange(n), long_idx)
            path = frames.values(self.fallback_.predict(h), "forecast")
            point[:, xp.asarray(short_idx)] = xp.reshape(xp.asarray(path), (short_idx.size, h)).T
        return self._output(grid, steps, xp.reshape(point, (-1,)), quantiles)

    def _global_paths(self, grid: Any, h: int, future_df: Any) -> Any:
        """``(h, n_long)`` forecasts of the global model for the step-major ``grid`` of the long series."""
        grid = self._future_exog(grid, future_df)
        n = len(grid) // h
        xp = frames.namespace(grid)
        future = frames.assign(grid[[*self.id_cols_, self.time_col_, *self.exog_]],
                               {self.target_col_: xp.full(len(grid), float("nan"))})
        full = frames.concat([self.tail_, future[list(self.tail_.columns)]], ignore_index=True)
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
                if not np.array_equal(np.asarray(backend.to_host(feats.index)), expected):
                    feats = feats.loc[expected]
                yhat = frames.to_array(model_s.predict(feats[list(spec_s.feature_names)]))
                full.iloc[m - n: m, target_pos] = yhat
                preds.append(yhat)
        paths = xp.reshape(backend.array_namespace(preds[0]).concat(preds), (h, n))
        return self.transforms_.inverse(paths)


def _merge_reports(main: FitReport, fallback: FitReport, n_short: int) -> FitReport:
    """The fit report of the global model and of its fallback together."""
    dropped = dict(main.dropped)
    for reason, count in fallback.dropped.items():
        dropped[reason] = dropped.get(reason, 0) + count
    return FitReport(main.rows_in + fallback.rows_in, main.rows_used + fallback.rows_used, dropped,
                     {**fallback.fallback, "short_series": n_short})
