"""The toolkit's exceptions, in one place.

``DataValidationError`` is raised for bad input before any work starts; its message names
the column (or the parameter), the rule that failed, how many rows break it and a few
offending keys. :mod:`toolkit.panel` builds every such message through the two constructors
below, so the format is the same in every module.
``BackendUnavailableError`` is raised when a GPU backend is asked for and none is usable.
"""

from __future__ import annotations

from typing import Any, Iterable

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

    def __init__(self, message: str, column: str | None = None, parameter: str | None = None):
        super().__init__(message)
        self.column = column
        self.parameter = parameter

    @classmethod
    def for_column(
        cls,
        column: str,
        problem: str,
        count: int | None = None,
        examples: Iterable[Any] | None = None,
        limit: int = 5,
    ) -> "DataValidationError":
        """The error in the toolkit's one message format: column, problem, count, a few examples.

        Parameters
        ----------
        column : str
            The offending column.
        problem : str
            What is wrong, e.g. ``"negative values"``.
        count : int, optional
            How many rows break the rule.
        examples : iterable, optional
            Offending keys or rows; the first ``limit`` are shown.

        Examples
        --------
        >>> str(DataValidationError.for_column("units", "negative values", 3, ["a", "b"]))
        "column 'units': negative values (3 offending rows; e.g. ['a', 'b'])"
        """
        message = f"column {column!r}: {problem}"
        if count is not None:
            shown = list(examples)[:limit] if examples is not None else []
            message += f" ({count} offending rows" + (f"; e.g. {shown}" if shown else "") + ")"
        return cls(message, column=column)

    @classmethod
    def for_parameter(cls, name: str, problem: str, value: Any = ..., choices: Iterable[Any] | None = None
                      ) -> "DataValidationError":
        """The error for a bad argument: the parameter, the problem, the value given, the valid choices.

        Examples
        --------
        >>> str(DataValidationError.for_parameter("method", "unknown method", "zz", ["iqr", "zscore"]))
        "parameter 'method': unknown method, got 'zz'; choose from ['iqr', 'zscore']"
        """
        message = f"parameter {name!r}: {problem}"
        if value is not ...:
            message += f", got {value!r}"
        if choices is not None:
            message += f"; choose from {list(choices)}"
        return cls(message, parameter=name)


class BackendUnavailableError(RuntimeError):
    """The requested compute backend (GPU) cannot be used on this machine."""
