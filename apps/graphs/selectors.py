"""Reads for the graph: authorization, inventory and telemetry in, a Graph out.

Every read takes a ``GraphSource`` (``apps.graphs.sources``): the live cluster
or stored data of a past moment. Nothing here reaches for a gateway or a
telemetry client; the views make the source.
"""
from __future__ import annotations

import time
from contextlib import nullcontext
from dataclasses import dataclass

from apps.accounts.selectors import namespace_visibility
from apps.clusters.sources import SNAPSHOT
from apps.core.errors import MeshdeckError

from .builder import GRAPH_TYPES, Graph, GraphOptions, build_graph
from .builder.gcpause import gc_paused
from .builder.rollup import NamespaceHealth, WorkloadHealth, namespace_health, workload_health
from .sources import GraphSource
from .telemetry import parse_duration
from .telemetry.base import TelemetryError
from .telemetry.series import Peer


def graph_source_at(cluster, at: float, duration: int = 60) -> GraphSource:
    """The stored ``GraphSource`` (inventory + traffic) of the snapshot at or before ``at`` (404 if none)."""
    from apps.clusters.sources import stored_resolver

    resolver = stored_resolver()
    if resolver is None:
        raise MeshdeckError("this portal keeps no history", code="no_snapshot", http_status=404)
    return resolver.graph_at(cluster, at, duration)

CLOCK_SKEW = 10  # seconds a client's clock may run ahead of ours


class GraphRequestError(MeshdeckError):
    """Bad input; ``http_status`` is 400 or 404, ``message`` says what to fix."""

    def __init__(self, message: str, http_status: int = 400):
        super().__init__(message, http_status=http_status, code="bad_request" if http_status == 400 else "not_found")


@dataclass(frozen=True)
class GraphParams:
    namespaces: tuple[str, ...] | None  # None: every namespace the user may see
    graph_type: str
    duration: int
    query_time: int
    inject_service_nodes: bool
    box_by: tuple[str, ...]
    idle_nodes: bool
    quantile: float | None = 0.95  # None: the mean (responseTime=avg)


def _bool(raw, default: bool, name: str) -> bool:
    if raw in (None, ""):
        return default
    value = str(raw).lower()
    if value in ("true", "1", "yes"):
        return True
    if value in ("false", "0", "no"):
        return False
    raise GraphRequestError(f"{name} must be true or false")


def parse_graph_params(query, *, default_graph_type="versionedApp", default_inject=True) -> GraphParams:
    """Validate the query string shared by the Meshdeck and Kiali-compatible endpoints."""
    graph_type = query.get("graphType") or default_graph_type
    if graph_type not in GRAPH_TYPES:
        raise GraphRequestError(f"graphType must be one of {', '.join(GRAPH_TYPES)}")
    try:
        duration = parse_duration(query.get("duration"))
    except ValueError as exc:
        raise GraphRequestError(str(exc)) from None
    now = int(time.time())
    raw_time = query.get("queryTime")
    if raw_time in (None, ""):
        query_time = now
    else:
        try:
            query_time = int(float(raw_time))
        except (ValueError, OverflowError):  # not a number; or inf / 1e400, which no int holds
            raise GraphRequestError("queryTime must be a unix time in seconds") from None
        if query_time > now + CLOCK_SKEW:
            raise GraphRequestError("queryTime is in the future")
        if query_time <= 0:
            raise GraphRequestError("queryTime must be a unix time in seconds")
    box_by = tuple(b for b in (query.get("boxBy") or "").split(",") if b)
    for b in box_by:
        if b not in ("cluster", "namespace", "app"):
            raise GraphRequestError("boxBy takes cluster, namespace and/or app")
    namespaces = tuple(n.strip() for n in (query.get("namespaces") or "").split(",") if n.strip()) or None
    quantile_raw = query.get("responseTime") or "95"
    # avg is the mean, rate(_sum) / rate(_count), as in Kiali: no quantile at all
    quantiles = {"50": 0.5, "95": 0.95, "99": 0.99, "avg": None}
    if quantile_raw not in quantiles:
        raise GraphRequestError("responseTime must be 50, 95, 99 or avg")
    return GraphParams(
        namespaces=namespaces,
        graph_type=graph_type,
        duration=duration,
        query_time=query_time,
        inject_service_nodes=_bool(query.get("injectServiceNodes"), default_inject, "injectServiceNodes"),
        box_by=box_by,
        idle_nodes=_bool(query.get("idleNodes"), False, "idleNodes"),
        quantile=quantiles[quantile_raw],
    )


