"""Nobody demotes or deactivates the last admin: the last superuser, or a cluster's last admin."""
from __future__ import annotations

import io

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.core.management.base import CommandError

from apps.accounts.models import Grant
from apps.accounts.roles import Role
from apps.accounts.services import LastAdminError, grant_delete, user_deactivate
from apps.audit.models import AuditEvent

pytestmark = pytest.mark.django_db


def _refused(response, *words):
    assert response.status_code == 409, response.content
    body = response.json()
    assert body["code"] == "last_admin"
    for word in words:
        assert word in body["detail"], body["detail"]


def _user(username):
    return get_user_model().objects.get(username=username)


def test_the_last_superuser_cannot_remove_their_own_superuser_flag(superuser, api_client):
    client = api_client(superuser)
    _refused(client.patch("/api/users/root/", {"is_superuser": False}, format="json"),
             "last active superuser", "Make another user a superuser first")
    assert _user("root").is_superuser
    event = AuditEvent.objects.get(action="user.update", outcome="denied")
    assert event.actor_username == "root" and event.target_name == "root"


def test_the_last_superuser_cannot_deactivate_themselves(superuser, api_client):
    _refused(api_client(superuser).delete("/api/users/root/"), "deactivate", "last active superuser")
    assert _user("root").is_active
    assert AuditEvent.objects.filter(action="user.deactivate", outcome="denied").count() == 1


def test_with_another_superuser_it_is_allowed(superuser, make_user, api_client):
    make_user("root2", superuser=True)
    response = api_client(superuser).patch("/api/users/root/", {"is_superuser": False}, format="json")
    assert response.status_code == 200 and response.json()["is_superuser"] is False


def test_an_inactive_second_superuser_does_not_count(superuser, make_user, api_client):
    other = make_user("root2", superuser=True)
    other.is_active = False
    other.save()
    _refused(api_client(superuser).delete("/api/users/root/"))


def test_the_command_line_refuses_it_too(superuser):
    with pytest.raises(CommandError, match="last active superuser"):
        call_command("user", "deactivate", "root", stdout=io.StringIO())
    assert _user("root").is_active


def test_the_grant_command_refuses_it_too(cluster_admin):
    with pytest.raises(CommandError, match="last admin of cluster demo"):
        call_command("grant", "remove", "--cluster", "demo", "--user", "cluster-admin", "--namespaces", "*",
                     stdout=io.StringIO())
    assert Grant.objects.filter(user=cluster_admin).exists()


def test_the_last_cluster_admin_cannot_demote_or_delete_their_own_grant(cluster_admin, api_client):
    grant = Grant.objects.get(user=cluster_admin)
    client = api_client(cluster_admin)
    _refused(client.patch(f"/api/clusters/demo/grants/{grant.pk}/", {"role": "viewer"}, format="json"),
             "last admin of cluster demo", "Grant admin on '*' to someone else first")
    _refused(client.patch(f"/api/clusters/demo/grants/{grant.pk}/", {"namespace_pattern": "team-*"},
                          format="json"))
    _refused(client.delete(f"/api/clusters/demo/grants/{grant.pk}/"))
    grant.refresh_from_db()
    assert (grant.role, grant.namespace_pattern) == (Role.ADMIN, "*")
    denied = AuditEvent.objects.filter(outcome="denied", action__in=["grant.update", "grant.delete"])
    assert denied.count() == 3 and {e.target_cluster for e in denied} == {"demo"}


def test_a_second_cluster_admin_or_a_superuser_makes_it_allowed(cluster_admin, make_user, sim_cluster, api_client):
    make_user("second-admin", cluster=sim_cluster, role=Role.ADMIN)
    grant = Grant.objects.get(user=cluster_admin)
    response = api_client(cluster_admin).patch(f"/api/clusters/demo/grants/{grant.pk}/", {"role": "approver"},
                                               format="json")
    assert response.status_code == 200 and response.json()["role"] == "approver"


def test_a_namespace_admin_or_a_non_admin_grant_is_not_guarded(cluster_admin, make_user, sim_cluster):
    other = make_user("ns-admin", cluster=sim_cluster, role=Role.ADMIN, pattern="bookinfo")
    grant_delete(grant=Grant.objects.get(user=other))  # an admin of one namespace is not a cluster admin
    assert not Grant.objects.filter(user=other).exists()


def test_deactivating_the_last_cluster_admins_other_admin_is_fine_but_the_grant_stays_guarded(
        cluster_admin, make_user, sim_cluster):
    second = make_user("second-admin", cluster=sim_cluster, role=Role.ADMIN)
    user_deactivate(user=second)  # inactive: no longer counts as an admin who remains
    with pytest.raises(LastAdminError):
        grant_delete(grant=Grant.objects.get(user=cluster_admin))


def test_the_admin_site_refuses_with_a_form_error_and_hides_delete(superuser, client):
    client.force_login(superuser)
    page = client.post(f"/admin/auth/user/{superuser.pk}/change/", {
        "username": "root", "is_active": "on", "is_staff": "on", "date_joined_0": "2026-01-01",
        "date_joined_1": "00:00:00"})
    assert page.status_code == 200 and "last active superuser" in page.content.decode()
    assert _user("root").is_superuser
    assert client.get(f"/admin/auth/user/{superuser.pk}/delete/").status_code == 403
