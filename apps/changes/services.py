"""Every write of the change flow, and every rule of it (docs/changes.md, "The flow").

Each service runs in one transaction holding the change's row lock and writes its audit event
inside it. A refused step raises a ``ChangeRefused``: the transaction is rolled back first, then
the refusal is recorded on its own (outcome ``denied``), so nothing is half-applied and nothing
is lost from the trail. Live notifications go out after the commit.

Cluster writes (``change_execute``, run by the Celery task) happen outside any database
transaction: a Kubernetes API server cannot roll back with PostgreSQL.
"""
from __future__ import annotations

import functools
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from apps.accounts.roles import Role
from apps.accounts.selectors import is_cluster_admin, namespace_role, namespace_visibility
from apps.audit.actor import Actor, acting_as
from apps.audit.services import Target as AuditTarget
from apps.audit.services import audit_denied, audit_record
from apps.clusters.gateway import GatewayError, ObjectConflict
from apps.clusters.gateways import gateway_for
from apps.clusters.inventory import ISTIO_KINDS, Inventory
from apps.live.events import send_event_on_commit

from .errors import (
    ChangeBlocked,
    ChangeConflict,
    ChangeEdited,
    ChangeExpired,
    ChangeInvalid,
    ChangeLocked,
    ChangeNotFound,
    ChangeRefused,
    OutsideWindow,
    ReasonRequired,
    ReauthRequired,
)
from .models import Approval, ApprovalPolicy, ChangeLock, ChangeRequest, ChangeWindow, target_key
from .preview import preview_change
from .render import render_change
from .rendered import RenderedChange
from .selectors import namespace_approvers
from .writes import NAMESPACE_KIND, Target, capture_prior_state, rollback_writes, write_from_dict

log = logging.getLogger("meshdeck.changes")
Status = ChangeRequest.Status

REAUTH_SESSION_KEY = "meshdeck_reauth_at"


def reauth_seconds() -> int:
    return int(getattr(settings, "MESHDECK_REAUTH_SECONDS", 300))


def change_ttl() -> timedelta:
    return timedelta(hours=float(getattr(settings, "MESHDECK_CHANGE_TTL_HOURS", 72)))


# ---------------------------------------------------------------------------
# helpers
# ---------------------------------------------------------------------------


def change_audit_target(change: ChangeRequest) -> AuditTarget:
    return AuditTarget(type="change", name=f"{change.kind} {change.summary}"[:253] if change.summary else change.kind,
                       cluster=change.cluster.name, namespace=change.namespace, id=change.pk or "")


def changes_user_group(cluster_id: int, user_id: int) -> str:
    """The channel-layer group of one person's change notifications on one cluster."""
    return f"changes.{cluster_id}.user.{user_id}"


def change_event(change: ChangeRequest, event: str) -> dict[str, Any]:
    return {"type": event, "change": {
        "id": change.pk, "cluster": change.cluster.name, "namespace": change.namespace, "kind": change.kind,
        "summary": change.summary, "status": change.status, "requester": change.requester.get_username(),
        "url": f"/changes/{change.pk}/", "error_message": change.error_message,
    }}


def _notify(change: ChangeRequest, event: str = "change.status", *, approvers: bool = False) -> None:
    """After commit: the requester hears every status change (``change.status``); with ``approvers``,
    the namespace's approvers hear of a request waiting for them (``change.submitted``)."""
    send_event_on_commit(changes_user_group(change.cluster_id, change.requester_id),
                         change_event(change, "change.status"))
    if approvers:
        payload = change_event(change, event)
        for uid in namespace_approvers(change.cluster, change.namespace):
            if uid != change.requester_id:
                send_event_on_commit(changes_user_group(change.cluster_id, uid), payload)


