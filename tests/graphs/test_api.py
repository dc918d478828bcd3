"""The graph API: shape, authorization, bad input and telemetry failures."""
from __future__ import annotations

import json
import socket
import time

import pytest

pytestmark = pytest.mark.django_db

URL = "/api/clusters/demo/graph"


def edges_by_names(body):
    nodes = {n["data"]["id"]: n["data"] for n in body["elements"]["nodes"]}

    def name(d):
        return d.get("workload") or d.get("app") or d.get("service") or d["nodeType"]

    return {(name(nodes[e["data"]["source"]]), name(nodes[e["data"]["target"]])): e["data"]
            for e in body["elements"]["edges"]}, nodes


def test_graph_is_cytoscape_elements(api_client, cluster_admin, sim_cluster, fake_mesh):
    resp = api_client(cluster_admin).get(URL, {"namespaces": "bookinfo", "graphType": "workload",
                                               "injectServiceNodes": "false"})
    assert resp.status_code == 200, resp.content
    body = resp.json()
    assert body["graphType"] == "workload" and body["duration"] == 60
    edges, nodes = edges_by_names(body)
    e = edges[("productpage-v1", "details-v1")]
    assert e["rates"]["http"] == pytest.approx(10) and e["percentErr"] == pytest.approx(2)
    assert e["isMTLS"] == pytest.approx(100) and e["healthStatus"] == "Degraded"
    assert all({"id", "source", "target"} <= set(x["data"]) for x in body["elements"]["edges"])


def test_the_answer_says_the_live_source_answered(api_client, cluster_admin, sim_cluster, fake_mesh):
    before = time.time()
    body = api_client(cluster_admin).get(URL, {"namespaces": "bookinfo"}).json()
    source = body["source"]
    assert (source["kind"], source["at"], source["description"]) == ("live", None, "live")
    assert source["inventoryMatchesTraffic"] is True and source["trafficAt"] == body["timestamp"]
    assert before - 1 <= source["inventoryAt"] <= time.time() + 1


def test_a_past_query_time_says_the_inventory_is_the_current_one(api_client, cluster_admin, sim_cluster, fake_mesh):
    """No snapshot of that moment: Prometheus's traffic of the past window, paired with the inventory
    of now; the answer says so instead of passing it off as the mesh of that moment."""
    past = int(time.time()) - 3600
    resp = api_client(cluster_admin).get(URL, {"namespaces": "bookinfo", "queryTime": str(past)})
    assert resp.status_code == 200, resp.content
    source = resp.json()["source"]
    assert source["kind"] == "live" and source["trafficAt"] == past and source["inventoryMatchesTraffic"] is False
    assert "the inventory (namespaces, idle nodes, service entries) is the current one" in source["description"]
    assert "60 min later" in source["description"] and "no snapshot of that moment was used" in source["description"]
    # the Kiali-compatible answer keeps Kiali's body and says the same in a header
    resp = api_client(cluster_admin).get("/api/namespaces/graph", {"namespaces": "bookinfo", "queryTime": str(past)})
    assert resp.status_code == 200 and "source" not in resp.json()
    header = json.loads(resp["X-Meshdeck-Source"])
    assert header["kind"] == "live" and header["inventoryMatchesTraffic"] is False and header["trafficAt"] == past


def test_viewer_sees_only_bookinfo_and_outside_nodes_are_anonymous(api_client, viewer, sim_cluster, fake_mesh):
    resp = api_client(viewer).get(URL, {"namespaces": "bookinfo", "graphType": "workload"})
    assert resp.status_code == 200
    assert "istio-ingressgateway" not in resp.content.decode()
    hidden = [n["data"] for n in resp.json()["elements"]["nodes"] if n["data"].get("isInaccessible")
              and n["data"]["nodeType"] == "workload"]
    assert len(hidden) == 1 and hidden[0]["namespace"] == "" and "workload" not in hidden[0]


def test_viewer_cannot_ask_for_other_namespaces(api_client, viewer, sim_cluster, fake_mesh):
    assert api_client(viewer).get(URL, {"namespaces": "istio-system"}).status_code == 404
    # with no namespaces, the viewer's graph is only what the viewer may see
    body = api_client(viewer).get(URL).json()
    assert body["namespaces"] == ["bookinfo"]


def test_cluster_admin_sees_the_gateway(api_client, cluster_admin, sim_cluster, fake_mesh):
    body = api_client(cluster_admin).get(URL, {"namespaces": "bookinfo", "graphType": "workload"}).json()
    assert "istio-ingressgateway" in str(body)


def test_outsider_and_anonymous_get_nothing(api_client, outsider, sim_cluster, fake_mesh):
    assert api_client(outsider).get(URL).status_code == 404
    assert api_client(None).get(URL).status_code in (401, 403)
    assert api_client(outsider).get("/api/namespaces/graph", {"namespaces": "bookinfo"}).status_code == 404


