"""Failed logins are limited per client IP across every entry point, beyond the per-user lockout."""
from __future__ import annotations

import pytest
from django.test import Client
from rest_framework.test import APIClient

from apps.audit.models import AuditEvent
from tests.conftest import PASSWORD

pytestmark = pytest.mark.django_db

IP = "10.9.8.7"


@pytest.fixture(autouse=True)
def small_limit(settings):
    settings.LOGIN_RATE_LIMIT = 6
    settings.LOGIN_RATE_LIMIT_WINDOW_SECONDS = 600


def _page_login(client, username, password, ip=IP, path="/accounts/login/"):
    return client.post(path, {"username": username, "password": password}, REMOTE_ADDR=ip)


def _token_issue(username, password, ip=IP):
    return APIClient().post("/api/auth/token/", {"username": username, "password": password}, format="json",
                            REMOTE_ADDR=ip)


def _spray(count: int, ip=IP) -> None:
    """Wrong passwords for many different users: never enough for any one user's lockout."""
    client = Client()
    for n in range(count):
        assert _page_login(client, f"user{n}", "wrong", ip).status_code == 200


def test_spraying_many_usernames_from_one_address_is_refused_with_429(viewer):
    _spray(6)
    response = _page_login(Client(), "viewer", PASSWORD)  # the right password: still refused
    assert response.status_code == 429
    assert 0 < int(response["Retry-After"]) <= 600
    assert "Too many failed logins from your address" in response.content.decode()
    assert "_auth_user_id" not in Client().session


def test_the_limit_covers_the_admin_login_and_token_issue(viewer, superuser):
    client = Client()
    for n in range(3):
        _page_login(client, f"a{n}", "wrong", path="/admin/login/")
    for n in range(3):
        assert _token_issue(f"b{n}", "wrong").status_code == 401
    api = _token_issue("viewer", PASSWORD)
    assert api.status_code == 429
    body = api.json()
    assert body["code"] == "rate_limited" and "Try again in" in body["detail"] and api["Retry-After"]
    admin = _page_login(Client(), "root", PASSWORD, path="/admin/login/?next=/admin/")
    assert admin.status_code == 429 and admin["Retry-After"]


def test_other_addresses_and_successful_logins_are_not_limited(viewer):
    _spray(6)
    assert _page_login(Client(), "viewer", PASSWORD, ip="10.1.2.3").status_code == 302
    for _ in range(10):  # people logging in successfully from one office address never count
        assert _token_issue("viewer", PASSWORD, ip="10.4.4.4").status_code == 201


def test_below_the_limit_nothing_is_refused(viewer):
    _spray(5)
    assert _page_login(Client(), "viewer", PASSWORD).status_code == 302


def test_reaching_the_limit_is_one_audit_event_not_one_per_refusal(viewer):
    _spray(6)
    for _ in range(3):
        _page_login(Client(), "viewer", PASSWORD)
    events = AuditEvent.objects.filter(action="auth.rate_limited")
    assert events.count() == 1
    event = events.get()
    assert (event.outcome, event.ip, event.target_name) == ("denied", IP, IP)
    assert event.after["failures"] == 6


def test_the_window_ending_lets_the_address_in_again(viewer, settings):
    _spray(6)
    assert _page_login(Client(), "viewer", PASSWORD).status_code == 429
    from django.core.cache import cache

    from apps.accounts.ratelimit import _keys

    cache.delete_many(_keys(IP))  # what the cache does when the window's timeout passes
    assert _page_login(Client(), "viewer", PASSWORD).status_code == 302


def test_the_count_lives_in_the_configured_cache(viewer, settings):
    """Production's cache is Redis (shared by every web process); the limiter uses whatever CACHES says."""
    from django.core.cache import caches

    from apps.accounts.ratelimit import retry_after

    _spray(6)
    assert retry_after(IP) is not None
    caches[settings.LOGIN_RATE_LIMIT_CACHE].clear()
    assert retry_after(IP) is None
