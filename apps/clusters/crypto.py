"""Cluster credentials at rest: Fernet, with a list of keys for rotation.

The first key in MESHDECK_ENCRYPTION_KEYS encrypts; all of them decrypt.
Only the embedded default may derive a key from SECRET_KEY; production
settings refuse to start without explicit keys.
"""
from __future__ import annotations

import base64
import hashlib
import json
from typing import Any

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

from apps.core.errors import MeshdeckError


class CredentialsUnreadable(MeshdeckError):
    code = "credentials_unreadable"
    http_status = 503

    def __init__(self) -> None:
        super().__init__(
            "The stored cluster credentials cannot be decrypted with the configured keys "
            "(MESHDECK_ENCRYPTION_KEYS). Restore the key they were saved with, or enter the credentials again."
        )


def generate_key() -> str:
    return Fernet.generate_key().decode()


def _fernet() -> MultiFernet:
    keys = list(settings.MESHDECK_ENCRYPTION_KEYS)
    if not keys:
        if not settings.MESHDECK_ALLOW_DERIVED_KEY:
            raise ImproperlyConfigured("MESHDECK_ENCRYPTION_KEYS is not set; cluster credentials cannot be encrypted.")
        keys = [base64.urlsafe_b64encode(hashlib.sha256(settings.SECRET_KEY.encode()).digest()).decode()]
    fernets = []
    for index, key in enumerate(keys):
        try:
            fernets.append(Fernet(key.encode() if isinstance(key, str) else key))
        except (ValueError, TypeError) as exc:
            raise ImproperlyConfigured(
                f"MESHDECK_ENCRYPTION_KEYS entry {index + 1} is not a valid Fernet key "
                "(32 url-safe base64-encoded bytes; make one with `python manage.py cluster genkey`)."
            ) from exc
    return MultiFernet(fernets)


def encrypt_json(data: dict[str, Any]) -> str:
    return _fernet().encrypt(json.dumps(data, sort_keys=True).encode()).decode()


def decrypt_json(token: str) -> dict[str, Any]:
    if not token:
        return {}
    try:
        return json.loads(_fernet().decrypt(token.encode()))
    except InvalidToken as exc:
        raise CredentialsUnreadable() from exc


def rotate(token: str) -> str:
    """Re-encrypts with the current first key (after adding a new key in front).

    Raises CredentialsUnreadable when no configured key can read ``token``.
    """
    try:
        return _fernet().rotate(token.encode()).decode()
    except InvalidToken as exc:
        raise CredentialsUnreadable() from exc
