"""Security settings a user (or an attacker) notices: headers, cookies, CSRF, sessions, passwords.

`manage.py check --deploy` with production settings is tests/clusters/test_deploy_settings.py;
here the production settings are also run for real, in a subprocess, and their answers read.
"""
from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings as django_settings
from django.test import Client

from apps.accounts.services import AccountInputError, user_create
from tests.clusters.test_deploy_settings import PRODUCTION_ENV
from tests.conftest import PASSWORD

ROOT = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.django_db


def _csp(response) -> dict[str, list[str]]:
    header = response["Content-Security-Policy"]
    return {d.split()[0]: d.split()[1:] for d in (p.strip() for p in header.split(";")) if d}


def test_pages_send_the_security_headers(viewer, page_client):
    response = page_client(viewer).get("/")
    assert response.status_code == 200
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Referrer-Policy"] == "same-origin"
    assert response["X-Frame-Options"] == "DENY"
    assert response["Cross-Origin-Opener-Policy"] == "same-origin"
    csp = _csp(response)
    assert csp["default-src"] == ["'self'"] and csp["script-src"] == ["'self'"]
    assert csp["frame-ancestors"] == ["'none'"] and csp["object-src"] == ["'none'"]
    assert not any("unsafe" in v for values in csp.values() for v in values)


def test_the_login_page_and_api_answers_carry_them_too(db):
    login = Client().get("/accounts/login/")
    api = Client().get("/api/me/")
    for response in (login, api):
        assert response["X-Content-Type-Options"] == "nosniff"
        assert "script-src 'self'" in response["Content-Security-Policy"]


def test_cookies_are_httponly_and_samesite(viewer):
    client = Client()
    client.get("/accounts/login/")
    csrf = client.cookies[django_settings.CSRF_COOKIE_NAME]
    assert csrf["httponly"] and csrf["samesite"] == "Lax"
    client.post("/accounts/login/", {"username": "viewer", "password": PASSWORD})
    session = client.cookies[django_settings.SESSION_COOKIE_NAME]
    assert session["httponly"] and session["samesite"] == "Lax"


def test_the_session_is_rotated_at_login(viewer):
    """Session fixation: a key planted before login is worthless after it."""
    client = Client()
    client.get("/accounts/login/")
    session = client.session
    session["planted"] = "by someone else"
    session.save()
    before = session.session_key
    client.cookies[django_settings.SESSION_COOKIE_NAME] = before
    assert client.post("/accounts/login/", {"username": "viewer", "password": PASSWORD}).status_code == 302
    after = client.cookies[django_settings.SESSION_COOKIE_NAME].value
    assert after and after != before
    planted = Client()
    planted.cookies[django_settings.SESSION_COOKIE_NAME] = before
    assert planted.get("/").status_code == 302  # the old key is not logged in


def test_forms_without_a_csrf_token_are_refused(viewer):
    client = Client(enforce_csrf_checks=True)
    assert client.post("/accounts/login/", {"username": "viewer", "password": PASSWORD}).status_code == 403
    client.force_login(viewer)
    assert client.post("/accounts/profile/", {"name": "sneaky"}).status_code == 403
    assert client.post("/accounts/logout/").status_code == 403
    # The API under a session cookie checks CSRF as well (a bearer token needs none: no ambient credential).
    assert client.post("/api/clusters/demo/test/").status_code == 403


def _templates() -> list[Path]:
    roots = [ROOT / "templates", *sorted((ROOT / "apps").glob("*/templates"))]
    return [p for root in roots for p in sorted(root.rglob("*.html"))]


def test_every_post_form_in_every_template_carries_the_csrf_token():
    forms = 0
    for path in _templates():
        text = path.read_text()
        for match in re.finditer(r"<form\b[^>]*>(.*?)</form>", text, flags=re.DOTALL | re.IGNORECASE):
            opening = match.group(0)[: match.group(0).index(">") + 1]
            if re.search(r"method\s*=\s*[\"']?post", opening, flags=re.IGNORECASE):
                forms += 1
                assert "{% csrf_token %}" in match.group(1), f"{path.relative_to(ROOT)}: {opening}"
    assert forms >= 4  # login, logout, token create and revoke at least


@pytest.mark.parametrize("password,why", [
    ("short-pw-1", "too short"),
    ("password1234", "too common"),
    ("938475610293847", "entirely numeric"),
    ("frank-the-user", "too similar"),
])
def test_weak_passwords_are_refused_everywhere_they_can_be_set(password, why):
    with pytest.raises(AccountInputError) as exc:
        user_create(username="frank-the-user", password=password, email="frank@example.com")
    assert why in exc.value.message


def test_a_weak_password_is_refused_by_the_api_with_the_reason(superuser, api_client):
    response = api_client(superuser).post("/api/users/", {"username": "gina", "password": "12345678"},
                                          format="json")
    assert response.status_code == 400
    assert "password" in response.json()["errors"]


_PROBE = """
import json, django
django.setup()
from django.conf import settings
from django.test import Client
# Production serves collected, hashed static files; no collectstatic here: plain file names.
settings.STORAGES = {**settings.STORAGES,
                     "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"}}
client = Client(HTTP_HOST="meshdeck.example.com")
plain = client.get("/accounts/login/")
secure = client.get("/accounts/login/", secure=True)
cookie = secure.cookies.get(settings.CSRF_COOKIE_NAME)
print(json.dumps({
    "plain_status": plain.status_code, "plain_location": plain.get("Location", ""),
    "hsts": secure.get("Strict-Transport-Security", ""), "csp": secure.get("Content-Security-Policy", ""),
    "coop": secure.get("Cross-Origin-Opener-Policy", ""), "frame": secure.get("X-Frame-Options", ""),
    "csrf_cookie": {"secure": bool(cookie["secure"]), "httponly": bool(cookie["httponly"])} if cookie else None,
    "session_cookie_secure": settings.SESSION_COOKIE_SECURE,
    "session_cookie_httponly": settings.SESSION_COOKIE_HTTPONLY,
    "cache": settings.CACHES[settings.LOGIN_RATE_LIMIT_CACHE]["BACKEND"], "debug": settings.DEBUG,
}))
"""


def test_production_settings_answer_with_https_only_headers_and_cookies():
    base = {k: v for k, v in os.environ.items() if k not in PRODUCTION_ENV}
    result = subprocess.run([sys.executable, "-c", _PROBE], cwd=ROOT, env={**base, **PRODUCTION_ENV},
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    seen = json.loads(result.stdout.strip().splitlines()[-1])
    assert seen["plain_status"] == 301 and seen["plain_location"].startswith("https://meshdeck.example.com/")
    assert "max-age=31536000" in seen["hsts"] and "includeSubDomains" in seen["hsts"]
    assert "script-src 'self'" in seen["csp"] and seen["coop"] == "same-origin" and seen["frame"] == "DENY"
    assert seen["csrf_cookie"] == {"secure": True, "httponly": True}
    assert seen["session_cookie_secure"] is True and seen["session_cookie_httponly"] is True
    # The login rate limit is counted in Redis, shared by every web process.
    assert seen["cache"] == "django.core.cache.backends.redis.RedisCache"
    assert seen["debug"] is False
