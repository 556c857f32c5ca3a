"""Feature sets declared as data: :class:`FeatureSpec`, computed by :func:`build_features`.

A spec names the lags, windows, expanding and EWM statistics of the target, calendar and
Fourier terms and exogenous columns; :func:`build_features` computes all of them in one
layout of the panel (one sort at most), for the whole panel or only for the last rows of
each series -- what a recursive forecaster needs at every step, reading only the last
``spec.lookback + last_n`` rows of each series. A spec is checked when it is made: a bad
field raises :class:`DataValidationError` naming it, before any data is read.

Examples
--------
>>> import pandas as pd
>>> from toolkit.features import FeatureSpec, build_features
>>> df = pd.DataFrame({"sku": ["a"] * 4 + ["b"] * 3, "location": "web",
...                    "date": pd.to_datetime(["2024-01-01", "2024-01-02", "2024-01-03",
...                                            "2024-01-04", "2024-01-01", "2024-01-02",
...                                            "2024-01-03"]),
...                    "units": [1.0, 2.0, 3.0, 4.0, 10.0, 20.0, 30.0]})
>>> spec = FeatureSpec(lags=(1,), rolling={2: ("mean",)}, calendar=("dayofweek",), fourier=())
>>> build_features(df, spec)["rolling_mean_2"].tolist()
[nan, nan, 1.5, 2.5, nan, nan, 15.0]
>>> build_features(df, spec, last_n=1)["lag_1"].tolist()
[3.0, 20.0]
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Mapping

from toolkit import panel
from toolkit.errors import DataValidationError
from toolkit.features.calendar import (
    HOLIDAY_FEATURES,
    calendar_columns,
    calendar_names,
    check_holidays,
    fourier_columns,
    fourier_names,
    fourier_terms,
)
from toolkit.features.inputs import (
    check_shift,
    column_values,
    layout_rows,
    positive_ints,
    require_history,
    run_per_series,
    shift_suffix,
)
from toolkit.features.target import check_min_periods, ewm_terms
from toolkit.kernels.windows import ENGINES, EXPANDING_STATS, ewm_kernel, lag, rolling_kernel, stat_names
from toolkit.panel import DEFAULT_ID_COLS, SeriesLayout

__all__ = ["FULL_HISTORY", "FREQUENCY_FEATURES", "FeatureSpec", "build_features"]

FULL_HISTORY = 2**31 - 1
"""``FeatureSpec.lookback`` of a spec whose features depend on the whole history."""

FREQUENCY_FEATURES: dict[str, dict[str, Any]] = {
    "s": {"lags": (1, 2, 3, 60), "rolling": {60: ("mean",)}, "calendar": ("hour",), "fourier": ()},
    "min": {"lags": (1, 2, 3, 60), "rolling": {60: ("mean",)}, "calendar": ("hour",), "fourier": ((1.0, 3),)},
    "h": {"lags": (1, 2, 3, 24, 48, 168), "rolling": {24: ("mean",), 168: ("mean", "std")},
          "calendar": ("hour", "dayofweek"), "fourier": ((1.0, 3), (7.0, 2))},
    "D": {"lags": (1, 7, 14, 28), "rolling": {7: ("mean",), 28: ("mean", "std")},
          "calendar": ("dayofweek", "month"), "fourier": ((7.0, 2), (365.25, 3))},
    "B": {"lags": (1, 5, 10, 20), "rolling": {5: ("mean",), 20: ("mean", "std")},
          "calendar": ("dayofweek", "month"), "fourier": ((365.25, 3),)},
    "W": {"lags": (1, 2, 3, 4, 13, 26, 52), "rolling": {4: ("mean",), 13: ("mean", "std")},
          "calendar": ("weekofyear",), "fourier": ((365.25, 4),)},
    "M": {"lags": tuple(range(1, 13)), "rolling": {3: ("mean",), 12: ("mean", "std")},
          "calendar": ("month",), "fourier": ()},
    "Q": {"lags": (1, 2, 3, 4, 8), "rolling": {4: ("mean", "std")}, "calendar": ("quarter",), "fourier": ()},
    "Y": {"lags": (1, 2, 3), "rolling": {3: ("mean",)}, "calendar": (), "fourier": ()},
}
"""Default features per calendar unit (:func:`toolkit.panel.calendar_unit`), in steps of the
frequency: lags up to one season (and its multiples where series are long enough to
afford them), windows of a short run and a season, the calendar term that names the
season's phase, and Fourier terms (periods in days) for periods a calendar term does not
name. ``"D"`` is the historical :class:`FeatureSpec` default."""


def _rolling_field(rolling: Any) -> dict[int, tuple]:
    if rolling is None:
        return {}
    if not isinstance(rolling, Mapping):
        raise DataValidationError.for_parameter("rolling", "expected a mapping window -> statistics", rolling)
    return {positive_ints(w, "rolling")[0]: stat_names(stats, param="rolling") for w, stats in rolling.items()}


def _name_field(value: Any, param: str) -> str:
    if not isinstance(value, str):
        raise DataValidationError.for_parameter(param, "expected a column name (str)", value)
    return value


@dataclass(frozen=True)
class FeatureSpec:
    """A feature set declared as data, computed by :func:`build_features`.

    Parameters
    ----------
    lags : tuple of int
        Lags of ``target_col`` (``lag_k``).
    rolling : mapping window -> tuple of str
        Window statistics (``rolling_{stat}_{window}``) among ``mean, std, min, max, sum,
        median, count, 'q<level>'``, on the target shifted by ``rolling_shift``.
    rolling_shift : int, default 1
    min_periods : int, optional
        Non-missing values a window needs (default: the window length).
    expanding : tuple of str
        Expanding statistics among ``mean, std, count, sum, min, max`` (``expanding_{stat}``).
    ewm_alphas : tuple of float
        EWM means (``ewm_mean_{alpha}``), on the shifted target.
    calendar : tuple of str
        Names among :data:`CALENDAR_FEATURES` and :data:`HOLIDAY_FEATURES` (those need ``country``).
    fourier : tuple of (period_days, order)
    country : str, optional
        ``holidays`` country code for holiday features.
    subdivisions : tuple of str
    exog : tuple of str
        Columns of the frame passed through as features (known in advance, e.g. price, promo).
    target_col, id_cols, time_col : str

    Attributes
    ----------
    feature_names : list of str
        The feature columns, in a fixed order: lags, rolling, expanding, EWM, calendar,
        Fourier, exogenous.
    lookback : int
        Rows of history a series needs before a row to compute its features;
        :data:`FULL_HISTORY` when expanding or EWM statistics need the whole history.

    Raises
    ------
    DataValidationError
        A field is out of range or unknown (the message names the field and the choices),
        or two features (or a feature and a key) share a name.

    Examples
    --------
    >>> spec = FeatureSpec(lags=(1, 7), rolling={7: ("mean",)}, calendar=("dayofweek",),
    ...                    fourier=((7, 1),), exog=("price",))
    >>> spec.feature_names
    ['lag_1', 'lag_7', 'rolling_mean_7', 'dayofweek', 'fourier_sin_7_1', 'fourier_cos_7_1', 'price']
    >>> spec.lookback
    7
    """

    lags: tuple = (1, 7, 14, 28)
    rolling: Mapping[int, tuple] = field(default_factory=lambda: {7: ("mean",), 28: ("mean", "std")})
    rolling_shift: int = 1
    min_periods: int | None = None
    expanding: tuple = ()
    ewm_alphas: tuple = ()
    calendar: tuple = ("dayofweek", "month")
    fourier: tuple = ((7, 2), (365.25, 3))
    country: str | None = None
    subdivisions: tuple = ()
    exog: tuple = ()
    target_col: str = "units"
    id_cols: tuple = DEFAULT_ID_COLS
    time_col: str = "date"

    def __post_init__(self) -> None:
        set_ = object.__setattr__
        set_(self, "lags", positive_ints(self.lags, "lags", allow_empty=True))
        set_(self, "rolling", _rolling_field(self.rolling))
        if self.rolling:
            set_(self, "min_periods", check_min_periods(self.min_periods, min(self.rolling)))
        set_(self, "rolling_shift", check_shift(self.rolling_shift, "rolling_shift"))
        set_(self, "expanding", stat_names(self.expanding, EXPANDING_STATS, "expanding") if self.expanding else ())
        set_(self, "ewm_alphas", tuple(ewm_terms(self.ewm_alphas, (), self.rolling_shift, "ewm_alphas")[0]))
        set_(self, "calendar", calendar_names(self.calendar if self.calendar is not None else (), self.country,
                                              "calendar"))
        if any(name in HOLIDAY_FEATURES for name in self.calendar):
            _, subdivisions = check_holidays(self.country, self.subdivisions)
        else:
            subdivisions = tuple(panel.as_list(self.subdivisions, "subdivisions"))
        set_(self, "subdivisions", subdivisions)
        set_(self, "fourier", fourier_terms(self.fourier if self.fourier is not None else ()))
        set_(self, "exog", tuple(panel.as_list(self.exog, "exog")))
        set_(self, "id_cols", tuple(panel.as_list(self.id_cols, "id_cols")))
        for param in ("target_col", "time_col"):
            _name_field(getattr(self, param), param)
        names = self.feature_names
        if len(set(names)) != len(names):
            repeated = sorted({n for n in names if names.count(n) > 1})
            raise DataValidationError.for_parameter("exog", "feature names collide", repeated)
        for col in (*self.id_cols, self.time_col, self.target_col):
            if col in names:
                raise DataValidationError.for_parameter("exog", f"column {col!r} is both a key/target and a feature",
                                                        col)

    @classmethod
    def for_freq(cls, freq: Any, **fields: Any) -> "FeatureSpec":
        """The default features of a frequency (:data:`FREQUENCY_FEATURES`), with ``fields`` on top.

        Parameters
        ----------
        freq : str or pandas offset
            ``"D"``, ``"B"``, ``"W-SUN"``, ``"MS"``, ``"QE"``, ``"YS"``, ``"h"``...
        **fields
            Any other field (``exog``, ``id_cols``, ``target_col``, or a default to replace).

        Raises
        ------
        DataValidationError
            ``freq`` is not a frequency (naming ``freq``), or a field is invalid.

        Examples
        --------
        >>> spec = FeatureSpec.for_freq("MS", exog=("price",))
        >>> spec.lags[-1], spec.calendar, spec.fourier, spec.exog
        (12, ('month',), (), ('price',))
        >>> FeatureSpec.for_freq("W-SUN").calendar, FeatureSpec.for_freq("h").fourier
        (('weekofyear',), ((1.0, 3), (7.0, 2)))
        """
        defaults = dict(FREQUENCY_FEATURES[panel.calendar_unit(freq)])
        return cls(**{**defaults, **fields})

    @property
    def feature_names(self) -> list[str]:
        """Feature columns in a fixed order (lags, rolling, expanding, EWM, calendar, Fourier, exog)."""
        sfx = shift_suffix(self.rolling_shift)
        names = [f"lag_{k}" for k in self.lags]
        names += [f"rolling_{s}_{w}{sfx}" for w, stats in self.rolling.items() for s in stats]
        names += [f"expanding_{s}{sfx}" for s in self.expanding]
        names += ewm_terms(self.ewm_alphas, (), self.rolling_shift)[1]
        names += list(self.calendar)
        for period, order in self.fourier:
            names += fourier_names(period, order)
        return names + list(self.exog)

    @property
    def lookback(self) -> int:
        """Rows of history needed before a row to compute its features."""
        if self.expanding or self.ewm_alphas:
            return FULL_HISTORY
        need = max(self.lags, default=0)
        if self.rolling:
            need = max(need, self.rolling_shift + max(self.rolling) - 1)
        return need


def _target_features(x: Any, layout: SeriesLayout, spec: FeatureSpec, engine: str) -> dict[str, Any]:
    """Lags, windows, expanding and EWM statistics of the sorted target ``x`` (sorted order).

    ``x`` comes from :func:`column_values`, which refuses +-inf: the kernels get ``finite=True``.
    """
    sfx = shift_suffix(spec.rolling_shift)
    cols: dict[str, Any] = {f"lag_{k}": lag(x, layout.bounds, k) for k in spec.lags}
    for window, stats in spec.rolling.items():
        res = rolling_kernel(x, layout, window, stats, spec.rolling_shift, spec.min_periods, engine, finite=True)
        cols.update({f"rolling_{s}_{window}{sfx}": res[s] for s in stats})
    if spec.expanding:
        res = rolling_kernel(x, layout, None, spec.expanding, spec.rolling_shift, 1, engine, finite=True)
        cols.update({f"expanding_{s}{sfx}": res[s] for s in spec.expanding})
    for alpha, name in zip(*ewm_terms(spec.ewm_alphas, (), spec.rolling_shift)):
        cols[name] = ewm_kernel(x, layout, alpha, spec.rolling_shift, engine, finite=True)
    return cols


def _calendar_features(out: Any, ticks: Any, tick_ns: int, spec: FeatureSpec) -> dict[str, Any]:
    """Calendar and Fourier terms of timestamps ``ticks`` (``tick_ns`` nanoseconds each: no scaling)."""
    cols: dict[str, Any] = {}
    if spec.calendar:
        cols.update(calendar_columns(out, ticks, spec.calendar, spec.country, spec.subdivisions, tick_ns=tick_ns))
    if spec.fourier:
        cols.update(fourier_columns(ticks, spec.fourier, tick_ns=tick_ns))
    return cols


def _build_frame(df, spec: FeatureSpec, last_n: int | None, engine: str, keys: list, time: str, strict: bool = True):
    target = spec.target_col
    layout = layout_rows(df, keys, time, target, strict)
    if strict and spec.lags:
        require_history(layout, max(spec.lags), target, f"lag {max(spec.lags)}")
    xp = layout.xp
    shown = [*keys, time]
    if last_n is None:
        # calendar terms first, from the layout's timestamps in their own unit (NaT and the range
        # refused already; in input order that is the column itself, viewed); the kernels then get a
        # layout without them, so the timestamps are freed before the features grow
        if spec.calendar or spec.fourier:
            cols = _calendar_features(df, layout.scatter(layout.ticks), layout.tick_ns, spec)
        else:
            cols = {}
        layout = SeriesLayout(xp, layout.bounds, layout.order)
        x = layout.gather(column_values(df, target, shown, keep_float32=True))
        cols.update({name: layout.scatter(v) for name, v in _target_features(x, layout, spec, engine).items()})
        out = df
    else:  # only the last lookback + last_n rows of each series are read
        tail = layout.tail(min(spec.lookback, FULL_HISTORY) + last_n)
        x = column_values(df, target, shown, rows=tail.order, keep_float32=True)
        kept = xp.nonzero(tail.position_from_end < last_n)[0]
        rows = xp.take(tail.order, kept)
        back = xp.argsort(rows)  # the kept rows in input order
        cols = {name: xp.take(xp.take(v, kept), back)
                for name, v in _target_features(x, tail, spec, engine).items()}
        out = panel.take(df, xp.take(rows, back))
        cols.update(_calendar_features(out, xp.take(xp.take(tail.ticks, kept), back), tail.tick_ns, spec))
    return panel.assign(out, {name: cols[name] for name in spec.feature_names if name not in spec.exog})


def build_features(df: Any, spec: FeatureSpec, last_n: int | None = None, engine: str = "auto") -> Any:
    """Compute every feature of ``spec`` for a panel, or for the last ``last_n`` rows of each series.

    Parameters
    ----------
    df : pandas, cudf or Dask DataFrame
        Long-format panel with ``spec.id_cols``, ``spec.time_col``, ``spec.target_col`` and
        ``spec.exog``; need not be sorted. Rows whose target is NaN (future rows appended by a
        recursive forecaster) get features from the earlier rows as usual.
    spec : FeatureSpec
    last_n : int, optional
        Return only the last ``last_n`` rows of every series; their features are computed
        from the last ``spec.lookback + last_n`` rows of each series only.
    engine : {"auto", "array", "numba"}
        Kernel engine (:mod:`toolkit.kernels.windows`); ``"auto"`` uses numba on NumPy input.

    Returns
    -------
    frame
        Same kind as ``df``: its columns plus ``spec.feature_names`` (exogenous columns are
        already there), rows (and index) in input order.

    Raises
    ------
    TypeError
        ``spec`` is not a :class:`FeatureSpec` (the message names the parameter).
    DataValidationError
        Not a frame, a missing column, a non-datetime time column, missing keys or
        timestamps, duplicated (keys, time), a non-numeric or infinite target, the longest
        lag at least as long as every series, or a bad ``last_n``/``engine``.

    Examples
    --------
    >>> import pandas as pd
    >>> df = pd.DataFrame({"sku": "a", "location": "web", "date": pd.date_range("2024-01-01", periods=3),
    ...                    "units": [1.0, 2.0, float("nan")]})
    >>> spec = FeatureSpec(lags=(1, 2), rolling={}, calendar=(), fourier=())
    >>> build_features(df, spec, last_n=1)[["lag_1", "lag_2"]].values.tolist()
    [[2.0, 1.0]]
    """
    if not isinstance(spec, FeatureSpec):
        raise TypeError(f"parameter 'spec': expected a FeatureSpec, got a {type(spec).__name__}")
    if last_n is not None:
        last_n = panel.check_int("last_n", last_n, minimum=1)
    engine = panel.check_choice("engine", engine, ENGINES)
    return run_per_series(df, _build_frame, spec.id_cols, spec.time_col, [spec.target_col], "by the FeatureSpec",
                          extra=spec.exog, spec=spec, last_n=last_n, engine=engine)
