"""KubernetesGateway against the real kube-apiserver (tests/support/kubeapi.py)."""
from __future__ import annotations

import socket
import threading

import pytest

from apps.clusters.gateway import (
    ClusterForbidden,
    ClusterTimeout,
    ClusterTLSError,
    ClusterUnauthorized,
    ClusterUnreachable,
    ObjectConflict,
    ObjectInvalid,
    ObjectNotFound,
)
from apps.clusters.inventory import ISTIO_KINDS
from apps.clusters.kube import FIELD_MANAGER, KubernetesGateway, probe
from tests.kube.helpers import admin_gateway, apply, load_bookinfo, run_deployments
from tests.kube.test_kube_gateway_pure import _self_signed

pytestmark = pytest.mark.kube


gateway = pytest.fixture(admin_gateway, name="gateway")


@pytest.fixture
def bookinfo_ns(kube_apiserver, kube_namespace):
    ns = kube_namespace("bookinfo", labels={"istio-injection": "enabled"})
    load_bookinfo(kube_apiserver, ns)
    return ns


def vs_manifest(ns, name="reviews-shift", weights=(50, 50)):
    return {
        "apiVersion": "networking.istio.io/v1", "kind": "VirtualService",
        "metadata": {"name": name, "namespace": ns, "labels": {"team": "books"}},
        "spec": {"hosts": ["reviews"], "http": [{"route": [
            {"destination": {"host": "reviews", "subset": "v1"}, "weight": weights[0]},
            {"destination": {"host": "reviews", "subset": "v2"}, "weight": weights[1]}]}]},
    }


def test_reads_bookinfo_namespaces_workloads_pods_services_and_istio_config(gateway, bookinfo_ns):
    inv = gateway.inventory([bookinfo_ns])
    assert [n.name for n in inv.namespaces] == [bookinfo_ns]
    assert inv.namespaces[0].injection == "enabled" and inv.namespaces[0].resource_version
    workloads = {w.name: w for w in inv.workloads}
    assert set(workloads) == {"details-v1", "ratings-v1", "reviews-v1", "reviews-v2", "reviews-v3",
                              "productpage-v1", "mongodb-v1", "istio-ingressgateway"}
    pp = workloads["productpage-v1"]
    assert pp.kind == "Deployment" and (pp.app, pp.version) == ("productpage", "v1")
    assert (pp.replicas, pp.ready_replicas, len(pp.pods)) == (2, 2, 2)
    assert all(p.phase == "Running" and p.has_sidecar and p.ip for p in pp.pods)
    assert all(p.name.startswith("productpage-v1-") for p in pp.pods)
    assert len(workloads["reviews-v2"].pods) == 2
    assert workloads["istio-ingressgateway"].sidecar_inject is False
    assert {s.name for s in inv.services} == {"details", "ratings", "reviews", "productpage", "mongodb",
                                             "istio-ingressgateway"}
    mongo = next(s for s in inv.services if s.name == "mongodb")
    assert (mongo.ports[0].port, mongo.ports[0].app_protocol, mongo.selector) == (27017, "tcp", {"app": "mongodb"})
    kinds = sorted({o.kind for o in inv.istio_objects})
    assert kinds == sorted(ISTIO_KINDS)
    vs = next(o for o in inv.istio_objects if o.kind == "VirtualService" and o.name == "reviews")
    assert vs.api_version == "networking.istio.io/v1" and vs.resource_version
    assert vs.spec["http"][0]["route"][1]["weight"] == 20
    assert "managedFields" not in vs.metadata


def test_lists_are_one_call_per_kind_across_namespaces(gateway, bookinfo_ns, monkeypatch):
    calls = []
    real = gateway._call
    monkeypatch.setattr(gateway, "_call", lambda fn, what, **kw: calls.append(what) or real(fn, what, **kw))
    gateway.inventory()
    lists = [c for c in calls if c.startswith("listing")]
    assert len(lists) == len(set(lists)) == 1 + 5 + 1 + len(ISTIO_KINDS)  # ns, workload kinds, services, istio
    assert not any(" in " in c for c in lists)


