"""How a sidecar would route one call, read from the Istio objects applied.

Pure functions over ``IstioObject``s. What is modelled (docs/simulator.md):
VirtualService http/tcp routes with weights across DestinationRule subsets,
match-less routes, the first matching route wins, ``fault.abort`` and
``fault.delay`` with percentages, DestinationRule ``trafficPolicy.tls.mode``.
Synthetic requests carry no headers, so a route ``match`` only matches on
``sourceLabels``, ``sourceNamespace``, ``gateways`` and ``uri: {prefix: "/"}``.
Hosts are resolved and matched by ``apps.meshconfig.hosts`` (Istio's rules,
shared with the validators).
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from apps.clusters.inventory import IstioObject
from apps.meshconfig import hosts

from .topologies import ISTIO_SYSTEM


@dataclass(frozen=True)
class Fault:
    abort_share: float = 0.0  # fraction of requests aborted
    abort_status: int = 503
    delay_share: float = 0.0  # fraction of requests delayed
    delay_ms: float = 0.0


@dataclass(frozen=True)
class RouteDestination:
    host: str  # as written in the VS, resolved by the caller
    subset: str
    share: float  # fraction of the call's requests
    vs_namespace: str


@dataclass(frozen=True)
class RouteDecision:
    """``destinations`` empty and ``no_route`` True: Envoy answers 404 NR."""

    destinations: tuple[RouteDestination, ...]
    fault: Fault = Fault()
    no_route: bool = False
    virtual_service: str = ""  # "namespace/name" or ""


def parse_duration_ms(value: Any) -> float:
    if isinstance(value, (int, float)):
        return float(value) * 1000.0
    text = str(value or "").strip()
    m = re.fullmatch(r"(\d+(?:\.\d+)?)(ms|s|m|h)", text)
    if not m:
        raise ValueError(f"invalid duration {value!r}")
    n, unit = float(m.group(1)), m.group(2)
    return n * {"ms": 1.0, "s": 1000.0, "m": 60000.0, "h": 3600000.0}[unit]


def _percentage(block: dict[str, Any]) -> float:
    """Istio: ``percentage.value`` (float %), legacy ``percent`` (int); absent means 100%."""
    if "percentage" in block and isinstance(block["percentage"], dict):
        return max(0.0, min(100.0, float(block["percentage"].get("value", 0.0)))) / 100.0
    if "percent" in block:
        return max(0.0, min(100.0, float(block["percent"]))) / 100.0
    return 1.0


def parse_fault(fault: dict[str, Any] | None) -> Fault:
    if not fault:
        return Fault()
    abort = fault.get("abort") or {}
    delay = fault.get("delay") or {}
    kw: dict[str, Any] = {}
    if abort:
        kw["abort_share"] = _percentage(abort)
        kw["abort_status"] = int(abort.get("httpStatus", 503) or 503)
    if delay:
        kw["delay_share"] = _percentage(delay)
        kw["delay_ms"] = parse_duration_ms(delay.get("fixedDelay", "0s"))
    return Fault(**kw)


def _match_clause_matches(clause: dict[str, Any], client_ns: str, client_labels: dict[str, str]) -> bool:
    for key, value in clause.items():
        if key == "sourceLabels":
            if any(client_labels.get(k) != v for k, v in (value or {}).items()):
                return False
        elif key == "sourceNamespace":
            if value != client_ns:
                return False
        elif key == "gateways":
            if "mesh" not in (value or []):
                return False
        elif key == "uri":
            if not (isinstance(value, dict) and value.get("prefix") == "/"):
                return False
        elif key in ("name", "ignoreUriCase"):
            continue
        else:
            # headers, queryParams, method, exact uris...: our synthetic requests carry none
            return False
    return True


def route_matches(route: dict[str, Any], client_ns: str, client_labels: dict[str, str]) -> bool:
    matches = route.get("match")
    if not matches:
        return True
    return any(_match_clause_matches(c or {}, client_ns, client_labels) for c in matches)


def find_virtual_service(
    objects: list[IstioObject], host: str, client_ns: str
) -> IstioObject | None:
    """The VS a sidecar in ``client_ns`` uses for ``host`` (first created wins, like Istio)."""
    found = []
    for obj in objects:
        if obj.kind != "VirtualService":
            continue
        gateways = obj.spec.get("gateways") or []
        if gateways and "mesh" not in gateways:
            continue
        export_to = obj.spec.get("exportTo")
        if export_to and "*" not in export_to and not (
            ("." in export_to and obj.namespace == client_ns) or client_ns in export_to
        ):
            continue
        for h in obj.spec.get("hosts") or []:
            if hosts.covers(hosts.resolve(h, obj.namespace), host):
                found.append(obj)
                break
    if not found:
        return None
    return min(found, key=lambda o: (int(o.metadata.get("_order", 0)), o.namespace, o.name))


def find_destination_rule(
    objects: list[IstioObject], host: str, client_ns: str, service_ns: str
) -> IstioObject | None:
    """Istio's lookup order: the client's namespace, the service's, then the root namespace."""
    for ns in (client_ns, service_ns, ISTIO_SYSTEM):
        cands = [
            o
            for o in objects
            if o.kind == "DestinationRule"
            and o.namespace == ns
            and hosts.covers(hosts.resolve(str(o.spec.get("host", "")), o.namespace), host)
        ]
        if cands:
            return min(cands, key=lambda o: int(o.metadata.get("_order", 0)))
    return None


