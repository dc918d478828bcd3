"""The traffic of a window, stored: TrafficData and MeshTraffic to_dict/from_dict, and StoredTelemetry.

MeshTraffic is what a snapshot keeps; every graph type and option must be
rebuilt from it with the numbers the live graph had (see
apps/graphs/telemetry/mesh_traffic.py for why that holds).
"""
from __future__ import annotations

import json
import math

import pytest

from apps.core.stored import FormatError, canonical_json
from apps.graphs.builder import GRAPH_TYPES
from apps.graphs.telemetry.base import TelemetryUnavailable
from apps.graphs.telemetry.mesh_traffic import (
    BUCKETS,
    MESH_TRAFFIC_FORMAT,
    STORED_METRICS,
    MeshTraffic,
    TrafficWindowNotStored,
    capture_queries,
    capture_traffic,
)
from apps.graphs.telemetry.plan import TrafficData, fetch_traffic
from apps.graphs.telemetry.query import RateSum, Row, sel
from apps.graphs.telemetry.simulator import SimulatorTelemetry
from apps.graphs.telemetry.stored_telemetry import StoredTelemetry

from .fakes import DET, GW, PP, FakeMesh, bookinfo_samples, edge

T = 1_700_000_000


def rows_by_labels(rows: list[Row]) -> dict[tuple, float]:
    return {tuple(sorted(r.labels.items())): r.value for r in rows}


def same_rows(a: list[Row], b: list[Row]) -> bool:
    ka, kb = rows_by_labels(a), rows_by_labels(b)
    return ka.keys() == kb.keys() and all(
        (math.isnan(ka[k]) and math.isnan(kb[k])) or ka[k] == pytest.approx(kb[k], rel=1e-12) for k in ka)


def same_traffic(a: TrafficData, b: TrafficData) -> bool:
    plain = ("requests", "tcp_sent", "tcp_received", "mtls_http", "mtls_tcp", "lat_sum", "lat_count")
    return (all(same_rows(getattr(a, f), getattr(b, f)) for f in plain)
            and a.lat_quantile.keys() == b.lat_quantile.keys()
            and all(same_rows(a.lat_quantile[k], b.lat_quantile[k]) for k in a.lat_quantile)
            and a.quantile == b.quantile)


@pytest.fixture
def bookinfo():
    return SimulatorTelemetry(FakeMesh(bookinfo_samples()))


def stored(traffic: MeshTraffic) -> MeshTraffic:
    return MeshTraffic.from_dict(json.loads(canonical_json(traffic.to_dict())))


# -- TrafficData -------------------------------------------------------------

def test_traffic_data_round_trips_canonically(bookinfo):
    data = fetch_traffic(bookinfo, namespaces=["bookinfo"], graph_type="versionedApp", inject_service_nodes=True,
                         window=60, query_time=T, quantile=0.99)
    data.lat_quantile["edge"] = [Row({"source_workload": "a"}, math.nan), Row({"source_workload": "b"}, math.inf)]
    restored = TrafficData.from_dict(json.loads(canonical_json(data.to_dict())))
    assert same_traffic(restored, data) and restored.quantile == 0.99
    assert restored.requests and restored.lat_quantile["in"] and restored.lat_quantile["out"]
    reordered = TrafficData(**{**data.__dict__, "requests": list(reversed(data.requests))})
    assert canonical_json(reordered.to_dict()) == canonical_json(data.to_dict())


def test_traffic_data_refuses_other_versions_and_tolerates_missing_parts():
    with pytest.raises(FormatError, match="version 7"):
        TrafficData.from_dict({"format": "meshdeck.traffic-data", "version": 7})
    partial = TrafficData.from_dict({"format": "meshdeck.traffic-data", "version": 1,
                                     "requests": [[{"source_workload": "a"}, 1.5]]})
    assert partial.requests == [Row({"source_workload": "a"}, 1.5)]
    assert partial.lat_sum == [] and partial.quantile == 0.95
    with pytest.raises(FormatError, match=r"traffic.requests\[0\]: expected \[labels, value\]"):
        TrafficData.from_dict({"format": "meshdeck.traffic-data", "version": 1, "requests": [[1.5]]})


# -- MeshTraffic ---------------------------------------------------------------

def test_mesh_traffic_round_trips_with_an_edge_table(bookinfo):
    captured = capture_traffic(bookinfo, window=60, query_time=T)
    assert set(captured.series) == set(STORED_METRICS) and all(captured.series.values())
    data = captured.to_dict()
    assert data["format"] == MESH_TRAFFIC_FORMAT and data["edges"] == sorted(data["edges"])
    # one histogram row per edge, its rates aligned with the bounds
    buckets = data["metrics"][BUCKETS]
    assert buckets["bounds"][0] == "0.5" and buckets["bounds"][-1] == "+Inf"
    assert all(len(rates) == len(buckets["bounds"]) for _, rates in buckets["rows"])
    restored = stored(captured)
    assert (restored.window, restored.query_time) == (60, T)
    assert all(same_rows(restored.series[m], captured.series[m]) for m in STORED_METRICS)
    assert canonical_json(restored.to_dict()) == canonical_json(data)
    shuffled = MeshTraffic(60, float(T), {m: list(reversed(rows)) for m, rows in captured.series.items()})
    assert canonical_json(shuffled.to_dict()) == canonical_json(data)


