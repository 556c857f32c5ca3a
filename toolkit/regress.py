"""Regression: least-squares estimators, a model factory, forecast metrics and time-series CV.

Design choices (where the issue is silent):

* **One least-squares kernel.** :class:`LinearRegression`, :class:`Ridge` and :class:`RidgeCV`
  reduce the (weighted) data to the triangular factor ``R`` of the QR decomposition of
  ``[sqrt(w), X*sqrt(w), y*sqrt(w)]``, accumulated block by block (``R = qr([R; block])``,
  i.e. TSQR). The same kernel runs on numpy and cupy blocks, on the whole array in memory and on
  each Dask partition (the partition factors are stacked and factored once more), so the
  in-memory and out-of-core fits agree to rounding. Because the ones column comes first, the
  trailing block of ``R`` is the factor of the *centred* data: the slopes are the
  minimum-norm least-squares solution of the centred problem (what scikit-learn computes),
  obtained from one small SVD; no inverse of ``X'X`` is ever formed. When no combination of the
  columns of ``X`` is constant this equals ``numpy.linalg.lstsq`` on ``[1, X]``, rank-deficient
  or not. Singular values below ``eps * max(n_rows, n_features) * s_max`` count as zero, the
  cut-off ``numpy.linalg.lstsq`` uses. The ridge path reuses the same SVD for every ``alpha``.
  Blocks of 32k rows keep the working memory at a few MiB instead of a centred copy of ``X``.
* **Standard errors** are the classical OLS ones, ``sigma^2 (R'R)^+`` with
  ``sigma^2 = RSS / (n - rank - intercept)`` (weights are frequency-like: ``n`` counts rows
  with positive weight).
* **Predictions mirror the input**: numpy -> numpy, cupy -> cupy, pandas/cudf frame -> Series of
  the same library and index, Dask array/frame -> lazy Dask array/Series.
* **make_model** returns a :class:`Model` that chooses its backend at ``fit`` time from where
  the data lives: cuML when the input is on the GPU and cuML imports, scikit-learn otherwise.
  cuML has no Huber or gradient-boosting regressor; on GPU input ``"gradient_boosting"`` uses
  XGBoost on the device when it is installed, and ``"huber"`` (and ``"gradient_boosting"``
  without XGBoost) copy the data to the host. ``"mlp"`` and ``"lstm"`` are small torch networks
  (:class:`TorchRegressor`) trained on the device of the input.
* **Metrics** ignore pairs where the actual or the forecast is NaN; they accept numpy, cupy,
  pandas and cudf inputs and return Python floats. ``bias`` is ``mean(forecast - actual)``
  (positive means over-forecasting); ``mape`` skips zero actuals; ``smape`` counts 0/0 as 0.
* **Time-series CV** splits on distinct time stamps, not on rows, so every series of a panel
  is cut at the same dates; the validation windows are the last ``n_windows`` blocks of
  ``horizon`` stamps, ``step`` apart, and training ends ``gap`` stamps before each window.

Examples
--------
>>> import numpy as np
>>> from toolkit.regress import LinearRegression
>>> rng = np.random.default_rng(0)
>>> X = rng.normal(size=(200, 3))
>>> y = 1.5 + X @ np.array([2.0, -1.0, 0.5]) + rng.normal(scale=0.1, size=200)
>>> model = LinearRegression().fit(X, y)
>>> np.round(model.coef_, 1).tolist(), round(model.intercept_, 1)
([2.0, -1.0, 0.5], 1.5)
"""

from __future__ import annotations

import importlib
import itertools
from collections import namedtuple
from typing import Any, Iterable, Sequence

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, RegressorMixin, clone

from toolkit import backend
from toolkit.errors import DataValidationError
from toolkit.panel import as_list

__all__ = [
    "LinearRegression",
    "Ridge",
    "RidgeCV",
    "Model",
    "TorchRegressor",
    "make_model",
    "MODELS",
    "mae",
    "mse",
    "rmse",
    "mape",
    "smape",
    "wape",
    "mase",
    "bias",
    "pinball_loss",
    "coverage",
    "METRICS",
    "evaluate",
    "Evaluation",
    "time_series_splits",
    "search",
    "SearchResult",
    "permutation_importance",
]

_CPU_BLOCK_ROWS = 32_768
_GPU_BLOCK_ROWS = 1_048_576


# --------------------------------------------------------------------------- input handling


def _values(obj: Any, dtype: str = "float64") -> Any:
    """A Series/DataFrame/array as a float numpy or cupy array (pandas NA -> NaN)."""
    root = type(obj).__module__.split(".", 1)[0]
    if root == "cudf":
        return obj.astype(dtype).to_cupy(na_value=np.nan) if hasattr(obj, "to_cupy") else obj.values
    if root == "pandas":
        return obj.to_numpy(dtype=dtype, na_value=np.nan)
    if root in ("numpy", "cupy"):
        return obj.astype(dtype, copy=False)
    return np.asarray(obj, dtype=dtype)


def _host_times(time: Any) -> np.ndarray:
    """Time stamps (Series, Index or array, host or device) as a host numpy array."""
    time = backend.to_host(time)
    return np.asarray(time.to_numpy() if hasattr(time, "to_numpy") else time)


def _column_names(X: Any) -> list[str] | None:
    return [str(c) for c in X.columns] if hasattr(X, "columns") else None


def _check_finite(arr: Any, what: str, names: Sequence[str] | None = None) -> None:
    """Raise DataValidationError naming the first column holding NaN/inf.

    A cheap column-sum pass comes first; the detailed count only runs when it fails.
    """
    xp = backend.array_namespace(arr)
    total = xp.sum(arr, axis=0)
    if bool(xp.all(xp.isfinite(total))):
        return
    bad = ~xp.isfinite(arr)
    if arr.ndim == 1:
        count = int(xp.sum(bad))
        if count == 0:  # the sum overflowed, values are finite
            return
        rows = backend.to_host(xp.nonzero(bad)[0][:5]).tolist()
        raise DataValidationError(f"column {what!r}: {count} NaN/inf values (rows {rows})", column=what)
    per_col = backend.to_host(xp.sum(bad, axis=0))
    if int(per_col.sum()) == 0:
        return
    j = int(np.flatnonzero(per_col)[0])
    name = names[j] if names is not None else f"{what}[:, {j}]"
    rows = backend.to_host(xp.nonzero(bad[:, j])[0][:5]).tolist()
    raise DataValidationError(
        f"column {name!r}: {int(per_col[j])} NaN/inf values in the features (rows {rows}); "
        f"{int((per_col > 0).sum())} column(s) affected",
        column=name,
    )


