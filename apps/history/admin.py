"""Admin pages: snapshots (read-only: they are history), their parts, and the schedules (writes go
through the services, so the PeriodicTask follows and the change is audited)."""
from __future__ import annotations

from django.contrib import admin

from . import services
from .models import Snapshot, SnapshotPart, SnapshotSchedule


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(Snapshot)
class SnapshotAdmin(ReadOnlyAdmin):
    list_display = ("id", "cluster", "taken_at", "status", "reason", "duration_ms")
    list_filter = ("status", "cluster")
    date_hierarchy = "taken_at"
    search_fields = ("reason",)
    list_select_related = ("cluster",)


@admin.register(SnapshotPart)
class SnapshotPartAdmin(ReadOnlyAdmin):
    list_display = ("sha256", "kind", "encoding", "raw_size", "stored_size", "created_at")
    list_filter = ("kind",)
    exclude = ("data",)


@admin.register(SnapshotSchedule)
class SnapshotScheduleAdmin(admin.ModelAdmin):
    list_display = ("cluster", "enabled", "interval_seconds", "queue", "last_status", "failures", "next_attempt_at")
    fields = ("cluster", "enabled", "interval_seconds", "queue", "last_status", "last_reason", "failures",
              "next_attempt_at")
    readonly_fields = ("cluster", "last_status", "last_reason", "failures", "next_attempt_at")

    def has_add_permission(self, request):
        return False  # every cluster has one (made with the cluster)

    def save_model(self, request, obj, form, change):
        services.snapshot_schedule_update(cluster=obj.cluster, enabled=obj.enabled,
                                          interval_seconds=obj.interval_seconds, queue=obj.queue)
