"""Delivery time and late risk: the drivers of a delivery, a model of its days, the risk of a miss.

Design choices (where the issue is silent)
------------------------------------------
* **Delivery time is a linear model on one-hot lanes.** Carrier, zone and weekday enter as
  indicator columns (first level dropped), distance, weight and the day's volume ratio as
  numbers; the regression is :class:`toolkit.regress.LinearRegression` (numpy or cupy, by where
  the frame lives) unless another estimator is given. The design matrix is built from the
  frame's columns *by name* through :mod:`toolkit.panel`, so reordered columns change
  nothing and a cuDF frame never leaves the GPU. A carrier, zone or weekday not seen in
  training is refused at predict time (naming the column, the levels and a few shipments)
  rather than silently read as the baseline level.
* **Late risk from the residual distribution.** Actual days are integers, rounded from a
  latent continuous delay; a parcel is late when ``actual >= promised + 1``, i.e. when the
  latent ``prediction + residual > promised + 0.5``. By default the residual is read as normal
  with the training residuals' mean and standard deviation, the variance reduced by 1/12
  (Sheppard's correction: rounding to whole days adds that much); ``distribution="empirical"``
  uses the share of training residuals above the threshold instead (one ``searchsorted``).
* **Non-finite values are refused**: distance, weight, actual and promised days must be
  finite and >= 0, dates and lane keys present (errors name the column and a few shipment
  ids), since one NaN row would make the fitted coefficients NaN.
* **In-memory frames.** These functions take pandas or cuDF frames; compute a Dask frame first.

Examples
--------
>>> import pandas as pd
>>> from toolkit.decisions.logistics import delivery_features
>>> s = pd.DataFrame({"carrier": ["A", "A", "B"], "zone": [1, 2, 1], "distance_km": [10.0, 90.0, 20.0],
...                   "weight_kg": [1.0, 2.0, 3.0],
...                   "ship_date": pd.to_datetime(["2024-01-01", "2024-01-01", "2024-01-02"])})
>>> delivery_features(s)["daily_volume"].tolist()
[2.0, 2.0, 1.0]
"""

from __future__ import annotations

import math
from typing import Any, Sequence

import numpy as np
from sklearn.base import BaseEstimator, clone
from sklearn.utils.validation import check_is_fitted

from toolkit import backend, panel
from toolkit.decisions.checks import require_non_negative
from toolkit.decisions.inventory.formulas import normal_functions
from toolkit.errors import DataValidationError
from toolkit.kernels.segments import segment_sum
from toolkit.panel import frames

__all__ = ["delivery_features", "DeliveryTimeModel", "late_risk", "evaluate_late_risk", "normal_sf",
           "SHIPMENT_COLS", "LANE_COLS", "DISTRIBUTIONS"]

SHIPMENT_COLS = ("carrier", "zone", "distance_km", "weight_kg")
"""The shipment columns the delivery-time drivers read (besides the ship date)."""
LANE_COLS = ("carrier", "zone", "weekday")
"""The categorical drivers, one-hot encoded."""
DISTRIBUTIONS = ("normal", "empirical")
_NS_PER_DAY = 86_400 * 10**9


def _shown(frame: Any, id_col: str | None) -> list[str]:
    return [id_col] if id_col and id_col in frame.columns else []


