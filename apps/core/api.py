"""The API's one error shape, and the handler that gives every error that shape.

Every error body is::

    {"detail": "<what went wrong and what to do>", "code": "<stable code>",
     "request_id": "<the X-Request-ID of this request>",
     "errors": {"<field>": ["<message>", ...]}}        # input validation only

``exception_handler`` (DRF's EXCEPTION_HANDLER) maps DRF's exceptions, Django's
``Http404`` / ``PermissionDenied`` / ``ValidationError`` and every
``MeshdeckError`` (gateway, telemetry, graph input, credentials) onto it, so a
view raises and never builds an error body by hand. ``error_responses()`` and
``apps.core.openapi.MeshdeckAutoSchema`` declare it in the OpenAPI schema;
``ApiErrorShapeMiddleware`` gives it to what Django answers itself under /api/
(no such URL, a crash). docs/api-errors.md lists the codes.
"""
from __future__ import annotations

import logging
from typing import Any

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import InterfaceError, OperationalError
from django.http import Http404
from drf_spectacular.utils import OpenApiResponse
from rest_framework import exceptions, serializers, status
from rest_framework.response import Response

from .errors import MeshdeckError
from .request_id import get_request_id

log = logging.getLogger("meshdeck.api")


class ErrorSerializer(serializers.Serializer):
    """The body of every API error (OpenAPI component ``Error``)."""

    detail = serializers.CharField(help_text="What went wrong, and what to do about it.")
    code = serializers.CharField(help_text="A stable, machine-readable code, e.g. not_found, invalid, unreachable.")
    request_id = serializers.CharField(help_text="The request's X-Request-ID; quote it when reporting a problem.")
    errors = serializers.DictField(  # type: ignore[assignment]  # a field: DRF's metaclass takes it off the class
        child=serializers.ListField(child=serializers.CharField()), required=False,
        help_text="Input validation only: field name (or non_field_errors) -> messages.",
    )

    class Meta:
        ref_name = "Error"


_DESCRIPTIONS = {
    400: "Invalid input: `errors` names each bad field.",
    401: "Not authenticated: log in, or send `Authorization: Bearer <token>`.",
    403: "Authenticated, but not allowed to do this.",
    404: "No such object, or not one you may see.",
    405: "Method not allowed.",
    409: "Conflict with the current state (somebody changed it first, or it is locked).",
    415: "Unsupported media type: send JSON.",
    422: "The cluster refused the object.",
    429: "Too many attempts: wait and try again.",
    502: "The cluster or Prometheus answered with an error.",
    503: "The cluster or Prometheus cannot be reached, or its credentials cannot be read.",
    504: "The cluster or Prometheus did not answer in time.",
}


def error_responses(*statuses: int, serializer=ErrorSerializer) -> dict[int, OpenApiResponse]:
    """``responses=`` entries for extend_schema: each status answers with an ``Error`` body.

    401, 403 (writes), 404 (paths naming objects), 400 and 415 (request bodies)
    are added to every operation by ``apps.core.openapi.MeshdeckAutoSchema``;
    declare the others (e.g. 400 for validated query parameters, 429, 502-504).
    """
    return {code: OpenApiResponse(serializer, description=_DESCRIPTIONS.get(code, "Error")) for code in statuses}


