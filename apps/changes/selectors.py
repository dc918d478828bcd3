"""Reads of change requests; authorization inside (a change is seen by who sees its namespace)."""
from __future__ import annotations

import fnmatch
from collections import defaultdict

from django.contrib.auth import get_user_model
from django.db.models import Q, QuerySet

from apps.accounts.models import Grant
from apps.accounts.roles import Role
from apps.accounts.selectors import namespace_q, namespace_role, namespace_visibility, namespace_visibility_key
from apps.clusters.selectors import clusters_for_user

from .errors import ChangeNotFound
from .models import ChangeRequest


def changes_for_user(user, *, cluster: str = "", namespace: str = "", status: str = "",
                     kind: str = "", requester: str = "") -> QuerySet[ChangeRequest]:
    """The changes in namespaces the user may see, newest first, optionally filtered: one query,
    whose visibility filter the database applies (a page of the list reads one page of rows)."""
    visible = Q(pk__in=[])
    for c in clusters_for_user(user):
        visible |= Q(cluster_id=c.pk) & namespace_q(namespace_visibility_key(user, c))
    qs: QuerySet = ChangeRequest.objects.filter(visible).select_related("cluster", "requester")
    if cluster:
        qs = qs.filter(cluster__name=cluster)
    if namespace:
        qs = qs.filter(namespace=namespace)
    if status:
        qs = qs.filter(status__in=[s for s in status.split(",") if s])
    if kind:
        qs = qs.filter(kind=kind)
    if requester:
        qs = qs.filter(requester__username=requester)
    return qs


def get_change_for_user(user, change_id: int) -> ChangeRequest:
    """The change if the user may see its namespace; ChangeNotFound (404) otherwise."""
    change = ChangeRequest.objects.select_related("cluster", "requester").filter(pk=change_id).first()
    if change is None or not clusters_for_user(user).filter(pk=change.cluster_id).exists() \
            or not namespace_visibility(user, change.cluster)(change.namespace):
        raise ChangeNotFound("No such change request, or not one you may see.")
    return change


def can_review(user, change: ChangeRequest) -> bool:
    role = namespace_role(user, change.cluster, change.namespace)
    return role is not None and role >= Role.APPROVER and user.pk != change.requester_id


def waiting_for_review(user) -> list[ChangeRequest]:
    """Submitted changes this user may approve (not their own, not already approved by them)."""
    out = []
    for change in changes_for_user(user, status=ChangeRequest.Status.SUBMITTED):
        if can_review(user, change) and not change.approvals.filter(
                reviewer=user, payload_hash=change.payload_hash, voided_at__isnull=True).exists():
            out.append(change)
    return out


def namespace_approvers(cluster, namespace: str) -> list[int]:
    """Ids of the active users who may review changes in this namespace (grants, teams, superusers)."""
    users: dict[int, None] = defaultdict(lambda: None)
    grants = Grant.objects.filter(cluster=cluster, role__gte=Role.APPROVER).prefetch_related("team__members")
    for grant in grants:
        if not fnmatch.fnmatchcase(namespace, grant.namespace_pattern):
            continue
        if grant.user_id:
            users[grant.user_id] = None
        elif grant.team is not None:
            for member in grant.team.members.all():
                users[member.pk] = None
    active = get_user_model().objects.filter(is_active=True).filter(Q(pk__in=list(users)) | Q(is_superuser=True))
    return sorted(active.values_list("pk", flat=True))


def preview_for_user(user, change: ChangeRequest) -> dict:
    """The stored preview, narrowed to what the user may see: clients and findings in namespaces
    without a grant are left out (``hidden_clients`` counts the clients left out)."""
    preview = dict(change.preview or {})
    allowed = namespace_visibility(user, change.cluster)

    def visible(name: str) -> bool:
        return allowed(name.split("/", 1)[0])

    traffic = []
    for split in preview.get("traffic", []):
        clients = [c for c in split.get("clients", []) if visible(c)]
        if split.get("clients") and not clients:
            continue
        traffic.append({**split, "clients": clients, "hidden_clients": len(split.get("clients", [])) - len(clients)})
    preview["traffic"] = traffic
    for key in ("findings", "broken_elsewhere"):
        preview[key] = [f for f in preview.get(key, []) if allowed(f.get("namespace") or change.namespace)]
    preview["restarts"] = [r for r in preview.get("restarts", []) if allowed(r["workload"].get("namespace", ""))]
    return preview
