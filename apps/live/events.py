"""Messages to sockets through the channel layer, sent after the commit that caused them.

Every message names the group it was sent to. Three kinds:

- ``mesh.event``: data for the browser. A consumer forwards the payload only while it still
  belongs to that group, so a message already queued when a re-check narrowed the socket is
  dropped instead of delivered.
- ``access.changed``: "this user's, token's, session's or cluster's access may have changed":
  the consumer runs its authorization again (``payload["reason"]`` says what happened).
- ``access.ended``: the session ended (logout, session deleted): the consumer closes with
  ``payload["code"]`` and ``payload["reason"]`` without asking the database, which may not
  have caught up yet (Django sends ``user_logged_out`` before it deletes the session).
- ``graph.snapshot``: a snapshot of the cluster committed (``id``, ``previous_id``, ``taken_at``,
  ``status``); graph sockets build and send what changed (``apps.live.graphpush``).
"""
from __future__ import annotations

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.db import transaction

MESH_EVENT = "mesh.event"
ACCESS_CHANGED = "access.changed"
ACCESS_ENDED = "access.ended"
GRAPH_SNAPSHOT = "graph.snapshot"  # a snapshot of the cluster committed (apps.live.graphpush)


def group_message(group: str, payload: dict, *, kind: str = MESH_EVENT) -> dict:
    """The channel-layer message carrying ``payload`` to ``group``."""
    return {"type": kind, "group": group, "payload": payload}


def send_event(group: str, payload: dict, *, kind: str = MESH_EVENT) -> None:
    layer = get_channel_layer()
    if layer is not None:
        async_to_sync(layer.group_send)(group, group_message(group, payload, kind=kind))


def send_event_on_commit(group: str, payload: dict, *, kind: str = MESH_EVENT) -> None:
    """Sends once the current transaction commits (at once outside a transaction), so no
    socket hears of a change that is rolled back or that its own re-check cannot see yet.
    ``robust``: a channel layer that is down is logged, never turned into an error of the
    request whose change has already committed (the periodic re-check covers the loss)."""
    def send_after_commit() -> None:  # a function, not a partial: Django logs its __qualname__
        send_event(group, payload, kind=kind)

    transaction.on_commit(send_after_commit, robust=True)
