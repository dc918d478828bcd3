"""The trail in the admin: read-only (the database refuses edits anyway)."""
from django.contrib import admin

from .models import AuditCheckpoint, AuditEvent


class _ReadOnly(admin.ModelAdmin):
    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(AuditEvent)
class AuditEventAdmin(_ReadOnly):
    list_display = ("seq", "created_at", "action", "outcome", "actor_username", "actor_auth", "ip", "target_cluster",
                    "target_namespace", "target_name")
    list_filter = ("outcome", "actor_auth", "action")
    search_fields = ("actor_username", "target_name", "request_id", "action")
    date_hierarchy = "created_at"


@admin.register(AuditCheckpoint)
class AuditCheckpointAdmin(_ReadOnly):
    list_display = ("id", "seq", "created_at", "key_id", "event_hash")
