"""The one audit writer every service calls, and the checkpoint signer.

``audit_record`` is called INSIDE the caller's ``transaction.atomic``: the event
commits with the change or not at all. Writers serialise on the chain-head row
(``SELECT ... FOR UPDATE`` on PostgreSQL; on SQLite a write to the row takes the
database's write lock first), so concurrent processes append one gapless chain.
Anything that leaves the database (log lines, the checkpoint file, the
``event_recorded`` signal for live pushes) happens only after commit.
"""
from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.db.models import F
from django.dispatch import Signal
from django.utils import timezone

from apps.core.errors import MeshdeckError

from .actions import is_known
from .actor import Actor, current_actor
from .chain import GENESIS, canonical_json, event_hash, format_time
from .models import AuditChainHead, AuditCheckpoint, AuditEvent, Outcome
from .redact import redact
from .signing import checkpoint_payload, sign

log = logging.getLogger("meshdeck.audit")
checkpoint_log = logging.getLogger("meshdeck.audit.checkpoint")

# Sent after the event's transaction commits: sender=AuditEvent, event=<AuditEvent>.
event_recorded = Signal()


@dataclass(frozen=True)
class Target:
    """What an event is about. ``cluster``/``namespace`` decide who may read it."""

    type: str
    name: str = ""
    cluster: str = ""
    namespace: str = ""
    id: str | int = ""


class AuditInputError(MeshdeckError):
    code = "audit_input"
    http_status = 500


