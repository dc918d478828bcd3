"""Small appenders, each a pure function over a Graph (Kiali's pipeline, kept small)."""
from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable

from apps.clusters.inventory import Inventory
from apps.clusters.tolerances import compile_tolerances

from . import health as h
from .model import UNKNOWN, Edge, Graph, new_node, node_identity


def mark_service_entries(graph: Graph, inventory: Inventory) -> None:
    """Service nodes whose host a ServiceEntry declares become service-entry (external) nodes."""
    hosts: dict[str, dict] = {}
    for obj in inventory.istio_objects:
        if obj.kind != "ServiceEntry":
            continue
        info = {
            "hosts": list(obj.spec.get("hosts") or []),
            "location": obj.spec.get("location", "MESH_EXTERNAL"),
            "namespace": obj.namespace,
        }
        for host in info["hosts"]:
            hosts[host] = info
    for node in graph.nodes.values():
        if node.node_type == "service" and node.service in hosts:
            node.is_service_entry = hosts[node.service]


def reduce_to_service_graph(graph: Graph) -> None:
    """Kiali's ReduceToServiceGraph: keep service nodes (and non-service roots), join svc->wl->svc into svc->svc."""
    dests = {e.dest for e in graph.edges.values()}
    by_source: dict[str, list[Edge]] = defaultdict(list)
    for e in graph.edges.values():
        by_source[e.source].append(e)
    kept: dict[tuple[str, str, str], Edge] = {}
    for node in graph.nodes.values():
        if node.node_type != "service":
            if node.id not in dests:  # a root: keep its edges to services
                for e in by_source[node.id]:
                    if graph.nodes[e.dest].node_type == "service":
                        kept[e.key] = e
            continue
        for to_workload in by_source[node.id]:
            for e in by_source[to_workload.dest]:
                if graph.nodes[e.dest].node_type != "service":
                    continue
                key = (node.id, e.dest, e.protocol)
                if key not in kept:
                    kept[key] = Edge(node.id, e.dest, e.protocol)
                _merge_edge(kept[key], e)
    graph.edges = kept
    used = {e.source for e in kept.values()} | {e.dest for e in kept.values()}
    graph.nodes = {i: n for i, n in graph.nodes.items() if n.node_type == "service" or i in used}


def _merge_edge(into: Edge, e: Edge) -> None:
    for k, v in e.rates.items():
        into.rates[k] = into.rates.get(k, 0.0) + v
    for code, detail in e.responses.items():
        d = into.responses.setdefault(code, {"flags": {}, "hosts": {}})
        for part in ("flags", "hosts"):
            for k, v in detail[part].items():
                d[part][k] = d[part].get(k, 0.0) + v
    for code, v in e.code_rates.items():
        into.code_rates[code] = into.code_rates.get(code, 0.0) + v
    into.mtls_rate += e.mtls_rate
    into.policy_rate += e.policy_rate
    into.latency_sum += e.latency_sum
    into.latency_count += e.latency_count
    # quantiles cannot be merged; keep the worst one (an upper bound)
    if e.latency_quantile is not None and (into.latency_quantile is None or e.latency_quantile > into.latency_quantile):
        into.latency_quantile = e.latency_quantile


def add_idle_nodes(graph: Graph, inventory: Inventory) -> None:
    """Inventory workloads (and services, where the graph shows services) with no traffic."""
    opts = graph.options
    wanted = set(opts.namespaces)
    for wl in inventory.workloads:
        if wl.namespace not in wanted:
            continue
        if opts.graph_type == "service":
            continue
        app, version = wl.app, wl.version
        node_id, node_type = node_identity(opts.cluster, wl.namespace, "", wl.namespace, wl.name, app or UNKNOWN,
                                           version or UNKNOWN, opts.graph_type)
        if node_id not in graph.nodes:
            node = new_node(node_id, node_type, opts.cluster, wl.namespace, "", wl.namespace, wl.name,
                            app or UNKNOWN, version or UNKNOWN, opts.graph_type)
            node.is_idle = True
            graph.nodes[node_id] = node
    if opts.inject_service_nodes or opts.graph_type == "service":
        for svc in inventory.services:
            if svc.namespace not in wanted:
                continue
            node_id, _ = node_identity(opts.cluster, svc.namespace, svc.name, "", "", "", "", opts.graph_type)
            if node_id not in graph.nodes:
                node = new_node(node_id, "service", opts.cluster, svc.namespace, svc.name, "", "", "", "",
                                opts.graph_type)
                node.is_idle = True
                node.dest_services.add((svc.namespace, svc.name))
                graph.nodes[node_id] = node


