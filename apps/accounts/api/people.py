"""Users and teams over the API: superusers only (each write audited)."""
from __future__ import annotations

from django.contrib.auth import get_user_model
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.audit.services import ActionDenied, Target, deny
from apps.core.api import body_field, error_responses, validated_input

from ..models import Team
from ..services import (
    team_create,
    team_delete,
    team_member_add,
    team_member_remove,
    team_update,
    user_create,
    user_deactivate,
    user_update,
)

# 403: not a superuser; 404: no such user or team.
ERRORS = error_responses(400, 401, 403, 404)
READ_ERRORS = error_responses(401, 403, 404)
# 409: the change would take away the last admin (the last superuser; a cluster's last admin).
CHANGE_ERRORS = error_responses(400, 401, 403, 404, 409)


def require_superuser(request, action: str | None, target: Target) -> None:
    """Superusers only; a refused write is an audit event."""
    if request.user.is_superuser:
        return
    message = "Only superusers manage users and teams."
    if action is None:
        raise ActionDenied(message)
    raise deny(action, target=target, message=message)


class UserOutputSerializer(serializers.Serializer):
    username = serializers.CharField()
    # Not EmailField: the schema would say format "email", and a user without one answers "".
    email = serializers.CharField(allow_blank=True, help_text="An e-mail address, or empty when none is set")
    is_active = serializers.BooleanField()
    is_superuser = serializers.BooleanField()
    teams = serializers.SerializerMethodField()
    date_joined = serializers.DateTimeField()

    def get_teams(self, obj) -> list[str]:
        return [t.name for t in obj.teams.all()]


def _user(username: str):
    return get_object_or_404(get_user_model(), username=username)


class UserListView(APIView):
    class UserCreateInputSerializer(serializers.Serializer):
        username = serializers.CharField(max_length=150)
        password = serializers.CharField(write_only=True, style={"input_type": "password"})
        email = serializers.EmailField(required=False, allow_blank=True, default="")
        teams = serializers.ListField(child=serializers.CharField(max_length=100), required=False, default=list)
        is_superuser = serializers.BooleanField(required=False, default=False)

    @extend_schema(responses={200: UserOutputSerializer(many=True), **READ_ERRORS})
    def get(self, request):
        require_superuser(request, None, Target(type="user"))
        users = get_user_model().objects.order_by("username").prefetch_related("teams")
        return Response(UserOutputSerializer(users, many=True).data)

    @extend_schema(request=UserCreateInputSerializer, responses={201: UserOutputSerializer, **ERRORS})
    def post(self, request):
        require_superuser(request, "user.create", Target(type="user", name=body_field(request, "username")))
        data = validated_input(self.UserCreateInputSerializer, request)
        user = user_create(**data)
        return Response(UserOutputSerializer(user).data, status=status.HTTP_201_CREATED)


class UserDetailView(APIView):
    class UserUpdateInputSerializer(serializers.Serializer):
        email = serializers.EmailField(required=False, allow_blank=True)
        is_active = serializers.BooleanField(required=False)
        is_superuser = serializers.BooleanField(required=False)
        password = serializers.CharField(required=False, write_only=True, style={"input_type": "password"})

    @extend_schema(responses={200: UserOutputSerializer, **READ_ERRORS})
    def get(self, request, username: str):
        require_superuser(request, None, Target(type="user"))
        return Response(UserOutputSerializer(_user(username)).data)

    @extend_schema(request=UserUpdateInputSerializer, responses={200: UserOutputSerializer, **CHANGE_ERRORS})
    def patch(self, request, username: str):
        require_superuser(request, "user.update", Target(type="user", name=username))
        user = _user(username)
        data = validated_input(self.UserUpdateInputSerializer, request)
        changes = dict(data)
        if "is_superuser" in changes:
            changes["is_staff"] = changes["is_superuser"]
        return Response(UserOutputSerializer(user_update(user=user, **changes)).data)

    @extend_schema(responses={204: None, **CHANGE_ERRORS},
                   description="Deactivates the user (kept for the audit trail).")
    def delete(self, request, username: str):
        require_superuser(request, "user.deactivate", Target(type="user", name=username))
        user_deactivate(user=_user(username))
        return Response(status=status.HTTP_204_NO_CONTENT)


class TeamOutputSerializer(serializers.Serializer):
    name = serializers.CharField()
    members = serializers.SerializerMethodField()
    created_at = serializers.DateTimeField()

    def get_members(self, obj) -> list[str]:
        return sorted(u.get_username() for u in obj.members.all())


class TeamInputSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=100)


def _team(name: str) -> Team:
    return get_object_or_404(Team, name=name)


class TeamListView(APIView):
    @extend_schema(responses={200: TeamOutputSerializer(many=True), **READ_ERRORS})
    def get(self, request):
        require_superuser(request, None, Target(type="team"))
        return Response(TeamOutputSerializer(Team.objects.prefetch_related("members"), many=True).data)

    @extend_schema(request=TeamInputSerializer, responses={201: TeamOutputSerializer, **ERRORS})
    def post(self, request):
        require_superuser(request, "team.create", Target(type="team", name=body_field(request, "name")))
        data = validated_input(TeamInputSerializer, request)
        return Response(TeamOutputSerializer(team_create(**data)).data, status=status.HTTP_201_CREATED)


class TeamDetailView(APIView):
    @extend_schema(responses={200: TeamOutputSerializer, **READ_ERRORS})
    def get(self, request, name: str):
        require_superuser(request, None, Target(type="team"))
        return Response(TeamOutputSerializer(_team(name)).data)

    @extend_schema(request=TeamInputSerializer, responses={200: TeamOutputSerializer, **ERRORS})
    def patch(self, request, name: str):
        require_superuser(request, "team.update", Target(type="team", name=name))
        team = _team(name)
        data = validated_input(TeamInputSerializer, request)
        return Response(TeamOutputSerializer(team_update(team=team, name=data["name"])).data)

    @extend_schema(responses={204: None, **ERRORS})
    def delete(self, request, name: str):
        require_superuser(request, "team.delete", Target(type="team", name=name))
        team_delete(team=_team(name))
        return Response(status=status.HTTP_204_NO_CONTENT)


class TeamMembersView(APIView):
    class MemberInputSerializer(serializers.Serializer):
        username = serializers.CharField(max_length=150)

    @extend_schema(request=MemberInputSerializer, responses={200: TeamOutputSerializer, **ERRORS})
    def post(self, request, name: str):
        require_superuser(request, "team.member_add", Target(type="team", name=name))
        team = _team(name)
        data = validated_input(self.MemberInputSerializer, request)
        team_member_add(team=team, user=_user(data["username"]))
        return Response(TeamOutputSerializer(team).data)


class TeamMemberView(APIView):
    @extend_schema(responses={200: TeamOutputSerializer, **ERRORS})
    def delete(self, request, name: str, username: str):
        require_superuser(request, "team.member_remove", Target(type="team", name=name))
        team = _team(name)
        team_member_remove(team=team, user=_user(username))
        return Response(TeamOutputSerializer(team).data)
