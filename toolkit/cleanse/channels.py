"""``integrate_channels``: bring several source systems onto one schema with a ``channel`` column.

Each source (web shop, app, marketplace, stores...) is renamed, converted (units, currency,
time zones) and labelled, then all are stacked and a record seen by two systems is kept once.
What the report counts, besides rows in and out:

* ``dropped``: ``seen in two systems (<keys>)`` -- copies of a record already present in an
  earlier source of ``frames`` (their order is the priority);
* ``values``: ``no dedupe key`` -- rows with a missing key, which match nothing and are kept;
  ``absent from source`` -- cells missing because a source lacks a column other sources have;
  ``time shifted (nonexistent local time)`` -- naive local times inside a daylight-saving
  gap, moved forward; ``time ambiguous (read as standard time)`` -- local times in a
  fall-back hour, read as standard time.

Non-finite values: values are renamed and multiplied by their factors as they are; ``inf``
stays ``inf`` (validate the result to refuse it). Factors must be finite numbers. An existing
``channel_col`` in a source is replaced by the source's label.

Examples
--------
>>> import pandas as pd
>>> from toolkit.cleanse import integrate_channels, CleanReport
>>> report = CleanReport()
>>> out = integrate_channels({"web": pd.DataFrame({"order_id": [1, 2]}), "app": pd.DataFrame({"order_id": [2, 3]})},
...                          report=report)
>>> out["channel"].astype(str).tolist(), report.dropped
(['web', 'web', 'app'], {'seen in two systems (order_id)': 1})
"""

from __future__ import annotations

from typing import Any, Mapping, Sequence

import numpy as np
import pandas as pd

from toolkit.cleanse.report import CleanReport, StepCounts, check_report
from toolkit.cleanse.runner import concat_frames, is_lazy, map_frame, meta, run_steps
from toolkit.cleanse.schemas import dtype_kind
from toolkit.cleanse.steps import Step, put_columns
from toolkit.errors import DataValidationError
from toolkit.panel import (as_list, check_choice, check_frame, check_number, require_columns, require_datetime,
                           require_numeric)
from toolkit.panel import frames as panel_frames

__all__ = ["SPEC_KEYS", "IntegrateStep", "integrate_channels"]

SPEC_KEYS = ("rename", "units", "currency", "timezone", "time_cols", "channel")
_SOURCE = "__cleanse_source"
_SHIFTED = "__cleanse_tz_shifted"
_AMBIGUOUS = "__cleanse_tz_ambiguous"


def _zone(param: str, zone: Any) -> str:
    if not isinstance(zone, str):
        raise DataValidationError.for_parameter(param, "expected an IANA time zone name such as 'Europe/Berlin'", zone)
    try:
        pd.Timestamp("2024-01-01").tz_localize(zone)
    except Exception as err:  # pytz, zoneinfo and dateutil raise different types for unknown zones
        raise DataValidationError.for_parameter(param, "not a time zone pandas knows (e.g. 'UTC', 'Europe/Berlin')",
                                                zone) from err
    return zone


def _names(param: str, value: Any) -> dict:
    if not isinstance(value, Mapping) or not all(isinstance(k, str) and isinstance(v, str) for k, v in value.items()):
        raise DataValidationError.for_parameter(param, "expected a dict of column name -> column name", value)
    return dict(value)


def _spec(name: str, spec: Any) -> dict:
    """One source's mapping, checked: known keys, renames, finite factors, a known zone."""
    param = f"mapping[{name!r}]"
    if not isinstance(spec, Mapping):
        raise DataValidationError.for_parameter(param, "expected a dict with keys among " + ", ".join(SPEC_KEYS), spec)
    for key in spec:
        check_choice(param, key, SPEC_KEYS)
    factors = {}
    for kind in ("units", "currency"):
        table = spec.get(kind, {})
        if not isinstance(table, Mapping):
            raise DataValidationError.for_parameter(f"{param}[{kind!r}]", "expected a dict of column -> factor", table)
        factors.update({col: check_number(f"{param}[{kind!r}][{col!r}]", f) for col, f in table.items()})
    label = spec.get("channel", name)
    if not isinstance(label, str):
        raise DataValidationError.for_parameter(f"{param}['channel']", "expected a label string", label)
    zone = spec.get("timezone")
    return {"rename": _names(f"{param}['rename']", spec.get("rename", {})), "factors": factors,
            "timezone": None if zone is None else _zone(f"{param}['timezone']", zone),
            "time_cols": None if spec.get("time_cols") is None else as_list(spec["time_cols"], f"{param}['time_cols']"),
            "channel": label}


