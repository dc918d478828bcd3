from django.urls import path

from . import views

app_name = "inventory"
urlpatterns = [
    path("", views.overview, name="overview"),
    path("clusters/<slug:cluster>/namespaces/", views.namespace_list, name="namespaces"),
    path("clusters/<slug:cluster>/namespaces/<str:namespace>/workloads/", views.workload_list, name="workloads"),
    path("clusters/<slug:cluster>/namespaces/<str:namespace>/workloads/<str:name>/", views.workload_detail,
         name="workload"),
    path("clusters/<slug:cluster>/namespaces/<str:namespace>/services/", views.service_list, name="services"),
    path("clusters/<slug:cluster>/namespaces/<str:namespace>/services/<str:name>/", views.service_detail,
         name="service"),
    path("clusters/<slug:cluster>/namespaces/<str:namespace>/apps/", views.app_list, name="apps"),
    path("clusters/<slug:cluster>/namespaces/<str:namespace>/apps/<str:name>/", views.app_detail, name="app"),
]
