"""Synthetic e-commerce supply chain (with ground truth) and loaders for real data.

:func:`make_retail` generates a coherent little world, deterministic by ``seed``:

* **products** and **locations** (online channels web/app/marketplace and stores, each served
  by a warehouse);
* **sales**, a daily (sku, location) panel whose latent demand has a trend, weekly and yearly
  seasonality, holiday effects (the ``holidays`` package), promotions with price elasticity,
  intermittent long-tail skus, an additive marketing response per channel, and stock-outs
  that censor what is sold;
* **inventory**, simulated day by day per (sku, warehouse) under an (s, S) policy with supplier
  lead times -- the same simulation that censors sales, so the two tables agree;
* **orders** (one line per sales row with units sold, with customers), **shipments** (one per
  online order line: carrier, zone, distance, promised vs actual days), **marketing** (spend,
  impressions, clicks, conversions per channel and day) and **response**, the true
  adstock/saturation parameters and ROI of every marketing channel;
* **truth**: every injected anomaly (demand spike/drop, missing value, negative quantity,
  duplicated order, carrier delay, inventory shrink, click fraud) with its table and keys;
* **reviews**: what customers write after they buy (rating, text, returned), driven, with
  ``incident_rate > 0``, by latent incidents (batch defects, price increases, carrier
  problems) that also move demand, prices and deliveries and are listed in ``truth``.

:func:`write_parquet` streams the same data to partitioned Parquet with a manifest, and
:func:`load_parquet` reads it back after checking the files against the manifest;
:func:`load_electronic_sales` maps a real order-line dataset onto the orders schema;
:func:`load_drug_reviews` reads a real review corpus with rating classes.

The package, by concern:

* :mod:`~toolkit.datasets.world` -- products, locations, calendar effects, the marketing plan;
* :mod:`~toolkit.datasets.blocks` -- one block of skus: demand, inventory simulation, the
  per-sku tables;
* :mod:`~toolkit.datasets.truth` -- anomaly injection and the truth table;
* :mod:`~toolkit.datasets.retail` -- :class:`RetailData`, :func:`make_retail`, parameter checks;
* :mod:`~toolkit.datasets.manifest` and :mod:`~toolkit.datasets.parquet` -- on disk;
* :mod:`~toolkit.datasets.incidents`, :mod:`~toolkit.datasets.phrases`,
  :mod:`~toolkit.datasets.reviews` -- latent incidents, phrase banks and the reviews table;
* :mod:`~toolkit.datasets.real` and :mod:`~toolkit.datasets.real_reviews` -- real-data loaders.

Design choices
--------------
* Generation runs in blocks of :data:`BLOCK_SKUS` skus, each with its own random stream
  (``numpy.random.default_rng([seed, stream, block])``), so the data do not depend on how they
  are written: :func:`write_parquet` streams blocks to partitioned Parquet with memory bounded
  by one block, and gives exactly the rows :func:`make_retail` gives in memory.
* The day-by-day inventory simulation is a loop over days vectorised over all (sku, warehouse)
  pairs of a block: a day depends on the day before, a sku never on another sku.
* Shipments are one per online order line; ``shipment_id`` equals the order line's
  ``order_id``. Orders have one line per sales row with units sold, ``order_id`` being the
  global row number of that sales row (unique and independent of blocking).
* Frames are created with pandas and moved to cuDF when the backend is ``gpu``; generation
  itself is NumPy (the work is dominated by random draws and a sequential inventory loop).
* A dataset directory without a manifest is refused by the readers unless they are called
  with ``check_manifest=False`` (see :mod:`toolkit.datasets.manifest`).
* Non-finite values: the generator's only missing values are the injected ``missing_value``
  anomalies (NaN ``units`` in sales, NaN ``unit_price`` in orders), each recorded in ``truth``.

Examples
--------
>>> from toolkit.datasets import make_retail
>>> data = make_retail(n_skus=20, n_locations=4, n_days=120, seed=1, progress=False)
>>> sorted(data.tables)[:3]
['inventory', 'locations', 'marketing']
>>> sales_truth = data.truth[data.truth["table"] == "sales"]
>>> int(data.sales["units"].isna().sum()) == int((sales_truth["type"] == "missing_value").sum())
True
"""

from toolkit.datasets.blocks import BLOCK_SKUS
from toolkit.datasets.parquet import load_parquet, write_parquet
from toolkit.datasets.real import load_electronic_sales
from toolkit.datasets.real_reviews import load_drug_reviews
from toolkit.datasets.retail import TABLES, RetailData, make_retail

__all__ = [
    "RetailData",
    "make_retail",
    "write_parquet",
    "load_parquet",
    "load_electronic_sales",
    "load_drug_reviews",
    "BLOCK_SKUS",
    "TABLES",
]
