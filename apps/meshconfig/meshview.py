"""A user's validated view of one cluster: the read model every page and API starts from.

``mesh_view(user, source)`` reads the whole cluster from a ``MeshSource``
(``apps.clusters.sources``: the live gateway, or a stored inventory of a past
moment; the views choose, this module never reaches for a gateway),
validates it as a whole (so a VirtualService in a visible namespace that routes
to a Service in a hidden one is judged correctly), then narrows it to the
namespaces the user may see. Objects, counts and validation messages of other
namespaces never leave this module; references to hidden objects are dropped.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace

from apps.accounts.selectors import namespace_visibility
from apps.clusters.inventory import Inventory, IstioObject
from apps.clusters.sources import MeshSource

from .validators import Check, MeshIndex, ObjectKey, ObjectValidation, validate


@dataclass
class MeshView:
    """What one user may see of one cluster, as ``source`` has it (now, or at a stored moment)."""

    cluster: object
    inventory: Inventory  # visible namespaces only
    index: MeshIndex  # the whole cluster: for resolving references, never shown as such
    validations: dict[ObjectKey, ObjectValidation]  # visible objects only
    visible: Callable[[str], bool]
    full: Inventory  # the whole cluster as read: for the graph, never shown as such
    source: MeshSource  # where it was read from: health and traffic on the same pages read the same source

    def validation_for(self, obj: IstioObject) -> ObjectValidation:
        return self.validations.get((obj.kind, obj.namespace, obj.name)) or ObjectValidation(
            obj.kind, obj.namespace, obj.name
        )


def _visible_check(check: Check, visible: Callable[[str], bool]) -> Check:
    refs = tuple(r for r in check.references if visible(r[1]))
    return check if refs == check.references else replace(check, references=refs)


def mesh_view(user, source: MeshSource) -> MeshView:
    """Read the cluster from ``source``; raises GatewayError if a live cluster cannot be read."""
    cluster = source.cluster
    visible = namespace_visibility(user, cluster)
    full = source.inventory()
    root = getattr(cluster, "istio_namespace", "") or "istio-system"
    index = MeshIndex(full, root)
    all_validations = validate(full, root)
    validations = {}
    for key, ov in all_validations.items():
        if visible(key[1]):
            validations[key] = ObjectValidation(ov.kind, ov.namespace, ov.name,
                                                [_visible_check(c, visible) for c in ov.checks])
    inventory = Inventory(
        namespaces=[n for n in full.namespaces if visible(n.name)],
        workloads=[w for w in full.workloads if visible(w.namespace)],
        services=[s for s in full.services if visible(s.namespace)],
        istio_objects=[o for o in full.istio_objects if visible(o.namespace)],
    )
    return MeshView(cluster, inventory, index, validations, visible, full, source)


@dataclass
class ObjectRef:
    kind: str
    namespace: str
    name: str
    status: str = "valid"  # validation status: valid / warning / error


def refs(view: MeshView, objects: list[IstioObject]) -> list[ObjectRef]:
    return [
        ObjectRef(o.kind, o.namespace, o.name, view.validation_for(o).status)
        for o in objects if view.visible(o.namespace)
    ]
