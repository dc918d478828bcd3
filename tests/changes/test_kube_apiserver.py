"""Rendered changes against the real kube-apiserver (v1.20.2) with the upstream Istio CRDs.

Writes go through ``KubernetesGateway`` (server-side apply, merge patches); what
the server stored is read back over plain HTTP, independently of the gateway.
The API server prunes fields its schema does not know instead of refusing
them, so "the schema accepts it" is checked as: the stored spec is exactly the
rendered spec.
"""
from __future__ import annotations

import pytest

from apps.changes.preview import preview_change
from apps.changes.render import render_change
from apps.changes.writes import capture_prior_state
from apps.clusters.gateway import RESTARTED_AT_ANNOTATION
from apps.clusters.inventory import ISTIO_KINDS
from tests.kube.helpers import admin_gateway, apply, load_bookinfo

pytestmark = pytest.mark.kube


kube = pytest.fixture(admin_gateway, name="kube")


@pytest.fixture
def bookinfo(kube_apiserver, kube_namespace):
    """Bookinfo's Services and Deployments (pods running and ready), no Istio config."""
    ns = kube_namespace("chg", labels={"istio-injection": "enabled"})
    load_bookinfo(kube_apiserver, ns, with_ingress=False, with_istio_config=False)
    return ns


@pytest.fixture
def bookinfo_configured(kube_apiserver, kube_namespace):
    """Bookinfo with its Istio config (VirtualService reviews 80/20 v1/v3, DestinationRule reviews...)
    written by another client."""
    ns = kube_namespace("cfg", labels={"istio-injection": "enabled"})
    load_bookinfo(kube_apiserver, ns, with_ingress=False)
    return ns


def stored(server, kind: str, namespace: str, name: str) -> dict:
    group, version, plural = ISTIO_KINDS[kind]
    r = server.http().get(f"{server.url}/apis/{group}/{version}/namespaces/{namespace}/{plural}/{name}", timeout=30)
    assert r.ok, r.text
    return r.json()


def execute(rendered, gateway) -> None:
    for write in rendered.writes:
        write.execute(gateway)


def test_a_traffic_shift_is_accepted_with_the_requested_weights(kube_apiserver, kube, bookinfo):
    inventory = kube.inventory([bookinfo])
    rendered = render_change({"kind": "traffic_shift", "namespace": bookinfo, "service": "reviews",
                              "weights": {"v1": 0, "v2": 80, "v3": 20}}, inventory, change_id="17")
    preview = preview_change(rendered, inventory, clients=[(bookinfo, "productpage-v1")])
    assert not preview.blocking and preview.findings == (), preview.blocking_reasons
    assert preview.traffic[0].after.shares == (("v1", 0.0), ("v2", 80.0), ("v3", 20.0))
    execute(rendered, kube)
    vs = stored(kube_apiserver, "VirtualService", bookinfo, "reviews")
    dr = stored(kube_apiserver, "DestinationRule", bookinfo, "reviews")
    assert [(d["destination"]["subset"], d["weight"]) for d in vs["spec"]["http"][0]["route"]] == [
        ("v1", 0), ("v2", 80), ("v3", 20)]
    assert vs["spec"] == rendered.writes[1].manifest["spec"]
    assert dr["spec"] == rendered.writes[0].manifest["spec"]
    assert [s["labels"] for s in dr["spec"]["subsets"]] == [{"version": "v1"}, {"version": "v2"}, {"version": "v3"}]
    assert vs["metadata"]["labels"]["app.kubernetes.io/managed-by"] == "meshdeck"
    assert vs["metadata"]["annotations"]["meshdeck.io/change-id"] == "17"
    # read back through the gateway, the objects are Meshdeck's: a new shift edits them without take-over
    again = render_change({"kind": "traffic_shift", "namespace": bookinfo, "service": "reviews",
                           "weights": {"v1": 100}}, kube.inventory([bookinfo]))
    assert again.foreign == () and [w.target.name for w in again.writes] == ["reviews", "reviews"]
    execute(again, kube)
    assert stored(kube_apiserver, "VirtualService", bookinfo, "reviews")["spec"]["http"][0]["route"] == [
        {"destination": {"host": f"reviews.{bookinfo}.svc.cluster.local", "subset": "v1"}, "weight": 100}]


