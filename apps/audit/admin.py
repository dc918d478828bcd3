"""The trail in the admin: read-only (the database refuses edits anyway)."""
from django.contrib import admin

from apps.core.admin import ReadOnlyAdmin

from .models import AuditCheckpoint, AuditEvent


@admin.register(AuditEvent)
class AuditEventAdmin(ReadOnlyAdmin):
    list_display = ("seq", "created_at", "action", "outcome", "actor_username", "actor_auth", "ip", "target_cluster",
                    "target_namespace", "target_name")
    list_filter = ("outcome", "actor_auth", "action")
    search_fields = ("actor_username", "target_name", "request_id", "action")
    date_hierarchy = "created_at"


@admin.register(AuditCheckpoint)
class AuditCheckpointAdmin(ReadOnlyAdmin):
    list_display = ("id", "seq", "created_at", "key_id", "event_hash")