def _localize(series: Any, zone: str) -> tuple[Any, Any, Any]:
    """Naive local times in ``zone`` -> aware; and where a time was nonexistent (shifted) or ambiguous."""
    standard = np.zeros(len(series), dtype=bool)  # ambiguous times read as standard time
    was_missing = panel_frames.isna({"t": series}, "t")
    gap = panel_frames.isna({"t": series.dt.tz_localize(zone, ambiguous=standard, nonexistent="NaT")}, "t")
    fold = panel_frames.isna({"t": series.dt.tz_localize(zone, ambiguous="NaT", nonexistent="shift_forward")}, "t")
    aware = series.dt.tz_localize(zone, ambiguous=standard, nonexistent="shift_forward")
    return aware, gap & ~was_missing, fold & ~was_missing


def _convert(part: Any, rank: int, spec: dict, tz: str, channel_col: str) -> Any:
    """One source's partition renamed, converted and labelled, with its rank and time-zone counts."""
    part = part.rename(columns=spec["rename"])
    xp = panel_frames.namespace(part)
    arrays: dict[str, Any] = {col: panel_frames.values(part, col) * factor for col, factor in spec["factors"].items()}
    times: dict[str, Any] = {}
    shifted = xp.zeros(len(part), dtype=xp.int64)
    ambiguous = xp.zeros(len(part), dtype=xp.int64)
    time_cols = spec["time_cols"]
    if time_cols is None:
        time_cols = [c for c in part.columns if dtype_kind(part[c].dtype) == "datetime"]
    for col in time_cols:
        series = part[col]
        if getattr(series.dtype, "tz", None) is None:
            series, gap, fold = _localize(series, spec["timezone"] or "UTC")
            shifted = shifted + xp.astype(xp.asarray(gap), xp.int64)
            ambiguous = ambiguous + xp.astype(xp.asarray(fold), xp.int64)
        times[col] = series.dt.tz_convert(tz).dt.tz_localize(None).astype("datetime64[ns]")
    arrays.update({_SOURCE: xp.full(len(part), rank, dtype=xp.int64), _SHIFTED: shifted, _AMBIGUOUS: ambiguous})
    return put_columns(part, arrays).assign(**times, **{channel_col: spec["channel"]})


class IntegrateStep(Step):
    """Stacked sources -> categorical columns restored, time-zone counts read, records seen twice dropped."""

    name = "integrate_channels"

    def __init__(self, keys: list[str], categorical: set[str], absent: dict[int, int]) -> None:
        self.keys, self.categorical, self.absent = keys, categorical, absent
        self.colocate = list(keys) if keys else None

    def apply(self, part: Any, stats: Any = None) -> tuple[Any, StepCounts]:
        counts = StepCounts.start(len(part))
        xp = panel_frames.namespace(part)
        part = part.assign(**{c: part[c].astype("category") for c in self.categorical if c in part.columns})
        source = xp.asarray(panel_frames.as_array(part[_SOURCE], "int64"))
        counts.value("absent from source", sum(int(xp.sum(xp.astype(source == rank, xp.int64))) * n_cols
                                               for rank, n_cols in self.absent.items()))
        counts.value("time shifted (nonexistent local time)", int(xp.sum(panel_frames.values(part, _SHIFTED))))
        counts.value("time ambiguous (read as standard time)", int(xp.sum(panel_frames.values(part, _AMBIGUOUS))))
        if self.keys:
            no_key = xp.zeros(len(part), dtype=xp.bool)
            for col in self.keys:
                no_key = no_key | xp.asarray(panel_frames.isna(part, col))
            counts.value("no dedupe key", int(xp.sum(xp.astype(no_key, xp.int64))))
            first = part.groupby(self.keys, sort=False, observed=True, dropna=True)[_SOURCE].transform("min")
            later = panel_frames.values({"first": first}, "first")  # NaN for rows without a key: never dropped
            repeated = xp.astype(source, xp.float64) > later
            counts.drop(f"seen in two systems ({', '.join(self.keys)})", int(xp.sum(xp.astype(repeated, xp.int64))))
            if bool(xp.any(repeated)):
                part = panel_frames.take(part, xp.nonzero(~repeated)[0])
        return part.drop(columns=[_SOURCE, _SHIFTED, _AMBIGUOUS]), counts


