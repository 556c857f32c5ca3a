"""Input contract of toolkit.stream: bad frames and parameters are refused naming them; bad events never
crash the engine and every event is accounted for (received = duplicates + refused + late + applied)."""

from __future__ import annotations

import numpy as np
import pandas as pd
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.contract import assert_rejects, corrupt, corruptions, not_frames, panels
from tests.stream_support import orders_frame, sales_history
from toolkit.stream import (ORDERS, CarrierMonitor, CheckpointStore, DemandMonitor, EventBatch, EventSchema,
                            InventoryMonitor, MemorySink, ReplaySource, StreamEngine, evaluate_alerts)
from toolkit.stream.buckets import BucketClock
from toolkit.stream.codec import decode_messages, encode_frame
from toolkit.stream.keys import KeyRegistry
from toolkit.stream.scenario import retail_scenario
from toolkit.stream.sinks import ParquetSink, check_sink
from toolkit.stream.windows import IncrementalWindows

SETTINGS = settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                            HealthCheck.function_scoped_fixture])

nested = st.one_of(st.just({"a": 1}), st.lists(st.integers(), max_size=2))  # JSON objects and arrays
labels = st.one_of(st.none(), st.just(""), st.sampled_from(["S00", "S01", "S02", "web", "store_01"]), st.integers(),
                   st.floats(allow_nan=True), nested)
times = st.one_of(st.none(), st.just("not a time"), st.integers(), nested,
                  st.datetimes(min_value=pd.Timestamp("2024-02-28").to_pydatetime(),
                               max_value=pd.Timestamp("2024-03-03").to_pydatetime()).map(lambda d: d.isoformat()))
numbers = st.one_of(st.none(), st.just("two"), st.floats(allow_nan=True, allow_infinity=True),
                    st.integers(-5, 50), st.booleans(), nested)


@st.composite
def garbage_batches(draw):
    n = draw(st.integers(0, 25))
    columns = {"sku": draw(st.lists(labels, min_size=n, max_size=n)),
               "location": draw(st.lists(labels, min_size=n, max_size=n)),
               "order_ts": draw(st.lists(times, min_size=n, max_size=n)),
               "quantity": draw(st.lists(numbers, min_size=n, max_size=n))}
    drop = draw(st.sampled_from([None, "sku", "order_ts", "quantity"]))
    if drop:
        del columns[drop]
    offsets = np.sort(np.asarray(draw(st.lists(st.integers(0, 40), min_size=n, max_size=n)), dtype=np.int64))
    return EventBatch("orders", {k: _objects(v) for k, v in columns.items()}, offsets=offsets)


def _objects(values):
    """A 1-D object array of ``values`` (lists stay elements, as a JSON decoder gives them)."""
    out = np.empty(len(values), dtype=object)
    for i, v in enumerate(values):
        out[i] = v
    return out


@SETTINGS
@given(batches=st.lists(garbage_batches(), min_size=1, max_size=3))
def test_garbage_events_never_crash_the_engine_and_every_event_is_counted(batches):
    monitor = DemandMonitor()
    monitor.fit(sales_history(n_series=3))
    engine = StreamEngine([monitor], dead_letters=(dead := MemorySink()), alerts=MemorySink())
    for batch in batches:
        engine.process(batch)
    counts = engine.counts.get("orders", dict.fromkeys(("received", "duplicates", "refused", "late", "applied"), 0))
    assert counts["received"] == sum(len(b) for b in batches)
    assert counts["received"] == counts["duplicates"] + counts["refused"] + counts["late"] + counts["applied"]
    assert len(dead) == counts["refused"] + counts["late"]
    assert int(monitor.totals()["events"].sum()) == counts["applied"]
    assert dead.frame().empty or dead.frame()["reason"].map(bool).all()


@SETTINGS
@given(bad=not_frames())
def test_frame_inputs_refuse_what_is_not_a_frame(bad, tmp_path):
    assert_rejects(lambda: DemandMonitor().fit(bad), ["history"])
    assert_rejects(lambda: CarrierMonitor().fit(bad), ["history"])
    assert_rejects(lambda: InventoryMonitor().fit(bad), ["history"])
    assert_rejects(lambda: ReplaySource({"orders": bad}), ["events", "events['orders']"])
    assert_rejects(lambda: encode_frame(bad, ORDERS), ["frame"])
    assert_rejects(lambda: evaluate_alerts(bad, pd.DataFrame(), {}), ["alerts"])
    assert_rejects(lambda: retail_scenario(bad), ["data"])
    assert_rejects(lambda: StreamEngine([DemandMonitor()]).run(bad), ["source"])


