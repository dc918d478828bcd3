"""Accounts in the admin. Saves and deletes call the services, so every
change made here is checked and audited like one made anywhere else."""
from collections.abc import Callable
from typing import Any

from django.contrib import admin, messages
from django.contrib.auth import get_user_model
from django.contrib.auth.admin import UserAdmin
from django.contrib.auth.forms import AdminPasswordChangeForm, UserChangeForm
from django.core.exceptions import ValidationError
from django.forms import ModelForm

from .models import ApiToken, Grant, LoginAttempt, Team
from .services import (
    LastAdminError,
    grant_create,
    grant_delete,
    grant_update,
    lockout_clear,
    refuse_losing_the_last_cluster_admin,
    refuse_losing_the_last_superuser,
    team_create,
    team_delete,
    team_set_members,
    team_update,
    token_revoke,
    user_create,
    user_update,
)


def _adopt(obj, saved) -> None:
    """The admin goes on with ``obj`` (its pk names the change page)."""
    obj.pk = saved.pk
    obj.refresh_from_db()


class _ServiceDeletes:
    delete_service: Callable[[Any], object]  # each admin names the service that deletes its model

    def delete_model(self, request, obj):
        type(self).delete_service(obj)

    def delete_queryset(self, request, queryset):
        for obj in queryset:
            type(self).delete_service(obj)


@admin.register(Team)
class TeamAdmin(_ServiceDeletes, admin.ModelAdmin):
    list_display = ("name", "created_at")
    search_fields = ("name",)
    filter_horizontal = ("members",)
    delete_service = staticmethod(lambda team: team_delete(team=team))

    def save_model(self, request, obj, form, change):
        name = form.cleaned_data["name"]
        _adopt(obj, team_update(team=Team.objects.get(pk=obj.pk), name=name) if change else team_create(name=name))

    def save_related(self, request, form, formsets, change):
        team_set_members(team=form.instance, users=form.cleaned_data.get("members") or [])


class GrantAdminForm(ModelForm):
    class Meta:
        model = Grant
        fields = "__all__"

    def clean(self):
        data = super().clean()
        if self.instance.pk:  # self.instance still holds the saved grant here
            try:
                refuse_losing_the_last_cluster_admin(self.instance, role=data.get("role"),
                                                     namespace_pattern=data.get("namespace_pattern"))
            except LastAdminError as exc:
                raise ValidationError(exc.message) from exc
        return data


@admin.register(Grant)
class GrantAdmin(_ServiceDeletes, admin.ModelAdmin):
    form = GrantAdminForm
    list_display = ("__str__", "cluster", "namespace_pattern", "role", "user", "team")
    list_filter = ("cluster", "role")
    search_fields = ("namespace_pattern", "user__username", "team__name")
    autocomplete_fields = ("user", "team")
    delete_service = staticmethod(lambda grant: grant_delete(grant=grant))

    def has_delete_permission(self, request, obj=None):
        if obj is not None:
            try:
                refuse_losing_the_last_cluster_admin(obj, deleting=True)
            except LastAdminError:
                return False  # the cluster's last admin grant: the service would refuse it
        return super().has_delete_permission(request, obj)

    def get_readonly_fields(self, request, obj=None):
        # Who and where are the grant's identity: change the role or pattern, or add another grant.
        return ("user", "team", "cluster") if obj else ()

    def save_model(self, request, obj, form, change):
        data = form.cleaned_data
        if change:
            saved = grant_update(grant=Grant.objects.get(pk=obj.pk), role=data["role"],
                                 namespace_pattern=data["namespace_pattern"])
        else:
            saved = grant_create(cluster=data["cluster"], role=data["role"],
                                 namespace_pattern=data["namespace_pattern"], user=data.get("user"),
                                 team=data.get("team"))
        _adopt(obj, saved)


