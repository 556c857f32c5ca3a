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
from toolkit.forecast.base import PanelForecaster
from toolkit.forecast.dask_fit import fit_dask
from toolkit.forecast.training import fit_report, tail_rows, training_flags, transform_target
from toolkit.forecast.transforms import TargetTransforms
from toolkit.panel import blocks, checks, frames
from toolkit.regress import make_model

__all__ = ["Forecaster", "STRATEGIES"]

STRATEGIES = ("recursive", "direct")


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

    Attributes
    ----------
    model_ : fitted model (recursive) ; models_ : list of fitted models (direct)
    spec_ : FeatureSpec actually used (keys, target and exogenous columns of ``fit``)
    freq_ : str ; spacing_ : SpacingReport
    report_ : FitReport
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
        horizon: int = 28,
        target_transform: str | Sequence[str] | None = None,
        strategy: str = "recursive",
        stockouts: str = "exclude",
        freq: Any = None,
        calibration_windows: int = 0,
        dask_sample_rows: int = 500_000,
        random_state: int = 0,
        irregular: str = "raise",
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

    def _step_spec(self, k: int) -> FeatureSpec:
        """The spec of direct model ``k``: target-derived features moved ``k - 1`` rows back."""
        if self.strategy == "recursive" or k == 1:
            return self.spec_
        return dataclasses.replace(self.spec_, lags=tuple(lag + k - 1 for lag in self.spec_.lags),
                                   rolling_shift=self.spec_.rolling_shift + k - 1)

    def _n_models(self) -> int:
        return int(self.horizon) if self.strategy == "direct" else 1

    def min_rows(self) -> int:
        """The spec's lookback + 1 rows (1 + 1 when the spec needs the whole history)."""
        lookback = self._step_spec(self._n_models()).lookback
        return (lookback if lookback < FULL_HISTORY else 1) + 1

    def _fit_kwargs(self) -> dict:
        return {"future_exog": self.exog_}

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
        """Fit the global model on every series of ``df``.

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
            series shorter than the spec's lookback + 1 rows; an irregular time axis; bad
            parameters (unknown strategy, transform, freq...). On a Dask frame also
            ``calibration_windows > 0``, ``strategy="direct"`` or a spec with expanding/EWM
            statistics (compute the frame first).
        """
        checks.check_choice("strategy", self.strategy, STRATEGIES)
        self._check_params()
        checks.check_int("dask_sample_rows", self.dask_sample_rows, minimum=1)
        chain = TargetTransforms(self.target_transform)
        spec = self._spec_for(id_cols, time_col, target_col, future_exog)
        self.spec_ = spec
        if blocks.placement(df).lazy:
            return fit_dask(self, df, stockout_col, chain)
        layout = self._validate(df, list(spec.id_cols), spec.time_col, spec.target_col, spec.exog, stockout_col)
        keys, tcol, target = self.id_cols_, self.time_col_, self.target_col_
        self._series_state(df, layout)
        lookback = self._step_spec(self._n_models()).lookback
        self.tail_rows_ = lookback if lookback < FULL_HISTORY else None
        z = transform_target(df, layout, chain, target, [*keys, tcol])
        self.transforms_ = chain
        stock_col = self.stockout_col_ if self.stockouts == "exclude" else None
        columns = [*keys, tcol, *self.exog_] + ([stock_col] if stock_col and stock_col not in self.exog_ else [])
        base = frames.assign(df[columns], {target: z})
        model = self.model if self.model is not None else make_model("gradient_boosting")
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
        self.report_ = reports[0]
        self.tail_ = tail_rows(base, keys, tcol, self.tail_rows_, [*keys, tcol, *self.exog_, target], layout)
        self._calibrate(df)
        return self

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

        Raises
        ------
        NotFittedError
            Before :meth:`fit`.
        DataValidationError
            Bad ``h`` or quantiles, or a ``future_df`` lacking the exogenous values.
        """
        h, quantiles = self._prepare_predict(h, quantiles)
        if self.strategy == "direct" and h > int(self.horizon):
            raise DataValidationError.for_parameter(
                "h", f"the direct strategy forecasts at most horizon={self.horizon} steps", h)
        grid, steps = self._future_grid(h)
        grid = self._future_exog(grid, future_df)
        n = int(self.series_.shape[0])
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
        point = xp.reshape(self.transforms_.inverse(paths), (-1,))
        return self._output(grid, steps, point, quantiles)
