"""Fault injection: delay and/or abort a percentage of a service's HTTP requests.

Input: ``{"delay": {"fixed_delay": "5s", "percentage": 50}, "abort": {"http_status": 503,
"percentage": 10}}`` (either or both), or ``{"remove": true}`` to take the fault out.
The fault is set on every HTTP route of the service's VirtualService (its routes,
weights and matches are kept), or on one route to the whole service when it has
none. The client's sidecar injects it, so aborted requests never reach the service.
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from apps.clusters.inventory import Inventory

from ..fields import FieldErrors, as_mapping, duration, http_status, percentage, reject_unknown
from ..rendered import RenderedChange
from .routing_objects import number, on_every_http_route, parse_route_settings, routing_writes, service_change
from .service_target import SERVICE_FIELDS, parse_service_fields, resolved_target, service_params_dict

KIND = "fault_injection"


@dataclass(frozen=True)
class Delay:
    fixed_delay: str
    percentage: float

    def istio(self) -> dict[str, Any]:
        return {"fixedDelay": self.fixed_delay, "percentage": {"value": number(self.percentage)}}


@dataclass(frozen=True)
class Abort:
    http_status: int
    percentage: float

    def istio(self) -> dict[str, Any]:
        return {"httpStatus": self.http_status, "percentage": {"value": number(self.percentage)}}


@dataclass(frozen=True)
class FaultInjection:
    namespace: str
    service: str
    delay: Delay | None = None
    abort: Abort | None = None
    remove: bool = False
    take_over: bool = False
    kind = KIND

    def as_dict(self) -> dict[str, Any]:
        delay, abort = self.delay, self.abort
        return service_params_dict(
            KIND, self, remove=self.remove or None,
            delay={"fixed_delay": delay.fixed_delay, "percentage": number(delay.percentage)} if delay else None,
            abort={"http_status": abort.http_status, "percentage": number(abort.percentage)} if abort else None)


def _parse_delay(raw: Any, errors: FieldErrors) -> Delay | None:
    if not isinstance(raw, Mapping):
        errors.add("delay", 'Give the delay as {"fixed_delay": "5s", "percentage": 100}.')
        return None
    reject_unknown(raw, ("fixed_delay", "percentage"), errors, prefix="delay.")
    fixed = duration(raw.get("fixed_delay"), "delay.fixed_delay", errors, "delay")
    share = percentage(raw.get("percentage", 100), "delay.percentage", errors, "requests to delay")
    return Delay(fixed, share) if fixed is not None and share is not None else None


def _parse_abort(raw: Any, errors: FieldErrors) -> Abort | None:
    if not isinstance(raw, Mapping):
        errors.add("abort", 'Give the abort as {"http_status": 503, "percentage": 100}.')
        return None
    reject_unknown(raw, ("http_status", "percentage"), errors, prefix="abort.")
    status = http_status(raw.get("http_status", 503), "abort.http_status", errors)
    share = percentage(raw.get("percentage", 100), "abort.percentage", errors, "requests to abort")
    return Abort(status, share) if status is not None and share is not None else None


def parse_fault_injection(data: Mapping[str, Any], inventory: Inventory) -> FaultInjection:
    errors = FieldErrors()
    data = as_mapping(data, errors)
    reject_unknown(data, SERVICE_FIELDS + ("delay", "abort", "remove"), errors)
    namespace, target, take_over = parse_service_fields(data, inventory, errors, needs="http")
    remove, values = parse_route_settings(data, target, errors, fields={"delay": _parse_delay, "abort": _parse_abort},
                                          route_keys=("fault",), what="fault injection",
                                          give="a delay, an abort or both")
    errors.raise_if_any()
    return FaultInjection(namespace, target.name, values["delay"], values["abort"], remove, take_over)  # type: ignore[arg-type,union-attr]


def render_fault_injection(params: FaultInjection, inventory: Inventory,
                           change_id: str | None = None) -> RenderedChange:
    target = resolved_target(params, inventory)
    fault: dict[str, Any] = {}
    if params.delay:
        fault["delay"] = params.delay.istio()
    if params.abort:
        fault["abort"] = params.abort.istio()
    spec = on_every_http_route(target, {"fault": fault} if fault else {}, clear=("fault",))
    writes = routing_writes(target, spec, change_id, with_subsets=False)
    if params.remove:
        summary = f"Remove fault injection from {target.label()}."
    else:
        parts = []
        if params.delay:
            parts.append(f"delay {number(params.delay.percentage)}% of requests by {params.delay.fixed_delay}")
        if params.abort:
            parts.append(f"abort {number(params.abort.percentage)}% with HTTP {params.abort.http_status}")
        summary = f"Inject faults into requests to {target.label()}: " + " and ".join(parts) + "."
    return service_change(KIND, params, target, writes, summary, inventory)