def mark_outside_and_inaccessible(graph: Graph, can_see: Callable[[str], bool]) -> None:
    """Outside: not in the requested namespaces. Inaccessible: in a namespace the user may not see."""
    requested = set(graph.options.namespaces)
    for node in graph.nodes.values():
        if node.node_type == "unknown":
            node.is_inaccessible = True
            continue
        if node.namespace == UNKNOWN or node.namespace in requested:
            continue
        node.is_outside = True
        if not node.is_service_entry and not can_see(node.namespace):
            node.is_inaccessible = True


def mark_roots(graph: Graph) -> None:
    dests = {e.dest for e in graph.edges.values()}
    sources = {e.source for e in graph.edges.values()}
    for node_id in sources - dests:
        graph.nodes[node_id].is_root = True


def add_node_totals(graph: Graph) -> None:
    """Per-node inbound/outbound totals per protocol (httpIn, httpOut, httpIn5xx, grpcInErr, tcpIn, ...)."""
    for node in graph.nodes.values():
        node.traffic = {}
    for e in graph.edges.values():
        src, dst = graph.nodes[e.source].traffic, graph.nodes[e.dest].traffic
        p, total = e.protocol, e.total
        if total <= 0:
            continue
        src[p + "Out"] = src.get(p + "Out", 0.0) + total
        dst[p + "In"] = dst.get(p + "In", 0.0) + total
        for rate, node_rate in (("http3xx", "httpIn3xx"), ("http4xx", "httpIn4xx"), ("http5xx", "httpIn5xx"),
                                ("httpNoResponse", "httpInNoResponse"), ("grpcErr", "grpcInErr")):
            if e.rates.get(rate):
                dst[node_rate] = dst.get(node_rate, 0.0) + e.rates[rate]


def add_traffic_share(graph: Graph) -> None:
    """Each edge's share (%) of its source's outgoing traffic of the same protocol."""
    for e in graph.edges.values():
        out = graph.nodes[e.source].traffic.get(e.protocol + "Out", 0.0)
        e.percent_req = e.total / out * 100.0 if out > 0 and e.total > 0 else None


def _codes(edges: list[Edge]) -> dict[str, dict[str, float]]:
    by_protocol: dict[str, dict[str, float]] = {}
    for e in edges:
        if e.protocol == "tcp":
            continue
        codes = by_protocol.setdefault(e.protocol, {})
        for code, rate in e.code_rates.items():
            codes[code] = codes.get(code, 0.0) + rate
    return by_protocol


def add_health(graph: Graph, tolerance_config=None) -> None:
    judge = h.RequestJudge(compile_tolerances(tolerance_config))  # Kiali's defaults if the value is unusable
    inbound: dict[str, list[Edge]] = defaultdict(list)
    outbound: dict[str, list[Edge]] = defaultdict(list)
    for e in graph.edges.values():
        # (an edge's own codes are its one protocol's: _codes([e]) would be a copy of them)
        e.health_status = judge.status({e.protocol: e.code_rates}, "outbound") if e.protocol != "tcp" else h.NA
        inbound[e.dest].append(e)
        outbound[e.source].append(e)
    for node in graph.nodes.values():
        if node.node_type in ("unknown", "box") or node.is_inaccessible:
            node.health = None
            continue
        codes_in = _codes(inbound[node.id])
        codes_out = _codes(outbound[node.id]) if node.node_type != "service" else {}
        status_in = judge.status(codes_in, "inbound")
        status_out = judge.status(codes_out, "outbound")
        node.health = {
            "status": h.worst(status_in, status_out),
            "requests": {"inbound": codes_in, "outbound": codes_out},
        }
