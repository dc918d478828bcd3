"""Change requests and their review: the stored half of the flow (docs/changes.md, "The flow").

Every write goes through ``apps.changes.services`` (the admin too), so each step is an audit
event in the same transaction and every rule of the flow is checked in one place.
"""
from __future__ import annotations

import fnmatch
from datetime import datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models

from .writes import Target


class ChangeRequest(models.Model):
    class Status(models.TextChoices):
        DRAFT = "draft", "Draft"
        SUBMITTED = "submitted", "Waiting for review"
        APPROVED = "approved", "Approved"
        REJECTED = "rejected", "Rejected"
        APPLYING = "applying", "Applying"
        APPLIED = "applied", "Applied"
        FAILED = "failed", "Failed"
        CANCELLED = "cancelled", "Cancelled"
        EXPIRED = "expired", "Expired"
        STALE = "stale", "Stale (needs review again)"

    cluster = models.ForeignKey("clusters.Cluster", on_delete=models.CASCADE, related_name="change_requests")
    namespace = models.CharField(max_length=253)
    kind = models.CharField(max_length=40)
    params = models.JSONField(help_text="The normalised input (rendering it again gives the same writes).")
    summary = models.CharField(max_length=500, blank=True)
    payload = models.JSONField(help_text="What an approval approves: the kind and its exact writes, in order.")
    payload_hash = models.CharField(max_length=64)
    rendered = models.JSONField(default=dict, help_text="RenderedChange.as_dict() when last rendered.")
    preview = models.JSONField(default=dict, help_text="ChangePreview.as_dict() when last rendered.")
    targets = models.JSONField(default=list, help_text="Every object written, in write order.")
    bound_versions = models.JSONField(
        default=dict, help_text="Target key -> resourceVersion read at submit ('' = the object did not exist).")
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.DRAFT, db_index=True)
    requester = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="change_requests")
    approvals_needed = models.PositiveSmallIntegerField(default=1)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    submitted_at = models.DateTimeField(null=True, blank=True)
    decided_at = models.DateTimeField(null=True, blank=True)
    apply_requested_at = models.DateTimeField(null=True, blank=True)
    claimed_at = models.DateTimeField(
        null=True, blank=True, help_text="When a worker claimed it (approved -> applying): the start of its lease.")
    applied_at = models.DateTimeField(null=True, blank=True)
    expires_at = models.DateTimeField(null=True, blank=True)
    error_message = models.TextField(blank=True)
    prior_states = models.JSONField(default=list, help_text="PriorState.as_dict() of every write, in order.")
    rollback_of = models.ForeignKey("self", null=True, blank=True, on_delete=models.PROTECT,
                                    related_name="rollbacks")
    rolled_back_by = models.ForeignKey("self", null=True, blank=True, on_delete=models.SET_NULL,
                                       related_name="+")

    OPEN = (Status.DRAFT, Status.SUBMITTED, Status.APPROVED, Status.APPLYING, Status.STALE)
    EDITABLE = (Status.DRAFT, Status.SUBMITTED, Status.APPROVED, Status.STALE)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["cluster", "namespace", "status"])]

    def __str__(self) -> str:
        return f"#{self.pk} {self.kind} {self.namespace} ({self.status})"

    @property
    def is_open(self) -> bool:
        return self.status in self.OPEN

    def target_list(self) -> list[Target]:
        return [Target(t["kind"], t.get("namespace") or "", t["name"]) for t in self.targets]

    def bound_targets(self) -> list[tuple[Target, str | None]]:
        """Each target with the resourceVersion bound at submit: '' for an object the change creates,
        None before submit (nothing bound yet)."""
        bound = self.bound_versions or {}
        return [(t, bound.get(target_key(t), "") if bound else None) for t in self.target_list()]

    def valid_approvals(self):
        """Approvals that still count: for this payload, not voided."""
        return self.approvals.filter(decision=Approval.Decision.APPROVE, payload_hash=self.payload_hash,
                                     voided_at__isnull=True)


def target_key(target: Target) -> str:
    """``VirtualService/bookinfo/reviews``, ``Namespace//bookinfo``: the key of bound_versions."""
    return f"{target.kind}/{target.namespace}/{target.name}"


