"""What the overview page shows: visible clusters and namespaces, with counts.

The counting itself is the inventory app's (``namespace_summaries``), so the
overview and the namespaces page can never disagree.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from apps.clusters.crypto import CredentialsUnreadable
from apps.clusters.gateway import GatewayError
from apps.clusters.selectors import clusters_for_user
from apps.inventory.selectors import NamespaceSummary, mesh_view, namespace_summaries


@dataclass
class ClusterSummary:
    cluster: object
    error: str = ""
    namespaces: list[NamespaceSummary] = field(default_factory=list)

    @property
    def totals(self) -> dict[str, int]:
        return {
            "namespaces": len(self.namespaces),
            "workloads": sum(n.workloads for n in self.namespaces),
            "services": sum(n.services for n in self.namespaces),
        }


def overview_for_user(user) -> list[ClusterSummary]:
    result = []
    for cluster in clusters_for_user(user):
        summary = ClusterSummary(cluster=cluster)
        try:
            summary.namespaces = namespace_summaries(mesh_view(user, cluster))
        except GatewayError as exc:
            summary.error = exc.message
        except CredentialsUnreadable as exc:
            summary.error = str(exc)
        result.append(summary)
    return result
