"""Execute the demand-forecasting notebook small and check what it recorded."""

from __future__ import annotations

from pathlib import Path

import pytest

NOTEBOOK = Path(__file__).resolve().parents[2] / "notebooks" / "01_demand_forecasting.ipynb"
pytestmark = pytest.mark.notebooks


PARAMS = {"SCALE": 0.05, "SEED": 0, "N_DAYS": 550, "N_LOCATIONS": 4, "N_WINDOWS": 2, "BACKEND": "cpu",
          "DATA_DIR": "none"}


def test_demand_forecasting_notebook(notebook_run):
    run = notebook_run(NOTEBOOK.name, PARAMS)
    rec = run.records
    assert run.html.exists() and "Report provenance" in run.html.read_text()
    for model in ("ar3", "seasonal_naive", "global"):
        assert 0 < rec[f"wape_{model}"] < 2 and rec[f"mase_{model}"] > 0
        assert 0 < rec[f"real_wape_{model}"] < 2
    assert rec["wape_global"] < rec["wape_seasonal_naive"]
    assert rec["wape_global"] < rec["wape_ar3"]
    assert rec["real_wape_global"] < rec["real_wape_seasonal_naive"]  # fixed real data: deterministic
    assert 0.65 <= rec["interval_coverage_80"] <= 0.92
    # the explorer, driven from code inside the notebook, followed its controls
    assert rec["explorer_forecast_rows"] == 7
    assert rec["explorer_sku"] == "SKU00010"  # the last of the 10 generated products
