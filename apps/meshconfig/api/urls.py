from django.urls import path

from . import views

urlpatterns = [
    path("clusters/<slug:cluster>/istio/", views.ConfigListAPI.as_view(), name="api-istio-config"),
    path("clusters/<slug:cluster>/istio/<str:namespace>/<str:kind>/<str:name>/", views.ConfigDetailAPI.as_view(),
         name="api-istio-object"),
]
