from django.urls import path

from .views import DiffAPI, SnapshotListAPI, TimelineAPI

urlpatterns = [
    path("clusters/<slug:cluster>/snapshots/", SnapshotListAPI.as_view(), name="api-cluster-snapshots"),
    path("clusters/<slug:cluster>/diff", DiffAPI.as_view(), name="api-cluster-diff"),
    path("clusters/<slug:cluster>/timeline", TimelineAPI.as_view(), name="api-cluster-timeline"),
]
