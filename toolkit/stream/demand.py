"""Demand monitor: order lines -> units per series and bucket, spikes and drops, refreshed forecasts.

:class:`DemandMonitor` sums the ``quantity`` of order events per (sku, location) and bucket
of event time (a day by default) and keeps, per series, the features of a
:class:`~toolkit.features.FeatureSpec` (equal to :func:`~toolkit.features.build_features`
on the bucket history), a robust baseline and a one-bucket-ahead forecast with a band.

Alerts
------
* ``demand_spike`` -- as soon as the units of an *open* bucket, summed so far, are abnormally
  high for the series: a spike is reported by the micro-batch that carries it, not at the
  end of the day. (A partial sum only grows, so an early alert is never contradicted by the
  bucket's final value.) A bucket that closes before its spike was caught (its events came
  in the closing batch) is checked once more on its final value.
* ``demand_drop`` -- when a bucket closes with abnormally few units for a series that
  usually sells at least ``drop_min_units`` (a drop can only be told once the bucket is over).

"Abnormal" is decided by ``method``, from the detector registry of :mod:`toolkit.anomaly`:

* ``"robust_z"`` (default): the rule of :class:`toolkit.anomaly.RobustZ` on each series' own
  history -- ``z = (u - median) / (1.4826 MAD)`` over its last ``baseline_window`` buckets,
  abnormal when ``|z| > threshold`` (3), with ``u`` the *square root* of the units
  (``transform="sqrt"``, default): order counts have a spread that grows with their level,
  and on the square-root scale a drop from 8 to 1 unit is as clear as a rise from 8 to 30
  (on the raw scale the drop would hide inside the spread);
* ``"ecod"`` / ``"copod"``: the native detector is fitted at :meth:`DemandMonitor.fit` on
  two features of every history row of the last ``train_buckets`` buckets -- the robust z and
  ``log1p(units) - log1p(median)`` -- and scores each micro-batch's rows with
  ``decision_function``; abnormal when the score exceeds its ``threshold_`` (set by
  ``contamination``), high or low by the sign of z.

Either way a series alerts only with ``min_history`` buckets of history and a spike only
from ``min_units`` units; the robust scale has a floor of ``min_scale`` (0.5 on the
square-root scale: the spread of the root of a Poisson count).

Forecasts
---------
After each closed bucket every series gets a forecast of the next bucket: ``model.predict``
on the streamed features when a regressor was given to :meth:`DemandMonitor.fit` (fitted
there on the history's features; rows with a missing feature fall back to the baseline),
else the baseline -- the first EWM feature of the spec, else its shortest rolling mean, else
the robust median. The band is ``forecast -+ z_(band) * robust scale`` on the transformed
scale, mapped back (clipped at 0); ``sigma`` is its spread in units.

Examples
--------
>>> import numpy as np, pandas as pd
>>> from toolkit.stream.demand import DemandMonitor
>>> hist = pd.DataFrame({"sku": "a", "location": "web", "date": pd.date_range("2024-01-01", periods=28),
...                      "units": np.tile([4.0, 5.0, 6.0, 5.0], 7)})
>>> mon = DemandMonitor().fit(hist)
>>> round(float(mon.forecasts()["forecast"].iloc[0]), 2)
5.14
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from scipy.special import ndtri

from toolkit import panel
from toolkit.anomaly import make_detector
from toolkit.errors import DataValidationError
from toolkit.features import FeatureSpec
from toolkit.stream.alerts import make_alerts
from toolkit.stream.bucketed import BucketedMonitor
from toolkit.stream.schema import ORDERS, EventSchema, time_ns

__all__ = ["DemandMonitor", "DEFAULT_SPEC", "METHODS"]

DEFAULT_SPEC = FeatureSpec(lags=(1, 7), rolling={7: ("mean", "std"), 28: ("mean",)}, ewm_alphas=(0.3,),
                           calendar=("dayofweek",), fourier=(), min_periods=1)
"""Features a demand monitor keeps unless told otherwise (one EWM drives the baseline forecast)."""
METHODS = ("robust_z", "ecod", "copod")


class DemandMonitor(BucketedMonitor):
    """Units ordered per series and bucket: spikes, drops and forecasts (see the module docstring).

    Parameters
    ----------
    spec : FeatureSpec, optional
        Features kept per series (:data:`DEFAULT_SPEC`); no exogenous columns.
    freq : str, default "D"
        Bucket length.
    lateness : str, default "1h"
        Allowed lateness behind the largest order time.
    method : {"robust_z", "ecod", "copod"}
    threshold : float, default 3
        Robust z cut of ``"robust_z"``.
    contamination : float, default 0.005
        Share of history rows ECOD/COPOD treat as outliers (sets their ``threshold_``).
    baseline_window : int, default 28
    min_history : int, default 7
    min_units : float, default 3
        Spikes need at least these units.
    drop_min_units : float, default 8
        Drops are told only for series whose median is at least this (below it an empty day
        is ordinary).
    min_scale : float, default 0.5
        Floor of the robust scale, on the transformed scale.
    transform : {"sqrt", "none"}, default "sqrt"
        Scale of the baselines and z-scores.
    band : float in (0, 1), default 0.9
        Coverage of the forecast band.
    train_buckets : int, default 56
        History buckets whose rows fit the detector and the model.
    schema : EventSchema, default ORDERS
        The first value column is the quantity.

    Raises
    ------
    DataValidationError
        A parameter out of range or an unknown method (the message lists the choices).
    """

    def __init__(self, spec: FeatureSpec | None = None, freq: Any = "D", lateness: Any = "1h",
                 method: str = "robust_z", threshold: float = 3.0, contamination: float = 0.005,
                 baseline_window: int = 28, min_history: int = 7, min_units: float = 3.0,
                 drop_min_units: float = 8.0, min_scale: float = 0.5,
                 transform: str = "sqrt", band: float = 0.9, train_buckets: int = 56, schema: EventSchema = ORDERS):
        self.root = panel.check_choice("transform", transform, ("sqrt", "none")) == "sqrt"
        super().__init__(schema, DEFAULT_SPEC if spec is None else spec, freq, lateness, baseline_window,
                         min_history, min_scale, threshold)
        self.method = panel.check_choice("method", method, METHODS)
        self.contamination = panel.check_number("contamination", contamination, 0.0, 0.5, low_open=True)
        self.min_units = panel.check_number("min_units", min_units, 0.0)
        self.drop_min_units = panel.check_number("drop_min_units", drop_min_units, 0.0)
        self.band_z = float(ndtri(0.5 + panel.check_number("band", band, 0.0, 1.0, low_open=True,
                                                           high_open=True) / 2.0))
        self.train_buckets = panel.check_int("train_buckets", train_buckets, minimum=1)
        self.detector = None
        self.model = None
        self._model_to_fit = None
        self.forecast_bucket = None
        self._training: list[tuple] = []

    # ----------------------------------------------------------------- quantities
    def summed(self) -> tuple[str, ...]:
        return (self.schema.values[0],)

    def event_values(self, values: np.ndarray) -> np.ndarray:
        return values[:, :1]

    def bucket_value(self, sums: np.ndarray, counts: np.ndarray) -> np.ndarray:
        return sums[:, 0]

    def slot_arrays(self) -> dict[str, tuple[Any, Any]]:
        return {**super().slot_arrays(), "forecast": (np.float64, np.nan), "lower": (np.float64, np.nan),
                "upper": (np.float64, np.nan), "sigma": (np.float64, np.nan)}

    def transform(self, values: np.ndarray) -> np.ndarray:
        return np.sqrt(np.maximum(values, 0.0)) if self.root else values

    def untransform(self, values: np.ndarray) -> np.ndarray:
        return np.square(values) if self.root else values

    def usual(self, slots: np.ndarray) -> np.ndarray:
        """The robust median of each series' recent buckets, in units."""
        return self.untransform(self.center[slots])

    # ----------------------------------------------------------------- warm start
    def fit(self, history: Any, time_col: str = "date", target_col: str = "units", model: Any = None
            ) -> "DemandMonitor":
        """Warm start from a history of units per series (e.g. the ``sales`` table), before any event.

        Parameters
        ----------
        history : pandas DataFrame
            The schema's key columns, ``time_col`` and ``target_col``; rows are summed per
            series and bucket; a bucket without a row is a missing value.
        time_col, target_col : str
        model : regressor, optional
            Fitted here on the features of the last ``train_buckets`` history rows (rows with a
            missing value skipped) and used for the forecasts.

        Returns
        -------
        self

        Raises
        ------
        DataValidationError
            Not a pandas frame, missing or non-numeric columns, infinite or negative units,
            missing keys or times, history given after events.
        """
        keys = list(self.schema.keys)
        panel.check_frame(history, "history", dask=False)
        panel.require_columns(history, [*keys, time_col, target_col], "to warm the demand monitor")
        panel.require_numeric(history, [target_col], "to warm the demand monitor")
        panel.require_datetime(history, time_col)
        panel.require_not_null(history, [*keys, time_col], keys, "to place history rows")
        panel.require_finite(history, [target_col], keys, purpose="to warm the demand monitor; NaN is missing")
        units = panel.values(history, target_col)
        if bool(np.any(units < 0)):
            panel.fail(target_col, "negative units in the history", int(np.sum(units < 0)),
                       panel.examples(history, np.flatnonzero(units < 0), keys))
        buckets = time_ns(history[time_col]) // self.freq_ns
        frame = pd.DataFrame({**{k: history[k].astype(str).to_numpy() for k in keys}, "_b": buckets, "_v": units})
        grouped = frame.groupby([*keys, "_b"], sort=False)["_v"].sum(min_count=1).reset_index()
        self.model, self._model_to_fit = None, model
        train = self.train_buckets if (self.method != "robust_z" or model is not None) else 0
        self._training = []
        self.fit_buckets({k: grouped[k].to_numpy() for k in keys}, grouped["_b"].to_numpy(),
                         grouped["_v"].to_numpy(), train_last=train)
        self._fit_learners()
        return self

    def training_rows(self, slots: np.ndarray, values: np.ndarray) -> None:
        z = self.robust_z(slots, values)
        wanted = getattr(self, "_model_to_fit", None) is not None
        features = self._feature_matrix(slots, self._next_bucket_of(slots)) if wanted else None
        self._training.append((z, self._log_ratio(slots, values), values, features))

    def _next_bucket_of(self, slots: np.ndarray) -> int:
        """The bucket the next row of ``slots`` stands for (all started series move in step)."""
        rows = self.windows.rows[slots]
        return int(self.first_bucket[slots[0]] + rows[0]) if slots.shape[0] else 0

    def _fit_learners(self) -> None:
        rows, self._training = self._training, []
        if self.method != "robust_z":
            z = np.concatenate([r[0] for r in rows]) if rows else np.zeros(0)
            ratio = np.concatenate([r[1] for r in rows]) if rows else np.zeros(0)
            ok = np.isfinite(z) & np.isfinite(ratio)
            if int(ok.sum()) < 10:
                raise DataValidationError.for_parameter(
                    "history", f"{self.method} needs at least 10 history rows with a baseline "
                               f"(min_history={self.min_history}) to fit on", int(ok.sum()))
            self.detector = make_detector(self.method, contamination=self.contamination).fit(
                np.column_stack([z[ok], ratio[ok]]))
        model, self._model_to_fit = self._model_to_fit, None
        if model is not None:
            X = np.concatenate([r[3] for r in rows]) if rows else np.zeros((0, len(self.windows.spec.feature_names)))
            y = np.concatenate([r[2] for r in rows]) if rows else np.zeros(0)
            ok = np.isfinite(X).all(axis=1) & np.isfinite(y)
            if int(ok.sum()) < 2:
                raise DataValidationError.for_parameter("model", "fewer than 2 history rows with every feature "
                                                                 "to fit it on", int(ok.sum()))
            self.model = model.fit(X[ok], y[ok])
        n = self.registry.n
        self.after_close(self.clock.closed - 1, np.arange(n))

    # ----------------------------------------------------------------- scoring
    def _log_ratio(self, slots: np.ndarray, values: np.ndarray) -> np.ndarray:
        return np.log1p(np.maximum(values, 0.0)) - np.log1p(np.maximum(self.usual(slots), 0.0))

    def _abnormal(self, slots: np.ndarray, values: np.ndarray, direction: int) -> tuple[np.ndarray, np.ndarray]:
        """(flags, scores) of ``values`` of ``slots``: abnormally high (direction 1) or low (-1)."""
        z = self.robust_z(slots, values)
        known = np.isfinite(z)
        if self.detector is None:
            score = np.where(known, direction * z, np.nan)
            return known & (score > self.threshold), score
        score = np.full(values.shape[0], np.nan)
        if bool(known.any()):
            X = np.column_stack([z[known], self._log_ratio(slots[known], values[known])])
            score[known] = np.asarray(self.detector.decision_function(X), dtype=np.float64)
        return known & (direction * z > 0) & (score > float(self.detector.threshold_)), score

    def open_flags(self, slots: np.ndarray, values: np.ndarray, counts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        flags, score = self._abnormal(slots, values, 1)
        return flags & (values >= self.min_units), score

    def open_alert_frame(self, slots: np.ndarray, buckets: np.ndarray, times: np.ndarray, values: np.ndarray,
                         counts: np.ndarray, score: np.ndarray, arrival: np.ndarray) -> pd.DataFrame:
        return self._alerts("demand_spike", slots, buckets, times, score, values, "so far", arrival)

    def closed_alerts(self, bucket: int, slots: np.ndarray, values: np.ndarray, counts: np.ndarray,
                      arrival: float) -> list[pd.DataFrame]:
        out = []
        end = (bucket + 1) * self.freq_ns - 1
        up, up_score = self._abnormal(slots, values, 1)
        up &= ~self.alerted[slots, bucket % self.clock.n_open] & (values >= self.min_units)
        down, down_score = self._abnormal(slots, values, -1)
        down &= self.usual(slots) >= self.drop_min_units
        for kind, hit, score, when in (("demand_spike", up, up_score, "in the bucket"),
                                       ("demand_drop", down, down_score, "in the bucket")):
            rows = np.flatnonzero(hit)
            if rows.shape[0]:
                out.append(self._alerts(kind, slots[rows], np.full(rows.shape[0], bucket), np.full(rows.shape[0], end),
                                        score[rows], values[rows], when, np.full(rows.shape[0], arrival)))
        return out

    def _alerts(self, kind: str, slots: np.ndarray, buckets: np.ndarray, times: np.ndarray, score: np.ndarray,
                values: np.ndarray, when: str, arrival: np.ndarray) -> pd.DataFrame:
        center = self.usual(slots)
        z = self.robust_z(slots, values)
        starts = pd.to_datetime(buckets * self.freq_ns, unit="ns")
        reason = [f"{v:g} units {when} from {s:%Y-%m-%d %H:%M}; usual {c:.1f} (robust z {zz:+.1f})"
                  for v, s, c, zz in zip(values.tolist(), starts, center.tolist(), z.tolist())]
        return make_alerts(kind, self.stream, self.registry.labels(slots), event_time=times, score=score,
                           value=values, expected=center, reason=reason, bucket=buckets, arrival=arrival)

    # ----------------------------------------------------------------- forecasts
    def _feature_columns(self, slots: np.ndarray, bucket: int) -> dict[str, Any]:
        """The features of the next row of ``slots`` (whose bucket is ``bucket``), by name."""
        feats = self.windows.features(slots)
        calendar = self.windows.calendar(bucket * self.freq_ns)
        m = slots.shape[0]
        return {name: feats[name] if name in feats else np.repeat(np.asarray(calendar[name]), m)
                for name in self.windows.spec.feature_names}

    def _feature_matrix(self, slots: np.ndarray, bucket: int) -> np.ndarray:
        columns = self._feature_columns(slots, bucket)
        try:
            return np.column_stack([np.asarray(v, dtype=np.float64) for v in columns.values()]) if columns \
                else np.zeros((slots.shape[0], 0))
        except (TypeError, ValueError):
            raise DataValidationError.for_parameter("spec", "a forecasting model needs numeric features; drop "
                                                            "holiday_name from the calendar features",
                                                    list(columns)) from None

    def _baseline(self, slots: np.ndarray) -> np.ndarray:
        feats = self.windows.features(slots)
        names = [n for n in self.windows.names if n.startswith("ewm_")] + \
                [f"rolling_mean_{w}" for w in sorted(self.windows.windows) if f"rolling_mean_{w}" in feats]
        out = np.full(slots.shape[0], np.nan)
        for name in names:
            out = np.where(np.isnan(out), feats[name], out)
        return np.where(np.isnan(out), self.usual(slots), out)

    def after_close(self, bucket: int, slots: np.ndarray) -> None:
        self.forecast_bucket = bucket + 1
        if slots.shape[0] == 0:
            return
        point = self._baseline(slots)
        if self.model is not None:
            X = self._feature_matrix(slots, bucket + 1)
            ok = np.isfinite(X).all(axis=1)
            if bool(ok.any()):
                point[ok] = np.asarray(self.model.predict(X[ok]), dtype=np.float64)
        point = np.maximum(point, 0.0)
        spread = self.band_z * self.scale[slots]
        middle = self.transform(point)
        self.forecast[slots] = point
        self.lower[slots] = np.where(middle - spread > 0, self.untransform(np.maximum(middle - spread, 0.0)), 0.0)
        self.upper[slots] = self.untransform(middle + spread)
        # spread in units: the delta method through the square root (d u^2 = 2 u du)
        self.sigma[slots] = 2.0 * np.maximum(middle, 0.5) * self.scale[slots] if self.root else self.scale[slots]

    def forecasts(self) -> pd.DataFrame:
        """Per series: keys, the open bucket's start, its ``forecast`` and band, and the units ``so_far``."""
        n = self.registry.n
        slots = np.arange(n)
        frame = self.registry.frame(slots)
        bucket = self.forecast_bucket if self.forecast_bucket is not None else 0
        frame["bucket_start"] = pd.to_datetime(np.full(n, bucket * self.freq_ns), unit="ns")
        frame["forecast"] = self.forecast[:n]
        frame["lower"] = self.lower[:n]
        frame["upper"] = self.upper[:n]
        frame["so_far"] = self.open.peek(slots, np.full(n, bucket))[0][:, 0] if n else np.zeros(0)
        return frame

    def features(self) -> pd.DataFrame:
        """Per series: keys and the features of its next row (``spec.feature_names``)."""
        n = self.registry.n
        slots = np.arange(n)
        frame = self.registry.frame(slots)
        if n:
            for name, values in self._feature_columns(slots, self.forecast_bucket or 0).items():
                frame[name] = values
        return frame

    def history(self, slots: Any, width: int) -> np.ndarray:
        """The last ``width`` closed bucket values of ``slots`` (right-aligned, NaN-padded)."""
        return self.windows.last(np.asarray(slots, dtype=np.int64), min(int(width), self.windows.depth))
