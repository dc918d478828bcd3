"""API tokens: Authorization: Bearer <token>, shown once, revocable, expiring."""
from datetime import timedelta

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from apps.accounts.models import ApiToken
from apps.accounts.services import api_token_create
from tests.conftest import PASSWORD

pytestmark = pytest.mark.django_db


def _bearer(secret):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {secret}")
    return client


def test_bearer_token_authenticates_api_calls(viewer):
    _, secret = api_token_create(user=viewer, name="script")
    response = _bearer(secret).get("/api/me/")
    assert response.status_code == 200
    body = response.json()
    assert body["username"] == "viewer"
    assert body["grants"] == [{"cluster": "demo", "namespace_pattern": "bookinfo", "role": "viewer", "via_team": None}]


def test_me_says_how_the_request_was_authenticated_and_what_the_token_may_do(viewer, api_client):
    _, read = api_token_create(user=viewer, name="dashboards")
    _, write = api_token_create(user=viewer, name="ci", scope=ApiToken.Scope.WRITE, expires_in_days=7)
    body = _bearer(read).get("/api/me/").json()
    assert body["authenticated_by"] == "token"
    assert body["token"] == {"name": "dashboards", "scope": "read", "expires_at": None}
    body = _bearer(write).get("/api/me/").json()
    assert body["token"]["scope"] == "write" and body["token"]["expires_at"].startswith(
        str((timezone.now() + timedelta(days=7)).date()))
    body = api_client(viewer).get("/api/me/").json()
    assert body["authenticated_by"] == "session" and body["token"] is None


def test_only_the_hash_is_stored(viewer):
    token, secret = api_token_create(user=viewer, name="script")
    assert secret not in token.key_hash and token.key_hash == ApiToken.hash(secret)
    assert not ApiToken.objects.filter(key_hash=secret).exists()


def test_no_token_and_a_wrong_token_are_refused(viewer):
    assert APIClient().get("/api/me/").status_code in (401, 403)
    response = _bearer("mdk_not-a-real-token").get("/api/me/")
    assert response.status_code == 401
    assert "Invalid or revoked" in response.json()["detail"]


def test_revoked_token_is_refused(viewer):
    token, secret = api_token_create(user=viewer, name="script")
    token.revoked_at = timezone.now()
    token.save()
    assert _bearer(secret).get("/api/me/").status_code == 401


def test_expired_token_says_so(viewer):
    token, secret = api_token_create(user=viewer, name="script", expires_in_days=1)
    ApiToken.objects.filter(pk=token.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    response = _bearer(secret).get("/api/me/")
    assert response.status_code == 401
    assert "expired" in response.json()["detail"]


def test_issue_token_with_password_then_use_it(viewer):
    response = APIClient().post("/api/auth/token/", {"username": "viewer", "password": PASSWORD, "name": "ci"})
    assert response.status_code == 201
    secret = response.json()["token"]
    assert secret.startswith("mdk_")
    assert _bearer(secret).get("/api/clusters/").json()[0]["name"] == "demo"


def test_profile_page_creates_and_revokes_tokens(viewer, page_client):
    client = page_client(viewer)
    page = client.post("/accounts/profile/", {"name": "laptop"}).content.decode()
    token = ApiToken.objects.get(user=viewer, name="laptop")
    assert token.key_prefix in page  # the secret is shown once
    client.post(f"/accounts/tokens/{token.pk}/revoke/")
    token.refresh_from_db()
    assert token.revoked_at is not None


def test_cannot_revoke_someone_elses_token(viewer, operator, page_client):
    token, _ = api_token_create(user=operator, name="theirs")
    page_client(viewer).post(f"/accounts/tokens/{token.pk}/revoke/")
    token.refresh_from_db()
    assert token.revoked_at is None
