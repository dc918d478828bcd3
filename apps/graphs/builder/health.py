"""Request health with Kiali's tolerances (per cluster configurable)."""
from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Iterable

HEALTHY, DEGRADED, FAILURE, NA = "Healthy", "Degraded", "Failure", "NA"
_RANK = {NA: 0, HEALTHY: 1, DEGRADED: 2, FAILURE: 3}

# Kiali's defaults: HTTP 5xx degraded > 0%, failure >= 10%; 4xx degraded >= 10%,
# failure >= 20%; gRPC non-OK and "no response" degraded > 0%, failure >= 10%.
DEFAULT_TOLERANCES: list[dict[str, Any]] = [
    {"code": "5XX", "protocol": "http", "direction": ".*", "degraded": 0, "failure": 10},
    {"code": "4XX", "protocol": "http", "direction": ".*", "degraded": 10, "failure": 20},
    {"code": "^[1-9]$|^1[0-6]$", "protocol": "grpc", "direction": ".*", "degraded": 0, "failure": 10},
    {"code": "^-$", "protocol": "http|grpc", "direction": ".*", "degraded": 0, "failure": 10},
]


@dataclass(frozen=True)
class Tolerance:
    code: re.Pattern[str]
    protocol: re.Pattern[str]
    direction: re.Pattern[str]
    degraded: float
    failure: float

    def status(self, percent: float) -> str:
        if percent >= self.failure:
            return FAILURE
        if percent > 0 and percent >= self.degraded:
            return DEGRADED
        return HEALTHY


def _pattern(raw: str) -> re.Pattern[str]:
    # Kiali's shorthand: "5XX" means any 5xx code.
    return re.compile(str(raw).replace("X", r"\d").replace("x", r"\d"))


@lru_cache(maxsize=64)
def _compile(frozen: tuple) -> tuple[Tolerance, ...]:
    return tuple(
        Tolerance(_pattern(c), _pattern(p), _pattern(d), float(deg), float(fail)) for c, p, d, deg, fail in frozen
    )


def tolerances(config: Iterable[dict[str, Any]] | None) -> tuple[Tolerance, ...]:
    """Compile a tolerance list (cluster.health_tolerances, or the defaults when None/empty)."""
    items = list(config or DEFAULT_TOLERANCES)
    frozen = tuple(
        (t.get("code", ".*"), t.get("protocol", ".*"), t.get("direction", ".*"), t.get("degraded", 0), t.get("failure", 100))
        for t in items
    )
    return _compile(frozen)


def validate_tolerances(config: Any) -> list[str]:
    """Problems with a health_tolerances value, for the cluster admin form/API."""
    if config in (None, []):
        return []
    if not isinstance(config, list):
        return ["health_tolerances must be a list of {code, protocol, direction, degraded, failure}"]
    errors = []
    for i, t in enumerate(config):
        if not isinstance(t, dict):
            errors.append(f"item {i} is not an object")
            continue
        for key in ("code", "protocol", "direction"):
            try:
                _pattern(t.get(key, ".*"))
            except re.error as exc:
                errors.append(f"item {i}: {key} is not a regex ({exc})")
        for key in ("degraded", "failure"):
            if not isinstance(t.get(key, 0), (int, float)):
                errors.append(f"item {i}: {key} must be a number (percent)")
    return errors


def request_status(
    by_protocol: dict[str, dict[str, float]], direction: str, rules: tuple[Tolerance, ...]
) -> str:
    """Worst status over protocols; ``by_protocol`` = {protocol: {response code: rate}}."""
    worst = NA
    for protocol, codes in by_protocol.items():
        total = sum(codes.values())
        if total <= 0:
            continue
        status = HEALTHY
        for rule in rules:
            if not rule.protocol.fullmatch(protocol) or not rule.direction.fullmatch(direction):
                continue
            matched = sum(v for code, v in codes.items() if rule.code.fullmatch(code))
            s = rule.status(matched / total * 100.0)
            if _RANK[s] > _RANK[status]:
                status = s
        if _RANK[status] > _RANK[worst]:
            worst = status
    return worst


def worst(*statuses: str) -> str:
    return max(statuses, key=_RANK.__getitem__, default=NA)
