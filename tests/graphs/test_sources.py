"""The graph selectors read a source: a stored one gives the graph the live one gave at that moment.

The simulated demo cluster (Bookinfo, helloworld, gRPC) is read live, then
"snapshotted": its inventory through Inventory.to_dict/from_dict and the
window's traffic through MeshTraffic (the form a snapshot stores). The same
selectors, given the stored source, must draw the same graph for every graph
type, with and without service nodes, for every responseTime.
"""
from __future__ import annotations

import ast
import time
from pathlib import Path

import pytest
from django.conf import settings

from apps.graphs.builder import GRAPH_TYPES
from apps.graphs.builder.render import to_cytoscape
from apps.graphs.selectors import (
    graph_for_user,
    namespace_health_for_user,
    parse_graph_params,
    series_for_user,
    workload_health_for_user,
    workload_traffic,
)
from apps.graphs.telemetry.base import TelemetryUnavailable
from apps.graphs.telemetry.mesh_traffic import TrafficWindowNotStored

from .snapshots import assert_same, graph_dict, snapshot_of

pytestmark = pytest.mark.django_db

APPS = Path(__file__).resolve().parents[2] / "apps"


@pytest.fixture
def moment(sim_cluster):
    """(live, stored) sources of the demo cluster for the window ending a few seconds ago."""
    t = int(time.time()) - 5
    live, stored = snapshot_of(sim_cluster, t)
    return t, live, stored


@pytest.mark.parametrize("graph_type", GRAPH_TYPES)
@pytest.mark.parametrize("inject", ["true", "false"])
@pytest.mark.parametrize("response_time", ["50", "95", "99", "avg"])
def test_stored_graph_equals_the_live_graph(cluster_admin, moment, graph_type, inject, response_time):
    t, live, stored = moment
    params = parse_graph_params({"graphType": graph_type, "injectServiceNodes": inject, "responseTime": response_time,
                                 "queryTime": str(t), "idleNodes": "true", "boxBy": "namespace,app"})
    from_live = graph_for_user(cluster_admin, live, params)
    from_store = graph_for_user(cluster_admin, stored, params)
    latency = "latency_avg" if response_time == "avg" else "latency_quantile"
    assert len(from_live.edges) >= 5 and any(getattr(e, latency) for e in from_live.edges.values())
    assert_same(graph_dict(from_store), graph_dict(from_live))
    assert_same(to_cytoscape(from_store, secret=settings.SECRET_KEY, cluster_name="demo"),
                to_cytoscape(from_live, secret=settings.SECRET_KEY, cluster_name="demo"))


def test_a_viewer_gets_the_same_restricted_graph_from_either_source(viewer, moment):
    t, live, stored = moment
    params = parse_graph_params({"graphType": "workload", "queryTime": str(t)})
    from_live, from_store = graph_for_user(viewer, live, params), graph_for_user(viewer, stored, params)
    assert {n.namespace for n in from_live.nodes.values() if not n.is_inaccessible} <= {"bookinfo", "unknown"}
    assert any(n.is_inaccessible for n in from_live.nodes.values())
    assert_same(graph_dict(from_store), graph_dict(from_live))


def test_health_and_workload_traffic_read_the_stored_window(cluster_admin, moment, monkeypatch):
    t, live, stored = moment
    # the live source reads "the last minute": make its clock say the snapshot's moment
    monkeypatch.setattr("apps.graphs.sources.time.time", lambda: float(t))
    names = ["bookinfo", "grpc-demo", "helloworld"]
    assert_same(namespace_health_for_user(cluster_admin, stored, names),
                namespace_health_for_user(cluster_admin, live, names))
    workloads = live.inventory().workloads
    health, error = workload_health_for_user(cluster_admin, stored, workloads)
    assert error == "" and health[("bookinfo", "details-v1")].status == "Degraded"  # its 2% 503s
    assert_same(health, workload_health_for_user(cluster_admin, live, workloads)[0])
    traffic = workload_traffic(cluster_admin, stored, "bookinfo", "reviews-v2")
    assert traffic["inbound"] and traffic["outbound"]
    assert_same(traffic, workload_traffic(cluster_admin, live, "bookinfo", "reviews-v2"))


def test_a_stored_source_answers_only_its_window(cluster_admin, moment):
    t, _, stored = moment
    with pytest.raises(TrafficWindowNotStored, match=f"ask for duration=60s and queryTime={t}"):
        graph_for_user(cluster_admin, stored, parse_graph_params({"queryTime": str(t - 600)}))
    with pytest.raises(TelemetryUnavailable, match="one window"):
        series_for_user(cluster_admin, stored, {"namespace": "bookinfo", "workload": "details-v1",
                                                "queryTime": str(t)})


def test_a_stored_source_says_which_snapshot_it_is(moment):
    t, live, stored = moment
    assert (live.kind, live.at, live.describe()) == ("live", None, "live")
    assert (stored.kind, stored.at, stored.label) == ("snapshot", float(t), "snapshot #1")
    assert stored.describe(t + 180).endswith(", 3 min before the requested time")
    assert stored.describe(t).endswith(", at the requested time")
    assert stored.describe(t).startswith(f"snapshot #1 taken {time.strftime('%H:%M:%S', time.gmtime(t))} UTC")


# -- selectors never reach for the cluster themselves --------------------------------------------

FORBIDDEN = {"gateway", "gateway_for", "telemetry_for"}
SELECTOR_MODULES = sorted(APPS.glob("*/selectors.py")) + [APPS / "meshconfig" / "meshview.py",
                                                           APPS / "inventory" / "overview.py"]


def reaches_for_the_cluster(path: Path) -> list[str]:
    """Calls of cluster.gateway(), gateway_for() or telemetry_for(), and imports of those names."""
    found = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Call):
            func = node.func
            name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
            if name in FORBIDDEN:
                found.append(f"line {node.lineno}: calls {name}()")
        elif isinstance(node, ast.ImportFrom):
            found += [f"line {node.lineno}: imports {a.name}" for a in node.names if a.name in FORBIDDEN | {"factory"}]
    return found


def test_the_static_check_sees_a_call(tmp_path):
    sample = tmp_path / "selectors.py"
    sample.write_text("from x import telemetry_for\n\ndef f(cluster):\n    return cluster.gateway().inventory()\n")
    assert reaches_for_the_cluster(sample) == ["line 1: imports telemetry_for", "line 4: calls gateway()"]


@pytest.mark.parametrize("path", SELECTOR_MODULES, ids=lambda p: str(p.relative_to(APPS)))
def test_no_selector_reaches_for_a_gateway_or_telemetry(path):
    assert reaches_for_the_cluster(path) == []
