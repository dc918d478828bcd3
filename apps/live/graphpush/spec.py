"""What a graph socket subscribes to, as a key that sockets seeing the same graph share."""
from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import parse_qs

from apps.graphs.selectors import GraphParams, GraphRequestError, parse_graph_params

# The graph API's options a socket may set (docs/graph-api.md); the window always ends at the
# snapshot's time, so queryTime has no meaning here.
OPTIONS = ("graphType", "duration", "injectServiceNodes", "boxBy", "idleNodes", "responseTime")


class SpecError(Exception):
    """The query string asks for something a graph socket cannot serve (close 4400)."""


@dataclass(frozen=True)
class GraphOptionsSpec:
    """The graph options of a subscription, without a time (each build takes the snapshot's)."""

    graph_type: str
    duration: int
    inject_service_nodes: bool
    box_by: tuple[str, ...]
    idle_nodes: bool
    quantile: float | None

    def params(self, namespaces: tuple[str, ...] | None, query_time: int) -> GraphParams:
        return GraphParams(
            namespaces=namespaces, graph_type=self.graph_type, duration=self.duration, query_time=query_time,
            inject_service_nodes=self.inject_service_nodes, box_by=self.box_by, idle_nodes=self.idle_nodes,
            quantile=self.quantile,
        )


@dataclass(frozen=True)
class GraphKey:
    """Everything a graph answer depends on besides the snapshot: sockets with equal keys get
    the same bytes, so a process builds (and encodes) each answer once per key.

    ``namespaces``: the subscribed namespaces the user may see, sorted; None for "every
    namespace you may see". ``visibility``: ``namespace_visibility_key`` of the user (which
    other namespaces are drawn with names, which as inaccessible nodes).
    """

    cluster_id: int
    namespaces: tuple[str, ...] | None
    options: GraphOptionsSpec
    visibility: tuple[str, ...]


def parse_options(query_string: bytes) -> GraphOptionsSpec:
    """The graph options of a socket's query string, checked as the graph API checks them."""
    query = parse_qs(query_string.decode("latin-1"), encoding="utf-8", errors="replace")
    if "queryTime" in query:
        raise SpecError("A live graph always follows the latest snapshot: leave out queryTime "
                        "(the graph API answers for a past time).")
    try:
        params = parse_graph_params({name: query[name][-1] for name in OPTIONS if name in query})
    except GraphRequestError as exc:
        raise SpecError(exc.message) from None
    return GraphOptionsSpec(
        graph_type=params.graph_type, duration=params.duration, inject_service_nodes=params.inject_service_nodes,
        box_by=params.box_by, idle_nodes=params.idle_nodes, quantile=params.quantile,
    )


def parse_since(query_string: bytes) -> int | None:
    """``since=<snapshot id>``: the last snapshot the client saw (catch-up after a reconnect)."""
    values = parse_qs(query_string.decode("latin-1")).get("since") or []
    if not values or values[-1] == "":
        return None
    try:
        since = int(values[-1])
    except ValueError:
        raise SpecError("since must be the id of the last snapshot received (a whole number).") from None
    if since <= 0:
        raise SpecError("since must be the id of the last snapshot received (a whole number).")
    return since
