"""Graph API: Meshdeck's endpoint, side-panel series, and a Kiali-compatible endpoint."""
from __future__ import annotations

import json
import threading
import time
from collections import OrderedDict
from dataclasses import replace

from django.conf import settings
from django.http import HttpResponse
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.exceptions import NotFound
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.accounts.selectors import namespace_visibility
from apps.clusters.selectors import clusters_for_user, get_cluster_for_user
from apps.clusters.sources import parse_at, stored_resolver
from apps.core.api import error_responses
from apps.core.errors import MeshdeckError
from apps.core.renderers import FastJSONRenderer

from ..builder.gcpause import gc_paused
from ..builder.render import to_cytoscape, to_kiali
from ..selectors import CLOCK_SKEW, GraphParams, GraphRequestError, graph_for_user, parse_graph_params, series_for_user
from ..sources import live_source, source_json
from .serializers import GraphSerializer, GraphSeriesSerializer, KialiGraphSerializer

GRAPH_PARAMETERS = [
    OpenApiParameter("namespaces", str, description="Comma-separated namespaces (default: all you may see)."),
    OpenApiParameter("graphType", str, enum=["app", "versionedApp", "workload", "service"]),
    OpenApiParameter("duration", str, pattern=r"^[0-9]+[smh]?$",
                     description="Rate window: 60s (default) up to 6h; e.g. 60s, 5m, 1h."),
    OpenApiParameter("queryTime", int, description="Window end, unix seconds (default now; not in the future)."),
    OpenApiParameter("injectServiceNodes", bool),
    OpenApiParameter("boxBy", str, pattern=r"^((cluster|namespace|app)(,(cluster|namespace|app))*)?$",
                     description="Comma-separated: cluster, namespace, app."),
    OpenApiParameter("idleNodes", bool, description="Add inventory nodes that had no traffic."),
    OpenApiParameter("responseTime", str, enum=["50", "95", "99", "avg"],
                     description="Edge latency: quantile 50, 95 (default) or 99, or avg, the mean (as in Kiali)."),
    OpenApiParameter("at", float, description="Time travel: unix seconds; the graph of the nearest snapshot at or "
                     "before it (404 if none), its `duration` built from the snapshots covering it. Takes the "
                     "place of queryTime. See docs/history.md."),
]


class StoredAnswers:
    """Answers built from stored sources, kept per process and rendered (JSON bytes): a snapshot never
    changes, so every viewer who may see the same namespaces gets the same graph for the same parameters
    (the auto-refreshing graph page of N viewers costs one build per snapshot, not N, and no rendering)."""

    def __init__(self, size: int = 16):
        self.size = size
        self._items: OrderedDict = OrderedDict()
        self._lock = threading.Lock()

    @staticmethod
    def key(request, source, params: GraphParams, kind: str):
        details = getattr(getattr(source, "mesh", source), "details", None) or {}
        snap = details.get("snapshot")
        if source.kind == "live" or not snap:
            return None
        visible = namespace_visibility(request.user, source.cluster)
        seen = tuple(n.name for n in source.namespaces() if visible(n.name))
        window = tuple((details.get("window") or {}).get("snapshots") or ())
        # the cluster's health tolerances colour the stored graph too: editing them is a new answer
        tolerances = json.dumps(source.cluster.health_tolerances, sort_keys=True)
        return (kind, source.cluster.pk, snap["id"], window, params, seen, tolerances)

    def get(self, key):
        if key is None:
            return None
        with self._lock:
            found = self._items.get(key)
            if found is not None:
                self._items.move_to_end(key)
            return found

    def put(self, key, body) -> None:
        if key is None:
            return
        with self._lock:
            self._items[key] = body
            while len(self._items) > self.size:
                self._items.popitem(last=False)


stored_answers = StoredAnswers()


def graph_source(request, cluster, params: GraphParams):
    """(source, params, requested_at): ``at=`` -> the snapshot at or before it; no time asked for ->
    the latest snapshot while it is fresh and holds the window; else the live cluster."""
    at = parse_at(request.query_params.get("at"))
    resolver = stored_resolver()
    if at is not None:
        if at > time.time() + CLOCK_SKEW:
            raise GraphRequestError("at is in the future")
        if resolver is None:
            raise MeshdeckError("this portal keeps no history", code="no_snapshot", http_status=404)
        source = resolver.graph_at(cluster, at, params.duration)
    elif resolver is not None and not request.query_params.get("queryTime"):
        source = resolver.latest(cluster, params.duration)
        if source is None:
            return live_source(cluster), params, None
        at = time.time()
    else:
        return live_source(cluster), params, None
    duration, end = source.traffic.fixed_window
    return source, replace(params, duration=duration, query_time=int(round(end))), at

SOURCE_HEADER = "X-Meshdeck-Source"  # the Kiali-compatible answer's ``source``, as JSON

# Bad input (400), hidden or unknown namespace (404), the API server or Prometheus failing (502),
# down (503) or too slow (504); 401 comes with every authenticated operation (apps.core.openapi).
# Errors raise; the API's exception handler shapes them.
ERROR_STATUSES = (400, 404, 502, 503, 504)


