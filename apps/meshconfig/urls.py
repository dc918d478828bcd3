from django.urls import path

from . import views

app_name = "meshconfig"
urlpatterns = [
    path("clusters/<slug:cluster>/istio/", views.config_list, name="list"),
    path("clusters/<slug:cluster>/istio/<str:namespace>/<str:kind>/<str:name>/", views.config_detail, name="detail"),
]
