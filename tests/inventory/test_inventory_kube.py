"""Pages and API over a real kube-apiserver loaded with Bookinfo, and every validation on it.

Three namespaces: "bad" (Bookinfo + every crafted bad object), "good" (Bookinfo +
every good counterpart) and a root namespace standing in for istio-system.
"""
from __future__ import annotations

import uuid

import pytest

from apps.accounts.roles import Role
from tests.graphs.snapshots import ordered_inventory
from tests.kube.helpers import apply, load_bookinfo
from tests.meshconfig.validation_cases import CASES, case_manifests

pytestmark = [pytest.mark.kube, pytest.mark.django_db]


@pytest.fixture(scope="module")
def mesh_namespaces(kube_apiserver):
    suffix = uuid.uuid4().hex[:6]
    names = {"bad": f"bad-{suffix}", "good": f"good-{suffix}", "root": f"root-{suffix}"}
    http = kube_apiserver.http()
    for role, ns in names.items():
        labels = {"istio-injection": "enabled"} if role != "root" else {}
        r = http.post(f"{kube_apiserver.url}/api/v1/namespaces",
                      json={"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns, "labels": labels}})
        assert r.ok, r.text
    for variant in ("bad", "good"):
        load_bookinfo(kube_apiserver, names[variant])
        for case in CASES:
            # (a bad case "in_root" names the root namespace in its own metadata)
            apply(kube_apiserver, case_manifests(case, variant, names[variant], names["root"]))
    yield names
    for ns in names.values():
        http.delete(f"{kube_apiserver.url}/api/v1/namespaces/{ns}")


@pytest.fixture
def kube_cluster(db, kube_apiserver, mesh_namespaces):
    from apps.clusters.models import Cluster

    cluster = Cluster(name="real", kind=Cluster.Kind.KUBERNETES, api_server_url=kube_apiserver.url,
                      istio_namespace=mesh_namespaces["root"])
    cluster.credentials = {"token": kube_apiserver.admin_token, "ca_pem": kube_apiserver.ca_pem}
    cluster.save()
    return cluster


@pytest.fixture
def people(make_user, kube_cluster, mesh_namespaces):
    return {
        "viewer": make_user("kviewer", cluster=kube_cluster, role=Role.VIEWER, pattern=mesh_namespaces["good"]),
        "outsider": make_user("koutsider"),
        "admin": make_user("kadmin", cluster=kube_cluster, role=Role.ADMIN, pattern="*"),
    }


def checks_of(api, ns, kind, name):
    response = api.get(f"/api/clusters/real/istio/{ns}/{kind}/{name}/")
    assert response.status_code == 200, response.content
    return response.json()


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.code)
def test_each_validation_fires_on_the_bad_object_in_the_real_cluster(api_client, people, mesh_namespaces, case):
    kind, name = case.target
    ns = mesh_namespaces["root" if case.in_root else "bad"]
    data = checks_of(api_client(people["admin"]), ns, kind, name)
    mine = [c for c in data["checks"] if c["code"] == case.code]
    assert mine, f"{case.code} missing on {kind} {ns}/{name}: {data['checks']}"
    assert case.path in {c["path"] for c in mine}
    assert all(c["line"] for c in mine if c["path"] == case.path)  # points into the YAML shown
    if any(c["severity"] == "error" for c in data["checks"]):
        assert data["valid"] is False


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.code)
def test_each_validation_stays_quiet_on_the_good_object(api_client, people, mesh_namespaces, case):
    kind, name = case.good_key
    data = checks_of(api_client(people["admin"]), mesh_namespaces["good"], kind, name)
    assert [c["code"] for c in data["checks"]] == [] and data["valid"] is True


def test_good_namespace_is_entirely_valid_and_bad_one_is_not(api_client, people, mesh_namespaces):
    api = api_client(people["admin"])
    good = api.get(f"/api/clusters/real/istio/?namespace={mesh_namespaces['good']}&validity=invalid").json()
    assert good["count"] == 0, [(r["kind"], r["name"], r["validation"]["checks"]) for r in good["results"]]
    bad = api.get(f"/api/clusters/real/istio/?namespace={mesh_namespaces['bad']}&validity=error").json()
    assert bad["count"] >= 10
    summary = {n["name"]: n for n in api.get("/api/clusters/real/namespaces/").json()["results"]}
    assert summary[mesh_namespaces["good"]]["validation_errors"] == 0
    assert summary[mesh_namespaces["good"]]["validation_warnings"] == 0
    assert summary[mesh_namespaces["bad"]]["validation_errors"] > 0
    assert summary[mesh_namespaces["bad"]]["validation_warnings"] > 0