def delivery_features(
    shipments: Any,
    time_col: str = "ship_date",
    volume_keys: str | Sequence[str] | None = None,
    id_col: str = "shipment_id",
) -> Any:
    """Add the delivery-time drivers: weekday, the day's shipment volume and its ratio to normal.

    Parameters
    ----------
    shipments : pandas or cudf DataFrame
        Needs ``carrier, zone, distance_km, weight_kg`` and ``time_col``. Distance and weight
        must be finite and >= 0, dates and keys present (refused otherwise).
    time_col : str, default "ship_date"
    volume_keys : str or list of str, optional
        Keys within which the daily volume is counted (e.g. ``"warehouse"``); default: all
        shipments of the day.
    id_col : str, default "shipment_id"
        Used to name offending rows in error messages.

    Returns
    -------
    frame
        Same library and rows (same order and index) plus ``weekday`` (int, Monday=0),
        ``daily_volume`` (shipments that day) and ``volume_ratio`` (daily volume over the mean
        daily volume of its keys).

    Raises
    ------
    DataValidationError
        Non-frame or Dask input, missing column, empty frame, missing/infinite or negative
        distance or weight, missing dates or keys.

    Examples
    --------
    >>> import pandas as pd
    >>> s = pd.DataFrame({"carrier": ["A", "A", "B"], "zone": [1, 2, 1], "distance_km": [10.0, 90.0, 20.0],
    ...                   "weight_kg": [1.0, 2.0, 3.0],
    ...                   "ship_date": pd.to_datetime(["2024-01-01", "2024-01-01", "2024-01-02"])})
    >>> delivery_features(s)[["weekday", "daily_volume", "volume_ratio"]].values.tolist()
    [[0.0, 2.0, 1.3333333333333333], [0.0, 2.0, 1.3333333333333333], [1.0, 1.0, 0.6666666666666666]]
    """
    panel.check_frame(shipments, "shipments", dask=False)
    keys = panel.as_list(volume_keys, "volume_keys")
    purpose = "for delivery features"
    panel.require_columns(shipments, [*SHIPMENT_COLS, time_col, *keys], purpose)
    panel.require_not_empty(shipments, purpose)
    panel.require_numeric(shipments, ["distance_km", "weight_kg"], purpose)
    panel.require_datetime(shipments, time_col)
    shown = _shown(shipments, id_col)
    require_non_negative(shipments, ["distance_km", "weight_kg"], shown, purpose)
    panel.require_not_null(shipments, [time_col, "carrier", "zone", *keys], shown, purpose)
    layout = panel.SeriesLayout.from_frame(shipments, keys or None, time_col, unique=False)
    xp = layout.xp
    n = layout.n
    day = layout.time // _NS_PER_DAY  # calendar day: shipments at other times of one day share its volume
    new_day = xp.ones(n, dtype=xp.bool)
    if n > 1:
        new_day[1:] = (day[1:] != day[:-1]) | (layout.series_of_row[1:] != layout.series_of_row[:-1])
    day_starts = xp.concat([xp.astype(xp.nonzero(new_day)[0], xp.int64), xp.asarray([n], dtype=xp.int64)])
    day_length = day_starts[1:] - day_starts[:-1]
    day_of_row = xp.cumulative_sum(xp.astype(new_day, xp.int64)) - 1
    daily = xp.astype(xp.take(day_length, day_of_row), xp.float64)
    days_per_series = segment_sum(xp.astype(new_day, xp.float64), layout.bounds)
    mean_daily = xp.astype(layout.lengths, xp.float64) / days_per_series
    ratio = daily / xp.take(mean_daily, layout.series_of_row)
    weekday = (day + 3) % 7  # 1970-01-01 was a Thursday
    return panel.assign(shipments, {"weekday": layout.scatter(xp.astype(weekday, xp.int64)),
                                    "daily_volume": layout.scatter(daily), "volume_ratio": layout.scatter(ratio)})


def normal_sf(z: Any, xp: Any) -> Any:
    """Standard normal survival function on numpy or cupy arrays."""
    return normal_functions(xp)[0](-z)


