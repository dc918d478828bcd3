"""The left navigation every page shares: which cluster its links point at, which entry is current.

A template context processor (settings.TEMPLATES): the pages' own views need not pass anything.
Entries of apps that are not installed yet (history, changes, audit review) are resolved in the
template with ``{% url ... as x %}``, so they appear once their URL names exist.
"""
from __future__ import annotations

from apps.accounts.selectors import is_cluster_admin
from apps.clusters.selectors import clusters_for_user

# URL namespace (or bare URL name) -> the navigation entry it belongs to
SECTIONS = {
    "inventory:overview": "overview",
    "graph-page": "graph",
    "inventory:namespaces": "namespaces",
    "inventory:workloads": "workloads",
    "inventory:workload": "workloads",
    "inventory:apps": "apps",
    "inventory:app": "apps",
    "inventory:services": "services",
    "inventory:service": "services",
    "meshconfig": "istio",
    "clusters": "clusters",
    "history": "history",
    "changes": "changes",
    "auditreview": "audit",
    "accounts:profile": "profile",
}


def _section(match) -> str:
    if match is None:
        return ""
    return SECTIONS.get(match.view_name) or SECTIONS.get(match.namespace, "")


def navigation(request):
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    clusters = list(clusters_for_user(user).order_by("name"))
    match = getattr(request, "resolver_match", None)
    kwargs = match.kwargs if match else {}
    wanted = kwargs.get("cluster") or kwargs.get("name") or request.GET.get("cluster")
    current = next((c for c in clusters if c.name == wanted), clusters[0] if clusters else None)
    return {"nav": {
        "clusters": [c.name for c in clusters],
        "cluster": current.name if current else "",
        "section": _section(match),
        # Clusters entry: superusers, and admins of the cluster the links point at
        "is_admin": bool(user.is_superuser or (current and is_cluster_admin(user, current))),
    }}
