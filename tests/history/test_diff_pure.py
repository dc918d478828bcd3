"""The graph diff never names what the reader may not see."""
from __future__ import annotations

from apps.graphs.builder.model import Graph, GraphOptions, Node
from apps.history.diff import DiffOptions, graph_diff

HIDDEN = "wl_Kubernetes_grpc-demo_grpc-client-v1"


def _graph(with_hidden_caller: bool) -> Graph:
    g = Graph(GraphOptions(namespaces=("bookinfo",), graph_type="workload"))
    g.nodes["wl_reviews"] = Node(id="wl_reviews", node_type="workload", cluster="Kubernetes", namespace="bookinfo",
                                 workload="reviews-v1", app="reviews", version="v1")
    if with_hidden_caller:
        g.nodes[HIDDEN] = Node(id=HIDDEN, node_type="workload", cluster="Kubernetes", namespace="grpc-demo",
                               workload="grpc-client-v1", is_inaccessible=True)
        g.edge(HIDDEN, "wl_reviews", "http").rates["http"] = 1.0
    return g


def test_an_inaccessible_caller_appears_in_the_diff_without_its_names():
    body = graph_diff(_graph(False), _graph(True), DiffOptions(threshold=10.0))
    text = repr(body)
    assert body["nodes"]["added"] and body["edges"]["added"], body  # the new caller is reported...
    assert "grpc" not in text, text  # ...but neither its namespace nor its workload
    added = body["nodes"]["added"][0]
    assert added["isInaccessible"] and added["label"] == "(inaccessible)"
    assert body["edges"]["added"][0]["sourceId"] == added["id"]  # the edge names the same opaque id
