"""Live graph push: after a snapshot commits, each socket gets what changed in the graph it may see.

Until apps.history takes snapshots, the tests send ``snapshot_committed`` themselves, as the
snapshot task does after its commit, with a real change made to the simulated mesh between two
sends. Each test runs through the real Redis channel layer and the in-memory one
(``channel_layer``).
"""
from __future__ import annotations

import asyncio
import itertools
import json

import pytest
from channels.db import database_sync_to_async
from django.utils import timezone
from rest_framework.test import APIClient

from apps.accounts.models import Grant
from apps.accounts.roles import Role
from apps.accounts.services import grant_delete
from apps.clusters.gateways import gateway_for
from apps.history.signals import snapshot_committed
from apps.live.graphdelta import apply_delta
from apps.live.graphpush.consumer import builds
from tests.support.istio import abort

from .conftest import WAIT, browser_for, connect, expect_closing, subscribe, token_for

pytestmark = pytest.mark.django_db(transaction=True)

VIEW = "graphType=workload&injectServiceNodes=false"
PATH = "/ws/clusters/demo/graph/?namespaces={}&" + VIEW

# Every request to ratings fails with a 503 from the caller's sidecar: a real change of traffic.
SUSPEND_RATINGS = abort("ratings", 100)

_ids = itertools.count(1000)


@pytest.fixture(autouse=True)
def _fresh_builds():
    builds.clear()
    yield
    builds.clear()


class Snapshots:
    """Sends ``snapshot_committed`` as the snapshot task does, after its commit."""

    def __init__(self, cluster):
        self.cluster = cluster
        self.last: int | None = None
        self.sent: list[dict] = []

    async def commit(self, status: str = "ok") -> dict:
        snapshot = {"id": next(_ids), "previous_id": self.last, "taken_at": timezone.now(), "status": status}

        def send():
            snapshot_committed.send(sender=None, cluster_id=self.cluster.pk, snapshot_id=snapshot["id"],
                                    previous_id=snapshot["previous_id"], taken_at=snapshot["taken_at"],
                                    status=status)

        await database_sync_to_async(send)()
        self.last = snapshot["id"]
        self.sent.append(snapshot)
        return snapshot


@pytest.fixture
def snapshots(sim_cluster):
    return Snapshots(sim_cluster)


async def receive(ws, type_: str) -> dict:
    message = await ws.receive_json_from(timeout=WAIT)
    assert message["type"] == type_, message
    return message


async def graph_socket(user, namespaces="bookinfo", extra=""):
    ws, hello = await subscribe(PATH.format(namespaces) + extra, token=await token_for(user))
    return ws, hello, await receive(ws, "graph.full")


async def suspend_ratings(cluster) -> None:
    await database_sync_to_async(lambda: gateway_for(cluster).apply_istio_object(SUSPEND_RATINGS))()
    # the graph's window ends at the snapshot's whole second: let the fault run for a while in it
    await asyncio.sleep(2.2)


async def graph_at(user, time_param: str, namespaces="bookinfo") -> dict:
    """The graph API's answer for ``user`` at a past time (``time_param``: ``queryTime=…`` or ``at=…``)."""
    def get():
        client = APIClient()
        client.force_authenticate(user)
        response = client.get(f"/api/clusters/demo/graph?namespaces={namespaces}&{VIEW}&{time_param}")
        assert response.status_code == 200, response.content
        return response.json()

    return await database_sync_to_async(get)()


async def graph_api(user, snapshot: dict, namespaces="bookinfo") -> dict:
    """The graph API at a snapshot's time, as the page asks for it (whole seconds)."""
    return await graph_at(user, f"queryTime={int(snapshot['taken_at'].timestamp())}", namespaces)


def elements(body) -> dict:
    return {kind: {e["data"]["id"]: e["data"] for e in body["elements"][kind]} for kind in ("nodes", "edges")}


def edges_to(body, workload: str) -> list[dict]:
    ids = {d["id"] for d in body["elements"]["nodes"] for d in [d["data"]] if d.get("workload") == workload}
    return [e["data"] for e in body["elements"]["edges"] if e["data"]["target"] in ids]