class DeliveryTimeModel(BaseEstimator):
    """Predict delivery days from carrier, zone, distance, weight, weekday and daily volume.

    Parameters
    ----------
    estimator : regressor, optional
        Any scikit-learn-API regressor; default :class:`toolkit.regress.LinearRegression`.
    target_col : str, default "actual_days"
    promised_col : str, default "promised_days"
    time_col : str, default "ship_date"
    volume_keys : str or list of str, optional
        Passed to :func:`delivery_features`.
    distribution : {"normal", "empirical"}, default "normal"
        How late risk reads the residuals: a normal law with their mean and standard
        deviation, or their empirical distribution (no shape assumed; lumpy when the
        features take few values).
    id_col : str, default "shipment_id"
        Names offending shipments in error messages.

    Attributes
    ----------
    levels_ : dict
        Levels of ``carrier``, ``zone`` and ``weekday`` seen in training.
    feature_names_in_ : ndarray of str
        The shipment columns the design is built from, matched by name at predict time.
    feature_names_ : list of str
        Names of the design columns (one-hot levels, then the numeric drivers).
    estimator_ : fitted regressor
    residuals_ : array
        Sorted training residuals (actual minus predicted), numpy or cupy.
    residual_mean_, residual_std_ : float
        Their mean and standard deviation (Sheppard-corrected when the target is integral).
    integer_days_ : bool
        Whether the training target held whole days (then late means ``actual >= promised + 1``
        and the latent threshold is ``promised + 0.5``; else ``actual > promised``).

    Examples
    --------
    >>> from toolkit.datasets import make_retail
    >>> data = make_retail(n_skus=10, n_locations=3, n_days=60, progress=False)
    >>> model = DeliveryTimeModel().fit(data.shipments)
    >>> float(abs(model.residuals_).mean()) < 1.5
    True
    """

    def __init__(self, estimator: Any = None, target_col: str = "actual_days", promised_col: str = "promised_days",
                 time_col: str = "ship_date", volume_keys: str | Sequence[str] | None = None,
                 distribution: str = "normal", id_col: str = "shipment_id"):
        self.estimator = estimator
        self.target_col = target_col
        self.promised_col = promised_col
        self.time_col = time_col
        self.volume_keys = volume_keys
        self.distribution = distribution
        self.id_col = id_col

    def _features(self, shipments: Any, purpose: str) -> Any:
        """The shipments with the drivers: computed, or taken as given when already present."""
        panel.check_frame(shipments, "shipments", dask=False)
        if "volume_ratio" in shipments.columns and "weekday" in shipments.columns:
            needed = [*SHIPMENT_COLS, "weekday", "volume_ratio"]
            panel.require_columns(shipments, needed, purpose)
            panel.require_not_empty(shipments, purpose)
            panel.require_numeric(shipments, ["distance_km", "weight_kg", "volume_ratio"], purpose)
            shown = _shown(shipments, self.id_col)
            require_non_negative(shipments, ["distance_km", "weight_kg", "volume_ratio"], shown, purpose)
            panel.require_not_null(shipments, list(LANE_COLS), shown, purpose)
            return shipments
        return delivery_features(shipments, self.time_col, self.volume_keys, self.id_col)

    def _features_with(self, shipments: Any, days_col: str, purpose: str) -> Any:
        """:meth:`_features` of shipments whose ``days_col`` (actual or promised days) is finite and >= 0."""
        panel.check_frame(shipments, "shipments", dask=False)
        panel.require_columns(shipments, [days_col], purpose)
        panel.require_numeric(shipments, [days_col], purpose)
        require_non_negative(shipments, [days_col], _shown(shipments, self.id_col), purpose)
        return self._features(shipments, purpose)

    def _design(self, feats: Any) -> Any:
        xp = panel.namespace(feats)
        cols = []
        for name in LANE_COLS:
            values = feats[name].astype("str")
            indicators = [frames.as_array(values == level, "float64") for level in self.levels_[name]]
            unseen = sum(indicators) == 0
            if bool(xp.any(unseen)):
                where = xp.nonzero(unseen)[0]
                levels = sorted({str(v) for v in backend.to_host(frames.take(values, where)).tolist()})
                panel.fail(name, f"levels not seen in training: {levels[:panel.KEYS_SHOWN]} (the model has "
                                 f"{self.levels_[name]})", int(where.shape[0]),
                           panel.examples(feats, where, _shown(feats, self.id_col)))
            cols += indicators[1:]
        cols += [panel.values(feats, c) for c in ("distance_km", "weight_kg", "volume_ratio")]
        return xp.stack(cols, axis=1)

    def fit(self, shipments: Any) -> "DeliveryTimeModel":
        """Fit on shipments with known ``target_col`` (finite, >= 0).

        Parameters
        ----------
        shipments : pandas or cudf DataFrame

        Returns
        -------
        self

        Raises
        ------
        DataValidationError
            An unknown distribution; non-frame or Dask input; missing columns; missing,
            infinite or negative target, distance or weight; missing dates or lane keys.
        """
        from toolkit.regress import LinearRegression

        panel.check_choice("distribution", self.distribution, DISTRIBUTIONS)
        feats = self._features_with(shipments, self.target_col, "to fit the delivery-time model")
        self.levels_ = {name: sorted(backend.to_host(feats[name].astype("str").unique()).tolist(),
                                     key=lambda v: (len(v), v)) for name in LANE_COLS}
        self.feature_names_in_ = np.asarray([*SHIPMENT_COLS, "weekday", "volume_ratio"], dtype=object)
        self.feature_names_ = [f"{n}={v}" for n in LANE_COLS for v in self.levels_[n][1:]]
        self.feature_names_ += ["distance_km", "weight_kg", "volume_ratio"]
        X = self._design(feats)
        y = panel.values(feats, self.target_col)
        est = LinearRegression() if self.estimator is None else clone(self.estimator)
        self.estimator_ = est.fit(X, y)
        xp = panel.namespace(feats)
        resid = y - xp.asarray(self.estimator_.predict(X))
        self.residuals_ = xp.sort(resid)
        centre = float(xp.mean(resid))
        var = float(xp.mean((resid - centre) ** 2))
        self.integer_days_ = bool(xp.all(y == xp.round(y)))
        if self.integer_days_:
            var = max(var - 1.0 / 12.0, 1e-12)  # Sheppard's correction for integer days
        self.residual_mean_, self.residual_std_ = centre, math.sqrt(var)
        return self

    def _predict_design(self, feats: Any) -> Any:
        return panel.namespace(feats).asarray(self.estimator_.predict(self._design(feats)))

    def predict(self, shipments: Any) -> Any:
        """Expected delivery days, a Series of the input's library aligned with its index.

        Raises
        ------
        sklearn.exceptions.NotFittedError
            Before :meth:`fit`.
        DataValidationError
            Missing columns (matched by name), bad values, or a carrier, zone or weekday not
            seen in training.
        """
        check_is_fitted(self, "estimator_")
        feats = self._features(shipments, "to predict delivery days")
        return frames.ops(shipments).module.Series(self._predict_design(feats), index=shipments.index,
                                                   name="predicted_days")

    def late_probability(self, shipments: Any) -> Any:
        """Probability that ``actual > promised`` for each shipment (see :func:`late_risk`)."""
        check_is_fitted(self, "estimator_")
        feats = self._features_with(shipments, self.promised_col, "for late risk")
        pred = self._predict_design(feats)
        xp = panel.namespace(feats)
        threshold = panel.values(feats, self.promised_col) + (0.5 if self.integer_days_ else 0.0) - pred
        if self.distribution == "normal":
            prob = normal_sf((threshold - self.residual_mean_) / self.residual_std_, xp)
        else:
            above = self.residuals_.shape[0] - xp.searchsorted(self.residuals_, threshold, side="right")
            prob = above / float(self.residuals_.shape[0])
        return frames.ops(shipments).module.Series(prob, index=shipments.index, name="late_risk")