@admin.register(LoginAttempt)
class LoginAttemptAdmin(admin.ModelAdmin):
    list_display = ("username", "ip_address", "entry_point", "created_at")
    list_filter = ("entry_point",)
    search_fields = ("username", "ip_address")
    readonly_fields = ("username", "ip_address", "entry_point", "created_at")
    actions = ["unlock"]

    @admin.action(description="Unlock: forget these failed attempts")
    def unlock(self, request, queryset):
        count = lockout_clear(attempts=queryset)
        self.message_user(request, f"Forgot {count} failed attempt(s).")

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False  # only through "Unlock", which is audited


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin):
    list_display = ("name", "user", "scope", "key_prefix", "created_at", "expires_at", "last_used_at", "revoked_at")
    list_filter = ("scope", "revoked_at")
    search_fields = ("name", "user__username", "key_prefix")
    exclude = ("key_hash",)
    actions = ["revoke"]

    @admin.action(description="Revoke the selected tokens")
    def revoke(self, request, queryset):
        count = sum(token_revoke(token=token) for token in queryset.select_related("user"))
        self.message_user(request, f"Revoked {count} token(s).", messages.SUCCESS)

    def has_add_permission(self, request):
        # Secrets are shown once when created from the profile page or the API.
        return False

    def has_change_permission(self, request, obj=None):
        return False  # revoke with the action (audited)

    def has_delete_permission(self, request, obj=None):
        return False  # revoked tokens stay, so the trail's token ids keep meaning something


class AuditedPasswordChangeForm(AdminPasswordChangeForm):
    def save(self, commit=True):
        return user_update(user=self.user, password=self.cleaned_data["password1"])


User = get_user_model()
if admin.site.is_registered(User):
    admin.site.unregister(User)


class LastSuperuserCheckedChangeForm(UserChangeForm):
    def clean(self):
        data = super().clean()
        if self.instance.pk:  # self.instance still holds the saved user here
            try:
                refuse_losing_the_last_superuser(self.instance, {f: data[f] for f in ("is_active", "is_superuser")
                                                                 if f in data})
            except LastAdminError as exc:
                raise ValidationError(exc.message) from exc
        return data


@admin.register(User)
class AuditedUserAdmin(UserAdmin):
    """Django's user admin, minus permissions and groups (Meshdeck uses grants), through the services."""

    form = LastSuperuserCheckedChangeForm
    change_password_form = AuditedPasswordChangeForm
    fieldsets = (
        (None, {"fields": ("username", "password")}),
        ("Personal info", {"fields": ("first_name", "last_name", "email")}),
        ("Status", {"fields": ("is_active", "is_staff", "is_superuser", "last_login", "date_joined")}),
    )
    readonly_fields = ("last_login", "date_joined")
    list_filter = ("is_staff", "is_superuser", "is_active")

    def get_readonly_fields(self, request, obj=None):
        # Renaming would rewrite who an event's username copy points at.
        return (*self.readonly_fields, "username") if obj else self.readonly_fields

    def save_model(self, request, obj, form, change):
        data = form.cleaned_data
        if change:
            fields = ("email", "first_name", "last_name", "is_active", "is_staff", "is_superuser")
            saved = user_update(user=User.objects.get(pk=obj.pk), **{f: data[f] for f in fields if f in data})
        else:
            password = data.get("password1") if data.get("usable_password", "true") not in (False, "false") else None
            saved = user_create(username=data["username"], password=password or None)
        _adopt(obj, saved)

    def save_related(self, request, form, formsets, change):
        pass  # no groups or permissions here

    def has_delete_permission(self, request, obj=None):
        if obj is not None:
            try:
                refuse_losing_the_last_superuser(obj, {"is_active": False})
            except LastAdminError:
                return False  # deleting deactivates, and this is the last active superuser
        return super().has_delete_permission(request, obj)

    def delete_model(self, request, obj):
        user_update(user=obj, is_active=False)
        self.message_user(request, f"{obj} was deactivated, not deleted: the audit trail keeps naming them.",
                          messages.WARNING)

    def delete_queryset(self, request, queryset):
        for user in queryset:
            self.delete_model(request, user)
