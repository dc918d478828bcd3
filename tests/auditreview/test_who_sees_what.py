"""Audit history review: each person reads only what their grants allow, in the page, the API and the export."""
import json

import pytest

from apps.accounts.services import api_token_create
from apps.audit.actor import Actor
from apps.audit.services import Target, audit_record
from apps.clusters.models import Cluster

pytestmark = [pytest.mark.postgres, pytest.mark.usefixtures("pg")]

SYSTEM = Actor.system()


@pytest.fixture
def trail(sim_cluster, viewer, operator):
    """Events in two namespaces of demo, one cluster-level, one on another cluster, and people's logins."""
    Cluster.objects.create(name="other", kind=Cluster.Kind.SIMULATED)
    for namespace, name in (("bookinfo", "reviews-v2"), ("grpc-demo", "grpc-server-v1")):
        audit_record("admin.override", actor=SYSTEM, message=f"edit {name}",
                     target=Target(type="workload", cluster="demo", namespace=namespace, name=name))
    audit_record("cluster.update", actor=SYSTEM, target=Target(type="cluster", cluster="demo", name="demo"),
                 after={"prometheus_url": "http://cluster-level"})
    audit_record("cluster.update", actor=SYSTEM, target=Target(type="cluster", cluster="other", name="other"),
                 after={"prometheus_url": "http://other-cluster"})
    audit_record("auth.login", actor=Actor.for_user(viewer, auth="session"), target=Target(type="user",
                 name="viewer", id=viewer.pk))
    audit_record("auth.login", actor=Actor.for_user(operator, auth="session"), target=Target(type="user",
                 name="operator", id=operator.pk))


def _names(events):
    return {(e["action"], e["target_name"]) for e in events}


def _api(client, query=""):
    response = client.get("/api/audit/events/" + query)
    assert response.status_code == 200, response.content
    return response.json()["results"]


def _export(client, fmt="jsonl", query=""):
    response = client.get(f"/api/audit/events/export?format={fmt}{query}")
    assert response.status_code == 200
    return b"".join(response.streaming_content).decode()


def test_viewer_never_sees_another_namespace(trail, viewer, api_client, page_client):
    seen = _names(_api(api_client(viewer)))
    assert ("admin.override", "reviews-v2") in seen and ("auth.login", "viewer") in seen
    assert not {n for _, n in seen} & {"grpc-server-v1", "demo", "other", "operator"}
    assert _api(api_client(viewer), "?namespace=grpc-demo") == []
    export = _export(api_client(viewer))
    assert "reviews-v2" in export and "grpc" not in export and "http://cluster-level" not in export
    csv_export = _export(api_client(viewer), "csv")
    assert "reviews-v2" in csv_export and "grpc" not in csv_export
    page = page_client(viewer).get("/audit/").content.decode()
    assert "reviews-v2" in page and "grpc" not in page and "other-cluster" not in page
    page = page_client(viewer).get("/audit/?namespace=grpc-demo").content.decode()
    assert "grpc-server-v1" not in page and "No events" in page


def test_viewer_with_a_bearer_token_is_narrowed_the_same_way(trail, viewer):
    from rest_framework.test import APIClient

    _, secret = api_token_create(user=viewer, name="reader")
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {secret}")
    assert {n for _, n in _names(_api(client))} & {"grpc-server-v1", "other"} == set()


def test_cluster_admin_sees_the_whole_cluster_but_not_another(trail, cluster_admin, api_client):
    seen = {n for _, n in _names(_api(api_client(cluster_admin)))}
    assert {"reviews-v2", "grpc-server-v1", "demo"} <= seen and "other" not in seen


def test_a_glob_grant_sees_matching_namespaces(trail, make_user, sim_cluster, api_client):
    from apps.accounts.roles import Role

    user = make_user("globber", cluster=sim_cluster, role=Role.OPERATOR, pattern="grpc-*")
    seen = {n for _, n in _names(_api(api_client(user)))}
    assert "grpc-server-v1" in seen and "reviews-v2" not in seen


def test_superuser_sees_everything_and_outsider_only_their_own(trail, superuser, outsider, api_client):
    assert {"reviews-v2", "grpc-server-v1", "demo", "other", "operator"} <= {
        n for _, n in _names(_api(api_client(superuser)))}
    own = _api(api_client(outsider))  # their own login (force_login) and nothing else
    assert {(e["action"], e["target_name"]) for e in own} == {("auth.login", "outsider")}


def test_operator_sees_own_logins_not_the_viewers(trail, operator, api_client):
    logins = [e for e in _api(api_client(operator), "?action=auth.*")]
    assert {e["target_name"] for e in logins} == {"operator"}


def test_filters_and_the_one_error_shape(trail, superuser, api_client):
    client = api_client(superuser)
    assert {e["target_cluster"] for e in _api(client, "?cluster=other")} == {"other"}
    assert {e["action"] for e in _api(client, "?action=cluster.*")} == {"cluster.update"}
    assert [e["target_name"] for e in _api(client, "?object=reviews-v2")] == ["reviews-v2"]
    assert _api(client, "?outcome=denied") == []
    assert _api(client, "?since=2000-01-01&until=2999-12-31")
    bad = client.get("/api/audit/events/?since=last-tuesday")
    assert bad.status_code == 400
    body = bad.json()
    assert body["code"] == "invalid_filter" and "since must be a date" in body["detail"] and body["request_id"]
    assert client.get("/api/audit/events/export?format=xml").json()["code"] == "invalid_filter"


def test_page_shows_the_before_after_diff_and_chain_status(trail, superuser, page_client):
    from django.core.management import call_command

    call_command("audit", "verify")
    page = page_client(superuser).get("/audit/?object=demo").content.decode()
    assert "prometheus_url" in page and "http://cluster-level" in page and "<details>" in page
    assert "intact" in page and "@manage.py" in page
    status = page_client(superuser).get("/api/audit/chain/").json()
    assert status["last_verified_ok"] is True and status["head_seq"] >= 8


def test_page_paginates(superuser, page_client, db):
    for i in range(55):
        audit_record("cluster.update", actor=SYSTEM, target=Target(type="cluster", cluster="c", name=f"c{i}"))
    first = page_client(superuser).get("/audit/").content.decode()
    assert "Page 1 of 2" in first and "c54" in first and ">c0<" not in first
    second = page_client(superuser).get("/audit/?page=2").content.decode()
    assert "c0" in second


def test_object_pages_link_to_their_history(superuser, page_client, sim_cluster):
    page = page_client(superuser).get("/clusters/demo/").content.decode()
    assert "/audit/?cluster=demo" in page
    page = page_client(superuser).get("/clusters/demo/namespaces/bookinfo/workloads/reviews-v2/").content.decode()
    assert "/audit/?cluster=demo&amp;namespace=bookinfo&amp;object=reviews-v2" in page


def test_export_is_streamed_oldest_first_with_the_chain(trail, superuser, api_client):
    lines = [json.loads(line) for line in _export(api_client(superuser)).splitlines()]
    assert [line["seq"] for line in lines] == sorted(line["seq"] for line in lines)
    assert all(lines[i]["prev_hash"] == lines[i - 1]["hash"] for i in range(1, len(lines)))