def test_statefulsets_daemonsets_and_bare_pods_are_workloads(kube_apiserver, kube_namespace, gateway):
    ns = kube_namespace("kinds")
    tmpl = {"metadata": {"labels": {"app": "db", "version": "v2"}},
            "spec": {"containers": [{"name": "db", "image": "db:1"}]}}
    apply(kube_apiserver, [
        {"apiVersion": "apps/v1", "kind": "StatefulSet", "metadata": {"name": "db", "namespace": ns},
         "spec": {"serviceName": "db", "replicas": 1, "selector": {"matchLabels": {"app": "db"}}, "template": tmpl}},
        {"apiVersion": "apps/v1", "kind": "DaemonSet", "metadata": {"name": "agent", "namespace": ns},
         "spec": {"selector": {"matchLabels": {"app": "agent"}}, "template": {
             "metadata": {"labels": {"app": "agent"}, "annotations": {"sidecar.istio.io/inject": "false"}},
             "spec": {"containers": [{"name": "agent", "image": "agent:1"}]}}}},
        {"apiVersion": "v1", "kind": "Pod", "metadata": {
            "name": "debug", "namespace": ns, "labels": {"app.kubernetes.io/name": "debug"},
            "annotations": {"sidecar.istio.io/status": "{}"}},
         "spec": {"containers": [{"name": "sh", "image": "busybox"}]}},
    ])
    kube_apiserver.wait_for(lambda: any(w.kind == "StatefulSet" and w.pods for w in gateway.list_workloads(ns)),
                            timeout=60, message="statefulset pod")
    workloads = {(w.kind, w.name): w for w in gateway.list_workloads(ns)}
    assert set(workloads) == {("StatefulSet", "db"), ("DaemonSet", "agent"), ("Pod", "debug")}
    assert [p.name for p in workloads[("StatefulSet", "db")].pods] == ["db-0"]
    assert workloads[("StatefulSet", "db")].version == "v2"
    assert workloads[("DaemonSet", "agent")].sidecar_inject is False
    debug = workloads[("Pod", "debug")]
    assert debug.app == "debug" and debug.has_sidecar and debug.pods[0].phase == "Pending"


def test_server_side_apply_creates_updates_and_detects_conflicts(kube_apiserver, kube_namespace, gateway):
    ns = kube_namespace("ssa")
    created = gateway.apply_istio_object(vs_manifest(ns))  # v1.20 answers with no body: read back
    assert created.name == "reviews-shift" and created.resource_version
    assert created.metadata["labels"] == {"team": "books"}
    raw = kube_apiserver.http().get(
        f"{kube_apiserver.url}/apis/networking.istio.io/v1/namespaces/{ns}/virtualservices/reviews-shift").json()
    assert {m["manager"] for m in raw["metadata"]["managedFields"]} == {FIELD_MANAGER}

    updated = gateway.apply_istio_object(vs_manifest(ns, weights=(80, 20)), resource_version=created.resource_version)
    assert updated.spec["http"][0]["route"][0]["weight"] == 80
    assert updated.resource_version != created.resource_version

    with pytest.raises(ObjectConflict, match="changed the object first"):
        gateway.apply_istio_object(vs_manifest(ns, weights=(10, 90)), resource_version=created.resource_version)
    assert gateway.get_istio_object("VirtualService", ns, "reviews-shift").spec["http"][0]["route"][0]["weight"] == 80


def test_apply_rejects_what_the_server_rejects(kube_namespace, gateway):
    ns = kube_namespace("bad")
    with pytest.raises(ObjectInvalid):
        gateway.apply_istio_object({"apiVersion": "v1", "kind": "ConfigMap",
                                    "metadata": {"name": "x", "namespace": ns}})
    bad = vs_manifest(ns)
    bad["spec"]["http"] = "not a list"
    with pytest.raises(ObjectInvalid, match="refused the object"):
        gateway.apply_istio_object(bad)


def test_delete_with_precondition(kube_namespace, gateway):
    ns = kube_namespace("del")
    obj = gateway.apply_istio_object(vs_manifest(ns))
    with pytest.raises(ObjectConflict):
        gateway.delete_istio_object("VirtualService", ns, obj.name, resource_version="1")
    gateway.delete_istio_object("VirtualService", ns, obj.name, resource_version=obj.resource_version)
    with pytest.raises(ObjectNotFound, match=f"VirtualService {ns}/reviews-shift does not exist"):
        gateway.get_istio_object("VirtualService", ns, obj.name)
    with pytest.raises(ObjectNotFound):
        gateway.delete_istio_object("VirtualService", ns, obj.name)


def test_namespace_labels_patch_with_resource_version(kube_namespace, gateway):
    ns = kube_namespace("lbl", labels={"team": "a"})
    current = gateway.get_namespace(ns)
    patched = gateway.patch_namespace_labels(ns, {"istio-injection": "enabled"},
                                             resource_version=current.resource_version)
    assert patched.injection == "enabled" and patched.labels["team"] == "a"
    with pytest.raises(ObjectConflict):
        gateway.patch_namespace_labels(ns, {"istio-injection": "disabled"}, resource_version=current.resource_version)
    removed = gateway.patch_namespace_labels(ns, {"istio-injection": None, "istio.io/rev": "canary"})
    assert removed.injection == "revision:canary" and "istio-injection" not in removed.labels
    with pytest.raises(ObjectNotFound):
        gateway.patch_namespace_labels("no-such-namespace-xyz", {"a": "b"})


