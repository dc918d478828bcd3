"""Reads of a cluster's inventory, with authorization inside.

Everything a page or API endpoint shows about namespaces, workloads and
services is read from a ``MeshView`` (``apps.meshconfig.meshview``): the whole
cluster, validated as a whole, narrowed to the namespaces the user may see.
A detail lookup outside the user's namespaces raises ``Http404``, exactly as for
an object that does not exist.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import cast

from django.http import Http404

from apps.clusters.inventory import Namespace, Service, Workload
from apps.graphs.selectors import namespace_health_for_user
from apps.graphs.sources import GraphSource
from apps.meshconfig.meshview import MeshView, ObjectRef, refs
from apps.meshconfig.references import (
    objects_for_service,
    objects_for_workload,
    services_for_workload,
    workloads_for_service,
)

# ---------------------------------------------------------------------------
# Namespaces
# ---------------------------------------------------------------------------


@dataclass
class NamespaceSummary:
    name: str
    labels: dict[str, str]
    injection: str
    workloads: int = 0
    pods: int = 0
    pods_with_sidecar: int = 0
    services: int = 0
    istio_objects: int = 0
    validation_errors: int = 0
    validation_warnings: int = 0
    invalid_objects: int = 0
    health: str | None = None  # Healthy | Degraded | Failure | NA; None = not computed
    health_summary: str = ""  # "5 healthy, 1 failure"
    health_problems: list[str] = field(default_factory=list)  # "reviews-v2: 0 of 2 pods ready"
    health_error: str = ""  # why request health is missing (availability is still filled)


def namespace_summaries(view: MeshView, q: str = "") -> list[NamespaceSummary]:
    rows = {n.name: NamespaceSummary(n.name, dict(n.labels), n.injection) for n in view.inventory.namespaces}
    for w in view.inventory.workloads:
        if w.namespace in rows:
            row = rows[w.namespace]
            row.workloads += 1
            row.pods += len(w.pods)
            row.pods_with_sidecar += sum(1 for p in w.pods if p.has_sidecar)
    for s in view.inventory.services:
        if s.namespace in rows:
            rows[s.namespace].services += 1
    for o in view.inventory.istio_objects:
        if o.namespace in rows:
            rows[o.namespace].istio_objects += 1
    for (_, ns, _), ov in view.validations.items():
        if ns in rows:
            rows[ns].validation_errors += ov.errors
            rows[ns].validation_warnings += ov.warnings
            rows[ns].invalid_objects += 0 if ov.valid else 1
    result = sorted(rows.values(), key=lambda r: r.name)
    if q:
        result = [r for r in result if q.lower() in r.name.lower()]
    return result


def attach_health(user, view: MeshView, rows: list[NamespaceSummary]) -> str:
    """Fill health on ``rows`` (one telemetry query for all of them). Returns why request
    health is missing ("" when it is not); availability is filled either way.

    ``view`` must have been read from a ``GraphSource`` (``apps.graphs.sources``):
    the traffic comes from the same source as the inventory."""
    if not rows:
        return ""
    health, error = namespace_health_for_user(user, cast(GraphSource, view.source), [r.name for r in rows])
    for row in rows:
        h = health.get(row.name)
        if h is not None:
            row.health, row.health_summary, row.health_problems = h.status, h.summary, h.problems
        row.health_error = error
    return error


def get_namespace(view: MeshView, name: str) -> Namespace:
    for ns in view.inventory.namespaces:
        if ns.name == name:
            return ns
    raise Http404("No such namespace.")


# ---------------------------------------------------------------------------
# Workloads
# ---------------------------------------------------------------------------


def sidecar_state(workload: Workload) -> str:
    """'present' (every pod), 'partial', 'missing' (no pod has one) or 'no pods'."""
    if not workload.pods:
        return "no pods"
    with_sidecar = sum(1 for p in workload.pods if p.has_sidecar)
    if with_sidecar == len(workload.pods):
        return "present"
    return "partial" if with_sidecar else "missing"


def workload_list(view: MeshView, namespace: str | None = None, q: str = "") -> list[Workload]:
    if namespace is not None:
        get_namespace(view, namespace)  # 404 for hidden or unknown namespaces
    rows = sorted((w for w in view.inventory.workloads if namespace is None or w.namespace == namespace),
                  key=lambda w: (w.namespace, w.name, w.kind))
    if q:
        rows = [w for w in rows if q.lower() in w.name.lower() or q.lower() in w.app.lower()]
    return rows


@dataclass
class WorkloadDetail:
    workload: Workload
    sidecar: str
    services: list[Service] = field(default_factory=list)
    istio_objects: list[ObjectRef] = field(default_factory=list)


def workload_detail(view: MeshView, namespace: str, name: str, kind: str | None = None) -> WorkloadDetail:
    for w in view.inventory.workloads:
        if w.namespace == namespace and w.name == name and (kind is None or w.kind == kind):
            return WorkloadDetail(
                workload=w,
                sidecar=sidecar_state(w),
                services=services_for_workload(view.index, w),
                istio_objects=refs(view, objects_for_workload(view.index, w)),
            )
    raise Http404("No such workload.")


# ---------------------------------------------------------------------------
# Services
# ---------------------------------------------------------------------------


def service_list(view: MeshView, namespace: str | None = None, q: str = "") -> list[Service]:
    if namespace is not None:
        get_namespace(view, namespace)
    rows = sorted((s for s in view.inventory.services if namespace is None or s.namespace == namespace),
                  key=lambda s: (s.namespace, s.name))
    if q:
        rows = [s for s in rows if q.lower() in s.name.lower()]
    return rows


@dataclass
class ServiceDetail:
    service: Service
    workloads: list[Workload] = field(default_factory=list)
    istio_objects: list[ObjectRef] = field(default_factory=list)


def service_detail(view: MeshView, namespace: str, name: str) -> ServiceDetail:
    for s in view.inventory.services:
        if s.namespace == namespace and s.name == name:
            return ServiceDetail(
                service=s,
                workloads=workloads_for_service(view.index, s),
                istio_objects=refs(view, objects_for_service(view.index, s)),
            )
    raise Http404("No such service.")
