"""deploy/kubernetes/ on the real kube-apiserver (v1.20.2, Istio CRDs): it renders with
`kubectl kustomize`, applies with `--dry-run=server`, and Meshdeck, with nothing but the
ServiceAccount's token as its cluster credentials, reads the inventory and applies a traffic
shift and a sidecar change, while `kubectl auth can-i` shows it can do nothing else.

There is no change-request flow (models, review, apply task) in apps.changes yet: the writes are
rendered by apps.changes.render and executed through the cluster's gateway, as docs/changes.md
shows. Switch `_apply_change` to the reviewed flow when it lands.
"""
from __future__ import annotations

import base64
from pathlib import Path

import pytest
import yaml

from apps.changes.render import render_change
from apps.clusters.gateways import gateway_for
from apps.clusters.models import Cluster
from apps.clusters.services import cluster_create, cluster_test_connection
from tests.deploy.conftest import KUBE_BASE
from tests.kube.helpers import load_bookinfo

pytestmark = [pytest.mark.kube]

NAMESPACE = "meshdeck"
SA = f"system:serviceaccount:{NAMESPACE}:meshdeck"


def _write_kubeconfig(server, directory: Path, token: str | None, name: str) -> Path:
    path = directory / name
    path.write_text(server.kubeconfig_text(token))
    return path


@pytest.fixture(scope="module")
def rendered(kubectl) -> list[dict]:
    result = kubectl("kustomize", str(KUBE_BASE))
    return [d for d in yaml.safe_load_all(result.stdout) if d]


@pytest.fixture(scope="module")
def deployed(kube_apiserver, kubectl, rendered, tmp_path_factory):
    """The base applied for real (after a server-side dry run); yields the ServiceAccount's kubeconfig."""
    workdir = tmp_path_factory.mktemp("kustomize")
    admin = _write_kubeconfig(kube_apiserver, workdir, None, "admin")
    manifests = workdir / "rendered.yaml"
    manifests.write_text(yaml.safe_dump_all(rendered))
    namespace_doc = yaml.safe_dump(next(d for d in rendered if d["kind"] == "Namespace"))
    kubectl("apply", "-f", "-", kubeconfig=admin, stdin=namespace_doc)
    try:
        dry = kubectl("apply", "--dry-run=server", "-f", str(manifests), kubeconfig=admin)
        kubectl("apply", "-f", str(manifests), kubeconfig=admin)
        http = kube_apiserver.http()

        def token():
            r = http.get(f"{kube_apiserver.url}/api/v1/namespaces/{NAMESPACE}/secrets/meshdeck-token", timeout=10)
            return r.ok and (r.json().get("data") or {}).get("token")

        sa_token = base64.b64decode(kube_apiserver.wait_for(token, timeout=60, message="the SA token")).decode()
        yield {"dry_run": dry.stdout, "token": sa_token,
               "kubeconfig": _write_kubeconfig(kube_apiserver, workdir, sa_token, "meshdeck-sa"), "admin": admin}
    finally:
        kubectl("delete", "--ignore-not-found", "--wait=false", "-f", str(manifests), kubeconfig=admin, check=False)


def test_kustomize_renders_the_base(rendered):
    kinds = sorted((d["kind"], d["metadata"]["name"]) for d in rendered)
    assert kinds == sorted([
        ("Namespace", "meshdeck"), ("ServiceAccount", "meshdeck"), ("ServiceAccount", "meshdeck-portal"),
        ("Secret", "meshdeck-token"), ("ClusterRole", "meshdeck"), ("ClusterRoleBinding", "meshdeck"),
        ("ConfigMap", "meshdeck-config"), ("Job", "meshdeck-migrate"), ("Service", "meshdeck-web"),
        ("Deployment", "meshdeck-web"), ("Deployment", "meshdeck-worker"), ("Deployment", "meshdeck-beat"),
    ])
    for doc in rendered:
        if doc["kind"] not in ("Namespace", "ClusterRole", "ClusterRoleBinding"):
            assert doc["metadata"]["namespace"] == NAMESPACE
        assert doc["metadata"]["labels"]["app.kubernetes.io/part-of"] == "meshdeck"
    images = {c["image"] for d in rendered if d["kind"] in ("Deployment", "Job")
              for c in d["spec"]["template"]["spec"]["containers"]}
    assert images == {"meshdeck:0.1.0"}


def test_every_manifest_applies_with_a_server_side_dry_run(deployed, rendered):
    lines = deployed["dry_run"].splitlines()
    assert len(lines) == len(rendered)
    assert all("(server dry run)" in line for line in lines), deployed["dry_run"]


