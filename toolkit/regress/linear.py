"""Least-squares estimators: ``LinearRegression``, ``Ridge`` and ``RidgeCV`` on one QR kernel.

Design choices (where the issue is silent):

* **One kernel.** All three reduce the (weighted) data to the triangular factor of
  ``[sqrt(w), X sqrt(w), y sqrt(w)]`` with :func:`toolkit.kernels.lstsq.block_factor`
  (blocked QR, TSQR across Dask partitions through :func:`toolkit.panel.blocks.reduce_row_blocks`)
  and solve from one SVD (:class:`toolkit.kernels.lstsq.LeastSquaresSolution`): the
  minimum-norm solution of the centred problem, what scikit-learn computes.
* **Standard errors** are the classical OLS ones, ``sigma^2 (R'R)^+`` with
  ``sigma^2 = RSS / (n - rank - intercept)`` (weights are frequency-like: ``n`` counts rows
  with positive weight). For ridge they are the OLS formulas at the ridge solution.
* **Predictions mirror the input**: NumPy -> NumPy, CuPy -> CuPy, pandas/cuDF frame -> Series
  of the same library and index, Dask array/frame -> lazy Dask array/Series.
* **Non-finite input** (NaN/``inf`` in ``X``, ``y`` or the weights) is rejected naming the
  column, and so are values whose squares overflow float64 (``1e308``; see
  :mod:`toolkit.regress.inputs`): they used to give NaN coefficients silently. Rescaling
  internally was considered and left out: a column whose sum of squares overflows holds a
  value some ``1e150`` times its neighbours, and that row alone then decides the fit (and
  the rank cut-off), so the honest answer is to name the column. Should a result still come
  out non-finite (standard errors of a nearly singular design at extreme scales), the fit
  raises naming the column of largest magnitude rather than return NaN.
* **Predict** checks ``feature_names_in_``: frame columns are matched by name (reordered,
  extras ignored), a missing one is an error; scikit-learn's ``NotFittedError`` before fit.

Examples
--------
>>> import numpy as np
>>> from toolkit.regress import LinearRegression
>>> X = np.array([[1.0], [2.0], [3.0], [4.0]])
>>> LinearRegression().fit(X, [2.0, 4.1, 5.9, 8.0]).coef_table().round(2)["coef"].tolist()
[0.05, 1.98]
"""

from __future__ import annotations

import math
from typing import Any, Sequence

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, RegressorMixin

from toolkit import backend
from toolkit.errors import DataValidationError
from toolkit.kernels.lstsq import Factor, LeastSquaresSolution, block_factor, combine_factors
from toolkit.panel import blocks, checks
from toolkit.regress.inputs import column_names, features_for_predict, host_times, prepare_xy, require_fitted
from toolkit.regress.selection import time_series_splits

__all__ = ["LeastSquaresRegressor", "LinearRegression", "Ridge", "RidgeCV"]

def _factor_of_block(X: Any, y: Any, w: Any, fit_intercept: bool) -> Factor:
    """The factor of one in-memory block (validated as in-memory input)."""
    inputs = prepare_xy(X, y, w)
    return block_factor(inputs.X, inputs.y, inputs.w, fit_intercept)


def _max_abs_of_block(X: Any, y: Any) -> tuple[np.ndarray, float]:
    inputs = prepare_xy(X, y)
    xp = backend.array_namespace(inputs.X)
    top = xp.maximum(xp.max(inputs.X, axis=0), -xp.min(inputs.X, axis=0))
    return np.asarray(backend.to_host(top)), float(xp.max(xp.abs(inputs.y)))


def _max_of(parts: list) -> tuple[np.ndarray, float]:
    return np.max([p[0] for p in parts], axis=0), max(p[1] for p in parts)


