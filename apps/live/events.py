"""Pushing events to browsers, after the database commit that caused them."""
from __future__ import annotations

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.db import transaction


def cluster_group(cluster_id: int) -> str:
    return f"cluster.{cluster_id}"


def namespace_group(cluster_id: int, namespace: str) -> str:
    # Group names allow [a-zA-Z0-9._-]; Kubernetes namespace names fit.
    return f"cluster.{cluster_id}.ns.{namespace}"


def send_event(group: str, payload: dict) -> None:
    layer = get_channel_layer()
    if layer is not None:
        async_to_sync(layer.group_send)(group, {"type": "mesh.event", "payload": payload})


def send_event_on_commit(group: str, payload: dict) -> None:
    transaction.on_commit(lambda: send_event(group, payload))