def _kinds(ns: str) -> list[dict]:
    jason = {"type": "header", "name": "end-user", "op": "exact", "value": "jason"}
    return [
        {"kind": "request_routing", "namespace": ns, "service": "reviews", "default": "v1",
         "rules": [{"match": [jason], "route": "v2"},
                   {"match": [{"type": "uri", "op": "prefix", "value": "/api"},
                              {"type": "query", "name": "beta", "op": "regex", "value": "^(1|true)$"}],
                    "route": {"v2": 50, "v3": 50}}]},
        {"kind": "fault_injection", "namespace": ns, "service": "ratings",
         "delay": {"fixed_delay": "1.5s", "percentage": 50}, "abort": {"http_status": 500, "percentage": 12.5}},
        {"kind": "request_timeouts", "namespace": ns, "service": "details", "timeout": "2s",
         "retries": {"attempts": 3, "per_try_timeout": "500ms", "retry_on": "5xx,connect-failure,503"}},
        {"kind": "tcp_traffic_shift", "namespace": ns, "service": "mongodb", "weights": {"v1": 100}},
        {"kind": "suspend_traffic", "namespace": ns, "service": "productpage", "http_status": 503},
        {"kind": "suspend_traffic", "namespace": ns, "service": "reviews", "version": "v1"},
    ]


@pytest.mark.parametrize("index", range(6), ids=["request_routing", "fault_injection", "request_timeouts",
                                                 "tcp_traffic_shift", "suspend_service", "suspend_version"])
def test_every_routing_kind_renders_objects_the_schema_accepts(kube_apiserver, kube, bookinfo, index):
    data = _kinds(bookinfo)[index]
    rendered = render_change(data, kube.inventory([bookinfo]))
    execute(rendered, kube)
    for write in rendered.writes:
        obj = stored(kube_apiserver, *write.target)
        assert obj["spec"] == write.manifest["spec"], f"the server dropped or changed fields of {write.target}"
        assert obj["metadata"]["labels"] == write.manifest["metadata"]["labels"]


def test_rollback_of_a_take_over_restores_the_objects_exactly(kube_apiserver, kube, bookinfo_configured):
    ns = bookinfo_configured
    before = {kind: stored(kube_apiserver, kind, ns, "reviews") for kind in ("VirtualService", "DestinationRule")}
    shift = render_change({"kind": "traffic_shift", "namespace": ns, "service": "reviews",
                           "weights": {"v2": 50, "v3": 50}, "take_over": True}, kube.inventory([ns]))
    assert sorted(str(t) for t in shift.foreign) == [f"DestinationRule {ns}/reviews", f"VirtualService {ns}/reviews"]
    priors = []
    for write in shift.writes:  # as the apply task does: read, record, write
        priors.append(capture_prior_state(write, kube.inventory([ns])))
        write.execute(kube)
    taken = stored(kube_apiserver, "DestinationRule", ns, "reviews")
    assert taken["spec"]["trafficPolicy"] == {"tls": {"mode": "ISTIO_MUTUAL"}}  # kept
    assert taken["metadata"]["labels"]["app.kubernetes.io/managed-by"] == "meshdeck"
    rollback = render_change({"kind": "rollback", "prior_states": [p.as_dict() for p in priors]},
                             kube.inventory([ns]))
    assert rollback.blockers == ()
    execute(rollback, kube)
    for kind, old in before.items():
        now = stored(kube_apiserver, kind, ns, "reviews")
        assert now["spec"] == old["spec"], kind
        assert now["metadata"].get("labels") == old["metadata"].get("labels"), kind
        assert now["metadata"].get("annotations") == old["metadata"].get("annotations"), kind


def test_rollback_deletes_what_the_change_created(kube_apiserver, kube, bookinfo):
    shift = render_change({"kind": "traffic_shift", "namespace": bookinfo, "service": "reviews",
                           "weights": {"v3": 100}}, kube.inventory([bookinfo]))
    priors = []
    for write in shift.writes:
        priors.append(capture_prior_state(write, kube.inventory([bookinfo])))
        write.execute(kube)
    execute(render_change({"kind": "rollback", "prior_states": [p.as_dict() for p in priors]},
                          kube.inventory([bookinfo])), kube)
    for kind in ("VirtualService", "DestinationRule"):
        group, version, plural = ISTIO_KINDS[kind]
        r = kube_apiserver.http().get(
            f"{kube_apiserver.url}/apis/{group}/{version}/namespaces/{bookinfo}/{plural}/reviews", timeout=30)
        assert r.status_code == 404, kind