class LeastSquaresRegressor(RegressorMixin, BaseEstimator):
    """Shared fit/predict of the least-squares estimators (penalty from :meth:`penalty`)."""

    def penalty(self) -> float:
        """The ridge penalty of this estimator (0 for ordinary least squares)."""
        return 0.0

    # ---- fitting
    def _factor(self, X: Any, y: Any, sample_weight: Any) -> Factor:
        return blocks.reduce_row_blocks(_factor_of_block, combine_factors, X, y, sample_weight,
                                        names=("y", "sample_weight"), fit_intercept=self.fit_intercept)

    def _fit_data(self, X: Any, y: Any, factor: Factor, alpha: float) -> "LeastSquaresRegressor":
        """Solve from ``factor``; a non-finite result is an error naming the largest column."""
        self.feature_names_in_ = column_names(X)
        self._solve(factor, alpha)
        if not self._finite():
            self._raise_unstable(*blocks.reduce_row_blocks(_max_abs_of_block, _max_of, X, y, names=("y",)), y)
        return self

    def _solve(self, factor: Factor, alpha: float) -> None:
        R, n_pos, s_w, s_wy, s_wyy = factor
        if s_w <= 0:
            checks.fail("sample_weight", "all weights are zero")
        sol = LeastSquaresSolution(R, self.fit_intercept, n_pos)
        xp = sol.xp
        coef = sol.coef(alpha)
        self.coef_ = coef
        self.intercept_ = sol.intercept(coef)
        self.rank_ = sol.rank
        self.singular_ = sol.s
        self.n_features_in_ = sol.p
        self.n_samples_ = n_pos
        with np.errstate(over="ignore", invalid="ignore"):
            rss = sol.rss(coef)
            tss = float(xp.sum(R[1:, -1] ** 2)) if self.fit_intercept else s_wyy - s_wy * s_wy / s_w
            self.rss_ = rss
            self.r2_ = 1.0 - rss / tss if tss > 0 else float("nan")
            dof = n_pos - sol.rank - sol.off
            self.dof_resid_ = dof
            sigma2 = rss / dof if dof > 0 else float("nan")
            self.sigma2_ = sigma2
            pinv = sol.pinv_rxx()
            cov = sigma2 * (pinv @ pinv.T)
            self.coef_se_ = xp.sqrt(xp.clip(xp.linalg.diagonal(cov), 0.0, None))
            if sol.off:
                g = R[0, 1: 1 + sol.p] / R[0, 0]
                var0 = sigma2 / float(R[0, 0]) ** 2 + float(g @ cov @ g)
                self.intercept_se_ = float(np.sqrt(max(var0, 0.0)))
            else:
                self.intercept_se_ = float("nan")

    def _finite(self) -> bool:
        """Coefficients, intercept, RSS and (when defined) standard errors are all finite."""
        xp = backend.array_namespace(self.coef_)
        values = [float(xp.sum(self.coef_)), self.intercept_, self.rss_]
        if self.dof_resid_ > 0:
            values += [float(xp.sum(self.coef_se_)), self.sigma2_]
            if self.fit_intercept:
                values.append(self.intercept_se_)
        with np.errstate(over="ignore", invalid="ignore"):
            return all(math.isfinite(v) for v in values) and bool(xp.all(xp.isfinite(self.coef_)))

    def _raise_unstable(self, top: np.ndarray, y_top: float, y: Any) -> None:
        names = self.feature_names_in_ or [f"X[:, {j}]" for j in range(len(top))]
        column, value = names[int(np.argmax(top))], float(np.max(top))
        if y_top > value:
            column, value = str(getattr(y, "name", None) or "y"), y_top
        raise DataValidationError(
            f"column {column!r}: the least-squares fit is not finite (coefficients, residuals or standard errors "
            f"overflow float64; largest magnitude {value:.3g} in this column); rescale the columns or drop "
            "the extreme rows", column=column)

    def fit(self, X: Any, y: Any, sample_weight: Any = None) -> "LeastSquaresRegressor":
        """Fit by blocked QR (TSQR on Dask input).

        Parameters
        ----------
        X : array or frame, shape (n_samples, n_features)
            NumPy, CuPy, pandas, cuDF, or a Dask array/DataFrame (fitted out of core).
        y : array or Series, shape (n_samples,)
        sample_weight : array or Series, optional
            Non-negative row weights.

        Returns
        -------
        self

        Raises
        ------
        DataValidationError
            Non-numeric, NaN or infinite values (naming the column), mismatched lengths,
            negative or all-zero weights, or magnitudes that overflow float64 (see the
            module docstring).
        """
        alpha = self.penalty()
        return self._fit_data(X, y, self._factor(X, y, sample_weight), alpha)

    # ---- predicting
    def predict(self, X: Any) -> Any:
        """``X @ coef_ + intercept_``, mirroring the input type (Dask input stays lazy).

        Frame columns are matched to ``feature_names_in_`` by name.

        Raises
        ------
        NotFittedError
            Before :meth:`fit`.
        DataValidationError
            A fitted column is missing, the column count differs, or values are not finite.
        """
        require_fitted(self, "coef_")
        return blocks.map_row_blocks(self._predict_block, X)

    def _predict_block(self, X: Any) -> Any:
        Xa = features_for_predict(X, self.feature_names_in_, self.n_features_in_, type(self).__name__)
        xp = backend.array_namespace(Xa)
        return Xa @ xp.asarray(backend.to_host(self.coef_)) + self.intercept_

    def coef_table(self, feature_names: Sequence[str] | None = None) -> pd.DataFrame:
        """Coefficients with standard errors, t statistics and two-sided p-values.

        Parameters
        ----------
        feature_names : list of str, optional
            Defaults to the fitted frame's columns, else ``x0, x1, ...``.

        Returns
        -------
        pandas.DataFrame
            Index ``term`` (``intercept`` first when fitted), columns ``coef, std_err, t, p_value``.
        """
        from scipy import stats

        require_fitted(self, "coef_")
        names = list(feature_names or self.feature_names_in_ or [f"x{j}" for j in range(self.n_features_in_)])
        if len(names) != self.n_features_in_:
            raise DataValidationError.for_parameter(
                "feature_names", f"needs {self.n_features_in_} names", list(feature_names or []))
        coef = backend.to_host(self.coef_).tolist()
        se = backend.to_host(self.coef_se_).tolist()
        if self.fit_intercept:
            names, coef, se = ["intercept", *names], [self.intercept_, *coef], [self.intercept_se_, *se]
        table = pd.DataFrame({"coef": coef, "std_err": se}, index=pd.Index(names, name="term"))
        with np.errstate(divide="ignore", invalid="ignore"):
            table["t"] = table["coef"] / table["std_err"]
        table["p_value"] = 2.0 * stats.t.sf(np.abs(table["t"]), self.dof_resid_) if self.dof_resid_ > 0 else np.nan
        return table


