"""Applying fixture manifests to the real test API server, independently of KubernetesGateway.

Fixtures go in through plain HTTP server-side apply (field manager
``test-fixtures``), so the gateway under test only reads what something else wrote.
"""
from __future__ import annotations

from typing import Any

from apps.clusters.inventory import ISTIO_KINDS

_CORE = {"Service": "services", "Pod": "pods", "ConfigMap": "configmaps"}
_APPS = {"Deployment": "deployments", "StatefulSet": "statefulsets", "DaemonSet": "daemonsets",
         "ReplicaSet": "replicasets"}


def admin_gateway(kube_apiserver):
    """Body of a fixture: the portal's KubernetesGateway on the test API server, as its admin."""
    from apps.clusters.kube import KubernetesGateway

    gw = KubernetesGateway.from_token(kube_apiserver.url, kube_apiserver.admin_token, kube_apiserver.ca_pem)
    yield gw
    gw.close()


def resource_path(manifest: dict[str, Any]) -> str:
    kind = manifest["kind"]
    ns = manifest["metadata"]["namespace"]
    name = manifest["metadata"]["name"]
    if kind in _CORE:
        return f"/api/v1/namespaces/{ns}/{_CORE[kind]}/{name}"
    if kind in _APPS:
        return f"/apis/apps/v1/namespaces/{ns}/{_APPS[kind]}/{name}"
    if kind in ISTIO_KINDS:
        group, _, plural = ISTIO_KINDS[kind]
        version = manifest["apiVersion"].split("/")[1]
        return f"/apis/{group}/{version}/namespaces/{ns}/{plural}/{name}"
    raise ValueError(f"no path for {kind}")


def apply(server, manifests: list[dict[str, Any]], namespace: str | None = None) -> None:
    http = server.http()
    for m in manifests:
        if namespace:
            m = {**m, "metadata": {**m["metadata"], "namespace": namespace}}
        r = http.patch(
            server.url + resource_path(m), json=m,
            params={"fieldManager": "test-fixtures", "force": "true"},
            headers={"Content-Type": "application/apply-patch+yaml"}, timeout=30,
        )
        assert r.ok, f"applying {m['kind']} {m['metadata']['name']}: HTTP {r.status_code} {r.text[:300]}"


def delete(server, manifest: dict[str, Any]) -> None:
    r = server.http().delete(server.url + resource_path(manifest), timeout=30)
    assert r.status_code in (200, 202, 404), r.text[:300]


def run_deployments(server, namespace: str, deployments: list[dict[str, Any]]) -> None:
    """Wait for the controllers to create every Deployment's pods, mark them Running
    and Ready (no kubelet here), then wait until each Deployment reports them ready."""
    http = server.http()

    def pods_created():
        pods = http.get(f"{server.url}/api/v1/namespaces/{namespace}/pods", timeout=10).json()["items"]
        want = sum(d["spec"].get("replicas", 1) for d in deployments)
        return len(pods) >= want

    server.wait_for(pods_created, timeout=60, message=f"pods of {namespace}")
    server.mark_pods_running(namespace)

    def all_ready():
        for d in deployments:
            obj = http.get(server.url + resource_path({**d, "metadata": {**d["metadata"], "namespace": namespace}}),
                           timeout=10).json()
            if (obj.get("status") or {}).get("readyReplicas", 0) != d["spec"].get("replicas", 1):
                return False
        return True

    server.wait_for(all_ready, timeout=60, message=f"deployments of {namespace} ready")


def load_bookinfo(server, namespace: str, *, with_istio_config: bool = True, with_ingress: bool = True):
    from tests.meshconfig.validation_cases import fixture

    manifests = fixture("bookinfo.yaml", namespace)
    if with_ingress:
        manifests += fixture("ingressgateway.yaml", namespace)
    apply(server, manifests)
    run_deployments(server, namespace, [m for m in manifests if m["kind"] == "Deployment"])
    if with_istio_config:
        apply(server, fixture("istio-config.yaml", namespace))
    return manifests