def refusals_recorded(action: str) -> Callable:
    """Runs the service; a ChangeRefused it raises is recorded (after the rollback) as denied."""
    def wrap(fn):
        @functools.wraps(fn)
        def inner(*args, **kwargs):
            try:
                return fn(*args, **kwargs)
            except ChangeRefused as exc:
                change = kwargs.get("change")
                if isinstance(exc, ChangeExpired) and change is not None:
                    change_expire(change_id=change.pk)
                target = getattr(exc, "audit_target", None) or (
                    change_audit_target(change) if change is not None else None)
                audit_denied(action, target=target, message=exc.message)
                raise
        return inner
    return wrap


def _refuse(cls, message: str, target: AuditTarget | None = None, **kwargs) -> ChangeRefused:
    exc = cls(message, **kwargs)
    exc.audit_target = target
    return exc


def _locked(change: ChangeRequest) -> ChangeRequest:
    fresh = ChangeRequest.objects.select_for_update().select_related("cluster", "requester").filter(
        pk=change.pk).first()
    if fresh is None:
        raise ChangeNotFound("No such change request.")
    return fresh


def _require_role(user, change_or_cluster, namespace: str, role: Role, what: str,
                  target: AuditTarget | None = None) -> None:
    cluster = getattr(change_or_cluster, "cluster", change_or_cluster)
    have = namespace_role(user, cluster, namespace)
    if have is None:
        raise ChangeNotFound("No such change request, or not one you may see.") if hasattr(
            change_or_cluster, "cluster") else ChangeNotFound(f"No namespace '{namespace}' that you may see.")
    if have < role:
        raise _refuse(ChangeRefused, f"{what} needs the {role.label} role on namespace {namespace} "
                      f"of cluster {cluster.name}; you are {Role(have).label}.", target)


def _check_expiry(change: ChangeRequest) -> None:
    if change.expires_at and change.expires_at <= timezone.now() and change.status in ChangeRequest.EDITABLE:
        raise ChangeExpired(f"This change expired at {change.expires_at:%Y-%m-%d %H:%M} UTC; file it again.")


def check_recent_auth(user, *, password: str | None, reauth_at: float | None) -> None:
    """Approving and applying: the password now (API, or the UI form), or a UI re-auth within five minutes."""
    if password:
        if not user.check_password(password):
            raise ReauthRequired("The password is wrong: enter your own password again to confirm.")
        return
    if reauth_at is not None and time.time() - float(reauth_at) <= reauth_seconds():
        return
    raise ReauthRequired("Confirm with your password: approving and applying need it again "
                         f"(in the UI it is remembered for {reauth_seconds() // 60} minutes).")


def _inventory(change_cluster) -> Inventory:
    return gateway_for(change_cluster).inventory()


def live_versions(inventory: Inventory, targets: list[Target] | tuple[Target, ...]) -> dict[str, str]:
    """resourceVersion of every target as the inventory shows it ('' when absent)."""
    out: dict[str, str] = {}
    for t in targets:
        version = ""
        if t.kind == NAMESPACE_KIND:
            ns = next((n for n in inventory.namespaces if n.name == t.name), None)
            version = ns.resource_version if ns else ""
        elif t.kind in ISTIO_KINDS:
            obj = next((o for o in inventory.istio_objects if (o.kind, o.namespace, o.name) == tuple(t)), None)
            version = obj.resource_version if obj else ""
        else:
            wl = next((w for w in inventory.workloads if (w.kind, w.namespace, w.name) == tuple(t)), None)
            version = wl.resource_version if wl else ""
        out[target_key(t)] = version or ""
    return out


def _namespace_of(data: dict[str, Any], rollback_of: ChangeRequest | None) -> str:
    if rollback_of is not None:
        return rollback_of.namespace
    ns = data.get("namespace") if isinstance(data, dict) else None
    if not isinstance(ns, str) or not ns:
        raise ChangeInvalid({"namespace": ["Name the namespace of the change."]})
    return ns


def _render(cluster, data: dict[str, Any], inventory: Inventory, change_id: int | None) -> RenderedChange:
    return render_change(data, inventory, change_id=change_id)


