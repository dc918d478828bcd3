"""Audit history over the API: the same filters and authorization as the page."""
from __future__ import annotations

from django.http import StreamingHttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.generics import ListAPIView
from rest_framework.negotiation import DefaultContentNegotiation
from rest_framework.renderers import JSONRenderer
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.audit.export import FILTERS, FORMATS, AuditFilterError, apply_filters, export_lines
from apps.audit.models import AuditEvent
from apps.core.api import error_responses

from ..selectors import chain_status, events_for_user

FILTER_PARAMETERS = [
    OpenApiParameter("actor", str, description="Username (exact, case-insensitive)"),
    OpenApiParameter("action", str, description="An action, or a whole area: auth.*"),
    OpenApiParameter("cluster", str), OpenApiParameter("namespace", str),
    OpenApiParameter("object", str, description="The object's name"),
    OpenApiParameter("type", str, description="The object's type: cluster, grant, user, team, token..."),
    OpenApiParameter("outcome", str, enum=["ok", "denied", "failed"]),
    OpenApiParameter("since", str, description="Date or ISO time (inclusive)"),
    OpenApiParameter("until", str, description="Date or ISO time (inclusive)"),
    OpenApiParameter("request_id", str),
]


class AuditEventOutputSerializer(serializers.ModelSerializer):
    before = serializers.JSONField(allow_null=True)
    after = serializers.JSONField(allow_null=True)

    class Meta:
        model = AuditEvent
        fields = [
            "seq", "created_at", "actor_user_id", "actor_username", "actor_auth", "actor_token_id", "actor_detail",
            "ip", "user_agent", "request_id", "action", "target_type", "target_cluster", "target_namespace",
            "target_name", "target_id", "before", "after", "outcome", "message", "prev_hash", "hash",
        ]


def _filtered(request):
    return apply_filters(events_for_user(request.user), {name: request.query_params.get(name, "") for name in FILTERS})


class AuditEventListView(ListAPIView):
    """Events the caller may read, newest first."""

    serializer_class = AuditEventOutputSerializer

    def get_queryset(self):
        return _filtered(self.request).order_by("-seq")

    @extend_schema(parameters=FILTER_PARAMETERS,
                   responses={200: AuditEventOutputSerializer(many=True), **error_responses(400, 401, 403)})
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)


class _FormatIsOurs(DefaultContentNegotiation):
    """``?format=`` names the export format here, not a DRF renderer."""

    def select_renderer(self, request, renderers, format_suffix=None):
        return renderers[0], renderers[0].media_type


class AuditEventExportView(APIView):
    """The same events as a streamed CSV or JSON-lines file (oldest first)."""

    content_negotiation_class = _FormatIsOurs
    renderer_classes = [JSONRenderer]

    @extend_schema(
        parameters=[OpenApiParameter("format", str, enum=list(FORMATS), required=True), *FILTER_PARAMETERS],
        responses={(200, "text/csv"): OpenApiTypes.STR, (200, "application/x-ndjson"): OpenApiTypes.STR,
                   **error_responses(400, 401, 403)},
    )
    def get(self, request):
        fmt = request.query_params.get("format", "")
        if fmt not in FORMATS:
            raise AuditFilterError("format", "format must be csv or jsonl.")
        lines = export_lines(_filtered(request).order_by("seq").iterator(chunk_size=2000), fmt)
        content_type = "text/csv; charset=utf-8" if fmt == "csv" else "application/x-ndjson; charset=utf-8"
        response = StreamingHttpResponse(lines, content_type=content_type)
        response["Content-Disposition"] = f'attachment; filename="meshdeck-audit.{fmt}"'
        return response


class ChainStatusOutputSerializer(serializers.Serializer):
    head_seq = serializers.IntegerField()
    last_checkpoint_seq = serializers.IntegerField(allow_null=True)
    last_checkpoint_at = serializers.DateTimeField(allow_null=True)
    last_verified_at = serializers.DateTimeField(allow_null=True)
    last_verified_by = serializers.CharField(allow_null=True)
    last_verified_ok = serializers.BooleanField(allow_null=True)
    last_verified_message = serializers.CharField(allow_blank=True)


class ChainStatusView(APIView):
    """When the chain was last verified, by whom, and the result."""

    @extend_schema(responses={200: ChainStatusOutputSerializer, **error_responses(401, 403)})
    def get(self, request):
        return Response(ChainStatusOutputSerializer(chain_status()).data)
