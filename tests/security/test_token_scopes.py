"""API tokens are scoped: a read-only token reads, and is refused (403, audited) when it writes."""
from __future__ import annotations

import io

import pytest
from django.core.management import call_command
from rest_framework.test import APIClient

from apps.accounts.models import ApiToken, Grant
from apps.accounts.services import api_token_create
from apps.audit.models import AuditEvent
from tests.conftest import PASSWORD

pytestmark = pytest.mark.django_db

GRANT = {"user": "viewer", "namespace_pattern": "team-*", "role": "operator"}


def _bearer(secret: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {secret}")
    return client


def test_a_read_only_token_reads_but_cannot_write(cluster_admin, viewer):
    token, secret = api_token_create(user=cluster_admin, name="dashboard", scope="read")
    client = _bearer(secret)
    assert client.get("/api/clusters/demo/grants/").status_code == 200

    response = client.post("/api/clusters/demo/grants/", GRANT, format="json")
    assert response.status_code == 403
    body = response.json()
    assert body["code"] == "permission_denied"
    assert "read-only" in body["detail"] and "write scope" in body["detail"]
    assert not Grant.objects.filter(namespace_pattern="team-*").exists()  # nothing half-applied

    refused = AuditEvent.objects.get(action="token.write_refused")
    assert (refused.outcome, refused.actor_username, refused.actor_token_id) == ("denied", "cluster-admin", token.pk)
    assert refused.after == {"method": "POST", "path": "/api/clusters/demo/grants/"}


@pytest.mark.parametrize("method", ["patch", "delete"])
def test_every_unsafe_method_is_refused_to_a_read_only_token(method, cluster_admin):
    grant_id = Grant.objects.get(user=cluster_admin).pk
    _, secret = api_token_create(user=cluster_admin, name="dashboard")  # read is the default
    response = getattr(_bearer(secret), method)(f"/api/clusters/demo/grants/{grant_id}/", {"role": "viewer"},
                                                format="json")
    assert response.status_code == 403 and "read-only" in response.json()["detail"]
    assert Grant.objects.filter(pk=grant_id, role=40).exists()


def test_a_write_token_writes_what_its_owner_may(cluster_admin, viewer):
    _, secret = api_token_create(user=cluster_admin, name="automation", scope="write")
    assert _bearer(secret).post("/api/clusters/demo/grants/", GRANT, format="json").status_code == 201


def test_a_write_token_does_not_widen_the_owners_grants(viewer):
    _, secret = api_token_create(user=viewer, name="automation", scope="write")
    assert _bearer(secret).post("/api/clusters/demo/grants/", GRANT, format="json").status_code == 403


def test_token_issue_is_read_only_unless_write_is_asked_for(viewer):
    client = APIClient()
    default = client.post("/api/auth/token/", {"username": "viewer", "password": PASSWORD}, format="json")
    assert default.status_code == 201 and default.json()["scope"] == "read"
    write = client.post("/api/auth/token/", {"username": "viewer", "password": PASSWORD, "scope": "write"},
                        format="json")
    assert write.status_code == 201 and write.json()["scope"] == "write"
    assert sorted(ApiToken.objects.values_list("scope", flat=True)) == ["read", "write"]
    bad = client.post("/api/auth/token/", {"username": "viewer", "password": PASSWORD, "scope": "admin"},
                      format="json")
    assert bad.status_code == 400 and "scope" in bad.json()["errors"]


def test_the_profile_page_chooses_and_shows_the_scope(viewer, page_client):
    client = page_client(viewer)
    form = client.get("/accounts/profile/").content.decode()
    assert 'name="scope"' in form and 'value="read"' in form and "checked" in form
    page = client.post("/accounts/profile/", {"name": "ci", "scope": "write"}).content.decode()
    assert ApiToken.objects.get(name="ci").scope == "write"
    assert "read and write" in page
    client.post("/accounts/profile/", {"name": "dash", "scope": "read"})
    assert "read only" in client.get("/accounts/profile/").content.decode()
    assert ApiToken.objects.get(name="dash").scope == "read"


def test_the_command_line_creates_lists_and_revokes_scoped_tokens(viewer):
    out, err = io.StringIO(), io.StringIO()
    call_command("token", "create", "viewer", "--name", "cron", "--scope", "write", stdout=out, stderr=err)
    secret = out.getvalue().strip()
    token = ApiToken.objects.get(name="cron")
    assert token.scope == "write" and token.key_hash == ApiToken.hash(secret)
    assert "read and write" in err.getvalue()
    listing = io.StringIO()
    call_command("token", "list", "viewer", stdout=listing)
    assert "cron" in listing.getvalue() and "write" in listing.getvalue()
    call_command("token", "revoke", str(token.pk), stdout=io.StringIO())
    assert _bearer(secret).get("/api/me/").status_code == 401
    call_command("token", "create", "viewer", "--name", "ro", stdout=io.StringIO(), stderr=io.StringIO())
    assert ApiToken.objects.get(name="ro").scope == "read"  # the default


def test_tokens_made_before_scopes_keep_writing():
    """The migration gives existing tokens the write scope they effectively had."""
    from django.db import connection
    from django.db.migrations.loader import MigrationLoader

    migration = MigrationLoader(connection).get_migration("accounts", "0002_apitoken_scope")
    add_field = migration.operations[0]
    assert add_field.field.default == "write"
    assert ApiToken._meta.get_field("scope").default == "read"
