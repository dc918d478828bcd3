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
from typing import Any, ClassVar, Generic, TypeVar

from apps.clusters.inventory import Inventory

from ..fields import FieldErrors, duration, http_status, percentage, reject_unknown
from ..rendered import RenderedChange
from .route_settings import RouteSettings, parse_route_settings, render_route_settings
from .routing_objects import number

KIND = "fault_injection"
V = TypeVar("V")


@dataclass(frozen=True)
class Fault(Generic[V]):
    """Done to ``percentage`` % of the requests: a delay (``value``: its fixed delay) or an abort
    (``value``: the HTTP status answered)."""

    value: V
    percentage: float
    field: ClassVar[str]  # the value's name in the input ...
    istio_field: ClassVar[str]  # ... and in Istio's HTTPFaultInjection

    def describe(self) -> str:
        raise NotImplementedError

    def istio(self) -> dict[str, Any]:
        return {self.istio_field: self.value, "percentage": {"value": number(self.percentage)}}

    def as_dict(self) -> dict[str, Any]:
        return {self.field: self.value, "percentage": number(self.percentage)}


class Delay(Fault[str]):
    field, istio_field = "fixed_delay", "fixedDelay"

    def describe(self) -> str:
        return f"delay {number(self.percentage)}% of requests by {self.value}"


class Abort(Fault[int]):
    field, istio_field = "http_status", "httpStatus"

    def describe(self) -> str:
        return f"abort {number(self.percentage)}% with HTTP {self.value}"


@dataclass(frozen=True)
class FaultInjection(RouteSettings):
    delay: Delay | None = None
    abort: Abort | None = None
    kind = KIND
    route_keys = ("fault",)

    def faults(self) -> dict[str, Fault]:
        """The faults given, by their name in the input (and in Istio's HTTPFaultInjection)."""
        return {name: f for name, f in (("delay", self.delay), ("abort", self.abort)) if f}

    def fields_dict(self) -> dict[str, Any]:
        return {name: f.as_dict() for name, f in self.faults().items()}

    def settings(self) -> dict[str, Any]:
        fault = {name: f.istio() for name, f in self.faults().items()}
        return {"fault": fault} if fault else {}

    def summary(self, service: str) -> str:
        if self.remove:
            return f"Remove fault injection from {service}."
        return (f"Inject faults into requests to {service}: "
                + " and ".join(f.describe() for f in self.faults().values()) + ".")


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
    return parse_route_settings(FaultInjection, data, inventory, fields={"delay": _parse_delay, "abort": _parse_abort},
                                what="fault injection", give="a delay, an abort or both")


def render_fault_injection(params: FaultInjection, inventory: Inventory,
                           change_id: str | None = None) -> RenderedChange:
    return render_route_settings(params, inventory, change_id)
