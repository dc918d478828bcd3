from django.contrib import admin

from .models import ApiToken, Grant, LoginAttempt, Team


class GrantInline(admin.TabularInline):
    model = Grant
    extra = 0
    fields = ("cluster", "namespace_pattern", "role")


@admin.register(Team)
class TeamAdmin(admin.ModelAdmin):
    list_display = ("name", "created_at")
    search_fields = ("name",)
    filter_horizontal = ("members",)
    inlines = [GrantInline]


@admin.register(Grant)
class GrantAdmin(admin.ModelAdmin):
    list_display = ("__str__", "cluster", "namespace_pattern", "role", "user", "team")
    list_filter = ("cluster", "role")
    search_fields = ("namespace_pattern", "user__username", "team__name")
    autocomplete_fields = ("user", "team")


@admin.register(LoginAttempt)
class LoginAttemptAdmin(admin.ModelAdmin):
    list_display = ("username", "ip_address", "entry_point", "created_at")
    list_filter = ("entry_point",)
    search_fields = ("username", "ip_address")
    readonly_fields = ("username", "ip_address", "entry_point", "created_at")
    actions = ["unlock"]

    @admin.action(description="Unlock: forget these failed attempts")
    def unlock(self, request, queryset):
        count = queryset.count()
        queryset.delete()
        self.message_user(request, f"Forgot {count} failed attempt(s).")

    def has_add_permission(self, request):
        return False


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin):
    list_display = ("name", "user", "key_prefix", "created_at", "expires_at", "last_used_at", "revoked_at")
    list_filter = ("revoked_at",)
    search_fields = ("name", "user__username", "key_prefix")
    readonly_fields = ("key_prefix", "created_at", "last_used_at")
    exclude = ("key_hash",)

    def has_add_permission(self, request):
        # Secrets are shown once when created from the profile page or the API.
        return False
