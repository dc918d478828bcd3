"""Acceptance: the simulator's exporter scraped by a real Prometheus, read through the graph API.

Expected values are written by hand from the pinned Bookinfo scenario
(docs/simulator.md): req/s within 5% relative, error % within 0.5 points,
mTLS % within 5 points, p95 in the same histogram bucket as configured.
"""
from __future__ import annotations

import bisect
import time

import pytest

pytestmark = [pytest.mark.django_db, pytest.mark.prometheus]

WINDOW = 60
BUCKETS = (0.5, 1, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000)
T = 10 / 3  # productpage -> each reviews version without a VirtualService

SUSPEND_REVIEWS = {
    "apiVersion": "networking.istio.io/v1", "kind": "VirtualService",
    "metadata": {"name": "reviews-suspend", "namespace": "bookinfo"},
    "spec": {"hosts": ["reviews"], "http": [{
        "fault": {"abort": {"percentage": {"value": 100}, "httpStatus": 503}},
        "route": [{"destination": {"host": "reviews"}}]}]},
}


@pytest.fixture(scope="module")
def meshes(prometheus_factory):
    """Two simulated meshes (plain demo; demo with reviews suspended), each with its own Prometheus."""
    from apps.simulator.exporter import start_exporter
    from apps.simulator.mesh import SimulatedMesh

    started = time.time()
    out = {}
    servers = []
    for name, change in (("demo", None), ("suspended", SUSPEND_REVIEWS)):
        # started long ago, so counters have history; changes apply from now on
        mesh = SimulatedMesh("demo", start=started - 600)
        if change:
            mesh.apply_istio_object(change)
        server, port = start_exporter(mesh)
        servers.append(server)
        prom = prometheus_factory([f"127.0.0.1:{port}"], scrape_interval="1s")
        out[name] = (mesh, prom)
    for _, prom in out.values():
        prom.wait_for_targets_up()
    # rate() needs scrapes across the whole window (no partial-window extrapolation)
    time.sleep(max(0.0, started + WINDOW + 6 - time.time()))
    yield out
    for server in servers:
        server.stop()


@pytest.fixture
def prom_cluster(sim_cluster):
    def make(prom):
        sim_cluster.prometheus_url = prom.url
        sim_cluster.save()
        return sim_cluster
    return make


def fetch(client, **params):
    params.setdefault("duration", f"{WINDOW}s")
    resp = client.get("/api/clusters/demo/graph", params)
    assert resp.status_code == 200, resp.content
    return resp.json()


def key(d):
    if d["nodeType"] == "unknown":
        return "unknown"
    if d["nodeType"] == "service":
        return "svc:" + d["service"]
    return d.get("workload") or d.get("app")


def edges_of(body):
    nodes = {n["data"]["id"]: n["data"] for n in body["elements"]["nodes"]}
    return {(key(nodes[e["data"]["source"]]), key(nodes[e["data"]["target"]]), e["data"]["protocol"]): e["data"]
            for e in body["elements"]["edges"]}


def bucket(ms):
    return bisect.bisect_left(BUCKETS, ms)


# (source, target, protocol): (req/s, error %, mTLS %, p95 ms or None)
WORKLOAD = {
    ("unknown", "productpage-v1", "http"): (0.5, 0, 0, 20),
    ("istio-ingressgateway", "productpage-v1", "http"): (10, 0, 100, 80),
    ("productpage-v1", "details-v1", "http"): (10, 2, 100, 9),
    ("productpage-v1", "reviews-v1", "http"): (T, 0, 100, 40),
    ("productpage-v1", "reviews-v2", "http"): (T, 0, 100, 40),
    ("productpage-v1", "reviews-v3", "http"): (T, 0, 100, 40),
    ("reviews-v2", "ratings-v1", "http"): (T, 0, 100, 12),
    ("reviews-v3", "ratings-v1", "http"): (T, 4, 100, 12),
    ("productpage-v1", "svc:httpbin.org", "http"): (1, 0, 0, 300),
}
APP = {
    ("unknown", "productpage", "http"): (0.5, 0, 0, 20),
    ("istio-ingressgateway", "productpage", "http"): (10, 0, 100, 80),
    ("productpage", "details", "http"): (10, 2, 100, 9),
    ("productpage", "reviews", "http"): (10, 0, 100, 40),
    ("reviews", "ratings", "http"): (2 * T, 2, 100, 12),
    ("productpage", "svc:httpbin.org", "http"): (1, 0, 0, 300),
}
VERSIONED_INJECTED = {
    ("unknown", "svc:productpage", "http"): (0.5, 0, 0, 20),
    ("istio-ingressgateway", "svc:productpage", "http"): (10, 0, 100, 80),
    ("svc:productpage", "productpage-v1", "http"): (10.5, 0, 100 * 10 / 10.5, None),
    ("productpage-v1", "svc:details", "http"): (10, 2, 100, 9),
    ("svc:details", "details-v1", "http"): (10, 2, 100, 9),
    ("productpage-v1", "svc:reviews", "http"): (10, 0, 100, 40),
    ("svc:reviews", "reviews-v1", "http"): (T, 0, 100, 40),
    ("svc:reviews", "reviews-v2", "http"): (T, 0, 100, 40),
    ("svc:reviews", "reviews-v3", "http"): (T, 0, 100, 40),
    ("reviews-v2", "svc:ratings", "http"): (T, 0, 100, 12),
    ("reviews-v3", "svc:ratings", "http"): (T, 4, 100, 12),
    ("svc:ratings", "ratings-v1", "http"): (2 * T, 2, 100, 12),
    ("productpage-v1", "svc:httpbin.org", "http"): (1, 0, 0, 300),
}
SERVICE = {
    ("unknown", "svc:productpage", "http"): (0.5, 0, 0, 20),
    ("istio-ingressgateway", "svc:productpage", "http"): (10, 0, 100, 80),
    ("svc:productpage", "svc:details", "http"): (10, 2, 100, 9),
    ("svc:productpage", "svc:reviews", "http"): (10, 0, 100, 40),
    ("svc:reviews", "svc:ratings", "http"): (2 * T, 2, 100, 12),
    ("svc:productpage", "svc:httpbin.org", "http"): (1, 0, 0, 300),
}