class LinearRegression(LeastSquaresRegressor):
    """Ordinary least squares by blocked QR, on NumPy, CuPy or Dask input.

    Parameters
    ----------
    fit_intercept : bool, default True
        Fit an unpenalised intercept (the data are centred implicitly by the QR).

    Attributes
    ----------
    coef_ : array (NumPy or CuPy, like the input), shape (n_features,)
    intercept_ : float
    coef_se_ : array, shape (n_features,)
        Standard errors of ``coef_``; ``intercept_se_`` for the intercept.
    r2_ : float
        Coefficient of determination on the training data (weighted when weights are given).
    rank_ : int
        Numerical rank of the centred design.
    rss_, sigma2_, dof_resid_, n_samples_, singular_, feature_names_in_, n_features_in_

    Examples
    --------
    >>> import numpy as np
    >>> from toolkit.regress import LinearRegression
    >>> X = np.array([[0.0], [1.0], [2.0], [3.0]])
    >>> LinearRegression().fit(X, 1.0 + 2.0 * X[:, 0]).predict(np.array([[4.0]])).round(6).tolist()
    [9.0]
    """

    def __init__(self, fit_intercept: bool = True):
        self.fit_intercept = fit_intercept


class Ridge(LeastSquaresRegressor):
    """Ridge regression (L2 penalty on the slopes, not the intercept), same kernel as OLS.

    Minimises ``sum w (y - b0 - X b)^2 + alpha |b|^2``, scikit-learn's objective.

    Parameters
    ----------
    alpha : float, default 1.0
    fit_intercept : bool, default True

    Examples
    --------
    >>> import numpy as np
    >>> from toolkit.regress import Ridge
    >>> X = np.eye(3)
    >>> Ridge(alpha=1.0, fit_intercept=False).fit(X, np.ones(3)).coef_.tolist()
    [0.5, 0.5, 0.5]
    """

    def __init__(self, alpha: float = 1.0, fit_intercept: bool = True):
        self.alpha = alpha
        self.fit_intercept = fit_intercept

    def penalty(self) -> float:
        return checks.check_number("alpha", self.alpha, minimum=0.0)