def _store_rendered(change: ChangeRequest, rendered: RenderedChange, inventory: Inventory) -> None:
    preview = preview_change(rendered, inventory, root_namespace=change.cluster.istio_namespace)
    change.kind = rendered.kind
    change.params = rendered.params
    change.summary = rendered.summary[:500]
    change.payload = rendered.payload()
    change.payload_hash = rendered.payload_hash()
    change.rendered = rendered.as_dict()
    change.preview = preview.as_dict()
    change.targets = [t.as_dict() for t in rendered.targets]


def _lock_targets(change: ChangeRequest) -> None:
    """One open change per target: (re)take the locks of ``change.targets`` (409 naming the holder)."""
    ChangeLock.objects.filter(change=change).delete()
    for t in change.target_list():
        try:
            with transaction.atomic():
                ChangeLock.objects.create(cluster=change.cluster, kind=t.kind, namespace=t.namespace, name=t.name,
                                          change=change)
        except IntegrityError:
            holder = ChangeLock.objects.filter(cluster=change.cluster, kind=t.kind, namespace=t.namespace,
                                               name=t.name).values_list("change_id", flat=True).first()
            raise _refuse(ChangeLocked, f"{t} is already the target of open change #{holder}: finish or cancel "
                          "that one first (one open change per object).",
                          AuditTarget(type="change", name=str(t), cluster=change.cluster.name,
                                      namespace=change.namespace)) from None


def _release(change: ChangeRequest) -> None:
    ChangeLock.objects.filter(change=change).delete()


def _void_approvals(change: ChangeRequest) -> int:
    return Approval.objects.filter(change=change, voided_at__isnull=True).update(voided_at=timezone.now())


def approvals_needed(cluster, namespace: str) -> int:
    policy = ApprovalPolicy.objects.filter(cluster=cluster, namespace=namespace).first()
    return policy.approvals_needed if policy else 1


def _snapshot(change: ChangeRequest) -> dict[str, Any]:
    return {"status": change.status, "payload_sha256": change.payload_hash}


def _close(change: ChangeRequest, status: str, action: str, *, decided: bool = True, **after: Any) -> None:
    """Ends a locked change in ``status`` (rejected, cancelled, expired): its locks are released, and
    ``action`` is audited with the new status and ``after``."""
    before = _snapshot(change)
    change.status = status
    if decided:
        change.decided_at = timezone.now()
    change.save()
    _release(change)
    audit_record(action, target=change_audit_target(change), before=before, after={"status": change.status, **after})
    _notify(change, "change.status")


# ---------------------------------------------------------------------------
# the steps
# ---------------------------------------------------------------------------


@refusals_recorded("change.create")
def change_create(*, cluster, user, data: dict[str, Any], rollback_of: ChangeRequest | None = None,
                  submit: bool = False) -> ChangeRequest:
    """File a change (a draft, or submitted at once with ``submit``). Operators and above."""
    if not isinstance(data, dict):
        raise ChangeInvalid({"non_field_errors": ["Send the change as a JSON object."]})
    namespace = _namespace_of(data, rollback_of)
    if not namespace_visibility(user, cluster)(namespace):
        raise ChangeNotFound(f"No namespace '{namespace}' that you may see on cluster {cluster.name}.")
    _require_role(user, cluster, namespace, Role.OPERATOR, "Filing a change",
                  AuditTarget(type="change", cluster=cluster.name, namespace=namespace, name=str(data.get("kind"))))
    inventory = _inventory(cluster)
    rendered = _render(cluster, data, inventory, None)
    if rollback_of is None and rendered.kind == "rollback":
        raise ChangeInvalid({"kind": [
            "A rollback is filed from the applied change (POST /api/changes/<id>/rollback/)."]})
    if rendered.kind != "rollback" and rendered.targets and all(
            t.namespace != namespace and not (t.kind == NAMESPACE_KIND and t.name == namespace)
            for t in rendered.targets):
        raise ChangeInvalid({"namespace": ["The change writes nothing in this namespace."]})
    if submit:
        # filed and submitted in one go: a change that cannot be submitted is not left behind as a draft
        reasons = list(preview_change(rendered, inventory, root_namespace=cluster.istio_namespace).blocking_reasons)
        if reasons:
            raise _refuse(ChangeBlocked, "This change cannot be submitted: " + " ".join(reasons),
                          AuditTarget(type="change", cluster=cluster.name, namespace=namespace, name=rendered.kind),
                          reasons=reasons)
    with transaction.atomic():
        change = ChangeRequest(cluster=cluster, namespace=namespace, requester=user, rollback_of=rollback_of,
                               expires_at=timezone.now() + change_ttl(), payload={}, params={})
        _store_rendered(change, rendered, inventory)
        change.save()
        _store_rendered(change, rendered.with_change_id(change.pk), inventory)
        change.save()
        _lock_targets(change)
        audit_record("change.create", target=change_audit_target(change), after={
            "kind": change.kind, "params": change.params, "payload_sha256": change.payload_hash,
            "targets": change.targets, "rollback_of": rollback_of.pk if rollback_of else None})
        if rollback_of is not None:
            audit_record("change.rollback", target=change_audit_target(rollback_of),
                         after={"rollback_change": change.pk, "payload_sha256": change.payload_hash})
        _notify(change)
    if submit:
        change = change_submit(change=change, user=user)
    return change


