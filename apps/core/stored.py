"""Versioned, canonical JSON for data Meshdeck stores (inventories, traffic of a window).

Every stored document starts with ``{"format": "<name>", "version": <int>}``.
A reader accepts only the versions it knows and says so in a ``FormatError``
that names what it found and what it reads, never a ``KeyError`` from deep
inside. Fields a writer may leave out are optional for the reader.

``canonical_json(doc)`` is the byte form: keys sorted, no spaces, UTF-8, no
NaN/Infinity (strict JSON). Writers put their lists in a fixed order, so equal
data gives equal bytes and a content hash of the bytes can address it.
"""
from __future__ import annotations

import json
import math
from collections.abc import Callable
from typing import Any, TypeVar

from .errors import MeshdeckError

T = TypeVar("T")
_MISSING: Any = object()


class FormatError(MeshdeckError):
    """Stored data that this version of Meshdeck cannot read (unknown version, malformed)."""

    code = "unsupported_format"
    http_status = 503


def canonical_json(doc: Any) -> bytes:
    """The one byte form of a JSON-safe document: equal documents, equal bytes."""
    return json.dumps(doc, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False).encode()


def check_format(data: Any, name: str, versions: tuple[int, ...]) -> int:
    """The document's version; FormatError unless it is a ``name`` document in one of ``versions``."""
    if not isinstance(data, dict):
        raise FormatError(f"stored {name} data is not a JSON object (got {type(data).__name__})")
    found = data.get("format")
    if found != name:
        raise FormatError(f"stored data is {found!r}, not {name!r}: it cannot be read as {name}")
    version = data.get("version")
    if version not in versions:
        readable = ", ".join(str(v) for v in versions)
        raise FormatError(
            f"stored {name} data has version {version!r}, which this version of Meshdeck cannot read "
            f"(it reads version {readable}); upgrade Meshdeck, or take a new snapshot"
        )
    return version


def encode_float(value: float) -> float | str:
    """A finite number as a float (so 5 and 5.0 write the same bytes); NaN and infinities as
    Prometheus spells them ("NaN", "+Inf", "-Inf")."""
    if math.isfinite(value):
        return float(value)
    if math.isnan(value):
        return "NaN"
    return "+Inf" if value > 0 else "-Inf"


def decode_float(raw: Any, where: str) -> float:
    if isinstance(raw, bool) or not isinstance(raw, (int, float, str)):
        raise FormatError(f"{where}: expected a number, got {type(raw).__name__}")
    if isinstance(raw, str) and raw not in ("NaN", "+Inf", "-Inf"):
        raise FormatError(f"{where}: expected a number, got {raw!r}")
    return float(raw)


def json_safe(value: Any, where: str) -> Any:
    """A deep copy of ``value`` made of JSON types only; FormatError names the first part that is not."""
    if value is None or isinstance(value, (bool, int, str)):
        return value
    if isinstance(value, float):
        if not math.isfinite(value):
            raise FormatError(f"{where}: {value} cannot be stored as JSON")
        return value
    if isinstance(value, dict):
        out = {}
        for key, item in value.items():
            if not isinstance(key, str):
                raise FormatError(f"{where}: key {key!r} is not a string")
            out[key] = json_safe(item, f"{where}.{key}")
        return out
    if isinstance(value, (list, tuple)):
        return [json_safe(item, f"{where}[{i}]") for i, item in enumerate(value)]
    raise FormatError(f"{where}: a {type(value).__name__} cannot be stored as JSON")


class Reader:
    """Typed access to one stored JSON object; every error names the field's path."""

    def __init__(self, data: Any, where: str):
        if not isinstance(data, dict):
            raise FormatError(f"{where}: expected an object, got {type(data).__name__}")
        self.data, self.where = data, where

    def _get(self, key: str, default: Any) -> Any:
        if key in self.data:
            return self.data[key]
        if default is _MISSING:
            raise FormatError(f"{self.where}: {key!r} is missing")
        return default

    def _typed(self, key: str, default: Any, types: tuple[type, ...], what: str) -> Any:
        value = self._get(key, default)
        if value is default and default is not _MISSING:
            return value
        if isinstance(value, bool) and bool not in types or not isinstance(value, types):
            raise FormatError(f"{self.where}.{key}: expected {what}, got {type(value).__name__}")
        return value

    def string(self, key: str, default: Any = _MISSING) -> str:
        return self._typed(key, default, (str,), "a string")

    def integer(self, key: str, default: Any = _MISSING) -> int:
        return self._typed(key, default, (int,), "a whole number")

    def number(self, key: str, default: Any = _MISSING) -> float:
        value = self._get(key, default)
        return value if value is default and default is not _MISSING else decode_float(value, f"{self.where}.{key}")

    def boolean(self, key: str, default: Any = _MISSING) -> bool:
        return self._typed(key, default, (bool,), "true or false")

    def strings(self, key: str) -> dict[str, str]:
        """A string -> string map (labels, selectors, annotations); missing means empty."""
        value = self._typed(key, {}, (dict,), "an object")
        if not all(isinstance(k, str) and isinstance(v, str) for k, v in value.items()):
            raise FormatError(f"{self.where}.{key}: expected string values")
        return dict(value)

    def json_object(self, key: str) -> dict[str, Any]:
        """Any JSON object (an Istio spec); missing means empty."""
        return json_safe(self._typed(key, {}, (dict,), "an object"), f"{self.where}.{key}")

    def items(self, key: str, load: Callable[[Any, str], T], default: Any = _MISSING) -> list[T]:
        """A list whose items ``load(item, path)`` reads; missing means ``default`` (else an error)."""
        value = self._get(key, default)
        if value is default and default is not _MISSING:
            return list(value)
        if not isinstance(value, list):
            raise FormatError(f"{self.where}.{key}: expected a list, got {type(value).__name__}")
        return [load(item, f"{self.where}.{key}[{i}]") for i, item in enumerate(value)]
