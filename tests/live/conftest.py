"""Live sockets through a real consumer stack (origin check, session/token auth, routing).

``channel_layer`` runs a test twice: through the real Redis channel layer (REDIS_URL; a
missing Redis fails under CI) and through the in-memory layer of the embedded default.
"""
from __future__ import annotations

from dataclasses import dataclass

import pytest
from asgiref.sync import sync_to_async
from channels.db import database_sync_to_async
from channels.layers import get_channel_layer
from channels.testing import WebsocketCommunicator
from django.conf import settings as django_settings
from django.test import Client

from apps.accounts.services import api_token_create
from apps.live.events import group_message
from apps.live.groups import namespace_group
from portal.asgi import application
from tests.support.services import require_redis

ORIGIN = (b"origin", b"http://testserver")
WAIT = 10  # seconds to wait for something that must come (not a speed requirement)


@pytest.fixture(autouse=True)
async def _close_the_consumers_connection():
    """Channels' test communicator turns off closing old connections while it runs, so the
    connection a consumer opened in the shared database thread would outlive the test (and block
    dropping the test database): close it there."""
    yield
    from django.db import connections

    await sync_to_async(connections.close_all)()


@pytest.fixture(params=["redis", "memory"])
def channel_layer(request, settings):
    if request.param == "redis":
        require_redis()
        assert django_settings.CHANNEL_LAYERS["default"]["BACKEND"] == "channels_redis.core.RedisChannelLayer"
    else:
        settings.CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}
    return request.param


async def connect(path: str, *, token: str | None = None, cookie: str | None = None):
    """(communicator, connected, close code)"""
    headers = [ORIGIN]
    if token:
        headers.append((b"authorization", f"Bearer {token}".encode()))
    if cookie:
        headers.append((b"cookie", cookie.encode()))
    communicator = WebsocketCommunicator(application, path, headers=headers)
    connected, code = await communicator.connect(timeout=WAIT)
    return communicator, connected, code


async def subscribe(path: str, **auth):
    """An accepted socket and its ``subscribed`` message."""
    ws, connected, code = await connect(path, **auth)
    assert connected, f"refused with {code}"
    hello = await ws.receive_json_from(timeout=WAIT)
    assert hello["type"] == "subscribed"
    return ws, hello


async def token_for(user, **kwargs) -> str:
    _, secret = await database_sync_to_async(api_token_create)(user=user, name="ws", **kwargs)
    return secret


@dataclass
class Browser:
    """A logged-in browser: Django's test client and its session cookie."""

    client: Client
    session_key: str

    @property
    def cookie(self) -> str:
        return f"{django_settings.SESSION_COOKIE_NAME}={self.session_key}"


async def browser_for(user) -> Browser:
    def login():
        client = Client()
        client.force_login(user)
        return Browser(client, client.cookies[django_settings.SESSION_COOKIE_NAME].value)

    return await database_sync_to_async(login)()


async def publish(cluster, namespace: str, payload: dict) -> None:
    group = namespace_group(cluster.pk, namespace)
    await get_channel_layer().group_send(group, group_message(group, payload))


async def expect_closing(ws, code: int) -> str:
    """The server says ``closing`` with ``code``, then closes with it; returns the reason."""
    message = await ws.receive_json_from(timeout=WAIT)
    assert message["type"] == "closing" and message["code"] == code, message
    closed = await ws.receive_output(timeout=WAIT)
    assert closed["type"] == "websocket.close" and closed["code"] == code, closed
    return message["reason"]


def run_in_db_thread(func):
    """Runs ``func`` in a thread of its own with its own database connection (not the one the
    consumers share), so it can hold a transaction open while a consumer reads."""
    def wrapped():
        from django.db import connections

        try:
            return func()
        finally:
            connections.close_all()

    return sync_to_async(wrapped, thread_sensitive=False)()
