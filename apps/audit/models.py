"""The audit trail's tables. Events and checkpoints are append-only in the
database itself (triggers installed by migration 0001; see triggers.py)."""
from __future__ import annotations

import json

from django.db import models


class Outcome(models.TextChoices):
    OK = "ok", "ok"
    DENIED = "denied", "denied"
    FAILED = "failed", "failed"


class AuditEvent(models.Model):
    # Assigned by the writer under the chain-head lock: gapless, unlike an
    # autoincrement (which skips numbers on rollback).
    seq = models.BigIntegerField(primary_key=True)
    created_at = models.DateTimeField(db_index=True)
    # Plain copies, not foreign keys: deleting a user must never touch the trail.
    actor_user_id = models.BigIntegerField(null=True, blank=True, db_index=True)
    actor_username = models.CharField(max_length=150, blank=True)
    actor_auth = models.CharField(max_length=20)
    actor_token_id = models.BigIntegerField(null=True, blank=True)
    actor_detail = models.CharField(max_length=200, blank=True)
    ip = models.CharField(max_length=45, blank=True)
    user_agent = models.CharField(max_length=300, blank=True)
    request_id = models.CharField(max_length=64, blank=True, db_index=True)
    action = models.CharField(max_length=64, db_index=True)
    target_type = models.CharField(max_length=40, blank=True)
    target_cluster = models.CharField(max_length=63, blank=True)
    target_namespace = models.CharField(max_length=253, blank=True)
    target_name = models.CharField(max_length=253, blank=True)
    target_id = models.CharField(max_length=64, blank=True)
    # Canonical JSON text, exactly as hashed ("" for none).
    before_json = models.TextField(blank=True)
    after_json = models.TextField(blank=True)
    outcome = models.CharField(max_length=10, choices=Outcome.choices, default=Outcome.OK)
    message = models.TextField(blank=True)
    # Unique: two events can never claim the same predecessor (no fork).
    prev_hash = models.CharField(max_length=64, unique=True)
    hash = models.CharField(max_length=64)

    class Meta:
        ordering = ["-seq"]
        indexes = [
            models.Index(fields=["target_cluster", "target_namespace"], name="audit_target_idx"),
            models.Index(fields=["actor_user_id", "action"], name="audit_actor_action_idx"),
        ]

    def __str__(self) -> str:
        return f"#{self.seq} {self.action} by {self.actor_username or self.actor_auth}"

    @property
    def before(self):
        return json.loads(self.before_json) if self.before_json else None

    @property
    def after(self):
        return json.loads(self.after_json) if self.after_json else None


class AuditChainHead(models.Model):
    """One row (id 1): the lock every writer takes, and the chain's last link."""

    seq = models.BigIntegerField(default=0)
    hash = models.CharField(max_length=64)

    def __str__(self) -> str:
        return f"head at #{self.seq}"


class AuditCheckpoint(models.Model):
    """A signed (seq, hash, time), linked to the previous checkpoint's signature."""

    seq = models.BigIntegerField(db_index=True)
    event_hash = models.CharField(max_length=64)
    created_at = models.DateTimeField()
    key_id = models.CharField(max_length=16)
    prev_signature = models.TextField(blank=True)
    payload = models.TextField()  # exactly the signed text
    signature = models.TextField()

    class Meta:
        ordering = ["-id"]

    def __str__(self) -> str:
        return f"checkpoint at #{self.seq}"


class AuditArchivePermit(models.Model):
    """Written only by `audit archive` inside its transaction: events up to
    ``upto_seq`` may then be deleted (the trigger checks it)."""

    upto_seq = models.BigIntegerField()