def late_risk(model: DeliveryTimeModel, shipments: Any) -> Any:
    """Probability that each shipment misses its promised date.

    ``P(actual > promised) = P(residual > promised + 0.5 - predicted)``, read from the fitted
    model's distribution of training residuals.

    Parameters
    ----------
    model : DeliveryTimeModel
        Fitted.
    shipments : pandas or cudf DataFrame
        With ``promised_days`` (finite, >= 0) and the delivery features' inputs.

    Returns
    -------
    Series
        Probabilities in [0, 1], named ``late_risk``, aligned with ``shipments``.

    Raises
    ------
    sklearn.exceptions.NotFittedError
        The model is not fitted.

    Examples
    --------
    >>> from toolkit.datasets import make_retail
    >>> data = make_retail(n_skus=10, n_locations=3, n_days=60, progress=False)
    >>> risk = late_risk(DeliveryTimeModel().fit(data.shipments), data.shipments)
    >>> bool(risk.between(0, 1).all())
    True
    """
    if not isinstance(model, DeliveryTimeModel):
        raise DataValidationError.for_parameter("model", "expected a DeliveryTimeModel", type(model).__name__)
    return model.late_probability(shipments)


def _vector(name: str, value: Any) -> np.ndarray:
    """An array or Series as a float vector on the host; anything else refused naming ``name``."""
    if value is None or isinstance(value, (str, bytes, dict)) or type(value).__name__ == "DataFrame":
        raise DataValidationError.for_parameter(name, "expected an array or Series", type(value).__name__)
    try:
        return np.asarray(backend.to_host(value), dtype="float64").reshape(-1)
    except (TypeError, ValueError):
        raise DataValidationError.for_parameter(name, "expected numbers without missing values",
                                                type(value).__name__) from None


