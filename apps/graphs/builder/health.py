"""Request health with Kiali's tolerances (per cluster configurable)."""
from __future__ import annotations

import re
from functools import lru_cache

# The tolerance rules themselves (Kiali's defaults, checking and compiling a
# cluster's value) live in apps.clusters.tolerances: the cluster's write paths check them.
from apps.clusters.tolerances import DEGRADED, FAILURE, HEALTHY, Tolerance

NA = "NA"
_RANK = {NA: 0, HEALTHY: 1, DEGRADED: 2, FAILURE: 3}


@lru_cache(maxsize=4096)  # a big graph asks the same few (pattern, code) pairs for every edge and node
def _full(pattern: re.Pattern[str], value: str) -> bool:
    return pattern.fullmatch(value) is not None


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
            if not _full(rule.protocol, protocol) or not _full(rule.direction, direction):
                continue
            matched = sum(v for code, v in codes.items() if _full(rule.code, code))
            s = rule.status(matched / total * 100.0)
            if _RANK[s] > _RANK[status]:
                status = s
        if _RANK[status] > _RANK[worst]:
            worst = status
    return worst


def worst(*statuses: str) -> str:
    return max(statuses, key=_RANK.__getitem__, default=NA)