def _prepare_xy(X: Any, y: Any, sample_weight: Any = None):
    """Validate in-memory inputs and return float64 arrays (numpy or cupy) and feature names."""
    names = _column_names(X)
    Xa = _values(X)
    if Xa.ndim == 1:
        Xa = Xa.reshape(-1, 1)
    if Xa.ndim != 2:
        raise DataValidationError(f"X must be 2-D, got {Xa.ndim} dimensions", column="X")
    ya = _values(y)
    if ya.ndim == 2 and ya.shape[1] == 1:
        ya = ya.reshape(-1)
    target = str(getattr(y, "name", None) or "y")
    if ya.ndim != 1 or ya.shape[0] != Xa.shape[0]:
        raise DataValidationError(
            f"column {target!r}: target has shape {tuple(ya.shape)}, expected ({Xa.shape[0]},)", column=target
        )
    if Xa.shape[0] == 0:
        raise DataValidationError("X: empty input (0 rows)", column="X")
    _check_finite(Xa, "X", names)
    _check_finite(ya, target)
    wa = None
    if sample_weight is not None:
        wa = _values(sample_weight).reshape(-1)
        if wa.shape[0] != Xa.shape[0]:
            raise DataValidationError(
                f"column 'sample_weight': {wa.shape[0]} weights for {Xa.shape[0]} rows", column="sample_weight"
            )
        _check_finite(wa, "sample_weight")
        xp = backend.array_namespace(wa)
        negative = int(xp.sum(wa < 0))
        if negative:
            raise DataValidationError(f"column 'sample_weight': {negative} negative weights", column="sample_weight")
    return Xa, ya, wa, names


# --------------------------------------------------------------------------- TSQR kernel


def _qr_r(xp: Any, A: Any) -> Any:
    """The R factor only (numpy/cupy ``linalg.qr(mode="r")``; the array API has no such mode)."""
    native = importlib.import_module("cupy" if _is_cupy(xp) else "numpy")
    return native.linalg.qr(A, mode="r")


def _is_cupy(xp: Any) -> bool:
    import array_api_compat

    return array_api_compat.is_cupy_namespace(xp)


def _block_factor(X: Any, y: Any, w: Any, fit_intercept: bool, block_rows: int | None = None) -> tuple:
    """Reduce ``(X, y, w)`` to ``(R, n_positive, sum_w, sum_wy, sum_wyy)``.

    ``R`` is the ``k x k`` triangular factor of ``[sqrt(w), X sqrt(w), y sqrt(w)]`` (the ones
    column only with ``fit_intercept``), accumulated over blocks of ``block_rows`` rows.
    """
    xp = backend.array_namespace(X)
    n, p = X.shape
    k = p + 1 + int(fit_intercept)
    off = int(fit_intercept)
    if block_rows is None:
        block_rows = _GPU_BLOCK_ROWS if _is_cupy(xp) else _CPU_BLOCK_ROWS
    R = xp.zeros((0, k), dtype=xp.float64)
    with _one_blas_thread(xp):
        R = _accumulate(xp, X, y, w, R, k, off, p, n, block_rows, fit_intercept)
    R = _pad_square(xp, R, k)
    if w is None:
        n_pos, s_w, s_wy, s_wyy = n, float(n), float(xp.sum(y)), float(xp.sum(y * y))
    else:
        n_pos, s_w, s_wy, s_wyy = int(xp.sum(w > 0)), float(xp.sum(w)), float(xp.sum(w * y)), float(xp.sum(w * y * y))
    return R, n_pos, s_w, s_wy, s_wyy


def _one_blas_thread(xp: Any) -> Any:
    """Host BLAS/LAPACK limited to one thread while factoring blocks.

    Each block QR is small (32k x p): with several BLAS threads the per-call thread start-up and
    barriers cost more than they save, and on a loaded machine they make the fit several times
    slower (measured 5x on 2 shared cores). Parallelism across blocks comes from Dask instead.
    """
    import contextlib

    if _is_cupy(xp):
        return contextlib.nullcontext()
    from threadpoolctl import threadpool_limits

    return threadpool_limits(limits=1, user_api="blas")


def _accumulate(xp, X, y, w, R, k, off, p, n, block_rows, fit_intercept):
    """``R = qr([R; block])`` over the row blocks of ``[sqrt(w), X sqrt(w), y sqrt(w)]``."""
    for start in range(0, n, block_rows):
        stop = min(start + block_rows, n)
        sw = None if w is None else xp.sqrt(w[start:stop])
        A = xp.empty((R.shape[0] + stop - start, k), dtype=xp.float64)
        A[: R.shape[0]] = R
        block = A[R.shape[0] :]
        if fit_intercept:
            block[:, 0] = 1.0 if sw is None else sw
        block[:, off : off + p] = X[start:stop] if sw is None else X[start:stop] * sw[:, None]
        block[:, -1] = y[start:stop] if sw is None else y[start:stop] * sw
        R = _qr_r(xp, A)
    return R


def _pad_square(xp: Any, R: Any, k: int) -> Any:
    if R.shape[0] == k:
        return R
    out = xp.zeros((k, k), dtype=xp.float64)
    out[: R.shape[0]] = R
    return out


def _combine_factors(parts: Sequence[tuple]) -> tuple:
    """Stack partition factors and factor again; sum the scalar statistics."""
    xp = backend.array_namespace(parts[0][0])
    k = parts[0][0].shape[1]
    R = _pad_square(xp, _qr_r(xp, xp.concat([p[0] for p in parts], axis=0)), k)
    sums = [sum(p[i] for p in parts) for i in range(1, 5)]
    return (R, *sums)


def _frame_block_factor(Xpart: Any, ypart: Any, wpart: Any, fit_intercept: bool) -> tuple:
    """Factor of one Dask partition (frame or array block), validated like in-memory input."""
    Xa, ya, wa, _ = _prepare_xy(Xpart, ypart, wpart)
    return _block_factor(Xa, ya, wa, fit_intercept)


def _dask_factor(X: Any, y: Any, sample_weight: Any, fit_intercept: bool) -> tuple:
    """Out-of-core TSQR: one factor per partition, then a tree of stacked factorizations."""
    import dask

    if hasattr(X, "columns"):  # Dask DataFrame
        xs, ys = X.to_delayed(), y.to_delayed()
        ws = sample_weight.to_delayed() if sample_weight is not None else [None] * len(xs)
        if not (len(xs) == len(ys) == len(ws)):
            raise DataValidationError(
                f"X has {len(xs)} partitions but y has {len(ys)}: derive X and y from the same frame", column="y"
            )
    else:  # Dask array: one column chunk, rows aligned
        X = X.rechunk({1: -1})
        xs = list(X.to_delayed().ravel())
        ys = list(y.rechunk((X.chunks[0],)).to_delayed().ravel())
        if sample_weight is not None:
            ws = list(sample_weight.rechunk((X.chunks[0],)).to_delayed().ravel())
        else:
            ws = [None] * len(xs)
    factors = [dask.delayed(_frame_block_factor)(a, b, c, fit_intercept) for a, b, c in zip(xs, ys, ws)]
    while len(factors) > 1:  # tree reduction, 8 factors at a time
        factors = [dask.delayed(_combine_factors)(factors[i : i + 8]) for i in range(0, len(factors), 8)]
    (result,) = dask.compute(factors[0])
    return result