def _check_sources(sources: Any) -> None:
    if not isinstance(sources, Mapping) or not sources:
        raise DataValidationError.for_parameter("frames", "expected a non-empty dict of source name -> frame",
                                                type(sources).__name__)
    kinds = set()
    for name, frame in sources.items():
        check_frame(frame, f"frames[{name!r}]")
        kinds.add((is_lazy(frame), panel_frames.ops(meta(frame)).name))
    if len(kinds) > 1:
        raise DataValidationError.for_parameter("frames", "must all be of one kind (all pandas, all cuDF or all "
                                                          "Dask)", sorted(str(k) for k in kinds))


def integrate_channels(frames: Mapping[str, Any], mapping: Mapping[str, Mapping[str, Any]] | None = None,
                       tz: str = "UTC", dedupe_on: str | Sequence[str] | None = "order_id",
                       channel_col: str = "channel", report: CleanReport | None = None) -> Any:
    """Bring several channels' data onto one schema with a ``channel`` column.

    Parameters
    ----------
    frames : dict of str -> frame
        One frame per source system, all pandas, all cuDF or all Dask. Their order is the
        priority when de-duplicating.
    mapping : dict of str -> dict, optional
        Per source: ``rename`` ({source column: target column}), ``units`` ({column: factor},
        e.g. packs -> units), ``currency`` ({column: rate to the target currency}),
        ``timezone`` (IANA zone of naive local timestamps; None: already UTC),
        ``time_cols`` (default: every datetime column after renaming) and ``channel`` (the
        label; default the source name).
    tz : str, default "UTC"
        Zone every timestamp is converted to; results are naive in that zone.
    dedupe_on : str or list of str, optional
        Keys of a record seen by two systems: only the copy from the first source in
        ``frames`` is kept. Duplicates within one source are left to
        :func:`~toolkit.cleanse.drop_duplicates`.
    channel_col : str, default "channel"
    report : CleanReport, optional
        Receives rows in (all sources), rows dropped and the value counts of the module docstring.

    Returns
    -------
    frame
        The union of the renamed columns (missing where a source lacks one); columns that are
        categorical in a source are categorical in the result.

    Raises
    ------
    DataValidationError
        ``frames`` is not a non-empty dict of frames of one kind; ``mapping`` names an unknown
        source or key, a factor is not a finite number, a zone is unknown; a renamed,
        converted, time or key column is missing in a source.

    Examples
    --------
    >>> import pandas as pd
    >>> from toolkit.cleanse import integrate_channels
    >>> web = pd.DataFrame({"order_id": [1, 2], "qty": [1, 2]})
    >>> shop = pd.DataFrame({"id": [3, 2], "packs": [1, 1]})
    >>> mapping = {"web": {"rename": {"qty": "quantity"}},
    ...            "store": {"rename": {"id": "order_id", "packs": "quantity"}, "units": {"quantity": 6}}}
    >>> out = integrate_channels({"web": web, "store": shop}, mapping)
    >>> out.sort_values("order_id")[["order_id", "quantity", "channel"]].values.tolist()
    [[1, 1.0, 'web'], [2, 2.0, 'web'], [3, 6.0, 'store']]
    """
    sources = frames
    _check_sources(sources)
    check_report(report)
    if mapping is not None and not isinstance(mapping, Mapping):
        raise DataValidationError.for_parameter("mapping", "expected a dict of source name -> dict", mapping)
    mapping = dict(mapping or {})
    for name in mapping:
        check_choice("mapping", name, list(sources))
    tz = _zone("tz", tz)
    keys = as_list(dedupe_on, "dedupe_on")
    if not isinstance(channel_col, str):
        raise DataValidationError.for_parameter("channel_col", "expected a column name", channel_col)
    converted, columns = [], []
    for rank, (name, frame) in enumerate(sources.items()):
        spec = _spec(name, mapping.get(name, {}))
        purpose = f"by mapping[{name!r}]"
        require_columns(meta(frame), list(spec["rename"]), purpose)
        renamed = meta(frame).rename(columns=spec["rename"])
        require_columns(renamed, [*spec["factors"], *(spec["time_cols"] or []), *keys], purpose)
        require_numeric(renamed, list(spec["factors"]), purpose)
        for col in spec["time_cols"] or []:
            require_datetime(renamed, col)
        out = map_frame(frame, _convert, rank=rank, spec=spec, tz=tz, channel_col=channel_col)
        converted.append(out)
        columns.append(list(meta(out).columns))
    union = {c for cols in columns for c in cols}
    absent = {rank: len(union - set(cols)) for rank, cols in enumerate(columns) if union - set(cols)}
    categorical = {c for m in map(meta, converted) for c in m.columns if str(m[c].dtype) == "category"}
    return run_steps(concat_frames(converted), [IntegrateStep(keys, categorical | {channel_col}, absent)], report)
