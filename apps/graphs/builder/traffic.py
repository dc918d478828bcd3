"""Turn telemetry rows into nodes and edges (Kiali's populateTrafficMap, in Python)."""
from __future__ import annotations

import math
import re

from ..telemetry.query import Row, edge_labels
from .model import UNKNOWN, Graph, Node, is_ok, new_node, node_identity

_IP_SERVICE = re.compile(r"^\d+\.\d+\.\d+\.\d+(:\d+)?$")


def response_code(protocol: str, code: str, grpc_status: str | None) -> str:
    """'-' for no response; the gRPC status for gRPC unless the HTTP transport failed."""
    if code == "0":
        return "-"
    if protocol != "grpc" or code[:1] in ("4", "5") or grpc_status in (None, ""):
        return code
    return grpc_status


def is_error_code(protocol: str, code: str) -> bool:
    """Does a (normalised, see ``response_code``) code count as an error? HTTP: 4xx, 5xx and
    no response ("-"). gRPC: any non-OK status, or a 4xx/5xx transport failure."""
    if protocol == "grpc":
        return (len(code) == 3 and code[:1] in ("4", "5")) or (len(code) != 3 and code != "0")
    return code == "-" or code[:1] in ("4", "5")


def _is_bad_source(ns: str, wl: str, app: str) -> bool:
    return is_ok(ns) and not is_ok(wl) and not is_ok(app)


def _is_bad_dest(svc: str, svc_name: str, wl: str) -> bool:
    # incomplete telemetry during pod churn: the "service" is an IP address
    return not is_ok(wl) and is_ok(svc) and svc == svc_name and bool(_IP_SERVICE.match(svc_name))


def _node(graph: Graph, svc_ns, svc, wl_ns, wl, app, version, create: bool = True) -> Node | None:
    opts = graph.options
    node_id, node_type = node_identity(opts.cluster, svc_ns, svc, wl_ns, wl, app, version, opts.graph_type)
    node = graph.nodes.get(node_id)
    if node is None and create:
        node = graph.nodes[node_id] = new_node(
            node_id, node_type, opts.cluster, svc_ns, svc, wl_ns, wl, app, version, opts.graph_type
        )
    return node


def edge_endpoints(
    graph: Graph, labels: dict[str, str], *, inject: bool | None = None, create: bool = True,
    edge: tuple[str, ...] | None = None,
) -> list[tuple[Node, Node]]:
    """The (source, dest) node pairs one row of edge labels lands on: one pair, or two with an injected service.

    With ``create=False`` only existing nodes are returned (for appenders that
    decorate traffic edges and must not invent nodes).

    Every metric's rows of one edge land on the same nodes, so an answer is kept per graph by the
    edge labels (``graph.endpoints``), unless it is "none" only because a node does not exist yet.
    ``edge``: those labels' values (``Row.edge``) when the row's source has them already.
    """
    if inject is None:
        inject = graph.options.inject_service_nodes or graph.options.graph_type == "service"
    if edge is None:
        edge = edge_labels(labels)
    key = (inject, edge)
    found = graph.endpoints.get(key)
    if found is not None:
        return found
    pairs, final = _edge_endpoints(graph, edge, inject, create)
    if final:
        graph.endpoints[key] = pairs
    return pairs


def _edge_endpoints(graph: Graph, values: tuple, inject: bool, create: bool) -> tuple[list[tuple[Node, Node]], bool]:
    """(pairs, whether that answer stays: False when a node it needs does not exist yet)."""
    (src_ns, src_wl, src_app, src_ver, svc_ns, svc, svc_name, dst_ns, dst_wl, dst_app, dst_ver) = values
    if _is_bad_source(src_ns, src_wl, src_app):
        return [], True
    if _is_bad_dest(svc, svc_name, dst_wl):
        return [], True
    try:
        source = _node(graph, src_ns, "", src_ns, src_wl, src_app, src_ver, create)
        dest = _node(graph, svc_ns, svc_name, dst_ns, dst_wl, dst_app, dst_ver, create)
    except ValueError:
        return [], True
    if source is None or dest is None:
        return [], False
    if is_ok(svc_name):
        dest.dest_services.add((svc_ns, svc_name))
    if inject and is_ok(svc_name) and dest.node_type != "service":
        service = _node(graph, svc_ns, svc_name, "", "", "", "", create)
        if service is None:
            return [], False
        service.dest_services.add((svc_ns, svc_name))
        return [(source, service), (service, dest)], True
    return [(source, dest)], True


def _add(d: dict[str, float], key: str, value: float) -> None:
    d[key] = d.get(key, 0.0) + value


def _add_response(edge, code: str, flags: str, host: str, value: float) -> None:
    detail = edge.responses.get(code)
    if detail is None:  # (not setdefault: its default would be three new dicts for every row)
        detail = edge.responses[code] = {"flags": {}, "hosts": {}}
    _add(edge.code_rates, code, value)
    if flags:
        _add(detail["flags"], flags, value)
    if host:
        _add(detail["hosts"], host, value)


def add_request_rows(graph: Graph, rows: list[Row]) -> None:
    for row in rows:
        value = row.value
        if not value > 0:  # also drops NaN
            continue
        labels = row.labels
        protocol = labels.get("request_protocol", "http") or "http"
        if protocol not in ("http", "grpc"):
            continue
        code = response_code(protocol, labels.get("response_code", ""), labels.get("grpc_response_status"))
        flags, host = labels.get("response_flags", ""), labels.get("destination_service", "")
        for source, dest in edge_endpoints(graph, labels, edge=row.edge):
            edge = graph.edge(source.id, dest.id, protocol)
            _add(edge.rates, protocol, value)
            if protocol == "http":
                if code == "-":
                    _add(edge.rates, "httpNoResponse", value)
                elif code[:1] in ("3", "4", "5"):
                    _add(edge.rates, f"http{code[0]}xx", value)
            elif is_error_code(protocol, code):
                _add(edge.rates, "grpcErr", value)
            _add_response(edge, code, flags, host, value)


