"""The one error base class every layer shares.

A ``MeshdeckError`` carries a message a person can act on, a stable ``code``
and the HTTP status an API answers it with. Gateway, telemetry, graph-input and
credential errors all derive from it, so one exception handler turns any of
them into the project's single error shape (``apps.core.api``) and every page
can show the message instead of a 500.
"""
from __future__ import annotations


class MeshdeckError(Exception):
    code = "error"
    http_status = 500

    def __init__(self, message: str, *, code: str | None = None, http_status: int | None = None):
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code
        if http_status is not None:
            self.http_status = http_status

    def __str__(self) -> str:
        return self.message


class FieldInputError(MeshdeckError):
    """Bad input in one named field: the API answers 400 with ``errors`` naming it."""

    code = "invalid"
    http_status = 400

    def __init__(self, field: str, message: str):
        super().__init__(message)
        self.field = field
        self.errors = {field: [message]}
