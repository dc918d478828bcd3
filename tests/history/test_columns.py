"""A snapshot's window read in columns answers every graph query exactly as its rows do.

``ColumnarTraffic`` (the layout of a shape, prepared once, plus one window's
rates) is what the history app reads back; ``StoredTelemetry`` answers from it
by plans worked out once per (layout, query). These tests hold it to the
row-by-row answers of the same window, bit for bit, for every graph type.
"""
from __future__ import annotations

import struct
import time

import pytest

from apps.core.stored import FormatError
from apps.graphs.builder import GRAPH_TYPES
from apps.graphs.telemetry.columns import ColumnarTraffic, TrafficLayout
from apps.graphs.telemetry.factory import telemetry_for
from apps.graphs.telemetry.mesh_traffic import EDGE_KEY, MeshTraffic, capture_traffic
from apps.graphs.telemetry.plan import TrafficData, fetch_traffic
from apps.graphs.telemetry.query import Row
from apps.graphs.telemetry.stored_telemetry import StoredTelemetry
from apps.history import codec, store


def _bits(x: float) -> bytes:
    return struct.pack("<d", x)


def _exact(rows: list[Row]) -> list[tuple]:
    return [(tuple(sorted(r.labels.items())), _bits(r.value)) for r in rows]


def _answers(data: TrafficData) -> dict[str, list[tuple]]:
    out = {f: _exact(getattr(data, f)) for f in
           ("requests", "tcp_sent", "tcp_received", "mtls_http", "mtls_tcp", "lat_sum", "lat_count")}
    out.update({f"q:{k}": _exact(v) for k, v in data.lat_quantile.items()})
    return out


@pytest.fixture
def window(sim_cluster):
    t = int(time.time()) - 5
    traffic = capture_traffic(telemetry_for(sim_cluster), window=60, query_time=t)
    shape, values = codec.split_traffic(traffic)
    layout = TrafficLayout(codec.unpack_json(codec.pack_json(shape).data))
    return t, layout, values


@pytest.mark.django_db
@pytest.mark.parametrize("graph_type", GRAPH_TYPES)
@pytest.mark.parametrize("inject", [True, False])
@pytest.mark.parametrize("quantile", [0.95, None])
def test_columns_answer_every_graph_query_as_the_rows_do_bit_for_bit(window, graph_type, inject, quantile):
    t, layout, values = window
    columns = ColumnarTraffic(layout, values, window=60, query_time=t)
    rows = MeshTraffic(window=60, query_time=t, series=layout.series(values))
    for namespaces in (None, ["bookinfo"]):
        plan = dict(namespaces=namespaces, graph_type=graph_type, inject_service_nodes=inject, window=60,
                    query_time=t, quantile=quantile)
        want = _answers(fetch_traffic(StoredTelemetry(rows), **plan))
        assert any(want.values())
        for _ in range(2):  # planned, then from the plan
            assert _answers(fetch_traffic(StoredTelemetry(columns), **plan)) == want


@pytest.mark.django_db
def test_windows_of_one_shape_average_rate_by_rate_as_rows_do(window):
    t, layout, values = window
    other = [v * 3.0 + 0.1 for v in values]
    a, b = (ColumnarTraffic(layout, v, window=60, query_time=q) for v, q in ((values, t), (other, t - 60)))
    merged = store.merge_windows([a, b], window=120, query_time=t)
    assert isinstance(merged, ColumnarTraffic)
    by_rows = store.merge_windows([MeshTraffic(window=60, query_time=t, series=layout.series(v))
                                   for v in (values, other)], window=120, query_time=t)
    assert {m: _exact(r) for m, r in merged.series.items()} == {m: _exact(r) for m, r in by_rows.series.items()}


@pytest.mark.django_db
def test_rates_that_do_not_fit_the_shape_are_refused(window):
    t, layout, values = window
    with pytest.raises(FormatError, match="fewer rates"):
        ColumnarTraffic(layout, values[:-1], window=60, query_time=t)
    with pytest.raises(FormatError, match="more rates"):
        ColumnarTraffic(layout, [*values, 1.0], window=60, query_time=t)
    with pytest.raises(FormatError, match="malformed"):
        TrafficLayout({"format": "meshdeck.traffic-shape", "version": 1, "edge_labels": list(EDGE_KEY),
                       "edges": [], "metrics": {"istio_requests_total": {"labels": ["request_protocol",
                       "response_code", "grpc_response_status", "response_flags", "connection_security_policy"],
                       "keys": [[7, "http", "200", "", "-", "mutual_tls"]]}}})


