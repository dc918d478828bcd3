"""Request routing: rules that match requests (header, URI, query parameter) and route them to a version.

Input::

    {"kind": "request_routing", "namespace": "bookinfo", "service": "reviews",
     "rules": [{"match": [{"type": "header", "name": "end-user", "op": "exact", "value": "jason"}],
                "route": "v2"}],
     "default": "v1"}

The conditions of one rule must all hold (one Istio ``HTTPMatchRequest``); rules
are tried in order and the first that matches wins; ``default`` takes every
request no rule matches (without it those would get 404). A route is a version
or weights per version (``{"v2": 50, "v3": 50}``). This expresses Istio's
Bookinfo ``virtual-service-reviews-test-v2.yaml`` (user jason to v2, others v1).
"""
from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, cast

from apps.clusters.inventory import Inventory

from ..fields import FieldErrors, as_mapping, reject_unknown
from ..rendered import RenderedChange
from .routing_objects import (
    parse_weights,
    percent_list,
    routing_writes,
    service_change,
    virtual_service_spec,
    weighted_destinations,
)
from .service_target import ServiceTarget, parse_service_fields, require_versions, resolved_target, service_params_dict

KIND = "request_routing"
MATCH_TYPES = ("header", "uri", "query")
OPS = ("exact", "prefix", "regex")
# Istio: header names are lowercase, hyphen-separated (Envoy lowercases them).
_HEADER_NAME = re.compile(r"[a-z0-9!#$%&'*+.^_`|~-]+")
# The URI and query-parameter conditions an Istio HTTPMatchRequest holds, by type.
_ISTIO_FIELD = {"header": "headers", "uri": "uri", "query": "queryParams"}


@dataclass(frozen=True)
class MatchCondition:
    type: str  # header, uri, query
    op: str  # exact, prefix, regex
    value: str
    name: str = ""  # header or query parameter name

    def as_dict(self) -> dict[str, str]:
        out = {"type": self.type, "op": self.op, "value": self.value}
        if self.type != "uri":
            out["name"] = self.name
        return out


@dataclass(frozen=True)
class RoutingRule:
    match: tuple[MatchCondition, ...]
    weights: tuple[tuple[str, int], ...]

    def as_dict(self) -> dict[str, Any]:
        return {"match": [c.as_dict() for c in self.match], "route": _route_value(self.weights)}


@dataclass(frozen=True)
class RequestRouting:
    namespace: str
    service: str
    rules: tuple[RoutingRule, ...]
    default: tuple[tuple[str, int], ...]
    take_over: bool = False
    kind = KIND

    def as_dict(self) -> dict[str, Any]:
        return service_params_dict(KIND, self, rules=[r.as_dict() for r in self.rules],
                                   default=_route_value(self.default))


def _route_value(weights: tuple[tuple[str, int], ...]) -> Any:
    return weights[0][0] if len(weights) == 1 else dict(weights)


def _parse_route(value: Any, target: ServiceTarget | None, errors: FieldErrors, path: str):
    """A version name (all of the rule's traffic) or weights per version."""
    if isinstance(value, str):
        value = {value: 100}
    return parse_weights(value, target, errors, path)


def _parse_condition(raw: Any, errors: FieldErrors, path: str) -> MatchCondition | None:
    if not isinstance(raw, Mapping):
        errors.add(path, 'A condition is {"type": "header", "name": "end-user", "op": "exact", "value": "jason"}.')
        return None
    reject_unknown(raw, ("type", "name", "op", "value"), errors, prefix=f"{path}.")
    kind, op, value, name = raw.get("type"), raw.get("op"), raw.get("value"), raw.get("name")
    ok = True
    if kind not in MATCH_TYPES:
        errors.add(f"{path}.type", f"Match on one of {', '.join(MATCH_TYPES)}, not {kind!r}.")
        return None
    if op not in OPS:
        errors.add(f"{path}.op", f"Compare with one of {', '.join(OPS)}, not {op!r}.")
        ok = False
    if not isinstance(value, str) or value == "":
        errors.add(f"{path}.value", f"Give the value to compare the {kind} with (a non-empty text).")
        return None
    if kind == "uri":
        if name not in (None, ""):
            errors.add(f"{path}.name", "A URI condition has no name: give only op and value.")
            ok = False
        if op in ("exact", "prefix") and not value.startswith("/"):
            errors.add(f"{path}.value", f"A URI starts with '/', e.g. \"/api\"; {value!r} never matches.")
            ok = False
        name = ""
    elif not isinstance(name, str) or not name:
        errors.add(f"{path}.name", f"Give the name of the {'header' if kind == 'header' else 'query parameter'}.")
        ok = False
    elif kind == "header" and not _HEADER_NAME.fullmatch(name):
        errors.add(f"{path}.name", f"Header names are lowercase without spaces (e.g. \"end-user\"), not {name!r}.")
        ok = False
    if op == "regex":
        try:
            re.compile(value)
        except re.error as exc:
            errors.add(f"{path}.value", f"{value!r} is not a regular expression: {exc}.")
            ok = False
    if not ok:
        return None
    # ok: op is one of OPS and name a text (checked above)
    return MatchCondition(kind, cast(str, op), value, cast(str, name))


