"""API conventions shared by every app: errors are JSON with a message."""
from __future__ import annotations

from rest_framework import status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from apps.clusters.gateway import GatewayError

from .request_id import get_request_id


def exception_handler(exc, context):
    """DRF errors keep their shape; cluster errors become a clear 4xx/5xx."""
    if isinstance(exc, GatewayError):
        return Response(
            {"detail": exc.message, "code": exc.code, "request_id": get_request_id()},
            status=exc.http_status,
        )
    response = drf_exception_handler(exc, context)
    if response is not None and isinstance(response.data, dict):
        response.data.setdefault("request_id", get_request_id())
    return response


def error_response(message: str, code: str, http_status: int = status.HTTP_400_BAD_REQUEST) -> Response:
    return Response({"detail": message, "code": code, "request_id": get_request_id()}, status=http_status)
