"""Building the graph answer of one key at one snapshot (sync: runs in the database thread).

The answer is exactly what ``GET /api/clusters/<c>/graph?at=<the snapshot's time>`` with the same
options returns to a user with the key's visibility (the graph of that snapshot), so a client can
switch between polling and push without seeing a difference.
"""
from __future__ import annotations

import logging
import time
from dataclasses import replace
from typing import Any

from django.conf import settings

from apps.accounts.selectors import visibility_from_key
from apps.clusters.models import Cluster
from apps.clusters.sources import stored_resolver
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


def graph_source(cluster: Cluster, taken_at: float | None, duration: int) -> GraphSource:
    """Where a pushed graph reads its data: the snapshot it announces, through the stored-source
    resolver that apps.history registers (``apps.clusters.sources.stored_resolver``), exactly as
    ``GET /api/clusters/<c>/graph?at=<taken_at>`` reads it (for a ``partial`` snapshot, which holds
    no traffic, that is the latest one with traffic); the live cluster when there is no history
    or no snapshot of that moment (pruned, or the signal came from elsewhere)."""
    resolver = stored_resolver()
    if resolver is not None and taken_at is not None:
        try:
            return resolver.graph_at(cluster, taken_at, duration)
        except MeshdeckError as exc:  # no such snapshot (any more): the live graph of that moment
            logger.info("Pushed graph of %s at %s from the live cluster: %s", cluster.name, taken_at, exc)
    return live_source(cluster)


def build_graph_answer(key: GraphKey, snapshot_id: int | None, taken_at: float | None) -> dict[str, Any]:
    """The graph answer for ``key`` at ``taken_at`` (None: now). Raises GraphBuildError."""
    cluster = Cluster.objects.filter(pk=key.cluster_id).first()
    if cluster is None:
        raise GraphBuildError("not_found", "This cluster no longer exists.", status=404)
    query_time = int(taken_at if taken_at is not None else time.time())
    try:
        source = graph_source(cluster, taken_at, key.options.duration)
        duration = key.options.duration
        if source.traffic.fixed_window is not None:  # a stored source answers the window it holds
            duration, end = source.traffic.fixed_window
            query_time = int(round(end))
        params = replace(key.options.params(key.namespaces, query_time), duration=duration)
        graph = graph_for_visibility(visibility_from_key(key.visibility), source, params)
    except MeshdeckError as exc:
        raise GraphBuildError(exc.code, exc.message, status=exc.http_status) from None
    body = to_cytoscape(graph, secret=settings.SECRET_KEY, cluster_name=cluster.name)
    body["source"] = source_json(source, query_time, taken_at)
    return body
