"""Unix times that arrive in query strings (``at=``, ``since=``, ``until=``, ...).

One parser for every read that takes a moment, so every endpoint gives the same
400 for the same bad input. A value must be a finite number of seconds after the
epoch that a date can hold: 1e238 is a float, but no ``datetime`` reaches it, and
turning it into one used to answer 500.
"""

from __future__ import annotations

import math
from typing import Any, overload

from .errors import FieldInputError

# 9999-12-31T23:59:59Z, the last second Python's datetime can represent.
LATEST = 253402300799.0


@overload
def parse_unix_time(raw: Any, name: str, default: float) -> float: ...
@overload
def parse_unix_time(raw: Any, name: str, default: None = None) -> float | None: ...
def parse_unix_time(raw: Any, name: str, default: float | None = None) -> float | None:
    """``raw`` as unix seconds; ``default`` when absent; FieldInputError (400) naming ``name`` otherwise."""
    if raw in (None, ""):
        return default
    try:
        value = float(raw)
    except (TypeError, ValueError):
        value = math.nan
    if not (0 < value <= LATEST):  # also false for NaN
        raise FieldInputError(name, f"{name} must be a unix time in seconds between 1 and {LATEST:.0f} (year 9999)")
    return value