@refusals_recorded("change.edit")
def change_edit(*, change: ChangeRequest, user, data: dict[str, Any]) -> ChangeRequest:
    """The requester changes the input. Any approval is void; a reviewed change goes back to review."""
    if not isinstance(data, dict):
        raise ChangeInvalid({"non_field_errors": ["Send the change as a JSON object."]})
    # a partial edit: the fields given replace the change's (normalised) ones
    data = {**change.params, **data, "kind": data.get("kind", change.kind),
            "namespace": data.get("namespace", change.namespace)}
    if data["namespace"] != change.namespace or data["kind"] != change.kind:
        raise ChangeInvalid({"non_field_errors": ["A change keeps its kind and namespace: file a new one instead."]})
    if change.kind == "rollback":
        raise _refuse(ChangeConflict, "A rollback cannot be edited: cancel it and roll back again.")
    inventory = _inventory(change.cluster)
    rendered = _render(change.cluster, data, inventory, change.pk)
    with transaction.atomic():
        change = _locked(change)
        if change.requester_id != user.pk:
            raise ChangeRefused("Only the person who filed a change can edit it.")
        if change.status not in ChangeRequest.EDITABLE:
            raise ChangeConflict(f"A change that is {change.get_status_display().lower()} cannot be edited.")
        _check_expiry(change)
        before = {"params": change.params, "payload_sha256": change.payload_hash, "status": change.status}
        _store_rendered(change, rendered, inventory)
        voided = _void_approvals(change)
        if change.status != Status.DRAFT:
            change.status = Status.SUBMITTED
            change.bound_versions = live_versions(inventory, change.target_list())
            change.submitted_at = timezone.now()
            change.approvals_needed = approvals_needed(change.cluster, change.namespace)
        change.save()
        _lock_targets(change)
        audit_record("change.edit", target=change_audit_target(change), before=before, after={
            "params": change.params, "payload_sha256": change.payload_hash, "status": change.status,
            "approvals_voided": voided})
        _notify(change, "change.submitted", approvers=change.status == Status.SUBMITTED)
    return change


