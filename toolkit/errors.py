"""The toolkit's exceptions, in one place.

``DataValidationError`` is raised for bad input before any work starts; its message names
the column, the rule that failed, how many rows break it and a few offending keys.
``BackendUnavailableError`` is raised when a GPU backend is asked for and none is usable.
"""

from __future__ import annotations

__all__ = ["DataValidationError", "BackendUnavailableError"]


class DataValidationError(ValueError):
    """Input data breaks a rule the called function relies on.

    Parameters
    ----------
    message : str
        Human-readable description: column, rule, count and examples.
    column : str, optional
        The offending column, kept as an attribute for programmatic use.

    Examples
    --------
    >>> raise DataValidationError("column 'units': 3 negative values (keys: ...)", column="units")
    Traceback (most recent call last):
    ...
    toolkit.errors.DataValidationError: column 'units': 3 negative values (keys: ...)
    """

    def __init__(self, message: str, column: str | None = None):
        super().__init__(message)
        self.column = column


class BackendUnavailableError(RuntimeError):
    """The requested compute backend (GPU) cannot be used on this machine."""
