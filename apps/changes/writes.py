"""The writes a change makes: one dataclass per write method of ``ClusterGateway``.

A ``PlannedWrite`` is plain data: it serialises to canonical JSON (what an
approval's payload hash covers), executes against any gateway, and can capture
the state it is about to overwrite (``capture_prior_state``) so that the write
can be undone exactly (``restore_write``, ``rollback_writes``).

| write                   | gateway method              | target                              |
|-------------------------|-----------------------------|-------------------------------------|
| ``ApplyObject``         | ``apply_istio_object``      | (kind, namespace, name)             |
| ``DeleteObject``        | ``delete_istio_object``     | (kind, namespace, name)             |
| ``PatchNamespaceLabels``| ``patch_namespace_labels``  | ("Namespace", "", name)             |
| ``PatchWorkloadTemplate``| ``patch_workload_template``| (Deployment/..., namespace, name)   |
| ``RestartWorkload``     | ``restart_workload``        | (Deployment/..., namespace, name)   |
"""
from __future__ import annotations

import copy
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from apps.clusters.gateway import RESTARTED_AT_ANNOTATION
from apps.clusters.inventory import ISTIO_KINDS, Inventory

NAMESPACE_KIND = "Namespace"
TEMPLATE_KINDS = ("Deployment", "StatefulSet", "DaemonSet")
RESTART_STAMP = "<time of apply>"  # a restart's restartedAt before it is applied (previews, diffs)


class Target(NamedTuple):
    """An object a change writes: ``("VirtualService", "bookinfo", "reviews")``,
    ``("Namespace", "", "bookinfo")``, ``("Deployment", "bookinfo", "ratings-v1")``."""

    kind: str
    namespace: str
    name: str

    def __str__(self) -> str:
        if self.kind == NAMESPACE_KIND:
            return f"Namespace {self.name}"
        return f"{self.kind} {self.namespace}/{self.name}"

    def as_dict(self) -> dict[str, str]:
        return {"kind": self.kind, "namespace": self.namespace, "name": self.name}


def template_document(kind: str, namespace: str, name: str, labels: dict, annotations: dict) -> dict[str, Any]:
    """A workload as a diff shows it: its pod template's labels and annotations."""
    tmeta: dict[str, Any] = {}
    if labels:
        tmeta["labels"] = labels
    if annotations:
        tmeta["annotations"] = annotations
    return {"apiVersion": "apps/v1", "kind": kind, "metadata": {"name": name, "namespace": namespace},
            "spec": {"template": {"metadata": tmeta}}}


def _labels(value: Mapping[str, Any] | None) -> dict[str, str | None] | None:
    if value is None:
        return None
    return {str(k): (None if v is None else str(v)) for k, v in value.items()}


@dataclass(frozen=True)
class ApplyObject:
    """Create or replace an Istio object (server-side apply)."""

    manifest: dict[str, Any]
    op = "apply"

    @property
    def target(self) -> Target:
        meta = self.manifest.get("metadata") or {}
        return Target(self.manifest["kind"], meta.get("namespace", ""), meta["name"])

    def as_dict(self) -> dict[str, Any]:
        return {"op": self.op, "manifest": copy.deepcopy(self.manifest)}

    def execute(self, gateway: Any, *, resource_version: str | None = None) -> Any:
        return gateway.apply_istio_object(copy.deepcopy(self.manifest), resource_version=resource_version)

    def document(self) -> dict[str, Any]:
        """The body the write sends (for a patch, a merge patch: null removes a key)."""
        return self.manifest

    def describe(self) -> str:
        return f"apply {self.target}"


@dataclass(frozen=True)
class _NamedObjectWrite:
    """A write that names its object and carries nothing else."""

    kind: str
    namespace: str
    name: str
    op = ""

    @property
    def target(self) -> Target:
        return Target(self.kind, self.namespace, self.name)

    def as_dict(self) -> dict[str, Any]:
        return {"op": self.op, "kind": self.kind, "namespace": self.namespace, "name": self.name}


@dataclass(frozen=True)
class DeleteObject(_NamedObjectWrite):
    op = "delete"

    def execute(self, gateway: Any, *, resource_version: str | None = None) -> Any:
        return gateway.delete_istio_object(self.kind, self.namespace, self.name, resource_version=resource_version)

    def document(self) -> dict[str, Any]:
        group, version, _ = ISTIO_KINDS.get(self.kind, ("", "", ""))
        return {"apiVersion": f"{group}/{version}", "kind": self.kind,
                "metadata": {"name": self.name, "namespace": self.namespace}}

    def describe(self) -> str:
        return f"delete {self.target}"