class Approval(models.Model):
    """One review decision, bound to the payload hash the reviewer saw."""

    class Decision(models.TextChoices):
        APPROVE = "approve", "Approved"
        REJECT = "reject", "Rejected"

    change = models.ForeignKey(ChangeRequest, on_delete=models.CASCADE, related_name="approvals")
    reviewer = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="change_reviews")
    payload_hash = models.CharField(max_length=64)
    bound_versions = models.JSONField(default=dict)
    decision = models.CharField(max_length=10, choices=Decision.choices)
    reason = models.TextField(blank=True)
    at = models.DateTimeField(auto_now_add=True)
    voided_at = models.DateTimeField(null=True, blank=True,
                                     help_text="Set when the change was edited or went stale after this review.")

    class Meta:
        ordering = ["at", "id"]

    def __str__(self) -> str:
        return f"{self.decision} of #{self.change_id} by {self.reviewer}"


class ChangeLock(models.Model):
    """One open change per target object: created with the change, deleted when it ends."""

    cluster = models.ForeignKey("clusters.Cluster", on_delete=models.CASCADE, related_name="change_locks")
    kind = models.CharField(max_length=63)
    namespace = models.CharField(max_length=253, blank=True)
    name = models.CharField(max_length=253)
    change = models.ForeignKey(ChangeRequest, on_delete=models.CASCADE, related_name="locks")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["cluster", "kind", "namespace", "name"],
                                               name="changes_one_open_change_per_target")]

    def __str__(self) -> str:
        return f"{Target(self.kind, self.namespace, self.name)} locked by #{self.change_id}"


WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


def validate_weekdays(value: str) -> None:
    days = [d.strip() for d in (value or "").split(",") if d.strip()]
    bad = [d for d in days if d not in WEEKDAYS]
    if not days or bad:
        raise ValidationError(f"Weekdays are a comma-separated list of {', '.join(WEEKDAYS)}"
                              + (f"; not {', '.join(bad)}." if bad else "."))


def validate_timezone(value: str) -> None:
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ValidationError(f"Unknown time zone {value!r}: use an IANA name such as Europe/Berlin or UTC.") from exc


class ChangeWindow(models.Model):
    """When changes may be applied to a cluster (or to namespaces matching a pattern).

    Once a cluster or namespace has windows, applying outside all of them is refused; a
    cluster admin may override, which is itself an audit event (``admin.override``).
    """

    cluster = models.ForeignKey("clusters.Cluster", on_delete=models.CASCADE, related_name="change_windows")
    namespace_pattern = models.CharField(max_length=253, blank=True,
                                         help_text="Shell-style glob (team-*); blank: every namespace.")
    weekdays = models.CharField(max_length=40, default="mon,tue,wed,thu,fri", validators=[validate_weekdays])
    start_time = models.TimeField(help_text="Local time the window opens.")
    end_time = models.TimeField(help_text="Local time it closes (before start: the window runs past midnight).")
    timezone = models.CharField(max_length=64, default="UTC", validators=[validate_timezone])

    class Meta:
        ordering = ["cluster", "namespace_pattern", "id"]

    def __str__(self) -> str:
        scope = self.namespace_pattern or "every namespace"
        return f"{self.cluster} {scope}: {self.weekdays} {self.start_time:%H:%M}-{self.end_time:%H:%M} {self.timezone}"

    def matches(self, namespace: str) -> bool:
        return not self.namespace_pattern or fnmatch.fnmatchcase(namespace, self.namespace_pattern)

    def is_open_at(self, when: datetime) -> bool:
        local = when.astimezone(ZoneInfo(self.timezone))
        days = {d.strip() for d in self.weekdays.split(",")}
        t = local.time().replace(tzinfo=None)
        if self.start_time <= self.end_time:
            return WEEKDAYS[local.weekday()] in days and self.start_time <= t < self.end_time
        # past midnight: the part after midnight belongs to the previous day's window
        if t >= self.start_time:
            return WEEKDAYS[local.weekday()] in days
        if t < self.end_time:
            return WEEKDAYS[(local.weekday() - 1) % 7] in days
        return False

    def describe(self) -> str:
        return f"{self.weekdays} {self.start_time:%H:%M}-{self.end_time:%H:%M} ({self.timezone})"


class ApprovalPolicy(models.Model):
    """Approvals a change in a namespace needs (without a policy: one)."""

    cluster = models.ForeignKey("clusters.Cluster", on_delete=models.CASCADE, related_name="approval_policies")
    namespace = models.CharField(max_length=253)
    approvals_needed = models.PositiveSmallIntegerField(default=1)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["cluster", "namespace"], name="changes_one_policy_per_ns")]

    def __str__(self) -> str:
        return f"{self.cluster}/{self.namespace}: {self.approvals_needed} approval(s)"

    def clean(self) -> None:
        if self.approvals_needed < 1:
            raise ValidationError({"approvals_needed": "A change needs at least one approval."})
