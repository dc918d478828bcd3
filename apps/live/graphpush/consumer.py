"""ws/clusters/<cluster>/graph/?namespaces=a,b&graphType=...&since=<snapshot id>

After ``subscribed`` the socket gets the whole graph once (``graph.full``), then, after each
snapshot of the cluster commits, only what changed (``graph.delta``). docs/live.md has the
messages; the graph answer inside them is ``GET /api/clusters/<c>/graph``'s.
"""
from __future__ import annotations

import asyncio
import json
import logging

from asgiref.sync import sync_to_async
from django.db import close_old_connections, connections

from apps.accounts.selectors import namespace_visibility_key, visibility_from_key

from ..access import CLOSE_ACCESS_REVOKED, CLOSE_BAD_REQUEST, CLOSE_NOT_FOUND, Refused
from ..authorized import AuthorizedConsumer, Subscription
from ..groups import cluster_access_group, graph_group, is_namespace_name
from .build import build_graph_answer
from .builds import Built, GraphBuilds
from .fanout import fanout_for
from .spec import GraphKey, SpecError, parse_options, parse_since

EVERY_NAMESPACE = "*"  # the item of a socket that asked for no namespace: all it may see
GRAPH_STALE = "graph.stale"
GRAPH_GROUP_PREFIX = graph_group(0)[:-1]  # "graph.cluster."

logger = logging.getLogger(__name__)



def _build_in_own_thread(key, snapshot_id, taken_at):
    # Not in the consumers' shared database thread: a build must not queue behind (or hold up)
    # the connects and access re-checks of every socket of the process. Its connection is
    # closed when it is done, as a request's is.
    close_old_connections()
    try:
        return build_graph_answer(key, snapshot_id, taken_at)
    finally:
        connections.close_all()


builds = GraphBuilds(sync_to_async(_build_in_own_thread, thread_sensitive=False))


def _stored_latest(cluster_id: int) -> dict | None:
    """The cluster's newest stored snapshot, as its ``graph.snapshot`` message names it."""
    from apps.history.models import Snapshot

    rows = list(Snapshot.objects.filter(cluster_id=cluster_id).order_by("-id").values("id", "taken_at", "status")[:2])
    if not rows:
        return None
    return {"id": rows[0]["id"], "previous_id": rows[1]["id"] if len(rows) > 1 else None,
            "taken_at": rows[0]["taken_at"].timestamp(), "status": rows[0]["status"]}


