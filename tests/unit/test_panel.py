"""The panel layer against pandas as the reference: layout, time axis, checks, frame verbs, Dask dispatch."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from toolkit import panel
from toolkit.errors import DataValidationError
from toolkit.panel import timeaxis


# --------------------------------------------------------------------------- layout
@st.composite
def panels(draw):
    """Random panels: 1-2 keys (string or categorical), shuffled rows, unique (keys, date)."""
    n_a = draw(st.integers(1, 4))
    n_b = draw(st.integers(1, 3))
    rows = []
    for a in range(n_a):
        for b in range(n_b):
            days = draw(st.lists(st.integers(0, 30), min_size=0, max_size=8, unique=True))
            rows += [(f"s{a}", f"l{b}", d) for d in days]
    if not rows:
        rows = [("s0", "l0", 0)]
    perm = draw(st.permutations(range(len(rows))))
    df = pd.DataFrame([rows[i] for i in perm], columns=["sku", "location", "day"])
    df["date"] = pd.Timestamp("2024-01-01") + pd.to_timedelta(df.pop("day"), unit="D")
    if draw(st.booleans()):
        df["sku"] = df["sku"].astype("category")
    df["units"] = np.arange(len(df), dtype=float)
    return df


@settings(max_examples=60, deadline=None)
@given(panels(), st.sampled_from([["sku"], ["sku", "location"]]))
def test_layout_matches_pandas_sort_and_groupby(df, keys):
    df = df.drop_duplicates([*keys, "date"])
    layout = panel.SeriesLayout.from_frame(df, keys, "date")
    reference = df.sort_values([*keys, "date"], kind="stable")
    assert layout.gather(df["units"].to_numpy()).tolist() == reference["units"].tolist()
    sizes = reference.groupby(keys, observed=True, sort=True).size().to_numpy()
    assert layout.bounds.tolist() == [0, *np.cumsum(sizes).tolist()]
    assert layout.position.tolist() == reference.groupby(keys, observed=True).cumcount().tolist()
    from_end = reference.groupby(keys, observed=True).cumcount(ascending=False)
    assert layout.position_from_end.tolist() == from_end.tolist()
    assert layout.scatter(layout.gather(df["units"].to_numpy())).tolist() == df["units"].tolist()
    table = layout.keys(df, keys)
    expected = reference.groupby(keys, observed=True, sort=True).size().reset_index()[keys]
    assert [tuple(map(str, r)) for r in table.itertuples(index=False)] == \
        [tuple(map(str, r)) for r in expected.itertuples(index=False)]
    assert layout.time.tolist() == reference["date"].astype("datetime64[ns]").to_numpy().view("int64").tolist()
    tail = layout.tail(2)
    got = df["units"].to_numpy()[tail.order].tolist()
    assert got == reference.groupby(keys, observed=True).tail(2)["units"].tolist()
    assert tail.time.tolist() == reference.groupby(keys, observed=True).tail(2)["date"].astype(
        "datetime64[ns]").to_numpy().view("int64").tolist()


@pytest.mark.parametrize("unit", ["s", "ms", "us", "ns"])
@pytest.mark.parametrize("shuffle", [False, True])
def test_layout_keeps_the_column_ticks_and_gives_nanoseconds_on_demand(unit, shuffle):
    """Rows are ordered by the column's own ticks (no scaling); ``time`` is pandas' nanoseconds."""
    df = pd.DataFrame({"sku": np.repeat(["a", "b"], 5),
                       "date": pd.to_datetime(np.tile(["1969-12-31 23:59:59", "1970-01-01 00:00:00", "2024-02-29 12:00:00",
                                                       "2262-04-01 00:00:00", "1677-09-22 00:00:00"], 2)).as_unit(unit)})
    if shuffle:
        df = df.sample(frac=1.0, random_state=3)
    layout = panel.SeriesLayout.from_frame(df, "sku", "date")
    reference = df.sort_values(["sku", "date"], kind="stable")
    assert layout.tick_ns == int(np.timedelta64(1, unit) // np.timedelta64(1, "ns"))
    assert layout.ticks.tolist() == reference["date"].to_numpy().view("int64").tolist()
    assert layout.time.tolist() == reference["date"].astype("datetime64[ns]").to_numpy().view("int64").tolist()
    assert layout.tail(1).time.tolist() == layout.time[[4, 9]].tolist()
    layout.time = layout.time[::-1].copy()  # setting nanoseconds resets the tick to 1 ns
    assert layout.tick_ns == 1 and layout.ticks[0] == layout.time[0]


def test_layout_refuses_timestamps_nanoseconds_cannot_hold():
    far = pd.DataFrame({"sku": ["a", "a", "b"],
                        "when": pd.to_datetime(["2024-01-01", "3000-01-01", "1600-01-01"]).as_unit("s")})
    for frame in (far, far.iloc[::-1]):  # sorted and unsorted input
        with pytest.raises(DataValidationError, match="column 'when': timestamps outside the years 1677-2262"):
            panel.SeriesLayout.from_frame(frame, "sku", "when")


def test_layout_of_sorted_input_keeps_no_permutation():
    df = pd.DataFrame({"sku": ["a", "a", "b"], "date": pd.to_datetime(["2024-01-01", "2024-01-02", "2024-01-01"])})
    layout = panel.SeriesLayout.from_frame(df, "sku", "date")
    assert layout.order is None and layout.inverse is None
    assert layout.bounds.tolist() == [0, 2, 3]


def test_layout_refuses_duplicates_missing_keys_and_nat():
    base = pd.DataFrame({"sku": ["a", "a", "b"], "date": pd.to_datetime(["2024-01-01"] * 3)})
    with pytest.raises(DataValidationError, match=r"column 'date': duplicated \(sku, date\).*\('a'"):
        panel.SeriesLayout.from_frame(base, "sku", "date")
    missing = base.assign(sku=["a", None, "b"], date=pd.to_datetime(["2024-01-01", "2024-01-02", "2024-01-01"]))
    with pytest.raises(DataValidationError, match=r"column 'sku': missing key values.*1 offending"):
        panel.SeriesLayout.from_frame(missing, "sku", "date")
    nat = base.assign(date=pd.to_datetime(["2024-01-01", None, "2024-01-02"]))
    with pytest.raises(DataValidationError, match=r"column 'date': missing values"):
        panel.SeriesLayout.from_frame(nat, "sku", "date")
    with pytest.raises(DataValidationError, match="parameter 'df'"):
        panel.SeriesLayout.from_frame({"sku": [1]}, "sku", "date")
    triple = pd.DataFrame({"sku": ["b", "a", "a", "a"], "date": pd.to_datetime(["2024-01-02"] + ["2024-01-01"] * 3)})
    with pytest.raises(DataValidationError, match=r"2 offending rows"):  # the two copies of ('a', 2024-01-01)
        panel.SeriesLayout.from_frame(triple, "sku", "date")
    with pytest.raises(DataValidationError, match=r"'date'.*NaT.*1 offending rows"):
        panel.SeriesLayout.from_frame(nat, "sku", "date")


def test_dense_right_aligns_the_last_values():
    df = pd.DataFrame({"sku": ["a", "a", "a", "b"], "date": pd.to_datetime(["2024-01-01", "2024-01-02",
                                                                             "2024-01-03", "2024-01-01"]),
                       "units": [1.0, 2.0, 3.0, 9.0]})
    layout = panel.SeriesLayout.from_frame(df, "sku", "date")
    dense = layout.dense(layout.gather(df["units"].to_numpy()), 2)
    np.testing.assert_array_equal(dense, [[2.0, 3.0], [np.nan, 9.0]])


# --------------------------------------------------------------------------- time axis
@pytest.mark.parametrize("given_name, expected", [
    ("MS", "MS"), ("M", "ME"), ("1M", "ME"), ("ME", "ME"), ("Q", "QE-DEC"), ("QS", "QS-JAN"), ("Y", "YE-DEC"),
    ("A", "YE-DEC"), ("H", "h"), ("T", "min"), ("W", "W-SUN"), ("2D", "2D"), ("B", "B"),
])
def test_to_offset_reads_calendar_names(given_name, expected):
    assert timeaxis.to_offset(given_name).freqstr == expected


@pytest.mark.parametrize("bad", ["", "XYZ", "-1D", 7, None, "0D"])
def test_to_offset_refuses_what_is_not_a_forward_frequency(bad):
    with pytest.raises(DataValidationError, match="parameter 'freq'"):
        timeaxis.to_offset(bad)


FREQS = ["D", "B", "W-SUN", "W-WED", "MS", "ME", "QS-JAN", "QE-DEC", "YS-JAN", "h", "2D", "QS-FEB"]


@pytest.mark.parametrize("freq", FREQS)
def test_infer_freq_recovers_the_generating_frequency_despite_gaps(freq):
    grid = pd.date_range("2021-03-01", periods=30, freq=freq)
    a = grid.delete([3, 4, 17])  # gaps do not hide the frequency
    b = grid[5:12]
    df = pd.DataFrame({"sku": ["a"] * len(a) + ["b"] * len(b), "date": a.append(b)}).sample(frac=1, random_state=0)
    assert timeaxis.infer_freq(df, "sku") == pd.tseries.frequencies.to_offset(freq).freqstr


@pytest.mark.parametrize("freq", FREQS)
def test_check_spacing_counts_the_missing_steps_like_a_reindex(freq):
    grid = pd.date_range("2021-03-01", periods=25, freq=freq)
    a = grid.delete([3, 4, 17])
    b = grid[2:9]
    df = pd.DataFrame({"sku": ["a"] * len(a) + ["b"] * len(b), "date": a.append(b)})
    report = timeaxis.check_spacing(df, freq, "sku")
    expected = len(pd.date_range(a[0], a[-1], freq=freq)) - len(a)
    assert report.missing_steps == expected == 3
    assert report.per_series["sku"].tolist() == ["a"]
    assert not report.regular
    assert timeaxis.check_spacing(df[df["sku"] == "b"], freq, "sku").regular
    with pytest.raises(DataValidationError, match="column 'date': not regular"):
        report.raise_if_irregular("date")


def test_check_spacing_flags_off_calendar_timestamps():
    df = pd.DataFrame({"sku": "a", "date": pd.to_datetime(["2024-01-01", "2024-02-01", "2024-02-15", "2024-03-01"])})
    report = timeaxis.check_spacing(df, "MS", "sku")
    assert report.off_calendar == 1 and report.missing_steps == 0


@pytest.mark.parametrize("freq", FREQS)
def test_future_dates_follow_the_calendar(freq):
    last = pd.date_range("2022-01-01", periods=3, freq=freq)
    out = timeaxis.future_dates(last, 4, freq)
    for i, stamp in enumerate(last):
        expected = pd.date_range(stamp, periods=5, freq=freq)[1:]
        assert list(out[i]) == list(expected.values)


def test_future_dates_refuse_off_calendar_last_timestamp():
    with pytest.raises(DataValidationError, match="parameter 'freq'.*not on the calendar"):
        timeaxis.future_dates(pd.to_datetime(["2024-01-15"]), 2, "MS")


def test_step_index_counts_calendar_steps():
    stamps = pd.to_datetime(["2024-01-31", "2024-02-29", "2024-04-30"])
    steps, on = timeaxis.step_index(stamps.as_unit("ns").asi8, "ME")
    assert np.diff(steps).tolist() == [1, 2] and on.all()
    steps, on = timeaxis.step_index(pd.to_datetime(["2024-01-05", "2024-01-08"]).as_unit("ns").asi8, "B")  # Fri -> Mon
    assert np.diff(steps).tolist() == [1]


@pytest.mark.parametrize("freq", ["ME", "B", "W-SUN", "D", "h"])
def test_step_numbers_are_int64_on_calendar_and_fixed_frequencies(freq):
    """Documented: int64 steps, so counts built from them stay integers whatever the frequency."""
    stamps = pd.date_range("2024-01-01", periods=6, freq=freq).delete([2])
    steps, on = timeaxis.step_index(stamps.as_unit("ns").asi8, freq)
    assert steps.dtype == np.int64 and on.dtype == np.bool_
    assert (steps - steps[0]).tolist() == [0, 1, 3, 4, 5] and on.all()
    report = timeaxis.check_spacing(pd.DataFrame({"sku": "a", "date": stamps}), freq, "sku")
    assert report.per_series["missing_steps"].dtype == np.int64 and report.per_series["missing_steps"].tolist() == [1]


@pytest.mark.parametrize("freq, season, per_year", [
    ("D", 7, 365.25), ("B", 5, 260.0), ("W-SUN", 52, 365.25 / 7), ("MS", 12, 12.0), ("QE", 4, 4.0),
    ("YS", 1, 1.0), ("h", 24, 8766.0), ("3MS", 4, 4.0)])
def test_season_length_and_periods_per_year(freq, season, per_year):
    assert timeaxis.season_length(freq) == season
    assert timeaxis.periods_per_year(freq) == pytest.approx(per_year)


def test_infer_freq_needs_two_rows_in_some_series():
    df = pd.DataFrame({"sku": ["a", "b"], "date": pd.to_datetime(["2024-01-01", "2024-02-01"])})
    with pytest.raises(DataValidationError, match="column 'date'.*single row"):
        timeaxis.infer_freq(df, "sku")


# --------------------------------------------------------------------------- checks
def test_checks_name_the_column_or_parameter():
    df = pd.DataFrame({"sku": ["a", "b"], "units": [1.0, np.inf], "name": ["x", "y"]})
    with pytest.raises(DataValidationError, match=r"column 'price': missing \(needed to test\)"):
        panel.require_columns(df, ["units", "price"], "to test")
    with pytest.raises(DataValidationError, match="column 'name': must be numeric"):
        panel.require_numeric(df, ["units", "name"])
    with pytest.raises(DataValidationError, match=r"column 'units': infinite.*\('b',\)"):
        panel.require_finite(df, ["units"], keys=["sku"])
    with pytest.raises(DataValidationError, match="column 'units': missing values"):
        panel.require_finite(df.assign(units=[np.nan, 1.0]), ["units"], allow_nan=False)
    with pytest.raises(DataValidationError, match="column 'sku': must be a datetime64"):
        panel.require_datetime(df, "sku")
    with pytest.raises(DataValidationError, match="timezone-naive"):
        panel.require_datetime(pd.DataFrame({"d": pd.date_range("2024", periods=2, tz="UTC")}), "d")
    with pytest.raises(DataValidationError, match=r"parameter 'method': unknown value, got 'zz'; choose from"):
        panel.check_choice("method", "zz", ["iqr", "zscore"])
    assert panel.check_choice("method", "IQR", ["iqr", "zscore"]) == "iqr"
    with pytest.raises(DataValidationError, match="parameter 'horizon': must be >= 1"):
        panel.check_int("horizon", 0, minimum=1)
    for bad in (True, 1.5, "3", np.nan):
        with pytest.raises(DataValidationError, match="parameter 'horizon'"):
            panel.check_int("horizon", bad)
    with pytest.raises(DataValidationError, match="parameter 'alpha': must be < 1"):
        panel.check_number("alpha", 1.0, 0.0, 1.0, high_open=True)
    with pytest.raises(DataValidationError, match="parameter 'id_cols'"):
        panel.as_list(3)
    with pytest.raises(DataValidationError, match=r"column 'sku': duplicated"):
        panel.require_unique(pd.DataFrame({"sku": ["a", "a"]}), ["sku"])
    with pytest.raises(DataValidationError, match="the frame is empty"):
        panel.require_not_empty(df.iloc[:0])


@pytest.mark.parametrize("bad", [[1, 2], {"a": [1]}, np.ones(3), pd.Series([1.0]), None, "frame"])
def test_check_frame_refuses_what_is_not_a_frame(bad):
    with pytest.raises(DataValidationError, match="parameter 'df': expected a pandas, cuDF or Dask DataFrame"):
        panel.check_frame(bad)


def test_check_frame_can_refuse_dask():
    import dask.dataframe as dd

    ddf = dd.from_pandas(pd.DataFrame({"a": [1.0]}), npartitions=1)
    panel.check_frame(ddf)
    with pytest.raises(DataValidationError, match="compute"):
        panel.check_frame(ddf, dask=False)


# --------------------------------------------------------------------------- frame verbs
def test_frame_verbs_on_pandas():
    df = pd.DataFrame({"a": pd.array([1, None, 3], dtype="Int64"), "b": [True, False, True]}, index=[10, 11, 12])
    np.testing.assert_array_equal(panel.values(df, "a"), [1.0, np.nan, 3.0])
    assert panel.values(df, "b").tolist() == [1.0, 0.0, 1.0]
    out = panel.assign(df, {"a": np.zeros(3), "c": np.ones(3)})
    assert list(out.columns) == ["b", "a", "c"] and out.index.tolist() == [10, 11, 12]
    assert panel.take(df, np.array([2, 0]))["b"].tolist() == [True, True]
    assert panel.time_values(pd.DataFrame({"t": pd.to_datetime(["1970-01-01 00:00:01"])}), "t").tolist() == [10**9]
    cats = panel.categorical(df, np.array([1, 0, 1]), ["", "x"])
    assert cats.tolist() == ["x", "", "x"] and cats.index.tolist() == [10, 11, 12] and str(cats.dtype) == "category"


@pytest.mark.parametrize("unit", ["s", "ms", "us", "ns"])
def test_time_values_in_nanoseconds_whatever_the_unit(unit):
    stamps = pd.Series(pd.to_datetime(["2024-01-01 00:00:01", None, "1677-09-22", "2262-04-11",
                                       "1900-02-03 04:05:06"], format="ISO8601").as_unit(unit), name="t")
    expected = stamps.astype("datetime64[ns]").to_numpy().view("int64")  # pandas' own conversion
    np.testing.assert_array_equal(panel.time_values(stamps.to_frame(), "t"), expected)


def test_time_values_refuses_timestamps_nanoseconds_cannot_hold():
    far = pd.Series(pd.to_datetime(["2024-01-01", "3000-01-01"]).as_unit("s"), name="when").to_frame()
    with pytest.raises(DataValidationError, match="column 'when': timestamps outside the years 1677-2262"):
        panel.time_values(far, "when")


# --------------------------------------------------------------------------- Dask dispatch
def test_per_series_runs_the_same_function_on_dask_partitions():
    import dask.dataframe as dd

    rng = np.random.default_rng(0)
    df = pd.DataFrame({"sku": rng.integers(0, 7, 200).astype(str), "day": rng.permutation(200)})
    df["date"] = pd.Timestamp("2024-01-01") + pd.to_timedelta(df.pop("day"), unit="D")
    df["units"] = rng.normal(size=200)

    def cumulative(frame, scale=1.0):
        layout = panel.SeriesLayout.from_frame(frame, "sku", "date")
        x = layout.gather(panel.values(frame, "units"))
        c = np.cumsum(x)
        start = np.concatenate([[0.0], c])[layout.row_starts]
        return panel.assign(frame, {"cum": layout.scatter((c - start) * scale)})

    expected = cumulative(df, scale=2.0)
    got = panel.per_series(dd.from_pandas(df, npartitions=3), cumulative, "sku", "date", scale=2.0).compute()
    pd.testing.assert_series_equal(got.sort_index()["cum"], expected["cum"])
    assert expected["cum"].tolist() == pytest.approx(
        (df.sort_values(["sku", "date"]).groupby("sku")["units"].cumsum() * 2).sort_index().tolist())


def test_per_partition_keeps_partitions_and_rows():
    import dask.dataframe as dd

    df = pd.DataFrame({"x": np.arange(10.0)}, index=np.arange(10)[::-1])
    ddf = dd.from_pandas(df, npartitions=3)
    out = panel.per_partition(ddf, lambda part, k: part.assign(y=part["x"] * k), k=3.0)
    assert out.npartitions == 3
    pd.testing.assert_frame_equal(out.compute().sort_index(), df.assign(y=df["x"] * 3.0).sort_index())
    assert panel.per_partition(df, lambda part: part.iloc[:2]).index.tolist() == [9, 8]  # in memory: one call


def test_missing_values_are_shown_by_their_keys_or_row_numbers():
    """A missing value is shown by its series keys, or by its row number without keys -- never by
    the missing value itself, which tells the reader nothing."""
    df = pd.DataFrame({"k": ["x", "y", "z", "w"], "a": [1.0, None, 3.0, None]})
    with pytest.raises(DataValidationError, match=r"column 'a': missing values \(2 offending rows; e.g. \['row 1', 'row 3'\]\)"):
        panel.require_not_null(df, ["a"])
    with pytest.raises(DataValidationError, match=r"e.g. \[\('y',\), \('w',\)\]"):
        panel.require_not_null(df, ["a"], ["k"])


def test_estimator_imports_a_learner_from_a_dotted_path_below_the_library():
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression

    frame = pd.DataFrame({"x": [1.0]})
    assert panel.frames.estimator(frame, "linear_model.LogisticRegression") is LogisticRegression
    # two dots: the module path is everything before the last one
    assert panel.frames.estimator(frame, "feature_extraction.text.TfidfVectorizer") is TfidfVectorizer


def test_as_list_shows_the_first_name_that_is_not_a_string():
    with pytest.raises(DataValidationError) as err:
        panel.as_list(["sku", 3, None], "id_cols")
    assert str(err.value) == "parameter 'id_cols': column names must be strings, got 3"
    assert panel.as_list("sku") == ["sku"] and panel.as_list(("a", "b")) == ["a", "b"] and panel.as_list(None) == []
