"""Building the graph answer of one key at one snapshot (sync: runs in the database thread).

The answer is exactly what ``GET /api/clusters/<c>/graph`` with the same options would return
to a user with the key's visibility, with the window ending at the snapshot's time, so a client
can switch between polling and push without seeing a difference.
"""
from __future__ import annotations

import logging
import time
from typing import Any

from django.conf import settings

from apps.accounts.selectors import visibility_from_key
from apps.clusters.models import Cluster
from apps.core.errors import MeshdeckError
from apps.graphs.builder.render import to_cytoscape
from apps.graphs.selectors import graph_for_visibility
from apps.graphs.sources import GraphSource, live_source, source_json

from .spec import GraphKey

logger = logging.getLogger(__name__)


class GraphBuildError(Exception):
    """The graph could not be built; ``code`` and ``detail`` go to the client as they are."""

    def __init__(self, code: str, detail: str, *, status: int = 503):
        super().__init__(detail)
        self.code = code
        self.detail = detail
        self.status = status


def graph_source(cluster: Cluster, snapshot_id: int | None) -> GraphSource:
    """Where a pushed graph reads its data.

    The graph selectors' own choice for "the latest graph": today the live source; once
    snapshots serve the latest graph (apps.history), the same call answers from the snapshot,
    and this is the one place to pass ``snapshot_id`` on if a stored source must be asked for.
    """
    return live_source(cluster)


def build_graph_answer(key: GraphKey, snapshot_id: int | None, taken_at: float | None) -> dict[str, Any]:
    """The graph answer for ``key`` at ``taken_at`` (None: now). Raises GraphBuildError."""
    cluster = Cluster.objects.filter(pk=key.cluster_id).first()
    if cluster is None:
        raise GraphBuildError("not_found", "This cluster no longer exists.", status=404)
    query_time = int(taken_at if taken_at is not None else time.time())
    params = key.options.params(key.namespaces, query_time)
    source = graph_source(cluster, snapshot_id)
    try:
        graph = graph_for_visibility(visibility_from_key(key.visibility), source, params)
    except MeshdeckError as exc:
        raise GraphBuildError(exc.code, exc.message, status=exc.http_status) from None
    body = to_cytoscape(graph, secret=settings.SECRET_KEY, cluster_name=cluster.name)
    body["source"] = source_json(source, query_time)
    return body
