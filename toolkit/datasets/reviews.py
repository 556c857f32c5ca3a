"""The ``reviews`` table of the generated supply chain: what customers write after they buy.

Reviews are generated per block of skus from their own random stream
(``numpy.random.default_rng([seed, 5, block])``), after the block's sales and shipments, so
adding them changed no other table. Each order line (a sales row with units sold) gets a
binomial number of reviews (12 % of units online, 4 % in stores, at most 99 per line); a
review is written some days after the purchase -- the delivery's actual days for online
orders, plus a day or two of use -- and reviews that would fall after the calendar's last day
are not written.

What a review says:

* 1-3 clauses about aspects (:data:`~toolkit.datasets.phrases.ASPECTS`) drawn with weights
  that depend on the category (apparel talks about size and fit) and the channel (store
  buyers do not talk about delivery), each positive or, 12 % of the time, negative;
* the unit bought during a batch defect (:mod:`toolkit.datasets.incidents`) is complained
  about (its defect's aspect, negative) with probability 0.7; a price increase brings a price
  complaint with probability ``min(0.8, 0.35 + 1.5 (f - 1))`` for a price ``f`` times the
  usual (0.6-0.8 for a 15-35 % rise); an online delivery ``d >= 1`` days late brings a delivery
  complaint with probability ``min(0.9, 0.05 + 0.12 (d - 1)^2)`` (a day late is common and
  rarely mentioned, four days late nearly always) -- complaints come first in the text;
* the text is assembled from phrase banks with varied phrasing, negation, connectives and
  noise (:class:`~toolkit.datasets.phrases.PhraseBank`);
* ``rating`` (1-5) follows the clauses' polarity with noise: mostly 4-5 when all is well,
  1-2 for a single complaint;
* ``returned``: 3 % of buyers return, 40 % of those who got a defective unit, 15 % of those
  whose delivery was late.

Columns: ``review_id`` (int64, ``order_id * 100 + k``, unique and independent of blocking),
``order_id`` (the order line reviewed), ``review_ts`` (datetime64[ns]), ``sku``,
``location``, ``channel`` (categoricals of the sales table), ``customer_id`` (str),
``rating`` (int8), ``text`` (str), ``returned`` (bool); rows in ``review_id`` order.

Examples
--------
>>> from toolkit.datasets import make_retail
>>> data = make_retail(n_skus=10, n_locations=3, n_days=90, progress=False)
>>> data.reviews.columns.tolist()[:4]
['review_id', 'order_id', 'review_ts', 'sku']
>>> bool(data.reviews["rating"].between(1, 5).all())
True
"""

from __future__ import annotations


import numpy as np
import pandas as pd

from toolkit.datasets.ids import id_strings
from toolkit.datasets.phrases import ASPECTS, PhraseBank
from toolkit.datasets.world import CHANNELS

__all__ = ["REVIEW_COLUMNS", "block_reviews", "delivery_complaint_chance", "empty_reviews"]

REVIEW_COLUMNS = ("review_id", "order_id", "review_ts", "sku", "location", "channel", "customer_id", "rating",
                  "text", "returned")
"""The columns of the reviews table, in order."""
REVIEW_RATE_ONLINE = 0.12
REVIEW_RATE_STORE = 0.04
BASE_NEGATIVE = 0.12
MAX_CLAUSES = 3
_DELIVERY = ASPECTS.index("delivery")
_PRICE = ASPECTS.index("price")
_DAY_NS = 86_400 * 10**9


def _aspect_weights(category: np.ndarray, online: np.ndarray, categories: list[str]) -> np.ndarray:
    """(n, aspects) weights of talking about each aspect unprompted."""
    base = np.array([0.34, 0.04, 0.05, 0.2, 0.2, 0.1])
    weights = np.tile(base, (len(category), 1))
    if "apparel" in categories:
        weights[category == categories.index("apparel"), ASPECTS.index("size_fit")] = 0.35
    weights[~online, _DELIVERY] = 0.0
    weights[~online, ASPECTS.index("service")] = 0.25
    return weights


def delivery_complaint_chance(days_late: np.ndarray) -> np.ndarray:
    """Chance that the review of an online order ``days_late`` days late complains about delivery.

    ``min(0.9, 0.05 + 0.12 (d - 1)^2)`` for ``d >= 1`` day late, 0 when on time.

    Examples
    --------
    >>> delivery_complaint_chance(np.array([0.0, 1.0, 3.0, 5.0])).round(2).tolist()
    [0.0, 0.05, 0.53, 0.9]
    """
    return np.where(days_late > 0, np.minimum(0.9, 0.05 + 0.12 * (days_late - 1) ** 2), 0.0)


def _clauses(rng: np.random.Generator, weights: np.ndarray, forced: np.ndarray
             ) -> tuple[np.ndarray, np.ndarray]:
    """Aspects (n, MAX_CLAUSES; -1 unused) and polarities of each review's clauses.

    ``forced`` (n, aspects) marks complaints the review must make: they come first and are
    negative; the other clauses are drawn without replacement by weight (Gumbel keys).
    """
    n = weights.shape[0]
    n_free = rng.choice([1, 2, 3], size=n, p=[0.45, 0.4, 0.15])
    n_clauses = np.minimum(np.maximum(n_free, forced.sum(axis=1)), MAX_CLAUSES)
    with np.errstate(divide="ignore"):
        keys = np.log(weights) - np.log(-np.log(rng.random(weights.shape)))
    keys[forced] = 1e9 + keys[forced]
    order = np.argsort(-keys, axis=1, kind="stable")[:, :MAX_CLAUSES]
    slot = np.arange(MAX_CLAUSES)[None, :]
    usable = np.take_along_axis(np.isfinite(keys), order, axis=1)
    aspects = np.where((slot < n_clauses[:, None]) & usable, order, -1)
    negative = np.take_along_axis(forced, order, axis=1) | (rng.random(aspects.shape) < BASE_NEGATIVE)
    return aspects, np.where(negative, 0, 1)


