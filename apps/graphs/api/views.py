"""Graph API: Meshdeck's endpoint, side-panel series, and a Kiali-compatible endpoint."""
from __future__ import annotations

from django.conf import settings
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiExample, OpenApiParameter, extend_schema
from rest_framework.exceptions import NotFound
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.clusters.gateway import GatewayError
from apps.clusters.selectors import clusters_for_user, get_cluster_for_user

from ..builder.render import to_cytoscape, to_kiali
from ..selectors import GraphRequestError, graph_for_user, parse_graph_params, series_for_user
from ..telemetry import TelemetryError


def _error(message: str, status: int, code: str) -> Response:
    return Response({"error": message, "code": code}, status=status)


def _guard(fn):
    """Turn the typed errors of the graph path into clear 4xx/5xx answers (never a 500)."""
    try:
        return fn()
    except GraphRequestError as exc:
        return _error(exc.message, exc.http_status, "bad_request" if exc.http_status == 400 else "not_found")
    except TelemetryError as exc:
        return _error(exc.message, exc.http_status, exc.code)
    except GatewayError as exc:
        return _error(f"cluster API: {exc.message}", exc.http_status if exc.http_status >= 500 else 502, exc.code)


GRAPH_PARAMETERS = [
    OpenApiParameter("namespaces", str, description="Comma-separated namespaces (default: all you may see)."),
    OpenApiParameter("graphType", str, enum=["app", "versionedApp", "workload", "service"]),
    OpenApiParameter("duration", str, description="Rate window: 60s (default) up to 6h; e.g. 60s, 5m, 1h."),
    OpenApiParameter("queryTime", int, description="Window end, unix seconds (default now; not in the future)."),
    OpenApiParameter("injectServiceNodes", bool),
    OpenApiParameter("boxBy", str, description="Comma-separated: cluster, namespace, app."),
    OpenApiParameter("idleNodes", bool, description="Add inventory nodes that had no traffic."),
    OpenApiParameter("responseTime", str, enum=["50", "95", "99", "avg"], description="Edge quantile (default 95)."),
]

ERRORS = {400: OpenApiTypes.OBJECT, 404: OpenApiTypes.OBJECT, 503: OpenApiTypes.OBJECT, 504: OpenApiTypes.OBJECT}


class GraphView(APIView):
    @extend_schema(
        operation_id="cluster_graph",
        summary="Traffic graph (Cytoscape.js elements)",
        description="See docs/graph-api.md for the node and edge fields.",
        parameters=GRAPH_PARAMETERS,
        responses={200: OpenApiTypes.OBJECT, **ERRORS},
        examples=[OpenApiExample("edge", response_only=True, value={"elements": {"nodes": [], "edges": [{"data": {
            "id": "…", "source": "…", "target": "…", "protocol": "http", "rates": {"http": 10.0, "http5xx": 0.2},
            "percentErr": 2.0, "percentReq": 47.6, "responseTime": 9.0, "responseTimeAvg": 4.0, "isMTLS": 100.0,
            "healthStatus": "Degraded"}}]}})],
    )
    def get(self, request, name: str):
        cluster = get_cluster_for_user(request.user, name)

        def run():
            params = parse_graph_params(request.query_params)
            graph = graph_for_user(request.user, cluster, params)
            return Response(to_cytoscape(graph, secret=settings.SECRET_KEY, cluster_name=cluster.name))

        return _guard(run)


class GraphSeriesView(APIView):
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
            OpenApiParameter("direction", str, enum=["inbound", "outbound"], description="For a node (default inbound)."),
            OpenApiParameter("duration", str), OpenApiParameter("queryTime", int),
        ],
        responses={200: OpenApiTypes.OBJECT, **ERRORS},
    )
    def get(self, request, name: str):
        cluster = get_cluster_for_user(request.user, name)
        return _guard(lambda: Response(series_for_user(request.user, cluster, request.query_params)))


class KialiGraphView(APIView):
    """GET /api/namespaces/graph as Kiali answers it, so Kiali clients work unchanged."""

    @extend_schema(
        operation_id="kiali_namespaces_graph",
        summary="Kiali-compatible namespaces graph",
        description="Kiali's JSON (graph/config/common): rates as strings. `cluster` picks the Meshdeck cluster "
                    "(default: the first you may see).",
        parameters=[*GRAPH_PARAMETERS, OpenApiParameter("cluster", str)],
        responses={200: OpenApiTypes.OBJECT, **ERRORS},
    )
    def get(self, request):
        cluster_name = request.query_params.get("cluster")
        if cluster_name:
            cluster = get_cluster_for_user(request.user, cluster_name)
        else:
            cluster = clusters_for_user(request.user).order_by("name").first()
            if cluster is None:
                raise NotFound("No cluster.")

        def run():
            if not request.query_params.get("namespaces"):
                raise GraphRequestError("namespaces is required (comma-separated)")
            params = parse_graph_params(request.query_params, default_graph_type="workload", default_inject=False)
            graph = graph_for_user(request.user, cluster, params)
            return Response(to_kiali(graph, secret=settings.SECRET_KEY))

        return _guard(run)
