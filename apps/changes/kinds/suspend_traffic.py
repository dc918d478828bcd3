"""Suspend traffic to a service, or to one of its versions (Kiali's "Suspend Traffic").

* The whole service: every request is aborted by the client's sidecar with the
  chosen HTTP status (default 503) at 100%.
* One version: Istio cannot abort by destination, so, as Kiali does, the version's
  weight becomes 0 and the other versions carry its traffic, in proportion to
  their current weights (evenly when they have none). Suspending the only
  version suspends the whole service.
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from apps.clusters.inventory import Inventory

from ..fields import FieldErrors, as_mapping, http_status, text
from ..rendered import RenderedChange
from .routing_objects import (
    current_weights,
    percent_list,
    routing_writes,
    service_change,
    virtual_service_spec,
    weighted_route_writes,
    whole_service_destination,
)
from .service_target import ServiceTarget, parse_service_fields, require_versions, resolved_target, service_params_dict

KIND = "suspend_traffic"
DEFAULT_STATUS = 503


@dataclass(frozen=True)
class SuspendTraffic:
    namespace: str
    service: str
    version: str | None = None  # None: the whole service
    http_status: int = DEFAULT_STATUS
    take_over: bool = False
    kind = KIND

    def as_dict(self) -> dict[str, Any]:
        return service_params_dict(KIND, self, http_status=self.http_status, version=self.version)


def parse_suspend_traffic(data: Mapping[str, Any], inventory: Inventory) -> SuspendTraffic:
    errors = FieldErrors()
    data = as_mapping(data, errors)
    namespace, target, take_over = parse_service_fields(data, inventory, errors, own=("version", "http_status"),
                                                         needs="http")
    version = text(data, "version", errors, required=False)
    if version is not None and require_versions(target, errors) and version not in target.version_names:
        errors.add("version", f"Service {target.label()} has no version {version}; "
                              f"its versions are {', '.join(target.version_names)}.")
    status = http_status(data.get("http_status", DEFAULT_STATUS), "http_status", errors)
    errors.raise_if_any()
    return SuspendTraffic(namespace, target.name, version, status, take_over)  # type: ignore[arg-type,union-attr]


def distribute(shares: list[tuple[str, float]], total: int = 100) -> list[tuple[str, int]]:
    """Whole numbers in proportion to ``shares`` adding up to ``total`` (largest remainder first)."""
    weight_sum = sum(s for _, s in shares)
    if weight_sum <= 0:
        shares = [(name, 1.0) for name, _ in shares]
        weight_sum = float(len(shares))
    exact = [(name, s * total / weight_sum) for name, s in shares]
    out = {name: int(x) for name, x in exact}
    left = total - sum(out.values())
    by_remainder = sorted(range(len(exact)), key=lambda i: (-(exact[i][1] - int(exact[i][1])), i))
    for i in by_remainder[:left]:
        out[exact[i][0]] += 1
    return [(name, out[name]) for name, _ in shares]


def _weights_without(target: ServiceTarget, version: str) -> tuple[tuple[str, int], ...]:
    current = dict(current_weights(target) or ())
    open_versions = [v for v in target.version_names if v != version]
    shares = [(v, float(current.get(v, 0 if current else 1))) for v in open_versions]
    new = dict(distribute(shares))
    return tuple((v, 0 if v == version else new[v]) for v in target.version_names)


def render_suspend_traffic(params: SuspendTraffic, inventory: Inventory,
                           change_id: str | None = None) -> RenderedChange:
    target = resolved_target(params, inventory)
    warnings = []
    whole = params.version is None or target.version_names == (params.version,)
    if params.version is not None and whole:
        warnings.append(f"{params.version} is the only version of {target.label()}: the whole service is suspended.")
    if whole:
        spec = virtual_service_spec(target)
        spec["http"] = [{"route": whole_service_destination(target),
                         "fault": {"abort": {"httpStatus": params.http_status, "percentage": {"value": 100}}}}]
        summary = f"Suspend all traffic to {target.label()}: every request is answered HTTP {params.http_status}."
        writes = routing_writes(target, spec, change_id, with_subsets=False)
    else:
        weights = _weights_without(target, params.version)  # type: ignore[arg-type]
        writes = weighted_route_writes(target, weights, change_id)
        open_part = percent_list(tuple((v, w) for v, w in weights if v != params.version))
        summary = f"Suspend {params.version} of {target.label()}: it gets no traffic; {open_part}."
        if params.http_status != DEFAULT_STATUS:
            warnings.append(f"HTTP {params.http_status} is not used: requests are sent to the other versions "
                            "instead (a status is answered only when the whole service is suspended).")
    return service_change(KIND, params, target, writes, summary, inventory, warnings)
