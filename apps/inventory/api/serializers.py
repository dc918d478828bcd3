"""Output shapes of the inventory API (read-only; they serialise the inventory dataclasses)."""
from __future__ import annotations

from typing import cast

from rest_framework import serializers


class NamespaceSummarySerializer(serializers.Serializer):
    name = serializers.CharField()
    labels = serializers.DictField(child=serializers.CharField())
    injection = serializers.CharField(help_text="enabled, disabled, revision:<rev> or empty (not labelled)")
    workloads = serializers.IntegerField()
    pods = serializers.IntegerField()
    pods_with_sidecar = serializers.IntegerField()
    services = serializers.IntegerField()
    istio_objects = serializers.IntegerField()
    validation_errors = serializers.IntegerField()
    validation_warnings = serializers.IntegerField()
    invalid_objects = serializers.IntegerField()
    health = serializers.CharField(allow_null=True, help_text="Healthy, Degraded, Failure or NA (no data)")
    health_summary = serializers.CharField(help_text="Workloads per status, e.g. '5 healthy, 1 failure'")
    health_problems = serializers.ListField(child=serializers.CharField(),
                                            help_text="Unhealthy workloads and why, worst first")
    health_error = serializers.CharField(default="", help_text="Why request health is missing, if it is")


class PodSerializer(serializers.Serializer):
    name = serializers.CharField()
    namespace = serializers.CharField()
    labels = serializers.DictField(child=serializers.CharField())
    phase = serializers.CharField()
    has_sidecar = serializers.BooleanField()
    ip = serializers.CharField(allow_blank=True)


class WorkloadSerializer(serializers.Serializer):
    kind = serializers.CharField()
    name = serializers.CharField()
    namespace = serializers.CharField()
    app = serializers.CharField(allow_blank=True)
    version = serializers.CharField(allow_blank=True)
    labels = serializers.DictField(child=serializers.CharField())
    replicas = serializers.IntegerField()
    ready_replicas = serializers.IntegerField()
    has_sidecar = serializers.BooleanField()
    sidecar = serializers.SerializerMethodField(help_text="present, partial, missing or 'no pods'")
    sidecar_inject = serializers.BooleanField(allow_null=True, help_text="The pod template's sidecar.istio.io/inject")
    pod_count = serializers.SerializerMethodField()
    resource_version = serializers.CharField(allow_blank=True)
    health = serializers.SerializerMethodField(
        help_text="Lists only: Healthy, Degraded, Failure or NA (pods ready vs desired, and request errors over "
                  "the last minute against the cluster's tolerances); null where not computed")
    health_reason = serializers.SerializerMethodField(help_text="Why it is not healthy, e.g. '0 of 2 pods ready'")
    health_error = serializers.SerializerMethodField(help_text="Why request health is missing, if it is")

    def _health(self, obj):
        return (self.context.get("health") or {}).get((obj.namespace, obj.name))

    def get_health(self, obj) -> str | None:
        h = self._health(obj)
        return h.status if h else None

    def get_health_reason(self, obj) -> str:
        h = self._health(obj)
        return h.reason if h else ""

    def get_health_error(self, obj) -> str:
        return self.context.get("health_error", "")

    def get_sidecar(self, obj) -> str:
        from apps.inventory.selectors import sidecar_state

        return sidecar_state(obj)

    def get_pod_count(self, obj) -> int:
        return len(obj.pods)


class ObjectRefSerializer(serializers.Serializer):
    kind = serializers.CharField()
    namespace = serializers.CharField()
    name = serializers.CharField()
    status = serializers.CharField(help_text="valid, warning or error")


class ServicePortSerializer(serializers.Serializer):
    name = serializers.CharField(allow_blank=True)
    port = serializers.IntegerField()
    protocol = serializers.CharField()
    app_protocol = serializers.CharField(allow_blank=True)
    target_port = serializers.JSONField(allow_null=True)


class ServiceSerializer(serializers.Serializer):
    name = serializers.CharField()
    namespace = serializers.CharField()
    host = serializers.CharField()
    labels = serializers.DictField(child=serializers.CharField())
    selector = serializers.DictField(child=serializers.CharField())
    ports = ServicePortSerializer(many=True)
    type = serializers.CharField()
    cluster_ip = serializers.CharField(allow_blank=True)
    resource_version = serializers.CharField(allow_blank=True)


# The nested lists below: with many=True, .data is a list (cast: the type stubs cannot tell).
class _Detail(serializers.Serializer):
    # Serialises a selectors detail: the fields of its ``subject`` (the workload, service or app), then
    # lists the detail holds, such as the Istio objects referring to the subject (each subclass
    # declares ``istio_objects`` itself, so that it stays the last field).
    subject = ""

    def __init__(self, detail=None, **kwargs):
        self._detail = detail
        super().__init__(getattr(detail, self.subject) if detail is not None else None, **kwargs)

    def get_istio_objects(self, obj) -> list[dict]:
        return cast(list[dict], ObjectRefSerializer(self._detail.istio_objects, many=True).data)


class WorkloadDetailSerializer(_Detail, WorkloadSerializer):
    subject = "workload"
    annotations = serializers.DictField(child=serializers.CharField())
    pods = PodSerializer(many=True)
    services = serializers.SerializerMethodField()
    istio_objects = serializers.SerializerMethodField()

    def get_services(self, obj) -> list[dict]:
        return cast(list[dict], ServiceSerializer(self._detail.services, many=True).data)


class ServiceDetailSerializer(_Detail, ServiceSerializer):
    subject = "service"
    workloads = serializers.SerializerMethodField()
    istio_objects = serializers.SerializerMethodField()

    def get_workloads(self, obj) -> list[dict]:
        return cast(list[dict], WorkloadSerializer(self._detail.workloads, many=True).data)


class WorkloadRefSerializer(serializers.Serializer):
    kind = serializers.CharField()
    name = serializers.CharField()
    version = serializers.CharField(allow_blank=True)


class ServiceRefSerializer(serializers.Serializer):
    namespace = serializers.CharField()
    name = serializers.CharField()


class AppSummarySerializer(serializers.Serializer):
    name = serializers.CharField(help_text="The app label (app, app.kubernetes.io/name or Istio's canonical name)")
    namespace = serializers.CharField()
    versions = serializers.ListField(child=serializers.CharField(), help_text="Version labels of its workloads")
    workloads = WorkloadRefSerializer(many=True)
    services = ServiceRefSerializer(many=True, help_text="Services selecting any of its workloads")
    pods = serializers.IntegerField()
    pods_with_sidecar = serializers.IntegerField()
    sidecar = serializers.CharField(help_text="present (every pod), partial, missing or 'no pods'")
    health = serializers.CharField(allow_null=True,
                                   help_text="The worst of its workloads': Healthy, Degraded, Failure or NA")
    health_problems = serializers.ListField(child=serializers.CharField(),
                                            help_text="Unhealthy workloads and why, worst first")
    health_error = serializers.SerializerMethodField(help_text="Why request health is missing, if it is")

    def get_health_error(self, obj) -> str:
        return self.context.get("health_error", "")


class AppDetailSerializer(_Detail, AppSummarySerializer):
    subject = "app"
    workloads = serializers.SerializerMethodField()  # type: ignore[assignment]  # with health, unlike the list
    istio_objects = serializers.SerializerMethodField()

    def get_workloads(self, obj) -> list[dict]:
        return cast(list[dict], WorkloadSerializer(obj.workloads, many=True, context={
            "health": {(obj.namespace, name): h for name, h in obj.workload_health.items()},
            "health_error": self.context.get("health_error", ""),
        }).data)