class GraphLiveConsumer(AuthorizedConsumer):
    """One socket per view of the graph page (cluster, namespaces, options)."""

    def authorize(self, user) -> Subscription:
        query_string = self.scope.get("query_string", b"")
        try:
            options, since = parse_options(query_string), parse_since(query_string)
        except SpecError as exc:
            raise Refused(CLOSE_BAD_REQUEST, str(exc)) from None
        cluster, wanted = self.cluster_and_namespaces(user)
        visibility = namespace_visibility_key(user, cluster)
        allowed = visibility_from_key(visibility)
        if wanted:
            items = {ns: () for ns in wanted if is_namespace_name(ns) and allowed(ns)}
            if not items:
                raise Refused(CLOSE_ACCESS_REVOKED,
                              f"You may not see any of these namespaces of '{cluster.name}': {', '.join(wanted)}.")
        else:
            items = {EVERY_NAMESPACE: ()}
        return Subscription(
            items=items,
            # the snapshot messages carry no mesh data: the graph is built for this user's view
            groups=(graph_group(cluster.pk),),
            watch=(cluster_access_group(cluster.pk),),
            refused=tuple(sorted(set(wanted) - set(items))),
            context={"cluster": cluster.name, "cluster_id": cluster.pk, "options": options,
                     "visibility": visibility, "since": since},
        )

    # --- what this socket's graph is ----------------------------------------------------

    def graph_key(self) -> GraphKey:
        subscription = self.subscription
        assert subscription is not None, "graph_key() of a socket that is not subscribed"
        namespaces = None if EVERY_NAMESPACE in subscription.items else tuple(sorted(subscription.items))
        context = subscription.context
        return GraphKey(context["cluster_id"], namespaces, context["options"], context["visibility"])

    # --- the graph group: joined once per process (fanout.py), the others as the base does ---

    async def _join(self, groups) -> None:
        groups = list(groups)
        for group in [g for g in groups if g.startswith(GRAPH_GROUP_PREFIX)]:
            if group not in self.groups:
                await fanout_for(self.channel_layer).add(group, self, self._deliver)
                self.groups.append(group)
        await super()._join([g for g in groups if not g.startswith(GRAPH_GROUP_PREFIX)])

    async def _leave(self, groups) -> None:
        groups = list(groups)
        for group in [g for g in groups if g.startswith(GRAPH_GROUP_PREFIX)]:
            if group in self.groups:
                self.groups.remove(group)
                await fanout_for(self.channel_layer).discard(group, self)
        await super()._leave([g for g in groups if not g.startswith(GRAPH_GROUP_PREFIX)])

    async def websocket_disconnect(self, message) -> None:
        await self._leave([g for g in self.groups if g.startswith(GRAPH_GROUP_PREFIX)])
        await super().websocket_disconnect(message)

    def _deliver(self, message: dict) -> None:
        """Called by the process's fan-out: handle the snapshot as a task of this socket's own."""
        task = asyncio.create_task(self._handle_snapshot(message))
        self._deliveries.add(task)
        task.add_done_callback(self._deliveries.discard)

    async def _handle_snapshot(self, message: dict) -> None:
        try:
            await self.graph_snapshot(message)
        except Exception:  # the socket went away while the graph was sent
            logger.debug("A graph update was not delivered", exc_info=True)

    # --- hello and catch-up -------------------------------------------------------------

    async def connect(self) -> None:
        self._base: Built | None = None  # the last answer this client received
        self._push_lock = asyncio.Lock()  # one update at a time, in the order they came
        self._deliveries: set[asyncio.Task] = set()
        await super().connect()

    async def on_subscribed(self, subscription: Subscription) -> None:
        await self.send_json({
            "type": "subscribed", "cluster": subscription.context["cluster"],
            "namespaces": [ns for ns in subscription.items if ns != EVERY_NAMESPACE],
            "refused": list(subscription.refused),
        })
        async with self._push_lock:
            await self._first_graph(subscription.context["since"])

    async def _first_graph(self, since: int | None) -> None:
        key = self.graph_key()
        if since is not None:
            # A reconnect: snapshots may have been taken while this process could not hear of them
            # (the channel layer down, Redis restarted), so ask the database which one is the latest.
            stored = await sync_to_async(_stored_latest)(key.cluster_id)
            if stored is not None:
                builds.note_snapshot(key.cluster_id, stored)
        latest = builds.latest(key.cluster_id)
        base = builds.cached(key, since) if since is not None and latest is not None else None
        new = await (builds.at_snapshot(key, latest) if latest is not None else builds.live(key))
        if self._closing:
            return
        if new.error is not None:
            if new.error.status == 404:  # a namespace that does not exist (or not any more)
                await self.end(CLOSE_NOT_FOUND, new.error.detail)
            else:
                await self.send(text_data=new.error_text())
            return
        # Catch-up: the client still draws snapshot ``since``; if we still have it, send the
        # difference (empty when nothing newer came), otherwise the whole graph.
        usable = base is not None and base.answer is not None
        await self._send_answer(new, base if usable else None)

    # --- snapshots ----------------------------------------------------------------------

    async def graph_snapshot(self, event: dict) -> None:
        if not self.still_subscribed(event):
            return
        snapshot = event["payload"]
        assert self.subscription is not None  # still_subscribed() says so
        builds.note_snapshot(self.subscription.context["cluster_id"], snapshot)
        async with self._push_lock:
            await self._push(snapshot)

    async def _push(self, snapshot: dict, *, view_changed: bool = False) -> None:
        base = self._base
        if not view_changed and base is not None and base.snapshot is not None \
                and snapshot["id"] <= base.snapshot["id"]:
            return  # already sent (a catch-up delivered it, or it came twice)
        if snapshot.get("status") == "unreachable":
            await self.send_json({
                "type": GRAPH_STALE, "snapshot": snapshot,
                "detail": "The cluster could not be read for this snapshot: the graph shows the last one taken.",
            })
            return
        while True:
            key = self.graph_key()
            new = await builds.at_snapshot(key, snapshot)
            if self._closing or self.subscription is None:
                return
            if self.graph_key() == key:
                break  # else a re-check narrowed the view meanwhile: build what it allows now
        if new.error is not None:
            await self.send(text_data=new.error_text())
            return
        await self._send_answer(new, base)

    async def _send_answer(self, new: Built, base: Built | None) -> None:
        text = builds.delta_text(base, new) if base is not None else new.full_text()
        self._base = new
        await self.send(text_data=text)

    # --- access ---------------------------------------------------------------------------

    async def recheck(self) -> None:
        """As the base does; then, if what this user may see changed (namespaces dropped, or
        other namespaces' nodes now drawn differently), the graph follows at once."""
        before = self.graph_key() if self.subscription is not None else None
        await super().recheck()
        if self._closing or self.subscription is None or getattr(self, "_base", None) is None:
            return
        if self.graph_key() != before:
            async with self._push_lock:
                latest = builds.latest(self.subscription.context["cluster_id"])
                if latest is not None:
                    await self._push(latest, view_changed=True)
                else:
                    new = await builds.live(self.graph_key())
                    if not self._closing and new.error is None:
                        await self._send_answer(new, self._base)

    async def receive_json(self, content, **kwargs) -> None:
        """The server does not listen: a client's messages are ignored."""

    @classmethod
    async def decode_json(cls, text_data):
        try:
            return json.loads(text_data)
        except ValueError:
            return None
