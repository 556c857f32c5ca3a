"""The end-to-end pipeline of the scaling notebook: cleanse -> features -> OLS -> anomaly scores.

:func:`run_pipeline` runs on a pandas, cuDF or Dask panel and returns the fitted model and
per-row scores (lazy on Dask). It sits above the verbs it chains, so no verb imports it.

Design choices
--------------
* **Two passes, nothing persisted.** On Dask the data is read twice: once to fit the
  regression (TSQR factors per partition, summed on the client) and once, lazily, to score.
  Recomputing cheap upstream steps costs less than persisting a feature matrix larger than
  memory, and keeps peak memory bounded by a few partitions per worker.
* **Anomaly scores on Pearson residuals, fitted on a sample.** Residuals are divided by a
  Poisson standard deviation ``sqrt(max(yhat, 0) + 1)`` so that a surprise on a slow mover and
  on a fast mover compare; one detector (:func:`toolkit.anomaly.detect`, robust z by default)
  is fitted on all rows in memory, or on a sample of ``detector_sample`` rows on Dask, and
  every partition is scored in parallel. Fitting per series instead ranks the ordinary sales
  of intermittent series (median absolute deviation near 0) above injected spikes.

Examples
--------
>>> from toolkit.datasets import make_retail
>>> from toolkit.pipeline import run_pipeline
>>> data = make_retail(n_skus=4, n_locations=2, n_days=90, progress=False)
>>> run_pipeline(data.sales).scores.columns.tolist()
['sku', 'location', 'date', 'units', 'prediction', 'residual', 'pearson_residual', 'anomaly_score', 'is_anomaly']
"""

from __future__ import annotations

import dataclasses
import functools
from typing import Any, Sequence

from toolkit import anomaly, cleanse, features, regress
from toolkit.errors import DataValidationError
from toolkit.panel import (
    DEFAULT_ID_COLS,
    as_list,
    check_frame,
    check_int,
    ensure_partitioned_by_series,
    fit_columns,
    frames,
    per_series,
    require_columns,
    require_finite,
    require_numeric,
)

__all__ = ["run_pipeline", "pipeline_spec", "PipelineResult"]


@dataclasses.dataclass
class PipelineResult:
    """What :func:`run_pipeline` returns.

    Attributes
    ----------
    model : toolkit.regress.LinearRegression
        The OLS model fitted on every complete row (out of core on Dask input), or the
        model passed to :func:`run_pipeline`.
    scores : frame
        One row per complete row, sorted by series and time within each partition:
        ``id_cols``, ``time_col``, ``target_col``, ``prediction``, ``residual``,
        ``pearson_residual`` and, from :func:`toolkit.anomaly.detect`, ``anomaly_score``
        (higher is more anomalous) and ``is_anomaly``. Lazy on Dask input.
    feature_names : list of str
        Regressors, in ``model.coef_`` order.
    """

    model: Any
    scores: Any
    feature_names: list

    @property
    def rows_fit(self) -> int:
        """Rows the regression was fitted on."""
        return int(self.model.n_samples_)


def pipeline_spec(target_col: str = "units", id_cols: str | Sequence[str] = DEFAULT_ID_COLS,
                  time_col: str = "date") -> Any:
    """The feature set of :func:`run_pipeline`: lags, rolling means, calendar, yearly Fourier, price and promo.

    Returns
    -------
    toolkit.features.FeatureSpec
    """
    return features.FeatureSpec(lags=(1, 7, 14, 28), rolling={7: ("mean",), 28: ("mean", "std")},
                       calendar=("dayofweek",), fourier=((365.25, 2),), exog=("price", "promo"),
                       target_col=target_col, id_cols=tuple(as_list(id_cols)), time_col=time_col)


def _predict_frame(frame: Any, model: Any, names: list[str], keys: list[str], time_col: str,
                   target_col: str) -> Any:
    """Complete rows (every feature and the target present) with prediction and residual.

    Works on a whole in-memory panel or on one partition holding whole series; rows come out
    sorted by ``keys + [time_col]``.
    """
    complete = frame.dropna(subset=[*names, target_col])
    part = complete.sort_values([*keys, time_col], kind="stable")
    out = part[[*keys, time_col, target_col]].reset_index(drop=True)
    n = len(out)
    out["prediction"] = frames.as_array(model.predict(part[names].astype("float64"))) if n else 0.0
    out["residual"] = out[target_col].astype("float64") - out["prediction"]
    out["pearson_residual"] = out["residual"] / (out["prediction"].clip(lower=0.0) + 1.0) ** 0.5
    return out


