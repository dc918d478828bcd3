from django.urls import path

from . import views

urlpatterns = [
    path("clusters/<slug:cluster>/namespaces/", views.NamespaceListAPI.as_view(), name="api-namespaces"),
    path("clusters/<slug:cluster>/namespaces/<str:namespace>/workloads/", views.WorkloadListAPI.as_view(),
         name="api-workloads"),
    path("clusters/<slug:cluster>/namespaces/<str:namespace>/workloads/<str:name>/",
         views.WorkloadDetailAPI.as_view(), name="api-workload"),
    path("clusters/<slug:cluster>/namespaces/<str:namespace>/services/", views.ServiceListAPI.as_view(),
         name="api-services"),
    path("clusters/<slug:cluster>/namespaces/<str:namespace>/services/<str:name>/",
         views.ServiceDetailAPI.as_view(), name="api-service"),
    path("clusters/<slug:cluster>/namespaces/<str:namespace>/apps/", views.AppListAPI.as_view(), name="api-apps"),
    path("clusters/<slug:cluster>/namespaces/<str:namespace>/apps/<str:name>/", views.AppDetailAPI.as_view(),
         name="api-app"),
]