def _ratings(rng: np.random.Generator, aspects: np.ndarray, polarity: np.ndarray) -> np.ndarray:
    used = aspects >= 0
    score = np.where(used, np.where(polarity == 1, 1.0, -1.6), 0.0).sum(axis=1) / np.maximum(used.sum(axis=1), 1)
    return np.clip(np.round(4.0 + 1.3 * score + rng.normal(0.0, 0.55, len(score))), 1, 5).astype(np.int8)


def block_reviews(world: dict, block: int, seed: int, sales: pd.DataFrame, shipments: pd.DataFrame,
                  row_offset: int, day_idx: np.ndarray) -> pd.DataFrame:
    """The reviews of one block's order lines (``sales``: the block's sales rows, ``day_idx``
    their day index; ``row_offset``: the global number of the block's first sales row)."""
    rng = np.random.default_rng([seed, 5, block])
    dates = world["dates"]
    n_days = len(dates)
    units = sales["units"].to_numpy()
    sold = np.flatnonzero(units > 0)  # the rows that have an order line
    sku = sales["sku"].cat.codes.to_numpy()[sold].astype(np.int64)
    loc = sales["location"].cat.codes.to_numpy()[sold].astype(np.int64)
    day = day_idx[sold]
    online = world["is_online"][loc]
    rate = np.where(online, REVIEW_RATE_ONLINE, REVIEW_RATE_STORE)
    per_line = np.minimum(rng.binomial(np.minimum(units[sold], 10_000).astype(np.int64), rate), 99)
    line = np.repeat(np.arange(sold.size), per_line)
    n = line.size
    if n == 0:
        return empty_reviews(world)
    order_id = (row_offset + sold + 1).astype(np.int64)[line]
    k = np.arange(n) - np.repeat(np.cumsum(per_line) - per_line, per_line)
    sku, loc, day, online = sku[line], loc[line], day[line], online[line]

    late = np.zeros(n)
    travel = np.zeros(n, dtype=np.int64)
    ship_ids = shipments["shipment_id"].to_numpy()
    if ship_ids.size and online.any():
        at = np.searchsorted(ship_ids, order_id[online])
        actual = shipments["actual_days"].to_numpy().astype(np.int64)[at]
        travel[online] = actual + (shipments["ship_date"].to_numpy()[at] - dates.to_numpy()[day[online]]) // np.timedelta64(1, "D")
        late[online] = np.maximum(actual - shipments["promised_days"].to_numpy()[at], 0)
    review_day = day + travel + rng.geometric(0.5, n) - 1
    seconds = rng.integers(0, 86_400, n)

    plan = world.get("incidents")
    forced = np.zeros((n, len(ASPECTS)), dtype=bool)
    defective = np.zeros(n, dtype=bool)
    if plan is not None:
        defect = plan.defect_aspect[day, sku]
        defective = (defect >= 0) & (rng.random(n) < 0.7)
        forced[np.flatnonzero(defective), defect[defective]] = True
        rise = plan.price_factor[day, sku]
        forced[:, _PRICE] = (rise > 1.0) & (rng.random(n) < np.minimum(0.8, 0.35 + 1.5 * (rise - 1.0)))
    forced[:, _DELIVERY] = rng.random(n) < delivery_complaint_chance(late)
    category = world["products"]["category"].cat.codes.to_numpy().astype(np.int64)[sku]
    categories = [str(c) for c in world["products"]["category"].cat.categories]
    aspects, polarity = _clauses(rng, _aspect_weights(category, online, categories), forced)
    rating = _ratings(rng, aspects, polarity)
    text = PhraseBank(categories).assemble(rng, category, aspects, polarity)
    returned = rng.random(n) < (0.03 + 0.37 * defective + 0.12 * (late > 0))
    customer = rng.integers(1, max(1000, 50 * len(world["skus"])) + 1, n)

    keep = review_day < n_days
    ts = dates.to_numpy()[np.minimum(review_day, n_days - 1)] + seconds.astype("timedelta64[s]")
    reviews = pd.DataFrame({
        "review_id": order_id * 100 + k,
        "order_id": order_id,
        "review_ts": ts.astype("datetime64[ns]"),
        "sku": pd.Categorical.from_codes(sku, categories=world["skus"]),
        "location": pd.Categorical.from_codes(loc, categories=world["location_names"]),
        "channel": pd.Categorical.from_codes(world["channel_of_loc"][loc], categories=CHANNELS),
        "customer_id": id_strings("C", customer, 8),
        "rating": rating,
        "text": pd.Series(text, dtype="str"),
        "returned": returned,
    })
    return reviews.loc[keep].reset_index(drop=True)


def empty_reviews(world: dict) -> pd.DataFrame:
    """A reviews table with no rows and the table's schema."""
    return pd.DataFrame({
        "review_id": np.array([], dtype=np.int64), "order_id": np.array([], dtype=np.int64),
        "review_ts": np.array([], dtype="datetime64[ns]"),
        "sku": pd.Categorical.from_codes([], categories=world["skus"]),
        "location": pd.Categorical.from_codes([], categories=world["location_names"]),
        "channel": pd.Categorical.from_codes([], categories=CHANNELS),
        "customer_id": pd.Series([], dtype="str"), "rating": np.array([], dtype=np.int8),
        "text": pd.Series([], dtype="str"), "returned": np.array([], dtype=bool),
    })
