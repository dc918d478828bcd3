"""Acceptance (issue 10): the change flow against the real kube-apiserver (v1.20.2) with the Istio CRDs.

Every change goes through the services or the API (create, submit, approve by another person,
apply by the task), and what the API server stored is read back over plain HTTP.
"""
from __future__ import annotations

import pytest

from apps.accounts.roles import Role
from apps.changes.models import ChangeRequest
from apps.changes.services import change_approve, change_create, change_execute, change_rollback
from apps.clusters.services import cluster_create
from tests.kube.helpers import apply

from .flow_helpers import PASSWORD
from .test_kube_apiserver import WEB, _deployment, _kinds, _namespace_labels, stored

pytestmark = [pytest.mark.kube, pytest.mark.django_db]
S = ChangeRequest.Status


@pytest.fixture
def real(kube_apiserver, db):
    return cluster_create(name="real", kind="kubernetes", api_server_url=kube_apiserver.url,
                          token=kube_apiserver.admin_token, ca_pem=kube_apiserver.ca_pem)


@pytest.fixture
def people(real, make_user):
    return (make_user("kop", cluster=real, role=Role.OPERATOR), make_user("kap", cluster=real, role=Role.APPROVER),
            make_user("kap2", cluster=real, role=Role.APPROVER))


def reviewed_and_applied(real, people, data) -> ChangeRequest:
    op, ap, _ = people
    change = change_create(cluster=real, user=op, data=data, submit=True)
    change_approve(change=change, user=ap, password=PASSWORD)
    assert change_execute(change.pk) == "applied", ChangeRequest.objects.get(pk=change.pk).error_message
    change.refresh_from_db()
    return change


def test_a_reviewed_traffic_shift_over_the_api_creates_the_vs_and_dr(kube_apiserver, real, people, bookinfo,
                                                                     api_client, eager_tasks,
                                                                     django_capture_on_commit_callbacks):
    op, ap, _ = people
    r = api_client(op).post("/api/clusters/real/changes/", {
        "kind": "traffic_shift", "namespace": bookinfo, "service": "reviews",
        "weights": {"v1": 0, "v2": 80, "v3": 20}, "submit": True}, format="json")
    assert r.status_code == 201 and r.json()["status"] == "submitted", r.content
    change_id = r.json()["id"]
    approver = api_client(ap)
    assert approver.post(f"/api/changes/{change_id}/approve/", {"password": PASSWORD},
                         format="json").json()["status"] == "approved"
    with django_capture_on_commit_callbacks(execute=True):
        r = approver.post(f"/api/changes/{change_id}/apply/", {"password": PASSWORD}, format="json")
    assert r.status_code == 200
    change = ChangeRequest.objects.get(pk=change_id)
    assert change.status == S.APPLIED, change.error_message
    vs = stored(kube_apiserver, "VirtualService", bookinfo, "reviews")
    dr = stored(kube_apiserver, "DestinationRule", bookinfo, "reviews")
    assert [(d["destination"]["subset"], d["weight"]) for d in vs["spec"]["http"][0]["route"]] == [
        ("v1", 0), ("v2", 80), ("v3", 20)]
    assert vs["metadata"]["annotations"]["meshdeck.io/change-id"] == str(change_id)
    assert vs["spec"] == change.payload["writes"][1]["manifest"]["spec"]
    assert dr["spec"] == change.payload["writes"][0]["manifest"]["spec"]
    managers = {m["manager"] for m in vs["metadata"]["managedFields"]}
    assert "meshdeck" in managers  # server-side apply under Meshdeck's field manager


@pytest.mark.parametrize("index", range(4), ids=["request_routing", "fault_injection", "request_timeouts",
                                                 "tcp_traffic_shift"])
def test_every_kind_applied_through_the_flow_is_accepted_by_the_schema(kube_apiserver, real, people, bookinfo, index):
    change = reviewed_and_applied(real, people, _kinds(bookinfo)[index])
    for write in change.payload["writes"]:
        m = write["manifest"]
        obj = stored(kube_apiserver, m["kind"], m["metadata"]["namespace"], m["metadata"]["name"])
        assert obj["spec"] == m["spec"], m["kind"]


@pytest.fixture
def web(kube_apiserver, kube_namespace):
    ns = kube_namespace("finj", labels={"istio-injection": "enabled", "team": "a"})
    apply(kube_apiserver, [{**WEB, "metadata": {"name": "web", "namespace": ns}}])
    return ns


