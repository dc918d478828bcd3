"""The hash chain: one canonical serialisation, one hash function. Pure.

An event's hash is SHA-256 over ``meshdeck-audit-v1\\n`` followed by the JSON
array of HASH_FIELDS in this order (compact separators, UTF-8, no NaN).
``before`` and ``after`` are stored as the canonical JSON text that is hashed,
so what the database holds is exactly what was hashed. ``prev_hash`` is in the
array, so changing any event changes every later hash; the first event's
``prev_hash`` is GENESIS.
"""
from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

VERSION_PREFIX = b"meshdeck-audit-v1\n"
GENESIS = "0" * 64

HASH_FIELDS: tuple[str, ...] = (
    "seq", "created_at", "actor_user_id", "actor_username", "actor_auth", "actor_token_id", "actor_detail",
    "ip", "user_agent", "request_id", "action", "target_type", "target_cluster", "target_namespace",
    "target_name", "target_id", "before_json", "after_json", "outcome", "message", "prev_hash",
)

_dumps = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), allow_nan=False).encode
_canonical_dumps = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), allow_nan=False,
                                    sort_keys=True).encode


def canonical_json(value: Any) -> str:
    """Before/after as stored: sorted keys, compact; '' for None."""
    if value is None:
        return ""
    return _canonical_dumps(value)


def format_time(moment: datetime) -> str:
    """UTC, always with microseconds (isoformat drops them when zero)."""
    if moment.utcoffset():
        moment = moment.astimezone(UTC)
    return moment.replace(tzinfo=None).isoformat(timespec="microseconds") + "Z"


def hash_values(values: Sequence[Any]) -> str:
    """``values`` in HASH_FIELDS order, created_at already formatted."""
    return hashlib.sha256(VERSION_PREFIX + _dumps(list(values)).encode()).hexdigest()


def event_hash(fields: dict[str, Any]) -> str:
    values = [fields[name] for name in HASH_FIELDS]
    values[1] = format_time(values[1]) if isinstance(values[1], datetime) else values[1]
    return hash_values(values)