@SETTINGS
@given(df=panels(numeric=("units",)), kind=corruptions(), row=st.integers(0, 50))
def test_demand_history_corruptions_are_refused_or_handled(df, kind, row):
    bad = corrupt(df, kind, "units", row)
    try:
        DemandMonitor(min_history=1, baseline_window=3).fit(bad)
    except Exception as err:  # noqa: BLE001 - the contract says which errors are allowed
        assert_rejects(lambda: (_ for _ in ()).throw(err), ["units", "sku", "location", "date", "history",
                                                            "empty"])
        return
    # NaN is a missing bucket, a repeated (keys, date) row is summed, an empty history warms nothing
    assert kind in ("nan", "duplicate_row", "empty")


@SETTINGS
@given(freq=st.one_of(st.just("MS"), st.just("nonsense"), st.integers(-3, 0), st.none(), st.floats()),
       lateness=st.one_of(st.just("-1h"), st.just("soon"), st.none()))
def test_bad_spans_are_refused_naming_the_parameter(freq, lateness):
    assert_rejects(lambda: DemandMonitor(freq=freq), ["freq"])
    assert_rejects(lambda: CarrierMonitor(lateness=lateness), ["lateness"])


@SETTINGS
@given(value=st.one_of(st.floats(max_value=0.0), st.sampled_from([float("nan"), float("inf"), -float("inf")]),
                       st.integers(-5, 0), st.text(max_size=3), st.none()))
def test_bad_numbers_are_refused_naming_the_parameter(value):
    for param, make in (("threshold", lambda v: DemandMonitor(threshold=v)),
                        ("min_history", lambda v: DemandMonitor(min_history=v)),
                        ("contamination", lambda v: DemandMonitor(contamination=v)),
                        ("service_level", lambda v: InventoryMonitor(service_level=v)),
                        ("min_shipments", lambda v: CarrierMonitor(min_shipments=v)),
                        ("max_batch", lambda v: StreamEngine([DemandMonitor()], max_batch=v)),
                        ("rate", lambda v: ReplaySource({"orders": orders_frame()}, rate=v))):
        if param == "rate" and value is None:  # no pace: full speed
            continue
        assert_rejects(lambda: make(value), [param, "events"])


def test_schemas_registries_clocks_windows_and_stores_refuse_bad_definitions(tmp_path):
    assert_rejects(lambda: EventSchema("", ("sku",), "ts", ("q",)), ["name"])
    assert_rejects(lambda: EventSchema("x", (), "ts", ("q",)), ["keys"])
    assert_rejects(lambda: EventSchema("x", ("sku",), "ts", ("q",), non_negative=("p",)), ["non_negative"])
    assert_rejects(lambda: EventSchema("x", ("sku",), "sku", ("q",)), ["values"])
    assert_rejects(lambda: EventBatch("orders", {"sku": [1, 2]}, offsets=[0]), ["sku"])
    assert_rejects(lambda: KeyRegistry(()), ["key_cols"])
    assert_rejects(lambda: KeyRegistry([1]), ["key_cols"])
    assert_rejects(lambda: KeyRegistry("sku").slots({"other": ["a"]}), ["sku"])
    assert_rejects(lambda: BucketClock(0), ["freq"])
    assert_rejects(lambda: BucketClock(10, -1), ["lateness"])
    assert_rejects(lambda: IncrementalWindows("spec"), ["spec"])
    (tmp_path / "file").write_text("x")
    assert_rejects(lambda: CheckpointStore(tmp_path / "file"), ["directory"])
    assert_rejects(lambda: ParquetSink(tmp_path / "file"), ["directory"])
    assert_rejects(lambda: check_sink(3, "alerts"), ["alerts"])
    assert_rejects(lambda: InventoryMonitor(warehouse_of=["web"]), ["warehouse_of"])
    assert_rejects(lambda: InventoryMonitor(schema=ORDERS), ["schema"])
    assert_rejects(lambda: DemandMonitor(schema="orders"), ["schema"])


@SETTINGS
@given(payloads=st.lists(st.one_of(st.binary(max_size=40), st.text(max_size=40)), max_size=8))
def test_decoding_never_raises_and_flags_every_undecodable_message(payloads):
    columns, errors = decode_messages(payloads, ORDERS)
    assert all(len(v) == len(payloads) for v in columns.values())
    assert set(errors) <= set(range(len(payloads)))
    assert set(errors.values()) <= {"not JSON", "not a JSON object"}


@SETTINGS
@given(df=panels(numeric=("actual_days", "promised_days")), kind=corruptions(), row=st.integers(0, 50))
def test_carrier_history_corruptions_are_refused_naming_the_column(df, kind, row):
    lanes = df.rename(columns={"sku": "carrier", "location": "zone", "date": "ship_date"})
    bad = corrupt(lanes, kind, "actual_days", row, key="carrier")
    try:
        CarrierMonitor(min_history=1, baseline_window=3).fit(bad)
    except Exception as err:  # noqa: BLE001
        assert_rejects(lambda: (_ for _ in ()).throw(err), ["actual_days", "carrier", "zone", "ship_date",
                                                            "history", "empty"])
