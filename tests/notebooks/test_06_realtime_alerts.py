"""Execute the real-time alerts notebook small and check what it recorded."""

from __future__ import annotations

from pathlib import Path

import pytest

from toolkit.report import run_notebook

NOTEBOOK = Path(__file__).resolve().parents[2] / "notebooks" / "06_realtime_alerts.ipynb"
pytestmark = pytest.mark.notebooks


def test_realtime_alerts_notebook(tmp_path):
    run = run_notebook(NOTEBOOK, {"SCALE": 0.3, "SEED": 0, "N_DAYS": 120, "REPLAY_SECONDS": 3.0, "BACKEND": "cpu"},
                       output_dir=tmp_path)
    rec = run.records
    html = run.html.read_text()
    assert "Report provenance" in html and "data:image/png" in html and rec["snapshot_has_sparkline"]
    # every event replayed was processed; malformed ones refused and late ones reported, as injected
    assert rec["events_processed"] == rec["events_replayed"] > 500
    assert rec["dead_letters_refused"] == rec["malformed_injected"] > 0
    assert rec["dead_letters_late"] == rec["late_injected"] > 0
    # within a second of arrival, alerts included
    assert rec["latency_p99_s"] < 1.0 and rec["alert_latency_p99_s"] < 1.0
    # spikes are caught while the one-hour burst runs, long before the day closes
    assert rec["recall_demand_spike"] >= 0.6 and rec["precision_demand_spike"] >= 0.5
    assert 0 <= rec["delay_median_s_demand_spike"] < 2 * 3600
    # drops can only be told when the day closes (midnight + the lateness of one hour)
    assert rec["recall_demand_drop"] > 0 and rec["delay_median_s_demand_drop"] >= 86_399
    # shrink shows in the count that reveals it; a delayed lane within hours of its first late delivery
    assert rec["recall_shrink"] == 1.0 and rec["precision_shrink"] == 1.0 and rec["delay_median_s_shrink"] == 0
    assert rec["recall_carrier_delay"] == 1.0 and rec["delay_median_s_carrier_delay"] < 6 * 3600
    # the reorder plan moved with the day
    assert 0 < rec["plan_changed"] <= rec["plan_rows"] and rec["orders_to_place"] > 0
    assert 0 <= rec["stockout_precision"] <= 1 and 0 <= rec["stockout_base_rate"] <= 1