class _Solution:
    """Minimum-norm (ridge) solutions from one SVD of the feature block of ``R``."""

    def __init__(self, R: Any, fit_intercept: bool, n_rows: int):
        xp = backend.array_namespace(R)
        self.xp, self.R, self.off = xp, R, int(fit_intercept)
        k = R.shape[1]
        self.p = k - 1 - self.off
        Rxx = R[self.off : self.off + self.p, self.off : self.off + self.p]
        self.z = R[self.off : self.off + self.p, -1]
        U, s, Vt = xp.linalg.svd(Rxx, full_matrices=False)
        smax = float(s[0]) if self.p else 0.0
        tol = smax * np.finfo(np.float64).eps * max(n_rows, self.p + self.off)
        keep = s > tol
        self.rank = int(xp.sum(keep))
        self.U, self.s, self.Vt, self.keep = U, s, Vt, keep
        self.uz = U.T @ self.z

    def coef(self, alpha: float = 0.0) -> Any:
        xp, s = self.xp, self.s
        if alpha == 0.0:
            scale = xp.where(self.keep, 1.0 / xp.where(self.keep, s, 1.0), 0.0)
        else:
            scale = s / (s * s + alpha)
        return self.Vt.T @ (scale * self.uz)

    def intercept(self, coef: Any) -> float:
        if not self.off:
            return 0.0
        R = self.R
        return float((R[0, -1] - R[0, 1 : 1 + self.p] @ coef) / R[0, 0])

    def rss(self, coef: Any) -> float:
        """Residual sum of squares: ``|X b - y|^2 = |R_x b - R_y|^2`` (rows below the first are exact)."""
        rows = self.R[self.off :]
        resid = rows[:, self.off : self.off + self.p] @ coef - rows[:, -1]
        return float(self.xp.sum(resid * resid))

    def pinv_rxx(self) -> Any:
        xp, s = self.xp, self.s
        inv = xp.where(self.keep, 1.0 / xp.where(self.keep, s, 1.0), 0.0)
        return (self.Vt.T * inv) @ self.U.T


# --------------------------------------------------------------------------- linear estimators


def _predict_linear(X: Any, coef: Any, intercept: float) -> Any:
    """``X @ coef + intercept`` mirroring the input type (see module docstring)."""
    if backend.is_dask(X):
        host_coef = backend.to_host(coef)
        if hasattr(X, "columns"):
            meta = X._meta.iloc[:, 0].astype("float64").rename("prediction")
            return X.map_partitions(_predict_linear, host_coef, intercept, meta=meta)
        return X.rechunk({1: -1}).astype("float64") @ host_coef + intercept
    if hasattr(X, "columns"):
        values = _values(X)
        xp = backend.array_namespace(values)
        pred = values @ xp.asarray(coef) + intercept
        return backend.frame_lib(X).Series(pred, index=X.index, name="prediction")
    values = _values(X)
    if values.ndim == 1:
        values = values.reshape(-1, 1)
    xp = backend.array_namespace(values)
    return values @ xp.asarray(coef) + intercept


class _LeastSquares(RegressorMixin, BaseEstimator):
    """Shared fit/predict of the least-squares estimators (penalty ``alpha``)."""

    def _alpha(self) -> float:
        return 0.0

    def _factor(self, X: Any, y: Any, sample_weight: Any) -> tuple:
        if backend.is_dask(X):
            self.feature_names_in_ = _column_names(X)
            return _dask_factor(X, y, sample_weight, self.fit_intercept)
        Xa, ya, wa, names = _prepare_xy(X, y, sample_weight)
        self.feature_names_in_ = names
        return _block_factor(Xa, ya, wa, self.fit_intercept)

    def _fit_factor(self, factor: tuple, alpha: float) -> "_LeastSquares":
        R, n_pos, s_w, s_wy, s_wyy = factor
        if s_w <= 0:
            raise DataValidationError("column 'sample_weight': all weights are zero", column="sample_weight")
        sol = _Solution(R, self.fit_intercept, n_pos)
        xp = sol.xp
        coef = sol.coef(alpha)
        self.coef_ = coef
        self.intercept_ = sol.intercept(coef)
        self.rank_ = sol.rank
        self.singular_ = sol.s
        self.n_features_in_ = sol.p
        self.n_samples_ = n_pos
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
            g = R[0, 1 : 1 + sol.p] / R[0, 0]
            var0 = sigma2 / float(R[0, 0]) ** 2 + float(g @ cov @ g)
            self.intercept_se_ = float(np.sqrt(max(var0, 0.0)))
        else:
            self.intercept_se_ = float("nan")
        return self

    def fit(self, X: Any, y: Any, sample_weight: Any = None) -> "_LeastSquares":
        """Fit by blocked QR (TSQR on Dask input).

        Parameters
        ----------
        X : array or frame, shape (n_samples, n_features)
            numpy, cupy, pandas, cudf, or a Dask array/DataFrame (fitted out of core).
        y : array or Series, shape (n_samples,)
        sample_weight : array or Series, optional
            Non-negative row weights.

        Returns
        -------
        self
        """
        return self._fit_factor(self._factor(X, y, sample_weight), self._alpha())

    def predict(self, X: Any) -> Any:
        """``X @ coef_ + intercept_``, mirroring the input type (Dask input stays lazy)."""
        return _predict_linear(X, self.coef_, self.intercept_)

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
            For ridge the standard errors ignore the penalty (OLS formulas at the ridge solution).
        """
        from scipy import stats

        names = list(feature_names or self.feature_names_in_ or [f"x{j}" for j in range(self.n_features_in_)])
        coef = backend.to_host(self.coef_).tolist()
        se = backend.to_host(self.coef_se_).tolist()
        if self.fit_intercept:
            names, coef, se = ["intercept", *names], [self.intercept_, *coef], [self.intercept_se_, *se]
        table = pd.DataFrame({"coef": coef, "std_err": se}, index=pd.Index(names, name="term"))
        with np.errstate(divide="ignore", invalid="ignore"):
            table["t"] = table["coef"] / table["std_err"]
        table["p_value"] = 2.0 * stats.t.sf(np.abs(table["t"]), self.dof_resid_) if self.dof_resid_ > 0 else np.nan
        return table


class LinearRegression(_LeastSquares):
    """Ordinary least squares by blocked QR, on numpy, cupy or Dask input.

    Parameters
    ----------
    fit_intercept : bool, default True
        Fit an unpenalised intercept (the data are centred implicitly by the QR).

    Attributes
    ----------
    coef_ : array (numpy or cupy, like the input), shape (n_features,)
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


class Ridge(_LeastSquares):
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

    def _alpha(self) -> float:
        if self.alpha < 0:
            raise ValueError(f"alpha must be >= 0, got {self.alpha}")
        return float(self.alpha)


