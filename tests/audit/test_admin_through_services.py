"""Defect 8: the admin saves through the services (checks and audit), never the model directly."""
import pytest

from apps.accounts.models import Grant, Team
from apps.clusters.models import Cluster

from .helpers import events, only

pytestmark = [pytest.mark.postgres, pytest.mark.usefixtures("pg")]

CLUSTER_FORM = {
    "name": "prod", "kind": "kubernetes", "simulator_topology": "", "api_server_url": "https://127.0.0.1:6443",
    "kube_context": "", "prometheus_url": "", "grafana_url": "", "tracing_url": "", "istio_namespace": "istio-system",
    "health_tolerances": "null", "kubeconfig": "", "token": "admin-token-1", "ca_pem": "",
}


def test_admin_cluster_add_checks_the_ca_and_saves_nothing_when_bad(superuser, page_client):
    client = page_client(superuser)
    response = client.post("/admin/clusters/cluster/add/", {**CLUSTER_FORM, "ca_pem": "not a certificate"})
    assert response.status_code == 200
    assert "must be PEM text" in response.content.decode()
    assert not Cluster.objects.filter(name="prod").exists() and not events("cluster.create")


def test_admin_cluster_add_change_delete_are_audited(superuser, page_client):
    client = page_client(superuser)
    response = client.post("/admin/clusters/cluster/add/", CLUSTER_FORM, HTTP_X_REQUEST_ID="req-admin-add")
    assert response.status_code == 302, response.content.decode()[:2000]
    cluster = Cluster.objects.get(name="prod")
    assert cluster.credentials["token"] == "admin-token-1"
    created = only("cluster.create")
    assert (created.actor_username, created.actor_auth, created.request_id) == ("root", "session", "req-admin-add")
    change = {**CLUSTER_FORM, "prometheus_url": "http://127.0.0.1:9090", "token": ""}
    assert client.post(f"/admin/clusters/cluster/{cluster.pk}/change/", change).status_code == 302
    assert only("cluster.update").after == {"prometheus_url": "http://127.0.0.1:9090"}
    assert not events("cluster.credentials_changed")  # an empty token keeps the stored one
    client.post(f"/admin/clusters/cluster/{cluster.pk}/change/", {**change, "token": "admin-token-2"})
    assert only("cluster.credentials_changed").actor_username == "root"
    assert Cluster.objects.get(pk=cluster.pk).credentials["token"] == "admin-token-2"
    client.post(f"/admin/clusters/cluster/{cluster.pk}/delete/", {"post": "yes"})
    assert not Cluster.objects.filter(pk=cluster.pk).exists()
    assert only("cluster.delete").before["name"] == "prod"


def test_admin_bulk_delete_goes_through_the_service(superuser, page_client, sim_cluster):
    page_client(superuser).post("/admin/clusters/cluster/", {"action": "delete_selected",
                                                             "_selected_action": [sim_cluster.pk], "post": "yes"})
    assert not Cluster.objects.exists() and only("cluster.delete").target_name == "demo"


def test_admin_grants_and_teams_are_audited(superuser, page_client, sim_cluster, make_user):
    lee = make_user("lee")
    client = page_client(superuser)
    response = client.post("/admin/accounts/grant/add/", {"user": lee.pk, "team": "", "cluster": sim_cluster.pk,
                                                          "namespace_pattern": "bookinfo", "role": 10})
    assert response.status_code == 302, response.content.decode()[:1500]
    grant = Grant.objects.get(user=lee)
    assert only("grant.create").actor_username == "root"
    client.post(f"/admin/accounts/grant/{grant.pk}/change/", {"namespace_pattern": "bookinfo", "role": 20})
    assert only("grant.update").after["role"] == "operator"
    client.post("/admin/accounts/team/add/", {"name": "sre", "members": [lee.pk]})
    team = Team.objects.get(name="sre")
    assert list(team.members.all()) == [lee]
    assert only("team.create").target_name == "sre" and only("team.member_add").after == {"member": "lee"}
    client.post(f"/admin/accounts/team/{team.pk}/change/", {"name": "sre", "members": []})
    assert only("team.member_remove").before == {"member": "lee"}
    client.post(f"/admin/accounts/grant/{grant.pk}/delete/", {"post": "yes"})
    assert only("grant.delete") and not Grant.objects.filter(pk=grant.pk).exists()


def test_admin_user_add_and_password_change_are_audited(superuser, page_client):
    client = page_client(superuser)
    password = "Stable-horse-42-x"
    response = client.post("/admin/auth/user/add/", {"username": "mia", "usable_password": "true",
                                                     "password1": password, "password2": password})
    assert response.status_code == 302, response.content.decode()[:1500]
    created = only("user.create")
    assert created.target_name == "mia" and "Stable-horse" not in created.after_json
    from django.contrib.auth import get_user_model

    mia = get_user_model().objects.get(username="mia")
    client.post(f"/admin/auth/user/{mia.pk}/password/", {"password1": "Other-horse-43-y",
                                                         "password2": "Other-horse-43-y"})
    mia.refresh_from_db()
    assert mia.check_password("Other-horse-43-y")
    update = only("user.update")
    assert update.after == {"password": "[redacted]"} and "Other-horse" not in update.after_json


def test_the_trail_is_read_only_in_the_admin(superuser, page_client):
    from apps.audit.services import Target, audit_record

    event = audit_record("cluster.update", target=Target(type="cluster", name="demo"))
    client = page_client(superuser)
    assert client.get("/admin/audit/auditevent/").status_code == 200
    page = client.get(f"/admin/audit/auditevent/{event.seq}/change/")
    assert page.status_code == 200 and 'name="_save"' not in page.content.decode()  # view only
    assert client.get("/admin/audit/auditevent/add/").status_code == 403
    assert client.post(f"/admin/audit/auditevent/{event.seq}/delete/", {"post": "yes"}).status_code == 403
    assert client.post(f"/admin/audit/auditevent/{event.seq}/change/", {"message": "x"}).status_code == 403
    event.refresh_from_db()
    assert event.message == ""
