"""Live updates: a browser subscribes to a cluster (and namespaces) it may see."""
from __future__ import annotations

from apps.accounts.selectors import namespace_visibility
from apps.clusters.selectors import clusters_for_user

from .access import CLOSE_BAD_REQUEST, CLOSE_NOT_FOUND, Refused
from .authorized import AuthorizedConsumer, Subscription
from .groups import (
    cluster_access_group,
    cluster_group,
    is_namespace_name,
    namespace_group,
)

# Each namespace is a group to join (a Redis round trip each): a subscription stays small.
MAX_NAMESPACES = 100


class ClusterEventsConsumer(AuthorizedConsumer):
    """ws/clusters/<cluster>/events/?namespaces=a,b

    Joins one group per namespace the user may see; the others are refused (a name that cannot
    be a namespace is refused the same way). Without ``namespaces``, joins the cluster-wide
    group (connection state, no namespace data). Re-checked as ``AuthorizedConsumer`` says.
    """

    def authorize(self, user) -> Subscription:
        name = self.scope["url_route"]["kwargs"]["cluster"]
        wanted = self.query_values("namespaces")
        if len(wanted) > MAX_NAMESPACES:
            raise Refused(CLOSE_BAD_REQUEST, f"Subscribe to at most {MAX_NAMESPACES} namespaces per connection.")
        cluster = clusters_for_user(user).filter(name=name).first()
        if cluster is None:
            raise Refused(CLOSE_NOT_FOUND, f"No cluster named '{name}' is visible to you.")
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
