"""Secrets never enter the trail: values under secret-looking keys are replaced.

Redaction is by key, at any depth, so a service that passes a whole settings
dict (a cluster's credentials, a kubeconfig, a password) cannot leak it. The
marker keeps "a secret was set/changed" visible without its value.
"""
from __future__ import annotations

from typing import Any

REDACTED = "[redacted]"
_SECRET_PARTS = (
    "password", "passwd", "secret", "token", "kubeconfig", "credential", "private_key", "privatekey",
    "client_key", "client-key", "authorization", "api_key", "apikey", "key_hash", "bearer", "cookie",
)
# Identifiers and metadata about a secret are not the secret.
_SAFE_SUFFIXES = ("_id", "_prefix", "_count", "_at", "_method", "_name")


def is_secret_key(key: Any) -> bool:
    name = str(key).lower()
    if name.endswith(_SAFE_SUFFIXES):
        return False
    return any(part in name for part in _SECRET_PARTS)


def redact(value: Any) -> Any:
    if isinstance(value, dict):
        return {
            str(k): (REDACTED if is_secret_key(k) and v not in (None, "", {}, []) else redact(v))
            for k, v in value.items()
        }
    if isinstance(value, (list, tuple)):
        return [redact(v) for v in value]
    return value