def decide_route(
    objects: list[IstioObject],
    host: str,
    protocol: str,
    client_ns: str,
    client_labels: dict[str, str],
) -> RouteDecision:
    vs = find_virtual_service(objects, host, client_ns)
    if vs is None:
        return RouteDecision((RouteDestination(host, "", 1.0, client_ns),))
    section = "tcp" if protocol == "tcp" else "http"
    routes = vs.spec.get(section) or []
    if not routes:
        return RouteDecision((RouteDestination(host, "", 1.0, client_ns),), virtual_service=f"{vs.namespace}/{vs.name}")
    chosen = None
    for route in routes:
        if section == "tcp" or route_matches(route, client_ns, client_labels):
            chosen = route
            break
    ref = f"{vs.namespace}/{vs.name}"
    if chosen is None:
        return RouteDecision((), no_route=True, virtual_service=ref)
    dests = chosen.get("route") or []
    if not dests:
        # a route with only a fault/redirect: treat as direct response by the proxy
        return RouteDecision((), fault=parse_fault(chosen.get("fault")), no_route=not chosen.get("fault"),
                             virtual_service=ref)
    weights = [float(d.get("weight", 0 if len(dests) > 1 else 100) or 0) for d in dests]
    if len(dests) == 1:
        weights = [100.0]
    total = sum(weights)
    out = []
    for d, w in zip(dests, weights, strict=True):
        if total <= 0 or w <= 0:
            continue
        dest = d.get("destination") or {}
        out.append(
            RouteDestination(
                hosts.resolve(str(dest.get("host", "")), vs.namespace), str(dest.get("subset", "") or ""), w / total,
                vs.namespace
            )
        )
    fault = parse_fault(chosen.get("fault")) if section == "http" else Fault()
    return RouteDecision(tuple(out), fault=fault, virtual_service=ref)


def subset_labels(dr: IstioObject | None, subset: str) -> dict[str, str] | None:
    if dr is None:
        return None
    for s in dr.spec.get("subsets") or []:
        if s.get("name") == subset:
            return dict(s.get("labels") or {})
    return None


def tls_mode(dr: IstioObject | None, subset: str = "") -> str:
    """DestinationRule tls mode for this destination, "" when not set (auto mTLS)."""
    if dr is None:
        return ""
    mode = ((dr.spec.get("trafficPolicy") or {}).get("tls") or {}).get("mode", "")
    if subset:
        for s in dr.spec.get("subsets") or []:
            if s.get("name") == subset:
                sub_mode = ((s.get("trafficPolicy") or {}).get("tls") or {}).get("mode")
                if sub_mode:
                    mode = sub_mode
    return str(mode or "")
