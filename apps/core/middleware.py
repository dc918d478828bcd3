import logging
import re
from http import HTTPStatus

from django.db import InterfaceError, OperationalError
from django.http import HttpResponse
from django.template.loader import render_to_string

from .request_id import new_request_id, reset_request_id, set_request_id

log = logging.getLogger("meshdeck.web")

_VALID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")


class RequestIdMiddleware:
    """Takes X-Request-ID when it is well-formed, else makes one; echoes it back."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        incoming = request.headers.get("X-Request-ID", "")
        request_id = incoming if _VALID.match(incoming) else new_request_id()
        request.request_id = request_id
        token = set_request_id(request_id)
        try:
            response = self.get_response(request)
        finally:
            reset_request_id(token)
        response["X-Request-ID"] = request_id
        return response


_GENERIC = {
    400: ("Bad request.", "bad_request"),
    403: ("You may not do this.", "permission_denied"),
    404: ("No such API endpoint; the operations are listed at /api/docs/.", "not_found"),
    405: ("Method not allowed.", "method_not_allowed"),
    413: ("The request is too large.", "too_large"),
    500: ("Internal error; please report it with this request_id.", "server_error"),
}


class ApiErrorShapeMiddleware:
    """What Django answers itself under /api/ (a URL no route matches, a crash, a refused request)
    gets the API's one error shape too, instead of an HTML page.

    Errors raised inside API views never get here as HTML: DRF's exception
    handler (apps.core.api) shapes them. Place this after RequestIdMiddleware.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if (
            request.path.startswith("/api/")
            and response.status_code >= 400
            and not getattr(response, "streaming", False)
            and not response.get("Content-Type", "").startswith("application/json")
        ):
            return self._shaped(response)
        return response

    @staticmethod
    def _shaped(response):
        from django.http import JsonResponse

        from .api import error_body

        status = response.status_code
        if status in _GENERIC:
            message, code = _GENERIC[status]
        else:
            message = HTTPStatus(status).phrase + "." if status in HTTPStatus._value2member_map_ else "Error."
            code = "error"
        shaped = JsonResponse(error_body(message, code), status=status)
        for header in ("Allow", "Retry-After", "WWW-Authenticate"):
            if header in response:
                shaped[header] = response[header]
        return shaped


class DatabaseUnavailableMiddleware:
    """A page whose database connection failed mid-request (a restart, a failover, a killed session,
    a full disk) answers 503 with a page that says so, not "Something went wrong": the request's
    transaction was rolled back, and the next request opens a new connection. The page is rendered
    without the database (no navigation, no user). The API says the same in its own shape
    (``apps.core.api.exception_handler``)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_exception(self, request, exception):
        if not isinstance(exception, (OperationalError, InterfaceError)):
            return None
        log.error("database error answering %s: %s", request.path, exception,
                  exc_info=exception)
        body = render_to_string("503.html", {"request_id": getattr(request, "request_id", "")})
        return HttpResponse(body, status=503, headers={"Retry-After": "5"})
