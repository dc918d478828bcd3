"""Live push: a message through the channel layer reaches a real consumer over a WebSocket."""
import asyncio

import pytest
from channels.db import database_sync_to_async
from channels.layers import get_channel_layer
from channels.testing import WebsocketCommunicator
from django.conf import settings

from apps.accounts.services import api_token_create
from apps.live.events import group_message
from apps.live.groups import namespace_group
from portal.asgi import application
from tests.support.services import require_redis

ORIGIN = (b"origin", b"http://testserver")


async def _connect(path, token=None, origin=ORIGIN):
    headers = [origin] if origin else []
    if token:
        headers.append((b"authorization", f"Bearer {token}".encode()))
    communicator = WebsocketCommunicator(application, path, headers=headers)
    connected, code = await communicator.connect(timeout=5)
    return communicator, connected, code


@pytest.mark.redis
@pytest.mark.django_db(transaction=True)
async def test_message_through_redis_channel_layer_reaches_the_browser(viewer, sim_cluster):
    require_redis()
    assert settings.CHANNEL_LAYERS["default"]["BACKEND"] == "channels_redis.core.RedisChannelLayer"
    _, secret = await database_sync_to_async(api_token_create)(user=viewer, name="ws")
    ws, connected, _ = await _connect("/ws/clusters/demo/events/?namespaces=bookinfo,team-a", secret)
    assert connected
    hello = await ws.receive_json_from(timeout=5)
    assert hello == {"type": "subscribed", "cluster": "demo", "namespaces": ["bookinfo"], "refused": ["team-a"]}
    layer = get_channel_layer()
    payload = {"type": "snapshot", "namespace": "bookinfo", "nodes": 7}
    group = namespace_group(sim_cluster.pk, "bookinfo")
    await layer.group_send(group, group_message(group, payload))
    assert await ws.receive_json_from(timeout=5) == payload
    # a namespace the viewer may not see never reaches them
    group = namespace_group(sim_cluster.pk, "team-a")
    await layer.group_send(group, group_message(group, {"x": 1}))
    assert await ws.receive_nothing(timeout=0.5)
    await ws.disconnect()


@pytest.mark.django_db(transaction=True)
async def test_anonymous_socket_is_closed(sim_cluster):
    _, connected, code = await _connect("/ws/clusters/demo/events/")
    assert not connected and code == 4401


@pytest.mark.django_db(transaction=True)
async def test_cluster_without_grant_is_closed(outsider):
    _, secret = await database_sync_to_async(api_token_create)(user=outsider, name="ws")
    _, connected, code = await _connect("/ws/clusters/demo/events/?namespaces=bookinfo", secret)
    assert not connected and code == 4404


@pytest.mark.django_db(transaction=True)
async def test_foreign_origin_is_refused(viewer):
    _, secret = await database_sync_to_async(api_token_create)(user=viewer, name="ws")
    _, connected, _ = await _connect("/ws/clusters/demo/events/", secret, origin=(b"origin", b"http://evil.test"))
    assert not connected


@pytest.mark.django_db(transaction=True)
async def test_namespaces_without_a_grant_are_refused_on_any_channel_layer(viewer, sim_cluster, settings):
    settings.CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}
    _, secret = await database_sync_to_async(api_token_create)(user=viewer, name="ws")
    ws, connected, _ = await _connect("/ws/clusters/demo/events/?namespaces=bookinfo,grpc-demo", secret)
    assert connected
    hello = await ws.receive_json_from(timeout=5)
    assert hello["namespaces"] == ["bookinfo"] and hello["refused"] == ["grpc-demo"]
    group = namespace_group(sim_cluster.pk, "grpc-demo")
    await get_channel_layer().group_send(group, group_message(group, {"secret": 1}))
    assert await ws.receive_nothing(timeout=0.3)
    await ws.disconnect()


async def _subscribed_to_bookinfo(user):
    _, secret = await database_sync_to_async(api_token_create)(user=user, name="ws")
    ws, connected, _ = await _connect("/ws/clusters/demo/events/?namespaces=bookinfo", secret)
    assert connected
    assert (await ws.receive_json_from(timeout=5))["namespaces"] == ["bookinfo"]
    return ws


@pytest.mark.redis
@pytest.mark.django_db(transaction=True)
async def test_a_socket_idle_longer_than_the_layers_blocking_read_keeps_receiving(viewer, sim_cluster):
    # channels_redis waits for messages with a 5 s BZPOPMIN; redis-py 8 also gives every socket
    # a 5 s read timeout by default, which cut that wait short and crashed idle consumers.
    require_redis()
    ws = await _subscribed_to_bookinfo(viewer)
    await asyncio.sleep(7)
    group = namespace_group(sim_cluster.pk, "bookinfo")
    await get_channel_layer().group_send(group, group_message(group, {"still": "here"}))
    assert await ws.receive_json_from(timeout=5) == {"still": "here"}
    await ws.disconnect()


@pytest.mark.redis
@pytest.mark.django_db(transaction=True)
async def test_a_closed_socket_leaves_no_consumer_behind_on_the_redis_layer(viewer, sim_cluster):
    # With a socket timeout, redis-py sends through asyncio.wait_for, which on Python 3.11 can
    # swallow the cancellation of the consumer's receive: the consumer then polled Redis forever.
    require_redis()

    async def closed_and_gone(ws) -> bool:
        await ws.send_input({"type": "websocket.disconnect", "code": 1000})
        done, _ = await asyncio.wait({ws.future}, timeout=10)
        return ws.future in done

    for _ in range(3):  # refused at the handshake, closed at once (as uvicorn does after a 403)
        refused, connected, _ = await _connect("/ws/clusters/demo/events/")
        assert not connected
        assert await closed_and_gone(refused), "a refused socket's consumer is still running"
    assert await closed_and_gone(await _subscribed_to_bookinfo(viewer)), "a closed socket's consumer is still running"