def run_pipeline(
    sales: Any,
    spec: Any = None,
    fill_method: str = "ffill",
    target_col: str = "units",
    id_cols: str | Sequence[str] = DEFAULT_ID_COLS,
    time_col: str = "date",
    model: Any = None,
    detector: str = "robust_z",
    detector_sample: int = 100_000,
    random_state: int = 0,
) -> PipelineResult:
    """Cleanse -> features -> OLS fit -> per-series anomaly scores, in memory or out of core.

    1. :func:`toolkit.cleanse.fill_missing` fills missing targets forward within each series;
    2. :func:`toolkit.features.build_features` computes ``spec`` (default
       :func:`pipeline_spec`);
    3. :class:`toolkit.regress.LinearRegression` is fitted on every row whose features and
       target are all present (TSQR over partitions on Dask);
    4. each row's Pearson residual ``(y - yhat) / sqrt(max(yhat, 0) + 1)`` (the residual in
       units of a Poisson standard deviation, so slow and fast movers are comparable) is
       scored by :func:`toolkit.anomaly.detect` (robust z-score by default).

    Rows whose features are incomplete (the first ``spec.lookback`` days of each series, or
    a series that starts with missing units) are neither fitted nor scored:
    ``len(sales) - result.rows_fit`` of them when the model was fitted here.

    Non-finite values: an infinite ``target_col`` or exogenous value is refused up front,
    naming the column and a few series keys (in memory; on Dask, the verbs refuse it when
    the partition is computed); missing targets are filled by ``fill_method``; a row whose
    features stay missing is neither fitted nor scored (counted as above).

    Parameters
    ----------
    sales : pandas, cudf or Dask DataFrame
        Daily panel with ``id_cols``, ``time_col``, ``target_col`` and the exogenous columns
        of ``spec`` (``price``, ``promo`` by default). A Dask frame is laid out by series
        first unless already recorded so (:func:`toolkit.scale.read_parquet_dataset` frames are).
    spec : toolkit.features.FeatureSpec, optional
    fill_method : str, default "ffill"
        ``method`` of :func:`toolkit.cleanse.fill_missing`.
    target_col, id_cols, time_col : str
        As everywhere in the toolkit.
    model : fitted regressor, optional
        Score with this model (e.g. one fitted on the whole data) instead of fitting one;
        it must take the columns of ``spec.feature_names``.
    detector : str, default "robust_z"
        ``method`` of :func:`toolkit.anomaly.detect`, fitted on the Pearson residuals of all
        series together and flagging with its own rule.
    detector_sample : int, default 100_000
        Dask input: the detector is fitted on a random sample of this many scored rows, then
        every partition is scored in parallel (all rows when there are fewer; then the scores
        equal the in-memory ones).
    random_state : int, default 0
        Seed of that sample.

    Raises
    ------
    DataValidationError
        ``sales`` is not a frame, lacks a column, holds an infinite target or exogenous
        value; ``spec`` is not a FeatureSpec for these columns; ``model`` has no
        ``predict``; ``id_cols`` is empty; ``detector_sample``/``random_state`` are not
        whole numbers (>= 1 / >= 0); and what the chained verbs refuse (``fill_method``,
        ``detector``).

    Returns
    -------
    PipelineResult
        The regression is fitted (one pass over the data); ``scores`` is lazy on Dask input
        (computing or writing it is the second pass).

    Examples
    --------
    >>> from toolkit.datasets import make_retail
    >>> from toolkit.pipeline import run_pipeline
    >>> data = make_retail(n_skus=4, n_locations=2, n_days=90, progress=False)
    >>> result = run_pipeline(data.sales)
    >>> result.scores.columns.tolist()
    ['sku', 'location', 'date', 'units', 'prediction', 'residual', 'pearson_residual', 'anomaly_score', 'is_anomaly']
    """
    check_frame(sales, "sales")
    keys = as_list(id_cols)
    if not keys:
        raise DataValidationError.for_parameter("id_cols", "must name at least one series key column", id_cols)
    for name, value in (("target_col", target_col), ("time_col", time_col)):
        if not isinstance(value, str):
            raise DataValidationError.for_parameter(name, "expected a column name", value)
    if spec is not None and not isinstance(spec, features.FeatureSpec):
        raise DataValidationError.for_parameter("spec", "expected a toolkit.features.FeatureSpec", type(spec).__name__)
    spec = spec if spec is not None else pipeline_spec(target_col, keys, time_col)
    if list(spec.id_cols) != keys or spec.time_col != time_col or spec.target_col != target_col:
        raise DataValidationError.for_parameter(
            "spec", "its id_cols/time_col/target_col must match the pipeline's", (spec.id_cols, spec.time_col,
                                                                                 spec.target_col))
    if model is not None and not callable(getattr(model, "predict", None)):
        raise DataValidationError.for_parameter("model", "expected a fitted regressor with a predict method",
                                                type(model).__name__)
    check_int("detector_sample", detector_sample, minimum=1)
    check_int("random_state", random_state, minimum=0)
    names = list(spec.feature_names)
    require_columns(sales, [*keys, time_col, target_col, *spec.exog], "by run_pipeline")
    require_numeric(sales, [target_col, *spec.exog], "by run_pipeline")
    require_finite(sales, [target_col, *spec.exog], keys, purpose="by run_pipeline")
    frame = ensure_partitioned_by_series(sales, keys, time_col)
    filled = cleanse.fill_missing(frame, cols=target_col, method=fill_method, id_cols=keys, time_col=time_col)
    # a per-series fill keeps every row in its partition: the layout survives
    filled = ensure_partitioned_by_series(filled, keys, time_col, assume=True)
    feats = features.build_features(filled, spec)
    if model is None:
        complete = feats.dropna(subset=[*names, target_col])
        model = regress.LinearRegression().fit(*fit_columns(complete, names, target_col))
    predict = functools.partial(_predict_frame, model=model, names=names, keys=keys, time_col=time_col,
                                target_col=target_col)
    residuals = per_series(feats, predict, keys, time_col)
    scores = anomaly.detect(residuals, "pearson_residual", method=detector, time_col=time_col,
                            sample=detector_sample, random_state=random_state)
    if "anomaly_rank" in scores.columns:  # only the in-memory path ranks (a global rank needs a sort)
        scores = scores.drop(columns=["anomaly_rank"])
    return PipelineResult(model=model, scores=scores, feature_names=names)
