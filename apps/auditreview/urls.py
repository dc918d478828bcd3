from django.urls import path

from . import views

app_name = "auditreview"
urlpatterns = [
    path("audit/", views.event_list, name="events"),
]
