from apps.graphs.builder import GraphOptions, build_graph
from apps.graphs.telemetry.plan import fetch_traffic
from apps.graphs.telemetry.simulator import SimulatorTelemetry

from .fakes import FakeMesh, bookinfo_inventory, bookinfo_samples


def graph_of(graph_type="workload", inject=False, samples=None, namespaces=("bookinfo",), **kw):
    mesh = FakeMesh(samples if samples is not None else bookinfo_samples())
    opts = GraphOptions(namespaces=tuple(namespaces), graph_type=graph_type, inject_service_nodes=inject, **kw)
    traffic = fetch_traffic(SimulatorTelemetry(mesh), namespaces=list(namespaces), graph_type=graph_type,
                            inject_service_nodes=inject, window=60, query_time=1000)
    return build_graph(bookinfo_inventory(), traffic, opts)


def find_edge(graph, src, dst, protocol=None):
    for e in graph.edges.values():
        if e.source == src and e.dest == dst and (protocol is None or e.protocol == protocol):
            return e
    raise AssertionError(f"no edge {src} -> {dst}; edges: {sorted((e.source, e.dest) for e in graph.edges.values())}")