@pytest.mark.parametrize("patch,message", [
    ({"version": 2}, "version 2, which this version of Meshdeck cannot read"),
    ({"edges": [["x"]]}, r"mesh traffic.edges\[0\]: expected 12 label values"),
    ({"metrics": {"istio_other_total": {"labels": [], "rows": []}}}, "not a metric this version stores"),
    ({"metrics": {"istio_requests_total": {"labels": ["response_code"], "rows": []}}},
     r"metrics.istio_requests_total.labels: expected \['request_protocol'"),
    ({"metrics": {"istio_request_duration_milliseconds_sum": {"labels": [], "rows": [[5000, 1.0]]}}},
     r"rows\[0\]: edge index 5000 is not in the edge table"),
    ({"metrics": {"istio_request_duration_milliseconds_sum": {"labels": [], "rows": [[0, "fast"]]}}},
     r"rows\[0\]: expected a number, got 'fast'"),
])
def test_mesh_traffic_refuses_bad_data_naming_it(bookinfo, patch, message):
    data = capture_traffic(bookinfo, window=60, query_time=T).to_dict()
    with pytest.raises(FormatError, match=message):
        MeshTraffic.from_dict({**data, **patch})


def test_sharded_capture_stores_the_same_rows():
    """A big mesh is captured in namespace shards (Prometheus answers smaller queries faster): same rows."""
    namespaces = [f"ns{i:02d}" for i in range(14)]
    samples = []
    for i, ns in enumerate(namespaces):
        nxt = namespaces[(i + 1) % len(namespaces)]
        samples += edge((ns, "a-v1", "a", "v1"), (nxt, "b-v1", "b", "v1"), (nxt, "b"), 1 + i, latency_ms=3 * i + 1,
                        codes=(("200", 0.9), ("503", 0.1)))
    source = SimulatorTelemetry(FakeMesh(samples))
    assert len(capture_queries(namespaces)) > len(STORED_METRICS)  # it did shard
    whole = capture_traffic(source, window=60, query_time=T)
    sharded = capture_traffic(source, window=60, query_time=T, mesh_namespaces=namespaces)
    assert canonical_json(sharded.to_dict()) == canonical_json(whole.to_dict())


@pytest.mark.parametrize("graph_type", GRAPH_TYPES)
@pytest.mark.parametrize("inject", [False, True])
@pytest.mark.parametrize("quantile", [0.5, 0.95, 0.99])
@pytest.mark.parametrize("namespaces", [None, ["bookinfo"], ["istio-system"]])
def test_every_graph_query_is_answered_from_the_stored_window_as_live(bookinfo, graph_type, inject, quantile,
                                                                      namespaces):
    store = StoredTelemetry(stored(capture_traffic(bookinfo, window=60, query_time=T)))
    kw = dict(namespaces=namespaces, graph_type=graph_type, inject_service_nodes=inject, window=60, query_time=T,
              quantile=quantile)
    live, from_store = fetch_traffic(bookinfo, **kw), fetch_traffic(store, **kw)
    assert live.requests and live.lat_quantile
    assert same_traffic(from_store, live)


def test_the_stored_histograms_give_prometheus_quantiles_of_merged_edges():
    """A service-graph edge merges two source workloads with different latencies: the quantile of the
    merged histogram, not of either edge (which is why buckets are stored, not quantiles)."""
    samples = (edge(PP, DET, ("bookinfo", "details"), 9, latency_ms=8)
               + edge(GW, DET, ("bookinfo", "details"), 1, latency_ms=400))
    source = SimulatorTelemetry(FakeMesh(samples))
    store = StoredTelemetry(stored(capture_traffic(source, window=60, query_time=T)))
    rows = {}
    for q in (0.5, 0.95):
        traffic = fetch_traffic(store, namespaces=None, graph_type="app", inject_service_nodes=True, window=60,
                                query_time=T, quantile=q)
        rows[q] = {r.labels["destination_canonical_service"]: r.value for r in traffic.lat_quantile["out"]}
    # 90% of the requests take 8 ms (bucket 5-10), 10% take 400 ms (bucket 250-500)
    assert rows[0.5]["details"] == pytest.approx(5 + 5 * (0.5 * 10 / 9))
    assert rows[0.95]["details"] == pytest.approx(250 + 250 * 0.5)


def test_another_window_or_an_unkept_label_is_refused(bookinfo):
    store = StoredTelemetry(capture_traffic(bookinfo, window=60, query_time=T))
    with pytest.raises(TrafficWindowNotStored, match=f"60 s window ending at unix time {T}; ask for duration=60s"):
        fetch_traffic(store, namespaces=None, graph_type="app", inject_service_nodes=False, window=300, query_time=T)
    with pytest.raises(TrafficWindowNotStored) as info:
        fetch_traffic(store, namespaces=None, graph_type="app", inject_service_nodes=False, window=60,
                      query_time=T - 60)
    assert info.value.http_status == 409 and info.value.code == "window_not_stored"
    by_pod = RateSum((sel("istio_requests_total", ("reporter", "=", "source")),), ("pod",))
    with pytest.raises(TelemetryUnavailable, match="does not keep the pod label of istio_requests_total"):
        store.instant({"per_pod": by_pod}, window=60, query_time=T)
    with pytest.raises(TelemetryUnavailable, match="one window, not a series over time"):
        store.range({}, window=60, start=T - 60, end=T, step=1)
