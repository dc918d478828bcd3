"""Traffic shifting (HTTP) and TCP traffic shifting: integer weights per version, summing to 100.

Rendered as Kiali's wizard does: a DestinationRule with one subset per version
and a VirtualService with one weighted route over those subsets. A weight of 0
is kept in the route (it routes nothing, and says so). Re-weighting an existing
one-route VirtualService keeps that route's fault, timeout and retries.
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from apps.clusters.inventory import Inventory

from ..fields import FieldErrors, as_mapping
from ..rendered import RenderedChange
from .routing_objects import parse_weights, percent_list, service_change, weighted_route_writes
from .service_target import parse_service_fields, require_versions, resolved_target, service_params_dict

HTTP_KIND = "traffic_shift"
TCP_KIND = "tcp_traffic_shift"


@dataclass(frozen=True)
class TrafficShift:
    namespace: str
    service: str
    weights: tuple[tuple[str, int], ...]  # (version, weight) in the order given
    protocol: str = "http"  # "http" or "tcp"
    take_over: bool = False

    @property
    def kind(self) -> str:
        return TCP_KIND if self.protocol == "tcp" else HTTP_KIND

    def as_dict(self) -> dict[str, Any]:
        return service_params_dict(self.kind, self, weights=dict(self.weights))


def _parse(data: Mapping[str, Any], inventory: Inventory, protocol: str) -> TrafficShift:
    errors = FieldErrors()
    data = as_mapping(data, errors)
    namespace, target, take_over = parse_service_fields(data, inventory, errors, own=("weights",), needs=protocol)
    has_versions = require_versions(target, errors)
    weights = parse_weights(data.get("weights"), target if has_versions else None, errors)
    errors.raise_if_any()
    return TrafficShift(namespace, target.name, weights, protocol, take_over)  # type: ignore[arg-type,union-attr]


def parse_traffic_shift(data: Mapping[str, Any], inventory: Inventory) -> TrafficShift:
    return _parse(data, inventory, "http")


def parse_tcp_traffic_shift(data: Mapping[str, Any], inventory: Inventory) -> TrafficShift:
    return _parse(data, inventory, "tcp")


def render_traffic_shift(params: TrafficShift, inventory: Inventory, change_id: str | None = None) -> RenderedChange:
    target = resolved_target(params, inventory)
    writes = weighted_route_writes(target, params.weights, change_id, params.protocol)
    what = "TCP traffic" if params.protocol == "tcp" else "traffic"
    summary = f"Shift {what} of {target.label()}: {percent_list(params.weights)}."
    return service_change(params.kind, params, target, writes, summary, inventory)
