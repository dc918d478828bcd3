from django.urls import path

from . import views

app_name = "clusters"
urlpatterns = [
    path("clusters/new/", views.cluster_add, name="add"),
    path("clusters/<slug:cluster>/", views.cluster_detail, name="detail"),
    path("clusters/<slug:cluster>/test/", views.cluster_test, name="test"),
]
