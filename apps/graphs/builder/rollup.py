"""Namespace health: workload availability and request health, rolled up. Pure.

Kiali's overview colours a namespace by the worst of its apps, and an app's
health by the worst of (pods available vs desired, request error rates against
the tolerances). Meshdeck rolls up per workload, which is the unit an operator
acts on (scale it, roll it back, shift traffic away from it):

- availability: desired 0 -> NA (scaled to zero); 0 ready of N -> Failure;
  fewer ready than desired -> Degraded; all ready -> Healthy.
- requests: the status the graph builder gave the workload's node (inbound and
  outbound, Kiali's tolerances); no traffic -> NA.
- a workload's status is the worse of the two; a namespace's is its worst
  workload's, with the count of workloads per status and the reasons.
"""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from apps.clusters.inventory import Workload

from .health import DEGRADED, FAILURE, HEALTHY, NA, worst
from .model import Graph
from .traffic import is_error_code

STATUSES = (FAILURE, DEGRADED, HEALTHY, NA)


@dataclass
class NamespaceHealth:
    status: str = NA
    workloads: dict[str, int] = field(default_factory=lambda: {s: 0 for s in STATUSES})
    problems: list[str] = field(default_factory=list)  # "reviews-v2: 0 of 2 pods ready", worst first

    @property
    def summary(self) -> str:
        parts = [f"{n} {s.lower()}" for s, n in self.workloads.items() if n and s != NA]
        return ", ".join(parts) or "no data"


def availability(workload: Workload) -> tuple[str, str]:
    """(status, reason); reason is "" when healthy or unknown."""
    desired, ready = workload.replicas, workload.ready_replicas
    if desired <= 0:
        return NA, ""
    if ready <= 0:
        return FAILURE, f"0 of {desired} pods ready"
    if ready < desired:
        return DEGRADED, f"{ready} of {desired} pods ready"
    return HEALTHY, ""


def _error_percent(by_protocol: dict[str, dict[str, float]]) -> float:
    rates = [(is_error_code(protocol, code), rate) for protocol, codes in by_protocol.items()
             for code, rate in codes.items()]
    total = sum(rate for _, rate in rates)
    return sum(rate for error, rate in rates if error) / total * 100.0 if total > 0 else 0.0


def _request_reason(health: dict) -> str:
    parts = []
    for direction in ("inbound", "outbound"):
        codes = (health.get("requests") or {}).get(direction) or {}
        pct = _error_percent(codes)
        if pct > 0:
            parts.append(f"{pct:.1f}% errors {direction}")
    return ", ".join(parts)


@dataclass(frozen=True)
class WorkloadHealth:
    status: str
    reason: str = ""  # "0 of 2 pods ready; 12.0% errors inbound" when not healthy


def workload_health(workloads: Iterable[Workload], graph: Graph | None) -> dict[tuple[str, str], WorkloadHealth]:
    """Health per (namespace, workload name). ``graph``: a workload graph covering them, or
    None when telemetry could not be read (availability only)."""
    request_health: dict[tuple[str, str], dict] = {}
    if graph is not None:
        for node in graph.nodes.values():
            if node.node_type == "workload" and node.health:
                request_health[(node.namespace, node.workload)] = node.health
    bad = (FAILURE, DEGRADED)
    result = {}
    for w in workloads:
        avail, avail_reason = availability(w)
        req = request_health.get((w.namespace, w.name))
        req_status = req["status"] if req else NA
        status = worst(avail, req_status)
        reasons = [r for r in (avail_reason if avail in bad else "",
                               _request_reason(req) if req and req_status in bad else "") if r]
        result[(w.namespace, w.name)] = WorkloadHealth(status, "; ".join(reasons))
    return result


def namespace_health(workloads: Iterable[Workload], graph: Graph | None,
                     namespaces: Iterable[str]) -> dict[str, NamespaceHealth]:
    """Health per namespace: its worst workload's, with counts and the unhealthy ones, worst first."""
    result = {ns: NamespaceHealth() for ns in namespaces}
    ranked: dict[str, list[tuple[int, str]]] = {ns: [] for ns in result}
    order = {FAILURE: 0, DEGRADED: 1}
    workloads = [w for w in workloads if w.namespace in result]
    for (ns, name), h in workload_health(workloads, graph).items():
        row = result[ns]
        row.workloads[h.status] += 1
        row.status = worst(row.status, h.status)
        if h.status in order:
            ranked[ns].append((order[h.status], f"{name}: {h.reason}"))
    for ns, items in ranked.items():
        result[ns].problems = [text for _, text in sorted(items)]
    return result


__all__ = ["NamespaceHealth", "WorkloadHealth", "availability", "namespace_health", "workload_health", "HEALTHY",
           "DEGRADED", "FAILURE", "NA"]
