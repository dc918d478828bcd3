"""Reading a change's input field by field, collecting every problem with the field it concerns.

Input comes from JSON (the API) or a form, so nothing is trusted: a weight may
arrive as ``"80"``, ``80.5`` or ``true``. Each reader returns the clean value or
``None`` after recording a message that names the field and says what to give.
"""
from __future__ import annotations

import difflib
import re
from collections.abc import Iterable, Mapping
from typing import Any

from .errors import ChangeInvalid

NON_FIELD = "non_field_errors"
# Go's time.ParseDuration units, which Istio's durations accept ("1.5s", "250ms", "1m30s").
_DURATION = re.compile(r"(?:(\d+(?:\.\d*)?|\.\d+)(h|m|s|ms|us|µs|ns))+")
_DURATION_PART = re.compile(r"(\d+(?:\.\d*)?|\.\d+)(h|ms|m|s|us|µs|ns)")
_UNIT_MS = {"h": 3_600_000.0, "m": 60_000.0, "s": 1000.0, "ms": 1.0, "us": 0.001, "µs": 0.001, "ns": 0.000001}


class FieldErrors:
    """Messages per field, raised together as one ChangeInvalid."""

    def __init__(self) -> None:
        self.errors: dict[str, list[str]] = {}

    def add(self, field: str, message: str) -> None:
        self.errors.setdefault(field or NON_FIELD, []).append(message)

    def has(self, field: str) -> bool:
        return field in self.errors

    def __bool__(self) -> bool:
        return bool(self.errors)

    def raise_if_any(self) -> None:
        if self.errors:
            raise ChangeInvalid(self.errors)


def as_mapping(data: Any, errors: FieldErrors, field: str = NON_FIELD, what: str = "The change") -> Mapping[str, Any]:
    if isinstance(data, Mapping):
        return data
    errors.add(field, f"{what} must be an object of fields, not {type(data).__name__}.")
    return {}


def reject_unknown(data: Mapping[str, Any], allowed: Iterable[str], errors: FieldErrors, prefix: str = "") -> None:
    """A misspelt field would otherwise be ignored silently (``weigths`` -> no weights)."""
    allowed = list(allowed)
    for key in data:
        if key in allowed:
            continue
        near = difflib.get_close_matches(str(key), allowed, n=1)
        hint = f" Did you mean {near[0]!r}?" if near else f" Known fields: {', '.join(allowed)}."
        errors.add(f"{prefix}{key}", f"Unknown field {key!r}.{hint}")


def text(data: Mapping[str, Any], field: str, errors: FieldErrors, *, required: bool = True,
         label: str | None = None, path: str | None = None) -> str | None:
    """A non-empty string (trimmed)."""
    path = path or field
    value = data.get(field)
    if value is None or value == "":
        if required:
            errors.add(path, f"Give the {label or field}.")
        return None
    if not isinstance(value, str) or not value.strip():
        errors.add(path, f"The {label or field} must be a text, not {value!r}.")
        return None
    return value.strip()


def flag(data: Mapping[str, Any], field: str, errors: FieldErrors, default: bool = False,
         path: str | None = None) -> bool:
    value = data.get(field, default)
    if value is None:
        return default
    if not isinstance(value, bool):
        errors.add(path or field, f"{field} must be true or false, not {value!r}.")
        return default
    return value


def whole_number(value: Any) -> int | None:
    """An int from JSON: ``80`` or ``80.0``, never ``True``, ``"80"`` or ``80.5``."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return None


def percentage(value: Any, path: str, errors: FieldErrors, what: str) -> float | None:
    """A share of requests, more than 0 and at most 100 (Istio's ``percentage.value``)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        errors.add(path, f"The percentage of {what} must be a number from 0 to 100 (e.g. 50), not {value!r}.")
        return None
    if not 0 < value <= 100:
        errors.add(path, f"The percentage of {what} is {value:g}: give more than 0 and at most 100.")
        return None
    return float(value)


def http_status(value: Any, path: str, errors: FieldErrors) -> int | None:
    status = whole_number(value)
    if status is None or not 200 <= status <= 599:
        errors.add(path, f"The HTTP status must be a whole number from 200 to 599 (e.g. 503), not {value!r}.")
        return None
    return status


def duration_ms(text_value: str) -> float | None:
    """Milliseconds of a Go duration string, or None when it is not one."""
    if not _DURATION.fullmatch(text_value):
        return None
    return sum(float(n) * _UNIT_MS[unit] for n, unit in _DURATION_PART.findall(text_value))


def duration(value: Any, path: str, errors: FieldErrors, what: str) -> str | None:
    """A duration as Istio reads it (``"2s"``, ``"500ms"``, ``"1m30s"``), at least 1ms."""
    if not isinstance(value, str) or duration_ms(value.strip()) is None:
        errors.add(path, f"The {what} must be a duration such as \"2s\", \"500ms\" or \"1m30s\", not {value!r}.")
        return None
    ms = duration_ms(value.strip())
    if ms is None or ms < 1:
        errors.add(path, f"The {what} is {value}: Istio needs at least 1ms.")
        return None
    return value.strip()


def natural_key(version: str) -> tuple:
    """v2 before v10: versions sorted the way people read them."""
    return tuple(int(p) if p.isdigit() else p for p in re.split(r"(\d+)", version))
