"""Who may read which audit events. Every page, API call and export goes through
``events_for_user``: the narrowing happens in the query, never after it.

- superusers: everything;
- a cluster's admins: every event about that cluster;
- anyone else with grants: events in the namespaces they may see (the same
  glob rules as every other page);
- everyone: their own logins and tokens (and failed logins to their account).
"""
from __future__ import annotations

from django.db.models import Q, QuerySet

from apps.accounts.selectors import is_cluster_admin, namespace_visibility
from apps.audit.models import AuditEvent
from apps.clusters.selectors import clusters_for_user

_OWN_ACTIONS = Q(action__startswith="auth.") | Q(action__startswith="token.")


def events_for_user(user) -> QuerySet[AuditEvent]:
    if not getattr(user, "is_authenticated", False) or not user.is_active:
        return AuditEvent.objects.none()
    if user.is_superuser:
        return AuditEvent.objects.all()
    allowed = _OWN_ACTIONS & (Q(actor_user_id=user.pk) | Q(target_type="user", target_id=str(user.pk)))
    for cluster in clusters_for_user(user):
        if is_cluster_admin(user, cluster):
            allowed |= Q(target_cluster=cluster.name)
            continue
        visible = namespace_visibility(user, cluster)
        # Glob patterns are matched in Python exactly as elsewhere, against the
        # namespaces that have events (few), then narrowed in SQL.
        namespaces = [
            ns for ns in AuditEvent.objects.filter(target_cluster=cluster.name).exclude(target_namespace="")
            .values_list("target_namespace", flat=True).distinct() if visible(ns)
        ]
        if namespaces:
            allowed |= Q(target_cluster=cluster.name, target_namespace__in=namespaces)
    return AuditEvent.objects.filter(allowed)


def chain_status() -> dict:
    """The last verification (when, by whom, result) and the chain's head."""
    from apps.audit.models import AuditChainHead, AuditCheckpoint

    last = AuditEvent.objects.filter(action="audit.verify").order_by("-seq").first()
    head = AuditChainHead.objects.filter(pk=1).first()
    checkpoint = AuditCheckpoint.objects.order_by("-id").first()
    return {
        "head_seq": head.seq if head else 0,
        "last_checkpoint_seq": checkpoint.seq if checkpoint else None,
        "last_checkpoint_at": checkpoint.created_at if checkpoint else None,
        "last_verified_at": last.created_at if last else None,
        "last_verified_by": (last.actor_username or last.actor_auth) if last else None,
        "last_verified_ok": (last.outcome == "ok") if last else None,
        "last_verified_message": last.message if last else "",
    }
