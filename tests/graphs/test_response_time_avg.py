"""responseTime=avg is the mean latency (rate(_sum) / rate(_count)), as in Kiali, on both graph APIs.

Expected numbers are Bookinfo's pinned latencies (docs/simulator.md, "Latencies"):
the simulator's histograms give exactly p50/p95/p99 and the mean.
"""
from __future__ import annotations

import pytest

from apps.graphs.telemetry.plan import fetch_traffic, graph_queries
from apps.graphs.telemetry.query import Quantile

from .test_api import edges_by_names

pytestmark = pytest.mark.django_db

# (source, target): (p95 ms, mean ms), workload graph without service nodes
PINNED = {
    ("unknown", "productpage-v1"): (20, 9),
    ("istio-ingressgateway", "productpage-v1"): (80, 38),
    ("productpage-v1", "details-v1"): (9, 4),
    ("productpage-v1", "reviews-v2"): (40, 17),
    ("reviews-v3", "ratings-v1"): (12, 5),
    ("productpage-v1", "httpbin.org"): (300, 150),
    ("grpc-client-v1", "grpc-server-v1"): (18, 8),
}
PARAMS = {"namespaces": "bookinfo,grpc-demo", "graphType": "workload", "injectServiceNodes": "false"}


@pytest.mark.parametrize("response_time,column", [("avg", 1), ("95", 0), (None, 0)])
def test_graph_response_time_is_the_chosen_statistic(api_client, cluster_admin, sim_cluster, response_time, column):
    params = dict(PARAMS, **({"responseTime": response_time} if response_time else {}))
    resp = api_client(cluster_admin).get("/api/clusters/demo/graph", params)
    assert resp.status_code == 200, resp.content
    edges, _ = edges_by_names(resp.json())
    for pair, expected in PINNED.items():
        assert edges[pair]["responseTime"] == pytest.approx(expected[column], abs=0.01), (pair, response_time)
        assert edges[pair]["responseTimeAvg"] == pytest.approx(expected[1], abs=0.01), pair


@pytest.mark.parametrize("response_time,column", [("avg", 1), ("95", 0)])
def test_kiali_endpoint_response_time_is_the_chosen_statistic(api_client, cluster_admin, sim_cluster,
                                                              response_time, column):
    resp = api_client(cluster_admin).get(
        "/api/namespaces/graph", dict(PARAMS, cluster="demo", responseTime=response_time))
    assert resp.status_code == 200, resp.content
    body = resp.json()
    nodes = {n["data"]["id"]: n["data"] for n in body["elements"]["nodes"]}

    def name(d):
        return d.get("workload") or d.get("service") or d["nodeType"]

    edges = {(name(nodes[e["data"]["source"]]), name(nodes[e["data"]["target"]])): e["data"]
             for e in body["elements"]["edges"]}
    for pair, expected in PINNED.items():
        assert edges[pair]["responseTime"] == f"{expected[column]:.0f}", (pair, response_time)


def test_avg_runs_no_quantile_query():
    for graph_type, inject in (("workload", False), ("versionedApp", True), ("service", True)):
        queries = graph_queries(["bookinfo"], graph_type, inject, quantile=None)
        assert not any(isinstance(q, Quantile) for q in queries.values()), graph_type
        assert "lat_sum" in queries
        with_p95 = graph_queries(["bookinfo"], graph_type, inject, quantile=0.95)
        assert any(isinstance(q, Quantile) for q in with_p95.values()), graph_type


def test_avg_sends_no_quantile_query_to_the_telemetry_source():
    """What reaches the source (Prometheus or the simulator), not just what the plan lists."""
    from apps.graphs.telemetry.simulator import SimulatorTelemetry

    from .fakes import FakeMesh, bookinfo_samples

    class Recording(SimulatorTelemetry):
        def instant(self, queries, **kw):
            self.sent.extend(queries.values())
            return super().instant(queries, **kw)

    source = Recording(FakeMesh(bookinfo_samples()))
    source.sent = []
    traffic = fetch_traffic(source, namespaces=["bookinfo"], graph_type="workload", inject_service_nodes=False,
                            window=60, query_time=0, quantile=None)
    assert source.sent and not any(isinstance(q, Quantile) for q in source.sent)
    assert traffic.lat_sum and not traffic.lat_quantile


def test_response_time_rejects_other_values(api_client, cluster_admin, sim_cluster):
    resp = api_client(cluster_admin).get("/api/clusters/demo/graph", {"responseTime": "mean"})
    assert resp.status_code == 400 and "avg" in resp.json()["detail"]
