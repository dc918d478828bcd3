"""Request-health tolerances of a cluster: Kiali's defaults, checking a value, compiling it.

Pure rules (no ORM, no HTTP). They live here, below the graphs app, because the
cluster's own write paths (model validation: the admin, the API, the command)
check ``Cluster.health_tolerances`` with them, and ``clusters`` must not import
``graphs``; the graph builder imports them from here.

A value in the database that does not pass (saved before these checks, or
written around them) never breaks a page: ``compile_tolerances`` answers
Kiali's defaults for it and the cluster page shows ``tolerance_problems``.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from django.core.exceptions import ValidationError

HEALTHY, DEGRADED, FAILURE = "Healthy", "Degraded", "Failure"

# Kiali's defaults: HTTP 5xx degraded > 0%, failure >= 10%; 4xx degraded >= 10%,
# failure >= 20%; gRPC non-OK and "no response" degraded > 0%, failure >= 10%.
DEFAULT_TOLERANCES: list[dict[str, Any]] = [
    {"code": "5XX", "protocol": "http", "direction": ".*", "degraded": 0, "failure": 10},
    {"code": "4XX", "protocol": "http", "direction": ".*", "degraded": 10, "failure": 20},
    {"code": "^[1-9]$|^1[0-6]$", "protocol": "grpc", "direction": ".*", "degraded": 0, "failure": 10},
    {"code": "^-$", "protocol": "http|grpc", "direction": ".*", "degraded": 0, "failure": 10},
]
PATTERN_KEYS = ("code", "protocol", "direction")
PERCENT_KEYS = ("degraded", "failure")
KEYS = PATTERN_KEYS + PERCENT_KEYS
# What a missing key means.
_DEFAULTS = {"code": ".*", "protocol": ".*", "direction": ".*", "degraded": 0, "failure": 100}


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


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _item_problems(item: Any, where: str) -> list[str]:
    if not isinstance(item, dict):
        example = '{"code": "5XX", "degraded": 0, "failure": 10}'
        return [f"{where} must be an object like {example}, got {item!r}"]
    problems = [f"{where}: unknown key {key!r} (known: {', '.join(KEYS)})" for key in item if key not in KEYS]
    for key in PATTERN_KEYS:
        raw = item.get(key, _DEFAULTS[key])
        if not isinstance(raw, str):
            problems.append(f"{where}: {key} must be text (a regular expression), got {raw!r}")
            continue
        try:
            _pattern(raw)
        except re.error as exc:
            problems.append(f"{where}: {key} {raw!r} is not a regular expression ({exc})")
    numbers_ok = True
    for key in PERCENT_KEYS:
        raw = item.get(key, _DEFAULTS[key])
        if not _is_number(raw):
            problems.append(f"{where}: {key} must be a number (percent), got {raw!r}")
            numbers_ok = False
        elif not 0 <= raw <= 100:
            problems.append(f"{where}: {key} must be between 0 and 100, got {raw!r}")
            numbers_ok = False
    if numbers_ok:
        degraded, failure = (item.get(key, _DEFAULTS[key]) for key in PERCENT_KEYS)
        if degraded > failure:
            problems.append(f"{where}: degraded ({degraded}) must not be above failure ({failure})")
    return problems


def tolerance_problems(config: Any) -> list[str]:
    """Everything wrong with a health_tolerances value, one sentence each ([] when it is usable).

    Items are counted from 1, as a person reads the list.
    """
    if config is None or config == []:
        return []
    if not isinstance(config, list):
        return [("health_tolerances must be a list of {code, protocol, direction, degraded, failure} objects "
                 "(or empty for Kiali's defaults)")]
    problems: list[str] = []
    for i, item in enumerate(config, start=1):
        problems += _item_problems(item, f"health_tolerances item {i}")
    return problems


def validate_health_tolerances(value: Any) -> None:
    """Raises ValidationError({"health_tolerances": problems}); ``Cluster.clean`` runs it on every write."""
    problems = tolerance_problems(value)
    if problems:
        raise ValidationError({"health_tolerances": problems}, code="invalid_tolerances")


@lru_cache(maxsize=64)
def _compile(frozen: tuple) -> tuple[Tolerance, ...]:
    return tuple(
        Tolerance(_pattern(c), _pattern(p), _pattern(d), float(deg), float(fail)) for c, p, d, deg, fail in frozen
    )


def compile_tolerances(config: Any) -> tuple[Tolerance, ...]:
    """The rules to judge health by: ``config``, or Kiali's defaults when it is empty or unusable."""
    items = config if config and not tolerance_problems(config) else DEFAULT_TOLERANCES
    return _compile(tuple(tuple(t.get(key, _DEFAULTS[key]) for key in KEYS) for t in items))
