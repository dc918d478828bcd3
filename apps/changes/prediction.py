"""Where a service's requests would go, per client, before and after a change (pure).

Routing decisions are the simulator's (``apps.simulator.routing.decide_route``:
first mesh VirtualService for the host, first matching route, weights, faults),
then the same endpoint rules it applies: a subset no DestinationRule defines
answers 503 (Envoy "NC"), a subset without ready workloads 503 ("UH"), and the
requests of a destination are spread evenly over its workloads. A client
without a sidecar bypasses VirtualServices (kube-proxy spreads its requests).
Gateway proxies are left out: they route by the VirtualServices bound to their
Gateway, not by mesh rules.

Requests carry no headers here (as in the simulator), so a rule matching a
header or URI is predicted as not taken: the split shown is that of requests
the rules do not match.
"""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from apps.clusters.inventory import Inventory, IstioObject, Service, Workload
from apps.simulator.routing import decide_route, find_destination_rule, subset_labels

from .kinds.service_target import by_creation, find_service, service_protocols, service_target, workloads_of


@dataclass(frozen=True)
class RouteOutcome:
    """Percent of a client's requests per destination: a version, or what answers instead
    ("aborted (HTTP 503)", "no route (HTTP 404)", ...)."""

    shares: tuple[tuple[str, float], ...]
    delayed_percent: float = 0.0
    delay_ms: float = 0.0
    virtual_service: str = ""  # "namespace/name" of the VirtualService that decided, "" for none
    note: str = ""

    def percent(self, destination: str) -> float:
        return dict(self.shares).get(destination, 0.0)

    def as_dict(self) -> dict[str, Any]:
        return {"shares": dict(self.shares), "delayed_percent": self.delayed_percent, "delay_ms": self.delay_ms,
                "virtual_service": self.virtual_service, "note": self.note}


@dataclass(frozen=True)
class TrafficSplit:
    service: str  # "namespace/name"
    clients: tuple[str, ...]  # "namespace/workload" of every client with this outcome
    before: RouteOutcome
    after: RouteOutcome
    versions: tuple[str, ...] = field(default=())

    def as_dict(self) -> dict[str, Any]:
        return {"service": self.service, "clients": list(self.clients), "versions": list(self.versions),
                "before": self.before.as_dict(), "after": self.after.as_dict()}


def is_gateway(workload: Workload) -> bool:
    return (workload.labels.get("istio") in ("ingressgateway", "egressgateway")
            or workload.annotations.get("inject.istio.io/templates") == "gateway"
            or "gateway.istio.io/managed" in workload.labels)


def _endpoint_versions(service: Service, inventory: Inventory, labels: dict[str, str] | None) -> list[str]:
    ready = [w for w in workloads_of(service, inventory) if w.ready_replicas > 0
             and all(w.labels.get(k) == v for k, v in (labels or {}).items())]
    return [w.version or w.name for w in ready]


def _spread(shares: dict[str, float], versions: list[str], share: float, empty: str) -> None:
    if not versions:
        shares[empty] = shares.get(empty, 0.0) + share
        return
    for version in versions:
        shares[version] = shares.get(version, 0.0) + share / len(versions)


