"""Scenario building (toolkit.stream.scenario) against pandas filters and merges of the generated tables,
and hand-computed cases: order lines, the replayed counts, the truth of carrier delays, stock-outs after."""

from __future__ import annotations

import dataclasses
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

from toolkit.datasets import make_retail
from toolkit.stream.scenario import Scenario, retail_scenario, split_orders, stockouts_after

DAY = pd.Timedelta(days=1)


@pytest.fixture(scope="module")
def data():
    return make_retail(n_skus=20, n_locations=4, n_days=90, seed=1, progress=False)


def _delays(truth: pd.DataFrame) -> pd.DataFrame:
    rows = truth[truth["type"] == "carrier_delay"]
    return rows[["carrier", "zone", "start", "end"]].sort_values(["carrier", "zone"]).reset_index(drop=True)


def test_split_orders_lines_add_up_to_each_rows_units_and_skip_rows_without_positive_units():
    units = [2.5, 0.5, 1.0, 7.0, 0.0, np.nan, -2.0, np.inf]
    sales = pd.DataFrame({"sku": list("abcdefgh"), "location": "web",
                          "date": pd.Timestamp("2024-03-01") + pd.to_timedelta(np.arange(8), unit="D"),
                          "units": units})
    lines = split_orders(sales, np.random.default_rng(0), line_size=2.0)
    got = lines.groupby("sku")["quantity"].agg(["sum", "count", "min", "max"])
    # only finite positive units give lines: ceil(units / 2) of them, adding up to the units
    assert got.index.tolist() == ["a", "b", "c", "d"]
    np.testing.assert_allclose(got["sum"], [2.5, 0.5, 1.0, 7.0], rtol=0, atol=1e-12)
    assert got["count"].tolist() == [2, 1, 1, 4]
    assert got.loc["d", "min"] == 1.0 and got.loc["d", "max"] == 2.0  # 7 units: 2 + 2 + 2 + 1
    day = lines["sku"].map(dict(zip(sales["sku"], sales["date"])))
    assert (lines["order_ts"].dt.normalize() == day).all() and lines["order_ts"].is_monotonic_increasing


def test_inventory_events_are_the_counts_of_the_replayed_days_only(data):
    sc = retail_scenario(data, seed=0, days=1)
    inv = data.inventory
    expected = inv[(inv["date"] >= sc.start) & (inv["date"] < sc.start + DAY)]
    got = sc.events["inventory"]
    assert len(got) == len(expected) > 0
    assert (got["ts"] < sc.end).all()
    assert sorted(zip(got["sku"], got["warehouse"], got["ts"])) == sorted(
        zip(expected["sku"].astype(str), expected["warehouse"].astype(str),
            expected["date"] + pd.Timedelta(hours=23, minutes=59, seconds=59)))


def test_injected_carrier_delay_truth_starts_at_the_first_delayed_delivery(data):
    no_generator_delays = dataclasses.replace(data, truth=data.truth[data.truth["type"] != "carrier_delay"])
    sc = retail_scenario(no_generator_delays, start="2024-02-15", days=1, seed=0, delays=1)
    shipped = sc.events["shipments"].merge(data.shipments[["shipment_id", "actual_days"]], on="shipment_id",
                                           suffixes=("", "_generated"))
    delayed = shipped[shipped["actual_days"] - shipped["actual_days_generated"].astype(float) == 3.0]
    assert len(delayed) > 0 and delayed[["carrier", "zone"]].drop_duplicates().shape[0] == 1
    (truth,) = _delays(sc.truth).itertuples()
    assert (truth.carrier, truth.zone) == tuple(delayed[["carrier", "zone"]].iloc[0])
    assert truth.start == delayed["delivered_ts"].min() and truth.end == sc.start + DAY
    # every delivery of the lane from the first delayed one to the end of the day is delayed
    lane = shipped[(shipped["carrier"] == truth.carrier) & (shipped["zone"] == truth.zone)
                   & (shipped["delivered_ts"] >= truth.start) & (shipped["delivered_ts"] < sc.start + DAY)]
    assert len(lane) == len(delayed)


def test_generator_carrier_delays_become_truth_by_lane_at_their_first_delivery_in_the_window(data):
    sc = retail_scenario(data, start="2024-02-10", days=3, seed=0, delays=0)
    late = data.truth[data.truth["type"] == "carrier_delay"][["shipment_id"]].dropna().astype(np.int64)
    hit = sc.events["shipments"].merge(late, on="shipment_id")
    expected = hit.groupby(["carrier", "zone"], as_index=False)["delivered_ts"].min()
    expected = expected.rename(columns={"delivered_ts": "start"})
    expected["end"] = expected["start"].dt.normalize() + DAY
    assert len(expected) > 0
    pd.testing.assert_frame_equal(_delays(sc.truth), expected[["carrier", "zone", "start", "end"]],
                                  check_dtype=False)


def test_stockouts_after_reads_each_skus_lead_time_after_the_last_full_day():
    rows = [("A", "l1", "2024-03-01", True),   # a replayed day: not checked
            ("A", "l1", "2024-03-02", False), ("A", "l2", "2024-03-03", True),  # W1, within A's 2 days
            ("A", "l1", "2024-03-04", True),   # past A's lead time
            ("A", "l3", "2024-03-02", False), ("A", "l3", "2024-03-03", False),  # W2: no stock-out
            ("B", "l3", "2024-03-05", False), ("B", "l3", "2024-03-08", True),   # B: default 7 days
            ("B", "l3", "2024-03-09", True)]   # past B's 7 days
    sales = pd.DataFrame(rows, columns=["sku", "location", "date", "stockout"]).assign(
        date=lambda f: pd.to_datetime(f["date"]))
    scenario = Scenario(history={}, events={}, truth=pd.DataFrame(), warehouse_of={"l1": "W1", "l2": "W1", "l3": "W2"},
                        lead_times={"A": 2.0}, start=pd.Timestamp("2024-03-01"),
                        end=pd.Timestamp("2024-03-02 02:00"), malformed=0, late=0)
    got = stockouts_after(SimpleNamespace(sales=sales), scenario)
    expected = pd.DataFrame({"sku": ["A", "A", "B"], "warehouse": ["W1", "W2", "W2"],
                             "stocked_out": [True, False, True], "days_checked": [2, 2, 2]})
    pd.testing.assert_frame_equal(got.sort_values(["sku", "warehouse"]).reset_index(drop=True), expected,
                                  check_dtype=False)
