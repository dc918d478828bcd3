"""The OpenAPI schema declares every status an operation can answer, each with its error body.

Views declare what is theirs (``error_responses(400, 502, 503, 504)``: bad
input, the cluster or Prometheus failing); ``MeshdeckAutoSchema`` adds what
follows from how the view is built, so no operation forgets them:

- 401 when the view needs an authenticated caller (``Authorization: Bearer``
  or a session);
- 403 for writes reached with a session (Django's CSRF check);
- 404 when the path names objects (unknown, or not one you may see);
- 400 and 415 when the operation takes a request body (invalid, not JSON).

The body of each is the ``Error`` component, or the view's ``error_serializer``
(the Kiali-compatible endpoint answers Kiali's own shape).
"""
from __future__ import annotations

from drf_spectacular.openapi import AutoSchema
from rest_framework.authentication import SessionAuthentication
from rest_framework.permissions import SAFE_METHODS, AllowAny

from .api import ErrorSerializer, error_responses


def implied_error_statuses(view, method: str, path: str, has_body: bool) -> set[int]:
    """Errors a DRF view answers by construction (see the module docstring)."""
    statuses: set[int] = set()
    authenticators = view.get_authenticators()
    needs_auth = any(not isinstance(p, AllowAny) for p in view.get_permissions())
    if needs_auth and authenticators:
        statuses.add(401)
    if method not in SAFE_METHODS and any(isinstance(a, SessionAuthentication) for a in authenticators):
        statuses.add(403)
    if "{" in path:
        statuses.add(404)
    if has_body:
        statuses |= {400, 415}
    return statuses


class MeshdeckAutoSchema(AutoSchema):
    def _get_response_bodies(self, direction="response"):
        responses = super()._get_response_bodies(direction)
        serializer = getattr(self.view, "error_serializer", ErrorSerializer)
        has_body = self.method in ("POST", "PUT", "PATCH") and self.get_request_serializer() is not None
        implied = implied_error_statuses(self.view, self.method, self.path, has_body)
        for status, response in error_responses(*sorted(implied), serializer=serializer).items():
            if str(status) not in responses:
                responses[str(status)] = self._get_response_for_code(response, str(status), direction=direction)
        return dict(sorted(responses.items()))