async def test_a_granted_client_gets_the_graph_then_only_what_a_traffic_change_changed(
        channel_layer, viewer, sim_cluster, snapshots):
    ws, hello, full = await graph_socket(viewer)
    assert hello == {"type": "subscribed", "cluster": "demo", "namespaces": ["bookinfo"], "refused": []}
    drawn = full["graph"]
    assert full["snapshot"] is None  # no snapshot yet: the graph of now
    assert edges_to(drawn, "ratings-v1")

    first = await snapshots.commit()
    update = await receive(ws, "graph.delta")
    assert update["snapshot"]["id"] == first["id"] and update["from"] is None
    assert update["added"] == {"nodes": [], "edges": []}  # the mesh did not change
    assert update["removed"] == {"nodes": [], "edges": []}
    drawn = apply_delta(drawn, update)

    await suspend_ratings(sim_cluster)
    second = await snapshots.commit()
    update = await receive(ws, "graph.delta")
    assert update["snapshot"] == {"id": second["id"], "previous_id": first["id"],
                                  "taken_at": second["taken_at"].timestamp(), "status": "ok"}
    assert update["from"] == first["id"]
    # The suspended route: the reviews workloads' requests now fail at their own sidecar with a 503
    # (counted on an edge to the ratings service), and fewer reach ratings-v1.
    added = update["added"]["edges"]
    assert added and all(e["data"]["rates"]["http5xx"] > 0 and e["data"]["percentErr"] == 100.0 for e in added)
    assert [n["data"]["service"] for n in update["added"]["nodes"]] == ["ratings"]
    changed = {c["id"]: c["set"] for c in update["changed"]["edges"]}
    to_ratings = {e["id"]: e["rates"]["http"] for e in edges_to(drawn, "ratings-v1")}
    assert to_ratings and set(to_ratings) <= set(changed)
    assert all(changed[e]["rates"]["http"] < rate for e, rate in to_ratings.items())
    # Only what changed travels: edges far from ratings are not in the update.
    assert len(update["changed"]["edges"]) < len(drawn["elements"]["edges"])

    # What the client draws after the update is what the graph API answers for that moment.
    drawn = apply_delta(drawn, update)
    expected = await graph_api(viewer, second)
    assert elements(drawn) == elements(expected)
    assert drawn["timestamp"] == expected["timestamp"] == int(second["taken_at"].timestamp())
    await ws.disconnect()


async def test_a_client_without_the_grant_is_refused(channel_layer, viewer, outsider, sim_cluster):
    # no grant on the cluster at all: it does not exist for them
    _, connected, code = await connect(PATH.format("bookinfo"), token=await token_for(outsider))
    assert (connected, code) == (False, 4404)
    # a grant on the cluster, but not on the namespace asked for
    _, connected, code = await connect(PATH.format("grpc-demo"), token=await token_for(viewer))
    assert (connected, code) == (False, 4403)
    # not logged in
    _, connected, code = await connect(PATH.format("bookinfo"))
    assert (connected, code) == (False, 4401)
    # options the graph API would refuse
    for bad in ("&graphType=nope", "&queryTime=1700000000", "&since=abc", "&duration=1y"):
        _, connected, code = await connect(PATH.format("bookinfo") + bad, token=await token_for(viewer))
        assert (connected, code) == (False, 4400), bad


async def test_namespaces_without_a_grant_are_left_out_of_the_graph(channel_layer, viewer, sim_cluster):
    ws, hello, full = await graph_socket(viewer, "bookinfo,grpc-demo")
    assert hello["namespaces"] == ["bookinfo"] and hello["refused"] == ["grpc-demo"]
    assert full["graph"]["namespaces"] == ["bookinfo"]
    assert "grpc-demo" not in {d["data"].get("namespace") for d in full["graph"]["elements"]["nodes"]}
    await ws.disconnect()


async def test_a_client_whose_grant_is_revoked_stops_receiving(channel_layer, viewer, sim_cluster, snapshots):
    ws, _, _ = await graph_socket(viewer)
    await snapshots.commit()
    await receive(ws, "graph.delta")

    grant = await database_sync_to_async(Grant.objects.get)(user=viewer, namespace_pattern="bookinfo")
    await database_sync_to_async(grant_delete)(grant=grant)
    assert "demo" in await expect_closing(ws, 4404)

    await suspend_ratings(sim_cluster)
    await snapshots.commit()
    assert await ws.receive_nothing(timeout=0.5)


