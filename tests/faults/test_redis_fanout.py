"""Redis (the channel layer) restarted during a WebSocket fan-out of graph snapshots.

A graph socket of a viewer follows the demo cluster through a RedisChannelLayer on a redis-server of
the test's own. Redis is killed: the consumer's own receive on the layer fails, so the server ends
the socket (Channels ends the consumer; the browser sees the connection drop). A snapshot is taken
while Redis is down: it is stored in PostgreSQL, its notification is lost (tolerated). Redis comes
back empty, without any group membership. The browser's live source reconnects with
``since=<the last snapshot it drew>`` (static/graphs/live-source.js), again after each dropped
attempt: the first attempts after the restart can fail (the process's pooled Redis connections are
stale: each fails once, redis-py does not retry), so this test, like the browser, tries again. The
first answer is the delta from the last snapshot drawn to the one taken during the outage, and the
next snapshot reaches it as usual. Nothing is lost to the person looking at the graph: no snapshot
is skipped, no stale graph stays.
"""
from __future__ import annotations

import time

import pytest
from channels.db import database_sync_to_async

from apps.history.services import snapshot_take
from apps.live.graphpush.consumer import builds
from tests.live.conftest import WAIT, subscribe, token_for

from .support import LocalRedis

pytestmark = [pytest.mark.redis, pytest.mark.django_db(transaction=True)]
PATH = "/ws/clusters/demo/graph/?namespaces=bookinfo&graphType=workload&injectServiceNodes=false"


@pytest.fixture(autouse=True)
async def _close_the_consumers_connection():
    yield
    from asgiref.sync import sync_to_async
    from django.db import connections

    await sync_to_async(connections.close_all)()


@pytest.fixture
def redis_layer(settings):
    server = LocalRedis().start()
    settings.CHANNEL_LAYERS = {"default": {"BACKEND": "channels_redis.core.RedisChannelLayer", "CONFIG": {
        "hosts": [{"address": server.url, "socket_timeout": None, "socket_connect_timeout": 1}],
        "prefix": "faults"}}}
    settings.MESHDECK_SNAPSHOT_INTERVAL = 1  # a bucket a second
    builds.clear()
    yield server
    builds.clear()
    server.kill()


async def receive(ws, type_: str) -> dict:
    message = await ws.receive_json_from(timeout=WAIT)
    assert message["type"] == type_, message
    return message


async def socket_ends(ws) -> bool:
    """True once the server ends the socket (a close, or the consumer failing, which the server turns into
    a dropped connection); False if it is still open after WAIT."""
    try:
        while True:
            output = await ws.receive_output(timeout=WAIT)
            if output["type"] == "websocket.close":
                return True
    except TimeoutError:
        return False
    except Exception:  # noqa: BLE001 - the consumer raised: the ASGI server drops the connection
        return True


async def reconnect(path: str, token: str, attempts: int = 5):
    """What the live source does after a drop: connect again (and again, while the attempt is dropped)."""
    for attempt in range(1, attempts + 1):
        try:
            ws, _ = await subscribe(path, token=token)
            return ws, attempt
        except Exception:  # noqa: BLE001 - a dropped attempt (the consumer failed): the browser tries again
            continue
    raise AssertionError(f"no reconnect was accepted in {attempts} attempts")


async def take(cluster):
    time.sleep(1.05)  # the next one-second bucket
    return (await database_sync_to_async(snapshot_take)(cluster, window=60)).snapshot


async def test_a_graph_socket_is_caught_up_after_redis_restarts(redis_layer, viewer, sim_cluster):
    ws, _ = await subscribe(PATH, token=await token_for(viewer))
    await receive(ws, "graph.full")
    first = await take(sim_cluster)
    assert (await receive(ws, "graph.delta"))["snapshot"]["id"] == first.pk

    redis_layer.kill()
    assert await socket_ends(ws), "the socket stayed open, deaf to the channel layer"
    during = await take(sim_cluster)  # stored; its notification is lost with Redis
    assert during.status == "ok"
    redis_layer.start()  # back, empty: no group memberships

    # the live source reconnects with the last snapshot it drew
    back, _ = await reconnect(PATH + f"&since={first.pk}", await token_for(viewer))
    caught_up = await receive(back, "graph.delta")
    assert caught_up["from"] == first.pk and caught_up["snapshot"]["id"] == during.pk
    after = await take(sim_cluster)
    assert (await receive(back, "graph.delta"))["snapshot"]["id"] == after.pk
    await back.disconnect()