@refusals_recorded("change.submit")
def change_submit(*, change: ChangeRequest, user) -> ChangeRequest:
    """Ask for review: rendered again against the live cluster, checked, bound to resourceVersions."""
    inventory = _inventory(change.cluster)
    rendered = _render(change.cluster, change.params | {"kind": change.kind}, inventory, change.pk)
    with transaction.atomic():
        change = _locked(change)
        if change.requester_id != user.pk:
            raise ChangeRefused("Only the person who filed a change submits it.")
        if change.status not in (Status.DRAFT, Status.STALE):
            raise ChangeConflict(f"Only a draft or a stale change can be submitted; this one is "
                                 f"{change.get_status_display().lower()}.")
        _check_expiry(change)
        before = _snapshot(change)
        _store_rendered(change, rendered, inventory)
        if change.preview.get("blocking"):
            raise ChangeBlocked("This change cannot be submitted: " + " ".join(change.preview["blocking_reasons"]),
                                change.preview["blocking_reasons"])
        _void_approvals(change)
        _lock_targets(change)
        change.bound_versions = live_versions(inventory, change.target_list())
        change.status = Status.SUBMITTED
        change.submitted_at = timezone.now()
        change.expires_at = timezone.now() + change_ttl()
        change.approvals_needed = approvals_needed(change.cluster, change.namespace)
        change.error_message = ""
        change.save()
        audit_record("change.submit", target=change_audit_target(change), before=before, after={
            "status": change.status, "payload_sha256": change.payload_hash, "bound_versions": change.bound_versions,
            "approvals_needed": change.approvals_needed})
        _notify(change, "change.submitted", approvers=True)
    return change


def _review_rules(change: ChangeRequest, user, payload_hash: str | None) -> None:
    if payload_hash and payload_hash != change.payload_hash:
        raise ChangeEdited("The change was edited after you opened it (its payload is not the one you reviewed): "
                           "read it again before you decide.")
    if change.requester_id == user.pk:
        raise ChangeRefused("You cannot review your own change: ask another approver.")
    _require_role(user, change, change.namespace, Role.APPROVER, "Reviewing a change")
    if change.status != Status.SUBMITTED:
        raise ChangeConflict(f"Only a change waiting for review can be reviewed; this one is "
                             f"{change.get_status_display().lower()}.")
    _check_expiry(change)


@refusals_recorded("change.approve")
def change_approve(*, change: ChangeRequest, user, password: str | None = None, reauth_at: float | None = None,
                   payload_hash: str | None = None) -> ChangeRequest:
    with transaction.atomic():
        change = _locked(change)
        _review_rules(change, user, payload_hash)
        check_recent_auth(user, password=password, reauth_at=reauth_at)
        if change.valid_approvals().filter(reviewer=user).exists():
            raise ChangeConflict("You already approved this change; it needs another approver.")
        Approval.objects.create(change=change, reviewer=user, payload_hash=change.payload_hash,
                                bound_versions=change.bound_versions, decision=Approval.Decision.APPROVE)
        count = change.valid_approvals().count()
        before = _snapshot(change)
        if count >= change.approvals_needed:
            change.status = Status.APPROVED
            change.decided_at = timezone.now()
            change.save()
        audit_record("change.approve", target=change_audit_target(change), before=before, after={
            "status": change.status, "payload_sha256": change.payload_hash, "bound_versions": change.bound_versions,
            "approvals": count, "approvals_needed": change.approvals_needed})
        _notify(change, "change.status")
    return change


@refusals_recorded("change.reject")
def change_reject(*, change: ChangeRequest, user, reason: str, payload_hash: str | None = None) -> ChangeRequest:
    reason = (reason or "").strip()
    with transaction.atomic():
        change = _locked(change)
        _review_rules(change, user, payload_hash)
        if not reason:
            raise ReasonRequired("Say why you reject the change (reason), so the requester can fix it.")
        Approval.objects.create(change=change, reviewer=user, payload_hash=change.payload_hash,
                                bound_versions=change.bound_versions, decision=Approval.Decision.REJECT,
                                reason=reason)
        _close(change, Status.REJECTED, "change.reject", reason=reason)
    return change


@refusals_recorded("change.cancel")
def change_cancel(*, change: ChangeRequest, user) -> ChangeRequest:
    with transaction.atomic():
        change = _locked(change)
        if change.requester_id != user.pk and not is_cluster_admin(user, change.cluster):
            _require_role(user, change, change.namespace, Role.VIEWER, "Cancelling a change")
            raise ChangeRefused("Only the person who filed a change (or a cluster admin) can cancel it.")
        if change.status not in ChangeRequest.EDITABLE:
            raise ChangeConflict(f"A change that is {change.get_status_display().lower()} cannot be cancelled.")
        _close(change, Status.CANCELLED, "change.cancel")
    return change


