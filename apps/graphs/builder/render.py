"""Graph -> JSON: Meshdeck's Cytoscape elements, and Kiali's wire format (rates as strings).

Node ids are opaque hashes (as in Kiali). A node the user may not see gets an
HMAC id (keyed by the server secret) and no names, so neither its fields nor
its id give away what lives in that namespace.
"""
from __future__ import annotations

import hashlib
import hmac
from functools import lru_cache
from typing import Any

from .model import UNKNOWN, Edge, Graph, Node

NODE_RATE_PRECISION = 2


def _hash(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


def public_node_id(node_id: str) -> str:
    """The id the graph API gives a visible node (pages link to the graph focused on one)."""
    return _hash(node_id)


def anonymous_id(node: Node, secret: str) -> str | None:
    """An inaccessible node's id as every answer gives it (an HMAC: no names in it), or None for a
    node that may be named."""
    if not _anonymous(node):
        return None
    return hmac.new(secret.encode(), node.id.encode(), hashlib.sha256).hexdigest()


def public_ids(graph: Graph, secret: str) -> dict[str, str]:
    return {node.id: anonymous_id(node, secret) or public_node_id(node.id) for node in graph.nodes.values()}


def _anonymous(node: Node) -> bool:
    return node.is_inaccessible and node.node_type != "unknown"


def _node_fields(node: Node, pid: str) -> dict[str, Any]:
    if _anonymous(node):
        return {"id": pid, "nodeType": node.node_type, "cluster": node.cluster, "namespace": "",
                "isInaccessible": True, "isOutside": True}
    data: dict[str, Any] = {"id": pid, "nodeType": node.node_type, "cluster": node.cluster, "namespace": node.namespace}
    for key in ("workload", "app", "version", "service"):
        if getattr(node, key):
            data[key] = getattr(node, key)
    if node.dest_services:
        data["destServices"] = [
            {"cluster": node.cluster, "namespace": ns, "name": name} for ns, name in sorted(node.dest_services)
        ]
    for flag, key in (("is_idle", "isIdle"), ("is_outside", "isOutside"), ("is_root", "isRoot"),
                      ("is_inaccessible", "isInaccessible")):
        if getattr(node, flag):
            data[key] = True
    if node.is_service_entry:
        data["isServiceEntry"] = node.is_service_entry
    return data


def _boxes(graph: Graph, nodes: list[dict[str, Any]], app_box: bool) -> list[dict[str, Any]]:
    """Compound parent nodes, inner boxes first (Kiali's boxByApp/Namespace/Cluster rules)."""
    box_by = set(graph.options.box_by)
    added: list[dict[str, Any]] = []

    def group(key_fn, kind: str, min_groups: int) -> None:
        members: dict[str, list[dict[str, Any]]] = {}
        for data in nodes + added:
            if data.get("isInaccessible") and data["nodeType"] != "unknown" or data.get("isBox") == kind:
                continue
            key = key_fn(data)
            if key:
                members.setdefault(key, []).append(data)
        if len(members) < min_groups:
            return
        for key, group_members in sorted(members.items()):
            if len(group_members) < 2:
                continue
            first = group_members[0]
            box = {"id": _hash(key), "nodeType": "box", "cluster": first["cluster"], "isBox": kind,
                   "namespace": first["namespace"] if kind in ("namespace", "app") else ""}
            if kind == "app":
                box["app"] = first.get("app", "")
            for m in group_members:
                m["parent"] = box["id"]
            added.append(box)

    if app_box or "app" in box_by:
        group(lambda d: not d.get("parent") and d.get("app") not in (None, "", UNKNOWN)
              and f"box_{d['cluster']}_{d['namespace']}_{d['app']}", "app", 1)
    if "namespace" in box_by:
        group(lambda d: not d.get("parent") and d["namespace"] not in ("", UNKNOWN)
              and f"box_{d['cluster']}_{d['namespace']}", "namespace", 2)
    if "cluster" in box_by:
        group(lambda d: not d.get("parent") and d["cluster"] != UNKNOWN and f"box_{d['cluster']}", "cluster", 2)
    return added


_BOX_RANK = {"cluster": 0, "namespace": 1, "app": 2}


def _sort_nodes(nodes: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return sorted(nodes, key=lambda d: (
        _BOX_RANK.get(d.get("isBox", ""), 3), d["cluster"], d["namespace"], d.get("app", ""), d.get("version", ""),
        d.get("service", ""), d.get("workload", ""), d["id"]))


def _round(v: float | None, digits: int = 3) -> float | None:
    return None if v is None else round(v, digits)


# -- Meshdeck's format -------------------------------------------------------
def to_cytoscape(graph: Graph, *, secret: str, cluster_name: str) -> dict[str, Any]:
    opts = graph.options
    ids = public_ids(graph, secret)
    nodes = []
    for node in graph.nodes.values():
        data = _node_fields(node, ids[node.id])
        if not _anonymous(node):
            data["traffic"] = {k: _round(v) for k, v in sorted(node.traffic.items())}
            if node.health is not None:
                data["health"] = node.health
                data["healthStatus"] = node.health["status"]
        nodes.append(data)
    nodes += _boxes(graph, nodes, app_box=opts.graph_type in ("app", "versionedApp"))
    edges = [_edge_data(graph, e, ids) for e in graph.edges.values()]
    edges.sort(key=lambda d: (d["source"], d["target"], d["protocol"]))
    return {
        "cluster": cluster_name,
        "timestamp": opts.query_time,
        "duration": opts.duration,
        "graphType": opts.graph_type,
        "namespaces": list(opts.namespaces),
        "elements": {"nodes": [{"data": d} for d in _sort_nodes(nodes)], "edges": [{"data": d} for d in edges]},
    }


@lru_cache(maxsize=65536)  # pure; a stored graph renders the same ~5,000 edges for every snapshot
def _edge_id(source: str, target: str, protocol: str) -> str:
    return _hash(f"{source}.{target}.{protocol}")


def _edge_data(graph: Graph, e: Edge, ids: dict[str, str]) -> dict[str, Any]:
    # (the large mesh renders 5,000 of these per answer: rounding is written out, properties read once)
    source, target = ids[e.source], ids[e.dest]
    rates = e.rates
    protocol = e.protocol
    total = rates.get(protocol, 0.0)
    mtls = e.mtls_percent
    data: dict[str, Any] = {
        "id": _edge_id(source, target, protocol),
        "source": source,
        "target": target,
        "protocol": protocol,
        "rates": {k: round(rates[k], 4) for k in sorted(rates)},
        "percentReq": None if e.percent_req is None else round(e.percent_req, 3),
        "isMTLS": None if mtls is None else round(mtls, 3),
        "healthStatus": e.health_status,
    }
    if protocol != "tcp":
        err = e.percent_err
        response_time = graph.response_time(e)
        average = e.latency_avg
        codes = e.code_rates
        data["percentErr"] = None if err is None else round(err, 3)
        data["responseTime"] = None if response_time is None else round(response_time, 3)
        data["responseTimeAvg"] = None if average is None else round(average, 3)
        data["responses"] = {code: round(codes[code], 4) for code in sorted(codes)}
        if protocol == "http":
            if total > 0:
                data["percent5xx"] = round(rates.get("http5xx", 0.0) / total * 100.0, 3)
                data["percent4xx"] = round(rates.get("http4xx", 0.0) / total * 100.0, 3)
                data["percentNoResponse"] = round(rates.get("httpNoResponse", 0.0) / total * 100.0, 3)
            else:
                data["percent5xx"] = data["percent4xx"] = data["percentNoResponse"] = None
    return data


# -- Kiali's format (graph/config/common) --------------------------------------
def _precision(value: float, minimum: int) -> str:
    precision, v = minimum, value
    needed = 0
    while needed < 5 and 0 < v < 1:
        v *= 10
        needed += 1
    return f"{value:.{max(precision, needed)}f}"


_NODE_RATES = {
    "grpc": ("grpcIn", "grpcInErr", "grpcOut"),
    "http": ("httpIn", "httpIn3xx", "httpIn4xx", "httpIn5xx", "httpOut"),
    "tcp": ("tcpIn", "tcpOut"),
}
_EDGE_RATES = {"grpc": ("grpc", "grpcErr"), "http": ("http", "http3xx", "http4xx", "http5xx"), "tcp": ("tcp",)}


def to_kiali(graph: Graph, *, secret: str) -> dict[str, Any]:
    opts = graph.options
    ids = public_ids(graph, secret)
    nodes = []
    for node in graph.nodes.values():
        data = _node_fields(node, ids[node.id])
        data["healthData"] = None
        if not _anonymous(node):
            traffic = []
            for protocol in ("grpc", "http", "tcp"):
                rates = {k: _precision(node.traffic[k], NODE_RATE_PRECISION)
                         for k in _NODE_RATES[protocol] if node.traffic.get(k, 0) > 0}
                if rates:
                    traffic.append({"protocol": protocol, "rates": rates})
            if traffic:
                data["traffic"] = traffic
            if node.health is not None:
                data["healthData"] = node.health
                data["healthStatus"] = node.health["status"]
        nodes.append(data)
    nodes += _boxes(graph, nodes, app_box=opts.graph_type in ("app", "versionedApp"))
    edges = []
    for e in graph.edges.values():
        source, target = ids[e.source], ids[e.dest]
        edge_data: dict[str, Any] = {"id": _hash(f"{source}.{target}.{e.protocol}"), "source": source, "target": target}
        if e.mtls_percent:
            edge_data["isMTLS"] = f"{e.mtls_percent:.0f}"
        response_time = graph.response_time(e)
        if response_time is not None:
            edge_data["responseTime"] = f"{response_time:.0f}"
        edge_data["healthStatus"] = e.health_status
        edge_traffic: dict[str, Any] = {"protocol": e.protocol}
        total = e.total
        rates = {k: _precision(e.rates[k], 2) for k in _EDGE_RATES[e.protocol] if e.rates.get(k, 0) > 0}
        if rates and total > 0:
            if e.percent_err:
                rates[f"{e.protocol}PercentErr"] = f"{e.percent_err:.1f}"
            if e.percent_req:
                rates[f"{e.protocol}PercentReq"] = f"{e.percent_req:.1f}"
            edge_traffic["rates"] = rates
            hide_hosts = graph.nodes[e.dest].is_inaccessible or graph.nodes[e.source].is_inaccessible
            edge_traffic["responses"] = {
                code: {
                    "flags": {f: f"{v / total * 100:.1f}" for f, v in detail["flags"].items()},
                    "hosts": {} if hide_hosts else {
                        hst: f"{v / total * 100:.1f}" for hst, v in detail["hosts"].items()
                    },
                }
                for code, detail in e.responses.items()
            }
        edge_data["traffic"] = edge_traffic
        edges.append(edge_data)
    edges.sort(key=lambda d: (d["source"], d["target"], d["traffic"]["protocol"]))
    return {
        "timestamp": opts.query_time,
        "duration": opts.duration,
        "graphType": opts.graph_type,
        "elements": {"nodes": [{"data": d} for d in _sort_nodes(nodes)], "edges": [{"data": d} for d in edges]},
    }