def evaluate_late_risk(late: Any, probability: Any, n_bins: int = 10) -> dict:
    """Discrimination and calibration of late-risk probabilities.

    Parameters
    ----------
    late : array or Series of bool
        Whether each shipment was late (``actual_days > promised_days``); no missing values.
    probability : array or Series
        Predicted probabilities in [0, 1] (NaN refused), one per outcome.
    n_bins : int
        Bins of the calibration curve (uniform on [0, 1], >= 1).

    Returns
    -------
    dict
        ``roc_auc`` and ``brier`` (scikit-learn), ``late_rate``, ``mean_probability``,
        ``calibration`` (a pandas frame: ``predicted`` and ``observed`` rate per non-empty bin,
        ``count``) and ``calibration_error`` (count-weighted mean |observed - predicted|).

    Examples
    --------
    >>> import numpy as np
    >>> out = evaluate_late_risk(np.array([0, 0, 1, 1]), np.array([0.1, 0.4, 0.35, 0.8]))
    >>> out["roc_auc"]
    0.75
    """
    import pandas as pd
    from sklearn.metrics import brier_score_loss, roc_auc_score

    n_bins = panel.check_int("n_bins", n_bins, minimum=1)
    flags = _vector("late", late)
    p = _vector("probability", probability)
    if flags.shape != p.shape:
        raise DataValidationError.for_parameter("probability", f"{p.shape[0]} probabilities for {flags.shape[0]} "
                                                               "outcomes")
    if not np.isfinite(flags).all() or not np.isin(flags, (0.0, 1.0)).all():
        raise DataValidationError.for_parameter("late", "outcomes must be true/false without missing values")
    bad = ~np.isfinite(p) | (p < 0) | (p > 1)
    if bad.any():
        raise DataValidationError.for_parameter("probability", f"{int(bad.sum())} values are NaN or outside [0, 1] "
                                                               f"(e.g. at positions {np.flatnonzero(bad)[:5].tolist()})")
    y = flags.astype(bool)
    if y.all() or not y.any():
        raise DataValidationError.for_parameter("late", "needs both late and on-time shipments to evaluate")
    bins = np.minimum((p * n_bins).astype(int), n_bins - 1)
    count = np.bincount(bins, minlength=n_bins)
    used = count > 0
    table = pd.DataFrame({
        "predicted": np.bincount(bins, weights=p, minlength=n_bins)[used] / count[used],
        "observed": np.bincount(bins, weights=y.astype(float), minlength=n_bins)[used] / count[used],
        "count": count[used],
    })
    return {
        "roc_auc": float(roc_auc_score(y, p)),
        "brier": float(brier_score_loss(y, p)),
        "late_rate": float(y.mean()),
        "mean_probability": float(p.mean()),
        "calibration": table,
        "calibration_error": float(np.average(np.abs(table["observed"] - table["predicted"]), weights=table["count"])),
    }
