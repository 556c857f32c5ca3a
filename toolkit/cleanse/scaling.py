"""``Scaler`` and ``scale``: scale columns globally or per series, and map results back.

Methods (as scikit-learn's scalers, per series when ``id_cols`` is given): ``standard``
``(x - mean) / std`` (population std), ``minmax`` ``(x - min) / (max - min)``, ``robust``
``(x - median) / (q75 - q25)``, and ``log1p``. A zero spread is replaced by 1. The fitted
statistics live in ``stats_`` (one row per series: the keys, ``<col>_center``,
``<col>_scale``), so :meth:`Scaler.inverse_transform` can map e.g. forecasts back to units
with the statistics of the column they forecast.

The :class:`Scaler` follows scikit-learn's conventions: parameters are stored as given and
checked at :meth:`~Scaler.fit`; fitted attributes end in ``_``; ``transform`` before ``fit``
raises :class:`sklearn.exceptions.NotFittedError`; columns are matched by name
(``feature_names_in_``), never by position, and a series the scaler was not fitted on is
refused naming its keys.

Non-finite values: missing values (NaN) are left out of the statistics and stay missing;
``+-inf`` is refused at ``fit`` and ``transform``, naming the column and keys (it would make
a mean, a spread and every scaled value of its series meaningless).

Examples
--------
>>> import pandas as pd
>>> from toolkit.cleanse import Scaler
>>> scaler = Scaler("units", "robust").fit(pd.DataFrame({"units": [1.0, 2.0, 3.0, 100.0]}))
>>> scaler.stats_.round(2).to_dict("records")
[{'units_center': 2.5, 'units_scale': 25.5}]
"""

from __future__ import annotations

from typing import Any, Mapping, Sequence

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.utils.validation import check_is_fitted

from toolkit.cleanse.kernels import segment_moments, segment_quantiles
from toolkit.cleanse.runner import concat_frames, gather_groups, map_frame, meta
from toolkit.cleanse.steps import put_columns
from toolkit.errors import DataValidationError
from toolkit.panel import (SeriesLayout, as_list, check_choice, check_frame, examples, fail, frames,
                           require_columns, require_finite, require_not_empty, require_numeric)

__all__ = ["SCALER_METHODS", "Scaler", "scale"]

SCALER_METHODS = ("standard", "minmax", "robust", "log1p")
_SEEN = "__cleanse_seen"
_ROW = "__cleanse_row"


