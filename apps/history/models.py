"""Snapshots of a cluster: what it held and how its traffic flowed at one moment.

A ``Snapshot`` is one row per cluster and time bucket (unique together): the
moment it describes (``taken_at``, the end of its traffic window), its status
and, by reference, its parts. A ``SnapshotPart`` is content-addressed (sha256
of its canonical bytes, before compression): an inventory, Istio config or set
of findings that did not change between two snapshots is stored once, and so
is the traffic's shape (the edge table and row keys, which change only with the
topology); only the rate values are new in every snapshot. See docs/history.md.
"""
from __future__ import annotations

from django.db import models

from apps.clusters.models import Cluster


class SnapshotPart(models.Model):
    class Kind(models.TextChoices):
        INVENTORY = "inventory", "Inventory (namespaces, workloads, services)"
        CONFIG = "config", "Istio config"
        FINDINGS = "findings", "Validation findings"
        TRAFFIC_SHAPE = "traffic_shape", "Traffic: edge table and row keys"
        TRAFFIC_VALUES = "traffic_values", "Traffic: rates"

    sha256 = models.CharField(max_length=64, primary_key=True)
    kind = models.CharField(max_length=20, choices=Kind.choices)
    encoding = models.CharField(max_length=20)  # see apps.history.codec
    data = models.BinaryField()
    raw_size = models.PositiveIntegerField()
    stored_size = models.PositiveIntegerField()
    # Rates stored relative to another window's (a key frame of the same shape): needed to read them.
    base = models.ForeignKey("self", null=True, blank=True, on_delete=models.PROTECT, related_name="deltas")
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"{self.kind} {self.sha256[:12]}"


class Snapshot(models.Model):
    class Status(models.TextChoices):
        OK = "ok", "ok"
        PARTIAL = "partial", "partial (inventory, no traffic)"
        UNREACHABLE = "unreachable", "unreachable"

    cluster = models.ForeignKey(Cluster, on_delete=models.CASCADE, related_name="snapshots")
    bucket = models.DateTimeField(help_text="Start of the time bucket (one snapshot per cluster and bucket).")
    taken_at = models.DateTimeField(db_index=True, help_text="The moment described: the end of the traffic window.")
    status = models.CharField(max_length=12, choices=Status.choices)
    reason = models.TextField(blank=True)
    window = models.PositiveIntegerField(default=60, help_text="Seconds of traffic behind the rates.")
    inventory = models.ForeignKey(SnapshotPart, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    config = models.ForeignKey(SnapshotPart, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    findings = models.ForeignKey(SnapshotPart, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    traffic_shape = models.ForeignKey(SnapshotPart, null=True, blank=True, on_delete=models.PROTECT,
                                      related_name="+")
    traffic_values = models.ForeignKey(SnapshotPart, null=True, blank=True, on_delete=models.PROTECT,
                                       related_name="+")
    counts = models.JSONField(default=dict, blank=True)  # namespaces, workloads, services, istio_objects, edges...
    health = models.JSONField(default=dict, blank=True)  # namespace -> Healthy/Degraded/Failure/NA
    duration_ms = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-taken_at"]
        constraints = [models.UniqueConstraint(fields=["cluster", "bucket"], name="history_one_snapshot_per_bucket")]
        indexes = [models.Index(fields=["cluster", "status", "taken_at"], name="history_cluster_time_idx")]

    def __str__(self) -> str:
        return f"#{self.pk} {self.cluster_id} {self.taken_at:%Y-%m-%d %H:%M:%S} {self.status}"

    @property
    def has_inventory(self) -> bool:
        return self.inventory_id is not None

    @property
    def has_traffic(self) -> bool:
        return self.traffic_values_id is not None


class SnapshotSchedule(models.Model):
    """Per cluster: how often to snapshot it (empty: MESHDECK_SNAPSHOT_INTERVAL), on which queue, and the
    backoff state after failures. Kept in step with its django-celery-beat PeriodicTask by the services."""

    cluster = models.OneToOneField(Cluster, on_delete=models.CASCADE, related_name="snapshot_schedule")
    enabled = models.BooleanField(default=True)
    interval_seconds = models.PositiveIntegerField(
        null=True, blank=True, help_text="Empty: the default (MESHDECK_SNAPSHOT_INTERVAL).")
    queue = models.CharField(max_length=100, blank=True,
                             help_text="Celery queue for this cluster's snapshots (empty: MESHDECK_SNAPSHOT_QUEUE).")
    failures = models.PositiveIntegerField(default=0, help_text="Failed attempts in a row.")
    next_attempt_at = models.DateTimeField(null=True, blank=True, help_text="Backing off until then.")
    last_status = models.CharField(max_length=12, blank=True)
    last_reason = models.TextField(blank=True)

    def __str__(self) -> str:
        return f"snapshots of {self.cluster}"