def test_patch_workload_template(kube_apiserver, kube_namespace, gateway):
    ns = kube_namespace("tmpl")
    dep = {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web", "namespace": ns},
           "spec": {"replicas": 1, "selector": {"matchLabels": {"app": "web"}}, "template": {
               "metadata": {"labels": {"app": "web"}}, "spec": {"containers": [{"name": "web", "image": "web:1"}]}}}}
    apply(kube_apiserver, [dep])
    run_deployments(kube_apiserver, ns, [dep])
    before = gateway.get_workload("Deployment", ns, "web")
    after = gateway.patch_workload_template("Deployment", ns, "web", labels={"sidecar.istio.io/inject": "false"},
                                            annotations={"proxy.istio.io/config": "{}"},
                                            resource_version=before.resource_version)
    assert after.sidecar_inject is False and after.annotations == {"proxy.istio.io/config": "{}"}
    with pytest.raises(ObjectConflict):
        gateway.patch_workload_template("Deployment", ns, "web", labels={"x": "y"},
                                        resource_version=before.resource_version)
    removed = gateway.patch_workload_template("Deployment", ns, "web", labels={"sidecar.istio.io/inject": None})
    assert removed.sidecar_inject is None
    with pytest.raises(ObjectInvalid, match="only Deployment"):
        gateway.patch_workload_template("Pod", ns, "web", labels={"a": "b"})
    with pytest.raises(ObjectNotFound):
        gateway.patch_workload_template("Deployment", ns, "nope", labels={"a": "b"})


def test_kubeconfig_constructor_reads_the_cluster(kube_apiserver):
    gw = KubernetesGateway.from_kubeconfig(kube_apiserver.kubeconfig_text(), context="meshdeck-test")
    assert gw.server_version() == "v1.20.2"


def test_probe_reports_version_and_istio_crds(kube_apiserver):
    report = probe({"kubeconfig": kube_apiserver.kubeconfig_text()})
    assert report["ok"] and report["server_version"] == "v1.20.2"
    assert report["istio_crds"]["missing"] == []
    assert set(report["istio_crds"]["present"]) == set(ISTIO_KINDS)


# ---------------------------------------------------------------- errors ----


def test_bad_token_is_unauthorized(kube_apiserver):
    gw = KubernetesGateway.from_token(kube_apiserver.url, "not-a-token", kube_apiserver.ca_pem)
    with pytest.raises(ClusterUnauthorized, match=r"rejected the credentials \(401"):
        gw.list_namespaces()
    report = probe(gw)
    assert report["ok"] is False and report["error"] == "unauthorized"


def test_token_without_rbac_is_forbidden(kube_apiserver):
    gw = KubernetesGateway.from_token(kube_apiserver.url, kube_apiserver.token_for("nobody"), kube_apiserver.ca_pem)
    with pytest.raises(ClusterForbidden, match="403 Forbidden.*RBAC"):
        gw.list_workloads()


def test_read_only_token_reads_but_cannot_write(kube_apiserver, kube_namespace):
    ns = kube_namespace("ro")
    gw = KubernetesGateway.from_token(kube_apiserver.url, kube_apiserver.token_for("viewer"), kube_apiserver.ca_pem)
    assert ns in {n.name for n in gw.list_namespaces()}
    assert gw.list_istio_objects(ns) == []
    with pytest.raises(ClusterForbidden, match="403"):
        gw.apply_istio_object(vs_manifest(ns))
    with pytest.raises(ClusterForbidden):
        gw.patch_namespace_labels(ns, {"istio-injection": "enabled"})


def test_refused_port_is_unreachable(kube_apiserver):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    gw = KubernetesGateway.from_token(f"https://127.0.0.1:{port}", kube_apiserver.admin_token, kube_apiserver.ca_pem)
    with pytest.raises(ClusterUnreachable, match="refused"):
        gw.list_namespaces()


@pytest.fixture
def silent_server():
    """A socket that accepts connections and never says a word."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(8)
    held, stop = [], threading.Event()

    def accept():
        sock.settimeout(0.2)
        while not stop.is_set():
            try:
                held.append(sock.accept()[0])
            except OSError:
                pass

    t = threading.Thread(target=accept, daemon=True)
    t.start()
    yield sock.getsockname()[1]
    stop.set()
    t.join()
    for c in held:
        c.close()
    sock.close()


def test_silent_server_times_out(kube_apiserver, silent_server):
    gw = KubernetesGateway.from_token(f"https://127.0.0.1:{silent_server}", kube_apiserver.admin_token,
                                      kube_apiserver.ca_pem, timeout=(1.0, 1.0))
    with pytest.raises(ClusterTimeout, match="did not answer in time"):
        gw.list_namespaces()


def test_wrong_ca_is_a_tls_error(kube_apiserver):
    other_ca, _ = _self_signed()
    gw = KubernetesGateway.from_token(kube_apiserver.url, kube_apiserver.admin_token, other_ca)
    with pytest.raises(ClusterTLSError, match="TLS failed.*CA certificate"):
        gw.list_namespaces()


def test_no_ca_means_system_trust_which_rejects_the_self_signed_server(kube_apiserver):
    gw = KubernetesGateway.from_token(kube_apiserver.url, kube_apiserver.admin_token)
    with pytest.raises(ClusterTLSError):
        gw.server_version()
