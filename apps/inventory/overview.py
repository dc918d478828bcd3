"""What the overview page shows: visible clusters and namespaces, with counts.

Health comes from the same roll-up as the namespaces page (one request-rate
query per cluster). The counting itself is the inventory app's (``namespace_summaries``), so the
overview and the namespaces page can never disagree. Each cluster is read from
``source_for(cluster)`` (a ``GraphSource``: the view passes ``live_source``).
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from apps.clusters.crypto import CredentialsUnreadable
from apps.clusters.gateway import GatewayError
from apps.clusters.selectors import clusters_for_user
from apps.graphs.sources import GraphSource
from apps.meshconfig.meshview import mesh_view

from .selectors import NamespaceSummary, attach_health, namespace_summaries


@dataclass
class ClusterSummary:
    cluster: object
    error: str = ""
    health_error: str = ""  # Prometheus unreadable: health shows availability only
    namespaces: list[NamespaceSummary] = field(default_factory=list)

    @property
    def totals(self) -> dict[str, int]:
        return {
            "namespaces": len(self.namespaces),
            "workloads": sum(n.workloads for n in self.namespaces),
            "services": sum(n.services for n in self.namespaces),
        }


def overview_for_user(user, source_for: Callable[[Any], GraphSource]) -> list[ClusterSummary]:
    result = []
    for cluster in clusters_for_user(user):
        summary = ClusterSummary(cluster=cluster)
        try:
            view = mesh_view(user, source_for(cluster))
            summary.namespaces = namespace_summaries(view)
            summary.health_error = attach_health(user, view, summary.namespaces)
        except GatewayError as exc:
            summary.error = exc.message
        except CredentialsUnreadable as exc:
            summary.error = str(exc)
        result.append(summary)
    return result
