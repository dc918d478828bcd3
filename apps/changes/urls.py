from django.urls import path

from . import views

app_name = "changes"
urlpatterns = [
    path("changes/", views.change_list, name="list"),
    path("changes/<int:change_id>/", views.change_detail, name="detail"),
    path("changes/<int:change_id>/<slug:step>/", views.change_step, name="step"),
    path("clusters/<slug:cluster>/changes/new/", views.change_new, name="new"),
]
