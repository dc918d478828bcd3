"""The PromQL path against a real Prometheus, on counters with known rates.

Checks that the PromQL we render and our in-process evaluator agree (same
nodes/edges, numbers within 5%) for all four graph types, and that the
numbers are the hand-written ones.
"""
from __future__ import annotations

import time

import pytest

from apps.graphs.builder import GraphOptions, build_graph
from apps.graphs.telemetry.plan import fetch_traffic
from apps.graphs.telemetry.prometheus import PrometheusTelemetry
from apps.graphs.telemetry.simulator import SimulatorTelemetry

from .counter_exporter import start_counter_exporter
from .fakes import FakeMesh, bookinfo_inventory, bookinfo_samples
from .helpers import find_edge

WINDOW = 60


@pytest.fixture(scope="module")
def prom(prometheus_factory):
    samples = bookinfo_samples()
    server, port, t0 = start_counter_exporter(samples)
    prometheus = prometheus_factory([f"127.0.0.1:{port}"], scrape_interval="1s")
    prometheus.wait_for_targets_up()
    prometheus.wait_for_series('istio_requests_total{reporter="source"}')
    # rate() over the window needs samples across the whole window (no partial-window extrapolation)
    time.sleep(max(0.0, t0 + WINDOW + 5 - time.time()))
    yield prometheus, FakeMesh(samples)
    server.stop()


def graphs(prom, graph_type, inject):
    prometheus, mesh = prom
    out = []
    now = time.time()
    for source in (PrometheusTelemetry(prometheus.url), SimulatorTelemetry(mesh)):
        traffic = fetch_traffic(source, namespaces=["bookinfo"], graph_type=graph_type,
                                inject_service_nodes=inject, window=WINDOW, query_time=now)
        opts = GraphOptions(namespaces=("bookinfo",), graph_type=graph_type, inject_service_nodes=inject)
        out.append(build_graph(bookinfo_inventory(), traffic, opts))
    return out


def close(a, b, rel=0.05):
    if a is None or b is None:
        return a is b
    return b == pytest.approx(a, rel=rel, abs=1e-6)


@pytest.mark.parametrize("graph_type,inject", [
    ("app", False), ("versionedApp", True), ("workload", False), ("workload", True), ("service", True)])
def test_prometheus_and_in_process_graphs_agree(prom, graph_type, inject):
    from_prom, in_process = graphs(prom, graph_type, inject)
    assert set(from_prom.nodes) == set(in_process.nodes)
    assert set(from_prom.edges) == set(in_process.edges)
    for key, e in in_process.edges.items():
        p = from_prom.edges[key]
        assert close(e.total, p.total), key
        assert close(e.percent_err, p.percent_err), key
        assert close(e.mtls_percent, p.mtls_percent), key
        assert close(e.latency_quantile, p.latency_quantile), key
        assert close(e.latency_avg, p.latency_avg), key


def test_prometheus_numbers_are_the_configured_ones(prom):
    g, _ = graphs(prom, "workload", False)
    e = find_edge(g, "wl_Kubernetes_bookinfo_productpage-v1", "wl_Kubernetes_bookinfo_details-v1")
    assert e.total == pytest.approx(10, rel=0.05)
    assert e.percent_err == pytest.approx(2, abs=0.5)
    assert e.mtls_percent == pytest.approx(100, abs=5)
    assert 5 < e.latency_quantile <= 10  # p95 within the (5, 10] ms bucket


@pytest.mark.parametrize("graph_type,inject", [
    ("app", False), ("versionedApp", True), ("workload", False), ("workload", True), ("service", True)])
def test_a_window_captured_from_prometheus_rebuilds_its_graphs(prom, graph_type, inject):
    """What a snapshot stores, read from the real Prometheus with the capture queries (PromQL), gives
    the graph Prometheus's own graph queries give for the same instant, every quantile included."""
    import json

    from apps.core.stored import canonical_json
    from apps.graphs.telemetry.mesh_traffic import MeshTraffic, capture_traffic
    from apps.graphs.telemetry.stored_telemetry import StoredTelemetry

    prometheus, _ = prom
    live = PrometheusTelemetry(prometheus.url)
    now = float(int(time.time()))
    captured = capture_traffic(live, window=WINDOW, query_time=now)
    store = StoredTelemetry(MeshTraffic.from_dict(json.loads(canonical_json(captured.to_dict()))))
    for quantile in (0.5, 0.99):
        kw = dict(namespaces=["bookinfo"], graph_type=graph_type, inject_service_nodes=inject, window=WINDOW,
                  query_time=now, quantile=quantile)
        opts = GraphOptions(namespaces=("bookinfo",), graph_type=graph_type, inject_service_nodes=inject)
        from_prom = build_graph(bookinfo_inventory(), fetch_traffic(live, **kw), opts)
        from_store = build_graph(bookinfo_inventory(), fetch_traffic(store, **kw), opts)
        assert set(from_store.edges) == set(from_prom.edges) and len(from_prom.edges) >= 5
        for key, p in from_prom.edges.items():
            s = from_store.edges[key]
            for field in ("total", "percent_err", "mtls_percent", "latency_quantile", "latency_avg"):
                assert close(getattr(p, field), getattr(s, field), rel=1e-6), (key, field)


@pytest.mark.parametrize("graph_type,inject", [("workload", False), ("versionedApp", True)])
def test_a_graph_built_while_the_answers_arrive_is_the_graph_built_after_them(prom, graph_type, inject):
    """``pending``: the builder reads each kind of rows when its queries are answered (the latency
    queries still running while the request rows are placed); the graph is the same, and the rows
    carry their edge labels as the builder would work them out."""
    from apps.graphs.builder.render import to_cytoscape
    from apps.graphs.telemetry.query import ENDPOINT_LABELS

    prometheus, _ = prom
    telemetry = PrometheusTelemetry(prometheus.url)
    kw = dict(namespaces=["bookinfo"], graph_type=graph_type, inject_service_nodes=inject, window=WINDOW,
              query_time=int(time.time()) - 2, mesh_namespaces=["bookinfo"])
    opts = GraphOptions(namespaces=("bookinfo",), graph_type=graph_type, inject_service_nodes=inject)
    eager = fetch_traffic(telemetry, **kw)
    pending = fetch_traffic(telemetry, pending=True, **kw)
    assert type(pending).__name__ == "PendingTrafficData"
    assert pending.requests and all(r.edge == tuple(r.labels.get(k, "") for k in ENDPOINT_LABELS)
                                    for r in pending.requests)
    assert pending.to_dict() == eager.to_dict()
    graphs = [build_graph(bookinfo_inventory(), fetch_traffic(telemetry, pending=p, **kw), opts) for p in (False, True)]
    rendered = [to_cytoscape(g, secret="s", cluster_name="c") for g in graphs]
    assert rendered[0]["elements"]["edges"] and rendered[0] == rendered[1]
    telemetry.close()


def test_a_query_failing_while_the_graph_is_built_is_the_telemetry_error():
    from apps.graphs.telemetry.base import TelemetryError

    telemetry = PrometheusTelemetry("http://127.0.0.1:9", timeout=2)  # the discard port: refused
    pending = fetch_traffic(telemetry, pending=True, namespaces=["bookinfo"], graph_type="workload",
                            inject_service_nodes=False, window=WINDOW, query_time=time.time())
    with pytest.raises(TelemetryError, match="127.0.0.1:9"):
        build_graph(bookinfo_inventory(), pending, GraphOptions(namespaces=("bookinfo",), graph_type="workload"))
