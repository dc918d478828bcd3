"""Real PostgreSQL and Redis for tests: present, or a clear failure in CI.

`.ci/run` sets DATABASE_URL and REDIS_URL to the machine's services. Locally,
without them, tests that need them are skipped with a message saying how to
run them; under CI (env CI set) a missing service fails the test instead.
"""
from __future__ import annotations

import os
import socket
from urllib.parse import urlparse

import pytest
from django.conf import settings


def _fail_or_skip(message: str) -> None:
    if os.environ.get("CI"):
        pytest.fail(message + " (CI requires it; .ci/run sets DATABASE_URL and REDIS_URL)", pytrace=False)
    pytest.skip(message)


def _reachable(url: str, default_port: int) -> bool:
    parsed = urlparse(url)
    try:
        with socket.create_connection((parsed.hostname or "127.0.0.1", parsed.port or default_port), timeout=2):
            return True
    except OSError:
        return False


def require_postgres() -> None:
    if settings.DATABASES["default"]["ENGINE"] != "django.db.backends.postgresql":
        _fail_or_skip("needs PostgreSQL: set DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres")


def require_redis() -> str:
    url = os.environ.get("REDIS_URL", "")
    if not url:
        _fail_or_skip("needs Redis: set REDIS_URL=redis://127.0.0.1:6379/0")
    if not _reachable(url, 6379):
        _fail_or_skip(f"Redis at {url} is not reachable")
    return url
