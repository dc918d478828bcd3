"""Live change notifications: approvers see new requests appear, the requester sees each status change."""
from __future__ import annotations

import pytest
from channels.db import database_sync_to_async

from apps.changes.services import change_approve, change_create
from tests.live.conftest import _close_the_consumers_connection, connect, expect_closing, subscribe, token_for  # noqa: F401

from .flow_helpers import PASSWORD, SHIFT_80_20

pytestmark = [pytest.mark.redis, pytest.mark.django_db(transaction=True)]


async def test_approvers_hear_of_a_new_request_and_the_requester_of_each_status(
        sim_cluster, operator, approver, viewer, outsider):
    op_ws, hello = await subscribe("/ws/changes/?cluster=demo", token=await token_for(operator))
    assert hello == {"type": "subscribed", "cluster": "demo"}
    ap_ws, _ = await subscribe("/ws/changes/?cluster=demo", token=await token_for(approver))
    viewer_ws, _ = await subscribe("/ws/changes/?cluster=demo", token=await token_for(viewer))

    change = await database_sync_to_async(change_create)(cluster=sim_cluster, user=operator,
                                                         data=dict(SHIFT_80_20), submit=True)
    drafted = await op_ws.receive_json_from(timeout=10)
    assert drafted["type"] == "change.status" and drafted["change"]["status"] == "draft"
    submitted = await op_ws.receive_json_from(timeout=10)
    assert submitted["change"]["status"] == "submitted" and submitted["change"]["id"] == change.pk
    waiting = await ap_ws.receive_json_from(timeout=10)
    assert waiting["type"] == "change.submitted" and waiting["change"]["summary"] == change.summary
    assert await viewer_ws.receive_nothing(timeout=0.5)  # a viewer reviews nothing

    await database_sync_to_async(change_approve)(change=change, user=approver, password=PASSWORD)
    approved = await op_ws.receive_json_from(timeout=10)
    assert approved["type"] == "change.status" and approved["change"]["status"] == "approved"
    for ws in (op_ws, ap_ws, viewer_ws):
        await ws.disconnect()


async def test_a_cluster_one_may_not_see_is_refused(sim_cluster, outsider):
    _, connected, code = await connect("/ws/changes/?cluster=demo", token=await token_for(outsider))
    assert not connected and code == 4404
    _, connected, code = await connect("/ws/changes/", token=await token_for(outsider))
    assert not connected and code == 4400
