"""A service as the wizards see it: its versions, and the VirtualService and DestinationRule that route it.

As in Kiali's wizard, the versions are the ``version`` labels of the workloads
the Service selects. "The service's VirtualService" is the one a sidecar of the
service's namespace uses for its host (the simulator's routing lookup: Istio's
host rules, the oldest rule first); without one, the objects a change creates
are named after the service, and an object of that name is the one edited.
"""
from __future__ import annotations

import copy
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, TypeGuard

from apps.clusters.inventory import Inventory, IstioObject, Service, ServicePort, Workload
from apps.core.delegation import Delegated
from apps.simulator.routing import find_destination_rule, find_virtual_service

from ..fields import FieldErrors, flag, natural_key, reject_unknown, text
from .base import find_istio_object, namespace_field

VERSION_LABEL_KEYS = ("version", "app.kubernetes.io/version", "service.istio.io/canonical-revision")


_HTTP_PROTOCOLS = {"http", "http2", "grpc", "grpc-web", "kubernetes.io/h2c", "kubernetes.io/ws"}


_TCP_PROTOCOLS = {"tcp", "mongo", "mysql", "redis"}


@dataclass(frozen=True)
class VersionSubset:
    version: str
    label_key: str  # the pod label that carries it (``version`` as a rule)
    workloads: tuple[str, ...]

    def subset(self) -> dict[str, Any]:
        return {"name": self.version, "labels": {self.label_key: self.version}}


@dataclass(frozen=True)
class ServiceTarget:
    """A Service and the routing objects a change to it would edit (None: to be created)."""

    service: Service
    versions: tuple[VersionSubset, ...]
    unversioned: tuple[str, ...]  # workloads behind the service without a version label
    virtual_service: IstioObject | None  # the VirtualService that routes the service
    destination_rule: IstioObject | None  # the DestinationRule that applies to it
    # Without those: an object already named after the service (for another host), which a
    # change would overwrite.
    vs_same_name: IstioObject | None = None
    dr_same_name: IstioObject | None = None

    namespace = Delegated[str]("service")
    name = Delegated[str]("service")
    host = Delegated[str]("service")

    @property
    def version_names(self) -> tuple[str, ...]:
        return tuple(v.version for v in self.versions)

    @property
    def vs_existing(self) -> IstioObject | None:
        """The VirtualService a change writes over, if any."""
        return self.virtual_service or self.vs_same_name

    @property
    def dr_existing(self) -> IstioObject | None:
        return self.destination_rule or self.dr_same_name

    @property
    def vs_name(self) -> str:
        return self.virtual_service.name if self.virtual_service else self.service.name

    @property
    def dr_name(self) -> str:
        return self.destination_rule.name if self.destination_rule else self.service.name

    def label(self) -> str:
        return f"{self.service.namespace}/{self.service.name}"


def port_protocol(port: ServicePort) -> str:
    """'http', 'tcp', 'other' (TLS, UDP) or '' (Istio sniffs it) from appProtocol or the port name."""
    declared = (port.app_protocol or "").lower() or (port.name or "").lower().split("-")[0]
    if port.protocol.upper() == "UDP":
        return "other"
    if declared in _HTTP_PROTOCOLS:
        return "http"
    if declared in _TCP_PROTOCOLS:
        return "tcp"
    if declared in ("https", "tls"):
        return "other"
    return ""


def service_protocols(service: Service) -> set[str]:
    return {port_protocol(p) for p in service.ports} or {""}


def _version_of(workload: Workload) -> tuple[str, str] | None:
    for key in VERSION_LABEL_KEYS:
        value = workload.labels.get(key)
        if value:
            return key, value
    return None


def workloads_of(service: Service, inventory: Inventory) -> list[Workload]:
    """The workloads a Service selects (same namespace, every selector label present)."""
    if not service.selector:
        return []
    return [
        w for w in inventory.workloads
        if w.namespace == service.namespace and all(w.labels.get(k) == v for k, v in service.selector.items())
    ]


def find_service(inventory: Inventory, namespace: str, name: str) -> Service | None:
    return next((s for s in inventory.services if s.namespace == namespace and s.name == name), None)


def by_creation(objects: list[IstioObject]) -> list[IstioObject]:
    """Copies carrying the ``_order`` the simulator's routing lookups rank by, so that the
    oldest rule wins, as in Istio; objects not created yet (no creationTimestamp) come last."""
    ranked = sorted(enumerate(objects), key=lambda p: (0, p[1].metadata["creationTimestamp"], p[0])
                    if p[1].metadata.get("creationTimestamp") else (1, "", p[0]))
    out = []
    for rank, (_, obj) in enumerate(ranked):
        ordered = copy.copy(obj)
        ordered.metadata = {**obj.metadata, "_order": rank}
        out.append(ordered)
    return out


