"""What every change kind shares: its registry entry, the common fields, take-over detection."""
from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from apps.clusters.inventory import Inventory, IstioObject, Namespace

from ..fields import FieldErrors, text
from ..managed import is_managed
from ..rendered import RenderedChange
from ..writes import ApplyObject, PlannedWrite, Target


@dataclass(frozen=True)
class ChangeKind:
    """One kind of change: ``parse`` validates input against the cluster and returns typed
    parameters (``.as_dict()`` gives them back as input); ``render`` turns them into writes."""

    name: str
    title: str
    parse: Callable[[Mapping[str, Any], Inventory], Any]
    render: Callable[..., RenderedChange]


def find_istio_object(inventory: Inventory, kind: str, namespace: str, name: str) -> IstioObject | None:
    for obj in inventory.istio_objects:
        if obj.kind == kind and obj.namespace == namespace and obj.name == name:
            return obj
    return None


def find_namespace(inventory: Inventory, name: str) -> Namespace | None:
    return next((n for n in inventory.namespaces if n.name == name), None)


def namespace_field(data: Mapping[str, Any], inventory: Inventory, errors: FieldErrors) -> str | None:
    """The ``namespace`` field, which must name an existing namespace."""
    namespace = text(data, "namespace", errors)
    if namespace is not None and find_namespace(inventory, namespace) is None:
        errors.add("namespace", f"Namespace {namespace} does not exist in this cluster.")
        return None
    return namespace


def foreign_targets(writes: tuple[PlannedWrite, ...], inventory: Inventory) -> tuple[Target, ...]:
    """Existing objects the writes would replace that Meshdeck did not generate."""
    found: list[Target] = []
    for write in writes:
        if isinstance(write, ApplyObject):
            existing = find_istio_object(inventory, *write.target)
            if existing is not None and not is_managed(existing) and write.target not in found:
                found.append(write.target)
    return tuple(found)
