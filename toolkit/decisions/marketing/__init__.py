"""Cross-channel marketing decisions: the channel panel, a marketing-mix model, budgets, fraud.

One module per concern:

* :mod:`~toolkit.decisions.marketing.channels` -- :func:`channel_panel`: order systems
  integrated and joined to each day's spend, impressions, clicks and conversions, every order
  line accounted for in a :class:`PanelReport`;
* :mod:`~toolkit.decisions.marketing.mmm` -- :class:`MarketingMixModel` (baseline + Hill
  saturated geometric adstock per channel, chosen by time-series CV) and :func:`hill`;
* :mod:`~toolkit.decisions.marketing.budget` -- :func:`allocate_budget` (SLSQP on the fitted
  curves) and :func:`allocate_budget_lp` (HiGHS over (sku, day, channel) nodes, optionally
  capped by stock);
* :mod:`~toolkit.decisions.marketing.anomalies` -- :func:`marketing_anomalies`: click fraud and
  abnormal media prices, joined into incidents.

Examples
--------
>>> from toolkit.datasets import make_retail
>>> from toolkit.decisions.marketing import channel_panel
>>> data = make_retail(n_skus=20, n_locations=4, n_days=240, progress=False)
>>> panel = channel_panel(data.orders, data.marketing)
>>> sorted(panel["channel"].unique().tolist())
['app', 'marketplace', 'store', 'web']
"""

from toolkit.decisions.marketing.anomalies import MarketingAnomalies, marketing_anomalies
from toolkit.decisions.marketing.budget import allocate_budget, allocate_budget_lp
from toolkit.decisions.marketing.channels import PanelReport, channel_panel
from toolkit.decisions.marketing.mmm import MarketingMixModel, hill

__all__ = [
    "channel_panel",
    "PanelReport",
    "MarketingMixModel",
    "allocate_budget",
    "allocate_budget_lp",
    "hill",
    "marketing_anomalies",
    "MarketingAnomalies",
]
