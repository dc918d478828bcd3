"""Grants by pattern and by team; querysets narrowed to what grants allow."""
import pytest

from apps.accounts.models import Grant, Team
from apps.accounts.roles import Role
from apps.accounts.selectors import namespace_role, namespace_visibility
from apps.clusters.models import Cluster
from apps.clusters.selectors import clusters_for_user

pytestmark = pytest.mark.django_db

NAMESPACES = ["bookinfo", "team-a", "team-b", "teamless", "istio-system"]


def visible(user, cluster) -> list[str]:
    allowed = namespace_visibility(user, cluster)
    return [ns for ns in NAMESPACES if allowed(ns)]


def test_glob_pattern_grant(make_user, sim_cluster):
    user = make_user("dev", cluster=sim_cluster, role=Role.VIEWER, pattern="team-*")
    assert visible(user, sim_cluster) == ["team-a", "team-b"]


def test_viewer_sees_only_bookinfo(viewer, sim_cluster):
    assert visible(viewer, sim_cluster) == ["bookinfo"]
    assert namespace_role(viewer, sim_cluster, "team-a") is None


def test_team_grant_reaches_members_only(make_user, sim_cluster):
    alice, bob = make_user("alice"), make_user("bob")
    team = Team.objects.create(name="payments")
    team.members.add(alice)
    Grant.objects.create(team=team, cluster=sim_cluster, role=Role.OPERATOR, namespace_pattern="team-a")
    assert namespace_role(alice, sim_cluster, "team-a") == Role.OPERATOR
    assert namespace_role(bob, sim_cluster, "team-a") is None
    assert list(clusters_for_user(alice)) == [sim_cluster]
    assert list(clusters_for_user(bob)) == []


def test_highest_role_wins_across_user_and_team_grants(make_user, sim_cluster):
    carol = make_user("carol", cluster=sim_cluster, role=Role.VIEWER, pattern="*")
    team = Team.objects.create(name="leads")
    team.members.add(carol)
    Grant.objects.create(team=team, cluster=sim_cluster, role=Role.APPROVER, namespace_pattern="bookinfo")
    assert namespace_role(carol, sim_cluster, "bookinfo") == Role.APPROVER
    assert namespace_role(carol, sim_cluster, "team-a") == Role.VIEWER


def test_grant_on_one_cluster_says_nothing_about_another(viewer, sim_cluster):
    other = Cluster.objects.create(name="other", kind=Cluster.Kind.SIMULATED)
    assert namespace_visibility(viewer, other)("bookinfo") is False
    assert list(clusters_for_user(viewer)) == [sim_cluster]


def test_inactive_user_sees_nothing(viewer, sim_cluster):
    viewer.is_active = False
    viewer.save()
    assert namespace_visibility(viewer, sim_cluster)("bookinfo") is False
    assert list(clusters_for_user(viewer)) == []


def test_grant_needs_exactly_one_of_user_or_team(make_user, sim_cluster):
    from django.core.exceptions import ValidationError

    with pytest.raises(ValidationError):
        Grant(cluster=sim_cluster, role=Role.VIEWER, namespace_pattern="*").full_clean()
    user, team = make_user("dave"), Team.objects.create(name="x")
    with pytest.raises(ValidationError):
        Grant(cluster=sim_cluster, role=Role.VIEWER, user=user, team=team).full_clean()


def test_viewer_api_cluster_list_and_detail(viewer, api_client, sim_cluster):
    Cluster.objects.create(name="secret", kind=Cluster.Kind.SIMULATED)
    client = api_client(viewer)
    names = [c["name"] for c in client.get("/api/clusters/").json()]
    assert names == ["demo"]
    assert client.get("/api/clusters/secret/").status_code == 404
    assert client.get("/api/clusters/demo/").json()["my_role"] == "viewer"


def test_a_deactivated_cluster_admin_administers_nothing(cluster_admin, superuser, sim_cluster):
    from apps.accounts.selectors import is_cluster_admin

    assert is_cluster_admin(cluster_admin, sim_cluster) and is_cluster_admin(superuser, sim_cluster)
    for user in (cluster_admin, superuser):
        user.is_active = False
        user.save()
        assert not is_cluster_admin(user, sim_cluster), user
