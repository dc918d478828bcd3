"""The role matrix of the grants, users and teams endpoints (each write checked and audited)."""
import pytest

from apps.accounts.models import Grant, Team
from apps.audit.models import AuditEvent

pytestmark = [pytest.mark.postgres, pytest.mark.usefixtures("pg")]


def test_grants_endpoints_by_role(viewer, operator, cluster_admin, outsider, superuser, api_client):
    body = {"user": "outsider", "namespace_pattern": "bookinfo", "role": "viewer"}
    assert api_client(outsider).get("/api/clusters/demo/grants/").status_code == 404
    assert api_client(outsider).post("/api/clusters/demo/grants/", body, format="json").status_code == 404
    for person in (viewer, operator):
        assert api_client(person).get("/api/clusters/demo/grants/").status_code == 403
        response = api_client(person).post("/api/clusters/demo/grants/", body, format="json")
        assert response.status_code == 403 and response.json()["code"] == "permission_denied"
    assert AuditEvent.objects.filter(action="grant.create", outcome="denied").count() == 2
    assert not Grant.objects.filter(user=outsider).exists()
    for person in (cluster_admin, superuser):
        response = api_client(person).post("/api/clusters/demo/grants/", body, format="json")
        assert response.status_code == 201, response.content
        grant_id = response.json()["id"]
        listed = api_client(person).get("/api/clusters/demo/grants/").json()
        assert {"outsider"} <= {g["user"] for g in listed}
        assert api_client(person).delete(f"/api/clusters/demo/grants/{grant_id}/").status_code == 204
    assert api_client(viewer).delete("/api/clusters/demo/grants/1/").status_code == 403


def test_grant_input_errors_use_the_one_shape(cluster_admin, api_client):
    client = api_client(cluster_admin)
    response = client.post("/api/clusters/demo/grants/", {"user": "ghost", "role": "viewer"}, format="json")
    assert response.status_code == 400
    assert response.json()["errors"] == {"user": ["No user named 'ghost'."]} and response.json()["request_id"]
    response = client.post("/api/clusters/demo/grants/", {"user": "cluster-admin", "team": "t", "role": "viewer"},
                           format="json")
    assert response.status_code == 400 and "either user or team" in response.json()["detail"]
    assert client.get("/api/clusters/demo/grants/99999/").status_code == 404


def test_a_grant_on_another_cluster_is_not_reachable_through_this_one(cluster_admin, api_client, make_user):
    from apps.accounts.roles import Role
    from apps.clusters.models import Cluster

    other = Cluster.objects.create(name="other", kind=Cluster.Kind.SIMULATED)
    theirs = Grant.objects.create(user=make_user("nick"), cluster=other, role=Role.VIEWER)
    assert api_client(cluster_admin).delete(f"/api/clusters/demo/grants/{theirs.pk}/").status_code == 404
    assert Grant.objects.filter(pk=theirs.pk).exists()


def test_users_and_teams_endpoints_are_for_superusers(viewer, cluster_admin, superuser, api_client):
    for person in (viewer, cluster_admin):
        client = api_client(person)
        assert client.get("/api/users/").status_code == 403
        assert client.post("/api/teams/", {"name": "x"}, format="json").status_code == 403
    assert not Team.objects.exists()
    assert AuditEvent.objects.filter(action="team.create", outcome="denied").count() == 2
    client = api_client(superuser)
    assert client.post("/api/teams/", {"name": "ops"}, format="json").status_code == 201
    assert client.post("/api/teams/ops/members/", {"username": "viewer"}, format="json").json()["members"] == [
        "viewer"]
    assert client.get("/api/users/viewer/").json()["teams"] == ["ops"]
    assert client.get("/api/users/nobody/").status_code == 404
    weak = client.post("/api/users/", {"username": "o", "password": "123"}, format="json")
    assert weak.status_code == 400 and "password" in weak.json()["errors"]
