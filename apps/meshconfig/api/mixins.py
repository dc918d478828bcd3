"""What every cluster API view shares: the cluster and the caller's MeshView, read once per request."""
from __future__ import annotations

import json
from typing import TYPE_CHECKING

from drf_spectacular.utils import OpenApiParameter

from apps.clusters.models import Cluster
from apps.clusters.selectors import get_cluster_for_user
from apps.clusters.sources import MeshSource, live_mesh_source, mesh_source_at, parse_at
from apps.core.api import error_responses
from apps.core.openapi import MeshdeckAutoSchema

from ..meshview import MeshView, mesh_view

ALL = "-"  # namespace placeholder for "every namespace the caller may see" (never a valid namespace name)
NS_DOC = "Namespace name, or '-' for every namespace the caller may see."
# A cluster that cannot be read answers 503 (502/504 for errors or timeouts from its API server);
# 401 and 404 come with every such operation (apps.core.openapi).
CLUSTER_ERRORS = error_responses(400, 502, 503, 504)  # 400: a bad ``at`` (time travel)


if TYPE_CHECKING:  # mixed into DRF views: their request and kwargs
    from rest_framework.views import APIView as _ViewBase
else:
    _ViewBase = object


AT_PARAM = OpenApiParameter(
    "at", float, description="Time travel: unix seconds; answer from the nearest snapshot at or before it (404 if "
    "none). Which snapshot answered is in the X-Meshdeck-Source header (docs/history.md).")
SOURCE_HEADER = "X-Meshdeck-Source"


class TimeTravelSchema(MeshdeckAutoSchema):
    """Every operation of these views takes ``at``."""

    def get_override_parameters(self):
        return [*super().get_override_parameters(), AT_PARAM]


class ClusterMeshMixin(_ViewBase):
    """``self.mesh()``: the cluster (404 without a grant) and the caller's MeshView, read from
    ``source_for(cluster)`` (the live cluster; views that show traffic too use the graphs app's
    ``live_source``).

    Errors reading the cluster are MeshdeckErrors: the API's exception handler
    answers them in the one error shape with their status (never a 500).
    """

    schema = TimeTravelSchema()
    source_for: staticmethod[[Cluster], MeshSource] = staticmethod(live_mesh_source)
    # ``?at=T``: the stored source of the snapshot at or before T (views with traffic: with its traffic)
    source_at = staticmethod(mesh_source_at)

    def mesh(self) -> MeshView:
        if not hasattr(self, "_mesh"):
            cluster = get_cluster_for_user(self.request.user, self.kwargs["cluster"])
            at = parse_at(self.request.query_params.get("at"))
            source = self.source_for(cluster) if at is None else self.source_at(cluster, at)
            self._mesh = mesh_view(self.request.user, source)
        return self._mesh

    def finalize_response(self, request, response, *args, **kwargs):
        """A stored source says which snapshot answered, in a header (list bodies keep their shape)."""
        view = getattr(self, "_mesh", None)
        source = getattr(view, "source", None)
        details = getattr(getattr(source, "mesh", source), "details", None)
        if details and response.status_code < 400:
            response[SOURCE_HEADER] = json.dumps({"kind": source.kind, "at": source.at, **details}, sort_keys=True)
        return super().finalize_response(request, response, *args, **kwargs)

    def namespace_arg(self) -> str | None:
        ns = self.kwargs.get("namespace")
        return None if ns in (None, ALL) else ns
