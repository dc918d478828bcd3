from django.contrib.auth.decorators import login_required
from django.shortcuts import render
from django.urls import NoReverseMatch, reverse

from apps.accounts.selectors import namespace_visibility
from apps.clusters.selectors import get_cluster_for_user
from apps.core.errors import MeshdeckError

from .builder import GRAPH_TYPE_LABELS
from .sources import live_source

GRAPH_TYPES = list(GRAPH_TYPE_LABELS.items())
DURATIONS = [("60s", "1m"), ("5m", "5m"), ("10m", "10m"), ("30m", "30m"), ("1h", "1h"), ("3h", "3h"), ("6h", "6h")]
REFRESH_INTERVALS = [(0, "Pause"), (10, "Every 10 s"), (15, "Every 15 s"), (30, "Every 30 s"), (60, "Every 1 m"),
                     (300, "Every 5 m")]
RESPONSE_TIMES = [("50", "p50"), ("95", "p95"), ("99", "p99"), ("avg", "average")]


def _url_or_empty(name: str, *args) -> str:
    try:
        return reverse(name, args=args)
    except NoReverseMatch:
        return ""


def graph_socket_path(cluster_name: str) -> str:
    """Path of the WebSocket that pushes this cluster's graph, or "" when no such route is served."""
    from portal.routing import websocket_urlpatterns  # the ASGI routes: imported late, they import consumers

    wanted = "ws/clusters/<slug:cluster>/graph/"
    if any(str(getattr(p, "pattern", "")) == wanted for p in websocket_urlpatterns):
        return f"/ws/clusters/{cluster_name}/graph/"
    return ""


@login_required
def graph_page(request, name: str):
    """The graph page; its URL (?namespaces=a,b&graphType=..&duration=..) is shareable.

    The page's script reads the rest of the view state from the URL; the server passes what
    only it knows (namespaces the user may see, API and page URLs, Grafana/tracing) as JSON.
    """
    cluster = get_cluster_for_user(request.user, name)
    visible = namespace_visibility(request.user, cluster)
    error = ""
    try:
        namespaces = sorted(ns.name for ns in live_source(cluster).namespaces() if visible(ns.name))
    except MeshdeckError as exc:  # the page still loads and says why there is no graph (e.g. credentials)
        namespaces, error = [], exc.message
    wanted = [n for n in request.GET.get("namespaces", "").split(",") if n in namespaces]
    graph_type = request.GET.get("graphType", "versionedApp")
    duration = request.GET.get("duration", "60s")
    config = {
        "cluster": cluster.name,
        "api": reverse("api-cluster-graph", args=[cluster.name]),
        "seriesApi": reverse("api-cluster-graph-series", args=[cluster.name]),
        # __NS__ / __NAME__ are filled in by the side panel
        "workloadUrl": reverse("inventory:workload", args=[cluster.name, "__NS__", "__NAME__"]),
        "serviceUrl": reverse("inventory:service", args=[cluster.name, "__NS__", "__NAME__"]),
        "loginUrl": reverse("accounts:login"),
        "grafanaUrl": cluster.grafana_url,
        "tracingUrl": cluster.tracing_url,
        "namespaces": namespaces,
        "defaultNamespaces": namespaces[:1],
        "error": f"Cannot read this cluster: {error}" if error else "",
        # the graph push socket (docs/live.md), when the portal serves it; the page polls otherwise
        "graphSocket": graph_socket_path(cluster.name),
        # the history API (time slider, change markers, diff overlay), when the portal keeps history
        "timelineApi": _url_or_empty("api-cluster-timeline", cluster.name),
        "diffApi": _url_or_empty("api-cluster-diff", cluster.name),
    }
    return render(request, "graphs/graph.html", {
        "cluster": cluster, "namespaces": namespaces, "selected": wanted or namespaces[:1], "error": error,
        "graph_types": GRAPH_TYPES, "graph_type": graph_type if graph_type in dict(GRAPH_TYPES) else "versionedApp",
        "durations": DURATIONS, "duration": duration if duration in dict(DURATIONS) else "60s",
        "refresh_intervals": REFRESH_INTERVALS, "response_times": RESPONSE_TIMES, "graph_config": config,
        "speeds": (1, 2, 4, 8),
    })