WEB = {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web", "namespace": "NS"},
       "spec": {"replicas": 1, "selector": {"matchLabels": {"app": "web"}}, "template": {
           "metadata": {"labels": {"app": "web", "version": "v1"}},
           "spec": {"containers": [{"name": "web", "image": "web:1"}]}}}}


def _deployment(server, ns: str) -> dict:
    r = server.http().get(f"{server.url}/apis/apps/v1/namespaces/{ns}/deployments/web", timeout=30)
    assert r.ok, r.text
    return r.json()


def _namespace_labels(server, ns: str) -> dict:
    r = server.http().get(f"{server.url}/api/v1/namespaces/{ns}", timeout=30)
    assert r.ok, r.text
    return r.json()["metadata"].get("labels") or {}


@pytest.fixture
def web(kube_apiserver, kube_namespace):
    ns = kube_namespace("inj", labels={"istio-injection": "enabled", "team": "a"})
    apply(kube_apiserver, [{**WEB, "metadata": {"name": "web", "namespace": ns}}])
    return ns


def test_sidecar_injection_changes_the_namespace_label_as_asked(kube_apiserver, kube, web):
    for state, expected in (("disabled", "disabled"), ("removed", None), ("enabled", "enabled")):
        rendered = render_change({"kind": "sidecar_injection", "namespace": web, "state": state},
                                 kube.inventory([web]))
        execute(rendered, kube)
        labels = _namespace_labels(kube_apiserver, web)
        assert labels.get("istio-injection") == expected and labels["team"] == "a"


def test_sidecar_injection_changes_the_pod_template_label_as_asked(kube_apiserver, kube, web):
    for state, expected in (("disabled", "false"), ("enabled", "true"), ("removed", None)):
        rendered = render_change({"kind": "sidecar_injection", "namespace": web, "workload": "web", "state": state},
                                 kube.inventory([web]))
        execute(rendered, kube)
        labels = _deployment(kube_apiserver, web)["spec"]["template"]["metadata"]["labels"]
        assert labels.get("sidecar.istio.io/inject") == expected and labels["app"] == "web"


def test_a_namespace_change_with_restart_stamps_restarted_at_on_the_chosen_workloads(kube_apiserver, kube, web):
    assert RESTARTED_AT_ANNOTATION not in (_deployment(kube_apiserver, web)["spec"]["template"]["metadata"]
                                           .get("annotations") or {})
    rendered = render_change({"kind": "sidecar_injection", "namespace": web, "state": "disabled",
                              "restart": ["web"]}, kube.inventory([web]))
    priors = []
    for write in rendered.writes:
        priors.append(capture_prior_state(write, kube.inventory([web])))
        write.execute(kube)
    template = _deployment(kube_apiserver, web)["spec"]["template"]["metadata"]
    assert template["annotations"][RESTARTED_AT_ANNOTATION].endswith("Z")
    assert _namespace_labels(kube_apiserver, web)["istio-injection"] == "disabled"
    rollback = render_change({"kind": "rollback", "prior_states": [p.as_dict() for p in priors]},
                             kube.inventory([web]))
    execute(rollback, kube)
    assert RESTARTED_AT_ANNOTATION not in (_deployment(kube_apiserver, web)["spec"]["template"]["metadata"]
                                           .get("annotations") or {})
    assert _namespace_labels(kube_apiserver, web)["istio-injection"] == "enabled"


def test_restart_workload_sets_a_new_restarted_at_each_time(kube_apiserver, kube, web):
    first = kube.restart_workload("Deployment", web, "web")
    stamp = first.annotations[RESTARTED_AT_ANNOTATION]
    assert _deployment(kube_apiserver, web)["spec"]["template"]["metadata"]["annotations"][
        RESTARTED_AT_ANNOTATION] == stamp
    generation = _deployment(kube_apiserver, web)["metadata"]["generation"]
    import time

    time.sleep(1.1)  # the stamp has one-second resolution, as kubectl's
    second = kube.restart_workload("Deployment", web, "web")
    assert second.annotations[RESTARTED_AT_ANNOTATION] > stamp
    assert _deployment(kube_apiserver, web)["metadata"]["generation"] == generation + 1  # a new rollout
