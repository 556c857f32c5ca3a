"""Cleansing: validate, repair and integrate raw retail data, accounting for every row.

The first thing a user runs on raw orders, sales, inventory, shipments and marketing data:

* :func:`validate` checks a frame against a :class:`Schema` (required columns, dtypes with or
  without safe coercion, nullability, ranges, unique keys); :data:`SCHEMAS` holds one schema
  per table of :func:`toolkit.datasets.make_retail`.
* :func:`coerce_types` parses numeric strings, dates and categories, reporting what it cannot
  parse; :func:`drop_duplicates`, :func:`complete_calendar`, :func:`fill_missing`,
  :func:`flag_outliers`, :func:`clip_outliers`, :func:`scale` (a fitted :class:`Scaler`),
  :func:`pseudonymize` and :func:`integrate_channels` repair and reshape.
* :func:`clean` runs a declared list of steps and returns the clean frame with a
  :class:`CleanReport` in which rows in = rows out + rows dropped - rows inserted, per step and
  reason.

Design choices
--------------
* **One in-memory step, many backends.** Every transform is a step whose ``apply`` takes one
  in-memory frame (pandas or cuDF) and returns it with a small dict of counts. pandas and cuDF
  frames run it directly. A Dask frame runs it on each partition, after a shuffle when the
  step needs rows co-located: per-series steps use :func:`toolkit.scale.partition_by_series`
  (series split across input partitions are made whole), key-based steps shuffle on their keys,
  steps needing global statistics (``id_cols=None`` outlier bounds) get them from one task
  that reads only the needed columns of every partition. So the Dask result equals the pandas
  result by construction.
* **The report in the same pass (Dask).** The Dask graph is built from the partitions'
  ``Delayed`` objects: each step task returns ``(partition, counts)``, the output frame is
  ``dask.dataframe.from_delayed`` of the partitions and the counts are a ``Delayed`` sum over
  the same tasks. :func:`clean` hands both to one ``dask.persist`` call, so the data are read
  and transformed once and the report comes with the (persisted, still Dask) result. Counts
  taken with ``len(ddf)`` after each step would instead be separate expressions that Dask's
  optimizer rewrites, re-reading the data per count. On Dask a failed ``validate`` inside
  :func:`clean` therefore raises once that single pass is done, with totals over all partitions;
  the stand-alone :func:`validate` computes its checks (one pass) and raises before returning.
* **Kernels on arrays.** Gap filling, Hampel windows and the segment bookkeeping are array
  functions written against the array API (``numpy`` or ``cupy`` via
  :func:`toolkit.backend.array_namespace`) taking the values and segment ids of rows sorted by
  series and time; frame code only sorts, groups (``groupby(...).agg`` + ``ngroup``, which cuDF
  implements) and puts columns back. Transforms keep the input row order, except
  :func:`complete_calendar` (sorted by ``id_cols + [time_col]``) and Dask results (partition
  order).
* **Gap-fill semantics.** ``limit`` caps how many consecutive missing values of one gap are
  filled (the first ``limit`` after the last valid value; for ``bfill`` the last ``limit``
  before the next one). ``linear`` interpolates by position inside a series and never
  extrapolates: run :func:`complete_calendar` first so that positions are days. ``seasonal``
  takes the value of the same weekday in the latest earlier week that has one (the ``period``
  rows of a regular calendar); ``limit`` then counts weeks.
* **Outlier bounds.** Every method yields a lower and an upper bound per row: IQR
  ``[q1 - k*iqr, q3 + k*iqr]`` (k=1.5), z-score ``mean +- t*std`` (population std, t=3),
  MAD ``median +- t*1.4826*MAD`` (t=3.5) and Hampel, the same with a centred rolling median and
  MAD over ``window`` rows of one series (t=3). ``flag`` marks values outside, ``clip`` caps
  them to the bounds. Missing values are never flagged or clipped.
* **Pseudonyms** are ``HMAC-SHA256(key, str(value))`` hex digests (RFC 2104 on :mod:`hashlib`'s
  SHA-256 with the padded key states hashed once; equal to :mod:`hmac`'s); each distinct value is
  hashed once. The result is categorical: a 64-character pseudonym stored once per customer
  rather than once per row keeps a 10M-row frame several times smaller (and pseudonymized ids
  are keys, which the data conventions keep as ``category``). cuDF has no HMAC, so on GPU the
  distinct values go to the host and back.
  The key is held in a private wrapper whose ``repr`` is ``Key(***)``; it is not stored in any
  output, report or repr.

Examples
--------
>>> import pandas as pd
>>> from toolkit import cleanse
>>> df = pd.DataFrame({"sku": ["a", "a", "a", "b", "b"], "location": "web",
...                    "date": pd.to_datetime(["2024-01-01", "2024-01-02", "2024-01-02",
...                                            "2024-01-01", "2024-01-03"]),
...                    "units": [1.0, 2.0, 2.0, None, 4.0]})
>>> out, report = cleanse.clean(df, [("drop_duplicates", {}),
...                                  ("complete_calendar", {"fill": {"units": None}}),
...                                  ("fill_missing", {"method": "bfill"})])
>>> out["units"].tolist()
[1.0, 2.0, 4.0, 4.0, 4.0]
>>> report.rows_in, report.rows_out
(5, 5)
"""

from __future__ import annotations

import dataclasses
import hashlib
import math
from typing import Any, Callable, Mapping, Sequence

import numpy as np
import pandas as pd

from toolkit import backend
from toolkit.errors import DataValidationError
from toolkit.panel import as_list, is_partitioned_by_series, partition_by_series

__all__ = [
    "Column",
    "Schema",
    "SCHEMAS",
    "PRODUCTS",
    "LOCATIONS",
    "SALES",
    "ORDERS",
    "INVENTORY",
    "SHIPMENTS",
    "MARKETING",
    "validate",
    "coerce_types",
    "drop_duplicates",
    "complete_calendar",
    "fill_missing",
    "flag_outliers",
    "clip_outliers",
    "Scaler",
    "scale",
    "pseudonymize",
    "integrate_channels",
    "CleanReport",
    "clean",
]

DEFAULT_ID_COLS = ("sku", "location")
_KINDS = ("int", "float", "bool", "datetime", "category", "string")
_ORDER = "__cleanse_order"  # global row order carried through Dask shuffles for keep="first"/"last"
_MAD_SCALE = 1.482602218505602  # 1 / Phi^-1(3/4): MAD -> standard deviation of a normal
_N_EXAMPLES = 5
_SOURCE = "__cleanse_source"  # rank of the source system in integrate_channels
_DEFER = "defer violations"  # passed as ``stats`` to validation on Dask partitions: collect, don't raise


# --------------------------------------------------------------------------------------------
# Schemas
# --------------------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Column:
    """Rules for one column of a :class:`Schema`.

    Parameters
    ----------
    dtype : str
        A kind (``"int"``, ``"float"``, ``"bool"``, ``"datetime"``, ``"category"``, ``"string"``)
        accepting any width, or an exact dtype name such as ``"float32"``.
    nullable : bool, default True
        Whether missing values (NaN, NaT, None) are allowed.
    min, max : float, optional
        Inclusive value range.
    coerce : bool, default False
        Allow a *safe* cast to ``dtype``: one that changes no value (int -> float below 2**53,
        integral float -> int, str -> category, ...). Unsafe casts are violations.
    finite : bool, default True
        For float columns: whether +-inf counts as a violation.
    required : bool, default True
        Whether the column must be present.
    """

    dtype: str
    nullable: bool = True
    min: float | None = None
    max: float | None = None
    coerce: bool = False
    finite: bool = True
    required: bool = True


@dataclasses.dataclass(frozen=True)
class Schema:
    """A table's columns and key.

    Parameters
    ----------
    name : str
        Table name, used in messages.
    columns : dict of str -> Column
    unique : tuple of str, default ()
        Columns whose combination must be unique (e.g. ``id_cols + (time_col,)``).

    Examples
    --------
    >>> from toolkit.cleanse import Schema, Column
    >>> s = Schema("t", {"sku": Column("category", nullable=False), "units": Column("float", min=0)},
    ...            unique=("sku",))
    >>> list(s.columns)
    ['sku', 'units']
    """

    name: str
    columns: Mapping[str, Column]
    unique: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        for col, rule in self.columns.items():
            if rule.dtype not in _KINDS:
                np.dtype(rule.dtype)  # raises TypeError on an unknown dtype name
        missing = [c for c in self.unique if c not in self.columns]
        if missing:
            raise ValueError(f"schema {self.name!r}: unique column {missing[0]!r} is not a schema column")


def _key(dtype: str = "category") -> Column:
    return Column(dtype, nullable=False, coerce=True)


PRODUCTS = Schema("products", {
    "sku": _key(), "category": _key(), "price_tier": _key(), "supplier": _key(),
    "lead_time_days": Column("int", nullable=False, min=0, coerce=True),
    "base_price": Column("float", nullable=False, min=0, coerce=True),
    "unit_cost": Column("float", nullable=False, min=0, coerce=True),
}, unique=("sku",))
LOCATIONS = Schema("locations", {
    "location": _key(), "channel": _key(), "online": Column("bool", nullable=False),
    "region": _key(), "warehouse": _key(), "timezone": Column("string", nullable=False),
}, unique=("location",))
SALES = Schema("sales", {
    "sku": _key(), "location": _key(), "channel": _key(),
    "date": Column("datetime", nullable=False),
    "units": Column("float", nullable=False, min=0, coerce=True),
    "price": Column("float", nullable=False, min=0, coerce=True),
    "promo": Column("bool", nullable=False), "stockout": Column("bool", nullable=False),
    "demand": Column("float", min=0, coerce=True, required=False),
}, unique=("sku", "location", "date"))
ORDERS = Schema("orders", {
    "order_id": Column("int", nullable=False, coerce=True),
    "order_ts": Column("datetime", nullable=False),
    "sku": _key(), "location": _key(), "channel": _key(),
    "customer_id": Column("string", nullable=False, coerce=True),
    "email": Column("string", coerce=True),
    "quantity": Column("int", nullable=False, min=0, coerce=True),
    "unit_price": Column("float", nullable=False, min=0, coerce=True),
}, unique=("order_id",))
INVENTORY = Schema("inventory", {
    "sku": _key(), "warehouse": _key(), "date": Column("datetime", nullable=False),
    **{c: Column("float", nullable=False, min=0, coerce=True)
       for c in ("on_hand", "on_order", "receipts", "units_sold")},
}, unique=("sku", "warehouse", "date"))
SHIPMENTS = Schema("shipments", {
    "shipment_id": Column("int", nullable=False, coerce=True),
    "order_id": Column("int", nullable=False, coerce=True),
    "warehouse": _key(), "ship_date": Column("datetime", nullable=False), "carrier": _key(),
    "zone": Column("int", nullable=False, min=1, max=8, coerce=True),
    "distance_km": Column("float", nullable=False, min=0, coerce=True),
    "weight_kg": Column("float", nullable=False, min=0, coerce=True),
    "promised_days": Column("int", nullable=False, min=0, coerce=True),
    "actual_days": Column("int", nullable=False, min=0, coerce=True),
    "cost": Column("float", nullable=False, min=0, coerce=True),
    "lat": Column("float", nullable=False, min=-90, max=90, coerce=True),
    "lon": Column("float", nullable=False, min=-180, max=180, coerce=True),
}, unique=("shipment_id",))
MARKETING = Schema("marketing", {
    "date": Column("datetime", nullable=False), "channel": _key(),
    "spend": Column("float", nullable=False, min=0, coerce=True),
    **{c: Column("int", nullable=False, min=0, coerce=True) for c in ("impressions", "clicks", "conversions")},
}, unique=("date", "channel"))
SCHEMAS: dict[str, Schema] = {s.name: s for s in (PRODUCTS, LOCATIONS, SALES, ORDERS, INVENTORY, SHIPMENTS, MARKETING)}


