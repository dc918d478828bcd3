from .actor import request_context


class AuditContextMiddleware:
    """Remembers the current request so audit events can name who acted.

    The actor is read from the request when an event is written (see
    ``apps.audit.actor``), so this can sit anywhere after the request id.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        with request_context(request):
            return self.get_response(request)