def test_sidecar_injection_through_the_flow(kube_apiserver, real, people, web):
    reviewed_and_applied(real, people, {"kind": "sidecar_injection", "namespace": web, "state": "disabled"})
    assert _namespace_labels(kube_apiserver, web) == {"istio-injection": "disabled", "team": "a"}
    reviewed_and_applied(real, people, {"kind": "sidecar_injection", "namespace": web, "workload": "web",
                                        "state": "disabled"})
    labels = _deployment(kube_apiserver, web)["spec"]["template"]["metadata"]["labels"]
    assert labels["sidecar.istio.io/inject"] == "false" and labels["app"] == "web"


def test_an_edit_by_another_client_between_approval_and_apply_makes_the_change_stale(kube_apiserver, real, people,
                                                                                      bookinfo_configured):
    op, ap, _ = people
    ns = bookinfo_configured
    change = change_create(cluster=real, user=op, submit=True, data={
        "kind": "traffic_shift", "namespace": ns, "service": "reviews", "weights": {"v2": 50, "v3": 50},
        "take_over": True})
    change_approve(change=change, user=ap, password=PASSWORD)
    vs = stored(kube_apiserver, "VirtualService", ns, "reviews")
    vs["metadata"]["labels"] = {**(vs["metadata"].get("labels") or {}), "edited-by": "someone-else"}
    r = kube_apiserver.http().put(
        f"{kube_apiserver.url}/apis/networking.istio.io/v1/namespaces/{ns}/virtualservices/reviews", json=vs,
        timeout=30)
    assert r.ok, r.text
    assert change_execute(change.pk) == "stale"
    change.refresh_from_db()
    assert change.status == S.STALE and f"VirtualService/{ns}/reviews" in change.error_message
    assert stored(kube_apiserver, "VirtualService", ns, "reviews")["spec"] == vs["spec"]  # untouched
    assert change.valid_approvals().count() == 0


def test_rollback_restores_the_prior_objects_exactly(kube_apiserver, real, people, bookinfo_configured):
    ns = bookinfo_configured
    before = {kind: stored(kube_apiserver, kind, ns, "reviews") for kind in ("VirtualService", "DestinationRule")}
    change = reviewed_and_applied(real, people, {"kind": "traffic_shift", "namespace": ns, "service": "reviews",
                                                 "weights": {"v2": 50, "v3": 50}, "take_over": True})
    assert stored(kube_apiserver, "DestinationRule", ns, "reviews")["metadata"]["labels"][
        "app.kubernetes.io/managed-by"] == "meshdeck"
    op, _, ap2 = people
    rollback = change_rollback(change=change, user=op)
    change_approve(change=rollback, user=ap2, password=PASSWORD)
    assert change_execute(rollback.pk) == "applied", ChangeRequest.objects.get(pk=rollback.pk).error_message
    for kind, old in before.items():
        now = stored(kube_apiserver, kind, ns, "reviews")
        assert now["spec"] == old["spec"], kind
        assert now["metadata"].get("labels") == old["metadata"].get("labels"), kind
        assert now["metadata"].get("annotations") == old["metadata"].get("annotations"), kind


def test_rollback_deletes_what_the_change_created(kube_apiserver, real, people, bookinfo):
    change = reviewed_and_applied(real, people, {"kind": "traffic_shift", "namespace": bookinfo, "service": "reviews",
                                                 "weights": {"v3": 100}})
    op, _, ap2 = people
    rollback = change_rollback(change=change, user=op)
    change_approve(change=rollback, user=ap2, password=PASSWORD)
    assert change_execute(rollback.pk) == "applied"
    for plural in ("virtualservices", "destinationrules"):
        r = kube_apiserver.http().get(
            f"{kube_apiserver.url}/apis/networking.istio.io/v1/namespaces/{bookinfo}/{plural}/reviews", timeout=30)
        assert r.status_code == 404, plural


def test_a_failure_half_way_restores_the_objects_already_written(kube_apiserver, real, people, bookinfo, monkeypatch):
    """The DestinationRule is written, then the API server refuses the VirtualService: the DR is removed again."""
    op, ap, _ = people
    change = change_create(cluster=real, user=op, submit=True, data={
        "kind": "traffic_shift", "namespace": bookinfo, "service": "reviews", "weights": {"v3": 100}})
    change_approve(change=change, user=ap, password=PASSWORD)
    writes = change.payload["writes"]
    assert [w["manifest"]["kind"] for w in writes] == ["DestinationRule", "VirtualService"]
    writes[1]["manifest"]["spec"]["http"] = "not a list"  # the server's schema refuses this
    ChangeRequest.objects.filter(pk=change.pk).update(payload=change.payload)
    assert change_execute(change.pk) == "failed"
    change.refresh_from_db()
    assert change.status == S.FAILED and "VirtualService" in change.error_message and "restored" in change.error_message
    r = kube_apiserver.http().get(
        f"{kube_apiserver.url}/apis/networking.istio.io/v1/namespaces/{bookinfo}/destinationrules/reviews", timeout=30)
    assert r.status_code == 404