def test_pages_show_inventory_and_validation(page_client, people, mesh_namespaces):
    c = page_client(people["admin"])
    bad, good = mesh_namespaces["bad"], mesh_namespaces["good"]
    body = c.get("/clusters/real/namespaces/").content.decode()
    assert f'data-namespace="{bad}"' in body and f'data-namespace="{good}"' in body
    body = c.get(f"/clusters/real/namespaces/{good}/workloads/").content.decode()
    assert f'data-workload="{good}/productpage-v1"' in body and "2/2" in body and "present" in body
    body = c.get(f"/clusters/real/namespaces/{good}/workloads/reviews-v2/").content.decode()
    assert "istio-proxy" in body and "DestinationRule" in body and f"{good}/reviews" in body
    body = c.get(f"/clusters/real/namespaces/{good}/services/ratings/").content.decode()
    assert "ratings-v1" in body and "AuthorizationPolicy" in body
    body = c.get(f"/clusters/real/istio/?namespace={bad}&kind=VirtualService&validity=error").content.decode()
    assert 'data-object="VirtualService/' + bad + '/vs-subset"' in body and "VS-SUBSET-NOT-FOUND" in body
    assert "vs-single" not in body  # a warning only: filtered out by validity=error
    body = c.get(f"/clusters/real/istio/{bad}/VirtualService/vs-subset/").content.decode()
    assert 'data-code="VS-SUBSET-NOT-FOUND"' in body and "spec.http[0].route[0].destination.subset" in body
    assert "flagged-error" in body and "subset: v9" in body


def test_workload_api_lists_referring_istio_objects(api_client, people, mesh_namespaces):
    good = mesh_namespaces["good"]
    data = api_client(people["admin"]).get(f"/api/clusters/real/namespaces/{good}/workloads/ratings-v1/").json()
    refs = {(o["kind"], o["name"]) for o in data["istio_objects"]}
    assert {("DestinationRule", "ratings"), ("AuthorizationPolicy", "ratings-viewer"),
            ("PeerAuthentication", "default"), ("VirtualService", "vs-single")} <= refs
    assert data["pods"][0]["phase"] == "Running" and data["pods"][0]["has_sidecar"] is True


AUTHZ_URLS = [
    "/api/clusters/real/namespaces/{ns}/workloads/",
    "/api/clusters/real/namespaces/{ns}/workloads/reviews-v1/",
    "/api/clusters/real/namespaces/{ns}/services/reviews/",
    "/api/clusters/real/istio/{ns}/DestinationRule/reviews/",
    "/clusters/real/namespaces/{ns}/workloads/reviews-v1/",
    "/clusters/real/istio/{ns}/DestinationRule/reviews/",
]


@pytest.mark.parametrize("url", AUTHZ_URLS)
def test_authorization_matrix_on_the_real_cluster(page_client, people, mesh_namespaces, url):
    good, bad = mesh_namespaces["good"], mesh_namespaces["bad"]
    for who, ns, status in (("viewer", good, 200), ("viewer", bad, 404), ("outsider", good, 404),
                            ("admin", good, 200), ("admin", bad, 200)):
        client = page_client(people[who])
        assert client.get(url.format(ns=ns)).status_code == status, (who, ns)
        client.logout()


def test_viewer_sees_no_validation_or_counts_of_hidden_namespaces(api_client, people, mesh_namespaces):
    api = api_client(people["viewer"])
    names = [n["name"] for n in api.get("/api/clusters/real/namespaces/").json()["results"]]
    assert names == [mesh_namespaces["good"]]
    rows = api.get("/api/clusters/real/istio/?validity=invalid").json()
    assert rows["count"] == 0
    everything = api.get("/api/clusters/real/istio/?limit=500").json()["results"]
    assert {r["namespace"] for r in everything} == {mesh_namespaces["good"]}
    assert api.get(f"/api/clusters/real/istio/?namespace={mesh_namespaces['bad']}").json()["count"] == 0


def test_cluster_with_bad_credentials_answers_with_the_reason_not_500(page_client, api_client, make_user,
                                                                      kube_apiserver):
    from apps.clusters.models import Cluster

    broken = Cluster(name="broken", kind=Cluster.Kind.KUBERNETES, api_server_url=kube_apiserver.url)
    broken.credentials = {"token": "wrong", "ca_pem": kube_apiserver.ca_pem}
    broken.save()
    admin = make_user("badadmin", cluster=broken, role=Role.ADMIN, pattern="*")
    response = page_client(admin).get("/clusters/broken/namespaces/")
    assert response.status_code == 503 and "rejected the credentials" in response.content.decode()
    response = api_client(admin).get("/api/clusters/broken/namespaces/")
    # 502: the API server answered, with an error (503 is for "cannot reach it", 504 for "too slow")
    assert response.status_code == 502 and response.json()["code"] == "unauthorized"
    assert "rejected the credentials" in response.json()["detail"]


