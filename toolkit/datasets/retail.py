"""The generated supply chain in memory: :class:`RetailData` and :func:`make_retail`.

:func:`make_retail` checks its parameters (:func:`generator_params`), builds the shared world
(:mod:`toolkit.datasets.world`), generates every block of skus
(:mod:`toolkit.datasets.blocks`), then the small tables (products, locations, marketing with
click fraud, the true media response and the sorted truth) and, on the GPU backend, moves
every frame to cuDF. Generation itself is NumPy and pandas: the work is dominated by random
draws and a sequential inventory loop.

Examples
--------
>>> from toolkit.datasets import make_retail
>>> data = make_retail(n_skus=5, n_locations=3, n_days=60, progress=False)
>>> len(data.sales) == 5 * 3 * 60, data.params["seed"]
(True, 0)
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import inspect
import os
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from toolkit import backend as backends
from toolkit.datasets.blocks import PANEL_TABLES, iter_blocks
from toolkit.datasets.incidents import attach_incidents
from toolkit.datasets.manifest import (
    MANIFEST,
    clear_table,
    schema_of,
    table_entry,
    write_manifest,
)
from toolkit.datasets.truth import inject_click_fraud
from toolkit.datasets.world import CHANNELS, build_world
from toolkit.errors import DataValidationError
from toolkit.panel.checks import check_choice, check_int, check_number

__all__ = ["RetailData", "make_retail", "generator_params", "TABLES", "GENERATOR_PARAMS", "place", "resolve_backend", "small_tables"]

TABLES = (
    "products",
    "locations",
    "sales",
    "orders",
    "inventory",
    "shipments",
    "marketing",
    "response",
    "truth",
    "reviews",
)
"""Every table of a :class:`RetailData`, in this order."""
GENERATOR_PARAMS = ("n_skus", "n_locations", "n_days", "start", "seed", "anomaly_rate", "country", "incident_rate")
"""The parameters that decide the data (:func:`make_retail`'s, less where and how they are produced)."""
BACKENDS = ("cpu", "gpu", "auto")


@dataclasses.dataclass
class RetailData:
    """The tables of a generated (or loaded) e-commerce supply chain.

    Attributes
    ----------
    products, locations, sales, orders, inventory, shipments, marketing, response, truth, reviews : frame
        See :mod:`toolkit.datasets` and ``datasets/README.md`` for every column; ``None`` for
        a table not loaded.
    params : dict
        The generator parameters the data were made with (also when loaded from Parquet).

    Examples
    --------
    >>> data = make_retail(n_skus=5, n_locations=3, n_days=60, progress=False)
    >>> data.sales.columns.tolist()[:4]
    ['sku', 'location', 'channel', 'date']
    """

    products: Any
    locations: Any
    sales: Any
    orders: Any
    inventory: Any
    shipments: Any
    marketing: Any
    response: Any
    truth: Any
    reviews: Any = None
    params: dict = dataclasses.field(default_factory=dict)

    @property
    def tables(self) -> dict[str, Any]:
        """The frames by name."""
        return {name: getattr(self, name) for name in TABLES}

    def to_parquet(self, path: str | os.PathLike) -> Path:
        """Write every table to ``path/<table>.parquet`` and a ``manifest.json`` (the directory is created).

        :func:`toolkit.datasets.load_parquet` reads them back with identical values and
        dtypes, after checking the files against the manifest. Tables that are ``None`` are
        not written (nor listed). Files of the same tables already there are replaced.

        Returns
        -------
        pathlib.Path
            ``path``.
        """
        out = Path(path)
        out.mkdir(parents=True, exist_ok=True)
        (out / MANIFEST).unlink(missing_ok=True)
        entries = {}
        for name, frame in self.tables.items():
            if frame is None:
                continue
            host = backends.to_host(frame)
            clear_table(out, name)
            host.to_parquet(out / f"{name}.parquet", index=False)
            entries[name] = table_entry([f"{name}.parquet"], [len(host)], schema_of(host))
        write_manifest(out, entries, self.params)
        return out

    def __repr__(self) -> str:
        sizes = ", ".join(f"{name}={len(frame):,}" for name, frame in self.tables.items() if frame is not None)
        return f"RetailData({sizes})"


def generator_params(**given: Any) -> dict[str, Any]:
    """:func:`make_retail`'s generator parameters, its defaults filled in, every one checked.

    Raises
    ------
    DataValidationError
        An unknown parameter name (the valid ones are listed), a size that is not a whole
        number (``n_skus`` and ``n_locations`` >= 1, ``n_days`` >= 28), a negative or
        non-integer ``seed``, ``anomaly_rate`` outside [0, 0.05], a ``start`` that is not a
        timezone-naive date, a calendar running past 2262 (pandas' last date), a
        ``country`` that is not a string, or ``incident_rate`` outside [0, 12].

    Examples
    --------
    >>> generator_params(n_skus=10)["n_days"]
    730
    """
    for name in given:
        check_choice("params", name, GENERATOR_PARAMS)
    defaults = {name: p.default for name, p in inspect.signature(make_retail).parameters.items()
                if name in GENERATOR_PARAMS}
    params = {**defaults, **given}
    params["n_skus"] = check_int("n_skus", params["n_skus"], minimum=1)
    params["n_locations"] = check_int("n_locations", params["n_locations"], minimum=1)
    params["n_days"] = n_days = check_int("n_days", params["n_days"], minimum=28)
    params["seed"] = check_int("seed", params["seed"], minimum=0)
    params["anomaly_rate"] = check_number("anomaly_rate", params["anomaly_rate"], 0.0, 0.05)
    params["incident_rate"] = check_number("incident_rate", params["incident_rate"], 0.0, 12.0)
    if not isinstance(params["country"], str):
        raise DataValidationError.for_parameter("country", "expected a country code string (e.g. 'US')",
                                                params["country"])
    if not isinstance(params["start"], (str, dt.date, np.datetime64)):
        raise DataValidationError.for_parameter("start", "expected a date (a string such as '2024-01-01', a date "
                                                "or a Timestamp)", params["start"])
    try:
        start = pd.Timestamp(params["start"])
    except (ValueError, TypeError, OverflowError) as err:
        raise DataValidationError.for_parameter("start", f"not a date ({err})", params["start"]) from err
    if start is pd.NaT or start.tz is not None:
        raise DataValidationError.for_parameter("start", "expected a timezone-naive date", params["start"])
    if n_days + 366 > (pd.Timestamp.max - start).days:
        raise DataValidationError.for_parameter("n_days", "the calendar would run past pandas' last date (2262)",
                                                n_days)
    return params


def make_retail(
    n_skus: int = 200,
    n_locations: int = 5,
    n_days: int = 730,
    start: str = "2024-01-01",
    seed: int = 0,
    anomaly_rate: float = 0.002,
    backend: str | None = None,
    country: str = "US",
    progress: bool = True,
    incident_rate: float = 0.0,
) -> RetailData:
    """Generate a synthetic e-commerce supply chain with known ground truth.

    Parameters
    ----------
    n_skus : int
        Number of products (>= 1).
    n_locations : int
        Number of selling locations (>= 1): the first three are the online channels web,
        app and marketplace (fewer if ``n_locations < 3``), the rest are stores.
    n_days : int
        Length of the daily history (at least 28).
    start : str
        First date (timezone-naive).
    seed : int
        Seed (>= 0); the same arguments give identical data.
    anomaly_rate : float
        Share of rows of each table that get an injected anomaly (recorded in ``truth``),
        in [0, 0.05].
    backend : {"cpu", "gpu", "auto"}, optional
        Where the frames are created; default :func:`toolkit.backend.current`.
    country : str
        Holiday calendar (``holidays`` package country code).
    progress : bool
        Show a progress bar over blocks of skus.
    incident_rate : float
        Latent incidents (batch defects, price increases; carrier problems) per sku and year,
        in [0, 12], that move demand, prices, deliveries, returns and what the reviews say
        (:mod:`toolkit.datasets.incidents`), each recorded in ``truth``. The default 0 draws
        none, and the other tables are then exactly those of a toolkit without reviews.

    Returns
    -------
    RetailData
        Sales have ``n_skus * n_locations * n_days`` rows.

    Raises
    ------
    DataValidationError
        A parameter out of its range (see :func:`generator_params`), an unknown ``backend``.
    toolkit.errors.BackendUnavailableError
        ``backend="gpu"`` without a usable GPU.

    Examples
    --------
    >>> data = make_retail(n_skus=10, n_locations=4, n_days=90, progress=False)
    >>> len(data.sales) == 10 * 4 * 90
    True
    """
    params = generator_params(n_skus=n_skus, n_locations=n_locations, n_days=n_days, start=start, seed=seed,
                              anomaly_rate=anomaly_rate, country=country, incident_rate=incident_rate)
    target = resolve_backend(backend)
    world = attach_incidents(build_world(params["n_skus"], params["n_locations"], params["n_days"], params["start"],
                                         params["seed"], params["country"]), params["seed"], params["incident_rate"])
    parts: dict[str, list] = {name: [] for name in (*PANEL_TABLES, "truth", "revenue")}
    for frames in iter_blocks(world, params["seed"], params["anomaly_rate"], progress):
        for name in parts:
            parts[name].append(frames[name])
    tables = {name: pd.concat(parts[name], ignore_index=True) for name in PANEL_TABLES}
    small = small_tables(world, params["seed"], params["anomaly_rate"], parts["truth"], parts["revenue"])
    return place(RetailData(**tables, **small, params=params), target)


def resolve_backend(backend: str | None) -> str:
    """``"cpu"`` or ``"gpu"``: where new frames go for a ``backend`` argument (None: the current backend).

    Raises
    ------
    DataValidationError
        ``backend`` is not one of cpu, gpu, auto.
    toolkit.errors.BackendUnavailableError
        ``"gpu"`` without a usable GPU.
    """
    name = None if backend is None else check_choice("backend", backend, BACKENDS)
    return "gpu" if backends.frame_module(name).__name__ == "cudf" else "cpu"


def place(data: Any, target: str) -> Any:
    """A frame, or every table of a RetailData, moved to the GPU when ``target`` is ``"gpu"``."""
    if target != "gpu":
        return data
    if isinstance(data, RetailData):
        for table, frame in data.tables.items():
            if frame is not None:
                setattr(data, table, backends.to_device(frame))
        return data
    return backends.to_device(data)


def small_tables(world: dict, seed: int, anomaly_rate: float, truths: list, revenues: list) -> dict[str, Any]:
    """Products, locations, marketing (with click fraud), response and the sorted truth."""
    marketing = world["marketing"].copy()
    click_truth = inject_click_fraud(np.random.default_rng([seed, 3]), marketing, anomaly_rate)
    response = pd.DataFrame(world["response_params"])
    by_channel = np.sum(revenues, axis=0)
    response["incremental_revenue"] = [by_channel[CHANNELS.index(c)] for c in response["channel"]]
    response["roi"] = response["incremental_revenue"] / response["spend_total"]
    response["channel"] = pd.Categorical(response["channel"], categories=CHANNELS)
    incidents = [world["incidents"].truth] if world.get("incidents") is not None else []
    truth = pd.concat([*truths, click_truth, *incidents], ignore_index=True)
    order = ["table", "type", "date", "sku", "location", "warehouse", "carrier", "zone", "order_id"]
    truth = truth.sort_values(order, kind="stable", na_position="first").reset_index(drop=True)
    return {"products": world["products"], "locations": world["locations"], "marketing": marketing,
            "response": response, "truth": truth}