@pytest.mark.parametrize("params,status", [
    ({"namespaces": "nope"}, 404),
    ({"duration": "10s"}, 400),
    ({"duration": "7h"}, 400),
    ({"duration": "abc"}, 400),
    ({"queryTime": str(int(time.time()) + 3600)}, 400),
    ({"queryTime": "yesterday"}, 400),
    ({"queryTime": "inf"}, 400),  # found by the fuzzer: int(inf) raised OverflowError, a 500
    ({"queryTime": "1e400"}, 400),
    ({"graphType": "pods"}, 400),
    ({"boxBy": "galaxy"}, 400),
    ({"injectServiceNodes": "maybe"}, 400),
])
def test_bad_input_is_a_4xx_with_a_message(api_client, cluster_admin, sim_cluster, fake_mesh, params, status):
    resp = api_client(cluster_admin).get(URL, params)
    assert resp.status_code == status
    body = resp.json()
    assert body["detail"] and body["code"] == ("not_found" if status == 404 else "bad_request")
    assert body["request_id"] == resp["X-Request-ID"]


def test_kiali_endpoint_answers_errors_in_kialis_shape(api_client, cluster_admin, sim_cluster, fake_mesh):
    resp = api_client(cluster_admin).get("/api/namespaces/graph", {"namespaces": "bookinfo", "duration": "7h"})
    assert resp.status_code == 400
    assert set(resp.json()) == {"error", "request_id"} and "duration" in resp.json()["error"]
    assert resp.json()["request_id"] == resp["X-Request-ID"]


def test_prometheus_down_is_a_clear_503(api_client, cluster_admin, sim_cluster, fake_mesh):
    from tests.support.net import free_port

    sim_cluster.prometheus_url = f"http://127.0.0.1:{free_port()}"
    sim_cluster.save()
    resp = api_client(cluster_admin).get(URL, {"namespaces": "bookinfo"})
    assert resp.status_code == 503
    assert "Connection refused" in resp.json()["detail"] and "is Prometheus running" in resp.json()["detail"]


def test_prometheus_slow_is_a_clear_504(api_client, cluster_admin, sim_cluster, fake_mesh, settings):
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(16)  # accepts connections, never answers
    settings.GRAPH_PROMETHEUS_TIMEOUT = 0.3
    sim_cluster.prometheus_url = f"http://127.0.0.1:{listener.getsockname()[1]}"
    sim_cluster.save()
    try:
        resp = api_client(cluster_admin).get(URL, {"namespaces": "bookinfo"})
    finally:
        listener.close()
    assert resp.status_code == 504
    assert "did not answer" in resp.json()["detail"]


def test_prometheus_query_error_is_a_503_with_its_message(api_client, cluster_admin, sim_cluster, fake_mesh):
    from tests.support.localservers import JsonServer

    with JsonServer(400, {"status": "error", "errorType": "bad_data", "error": "parse error"}) as server:
        sim_cluster.prometheus_url = server.url
        sim_cluster.save()
        resp = api_client(cluster_admin).get(URL, {"namespaces": "bookinfo"})
    assert resp.status_code == 503 and "parse error" in resp.json()["detail"]


def test_series_for_a_node_and_an_edge(api_client, viewer, sim_cluster, fake_mesh):
    url = URL + "/series"
    node = api_client(viewer).get(url, {"namespace": "bookinfo", "workload": "details-v1"}).json()
    assert node["requestRate"][-1] == pytest.approx(10)
    assert node["errorRate"][-1] == pytest.approx(2)
    assert node["p95"][-1] == pytest.approx(9.75)
    edge = api_client(viewer).get(url, {"namespace": "bookinfo", "workload": "ratings-v1",
                                        "sourceNamespace": "bookinfo", "sourceWorkload": "reviews-v3"}).json()
    assert edge["errorRate"][-1] == pytest.approx(4)
    assert api_client(viewer).get(url, {"namespace": "istio-system", "workload": "x"}).status_code == 404


def test_kiali_endpoint_with_bearer_token(api_client, viewer, sim_cluster, fake_mesh):
    from rest_framework.test import APIClient

    from apps.accounts.services import api_token_create

    _, raw = api_token_create(user=viewer, name="kiali-script")
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
    resp = client.get("/api/namespaces/graph", {"namespaces": "bookinfo", "graphType": "workload", "duration": "60s"})
    assert resp.status_code == 200, resp.content
    body = resp.json()
    assert set(body) == {"timestamp", "duration", "graphType", "elements"}
    rates = [e["data"]["traffic"].get("rates", {}) for e in body["elements"]["edges"]]
    assert all(isinstance(v, str) for r in rates for v in r.values())
    assert client.get("/api/namespaces/graph", {"namespaces": "bookinfo", "cluster": "nope"}).status_code == 404
    assert client.get("/api/namespaces/graph").status_code == 400


def test_graph_is_in_the_openapi_schema(api_client, cluster_admin):
    schema = api_client(cluster_admin).get("/api/schema/", {"format": "json"}).json()
    assert "/api/clusters/{name}/graph" in schema["paths"]
    assert "/api/namespaces/graph" in schema["paths"] or any("namespaces/graph" in p for p in schema["paths"])


def test_graph_page_renders_for_granted_users_only(page_client, viewer, sim_cluster, fake_mesh):
    resp = page_client(viewer).get("/clusters/demo/graph/")
    assert resp.status_code == 200
    assert b"graphs/graph-page.js" in resp.content and b"bookinfo" in resp.content
    assert b"istio-system" not in resp.content


def test_graph_page_is_404_for_outsiders(page_client, outsider, sim_cluster, fake_mesh):
    assert page_client(outsider).get("/clusters/demo/graph/").status_code == 404
