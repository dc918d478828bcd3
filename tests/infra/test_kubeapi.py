"""The real Kubernetes test control plane works (tests/support/kubeapi.py)."""

from __future__ import annotations

import pytest
import yaml
from kubernetes import client, config
from kubernetes.client.rest import ApiException

pytestmark = pytest.mark.kube


def _deployment(name: str, replicas: int = 2) -> dict:
    labels = {"app": name}
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": name, "labels": labels},
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": labels},
            "template": {
                "metadata": {"labels": labels},
                "spec": {
                    "containers": [
                        {
                            "name": "app",
                            "image": "registry.local/reviews:1.0",
                            "ports": [{"name": "http", "containerPort": 9080, "protocol": "TCP"}],
                        }
                    ]
                },
            },
        },
    }


def test_server_is_v1_20_2_and_ready(kube_apiserver):
    s = kube_apiserver.http()
    assert s.get(f"{kube_apiserver.url}/readyz").status_code == 200
    version = client.VersionApi(kube_apiserver.api_client()).get_code()
    assert version.git_version == "v1.20.2"
    assert kube_apiserver.url.startswith("https://127.0.0.1:")
    assert "BEGIN CERTIFICATE" in kube_apiserver.ca_pem


def test_istio_crds_are_established(kube_apiserver):
    ext = client.ApiextensionsV1Api(kube_apiserver.api_client())
    names = {c.metadata.name for c in ext.list_custom_resource_definition().items}
    for crd in (
        "virtualservices.networking.istio.io",
        "destinationrules.networking.istio.io",
        "gateways.networking.istio.io",
        "authorizationpolicies.security.istio.io",
        "peerauthentications.security.istio.io",
    ):
        assert crd in names


def test_deployment_replicaset_pods_and_endpoints(kube_apiserver, kube_namespace):
    ns = kube_namespace("deploy")
    api = kube_apiserver.api_client()
    apps, core = client.AppsV1Api(api), client.CoreV1Api(api)

    apps.create_namespaced_deployment(ns, _deployment("reviews"))
    core.create_namespaced_service(
        ns,
        {
            "metadata": {"name": "reviews"},
            "spec": {
                "selector": {"app": "reviews"},
                "ports": [{"name": "http", "port": 9080, "protocol": "TCP"}],
            },
        },
    )

    rs = kube_apiserver.wait_for(
        lambda: apps.list_namespaced_replica_set(ns, label_selector="app=reviews").items,
        message="ReplicaSet from the deployment controller",
    )[0]
    assert rs.metadata.owner_references[0].kind == "Deployment"

    pods = kube_apiserver.wait_for(
        lambda: (p := core.list_namespaced_pod(ns, label_selector="app=reviews").items)
        and len(p) == 2
        and p,
        message="2 pods from the replicaset controller",
    )
    assert all(p.status.phase == "Pending" for p in pods)  # no kubelet
    assert all(p.metadata.owner_references[0].name == rs.metadata.name for p in pods)

    marked = kube_apiserver.mark_pods_running(ns, "app=reviews")
    assert {p.status.phase for p in marked} == {"Running"}
    ips = {p.status.pod_ip for p in marked}
    assert len(ips) == 2

    kube_apiserver.wait_for(
        lambda: apps.read_namespaced_deployment("reviews", ns).status.available_replicas == 2,
        message="deployment to report 2 available replicas",
    )

    def endpoint_ips():
        ep = core.read_namespaced_endpoints("reviews", ns)
        return {a.ip for s in (ep.subsets or []) for a in (s.addresses or [])}

    kube_apiserver.wait_for(lambda: endpoint_ips() == ips, message="endpoints with both pod IPs")

    # readiness flips are reflected too
    kube_apiserver.mark_pod_running(ns, marked[0].metadata.name, ready=False)
    kube_apiserver.wait_for(
        lambda: endpoint_ips() == ips - {marked[0].status.pod_ip},
        message="endpoints without the unready pod",
    )


def test_garbage_collection_and_namespace_deletion(kube_apiserver, kube_namespace):
    ns = kube_namespace("gc")
    api = kube_apiserver.api_client()
    apps, core = client.AppsV1Api(api), client.CoreV1Api(api)
    apps.create_namespaced_deployment(ns, _deployment("ratings", replicas=1))
    kube_apiserver.wait_for(
        lambda: core.list_namespaced_pod(ns).items, message="pod from the deployment"
    )

    apps.delete_namespaced_deployment("ratings", ns, propagation_policy="Background")
    kube_apiserver.wait_for(
        lambda: not apps.list_namespaced_replica_set(ns).items
        and not core.list_namespaced_pod(ns).items,
        message="garbage collector to remove replicaset and pods",
    )

    core.delete_namespace(ns)

    def gone():
        try:
            core.read_namespace(ns)
        except ApiException as exc:
            return exc.status == 404
        return False

    kube_apiserver.wait_for(gone, timeout=60, message="namespace controller to finish deletion")