@pytest.mark.django_db
def test_meshdeck_reads_the_inventory_and_applies_changes_with_the_service_accounts_token(
        kube_apiserver, kube_namespace, deployed):
    ns = kube_namespace("bookinfo", labels={"istio-injection": "enabled"})
    load_bookinfo(kube_apiserver, ns, with_istio_config=False, with_ingress=False)
    cluster = cluster_create(name="in-cluster", kind=Cluster.Kind.KUBERNETES, api_server_url=kube_apiserver.url,
                             token=deployed["token"], ca_pem=kube_apiserver.ca_pem)
    check = next(c for c in cluster_test_connection(cluster)["checks"] if c["name"] == "kubernetes")
    assert check["ok"] is True and check["istio_crds"] == "all present", check

    gateway = gateway_for(cluster)
    inventory = gateway.inventory([ns])
    assert {w.name for w in inventory.workloads} >= {"productpage-v1", "reviews-v1", "reviews-v2", "reviews-v3"}
    assert {s.name for s in inventory.services} >= {"productpage", "reviews", "ratings", "details"}
    assert all(p.phase == "Running" for w in inventory.workloads for p in w.pods)

    # Traffic shift: creates the DestinationRule and VirtualService, then re-weights them.
    _apply_change(gateway, {"kind": "traffic_shift", "namespace": ns, "service": "reviews",
                            "weights": {"v1": 0, "v2": 80, "v3": 20}}, [ns])
    _apply_change(gateway, {"kind": "traffic_shift", "namespace": ns, "service": "reviews",
                            "weights": {"v1": 0, "v2": 50, "v3": 50}}, [ns])
    vs = next(o for o in gateway.inventory([ns]).istio_objects if o.kind == "VirtualService")
    weights = {r["destination"]["subset"]: r.get("weight", 0) for r in vs.spec["http"][0]["route"]}
    assert weights == {"v1": 0, "v2": 50, "v3": 50}
    assert vs.metadata["labels"]["app.kubernetes.io/managed-by"] == "meshdeck"

    # Sidecar injection off for one workload (pod template label), then the namespace label.
    _apply_change(gateway, {"kind": "sidecar_injection", "namespace": ns, "workload": "ratings-v1",
                            "state": "disabled"}, [ns])
    _apply_change(gateway, {"kind": "sidecar_injection", "namespace": ns, "state": "disabled"}, [ns])
    after = gateway.inventory([ns])
    assert after.namespaces[0].injection == "disabled"
    assert next(w for w in after.workloads if w.name == "ratings-v1").sidecar_inject is False

    # Deleting the routing (delete_routing) removes what it made.
    _apply_change(gateway, {"kind": "delete_routing", "namespace": ns, "service": "reviews"}, [ns])
    assert not [o for o in gateway.inventory([ns]).istio_objects if o.namespace == ns]


def _apply_change(gateway, data: dict, namespaces: list[str]) -> None:
    rendered = render_change(data, gateway.inventory(namespaces), change_id=1)
    assert not rendered.blockers, rendered.blockers
    for write in rendered.writes:
        write.execute(gateway)


