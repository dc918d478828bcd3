"""The cluster as it would be after a change: an Inventory with the planned writes applied (pure).

The preview validates this projection with the existing checkers and predicts
traffic on it. Pods replaced by a template change or a restart get their
sidecar from Istio's injection rules (the simulator's ``should_inject``, which
models the default webhooks); a namespace label alone leaves running pods as
they are, as on a real cluster.
"""
from __future__ import annotations

import copy

from apps.clusters.gateway import RESTARTED_AT_ANNOTATION
from apps.clusters.inventory import Inventory, IstioObject, Workload
from apps.simulator.mesh import should_inject

from .writes import (
    RESTART_STAMP,
    ApplyObject,
    DeleteObject,
    PatchNamespaceLabels,
    PatchWorkloadTemplate,
    PlannedWrite,
    RestartWorkload,
)


def _patch(target: dict[str, str], patch: dict[str, str | None] | None) -> None:
    for key, value in (patch or {}).items():
        if value is None:
            target.pop(key, None)
        else:
            target[key] = value


def _replace_pods(inventory: Inventory, workload: Workload) -> None:
    ns = next((n for n in inventory.namespaces if n.name == workload.namespace), None)
    sidecar = should_inject(ns.labels if ns else {}, workload.labels, workload.annotations)
    for pod in workload.pods:
        pod.has_sidecar = sidecar


def _apply(inventory: Inventory, manifest: dict) -> None:
    new = IstioObject.from_manifest(copy.deepcopy(manifest))
    for i, obj in enumerate(inventory.istio_objects):
        if (obj.kind, obj.namespace, obj.name) == (new.kind, new.namespace, new.name):
            # An update keeps the object's creation time (which decides which of two rules wins).
            if "creationTimestamp" in obj.metadata:
                new.metadata["creationTimestamp"] = obj.metadata["creationTimestamp"]
            inventory.istio_objects[i] = new
            return
    inventory.istio_objects.append(new)


def project_write(inventory: Inventory, write: PlannedWrite) -> None:
    """Apply one write to ``inventory`` in place."""
    if isinstance(write, ApplyObject):
        _apply(inventory, write.manifest)
    elif isinstance(write, DeleteObject):
        inventory.istio_objects = [o for o in inventory.istio_objects
                                   if (o.kind, o.namespace, o.name) != tuple(write.target)]
    elif isinstance(write, PatchNamespaceLabels):
        for ns in inventory.namespaces:
            if ns.name == write.namespace:
                _patch(ns.labels, write.labels)
    else:
        for wl in inventory.workloads:
            if (wl.kind, wl.namespace, wl.name) != tuple(write.target):
                continue
            if isinstance(write, PatchWorkloadTemplate):
                _patch(wl.labels, write.labels)
                _patch(wl.annotations, write.annotations)
            elif isinstance(write, RestartWorkload):
                wl.annotations[RESTARTED_AT_ANNOTATION] = RESTART_STAMP
            _replace_pods(inventory, wl)


def project_inventory(inventory: Inventory, writes: tuple[PlannedWrite, ...] | list[PlannedWrite]) -> Inventory:
    """A copy of ``inventory`` with every write applied in order (the original is untouched)."""
    projected = copy.deepcopy(inventory)
    for write in writes:
        project_write(projected, write)
    return projected
