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
