"""The VirtualService and DestinationRule a change to one service's routing writes.

One DestinationRule subset per version (``name: v2, labels: {version: v2}``), as
Kiali's wizard renders them; routes name the service by its FQDN. Editing an
existing object keeps what the change is not about (hosts, gateways, exportTo,
other sections, traffic policy, subsets of other names).
"""
from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any

from apps.clusters.inventory import Inventory
from apps.meshconfig import hosts

from ..fields import FieldErrors, whole_number
from ..managed import managed_metadata
from ..rendered import RenderedChange
from ..writes import ApplyObject, PlannedWrite
from .base import foreign_targets
from .service_target import ServiceTarget

NETWORKING = "networking.istio.io/v1"
# Pod-template labels a version is read from, in Kiali's and Istio's order of preference.


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
        if target is not None and version not in target.version_names:
            errors.add(path, f"Service {target.label()} has no version {version}; "
                             f"its versions are {', '.join(target.version_names)}.")
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
    # Read from the VirtualService's namespace, which is the service's.
    return isinstance(host, str) and hosts.resolve(host, target.namespace) == target.host


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
    """The spec to edit: that of the service's VirtualService (hosts, gateways, exportTo and other
    sections kept) or a new one (also over an object that only has the service's name)."""
    if target.virtual_service is not None:
        return copy.deepcopy(target.virtual_service.spec)
    return {"hosts": [target.name]}


def virtual_service_manifest(target: ServiceTarget, spec: dict[str, Any], change_id: str | None) -> dict[str, Any]:
    return {
        "apiVersion": NETWORKING,
        "kind": "VirtualService",
        "metadata": managed_metadata(target.vs_name, target.namespace, target.name, target.vs_existing, change_id),
        "spec": spec,
    }


def destination_rule_manifest(target: ServiceTarget, change_id: str | None) -> dict[str, Any]:
    """One subset per version (``name: v2, labels: {version: v2}``); subsets of other names,
    the traffic policy and everything else of an existing DestinationRule are kept."""
    routing = target.destination_rule
    spec: dict[str, Any] = copy.deepcopy(routing.spec) if routing else {"host": target.host}
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
        "metadata": managed_metadata(target.dr_name, target.namespace, target.name, target.dr_existing, change_id),
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


def weighted_route_writes(target: ServiceTarget, weights: tuple[tuple[str, int], ...], change_id: str | None,
                          protocol: str = "http") -> list[PlannedWrite]:
    """The writes that route the service's ``protocol`` traffic over its versions by ``weights``, in one
    route (an HTTP one keeps the fault, timeout and retries of a one-route VirtualService)."""
    spec = virtual_service_spec(target)
    destinations = weighted_destinations(target, weights)
    if protocol == "tcp":
        spec["tcp"] = [{"route": destinations}]
    else:
        spec["http"] = [{**single_route_settings(target), "route": destinations}]
    return routing_writes(target, spec, change_id, with_subsets=True)


def percent_list(weights: tuple[tuple[str, int], ...]) -> str:
    return ", ".join(f"{v} {w}%" for v, w in weights)


def number(value: float) -> int | float:
    """50.0 -> 50: the same number, written the way a person would."""
    return int(value) if float(value).is_integer() else value