def test_virtualservice_create_and_read_back(kube_apiserver, kube_namespace):
    ns = kube_namespace("vs")
    co = client.CustomObjectsApi(kube_apiserver.api_client())
    group, version, plural = "networking.istio.io", "v1", "virtualservices"
    vs = {
        "apiVersion": f"{group}/{version}",
        "kind": "VirtualService",
        "metadata": {"name": "reviews"},
        "spec": {
            "hosts": ["reviews"],
            "http": [
                {
                    "route": [
                        {"destination": {"host": "reviews", "subset": "v1"}, "weight": 80},
                        {"destination": {"host": "reviews", "subset": "v2"}, "weight": 20},
                    ]
                }
            ],
        },
    }
    co.create_namespaced_custom_object(group, version, ns, plural, vs)
    got = co.get_namespaced_custom_object(group, version, ns, plural, "reviews")
    assert got["spec"]["http"][0]["route"][1]["weight"] == 20
    listed = co.list_namespaced_custom_object(group, version, ns, plural)["items"]
    assert [i["metadata"]["name"] for i in listed] == ["reviews"]

    # v1beta1 is served too and converts (no webhook: same schema)
    got_beta = co.get_namespaced_custom_object(group, "v1beta1", ns, plural, "reviews")
    assert got_beta["spec"]["hosts"] == ["reviews"]


def test_server_side_apply_create_of_custom_object_returns_none(kube_apiserver, kube_namespace):
    """Documents the v1.20 + Python-client quirk: read the object back."""
    ns = kube_namespace("ssa")
    co = client.CustomObjectsApi(kube_apiserver.api_client())
    body = {
        "apiVersion": "networking.istio.io/v1",
        "kind": "DestinationRule",
        "metadata": {"name": "reviews", "namespace": ns},
        "spec": {"host": "reviews", "subsets": [{"name": "v1", "labels": {"version": "v1"}}]},
    }
    result = co.patch_namespaced_custom_object(
        "networking.istio.io", "v1", ns, "destinationrules", "reviews", body,
        field_manager="meshdeck-test", force=True,
        _content_type="application/apply-patch+yaml",
    )
    got = co.get_namespaced_custom_object(
        "networking.istio.io", "v1", ns, "destinationrules", "reviews"
    )
    assert got["spec"]["subsets"][0]["name"] == "v1"
    assert result is None  # documented quirk; an update returns the object:
    again = co.patch_namespaced_custom_object(
        "networking.istio.io", "v1", ns, "destinationrules", "reviews", body,
        field_manager="meshdeck-test", force=True,
        _content_type="application/apply-patch+yaml",
    )
    assert again["metadata"]["name"] == "reviews"


def test_v1_20_quirks_documented_in_kubeapi(kube_apiserver, kube_namespace):
    """SSA without port protocol -> 500; policy/v1, discovery.k8s.io/v1 absent."""
    ns = kube_namespace("quirk")
    http = kube_apiserver.http()
    svc = {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "a", "namespace": ns},
           "spec": {"ports": [{"port": 80}]}}
    url = f"{kube_apiserver.url}/api/v1/namespaces/{ns}/services/a?fieldManager=t"
    headers = {"Content-Type": "application/apply-patch+yaml"}
    assert http.patch(url, json=svc, headers=headers).status_code == 500
    svc["spec"]["ports"][0]["protocol"] = "TCP"
    assert http.patch(url, json=svc, headers=headers).status_code == 201
    for gv in ("policy/v1", "discovery.k8s.io/v1"):
        assert http.get(f"{kube_apiserver.url}/apis/{gv}").status_code == 404
    batch = http.get(f"{kube_apiserver.url}/apis/batch/v1").json()
    assert "cronjobs" not in {r["name"] for r in batch["resources"]}


def test_rbac_viewer_editor_nobody_unknown(kube_apiserver, kube_namespace):
    ns = kube_namespace("rbac")
    cm = {"metadata": {"name": "x"}, "data": {"a": "b"}}

    viewer = client.CoreV1Api(kube_apiserver.api_client(kube_apiserver.token_for("viewer")))
    assert viewer.list_namespaced_pod(ns).items == []
    with pytest.raises(ApiException) as exc:
        viewer.create_namespaced_config_map(ns, cm)
    assert exc.value.status == 403

    viewer_co = client.CustomObjectsApi(kube_apiserver.api_client(kube_apiserver.token_for("viewer")))
    assert viewer_co.list_namespaced_custom_object(
        "networking.istio.io", "v1", ns, "virtualservices"
    )["items"] == []

    editor = client.CoreV1Api(kube_apiserver.api_client(kube_apiserver.token_for("editor")))
    editor.create_namespaced_config_map(ns, cm)
    editor_co = client.CustomObjectsApi(kube_apiserver.api_client(kube_apiserver.token_for("editor")))
    editor_co.create_namespaced_custom_object(
        "networking.istio.io", "v1", ns, "gateways",
        {"apiVersion": "networking.istio.io/v1", "kind": "Gateway", "metadata": {"name": "gw"},
         "spec": {"servers": [{"hosts": ["*"], "port": {"number": 80, "name": "http", "protocol": "HTTP"}}]}},
    )

    nobody = client.CoreV1Api(kube_apiserver.api_client(kube_apiserver.token_for("nobody")))
    with pytest.raises(ApiException) as exc:
        nobody.list_namespaced_pod(ns)
    assert exc.value.status == 403

    stranger = client.CoreV1Api(kube_apiserver.api_client("not-a-real-token"))
    with pytest.raises(ApiException) as exc:
        stranger.list_namespaced_pod(ns)
    assert exc.value.status == 401


def test_kubeconfig_text_is_usable(kube_apiserver, kube_namespace, tmp_path):
    ns = kube_namespace("kcfg")
    text = kube_apiserver.kubeconfig_text(kube_apiserver.token_for("viewer"), context_name="ctx-a")
    doc = yaml.safe_load(text)
    assert doc["current-context"] == "ctx-a"
    assert doc["clusters"][0]["cluster"]["certificate-authority-data"]
    api = config.new_client_from_config_dict(doc)
    names = [n.metadata.name for n in client.CoreV1Api(api).list_namespace().items]
    assert ns in names
