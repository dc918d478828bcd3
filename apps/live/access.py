"""Who is on the other end of a socket, and whether they still are.

The ASGI middleware authenticates a socket once, at the handshake (session cookie or bearer
token, ``apps.accounts.ws_auth``). A live subscription lasts for hours, so the consumers ask
again, from the database, whenever access may have changed: ``authenticate(principal)`` sees a
logout, a deleted or expired session, a changed password, a revoked or expired token, a
deactivated or deleted user. It only reads: a re-check never flushes or rotates a session the
browser is still using for its pages.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from importlib import import_module

from django.conf import settings
from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY, get_user_model, load_backend
from django.utils import timezone
from django.utils.crypto import constant_time_compare

from apps.accounts.models import ApiToken

# WebSocket close codes (4000-4999 are the application's; docs/live.md lists them).
CLOSE_BAD_REQUEST = 4400  # the subscription asked for cannot be served (too many namespaces)
CLOSE_NOT_AUTHENTICATED = 4401  # no login, or it ended: logout, session gone, token revoked or expired
CLOSE_ACCESS_REVOKED = 4403  # still logged in, but none of the subscribed items is allowed any more
CLOSE_NOT_FOUND = 4404  # no such cluster, or not one the user may see (no existence leak)
CLOSE_SERVER_ERROR = 1011  # access could not be re-checked (database down): fail closed


class Refused(Exception):
    """Ends (or refuses) a subscription with a close code and a sentence for the person."""

    def __init__(self, code: int, reason: str):
        super().__init__(reason)
        self.code = code
        self.reason = reason


@dataclass(frozen=True)
class Principal:
    """How a socket authenticated: exactly one of ``token_id`` and ``session_key`` is set."""

    user_id: int
    token_id: int | None = None
    session_key: str | None = None


@dataclass(frozen=True)
class Authenticated:
    user: object
    valid_until: datetime | None  # the token's expiry: re-check exactly then


def principal_from_scope(scope) -> Principal | None:
    """The principal the middleware authenticated, or None (anonymous: refuse)."""
    user = scope.get("user")
    if user is None or not user.is_authenticated:
        return None
    token_id = scope.get("auth_token_id")
    if token_id is not None:
        return Principal(user_id=user.pk, token_id=token_id)
    session = scope.get("session")
    session_key = getattr(session, "session_key", None) if session is not None else None
    if session_key:
        return Principal(user_id=user.pk, session_key=session_key)
    return None  # authenticated some other way we cannot re-check: fail closed


def _ended(reason: str) -> Refused:
    return Refused(CLOSE_NOT_AUTHENTICATED, reason)


def _active_user(user_id: int):
    user = get_user_model().objects.filter(pk=user_id).first()
    if user is None:
        raise _ended("Your account no longer exists.")
    if not user.is_active:
        raise _ended("Your account was deactivated.")
    return user


def _token_user(principal: Principal, token_id: int) -> Authenticated:
    token = ApiToken.objects.filter(pk=token_id, user_id=principal.user_id).first()
    if token is None:
        raise _ended("Your API token was deleted: connect with another one.")
    if token.revoked_at is not None:
        raise _ended("Your API token was revoked: connect with another one.")
    if token.expires_at is not None and token.expires_at <= timezone.now():
        raise _ended(f"Your API token expired at {token.expires_at:%Y-%m-%d %H:%M:%S} UTC: create a new one.")
    return Authenticated(user=_active_user(principal.user_id), valid_until=token.expires_at)


def _session_user(principal: Principal) -> Authenticated:
    session_ended = _ended("Your session ended (logged out or expired): log in again.")
    store = import_module(settings.SESSION_ENGINE).SessionStore(principal.session_key)
    try:  # an expired or deleted session loads as empty
        user_id = get_user_model()._meta.pk.to_python(store[SESSION_KEY])
        backend_path = store[BACKEND_SESSION_KEY]
    except KeyError:
        raise session_ended from None
    if user_id != principal.user_id or backend_path not in settings.AUTHENTICATION_BACKENDS:
        raise session_ended
    user = _active_user(user_id)
    if load_backend(backend_path).get_user(user_id) is None:
        raise session_ended
    # Django's own check: a password change invalidates the sessions made before it.
    session_hash = store.get(HASH_SESSION_KEY) or ""
    known = [user.get_session_auth_hash(), *user.get_session_auth_fallback_hash()]
    if not any(constant_time_compare(session_hash, value) for value in known):
        raise _ended("Your password changed: log in again.")
    return Authenticated(user=user, valid_until=None)


def authenticate(principal: Principal) -> Authenticated:
    """The principal's user, read afresh; raises Refused(4401) if their login has ended."""
    if principal.token_id is not None:
        return _token_user(principal, principal.token_id)
    if principal.session_key:
        return _session_user(principal)
    raise _ended("This connection has no login to check: log in again.")
