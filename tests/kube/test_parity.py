"""Parity: the simulated Bookinfo and a real API server loaded with equivalent,
independently written manifests (tests/fixtures/bookinfo) give the same inventory,
and the same pages/API output, through the same code.

Normalised away: things a real cluster makes up (pod names and hashes, IPs,
cluster IPs, resourceVersions, uids, timestamps), the namespace name (the real
one is unique per run), labels/annotations the sidecar injector or Kubernetes
>= 1.21 would add, and the pod template's injected container (pods' sidecar
state is compared instead).
"""
from __future__ import annotations

import json

import pytest

from apps.clusters.kube import KubernetesGateway
from apps.simulator.gateway import SimulatorGateway
from apps.simulator.registry import get_mesh
from tests.kube.helpers import apply, load_bookinfo
from tests.meshconfig.validation_cases import fixture

pytestmark = pytest.mark.kube

INJECTED_POD_LABELS = {"pod-template-hash", "service.istio.io/canonical-name", "service.istio.io/canonical-revision",
                       "security.istio.io/tlsMode", "controller-revision-hash"}
AUTO_NS_LABELS = {"kubernetes.io/metadata.name"}  # added by Kubernetes >= 1.21 only


def normalise(inv, ns: str) -> dict:
    def rename(value: str) -> str:
        return value.replace(ns, "NS")

    return {
        "namespaces": [(rename(n.name), {k: v for k, v in n.labels.items() if k not in AUTO_NS_LABELS})
                       for n in inv.namespaces],
        "workloads": sorted(
            (w.kind, w.name, rename(w.namespace), sorted(w.labels.items()), sorted(w.annotations.items()),
             w.replicas, w.ready_replicas, w.app, w.version, w.sidecar_inject, w.has_sidecar,
             sorted((p.phase, p.has_sidecar, bool(p.ip),
                     sorted((k, v) for k, v in p.labels.items() if k not in INJECTED_POD_LABELS))
                    for p in w.pods))
            for w in inv.workloads
        ),
        "services": sorted(
            (s.name, rename(s.namespace), sorted(s.labels.items()), sorted(s.selector.items()), s.type,
             s.host.replace(ns, "NS"),
             [(p.name, p.port, p.protocol, p.app_protocol, p.target_port) for p in s.ports])
            for s in inv.services
        ),
        "istio_objects": sorted(
            (o.kind, o.name, rename(o.namespace), o.api_version, json.dumps(o.spec, sort_keys=True),
             sorted((o.metadata.get("labels") or {}).items()))
            for o in inv.istio_objects
        ),
    }


@pytest.fixture
def real_bookinfo(kube_apiserver, kube_namespace):
    ns = kube_namespace("bookinfo", labels={"istio-injection": "enabled"})
    load_bookinfo(kube_apiserver, ns, with_istio_config=False, with_ingress=False)
    # The simulator's Bookinfo carries only the httpbin ServiceEntry; apply ours alone.
    apply(kube_apiserver, [m for m in fixture("istio-config.yaml", ns) if m["kind"] == "ServiceEntry"])
    return ns


def test_simulated_and_real_bookinfo_inventories_match(kube_apiserver, real_bookinfo):
    simulated = SimulatorGateway(get_mesh("parity", "demo")).inventory(["bookinfo"])
    real = KubernetesGateway.from_token(kube_apiserver.url, kube_apiserver.admin_token,
                                        kube_apiserver.ca_pem).inventory([real_bookinfo])
    sim_n, real_n = normalise(simulated, "bookinfo"), normalise(real, real_bookinfo)
    for part in ("namespaces", "workloads", "services", "istio_objects"):
        assert real_n[part] == sim_n[part], part
    assert len(real.workloads) == 7 and sum(len(w.pods) for w in real.workloads) == 9


@pytest.mark.django_db
def test_simulated_and_real_clusters_give_the_same_api_answers(kube_apiserver, real_bookinfo, api_client, make_user):
    from apps.clusters.models import Cluster

    Cluster.objects.create(name="sim", kind=Cluster.Kind.SIMULATED, simulator_topology="demo")
    real = Cluster(name="real", kind=Cluster.Kind.KUBERNETES, api_server_url=kube_apiserver.url)
    real.credentials = {"token": kube_apiserver.admin_token, "ca_pem": kube_apiserver.ca_pem}
    real.save()
    root = make_user("root-parity", superuser=True)
    api = api_client(root)

    def answers(cluster: str, ns: str) -> dict:
        def clean(value):
            if isinstance(value, dict):
                return {k: clean(v) for k, v in value.items()
                        if k not in ("resource_version", "cluster_ip", "ip", "name_of_pod")}
            if isinstance(value, list):
                return [clean(v) for v in value]
            return value.replace(ns, "NS") if isinstance(value, str) else value

        summary = next(n for n in api.get(f"/api/clusters/{cluster}/namespaces/").json()["results"] if n["name"] == ns)
        summary["labels"].pop("kubernetes.io/metadata.name", None)
        # health is telemetry (the simulated cluster has traffic, the real one no Prometheus): not inventory
        for key in ("health", "health_summary", "health_problems", "health_error"):
            summary.pop(key)
        detail = api.get(f"/api/clusters/{cluster}/namespaces/{ns}/workloads/reviews-v2/").json()
        for pod in detail["pods"]:
            pod.pop("name")
            pod["labels"] = {k: v for k, v in pod["labels"].items() if k not in INJECTED_POD_LABELS}
        workloads = api.get(f"/api/clusters/{cluster}/namespaces/{ns}/workloads/").json()["results"]
        for w in workloads:  # telemetry, not inventory (as for the summary above)
            for key in ("health", "health_reason", "health_error"):
                w.pop(key)
        return clean({
            "summary": summary,
            "workloads": workloads,
            "services": api.get(f"/api/clusters/{cluster}/namespaces/{ns}/services/").json()["results"],
            "reviews-v2": detail,
            "service": api.get(f"/api/clusters/{cluster}/namespaces/{ns}/services/productpage/").json(),
            "config": [(r["kind"], r["name"], r["validation"]) for r in
                       api.get(f"/api/clusters/{cluster}/istio/?namespace={ns}").json()["results"]],
        })

    assert answers("real", real_bookinfo) == answers("sim", "bookinfo")