@pytest.mark.django_db
def test_a_diff_compared_again_is_the_same_and_a_viewer_still_sees_only_their_namespaces(
        api_client, cluster_admin, viewer, take):
    from apps.history.selectors import _graph

    t = time.time()
    take(at=t - 120)
    b = take(at=t - 60)
    query = {"from": f"{t - 120:.0f}", "to": f"{t - 60:.0f}", "threshold": "0"}
    admin = api_client(cluster_admin)
    first = admin.get("/api/clusters/demo/diff", query).json()
    assert admin.get("/api/clusters/demo/diff", query).json() == first
    # the graphs compared are kept, but per what the reader may see: the admin's are not the viewer's
    mine = _graph(cluster_admin, b, None, "workload", t)
    assert _graph(cluster_admin, b, None, "workload", t) is mine
    theirs = _graph(viewer, b, None, "workload", t)
    visible = {n.namespace for n in mine.nodes.values() if not n.is_inaccessible}
    assert visible - {"bookinfo", "unknown"}
    assert {n.namespace for n in theirs.nodes.values() if not n.is_inaccessible} <= {"bookinfo", "unknown"}
    assert api_client(viewer).get("/api/clusters/demo/diff", query).json()["namespaces"] == ["bookinfo"]


@pytest.mark.django_db
def test_the_latest_graph_asked_again_is_the_same_graph_with_the_snapshots_age_now(api_client, cluster_admin, take):
    client = api_client(cluster_admin)
    snap = take(at=time.time() - 2)
    first = client.get("/api/clusters/demo/graph", {"graphType": "workload"})
    time.sleep(0.05)
    again = client.get("/api/clusters/demo/graph", {"graphType": "workload"})
    assert first.status_code == again.status_code == 200
    assert again["Content-Type"] == "application/json"
    a, b = first.json(), again.json()
    assert b["source"]["snapshot"]["id"] == a["source"]["snapshot"]["id"] == snap.pk
    assert b["source"]["snapshot"]["age_seconds"] > a["source"]["snapshot"]["age_seconds"]
    assert list(b) == list(a) and list(b)[-1] == "source"
    assert {k: v for k, v in b.items() if k != "source"} == {k: v for k, v in a.items() if k != "source"}
    assert a["elements"]["nodes"] and a["elements"]["edges"]


@pytest.mark.django_db
def test_a_layout_keeps_a_bounded_number_of_plans_and_answers_the_same_after_dropping_one(window, monkeypatch):
    from apps.graphs.telemetry import columns as columns_module

    monkeypatch.setattr(columns_module, "MAX_PLANS", 3)
    t, layout, values = window
    columns = ColumnarTraffic(layout, values, window=60, query_time=t)
    plan = dict(namespaces=None, graph_type="workload", inject_service_nodes=False, window=60, query_time=t)
    first = _answers(fetch_traffic(StoredTelemetry(columns), **plan))
    assert len(layout._plans) == 3
    for graph_type in ("app", "service", "versionedApp"):
        fetch_traffic(StoredTelemetry(columns), **{**plan, "graph_type": graph_type})
        assert len(layout._plans) <= 3
    assert _answers(fetch_traffic(StoredTelemetry(columns), **plan)) == first


@pytest.mark.django_db
def test_a_diff_builds_only_the_topology_queries_and_finds_what_full_graphs_find(sim_cluster, cluster_admin, take):
    """The diff's graphs skip latency and mTLS (they create no node or edge, and the diff shows neither):
    its nodes, edges, rates, error % and health are those of the whole graphs."""
    from apps.graphs.selectors import TOPOLOGY_QUERIES, GraphParams, graph_for_user
    from apps.history.diff import DiffOptions, graph_diff
    from apps.history.sources import graph_source_for
    from tests.support.istio import abort

    t = time.time()
    a = take(at=t - 1)
    sim_cluster.gateway().apply_istio_object(abort("ratings", 50))  # errors and health move between them
    b = take(at=t + 65)  # (the simulator's traffic of the next minute: the window after the fault)
    graphs = {}
    for snap in (a, b):
        source = graph_source_for([snap], snap.taken_at.timestamp(), snap.window)
        params = GraphParams(namespaces=None, graph_type="workload", duration=snap.window,
                             query_time=int(snap.taken_at.timestamp()), inject_service_nodes=False, box_by=(),
                             idle_nodes=False)
        full = graph_for_user(cluster_admin, source, params)
        topology = graph_for_user(cluster_admin, source, params, queries=TOPOLOGY_QUERIES)
        assert topology.nodes.keys() == full.nodes.keys() and topology.edges.keys() == full.edges.keys()
        for key, edge in full.edges.items():
            other = topology.edges[key]
            assert (other.total, other.percent_err, other.health_status) == \
                (edge.total, edge.percent_err, edge.health_status)
        assert any(e.latency_quantile for e in full.edges.values())  # (what the topology graphs leave out)
        assert not any(e.latency_quantile or e.policy_rate for e in topology.edges.values())
        graphs[snap.pk] = (full, topology)
    for threshold in (0.0, 10.0):
        want = graph_diff(graphs[a.pk][0], graphs[b.pk][0], DiffOptions(threshold))
        assert want["health"] and want["edges"]["changed"]
        assert graph_diff(graphs[a.pk][1], graphs[b.pk][1], DiffOptions(threshold)) == want
