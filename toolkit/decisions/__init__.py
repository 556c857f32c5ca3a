"""Decision helpers that turn forecasts into stock levels, delivery plans and budgets.

Submodules: :mod:`toolkit.decisions.inventory`, :mod:`toolkit.decisions.logistics`,
:mod:`toolkit.decisions.marketing` (imported on first use).
"""

from __future__ import annotations

import importlib

__all__ = ["inventory", "logistics", "marketing"]


def __getattr__(name: str):
    if name in __all__:
        module = importlib.import_module(f"toolkit.decisions.{name}")
        globals()[name] = module
        return module
    raise AttributeError(f"module 'toolkit.decisions' has no attribute {name!r}")