# (verb, resource, namespace or None for all/cluster-wide, extra args, allowed?)
CAN_I = [
    ("list", "namespaces", None, (), True),
    ("patch", "namespaces", None, (), True),
    ("list", "pods", None, (), True),
    ("list", "services", None, (), True),
    ("list", "endpoints", None, (), True),
    ("list", "deployments.apps", None, (), True),
    ("list", "statefulsets.apps", None, (), True),
    ("list", "daemonsets.apps", None, (), True),
    ("list", "replicasets.apps", None, (), True),
    ("patch", "deployments.apps", "bookinfo", (), True),
    ("list", "gateways.networking.istio.io", None, (), True),
    ("list", "serviceentries.networking.istio.io", None, (), True),
    ("list", "sidecars.networking.istio.io", None, (), True),
    ("list", "peerauthentications.security.istio.io", None, (), True),
    ("list", "authorizationpolicies.security.istio.io", None, (), True),
    ("create", "virtualservices.networking.istio.io", "bookinfo", (), True),
    ("patch", "virtualservices.networking.istio.io", "bookinfo", (), True),
    ("delete", "virtualservices.networking.istio.io", "bookinfo", (), True),
    ("create", "destinationrules.networking.istio.io", "bookinfo", (), True),
    ("patch", "destinationrules.networking.istio.io", "bookinfo", (), True),
    ("delete", "destinationrules.networking.istio.io", "bookinfo", (), True),
    # nothing on Secrets, anywhere
    ("get", "secrets", NAMESPACE, (), False),
    ("list", "secrets", None, (), False),
    ("get", "secrets", "kube-system", (), False),
    ("watch", "secrets", None, (), False),
    ("create", "secrets", "bookinfo", (), False),
    # no other configuration, no other Istio kind written
    ("get", "configmaps", "istio-system", (), False),
    ("update", "virtualservices.networking.istio.io", "bookinfo", (), False),
    ("create", "gateways.networking.istio.io", "bookinfo", (), False),
    ("create", "serviceentries.networking.istio.io", "bookinfo", (), False),
    ("patch", "sidecars.networking.istio.io", "bookinfo", (), False),
    ("create", "peerauthentications.security.istio.io", "bookinfo", (), False),
    ("delete", "authorizationpolicies.security.istio.io", "bookinfo", (), False),
    ("create", "envoyfilters.networking.istio.io", "bookinfo", (), False),
    # workloads: template patches only; nothing created, deleted, replaced or scaled
    ("create", "deployments.apps", "bookinfo", (), False),
    ("delete", "deployments.apps", "bookinfo", (), False),
    ("update", "deployments.apps", "bookinfo", (), False),
    ("patch", "deployments.apps", "bookinfo", ("--subresource=scale",), False),
    ("patch", "replicasets.apps", "bookinfo", (), False),
    ("delete", "pods", "bookinfo", (), False),
    ("create", "pods", "bookinfo", ("--subresource=exec",), False),
    ("get", "pods", "bookinfo", ("--subresource=log",), False),
    ("patch", "services", "bookinfo", (), False),
    ("create", "namespaces", None, (), False),
    ("delete", "namespaces", None, (), False),
    # no way to more power
    ("create", "clusterrolebindings.rbac.authorization.k8s.io", None, (), False),
    ("bind", "clusterroles.rbac.authorization.k8s.io", None, (), False),
    ("escalate", "clusterroles.rbac.authorization.k8s.io", None, (), False),
    ("impersonate", "users", None, (), False),
    ("create", "serviceaccounts", "bookinfo", ("--subresource=token",), False),
    ("*", "*", None, (), False),
]


def test_auth_can_i_shows_the_service_account_can_do_nothing_else(deployed, kubectl, capsys):
    rows, wrong = [], []
    for verb, resource, namespace, extra, allowed in CAN_I:
        scope = ["-n", namespace] if namespace else ["--all-namespaces"]
        result = kubectl("auth", "can-i", verb, resource, *scope, *extra, kubeconfig=deployed["kubeconfig"],
                         check=False)
        answer = result.stdout.strip()
        assert answer in ("yes", "no"), f"can-i {verb} {resource}: {result.stdout} {result.stderr}"
        rows.append(f"{verb:11} {' '.join((resource, *extra)):52} {namespace or '(all)':12} {answer}")
        if (answer == "yes") != allowed:
            wrong.append(rows[-1] + f"   (expected {'yes' if allowed else 'no'})")
    with capsys.disabled():
        print("\nkubectl auth can-i as", SA, "\n" + "\n".join(rows))
    assert not wrong, "\n".join(wrong)


def test_the_service_accounts_token_reads_no_secret_through_the_api(kube_apiserver, deployed):
    http = kube_apiserver.http(deployed["token"])
    for path in ("/api/v1/secrets", f"/api/v1/namespaces/{NAMESPACE}/secrets/meshdeck-token",
                 "/api/v1/namespaces/kube-system/secrets"):
        assert http.get(kube_apiserver.url + path, timeout=10).status_code == 403, path


def _rules(docs: list[dict]) -> dict[tuple[str, str], set[str]]:
    (role,) = [d for d in docs if d["kind"] == "ClusterRole"]
    granted: dict[tuple[str, str], set[str]] = {}
    for rule in role["rules"]:
        for group in rule["apiGroups"]:
            for resource in rule["resources"]:
                granted.setdefault((group, resource), set()).update(rule["verbs"])
    return granted


def test_the_view_only_overlay_reads_what_the_base_reads_and_writes_nothing(kubectl, rendered):
    view_only = [d for d in yaml.safe_load_all(kubectl("kustomize", str(KUBE_BASE.parent / "kubernetes-view-only"))
                                               .stdout) if d]
    base, ours = _rules(rendered), _rules(view_only)
    assert set(ours) == set(base)
    assert all(verbs == {"get", "list", "watch"} for verbs in ours.values()), ours
    others = sorted((d["kind"], d["metadata"]["name"]) for d in view_only if d["kind"] != "ClusterRole")
    assert others == sorted((d["kind"], d["metadata"]["name"]) for d in rendered if d["kind"] != "ClusterRole")
