"""The current request id, shared by logs, audit events and API errors."""
import contextvars
import uuid

_current: contextvars.ContextVar[str] = contextvars.ContextVar("meshdeck_request_id", default="-")


def new_request_id() -> str:
    return uuid.uuid4().hex[:16]


def get_request_id() -> str:
    return _current.get()


def set_request_id(value: str) -> contextvars.Token:
    return _current.set(value)


def reset_request_id(token: contextvars.Token) -> None:
    _current.reset(token)
