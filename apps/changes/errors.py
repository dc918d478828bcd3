"""The one error a change's input raises: every bad field with a message a person can act on."""
from __future__ import annotations

from apps.core.errors import MeshdeckError


class ChangeInvalid(MeshdeckError):
    """The input of a change cannot be rendered.

    ``errors`` maps each offending field (``weights``, ``rules[1].match[0].value``,
    ``non_field_errors``) to its messages: the API answers it as the project's
    validation error shape (``apps.core.api.validation_error_response(exc.errors)``).
    """

    code = "invalid"
    http_status = 400

    def __init__(self, errors: dict[str, list[str]]):
        self.errors = {field: list(messages) for field, messages in errors.items()}
        parts = []
        for field, messages in self.errors.items():
            text = " ".join(messages)
            parts.append(text if field == "non_field_errors" else f"{field}: {text}")
        super().__init__("; ".join(parts) or "Invalid change.")


class ChangeRefused(MeshdeckError):
    """A step of the change flow refused by one of its rules (recorded as a denied audit event).

    Subclasses give the HTTP status; ``message`` says what to do instead.
    """

    code = "permission_denied"
    http_status = 403


class ChangeNotFound(MeshdeckError):
    """No such change, or not one you may see (the two look the same)."""

    code = "not_found"
    http_status = 404


class ChangeConflict(ChangeRefused):
    """The change is not in a state that allows this step, or it changed under you."""

    code = "conflict"
    http_status = 409


class ChangeLocked(ChangeConflict):
    """Another open change holds one of the targets."""

    code = "locked"


class ChangeEdited(ChangeConflict):
    """The payload is not the one the reviewer saw."""

    code = "payload_changed"


class ChangeExpired(ChangeConflict):
    code = "expired"


class ChangeBlocked(ChangeRefused):
    """The preview's checkers (or an unacknowledged take-over) block submitting it."""

    code = "blocked"
    http_status = 400

    def __init__(self, message: str, reasons: list[str]):
        super().__init__(message)
        self.errors = {"non_field_errors": list(reasons)}


class ReauthRequired(ChangeRefused):
    """Approving and applying need the password again (within five minutes in the UI)."""

    code = "reauth_required"
    http_status = 403


class OutsideWindow(ChangeRefused):
    code = "outside_window"
    http_status = 403


class ReasonRequired(ChangeRefused):
    code = "invalid"
    http_status = 400

    def __init__(self, message: str):
        super().__init__(message)
        self.errors = {"reason": [message]}
