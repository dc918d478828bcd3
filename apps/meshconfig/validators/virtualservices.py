"""VirtualService checks (Kiali: business/checkers/virtualservices)."""
from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from typing import Any

from apps.clusters.inventory import IstioObject

from .. import hosts
from .base import ERROR, WARNING, Finding, MeshIndex, as_dict, as_list, check, iter_routes, key_of


def _destinations(index: MeshIndex) -> Iterator[tuple[IstioObject, str, dict[str, Any]]]:
    """(VirtualService, path, entry) of every entry (``{destination, weight}``) of every route."""
    for vs in index.objects("VirtualService"):
        for _, path, route in iter_routes(vs):
            for j, dest in enumerate(route):
                yield vs, f"{path}[{j}]", as_dict(dest)


@check("VS-HOST-NOT-FOUND", kiali="KIA1101", severity=ERROR, kind="VirtualService",
       title="Route destination host is not in the service registry")
def vs_destination_host_not_found(index: MeshIndex) -> Iterator[Finding]:
    for vs, path, dest in _destinations(index):
        host = as_dict(dest.get("destination")).get("host")
        if not isinstance(host, str) or not host:
            yield Finding(vs, f"{path}.destination.host", "The route destination has no host.")
            continue
        if not index.host_known(hosts.resolve(host, vs.namespace)):
            yield Finding(
                vs, f"{path}.destination.host",
                f"Destination host {host!r} matches no Service or ServiceEntry (host not found).",
            )


@check("VS-GATEWAY-NOT-FOUND", kiali="KIA1102", severity=ERROR, kind="VirtualService",
       title="VirtualService refers to a Gateway that does not exist")
def vs_gateway_not_found(index: MeshIndex) -> Iterator[Finding]:
    for vs in index.objects("VirtualService"):
        refs = [(f"spec.gateways[{i}]", g) for i, g in enumerate(as_list(vs.spec.get("gateways")))]
        for i, rule in enumerate(as_list(vs.spec.get("http"))):
            for m, match in enumerate(as_list(as_dict(rule).get("match"))):
                refs += [(f"spec.http[{i}].match[{m}].gateways[{g}]", ref)
                         for g, ref in enumerate(as_list(as_dict(match).get("gateways")))]
        for path, ref in refs:
            if not isinstance(ref, str) or ref == "mesh":
                continue
            if index.gateway(ref, vs.namespace) is None:
                yield Finding(vs, path, f"Gateway {ref!r} does not exist.")


@check("VS-SUBSET-NOT-FOUND", kiali="KIA1107", severity=ERROR, kind="VirtualService",
       title="Route sends traffic to a subset no DestinationRule defines")
def vs_subset_not_found(index: MeshIndex) -> Iterator[Finding]:
    subsets: dict[str, set[str]] = defaultdict(set)
    for dr in index.objects("DestinationRule"):
        dr_host = hosts.resolve(str(dr.spec.get("host") or ""), dr.namespace)
        for subset in as_list(dr.spec.get("subsets")):
            name = as_dict(subset).get("name")
            if isinstance(name, str):
                subsets[dr_host].add(name)
    for vs, path, dest in _destinations(index):
        d = as_dict(dest.get("destination"))
        subset, host = d.get("subset"), d.get("host")
        if not subset or not isinstance(host, str):
            continue
        target = hosts.resolve(host, vs.namespace)
        defined = set().union(*(names for h, names in subsets.items() if hosts.overlaps(h, target))) \
            if subsets else set()
        if subset not in defined:
            yield Finding(
                vs, f"{path}.destination.subset",
                f"Subset {subset!r} of host {host!r} is not defined by any DestinationRule; "
                "requests routed here fail with 503 (no route).",
            )


@check("VS-WEIGHT-SUM", kiali="", severity=ERROR, kind="VirtualService",
       title="Route weights do not add up to 100")