@dataclass(frozen=True)
class PatchNamespaceLabels:
    """Set (or, with None, remove) labels of a namespace; other labels are left alone."""

    namespace: str
    labels: dict[str, str | None]
    op = "patch_namespace_labels"

    @property
    def target(self) -> Target:
        return Target(NAMESPACE_KIND, "", self.namespace)

    def as_dict(self) -> dict[str, Any]:
        return {"op": self.op, "namespace": self.namespace, "labels": dict(self.labels)}

    def execute(self, gateway: Any, *, resource_version: str | None = None) -> Any:
        return gateway.patch_namespace_labels(self.namespace, dict(self.labels), resource_version=resource_version)

    def document(self) -> dict[str, Any]:
        return {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": self.namespace,
                                                                        "labels": dict(self.labels)}}

    def describe(self) -> str:
        return f"label {self.target}: " + _describe_labels(self.labels)


@dataclass(frozen=True)
class PatchWorkloadTemplate:
    """Set or remove pod-template labels/annotations; the controller replaces every pod."""

    kind: str
    namespace: str
    name: str
    labels: dict[str, str | None] | None = None
    annotations: dict[str, str | None] | None = None
    op = "patch_workload_template"

    @property
    def target(self) -> Target:
        return Target(self.kind, self.namespace, self.name)

    def as_dict(self) -> dict[str, Any]:
        return {"op": self.op, "kind": self.kind, "namespace": self.namespace, "name": self.name,
                "labels": None if self.labels is None else dict(self.labels),
                "annotations": None if self.annotations is None else dict(self.annotations)}

    def execute(self, gateway: Any, *, resource_version: str | None = None) -> Any:
        return gateway.patch_workload_template(
            self.kind, self.namespace, self.name,
            labels=None if self.labels is None else dict(self.labels),
            annotations=None if self.annotations is None else dict(self.annotations),
            resource_version=resource_version,
        )

    def document(self) -> dict[str, Any]:
        return template_document(self.kind, self.namespace, self.name, dict(self.labels or {}),
                                 dict(self.annotations or {}))

    def describe(self) -> str:
        parts = []
        if self.labels:
            parts.append("labels " + _describe_labels(self.labels))
        if self.annotations:
            parts.append("annotations " + _describe_labels(self.annotations))
        return f"patch the pod template of {self.target}: " + "; ".join(parts)


@dataclass(frozen=True)
class RestartWorkload(_NamedObjectWrite):
    """``kubectl rollout restart``: new pods, so injection rules are read again."""

    op = "restart_workload"

    def execute(self, gateway: Any, *, resource_version: str | None = None) -> Any:
        # A rollout restart carries no precondition (kubectl's neither): it only stamps the template.
        return gateway.restart_workload(self.kind, self.namespace, self.name)

    def document(self) -> dict[str, Any]:
        return template_document(self.kind, self.namespace, self.name, {}, {RESTARTED_AT_ANNOTATION: RESTART_STAMP})

    def describe(self) -> str:
        return f"restart {self.target} (rollout restart)"


PlannedWrite = ApplyObject | DeleteObject | PatchNamespaceLabels | PatchWorkloadTemplate | RestartWorkload


def _describe_labels(labels: Mapping[str, str | None]) -> str:
    return ", ".join(f"{k}={v}" if v is not None else f"{k} removed" for k, v in labels.items())


def write_from_dict(data: Mapping[str, Any]) -> PlannedWrite:
    """The inverse of ``as_dict`` (a stored payload back into writes). ValueError on a bad shape."""
    op = data.get("op")
    try:
        if op == ApplyObject.op:
            return ApplyObject(copy.deepcopy(dict(data["manifest"])))
        if op == DeleteObject.op:
            return DeleteObject(data["kind"], data["namespace"], data["name"])
        if op == PatchNamespaceLabels.op:
            return PatchNamespaceLabels(data["namespace"], _labels(data["labels"]) or {})
        if op == PatchWorkloadTemplate.op:
            return PatchWorkloadTemplate(data["kind"], data["namespace"], data["name"],
                                         _labels(data.get("labels")), _labels(data.get("annotations")))
        if op == RestartWorkload.op:
            return RestartWorkload(data["kind"], data["namespace"], data["name"])
    except (KeyError, TypeError, AttributeError) as exc:
        raise ValueError(f"A planned write {op!r} is missing {exc}.") from exc
    raise ValueError(f"Unknown planned write {op!r}.")


# ---------------------------------------------------------------------------
# Prior state and undo
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class PriorState:
    """What one target looked like before a change wrote it.

    ``state`` is, for an Istio object, its manifest (``IstioObject.to_manifest()``)
    or None when it did not exist; for a namespace or a workload template,
    ``{"labels": {...}, "annotations": {...}}`` holding the previous value of every
    key the write touched (None: the key was absent). Keys the write did not touch
    are not recorded, so undoing never clobbers what others changed since.
    """

    target: Target
    state: dict[str, Any] | None = field(default=None)

    def as_dict(self) -> dict[str, Any]:
        return {"target": self.target.as_dict(), "state": copy.deepcopy(self.state)}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> PriorState:
        t = data["target"]
        state = data.get("state")
        return cls(Target(str(t["kind"]), str(t.get("namespace") or ""), str(t["name"])),
                   None if state is None else copy.deepcopy(dict(state)))


