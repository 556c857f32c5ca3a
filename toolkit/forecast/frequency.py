"""Defaults that follow from the frequency: the horizon, the moving-average window, the season.

Every forecaster takes ``horizon=None`` (and the seasonal baselines ``season=None``,
``window=None``) to mean "what suits the data's frequency": the frequency given, or the one
:func:`toolkit.panel.infer_freq` reads off the training data. The tables are per calendar
unit (:func:`toolkit.panel.calendar_unit`); horizons follow the M4 competition's (18
months, 8 quarters, 13 weeks, 48 hours, 6 years), except daily data, which keeps the
toolkit's four weeks. The season length is :func:`toolkit.panel.season_length`.

Examples
--------
>>> default_horizon("MS"), default_horizon("D"), default_window("W-SUN"), default_season("QS")
(18, 28, 13, 4)
"""

from __future__ import annotations

from typing import Any

from toolkit.panel import calendar_unit, season_length

__all__ = ["HORIZONS", "WINDOWS", "default_horizon", "default_window", "default_season"]

HORIZONS = {"s": 60, "min": 60, "h": 48, "D": 28, "B": 20, "W": 13, "M": 18, "Q": 8, "Y": 6}
"""Default forecast horizon (steps) per calendar unit."""
WINDOWS = {"s": 60, "min": 60, "h": 24, "D": 28, "B": 20, "W": 13, "M": 12, "Q": 4, "Y": 3}
"""Default moving-average window (steps) per calendar unit."""


def default_horizon(freq: Any) -> int:
    """Steps ahead a forecaster predicts by default at ``freq``."""
    return HORIZONS[calendar_unit(freq)]


def default_window(freq: Any) -> int:
    """Moving-average window by default at ``freq``."""
    return WINDOWS[calendar_unit(freq)]


def default_season(freq: Any) -> int:
    """Season length (steps) at ``freq``."""
    return season_length(freq)