def change_expire(*, change_id: int) -> bool:
    """Expire one change whose time ran out (its own transaction). True if it expired now."""
    with acting_as(Actor.system("change expiry")), transaction.atomic():
        change = ChangeRequest.objects.select_for_update().select_related("cluster", "requester").filter(
            pk=change_id, status__in=ChangeRequest.EDITABLE, expires_at__lte=timezone.now()).first()
        if change is None:
            return False
        _close(change, Status.EXPIRED, "change.expired", decided=False,
               expires_at=change.expires_at.isoformat() if change.expires_at else None)
    return True


def changes_expire_due() -> int:
    ids = ChangeRequest.objects.filter(status__in=ChangeRequest.EDITABLE, expires_at__lte=timezone.now()
                                       ).values_list("pk", flat=True)
    return sum(change_expire(change_id=pk) for pk in list(ids))


def windows_for(change: ChangeRequest) -> list[ChangeWindow]:
    return [w for w in ChangeWindow.objects.filter(cluster=change.cluster) if w.matches(change.namespace)]


def window_open(change: ChangeRequest, when=None) -> tuple[bool, list[ChangeWindow]]:
    windows = windows_for(change)
    when = when or timezone.now()
    return (not windows or any(w.is_open_at(when) for w in windows)), windows


@refusals_recorded("change.apply")
def change_request_apply(*, change: ChangeRequest, user, password: str | None = None,
                         reauth_at: float | None = None, override_window: bool = False) -> ChangeRequest:
    """An approver asks for an approved change to be applied: the apply task is queued after commit."""
    from .tasks import apply_change  # the task module imports these services

    with transaction.atomic():
        change = _locked(change)
        _require_role(user, change, change.namespace, Role.APPROVER, "Applying a change")
        if change.status != Status.APPROVED:
            raise ChangeConflict(f"Only an approved change can be applied; this one is "
                                 f"{change.get_status_display().lower()}.")
        _check_expiry(change)
        if change.valid_approvals().count() < change.approvals_needed:
            raise ChangeConflict("This change no longer holds the approvals it needs: ask for review again.")
        check_recent_auth(user, password=password, reauth_at=reauth_at)
        is_open, windows = window_open(change)
        if not is_open:
            described = "; ".join(w.describe() for w in windows)
            if not override_window:
                raise OutsideWindow(f"Changes to {change.namespace} on {change.cluster.name} may only be applied "
                                    f"inside their change windows ({described}). Wait for the next window, or ask "
                                    "a cluster admin to override.")
            if not is_cluster_admin(user, change.cluster):
                raise OutsideWindow("Only a cluster admin can override the change windows.")
            audit_record("admin.override", target=change_audit_target(change),
                         after={"override": "change window", "windows": described},
                         message="applied outside the change windows")
        change.apply_requested_at = timezone.now()
        change.save(update_fields=["apply_requested_at", "updated_at"])
        audit_record("change.apply", target=change_audit_target(change),
                     after={"status": change.status, "payload_sha256": change.payload_hash,
                            "override_window": bool(override_window and not is_open)})
        change_id = change.pk
        transaction.on_commit(lambda: apply_change.delay(change_id))
    change.refresh_from_db()
    return change


