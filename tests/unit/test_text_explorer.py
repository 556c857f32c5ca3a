"""The review browser's data (what its chart and table show) against pandas and hand-made cases."""

from __future__ import annotations

import re

import pandas as pd
import pytest

from toolkit import text
from toolkit.errors import DataValidationError

pytest.importorskip("ipywidgets")
pytest.importorskip("matplotlib")


def _reviews():
    raw = pd.DataFrame({
        "sku": ["a", "b", "a", "a", "b", "a"],
        "text": ["late again", "arrived broken", "great lamp", "box crushed", "works", "fine"],
        "review_ts": pd.to_datetime(["2024-01-03 10:00", "2024-01-02 00:00", "2024-01-05 08:00",
                                     "2024-01-01 00:00", "2024-01-04 00:00", "2024-01-05 07:00"]),
        "rating": [2, 1, 5, 1, 4, 3]})
    return text.score_reviews(raw)


def test_review_browser_lists_the_newest_reviews_first_and_charts_daily_series():
    reviews = _reviews()
    sales = pd.DataFrame({"sku": ["a", "a", "a", "b"], "location": ["x", "y", "x", "x"],
                          "date": pd.to_datetime(["2024-01-01", "2024-01-01", "2024-01-02", "2024-01-01"]),
                          "units": [3.0, 2.0, 4.0, 1.0]})
    browser = text.review_browser(reviews, sales, n_reviews=3)
    assert browser.selector.options == ("a", "b")  # most reviewed first; "a" shown at once
    # the three newest of a's four reviews, newest first (the 08:00 one before the 07:00 one)
    dates = re.findall(r"<tr><td>(\d{4}-\d\d-\d\d)</td>", browser.table.value)
    shown = re.findall(r"<td>([^<]*)</td></tr>", browser.table.value)
    assert dates == ["2024-01-05", "2024-01-05", "2024-01-03"] and shown == ["great lamp", "fine", "late again"]
    mine = reviews[reviews["sku"] == "a"]
    day = mine["review_ts"].dt.floor("D")
    pd.testing.assert_series_equal(browser.sentiment, mine.groupby(day)["sentiment"].mean())
    pd.testing.assert_series_equal(browser.demand, pd.Series([5.0, 4.0], name="units",
                                                             index=pd.DatetimeIndex(["2024-01-01", "2024-01-02"],
                                                                                    name="date")), check_index_type=False)
    browser.select("b")
    assert re.findall(r"<td>([^<]*)</td></tr>", browser.table.value) == ["works", "arrived broken"]
    assert reviews["complaint"].tolist() == [True, True, False, True, False, False]
    assert browser.complaints.to_dict() == {pd.Timestamp("2024-01-02"): 1.0, pd.Timestamp("2024-01-04"): 0.0}
    with pytest.raises(DataValidationError, match=r"^parameter 'sku': not among the reviewed skus, got 'zz'"):
        browser.select("zz")