async def test_losing_one_of_two_namespaces_takes_it_out_of_the_graph_at_once(
        channel_layer, viewer, sim_cluster, snapshots):
    grpc = await database_sync_to_async(Grant.objects.create)(
        user=viewer, cluster=sim_cluster, namespace_pattern="grpc-demo", role=Role.VIEWER)
    ws, hello, full = await graph_socket(viewer, "bookinfo,grpc-demo")
    assert hello["namespaces"] == ["bookinfo", "grpc-demo"]
    await snapshots.commit()
    drawn = apply_delta(full["graph"], await receive(ws, "graph.delta"))
    assert any(d["data"].get("namespace") == "grpc-demo" for d in drawn["elements"]["nodes"])

    await database_sync_to_async(grant_delete)(grant=grpc)
    assert (await receive(ws, "unsubscribed"))["namespaces"] == ["grpc-demo"]
    update = await receive(ws, "graph.delta")  # the graph without grpc-demo, without waiting for a snapshot
    drawn = apply_delta(drawn, update)
    assert drawn["namespaces"] == ["bookinfo"]
    assert not any(d["data"].get("namespace") == "grpc-demo" for d in drawn["elements"]["nodes"])
    assert update["removed"]["nodes"]
    await ws.disconnect()


async def test_catch_up_after_a_reconnect_gets_the_delta_since_the_last_snapshot_seen(
        channel_layer, viewer, sim_cluster, snapshots):
    stays, _, _ = await graph_socket(viewer)  # another tab keeps the process following the cluster
    leaves, _, full = await graph_socket(viewer)
    first = await snapshots.commit()
    drawn = apply_delta(full["graph"], await receive(leaves, "graph.delta"))
    await receive(stays, "graph.delta")
    await leaves.disconnect()

    await suspend_ratings(sim_cluster)
    second = await snapshots.commit()
    await receive(stays, "graph.delta")

    # Back with the last snapshot it saw: only the difference since then.
    back, _, = await subscribe(PATH.format("bookinfo") + f"&since={first['id']}", token=await token_for(viewer))
    update = await receive(back, "graph.delta")
    assert update["from"] == first["id"] and update["snapshot"]["id"] == second["id"]
    assert any(e["data"]["rates"].get("http5xx") for e in update["added"]["edges"])
    assert elements(apply_delta(drawn, update)) == elements(await graph_api(viewer, second))

    # Already up to date: an empty delta. A snapshot this process no longer has: the whole graph.
    current, _ = await subscribe(PATH.format("bookinfo") + f"&since={second['id']}", token=await token_for(viewer))
    update = await receive(current, "graph.delta")
    assert update["from"] == update["snapshot"]["id"] == second["id"]
    assert update["added"] == update["removed"] == {"nodes": [], "edges": []}
    assert update["changed"] == {"nodes": [], "edges": []}
    unknown, _ = await subscribe(PATH.format("bookinfo") + "&since=1", token=await token_for(viewer))
    assert (await receive(unknown, "graph.full"))["snapshot"]["id"] == second["id"]
    for ws in (stays, back, current, unknown):
        await ws.disconnect()


async def test_sockets_with_the_same_view_share_one_build_per_snapshot(channel_layer, viewer, sim_cluster, snapshots):
    sockets = [(await graph_socket(viewer))[0] for _ in range(8)]
    before = builds.builds
    snapshot = await snapshots.commit()
    texts = set()
    for ws in sockets:
        message = await ws.receive_output(timeout=WAIT)
        texts.add(message["text"])
        assert json.loads(message["text"])["snapshot"]["id"] == snapshot["id"]
    assert builds.builds - before == 1
    assert len(texts) == 1  # the same bytes to every socket
    for ws in sockets:
        await ws.disconnect()


async def test_users_who_see_different_namespaces_never_share_a_graph(
        channel_layer, viewer, operator, sim_cluster, snapshots):
    narrow, _, narrow_full = await graph_socket(viewer)
    wide, _, wide_full = await graph_socket(operator)
    snapshot = await snapshots.commit()
    narrow_graph = apply_delta(narrow_full["graph"], await receive(narrow, "graph.delta"))
    wide_graph = apply_delta(wide_full["graph"], await receive(wide, "graph.delta"))
    # the ingress gateway (istio-system) calls productpage: a name for the operator, anonymous for the viewer
    outside = [d["data"] for d in wide_graph["elements"]["nodes"] if d["data"].get("namespace") == "istio-system"]
    assert outside and all(not d.get("isInaccessible") for d in outside)
    hidden = [d["data"] for d in narrow_graph["elements"]["nodes"] if d["data"].get("isInaccessible")]
    assert hidden and not any(d["data"].get("namespace") == "istio-system" for d in narrow_graph["elements"]["nodes"])
    # each sees exactly what the graph API shows them
    assert elements(narrow_graph) == elements(await graph_api(viewer, snapshot))
    assert elements(wide_graph) == elements(await graph_api(operator, snapshot))
    await narrow.disconnect()
    await wide.disconnect()