def _parse_rule(raw: Any, target: ServiceTarget | None, errors: FieldErrors, path: str) -> RoutingRule | None:
    if not isinstance(raw, Mapping):
        errors.add(path, 'A rule is {"match": [conditions...], "route": "v2"}.')
        return None
    reject_unknown(raw, ("match", "route"), errors, prefix=f"{path}.")
    conditions = raw.get("match")
    if not isinstance(conditions, list) or not conditions:
        errors.add(f"{path}.match", "Give at least one condition (requests nothing matches go to default).")
        conditions = []
    parsed = [_parse_condition(c, errors, f"{path}.match[{i}]") for i, c in enumerate(conditions)]
    seen: set[tuple[str, str]] = set()
    for i, cond in enumerate(parsed):
        if cond is None:
            continue
        key = (cond.type, cond.name)
        if key in seen:
            what = "URI" if cond.type == "uri" else f"{cond.type} {cond.name}"
            errors.add(f"{path}.match[{i}]", f"The {what} is matched twice in one rule: a request has one value; "
                                             "use two rules to accept either.")
        seen.add(key)
    weights = _parse_route(raw.get("route"), target, errors, f"{path}.route")
    if weights is None or any(c is None for c in parsed) or not parsed:
        return None
    return RoutingRule(tuple(parsed), weights)  # type: ignore[arg-type]


def parse_request_routing(data: Mapping[str, Any], inventory: Inventory) -> RequestRouting:
    errors = FieldErrors()
    data = as_mapping(data, errors)
    namespace, target, take_over = parse_service_fields(data, inventory, errors, own=("rules", "default"), needs="http")
    if not require_versions(target, errors):
        target = None
    raw_rules = data.get("rules")
    if not isinstance(raw_rules, list) or not raw_rules:
        errors.add("rules", 'Give at least one rule, e.g. [{"match": [...], "route": "v2"}].')
        raw_rules = []
    rules = [_parse_rule(r, target, errors, f"rules[{i}]") for i, r in enumerate(raw_rules)]
    if data.get("default") in (None, ""):
        errors.add("default", "Give the default route: the version that gets requests no rule matches "
                              "(without one they would get 404).")
        default = None
    else:
        default = _parse_route(data.get("default"), target, errors, "default")
    errors.raise_if_any()
    return RequestRouting(namespace, target.name, tuple(rules), default, take_over)  # type: ignore[arg-type,union-attr]


def _istio_match(conditions: tuple[MatchCondition, ...]) -> dict[str, Any]:
    match: dict[str, Any] = {}
    for c in conditions:
        field = _ISTIO_FIELD[c.type]
        if c.type == "uri":
            match[field] = {c.op: c.value}
        else:
            match.setdefault(field, {})[c.name] = {c.op: c.value}
    return match


def render_request_routing(params: RequestRouting, inventory: Inventory,
                           change_id: str | None = None) -> RenderedChange:
    target = resolved_target(params, inventory)
    spec = virtual_service_spec(target)
    http = [{"match": [_istio_match(rule.match)], "route": weighted_destinations(target, rule.weights)}
            for rule in params.rules]
    http.append({"route": weighted_destinations(target, params.default)})
    spec["http"] = http
    writes = routing_writes(target, spec, change_id, with_subsets=True)
    parts = [f"{' and '.join(_describe(c) for c in rule.match)} -> {percent_list(rule.weights)}"
             for rule in params.rules]
    summary = (f"Route requests to {target.label()}: " + "; ".join(parts)
               + f"; everything else -> {percent_list(params.default)}.")
    return service_change(KIND, params, target, writes, summary, inventory)


def _describe(c: MatchCondition) -> str:
    what = "URI" if c.type == "uri" else f"{'header' if c.type == 'header' else 'query parameter'} {c.name}"
    return f"{what} {c.op} {c.value!r}"