def vs_weight_sum(index: MeshIndex) -> Iterator[Finding]:
    for vs in index.objects("VirtualService"):
        for _, path, route in iter_routes(vs):
            if len(route) < 2:
                continue
            weights = [as_dict(dest).get("weight") for dest in route]
            if not all(isinstance(w, (int, float)) or w is None for w in weights):
                continue  # VS-WEIGHT-RANGE reports non-numbers
            total = sum(w or 0 for w in weights)
            if total != 100:
                yield Finding(vs, path, f"The weights of this route add up to {total:g}, not 100.")


@check("VS-WEIGHT-RANGE", kiali="", severity=ERROR, kind="VirtualService",
       title="A route weight is not a number between 0 and 100")
def vs_weight_range(index: MeshIndex) -> Iterator[Finding]:
    for vs, path, dest in _destinations(index):
        w = dest.get("weight")
        if w is None:
            continue
        if isinstance(w, bool) or not isinstance(w, (int, float)):
            yield Finding(vs, f"{path}.weight", f"Weight {w!r} is not a number.")
        elif not 0 <= w <= 100:
            yield Finding(vs, f"{path}.weight", f"Weight {w:g} is outside 0..100.")


@check("VS-SINGLE-WEIGHT", kiali="KIA1104", severity=WARNING, kind="VirtualService",
       title="A lone destination's weight is ignored (it gets 100%)")
def vs_single_weight(index: MeshIndex) -> Iterator[Finding]:
    for vs in index.objects("VirtualService"):
        for _, path, route in iter_routes(vs):
            if len(route) == 1:
                w = as_dict(route[0]).get("weight")
                if isinstance(w, (int, float)) and not isinstance(w, bool) and w != 100:
                    yield Finding(vs, f"{path}[0].weight",
                                  f"The weight {w:g} is assumed to be 100: this is the route's only destination.")


@check("VS-REPEATED-SUBSET", kiali="KIA1105", severity=WARNING, kind="VirtualService",
       title="The same host and subset appear twice in one route")
def vs_repeated_subset(index: MeshIndex) -> Iterator[Finding]:
    for vs in index.objects("VirtualService"):
        for _, path, route in iter_routes(vs):
            seen: dict[tuple[str, str], int] = {}
            for j, dest in enumerate(route):
                d = as_dict(as_dict(dest).get("destination"))
                if not isinstance(d.get("host"), str):
                    continue
                key = (hosts.resolve(d["host"], vs.namespace), str(d.get("subset") or ""))
                if key in seen:
                    label = f"{d['host']}" + (f" subset {key[1]}" if key[1] else "")
                    yield Finding(vs, f"{path}[{j}].destination",
                                  f"{label} is already a destination of this route (at {path}[{seen[key]}]).")
                else:
                    seen[key] = j


def _gateway_scope(vs) -> frozenset[str]:
    gws = [g for g in as_list(vs.spec.get("gateways")) if isinstance(g, str)]
    if not gws:
        return frozenset({"mesh"})
    return frozenset(g if ("/" in g or g == "mesh") else f"{vs.namespace}/{g}" for g in gws)


@check("VS-MULTI-HOST", kiali="KIA1106", severity=WARNING, kind="VirtualService",
       title="More than one VirtualService for the same host")
def vs_multiple_for_host(index: MeshIndex) -> Iterator[Finding]:
    vss = index.objects("VirtualService")
    entries = []
    for vs in vss:
        for i, h in enumerate(as_list(vs.spec.get("hosts"))):
            if isinstance(h, str):
                entries.append((vs, i, hosts.resolve(h, vs.namespace), _gateway_scope(vs)))
    for vs, i, host, scope in entries:
        others = sorted({
            key_of(o) for (o, _, h, s) in entries
            if o is not vs and hosts.overlaps(host, h) and scope & s
        })
        if others:
            yield Finding(vs, f"spec.hosts[{i}]",
                          f"Another VirtualService also claims host {host!r} on the same gateway; "
                          "Istio uses only one of them.", tuple(others))
