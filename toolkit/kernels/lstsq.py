"""Least-squares kernels: blocked QR (TSQR) reduction and minimum-norm / ridge solutions.

A (weighted) regression problem ``[sqrt(w), X sqrt(w), y sqrt(w)]`` is reduced to the
``k x k`` triangular factor ``R`` of its QR decomposition, accumulated block by block
(``R = qr([R; block])``); factors of separate row blocks (Dask partitions) are stacked and
factored once more (:func:`combine_factors`), so in-memory and out-of-core fits agree to
rounding. Because the ones column comes first, the trailing block of ``R`` is the factor of
the *centred* data, and :class:`LeastSquaresSolution` obtains the minimum-norm slopes of the
centred problem (what scikit-learn computes) from one small SVD; no inverse of ``X'X`` is
ever formed. Singular values below ``eps * max(n_rows, n_features) * s_max`` count as zero,
the cut-off of ``numpy.linalg.lstsq``. Every ``alpha`` of a ridge path reuses the same SVD.

On the host the blocks are written into one Fortran-ordered work buffer that LAPACK factors
in place (SciPy's ``qr(mode="raw", overwrite_a=True)``): no allocation and no copy per block,
about twice as fast as ``numpy.linalg.qr(mode="r")``, which copies its input every call.

Arrays are NumPy or CuPy (one code path; the array API has no ``qr(mode="r")``, so the native
module of the namespace is called for that one routine).

Examples
--------
>>> import numpy as np
>>> from toolkit.kernels.lstsq import block_factor, LeastSquaresSolution
>>> X = np.array([[0.0], [1.0], [2.0], [3.0]]); y = 1.0 + 2.0 * X[:, 0]
>>> factor = block_factor(X, y, None, fit_intercept=True)
>>> sol = LeastSquaresSolution(factor.R, True, factor.n_positive)
>>> coef = sol.coef(); round(float(coef[0]), 6), round(sol.intercept(coef), 6)
(2.0, 1.0)
"""

from __future__ import annotations

import contextlib
import importlib
from typing import Any, NamedTuple, Sequence

import numpy as np

from toolkit.backend import array_namespace

__all__ = ["Factor", "block_factor", "combine_factors", "LeastSquaresSolution", "CPU_BLOCK_ROWS", "GPU_BLOCK_ROWS"]

CPU_BLOCK_ROWS = 32_768
"""Rows per QR block on the host: a few MiB of working memory instead of a centred copy of X."""
GPU_BLOCK_ROWS = 1_048_576


class Factor(NamedTuple):
    """The sufficient statistics of a least-squares problem.

    ``R`` (k x k, k = features + 1 + intercept) is the triangular factor; the scalars are the
    number of rows with positive weight, and the sums of ``w``, ``w y`` and ``w y^2``.
    """

    R: Any
    n_positive: int
    sum_w: float
    sum_wy: float
    sum_wyy: float


def _is_cupy(xp: Any) -> bool:
    import array_api_compat

    return array_api_compat.is_cupy_namespace(xp)


def _qr_r(xp: Any, A: Any) -> Any:
    """The R factor of ``A`` (``min(m, k) x k``), which may be overwritten.

    On the host, LAPACK's ``geqrf`` through SciPy in place (no copy when ``A`` is
    Fortran-ordered, as the blocks are); on the device ``cupy.linalg.qr(mode="r")``. The array
    API has no ``qr(mode="r")``, hence the native call.
    """
    if _is_cupy(xp):
        return importlib.import_module("cupy").linalg.qr(A, mode="r")
    from scipy.linalg import qr

    raw = qr(A, mode="raw", overwrite_a=True, check_finite=False)[0][0]
    return np.triu(raw[: A.shape[1]])


def _one_blas_thread(xp: Any) -> Any:
    """Host BLAS/LAPACK limited to one thread while factoring blocks.

    Each block QR is small (32k x p): with several BLAS threads the per-call thread start-up
    and barriers cost more than they save, and on a loaded machine they make the fit several
    times slower (measured 5x on 2 shared cores). Parallelism across blocks comes from Dask.
    """
    if _is_cupy(xp):
        return contextlib.nullcontext()
    from threadpoolctl import threadpool_limits

    return threadpool_limits(limits=1, user_api="blas")


def _pad_square(xp: Any, R: Any, k: int) -> Any:
    if R.shape[0] == k:
        return R
    out = xp.zeros((k, k), dtype=xp.float64)
    out[: R.shape[0]] = R
    return out