class RidgeCV(LeastSquaresRegressor):
    """Ridge with ``alpha`` chosen by time-series cross-validation.

    Each fold is factored once; every ``alpha`` of the grid is then a cheap solve from the same
    SVD. The refit on all rows uses the best ``alpha`` (lowest mean validation MSE).

    Parameters
    ----------
    alphas : sequence of float
    n_windows, horizon, step, gap, window, train_size
        Passed to :func:`toolkit.regress.time_series_splits`; ``horizon`` defaults to a fifth
        of the time stamps divided by ``n_windows``.
    fit_intercept : bool, default True

    Attributes
    ----------
    alpha_ : float
    cv_scores_ : pandas.DataFrame
        Validation MSE per alpha (rows) and window (columns).

    Examples
    --------
    >>> import numpy as np
    >>> from toolkit.regress import RidgeCV
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(300, 4)); y = X @ np.ones(4) + rng.normal(size=300)
    >>> RidgeCV(alphas=(0.01, 1.0, 1e4)).fit(X, y).alpha_ < 1e4
    True
    """

    def __init__(
        self,
        alphas: Sequence[float] = (0.01, 0.1, 1.0, 10.0, 100.0),
        n_windows: int = 3,
        horizon: int | None = None,
        step: int | None = None,
        gap: int = 0,
        window: str = "expanding",
        train_size: int | None = None,
        fit_intercept: bool = True,
    ):
        self.alphas = alphas
        self.n_windows = n_windows
        self.horizon = horizon
        self.step = step
        self.gap = gap
        self.window = window
        self.train_size = train_size
        self.fit_intercept = fit_intercept

    def _alphas(self) -> list[float]:
        if isinstance(self.alphas, (str, bytes)) or not hasattr(self.alphas, "__iter__"):
            raise DataValidationError.for_parameter("alphas", "expected a sequence of numbers", self.alphas)
        alphas = [checks.check_number("alphas", a, minimum=0.0) for a in self.alphas]
        if not alphas:
            raise DataValidationError.for_parameter("alphas", "needs at least one value", self.alphas)
        return alphas

    def fit(self, X: Any, y: Any, sample_weight: Any = None, time: Any = None) -> "RidgeCV":
        """Choose ``alpha`` on time-ordered folds, then refit on everything.

        Parameters
        ----------
        X, y, sample_weight : as :meth:`LinearRegression.fit` (in-memory input only).
        time : array-like, optional
            Time stamp of each row; rows are taken to be in time order when omitted.

        Returns
        -------
        self
        """
        blocks.require_in_memory(X, "X", "RidgeCV (fit Ridge on Dask data with a chosen alpha)")
        alphas = self._alphas()
        n_windows = checks.check_int("n_windows", self.n_windows, minimum=1)
        inputs = prepare_xy(X, y, sample_weight)
        Xa, ya, wa = inputs.X, inputs.y, inputs.w
        times = np.arange(Xa.shape[0]) if time is None else host_times(time)
        if times.shape[0] != Xa.shape[0]:
            checks.fail("time", f"{times.shape[0]} time stamps for {Xa.shape[0]} rows")
        horizon = self.horizon or max(1, len(np.unique(times)) // (5 * n_windows))
        splits = time_series_splits(times, None, n_windows, horizon, self.step, self.gap, self.window,
                                    self.train_size)
        xp = backend.array_namespace(Xa)
        scores = np.empty((len(alphas), len(splits)))
        for j, (train, valid) in enumerate(splits):
            tr, va = xp.asarray(train), xp.asarray(valid)
            factor = block_factor(Xa[tr], ya[tr], None if wa is None else wa[tr], self.fit_intercept)
            sol = LeastSquaresSolution(factor.R, self.fit_intercept, factor.n_positive)
            for i, alpha in enumerate(alphas):
                coef = sol.coef(alpha)
                resid = Xa[va] @ coef + sol.intercept(coef) - ya[va]
                scores[i, j] = float(xp.mean(resid * resid))
        self.cv_scores_ = pd.DataFrame(scores, index=pd.Index(alphas, name="alpha"),
                                       columns=[f"window_{j}" for j in range(len(splits))])
        self.alpha_ = alphas[int(np.argmin(scores.mean(axis=1)))]
        factor = block_factor(Xa, ya, wa, self.fit_intercept)
        return self._fit_data(X, y, factor, self.alpha_)
