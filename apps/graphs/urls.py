from django.urls import path

from . import views

urlpatterns = [
    path("clusters/<slug:name>/graph/", views.graph_page, name="graph-page"),
]