def block_factor(X: Any, y: Any, w: Any, fit_intercept: bool, block_rows: int | None = None) -> Factor:
    """Reduce ``(X, y, w)`` to a :class:`Factor`, ``block_rows`` rows at a time.

    Parameters
    ----------
    X : float64 array (n, p); y : (n,); w : (n,) or None
        Finite values (the caller validates).
    fit_intercept : bool
        Put a ones column (``sqrt(w)``) first.
    block_rows : int, optional
        Default :data:`CPU_BLOCK_ROWS` (host) or :data:`GPU_BLOCK_ROWS` (device).
    """
    xp = array_namespace(X)
    n, p = X.shape
    k = p + 1 + int(fit_intercept)
    if block_rows is None:
        block_rows = GPU_BLOCK_ROWS if _is_cupy(xp) else CPU_BLOCK_ROWS
    R = xp.zeros((0, k), dtype=xp.float64)
    # one Fortran-ordered work buffer on the host, factored in place block after block
    buffer = None if _is_cupy(xp) else np.empty((k + min(block_rows, n), k), order="F")
    with _one_blas_thread(xp):
        for start in range(0, n, block_rows):
            stop = min(start + block_rows, n)
            R = _qr_r(xp, _stacked_block(xp, R, X[start:stop], y[start:stop], None if w is None else w[start:stop],
                                         k, fit_intercept, buffer))
    R = _pad_square(xp, R, k)
    if w is None:
        return Factor(R, n, float(n), float(xp.sum(y)), float(xp.sum(y * y)))
    return Factor(R, int(xp.sum(w > 0)), float(xp.sum(w)), float(xp.sum(w * y)), float(xp.sum(w * y * y)))


def _stacked_block(xp: Any, R: Any, X: Any, y: Any, w: Any, k: int, fit_intercept: bool,
                   buffer: Any = None) -> Any:
    """``[R; sqrt(w), X sqrt(w), y sqrt(w)]`` for one row block (in ``buffer`` when given)."""
    off = int(fit_intercept)
    p = X.shape[1]
    rows = R.shape[0] + X.shape[0]
    A = buffer[:rows] if buffer is not None else xp.empty((rows, k), dtype=xp.float64)
    A[: R.shape[0]] = R
    block = A[R.shape[0]:]
    sw = None if w is None else xp.sqrt(w)
    if fit_intercept:
        block[:, 0] = 1.0 if sw is None else sw
    block[:, off: off + p] = X if sw is None else X * sw[:, None]
    block[:, -1] = y if sw is None else y * sw
    return A


def combine_factors(parts: Sequence[Factor]) -> Factor:
    """One factor from the factors of separate row blocks: stack the ``R`` and factor again.

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0); X = rng.normal(size=(40, 2)); y = X @ [1.0, 2.0]
    >>> whole = block_factor(X, y, None, True)
    >>> parts = combine_factors([block_factor(X[:15], y[:15], None, True), block_factor(X[15:], y[15:], None, True)])
    >>> bool(np.allclose(np.abs(whole.R), np.abs(parts.R)))
    True
    """
    if len(parts) == 1:
        return parts[0]
    xp = array_namespace(parts[0].R)
    k = parts[0].R.shape[1]
    R = _pad_square(xp, _qr_r(xp, xp.concat([p.R for p in parts], axis=0)), k)
    return Factor(R, *(sum(p[i] for p in parts) for i in range(1, 5)))


class LeastSquaresSolution:
    """Minimum-norm (ridge) solutions from one SVD of the feature block of ``R``.

    Parameters
    ----------
    R : array (k, k)
        ``Factor.R``.
    fit_intercept : bool
        Whether ``R``'s first column is the ones column.
    n_rows : int
        Rows behind the factor (for the rank tolerance).
    """

    def __init__(self, R: Any, fit_intercept: bool, n_rows: int):
        xp = array_namespace(R)
        self.xp, self.R, self.off = xp, R, int(fit_intercept)
        k = R.shape[1]
        self.p = k - 1 - self.off
        Rxx = R[self.off: self.off + self.p, self.off: self.off + self.p]
        self.z = R[self.off: self.off + self.p, -1]
        U, s, Vt = xp.linalg.svd(Rxx, full_matrices=False)
        smax = float(s[0]) if self.p else 0.0
        tol = smax * np.finfo(np.float64).eps * max(n_rows, self.p + self.off)
        self.keep = s > tol
        self.rank = int(xp.sum(self.keep))
        self.U, self.s, self.Vt = U, s, Vt
        self.uz = U.T @ self.z

    def _inverse_singular(self) -> Any:
        xp = self.xp
        return xp.where(self.keep, 1.0 / xp.where(self.keep, self.s, 1.0), 0.0)

    def coef(self, alpha: float = 0.0) -> Any:
        """Slopes minimising ``|y - b0 - X b|^2 + alpha |b|^2`` (minimum norm when ``alpha == 0``)."""
        s = self.s
        scale = self._inverse_singular() if alpha == 0.0 else s / (s * s + alpha)
        return self.Vt.T @ (scale * self.uz)

    def intercept(self, coef: Any) -> float:
        """Intercept matching ``coef`` (0 without an intercept column)."""
        if not self.off:
            return 0.0
        R = self.R
        return float((R[0, -1] - R[0, 1: 1 + self.p] @ coef) / R[0, 0])

    def rss(self, coef: Any) -> float:
        """Residual sum of squares ``|X b - y|^2 = |R_x b - R_y|^2`` (rows below the first are exact)."""
        rows = self.R[self.off:]
        resid = rows[:, self.off: self.off + self.p] @ coef - rows[:, -1]
        return float(self.xp.sum(resid * resid))

    def pinv_rxx(self) -> Any:
        """Pseudo-inverse of the feature block of ``R`` (for standard errors)."""
        return (self.Vt.T * self._inverse_singular()) @ self.U.T
