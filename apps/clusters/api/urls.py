from django.urls import path
from rest_framework.routers import SimpleRouter

from . import grants
from .views import ClusterViewSet

router = SimpleRouter(trailing_slash="/?")  # type: ignore[arg-type]  # DRF takes a regex here; its stubs say bool
router.register("clusters", ClusterViewSet, basename="api-cluster")
urlpatterns = [
    # A cluster's grants: its admins.
    path("clusters/<slug:cluster>/grants/", grants.ClusterGrantListView.as_view(), name="api-cluster-grants"),
    path("clusters/<slug:cluster>/grants/<int:grant_id>/", grants.ClusterGrantDetailView.as_view(),
         name="api-cluster-grant"),
    *router.urls,
]