@refusals_recorded("change.rollback")
def change_rollback(*, change: ChangeRequest, user) -> ChangeRequest:
    """File (and submit) the rollback of an applied change: a change of its own, reviewed like any other."""
    change = ChangeRequest.objects.select_related("cluster", "requester").get(pk=change.pk)
    _require_role(user, change, change.namespace, Role.OPERATOR, "Rolling back a change")
    if change.status != Status.APPLIED:
        raise ChangeConflict(f"Only an applied change can be rolled back; this one is "
                             f"{change.get_status_display().lower()}.")
    if change.rolled_back_by_id and ChangeRequest.objects.filter(pk=change.rolled_back_by_id,
                                                                 status=Status.APPLIED).exists():
        raise ChangeConflict(f"Change #{change.pk} was already rolled back by #{change.rolled_back_by_id}.")
    data = {"kind": "rollback", "change": str(change.pk), "prior_states": change.prior_states}
    return change_create(cluster=change.cluster, user=user, data=data, rollback_of=change, submit=True)


# ---------------------------------------------------------------------------
# apply (the task's body)
# ---------------------------------------------------------------------------


def apply_lease() -> timedelta:
    """How long a claim holds: a change still ``applying`` after it was claimed this long ago is taken to
    have lost its worker (killed, its host gone) and is recovered (``apps.changes.recovery``)."""
    return timedelta(seconds=float(getattr(settings, "MESHDECK_APPLY_LEASE_SECONDS", 600)))


def change_claim(change_id: int) -> bool:
    """approved -> applying with one conditional UPDATE: only one worker ever wins. The claim's time
    (``claimed_at``) starts its lease."""
    return ChangeRequest.objects.filter(pk=change_id, status=Status.APPROVED).update(
        status=Status.APPLYING, claimed_at=timezone.now(), updated_at=timezone.now()) == 1


def _finish(change_id: int, status: str, action: str, *, message: str = "", prior_states=None,
            outcome: str = "ok", extra: dict | None = None, claim=None) -> ChangeRequest:
    """End an ``applying`` change. With ``claim`` (the ``claimed_at`` the caller holds), nothing happens if
    the claim was lost meanwhile (recovered after its lease ran out): the recovery's verdict stands."""
    with transaction.atomic():
        change = ChangeRequest.objects.select_for_update().select_related("cluster", "requester").get(pk=change_id)
        if claim is not None and (change.status != Status.APPLYING or change.claimed_at != claim):
            log.warning("change #%s: its claim was taken over (lease ran out); leaving it %s", change_id,
                        change.status)
            return change
        before = _snapshot(change)
        change.status = status
        change.error_message = message
        if prior_states is not None:
            change.prior_states = prior_states
        if status == Status.APPLIED:
            change.applied_at = timezone.now()
            if change.rollback_of_id:
                ChangeRequest.objects.filter(pk=change.rollback_of_id).update(rolled_back_by=change)
        if status == Status.STALE:
            _void_approvals(change)
        change.save()
        if status in (Status.APPLIED, Status.FAILED):
            _release(change)
        audit_record(action, target=change_audit_target(change), before=before, outcome=outcome, message=message,
                     after={"status": status, "payload_sha256": change.payload_hash, **(extra or {})})
        _notify(change)
    return change


def change_execute(change_id: int) -> str:
    """Apply an approved change to its cluster. Idempotent: a second run (a retried or duplicated task)
    finds the change no longer approved and does nothing. Returns what happened."""
    if not change_claim(change_id):
        return "not-claimed"
    claim = ChangeRequest.objects.values_list("claimed_at", flat=True).get(pk=change_id)
    with acting_as(Actor.task("apply_change")):
        try:
            return _execute_claimed(change_id, claim)
        except Exception as exc:  # a bug must not leave the change "applying" for ever
            log.exception("applying change #%s failed unexpectedly", change_id)
            if ChangeRequest.objects.filter(pk=change_id, status=Status.APPLYING).exists():
                _finish(change_id, Status.FAILED, "change.failed", outcome="failed", claim=claim,
                        message=f"Meshdeck failed while applying ({type(exc).__name__}); check the cluster "
                                "against the preview and the server log.")
            return "failed"


