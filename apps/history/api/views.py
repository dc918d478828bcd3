"""History API: the snapshots of a cluster, the diff between two moments, and a timeline."""
from __future__ import annotations

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework.generics import GenericAPIView
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.clusters.selectors import get_cluster_for_user
from apps.core.api import error_responses
from apps.core.timeparse import parse_unix_time

from .. import selectors
from .serializers import DiffSerializer, SnapshotSerializer, TimelineSerializer

NS_PARAM = OpenApiParameter("namespaces", str, description="Comma-separated (default: every namespace you may see)")


class SnapshotListAPI(GenericAPIView):
    serializer_class = SnapshotSerializer

    @extend_schema(
        operation_id="cluster_snapshots", summary="A cluster's snapshots, newest first",
        parameters=[OpenApiParameter("since", float, description="Unix seconds (default: all)"),
                    OpenApiParameter("until", float, description="Unix seconds (default: now)")],
        responses={200: SnapshotSerializer(many=True), **error_responses(400)}, tags=["history"])
    def get(self, request, cluster: str):
        c = get_cluster_for_user(request.user, cluster)
        q = request.query_params
        qs = selectors.snapshot_list(request.user, c, since=parse_unix_time(q.get("since"), "since"),
                                     until=parse_unix_time(q.get("until"), "until"))
        page = self.paginate_queryset(qs)
        rows = [selectors.snapshot_row(request.user, c, s) for s in (page if page is not None else qs)]
        return self.get_paginated_response(rows) if page is not None else Response(rows)


class DiffAPI(APIView):
    @extend_schema(
        operation_id="cluster_diff", summary="What changed between two moments (their nearest snapshots)",
        description="Nodes and edges added and removed, edges whose rate (relative %) or error % (points) moved "
                    "beyond `threshold`, health changes, workloads scaled/restarted, sidecars added/removed, Istio "
                    "objects added/removed/changed with a YAML diff, validation findings that appeared or cleared. "
                    "See docs/history.md.",
        parameters=[OpenApiParameter("from", float, required=True, description="Unix seconds"),
                    OpenApiParameter("to", float, description="Unix seconds (default: now)"), NS_PARAM,
                    OpenApiParameter("threshold", float, description="Percent (default 10)"),
                    OpenApiParameter("graphType", str, enum=["app", "versionedApp", "workload", "service"],
                                     description="Graph compared (default workload)")],
        responses={200: DiffSerializer, **error_responses(400, 503)}, tags=["history"])
    def get(self, request, cluster: str):
        c = get_cluster_for_user(request.user, cluster)
        req = selectors.parse_diff_request(request.user, c, request.query_params)
        return Response(selectors.diff_for_user(request.user, c, req))


class TimelineAPI(APIView):
    @extend_schema(
        operation_id="cluster_timeline", summary="Snapshot times with each namespace's health, and the events "
        "that explain changes (applied changes, config changes between snapshots, health changes)",
        parameters=[OpenApiParameter("since", float, description="Unix seconds (default: 24 h before until)"),
                    OpenApiParameter("until", float, description="Unix seconds (default: now)"), NS_PARAM],
        responses={200: TimelineSerializer, **error_responses(400, 503)}, tags=["history"])
    def get(self, request, cluster: str):
        c = get_cluster_for_user(request.user, cluster)
        return Response(selectors.timeline_for_user(request.user, c, request.query_params))
