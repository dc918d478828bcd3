"""Five failed logins in 15 minutes lock (username, IP); other IPs still get in."""
from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from apps.accounts.models import LoginAttempt
from tests.conftest import PASSWORD

pytestmark = pytest.mark.django_db


def _login(client, username, password, ip):
    return client.post("/accounts/login/", {"username": username, "password": password}, REMOTE_ADDR=ip)


def _fail_five_times(username, ip):
    client = Client()
    for _ in range(5):
        response = _login(client, username, "wrong", ip)
        assert response.status_code == 200  # the form again, with an error
    return client


def test_sixth_attempt_with_right_password_is_refused_with_a_clear_message(viewer):
    client = _fail_five_times("viewer", "10.1.1.1")
    response = _login(client, "viewer", PASSWORD, "10.1.1.1")
    assert response.status_code == 200
    assert "Too many failed logins" in response.content.decode()
    assert "_auth_user_id" not in client.session


def test_same_user_from_another_ip_is_not_locked_out(viewer):
    _fail_five_times("viewer", "10.1.1.1")
    other = Client()
    response = _login(other, "viewer", PASSWORD, "10.2.2.2")
    assert response.status_code == 302
    assert other.session["_auth_user_id"] == str(viewer.pk)


def test_four_failures_do_not_lock(viewer):
    client = Client()
    for _ in range(4):
        _login(client, "viewer", "wrong", "10.1.1.1")
    assert _login(client, "viewer", PASSWORD, "10.1.1.1").status_code == 302


def test_lockout_ends_when_the_window_passes(viewer):
    _fail_five_times("viewer", "10.1.1.1")
    LoginAttempt.objects.update(created_at=timezone.now() - timedelta(minutes=16))
    assert _login(Client(), "viewer", PASSWORD, "10.1.1.1").status_code == 302


def test_threshold_is_configurable(viewer, settings):
    settings.LOCKOUT_THRESHOLD = 2
    client = Client()
    _login(client, "viewer", "wrong", "10.1.1.1")
    _login(client, "viewer", "wrong", "10.1.1.1")
    assert "Too many failed logins" in _login(client, "viewer", PASSWORD, "10.1.1.1").content.decode()


def test_admin_login_is_covered_too(superuser):
    client = Client()
    for _ in range(5):
        client.post("/admin/login/", {"username": "root", "password": "wrong"}, REMOTE_ADDR="10.3.3.3")
    response = client.post("/admin/login/?next=/admin/", {"username": "root", "password": PASSWORD},
                           REMOTE_ADDR="10.3.3.3")
    assert response.status_code == 200
    assert "Too many failed logins" in response.content.decode()
    assert LoginAttempt.objects.filter(username="root", entry_point="admin").count() == 5


def test_api_token_issue_is_covered_too(viewer, api_client):
    client = api_client()
    for _ in range(5):
        r = client.post("/api/auth/token/", {"username": "viewer", "password": "wrong"}, REMOTE_ADDR="10.4.4.4")
        assert r.status_code == 401
    r = client.post("/api/auth/token/", {"username": "viewer", "password": PASSWORD}, REMOTE_ADDR="10.4.4.4")
    assert r.status_code == 429
    assert "Too many failed logins" in r.json()["detail"]
    # failures through the login page and the API add up: same key (user, IP)
    assert LoginAttempt.objects.filter(username="viewer", ip_address="10.4.4.4", entry_point="api").count() == 5


def test_successful_login_clears_earlier_failures(viewer):
    client = Client()
    for _ in range(4):
        _login(client, "viewer", "wrong", "10.1.1.1")
    assert _login(client, "viewer", PASSWORD, "10.1.1.1").status_code == 302
    assert not LoginAttempt.objects.filter(username="viewer", ip_address="10.1.1.1").exists()


def test_forwarded_for_is_used_only_behind_a_trusted_proxy(viewer, settings):
    settings.MESHDECK_TRUSTED_PROXY_COUNT = 1
    client = Client()
    for _ in range(5):
        client.post("/accounts/login/", {"username": "viewer", "password": "wrong"},
                    REMOTE_ADDR="127.0.0.1", HTTP_X_FORWARDED_FOR="198.51.100.7")
    attempts = set(LoginAttempt.objects.values_list("ip_address", flat=True))
    assert attempts == {"198.51.100.7"}
    ok = Client().post("/accounts/login/", {"username": "viewer", "password": PASSWORD},
                       REMOTE_ADDR="127.0.0.1", HTTP_X_FORWARDED_FOR="198.51.100.8")
    assert ok.status_code == 302