class RidgeCV(_LeastSquares):
    """Ridge with ``alpha`` chosen by time-series cross-validation.

    Each fold is factored once; every ``alpha`` of the grid is then a cheap solve from the same
    SVD. The refit on all rows uses the best ``alpha`` (lowest mean validation MSE).

    Parameters
    ----------
    alphas : sequence of float
    n_windows, horizon, step, gap, window, train_size
        Passed to :func:`time_series_splits`; ``horizon`` defaults to a fifth of the time stamps
        divided by ``n_windows``.
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
        if backend.is_dask(X):
            raise TypeError("RidgeCV needs in-memory input; fit Ridge on the Dask data with a chosen alpha")
        Xa, ya, wa, names = _prepare_xy(X, y, sample_weight)
        times = np.arange(Xa.shape[0]) if time is None else _host_times(time)
        horizon = self.horizon or max(1, len(np.unique(times)) // (5 * self.n_windows))
        splits = time_series_splits(
            times, None, self.n_windows, horizon, self.step, self.gap, self.window, self.train_size
        )
        alphas = [float(a) for a in self.alphas]
        xp = backend.array_namespace(Xa)
        scores = np.empty((len(alphas), len(splits)))
        for j, (train, valid) in enumerate(splits):
            tr, va = xp.asarray(train), xp.asarray(valid)
            factor = _block_factor(Xa[tr], ya[tr], None if wa is None else wa[tr], self.fit_intercept)
            sol = _Solution(factor[0], self.fit_intercept, factor[1])
            for i, alpha in enumerate(alphas):
                coef = sol.coef(alpha)
                resid = Xa[va] @ coef + sol.intercept(coef) - ya[va]
                scores[i, j] = float(xp.mean(resid * resid))
        self.cv_scores_ = pd.DataFrame(scores, index=pd.Index(alphas, name="alpha"),
                                       columns=[f"window_{j}" for j in range(len(splits))])
        self.alpha_ = alphas[int(np.argmin(scores.mean(axis=1)))]
        self.feature_names_in_ = names
        return self._fit_factor(_block_factor(Xa, ya, wa, self.fit_intercept), self.alpha_)


# --------------------------------------------------------------------------- model factory

MODELS = ("ridge", "lasso", "elasticnet", "huber", "random_forest", "gradient_boosting", "mlp", "lstm")

_CPU_MODELS = {
    "ridge": ("toolkit.regress", "Ridge", {}),
    "lasso": ("sklearn.linear_model", "Lasso", {}),
    "elasticnet": ("sklearn.linear_model", "ElasticNet", {}),
    "huber": ("sklearn.linear_model", "HuberRegressor", {}),
    "random_forest": ("sklearn.ensemble", "RandomForestRegressor", {"random_state": 0, "n_jobs": -1}),
    "gradient_boosting": ("sklearn.ensemble", "HistGradientBoostingRegressor", {"random_state": 0}),
    "mlp": ("toolkit.regress", "TorchRegressor", {"kind": "mlp"}),
    "lstm": ("toolkit.regress", "TorchRegressor", {"kind": "lstm"}),
}
_GPU_MODELS = {
    "lasso": ("cuml.linear_model", "Lasso", {}),
    "elasticnet": ("cuml.linear_model", "ElasticNet", {}),
    "random_forest": ("cuml.ensemble", "RandomForestRegressor", {"random_state": 0}),
    "gradient_boosting": ("xgboost", "XGBRegressor", {"device": "cuda", "tree_method": "hist", "random_state": 0}),
}


# Out-of-core fits of Dask collections with cuDF/CuPy partitions (one GPU per worker): cuML's
# Dask estimators. "ridge" needs none: toolkit.regress.Ridge factors Dask partitions itself.
_DASK_GPU_MODELS = {
    "lasso": ("cuml.dask.linear_model", "Lasso", {}),
    "elasticnet": ("cuml.dask.linear_model", "ElasticNet", {}),
    "random_forest": ("cuml.dask.ensemble", "RandomForestRegressor", {}),
}


def _importable(module: str) -> bool:
    try:
        importlib.import_module(module)
        return True
    except Exception:  # ImportError, or a GPU library failing to initialise
        return False


class Model(RegressorMixin, BaseEstimator):
    """A named regressor that runs where its training data lives (see :func:`make_model`).

    Parameters
    ----------
    name : str
        One of :data:`MODELS`.
    **params
        Passed to the underlying estimator (scikit-learn, cuML, XGBoost or
        :class:`TorchRegressor`), on top of the toolkit's defaults (``random_state=0``...).

    Attributes
    ----------
    estimator_ : the fitted underlying estimator
    device_ : {"cpu", "gpu"}
        Where the estimator ran.
    """

    def __init__(self, name: str, **params: Any):
        if name not in MODELS:
            raise ValueError(f"unknown model {name!r}; choose one of {MODELS}")
        self.name = name
        self.params = params

    def get_params(self, deep: bool = True) -> dict:
        return {"name": self.name, **self.params}

    def set_params(self, **params: Any) -> "Model":
        if "name" in params:
            self.name = params.pop("name")
        self.params = {**self.params, **params}
        return self

    def __sklearn_clone__(self) -> "Model":
        return type(self)(self.name, **self.params)

    def accepts_dask(self, on_gpu: bool) -> bool:
        """True when this model fits a Dask collection out of core: ``ridge`` always (blocked QR),
        ``lasso``/``elasticnet``/``random_forest`` on GPU partitions when ``cuml.dask`` imports."""
        if self.name == "ridge":
            return True
        return on_gpu and self.name in _DASK_GPU_MODELS and _importable(_DASK_GPU_MODELS[self.name][0])

    def _spec(self, on_gpu: bool, on_dask: bool = False) -> tuple[str, str, dict, bool]:
        """(module, class, defaults, host_copy) for this model and input location."""
        if on_dask and self.name != "ridge":
            if not self.accepts_dask(on_gpu):
                raise TypeError(
                    f"model {self.name!r} cannot fit a Dask collection here: use 'ridge' or LinearRegression "
                    "(out of core on any backend), cuML's Dask estimators (lasso, elasticnet, random_forest on "
                    "GPU partitions with cuml installed), or fit on a sample (Forecaster does: dask_sample_rows)")
            module, cls, defaults = _DASK_GPU_MODELS[self.name]
            return module, cls, defaults, False
        if on_gpu and self.name in _GPU_MODELS:
            module, cls, defaults = _GPU_MODELS[self.name]
            if _importable(module):
                return module, cls, defaults, False
        module, cls, defaults = _CPU_MODELS[self.name]
        native = module == "toolkit.regress"  # our Ridge / TorchRegressor handle device input
        return module, cls, defaults, on_gpu and not native

    def fit(self, X: Any, y: Any, sample_weight: Any = None) -> "Model":
        """Fit the estimator matching the input's location.

        Parameters
        ----------
        X, y : arrays or frames (numpy/pandas -> scikit-learn; cupy/cudf -> cuML where it exists;
            Dask collections -> :meth:`accepts_dask` models only, cuML's Dask estimators on GPU)
        sample_weight : array, optional

        Returns
        -------
        self
        """
        on_gpu = backend.is_gpu(X)
        module, cls, defaults, host_copy = self._spec(on_gpu, backend.is_dask(X))
        estimator = getattr(importlib.import_module(module), cls)(**{**defaults, **self.params})
        if host_copy:
            X, y = backend.to_host(X), backend.to_host(y)
            sample_weight = None if sample_weight is None else backend.to_host(sample_weight)
        kwargs = {} if sample_weight is None else {"sample_weight": sample_weight}
        estimator.fit(X, y, **kwargs)
        self.estimator_ = estimator
        self.device_ = "gpu" if on_gpu and not host_copy else "cpu"
        self._host_copy = host_copy
        return self

    def predict(self, X: Any) -> Any:
        """Predictions of the fitted estimator, on the device of the input."""
        if self._host_copy and backend.is_gpu(X):
            return backend.to_device(np.asarray(self.estimator_.predict(backend.to_host(X))))
        return self.estimator_.predict(X)


def make_model(name: str, **params: Any) -> Model:
    """A scikit-learn-API regressor by name that runs where the data is.

    Parameters
    ----------
    name : {"ridge", "lasso", "elasticnet", "huber", "random_forest", "gradient_boosting", "mlp", "lstm"}
        ``ridge`` is :class:`Ridge` (numpy, cupy, Dask); ``huber`` is robust to outliers;
        ``gradient_boosting`` is HistGradientBoosting on CPU; ``mlp``/``lstm`` are
        :class:`TorchRegressor`.
    **params
        Estimator parameters.

    Returns
    -------
    Model

    Examples
    --------
    >>> import numpy as np
    >>> from toolkit.regress import make_model
    >>> X = np.arange(20.0).reshape(-1, 1)
    >>> model = make_model("huber").fit(X, 2 * X[:, 0] + 1)
    >>> round(float(model.predict(np.array([[30.0]]))[0]), 2)
    61.0
    """
    return Model(name, **params)


class TorchRegressor(RegressorMixin, BaseEstimator):
    """A small torch network (MLP or LSTM) with a scikit-learn API.

    Inputs and target are standardised; training uses Adam on mini-batches, early-stops on
    the *last* ``validation_fraction`` of the rows (rows are taken to be in time order) and
    restores the best epoch. The device is the input's (cupy/cudf -> CUDA, numpy/pandas ->
    CPU) unless ``device`` is given. On CPU, a fit is deterministic for a given
    ``random_state`` (initialisation and shuffling use their own seeded generators; the global
    torch RNG state is restored afterwards).

    Parameters
    ----------
    kind : {"mlp", "lstm"}
        ``lstm`` reads each row as a sequence: 3-D input ``(n, steps, features)``, or 2-D input
        reshaped to ``(n, n_steps, n_features / n_steps)`` (default ``n_steps`` = number of
        columns, one value per step, oldest first).
    hidden_size, n_layers, dropout : network shape
    lr, weight_decay, batch_size, max_epochs, patience, validation_fraction : training
    n_steps : int, optional
    random_state : int
    device : str, optional

    Examples
    --------
    >>> import numpy as np
    >>> from toolkit.regress import TorchRegressor
    >>> X = np.random.default_rng(0).normal(size=(512, 3))
    >>> model = TorchRegressor(max_epochs=30).fit(X, X.sum(axis=1))
    >>> model.predict(X).shape
    (512,)
    """

    def __init__(
        self,
        kind: str = "mlp",
        hidden_size: int = 64,
        n_layers: int = 2,
        dropout: float = 0.0,
        lr: float = 1e-3,
        weight_decay: float = 0.0,
        batch_size: int = 1024,
        max_epochs: int = 100,
        patience: int = 5,
        validation_fraction: float = 0.1,
        n_steps: int | None = None,
        random_state: int = 0,
        device: str | None = None,
    ):
        self.kind = kind
        self.hidden_size = hidden_size
        self.n_layers = n_layers
        self.dropout = dropout
        self.lr = lr
        self.weight_decay = weight_decay
        self.batch_size = batch_size
        self.max_epochs = max_epochs
        self.patience = patience
        self.validation_fraction = validation_fraction
        self.n_steps = n_steps
        self.random_state = random_state
        self.device = device

    def _tensor(self, obj: Any, device: str) -> Any:
        import torch

        arr = _values(obj, "float32")
        if backend.is_gpu(arr):
            return torch.from_dlpack(arr).to(device)
        return torch.from_numpy(np.ascontiguousarray(arr)).to(device)

    def _shape(self, X: Any) -> Any:
        if self.kind == "mlp":
            return X.reshape(X.shape[0], -1)
        if X.ndim == 3:
            return X
        steps = self.n_steps or X.shape[1]
        return X.reshape(X.shape[0], steps, X.shape[1] // steps)

    def _network(self, n_in: int) -> Any:
        from torch import nn

        if self.kind == "mlp":
            layers, width = [], n_in
            for _ in range(self.n_layers):
                layers += [nn.Linear(width, self.hidden_size), nn.ReLU()]
                if self.dropout:
                    layers.append(nn.Dropout(self.dropout))
                width = self.hidden_size
            return nn.Sequential(*layers, nn.Linear(width, 1))
        if self.kind != "lstm":
            raise ValueError(f"kind must be 'mlp' or 'lstm', got {self.kind!r}")

        class _LSTM(nn.Module):
            def __init__(self, n_features: int, hidden: int, layers: int, dropout: float):
                super().__init__()
                self.lstm = nn.LSTM(n_features, hidden, layers, batch_first=True,
                                    dropout=dropout if layers > 1 else 0.0)
                self.head = nn.Linear(hidden, 1)

            def forward(self, x):
                out, _ = self.lstm(x)
                return self.head(out[:, -1])

        return _LSTM(n_in, self.hidden_size, self.n_layers, self.dropout)

    def fit(self, X: Any, y: Any, sample_weight: Any = None) -> "TorchRegressor":
        """Train with early stopping on the last ``validation_fraction`` of the rows.

        Returns
        -------
        self
        """
        import torch

        if backend.is_dask(X):
            raise TypeError("TorchRegressor needs in-memory input")
        Xa, ya, wa, names = _prepare_xy(X, y, sample_weight) if _values(X).ndim < 3 else (X, y, sample_weight, None)
        device = self.device or ("cuda" if backend.is_gpu(Xa) else "cpu")
        Xt = self._shape(self._tensor(Xa, device))
        yt = self._tensor(ya, device).reshape(-1)
        wt = None if wa is None else self._tensor(wa, device).reshape(-1)
        n = Xt.shape[0]
        n_valid = int(n * self.validation_fraction) if n >= 50 else 0
        n_train = n - n_valid
        dims = tuple(range(Xt.ndim - 1))
        self.x_mean_ = Xt[:n_train].mean(dim=dims, keepdim=True)
        self.x_std_ = Xt[:n_train].std(dim=dims, keepdim=True).clamp_min(1e-12)
        self.y_mean_ = float(yt[:n_train].mean())
        self.y_std_ = float(yt[:n_train].std().clamp_min(1e-12)) if n_train > 1 else 1.0
        Xs = (Xt - self.x_mean_) / self.x_std_
        ys = (yt - self.y_mean_) / self.y_std_
        with torch.random.fork_rng(devices=[] if device == "cpu" else None):
            torch.manual_seed(self.random_state)
            net = self._network(Xs.shape[-1]).to(device)
        generator = torch.Generator(device="cpu").manual_seed(self.random_state)
        optimizer = torch.optim.Adam(net.parameters(), lr=self.lr, weight_decay=self.weight_decay)

        def loss_of(idx_x, idx_y, idx_w):
            err = (net(idx_x).reshape(-1) - idx_y) ** 2
            return (err * idx_w).sum() / idx_w.sum() if idx_w is not None else err.mean()

        best, best_state, stale, self.history_ = float("inf"), None, 0, []
        for _ in range(self.max_epochs):
            net.train()
            order = torch.randperm(n_train, generator=generator).to(device)
            for start in range(0, n_train, self.batch_size):
                batch = order[start : start + self.batch_size]
                optimizer.zero_grad()
                loss = loss_of(Xs[batch], ys[batch], None if wt is None else wt[batch])
                loss.backward()
                optimizer.step()
            if not n_valid:
                continue
            net.eval()
            with torch.no_grad():
                score = float(loss_of(Xs[n_train:], ys[n_train:], None if wt is None else wt[n_train:]))
            self.history_.append(score)
            if score < best - 1e-7:
                best, stale = score, 0
                best_state = {k: v.detach().clone() for k, v in net.state_dict().items()}
            else:
                stale += 1
                if stale >= self.patience:
                    break
        if best_state is not None:
            net.load_state_dict(best_state)
        self.network_, self.device_, self.n_epochs_ = net.eval(), device, len(self.history_)
        self.feature_names_in_ = names
        return self

    def predict(self, X: Any) -> Any:
        """Predictions as numpy (host input) or cupy (device input)."""
        import torch

        on_gpu = backend.is_gpu(X)
        Xt = self._shape(self._tensor(X, self.device_))
        Xs = (Xt - self.x_mean_) / self.x_std_
        with torch.no_grad():
            out = torch.cat([self.network_(Xs[i : i + 65_536]).reshape(-1) for i in range(0, Xs.shape[0], 65_536)])
        out = (out * self.y_std_ + self.y_mean_).double()
        if on_gpu:
            return importlib.import_module("cupy").from_dlpack(out.to("cuda"))
        return out.cpu().numpy()


# --------------------------------------------------------------------------- metrics


def _pair(*objs: Any) -> tuple:
    """Flatten to float arrays and drop positions where any input is NaN."""
    arrays = [_values(o).reshape(-1) for o in objs]
    if len({a.shape[0] for a in arrays}) != 1:
        raise ValueError(f"inputs have different lengths: {[a.shape[0] for a in arrays]}")
    xp = backend.array_namespace(*arrays)
    ok = ~xp.isnan(arrays[0])
    for a in arrays[1:]:
        ok = ok & ~xp.isnan(a)
    return (xp, *(a[ok] for a in arrays))


def _mean(xp: Any, a: Any) -> float:
    return float(xp.mean(a)) if a.shape[0] else float("nan")


def mae(y: Any, yhat: Any) -> float:
    """Mean absolute error, ignoring NaN pairs.

    Examples
    --------
    >>> from toolkit.regress import mae
    >>> mae([1.0, 2.0, float("nan")], [2.0, 2.0, 5.0])
    0.5
    """
    xp, a, b = _pair(y, yhat)
    return _mean(xp, xp.abs(b - a))


def mse(y: Any, yhat: Any) -> float:
    """Mean squared error, ignoring NaN pairs."""
    xp, a, b = _pair(y, yhat)
    return _mean(xp, (b - a) ** 2)


def rmse(y: Any, yhat: Any) -> float:
    """Root mean squared error, ignoring NaN pairs."""
    return float(np.sqrt(mse(y, yhat)))


def mape(y: Any, yhat: Any) -> float:
    """Mean absolute percentage error as a fraction, over non-zero actuals."""
    xp, a, b = _pair(y, yhat)
    nz = a != 0
    return _mean(xp, xp.abs(b[nz] - a[nz]) / xp.abs(a[nz]))


def smape(y: Any, yhat: Any) -> float:
    """Symmetric MAPE, ``mean(2|e| / (|y| + |yhat|))`` in [0, 2]; 0/0 counts as 0."""
    xp, a, b = _pair(y, yhat)
    den = xp.abs(a) + xp.abs(b)
    ratio = xp.where(den > 0, 2.0 * xp.abs(b - a) / xp.where(den > 0, den, 1.0), 0.0)
    return _mean(xp, ratio)


def wape(y: Any, yhat: Any) -> float:
    """Weighted absolute percentage error ``sum|e| / sum|y|``.

    Examples
    --------
    >>> from toolkit.regress import wape
    >>> wape([1.0, 3.0], [2.0, 3.0])
    0.25
    """
    xp, a, b = _pair(y, yhat)
    den = float(xp.sum(xp.abs(a)))
    return float(xp.sum(xp.abs(b - a))) / den if den > 0 else float("nan")


def bias(y: Any, yhat: Any) -> float:
    """Mean error ``mean(yhat - y)``: positive when over-forecasting."""
    xp, a, b = _pair(y, yhat)
    return _mean(xp, b - a)


def mase(y: Any, yhat: Any, y_train: Any, season: int = 1) -> float:
    """Mean absolute scaled error: MAE over the in-sample MAE of the seasonal naive forecast.

    Parameters
    ----------
    y, yhat : actuals and forecasts
    y_train : training history of the same series, in time order
    season : int
        Lag of the naive forecast used for scaling (1: naive, 7: weekly seasonal naive).
    """
    full = _values(y_train).reshape(-1)
    diffs = full[season:] - full[:-season]
    xp = backend.array_namespace(diffs)
    diffs = diffs[~xp.isnan(diffs)]
    scale = _mean(xp, xp.abs(diffs))
    return mae(y, yhat) / scale if scale > 0 else float("nan")


def pinball_loss(y: Any, yhat: Any, quantile: float = 0.5) -> float:
    """Mean pinball (quantile) loss of ``yhat`` as the ``quantile`` forecast."""
    xp, a, b = _pair(y, yhat)
    d = a - b
    return _mean(xp, xp.maximum(quantile * d, (quantile - 1.0) * d))


def coverage(y: Any, lower: Any, upper: Any) -> float:
    """Fraction of actuals inside ``[lower, upper]`` (NaN triples ignored)."""
    xp, a, lo, hi = _pair(y, lower, upper)
    return _mean(xp, xp.astype((a >= lo) & (a <= hi), xp.float64))


METRICS = {"mae": mae, "mse": mse, "rmse": rmse, "mape": mape, "smape": smape, "wape": wape, "bias": bias}

Evaluation = namedtuple("Evaluation", ["per_series", "overall"])


def evaluate(
    df: Any,
    target_col: str = "units",
    pred_col: str = "forecast",
    id_cols: str | Sequence[str] = ("sku", "location"),
    metrics: Sequence[str] = ("mae", "rmse", "wape", "smape", "bias"),
    train_df: Any = None,
    time_col: str = "date",
    season: int = 7,
    lower_col: str | None = None,
    upper_col: str | None = None,
) -> Evaluation:
    """Per-series and overall forecast metrics from one frame of actuals and forecasts.

    Computed with groupby sums of elementwise errors (no per-group Python), on pandas or cudf.

    Parameters
    ----------
    df : DataFrame
        One row per (series, time) with ``target_col`` (actuals) and ``pred_col``.
    metrics : names among mae, mse, rmse, mape, smape, wape, bias (and "mase", which needs
        ``train_df``: the history before the forecast window, scaled by the in-sample
        ``season``-lag naive MAE of each series).
    lower_col, upper_col : str, optional
        Interval columns; adds ``coverage``.

    Returns
    -------
    Evaluation
        ``per_series`` (frame indexed by ``id_cols``, one column per metric and ``n``) and
        ``overall`` (pandas Series: pooled metrics; ``mase`` is the mean over series).

    Examples
    --------
    >>> import pandas as pd
    >>> from toolkit.regress import evaluate
    >>> df = pd.DataFrame({"sku": ["a", "a", "b"], "units": [1.0, 3.0, 2.0], "forecast": [2.0, 3.0, 2.0]})
    >>> evaluate(df, id_cols="sku", metrics=("mae",)).overall["mae"].round(4)
    np.float64(0.3333)
    """
    keys = as_list(id_cols)
    needed = [*keys, target_col, pred_col, *(c for c in (lower_col, upper_col) if c)]
    missing = [c for c in needed if c not in df.columns]
    if missing:
        raise DataValidationError(f"column {missing[0]!r}: missing from the evaluation frame", column=missing[0])
    unknown = [m for m in metrics if m not in METRICS and m != "mase"]
    if unknown:
        raise ValueError(f"unknown metrics {unknown}; choose from {[*METRICS, 'mase']}")
    y = df[target_col].astype("float64")
    f = df[pred_col].astype("float64")
    ok = y.notna() & f.notna()
    err = (f - y).where(ok)
    den = y.abs() + f.abs()
    parts = {
        "n": ok.astype("float64"),
        "err": err,
        "abs_err": err.abs(),
        "sq_err": err * err,
        "abs_y": y.abs().where(ok),
        "ape": (err.abs() / y.abs()).where(ok & (y != 0)),
        "ape_n": (ok & (y != 0)).astype("float64"),
        "sape": (2.0 * err.abs() / den.where(den > 0)).fillna(0.0).where(ok),
    }
    if lower_col and upper_col:
        ok_int = ok & df[lower_col].notna() & df[upper_col].notna()
        inside = (y >= df[lower_col]) & (y <= df[upper_col])
        parts["inside"] = inside.astype("float64").where(ok_int)
        parts["int_n"] = ok_int.astype("float64")
    work = df[keys].assign(**parts)
    sums = work.groupby(keys, observed=True, sort=True).sum()

    def table(s: Any) -> dict:
        out = {"n": s["n"]}
        for m in metrics:
            if m == "mae":
                out[m] = s["abs_err"] / s["n"]
            elif m == "mse":
                out[m] = s["sq_err"] / s["n"]
            elif m == "rmse":
                out[m] = (s["sq_err"] / s["n"]) ** 0.5
            elif m == "mape":
                out[m] = s["ape"] / s["ape_n"]
            elif m == "smape":
                out[m] = s["sape"] / s["n"]
            elif m == "wape":
                out[m] = s["abs_err"] / s["abs_y"]
            elif m == "bias":
                out[m] = s["err"] / s["n"]
        if "inside" in s:
            out["coverage"] = s["inside"] / s["int_n"]
        return out

    columns = table(sums)
    per_series = sums.assign(**columns)[list(columns)]
    total = backend.to_host(sums.sum())
    overall = pd.Series({k: float(v) for k, v in table(total).items()}, dtype="float64")
    if "mase" in metrics:
        if train_df is None:
            raise ValueError("metric 'mase' needs train_df (the history before the forecast window)")
        hist = train_df[[*keys, time_col, target_col]].sort_values([*keys, time_col])
        lagged = hist.groupby(keys, observed=True)[target_col].shift(season)
        scale = (hist[target_col].astype("float64") - lagged).abs().groupby(
            [hist[k] for k in keys], observed=True
        ).mean()
        scale.index.names = keys
        per_series["mase"] = (sums["abs_err"] / sums["n"]) / scale.where(scale > 0)
        overall["mase"] = float(backend.to_host(per_series["mase"]).mean())
    return Evaluation(per_series, overall)


# --------------------------------------------------------------------------- time-series CV


def time_series_splits(
    df: Any,
    time_col: str | None = "date",
    n_windows: int = 3,
    horizon: int = 28,
    step: int | None = None,
    gap: int = 0,
    window: str = "expanding",
    train_size: int | None = None,
) -> list[tuple[np.ndarray, np.ndarray]]:
    """Train/validation row positions for backtesting on time, oldest window first.

    The distinct time stamps are ordered; validation window ``i`` is a block of ``horizon``
    stamps, the last one ending at the latest stamp, earlier ones ``step`` stamps apart.
    Training rows are all stamps before the window minus ``gap`` (``expanding``), or the last
    ``train_size`` of those (``sliding``).

    Parameters
    ----------
    df : DataFrame (pandas/cudf) with ``time_col``, or an array/Series of time stamps (then
        ``time_col=None``).
    n_windows : int
    horizon : int
        Stamps per validation window (>= 1).
    step : int, optional
        Stamps between window starts (default ``horizon``: adjacent windows).
    gap : int
        Stamps left out between training and validation.
    window : {"expanding", "sliding"}
    train_size : int, optional
        Training stamps of a sliding window (required for ``sliding``).

    Returns
    -------
    list of (train_positions, valid_positions)
        Host numpy integer arrays of row positions.

    Examples
    --------
    >>> import numpy as np
    >>> from toolkit.regress import time_series_splits
    >>> [(t.tolist(), v.tolist()) for t, v in time_series_splits(np.arange(6), None, 2, 2)]
    [([0, 1], [2, 3]), ([0, 1, 2, 3], [4, 5])]
    """
    if horizon < 1:
        raise DataValidationError(f"horizon must be >= 1, got {horizon}", column=time_col)
    if n_windows < 1:
        raise ValueError(f"n_windows must be >= 1, got {n_windows}")
    if window not in ("expanding", "sliding"):
        raise ValueError(f"window must be 'expanding' or 'sliding', got {window!r}")
    if window == "sliding" and not train_size:
        raise ValueError("window='sliding' needs train_size")
    step = horizon if step is None else step
    if time_col is not None:
        if time_col not in df.columns:
            raise DataValidationError(f"column {time_col!r}: missing (needed for time-series splits)", column=time_col)
        times = _host_times(df[time_col])
    else:
        times = _host_times(df)
    stamps = np.unique(times)
    first_valid = len(stamps) - horizon - (n_windows - 1) * step
    if first_valid - gap < 1:
        raise DataValidationError(
            f"column {time_col or 'time'!r}: {len(stamps)} distinct time stamps are too few for "
            f"{n_windows} windows of horizon {horizon}, step {step}, gap {gap}",
            column=time_col,
        )
    codes = np.searchsorted(stamps, times)
    splits = []
    for i in range(n_windows):
        start = first_valid + i * step
        train_end = start - gap
        train_start = max(0, train_end - train_size) if window == "sliding" else 0
        train = np.flatnonzero((codes >= train_start) & (codes < train_end))
        valid = np.flatnonzero((codes >= start) & (codes < start + horizon))
        splits.append((train, valid))
    return splits


def _take(obj: Any, positions: np.ndarray) -> Any:
    """Rows at ``positions`` of a frame/Series (``iloc``) or an array (on its device)."""
    if hasattr(obj, "iloc"):
        return obj.iloc[positions]
    xp = backend.array_namespace(obj)
    return obj[xp.asarray(positions)]


def _scorer(scoring: Any):
    if callable(scoring):
        return scoring
    if scoring not in METRICS:
        raise ValueError(f"scoring must be a callable or one of {list(METRICS)}, got {scoring!r}")
    return METRICS[scoring]


SearchResult = namedtuple("SearchResult", ["best_params", "best_score", "best_estimator", "results"])


def search(
    model: Any,
    grid: dict | Sequence[dict],
    X: Any,
    y: Any,
    time: Any = None,
    n_windows: int = 3,
    horizon: int = 28,
    step: int | None = None,
    gap: int = 0,
    scoring: Any = "mae",
    n_iter: int | None = None,
    random_state: int = 0,
    refit: bool = True,
) -> SearchResult:
    """Grid (or random) search of hyper-parameters scored on time-series splits.

    Parameters
    ----------
    model : estimator with ``get_params``/``set_params`` (cloned for each fit)
    grid : dict or list of dicts
        Parameter name -> values (lists, or scipy distributions for random search).
    X, y : features and target
    time : array-like, optional
        Time stamp of each row (default: row order is time order).
    n_windows, horizon, step, gap : see :func:`time_series_splits`
    scoring : str or callable
        A metric of :data:`METRICS` or ``f(y, yhat) -> float``; lower is better.
    n_iter : int, optional
        Random search over ``n_iter`` draws instead of the full grid.
    refit : bool
        Refit the best parameters on all rows.

    Returns
    -------
    SearchResult
        ``best_params``, ``best_score`` (mean over windows), ``best_estimator`` (refitted or
        None) and ``results`` (pandas frame, one row per candidate, sorted by score).

    Examples
    --------
    >>> import numpy as np
    >>> from toolkit.regress import Ridge, search
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(200, 3)); y = X.sum(axis=1)
    >>> search(Ridge(), {"alpha": [0.001, 1000.0]}, X, y, horizon=20).best_params
    {'alpha': 0.001}
    """
    from sklearn.model_selection import ParameterGrid, ParameterSampler

    score = _scorer(scoring)
    times = np.arange(len(y)) if time is None else _host_times(time)
    splits = time_series_splits(times, None, n_windows, horizon, step, gap)
    if n_iter is None:
        candidates = list(ParameterGrid(grid))
    else:
        candidates = list(ParameterSampler(grid, n_iter, random_state=random_state))
    rows = []
    for params in candidates:
        fold_scores = []
        for train, valid in splits:
            est = clone(model).set_params(**params)
            est.fit(_take(X, train), _take(y, train))
            fold_scores.append(score(_take(y, valid), est.predict(_take(X, valid))))
        rows.append({"params": params, "score": float(np.mean(fold_scores)),
                     **{f"window_{j}": s for j, s in enumerate(fold_scores)}})
    results = pd.DataFrame(rows).sort_values("score", kind="stable").reset_index(drop=True)
    best = results.loc[0, "params"]
    best_estimator = clone(model).set_params(**best).fit(X, y) if refit else None
    return SearchResult(best, float(results.loc[0, "score"]), best_estimator, results)


def permutation_importance(
    model: Any,
    X: Any,
    y: Any,
    time: Any = None,
    valid_size: float | int = 0.2,
    scoring: Any = "mae",
    n_repeats: int = 5,
    random_state: int = 0,
    refit: bool = True,
) -> pd.DataFrame:
    """Increase of the validation error when one feature is shuffled, on a time-based window.

    The validation window is the latest ``valid_size`` of the distinct time stamps (a fraction,
    or a count of stamps). With ``refit`` a clone of ``model`` is fitted on the earlier rows
    first; otherwise ``model`` must already be fitted (on data before the window).

    Parameters
    ----------
    model : regressor
    X : DataFrame or 2-D array
    y : target
    time : array-like, optional
        Time stamp of each row (default: row order).
    valid_size : float or int
    scoring : str or callable (lower is better)
    n_repeats : int
    random_state : int

    Returns
    -------
    pandas.DataFrame
        ``feature, importance_mean, importance_std`` sorted by decreasing importance, and the
        unshuffled validation score ``baseline``.

    Examples
    --------
    >>> import numpy as np
    >>> from toolkit.regress import LinearRegression, permutation_importance
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(300, 2)); y = 3 * X[:, 0]
    >>> permutation_importance(LinearRegression(), X, y)["feature"].tolist()
    ['x0', 'x1']
    """
    score = _scorer(scoring)
    times = np.arange(len(y)) if time is None else _host_times(time)
    stamps = np.unique(times)
    n_valid = int(valid_size) if valid_size >= 1 else max(1, int(round(len(stamps) * valid_size)))
    if n_valid >= len(stamps):
        raise DataValidationError(f"valid_size {valid_size} leaves no training time stamps", column="time")
    cut = stamps[len(stamps) - n_valid]
    train, valid = np.flatnonzero(times < cut), np.flatnonzero(times >= cut)
    fitted = clone(model).fit(_take(X, train), _take(y, train)) if refit else model
    Xv, yv = _take(X, valid), _take(y, valid)
    baseline = score(yv, fitted.predict(Xv))
    names = _column_names(X) or [f"x{j}" for j in range(X.shape[1])]
    rng = np.random.default_rng(random_state)
    rows = []
    for j, name in enumerate(names):
        deltas = []
        for _ in range(n_repeats):
            perm = rng.permutation(len(valid))
            shuffled = Xv.copy()
            if hasattr(Xv, "columns"):
                column = _values(Xv.iloc[:, j])
                shuffled[Xv.columns[j]] = column[backend.array_namespace(column).asarray(perm)]
            else:
                shuffled[:, j] = Xv[backend.array_namespace(Xv).asarray(perm), j]
            deltas.append(score(yv, fitted.predict(shuffled)) - baseline)
        rows.append({"feature": name, "importance_mean": float(np.mean(deltas)),
                     "importance_std": float(np.std(deltas)), "baseline": baseline})
    return pd.DataFrame(rows).sort_values("importance_mean", ascending=False, kind="stable").reset_index(drop=True)
