"""Live updates: a browser subscribes to a cluster (and namespaces) it may see."""
from __future__ import annotations

from apps.accounts.selectors import namespace_visibility

from .authorized import AuthorizedConsumer, Subscription
from .groups import cluster_access_group, cluster_group, is_namespace_name, namespace_group

# Each namespace is a group to join (a Redis round trip each): a subscription stays small.


class ClusterEventsConsumer(AuthorizedConsumer):
    """ws/clusters/<cluster>/events/?namespaces=a,b

    Joins one group per namespace the user may see; the others are refused (a name that cannot
    be a namespace is refused the same way). Without ``namespaces``, joins the cluster-wide
    group (connection state, no namespace data). Re-checked as ``AuthorizedConsumer`` says.
    """

    def authorize(self, user) -> Subscription:
        cluster, wanted = self.cluster_and_namespaces(user)
        allowed = namespace_visibility(user, cluster)
        items = {ns: (namespace_group(cluster.pk, ns),) for ns in wanted if is_namespace_name(ns) and allowed(ns)}
        return Subscription(
            items=items,
            groups=() if wanted else (cluster_group(cluster.pk),),
            watch=(cluster_access_group(cluster.pk),),
            refused=tuple(sorted(set(wanted) - set(items))),
            context={"cluster": cluster.name},
        )

    async def on_subscribed(self, subscription: Subscription) -> None:
        await self.send_json({
            "type": "subscribed", "cluster": subscription.context["cluster"],
            "namespaces": list(subscription.items), "refused": list(subscription.refused),
        })