def _execute_claimed(change_id: int, claim) -> str:
    finish = functools.partial(_finish, change_id, claim=claim)
    change = ChangeRequest.objects.select_related("cluster", "requester").get(pk=change_id)
    try:
        gateway = gateway_for(change.cluster)
        inventory = gateway.inventory()
    except GatewayError as exc:
        finish(Status.FAILED, "change.failed", message=f"Could not read the cluster: {exc}", outcome="failed")
        return "failed"
    targets = change.target_list()
    live = live_versions(inventory, targets)
    moved = {k: (change.bound_versions.get(k, ""), v) for k, v in live.items()
             if change.bound_versions.get(k, "") != v}
    if moved:
        names = ", ".join(sorted(moved))
        finish(Status.STALE, "change.stale", extra={"moved": moved},
               message=f"Changed since it was reviewed: {names}. Submit it again for review.")
        return "stale"
    writes = [write_from_dict(w) for w in change.payload["writes"]]
    # Every prior state is stored before the first write: if this worker dies half-way, the recovery
    # (apps.changes.recovery) knows what to put back.
    priors = [capture_prior_state(write, inventory) for write in writes]
    ChangeRequest.objects.filter(pk=change_id, status=Status.APPLYING, claimed_at=claim).update(
        prior_states=[p.as_dict() for p in priors])
    done, seen = 0, set()
    try:
        for write in writes:
            key = target_key(write.target)
            version = None if key in seen else (change.bound_versions.get(key) or None)
            seen.add(key)
            write.execute(gateway, resource_version=version)
            done += 1
    except GatewayError as exc:
        restore_errors = _restore(gateway, priors[:done])
        stale = isinstance(exc, ObjectConflict)
        message = (f"{writes[done].describe()} was refused by the cluster: {exc}"
                   + (" Objects already written were restored." if done and not restore_errors else "")
                   + (" Restoring failed too: " + "; ".join(restore_errors) if restore_errors else ""))
        if stale:
            finish(Status.STALE, "change.stale", message=message + " Submit it again for review.")
            return "stale"
        finish(Status.FAILED, "change.failed", message=message, outcome="failed",
               extra={"written_then_restored": done})
        return "failed"
    finish(Status.APPLIED, "change.applied", prior_states=[p.as_dict() for p in priors],
           extra={"writes": len(writes)})
    return "applied"


def _restore(gateway, priors) -> list[str]:
    errors = []
    for write in rollback_writes(priors):
        try:
            write.execute(gateway)
        except GatewayError as exc:
            errors.append(f"{write.describe()}: {exc}")
    return errors


# ---------------------------------------------------------------------------
# cluster settings of the flow: change windows and approvals needed (admin pages)
# ---------------------------------------------------------------------------


def _fields(obj, names) -> dict[str, Any]:
    return {n: str(getattr(obj, n)) for n in names}


@dataclass(frozen=True)
class ClusterSetting:
    """A model of those settings, written through here: a save is validated, and each save or delete
    is a ``cluster.update`` event."""

    type: str  # the audit target's
    what: str  # what the event's message calls it
    fields: tuple[str, ...]  # recorded before and after

    def _target(self, obj) -> AuditTarget:
        return AuditTarget(type=self.type, cluster=obj.cluster.name, name=str(obj), id=obj.pk or "",
                           namespace=getattr(obj, "namespace", "") or "")

    @transaction.atomic
    def save(self, obj):
        obj.full_clean()
        before = _fields(type(obj).objects.select_for_update().get(pk=obj.pk), self.fields) if obj.pk else None
        obj.save()
        audit_record("cluster.update", target=self._target(obj), before=before,
                     after=_fields(obj, self.fields), message=f"{self.what} saved")
        return obj

    @transaction.atomic
    def delete(self, obj) -> None:
        target, before = self._target(obj), _fields(obj, self.fields)
        obj.delete()
        audit_record("cluster.update", target=target, before=before, after=None, message=f"{self.what} removed")


CHANGE_WINDOWS = ClusterSetting("change_window", "change window",
                                ("namespace_pattern", "weekdays", "start_time", "end_time", "timezone"))
APPROVAL_POLICIES = ClusterSetting("approval_policy", "approvals needed", ("namespace", "approvals_needed"))
