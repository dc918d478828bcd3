"""Admin pieces the apps share."""
from django.contrib import admin


class ReadOnlyAdmin(admin.ModelAdmin):
    """Rows written by an app's services only (or never changed at all): shown, never edited here."""

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
