"""The applications page and API: workloads grouped by their app label per namespace, with health,
versions, sidecar state, filters and pagination, and an app's page linking to its workloads,
services and the graph focused on it (simulated demo mesh; health from the pinned scenario:
details-v1 answers 2% 503, so Degraded; grpc-server-v1 15% gRPC 14, so Failure)."""
from urllib.parse import parse_qs, urlsplit

import pytest

from tests.support.html import fragment

pytestmark = pytest.mark.django_db

APPS = "/clusters/demo/namespaces/{ns}/apps/"
API = "/api/clusters/demo/namespaces/{ns}/apps/"


def _row(html, key):
    return fragment(html, f'data-app="{key}"', "</tr>")


def test_bookinfo_apps_group_their_versions_with_services_and_health(api_client, viewer):
    rows = api_client(viewer).get(API.format(ns="bookinfo")).json()["results"]
    by_name = {r["name"]: r for r in rows}
    assert sorted(by_name) == ["details", "mongodb", "productpage", "ratings", "reviews"]
    reviews = by_name["reviews"]
    assert reviews["versions"] == ["v1", "v2", "v3"]
    assert [w["name"] for w in reviews["workloads"]] == ["reviews-v1", "reviews-v2", "reviews-v3"]
    assert [s["name"] for s in reviews["services"]] == ["reviews"]
    assert reviews["sidecar"] == "present" and reviews["pods"] == reviews["pods_with_sidecar"] > 0
    # an app is as healthy as its worst workload: reviews-v3's calls to ratings fail 4% of the time
    assert reviews["health"] == "Degraded" and reviews["health_problems"] == ["reviews-v3: 4.0% errors outbound"]
    details = by_name["details"]
    assert details["health"] == "Degraded" and details["health_problems"] == ["details-v1: 2.0% errors inbound"]
    assert by_name["mongodb"]["health"] == "Healthy" and by_name["mongodb"]["health_problems"] == []


def test_the_viewer_sees_only_bookinfo_apps_and_the_admin_every_namespace(api_client, viewer, cluster_admin):
    seen = api_client(viewer).get(API.format(ns="-")).json()
    assert {r["namespace"] for r in seen["results"]} == {"bookinfo"}
    everything = api_client(cluster_admin).get(API.format(ns="-") + "?limit=100").json()["results"]
    keys = {(r["namespace"], r["name"]) for r in everything}
    assert {("grpc-demo", "grpc-server"), ("helloworld", "helloworld"), ("bookinfo", "reviews")} <= keys
    grpc = next(r for r in everything if r["name"] == "grpc-server")
    assert grpc["health"] == "Failure" and "15.0% errors inbound" in grpc["health_problems"][0]


def test_filters_by_name_health_and_sidecar(api_client, cluster_admin, sim_cluster):
    api = api_client(cluster_admin)
    # a workload of ratings restarts without a sidecar: the app is only partly in the mesh
    sim_cluster.gateway().patch_workload_template("Deployment", "bookinfo", "ratings-v1",
                                                  labels={"sidecar.istio.io/inject": "false"})

    def names(url):
        return [(r["namespace"], r["name"]) for r in api.get(url).json()["results"]]

    assert names(API.format(ns="-") + "?q=review") == [("bookinfo", "reviews")]
    assert names(API.format(ns="-") + "?q=v3") == [("bookinfo", "reviews")]  # a workload's name matches too
    # grpc-server answers 15% errors, so its client sees them too
    assert names(API.format(ns="-") + "?health=Failure") == [("grpc-demo", "grpc-client"), ("grpc-demo", "grpc-server")]
    assert ("bookinfo", "details") in names(API.format(ns="-") + "?health=Degraded")
    assert names(API.format(ns="bookinfo") + "?sidecar=missing") == [("bookinfo", "ratings")]
    assert ("bookinfo", "ratings") not in names(API.format(ns="bookinfo") + "?sidecar=present")


def test_an_unknown_filter_value_is_a_400_naming_the_field(api_client, viewer):
    response = api_client(viewer).get(API.format(ns="-") + "?health=Sick")
    assert response.status_code == 400
    body = response.json()
    assert "health" in body["errors"] and "Healthy" in body["detail"]
    assert api_client(viewer).get(API.format(ns="-") + "?sidecar=maybe").status_code == 400


def test_the_api_is_paginated(api_client, cluster_admin):
    page = api_client(cluster_admin).get(API.format(ns="-") + "?limit=2&offset=2").json()
    assert len(page["results"]) == 2 and page["count"] > 4 and page["next"] and page["previous"]


def test_app_detail_api_lists_workloads_with_health_services_and_config(api_client, viewer):
    data = api_client(viewer).get(API.format(ns="bookinfo") + "details/").json()
    assert data["name"] == "details" and data["namespace"] == "bookinfo"
    assert [(w["name"], w["health"]) for w in data["workloads"]] == [("details-v1", "Degraded")]
    assert [s["name"] for s in data["services"]] == ["details"]
    assert data["health"] == "Degraded"
    assert api_client(viewer).get(API.format(ns="bookinfo") + "nope/").status_code == 404
    assert api_client(viewer).get(API.format(ns="grpc-demo") + "grpc-server/").status_code == 404


