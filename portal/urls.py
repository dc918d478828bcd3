import importlib.util

from django.conf import settings
from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularRedocView, SpectacularSwaggerView

from apps.accounts.forms import LockoutAdminAuthenticationForm

admin.site.login_form = LockoutAdminAuthenticationForm
admin.site.site_header = "Meshdeck administration"

urlpatterns = [
    path("admin/", admin.site.urls),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="api-schema"), name="api-docs"),
    path("api/redoc/", SpectacularRedocView.as_view(url_name="api-schema"), name="api-redoc"),
    path("accounts/", include("apps.accounts.urls")),
    path("api/", include("apps.accounts.api.urls")),
    path("api/", include("apps.clusters.api.urls")),
    path("", include("apps.clusters.urls")),
    path("", include("apps.core.urls")),
]

# Feature apps: each brings its pages (urls) and its API (api.urls).
for _app in ("apps.graphs", "apps.inventory", "apps.meshconfig"):
    if _app in settings.INSTALLED_APPS:
        for _prefix, _module in (("api/", f"{_app}.api.urls"), ("", f"{_app}.urls")):
            try:
                _found = importlib.util.find_spec(_module) is not None
            except ModuleNotFoundError:
                _found = False
            if _found:
                urlpatterns.append(path(_prefix, include(_module)))