def _checked_namespaces(visible, inventory, requested):
    existing = {ns.name for ns in inventory.namespaces}
    if requested is None:
        names = sorted(ns for ns in existing if visible(ns))
        if not names:
            raise GraphRequestError("you may not see any namespace of this cluster", 404)
        return names, visible, existing
    for ns in requested:
        if ns not in existing or not visible(ns):
            # same answer for "absent" and "not yours": no existence leak
            raise GraphRequestError(f"unknown namespace: {ns}", 404)
    return list(dict.fromkeys(requested)), visible, existing


# The queries behind a graph's nodes, edges, rates, error % and health: all a comparison of two graphs
# (the history diff) reads. Latency and mTLS only decorate edges these made (they create none).
TOPOLOGY_QUERIES = ("requests", "tcp_sent", "tcp_received")


def graph_for_user(user, source: GraphSource, params: GraphParams, *, queries: tuple[str, ...] | None = None
                   ) -> Graph:
    """The traffic graph of the requested namespaces, as this user may see it, read from ``source``.
    ``queries``: run only these of the plan (e.g. TOPOLOGY_QUERIES); the edges' other fields stay empty.

    Raises GraphRequestError (bad input), TelemetryError (Prometheus; a stored
    source asked for a window it does not hold) or GatewayError (cluster API);
    the API turns each into a clear 4xx/5xx.
    """
    return graph_for_visibility(namespace_visibility(user, source.cluster), source, params, queries=queries)


def graph_for_visibility(visible, source: GraphSource, params: GraphParams, *,
                         queries: tuple[str, ...] | None = None) -> Graph:
    """``graph_for_user`` for whoever sees exactly the namespaces ``visible(ns)`` allows (a
    predicate from ``apps.accounts.selectors``): live push builds one graph for every socket
    whose user sees the same namespaces."""
    cluster, inventory = source.cluster, source.inventory()
    namespaces, visible, existing = _checked_namespaces(visible, inventory, params.namespaces)
    # Every namespace requested: no namespace matchers at all (cheaper for Prometheus).
    scope = None if set(namespaces) >= existing else namespaces
    # (in-process work is done with the collector held off; a Prometheus round trip is not)
    with gc_paused() if source.traffic.kind == SNAPSHOT else nullcontext():
        traffic = source.traffic.traffic(
            namespaces=scope,
            graph_type=params.graph_type,
            inject_service_nodes=params.inject_service_nodes,
            window=params.duration,
            query_time=params.query_time,
            quantile=params.quantile,
            mesh_namespaces=sorted(existing),
            only=queries,
            pending=True,  # Prometheus: the build starts with the first answers (a telemetry error raises there)
        )
    options = GraphOptions(
        namespaces=tuple(namespaces),
        graph_type=params.graph_type,
        inject_service_nodes=params.inject_service_nodes,
        box_by=params.box_by,
        idle_nodes=params.idle_nodes,
        duration=params.duration,
        query_time=params.query_time,
        quantile=params.quantile,
    )
    with gc_paused():
        return build_graph(inventory, traffic, options, can_see=visible, health_tolerances=cluster.health_tolerances)


def _peer(query, prefix: str) -> Peer | None:
    def key(name):
        return prefix + name[0].upper() + name[1:] if prefix else name

    ns = query.get(key("namespace"))
    if not ns:
        return None
    peer = Peer(ns, query.get(key("workload"), ""), query.get(key("app"), ""), query.get(key("version"), ""),
                query.get(key("service"), ""))
    if ns != "unknown" and not (peer.workload or peer.app or peer.service):
        raise GraphRequestError(f"{key('namespace')} needs a {key('workload')}, {key('app')} or {key('service')}")
    return peer


def series_for_user(user, source: GraphSource, query) -> dict:
    """Request rate, error rate and p50/p95/p99 of a node (inbound/outbound) or an edge, over the window.

    Needs no inventory, so a past ``queryTime`` from a live source is exact: it
    reads Prometheus's own history. A stored source holds one window and refuses."""
    params = parse_graph_params(query)
    dest, peer_source = _peer(query, ""), _peer(query, "source")
    direction = query.get("direction") or "inbound"
    if direction not in ("inbound", "outbound"):
        raise GraphRequestError("direction must be inbound or outbound")
    if dest is None and peer_source is None:
        raise GraphRequestError("give namespace (+ workload, app or service) for a node, and source* for an edge")
    visible = namespace_visibility(user, source.cluster)
    for peer in (dest, peer_source):
        if peer is not None and peer.namespace != "unknown" and not visible(peer.namespace):
            raise GraphRequestError(f"unknown namespace: {peer.namespace}", 404)
    if peer_source is None and direction == "outbound":
        peer_source, dest = dest, None
    data = source.traffic.series(dest=dest, source=peer_source, duration=params.duration,
                                 query_time=params.query_time)
    data.update(duration=params.duration, queryTime=params.query_time)
    return data


