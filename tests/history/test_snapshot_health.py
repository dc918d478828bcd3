"""A snapshot's namespace health is the health the whole window's graph gives (the graph page's roll-up),
however the window was read (rows, or columns as from Prometheus)."""
from __future__ import annotations

import time

import pytest

from apps.clusters.gateways import gateway_for
from apps.graphs.builder import GraphOptions, build_graph
from apps.graphs.builder.rollup import namespace_health
from apps.graphs.telemetry.factory import telemetry_for
from apps.graphs.telemetry.mesh_traffic import CapturedTraffic, MeshTraffic, capture_traffic
from apps.graphs.telemetry.plan import fetch_traffic
from apps.graphs.telemetry.stored_telemetry import StoredTelemetry
from apps.history import services

pytestmark = pytest.mark.django_db


def health_from_the_whole_window(cluster, inventory, traffic: MeshTraffic) -> dict[str, str]:
    """As it was computed before: the workload graph of every stored metric's rows, rolled up."""
    names = [ns.name for ns in inventory.namespaces]
    data = fetch_traffic(StoredTelemetry(traffic), namespaces=None, graph_type="workload", inject_service_nodes=False,
                         window=traffic.window, query_time=traffic.query_time)
    options = GraphOptions(namespaces=tuple(names), graph_type="workload", inject_service_nodes=False,
                           duration=traffic.window, query_time=int(traffic.query_time))
    graph = build_graph(inventory, data, options, health_tolerances=cluster.health_tolerances)
    return {ns: h.status for ns, h in namespace_health(inventory.workloads, graph, names).items()}


def in_columns(traffic: MeshTraffic) -> CapturedTraffic:
    columns = {}
    for metric, rows in traffic.series.items():
        names = traffic.labels_of(metric)
        columns[metric] = ([tuple(r.labels.get(k, "") for k in names) for r in rows], [r.value for r in rows])
    return CapturedTraffic(window=traffic.window, query_time=traffic.query_time, columns=columns)


@pytest.mark.parametrize("tolerances", [None, [{"code": "5XX", "protocol": "http", "degraded": 0.5, "failure": 1}]])
def test_snapshot_health_is_the_whole_windows_health(sim_cluster, tolerances):
    sim_cluster.health_tolerances = tolerances
    inventory = gateway_for(sim_cluster).inventory()
    t = int(time.time()) - 5
    traffic = capture_traffic(telemetry_for(sim_cluster), window=60, query_time=t,
                              mesh_namespaces=[n.name for n in inventory.namespaces])
    expected = health_from_the_whole_window(sim_cluster, inventory, traffic)
    assert expected["bookinfo"] in ("Degraded", "Failure") and "Healthy" in expected.values()
    assert services._health(sim_cluster, inventory, traffic) == expected
    assert services._health(sim_cluster, inventory, in_columns(traffic)) == expected
    _, _, health, _ = services.snapshot_parts(sim_cluster, inventory, in_columns(traffic))
    assert health == expected


def test_the_health_of_a_large_mesh_is_the_whole_windows_health(sim_cluster):
    from apps.graphs.telemetry.simulator import SimulatorTelemetry
    from apps.simulator.mesh import SimulatedMesh

    t = 1_700_000_000.0
    mesh = SimulatedMesh("large", start=t - 3600)
    inventory = mesh.inventory()
    traffic = capture_traffic(SimulatorTelemetry(mesh), window=60, query_time=t,
                              mesh_namespaces=[n.name for n in inventory.namespaces])
    expected = health_from_the_whole_window(sim_cluster, inventory, traffic)
    assert len(expected) > 40
    assert services._health(sim_cluster, inventory, in_columns(traffic)) == expected