def test_namespace_health_from_pod_readiness_on_the_real_cluster(api_client, page_client, people, mesh_namespaces,
                                                                kube_apiserver):
    """No kubelet: the pods of a new Deployment stay Pending, so it has 0 of 2 ready and its
    namespace fails; the good namespace's pods were marked ready, so it is healthy. The
    cluster has no Prometheus, so request health is missing and the page says why."""
    stuck = f"stuck-{uuid.uuid4().hex[:6]}"
    http = kube_apiserver.http()
    r = http.post(f"{kube_apiserver.url}/api/v1/namespaces",
                  json={"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": stuck}})
    assert r.ok, r.text
    try:
        labels = {"app": "web", "version": "v1"}
        apply(kube_apiserver, [{
            "apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web-v1", "namespace": stuck},
            "spec": {"replicas": 2, "selector": {"matchLabels": labels}, "template": {
                "metadata": {"labels": labels},
                "spec": {"containers": [{"name": "web", "image": "web:1"}]}}},
        }])
        admin = api_client(people["admin"])
        rows = {r["name"]: r for r in admin.get("/api/clusters/real/namespaces/").json()["results"]}
        assert rows[stuck]["health"] == "Failure"
        assert rows[stuck]["health_problems"] == ["web-v1: 0 of 2 pods ready"]
        assert rows[mesh_namespaces["good"]]["health"] == "Healthy"
        assert "no Prometheus URL" in rows[stuck]["health_error"]
        workloads = admin.get(f"/api/clusters/real/namespaces/{stuck}/workloads/").json()["results"]
        assert [(w["name"], w["health"], w["health_reason"]) for w in workloads] == [
            ("web-v1", "Failure", "0 of 2 pods ready")]
        html = page_client(people["admin"]).get("/clusters/real/namespaces/").content.decode()
        assert "Request health is not shown" in html and "web-v1: 0 of 2 pods ready" in html
        # the viewer (good namespace only) learns nothing about it
        viewer = api_client(people["viewer"])
        names = [r["name"] for r in viewer.get("/api/clusters/real/namespaces/").json()["results"]]
        assert names == [mesh_namespaces["good"]]
    finally:
        http.delete(f"{kube_apiserver.url}/api/v1/namespaces/{stuck}")


def test_the_real_clusters_inventory_round_trips_and_reads_the_same_stored(people, kube_cluster, mesh_namespaces):
    """Inventory.to_dict/from_dict on what the real API server answers (Deployments, ReplicaSets, pods,
    services with named target ports, every Istio kind with labels and annotations), and the pages'
    reads (validations included) from the stored copy equal the live ones."""
    import json

    from apps.clusters.inventory import Inventory
    from apps.clusters.sources import StoredMeshSource, live_mesh_source
    from apps.core.stored import canonical_json
    from apps.inventory import selectors as inventory
    from apps.meshconfig import selectors as config
    from apps.meshconfig.meshview import mesh_view

    live = live_mesh_source(kube_cluster)
    inv = live.inventory()
    good = mesh_namespaces["good"]
    assert {w.name for w in inv.workloads if w.namespace == good} >= {"productpage-v1", "reviews-v2"}
    assert {o.kind for o in inv.istio_objects if o.namespace == good} >= {"VirtualService", "DestinationRule",
                                                                          "AuthorizationPolicy"}
    data = canonical_json(inv.to_dict())
    restored = Inventory.from_dict(json.loads(data))
    assert restored == ordered_inventory(inv)
    assert canonical_json(restored.to_dict()) == data
    stored = StoredMeshSource(kube_cluster, restored, live.inventory_at, label="snapshot #7")
    admin = people["admin"]
    from_store, from_live = mesh_view(admin, stored), mesh_view(admin, live)
    assert from_store.validations == from_live.validations and any(v.checks for v in from_live.validations.values())
    assert inventory.namespace_summaries(from_store) == inventory.namespace_summaries(from_live)
    for read in (lambda v: inventory.workload_detail(v, good, "reviews-v2"),
                 lambda v: inventory.service_detail(v, good, "ratings"),
                 lambda v: [(r.object, r.validation) for r in config.config_list(v)]):
        assert read(from_store) == read(from_live)
