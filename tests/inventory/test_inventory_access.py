"""Inventory and Istio config pages/API over the simulated "demo" cluster: authorization matrix.

viewer: viewer on demo/bookinfo only; outsider: no grant; cluster_admin: admin on demo/*.
"""
from __future__ import annotations

import pytest

pytestmark = pytest.mark.django_db

# (url template, bookinfo-only?) for every page and API endpoint of this work.
PAGES = [
    "/clusters/demo/namespaces/",
    "/clusters/demo/namespaces/-/workloads/",
    "/clusters/demo/namespaces/bookinfo/workloads/",
    "/clusters/demo/namespaces/bookinfo/workloads/reviews-v2/",
    "/clusters/demo/namespaces/-/services/",
    "/clusters/demo/namespaces/bookinfo/services/",
    "/clusters/demo/namespaces/bookinfo/services/reviews/",
    "/clusters/demo/istio/",
    "/clusters/demo/istio/bookinfo/ServiceEntry/httpbin-ext/",
]
APIS = [p.replace("/clusters/", "/api/clusters/", 1) for p in PAGES]
# Objects outside bookinfo: the viewer must get 404, exactly like a missing object.
HIDDEN_PAGES = [
    "/clusters/demo/namespaces/istio-system/workloads/",
    "/clusters/demo/namespaces/istio-system/workloads/istio-ingressgateway/",
    "/clusters/demo/namespaces/istio-system/services/istio-ingressgateway/",
    "/clusters/demo/namespaces/helloworld/services/",
]
HIDDEN_APIS = [p.replace("/clusters/", "/api/clusters/", 1) for p in HIDDEN_PAGES]


@pytest.mark.parametrize("url", PAGES + APIS)
def test_anonymous_is_sent_away(client, sim_cluster, url):
    response = client.get(url)
    assert response.status_code in (302, 401, 403)


@pytest.mark.parametrize("url", PAGES + APIS + HIDDEN_PAGES + HIDDEN_APIS)
def test_it_checks_ownership_outsider_gets_404(page_client, outsider, url):
    assert page_client(outsider).get(url).status_code == 404


@pytest.mark.parametrize("url", PAGES + APIS)
def test_viewer_sees_bookinfo(page_client, viewer, url):
    assert page_client(viewer).get(url).status_code == 200


@pytest.mark.parametrize("url", HIDDEN_PAGES + HIDDEN_APIS)
def test_viewer_gets_404_outside_granted_namespaces(page_client, viewer, url):
    assert page_client(viewer).get(url).status_code == 404


@pytest.mark.parametrize("url", PAGES + APIS + HIDDEN_PAGES + HIDDEN_APIS)
def test_cluster_admin_sees_everything(page_client, cluster_admin, url):
    assert page_client(cluster_admin).get(url).status_code == 200


def test_viewer_lists_and_counts_only_bookinfo(api_client, viewer):
    api = api_client(viewer)
    namespaces = api.get("/api/clusters/demo/namespaces/").json()
    assert [n["name"] for n in namespaces["results"]] == ["bookinfo"]
    assert namespaces["count"] == 1
    bookinfo = namespaces["results"][0]
    assert (bookinfo["workloads"], bookinfo["services"], bookinfo["injection"]) == (7, 5, "enabled")
    workloads = api.get("/api/clusters/demo/namespaces/-/workloads/").json()
    assert {w["namespace"] for w in workloads["results"]} == {"bookinfo"} and workloads["count"] == 7
    services = api.get("/api/clusters/demo/namespaces/-/services/").json()
    assert {s["namespace"] for s in services["results"]} == {"bookinfo"}
    config = api.get("/api/clusters/demo/istio/").json()
    assert {o["namespace"] for o in config["results"]} == {"bookinfo"}
    # search does not find hidden things either
    assert api.get("/api/clusters/demo/namespaces/-/workloads/?q=ingress").json()["count"] == 0
    assert api.get("/api/clusters/demo/namespaces/?q=istio").json()["count"] == 0


def test_admin_sees_every_namespace(api_client, cluster_admin):
    names = [n["name"] for n in api_client(cluster_admin).get("/api/clusters/demo/namespaces/").json()["results"]]
    assert {"bookinfo", "istio-system", "helloworld", "grpc-demo"} <= set(names)


