"""Incremental window state: the target features of a :class:`~toolkit.features.FeatureSpec`, one row at a time.

A streaming engine cannot rerun :func:`~toolkit.features.build_features` over the whole
history at every micro-batch. :class:`IncrementalWindows` keeps, per series (a *slot*), what
the batch kernels compute from scratch, and updates it when a series gains a row (a closed
bucket): a ring of the last values, running sums per rolling window, expanding moments and
EWM recursions. :meth:`IncrementalWindows.features` then gives the features of each series'
*next* row, equal to what ``build_features`` computes for that row on the same history.

Cost per appended row: O(1) for lags, rolling sums/means/standard deviations/counts,
expanding statistics and EWM means (a value enters the window, one leaves it); rolling
minima, maxima and quantiles rescan the window (O(window), as the compiled batch kernel
does), vectorised over series. Everything is one array operation over the slots updated, on
NumPy or CuPy (``xp``).

Equality with the batch kernels (design)
----------------------------------------
The updates replay the arithmetic of :mod:`toolkit.kernels.compiled` (the engine
``build_features`` uses on NumPy) operation by operation, so results agree to the last bit
on NumPy: rolling sums are taken on values centred on the series' first value (its
``ref``), a window that empties resets its sums, the standard deviation is
``sqrt((s2 - s1 * s1 / n) / (n - 1))`` clipped at 0, expanding moments follow Welford, and
the EWM follows pandas' ``adjust=False`` recursion with the decay of a gap of missing values.
Quantiles (``median``, ``'q<level>'``) use the segment kernels of
:mod:`toolkit.kernels.segments` on the gathered windows, whose interpolation is that of the
array engine. NaN and +-inf are missing values, skipped as the batch kernels skip them.

Rows are positions, as in the batch features: the streaming engine appends one row per
series and closed bucket (calendar time), so its history is the calendar-complete panel.
Exogenous columns (``spec.exog``) are refused: a stream does not know future values of
them. Calendar and Fourier terms depend only on the next row's timestamp and are computed
by the caller (:meth:`IncrementalWindows.calendar`).

Examples
--------
>>> import numpy as np
>>> from toolkit.features import FeatureSpec
>>> from toolkit.stream.windows import IncrementalWindows
>>> spec = FeatureSpec(lags=(1,), rolling={2: ("mean",)}, calendar=(), fourier=())
>>> win = IncrementalWindows(spec, capacity=2)
>>> for value in (1.0, 2.0, 4.0):
...     win.append(np.array([0]), np.array([value]))
>>> {k: v.tolist() for k, v in win.features(np.array([0])).items()}
{'lag_1': [4.0], 'rolling_mean_2': [3.0]}
"""

from __future__ import annotations

import importlib
import math
from typing import Any, Mapping

import numpy as np

from toolkit.errors import DataValidationError
from toolkit.features import FeatureSpec
from toolkit.features.calendar import calendar_columns, fourier_columns
from toolkit.features.target import ewm_terms
from toolkit.kernels.segments import segment_quantile, segment_sort
from toolkit.kernels.windows import parse_stat

__all__ = ["IncrementalWindows", "target_feature_names"]

_MOMENTS = ("sum", "mean", "std", "count")


def target_feature_names(spec: FeatureSpec) -> list[str]:
    """The features of ``spec`` computed from the target's past (lags, rolling, expanding, EWM)."""
    derived = set(spec.calendar) | set(spec.exog)
    fourier = {name for name in spec.feature_names if name.startswith("fourier_")}
    return [name for name in spec.feature_names if name not in derived and name not in fourier]


