"""A service's routing as the wizards see it: its versions, its VirtualService and DestinationRule.

Shared by every kind that routes a service (traffic shifting, request routing,
fault injection, suspend, timeouts). As in Kiali's wizard, the versions are the
``version`` labels of the workloads the Service selects, one DestinationRule
subset per version (named after it); the generated VirtualService and
DestinationRule are named after the service unless the service already has
one, which is then the object edited. "The service's VirtualService" is the one
a sidecar of the service's namespace uses for its host (the simulator's routing
lookup: the same host rules Istio applies, oldest first).
"""
from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Any, Mapping

from apps.clusters.inventory import Inventory, IstioObject, Service, ServicePort, Workload
from apps.simulator.routing import find_destination_rule, find_virtual_service

from ..fields import FieldErrors, flag, natural_key, text, whole_number
from ..managed import managed_metadata
from ..rendered import RenderedChange
from ..writes import ApplyObject, PlannedWrite
from .base import find_istio_object, foreign_targets, namespace_field

NETWORKING = "networking.istio.io/v1"
# Pod-template labels a version is read from, in Kiali's and Istio's order of preference.
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
    virtual_service: IstioObject | None
    destination_rule: IstioObject | None

    @property
    def namespace(self) -> str:
        return self.service.namespace

    @property
    def name(self) -> str:
        return self.service.name

    @property
    def host(self) -> str:
        return self.service.host

    @property
    def version_names(self) -> tuple[str, ...]:
        return tuple(v.version for v in self.versions)

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
    vs = vs or find_istio_object(inventory, "VirtualService", namespace, name)
    dr = dr or find_istio_object(inventory, "DestinationRule", namespace, name)
    return ServiceTarget(service, tuple(sorted(versions.values(), key=lambda v: natural_key(v.version))),
                         tuple(sorted(unversioned)), vs, dr)


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


def require_versions(target: ServiceTarget | None, errors: FieldErrors, field: str = "service") -> bool:
    if target is None:
        return False
    if not target.versions:
        errors.add(field, f"Service {target.label()} selects no workload with a version label, so there is "
                          "no version to route to (label the pod templates with version: ...).")
        return False
    return True


def _ports(service: Service) -> str:
    return ", ".join(f"{p.name or 'unnamed'} {p.port}" for p in service.ports) or "no ports"


def parse_weights(value: Any, target: ServiceTarget | None, errors: FieldErrors,
                  path: str = "weights") -> tuple[tuple[str, int], ...] | None:
    """Integer weights per version, summing to 100: ``{"v1": 80, "v2": 20}`` or
    ``[{"version": "v1", "weight": 80}, ...]`` (the list form shows duplicates)."""
    pairs: list[tuple[Any, Any]] = []
    if isinstance(value, Mapping):
        pairs = list(value.items())
    elif isinstance(value, list):
        for i, item in enumerate(value):
            if not isinstance(item, Mapping) or set(item) != {"version", "weight"}:
                errors.add(path, f"Entry {i + 1} must be {{\"version\": ..., \"weight\": ...}}, not {item!r}.")
                return None
            pairs.append((item["version"], item["weight"]))
    else:
        errors.add(path, 'Give a weight per version, e.g. {"v1": 80, "v2": 20}.')
        return None
    if not pairs:
        errors.add(path, "Give at least one version and its weight.")
        return None
    known = target.version_names if target else None
    out: list[tuple[str, int]] = []
    ok = True
    for version, weight in pairs:
        if not isinstance(version, str) or not version:
            errors.add(path, f"A version must be a name such as \"v1\", not {version!r}.")
            ok = False
            continue
        if any(v == version for v, _ in out):
            errors.add(path, f"Version {version} is listed twice: give each version once.")
            ok = False
            continue
        if known is not None and version not in known:
            errors.add(path, f"Service {target.label()} has no version {version}; "
                             f"its versions are {', '.join(known)}.")
            ok = False
        number = whole_number(weight)
        if number is None:
            errors.add(path, f"The weight of {version} must be a whole number from 0 to 100, not {weight!r}.")
            ok = False
            continue
        if number < 0:
            errors.add(path, f"The weight of {version} is {number}: weights cannot be negative.")
            ok = False
        elif number > 100:
            errors.add(path, f"The weight of {version} is {number}: a weight is at most 100.")
            ok = False
        out.append((version, number))
    if ok and sum(w for _, w in out) != 100:
        errors.add(path, f"The weights add up to {sum(w for _, w in out)}, not 100.")
        ok = False
    return tuple(out) if ok else None


def weighted_destinations(target: ServiceTarget, weights: tuple[tuple[str, int], ...]) -> list[dict[str, Any]]:
    return [{"destination": {"host": target.host, "subset": version}, "weight": weight}
            for version, weight in weights]


def whole_service_destination(target: ServiceTarget) -> list[dict[str, Any]]:
    """One destination, the service itself (every endpoint, no subset)."""
    return [{"destination": {"host": target.host}}]


def _names_this_service(host: Any, target: ServiceTarget) -> bool:
    # How a generated (or Kiali-generated) route names the service from the service's namespace.
    return host in (target.name, target.host)


