"""Checkpoint signatures: Ed25519, key from the environment, never the database.

``MESHDECK_AUDIT_KEY`` is the private key (32 random bytes, url-safe base64;
``manage.py audit genkey`` makes one). Verifying needs only public keys: the
current key's, plus ``MESHDECK_AUDIT_VERIFY_KEYS`` (public keys of retired
signing keys, comma-separated) so old checkpoints still verify after rotation.
Each checkpoint names its key by ``key_id`` (first 16 hex digits of the
SHA-256 of the raw public key).
"""
from __future__ import annotations

import base64
import binascii
import hashlib
import json
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured


def _b64decode(text: str, what: str) -> bytes:
    try:
        raw = base64.urlsafe_b64decode(text.strip() + "=" * (-len(text.strip()) % 4))
    except (binascii.Error, ValueError) as exc:
        raise ImproperlyConfigured(
            f"{what} is not url-safe base64 (make one with `python manage.py audit genkey`)."
        ) from exc
    if len(raw) != 32:
        raise ImproperlyConfigured(f"{what} must be 32 bytes (make one with `python manage.py audit genkey`).")
    return raw


def b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def public_bytes(key: Ed25519PublicKey) -> bytes:
    return key.public_bytes(Encoding.Raw, PublicFormat.Raw)


def key_id(key: Ed25519PublicKey) -> str:
    return hashlib.sha256(public_bytes(key)).hexdigest()[:16]


def private_key_from_text(text: str) -> Ed25519PrivateKey:
    """MESHDECK_AUDIT_KEY's value as a key; ImproperlyConfigured naming the variable if it is not one."""
    return Ed25519PrivateKey.from_private_bytes(_b64decode(text, "MESHDECK_AUDIT_KEY"))


def signing_key() -> Ed25519PrivateKey:
    raw = getattr(settings, "MESHDECK_AUDIT_KEY", "")
    if raw:
        return private_key_from_text(raw)
    if not getattr(settings, "MESHDECK_ALLOW_DERIVED_KEY", False):
        raise ImproperlyConfigured("MESHDECK_AUDIT_KEY is not set; audit checkpoints cannot be signed.")
    # Embedded default only: a key derived from SECRET_KEY (production refuses this).
    seed = hashlib.sha256(b"meshdeck-audit-key:" + settings.SECRET_KEY.encode()).digest()
    return Ed25519PrivateKey.from_private_bytes(seed)


def verify_keys() -> dict[str, Ed25519PublicKey]:
    keys: dict[str, Ed25519PublicKey] = {}
    try:
        current = signing_key().public_key()
        keys[key_id(current)] = current
    except ImproperlyConfigured:
        pass  # verifying with public keys only is allowed
    for index, text in enumerate(getattr(settings, "MESHDECK_AUDIT_VERIFY_KEYS", []) or []):
        public = Ed25519PublicKey.from_public_bytes(_b64decode(text, f"MESHDECK_AUDIT_VERIFY_KEYS entry {index + 1}"))
        keys[key_id(public)] = public
    return keys


def generate_key() -> tuple[str, str]:
    """(private key for MESHDECK_AUDIT_KEY, its public key for MESHDECK_AUDIT_VERIFY_KEYS)."""
    private = Ed25519PrivateKey.generate()
    from cryptography.hazmat.primitives.serialization import NoEncryption, PrivateFormat

    raw = private.private_bytes(Encoding.Raw, PrivateFormat.Raw, NoEncryption())
    return b64(raw), b64(public_bytes(private.public_key()))


def checkpoint_payload(*, seq: int, event_hash: str, signed_at: str, prev_signature: str, key: str) -> str:
    """The exact text that is signed (stored beside the signature)."""
    return json.dumps(
        {"v": 1, "seq": seq, "hash": event_hash, "time": signed_at, "prev_signature": prev_signature, "key_id": key},
        sort_keys=True, separators=(",", ":"),
    )


def sign(payload: str) -> tuple[str, str]:
    """(signature, key_id) for the payload."""
    private = signing_key()
    return b64(private.sign(payload.encode())), key_id(private.public_key())


def check_signature(payload: str, signature: str, keys: dict[str, Ed25519PublicKey]) -> str | None:
    """None when valid, else the reason."""
    try:
        data: dict[str, Any] = json.loads(payload)
    except ValueError:
        return "checkpoint payload is not JSON"
    public = keys.get(data.get("key_id", ""))
    if public is None:
        return f"signed with unknown key {data.get('key_id')!r} (add its public key to MESHDECK_AUDIT_VERIFY_KEYS)"
    try:
        public.verify(base64.urlsafe_b64decode(signature + "=" * (-len(signature) % 4)), payload.encode())
    except (InvalidSignature, binascii.Error, ValueError):
        return "bad signature"
    return None
