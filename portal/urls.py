from csp.constants import SELF, UNSAFE_INLINE
from csp.decorators import csp_update
from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularRedocView, SpectacularSwaggerSplitView

from apps.accounts.forms import LockoutAdminAuthenticationForm

admin.site.login_form = LockoutAdminAuthenticationForm
admin.site.site_header = "Meshdeck administration"

urlpatterns = [
    path("admin/", admin.site.urls),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("api/docs/", SpectacularSwaggerSplitView.as_view(url_name="api-schema"), name="api-docs"),
    # ReDoc writes its own <style> elements and runs its search in a blob: worker: that one page
    # may use inline styles and blob: workers (still no inline script). Its "Redocly" logo comes
    # from a CDN and stays blocked (img-src 'self'): the page hides it when it fails to load.
    path("api/redoc/", csp_update({"style-src": [UNSAFE_INLINE], "worker-src": [SELF, "blob:"]})(
        SpectacularRedocView.as_view(url_name="api-schema")), name="api-redoc"),
    path("accounts/", include("apps.accounts.urls")),
    # Each app brings its API (api.urls, under /api/) and its pages (urls).
    path("api/", include("apps.accounts.api.urls")),
    path("api/", include("apps.clusters.api.urls")),
    path("api/", include("apps.graphs.api.urls")),
    path("api/", include("apps.inventory.api.urls")),
    path("api/", include("apps.meshconfig.api.urls")),
    path("", include("apps.clusters.urls")),
    path("", include("apps.graphs.urls")),
    path("", include("apps.inventory.urls")),
    path("", include("apps.meshconfig.urls")),
    # Audit history review (apps.auditreview).
    path("api/", include("apps.auditreview.api.urls")),
    path("", include("apps.auditreview.urls")),
    # History: snapshots, time travel, diff, timeline (apps.history).
    path("api/", include("apps.history.api.urls")),
    path("", include("apps.history.urls")),
    # Change requests (apps.changes): the API and the pages.
    path("api/", include("apps.changes.api.urls")),
    path("", include("apps.changes.urls")),
]
