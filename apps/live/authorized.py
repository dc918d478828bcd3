"""The base of every live consumer: authorize before joining a group, and keep authorizing.

A subclass says what a socket may receive (``authorize()``); this class authenticates the
socket, joins the groups, and runs ``authorize()`` again whenever access may have changed:

- an ``access.changed`` message to one of the socket's access groups (its user, its token or
  session, and whatever ``Subscription.watch`` adds, such as the cluster's), sent by
  ``apps.live.receivers`` after the commit that changed a grant, a team, a user or a token;
- an ``access.ended`` message (logout, session deleted): closes at once;
- every ``MESHDECK_WS_RECHECK_SECONDS`` (and exactly when the token expires), which covers
  expiry and anything a signal cannot see (queryset updates, a lost message).

A re-check only ever narrows: items no longer allowed are left (``unsubscribed``), and when
nothing is left, or the login or the object is gone, the socket is closed (``closing``, then the
close code). It never joins anything new: a client reconnects to pick up a new grant.
"""
from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any
from urllib.parse import parse_qs

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer
from django.conf import settings
from django.utils import timezone

from apps.clusters.selectors import clusters_for_user

from .access import (
    CLOSE_ACCESS_REVOKED,
    CLOSE_BAD_REQUEST,
    CLOSE_NOT_AUTHENTICATED,
    CLOSE_NOT_FOUND,
    CLOSE_SERVER_ERROR,
    Principal,
    Refused,
    authenticate,
    principal_from_scope,
)
from .groups import session_access_group, token_access_group, user_access_group

logger = logging.getLogger(__name__)

CLOSE_REASON_BYTES = 123  # the WebSocket protocol's limit for a close frame's reason


@dataclass(frozen=True)
class Subscription:
    """What one socket may receive, as ``authorize()`` decides it.

    ``items``: what the client asked for and may have (namespaces), each with the data groups it
    needs; a re-check that drops an item leaves its groups and tells the client.
    ``groups``: data groups tied to no item (cluster-wide connection state).
    ``watch``: access groups beyond the principal's own, e.g. the cluster's.
    ``refused``: items asked for and not allowed (told once, when subscribing).
    ``context``: whatever the consumer keeps from ``authorize()`` (the cluster's name and id).
    """

    items: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    groups: tuple[str, ...] = ()
    watch: tuple[str, ...] = ()
    refused: tuple[str, ...] = ()
    context: Mapping[str, Any] = field(default_factory=dict)

    def data_groups(self) -> set[str]:
        return set(self.groups).union(*self.items.values())


def query_values(query_string: bytes, name: str) -> list[str]:
    """Every value of ``name`` in a query string, URL-decoded (percent escapes, ``+`` as a
    space), comma-separated lists and repeated parameters joined, in order, without repeats."""
    values: list[str] = []
    for raw in parse_qs(query_string.decode("latin-1"), encoding="utf-8", errors="replace").get(name, []):
        for part in raw.split(","):
            part = part.strip()
            if part and part not in values:
                values.append(part)
    return values


def principal_groups(principal: Principal) -> list[str]:
    groups = [user_access_group(principal.user_id)]
    if principal.token_id is not None:
        groups.append(token_access_group(principal.token_id))
    if principal.session_key:
        groups.append(session_access_group(principal.session_key))
    return groups


#: the most namespaces one socket may subscribe to
MAX_NAMESPACES = 100


def _close_reason(reason: str) -> str:
    return reason.encode()[:CLOSE_REASON_BYTES].decode(errors="ignore")


