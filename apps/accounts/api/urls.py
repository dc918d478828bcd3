from django.urls import path

from . import people, views

urlpatterns = [
    path("auth/token/", views.TokenIssueView.as_view(), name="api-token-issue"),
    path("me/", views.MeView.as_view(), name="api-me"),
    # Users and teams: superusers.
    path("users/", people.UserListView.as_view(), name="api-users"),
    path("users/<str:username>/", people.UserDetailView.as_view(), name="api-user"),
    path("teams/", people.TeamListView.as_view(), name="api-teams"),
    path("teams/<str:name>/", people.TeamDetailView.as_view(), name="api-team"),
    path("teams/<str:name>/members/", people.TeamMembersView.as_view(), name="api-team-members"),
    path("teams/<str:name>/members/<str:username>/", people.TeamMemberView.as_view(), name="api-team-member"),
]
