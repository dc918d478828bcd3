"""Delete traffic routing: remove the VirtualServices and DestinationRules Meshdeck generated for a service.

Only objects carrying Meshdeck's labels for that service are deleted (the
service itself may be gone already); routing someone else wrote stays, and
the preview says so. VirtualServices go first, so no route names a subset
whose DestinationRule is already gone.
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from apps.clusters.inventory import Inventory

from ..fields import FieldErrors, as_mapping, reject_unknown, text
from ..managed import managed_service
from ..rendered import RenderedChange
from ..writes import DeleteObject, PlannedWrite
from .base import namespace_field
from .service_target import find_service, routing_of

KIND = "delete_routing"
ROUTING_KINDS = ("VirtualService", "DestinationRule")


@dataclass(frozen=True)
class DeleteRouting:
    namespace: str
    service: str
    kind = KIND

    def as_dict(self) -> dict[str, Any]:
        return {"kind": KIND, "namespace": self.namespace, "service": self.service}


def generated_routing(inventory: Inventory, namespace: str, service: str):
    """Meshdeck's VirtualServices, then DestinationRules, for ``service``."""
    found = [o for o in inventory.istio_objects
             if o.namespace == namespace and o.kind in ROUTING_KINDS and managed_service(o) == service]
    return sorted(found, key=lambda o: (ROUTING_KINDS.index(o.kind), o.name))


def parse_delete_routing(data: Mapping[str, Any], inventory: Inventory) -> DeleteRouting:
    errors = FieldErrors()
    data = as_mapping(data, errors)
    reject_unknown(data, ("kind", "namespace", "service"), errors)
    namespace = namespace_field(data, inventory, errors)
    service = text(data, "service", errors)
    if namespace and service and not generated_routing(inventory, namespace, service):
        errors.add("service", f"Meshdeck generated no VirtualService or DestinationRule for {namespace}/{service}: "
                              "there is nothing of Meshdeck's to delete.")
    errors.raise_if_any()
    return DeleteRouting(namespace, service)  # type: ignore[arg-type]


def render_delete_routing(params: DeleteRouting, inventory: Inventory, change_id: str | None = None) -> RenderedChange:
    objects = generated_routing(inventory, params.namespace, params.service)
    writes: list[PlannedWrite] = [DeleteObject(o.kind, o.namespace, o.name) for o in objects]
    warnings = []
    service = find_service(inventory, params.namespace, params.service)
    if service is not None:
        # What routes the service once Meshdeck's objects are gone (someone else's rules take over).
        deleted = {id(o) for o in objects}
        rest = [o for o in inventory.istio_objects if o.namespace == params.namespace and id(o) not in deleted]
        for other in routing_of(rest, service):
            if other is not None:
                warnings.append(f"{other.kind} {other.namespace}/{other.name} also routes "
                                f"{params.namespace}/{params.service}: Meshdeck did not generate it, so it stays "
                                "and applies once Meshdeck's routing is gone.")
    names = ", ".join(f"{o.kind} {o.name}" for o in objects)
    return RenderedChange(
        kind=KIND, params=params.as_dict(), writes=tuple(writes), warnings=tuple(warnings),
        summary=f"Delete the routing Meshdeck generated for {params.namespace}/{params.service}: {names}.",
        services=((params.namespace, params.service),),
    )
