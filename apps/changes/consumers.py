"""Live change notifications: ws/changes/?cluster=<name>.

Each person has one group per cluster (``changes_user_group``). The services send, after the
commit that caused it, ``change.status`` to the requester at every status change, and
``change.submitted`` to every approver of the namespace when a change waits for review. The
approvers are worked out when the event is sent, from the grants of that moment.
"""
from __future__ import annotations

from apps.clusters.selectors import clusters_for_user
from apps.live.access import CLOSE_BAD_REQUEST, CLOSE_NOT_FOUND, Refused
from apps.live.authorized import AuthorizedConsumer, Subscription
from apps.live.groups import cluster_access_group

from .services import changes_user_group


class ChangesConsumer(AuthorizedConsumer):
    item_label = "clusters"

    def authorize(self, user) -> Subscription:
        names = self.query_values("cluster")
        if len(names) != 1:
            raise Refused(CLOSE_BAD_REQUEST, "Name one cluster: ws/changes/?cluster=<name>.")
        cluster = clusters_for_user(user).filter(name=names[0]).first()
        if cluster is None:
            raise Refused(CLOSE_NOT_FOUND, f"No cluster named '{names[0]}' is visible to you.")
        return Subscription(items={cluster.name: (changes_user_group(cluster.pk, user.pk),)},
                            watch=(cluster_access_group(cluster.pk),), context={"cluster": cluster.name})

    async def on_subscribed(self, subscription: Subscription) -> None:
        await self.send_json({"type": "subscribed", "cluster": subscription.context["cluster"]})
