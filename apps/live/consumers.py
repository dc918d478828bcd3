"""Live updates: a browser subscribes to a cluster (and namespaces) it may see."""
from __future__ import annotations

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer

from apps.accounts.selectors import namespace_visibility
from apps.clusters.selectors import clusters_for_user

from .events import cluster_group, namespace_group


@database_sync_to_async
def _authorize(user, cluster_name: str, namespaces: list[str]):
    cluster = clusters_for_user(user).filter(name=cluster_name).first()
    if cluster is None:
        return None, []
    allowed = namespace_visibility(user, cluster)
    return cluster, [ns for ns in namespaces if allowed(ns)]


class ClusterEventsConsumer(AsyncJsonWebsocketConsumer):
    """ws/clusters/<cluster>/events/?namespaces=a,b

    Joins one group per granted namespace. Authorization is checked before
    any group is joined; namespaces the user may not see are refused.
    """

    async def connect(self):
        user = self.scope.get("user")
        if user is None or not user.is_authenticated:
            await self.close(code=4401)
            return
        query = dict(
            part.split("=", 1) for part in self.scope.get("query_string", b"").decode().split("&") if "=" in part
        )
        wanted = [ns for ns in query.get("namespaces", "").split(",") if ns]
        cluster, allowed = await _authorize(user, self.scope["url_route"]["kwargs"]["cluster"], wanted)
        if cluster is None:
            await self.close(code=4404)
            return
        self.groups_joined = [namespace_group(cluster.pk, ns) for ns in allowed]
        if not wanted:
            # Cluster-wide events (connection state) carry no namespace data.
            self.groups_joined.append(cluster_group(cluster.pk))
        for group in self.groups_joined:
            await self.channel_layer.group_add(group, self.channel_name)
        await self.accept()
        await self.send_json(
            {"type": "subscribed", "cluster": cluster.name, "namespaces": allowed,
             "refused": sorted(set(wanted) - set(allowed))}
        )

    async def disconnect(self, code):
        for group in getattr(self, "groups_joined", []):
            await self.channel_layer.group_discard(group, self.channel_name)

    async def mesh_event(self, event):
        await self.send_json(event["payload"])