def add_tcp_rows(graph: Graph, sent: list[Row], received: list[Row]) -> None:
    """TCP edges. ``sent``/``received`` are Istio's ``istio_tcp_sent_bytes_total`` /
    ``istio_tcp_received_bytes_total`` rows. Istio names them from the server's side
    (istio/istio#32399): *received* is what the source sent. So, as Kiali's default
    (rateTcp=sent reads istio_tcp_received_bytes_total), an edge's ``tcp`` rate is the
    received counter, bytes the source sent; ``tcpReceived`` is the reply, bytes it got back.
    """
    for rows, key in ((received, "tcp"), (sent, "tcpReceived")):
        for row in rows:
            if not row.value > 0:
                continue
            for source, dest in edge_endpoints(graph, row.labels, edge=row.edge):
                edge = graph.edge(source.id, dest.id, "tcp")
                _add(edge.rates, key, row.value)
                if key == "tcp":
                    _add_response(
                        edge, "-", row.labels.get("response_flags", ""), row.labels.get("destination_service", ""),
                        row.value
                    )


def add_security_policy(graph: Graph, http_rows: list[Row], tcp_rows: list[Row]) -> None:
    """mTLS share per edge from destination-reported connection_security_policy."""
    for rows, protocols in ((http_rows, ("http", "grpc")), (tcp_rows, ("tcp",))):
        for row in rows:
            if not row.value > 0:
                continue
            mutual = row.labels.get("connection_security_policy") == "mutual_tls"
            for source, dest in edge_endpoints(graph, row.labels, create=False, edge=row.edge):
                for protocol in protocols:
                    edge = graph.edges.get((source.id, dest.id, protocol))
                    if edge is not None:
                        edge.policy_rate += row.value
                        if mutual:
                            edge.mtls_rate += row.value


def add_latency_average(graph: Graph, sum_rows: list[Row], count_rows: list[Row]) -> None:
    """Average latency = rate(_sum) / rate(_count); without count rows the edge's request rate is the count."""
    for rows, attr in ((sum_rows, "latency_sum"), (count_rows, "latency_count")):
        for row in rows:
            if not row.value > 0:
                continue
            for source, dest in edge_endpoints(graph, row.labels, create=False, edge=row.edge):
                for protocol in ("http", "grpc"):
                    edge = graph.edges.get((source.id, dest.id, protocol))
                    if edge is not None:
                        setattr(edge, attr, getattr(edge, attr) + row.value)
    if not count_rows:
        for edge in graph.edges.values():
            if edge.latency_sum > 0 and edge.protocol != "tcp":
                edge.latency_count = edge.total


def add_latency_quantiles(graph: Graph, by_grouping: dict[str, list[Row]]) -> None:
    """Quantiles computed by the telemetry source, grouped per edge kind (see telemetry.plan).

    "edge": source node -> dest node (no injected services); "in": source node ->
    service; "out": service -> dest node. When several rows land on one edge
    (an edge reached through two services), the largest quantile is kept: a
    quantile cannot be averaged.
    """
    opts = graph.options
    for grouping, rows in by_grouping.items():
        for row in rows:
            if math.isnan(row.value) or math.isinf(row.value):
                continue
            labels = row.labels
            pairs: list[tuple[Node | None, Node | None]] = []
            if grouping == "edge":
                pairs = list(edge_endpoints(graph, labels, inject=False, create=False, edge=row.edge))
            elif grouping == "in":
                labels = {**labels, "destination_workload": UNKNOWN, "destination_workload_namespace": "",
                          "destination_canonical_service": UNKNOWN, "destination_canonical_revision": UNKNOWN}
                svc_ns = labels.get("destination_service_namespace", "")
                svc_name = labels.get("destination_service_name", "")
                sources = list(edge_endpoints(graph, labels, inject=False, create=False))
                if sources and is_ok(svc_name):
                    sid = node_identity(opts.cluster, svc_ns, svc_name, "", "", "", "", opts.graph_type)[0]
                    pairs = [(sources[0][0], graph.nodes.get(sid))]
            elif grouping == "out":
                svc_ns = labels.get("destination_service_namespace", "")
                svc_name = labels.get("destination_service_name", "")
                if not is_ok(svc_name):
                    continue
                sid = node_identity(opts.cluster, svc_ns, svc_name, "", "", "", "", opts.graph_type)[0]
                g = labels.get
                try:
                    did = node_identity(
                        opts.cluster, svc_ns, svc_name, g("destination_workload_namespace", ""),
                        g("destination_workload", ""), g("destination_canonical_service", ""),
                        g("destination_canonical_revision", ""), opts.graph_type,
                    )[0]
                except ValueError:
                    continue
                pairs = [(graph.nodes.get(sid), graph.nodes.get(did))]
            for source, dest in pairs:
                if source is None or dest is None:
                    continue
                for protocol in ("http", "grpc"):
                    edge = graph.edges.get((source.id, dest.id, protocol))
                    if edge is not None and (edge.latency_quantile is None or row.value > edge.latency_quantile):
                        edge.latency_quantile = row.value
