from django.urls import path, re_path

from .views import GraphSeriesView, GraphView, KialiGraphView

urlpatterns = [
    path("clusters/<slug:name>/graph", GraphView.as_view(), name="api-cluster-graph"),
    path("clusters/<slug:name>/graph/series", GraphSeriesView.as_view(), name="api-cluster-graph-series"),
    # Exact path: other apps own the rest of /api/namespaces/...
    re_path(r"^namespaces/graph/?$", KialiGraphView.as_view(), name="api-kiali-graph"),
]
