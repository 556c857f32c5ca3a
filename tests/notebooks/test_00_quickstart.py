"""Execute the quickstart notebook small and check what it recorded against the data itself."""

from __future__ import annotations

from pathlib import Path

import pytest

from toolkit.datasets import make_retail
from toolkit.report import read_records

NOTEBOOK = Path(__file__).resolve().parents[2] / "notebooks" / "00_quickstart.ipynb"
pytestmark = pytest.mark.notebooks


PARAMS = {"SCALE": 0.1, "SEED": 3, "N_DAYS": 365, "BACKEND": "cpu", "DATA_DIR": "none"}


def test_quickstart_records_what_the_data_says(notebook_run):
    run = notebook_run(NOTEBOOK.name, PARAMS)
    rec = run.records
    html = run.html.read_text()
    assert "Report provenance" in html and "SEED=3" in html and "N_DAYS=365" in html
    assert read_records(run.notebook) == rec
    data = make_retail(n_skus=20, n_locations=6, n_days=365, seed=3, progress=False)
    assert rec["sales_rows"] == len(data.sales) == 20 * 6 * 365
    assert rec["injected_anomalies"] == len(data.truth)
    assert rec["promo_uplift"] > 1.0
    assert rec["store_weekend_ratio"] > 1.2
    assert rec["units_on_stockout_days"] == 0.0
    assert 0.0 < rec["stockout_share"] < 0.2
