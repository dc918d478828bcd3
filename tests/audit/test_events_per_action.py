"""Every action leaves exactly one event naming the right actor, IP and request id."""
import pytest
from django.test import Client
from rest_framework.test import APIClient

from apps.accounts.models import ApiToken, Grant, LoginAttempt, Team
from apps.accounts.services import api_token_create
from tests.conftest import PASSWORD

from .helpers import events, only

pytestmark = [pytest.mark.postgres, pytest.mark.usefixtures("pg")]

IP = "10.9.8.7"


def _login(client, username, password, request_id="req-login", path="/accounts/login/"):
    return client.post(path, {"username": username, "password": password}, REMOTE_ADDR=IP,
                       HTTP_X_REQUEST_ID=request_id, HTTP_USER_AGENT="pytest-browser/1.0")


def _bearer(user):
    token, secret = api_token_create(user=user, name="script", scope="write")
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {secret}")
    return client, token


def test_page_login_and_logout(viewer):
    client = Client()
    assert _login(client, "viewer", PASSWORD, "req-in").status_code == 302
    event = only("auth.login")
    assert (event.actor_user_id, event.actor_username, event.actor_auth) == (viewer.pk, "viewer", "session")
    assert (event.ip, event.request_id, event.actor_detail) == (IP, "req-in", "login")
    assert event.user_agent == "pytest-browser/1.0"
    client.post("/accounts/logout/", REMOTE_ADDR=IP, HTTP_X_REQUEST_ID="req-out")
    out = only("auth.logout")
    assert (out.actor_username, out.request_id, out.ip) == ("viewer", "req-out", IP)


def test_admin_login_is_marked_as_admin(superuser):
    assert _login(Client(), "root", PASSWORD, "req-adm", path="/admin/login/?next=/admin/").status_code == 302
    event = only("auth.login")
    assert (event.actor_username, event.actor_detail, event.request_id) == ("root", "admin", "req-adm")


def test_failed_logins_then_one_lockout_then_refusals(viewer):
    client = Client()
    for n in range(5):
        _login(client, "viewer", "wrong", f"req-f{n}")
    failed = events("auth.login_failed")
    assert len(failed) == 5 and {e.outcome for e in failed} == {"denied"}
    assert [e.request_id for e in failed] == [f"req-f{n}" for n in range(5)]
    assert failed[0].actor_auth == "anonymous" and failed[0].target_name == "viewer"
    assert failed[0].target_id == str(viewer.pk) and failed[0].ip == IP
    lockout = only("auth.lockout")
    assert lockout.request_id == "req-f4" and lockout.after["failures"] == 5
    _login(client, "viewer", PASSWORD, "req-locked")
    refused = only("auth.login_failed", request_id="req-locked")
    assert refused.message == "locked out"
    assert not events("auth.login")
    assert len(events("auth.lockout")) == 1  # not once per refused attempt


def test_unknown_username_fails_without_naming_a_user(db):
    _login(Client(), "nobody", "x", "req-nobody")
    event = only("auth.login_failed")
    assert (event.target_name, event.target_id) == ("nobody", "")


def test_api_token_issue_is_a_login_and_a_token(viewer):
    response = APIClient().post("/api/auth/token/", {"username": "viewer", "password": PASSWORD, "name": "ci"},
                                REMOTE_ADDR=IP, HTTP_X_REQUEST_ID="req-issue")
    assert response.status_code == 201
    login, token = only("auth.login"), only("token.create")
    assert (login.actor_detail, login.actor_username, login.request_id) == ("api", "viewer", "req-issue")
    assert (token.actor_username, token.ip, token.request_id) == ("viewer", IP, "req-issue")
    assert token.after["name"] == "ci"


def test_profile_token_create_and_revoke(viewer, page_client):
    client = page_client(viewer)
    client.post("/accounts/profile/", {"name": "laptop"}, HTTP_X_REQUEST_ID="req-tok", REMOTE_ADDR=IP)
    created = only("token.create")
    token = ApiToken.objects.get(name="laptop")
    assert (created.actor_username, created.actor_auth, created.target_id) == ("viewer", "session", str(token.pk))
    client.post(f"/accounts/tokens/{token.pk}/revoke/", HTTP_X_REQUEST_ID="req-rev")
    revoked = only("token.revoke")
    assert revoked.request_id == "req-rev" and revoked.after == {"revoked": True}
    client.post(f"/accounts/tokens/{token.pk}/revoke/")  # already revoked: nothing happened, no event
    assert len(events("token.revoke")) == 1


def test_grants_through_the_api_name_the_token_that_acted(cluster_admin, viewer):
    client, token = _bearer(cluster_admin)
    response = client.post("/api/clusters/demo/grants/", {"user": "viewer", "namespace_pattern": "team-*",
                                                          "role": "operator"},
                           format="json", REMOTE_ADDR=IP, HTTP_X_REQUEST_ID="req-grant")
    assert response.status_code == 201, response.content
    event = only("grant.create")
    assert (event.actor_username, event.actor_auth, event.actor_token_id) == ("cluster-admin", "token", token.pk)
    assert (event.ip, event.request_id, event.target_cluster) == (IP, "req-grant", "demo")
    assert event.after == {"cluster": "demo", "namespace_pattern": "team-*", "role": "operator", "team": None,
                           "user": "viewer"}
    grant_id = response.json()["id"]
    client.patch(f"/api/clusters/demo/grants/{grant_id}/", {"role": "approver"}, format="json")
    update = only("grant.update")
    assert (update.before["role"], update.after["role"]) == ("operator", "approver")
    client.delete(f"/api/clusters/demo/grants/{grant_id}/")
    assert only("grant.delete").before["namespace_pattern"] == "team-*"
    assert not Grant.objects.filter(pk=grant_id).exists()


