"""Shapes of the history API's answers (OpenAPI); the selectors build the bodies."""
from __future__ import annotations

from rest_framework import serializers

from ..models import Snapshot


class CountsSerializer(serializers.Serializer):
    namespaces = serializers.IntegerField()
    workloads = serializers.IntegerField()
    services = serializers.IntegerField()
    istio_objects = serializers.IntegerField()
    errors = serializers.IntegerField(help_text="Validation findings of severity error")  # type: ignore[assignment]  # a field: DRF's metaclass takes it off the class
    warnings = serializers.IntegerField(help_text="Validation findings of severity warning")


class SnapshotSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    taken_at = serializers.FloatField(help_text="The moment described (the traffic window's end), unix seconds")
    status = serializers.ChoiceField(choices=Snapshot.Status.choices)
    reason = serializers.CharField(help_text="Why it is partial or unreachable; empty when ok")
    window = serializers.IntegerField(help_text="Seconds of traffic behind its rates")
    counts = CountsSerializer(help_text="Of the namespaces you may see")

    class Meta:
        ref_name = "HistorySnapshot"


class SnapshotRefSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    taken_at = serializers.FloatField()
    age_seconds = serializers.FloatField(help_text="How long before the requested time it was taken")
    status = serializers.ChoiceField(choices=Snapshot.Status.choices)


class DiffSerializer(serializers.Serializer):
    cluster = serializers.CharField()
    # "from" is a Python keyword: declared below
    to = SnapshotRefSerializer()
    namespaces = serializers.ListField(child=serializers.CharField())
    threshold = serializers.FloatField()
    graphType = serializers.CharField()
    traffic = serializers.CharField(help_text="'compared', or why not (a snapshot without traffic)")
    nodes = serializers.DictField(allow_null=True, help_text="{added: [node], removed: [node]}")
    edges = serializers.DictField(allow_null=True, help_text="{added, removed, changed}: changed edges say what "
                                  "moved beyond the threshold (rate, percentErr, health) with before values")
    health = serializers.ListField(child=serializers.DictField(), allow_null=True,
                                   help_text="Graph nodes whose health changed")
    namespaceHealth = serializers.ListField(child=serializers.DictField())
    workloads = serializers.DictField(help_text="{added, removed, scaled, restarted, sidecars}")
    istioConfig = serializers.DictField(help_text="{added, removed, changed}: each with yamlDiff (unified diff)")
    findings = serializers.DictField(help_text="{appeared, cleared}: validation findings")


DiffSerializer._declared_fields["from"] = SnapshotRefSerializer()


class TimelineSnapshotSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    taken_at = serializers.FloatField()
    status = serializers.ChoiceField(choices=Snapshot.Status.choices)
    reason = serializers.CharField()
    health = serializers.DictField(child=serializers.CharField(), help_text="namespace -> Healthy/Degraded/Failure/NA")


class TimelineEventSerializer(serializers.Serializer):
    type = serializers.ChoiceField(choices=["change", "config", "health", "snapshot"])
    at = serializers.FloatField(help_text="When it happened (config: the snapshot that first showed it)")
    who = serializers.CharField(help_text="Who made the change, when known")
    what = serializers.CharField()
    link = serializers.CharField(help_text="Where to read more (the change, the diff); may be empty")


class TimelineSerializer(serializers.Serializer):
    cluster = serializers.CharField()
    since = serializers.FloatField()
    until = serializers.FloatField()
    namespaces = serializers.ListField(child=serializers.CharField(), allow_null=True)
    snapshots = TimelineSnapshotSerializer(many=True)
    events = TimelineEventSerializer(many=True)
    truncated = serializers.BooleanField()