def route_outcome(inventory: Inventory, objects: list[IstioObject], service: Service,
                  client: Workload) -> RouteOutcome:
    protocol = "http" if service_protocols(service) & {"http", ""} else "tcp"
    shares: dict[str, float] = {}
    if not client.has_sidecar:
        _spread(shares, _endpoint_versions(service, inventory, None), 1.0, "no endpoints (connection refused)")
        return _outcome(shares, note="client has no sidecar: routing rules do not apply")
    decision = decide_route(objects, service.host, protocol, client.namespace, client.labels)
    if decision.no_route:
        return _outcome({"no route (HTTP 404)": 1.0}, vs=decision.virtual_service)
    fault = decision.fault
    for dest in decision.destinations:
        share = dest.share
        if fault.abort_share > 0:
            aborted = f"aborted (HTTP {fault.abort_status})"
            shares[aborted] = shares.get(aborted, 0.0) + share * fault.abort_share
            share *= 1 - fault.abort_share
        if share <= 0:
            continue
        if dest.host != service.host:  # a route to another host: shown by its name
            shares[dest.host] = shares.get(dest.host, 0.0) + share
            continue
        labels = None
        if dest.subset:
            dr = find_destination_rule(objects, service.host, client.namespace, service.namespace)
            labels = subset_labels(dr, dest.subset)
            if labels is None:
                key = f"undefined subset {dest.subset} (HTTP 503)"
                shares[key] = shares.get(key, 0.0) + share
                continue
        where = f" in subset {dest.subset}" if dest.subset else ""
        reason = f"no ready workload{where} (HTTP 503)"
        _spread(shares, _endpoint_versions(service, inventory, labels), share, reason)
    delayed = fault.delay_share if fault.delay_ms > 0 else 0.0
    return _outcome(shares, delayed * 100, fault.delay_ms if delayed else 0.0, decision.virtual_service)


def _outcome(shares: dict[str, float], delayed: float = 0.0, delay_ms: float = 0.0, vs: str = "",
             note: str = "") -> RouteOutcome:
    clean = tuple((k, round(v * 100, 6)) for k, v in shares.items())
    return RouteOutcome(clean, round(delayed, 6), delay_ms, vs, note)


def _with_versions(outcome: RouteOutcome, versions: tuple[str, ...]) -> RouteOutcome:
    """Every version listed (0% when it gets nothing), versions first in their order."""
    have = dict(outcome.shares)
    ordered = tuple((v, have.pop(v, 0.0)) for v in versions) + tuple(sorted(have.items()))
    return RouteOutcome(ordered, outcome.delayed_percent, outcome.delay_ms, outcome.virtual_service, outcome.note)


def default_clients(service: Service, *inventories: Inventory) -> list[tuple[str, str]]:
    """Every workload that could call the service through its sidecar: injected, not a gateway,
    not behind the service itself."""
    behind = {(w.namespace, w.name) for inv in inventories for w in workloads_of(service, inv)}
    found: dict[tuple[str, str], None] = {}
    for inv in inventories:
        for w in inv.workloads:
            if w.has_sidecar and not is_gateway(w) and (w.namespace, w.name) not in behind:
                found.setdefault((w.namespace, w.name), None)
    return sorted(found)


def predict_traffic(before: Inventory, after: Inventory, services: Iterable[tuple[str, str]],
                    clients: Iterable[tuple[str, str]] | None = None) -> tuple[TrafficSplit, ...]:
    """Per service, the clients grouped by identical (before, after) outcome."""
    objects_before, objects_after = by_creation(before.istio_objects), by_creation(after.istio_objects)
    splits: list[TrafficSplit] = []
    for namespace, name in services:
        service = find_service(after, namespace, name) or find_service(before, namespace, name)
        if service is None:
            continue
        target = service_target(after, namespace, name) or service_target(before, namespace, name)
        versions = target.version_names if target else ()
        groups: dict[tuple[RouteOutcome, RouteOutcome], list[str]] = {}
        for ns, wl_name in (list(clients) if clients is not None else default_clients(service, before, after)):
            wl_before = next((w for w in before.workloads if (w.namespace, w.name) == (ns, wl_name)), None)
            wl_after = next((w for w in after.workloads if (w.namespace, w.name) == (ns, wl_name)), None)
            if wl_before is None or wl_after is None or is_gateway(wl_after):
                continue
            key = (_with_versions(route_outcome(before, objects_before, service, wl_before), versions),
                   _with_versions(route_outcome(after, objects_after, service, wl_after), versions))
            groups.setdefault(key, []).append(f"{ns}/{wl_name}")
        for (b, a), members in sorted(groups.items(), key=lambda kv: kv[1][0]):
            splits.append(TrafficSplit(f"{namespace}/{name}", tuple(members), b, a, versions))
    return tuple(splits)
