"""Admin pages for the change flow. Every write goes through apps.changes.services (audited)."""
from __future__ import annotations

from collections.abc import Callable

from django.contrib import admin, messages

from apps.core.admin import ReadOnlyAdmin
from apps.core.errors import MeshdeckError

from .models import Approval, ApprovalPolicy, ChangeLock, ChangeRequest, ChangeWindow
from .services import (
    approval_policy_delete,
    approval_policy_save,
    change_cancel,
    change_window_delete,
    change_window_save,
)


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
    save_fn: Callable[..., object]  # each admin names the services that save and delete its model
    delete_fn: Callable[..., object]
    arg: str  # the services' keyword for the object

    def save_model(self, request, obj, form, change):
        type(self).save_fn(**{self.arg: obj})

    def delete_model(self, request, obj):
        type(self).delete_fn(**{self.arg: obj})

    def delete_queryset(self, request, queryset):
        for obj in queryset:
            type(self).delete_fn(**{self.arg: obj})


@admin.register(ChangeWindow)
class ChangeWindowAdmin(ServiceWritesAdmin):
    list_display = ("cluster", "namespace_pattern", "weekdays", "start_time", "end_time", "timezone")
    save_fn, delete_fn, arg = staticmethod(change_window_save), staticmethod(change_window_delete), "window"


@admin.register(ApprovalPolicy)
class ApprovalPolicyAdmin(ServiceWritesAdmin):
    list_display = ("cluster", "namespace", "approvals_needed")
    save_fn, delete_fn, arg = staticmethod(approval_policy_save), staticmethod(approval_policy_delete), "policy"
