"""Kinds that put settings on every HTTP route of a service: fault injection, timeouts and retries.

Input: one or more of the kind's fields (each read by its own parser), or ``{"remove": true}`` to
take the settings out (the service must have them). They are set on every HTTP route of the
service's VirtualService (its routes, weights and matches are kept), or on one route to the whole
service when it has none.
"""
from __future__ import annotations

import copy
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, ClassVar, TypeVar

from apps.clusters.inventory import Inventory

from ..fields import NON_FIELD, FieldErrors, as_mapping, flag
from ..rendered import RenderedChange
from .routing_objects import routing_writes, service_change, virtual_service_spec, whole_service_destination
from .service_target import ServiceTarget, parse_service_fields, resolved_target, service_params_dict

FieldParser = Callable[[Any, FieldErrors], Any]


@dataclass(frozen=True)
class RouteSettings:
    """The parameters of such a kind; a subclass adds its own fields (None: not given)."""

    namespace: str
    service: str
    remove: bool = False
    take_over: bool = False
    kind: ClassVar[str]
    route_keys: ClassVar[tuple[str, ...]]  # the keys of an HTTP route the kind sets (and removes)

    def settings(self) -> dict[str, Any]:
        """What is set on every route."""
        raise NotImplementedError

    def summary(self, service: str) -> str:
        raise NotImplementedError

    def warnings(self) -> list[str]:
        return []

    def fields_dict(self) -> dict[str, Any]:
        """The kind's own fields as input (None: left out)."""
        raise NotImplementedError

    def as_dict(self) -> dict[str, Any]:
        return service_params_dict(self.kind, self, remove=self.remove or None, **self.fields_dict())


P = TypeVar("P", bound=RouteSettings)


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


def parse_route_settings(params: type[P], data: Mapping[str, Any], inventory: Inventory, *,
                         fields: dict[str, FieldParser], what: str, give: str) -> P:
    """``params`` read from ``data``: ``remove: true`` or at least one of ``fields``."""
    errors = FieldErrors()
    data = as_mapping(data, errors)
    namespace, target, take_over = parse_service_fields(data, inventory, errors, own=(*fields, "remove"), needs="http")
    remove = flag(data, "remove", errors)
    values: dict[str, Any] = dict.fromkeys(fields)
    given = [name for name in fields if data.get(name) is not None]
    if remove:
        if given:
            errors.add("remove", f"Either remove {what} or give {'/'.join(fields)}, not both.")
        elif target is not None and not has_http_setting(target, params.route_keys):
            errors.add("remove", f"Service {target.label()} has no {what} to remove.")
    elif not given:
        errors.add(NON_FIELD, f"Give {give} (or remove: true to take {what} out).")
    else:
        for name in given:
            values[name] = fields[name](data[name], errors)
    errors.raise_if_any()
    return params(namespace, target.name, remove, take_over, **values)  # type: ignore[arg-type,union-attr]


def render_route_settings(params: RouteSettings, inventory: Inventory, change_id: str | None = None) -> RenderedChange:
    target = resolved_target(params, inventory)
    spec = on_every_http_route(target, params.settings(), clear=params.route_keys)
    writes = routing_writes(target, spec, change_id, with_subsets=False)
    return service_change(params.kind, params, target, writes, params.summary(target.label()), inventory,
                          params.warnings())
