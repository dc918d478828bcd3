"""Who is acting: the person (or task, or command) an audit event names.

A request's actor is read when the event is written, not when the request
starts: Django's session middleware knows the user early, but DRF
authenticates a bearer token inside the view (and then sets ``user`` and
``auth`` on the underlying HttpRequest), and a login changes the user half
way through. ``AuditContextMiddleware`` only remembers the request.

Outside a request, tasks and commands say who they are with
``acting_as(Actor.task("..."))`` / ``Actor.command("...")`` or pass
``actor=`` to a service explicitly.
"""
from __future__ import annotations

import contextlib
import contextvars
import getpass
from dataclasses import dataclass

from apps.core.client_ip import client_ip
from apps.core.request_id import get_request_id

# How the actor authenticated.
SESSION, TOKEN, TASK, COMMAND, SYSTEM, ANONYMOUS = "session", "token", "task", "command", "system", "anonymous"


@dataclass(frozen=True)
class Actor:
    auth: str
    user_id: int | None = None
    username: str = ""
    token_id: int | None = None
    detail: str = ""  # entry point (login page, admin, api), task or command name
    ip: str | None = None
    user_agent: str = ""
    request_id: str = ""

    @classmethod
    def task(cls, name: str) -> Actor:
        return cls(auth=TASK, username=f"task:{name}", detail=name, request_id=_request_id())

    @classmethod
    def command(cls, name: str) -> Actor:
        try:
            who = getpass.getuser()
        except (KeyError, OSError):
            who = "unknown"
        return cls(auth=COMMAND, username=f"{who}@manage.py", detail=name, request_id=_request_id())

    @classmethod
    def system(cls, detail: str = "") -> Actor:
        return cls(auth=SYSTEM, username="system", detail=detail, request_id=_request_id())

    @classmethod
    def for_user(cls, user, *, auth: str = COMMAND, detail: str = "") -> Actor:
        """A user acting outside a request (e.g. a command run on their behalf)."""
        return cls(auth=auth, user_id=user.pk, username=user.get_username(), detail=detail,
                   request_id=_request_id())


def _request_id() -> str:
    value = get_request_id()
    return "" if value == "-" else value


_current_request: contextvars.ContextVar = contextvars.ContextVar("meshdeck_audit_request", default=None)
_override: contextvars.ContextVar[Actor | None] = contextvars.ContextVar("meshdeck_audit_actor", default=None)


def actor_from_request(request, *, user=None, detail: str = "") -> Actor:
    """The actor of an HTTP request: its user (or ``user``), token, IP, agent, id."""
    user = user if user is not None else getattr(request, "user", None)
    meta = getattr(request, "META", {}) or {}
    token = getattr(request, "auth", None)
    token_id = getattr(token, "pk", None) if token is not None else None
    authenticated = bool(getattr(user, "is_authenticated", False))
    if token_id is not None and authenticated:
        auth = TOKEN
    elif authenticated:
        auth = SESSION
    else:
        auth = ANONYMOUS
    return Actor(
        auth=auth,
        user_id=user.pk if authenticated else None,
        username=user.get_username() if authenticated else "",
        token_id=token_id if auth == TOKEN else None,
        detail=detail,
        ip=client_ip(request),
        user_agent=meta.get("HTTP_USER_AGENT", "")[:300],
        request_id=getattr(request, "request_id", "") or _request_id(),
    )


def current_actor() -> Actor:
    """The explicit actor (acting_as), else the current request's, else the system."""
    override = _override.get()
    if override is not None:
        return override
    request = _current_request.get()
    if request is not None:
        return actor_from_request(request)
    return Actor.system()


@contextlib.contextmanager
def acting_as(actor: Actor):
    """Every audit event written inside names ``actor`` (tasks, commands)."""
    token = _override.set(actor)
    try:
        yield actor
    finally:
        _override.reset(token)


@contextlib.contextmanager
def request_context(request):
    token = _current_request.set(request)
    try:
        yield
    finally:
        _current_request.reset(token)
