from django.contrib.auth import authenticate
from django.db import transaction
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.audit.actor import acting_as, actor_from_request
from apps.core.api import error_response, error_responses

from ..lockout import client_ip, is_locked_out, lockout_message
from ..models import ApiToken
from ..roles import Role
from ..selectors import grants_for_user
from ..services import api_token_create, login_refused_locked_out, login_succeeded


class TokenIssueView(APIView):
    """Exchange username and password for an API token (lockout applies)."""

    permission_classes = [AllowAny]
    authentication_classes = []
    throttle_classes = []

    class TokenIssueInputSerializer(serializers.Serializer):
        username = serializers.CharField()
        password = serializers.CharField(style={"input_type": "password"})
        name = serializers.CharField(default="api", max_length=100)
        expires_in_days = serializers.IntegerField(required=False, min_value=1, max_value=365)
        scope = serializers.ChoiceField(choices=ApiToken.Scope.values, default=ApiToken.Scope.READ,
                                        help_text="read (default): GET only; write: whatever your grants allow")

    class TokenIssueOutputSerializer(serializers.Serializer):
        token = serializers.CharField()
        name = serializers.CharField()
        scope = serializers.ChoiceField(choices=ApiToken.Scope.values)
        expires_at = serializers.DateTimeField(allow_null=True)

    @extend_schema(request=TokenIssueInputSerializer, auth=[],
                   responses={201: TokenIssueOutputSerializer, **error_responses(401, 429)})
    def post(self, request):
        data = self.TokenIssueInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        username = data.validated_data["username"]
        if is_locked_out(username, client_ip(request)):
            login_refused_locked_out(username=username, request=request, entry_point="api")
            return error_response(lockout_message(), "locked_out", status.HTTP_429_TOO_MANY_REQUESTS)
        user = authenticate(request, username=username, password=data.validated_data["password"])
        if user is None:
            return error_response("Wrong username or password.", "invalid_credentials", status.HTTP_401_UNAUTHORIZED)
        # authenticate() does not log in (no session): the login and the token are one act.
        with transaction.atomic(), acting_as(actor_from_request(request, user=user, detail="api")):
            login_succeeded(user=user, request=request, entry_point="api")
            token, secret = api_token_create(
                user=user, name=data.validated_data["name"],
                expires_in_days=data.validated_data.get("expires_in_days"), scope=data.validated_data["scope"],
            )
        return Response({"token": secret, "name": token.name, "scope": token.scope, "expires_at": token.expires_at},
                        status=status.HTTP_201_CREATED)


class MeGrantSerializer(serializers.Serializer):
    cluster = serializers.CharField()
    namespace_pattern = serializers.CharField(help_text="Shell-style: bookinfo, team-*, *")
    role = serializers.ChoiceField(choices=[r.label for r in Role])
    via_team = serializers.CharField(allow_null=True, help_text="The team the grant comes through; null: your own")


class MeTokenSerializer(serializers.Serializer):
    name = serializers.CharField()
    scope = serializers.ChoiceField(choices=ApiToken.Scope.values,
                                    help_text="read: GET only; write: also what the owner's grants allow.")
    expires_at = serializers.DateTimeField(allow_null=True)


class MeView(APIView):
    class MeOutputSerializer(serializers.Serializer):
        username = serializers.CharField()
        is_superuser = serializers.BooleanField()
        grants = MeGrantSerializer(many=True)
        authenticated_by = serializers.ChoiceField(choices=["session", "token"])
        token = MeTokenSerializer(allow_null=True, help_text="The API token of this request, if one was used.")

    @extend_schema(responses=MeOutputSerializer)
    def get(self, request):
        grants = [
            {
                "cluster": g.cluster.name,
                "namespace_pattern": g.namespace_pattern,
                "role": Role(g.role).label,
                "via_team": g.team.name if g.team_id else None,
            }
            for g in grants_for_user(request.user).select_related("cluster", "team")
        ]
        token = request.auth if isinstance(request.auth, ApiToken) else None
        return Response({
            "username": request.user.get_username(), "is_superuser": request.user.is_superuser, "grants": grants,
            "authenticated_by": "token" if token else "session",
            "token": {"name": token.name, "scope": token.scope, "expires_at": token.expires_at} if token else None,
        })
