"""A limit on failed logins per client IP, beyond the per-(username, IP) lockout.

The lockout stops guessing one person's password; this stops one address from
trying many usernames (password spraying). Failed logins from every entry point
(login page, admin login, API token issue) count in one counter per IP, kept in
Django's cache: Redis in production, so every web process shares it; local
memory in the embedded default (one process). Past the limit, those entry points
answer 429 with Retry-After until the window ends. Successful logins never count,
so an office behind one address is not locked out by its own people logging in.
"""
from __future__ import annotations

import math
import time

from django.conf import settings
from django.core.cache import caches
from django.shortcuts import render
from django.urls import reverse

from apps.core.client_ip import client_ip

# URL names of the entry points that check a password.
PROTECTED = ("accounts:login", "admin:login", "api-token-issue")


def _cache():
    return caches[settings.LOGIN_RATE_LIMIT_CACHE]


def _keys(ip: str | None) -> tuple[str, str]:
    base = f"{settings.LOGIN_RATE_LIMIT_KEY_PREFIX}:login-failures:{ip or 'unknown'}"
    return base, base + ":since"


def failure_counted(ip: str | None) -> int:
    """Counts one failed login from ``ip``; returns the count in its window.

    A window starts at an address's first failure and lasts LOGIN_RATE_LIMIT_WINDOW_SECONDS
    (the count and its start time expire together)."""
    count_key, since_key = _keys(ip)
    cache, length = _cache(), settings.LOGIN_RATE_LIMIT_WINDOW_SECONDS
    if cache.add(since_key, time.time(), timeout=length):
        cache.set(count_key, 0, timeout=length)
    try:
        return cache.incr(count_key)
    except ValueError:  # the window ended between the two calls: this failure starts the next one
        cache.set(since_key, time.time(), timeout=length)
        cache.set(count_key, 1, timeout=length)
        return 1


def retry_after(ip: str | None) -> int | None:
    """Seconds until ``ip`` may try again, or None when it is under the limit."""
    count_key, since_key = _keys(ip)
    values = _cache().get_many([count_key, since_key])
    if (values.get(count_key) or 0) < settings.LOGIN_RATE_LIMIT:
        return None
    since = values.get(since_key) or time.time()
    return max(1, math.ceil(since + settings.LOGIN_RATE_LIMIT_WINDOW_SECONDS - time.time()))


def rate_limit_message(seconds: int) -> str:
    minutes = math.ceil(seconds / 60)
    when = f"{minutes} minute{'s' if minutes != 1 else ''}" if seconds >= 60 else f"{seconds} seconds"
    return (f"Too many failed logins from your address. Try again in {when}; "
            f"if you share this address with others, ask an administrator.")


class LoginRateLimitMiddleware:
    """Refuses password checks (POST to a login entry point) from an address over the limit."""

    def __init__(self, get_response):
        self.get_response = get_response
        self._paths: frozenset[str] | None = None

    def __call__(self, request):
        return self.get_response(request)

    def _protected_paths(self) -> frozenset[str]:
        if self._paths is None:
            self._paths = frozenset(reverse(name) for name in PROTECTED)
        return self._paths

    def process_view(self, request, view_func, view_args, view_kwargs):
        if request.method != "POST" or request.path not in self._protected_paths():
            return None
        seconds = retry_after(client_ip(request))
        if seconds is None:
            return None
        message = rate_limit_message(seconds)
        if request.path.startswith("/api/"):
            from django.http import JsonResponse

            from apps.core.api import error_body

            response = JsonResponse(error_body(message, "rate_limited"), status=429)
        else:
            response = render(request, "accounts/rate_limited.html", {"message": message}, status=429)
        response["Retry-After"] = str(seconds)
        return response