def current_weights(target: ServiceTarget, section: str = "http") -> tuple[tuple[str, int], ...] | None:
    """The weights of the service's VirtualService when it is one match-less weighted route
    over version subsets (what a traffic shift renders); None otherwise."""
    vs = target.virtual_service
    routes = (vs.spec.get(section) if vs else None) or []
    if len(routes) != 1 or not isinstance(routes[0], dict) or routes[0].get("match"):
        return None
    dests = routes[0].get("route") or []
    out = []
    for d in dests:
        dest = (d or {}).get("destination") or {}
        if not _names_this_service(dest.get("host"), target) or dest.get("subset") not in target.version_names:
            return None
        weight = 100 if len(dests) == 1 else whole_number(d.get("weight", 0))
        if weight is None:
            return None
        out.append((dest["subset"], weight))
    return tuple(out) if out and sum(w for _, w in out) == 100 else None


def single_route_settings(target: ServiceTarget) -> dict[str, Any]:
    """fault, timeout, retries (...) of a one-route VirtualService, kept when its route is re-weighted."""
    vs = target.virtual_service
    routes = (vs.spec.get("http") if vs else None) or []
    if len(routes) != 1 or not isinstance(routes[0], dict) or routes[0].get("match"):
        return {}
    return {k: copy.deepcopy(v) for k, v in routes[0].items() if k not in ("route", "match", "name")}


def virtual_service_spec(target: ServiceTarget) -> dict[str, Any]:
    """The spec to edit: the existing one (hosts, gateways, exportTo and other sections kept) or a new one."""
    if target.virtual_service is not None:
        return copy.deepcopy(target.virtual_service.spec)
    return {"hosts": [target.name]}


def virtual_service_manifest(target: ServiceTarget, spec: dict[str, Any], change_id: str | None) -> dict[str, Any]:
    return {
        "apiVersion": NETWORKING,
        "kind": "VirtualService",
        "metadata": managed_metadata(target.vs_name, target.namespace, target.name, target.virtual_service,
                                     change_id),
        "spec": spec,
    }


def destination_rule_manifest(target: ServiceTarget, change_id: str | None) -> dict[str, Any]:
    """One subset per version (``name: v2, labels: {version: v2}``); subsets of other names,
    the traffic policy and everything else of an existing DestinationRule are kept."""
    existing = target.destination_rule
    spec = copy.deepcopy(existing.spec) if existing else {"host": target.host}
    ours = {v.version: v.subset() for v in target.versions}
    subsets = []
    for subset in spec.get("subsets") or []:
        name = subset.get("name") if isinstance(subset, dict) else None
        subsets.append(ours.pop(name) if name in ours else subset)
    subsets.extend(ours.values())
    spec["subsets"] = subsets
    return {
        "apiVersion": NETWORKING,
        "kind": "DestinationRule",
        "metadata": managed_metadata(target.dr_name, target.namespace, target.name, existing, change_id),
        "spec": spec,
    }


def service_change(kind: str, params: Any, target: ServiceTarget, writes: list[PlannedWrite], summary: str,
                   inventory: Inventory, warnings: list[str] | None = None) -> RenderedChange:
    """A RenderedChange for a change to one service's routing (take-over detected here)."""
    warnings = list(warnings or [])
    if target.unversioned:
        warnings.append(f"Workloads {', '.join(target.unversioned)} behind {target.label()} have no version "
                        "label: no subset selects them, so version routes never reach them.")
    writes_t = tuple(writes)
    return RenderedChange(
        kind=kind, params=params.as_dict(), writes=writes_t, summary=summary, warnings=tuple(warnings),
        foreign=foreign_targets(writes_t, inventory), take_over=bool(getattr(params, "take_over", False)),
        services=((target.namespace, target.name),),
    )


def routing_writes(target: ServiceTarget, vs_spec: dict[str, Any], change_id: str | None,
                   *, with_subsets: bool) -> list[PlannedWrite]:
    """DestinationRule first (its subsets must exist before a route names them), then the VirtualService."""
    writes: list[PlannedWrite] = []
    if with_subsets:
        writes.append(ApplyObject(destination_rule_manifest(target, change_id)))
    writes.append(ApplyObject(virtual_service_manifest(target, vs_spec, change_id)))
    return writes


def percent_list(weights: tuple[tuple[str, int], ...]) -> str:
    return ", ".join(f"{v} {w}%" for v, w in weights)


SERVICE_FIELDS = ("kind", "namespace", "service", "take_over")


def parse_service_fields(data: Mapping[str, Any], inventory: Inventory, errors: FieldErrors,
                         *, needs: str = "") -> tuple[str | None, ServiceTarget | None, bool]:
    """namespace, service (resolved) and take_over, the fields every service kind has."""
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


def number(value: float) -> int | float:
    """50.0 -> 50: the same number, written the way a person would."""
    return int(value) if float(value).is_integer() else value


def on_every_http_route(target: ServiceTarget, settings: dict[str, Any], clear: tuple[str, ...]) -> dict[str, Any]:
    """The VirtualService spec with ``clear`` removed from and ``settings`` set on every HTTP route
    (routes kept); without a VirtualService, one route to the whole service."""
    spec = virtual_service_spec(target)
    routes = spec.get("http") or [{"route": whole_service_destination(target)}]
    for route in routes:
        for key in clear:
            route.pop(key, None)
        route.update(copy.deepcopy(settings))
    spec["http"] = routes
    return spec


def has_http_setting(target: ServiceTarget, keys: tuple[str, ...]) -> bool:
    vs = target.virtual_service
    return any(isinstance(r, dict) and any(k in r for k in keys) for r in ((vs.spec.get("http") if vs else None) or []))