def check(edges, expected):
    for k, (rps, err, mtls, p95) in expected.items():
        assert k in edges, f"missing edge {k}; have {sorted(edges)}"
        e = edges[k]
        assert e["rates"]["http"] == pytest.approx(rps, rel=0.05), k
        assert e["percentErr"] == pytest.approx(err, abs=0.5), k
        assert (e["isMTLS"] or 0) == pytest.approx(mtls, abs=5), k
        if p95 is not None:
            assert e["responseTime"] is not None and bucket(e["responseTime"]) == bucket(p95), (k, e["responseTime"])


@pytest.mark.parametrize("params,expected", [
    ({"graphType": "workload", "injectServiceNodes": "false"}, WORKLOAD),
    ({"graphType": "app", "injectServiceNodes": "false"}, APP),
    ({"graphType": "versionedApp", "injectServiceNodes": "true"}, VERSIONED_INJECTED),
    ({"graphType": "service"}, SERVICE),
], ids=["workload", "app", "versionedApp+services", "service"])
def test_bookinfo_edges_match_the_scenario(meshes, prom_cluster, api_client, cluster_admin, params, expected):
    prom_cluster(meshes["demo"][1])
    body = fetch(api_client(cluster_admin), namespaces="bookinfo", **params)
    edges = edges_of(body)
    check(edges, expected)
    tcp = [e for (s, t, p), e in edges.items() if p == "tcp"]
    assert tcp, "ratings -> mongodb TCP edge"
    # Kiali's TCP edge rate is what the client sends (ratings sends 1200 B/s, gets 4800 B/s back)
    assert tcp[0]["rates"]["tcp"] == pytest.approx(1200, rel=0.05)
    assert tcp[0]["rates"]["tcpReceived"] == pytest.approx(4800, rel=0.05)
    assert tcp[0]["isMTLS"] == pytest.approx(100, abs=5)


# (source, target): mean ms (docs/simulator.md), workload graph without service nodes
MEANS = {
    ("unknown", "productpage-v1"): 9,
    ("istio-ingressgateway", "productpage-v1"): 38,
    ("productpage-v1", "details-v1"): 4,
    ("productpage-v1", "reviews-v1"): 17,
    ("reviews-v3", "ratings-v1"): 5,
    ("productpage-v1", "svc:httpbin.org"): 150,
}


def test_response_time_avg_is_the_mean(meshes, prom_cluster, api_client, cluster_admin):
    """responseTime=avg: rate(_sum) / rate(_count) through Prometheus, not a quantile (Kiali's avg)."""
    prom_cluster(meshes["demo"][1])
    client = api_client(cluster_admin)
    edges = edges_of(fetch(client, namespaces="bookinfo", graphType="workload", injectServiceNodes="false",
                           responseTime="avg"))
    kiali = client.get("/api/namespaces/graph", {"namespaces": "bookinfo", "graphType": "workload",
                                                 "duration": f"{WINDOW}s", "cluster": "demo", "responseTime": "avg"})
    assert kiali.status_code == 200, kiali.content
    nodes = {n["data"]["id"]: n["data"] for n in kiali.json()["elements"]["nodes"]}
    kiali_edges = {(key(nodes[e["data"]["source"]]), key(nodes[e["data"]["target"]])): e["data"]
                   for e in kiali.json()["elements"]["edges"]}
    for (src, dst), mean in MEANS.items():
        e = edges[(src, dst, "http")]
        assert e["responseTime"] == pytest.approx(mean, rel=0.05), (src, dst, e["responseTime"])
        assert e["responseTimeAvg"] == pytest.approx(e["responseTime"]), (src, dst)
        assert float(kiali_edges[(src, dst)]["responseTime"]) == pytest.approx(mean, rel=0.1, abs=0.5), (src, dst)


