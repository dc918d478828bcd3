"""WebSocket authentication: the session cookie, or a bearer token header."""
from channels.auth import AuthMiddlewareStack
from channels.db import database_sync_to_async
from channels.middleware import BaseMiddleware

from .authentication import user_for_token


class BearerTokenWsMiddleware(BaseMiddleware):
    async def __call__(self, scope, receive, send):
        headers = dict(scope.get("headers") or [])
        raw = headers.get(b"authorization", b"").decode("latin-1")
        if raw.lower().startswith("bearer "):
            user, token = await database_sync_to_async(user_for_token)(raw.split(None, 1)[1].strip())
            if user is not None:
                scope["user"] = user
                # Consumers re-check this token while the socket lives (apps.live.access).
                scope["auth_token_id"] = token.pk
        return await super().__call__(scope, receive, send)


def TokenOrSessionAuthMiddlewareStack(inner):  # noqa: N802 - named like Channels' AuthMiddlewareStack
    return AuthMiddlewareStack(BearerTokenWsMiddleware(inner))
