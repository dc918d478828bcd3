"""Graph data shapes and Kiali's node identity rules (plain data, no I/O)."""
from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

UNKNOWN = "unknown"
# Graph types and how the UI names them; versioned app first, the default (as in Kiali).
GRAPH_TYPE_LABELS = {"versionedApp": "Versioned app", "app": "App", "workload": "Workload", "service": "Service"}
GRAPH_TYPES = tuple(GRAPH_TYPE_LABELS)
BOX_BY = ("cluster", "namespace", "app")
PROTOCOLS = ("grpc", "http", "tcp")


def is_ok(value: str | None) -> bool:
    return bool(value) and value != UNKNOWN


@dataclass(frozen=True)
class GraphOptions:
    namespaces: tuple[str, ...]
    graph_type: str = "versionedApp"
    inject_service_nodes: bool = True
    box_by: tuple[str, ...] = ()
    idle_nodes: bool = False
    duration: int = 60
    query_time: int = 0
    cluster: str = "Kubernetes"  # Istio's cluster id, as Kiali shows it
    quantile: float | None = 0.95  # the edges' responseTime; None: the mean (responseTime=avg)


@dataclass(slots=True)
class Node:
    id: str
    node_type: str  # app | workload | service | unknown | box
    cluster: str
    namespace: str
    workload: str = ""
    app: str = ""
    version: str = ""
    service: str = ""
    dest_services: set[tuple[str, str]] = field(default_factory=set)
    traffic: dict[str, float] = field(default_factory=dict)  # httpIn, httpOut, grpcIn, tcpOut, ...
    health: dict[str, Any] | None = None
    is_idle: bool = False
    is_outside: bool = False
    is_inaccessible: bool = False
    is_root: bool = False
    is_service_entry: dict[str, Any] | None = None
    parent: str = ""
    is_box: str = ""


@dataclass(slots=True)
class Edge:
    source: str
    dest: str
    protocol: str
    # http, http4xx, http5xx, httpNoResponse, grpc, grpcErr, tcp, tcpReceived
    rates: dict[str, float] = field(default_factory=dict)
    # response code -> {"flags": {flag: rate}, "hosts": {host: rate}}
    responses: dict[str, dict[str, dict[str, float]]] = field(default_factory=dict)
    code_rates: dict[str, float] = field(default_factory=dict)  # response code -> rate
    mtls_rate: float = 0.0
    policy_rate: float = 0.0  # all destination-reported traffic, the mTLS denominator
    latency_quantile: float | None = None
    latency_sum: float = 0.0
    latency_count: float = 0.0
    percent_req: float | None = None
    health_status: str = "NA"

    @property
    def key(self) -> tuple[str, str, str]:
        return (self.source, self.dest, self.protocol)

    @property
    def total(self) -> float:
        return self.rates.get(self.protocol, 0.0)

    @property
    def mtls_percent(self) -> float | None:
        return self.mtls_rate / self.policy_rate * 100.0 if self.policy_rate > 0 else None

    @property
    def latency_avg(self) -> float | None:
        return self.latency_sum / self.latency_count if self.latency_count > 0 else None

    @property
    def error_rate(self) -> float:
        if self.protocol == "http":
            rates = self.rates
            return rates.get("http4xx", 0.0) + rates.get("http5xx", 0.0) + rates.get("httpNoResponse", 0.0)
        if self.protocol == "grpc":
            return self.rates.get("grpcErr", 0.0)
        return 0.0

    @property
    def percent_err(self) -> float | None:
        total = self.total
        return self.error_rate / total * 100.0 if total > 0 and self.protocol != "tcp" else None


@dataclass
class Graph:
    options: GraphOptions
    nodes: dict[str, Node] = field(default_factory=dict)
    edges: dict[tuple[str, str, str], Edge] = field(default_factory=dict)
    # while building: the node pairs rows of each set of edge labels land on (traffic.edge_endpoints)
    endpoints: dict[tuple, list[tuple[Node, Node]]] = field(default_factory=dict, repr=False, compare=False)

    def edge(self, source: str, dest: str, protocol: str) -> Edge:
        key = (source, dest, protocol)
        e = self.edges.get(key)
        if e is None:
            e = self.edges[key] = Edge(source, dest, protocol)
        return e

    def response_time(self, edge: Edge) -> float | None:
        """The edge's responseTime (ms): the chosen quantile, or the mean for responseTime=avg."""
        if edge.protocol == "tcp":
            return None
        return edge.latency_avg if self.options.quantile is None else edge.latency_quantile


@lru_cache(maxsize=65536)  # pure; a big graph asks the same ~8 label tuples per edge many times
def node_identity(
    cluster: str, svc_ns: str, svc: str, wl_ns: str, wl: str, app: str, version: str, graph_type: str
) -> tuple[str, str]:
    """(id, node type) following Kiali's graph.Id rules."""
    namespace = wl_ns if is_ok(wl_ns) else svc_ns
    # the "unknown" source: traffic from outside the mesh
    if namespace == UNKNOWN and wl in (UNKNOWN, "") and app in (UNKNOWN, "") and not svc:
        return f"{cluster}_unknown_source", "unknown"
    if wl == UNKNOWN and app == UNKNOWN and svc == UNKNOWN:
        return f"svc_{cluster}_{namespace}_unknown", "service"
    wl_ok, app_ok, svc_ok = is_ok(wl), is_ok(app), is_ok(svc)
    if not (wl_ok or app_ok or svc_ok):
        raise ValueError(f"cannot identify node ns={namespace} wl={wl} app={app} svc={svc}")
    if graph_type in ("workload", "service"):
        if wl_ok:
            return f"wl_{cluster}_{namespace}_{wl}", "workload"
        if svc_ok:
            return f"svc_{cluster}_{namespace}_{svc}", "service"
        raise ValueError(f"cannot identify workload node ns={namespace} app={app}")
    if app_ok:
        if graph_type == "versionedApp":
            if wl_ok:
                return f"vapp_{cluster}_{namespace}_{wl}", "app"
            if is_ok(version) and version != "latest":
                return f"vapp_{cluster}_{namespace}_{app}_{version}", "app"
        return f"app_{cluster}_{namespace}_{app}", "app"
    if wl_ok:
        return f"wl_{cluster}_{namespace}_{wl}", "workload"
    return f"svc_{cluster}_{namespace}_{svc}", "service"


def new_node(
    node_id: str, node_type: str, cluster: str, svc_ns: str, svc: str, wl_ns: str, wl: str, app: str, version: str,
    graph_type: str,
) -> Node:
    """A node with the fields Kiali keeps for its type."""
    namespace = wl_ns if is_ok(wl_ns) else svc_ns
    if node_type == "app":
        if graph_type != "versionedApp":
            wl, version = "", ""
        svc = ""
    elif node_type == "service":
        app = wl = version = ""
    elif node_type == "workload":
        app = "" if app == UNKNOWN else app
        version = "" if version == UNKNOWN else version
        svc = ""
    elif node_type == "unknown":
        wl, app, version, svc = UNKNOWN, UNKNOWN, "", ""
    return Node(node_id, node_type, cluster, namespace, wl, app, version, svc)
