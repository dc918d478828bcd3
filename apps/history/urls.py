from django.urls import path

from . import views

app_name = "history"
urlpatterns = [
    path("clusters/<slug:cluster>/history/", views.timeline_page, name="timeline"),
    path("clusters/<slug:cluster>/history/diff/", views.diff_page, name="diff"),
]