class Scaler(TransformerMixin, BaseEstimator):
    """Scale columns globally or per series, and map results back (see the module docstring).

    Parameters
    ----------
    cols : str or list of str, default "units"
    method : {"standard", "minmax", "robust", "log1p"}, default "standard"
    id_cols : str or list of str, optional
        Statistics per series; ``None``: global.

    Attributes
    ----------
    stats_ : frame
        One row per series (or one row): ``id_cols`` then ``<col>_center`` and ``<col>_scale``
        (pandas or cuDF; computed when fitting a Dask frame).
    feature_names_in_ : numpy array of str
        The scaled columns.
    n_features_in_ : int

    Examples
    --------
    >>> import pandas as pd
    >>> from toolkit.cleanse import Scaler
    >>> df = pd.DataFrame({"sku": ["a", "a", "b", "b"], "units": [1.0, 3.0, 10.0, 30.0]})
    >>> sc = Scaler("units", "minmax", id_cols="sku").fit(df)
    >>> sc.inverse_transform(sc.transform(df))["units"].tolist()
    [1.0, 3.0, 10.0, 30.0]
    """

    def __init__(self, cols: str | Sequence[str] = "units", method: str = "standard",
                 id_cols: str | Sequence[str] | None = None) -> None:
        self.cols = cols
        self.method = method
        self.id_cols = id_cols

    def set_params(self, **params: Any) -> "Scaler":
        """Set parameters by name (scikit-learn's protocol); an unknown name lists the valid ones."""
        for name in params:
            check_choice("params", name, list(self.get_params()))
        return super().set_params(**params)

    def __repr__(self) -> str:
        return f"Scaler(cols={self.cols!r}, method={self.method!r}, id_cols={self.id_cols!r})"

    def _columns(self) -> tuple[list[str], list[str], str]:
        cols, ids = as_list(self.cols, "cols"), as_list(self.id_cols)
        if not cols:
            raise DataValidationError.for_parameter("cols", "name at least one column to scale", self.cols)
        return cols, ids, check_choice("method", self.method, SCALER_METHODS)

    def _stats(self, part: Any) -> Any:
        """The statistics of one frame holding its series whole."""
        cols, ids, method = self._columns()
        require_finite(part, cols, ids, purpose="to scale")
        layout = SeriesLayout.from_frame(part, ids)
        xp = layout.xp
        out = {}
        for col in cols:
            x = layout.gather(frames.values(part, col))
            if method == "standard":
                center, spread = segment_moments(x, layout.bounds)
            elif method == "minmax":
                center, high = segment_quantiles(x, layout.bounds, (0.0, 1.0))
                spread = high - center
            elif method == "robust":
                q1, center, q3 = segment_quantiles(x, layout.bounds, (0.25, 0.5, 0.75))
                spread = q3 - q1
            else:
                center = xp.zeros(layout.n_series, dtype=xp.float64)
                spread = xp.ones(layout.n_series, dtype=xp.float64)
            out[f"{col}_center"] = center
            out[f"{col}_scale"] = xp.where(spread != 0, spread, 1.0)
        return frames.assign(layout.keys(part, ids), out) if ids else frames.new_frame(part, out)

    def fit(self, df: Any, y: Any = None) -> "Scaler":
        """Compute the statistics of ``df`` (per series when ``id_cols``) and return the fitted scaler.

        Raises
        ------
        DataValidationError
            ``df`` is not a frame, an unknown method, a missing or non-numeric column,
            ``+-inf`` values, missing keys.
        """
        check_frame(df)
        cols, ids, _ = self._columns()
        require_columns(df, [*cols, *ids], "by Scaler.fit")
        require_numeric(meta(df), cols, "to scale")
        require_not_empty(df, "to fit the Scaler on")
        pieces = gather_groups(df[[*ids, *cols]], ids, self._stats)
        self.stats_ = pieces[0] if len(pieces) == 1 else concat_frames(pieces)
        self.feature_names_in_ = np.asarray(cols, dtype=object)
        self.n_features_in_ = len(cols)
        return self

    def _apply(self, df: Any, mapping: Mapping[str, str], inverse: bool) -> Any:
        check_is_fitted(self, "stats_")
        check_frame(df)
        ids = as_list(self.id_cols)
        for fitted in mapping:
            check_choice("cols", fitted, list(self.feature_names_in_))
        targets = list(mapping.values())
        require_columns(df, [*targets, *ids], "by Scaler")
        require_numeric(meta(df), targets, "to scale")
        return map_frame(df, self._apply_part, stats=self.stats_, mapping=dict(mapping), inverse=inverse)

    def _aligned(self, part: Any, stats: Any) -> Any:
        """``stats`` rows matching each row of ``part`` (row order of ``part``)."""
        ids = as_list(self.id_cols)
        xp = frames.namespace(part)
        if not ids:
            return frames.take(stats, xp.zeros(len(part), dtype=xp.int64)).reset_index(drop=True)
        keys = frames.assign(part[ids].reset_index(drop=True), {_ROW: xp.arange(len(part), dtype=xp.int64)})
        table = frames.assign(stats, {_SEEN: xp.ones(len(stats), dtype=xp.bool)})
        joined = keys.merge(table, on=ids, how="left")  # unique right keys: one match or none per row
        rows = xp.asarray(frames.as_array(joined[_ROW], "int64"))
        unseen = xp.zeros(len(part), dtype=xp.bool)
        unseen[rows] = xp.asarray(frames.isna(joined, _SEEN))
        if bool(xp.any(unseen)):
            where = xp.nonzero(unseen)[0]
            fail(ids[0], "belongs to series the Scaler was not fitted on", int(where.shape[0]),
                 examples(part, where, ids))
        return frames.take(joined, xp.argsort(rows)).reset_index(drop=True)

    def _apply_part(self, part: Any, stats: Any, mapping: Mapping[str, str], inverse: bool) -> Any:
        targets = list(mapping.values())
        require_finite(part, targets, as_list(self.id_cols), purpose="to scale")
        aligned = self._aligned(part, stats)
        xp = frames.namespace(part)
        out = {}
        for fitted, target in mapping.items():
            x = frames.values(part, target)
            if self.method == "log1p":
                out[target] = xp.expm1(x) if inverse else xp.log1p(x)
                continue
            center, spread = frames.values(aligned, f"{fitted}_center"), frames.values(aligned, f"{fitted}_scale")
            out[target] = x * spread + center if inverse else (x - center) / spread
        return put_columns(part, out)

    def transform(self, df: Any) -> Any:
        """Scale the fitted columns of ``df`` (float64).

        Raises
        ------
        NotFittedError
            Before :meth:`fit`.
        DataValidationError
            ``df`` is not a frame, a fitted column or key is missing, ``+-inf`` values, or a
            series the scaler was not fitted on.
        """
        check_is_fitted(self, "stats_")
        return self._apply(df, {c: c for c in self.feature_names_in_}, inverse=False)

    def fit_transform(self, df: Any, y: Any = None) -> Any:
        return self.fit(df).transform(df)

    def inverse_transform(self, df: Any, cols: Mapping[str, str] | None = None) -> Any:
        """Map scaled values back to the original units.

        Parameters
        ----------
        df : frame
            Must hold ``id_cols`` when the scaler is per series.
        cols : dict, optional
            ``{fitted column: column of df}``, e.g. ``{"units": "forecast"}`` to map forecasts
            back with the statistics of ``units``. Default: the fitted columns themselves.
        """
        check_is_fitted(self, "stats_")
        if cols is not None and not isinstance(cols, Mapping):
            raise DataValidationError.for_parameter("cols", "expected a dict {fitted column: column of df}", cols)
        return self._apply(df, dict(cols) if cols else {c: c for c in self.feature_names_in_}, inverse=True)

    inverse = inverse_transform


def scale(df: Any, cols: str | Sequence[str] = "units", method: str = "standard",
          id_cols: str | Sequence[str] | None = None) -> tuple[Any, Scaler]:
    """Scale ``cols`` and return ``(scaled frame, fitted Scaler)``; see :class:`Scaler`.

    Examples
    --------
    >>> import pandas as pd
    >>> from toolkit.cleanse import scale
    >>> out, scaler = scale(pd.DataFrame({"units": [0.0, 10.0]}), method="minmax")
    >>> out["units"].tolist(), scaler.inverse(out)["units"].tolist()
    ([0.0, 1.0], [0.0, 10.0])
    """
    scaler = Scaler(cols, method, id_cols).fit(df)
    return scaler.transform(df), scaler
