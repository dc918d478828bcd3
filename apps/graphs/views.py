from django.contrib.auth.decorators import login_required
from django.shortcuts import render

from apps.accounts.selectors import namespace_visibility
from apps.clusters.selectors import get_cluster_for_user
from apps.core.errors import MeshdeckError

from .builder import GRAPH_TYPE_LABELS
from .sources import live_source

GRAPH_TYPES = list(GRAPH_TYPE_LABELS.items())
DURATIONS = [("60s", "1m"), ("5m", "5m"), ("10m", "10m"), ("30m", "30m"), ("1h", "1h"), ("3h", "3h"), ("6h", "6h")]


@login_required
def graph_page(request, name: str):
    """The graph page; its URL (?namespaces=a,b&graphType=..&duration=..) is shareable."""
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
    return render(request, "graphs/graph.html", {
        "cluster": cluster, "namespaces": namespaces, "selected": wanted or namespaces[:1], "error": error,
        "graph_types": GRAPH_TYPES, "graph_type": graph_type if graph_type in dict(GRAPH_TYPES) else "versionedApp",
        "durations": DURATIONS, "duration": duration if duration in dict(DURATIONS) else "60s",
    })
