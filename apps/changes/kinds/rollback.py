"""Rollback of an applied change: put every object it wrote back as it was.

Input: the prior states recorded when the change was applied (``PriorState.as_dict()``
in write order) and, for the record, the id of the change::

    {"kind": "rollback", "change": "42", "prior_states": [
        {"target": {"kind": "DestinationRule", "namespace": "bookinfo", "name": "reviews"}, "state": null},
        {"target": {"kind": "VirtualService", "namespace": "bookinfo", "name": "reviews"},
         "state": {"apiVersion": "networking.istio.io/v1", "kind": "VirtualService", ...}}]}

An object that was absent is deleted, any other is applied exactly as recorded
(so Meshdeck's labels go too when the object was not Meshdeck's); labels and
annotations get their previous values. Targets already back in their prior
state are skipped. An object someone else has written since (it no longer
carries Meshdeck's label) is only overwritten with ``take_over``.
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from apps.clusters.inventory import ISTIO_KINDS, Inventory

from ..fields import FieldErrors, as_mapping, flag, reject_unknown
from ..managed import is_managed, managed_service
from ..rendered import RenderedChange
from ..writes import (
    NAMESPACE_KIND,
    TEMPLATE_KINDS,
    ApplyObject,
    DeleteObject,
    PlannedWrite,
    PriorState,
    rollback_writes,
    write_in_place,
)
from .base import find_istio_object

KIND = "rollback"


@dataclass(frozen=True)
class Rollback:
    prior_states: tuple[PriorState, ...]
    change: str = ""  # the change rolled back
    take_over: bool = False
    kind = KIND

    def as_dict(self) -> dict[str, Any]:
        return {"kind": KIND, "change": self.change, "take_over": self.take_over,
                "prior_states": [p.as_dict() for p in self.prior_states]}


def _key_values(value: Any) -> bool:
    return isinstance(value, Mapping) and all(
        isinstance(k, str) and (v is None or isinstance(v, str)) for k, v in value.items())


def _parse_prior(raw: Any, errors: FieldErrors, path: str) -> PriorState | None:
    try:
        prior = PriorState.from_dict(raw)
    except (KeyError, TypeError, AttributeError, ValueError):
        errors.add(path, 'A prior state is {"target": {"kind", "namespace", "name"}, "state": ...}.')
        return None
    t, state = prior.target, prior.state
    if t.kind in ISTIO_KINDS:
        meta = (state or {}).get("metadata") or {}
        if state is not None and (state.get("kind") != t.kind or meta.get("name") != t.name
                                  or meta.get("namespace") != t.namespace):
            errors.add(f"{path}.state", f"The recorded manifest is not the one of {t}.")
            return None
    elif t.kind == NAMESPACE_KIND or t.kind in TEMPLATE_KINDS:
        parts = state or {}
        if set(parts) - {"labels", "annotations"} or not all(_key_values(v) for v in parts.values()):
            errors.add(f"{path}.state",
                       f"The recorded state of {t} must be labels/annotations with text or null values.")
            return None
    else:
        errors.add(f"{path}.target", f"Cannot restore a {t.kind}: changes write Istio objects, namespace labels "
                                     "and pod templates only.")
        return None
    return prior


def parse_rollback(data: Mapping[str, Any], inventory: Inventory) -> Rollback:
    errors = FieldErrors()
    data = as_mapping(data, errors)
    reject_unknown(data, ("kind", "change", "prior_states", "take_over"), errors)
    raw = data.get("prior_states")
    priors = []
    if not isinstance(raw, list) or not raw:
        errors.add("prior_states", "Give the prior state of every object the change wrote (recorded at apply).")
    else:
        priors = [_parse_prior(p, errors, f"prior_states[{i}]") for i, p in enumerate(raw)]
    take_over = flag(data, "take_over", errors)
    errors.raise_if_any()
    rollback = Rollback(tuple(priors), str(data.get("change") or ""), take_over)  # type: ignore[arg-type]
    if not _effective_writes(rollback, inventory)[0]:
        errors.add("prior_states", "The cluster is already as it was before the change: nothing to roll back.")
        errors.raise_if_any()
    return rollback


def _already_restored(write: PlannedWrite, inventory: Inventory) -> bool:
    if isinstance(write, ApplyObject):  # the recorded manifest exactly, not only its spec
        live = find_istio_object(inventory, *write.target)
        return live is not None and live.to_manifest() == write.manifest
    # A delete, or labels and annotations put back (restore_write never restarts a workload).
    return write_in_place(write, inventory)


def _effective_writes(params: Rollback, inventory: Inventory) -> tuple[tuple[PlannedWrite, ...], list[str]]:
    writes, skipped = [], []
    for write in rollback_writes(params.prior_states):
        if _already_restored(write, inventory):
            skipped.append(f"{write.target} is already as it was before the change.")
        else:
            writes.append(write)
    return tuple(writes), skipped


def render_rollback(params: Rollback, inventory: Inventory, change_id: str | None = None) -> RenderedChange:
    writes, warnings = _effective_writes(params, inventory)
    foreign = []
    services: dict[tuple[str, str], None] = {}
    for write in writes:
        if not isinstance(write, (ApplyObject, DeleteObject)):
            continue
        live = find_istio_object(inventory, *write.target)
        if live is not None and not is_managed(live):
            foreign.append(write.target)
        for obj in (live, write.manifest if isinstance(write, ApplyObject) else None):
            service = managed_service(obj) if obj is not None else None
            if service:
                services.setdefault((write.target.namespace, service), None)
    of = f" of change {params.change}" if params.change else ""
    summary = f"Roll back{of}: " + "; ".join(w.describe() for w in writes) + "."
    return RenderedChange(kind=KIND, params=params.as_dict(), writes=writes, summary=summary,
                          warnings=tuple(warnings), foreign=tuple(foreign), take_over=params.take_over,
                          services=tuple(services))
