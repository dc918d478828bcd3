from django.urls import path

from . import views

urlpatterns = [
    path("auth/token/", views.TokenIssueView.as_view(), name="api-token-issue"),
    path("me/", views.MeView.as_view(), name="api-me"),
]
