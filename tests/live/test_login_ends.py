"""A live subscription ends with the login it was opened with: logout, session gone or expired,
token revoked or expired, account deactivated, password changed."""
from __future__ import annotations

from datetime import timedelta

import pytest
from channels.db import database_sync_to_async
from django.contrib.sessions.models import Session
from django.utils import timezone

from apps.accounts.models import ApiToken
from apps.accounts.services import api_token_create, api_token_revoke, user_deactivate, user_update

from .conftest import WAIT, browser_for, connect, expect_closing, publish, subscribe, token_for

pytestmark = pytest.mark.django_db(transaction=True)

PATH = "/ws/clusters/demo/events/?namespaces=bookinfo"


async def test_logging_out_closes_the_sockets_of_that_session(channel_layer, viewer, sim_cluster):
    browser = await browser_for(viewer)
    ws, hello = await subscribe(PATH, cookie=browser.cookie)
    assert hello["namespaces"] == ["bookinfo"]
    other = await browser_for(viewer)  # the same person in another browser stays connected
    ws_other, _ = await subscribe(PATH, cookie=other.cookie)

    response = await database_sync_to_async(browser.client.post)("/accounts/logout/")
    assert response.status_code == 302

    assert await expect_closing(ws, 4401) == "You logged out."
    await publish(sim_cluster, "bookinfo", {"n": 1})
    assert await ws_other.receive_json_from(timeout=WAIT) == {"n": 1}
    assert await ws.receive_nothing(timeout=0.3)
    await ws.disconnect()
    await ws_other.disconnect()


async def test_a_deleted_session_closes_its_sockets(channel_layer, viewer, sim_cluster):
    browser = await browser_for(viewer)
    ws, _ = await subscribe(PATH, cookie=browser.cookie)
    # An administrator removing the session, or `manage.py clearsessions`.
    await database_sync_to_async(lambda: Session.objects.filter(session_key=browser.session_key).delete())()
    assert "session ended" in await expect_closing(ws, 4401)
    await ws.disconnect()


async def test_an_expired_session_is_caught_by_the_periodic_recheck(channel_layer, viewer, sim_cluster, settings):
    settings.MESHDECK_WS_RECHECK_SECONDS = 0.2
    browser = await browser_for(viewer)
    ws, _ = await subscribe(PATH, cookie=browser.cookie)
    # A queryset update sends no signal: only the periodic re-check can see this.
    await database_sync_to_async(
        lambda: Session.objects.filter(pk=browser.session_key).update(expire_date=timezone.now() - timedelta(seconds=1))
    )()
    assert "session ended" in await expect_closing(ws, 4401)
    await ws.disconnect()


async def test_a_password_change_closes_the_sessions_made_before_it(channel_layer, viewer, sim_cluster):
    browser = await browser_for(viewer)
    ws, _ = await subscribe(PATH, cookie=browser.cookie)

    await database_sync_to_async(user_update)(user=viewer, password="another-long-passphrase-9")
    assert await expect_closing(ws, 4401) == "Your password changed: log in again."
    await ws.disconnect()


async def test_a_revoked_api_token_closes_its_sockets(channel_layer, viewer, sim_cluster):
    token, secret = await database_sync_to_async(api_token_create)(user=viewer, name="ws")
    other = await token_for(viewer)
    ws, _ = await subscribe(PATH, token=secret)
    ws_other, _ = await subscribe(PATH, token=other)

    assert await database_sync_to_async(api_token_revoke)(user=viewer, token_id=token.pk)

    assert "revoked" in await expect_closing(ws, 4401)
    await publish(sim_cluster, "bookinfo", {"n": 1})
    assert await ws_other.receive_json_from(timeout=WAIT) == {"n": 1}
    await ws.disconnect()
    await ws_other.disconnect()
    # and it cannot come back
    _, connected, code = await connect(PATH, token=secret)
    assert not connected and code == 4401


async def test_an_expired_token_is_caught_by_the_periodic_recheck(channel_layer, viewer, sim_cluster, settings):
    settings.MESHDECK_WS_RECHECK_SECONDS = 0.2
    token, secret = await database_sync_to_async(api_token_create)(user=viewer, name="ws", expires_in_days=1)
    ws, _ = await subscribe(PATH, token=secret)
    # Moved into the past without a signal: nothing but the periodic re-check notices.
    await database_sync_to_async(
        lambda: ApiToken.objects.filter(pk=token.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    )()
    assert "expired" in await expect_closing(ws, 4401)
    await ws.disconnect()


async def test_a_token_is_rechecked_when_it_expires(channel_layer, viewer, sim_cluster):
    # The periodic interval (60 s) is far away: the socket is re-checked at the token's expiry,
    # here one an administrator set after the socket connected.
    token, secret = await database_sync_to_async(api_token_create)(user=viewer, name="ws")
    ws, _ = await subscribe(PATH, token=secret)

    def expire_soon():
        token.expires_at = timezone.now() + timedelta(seconds=2)
        token.save()

    await database_sync_to_async(expire_soon)()
    message = await ws.receive_json_from(timeout=2 + WAIT)
    assert message["type"] == "closing" and message["code"] == 4401 and "expired" in message["reason"]
    await ws.disconnect()


async def test_deactivating_the_user_closes_their_sockets(channel_layer, viewer, sim_cluster):
    ws, _ = await subscribe(PATH, token=await token_for(viewer))

    await database_sync_to_async(user_deactivate)(user=viewer)
    assert await expect_closing(ws, 4401) == "Your account was deactivated."
    await ws.disconnect()