class AuthorizedConsumer(AsyncJsonWebsocketConsumer):
    """Subclass it, implement ``authorize()``, and send data with ``apps.live.events``."""

    #: the name of the list of items in ``unsubscribed`` messages
    item_label = "namespaces"

    # --- hooks ---------------------------------------------------------------

    def authorize(self, user) -> Subscription:
        """What ``user`` (fresh from the database, active) may receive on this socket.

        Runs in a database thread, at connect and at every re-check; read the request from
        ``self.scope`` and ``self.query_values()``. Raise ``Refused(code, reason)`` to refuse
        (at connect) or to end (at a re-check) the whole subscription.
        """
        raise NotImplementedError

    async def on_subscribed(self, subscription: Subscription) -> None:
        """Called once the socket is accepted and has joined its groups: say hello."""

    async def on_access_changed(self, removed: list[str], subscription: Subscription) -> None:
        """Called after a re-check narrowed the socket: ``subscription`` is what is left."""
        await self.send_json({
            "type": "unsubscribed", self.item_label: removed,
            "reason": f"You no longer have access to these {self.item_label}.",
        })

    # --- helpers for subclasses ----------------------------------------------

    def query_values(self, name: str) -> list[str]:
        return query_values(self.scope.get("query_string", b""), name)

    def cluster_and_namespaces(self, user) -> tuple[Any, list[str]]:
        """The URL's cluster, if ``user`` may see it, and the ``namespaces=`` asked for (not yet
        checked one by one). Refuses too many namespaces and a cluster that is absent or not theirs
        (one answer for both)."""
        name = self.scope["url_route"]["kwargs"]["cluster"]
        wanted = self.query_values("namespaces")
        if len(wanted) > MAX_NAMESPACES:
            raise Refused(CLOSE_BAD_REQUEST, f"Subscribe to at most {MAX_NAMESPACES} namespaces per connection.")
        cluster = clusters_for_user(user).filter(name=name).first()
        if cluster is None:
            raise Refused(CLOSE_NOT_FOUND, f"No cluster named '{name}' is visible to you.")
        return cluster, wanted

    def still_subscribed(self, event: dict) -> bool:
        """Whether a data message may still be forwarded: its group is one this socket belongs
        to now (a message queued before a re-check left the group is dropped)."""
        return not self._closing and event.get("group") in self._data_groups()

    async def mesh_event(self, event: dict) -> None:
        if self.still_subscribed(event):
            await self.send_json(event["payload"])

    # --- the machinery ---------------------------------------------------------

    async def connect(self) -> None:
        self.subscription: Subscription | None = None
        self._closing = False
        self._lock = asyncio.Lock()
        self._timer: asyncio.Task | None = None
        self._valid_until = None
        principal = principal_from_scope(self.scope)
        if principal is None:
            self._closing = True
            await self.close(code=CLOSE_NOT_AUTHENTICATED)
            return
        self.principal: Principal = principal
        # The access groups first: a change committed while authorize() runs is then queued
        # for this socket and handled right after connect, not missed.
        await self._join(principal_groups(self.principal))
        try:
            subscription, self._valid_until = await self._authorize()
        except Refused as refused:
            self._closing = True
            await self._leave(list(self.groups))
            await self.close(code=refused.code)
            return
        except BaseException:
            await self._leave(list(self.groups))
            raise
        await self._join([*subscription.watch, *sorted(subscription.data_groups())])
        self.subscription = subscription
        await self.accept()
        await self.on_subscribed(subscription)
        self._timer = asyncio.create_task(self._recheck_periodically())

    async def disconnect(self, code) -> None:
        self._closing = True
        if self._timer is not None:
            self._timer.cancel()

    async def access_changed(self, event: dict) -> None:
        logger.debug("Re-checking a live subscription of user %s: %s", self.principal.user_id,
                     (event.get("payload") or {}).get("reason"))
        await self.recheck()

    async def access_ended(self, event: dict) -> None:
        payload = event.get("payload") or {}
        await self.end(payload.get("code", CLOSE_NOT_AUTHENTICATED), payload.get("reason", "Your session ended."))

    async def recheck(self) -> None:
        """Authorize again; narrow the socket or close it."""
        async with self._lock:
            if self._closing or self.subscription is None:
                return
            try:
                current, valid_until = await self._authorize()
            except Refused as refused:
                await self.end(refused.code, refused.reason)
                return
            except Exception:
                logger.exception("Could not re-check the access of a live subscription (user %s)",
                                 self.principal.user_id)
                await self.end(CLOSE_SERVER_ERROR, "Your access could not be re-checked: reconnect in a moment.")
                return
            if valid_until != self._valid_until:  # the token's expiry moved: wake up at the new one
                self._valid_until = valid_until
                self._restart_timer()
            await self._narrow_to(current)

    async def end(self, code: int, reason: str) -> None:
        """Leave every group (nothing more arrives), say why, and close."""
        if self._closing:
            return
        self._closing = True
        await self._leave(list(self.groups))
        await self.send_json({"type": "closing", "code": code, "reason": reason})
        await self.close(code=code, reason=_close_reason(reason))

    async def _narrow_to(self, current: Subscription) -> None:
        before = self.subscription
        if before is None:  # never: recheck() returns early without a subscription
            return
        removed = [item for item in before.items if item not in current.items]
        narrowed = replace(
            before,
            items={item: groups for item, groups in before.items.items() if item in current.items},
            groups=tuple(group for group in before.groups if group in current.groups),
            context=current.context,
        )
        if before.data_groups() and not narrowed.data_groups():
            await self.end(CLOSE_ACCESS_REVOKED,
                           f"You no longer have access to the {self.item_label} this connection subscribed to.")
            return
        self.subscription = narrowed
        await self._leave(sorted(before.data_groups() - narrowed.data_groups()))
        if removed:
            await self.on_access_changed(removed, narrowed)

    def _authorize_now(self):
        authenticated = authenticate(self.principal)
        return self.authorize(authenticated.user), authenticated.valid_until

    async def _authorize(self):
        return await database_sync_to_async(self._authorize_now)()

    def _data_groups(self) -> set[str]:
        return self.subscription.data_groups() if self.subscription is not None else set()

    async def _join(self, groups) -> None:
        for group in groups:
            if group not in self.groups:
                await self.channel_layer.group_add(group, self.channel_name)
                self.groups.append(group)

    async def _leave(self, groups) -> None:
        for group in groups:
            if group in self.groups:
                self.groups.remove(group)
                await self.channel_layer.group_discard(group, self.channel_name)

    def _seconds_to_next_check(self) -> float:
        seconds = float(settings.MESHDECK_WS_RECHECK_SECONDS)
        if self._valid_until is not None:
            # Just after the token's expiry, so the check sees it expired.
            seconds = min(seconds, max((self._valid_until - timezone.now()).total_seconds(), 0) + 0.05)
        return seconds

    def _restart_timer(self) -> None:
        # From the timer's own re-check, its next turn reads the new expiry anyway.
        if self._timer is not None and self._timer is not asyncio.current_task() and not self._closing:
            self._timer.cancel()
            self._timer = asyncio.create_task(self._recheck_periodically())

    async def _recheck_periodically(self) -> None:
        try:
            while not self._closing:
                await asyncio.sleep(self._seconds_to_next_check())
                await self.recheck()
        except asyncio.CancelledError:
            raise
        except Exception:  # the socket went away under us; nothing left to check
            logger.exception("Periodic access re-check stopped (user %s)", self.principal.user_id)
