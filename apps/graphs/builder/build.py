"""build_graph: inventory + traffic + options -> Graph. Pure: no ORM, no HTTP."""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

from apps.clusters.inventory import Inventory

from ..telemetry.plan import TrafficData
from . import appenders as a
from . import traffic as t
from .model import Graph, GraphOptions


def build_graph(
    inventory: Inventory,
    traffic: TrafficData,
    options: GraphOptions,
    *,
    can_see: Callable[[str], bool] = lambda ns: True,
    health_tolerances: list[dict[str, Any]] | None = None,
) -> Graph:
    graph = Graph(options)
    t.add_request_rows(graph, traffic.requests)
    t.add_tcp_rows(graph, traffic.tcp_sent, traffic.tcp_received)
    t.add_security_policy(graph, traffic.mtls_http, traffic.mtls_tcp)
    t.add_latency_average(graph, traffic.lat_sum, traffic.lat_count)
    t.add_latency_quantiles(graph, traffic.lat_quantile)
    graph.endpoints.clear()  # (what follows may reshape the graph; the rows are placed)
    a.mark_service_entries(graph, inventory)
    if options.graph_type == "service":
        a.reduce_to_service_graph(graph)
    if options.idle_nodes:
        a.add_idle_nodes(graph, inventory)
    a.mark_outside_and_inaccessible(graph, can_see)
    a.mark_roots(graph)
    a.add_node_totals(graph)
    a.add_traffic_share(graph)
    a.add_health(graph, health_tolerances)
    return graph