def _kind(dtype: Any) -> str:
    if str(dtype) == "category":
        return "category"
    api = pd.api.types
    if api.is_bool_dtype(dtype):
        return "bool"
    if api.is_integer_dtype(dtype):
        return "int"
    if api.is_float_dtype(dtype):
        return "float"
    if api.is_datetime64_any_dtype(dtype):
        return "datetime"
    if api.is_string_dtype(dtype) or str(dtype) in ("object", "string", "str"):
        return "string"
    return str(dtype)


def _dtype_matches(dtype: Any, wanted: str) -> bool:
    return _kind(dtype) == wanted if wanted in _KINDS else str(dtype) == wanted


def _target_dtype(wanted: str) -> str:
    return {"int": "int64", "float": "float64", "bool": "bool", "datetime": "datetime64[ns]",
            "category": "category", "string": "str"}.get(wanted, wanted)


# --------------------------------------------------------------------------------------------
# Small frame helpers
# --------------------------------------------------------------------------------------------


def _values(series: Any, dtype: str = "float64") -> Any:
    """A column as a numpy/cupy array of ``dtype`` with missing values as NaN."""
    if backend.is_gpu(series):
        if dtype == "int64" and _kind(series.dtype) == "datetime":
            return series.astype("int64").to_cupy()
        return series.astype(dtype).to_cupy(na_value=np.nan) if dtype.startswith("float") else series.astype(dtype).to_cupy()
    if dtype == "int64" and _kind(series.dtype) == "datetime":
        return series.to_numpy(dtype="datetime64[ns]").view("int64")
    if dtype.startswith("float"):
        return series.to_numpy(dtype=dtype, na_value=np.nan)
    return series.to_numpy(dtype=dtype)


def _xp(frame: Any) -> Any:
    """The array namespace matching an in-memory frame: numpy's for pandas, cupy's for cudf."""
    if backend.is_gpu(frame):
        import cupy

        return backend.array_namespace(cupy.empty(0))
    return backend.array_namespace(np.empty(0))


def _isna(series: Any) -> Any:
    return _values(series.isna(), "bool")


def _positions(part: Any, mask: Any) -> Any:
    """Rows of ``part`` where the boolean array ``mask`` is True (positional)."""
    return part.iloc[mask]


def _examples(part: Any, mask: Any, keys: Sequence[str]) -> list:
    """A few offending keys (values of ``keys``, or row positions) for error messages."""
    xp = backend.array_namespace(mask)
    rows = xp.nonzero(mask)[0][:_N_EXAMPLES]
    rows = np.asarray(backend.to_host(rows))
    keys = [k for k in keys if k in part.columns]
    if not keys:
        return [f"row {int(r)}" for r in rows]
    sub = backend.to_host(part[keys].iloc[rows])
    return [tuple(v.item() if hasattr(v, "item") else v for v in row) if len(keys) > 1 else
            (row[0].item() if hasattr(row[0], "item") else row[0]) for row in sub.itertuples(index=False)]


def _require(columns: Sequence[str], cols: Sequence[str], what: str) -> None:
    for col in cols:
        if col not in columns:
            raise DataValidationError(
                f"column {col!r}: missing (needed by {what}); available: {list(columns)[:20]}", column=col)


def _check_numeric(frame: Any, cols: Sequence[str], what: str) -> None:
    for col in cols:
        if _kind(frame[col].dtype) not in ("int", "float", "bool"):
            raise DataValidationError(
                f"column {col!r}: dtype {frame[col].dtype} is not numeric (needed by {what}); "
                "use coerce_types first", column=col)


def _check_keys_not_null(part: Any, cols: Sequence[str], what: str) -> None:
    for col in cols:
        bad = _isna(part[col])
        n = int(bad.sum())
        if n:
            raise DataValidationError(
                f"column {col!r}: {n} missing key values (rule: keys not null, needed by {what}); "
                f"rows: {_examples(part, bad, [])}", column=col)


def _group_codes(part: Any, ids: Sequence[str]) -> Any:
    """Series number (0..k-1, in key order) of every row; zeros when there are no ``ids``."""
    if ids:
        return _values(part.groupby(list(ids), sort=True, observed=True).ngroup(), "int64")
    xp = _xp(part)
    return xp.zeros(len(part), dtype=xp.int64)


def _per_row(x: Any, codes: Any, how: str, frame_like: Any, q: float | None = None) -> Any:
    """Statistic ``how`` of ``x`` per group ``codes`` (0..k-1), broadcast back to every row."""
    xp = backend.array_namespace(x)
    g = backend.frame_lib(frame_like).DataFrame({"v": x, "g": codes}).groupby("g", sort=True)["v"]
    stat = g.quantile(q) if how == "quantile" else (g.std(ddof=0) if how == "std" else getattr(g, how)())
    return xp.take(_values(stat, "float64"), codes)


def _series_order(part: Any, ids: Sequence[str], time_col: str | None) -> tuple[Any, Any]:
    """Permutation sorting rows by series then time, and the series id of each sorted row."""
    xp = _xp(part)
    codes = _group_codes(part, ids)
    if time_col is not None:
        t = _values(part[time_col], "int64")
        perm = xp.argsort(t, stable=True)
        perm = xp.take(perm, xp.argsort(xp.take(codes, perm), stable=True))
    else:
        perm = xp.argsort(codes, stable=True)
    return perm, xp.take(codes, perm)


# --------------------------------------------------------------------------------------------
# Array kernels (numpy or cupy; rows sorted by segment, ``seg`` holds contiguous segment ids)
# --------------------------------------------------------------------------------------------


def _segment_bounds(seg: Any) -> tuple[Any, Any]:
    """First and last row position of the segment of every row."""
    xp = backend.array_namespace(seg)
    n = seg.shape[0]
    new = xp.concat([xp.ones(min(n, 1), dtype=xp.bool), seg[1:] != seg[:-1]])
    starts = xp.nonzero(new)[0]
    ends = xp.concat([starts[1:] - 1, xp.asarray([n - 1], dtype=starts.dtype)]) if n else starts
    rank = xp.cumulative_sum(xp.astype(new, xp.int64)) - 1
    return xp.take(starts, rank), xp.take(ends, rank)


def _neighbour_valid(valid: Any, seg: Any) -> tuple[Any, Any]:
    """Position of the last valid row at or before, and the first at or after, each row, within
    its segment (-1 when there is none)."""
    xp = backend.array_namespace(valid)
    n = valid.shape[0]
    start, end = _segment_bounds(seg)
    vpos = xp.nonzero(valid)[0]
    nv = vpos.shape[0]
    if nv == 0:
        none = xp.full(n, -1, dtype=xp.int64)
        return none, none
    count = xp.cumulative_sum(xp.astype(valid, xp.int64))
    prev = xp.where(count > 0, xp.take(vpos, xp.clip(count - 1, 0, nv - 1)), -1)
    prev = xp.where(prev >= start, prev, -1)
    before = count - xp.astype(valid, xp.int64)
    nxt = xp.where(before < nv, xp.take(vpos, xp.clip(before, 0, nv - 1)), -1)
    nxt = xp.where((nxt >= 0) & (nxt <= end), nxt, -1)
    return prev, nxt


def _fill_kernel(x: Any, seg: Any, method: str, limit: int | None, value: Any = None) -> tuple[Any, Any]:
    """Fill NaNs of ``x`` inside segments; returns (filled values, mask of filled rows).

    ``method``: ``ffill``, ``bfill``, ``linear`` or ``value`` (use ``value[i]``, e.g. the
    series median). ``limit`` caps the consecutive NaNs filled per gap (see module notes).
    """
    xp = backend.array_namespace(x)
    n = x.shape[0]
    valid = ~xp.isnan(x)
    prev, nxt = _neighbour_valid(valid, seg)
    pos = xp.arange(n, dtype=xp.int64)
    safe_prev, safe_next = xp.clip(prev, 0, None), xp.clip(nxt, 0, None)
    if n == 0:
        return x, valid
    if method == "ffill":
        ok = prev >= 0
        new = xp.take(x, safe_prev)
        run = pos - prev
    elif method == "bfill":
        ok = nxt >= 0
        new = xp.take(x, safe_next)
        run = nxt - pos
    elif method == "linear":
        ok = (prev >= 0) & (nxt >= 0)
        x0, x1 = xp.take(x, safe_prev), xp.take(x, safe_next)
        width = xp.astype(xp.where(ok & (nxt > prev), nxt - prev, 1), xp.float64)
        new = x0 + (x1 - x0) * xp.astype(pos - prev, xp.float64) / width
        run = pos - prev
    elif method == "value":
        new = value
        ok = ~xp.isnan(value)
        start, _ = _segment_bounds(seg)
        run = xp.where(prev >= 0, pos - prev, pos - start + 1)
    else:
        raise ValueError(f"unknown fill kernel method {method!r}")
    fill = ~valid & ok
    if limit is not None:
        fill = fill & (run <= limit)
    return xp.where(fill, new, x), fill