class GraphView(APIView):
    renderer_classes = [FastJSONRenderer]

    @extend_schema(
        operation_id="cluster_graph",
        summary="Traffic graph (Cytoscape.js elements)",
        description="See docs/graph-api.md for the node and edge fields.",
        parameters=GRAPH_PARAMETERS,
        responses={200: GraphSerializer, **error_responses(*ERROR_STATUSES)},
    )
    def get(self, request, name: str):
        cluster = get_cluster_for_user(request.user, name)
        source, params, requested_at = graph_source(request, cluster, parse_graph_params(request.query_params))
        key = stored_answers.key(request, source, params, "cytoscape")
        source_field = source_json(source, params.query_time, requested_at)
        if key is None:
            graph = graph_for_user(request.user, source, params)
            with gc_paused():
                body = to_cytoscape(graph, secret=settings.SECRET_KEY, cluster_name=cluster.name)
            return Response({**body, "source": source_field})
        rendered = stored_answers.get(key)
        if rendered is None:
            graph = graph_for_user(request.user, source, params)
            with gc_paused():
                rendered = FastJSONRenderer().render(to_cytoscape(graph, secret=settings.SECRET_KEY,
                                                                  cluster_name=cluster.name))
            stored_answers.put(key, rendered)
        # a stored answer is kept rendered: only its "source" (the age of the snapshot) is new, and goes
        # last, as {**body, "source": ...} would put it
        tail = FastJSONRenderer().render({"source": source_field})
        sep = b"," if rendered != b"{}" else b""
        return HttpResponse(rendered[:-1] + sep + tail[1:], content_type="application/json")


class GraphSeriesView(APIView):
    renderer_classes = [FastJSONRenderer]

    @extend_schema(
        operation_id="cluster_graph_series",
        summary="Request rate, error rate and p50/p95/p99 over the window, for one node or edge",
        parameters=[
            OpenApiParameter("namespace", str, description="Node (or edge destination) namespace."),
            OpenApiParameter("workload", str), OpenApiParameter("app", str), OpenApiParameter("version", str),
            OpenApiParameter("service", str),
            OpenApiParameter("sourceNamespace", str, description="Edge source ('unknown' for outside the mesh)."),
            OpenApiParameter("sourceWorkload", str), OpenApiParameter("sourceApp", str),
            OpenApiParameter("sourceVersion", str), OpenApiParameter("sourceService", str),
            OpenApiParameter("direction", str, enum=["inbound", "outbound"],
                             description="For a node (default inbound)."),
            OpenApiParameter("duration", str), OpenApiParameter("queryTime", int),
        ],
        responses={200: GraphSeriesSerializer, **error_responses(*ERROR_STATUSES)},
    )
    def get(self, request, name: str):
        cluster = get_cluster_for_user(request.user, name)
        return Response(series_for_user(request.user, live_source(cluster), request.query_params))


class KialiErrorSerializer(serializers.Serializer):
    """Kiali's own error body (handlers.RespondWithError), plus Meshdeck's request id."""

    error = serializers.CharField()
    request_id = serializers.CharField()

    class Meta:
        ref_name = "KialiError"


class KialiGraphView(APIView):
    """GET /api/namespaces/graph as Kiali answers it, so Kiali clients work unchanged."""

    renderer_classes = [FastJSONRenderer]
    error_serializer = KialiErrorSerializer  # every error of this operation, in the schema too

    @extend_schema(
        operation_id="kiali_namespaces_graph",
        summary="Kiali-compatible namespaces graph",
        description="Kiali's JSON (graph/config/common): rates as strings. `cluster` picks the Meshdeck cluster "
                    "(default: the first you may see).",
        parameters=[
            OpenApiParameter("namespaces", str, required=True, description="Comma-separated namespaces."),
            *GRAPH_PARAMETERS[1:],
            OpenApiParameter("cluster", str, description="Meshdeck cluster (default: the first you may see)."),
        ],
        responses={200: KialiGraphSerializer, **error_responses(*ERROR_STATUSES, serializer=KialiErrorSerializer)},
    )
    def get(self, request):
        cluster_name = request.query_params.get("cluster")
        if cluster_name:
            cluster = get_cluster_for_user(request.user, cluster_name)
        else:
            cluster = clusters_for_user(request.user).order_by("name").first()
            if cluster is None:
                raise NotFound("No cluster.")
        if not request.query_params.get("namespaces"):
            raise GraphRequestError("namespaces is required (comma-separated)")
        params = parse_graph_params(request.query_params, default_graph_type="workload", default_inject=False)
        source, params, requested_at = graph_source(request, cluster, params)
        graph = graph_for_user(request.user, source, params)
        # Kiali's body exactly; which source answered goes in a header (see docs/graph-api.md)
        return Response(to_kiali(graph, secret=settings.SECRET_KEY),
                        headers={SOURCE_HEADER: json.dumps(source_json(source, params.query_time, requested_at),
                                                            sort_keys=True)})

    def handle_exception(self, exc):
        """Kiali's error shape, ``{"error": message}`` (plus our request_id), so Kiali clients read it."""
        response = super().handle_exception(exc)
        if isinstance(response.data, dict) and "detail" in response.data:
            response.data = {"error": response.data["detail"], "request_id": response.data.get("request_id", "")}
        return response