async def test_a_snapshot_of_an_unreachable_cluster_says_the_graph_is_stale(
        channel_layer, viewer, sim_cluster, snapshots):
    ws, _, _ = await graph_socket(viewer)
    snapshot = await snapshots.commit(status="unreachable")
    message = await receive(ws, "graph.stale")
    assert message["snapshot"]["id"] == snapshot["id"] and "last one" in message["detail"]
    await ws.disconnect()


async def test_a_browser_that_logs_out_stops_receiving_graphs(channel_layer, viewer, sim_cluster, snapshots):
    browser = await browser_for(viewer)
    ws, _ = await subscribe(PATH.format("bookinfo"), cookie=browser.cookie)
    await receive(ws, "graph.full")
    response = await database_sync_to_async(browser.client.post)("/accounts/logout/")
    assert response.status_code == 302
    assert await expect_closing(ws, 4401) == "You logged out."
    await snapshots.commit()
    assert await ws.receive_nothing(timeout=0.5)


@pytest.mark.redis
@pytest.mark.parametrize("channel_layer", ["redis"], indirect=True)  # counts the members of a Redis group
async def test_a_process_joins_the_snapshot_group_once_whatever_the_number_of_sockets(
        channel_layer, viewer, sim_cluster, snapshots):
    from channels.layers import get_channel_layer

    from apps.live.graphpush.fanout import fanout_for
    from apps.live.groups import graph_group

    layer = get_channel_layer()
    group = graph_group(sim_cluster.pk)

    redis = layer.connection(layer.consistent_hash(group))

    async def members() -> int:
        return await redis.zcard(layer._group_key(group))

    await redis.delete(layer._group_key(group))  # what earlier test runs' processes left there

    sockets = [(await graph_socket(viewer))[0] for _ in range(5)]
    assert await members() == 1
    snapshot = await snapshots.commit()
    for ws in sockets:
        assert (await receive(ws, "graph.delta"))["snapshot"]["id"] == snapshot["id"]
    for ws in sockets[:4]:
        await ws.disconnect()
    assert await members() == 1  # one socket still listens
    await snapshots.commit()
    await receive(sockets[4], "graph.delta")
    await sockets[4].disconnect()
    assert await members() == 0  # nothing left behind
    assert fanout_for(layer)._receiver is None


async def test_a_namespace_that_does_not_exist_closes_the_socket_as_not_found(channel_layer, operator, sim_cluster):
    # the operator may see every namespace ("*"), but there is no such one: as the graph API's 404
    ws, hello = await subscribe(PATH.format("no-such-ns"), token=await token_for(operator))
    assert hello["namespaces"] == ["no-such-ns"]
    assert "no-such-ns" in await expect_closing(ws, 4404)


async def test_a_real_snapshot_is_pushed_as_the_graph_of_that_snapshot(channel_layer, viewer, sim_cluster, settings):
    from apps.history.services import snapshot_take

    settings.MESHDECK_SNAPSHOT_INTERVAL = 1  # a bucket a second: two snapshots a few seconds apart

    ws, _, full = await graph_socket(viewer)
    first = (await database_sync_to_async(snapshot_take)(sim_cluster, window=60)).snapshot
    update = await receive(ws, "graph.delta")
    assert update["snapshot"]["id"] == first.pk
    drawn = apply_delta(full["graph"], update)
    assert drawn["source"]["kind"] == "snapshot" and drawn["source"]["snapshot"]["id"] == first.pk

    await suspend_ratings(sim_cluster)
    second = (await database_sync_to_async(snapshot_take)(sim_cluster, window=60)).snapshot
    assert second.pk != first.pk
    update = await receive(ws, "graph.delta")
    assert update["snapshot"] == {"id": second.pk, "previous_id": first.pk,
                                  "taken_at": second.taken_at.timestamp(), "status": "ok"}
    drawn = apply_delta(drawn, update)

    expected = await graph_at(viewer, f"at={second.taken_at.timestamp()}")
    assert expected["source"]["snapshot"]["id"] == second.pk
    assert elements(drawn) == elements(expected)
    assert any(e["data"]["rates"].get("http5xx") for e in update["added"]["edges"])
    await ws.disconnect()