def capture_prior_state(write: PlannedWrite, inventory: Inventory) -> PriorState:
    """The state ``write`` is about to overwrite, read from ``inventory`` (read it just before writing)."""
    target = write.target
    if isinstance(write, (ApplyObject, DeleteObject)):
        for obj in inventory.istio_objects:
            if (obj.kind, obj.namespace, obj.name) == tuple(target):
                return PriorState(target, obj.to_manifest())
        return PriorState(target, None)
    if isinstance(write, PatchNamespaceLabels):
        ns = next((n for n in inventory.namespaces if n.name == write.namespace), None)
        current = ns.labels if ns else {}
        return PriorState(target, {"labels": {k: current.get(k) for k in write.labels}})
    wl = next((w for w in inventory.workloads if (w.kind, w.namespace, w.name) == tuple(target)), None)
    labels = wl.labels if wl else {}
    annotations = wl.annotations if wl else {}
    if isinstance(write, RestartWorkload):
        touched_labels: list[str] = []
        touched_annotations = [RESTARTED_AT_ANNOTATION]
    else:
        touched_labels = list(write.labels or {})
        touched_annotations = list(write.annotations or {})
    state: dict[str, Any] = {}
    if touched_labels:
        state["labels"] = {k: labels.get(k) for k in touched_labels}
    if touched_annotations:
        state["annotations"] = {k: annotations.get(k) for k in touched_annotations}
    return PriorState(target, state)


def _matches(current: Mapping[str, str], wanted: Mapping[str, str | None] | None) -> bool:
    return all(current.get(k) == v for k, v in (wanted or {}).items())


def write_in_place(write: PlannedWrite, inventory: Inventory, prior: PriorState | None = None) -> bool:
    """Does ``inventory`` show what ``write`` makes? An applied object: its spec and the labels the
    write sets; a restart: a restartedAt other than the one in ``prior`` (the state before it)."""
    t = write.target
    if isinstance(write, (ApplyObject, DeleteObject)):
        obj = next((o for o in inventory.istio_objects if (o.kind, o.namespace, o.name) == tuple(t)), None)
        if isinstance(write, DeleteObject):
            return obj is None
        meta = write.manifest.get("metadata") or {}
        return (obj is not None and obj.spec == (write.manifest.get("spec") or {})
                and _matches(obj.metadata.get("labels") or {}, meta.get("labels")))
    if isinstance(write, PatchNamespaceLabels):
        ns = next((n for n in inventory.namespaces if n.name == write.namespace), None)
        return ns is not None and _matches(ns.labels, write.labels)
    wl = next((w for w in inventory.workloads if (w.kind, w.namespace, w.name) == tuple(t)), None)
    if wl is None:
        return False
    if isinstance(write, RestartWorkload):  # a restart stamps a new restartedAt
        before = ((prior.state or {}).get("annotations") or {}).get(RESTARTED_AT_ANNOTATION) if prior else None
        return wl.annotations.get(RESTARTED_AT_ANNOTATION) != before
    return _matches(wl.labels, write.labels) and _matches(wl.annotations, write.annotations)


def restore_write(prior: PriorState) -> PlannedWrite:
    """The write that puts ``prior.target`` back as it was.

    A restarted workload is restored by putting its ``restartedAt`` annotation
    back: that changes the pod template again, so its pods are replaced and pick
    up the (restored) injection settings.
    """
    t = prior.target
    if t.kind in ISTIO_KINDS:
        if prior.state is None:
            return DeleteObject(t.kind, t.namespace, t.name)
        return ApplyObject(copy.deepcopy(prior.state))
    state = prior.state or {}
    if t.kind == NAMESPACE_KIND:
        return PatchNamespaceLabels(t.name, _labels(state.get("labels")) or {})
    return PatchWorkloadTemplate(t.kind, t.namespace, t.name,
                                 _labels(state.get("labels")), _labels(state.get("annotations")))


def _rollback_rank(write: PlannedWrite) -> int:
    # Namespace labels first, then Istio objects, then pod templates: pods replaced
    # by a restored template must see the restored namespace labels.
    if isinstance(write, PatchNamespaceLabels):
        return 0
    if isinstance(write, (ApplyObject, DeleteObject)):
        return 1
    return 2


def rollback_writes(priors: list[PriorState] | tuple[PriorState, ...]) -> tuple[PlannedWrite, ...]:
    """The writes that undo a change whose prior states were recorded in write order.

    Undone in reverse order (a VirtualService stops naming a subset before the
    DestinationRule that defined it changes); a target written twice is restored
    to the state before its first write.
    """
    first: dict[Target, PriorState] = {}
    for prior in priors:
        first.setdefault(prior.target, prior)
    undo = [restore_write(p) for p in reversed(list(first.values()))]
    return tuple(sorted(undo, key=_rollback_rank))
