"""Which Istio objects touch a workload or a service (pure, over a MeshIndex)."""
from __future__ import annotations

from apps.clusters.inventory import IstioObject, Service, Workload

from . import hosts
from .validators.base import (
    WORKLOAD_SELECTOR_PATHS,
    MeshIndex,
    as_dict,
    as_list,
    at,
    iter_routes,
    labels_match,
    workload_selector,
)


def _hosts_of(obj: IstioObject) -> set[str]:
    """Service hosts an object sends traffic to or configures."""
    found: set[str] = set()
    if obj.kind == "VirtualService":
        for h in as_list(obj.spec.get("hosts")):
            if isinstance(h, str):
                found.add(hosts.resolve(h, obj.namespace))
        for _, _, route in iter_routes(obj):
            for dest in route:
                h = at(dest, "destination", "host")
                if isinstance(h, str):
                    found.add(hosts.resolve(h, obj.namespace))
    elif obj.kind == "DestinationRule":
        h = obj.spec.get("host")
        if isinstance(h, str):
            found.add(hosts.resolve(h, obj.namespace))
    elif obj.kind == "AuthorizationPolicy":
        for rule in as_list(obj.spec.get("rules")):
            for to in as_list(as_dict(rule).get("to")):
                for h in as_list(at(to, "operation", "hosts")):
                    if isinstance(h, str):
                        found.add(hosts.resolve(h.split(":")[0], obj.namespace))
    return found


def _selects(index: MeshIndex, obj: IstioObject, labels: dict[str, str], namespace: str) -> bool:
    if obj.kind not in WORKLOAD_SELECTOR_PATHS:
        return False
    selector = workload_selector(obj)
    if obj.kind == "Gateway":
        return isinstance(selector, dict) and bool(selector) and labels_match(selector, labels)
    if obj.namespace != namespace and obj.namespace != index.root_namespace:
        return False
    if not selector:
        return obj.kind != "Gateway"  # selector-less Sidecar/policy: the whole namespace (or mesh)
    return isinstance(selector, dict) and labels_match(selector, labels)


def services_for_workload(index: MeshIndex, workload: Workload) -> list[Service]:
    return [s for s in index.inventory.services
            if s.namespace == workload.namespace and s.selector and labels_match(s.selector, workload.labels)]


def workloads_for_service(index: MeshIndex, service: Service) -> list[Workload]:
    if not service.selector:
        return []
    return [w for w in index.workloads_in(service.namespace) if labels_match(service.selector, w.labels)]


def objects_for_service(index: MeshIndex, service: Service) -> list[IstioObject]:
    return [o for o in index.inventory.istio_objects if service.host in _hosts_of(o)]


def objects_for_workload(index: MeshIndex, workload: Workload) -> list[IstioObject]:
    service_hosts = {s.host for s in services_for_workload(index, workload)}
    return [
        o for o in index.inventory.istio_objects
        if (service_hosts & _hosts_of(o)) or _selects(index, o, workload.labels, workload.namespace)
    ]
