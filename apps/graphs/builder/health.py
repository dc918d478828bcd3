"""Request health with Kiali's tolerances (per cluster configurable)."""
from __future__ import annotations

# The tolerance rules themselves (Kiali's defaults, checking and compiling a
# cluster's value) live in apps.clusters.tolerances: the cluster's write paths check them.
from apps.clusters.tolerances import DEGRADED, FAILURE, HEALTHY, Tolerance

NA = "NA"
_RANK = {NA: 0, HEALTHY: 1, DEGRADED: 2, FAILURE: 3}


class RequestJudge:
    """Request health under one set of rules, for every edge and node of a graph.

    A large graph asks about thousands of edges with the same few protocols and response codes, so
    which rules apply to a (protocol, direction) and which codes a rule's pattern matches are worked
    out once each and kept."""

    def __init__(self, rules: tuple[Tolerance, ...]):
        self.rules = rules
        self._applicable: dict[tuple[str, str], tuple[tuple[Tolerance, dict[str, bool]], ...]] = {}

    def _rules_for(self, protocol: str, direction: str) -> tuple[tuple[Tolerance, dict[str, bool]], ...]:
        key = (protocol, direction)
        found = self._applicable.get(key)
        if found is None:
            found = self._applicable[key] = tuple(
                (rule, {}) for rule in self.rules
                if rule.protocol.fullmatch(protocol) is not None and rule.direction.fullmatch(direction) is not None
            )
        return found

    def status(self, by_protocol: dict[str, dict[str, float]], direction: str) -> str:
        """Worst status over protocols; ``by_protocol`` = {protocol: {response code: rate}}."""
        worst = NA
        for protocol, codes in by_protocol.items():
            total = sum(codes.values())
            if total <= 0:
                continue
            status = HEALTHY
            for rule, matches in self._rules_for(protocol, direction):
                matched = 0.0
                for code, v in codes.items():
                    hit = matches.get(code)
                    if hit is None:
                        hit = matches[code] = rule.code.fullmatch(code) is not None
                    if hit:
                        matched += v
                s = rule.status(matched / total * 100.0)
                if _RANK[s] > _RANK[status]:
                    status = s
            if _RANK[status] > _RANK[worst]:
                worst = status
        return worst


def worst(*statuses: str) -> str:
    return max(statuses, key=_RANK.__getitem__, default=NA)