def test_grpc_error_share_from_grpc_status(meshes, prom_cluster, api_client, cluster_admin):
    prom_cluster(meshes["demo"][1])
    edges = edges_of(fetch(api_client(cluster_admin), namespaces="grpc-demo", graphType="workload",
                           injectServiceNodes="false"))
    e = edges[("grpc-client-v1", "grpc-server-v1", "grpc")]
    assert e["rates"]["grpc"] == pytest.approx(5, rel=0.05)
    assert e["percentErr"] == pytest.approx(15, abs=0.5)
    assert e["healthStatus"] == "Failure"  # gRPC non-OK >= 10%


def test_suspended_route_errors_on_the_edge_to_the_service(meshes, prom_cluster, api_client, cluster_admin):
    prom_cluster(meshes["suspended"][1])
    edges = edges_of(fetch(api_client(cluster_admin), namespaces="bookinfo", graphType="workload",
                           injectServiceNodes="false"))
    e = edges[("productpage-v1", "svc:reviews", "http")]
    assert e["rates"]["http"] == pytest.approx(10, rel=0.05)
    assert e["percentErr"] == pytest.approx(100, abs=0.5)
    assert not any(t.startswith("reviews-") for (s, t, p) in edges if s == "productpage-v1")


def test_kiali_client_reads_the_compatible_endpoint(meshes, prom_cluster, viewer):
    """As a Kiali client would: Bearer token, map node ids, read traffic.rates.http etc. as strings."""
    from rest_framework.test import APIClient

    from apps.accounts.services import api_token_create

    prom_cluster(meshes["demo"][1])
    _, token = api_token_create(user=viewer, name="kiali")
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    resp = client.get("/api/namespaces/graph", {"namespaces": "bookinfo", "graphType": "workload",
                                                "duration": "60s", "cluster": "demo"})
    assert resp.status_code == 200, resp.content
    body = resp.json()
    nodes = {n["data"]["id"]: n["data"] for n in body["elements"]["nodes"]}
    by_pair = {}
    for e in body["elements"]["edges"]:
        d = e["data"]
        src, dst = nodes[d["source"]], nodes[d["target"]]
        by_pair[(src.get("workload", src["nodeType"]), dst.get("workload") or dst.get("service"))] = d
    details = by_pair[("productpage-v1", "details-v1")]
    assert float(details["traffic"]["rates"]["http"]) == pytest.approx(10, rel=0.05)
    assert float(details["traffic"]["rates"]["httpPercentErr"]) == pytest.approx(2, abs=0.5)
    assert details["isMTLS"] == "100"
    assert 5 < float(details["responseTime"]) <= 10
    ratings = by_pair[("reviews-v3", "ratings-v1")]
    assert float(ratings["traffic"]["rates"]["httpPercentErr"]) == pytest.approx(4, abs=0.5)
    # the viewer may not see istio-system: the gateway is an anonymous inaccessible node
    gateway = [d for d in nodes.values() if d.get("isInaccessible") and d["nodeType"] == "workload"]
    assert gateway and "istio-ingressgateway" not in resp.content.decode()


def test_prometheus_and_in_process_graphs_are_equal(meshes, prom_cluster, cluster_admin):
    from apps.graphs.builder import GraphOptions, build_graph
    from apps.graphs.telemetry.plan import fetch_traffic
    from apps.graphs.telemetry.prometheus import PrometheusTelemetry
    from apps.graphs.telemetry.simulator import SimulatorTelemetry

    mesh, prom = meshes["demo"]
    now = time.time() - 2
    for graph_type, inject in (("workload", False), ("app", False), ("versionedApp", True), ("service", True)):
        graphs = []
        for source in (PrometheusTelemetry(prom.url), SimulatorTelemetry(mesh)):
            traffic = fetch_traffic(source, namespaces=["bookinfo", "grpc-demo"], graph_type=graph_type,
                                    inject_service_nodes=inject, window=WINDOW, query_time=now)
            opts = GraphOptions(namespaces=("bookinfo", "grpc-demo"), graph_type=graph_type,
                                inject_service_nodes=inject)
            graphs.append(build_graph(mesh.inventory(), traffic, opts))
        via_prom, in_process = graphs
        assert set(via_prom.nodes) == set(in_process.nodes), graph_type
        assert set(via_prom.edges) == set(in_process.edges), graph_type
        for k, e in in_process.edges.items():
            p = via_prom.edges[k]
            for attr in ("total", "percent_err", "mtls_percent", "latency_quantile", "latency_avg"):
                a, b = getattr(e, attr), getattr(p, attr)
                if a is None or b is None:
                    assert a is b, (graph_type, k, attr)
                else:
                    assert b == pytest.approx(a, rel=0.05, abs=0.05), (graph_type, k, attr)