class IncrementalWindows:
    """Per-series state of a spec's target features, updated one row at a time.

    Parameters
    ----------
    spec : FeatureSpec
        Lags, rolling windows (any statistic), expanding statistics and EWM means of the
        target, with its ``rolling_shift`` and ``min_periods``. ``spec.exog`` must be empty.
    capacity : int
        Slots allocated at first (:meth:`grow` adds more).
    history : int, default 0
        Keep at least this many past values per series (read back by :meth:`last`).
    xp : module, optional
        ``numpy`` (default) or ``cupy``: where the state lives.

    Attributes
    ----------
    rows : int64 array (capacity,)
        Rows appended to each slot so far.
    depth : int
        Values kept per slot (the ring's length).

    Raises
    ------
    DataValidationError
        ``spec`` is not a FeatureSpec, or declares exogenous columns.
    """

    def __init__(self, spec: FeatureSpec, capacity: int = 0, history: int = 0, xp: Any = None):
        if not isinstance(spec, FeatureSpec):
            raise DataValidationError.for_parameter("spec", "expected a FeatureSpec", type(spec).__name__)
        if spec.exog:
            raise DataValidationError.for_parameter(
                "spec", "exogenous columns cannot be streamed (their future values are unknown); "
                        "use a spec without exog", list(spec.exog))
        self.spec = spec
        self._xp_name = "numpy" if xp is None else xp.__name__
        self.shift = spec.rolling_shift
        self.windows = dict(spec.rolling)
        self.min_periods = {w: (w if spec.min_periods is None else spec.min_periods) for w in self.windows}
        longest = max(self.windows, default=0)
        self.depth = max(max(spec.lags, default=1), self.shift + longest, self.shift, int(history), 1)
        self.alphas = ewm_terms(spec.ewm_alphas, (), self.shift, "ewm_alphas")[0]
        self.names = target_feature_names(spec)
        self.capacity = 0
        self._arrays: dict[str, Any] = {}
        self.grow(max(int(capacity), 1))

    @property
    def xp(self) -> Any:
        """The array module the state lives in (``numpy`` or ``cupy``; kept by name, so the state copies)."""
        return importlib.import_module(self._xp_name)

    # ----------------------------------------------------------------- storage
    def _layout(self) -> dict[str, tuple[tuple, Any, float]]:
        """Name -> (shape after the slot axis, dtype, initial value) of every state array."""
        xp = self.xp
        out: dict[str, tuple[tuple, Any, float]] = {
            "rows": ((), xp.int64, 0), "ref": ((), xp.float64, 0.0), "ring": ((self.depth,), xp.float64, math.nan)}
        for w in self.windows:
            out[f"cnt_{w}"] = ((), xp.int64, 0)
            out[f"s1_{w}"] = ((), xp.float64, 0.0)
            out[f"s2_{w}"] = ((), xp.float64, 0.0)
        if self.spec.expanding:
            for name, init in (("e_mean", 0.0), ("e_m2", 0.0), ("e_total", 0.0), ("e_min", math.inf),
                               ("e_max", -math.inf)):
                out[name] = ((), xp.float64, init)
            out["e_cnt"] = ((), xp.int64, 0)
        for i, _ in enumerate(self.alphas):
            out[f"ewm_{i}"] = ((), xp.float64, math.nan)
            out[f"ewm_old_{i}"] = ((), xp.float64, 1.0)
        return out

    def grow(self, capacity: int) -> None:
        """Make room for at least ``capacity`` slots (existing state kept; capacity doubles)."""
        if capacity <= self.capacity:
            return
        xp = self.xp
        new = max(int(capacity), 2 * self.capacity)
        for name, (shape, dtype, init) in self._layout().items():
            arr = xp.full((new, *shape), init, dtype=dtype)
            if name in self._arrays:
                arr[: self.capacity] = self._arrays[name]
            self._arrays[name] = arr
        self.capacity = new

    @property
    def rows(self) -> Any:
        return self._arrays["rows"]

    def state_dict(self) -> dict[str, Any]:
        """Every state array (a checkpoint); :meth:`load_state_dict` restores them."""
        return {name: arr for name, arr in self._arrays.items()}

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        """Restore arrays saved by :meth:`state_dict` (same spec).

        Raises
        ------
        DataValidationError
            The saved arrays do not match this spec's state (another spec or depth).
        """
        layout = self._layout()
        if set(state) != set(layout):
            raise DataValidationError.for_parameter("state", "saved window state does not match the FeatureSpec",
                                                    sorted(set(state) ^ set(layout)))
        n = int(state["rows"].shape[0])
        for name, (shape, _, _) in layout.items():
            if tuple(state[name].shape) != (n, *shape):
                raise DataValidationError.for_parameter("state", f"array {name!r} has shape "
                                                        f"{tuple(state[name].shape)}, expected {(n, *shape)}")
        self._arrays = {name: self.xp.asarray(state[name]) for name in layout}
        self.capacity = n

    # ----------------------------------------------------------------- updates
    def _at(self, slots: Any, row: Any) -> tuple[Any, Any]:
        """Ring values of row numbers ``row`` (per slot) and whether each row exists."""
        xp = self.xp
        exists = row >= 0
        vals = self._arrays["ring"][slots, xp.where(exists, row, 0) % self.depth]
        return xp.where(exists, vals, xp.nan), exists

    def append(self, slots: Any, values: Any) -> None:
        """Append one row to each of ``slots`` (distinct slot numbers) with ``values``.

        Parameters
        ----------
        slots : int array (m,)
            Distinct slots, each below ``capacity``.
        values : float array (m,)
            The new row's value of each slot; NaN (or +-inf) is a missing value.
        """
        xp = self.xp
        a = self._arrays
        values = xp.asarray(values, dtype=xp.float64)
        n = a["rows"][slots]
        a["ring"][slots, n % self.depth] = values
        first = n == 0
        if bool(xp.any(first)):
            a["ref"][slots[first]] = xp.where(xp.isfinite(values[first]), values[first], 0.0)
        a["rows"][slots] = n + 1
        # the value entering every accumulator: the next row's window ends `shift` rows back
        entering = n + 1 - self.shift
        v_in, has_in = self._at(slots, entering)
        fin_in = has_in & xp.isfinite(v_in)
        self._update_rolling(slots, entering, v_in, fin_in)
        if self.spec.expanding:
            self._update_expanding(slots, v_in, fin_in)
        for i, alpha in enumerate(self.alphas):
            self._update_ewm(slots, i, alpha, v_in, has_in, fin_in)

    def _update_rolling(self, slots: Any, entering: Any, v_in: Any, fin_in: Any) -> None:
        xp = self.xp
        a = self._arrays
        ref = a["ref"][slots]
        d_in = xp.where(fin_in, v_in - ref, 0.0)
        for w in self.windows:
            cnt, s1, s2 = a[f"cnt_{w}"][slots], a[f"s1_{w}"][slots], a[f"s2_{w}"][slots]
            cnt = cnt + fin_in
            s1 = xp.where(fin_in, s1 + d_in, s1)
            s2 = xp.where(fin_in, s2 + d_in * d_in, s2)
            v_out, has_out = self._at(slots, entering - w)
            fin_out = has_out & xp.isfinite(v_out)
            d_out = xp.where(fin_out, v_out - ref, 0.0)
            cnt = cnt - fin_out
            s1 = xp.where(fin_out, s1 - d_out, s1)
            s2 = xp.where(fin_out, s2 - d_out * d_out, s2)
            empty = fin_out & (cnt == 0)  # the compiled kernel resets the sums of a window that empties
            a[f"cnt_{w}"][slots] = cnt
            a[f"s1_{w}"][slots] = xp.where(empty, 0.0, s1)
            a[f"s2_{w}"][slots] = xp.where(empty, 0.0, s2)

    def _update_expanding(self, slots: Any, v_in: Any, fin_in: Any) -> None:
        xp = self.xp
        a = self._arrays
        cnt = a["e_cnt"][slots] + fin_in
        v = xp.where(fin_in, v_in, 0.0)
        mean = a["e_mean"][slots]
        delta = v - mean
        new_mean = mean + delta / xp.maximum(cnt, 1)
        a["e_cnt"][slots] = cnt
        a["e_total"][slots] = xp.where(fin_in, a["e_total"][slots] + v, a["e_total"][slots])
        a["e_m2"][slots] = xp.where(fin_in, a["e_m2"][slots] + delta * (v - new_mean), a["e_m2"][slots])
        a["e_mean"][slots] = xp.where(fin_in, new_mean, mean)
        a["e_min"][slots] = xp.where(fin_in, xp.minimum(a["e_min"][slots], v), a["e_min"][slots])
        a["e_max"][slots] = xp.where(fin_in, xp.maximum(a["e_max"][slots], v), a["e_max"][slots])

    def _update_ewm(self, slots: Any, i: int, alpha: float, v_in: Any, has_in: Any, fin_in: Any) -> None:
        xp = self.xp
        a = self._arrays
        weighted, old = a[f"ewm_{i}"][slots], a[f"ewm_old_{i}"][slots]
        seen = ~xp.isnan(weighted) & has_in
        old = xp.where(seen, old * (1.0 - alpha), old)
        mix = seen & fin_in
        v = xp.where(fin_in, v_in, 0.0)
        blended = (old * xp.where(mix, weighted, 0.0) + alpha * v) / (old + alpha)
        weighted = xp.where(mix, blended, xp.where(~seen & fin_in, v, weighted))
        a[f"ewm_{i}"][slots] = weighted
        a[f"ewm_old_{i}"][slots] = xp.where(mix, 1.0, old)

    # ----------------------------------------------------------------- reading
    def window(self, slots: Any, end: Any, width: int) -> Any:
        """``(m, width)`` values of rows ``end - width + 1 .. end`` of each slot (NaN before row 0).

        Rows must still be in the ring (``rows - 1 - end + width <= depth``).
        """
        xp = self.xp
        rows = end[:, None] - (width - 1) + xp.arange(width, dtype=xp.int64)[None, :]
        exists = rows >= 0
        vals = self._arrays["ring"][slots[:, None], xp.where(exists, rows, 0) % self.depth]
        return xp.where(exists & xp.isfinite(vals), vals, xp.nan)

    def last(self, slots: Any, width: int) -> Any:
        """The last ``width`` values of each slot, right-aligned, NaN where a slot has fewer rows.

        Raises
        ------
        DataValidationError
            ``width`` is larger than the values kept (``depth``).
        """
        if width > self.depth:
            raise DataValidationError.for_parameter("width", f"only the last {self.depth} values are kept", width)
        return self.window(slots, self._arrays["rows"][slots] - 1, width)

    def features(self, slots: Any) -> dict[str, Any]:
        """Target features of the next row of each slot, named and ordered as ``spec.feature_names``.

        Returns
        -------
        dict
            ``name -> float64 array (m,)`` for the lag, rolling, expanding and EWM features.
        """
        xp = self.xp
        a = self._arrays
        n = a["rows"][slots]
        out: dict[str, Any] = {f"lag_{k}": self._at(slots, n - k)[0] for k in self.spec.lags}
        sfx = "" if self.shift == 1 else f"_shift{self.shift}"
        ref = a["ref"][slots]
        for w, stats in self.windows.items():
            out.update({f"rolling_{s}_{w}{sfx}": v for s, v in self._rolling(slots, n, w, stats, ref).items()})
        if self.spec.expanding:
            out.update({f"expanding_{s}{sfx}": v for s, v in self._expanding(slots).items()})
        ewm_names = [name for name in self.names if name.startswith("ewm_")]
        for i, name in enumerate(ewm_names):
            out[name] = a[f"ewm_{i}"][slots] + 0.0
        return {name: out[name] for name in self.names}

    def _rolling(self, slots: Any, n: Any, w: int, stats: tuple, ref: Any) -> dict[str, Any]:
        xp = self.xp
        a = self._arrays
        mp = self.min_periods[w]
        cnt = a[f"cnt_{w}"][slots]
        s1, s2 = a[f"s1_{w}"][slots], a[f"s2_{w}"][slots]
        ok = cnt >= max(mp, 1)
        cntf = cnt.astype(xp.float64)
        safe = xp.maximum(cntf, 1.0)
        out: dict[str, Any] = {}
        window = None
        for stat in stats:
            kind, q = parse_stat(stat)
            if kind == "count":
                out[stat] = xp.where(cnt >= mp, cntf, xp.nan)
            elif kind == "sum":
                out[stat] = xp.where(ok, s1 + cntf * ref, xp.nan)
            elif kind == "mean":
                out[stat] = xp.where(ok, s1 / safe + ref, xp.nan)
            elif kind == "std":
                var = (s2 - s1 * s1 / safe) / xp.maximum(cntf - 1.0, 1.0)
                out[stat] = xp.where(ok & (cnt >= 2), xp.where(var > 0.0, xp.sqrt(xp.maximum(var, 0.0)), 0.0),
                                     xp.nan)
            else:
                if window is None:
                    window = self.window(slots, n - self.shift, w)
                if kind in ("min", "max"):
                    pick = xp.min if kind == "min" else xp.max
                    fill = math.inf if kind == "min" else -math.inf
                    value = pick(xp.where(xp.isnan(window), fill, window), axis=1) if w else xp.full(n.shape, xp.nan)
                    out[stat] = xp.where(ok, value, xp.nan)
                else:
                    out[stat] = xp.where(ok, window_quantile(window, q), xp.nan)
        return out

    def _expanding(self, slots: Any) -> dict[str, Any]:
        xp = self.xp
        a = self._arrays
        cnt = a["e_cnt"][slots]
        ok = cnt >= 1  # build_features' expanding min_periods
        cntf = cnt.astype(xp.float64)
        values = {
            "count": xp.where(ok, cntf, xp.nan),
            "sum": xp.where(ok, a["e_total"][slots], xp.nan),
            "mean": xp.where(ok, a["e_mean"][slots], xp.nan),
            "std": xp.where(ok & (cnt >= 2), xp.sqrt(a["e_m2"][slots] / xp.maximum(cntf - 1.0, 1.0)), xp.nan),
            "min": xp.where(ok, a["e_min"][slots], xp.nan),
            "max": xp.where(ok, a["e_max"][slots], xp.nan),
        }
        return {stat: values[stat] for stat in self.spec.expanding}

    def calendar(self, time_ns: int, like: Any = None) -> dict[str, Any]:
        """Calendar and Fourier features of one timestamp (the next row's), as length-1 arrays.

        ``like`` is a frame of the library the holiday name column should have (pandas by default).
        """
        import pandas as pd

        spec = self.spec
        stamp = np.asarray([int(time_ns)], dtype=np.int64)
        cols: dict[str, Any] = {}
        if spec.calendar:
            frame = like if like is not None else pd.DataFrame(index=[0])
            cols.update(calendar_columns(frame, stamp, spec.calendar, spec.country, spec.subdivisions))
        if spec.fourier:
            cols.update(fourier_columns(stamp, spec.fourier))
        return cols


def window_quantile(window: Any, q: float) -> Any:
    """Linear-interpolation quantile of each row of ``window`` (m, w), NaN skipped (NaN when a row has none).

    The segment kernels of batch detection (:func:`~toolkit.kernels.segments.segment_sort`,
    :func:`~toolkit.kernels.segments.segment_quantile`) on the rows as segments.
    """
    from toolkit.backend import array_namespace

    xp = array_namespace(window)
    m, w = window.shape
    bounds = xp.arange(0, m * w + 1, max(w, 1), dtype=xp.int64) if w else xp.zeros(m + 1, dtype=xp.int64)
    flat = xp.reshape(window, (-1, 1))
    srt, _ = segment_sort(flat, bounds, stable=False)
    counts = xp.reshape(xp.sum(xp.astype(~xp.isnan(window), xp.float64), axis=1), (-1, 1))
    return segment_quantile(srt, bounds, counts, q)[:, 0]
