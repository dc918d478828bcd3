"""Admin pages for the change flow. Every write goes through apps.changes.services (audited)."""
from __future__ import annotations

from django.contrib import admin, messages

from apps.core.admin import ReadOnlyAdmin
from apps.core.errors import MeshdeckError

from .models import Approval, ApprovalPolicy, ChangeLock, ChangeRequest, ChangeWindow
from .services import APPROVAL_POLICIES, CHANGE_WINDOWS, ClusterSetting, change_cancel


@admin.register(ChangeRequest)
class ChangeRequestAdmin(ReadOnlyAdmin):
    list_display = ("id", "cluster", "namespace", "kind", "summary", "status", "requester", "created_at")
    list_filter = ("status", "kind", "cluster")
    search_fields = ("namespace", "summary", "requester__username")
    actions = ["cancel_changes"]

    @admin.action(description="Cancel the selected change requests")
    def cancel_changes(self, request, queryset):
        done = 0
        for change in queryset:
            try:
                change_cancel(change=change, user=request.user)
                done += 1
            except MeshdeckError as exc:
                self.message_user(request, f"#{change.pk}: {exc}", messages.WARNING)
        if done:
            self.message_user(request, f"Cancelled {done} change request(s).")

    def get_actions(self, request):
        # the action is a write through the service; the read-only admin hides actions otherwise
        actions = super().get_actions(request)
        return actions if request.user.is_superuser else {}


@admin.register(Approval)
class ApprovalAdmin(ReadOnlyAdmin):
    list_display = ("change", "reviewer", "decision", "at", "voided_at")
    list_filter = ("decision",)


@admin.register(ChangeLock)
class ChangeLockAdmin(ReadOnlyAdmin):
    list_display = ("cluster", "kind", "namespace", "name", "change", "created_at")


class ServiceWritesAdmin(admin.ModelAdmin):
    setting: ClusterSetting  # the service that saves and deletes the model

    def save_model(self, request, obj, form, change):
        self.setting.save(obj)

    def delete_model(self, request, obj):
        self.setting.delete(obj)

    def delete_queryset(self, request, queryset):
        for obj in queryset:
            self.setting.delete(obj)


@admin.register(ChangeWindow)
class ChangeWindowAdmin(ServiceWritesAdmin):
    list_display = ("cluster", "namespace_pattern", "weekdays", "start_time", "end_time", "timezone")
    setting = CHANGE_WINDOWS


@admin.register(ApprovalPolicy)
class ApprovalPolicyAdmin(ServiceWritesAdmin):
    list_display = ("cluster", "namespace", "approvals_needed")
    setting = APPROVAL_POLICIES
