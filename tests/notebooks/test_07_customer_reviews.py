"""Execute the customer-reviews notebook small and check what it recorded."""

from __future__ import annotations

from pathlib import Path

import pytest

from toolkit.report import run_notebook

NOTEBOOK = Path(__file__).resolve().parents[2] / "notebooks" / "07_customer_reviews.ipynb"
pytestmark = pytest.mark.notebooks


def test_customer_reviews_notebook(tmp_path):
    run = run_notebook(NOTEBOOK, {"SCALE": 1.0, "SEED": 7, "N_DAYS": 540, "N_WINDOWS": 12, "BACKEND": "cpu"},
                       output_dir=tmp_path)
    rec = run.records
    assert run.html.exists() and "Report provenance" in run.html.read_text()
    assert rec["n_reviews"] > 10_000 and rec["n_incidents"] >= 30
    # sentiment agrees with the stars; the vectorised lexicon agrees with the vaderSentiment package
    assert rec["sentiment_rating_spearman"] > 0.3
    assert rec["lexicon_vader_agreement"] > 0.85
    assert rec["model_rating_spearman"] > rec["sentiment_rating_spearman"]
    assert rec["model_rating_accuracy"] > rec["majority_accuracy"] + 0.05
    if rec["real_corpus_available"]:
        assert rec["real_lexicon_spearman"] > 0.25 and rec["real_model_spearman"] > 0.3
    # incidents found, and before demand falls on average: batch defects from the reviews, ahead of
    # the drop; price increases from the prices, the day they happen (reviews alone come later)
    assert rec["incident_recall"] >= 0.8 and rec["incident_recall_reviews"] >= 0.8
    assert rec["incident_recall_carrier"] >= 0.8
    assert rec["mean_lead_days_batch"] > 0 and rec["share_detected_before_onset_batch"] > 0.5
    assert rec["mean_lead_days_price"] == 0 and rec["mean_delay_days_price_reviews"] > 0
    assert rec["mean_lead_days_all"] > 0
    assert "delivery" in rec["topic_aspects_found"] and len(rec["topic_aspects_found"]) >= 2
    # review signals help where incidents are, and do not hurt overall; they read no future review
    assert rec["signals_leak_free"] is True
    assert rec["wape_incident_days_reviews"] < 0.97 * rec["wape_incident_days_base"]
    assert rec["wape_affected_reviews"] < rec["wape_affected_base"]
    assert rec["wape_all_reviews"] <= rec["wape_all_base"] * 1.005
    assert rec["browser_table_rows"] == 15 and rec["browser_sku"].startswith("SKU")
