"""Execute the scaling notebook small and check its records against an in-memory run of the same data."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from toolkit import pipeline
from toolkit.datasets import load_parquet
from toolkit.report import read_records

NOTEBOOK = Path(__file__).resolve().parents[2] / "notebooks" / "05_scaling_with_dask.ipynb"
pytestmark = pytest.mark.notebooks


PARAMS = {"SCALE": 0.2, "SEED": 1, "BACKEND": "cpu", "N_LOCATIONS": 3, "N_DAYS": 120, "DATA_DIR": "{tmp}/data",
          "N_WORKERS": 2, "MEMORY_LIMIT": "2GiB", "SLICE_SKUS": 5, "TOP_K": 50}


def test_scaling_notebook_matches_the_in_memory_pipeline(notebook_run):
    run = notebook_run(NOTEBOOK.name, PARAMS)
    params = run.parameters
    rec = run.records
    assert read_records(run.notebook) == rec
    n_skus = 400
    assert rec["sales_rows"] == n_skus * 3 * 120
    assert rec["partitions"] == math.ceil(n_skus / 256)
    assert rec["workers"] == 2 and rec["dataframe_backend"] == "pandas"
    # the same data through the pandas pipeline, in this process
    root = Path(params["DATA_DIR"]) / f"retail-{n_skus}x3x120-seed1"
    reference = pipeline.run_pipeline(load_parquet(root, tables=("sales",)).sales)
    assert rec["rows_fit"] == reference.rows_fit == rec["scored_rows"] == len(reference.scores)
    assert rec["r2"] == pytest.approx(reference.model.r2_, rel=1e-9)
    # the slice run in memory with the out-of-core model gives the out-of-core predictions
    assert rec["slice_rows"] == len(reference.scores[reference.scores["sku"].cat.codes < 5])
    assert rec["slice_max_prediction_diff"] < 1e-9 and rec["slice_max_pearson_diff"] < 1e-9
    assert rec["slice_score_correlation"] > 0.99
    # injected spikes and drops dominate the top of the ranking
    assert rec["top_k_precision"] > 0.5
