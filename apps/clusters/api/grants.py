"""A cluster's grants over the API: its admins (and superusers) manage them.

Outsiders get 404 for the cluster (no existence leak); people who see the
cluster but are not its admins get 403, and a refused write is an audit event.
"""
from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.http import Http404
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.accounts.models import Grant, Team
from apps.accounts.roles import Role
from apps.accounts.selectors import is_cluster_admin
from apps.accounts.services import AccountInputError, grant_create, grant_delete, grant_update
from apps.audit.services import ActionDenied, Target, deny
from apps.core.api import error_responses, validated_input

from ..selectors import get_cluster_for_user

ROLE_CHOICES = [r.label for r in Role]
# 403: not an admin of this cluster; 404: no such cluster (or not one you see) or grant.
ERRORS = error_responses(400, 401, 403, 404)
READ_ERRORS = error_responses(401, 403, 404)
# 409: the change would take away the last admin (the last superuser; a cluster's last admin).
CHANGE_ERRORS = error_responses(400, 401, 403, 404, 409)


class GrantOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    user = serializers.SerializerMethodField()
    team = serializers.SerializerMethodField()
    namespace_pattern = serializers.CharField()
    role = serializers.SerializerMethodField()
    created_at = serializers.DateTimeField()

    def get_user(self, obj) -> str | None:
        return obj.user.get_username() if obj.user_id else None

    def get_team(self, obj) -> str | None:
        return obj.team.name if obj.team_id else None

    def get_role(self, obj) -> str:
        return Role(obj.role).label


def _admin_cluster(request, name: str, action: str | None):
    cluster = get_cluster_for_user(request.user, name)
    if not is_cluster_admin(request.user, cluster):
        message = "Only the cluster's admins manage its grants."
        if action is None:
            raise ActionDenied(message)
        raise deny(action, target=Target(type="grant", cluster=cluster.name), message=message)
    return cluster


def _grant(cluster, grant_id: int) -> Grant:
    grant = Grant.objects.select_related("cluster", "user", "team").filter(cluster=cluster, pk=grant_id).first()
    if grant is None:
        raise Http404("No such grant on this cluster.")
    return grant


class ClusterGrantListView(APIView):
    class GrantCreateInputSerializer(serializers.Serializer):
        user = serializers.CharField(required=False, help_text="A username (or give team)")
        team = serializers.CharField(required=False, help_text="A team name (or give user)")
        namespace_pattern = serializers.CharField(default="*", max_length=253)
        role = serializers.ChoiceField(choices=ROLE_CHOICES)

    @extend_schema(responses={200: GrantOutputSerializer(many=True), **READ_ERRORS})
    def get(self, request, cluster: str):
        obj = _admin_cluster(request, cluster, None)
        grants = Grant.objects.filter(cluster=obj).select_related("user", "team")
        return Response(GrantOutputSerializer(grants, many=True).data)

    @extend_schema(request=GrantCreateInputSerializer, responses={201: GrantOutputSerializer, **ERRORS})
    def post(self, request, cluster: str):
        obj = _admin_cluster(request, cluster, "grant.create")
        values = validated_input(self.GrantCreateInputSerializer, request)
        if bool(values.get("user")) == bool(values.get("team")):
            raise AccountInputError("non_field_errors", "Give either user or team.")
        who: dict[str, Any] = {"user": None, "team": None}
        if values.get("user"):
            who["user"] = get_user_model().objects.filter(username=values["user"]).first()
            if who["user"] is None:
                raise AccountInputError("user", f"No user named '{values['user']}'.")
        else:
            who["team"] = Team.objects.filter(name=values["team"]).first()
            if who["team"] is None:
                raise AccountInputError("team", f"No team named '{values['team']}'.")
        grant = grant_create(cluster=obj, role=Role[values["role"].upper()],
                             namespace_pattern=values["namespace_pattern"], **who)
        return Response(GrantOutputSerializer(grant).data, status=status.HTTP_201_CREATED)


class ClusterGrantDetailView(APIView):
    class GrantUpdateInputSerializer(serializers.Serializer):
        namespace_pattern = serializers.CharField(required=False, max_length=253)
        role = serializers.ChoiceField(choices=ROLE_CHOICES, required=False)

    @extend_schema(responses={200: GrantOutputSerializer, **READ_ERRORS})
    def get(self, request, cluster: str, grant_id: int):
        return Response(GrantOutputSerializer(_grant(_admin_cluster(request, cluster, None), grant_id)).data)

    @extend_schema(request=GrantUpdateInputSerializer, responses={200: GrantOutputSerializer, **CHANGE_ERRORS})
    def patch(self, request, cluster: str, grant_id: int):
        grant = _grant(_admin_cluster(request, cluster, "grant.update"), grant_id)
        data = validated_input(self.GrantUpdateInputSerializer, request)
        role = data.get("role")
        grant = grant_update(grant=grant, role=Role[role.upper()] if role else None,
                             namespace_pattern=data.get("namespace_pattern"))
        return Response(GrantOutputSerializer(grant).data)

    @extend_schema(responses={204: None, **CHANGE_ERRORS})
    def delete(self, request, cluster: str, grant_id: int):
        grant_delete(grant=_grant(_admin_cluster(request, cluster, "grant.delete"), grant_id))
        return Response(status=status.HTTP_204_NO_CONTENT)