@dataclass(frozen=True)
class TrafficRow:
    peer: str  # the other end, as the graph labels it
    protocol: str
    rate: float  # req/s, or bytes/s for tcp
    percent_err: float | None
    p95_ms: float | None
    mtls_percent: float | None


def _node_name(node) -> str:
    if node.node_type == "unknown":  # flagged inaccessible too, as Kiali does
        return "unknown (outside the mesh)"
    if node.is_inaccessible:
        return "(inaccessible)"
    return node.workload or node.service or node.app or node.id


def workload_traffic(
    user, source: GraphSource, namespace: str, workload: str, duration: int = 60
) -> dict[str, list[TrafficRow]]:
    """Inbound and outbound edges of one workload over the last ``duration`` seconds (a stored
    source: over the window it holds).

    Read from the same workload graph the graph page draws, so both agree.
    Raises what graph_for_user raises.
    """
    duration, query_time = source.window(duration)
    params = GraphParams(
        namespaces=(namespace,), graph_type="workload", duration=duration, query_time=query_time,
        inject_service_nodes=False, box_by=(), idle_nodes=False,
    )
    graph = graph_for_user(user, source, params)
    node = next((n for n in graph.nodes.values()
                 if n.node_type == "workload" and n.namespace == namespace and n.workload == workload), None)
    result: dict[str, list[TrafficRow]] = {"inbound": [], "outbound": []}
    if node is None:
        return result
    for edge in graph.edges.values():
        if node.id not in (edge.source, edge.dest):
            continue
        inbound = edge.dest == node.id
        peer = graph.nodes[edge.source if inbound else edge.dest]
        result["inbound" if inbound else "outbound"].append(TrafficRow(
            peer=_node_name(peer), protocol=edge.protocol, rate=edge.total, percent_err=edge.percent_err,
            p95_ms=edge.latency_quantile, mtls_percent=edge.mtls_percent,
        ))
    for rows in result.values():
        rows.sort(key=lambda r: -r.rate)
    return result


HEALTH_WINDOW = 60  # seconds of traffic behind request health (a stored source: the window it holds)


def _health_graph(source: GraphSource, names: list[str], visible) -> tuple[Graph | None, str]:
    """The workload graph behind health: only the request-rate query (health needs response
    codes, not latency, TCP or mTLS). (None, why) when telemetry cannot be read."""
    cluster, inventory = source.cluster, source.inventory()
    existing = {ns.name for ns in inventory.namespaces}
    window, query_time = source.window(HEALTH_WINDOW)
    options = GraphOptions(namespaces=tuple(names), graph_type="workload", inject_service_nodes=False,
                           duration=window, query_time=query_time)
    try:
        traffic = source.traffic.traffic(
            namespaces=None if set(names) >= existing else names, graph_type="workload",
            inject_service_nodes=False, window=window, query_time=query_time,
            mesh_namespaces=sorted(existing), only=("requests",),
        )
    except TelemetryError as exc:
        return None, exc.message
    with gc_paused():
        graph = build_graph(inventory, traffic, options, can_see=visible, health_tolerances=cluster.health_tolerances)
    return graph, ""


def namespace_health_for_user(user, source: GraphSource,
                              namespaces: list[str]) -> tuple[dict[str, NamespaceHealth], str]:
    """({namespace: NamespaceHealth}, why request health is missing) over the last minute.

    If telemetry fails, availability alone is reported with the reason, so the
    page still says which workloads have no ready pods.
    """
    visible = namespace_visibility(user, source.cluster)
    names = [ns for ns in namespaces if visible(ns)]
    if not names:
        return {}, ""
    graph, error = _health_graph(source, names, visible)
    return namespace_health(source.inventory().workloads, graph, names), error


def workload_health_for_user(user, source: GraphSource,
                             workloads: list) -> tuple[dict[tuple[str, str], WorkloadHealth], str]:
    """({(namespace, name): WorkloadHealth}, why request health is missing) for ``workloads``:
    one query over their namespaces."""
    visible = namespace_visibility(user, source.cluster)
    workloads = [w for w in workloads if visible(w.namespace)]
    if not workloads:
        return {}, ""
    graph, error = _health_graph(source, sorted({w.namespace for w in workloads}), visible)
    return workload_health(workloads, graph), error
