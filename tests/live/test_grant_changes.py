"""A live subscription follows its grants: revoked, narrowed, moved, lost with a team or a cluster."""
from __future__ import annotations

import asyncio

import pytest
from asgiref.sync import async_to_sync
from channels.db import database_sync_to_async
from django.db import transaction

from apps.accounts.models import Grant, Team
from apps.accounts.roles import Role
from apps.accounts.services import grant_delete, grant_update, team_delete, team_member_remove

from .conftest import WAIT, expect_closing, publish, run_in_db_thread, subscribe, token_for

pytestmark = pytest.mark.django_db(transaction=True)

PATH = "/ws/clusters/demo/events/?namespaces={}"


@database_sync_to_async
def grant(user, cluster, pattern):
    return Grant.objects.create(user=user, cluster=cluster, namespace_pattern=pattern, role=Role.VIEWER)


@database_sync_to_async
def viewer_grant(viewer):
    return Grant.objects.get(user=viewer, namespace_pattern="bookinfo")


async def test_a_revoked_grant_stops_the_data_and_closes_the_socket(channel_layer, viewer, sim_cluster):
    ws, hello = await subscribe(PATH.format("bookinfo"), token=await token_for(viewer))
    assert hello["namespaces"] == ["bookinfo"]
    await publish(sim_cluster, "bookinfo", {"n": 1})
    assert await ws.receive_json_from(timeout=WAIT) == {"n": 1}

    # Through the service, as the admin, the API and the command revoke (audited, one transaction).
    await database_sync_to_async(grant_delete)(grant=await viewer_grant(viewer))

    # The viewer's only grant on demo is gone: the cluster is no longer theirs to see.
    reason = await expect_closing(ws, 4404)
    assert "demo" in reason
    await publish(sim_cluster, "bookinfo", {"n": 2})
    assert await ws.receive_nothing(timeout=0.5)
    await ws.disconnect()


async def test_a_client_that_still_holds_another_namespace_is_narrowed(channel_layer, viewer, sim_cluster):
    await grant(viewer, sim_cluster, "grpc-demo")
    ws, hello = await subscribe(PATH.format("bookinfo,grpc-demo"), token=await token_for(viewer))
    assert hello["namespaces"] == ["bookinfo", "grpc-demo"]

    await database_sync_to_async((await viewer_grant(viewer)).delete)()

    assert await ws.receive_json_from(timeout=WAIT) == {
        "type": "unsubscribed", "namespaces": ["bookinfo"],
        "reason": "You no longer have access to these namespaces.",
    }
    # Sent in this order to the same socket: only the namespace still granted arrives.
    await publish(sim_cluster, "bookinfo", {"ns": "bookinfo"})
    await publish(sim_cluster, "grpc-demo", {"ns": "grpc-demo"})
    assert await ws.receive_json_from(timeout=WAIT) == {"ns": "grpc-demo"}
    assert await ws.receive_nothing(timeout=0.3)
    await ws.disconnect()


async def test_nothing_left_of_the_subscription_closes_it_as_revoked(channel_layer, viewer, sim_cluster):
    # The viewer still sees the cluster (grpc-demo) but not the namespace they subscribed to.
    await grant(viewer, sim_cluster, "grpc-demo")
    ws, _ = await subscribe(PATH.format("bookinfo"), token=await token_for(viewer))
    await database_sync_to_async((await viewer_grant(viewer)).delete)()
    reason = await expect_closing(ws, 4403)
    assert reason == "You no longer have access to the namespaces this connection subscribed to."
    await ws.disconnect()


async def test_a_grant_narrowed_in_place_narrows_the_socket(channel_layer, operator, sim_cluster):
    ws, hello = await subscribe(PATH.format("bookinfo,grpc-demo"), token=await token_for(operator))
    assert hello["namespaces"] == ["bookinfo", "grpc-demo"]

    await database_sync_to_async(lambda: grant_update(grant=Grant.objects.get(user=operator),
                                                      namespace_pattern="grpc-*"))()
    message = await ws.receive_json_from(timeout=WAIT)
    assert message["type"] == "unsubscribed" and message["namespaces"] == ["bookinfo"]
    await ws.disconnect()


async def test_a_grant_moved_to_someone_else_closes_the_first_holders_socket(
        channel_layer, viewer, outsider, sim_cluster):
    ws, _ = await subscribe(PATH.format("bookinfo"), token=await token_for(viewer))

    def move():
        g = Grant.objects.get(user=viewer)
        g.user = outsider
        g.save()

    await database_sync_to_async(move)()
    await expect_closing(ws, 4404)
    await ws.disconnect()


@database_sync_to_async
def team_with_grant(member, cluster, pattern):
    team = Team.objects.create(name="mesh-team")
    team.members.add(member)
    Grant.objects.create(team=team, cluster=cluster, namespace_pattern=pattern, role=Role.VIEWER)
    return team


async def test_leaving_the_team_that_held_the_grant_closes_the_socket(channel_layer, outsider, sim_cluster):
    team = await team_with_grant(outsider, sim_cluster, "*")
    ws, hello = await subscribe(PATH.format("bookinfo"), token=await token_for(outsider))
    assert hello["namespaces"] == ["bookinfo"]

    await database_sync_to_async(team_member_remove)(team=team, user=outsider)
    await expect_closing(ws, 4404)
    await ws.disconnect()


async def test_deleting_the_team_closes_its_members_sockets(channel_layer, outsider, sim_cluster):
    team = await team_with_grant(outsider, sim_cluster, "bookinfo")
    ws, _ = await subscribe(PATH.format("bookinfo"), token=await token_for(outsider))

    await database_sync_to_async(team_delete)(team=team)
    await expect_closing(ws, 4404)
    await ws.disconnect()


async def test_a_deleted_cluster_closes_even_a_superusers_socket(channel_layer, superuser, sim_cluster):
    ws, hello = await subscribe(PATH.format("bookinfo"), token=await token_for(superuser))
    assert hello["namespaces"] == ["bookinfo"]
    await database_sync_to_async(sim_cluster.delete)()
    await expect_closing(ws, 4404)
    await ws.disconnect()


async def test_the_socket_hears_of_a_revocation_only_once_it_is_committed(channel_layer, viewer, sim_cluster):
    """A message sent before the commit would reach a consumer whose re-check still sees the
    grant (the transaction is open), and nothing would close the socket until the periodic
    re-check. Sent after the commit, the re-check sees the grant gone."""
    ws, _ = await subscribe(PATH.format("bookinfo"), token=await token_for(viewer))

    def revoke_and_linger():
        with transaction.atomic():
            Grant.objects.filter(user=viewer).first().delete()
            # Give a premature message every chance to be handled while the grant still shows.
            async_to_sync(asyncio.sleep)(0.5)

    await run_in_db_thread(revoke_and_linger)
    await expect_closing(ws, 4404)
    await ws.disconnect()
