"""A simulated cluster's state in the database: one row per cluster and an ordered log of its changes.

The mesh itself (pods, traffic, counters) is never stored: it is rebuilt in
each process from the topology, the seed and the start time, then the log is
replayed at the instants recorded, which gives every process the same mesh
(``store.py``).
"""
from __future__ import annotations

import uuid

from django.db import models


class SimulatedClusterState(models.Model):
    cluster = models.OneToOneField("clusters.Cluster", on_delete=models.CASCADE, related_name="simulated_state")
    # Processes key their in-memory copy by this, so a state that was replaced (or a test
    # database rolled back and reused) is never mistaken for another.
    uid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    topology = models.CharField(max_length=40)
    seed = models.IntegerField(default=1)
    started_at = models.FloatField(help_text="Unix time the simulated mesh started: its traffic history begins here.")
    # The sequence number of the last event. A writer increments it first, which locks
    # this row until its transaction ends: writers of one cluster go one at a time.
    sequence = models.BigIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"{self.cluster_id}:{self.topology}@{self.sequence}"


class SimulatedMeshEvent(models.Model):
    class Kind(models.TextChoices):
        APPLY = "apply", "Apply an Istio object"
        DELETE = "delete", "Delete an Istio object"
        LABEL_NAMESPACE = "label_namespace", "Patch namespace labels"
        PATCH_TEMPLATE = "patch_template", "Patch a workload's pod template"
        RESTART = "restart", "Restart a workload"

    state = models.ForeignKey(SimulatedClusterState, on_delete=models.CASCADE, related_name="events")
    sequence = models.BigIntegerField()
    # A random id per event: a process that applied an event whose transaction was then
    # rolled back sees another id (or none) at that sequence, and rebuilds.
    uid = models.UUIDField(default=uuid.uuid4, editable=False)
    at = models.FloatField(help_text="Unix time the change took effect in the simulated mesh.")
    kind = models.CharField(max_length=20, choices=Kind.choices)
    # JSON text, not a JSONField: PostgreSQL's jsonb reorders keys, and a replay must see
    # the manifest exactly as the writer applied it.
    payload = models.TextField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["state", "sequence"]
        constraints = [
            models.UniqueConstraint(fields=["state", "sequence"], name="simulator_event_state_sequence_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.state_id}#{self.sequence} {self.kind}"