def test_the_page_shows_each_app_with_its_health_versions_and_links(page_client, viewer):
    response = page_client(viewer).get(APPS.format(ns="-"))
    assert response.status_code == 200
    html = response.content.decode()
    reviews = _row(html, "bookinfo/reviews")
    assert "health-degraded" in reviews and "reviews-v3: 4.0% errors outbound" in reviews
    assert all(f'<span class="tag">{v}</span>' in reviews for v in ("v1", "v2", "v3"))
    assert "health-healthy" in _row(html, "bookinfo/mongodb")
    assert '/clusters/demo/namespaces/bookinfo/workloads/reviews-v2/?kind=Deployment' in reviews
    assert '/clusters/demo/namespaces/bookinfo/services/reviews/' in reviews
    assert '/clusters/demo/namespaces/bookinfo/apps/reviews/' in reviews
    details = _row(html, "bookinfo/details")
    assert "health-degraded" in details and "details-v1: 2.0% errors inbound" in details
    assert "grpc" not in html and "helloworld" not in html  # nothing of namespaces the viewer may not see
    assert 'aria-current="page">Applications' in html  # the navigation's entry is lit


def test_the_page_keeps_its_filters_across_namespaces_and_says_when_nothing_matches(page_client, cluster_admin):
    client = page_client(cluster_admin)
    html = client.get(APPS.format(ns="-") + "?health=Failure").content.decode()
    assert 'data-app="grpc-demo/grpc-server"' in html and 'data-app="bookinfo/reviews"' not in html
    assert '/clusters/demo/namespaces/bookinfo/apps/?health=Failure' in html  # namespace links keep the filter
    empty = client.get(APPS.format(ns="bookinfo") + "?health=Failure").content.decode()
    assert "No application matches these filters in bookinfo" in empty and "Clear the filters" in empty
    # a filter value the page does not know is no filter (the page never errors on a hand-edited URL)
    assert client.get(APPS.format(ns="-") + "?health=Sick").status_code == 200


def test_workloads_without_an_app_label_are_pointed_to(page_client, cluster_admin, sim_cluster):
    gateway = sim_cluster.gateway()
    workload = gateway.get_workload("Deployment", "helloworld", "sleep")
    gateway.patch_workload_template("Deployment", "helloworld", "sleep",
                                    labels={k: None for k in workload.labels if k in (
                                        "app", "app.kubernetes.io/name", "service.istio.io/canonical-name")})
    html = page_client(cluster_admin).get(APPS.format(ns="helloworld")).content.decode()
    assert 'data-app="helloworld/sleep"' not in html and 'data-app="helloworld/helloworld"' in html
    assert "1 workload without an app label belongs to no application" in html


def test_a_namespace_without_apps_says_what_an_application_is(page_client, cluster_admin, sim_cluster):
    gateway = sim_cluster.gateway()
    for w in gateway.list_workloads("helloworld"):
        gateway.patch_workload_template(w.kind, "helloworld", w.name,
                                        labels={k: None for k in ("app", "app.kubernetes.io/name")})
    html = page_client(cluster_admin).get(APPS.format(ns="helloworld")).content.decode()
    assert 'data-app="' not in html and "label your Deployments" in html
    assert "without an app label" in html and "/clusters/demo/namespaces/helloworld/workloads/" in html


def test_the_app_page_links_to_workloads_services_and_the_graph_focused_on_it(page_client, viewer):
    response = page_client(viewer).get(APPS.format(ns="bookinfo") + "reviews/")
    assert response.status_code == 200
    html = response.content.decode()
    for w in ("reviews-v1", "reviews-v2", "reviews-v3"):
        assert f"/clusters/demo/namespaces/bookinfo/workloads/{w}/?kind=Deployment" in html
    assert "/clusters/demo/namespaces/bookinfo/services/reviews/" in html
    from apps.graphs.builder.render import public_node_id

    graph_link = fragment(html, 'href="/clusters/demo/graph/?', '">').removeprefix('href="')
    query = parse_qs(urlsplit(graph_link.replace("&amp;", "&")).query)
    assert query == {"namespaces": ["bookinfo"], "graphType": ["app"],
                     "focus": [public_node_id("app_Kubernetes_bookinfo_reviews")]}
    assert page_client(viewer).get(APPS.format(ns="grpc-demo") + "grpc-server/").status_code == 404


def test_the_focus_names_the_app_node_the_graph_api_draws(api_client, viewer):
    graph = api_client(viewer).get("/api/clusters/demo/graph?namespaces=bookinfo&graphType=app&duration=60s").json()
    ids = {n["data"]["id"] for n in graph["elements"]["nodes"]}
    from apps.graphs.builder.render import public_node_id

    assert public_node_id("app_Kubernetes_bookinfo_reviews") in ids