def test_users_and_teams_through_the_api(superuser):
    client = APIClient(REMOTE_ADDR=IP, HTTP_X_REQUEST_ID="req-people")
    client.force_login(superuser)
    assert client.post("/api/users/", {"username": "dana", "password": "a-Long-enough-passphrase-9",
                                       "teams": ["payments"]}, format="json").status_code == 201
    assert only("user.create").after["username"] == "dana"
    assert only("team.create").target_name == "payments"
    assert only("team.member_add").after == {"member": "dana"}
    client.patch("/api/users/dana/", {"email": "dana@example.com"}, format="json")
    assert only("user.update").after == {"email": "dana@example.com"}
    client.delete("/api/users/dana/")
    assert only("user.deactivate").after == {"is_active": False}
    client.patch("/api/teams/payments/", {"name": "billing"}, format="json")
    assert only("team.update").after == {"name": "billing"}
    client.delete("/api/teams/billing/members/dana/")
    assert only("team.member_remove").before == {"member": "dana"}
    client.delete("/api/teams/billing/")
    assert only("team.delete").before["name"] == "billing"
    assert not Team.objects.exists()
    written = [e for e in events() if e.action != "auth.login"]
    assert len(written) == 8
    assert {(e.actor_username, e.actor_auth, e.ip, e.request_id) for e in written} == {
        ("root", "session", IP, "req-people")}


def test_cluster_create_update_credentials_delete(superuser, settings):
    client = APIClient(REMOTE_ADDR=IP)
    client.force_login(superuser)
    response = client.post("/api/clusters/", {"name": "prod", "kind": "kubernetes",
                                              "api_server_url": "https://127.0.0.1:6443", "token": "tok-1"},
                           format="json", HTTP_X_REQUEST_ID="req-cl")
    assert response.status_code == 201, response.content
    created = only("cluster.create")
    assert (created.request_id, created.target_cluster, created.after["auth_method"]) == ("req-cl", "prod", "token")
    assert (created.actor_username, created.ip) == ("root", IP)
    from apps.clusters.models import Cluster
    from apps.clusters.services import cluster_delete, cluster_update, cluster_update_credentials

    cluster = Cluster.objects.get(name="prod")
    cluster_update(cluster=cluster, prometheus_url="http://127.0.0.1:9090")
    assert only("cluster.update").after == {"prometheus_url": "http://127.0.0.1:9090"}
    cluster_update_credentials(cluster=cluster, api_server_url="https://127.0.0.1:6443", token="tok-2")
    changed = only("cluster.credentials_changed")
    assert changed.after["replaced"] == "credentials" and "tok-2" not in changed.after_json
    cluster_delete(cluster=Cluster.objects.get(name="prod"))
    assert only("cluster.delete").before["name"] == "prod"


def test_denied_attempts_are_events(viewer, operator, api_client, page_client):
    client = api_client(viewer)
    assert client.post("/api/clusters/demo/test/").status_code == 403
    assert only("cluster.test").outcome == "denied"
    assert client.post("/api/clusters/demo/grants/", {"user": "viewer", "role": "admin"},
                       format="json").status_code == 403
    denied = only("grant.create")
    assert (denied.outcome, denied.actor_username, denied.target_cluster) == ("denied", "viewer", "demo")
    assert not Grant.objects.filter(user=viewer, role=40).exists()
    assert api_client(operator).post("/api/clusters/", {"name": "x", "kind": "simulated"},
                                     format="json").status_code == 403
    assert only("cluster.create").outcome == "denied"
    page_client(operator).post("/clusters/new/", {"name": "y", "kind": "simulated"})
    assert len(events("cluster.create", outcome="denied")) == 2
    assert api_client(operator).post("/api/users/", {"username": "z", "password": "p"},
                                     format="json").status_code == 403
    assert only("user.create").outcome == "denied"


def test_cluster_test_by_its_admin_is_recorded(cluster_admin, api_client):
    assert api_client(cluster_admin).post("/api/clusters/demo/test/").status_code == 200
    event = only("cluster.test")
    assert (event.outcome, event.actor_username, event.after) == ("ok", "cluster-admin", {"ok": True})


def test_admin_unlock_is_an_override(superuser, viewer, page_client):
    for _ in range(5):
        _login(Client(), "viewer", "wrong")
    client = page_client(superuser)
    ids = list(LoginAttempt.objects.values_list("pk", flat=True))
    response = client.post("/admin/accounts/loginattempt/", {"action": "unlock", "_selected_action": ids})
    assert response.status_code == 302
    override = only("admin.override")
    assert override.actor_username == "root" and override.before["failed_attempts"] == 5
    assert not LoginAttempt.objects.exists()


def test_cluster_rekey_records_each_reencrypted_cluster(db, settings):
    from cryptography.fernet import Fernet
    from django.core.management import call_command

    from apps.clusters.services import cluster_create

    old = Fernet.generate_key().decode()
    settings.MESHDECK_ENCRYPTION_KEYS = [old]
    cluster_create(name="prod", kind="kubernetes", api_server_url="https://127.0.0.1:6443", token="tok-rekey")
    settings.MESHDECK_ENCRYPTION_KEYS = [Fernet.generate_key().decode(), old]
    call_command("cluster", "rekey")
    event = only("cluster.credentials_changed")
    assert (event.actor_auth, event.actor_detail, event.after) == ("command", "cluster rekey", {"reencrypted": True})
    assert "tok-rekey" not in event.after_json
