"""Workload selectors that select nothing, and selector-less duplicates (Kiali: checkers/common)."""
from __future__ import annotations

from collections.abc import Iterator

from .base import (
    ERROR,
    WARNING,
    WORKLOAD_SELECTOR_PATHS,
    Finding,
    MeshIndex,
    at,
    check,
    key_of,
    workload_selector,
    workload_selector_path,
)


def _selector_no_workload(index: MeshIndex, kind: str) -> Iterator[Finding]:
    for obj in index.objects(kind):
        selector = workload_selector(obj)
        if not isinstance(selector, dict) or not selector:
            continue
        # In the root namespace a policy applies mesh-wide, so its selector may match anywhere.
        scope = None if obj.namespace == index.root_namespace else obj.namespace
        if not index.workloads_matching(selector, scope):
            pairs = ", ".join(f"{k}={v}" for k, v in sorted(selector.items()))
            where = "the mesh" if scope is None else f"namespace {obj.namespace}"
            yield Finding(obj, workload_selector_path(kind),
                          f"No workload in {where} has the labels {pairs}: this {kind} applies to nothing.")


def _selector_check(code: str, kind: str) -> None:
    """Registers KIA0004 for ``kind``: a workload selector that matches no workload."""
    selector = WORKLOAD_SELECTOR_PATHS[kind][0]
    check(code, kiali="KIA0004", severity=WARNING, kind=kind, title=f"{kind} {selector} matches no workload")(
        lambda index: _selector_no_workload(index, kind))


_selector_check("SIDECAR-SELECTOR-NO-WORKLOAD", "Sidecar")
_selector_check("AP-SELECTOR-NO-WORKLOAD", "AuthorizationPolicy")
_selector_check("PA-SELECTOR-NO-WORKLOAD", "PeerAuthentication")


@check("MULTI-SELECTORLESS", kiali="KIA0002", severity=ERROR, kind="Sidecar,PeerAuthentication",
       title="More than one selector-less Sidecar or PeerAuthentication in a namespace")
def multiple_selectorless(index: MeshIndex) -> Iterator[Finding]:
    for kind in ("Sidecar", "PeerAuthentication"):
        by_ns: dict[str, list] = {}
        for obj in index.objects(kind):
            if not workload_selector(obj):
                by_ns.setdefault(obj.namespace, []).append(obj)
        for objs in by_ns.values():
            if len(objs) < 2:
                continue
            for obj in objs:
                others = tuple(sorted(key_of(o) for o in objs if o is not obj))
                yield Finding(obj, "spec",
                              f"Another {kind} without a selector exists in namespace {obj.namespace}; "
                              "Istio picks only the oldest.", others)


@check("SIDECAR-GLOBAL-SELECTOR", kiali="KIA1006", severity=WARNING, kind="Sidecar",
       title="The root namespace's default Sidecar must not have a workloadSelector")
def sidecar_global_selector(index: MeshIndex) -> Iterator[Finding]:
    for sc in index.objects("Sidecar"):
        if sc.namespace == index.root_namespace and sc.name == "default" and at(sc.spec, "workloadSelector"):
            yield Finding(sc, "spec.workloadSelector",
                          f"The mesh-wide default Sidecar (in {index.root_namespace}) should not select workloads.")