def _original(found: IstioObject | None, objects: list[IstioObject]) -> IstioObject | None:
    if found is None:
        return None
    return next(o for o in objects if (o.kind, o.namespace, o.name) == (found.kind, found.namespace, found.name))


def routing_of(objects: list[IstioObject], service: Service) -> tuple[IstioObject | None, IstioObject | None]:
    """The VirtualService and DestinationRule that route ``service`` for sidecars of its namespace,
    among ``objects`` of that namespace."""
    ordered = by_creation(objects)
    vs = find_virtual_service(ordered, service.host, service.namespace)
    dr = find_destination_rule(ordered, service.host, service.namespace, service.namespace)
    return _original(vs, objects), _original(dr, objects)


def service_target(inventory: Inventory, namespace: str, name: str) -> ServiceTarget | None:
    service = find_service(inventory, namespace, name)
    if service is None:
        return None
    versions: dict[str, VersionSubset] = {}
    unversioned = []
    for wl in workloads_of(service, inventory):
        found = _version_of(wl)
        if found is None:
            unversioned.append(wl.name)
            continue
        key, version = found
        prev = versions.get(version)
        versions[version] = VersionSubset(version, prev.label_key if prev else key,
                                          (prev.workloads if prev else ()) + (wl.name,))
    vs, dr = routing_of([o for o in inventory.istio_objects if o.namespace == namespace], service)
    vs_same = None if vs else find_istio_object(inventory, "VirtualService", namespace, name)
    dr_same = None if dr else find_istio_object(inventory, "DestinationRule", namespace, name)
    return ServiceTarget(service, tuple(sorted(versions.values(), key=lambda v: natural_key(v.version))),
                         tuple(sorted(unversioned)), vs, dr, vs_same, dr_same)


def service_field(data: Mapping[str, Any], inventory: Inventory, namespace: str | None,
                  errors: FieldErrors, *, needs: str = "") -> ServiceTarget | None:
    """The ``service`` field: an existing Service of ``namespace``.

    ``needs`` is "http" or "tcp" when the kind only works for that protocol, or
    "versions" when it routes to versions (the service must select versioned workloads).
    """
    name = text(data, "service", errors)
    if name is None or namespace is None:
        return None
    target = service_target(inventory, namespace, name)
    if target is None:
        known = sorted(s.name for s in inventory.services if s.namespace == namespace)
        hint = f" Services there: {', '.join(known)}." if known else " It has no services."
        errors.add("service", f"Service {namespace}/{name} does not exist.{hint}")
        return None
    protocols = service_protocols(target.service)
    if needs == "http" and not protocols & {"http", ""}:
        errors.add("service", f"Service {target.label()} serves no HTTP port ({_ports(target.service)}): "
                              "HTTP routing rules do not apply to it; for TCP use tcp_traffic_shift.")
    if needs == "tcp" and not protocols & {"tcp", ""}:
        errors.add("service", f"Service {target.label()} serves no TCP port ({_ports(target.service)}): "
                              "TCP routes do not apply to it; for HTTP use traffic_shift.")
    return target


def require_versions(target: ServiceTarget | None, errors: FieldErrors,
                     field: str = "service") -> TypeGuard[ServiceTarget]:
    if target is None:
        return False
    if not target.versions:
        errors.add(field, f"Service {target.label()} selects no workload with a version label, so there is "
                          "no version to route to (label the pod templates with version: ...).")
        return False
    return True


def _ports(service: Service) -> str:
    return ", ".join(f"{p.name or 'unnamed'} {p.port}" for p in service.ports) or "no ports"


SERVICE_FIELDS = ("kind", "namespace", "service", "take_over")


def service_params_dict(kind: str, params: Any, **fields: Any) -> dict[str, Any]:
    """A service kind's parameters as input again; fields given as None are left out."""
    out = {"kind": kind, "namespace": params.namespace, "service": params.service, "take_over": params.take_over}
    out.update({k: v for k, v in fields.items() if v is not None})
    return out


def parse_service_fields(data: Mapping[str, Any], inventory: Inventory, errors: FieldErrors, *,
                         own: tuple[str, ...], needs: str = "") -> tuple[str | None, ServiceTarget | None, bool]:
    """namespace, service (resolved) and take_over, the fields every service kind has; besides
    those, only the kind's ``own`` fields are allowed."""
    reject_unknown(data, SERVICE_FIELDS + own, errors)
    namespace = namespace_field(data, inventory, errors)
    target = service_field(data, inventory, namespace, errors, needs=needs)
    return namespace, target, flag(data, "take_over", errors)


def resolved_target(params: Any, inventory: Inventory) -> ServiceTarget:
    """The service of already-parsed params, which must still exist in ``inventory``."""
    target = service_target(inventory, params.namespace, params.service)
    if target is None:
        errors = FieldErrors()
        errors.add("service", f"Service {params.namespace}/{params.service} does not exist any more.")
        errors.raise_if_any()
    return target  # type: ignore[return-value]