def _window_median(x: Any, seg: Any, half: int, chunk: int = 1 << 20) -> tuple[Any, Any]:
    """Centred rolling median and MAD over ``2*half+1`` rows within each segment (NaNs ignored)."""
    xp = backend.array_namespace(x)
    n = x.shape[0]
    start, end = _segment_bounds(seg)
    med = xp.empty(n, dtype=xp.float64)
    mad = xp.empty(n, dtype=xp.float64)
    offsets = xp.arange(-half, half + 1, dtype=xp.int64)

    def middle(w: Any) -> Any:
        s = xp.sort(w, axis=1)  # NaN sorts last
        m = xp.sum(xp.astype(~xp.isnan(w), xp.int64), axis=1)
        lo = xp.clip((m - 1) // 2, 0, None)[:, None]
        hi = (m // 2)[:, None]
        out = (xp.take_along_axis(s, lo, axis=1) + xp.take_along_axis(s, hi, axis=1))[:, 0] / 2
        return xp.where(m > 0, out, xp.nan)

    for a in range(0, n, chunk):
        b = min(n, a + chunk)
        idx = xp.arange(a, b, dtype=xp.int64)[:, None] + offsets[None, :]
        inside = (idx >= start[a:b, None]) & (idx <= end[a:b, None])
        gathered = xp.reshape(xp.take(x, xp.reshape(xp.clip(idx, 0, n - 1), (-1,))), idx.shape)
        w = xp.where(inside, gathered, xp.nan)
        m = middle(w)
        med[a:b] = m
        mad[a:b] = middle(xp.abs(w - m[:, None]))
    return med, mad


# --------------------------------------------------------------------------------------------
# The report
# --------------------------------------------------------------------------------------------


def _new_counts(rows_in: int) -> dict:
    return {"rows_in": rows_in, "rows_out": rows_in, "dropped": {}, "inserted": {}, "values": {}, "violations": []}


def _add(d: dict, key: str, n: int) -> None:
    if n:
        d[key] = d.get(key, 0) + int(n)


def _merge_counts(parts: Sequence[dict]) -> dict:
    """Sum the counts of several partitions (violations merged by column and rule)."""
    out = _new_counts(0)
    out["rows_out"] = 0
    seen: dict[tuple, dict] = {}
    for c in parts:
        out["rows_in"] += c["rows_in"]
        out["rows_out"] += c["rows_out"]
        for field in ("dropped", "inserted", "values"):
            for k, v in c[field].items():
                _add(out[field], k, v)
        for v in c["violations"]:
            key = (v["column"], v["rule"])
            if key not in seen:
                seen[key] = dict(v, examples=list(v["examples"]))
                out["violations"].append(seen[key])
            else:
                seen[key]["count"] += v["count"]
                seen[key]["examples"] = (seen[key]["examples"] + list(v["examples"]))[:_N_EXAMPLES]
    return out


@dataclasses.dataclass
class _StepRecord:
    step: str
    counts: Any  # dict, or a dask Delayed of one until resolved


class CleanReport:
    """What each cleaning step did to the rows and values.

    For every step: rows in, rows out, rows dropped and inserted per reason, and counts of
    values changed per kind (``filled``, ``clipped``, ``coerced``, ``unparseable``, ``flagged``,
    ``nulled``, ``pseudonymized``). ``rows_in - dropped + inserted == rows_out`` holds per step.
    Print it for a table; :meth:`to_dict` and :meth:`to_frame` give the same figures as data.

    On Dask, counts recorded by a stand-alone transform stay pending until first read, which
    then computes them (a pass of its own); :func:`clean` computes them with its result.

    Examples
    --------
    >>> import pandas as pd
    >>> from toolkit.cleanse import CleanReport, drop_duplicates
    >>> report = CleanReport()
    >>> out = drop_duplicates(pd.DataFrame({"a": [1, 1, 2]}), report=report)
    >>> report.to_dict()["steps"][0]["dropped"]
    {'duplicate': 1}
    """

    def __init__(self) -> None:
        self._records: list[_StepRecord] = []

    def _record(self, step: str, counts: Any) -> None:
        self._records.append(_StepRecord(step, counts))

    def _resolve(self) -> None:
        pending = [r for r in self._records if not isinstance(r.counts, dict)]
        if pending:
            import dask

            values = dask.compute(*[r.counts for r in pending])
            for r, v in zip(pending, values):
                r.counts = v

    @property
    def steps(self) -> list[dict]:
        """One dict per step: ``step``, ``rows_in``, ``rows_out``, ``dropped``, ``inserted``, ``values``."""
        self._resolve()
        out = []
        for r in self._records:
            c = r.counts
            out.append({"step": r.step, "rows_in": int(c["rows_in"]), "rows_out": int(c["rows_out"]),
                        "dropped": dict(c["dropped"]), "inserted": dict(c["inserted"]), "values": dict(c["values"])})
        return out

    @property
    def rows_in(self) -> int:
        steps = self.steps
        return steps[0]["rows_in"] if steps else 0

    @property
    def rows_out(self) -> int:
        steps = self.steps
        return steps[-1]["rows_out"] if steps else 0

    @property
    def dropped(self) -> dict[str, int]:
        """Rows dropped per reason over all steps."""
        out: dict[str, int] = {}
        for s in self.steps:
            for k, v in s["dropped"].items():
                _add(out, k, v)
        return out

    def to_dict(self) -> dict:
        """``{"rows_in", "rows_out", "dropped", "steps": [...]}`` with plain ints."""
        return {"rows_in": self.rows_in, "rows_out": self.rows_out, "dropped": self.dropped, "steps": self.steps}

    def to_frame(self) -> pd.DataFrame:
        """One row per (step, kind, reason): kind is ``rows``, ``dropped``, ``inserted`` or ``values``."""
        rows = []
        for i, s in enumerate(self.steps, 1):
            rows.append((i, s["step"], "rows", "in", s["rows_in"]))
            rows.append((i, s["step"], "rows", "out", s["rows_out"]))
            for kind in ("dropped", "inserted", "values"):
                rows.extend((i, s["step"], kind, k, v) for k, v in s[kind].items())
        return pd.DataFrame(rows, columns=["step_no", "step", "kind", "reason", "count"])

    def __str__(self) -> str:
        steps = self.steps
        head = f"{'#':>2}  {'step':<18}{'rows in':>12}{'rows out':>12}{'dropped':>10}{'inserted':>10}  details"
        lines = [head, "-" * len(head)]
        for i, s in enumerate(steps, 1):
            details = [f"dropped {k}: {v}" for k, v in s["dropped"].items()]
            details += [f"inserted {k}: {v}" for k, v in s["inserted"].items()]
            details += [f"{k}: {v}" for k, v in s["values"].items()]
            lines.append(f"{i:>2}  {s['step']:<18}{s['rows_in']:>12,}{s['rows_out']:>12,}"
                         f"{sum(s['dropped'].values()):>10,}{sum(s['inserted'].values()):>10,}  "
                         + "; ".join(details))
        return "\n".join(lines)

    def __repr__(self) -> str:
        if any(not isinstance(r.counts, dict) for r in self._records):
            return f"CleanReport({len(self._records)} steps, pending)"
        return f"CleanReport({len(self._records)} steps, rows {self.rows_in:,} -> {self.rows_out:,})"


# --------------------------------------------------------------------------------------------
# Steps: one in-memory ``apply`` per transform, run on a frame or on every Dask partition
# --------------------------------------------------------------------------------------------


class _Step:
    """A transform of one in-memory frame with its row/value counts.

    ``colocate``: ``None`` when rows are independent; a list of columns whose equal values must
    share a partition (``[]``: everything in one partition). ``global_cols``: columns whose
    whole-frame statistics :meth:`fit` computes (Dask only; in memory ``apply`` computes them).
    """

    name = "step"
    colocate: list[str] | None = None
    time_col: str | None = None
    global_cols: list[str] = []
    keeps_order = False  # True for steps that need the global row order (duplicates)

    def check(self, frame: Any) -> None:
        """Structural checks on a frame or a Dask ``_meta`` (columns, dtypes)."""

    def fit(self, frame: Any) -> Any:
        return None

    def apply(self, part: Any, stats: Any = None) -> tuple[Any, dict]:
        raise NotImplementedError


class _Validate(_Step):
    name = "validate"

    def __init__(self, schema: Schema, errors: str = "raise") -> None:
        if errors not in ("raise", "drop", "null"):
            raise ValueError(f"errors must be 'raise', 'drop' or 'null', got {errors!r}")
        self.schema, self.errors = schema, errors
        self.colocate = list(schema.unique) if schema.unique else None

    def check(self, frame: Any) -> None:
        s = self.schema
        for col, rule in s.columns.items():
            if col not in frame.columns:
                if rule.required:
                    raise DataValidationError(
                        f"column {col!r}: missing (rule: required by schema {s.name!r}); "
                        f"available: {list(frame.columns)[:20]}", column=col)
                continue
            dtype = frame[col].dtype
            if not _dtype_matches(dtype, rule.dtype) and not (rule.coerce and self._castable(dtype, rule.dtype)):
                raise DataValidationError(
                    f"column {col!r}: dtype {dtype} does not match {rule.dtype!r} (rule: dtype, schema "
                    f"{s.name!r}, {'no safe cast exists' if rule.coerce else 'coercion not allowed'}); "
                    f"{len(frame) if not backend.is_dask(frame) else 'all'} rows", column=col)

    @staticmethod
    def _castable(src: Any, wanted: str) -> bool:
        s, w = _kind(src), _kind(_target_dtype(wanted))
        allowed = {"int": {"int", "float", "bool", "category", "string"}, "float": {"float", "int", "category"},
                   "bool": {"bool", "int", "float", "category"}, "category": {"category", "string", "int", "bool"},
                   "string": {"string", "category"}, "datetime": {"datetime"}}
        return w in allowed.get(s, set())

    def fatal(self, violations: list[dict]) -> list[dict]:
        """The violations that raise: all with ``errors="raise"``, else keys and unsafe casts."""
        return [v for v in violations if self.errors == "raise" or v["rule"] == "unique key"
                or v["rule"].startswith("safe cast")]

    def apply(self, part: Any, stats: Any = None) -> tuple[Any, dict]:
        s = self.schema
        counts = _new_counts(len(part))
        keys = list(s.unique)
        bad_any = None
        casts = {}
        for col, rule in s.columns.items():
            if col not in part.columns:
                continue
            series = part[col]
            checks = []  # (rule name, mask)
            if not _dtype_matches(series.dtype, rule.dtype):
                target = _target_dtype(rule.dtype)
                cast, changed = self._safe_cast(series, target)
                checks.append((f"safe cast to {target}", changed))
                casts[col] = cast
                _add(counts["values"], "coerced", int((~_isna(cast)).sum()))
                series = cast
            na = _isna(series)
            if not rule.nullable:
                checks.append(("not null", na))
            if _kind(series.dtype) in ("int", "float"):
                x = _values(series, "float64")
                xp = backend.array_namespace(x)
                if rule.finite and _kind(series.dtype) == "float":
                    checks.append(("finite", xp.isinf(x)))
                if rule.min is not None:
                    checks.append((f">= {rule.min:g}", x < rule.min))
                if rule.max is not None:
                    checks.append((f"<= {rule.max:g}", x > rule.max))
            for rule_name, mask in checks:
                n = int(mask.sum())
                if not n:
                    continue
                counts["violations"].append({"column": col, "rule": rule_name, "count": n,
                                             "examples": _examples(part, mask, keys)})
                if self.errors == "null" and rule_name not in ("not null",) and not rule_name.startswith("safe cast"):
                    base = casts.get(col, part[col])
                    if _kind(base.dtype) == "int":
                        base = base.astype("float64")
                    casts[col] = base.mask(mask)
                    _add(counts["values"], "nulled", n)
                elif self.errors == "drop" and not rule_name.startswith("safe cast"):
                    new = mask if bad_any is None else mask & ~bad_any
                    _add(counts["dropped"], f"{col} {rule_name}", int(new.sum()))
                    bad_any = mask if bad_any is None else (bad_any | mask)
        if keys and all(k in part.columns for k in keys):
            dup = _values(part[keys].duplicated(keep=False), "bool")
            if bad_any is not None:
                dup = dup & ~bad_any
            n = int(dup.sum())
            if n:
                counts["violations"].append({"column": ", ".join(keys), "rule": "unique key", "count": n,
                                             "examples": _examples(part, dup, keys)})
        if stats is not _DEFER:  # Dask defers raising until every partition is checked
            _raise_violations(s, self.fatal(counts["violations"]))
        if casts:
            part = part.assign(**casts)
        if bad_any is not None:
            part = _positions(part, ~bad_any)
        counts["rows_out"] = len(part)
        return part, counts

    @staticmethod
    def _safe_cast(series: Any, target: str) -> tuple[Any, Any]:
        """Cast ``series`` to ``target``; the mask marks values the cast would change."""
        na = _isna(series)
        src = _kind(series.dtype)
        if src == "float" and _kind(target) == "int":  # NaN, inf, fractions and overflow change
            x = _values(series, "float64")
            xp = backend.array_namespace(x)
            finite = xp.where(xp.isfinite(x), x, 0.5)
            bad = (finite != xp.floor(finite)) | (xp.abs(finite) > 2.0 ** 63 - 1024)
            return (series, bad) if bool(bad.any()) else (series.astype(target), bad)
        try:
            cast = series.astype(target)
            orig = series if src != "category" else series.astype(series.cat.categories.dtype)
            back = cast.astype(orig.dtype)
            changed = ~(_values((back == orig).fillna(False), "bool") | (na & _isna(back)))
        except (TypeError, ValueError, OverflowError):
            return series, ~na
        return cast, changed


def _raise_violations(schema: Schema, violations: list[dict]) -> None:
    if not violations:
        return
    lines = [f"column {v['column']!r}: {v['count']} rows break rule '{v['rule']}' (schema {schema.name!r}); "
             f"keys: {v['examples'][:_N_EXAMPLES]}" for v in violations]
    raise DataValidationError("; ".join(lines), column=violations[0]["column"])


class _Coerce(_Step):
    name = "coerce_types"

    def __init__(self, schema: Schema, errors: str = "null", date_format: str | None = None, dayfirst: bool = False):
        if errors not in ("null", "raise"):
            raise ValueError(f"errors must be 'null' or 'raise', got {errors!r}")
        self.schema, self.errors, self.date_format, self.dayfirst = schema, errors, date_format, dayfirst

    def apply(self, part: Any, stats: Any = None) -> tuple[Any, dict]:
        lib = backend.frame_lib(part)
        counts = _new_counts(len(part))
        out = {}
        for col, rule in self.schema.columns.items():
            if col not in part.columns or _dtype_matches(part[col].dtype, rule.dtype):
                continue
            s = part[col]
            before = _isna(s)
            target = _target_dtype(rule.dtype)
            tkind = _kind(target)
            text = s.astype("str") if _kind(s.dtype) in ("string", "category") else None
            if tkind in ("int", "float") and text is not None:
                new = lib.to_numeric(text.str.strip().str.replace(",", "", regex=False), errors="coerce")
            elif tkind == "datetime":
                new = self._dates(s if text is None else text, lib)
            elif tkind == "bool" and text is not None:
                low = text.str.strip().str.lower()
                new = low.map({"true": True, "1": True, "yes": True, "y": True, "t": True,
                               "false": False, "0": False, "no": False, "n": False, "f": False})
            else:
                new = s.astype(target) if tkind != "int" else s.astype("float64")
            after = _isna(new)
            bad = after & ~before
            n_bad = int(bad.sum())
            if n_bad and self.errors == "raise":
                raise DataValidationError(
                    f"column {col!r}: {n_bad} values cannot be parsed as {target} (rule: coerce_types); "
                    f"examples: {_examples(part[[col]], bad, [col])}", column=col)
            if tkind == "int":
                integral = not bool(after.any()) and bool((new % 1 == 0).all())
                new = new.astype(target if integral else "float64")
            elif tkind == "float":
                new = new.astype(target)
            elif tkind == "bool" and bool(after.any()):
                new = new.astype("boolean") if not backend.is_gpu(part) else new
            elif tkind == "bool":
                new = new.astype("bool")
            out[col] = new
            _add(counts["values"], "coerced", int((~after).sum()))
            _add(counts["values"], "unparseable", n_bad)
            if n_bad:
                counts["violations"].append({"column": col, "rule": f"parse as {target}", "count": n_bad,
                                             "examples": _examples(part[[col]], bad, [col])})
        if out:
            part = part.assign(**out)
        return part, counts

    def _dates(self, s: Any, lib: Any) -> Any:
        if _kind(s.dtype) == "datetime":
            return s.astype("datetime64[ns]") if getattr(s.dtype, "tz", None) is None else \
                s.dt.tz_convert("UTC").dt.tz_localize(None).astype("datetime64[ns]")
        if self.date_format is not None:
            return lib.to_datetime(s, format=self.date_format, errors="coerce")
        first = lib.to_datetime(s, format="ISO8601", errors="coerce", utc=True)
        if backend.is_gpu(s):
            return first.dt.tz_localize(None) if getattr(first.dtype, "tz", None) else first
        retry = first.isna() & s.notna()
        if bool(retry.any()):
            second = pd.to_datetime(s[retry], format="mixed", dayfirst=self.dayfirst, errors="coerce", utc=True)
            first = first.where(~retry, second)
        return first.dt.tz_localize(None).astype("datetime64[ns]")


class _Dedupe(_Step):
    name = "drop_duplicates"
    keeps_order = True

    def __init__(self, keys: Sequence[str] | None, keep: str | bool, order_by: Sequence[str] | None) -> None:
        if keep not in ("first", "last", False):
            raise ValueError(f"keep must be 'first', 'last' or False, got {keep!r}")
        self.keys, self.keep, self.order_by = (list(keys) if keys else None), keep, as_list(order_by)
        self.colocate = list(self.keys) if self.keys else None  # exact duplicates: any column co-locates

    def check(self, frame: Any) -> None:
        _require(frame.columns, [*(self.keys or []), *self.order_by], "drop_duplicates")
        if self.colocate is None:
            self.colocate = [c for c in frame.columns if c != _ORDER]

    def apply(self, part: Any, stats: Any = None) -> tuple[Any, dict]:
        counts = _new_counts(len(part))
        subset = self.keys or [c for c in part.columns if c != _ORDER]
        sort_by = [*self.order_by, *([_ORDER] if _ORDER in part.columns else [])]
        if sort_by:
            # stable sort by order_by (cuDF's sort_values is stable too), decide, map back
            ordered = part[sort_by].reset_index(drop=True).sort_values(sort_by, kind="stable")
            perm = _values(ordered.index.to_series(), "int64")
            dup_sorted = _values(part[subset].iloc[perm].duplicated(keep=self.keep), "bool")
            xp = backend.array_namespace(dup_sorted)
            dup = xp.take(dup_sorted, xp.argsort(perm))
        else:
            dup = _values(part.duplicated(subset=subset, keep=self.keep), "bool")
        n = int(dup.sum())
        reason = "duplicate" if not self.keys else f"duplicate key ({', '.join(self.keys)})"
        _add(counts["dropped"], reason, n)
        if n:
            part = _positions(part, ~dup)
        counts["rows_out"] = len(part)
        return part, counts


class _Calendar(_Step):
    name = "complete_calendar"

    def __init__(self, id_cols, time_col, freq, start, end, fill, flag_col, static_cols):
        self.ids, self.time_col = as_list(id_cols), time_col
        try:
            self.step = pd.Timedelta(pd.tseries.frequencies.to_offset(freq).nanos, "ns")
        except (TypeError, ValueError):
            raise ValueError(f"freq must be a fixed duration such as 'D', 'h' or '7D', got {freq!r}") from None
        if self.step <= pd.Timedelta(0):
            raise ValueError(f"freq must be a positive fixed duration, got {freq!r}")
        self.start = None if start is None else pd.Timestamp(start)
        self.end = None if end is None else pd.Timestamp(end)
        self.fill, self.flag_col, self.static = dict(fill or {}), flag_col, as_list(static_cols)
        self.colocate = list(self.ids)

    def check(self, frame: Any) -> None:
        _require(frame.columns, [*self.ids, self.time_col, *self.fill, *self.static], "complete_calendar")
        if _kind(frame[self.time_col].dtype) != "datetime":
            raise DataValidationError(f"column {self.time_col!r}: dtype {frame[self.time_col].dtype} is not datetime "
                                      "(needed by complete_calendar)", column=self.time_col)
        if self.flag_col in frame.columns:
            raise DataValidationError(f"column {self.flag_col!r}: already present (flag_col of complete_calendar)",
                                      column=self.flag_col)

    def apply(self, part: Any, stats: Any = None) -> tuple[Any, dict]:
        lib = backend.frame_lib(part)
        ids, t = self.ids, self.time_col
        counts = _new_counts(len(part))
        _check_keys_not_null(part, [*ids, t], "complete_calendar")
        dup = _values(part.duplicated(subset=[*ids, t], keep=False), "bool")
        if int(dup.sum()):
            raise DataValidationError(
                f"column {t!r}: {int(dup.sum())} rows share (id_cols, {t}) (rule: unique time per series, needed by "
                f"complete_calendar); keys: {_examples(part, dup, [*ids, t])}; run drop_duplicates first", column=t)
        step = self.step.value
        if ids:
            g = part.groupby(ids, sort=True, observed=True)[t]
            first, last = g.min(), g.max()
            keys = first.index.to_frame(index=False)
        else:
            first = lib.Series([part[t].min()]) if len(part) else lib.Series([], dtype="datetime64[ns]")
            last = lib.Series([part[t].max()]) if len(part) else lib.Series([], dtype="datetime64[ns]")
            keys = lib.DataFrame(index=range(len(first)))
        f = _values(first.reset_index(drop=True), "int64")
        la = _values(last.reset_index(drop=True), "int64")
        xp = backend.array_namespace(f)
        if self.start is not None:
            f = xp.full_like(f, self.start.value) if f.shape[0] else f
        if self.end is not None:
            la = xp.full_like(la, self.end.value) if la.shape[0] else la
        size = xp.where(la >= f, (la - f) // step + 1, 0)
        total = int(xp.sum(size)) if size.shape[0] else 0
        series_of = xp.repeat(xp.arange(size.shape[0], dtype=xp.int64), size)
        offset = xp.cumulative_sum(size) - size
        k = xp.arange(total, dtype=xp.int64) - xp.take(offset, series_of)
        times = xp.take(f, series_of) + k * step
        cal = keys.iloc[series_of].reset_index(drop=True)
        cal[t] = lib.Series(times).astype("datetime64[ns]")
        for c in ids:
            if str(part[c].dtype) == "category":
                cal[c] = cal[c].astype(part[c].dtype)
        marker = "__cleanse_present"
        merged = cal.merge(part.assign(**{marker: True}), on=[*ids, t], how="outer", sort=True)
        inserted = _isna(merged[marker])
        merged = merged.drop(columns=[marker])
        n_ins = int(inserted.sum())
        flag = lib.Series(inserted, index=merged.index)
        for col, value in self.fill.items():
            if value is not None:
                merged[col] = merged[col].where(~flag, value)
        for col in self.static:
            firsts = merged.groupby(ids, sort=True, observed=True)[col].transform("first") if ids else merged[col].iloc[0]
            merged[col] = merged[col].where(~flag, firsts)
        merged[self.flag_col] = flag
        for col in part.columns:  # outer merge turns categoricals of differing categories into objects
            if str(part[col].dtype) == "category" and str(merged[col].dtype) != "category":
                merged[col] = merged[col].astype(part[col].dtype)
        _add(counts["inserted"], "calendar gap", n_ins)
        counts["rows_out"] = len(merged)
        return merged.reset_index(drop=True), counts


class _Fill(_Step):
    name = "fill_missing"
    _METHODS = ("ffill", "bfill", "linear", "median", "zero", "seasonal")

    def __init__(self, cols, method, id_cols, time_col, limit, period, indicator):
        if method not in self._METHODS:
            raise ValueError(f"method must be one of {self._METHODS}, got {method!r}")
        if limit is not None and (int(limit) != limit or limit < 1):
            raise ValueError(f"limit must be a positive integer, got {limit!r}")
        self.cols, self.method, self.ids, self.time_col = as_list(cols), method, as_list(id_cols), time_col
        self.limit, self.period, self.indicator = limit, int(period), indicator
        self.colocate = list(self.ids)

    def check(self, frame: Any) -> None:
        _require(frame.columns, [*self.cols, *self.ids, self.time_col], "fill_missing")
        _check_numeric(frame, self.cols, "fill_missing")

    def apply(self, part: Any, stats: Any = None) -> tuple[Any, dict]:
        counts = _new_counts(len(part))
        _check_keys_not_null(part, [*self.ids, self.time_col], "fill_missing")
        if self.method in ("median", "zero") and self.limit is None:
            return self._fill_constant(part, counts)
        perm, seg = _series_order(part, self.ids, self.time_col)
        xp = backend.array_namespace(perm)
        inv = xp.argsort(perm)
        if self.method == "seasonal":
            # same weekday: segments are (series, row position mod period) within the time-sorted series
            start, _ = _segment_bounds(seg)
            phase = (xp.arange(seg.shape[0], dtype=xp.int64) - start) % self.period
            sub = xp.argsort(seg * self.period + phase, stable=True)
            sub_seg = xp.take(seg * self.period + phase, sub)
        out = {}
        for col in self.cols:
            x = xp.take(_values(part[col], "float64"), perm)
            if self.method in ("ffill", "bfill", "linear"):
                new, filled = _fill_kernel(x, seg, self.method, self.limit)
            elif self.method == "seasonal":
                new_s, filled_s = _fill_kernel(xp.take(x, sub), sub_seg, "ffill", self.limit)
                back = xp.argsort(sub)
                new, filled = xp.take(new_s, back), xp.take(filled_s, back)
            else:
                value = xp.zeros_like(x) if self.method == "zero" else _per_row(x, _dense(seg), "median", part)
                new, filled = _fill_kernel(x, seg, "value", self.limit, value)
            out[col] = xp.take(new, inv)
            if self.indicator:
                out[f"{col}_filled"] = xp.take(filled, inv)
            _add(counts["values"], "filled", int(xp.sum(xp.astype(filled, xp.int64))))
        return part.assign(**out), counts

    def _fill_constant(self, part: Any, counts: dict) -> tuple[Any, dict]:
        """median/zero without a limit need no time order: no sort."""
        codes = _group_codes(part, self.ids) if self.method == "median" else None
        out = {}
        for col in self.cols:
            x = _values(part[col], "float64")
            xp = backend.array_namespace(x)
            value = xp.zeros_like(x) if codes is None else _per_row(x, codes, "median", part)
            filled = xp.isnan(x) & ~xp.isnan(value)
            out[col] = xp.where(filled, value, x)
            if self.indicator:
                out[f"{col}_filled"] = filled
            _add(counts["values"], "filled", int(xp.sum(xp.astype(filled, xp.int64))))
        return part.assign(**out), counts


def _dense(seg: Any) -> Any:
    """Contiguous segment ids renumbered 0..k-1 in order of appearance."""
    xp = backend.array_namespace(seg)
    if seg.shape[0] == 0:
        return seg
    new = xp.concat([xp.zeros(1, dtype=xp.int64), xp.astype(seg[1:] != seg[:-1], xp.int64)])
    return xp.cumulative_sum(new)


_DEFAULT_THRESHOLD = {"iqr": 1.5, "zscore": 3.0, "mad": 3.5, "hampel": 3.0}


class _Outliers(_Step):
    def __init__(self, cols, method, id_cols, time_col, threshold, window, action, suffix):
        if method not in _DEFAULT_THRESHOLD:
            raise ValueError(f"method must be one of {tuple(_DEFAULT_THRESHOLD)}, got {method!r}")
        if method == "hampel" and (int(window) != window or window < 3 or window % 2 == 0):
            raise ValueError(f"window must be an odd integer >= 3, got {window!r}")
        self.cols, self.method, self.ids = as_list(cols), method, as_list(id_cols)
        self.time_col = time_col if method == "hampel" else None
        self.threshold = _DEFAULT_THRESHOLD[method] if threshold is None else float(threshold)
        self.window, self.action, self.suffix = int(window), action, suffix
        self.name = f"{action}_outliers"
        if self.ids or method == "hampel":
            self.colocate = list(self.ids)
            self.global_cols = []
        else:
            self.colocate = None
            self.global_cols = list(self.cols)

    def check(self, frame: Any) -> None:
        _require(frame.columns, [*self.cols, *self.ids, *([self.time_col] if self.time_col else [])],
                 self.name)
        _check_numeric(frame, self.cols, self.name)

    def _bounds(self, x: Any, codes: Any, frame_like: Any) -> tuple[Any, Any]:
        """Per-row (lower, upper) bounds of ``x`` grouped by ``codes`` (0..k-1)."""
        xp = backend.array_namespace(x)
        t = self.threshold
        if self.method == "iqr":
            q1, q3 = _per_row(x, codes, "quantile", frame_like, 0.25), _per_row(x, codes, "quantile", frame_like, 0.75)
            return q1 - t * (q3 - q1), q3 + t * (q3 - q1)
        if self.method == "zscore":
            mean, std = _per_row(x, codes, "mean", frame_like), _per_row(x, codes, "std", frame_like)
            return mean - t * std, mean + t * std
        med = _per_row(x, codes, "median", frame_like)
        mad = _per_row(xp.abs(x - med), codes, "median", frame_like)
        return med - t * _MAD_SCALE * mad, med + t * _MAD_SCALE * mad

    def fit(self, frame: Any) -> dict:
        out = {}
        for col in self.cols:
            x = _values(frame[col], "float64")
            xp = backend.array_namespace(x)
            lo, hi = self._bounds(x, xp.zeros(x.shape[0], dtype=xp.int64), frame)
            out[col] = (float(lo[0]) if x.shape[0] else math.nan, float(hi[0]) if x.shape[0] else math.nan)
        return out

    def apply(self, part: Any, stats: Any = None) -> tuple[Any, dict]:
        counts = _new_counts(len(part))
        _check_keys_not_null(part, [*self.ids, *([self.time_col] if self.time_col else [])], self.name)
        xp = _xp(part)
        if self.method == "hampel":  # windows need rows sorted by series and time
            perm, seg = _series_order(part, self.ids, self.time_col)
            inv = xp.argsort(perm)
        else:  # per-group statistics need no order
            codes = _group_codes(part, self.ids) if stats is None else None
        out = {}
        for col in self.cols:
            x = _values(part[col], "float64")
            x = xp.take(x, perm) if self.method == "hampel" else x
            if stats is not None:
                lo = xp.full(x.shape[0], stats[col][0], dtype=xp.float64)
                hi = xp.full(x.shape[0], stats[col][1], dtype=xp.float64)
            elif self.method == "hampel":
                med, mad = _window_median(x, seg, self.window // 2)
                lo = med - self.threshold * _MAD_SCALE * mad
                hi = med + self.threshold * _MAD_SCALE * mad
            else:
                lo, hi = self._bounds(x, codes, part)
            outside = (x < lo) | (x > hi)  # False for NaN values and NaN bounds
            n = int(xp.sum(xp.astype(outside, xp.int64)))
            if self.action == "flag":
                new = outside
                _add(counts["values"], "flagged", n)
            else:
                new = xp.where(x < lo, lo, xp.where(x > hi, hi, x))
                _add(counts["values"], "clipped", n)
            out[col if self.action == "clip" else f"{col}{self.suffix}"] = \
                xp.take(new, inv) if self.method == "hampel" else new
        return part.assign(**out), counts


class _Key:
    """An HMAC-SHA256 key that never shows itself: ``repr`` and ``str`` are ``Key(***)``.

    HMAC(K, m) = H((K ^ opad) || H((K ^ ipad) || m)) (RFC 2104). The two padded-key states are
    hashed once here and copied per message, which is about 3x faster than :func:`hmac.digest`
    re-deriving them for each of millions of values; tests check equality with :mod:`hmac`.
    """

    __slots__ = ("_secret", "_inner", "_outer")

    def __init__(self, key: bytes | str) -> None:
        raw = key.encode("utf-8") if isinstance(key, str) else bytes(key)
        if len(raw) < 16:
            raise ValueError("pseudonymize needs a key of at least 16 bytes (32 random bytes recommended); "
                             f"got {len(raw)} bytes")
        block = raw if len(raw) <= 64 else hashlib.sha256(raw).digest()
        block = block.ljust(64, b"\0")
        self._secret = raw
        self._inner = hashlib.sha256(bytes(b ^ 0x36 for b in block))
        self._outer = hashlib.sha256(bytes(b ^ 0x5C for b in block))

    def hexdigests(self, texts: Sequence[str]) -> list[str]:
        """HMAC-SHA256 hex digest of each text (UTF-8)."""
        out = []
        for text in texts:
            inner = self._inner.copy()
            inner.update(text.encode("utf-8"))
            outer = self._outer.copy()
            outer.update(inner.digest())
            out.append(outer.hexdigest())
        return out

    def __repr__(self) -> str:
        return "Key(***)"

    __str__ = __repr__

    def __reduce__(self):  # pickled for Dask workers without appearing in any repr
        return (_Key, (self._secret,))


class _Pseudonymize(_Step):
    name = "pseudonymize"

    def __init__(self, cols: Sequence[str], key: Any) -> None:
        self.cols = as_list(cols)
        self.key = key if isinstance(key, _Key) else _Key(key)

    def __repr__(self) -> str:
        return f"_Pseudonymize(cols={self.cols!r}, key={self.key!r})"

    def check(self, frame: Any) -> None:
        _require(frame.columns, self.cols, "pseudonymize")

    def apply(self, part: Any, stats: Any = None) -> tuple[Any, dict]:
        counts = _new_counts(len(part))
        out = {}
        for col in self.cols:
            s = part[col]
            host = backend.to_host(s)
            codes, uniques = pd.factorize(host, use_na_sentinel=True)
            texts = uniques.tolist() if _kind(uniques.dtype) == "string" else [str(u) for u in uniques]
            hashed = pd.Categorical.from_codes(codes, categories=self.key.hexdigests(texts))  # -1: missing
            new = pd.Series(hashed, index=host.index, name=col)
            out[col] = backend.frame_lib(part).from_pandas(new) if backend.is_gpu(part) else new
            _add(counts["values"], "pseudonymized", int((codes >= 0).sum()))
        return part.assign(**out), counts


class _Custom(_Step):
    def __init__(self, func: Callable[[Any], Any], name: str | None = None) -> None:
        self.func, self.name = func, name or getattr(func, "__name__", "custom")

    def apply(self, part: Any, stats: Any = None) -> tuple[Any, dict]:
        counts = _new_counts(len(part))
        out = self.func(part)
        diff = len(part) - len(out)
        _add(counts["dropped" if diff > 0 else "inserted"], self.name, abs(diff))
        counts["rows_out"] = len(out)
        return out, counts


# --------------------------------------------------------------------------------------------
# Running steps: in memory, or on Dask partitions with the counts in the same graph
# --------------------------------------------------------------------------------------------


def _run(df: Any, steps: Sequence[_Step], report: CleanReport | None) -> Any:
    """Apply ``steps`` to ``df``; record their counts in ``report`` (pending on Dask)."""
    if backend.is_dask(df):
        parts, meta, counts = _run_dask(df, steps)
        if report is not None:
            for step, c in zip(steps, counts):
                report._record(step.name, c)
        return _from_parts(parts, meta)
    for step in steps:
        step.check(df)
        df, c = step.apply(df)
        if report is not None:
            report._record(step.name, c)
    return df


def _with_order(part: Any, number: int) -> Any:
    n = len(part)
    return part.assign(**{_ORDER: np.arange(n, dtype=np.int64) + (np.int64(number) << np.int64(40))}) \
        if not backend.is_gpu(part) else part.assign(**{_ORDER: backend.frame_lib(part).Series(
            np.arange(n, dtype=np.int64) + (number << 40), index=part.index)})


def _layout_ok(layout: list[str] | None, need: list[str] | None) -> bool:
    if need is None:
        return True
    if layout is None:
        return False
    return set(layout) <= set(need)  # [] (one partition) holds everything together


def _select(part: Any, cols: list[str]) -> Any:
    return part[cols]


def _fit_concat(step: _Step, pieces: list) -> Any:
    return step.fit(backend.frame_lib(pieces[0]).concat(pieces))


def _drop_order(part: Any) -> Any:
    return part.drop(columns=[_ORDER])


def _from_parts(parts: list, meta: Any) -> Any:
    import dask.dataframe as dd

    return dd.from_delayed(parts, meta=meta, verify_meta=False)


def _run_dask(ddf: Any, steps: Sequence[_Step]) -> tuple[list, Any, list]:
    """Dask: the steps as Delayed tasks per partition; shuffles where a step needs co-location.

    Returns the output partitions (Delayed), their meta and one Delayed counts dict per step,
    all in one graph, so that persisting partitions and counts together reads the data once.
    """
    import dask
    import dask.dataframe as dd

    meta = ddf._meta
    layout: list[str] | None = None
    first_need = next((s for s in steps if s.colocate is not None), None)
    if first_need is not None and first_need.colocate and first_need.time_col and is_partitioned_by_series(
            ddf, first_need.colocate, first_need.time_col):
        layout = list(first_need.colocate)
    frame = ddf
    parts = None
    if any(s.keeps_order for s in steps):
        parts = [dask.delayed(_with_order)(p, i) for i, p in enumerate(ddf.to_delayed())]
        meta = _with_order(meta, 0)
    counts = []
    for step in steps:
        step.check(meta)
        need = step.colocate
        if not _layout_ok(layout, need):
            if parts is not None:
                frame = dd.from_delayed(parts, meta=meta, verify_meta=False)
            if not need:
                frame = frame.repartition(npartitions=1)
            elif step.time_col is not None:
                frame = partition_by_series(frame, need, step.time_col)
            else:
                frame = frame.shuffle(on=need)
            layout = list(need)
            parts = None
        if parts is None:
            parts = frame.to_delayed()
        stats, meta_stats = None, None
        if step.global_cols:
            pieces = [dask.delayed(_select)(p, list(step.global_cols)) for p in parts]
            stats = dask.delayed(_fit_concat)(step, pieces)
            meta_stats = {c: (math.nan, math.nan) for c in step.global_cols}
        if isinstance(step, _Validate):
            stats = meta_stats = _DEFER
        outs = [dask.delayed(step.apply, nout=2)(p, stats) for p in parts]
        parts = [o[0] for o in outs]
        counts.append(dask.delayed(_merge_counts)([o[1] for o in outs]))
        meta = step.apply(meta, meta_stats)[0]
    if parts is None:
        parts = frame.to_delayed()
    if _ORDER in meta.columns:
        parts = [dask.delayed(_drop_order)(p) for p in parts]
        meta = meta.drop(columns=[_ORDER])
    return parts, meta, counts


# --------------------------------------------------------------------------------------------
# Public transforms
# --------------------------------------------------------------------------------------------


def validate(df: Any, schema: Schema | str, errors: str = "raise", report: CleanReport | None = None) -> Any:
    """Check ``df`` against ``schema``; raise, drop or null what breaks it.

    Parameters
    ----------
    df : pandas, cudf or dask DataFrame
    schema : Schema or str
        A :class:`Schema`, or the name of a shipped one (``"orders"``, see :data:`SCHEMAS`).
    errors : {"raise", "drop", "null"}, default "raise"
        What to do with rows breaking a value rule (not null, finite, min, max): raise
        :class:`~toolkit.errors.DataValidationError`; drop them (counted per column and rule,
        each row under the first rule it breaks); or set the offending values to missing
        (int columns become float64) for :func:`fill_missing`. Missing columns, wrong dtypes
        without a safe cast and duplicated keys always raise.
    report : CleanReport, optional
        Receives the step's counts.

    Returns
    -------
    frame
        ``df`` with safe casts applied (columns whose schema allows ``coerce``).

    Raises
    ------
    DataValidationError
        Names the column, the rule, the number of offending rows and a few offending keys
        (values of ``schema.unique``), before any other work. On Dask the value checks are
        computed first (one pass), then the lazy result is returned.

    Examples
    --------
    >>> import pandas as pd
    >>> from toolkit.cleanse import validate, Schema, Column
    >>> schema = Schema("t", {"qty": Column("int", min=0)})
    >>> validate(pd.DataFrame({"qty": [1, -2]}), schema)
    Traceback (most recent call last):
    ...
    toolkit.errors.DataValidationError: column 'qty': 1 rows break rule '>= 0' (schema 't'); keys: ['row 1']
    """
    step = _Validate(SCHEMAS[schema] if isinstance(schema, str) else schema, errors)
    if backend.is_dask(df):
        import dask

        parts, meta, counts = _run_dask(df, [step])
        (done,) = dask.compute(counts[0])
        _raise_violations(step.schema, step.fatal(done["violations"]))
        if report is not None:
            report._record(step.name, done)
        return _from_parts(parts, meta)
    return _run(df, [step], report)


def coerce_types(df: Any, schema: Schema | str, errors: str = "null", date_format: str | None = None,
                 dayfirst: bool = False, report: CleanReport | None = None) -> Any:
    """Parse columns into the schema's dtypes: numbers from strings, dates, categories, booleans.

    Parameters
    ----------
    df : pandas, cudf or dask DataFrame
    schema : Schema or str
        Target dtypes; columns absent from ``df`` or already of the right kind are left alone.
    errors : {"null", "raise"}, default "null"
        Values that cannot be parsed become missing and are counted (``unparseable``) in the
        report with a few examples; ``"raise"`` raises :class:`DataValidationError` instead.
        Rows are never dropped here.
    date_format : str, optional
        An explicit ``strftime`` format. Without it ISO 8601 is tried first, then pandas'
        per-element ``format="mixed"`` parser for what ISO 8601 could not read (host only;
        cuDF reads ISO 8601). Time-zone-aware values are converted to naive UTC.
    dayfirst : bool, default False
        For the mixed parser: read ``01/02/2024`` as 1 February.
    report : CleanReport, optional

    Returns
    -------
    frame
        Numeric strings (whitespace stripped, commas read as thousands separators) become float64
        or int64 (int64 only when every value parsed and is integral).

    Examples
    --------
    >>> import pandas as pd
    >>> from toolkit.cleanse import coerce_types, Schema, Column
    >>> out = coerce_types(pd.DataFrame({"q": ["1", " 2", "x"]}), Schema("t", {"q": Column("float")}))
    >>> out["q"].tolist()
    [1.0, 2.0, nan]
    """
    return _run(df, [_Coerce(SCHEMAS[schema] if isinstance(schema, str) else schema, errors, date_format, dayfirst)],
                report)


def drop_duplicates(df: Any, keys: str | Sequence[str] | None = None, keep: str | bool = "last",
                    order_by: str | Sequence[str] | None = None, report: CleanReport | None = None) -> Any:
    """Drop exact duplicates (``keys=None``) or rows sharing ``keys``.

    Parameters
    ----------
    df : pandas, cudf or dask DataFrame
    keys : str or list of str, optional
        Columns identifying a record; ``None`` compares all columns.
    keep : {"last", "first", False}, default "last"
        Which of the duplicates survives, in the order of ``order_by`` (ties and ``order_by=None``:
        the input order); ``False`` drops them all.
    order_by : str or list of str, optional
        e.g. an update timestamp, so that ``keep="last"`` keeps the latest version.
    report : CleanReport, optional

    Returns
    -------
    frame
        The surviving rows in input order (Dask: grouped by key after a shuffle).

    Examples
    --------
    >>> import pandas as pd
    >>> from toolkit.cleanse import drop_duplicates
    >>> df = pd.DataFrame({"id": [1, 1, 2], "v": [3, 1, 5], "ts": [2, 1, 1]})
    >>> drop_duplicates(df, keys="id", order_by="ts")["v"].tolist()
    [3, 5]
    """
    return _run(df, [_Dedupe(as_list(keys), keep, order_by)], report)


def complete_calendar(df: Any, id_cols: str | Sequence[str] | None = DEFAULT_ID_COLS, time_col: str = "date",
                      freq: str = "D", start: Any = None, end: Any = None, fill: Mapping[str, Any] | None = None,
                      flag_col: str = "inserted", static_cols: str | Sequence[str] | None = None,
                      report: CleanReport | None = None) -> Any:
    """Reindex every series to a regular calendar, flagging the inserted rows.

    Parameters
    ----------
    df : pandas, cudf or dask DataFrame
        Long panel with unique ``(id_cols, time_col)``.
    id_cols : str or list of str, default ("sku", "location")
        Series keys; ``None`` treats the frame as one series.
    time_col : str, default "date"
    freq : str, default "D"
        A fixed step (``"D"``, ``"h"``, ``"15min"``, ``"7D"``); the grid is anchored at each
        series' first time (or ``start``).
    start, end : timestamp-like, optional
        One range for every series instead of each series' own first and last time. Rows off
        the grid or outside the range are kept, never dropped.
    fill : dict, optional
        Values for inserted rows, e.g. ``{"units": 0}``; other columns are missing there.
    flag_col : str, default "inserted"
        Boolean column, True on inserted rows.
    static_cols : str or list of str, optional
        Columns constant within a series (e.g. ``"channel"``) copied into inserted rows.
    report : CleanReport, optional

    Returns
    -------
    frame
        Sorted by ``id_cols + [time_col]``.

    Raises
    ------
    DataValidationError
        Missing columns, a non-datetime ``time_col``, missing keys, or duplicated (series, time).

    Examples
    --------
    >>> import pandas as pd
    >>> from toolkit.cleanse import complete_calendar
    >>> df = pd.DataFrame({"sku": "a", "date": pd.to_datetime(["2024-01-01", "2024-01-03"]), "units": [1.0, 3.0]})
    >>> complete_calendar(df, id_cols="sku")["inserted"].tolist()
    [False, True, False]
    """
    return _run(df, [_Calendar(id_cols, time_col, freq, start, end, fill, flag_col, static_cols)], report)


def fill_missing(df: Any, cols: str | Sequence[str] = "units", method: str = "ffill",
                 id_cols: str | Sequence[str] | None = DEFAULT_ID_COLS, time_col: str = "date",
                 limit: int | None = None, period: int = 7, indicator: bool = False,
                 report: CleanReport | None = None) -> Any:
    """Fill missing values within each series, never across series.

    Parameters
    ----------
    df : pandas, cudf or dask DataFrame
    cols : str or list of str, default "units"
        Numeric columns to fill (the default is the common ``target_col``); results are float64.
    method : {"ffill", "bfill", "linear", "median", "zero", "seasonal"}
        ``linear`` interpolates between the neighbouring values of the series (inside gaps only);
        ``median`` uses the series median; ``seasonal`` the same weekday of the latest earlier
        week with a value (``period`` rows back on a regular calendar).
    id_cols : str or list of str, default ("sku", "location")
        ``None``: the frame is one series.
    time_col : str, default "date"
        Rows are ordered by it within a series.
    limit : int, optional
        Fill at most this many consecutive missing values per gap (weeks for ``seasonal``).
    period : int, default 7
        Season length in rows for ``seasonal``.
    indicator : bool, default False
        Add ``<col>_filled`` boolean columns.
    report : CleanReport, optional

    Returns
    -------
    frame
        Same rows, same order.

    Examples
    --------
    >>> import pandas as pd
    >>> from toolkit.cleanse import fill_missing
    >>> df = pd.DataFrame({"sku": ["a", "a", "a", "b"], "date": pd.to_datetime(["2024-01-01", "2024-01-02",
    ...                    "2024-01-03", "2024-01-01"]), "units": [1.0, None, 3.0, None]})
    >>> fill_missing(df, method="linear", id_cols="sku")["units"].tolist()
    [1.0, 2.0, 3.0, nan]
    """
    return _run(df, [_Fill(cols, method, id_cols, time_col, limit, period, indicator)], report)


def flag_outliers(df: Any, cols: str | Sequence[str] = "units", method: str = "iqr",
                  id_cols: str | Sequence[str] | None = None, time_col: str = "date", threshold: float | None = None,
                  window: int = 7, suffix: str = "_outlier", report: CleanReport | None = None) -> Any:
    """Add a boolean ``<col><suffix>`` column marking outliers.

    Parameters
    ----------
    df : pandas, cudf or dask DataFrame
    cols : str or list of str, default "units"
    method : {"iqr", "zscore", "mad", "hampel"}
        Bounds as in the module notes; ``hampel`` is a centred rolling window per series.
    id_cols : str or list of str, optional
        Statistics per series; ``None``: over the whole column (``hampel``: one series).
    time_col : str, default "date"
        Orders rows within a series (``hampel`` only).
    threshold : float, optional
        k for IQR (1.5), t for z-score (3), MAD (3.5) and Hampel (3).
    window : int, default 7
        Odd Hampel window length in rows.
    suffix : str, default "_outlier"
    report : CleanReport, optional

    Returns
    -------
    frame

    Examples
    --------
    >>> import pandas as pd
    >>> from toolkit.cleanse import flag_outliers
    >>> flag_outliers(pd.DataFrame({"units": [1.0, 2, 3, 2, 50]}))["units_outlier"].tolist()
    [False, False, False, False, True]
    """
    return _run(df, [_Outliers(cols, method, id_cols, time_col, threshold, window, "flag", suffix)], report)


def clip_outliers(df: Any, cols: str | Sequence[str] = "units", method: str = "iqr",
                  id_cols: str | Sequence[str] | None = None, time_col: str = "date", threshold: float | None = None,
                  window: int = 7, report: CleanReport | None = None) -> Any:
    """Cap values outside the outlier bounds to the bounds (counted as ``clipped``).

    Parameters are those of :func:`flag_outliers`; clipped columns are float64.

    Returns
    -------
    frame

    Examples
    --------
    >>> import pandas as pd
    >>> from toolkit.cleanse import clip_outliers
    >>> clip_outliers(pd.DataFrame({"units": [1.0, 2, 3, 2, 50]}))["units"].tolist()
    [1.0, 2.0, 3.0, 2.0, 4.5]
    """
    return _run(df, [_Outliers(cols, method, id_cols, time_col, threshold, window, "clip", "")], report)


class Scaler:
    """Scale columns globally or per series, and map results back (``inverse_transform``).

    Parameters
    ----------
    cols : str or list of str
    method : {"standard", "minmax", "robust", "log1p"}
        ``(x - mean) / std`` (population std), ``(x - min) / (max - min)``,
        ``(x - median) / (q75 - q25)`` (as scikit-learn's scalers), or ``log1p(x)``.
        A zero spread is replaced by 1.
    id_cols : str or list of str, optional
        Statistics per series; ``None``: global.

    Attributes
    ----------
    stats_ : frame
        One row per series (or one row): ``id_cols`` then ``<col>_center`` and ``<col>_scale``.
        On Dask input it is computed when fitting (a pandas/cudf frame).

    Examples
    --------
    >>> import pandas as pd
    >>> from toolkit.cleanse import Scaler
    >>> df = pd.DataFrame({"sku": ["a", "a", "b", "b"], "units": [1.0, 3.0, 10.0, 30.0]})
    >>> sc = Scaler("units", "minmax", id_cols="sku").fit(df)
    >>> sc.transform(df)["units"].tolist()
    [0.0, 1.0, 0.0, 1.0]
    >>> sc.inverse_transform(sc.transform(df))["units"].tolist()
    [1.0, 3.0, 10.0, 30.0]
    """

    _METHODS = ("standard", "minmax", "robust", "log1p")

    def __init__(self, cols: str | Sequence[str] = "units", method: str = "standard",
                 id_cols: str | Sequence[str] | None = None) -> None:
        self.cols = cols
        self.method = method
        self.id_cols = id_cols

    def get_params(self, deep: bool = True) -> dict:
        return {"cols": self.cols, "method": self.method, "id_cols": self.id_cols}

    def set_params(self, **params: Any) -> "Scaler":
        for k, v in params.items():
            if k not in self.get_params():
                raise ValueError(f"invalid parameter {k!r} for Scaler")
            setattr(self, k, v)
        return self

    def __repr__(self) -> str:
        return f"Scaler(cols={self.cols!r}, method={self.method!r}, id_cols={self.id_cols!r})"

    def _check(self, df: Any, cols: Sequence[str]) -> None:
        if self.method not in self._METHODS:
            raise ValueError(f"method must be one of {self._METHODS}, got {self.method!r}")
        _require(df.columns, [*cols, *as_list(self.id_cols)], "Scaler")
        _check_numeric(df._meta if backend.is_dask(df) else df, cols, "Scaler")

    def _stats(self, part: Any) -> Any:
        cols, ids = as_list(self.cols), as_list(self.id_cols)
        lib = backend.frame_lib(part)
        frame = part[[*ids, *cols]]
        if ids:
            g = frame.groupby(ids, sort=True, observed=True)
        else:
            g = frame.assign(__all=0).groupby("__all")
        out = {}
        for c in cols:
            if self.method == "standard":
                center, spread = g[c].mean(), g[c].std(ddof=0)
            elif self.method == "minmax":
                center = g[c].min()
                spread = g[c].max() - center
            elif self.method == "robust":
                center = g[c].median()
                spread = g[c].quantile(0.75) - g[c].quantile(0.25)
            else:
                center = g[c].min() * 0.0
                spread = center + 1.0
            out[f"{c}_center"] = center.astype("float64")
            out[f"{c}_scale"] = spread.astype("float64").where(spread != 0, 1.0)
        stats = lib.DataFrame(out)
        return stats.reset_index() if ids else stats.reset_index(drop=True)

    def fit(self, df: Any, y: Any = None) -> "Scaler":
        """Compute the statistics of ``df`` (per series when ``id_cols``).

        Returns
        -------
        self
        """
        cols, ids = as_list(self.cols), as_list(self.id_cols)
        self._check(df, cols)
        if backend.is_dask(df):
            import dask

            if ids:
                frame = df[[*ids, *cols]].shuffle(on=ids)  # each series whole in one partition
                pieces = dask.compute(*[dask.delayed(self._stats)(p) for p in frame.to_delayed()])
                stats = backend.frame_lib(df).concat(list(pieces), ignore_index=True)
            else:
                (whole,) = dask.compute(df[cols].repartition(npartitions=1))
                stats = self._stats(whole)
        else:
            stats = self._stats(df)
        self.stats_ = stats
        self.n_features_in_ = len(cols)
        return self

    def _apply(self, df: Any, mapping: Mapping[str, str], inverse: bool) -> Any:
        if not hasattr(self, "stats_"):
            raise ValueError("this Scaler is not fitted yet; call fit first")
        ids = as_list(self.id_cols)
        _require(df.columns, [*mapping.values(), *ids], "Scaler")
        if backend.is_dask(df):
            stats = self.stats_
            meta = df._meta.assign(**{c: df._meta[c].astype("float64") for c in mapping.values()})
            return df.map_partitions(lambda p: self._apply_part(p, stats, mapping, inverse), meta=meta)
        return self._apply_part(df, self.stats_, mapping, inverse)

    def _apply_part(self, part: Any, stats: Any, mapping: Mapping[str, str], inverse: bool) -> Any:
        ids = as_list(self.id_cols)
        if ids:
            keys = part[ids].reset_index(drop=True)
            aligned = keys.merge(stats.assign(__seen=True), on=ids, how="left", sort=False)
            # left merge on unique right keys keeps the left order in pandas; cudf does not promise it
            if backend.is_gpu(part):
                aligned = keys.assign(__pos=np.arange(len(keys))).merge(
                    stats.assign(__seen=True), on=ids, how="left").sort_values("__pos")
            unseen = _isna(aligned["__seen"])
            if int(unseen.sum()):
                raise DataValidationError(
                    f"column {ids[0]!r}: {int(unseen.sum())} rows belong to series the Scaler was not fitted on; "
                    f"keys: {_examples(part, unseen, ids)}", column=ids[0])
        else:
            aligned = stats.iloc[[0] * len(part)].reset_index(drop=True) if len(stats) else stats
        out = {}
        for src, dst in mapping.items():
            x = _values(part[dst], "float64")
            xp = backend.array_namespace(x)
            center, spread = _values(aligned[f"{src}_center"], "float64"), _values(aligned[f"{src}_scale"], "float64")
            if self.method == "log1p":
                out[dst] = xp.expm1(x) if inverse else xp.log1p(x)
            else:
                out[dst] = x * spread + center if inverse else (x - center) / spread
        return part.assign(**out)

    def transform(self, df: Any) -> Any:
        """Scale the fitted columns of ``df`` (float64)."""
        return self._apply(df, {c: c for c in as_list(self.cols)}, inverse=False)

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
        return self._apply(df, dict(cols) if cols else {c: c for c in as_list(self.cols)}, inverse=True)

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


def pseudonymize(df: Any, cols: str | Sequence[str], key: bytes | str, report: CleanReport | None = None) -> Any:
    """Replace PII values with their keyed HMAC-SHA256 (hex digest).

    Deterministic for one key (joins across tables still work), irreversible without it.
    Missing values stay missing. Returned columns are categorical (one pseudonym per distinct
    value is stored).

    Parameters
    ----------
    df : pandas, cudf or dask DataFrame
    cols : str or list of str
        e.g. ``["customer_id", "email", "phone"]``.
    key : bytes or str
        Secret of at least 16 bytes (UTF-8 for str); never stored in outputs or reprs.
    report : CleanReport, optional

    Raises
    ------
    ValueError
        When the key is empty or shorter than 16 bytes.

    Examples
    --------
    >>> import pandas as pd, hmac
    >>> from toolkit.cleanse import pseudonymize
    >>> out = pseudonymize(pd.DataFrame({"email": ["a@x.org"]}), "email", key=b"0123456789abcdef")
    >>> out["email"][0] == hmac.new(b"0123456789abcdef", b"a@x.org", "sha256").hexdigest()
    True
    """
    return _run(df, [_Pseudonymize(cols, key)], report)


def _convert_channel(part: Any, channel: str, spec: Mapping[str, Any], tz: str, channel_col: str) -> Any:
    rename = dict(spec.get("rename", {}))
    part = part.rename(columns=rename)
    out = {}
    for col, factor in {**spec.get("units", {}), **spec.get("currency", {})}.items():
        out[col] = part[col].astype("float64") * float(factor)
    source_tz = spec.get("timezone")
    for col in spec.get("time_cols", [c for c in part.columns if _kind(part[c].dtype) == "datetime"]):
        s = part[col]
        if getattr(s.dtype, "tz", None) is None:
            s = s.dt.tz_localize(source_tz or "UTC", ambiguous=False, nonexistent="shift_forward")
        out[col] = s.dt.tz_convert(tz).dt.tz_localize(None).astype("datetime64[ns]")
    return part.assign(**out, **{channel_col: spec.get("channel", channel)})


class _Integrate(_Step):
    """Concatenated sources -> categorical columns restored, records seen by two systems dropped."""

    name = "integrate_channels"

    def __init__(self, keys: list[str], categorical: set[str]):
        self.keys, self.categorical = keys, categorical
        self.colocate = list(keys) if keys else None

    def apply(self, part: Any, stats: Any = None) -> tuple[Any, dict]:
        counts = _new_counts(len(part))
        part = part.assign(**{c: part[c].astype("category") for c in self.categorical if c in part.columns})
        if self.keys:
            g = part.groupby(self.keys, sort=False, observed=True, dropna=False)[_SOURCE]
            drop = _values(part[_SOURCE] > g.transform("min"), "bool")
            _add(counts["dropped"], f"seen in two systems ({', '.join(self.keys)})", int(drop.sum()))
            part = _positions(part, ~drop)
        part = part.drop(columns=[_SOURCE])
        counts["rows_out"] = len(part)
        return part, counts


def integrate_channels(frames: Mapping[str, Any], mapping: Mapping[str, Mapping[str, Any]] | None = None,
                       tz: str = "UTC", dedupe_on: str | Sequence[str] | None = "order_id",
                       channel_col: str = "channel", report: CleanReport | None = None) -> Any:
    """Bring several channels' data onto one schema with a ``channel`` column.

    Parameters
    ----------
    frames : dict of str -> frame
        One frame per source system (``"web"``, ``"app"``, ``"marketplace"``, ``"stores"``...),
        all pandas, all cudf or all Dask. Their order is the priority when de-duplicating.
    mapping : dict of str -> dict, optional
        Per source: ``rename`` ({source column: target column}), ``units`` ({column: factor},
        e.g. packs -> units), ``currency`` ({column: rate to the target currency}),
        ``timezone`` (IANA zone of naive local timestamps; None: already UTC),
        ``time_cols`` (default: every datetime column after renaming) and ``channel`` (the
        label; default the source name).
    tz : str, default "UTC"
        Zone every timestamp is converted to; results are naive in that zone. Ambiguous local
        times (DST fall-back) read as standard time, nonexistent ones shift forward.
    dedupe_on : str or list of str, optional
        Keys of a record seen by two systems (e.g. a marketplace order also in the web shop's
        database): only the copy from the first source in ``frames`` is kept, counted as
        "seen in two systems". Duplicates within one source are left to :func:`drop_duplicates`.
    channel_col : str, default "channel"
    report : CleanReport, optional

    Returns
    -------
    frame
        The union of the renamed columns (missing where a source lacks one); columns that are
        categorical in a source are categorical in the result.

    Examples
    --------
    >>> import pandas as pd
    >>> from toolkit.cleanse import integrate_channels
    >>> web = pd.DataFrame({"order_id": [1, 2], "qty": [1, 2]})
    >>> shop = pd.DataFrame({"id": [3, 2], "packs": [1, 1]})
    >>> out = integrate_channels({"web": web, "store": shop},
    ...                          {"web": {"rename": {"qty": "quantity"}},
    ...                           "store": {"rename": {"id": "order_id", "packs": "quantity"}, "units": {"quantity": 6}}})
    >>> out.sort_values("order_id")[["order_id", "quantity", "channel"]].values.tolist()
    [[1, 1.0, 'web'], [2, 2.0, 'web'], [3, 6.0, 'store']]
    """
    if not frames:
        raise ValueError("integrate_channels needs at least one frame")
    mapping = dict(mapping or {})
    unknown = [k for k in mapping if k not in frames]
    if unknown:
        raise ValueError(f"mapping names source {unknown[0]!r} that is not in frames {list(frames)}")
    keys = as_list(dedupe_on)
    converted = []
    for rank, (name, frame) in enumerate(frames.items()):
        spec = mapping.get(name, {})
        meta = frame._meta if backend.is_dask(frame) else frame
        _require(meta.columns, [*spec.get("rename", {})], f"integrate_channels[{name}]")
        renamed = meta.rename(columns=dict(spec.get("rename", {})))
        _require(renamed.columns, [*spec.get("units", {}), *spec.get("currency", {}), *spec.get("time_cols", []),
                                   *keys], f"integrate_channels[{name}]")
        if backend.is_dask(frame):
            out = frame.map_partitions(_convert_channel, name, spec, tz, channel_col,
                                       meta=_convert_channel(meta, name, spec, tz, channel_col))
        else:
            out = _convert_channel(frame, name, spec, tz, channel_col)
        converted.append(out.assign(**{_SOURCE: rank}))
    metas = [f._meta if backend.is_dask(f) else f for f in converted]
    categorical = {c for m in metas for c in m.columns if str(m[c].dtype) == "category"} | {channel_col}
    if backend.is_dask(converted[0]):
        import dask.dataframe as dd

        whole = dd.concat(converted, interleave_partitions=True)
    else:
        whole = backend.frame_lib(converted[0]).concat(converted, ignore_index=True)
    return _run(whole, [_Integrate(keys, categorical)], report)


_STEPS: dict[str, Callable[..., _Step]] = {
    "validate": lambda schema, errors="raise": _Validate(SCHEMAS[schema] if isinstance(schema, str) else schema,
                                                         errors),
    "coerce_types": lambda schema, errors="null", date_format=None, dayfirst=False: _Coerce(
        SCHEMAS[schema] if isinstance(schema, str) else schema, errors, date_format, dayfirst),
    "drop_duplicates": lambda keys=None, keep="last", order_by=None: _Dedupe(as_list(keys), keep, order_by),
    "complete_calendar": lambda id_cols=DEFAULT_ID_COLS, time_col="date", freq="D", start=None, end=None, fill=None,
    flag_col="inserted", static_cols=None: _Calendar(id_cols, time_col, freq, start, end, fill, flag_col,
                                                     static_cols),
    "fill_missing": lambda cols="units", method="ffill", id_cols=DEFAULT_ID_COLS, time_col="date", limit=None,
    period=7, indicator=False: _Fill(cols, method, id_cols, time_col, limit, period, indicator),
    "flag_outliers": lambda cols="units", method="iqr", id_cols=None, time_col="date", threshold=None, window=7,
    suffix="_outlier": _Outliers(cols, method, id_cols, time_col, threshold, window, "flag", suffix),
    "clip_outliers": lambda cols="units", method="iqr", id_cols=None, time_col="date", threshold=None, window=7:
    _Outliers(cols, method, id_cols, time_col, threshold, window, "clip", ""),
    "pseudonymize": lambda cols, key: _Pseudonymize(cols, key),
}


def _make_step(spec: Any) -> _Step:
    if callable(spec) and not isinstance(spec, (str, tuple)):
        return _Custom(spec)
    name, params = (spec, {}) if isinstance(spec, str) else (spec[0], dict(spec[1]) if len(spec) > 1 else {})
    if callable(name):
        return _Custom(name, params.get("name"))
    if name not in _STEPS:
        raise ValueError(f"unknown step {name!r}; choose from {sorted(_STEPS)} or pass a callable")
    try:
        return _STEPS[name](**params)
    except TypeError as exc:
        raise TypeError(f"step {name!r}: {exc}") from None


def clean(df: Any, steps: Sequence[Any]) -> tuple[Any, CleanReport]:
    """Run a declared list of cleaning steps; return the clean frame and its :class:`CleanReport`.

    Parameters
    ----------
    df : pandas, cudf or dask DataFrame
    steps : list
        Each item is ``"name"``, ``("name", {params})`` with a name among ``validate``,
        ``coerce_types``, ``drop_duplicates``, ``complete_calendar``, ``fill_missing``,
        ``flag_outliers``, ``clip_outliers``, ``pseudonymize`` (params as in those functions),
        or a callable ``frame -> frame`` (its row change is counted under its name; on Dask it
        runs per partition).

    Returns
    -------
    clean_df : frame
        Same kind as ``df``. A Dask input gives a *persisted* Dask frame: the data were read and
        cleaned once, together with the report's counts (see the module notes).
    report : CleanReport

    Raises
    ------
    DataValidationError
        From a ``validate`` step (pandas/cudf: before any later step runs; Dask: after the one
        pass, with totals over all partitions), or from a step's own input checks.

    Examples
    --------
    >>> import pandas as pd
    >>> from toolkit.cleanse import clean
    >>> df = pd.DataFrame({"sku": ["a", "a", "a"], "location": "web", "units": [1.0, 1.0, 9.0],
    ...                    "date": pd.to_datetime(["2024-01-01", "2024-01-01", "2024-01-02"])})
    >>> out, report = clean(df, ["drop_duplicates"])
    >>> print(report)  # doctest: +NORMALIZE_WHITESPACE
     #  step                   rows in    rows out   dropped  inserted  details
    ---------------------------------------------------------------------------
     1  drop_duplicates              3           2         1         0  dropped duplicate: 1
    """
    plan = [_make_step(s) for s in steps]
    report = CleanReport()
    if not backend.is_dask(df):
        return _run(df, plan, report), report
    import dask

    parts, meta, counts = _run_dask(df, plan)
    parts, counts = dask.persist(parts, counts)  # one graph: the data are read and cleaned once
    values = dask.compute(*counts)  # already in memory
    out = _from_parts(list(parts), meta)
    for step, c in zip(plan, values):
        report._record(step.name, c)
    for step, c in zip(plan, values):
        if isinstance(step, _Validate):
            _raise_violations(step.schema, step.fatal(c["violations"]))
    return out, report