def assign_changes(obj: Any, changes: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """Sets the attributes that really change; returns (before, after) of just those, for the event."""
    before, after = {}, {}
    for name, value in changes.items():
        if getattr(obj, name) != value:
            before[name], after[name] = getattr(obj, name), value
            setattr(obj, name, value)
    return before, after


def _json_ready(value: Any) -> Any:
    """Redacted, and reduced to plain JSON (dates, UUIDs... become strings)."""
    if value is None:
        return None
    return json.loads(json.dumps(redact(value), default=str))


def _lock_head() -> AuditChainHead:
    if connection.vendor == "sqlite":
        # SQLite has no row locks; a write takes the database's write lock
        # before we read, so no two writers see the same head.
        AuditChainHead.objects.filter(pk=1).update(seq=F("seq"))
    head = AuditChainHead.objects.select_for_update().filter(pk=1).first()
    if head is None:
        # The row is created by the migration; rebuild it from the last event
        # if someone removed it (a test flush does).
        last = AuditEvent.objects.order_by("-seq").values_list("seq", "hash").first()
        AuditChainHead.objects.bulk_create(
            [AuditChainHead(pk=1, seq=last[0] if last else 0, hash=last[1] if last else GENESIS)],
            ignore_conflicts=True,
        )
        head = AuditChainHead.objects.select_for_update().get(pk=1)
    return head


def _cut(value: Any, length: int) -> str:
    return ("" if value is None else str(value))[:length]


def audit_record(
    action: str,
    *,
    actor: Actor | None = None,
    target: Target | None = None,
    before: dict | None = None,
    after: dict | None = None,
    outcome: str = Outcome.OK,
    message: str = "",
) -> AuditEvent:
    """Appends one event to the chain, in the caller's transaction.

    ``actor`` defaults to the current request's (or ``acting_as``) actor.
    ``before``/``after`` are redacted by key (passwords, tokens, kubeconfigs,
    credentials never stored). ``outcome`` is ok, denied or failed.
    """
    if not is_known(action):
        raise AuditInputError(f"Unknown audit action {action!r}: add it to apps.audit.actions (see docs/audit.md).")
    if outcome not in Outcome.values:
        raise AuditInputError(f"Audit outcome must be one of {', '.join(Outcome.values)}, not {outcome!r}.")
    actor = actor or current_actor()
    target = target or Target(type="")
    # No savepoint: if the event cannot be written, the caller's whole change must roll back.
    with transaction.atomic(savepoint=False):
        head = _lock_head()
        fields: dict[str, Any] = {
            "seq": head.seq + 1,
            "created_at": timezone.now(),
            "actor_user_id": actor.user_id,
            "actor_username": _cut(actor.username, 150),
            "actor_auth": _cut(actor.auth, 20),
            "actor_token_id": actor.token_id,
            "actor_detail": _cut(actor.detail, 200),
            "ip": _cut(actor.ip, 45),
            "user_agent": _cut(actor.user_agent, 300),
            "request_id": _cut(actor.request_id, 64),
            "action": action,
            "target_type": _cut(target.type, 40),
            "target_cluster": _cut(target.cluster, 63),
            "target_namespace": _cut(target.namespace, 253),
            "target_name": _cut(target.name, 253),
            "target_id": _cut(target.id, 64),
            "before_json": canonical_json(_json_ready(before)),
            "after_json": canonical_json(_json_ready(after)),
            "outcome": outcome,
            "message": str(message or ""),
            "prev_hash": head.hash,
        }
        fields["hash"] = event_hash(fields)
        event = AuditEvent.objects.create(**fields)
        AuditChainHead.objects.filter(pk=1).update(seq=event.seq, hash=event.hash)
        every = int(getattr(settings, "MESHDECK_AUDIT_CHECKPOINT_EVERY", 0) or 0)
        if every > 0 and event.seq % every == 0:
            _checkpoint_at(event.seq, event.hash)
        transaction.on_commit(lambda: _after_commit(event))
    return event


def audit_denied(action: str, *, actor: Actor | None = None, target: Target | None = None, message: str = "",
                 after: dict | None = None) -> AuditEvent:
    """A refused attempt at a privileged action (commits on its own if no transaction is open)."""
    return audit_record(action, actor=actor, target=target, after=after, outcome=Outcome.DENIED, message=message)


def _after_commit(event: AuditEvent) -> None:
    log.info(
        "audit #%s %s %s by %s (%s) on %s/%s/%s",
        event.seq, event.action, event.outcome, event.actor_username or "-", event.actor_auth,
        event.target_cluster or "-", event.target_namespace or "-", event.target_name or "-",
    )
    event_recorded.send(sender=AuditEvent, event=event)


# --- checkpoints -------------------------------------------------------------

def _checkpoint_at(seq: int, hash_: str) -> AuditCheckpoint:
    """Signs (seq, hash, now) linked to the previous checkpoint; caller holds the head lock."""
    previous = AuditCheckpoint.objects.order_by("-id").values_list("signature", flat=True).first() or ""
    now = timezone.now()
    from .signing import key_id, signing_key

    kid = key_id(signing_key().public_key())
    payload = checkpoint_payload(seq=seq, event_hash=hash_, signed_at=format_time(now), prev_signature=previous,
                                 key=kid)
    signature, _ = sign(payload)
    checkpoint = AuditCheckpoint.objects.create(
        seq=seq, event_hash=hash_, created_at=now, key_id=kid, prev_signature=previous, payload=payload,
        signature=signature,
    )
    transaction.on_commit(lambda: emit_checkpoint(checkpoint))
    return checkpoint


def checkpoint_line(checkpoint: AuditCheckpoint) -> str:
    """One line of the external checkpoint file (and of the log)."""
    return json.dumps({"payload": checkpoint.payload, "signature": checkpoint.signature}, sort_keys=True)


def emit_checkpoint(checkpoint: AuditCheckpoint) -> None:
    """Outside the database: a structured log line, and the file if configured."""
    line = checkpoint_line(checkpoint)
    checkpoint_log.info("audit checkpoint %s", line)
    path = getattr(settings, "MESHDECK_AUDIT_CHECKPOINT_FILE", "")
    if path:
        try:
            with open(path, "a", encoding="utf-8") as handle:
                handle.write(line + "\n")
                handle.flush()
        except OSError as exc:
            checkpoint_log.error("cannot append the audit checkpoint to %s: %s", path, exc.strerror)


@transaction.atomic
def checkpoint_create() -> AuditCheckpoint:
    """Signs the chain's current head now (``audit checkpoint``; the periodic task)."""
    head = _lock_head()
    return _checkpoint_at(head.seq, head.hash)


def checkpoint_if_due(*, minutes: int | None = None) -> AuditCheckpoint | None:
    """A checkpoint when events arrived since the last one and it is older than ``minutes``."""
    minutes = minutes if minutes is not None else int(getattr(settings, "MESHDECK_AUDIT_CHECKPOINT_MINUTES", 60))
    last = AuditCheckpoint.objects.order_by("-id").first()
    head = AuditChainHead.objects.filter(pk=1).first()
    if head is None or head.seq == 0:
        return None
    if last is not None and (last.seq >= head.seq or last.created_at > timezone.now() - timedelta(minutes=minutes)):
        return None
    return checkpoint_create()


class ActionDenied(MeshdeckError):
    """A privileged action refused; the refusal is already an audit event."""

    code = "permission_denied"
    http_status = 403


def deny(action: str, *, target: Target | None = None, message: str, actor: Actor | None = None) -> ActionDenied:
    """Records the refused attempt and returns the error to raise: ``raise deny(...)``."""
    audit_denied(action, actor=actor, target=target, message=message)
    return ActionDenied(message)
