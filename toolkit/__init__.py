"""E-commerce supply-chain analytics on GPU dataframes.

``import toolkit as tk`` gives the verbs as submodules, imported on first use so that
``import toolkit`` stays light and touches no GPU library on a CPU machine::

    import toolkit as tk
    data = tk.datasets.make_retail(n_skus=50, n_locations=5, n_days=365)
    tk.backend.current()            # "cpu" or "gpu"
"""

from __future__ import annotations

import importlib
from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("toolkit")
except PackageNotFoundError:  # running from a source tree without installation
    __version__ = "0.0.0+unknown"

_SUBMODULES = (
    "anomaly",
    "backend",
    "cleanse",
    "datasets",
    "decisions",
    "errors",
    "features",
    "forecast",
    "panel",
    "pipeline",
    "plots",
    "regress",
    "report",
    "scale",
    "stream",
    "widgets",
)

__all__ = ["__version__", *_SUBMODULES]


def __getattr__(name: str):
    if name in _SUBMODULES:
        module = importlib.import_module(f"toolkit.{name}")
        globals()[name] = module
        return module
    raise AttributeError(f"module 'toolkit' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(__all__)
