"""What every cluster API view shares: the cluster and the caller's MeshView, read once per request."""
from __future__ import annotations

from typing import TYPE_CHECKING

from apps.clusters.models import Cluster
from apps.clusters.selectors import get_cluster_for_user
from apps.clusters.sources import MeshSource, live_mesh_source
from apps.core.api import error_responses

from ..meshview import MeshView, mesh_view

ALL = "-"  # namespace placeholder for "every namespace the caller may see" (never a valid namespace name)
NS_DOC = "Namespace name, or '-' for every namespace the caller may see."
# A cluster that cannot be read answers 503 (502/504 for errors or timeouts from its API server);
# 401 and 404 come with every such operation (apps.core.openapi).
CLUSTER_ERRORS = error_responses(502, 503, 504)


if TYPE_CHECKING:  # mixed into DRF views: their request and kwargs
    from rest_framework.views import APIView as _ViewBase
else:
    _ViewBase = object


class ClusterMeshMixin(_ViewBase):
    """``self.mesh()``: the cluster (404 without a grant) and the caller's MeshView, read from
    ``source_for(cluster)`` (the live cluster; views that show traffic too use the graphs app's
    ``live_source``).

    Errors reading the cluster are MeshdeckErrors: the API's exception handler
    answers them in the one error shape with their status (never a 500).
    """

    source_for: staticmethod[[Cluster], MeshSource] = staticmethod(live_mesh_source)

    def mesh(self) -> MeshView:
        if not hasattr(self, "_mesh"):
            cluster = get_cluster_for_user(self.request.user, self.kwargs["cluster"])
            self._mesh = mesh_view(self.request.user, self.source_for(cluster))
        return self._mesh

    def namespace_arg(self) -> str | None:
        ns = self.kwargs.get("namespace")
        return None if ns in (None, ALL) else ns