def error_body(message: str, code: str, errors: dict[str, list[str]] | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {"detail": message, "code": code, "request_id": get_request_id()}
    if errors:
        body["errors"] = errors
    return body


def error_response(
    message: str, code: str, http_status: int = status.HTTP_400_BAD_REQUEST,
    errors: dict[str, list[str]] | None = None, headers: dict[str, str] | None = None,
) -> Response:
    return Response(error_body(message, code, errors), status=http_status, headers=headers)


def body_field(request, name: str, limit: int = 150) -> str:
    """One field of a request's body as text, before any validation (to name the target of a
    refused request): '' when the body is not an object (a JSON list, a number, null)."""
    data = request.data
    return str(data.get(name, ""))[:limit] if isinstance(data, dict) else ""


def _flatten(detail: Any, prefix: str = "") -> dict[str, list[str]]:
    """DRF's nested ValidationError detail -> {"field" or "field.sub" or "items.0.x": [messages]}."""
    out: dict[str, list[str]] = {}
    if isinstance(detail, dict):
        for key, value in detail.items():
            name = f"{prefix}.{key}" if prefix else str(key)
            for k, v in _flatten(value, name).items():
                out.setdefault(k, []).extend(v)
    elif isinstance(detail, list):
        if all(not isinstance(item, (dict, list)) for item in detail):
            out[prefix or "non_field_errors"] = [str(item) for item in detail]
        else:
            for i, item in enumerate(detail):
                for k, v in _flatten(item, f"{prefix}.{i}" if prefix else str(i)).items():
                    out.setdefault(k, []).extend(v)
    else:
        out[prefix or "non_field_errors"] = [str(detail)]
    return out


def validation_summary(errors: dict[str, list[str]]) -> str:
    parts = []
    for field, messages in errors.items():
        text = " ".join(messages)
        parts.append(text if field == "non_field_errors" else f"{field}: {text}")
    return "; ".join(parts) or "Invalid input."


def validation_error_response(errors: dict[str, list[str]], http_status: int = 400) -> Response:
    return error_response(validation_summary(errors), "invalid", http_status, errors=errors)


_CODES = {
    exceptions.NotAuthenticated: "not_authenticated",
    exceptions.AuthenticationFailed: "authentication_failed",
    exceptions.PermissionDenied: "permission_denied",
    exceptions.NotFound: "not_found",
    exceptions.MethodNotAllowed: "method_not_allowed",
    exceptions.NotAcceptable: "not_acceptable",
    exceptions.UnsupportedMediaType: "unsupported_media_type",
    exceptions.ParseError: "parse_error",
    exceptions.Throttled: "throttled",
}


def exception_handler(exc, context):
    """Every error the API raises, in the one shape. Returns None (-> 500) only for real bugs."""
    if isinstance(exc, MeshdeckError):
        # An input error may name its fields (``errors``), like a serializer's.
        return error_response(exc.message, exc.code, exc.http_status, errors=getattr(exc, "errors", None))
    if isinstance(exc, (OperationalError, InterfaceError)):
        # The database went away mid-request (restart, failover, a killed session, a full disk): its
        # transaction is rolled back and the next request opens a new connection. Not a bug: say so.
        log.error("database error answering the API: %s", exc, exc_info=exc)
        return error_response("The portal lost its connection to the database while answering; what this request "
                              "was doing in its transaction was rolled back. Try again in a moment.",
                              "database_unavailable", 503, headers={"Retry-After": "5"})
    if isinstance(exc, Http404):
        return error_response(str(exc) or "Not found.", "not_found", 404)
    if isinstance(exc, DjangoPermissionDenied):
        return error_response(str(exc) or "You may not do this.", "permission_denied", 403)
    if isinstance(exc, DjangoValidationError):
        errors = exc.message_dict if hasattr(exc, "error_dict") else {"non_field_errors": exc.messages}
        return validation_error_response({k: [str(m) for m in v] for k, v in errors.items()})
    if isinstance(exc, exceptions.ValidationError):
        return validation_error_response(_flatten(exc.detail))
    if isinstance(exc, exceptions.APIException):
        code = next((c for cls, c in _CODES.items() if isinstance(exc, cls)), None) or str(
            exc.default_code or "error")
        headers = {}
        # APIView.handle_exception already chose 401 (with this header) or 403.
        auth_header = getattr(exc, "auth_header", None)
        if auth_header:
            headers["WWW-Authenticate"] = auth_header
        wait = getattr(exc, "wait", None)
        if wait:
            headers["Retry-After"] = str(int(wait))
        return error_response(str(exc.detail), code, exc.status_code, headers=headers or None)
    return None


def validated_input(serializer_class, request) -> dict[str, Any]:
    """The request body checked by ``serializer_class``; invalid input raises (a 400 in the one shape)."""
    serializer = serializer_class(data=request.data)
    serializer.is_valid(raise_exception=True)
    return serializer.validated_data
