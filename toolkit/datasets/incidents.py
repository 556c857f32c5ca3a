"""Latent incidents that customers write about before sales show them.

With ``incident_rate > 0`` :func:`~toolkit.datasets.make_retail` draws, from their own random
stream (``numpy.random.default_rng([seed, 4])``), incidents that move demand, prices,
deliveries and what customers write (:mod:`toolkit.datasets.reviews`):

* **batch defects** of one sku -- ``damaged_batch`` (aspect *damage*), ``defective_batch``
  (*quality*) or, for apparel, ``sizing_defect`` (*size_fit*): bad units ship from the
  incident's first day for 2-6 weeks. Buyers of those units complain and return them; demand
  starts to fall 7-14 days after the first bad unit shipped (returns, word of mouth, the
  product's average rating seen by other shoppers), reaches 35-65 % of normal within a week,
  stays there until the bad batch is gone plus that delay, and recovers over two weeks;
* **price increases** of one sku (``price_increase``, aspect *price*): the price rises by
  15-35 % for 3-8 weeks; demand reacts through the sku's price elasticity, from the first day;
* **carrier problems** (``carrier_problem``, aspect *delivery*): one carrier is late by 2-5
  extra days on every zone for 1-3 weeks (the shipments table gets those delays and their
  ``carrier_delay`` truth rows too); late buyers complain and return more often.

Each incident is recorded in ``truth`` (table ``"reviews"``) as one row per day it is active,
from its first day to the day its effect has gone: ``sku`` (or ``carrier``), ``date`` and
``magnitude`` -- the demand multiplier of that day for batch defects (1.0 on the days before
demand reacts), the price factor for price increases, the extra delivery days for carrier
problems. :data:`INCIDENT_ASPECT` maps each type to the aspect customers complain about.

Design choices
--------------
* ``incident_rate`` (expected incidents per sku and year; carriers get one problem per year
  each at rate 1) defaults to 0: without incidents nothing here runs and every table keeps
  the rows it had before reviews existed, bit for bit.
* The sku of an incident is drawn with weights growing like the square root of its
  popularity (a sku that sells more goes through more batches and more price reviews);
  long-tail skus still get some, with few reviews to reveal them. A draw that would start
  within 30 days of the end of the sku's (or carrier's) previous incident is skipped, so
  incidents of one sku or carrier never overlap and each stays identifiable.

Examples
--------
>>> import numpy as np
>>> from toolkit.datasets.world import build_world
>>> from toolkit.datasets.incidents import draw_incidents
>>> world = build_world(n_skus=20, n_locations=3, n_days=365, start="2024-01-01", seed=0, country="US")
>>> plan = draw_incidents(np.random.default_rng([0, 4]), world, incident_rate=1.0)
>>> plan.demand_factor.shape, bool((plan.demand_factor <= 1).all())
((365, 20), True)
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd

from toolkit.datasets.phrases import ASPECTS
from toolkit.datasets.truth import truth_frame
from toolkit.datasets.world import CARRIERS

__all__ = ["INCIDENT_ASPECT", "IncidentPlan", "draw_incidents", "attach_incidents"]

INCIDENT_ASPECT = {
    "damaged_batch": "damage",
    "defective_batch": "quality",
    "sizing_defect": "size_fit",
    "price_increase": "price",
    "carrier_problem": "delivery",
}
"""The aspect customers complain about during each incident type."""
N_ZONES = 8
RECOVERY_DAYS = 14
RAMP_DAYS = 7


@dataclasses.dataclass
class IncidentPlan:
    """What the incidents do to a generated world.

    Attributes
    ----------
    demand_factor, price_factor : ndarray (days, skus)
        Multipliers of latent demand and of price.
    defect_aspect : ndarray (days, skus) of int8
        Index in :data:`toolkit.datasets.phrases.ASPECTS` of the defect a unit sold that day
        carries, -1 for a good unit.
    lanes : list of tuple
        Carrier problems as lane delays ``(carrier, zone, first day, n days, extra days)``, the
        form of :func:`toolkit.datasets.truth.carrier_incidents`.
    truth : DataFrame
        One truth row per incident and active day.
    """

    demand_factor: np.ndarray
    price_factor: np.ndarray
    defect_aspect: np.ndarray
    lanes: list
    truth: pd.DataFrame


def _batch_profile(n_days: int, first: int, length: int, delay: int, depth: float) -> tuple[np.ndarray, int]:
    """Demand multiplier of a batch defect over the calendar, and the last day it is below 1."""
    days = np.arange(n_days)
    onset = first + delay
    fixed = first + length + delay  # the last bad unit's buyers have spread the word by then
    down = np.clip((days - onset + 1) / RAMP_DAYS, 0.0, 1.0)
    up = np.clip((days - fixed) / RECOVERY_DAYS, 0.0, 1.0)
    factor = 1.0 - (1.0 - depth) * down * (1.0 - up)
    return factor, min(n_days - 1, fixed + RECOVERY_DAYS - 1)


def draw_incidents(rng: np.random.Generator, world: dict, incident_rate: float) -> IncidentPlan:
    """Draw the incidents of a world (``incident_rate`` incidents per sku and year).

    Parameters
    ----------
    rng : numpy Generator
        The incidents' own stream.
    world : dict
        :func:`toolkit.datasets.world.build_world`'s output.
    incident_rate : float
        Expected incidents per sku per year (> 0).

    Returns
    -------
    IncidentPlan
    """
    dates = world["dates"]
    n_days, n_skus = len(dates), len(world["skus"])
    years = n_days / 365.0
    category = world["products"]["category"].astype(str).to_numpy()
    demand = np.ones((n_days, n_skus))
    price = np.ones((n_days, n_skus))
    defect = np.full((n_days, n_skus), -1, dtype=np.int8)
    truths: list[pd.DataFrame] = []
    weight = np.sqrt(world["popularity"])
    weight /= weight.sum()
    busy_until = np.full(n_skus, -1)  # incidents of one sku do not overlap (nor follow within a month)
    for _ in range(rng.poisson(incident_rate * n_skus * years)):
        sku = int(rng.choice(n_skus, p=weight))
        first = int(rng.integers(7, max(8, n_days - 14)))
        batch = rng.random() < 0.65
        if first <= busy_until[sku] + 30:
            continue
        if batch:
            kind = "sizing_defect" if category[sku] == "apparel" else str(rng.choice(["damaged_batch",
                                                                                     "defective_batch"]))
            length, delay, depth = int(rng.integers(14, 43)), int(rng.integers(7, 15)), float(rng.uniform(0.35, 0.65))
            factor, last = _batch_profile(n_days, first, length, delay, depth)
            demand[:, sku] *= factor
            bad = slice(first, min(n_days, first + length))
            defect[bad, sku] = ASPECTS.index(INCIDENT_ASPECT[kind])
            magnitude = factor[first:last + 1]
        else:
            kind, length, rise = "price_increase", int(rng.integers(21, 57)), float(rng.uniform(1.15, 1.35))
            last = min(n_days - 1, first + length - 1)
            price[first:last + 1, sku] *= rise
            magnitude = np.full(last - first + 1, rise)
        busy_until[sku] = last
        n = last - first + 1
        truths.append(truth_frame("reviews", kind, n, sku=np.full(n, world["skus"][sku], dtype=object),
                                  date=dates.to_numpy()[first:last + 1], magnitude=magnitude))
    lanes = []
    carrier_busy = np.full(len(CARRIERS), -1)
    for _ in range(rng.poisson(incident_rate * len(CARRIERS) * years)):
        carrier, first = int(rng.integers(0, len(CARRIERS))), int(rng.integers(7, max(8, n_days - 14)))
        length, extra = int(rng.integers(7, 22)), float(rng.integers(2, 6))
        if first <= carrier_busy[carrier] + 30:
            continue
        lanes += [(carrier, zone, first, length, extra) for zone in range(1, N_ZONES + 1)]
        last = min(n_days - 1, first + length - 1)
        carrier_busy[carrier] = last
        n = last - first + 1
        truths.append(truth_frame("reviews", "carrier_problem", n, carrier=np.full(n, CARRIERS[carrier], dtype=object),
                                  date=dates.to_numpy()[first:last + 1], magnitude=np.full(n, extra)))
    truth = pd.concat(truths, ignore_index=True) if truths else truth_frame("reviews", "damaged_batch", 0)
    return IncidentPlan(demand, price, defect, lanes, truth)


def attach_incidents(world: dict, seed: int, incident_rate: float) -> dict:
    """``world`` with its ``incidents`` (an :class:`IncidentPlan`, or None at rate 0) added."""
    world["incidents"] = (draw_incidents(np.random.default_rng([seed, 4]), world, incident_rate)
                          if incident_rate > 0 else None)
    return world
