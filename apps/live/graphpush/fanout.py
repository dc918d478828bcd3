"""One channel-layer membership per process for the graph groups, shared by its sockets.

A snapshot message carries no mesh data and is the same for every graph socket of the
cluster, so instead of each socket joining ``graph.cluster.<id>`` on the channel layer (and the
layer waking 1,000 consumers through their own receive loops), each process joins the group
once, on a channel of its own, and hands the message to its sockets directly. A socket is
handed a message only while it is registered here, which it is only between a successful
``authorize()`` and the moment it leaves the group (a re-check that ends it, or its close): the
same rule as a channel-layer group. One ``LocalFanout`` per event loop and channel layer.

Redis restarted: the layer forgets every membership, and each socket's own receive fails, so the
server drops the sockets (the browser reconnects with ``since``). A socket whose close could not
reach the layer may leave its entry here; the next socket's join renews the membership anyway.
"""
from __future__ import annotations

import asyncio
import logging
import weakref
from collections.abc import Callable

logger = logging.getLogger(__name__)

# channels_redis forgets a group membership after its group_expiry (a day by default): renew it.
RENEW_SECONDS = 3600

Deliver = Callable[[dict], None]


class LocalFanout:
    def __init__(self, layer) -> None:
        self.layer = layer
        self.channel: str | None = None
        self.members: dict[str, dict[object, Deliver]] = {}
        self._receiver: asyncio.Task | None = None
        self._renewer: asyncio.Task | None = None

    async def add(self, group: str, member: object, deliver: Deliver) -> None:
        if self.channel is None:
            self.channel = await self.layer.new_channel()
        self.members.setdefault(group, {})[member] = deliver
        # Joined at every socket's join, not only the first: a membership the layer lost (Redis
        # restarted, taking every group with it, while this process kept its sockets' entries) is
        # renewed by the next socket that connects, e.g. a browser reconnecting after the drop.
        # Adding the same channel again is idempotent: the group still holds one channel per process.
        await self.layer.group_add(group, self.channel)
        if self._receiver is None or self._receiver.done():
            self._receiver = asyncio.create_task(self._receive())
            self._renewer = asyncio.create_task(self._renew())

    async def discard(self, group: str, member: object) -> None:
        members = self.members.get(group)
        if members is None or member not in members:
            return
        del members[member]
        if not members:
            del self.members[group]
            await self.layer.group_discard(group, self.channel)
        if not self.members:
            for task in (self._receiver, self._renewer):
                if task is not None:
                    task.cancel()
            self._receiver = self._renewer = None

    async def _receive(self) -> None:
        while True:
            message = await self.layer.receive(self.channel)
            for deliver in list(self.members.get(message.get("group"), {}).values()):
                try:
                    deliver(message)
                except Exception:  # one socket's trouble is not the others'
                    logger.exception("Could not hand a graph message to a socket")

    async def _renew(self) -> None:
        while True:
            await asyncio.sleep(RENEW_SECONDS)
            for group in list(self.members):
                await self.layer.group_add(group, self.channel)


_fanouts: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def fanout_for(layer) -> LocalFanout:
    """This event loop's fan-out for ``layer``."""
    per_loop = _fanouts.setdefault(asyncio.get_running_loop(), {})
    fanout = per_loop.get(id(layer))
    if fanout is None or fanout.layer is not layer:
        fanout = per_loop[id(layer)] = LocalFanout(layer)
    return fanout