def test_viewer_pages_do_not_mention_hidden_namespaces(page_client, viewer):
    c = page_client(viewer)
    for url in ("/clusters/demo/namespaces/", "/clusters/demo/namespaces/-/workloads/", "/clusters/demo/istio/"):
        body = c.get(url).content.decode()
        assert "istio-ingressgateway" not in body and "helloworld" not in body, url


def test_workload_detail_shows_pods_services_and_config(api_client, viewer):
    data = api_client(viewer).get("/api/clusters/demo/namespaces/bookinfo/workloads/reviews-v2/").json()
    assert data["kind"] == "Deployment" and data["app"] == "reviews" and data["version"] == "v2"
    assert len(data["pods"]) == 2 and all(p["has_sidecar"] for p in data["pods"])
    assert data["sidecar"] == "present"
    assert [s["name"] for s in data["services"]] == ["reviews"]
    assert data["istio_objects"] == []


def test_service_detail_lists_its_workloads(api_client, viewer):
    data = api_client(viewer).get("/api/clusters/demo/namespaces/bookinfo/services/reviews/").json()
    assert sorted(w["name"] for w in data["workloads"]) == ["reviews-v1", "reviews-v2", "reviews-v3"]
    assert data["host"] == "reviews.bookinfo.svc.cluster.local"


def test_config_detail_has_yaml_and_validation(api_client, viewer):
    data = api_client(viewer).get("/api/clusters/demo/istio/bookinfo/serviceentries/httpbin-ext/").json()
    assert data["kind"] == "ServiceEntry" and "httpbin.org" in data["yaml"] and data["valid"] is True
    assert data["checks"] == []


def test_unknown_kind_or_object_is_404(api_client, cluster_admin):
    api = api_client(cluster_admin)
    assert api.get("/api/clusters/demo/istio/bookinfo/Deployment/reviews-v1/").status_code == 404
    assert api.get("/api/clusters/demo/istio/bookinfo/VirtualService/nope/").status_code == 404
    assert api.get("/api/clusters/demo/namespaces/bookinfo/workloads/nope/").status_code == 404


def test_lists_are_paginated(api_client, cluster_admin):
    page = api_client(cluster_admin).get("/api/clusters/demo/namespaces/-/workloads/?limit=3&offset=3").json()
    assert len(page["results"]) == 3 and page["count"] > 6 and page["next"] and page["previous"]


def test_empty_states(page_client, viewer):
    body = page_client(viewer).get("/clusters/demo/namespaces/-/workloads/?q=zzz").content.decode()
    assert "No workload matches" in body
    body = page_client(viewer).get("/clusters/demo/istio/?kind=Gateway").content.decode()
    assert "No Istio object matches these filters" in body


def test_gateway_failure_is_a_503_page_and_json(page_client, api_client, cluster_admin, sim_cluster, monkeypatch):
    from apps.clusters import gateways
    from apps.clusters.gateway import ClusterUnreachable

    class Broken:
        def inventory(self, namespaces=None):
            raise ClusterUnreachable("Connection to https://10.0.0.1:6443 was refused: nothing listens there.")

    monkeypatch.setattr(gateways, "gateway_for", lambda cluster: Broken())
    response = page_client(cluster_admin).get("/clusters/demo/namespaces/")
    assert response.status_code == 503 and "was refused" in response.content.decode()
    response = api_client(cluster_admin).get("/api/clusters/demo/istio/")
    assert response.status_code == 503
    assert response.json()["code"] == "unreachable" and "was refused" in response.json()["detail"]


def test_openapi_documents_the_endpoints(api_client, cluster_admin):
    schema = api_client(cluster_admin).get("/api/schema/?format=json").json()
    for path in ("/api/clusters/{cluster}/namespaces/", "/api/clusters/{cluster}/namespaces/{namespace}/workloads/",
                 "/api/clusters/{cluster}/namespaces/{namespace}/workloads/{name}/",
                 "/api/clusters/{cluster}/namespaces/{namespace}/services/",
                 "/api/clusters/{cluster}/namespaces/{namespace}/services/{name}/",
                 "/api/clusters/{cluster}/istio/", "/api/clusters/{cluster}/istio/{namespace}/{kind}/{name}/"):
        assert path in schema["paths"], path
