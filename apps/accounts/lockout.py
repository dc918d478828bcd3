"""Lockout after repeated failed logins, keyed by username and client IP.

Keying on both means a stranger guessing alice's password from elsewhere
cannot lock alice out of her own desk.
"""
from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.utils import timezone

from apps.core.client_ip import client_ip  # noqa: F401  (re-exported: lockout keys on it)

from .models import LoginAttempt


def _window_start():
    return timezone.now() - timedelta(minutes=settings.LOCKOUT_WINDOW_MINUTES)


def recent_failures(username: str, ip: str | None) -> int:
    return LoginAttempt.objects.filter(
        username__iexact=username, ip_address=ip, created_at__gte=_window_start()
    ).count()


def is_locked_out(username: str, ip: str | None) -> bool:
    if not username:
        return False
    return recent_failures(username, ip) >= settings.LOCKOUT_THRESHOLD


def lockout_message() -> str:
    return (
        f"Too many failed logins for this account from your address. "
        f"Try again in {settings.LOCKOUT_WINDOW_MINUTES} minutes, or ask an administrator to unlock it."
    )


def clear_failures(username: str, ip: str | None) -> None:
    LoginAttempt.objects.filter(username__iexact=username, ip_address=ip).delete()
