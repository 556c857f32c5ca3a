"""The panel layer on cuDF: every frame verb and the series layout give what they give on pandas.

Where cuDF's API differs from pandas' (codes of categoricals with nulls, ``factorize(sort=True)``
returning CuPy codes, nulls instead of NaN, a cast to nanoseconds that raises pandas'
``OutOfBoundsDatetime``, integer columns that hold nulls natively), ``toolkit.panel.frames``
absorbs it; these tests pin each such place against the pandas result.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from toolkit import panel
from toolkit.errors import DataValidationError
from toolkit.panel import frames

pytestmark = pytest.mark.gpu
cp = pytest.importorskip("cupy")
cudf = pytest.importorskip("cudf", reason="the cuDF frame verbs need cudf")


@pytest.fixture
def host():
    return pd.DataFrame({
        "sku": pd.Categorical(["b", "a", None, "c", "a", "b"], categories=["c", "b", "a"]),
        "name": ["x", None, "y", "x", "z", "y"],
        "date": pd.to_datetime(["2024-01-03", "2024-01-01", "2024-01-06", "2024-01-02", None, "2024-01-04"]),
        "units": pd.array([1, None, 3, 4, 5, 6], dtype="Int64"),
        "price": [1.5, np.nan, 2.0, 2.5, np.inf, 3.0],
        "promo": [True, False, True, False, False, True],
    }, index=[10, 11, 12, 13, 14, 15])


def _np(x):
    return cp.asnumpy(x) if isinstance(x, cp.ndarray) else np.asarray(x)


def test_reading_columns_matches_pandas(host):
    dev = cudf.from_pandas(host)
    for col in ("units", "price", "promo"):
        got = frames.values(dev, col)
        assert isinstance(got, cp.ndarray) and got.dtype == np.float64
        np.testing.assert_array_equal(_np(got), frames.values(host, col))
        np.testing.assert_array_equal(_np(frames.isna(dev, col)), frames.isna(host, col))
    np.testing.assert_array_equal(_np(frames.time_values(dev, "date")), frames.time_values(host, "date"))
    np.testing.assert_array_equal(_np(frames.to_array(dev[["units", "price"]])), frames.to_array(host[["units", "price"]]))
    np.testing.assert_array_equal(_np(frames.as_array(dev["promo"])), frames.as_array(host["promo"]))
    assert frames.namespace(dev).__name__.endswith("cupy")


@pytest.mark.parametrize("col", ["sku", "name", "date"])
def test_codes_sorted_with_missing_as_minus_one_like_pandas(host, col):
    got, n_got = frames.codes(cudf.from_pandas(host), col)
    want, n_want = frames.codes(host, col)
    assert isinstance(got, cp.ndarray) and n_got == n_want
    np.testing.assert_array_equal(_np(got), want)


def test_time_values_out_of_nanosecond_range_refused_naming_the_column():
    far = pd.DataFrame({"when": pd.to_datetime(["2024-01-01", "3000-01-01"]).as_unit("us")})
    with pytest.raises(DataValidationError, match="'when'.*1677-2262"):
        frames.time_values(far, "when")
    with pytest.raises(DataValidationError, match="'when'.*1677-2262"):
        frames.time_values(cudf.from_pandas(far), "when")


def test_take_assign_mask_categorical_keep_pandas_results(host):
    dev = cudf.from_pandas(host)
    rows = np.array([5, 0, 3])
    pd.testing.assert_frame_equal(frames.take(dev, cp.asarray(rows)).to_pandas(), frames.take(host, rows),
                                  check_dtype=False)
    new = np.arange(6, dtype=np.float64)
    got = frames.assign(dev, {"price": cp.asarray(new), "extra": cp.asarray(new * 2)})
    want = frames.assign(host, {"price": new, "extra": new * 2})
    assert list(got.columns) == list(want.columns)  # replaced columns move to the end, as on pandas
    pd.testing.assert_frame_equal(got.to_pandas(), want, check_dtype=False)
    twice = pd.concat([host, host])  # a repeated index: columns are put by position, not aligned
    got = frames.assign(cudf.from_pandas(twice), {"n": cp.arange(12, dtype=cp.float64)})
    np.testing.assert_array_equal(got["n"].to_numpy(), np.arange(12.0))
    where = np.array([False, True, False, False, True, False])
    masked = frames.mask(dev, "promo", cp.asarray(where)).to_pandas()
    np.testing.assert_array_equal(masked.isna().to_numpy(), frames.mask(host, "promo", where).isna().to_numpy())
    cat = frames.categorical(dev, cp.asarray([1, 0, 1, 1, 0, 0]), ["", "holiday"])
    assert type(cat).__module__.startswith("cudf")
    assert cat.to_pandas().astype(str).tolist() == frames.categorical(host, np.array([1, 0, 1, 1, 0, 0]),
                                                                      ["", "holiday"]).astype(str).tolist()
    assert list(cat.index.to_pandas()) == list(host.index)


def test_series_layout_on_cudf_equals_pandas(host):
    df = host.dropna(subset=["sku", "date"])
    want = panel.SeriesLayout.from_frame(df, "sku", "date")
    got = panel.SeriesLayout.from_frame(cudf.from_pandas(df), "sku", "date")
    np.testing.assert_array_equal(_np(got.bounds), want.bounds)
    np.testing.assert_array_equal(_np(got.gather(cp.arange(len(df)))), want.gather(np.arange(len(df))))
    np.testing.assert_array_equal(_np(got.time), want.time)
    with pytest.raises(DataValidationError, match="'sku'"):  # missing keys refused as on pandas
        panel.SeriesLayout.from_frame(cudf.from_pandas(host.dropna(subset=["date"])), "sku", "date")
    with pytest.raises(DataValidationError, match="'date'"):
        panel.SeriesLayout.from_frame(cudf.from_pandas(host.dropna(subset=["sku"])), "sku", "date")


def test_checks_name_the_column_on_cudf(host):
    dev = cudf.from_pandas(host)
    with pytest.raises(DataValidationError, match="'price'.*infinite"):
        panel.require_finite(dev, ["price"], ["sku"])
    with pytest.raises(DataValidationError, match="'name'"):
        panel.require_numeric(dev, ["name"])
    with pytest.raises(DataValidationError, match="'date'"):
        panel.require_unique(cudf.from_pandas(pd.concat([host, host])), ["sku", "date"])
    panel.check_frame(dev, dask=False)


@pytest.mark.parametrize("freq", ["MS", "D"])
def test_check_spacing_on_cudf_reports_like_pandas_in_a_pandas_table(freq):
    """The report's table is on the host (pandas) whatever the frame, so it prints and raises alike."""
    stamps = pd.date_range("2024-01-01", periods=8, freq=freq)
    df = pd.DataFrame({"sku": ["a"] * 6 + ["b"] * 8 + ["c"] * 7,
                       "date": stamps.delete([2, 5]).append(stamps).append(stamps.delete([7]))})
    want = panel.check_spacing(df, freq, "sku")
    got = panel.check_spacing(cudf.from_pandas(df), freq, "sku")
    assert isinstance(got.per_series, pd.DataFrame)
    assert got.per_series["sku"].tolist() == want.per_series["sku"].tolist() == ["a"]
    for col in ("rows", "first", "last", "missing_steps", "off_calendar"):
        assert got.per_series[col].tolist() == want.per_series[col].tolist(), col
    assert got.missing_steps == 2 and got.n_series == 3
    with pytest.raises(DataValidationError, match=r"column 'date': not regular.*e\.g\. \[\('a',\)\]"):
        got.raise_if_irregular("date")
