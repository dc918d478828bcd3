"""Sidecar injection on/off/removed for a namespace or a workload (Kiali's Enable/Disable/Remove Auto Injection).

* Namespace: the label ``istio-injection`` enabled / disabled / removed. Running
  pods keep (or lack) their sidecar until they restart, so the change may also
  restart chosen workloads (``"restart": ["ratings-v1"]`` or ``"all"``).
* Workload: the pod-template label ``sidecar.istio.io/inject`` "true" / "false" /
  removed. Changing the template replaces the workload's pods at once.
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from apps.clusters.inventory import Inventory, Namespace, Workload

from ..fields import FieldErrors, as_mapping, reject_unknown, text
from ..rendered import RenderedChange
from ..writes import TEMPLATE_KINDS, PatchNamespaceLabels, PatchWorkloadTemplate, PlannedWrite, RestartWorkload
from .base import find_namespace, namespace_field

KIND = "sidecar_injection"
STATES = ("enabled", "disabled", "removed")
NAMESPACE_LABEL = "istio-injection"
REVISION_LABEL = "istio.io/rev"
WORKLOAD_KEY = "sidecar.istio.io/inject"
_NAMESPACE_VALUE = {"enabled": "enabled", "disabled": "disabled", "removed": None}
_WORKLOAD_VALUE = {"enabled": "true", "disabled": "false", "removed": None}
_VERB = {"enabled": "Enable", "disabled": "Disable", "removed": "Remove the setting of"}


@dataclass(frozen=True)
class SidecarInjection:
    namespace: str
    state: str  # enabled, disabled, removed
    workload: str | None = None  # None: the namespace label
    workload_kind: str | None = None
    restart: tuple[str, ...] = ()  # workloads to restart after a namespace change
    kind = KIND

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"kind": KIND, "namespace": self.namespace, "state": self.state}
        if self.workload:
            out["workload"] = self.workload
            out["workload_kind"] = self.workload_kind
        if self.restart:
            out["restart"] = list(self.restart)
        return out


def _template_workloads(inventory: Inventory, namespace: str) -> list[Workload]:
    return [w for w in inventory.workloads if w.namespace == namespace and w.kind in TEMPLATE_KINDS]


def _find_workload(inventory: Inventory, namespace: str, name: str, kind: str | None,
                   errors: FieldErrors) -> Workload | None:
    found = [w for w in inventory.workloads if w.namespace == namespace and w.name == name
             and (kind is None or w.kind == kind)]
    if not found:
        known = sorted(w.name for w in _template_workloads(inventory, namespace))
        hint = f" Workloads there: {', '.join(known)}." if known else ""
        errors.add("workload", f"Workload {namespace}/{name} does not exist{f' as a {kind}' if kind else ''}.{hint}")
        return None
    if len(found) > 1:
        errors.add("workload_kind", f"{namespace}/{name} names a {' and a '.join(w.kind for w in found)}: "
                                    "give workload_kind.")
        return None
    if found[0].kind not in TEMPLATE_KINDS:
        errors.add("workload", f"{namespace}/{name} is a {found[0].kind} without a controller, so it has no pod "
                               f"template to label: change its {'/'.join(TEMPLATE_KINDS)} instead.")
        return None
    return found[0]


def _parse_restart(value: Any, inventory: Inventory, namespace: str, errors: FieldErrors) -> tuple[str, ...]:
    if value in (None, [], ""):
        return ()
    names = {w.name for w in _template_workloads(inventory, namespace)}
    if value == "all":
        return tuple(sorted(names))
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        errors.add("restart", 'Give the workloads to restart as a list of names, or "all".')
        return ()
    unknown = [v for v in value if v not in names]
    if unknown:
        errors.add("restart", f"No Deployment, StatefulSet or DaemonSet {', '.join(unknown)} in {namespace} "
                              "to restart.")
    if len(set(value)) != len(value):
        errors.add("restart", "A workload is listed twice in restart.")
    return tuple(sorted(set(value)))


def _namespace_already(ns: Namespace, state: str) -> bool:
    if state == "removed":
        return NAMESPACE_LABEL not in ns.labels
    return ns.labels.get(NAMESPACE_LABEL) == state and not (state == "enabled" and REVISION_LABEL in ns.labels)


def _workload_already(wl: Workload, state: str) -> bool:
    return wl.labels.get(WORKLOAD_KEY) == _WORKLOAD_VALUE[state] and WORKLOAD_KEY not in wl.annotations


def parse_sidecar_injection(data: Mapping[str, Any], inventory: Inventory) -> SidecarInjection:
    errors = FieldErrors()
    data = as_mapping(data, errors)
    reject_unknown(data, ("kind", "namespace", "state", "workload", "workload_kind", "restart"), errors)
    namespace = namespace_field(data, inventory, errors)
    state = data.get("state")
    if state not in STATES:
        errors.add("state", f"The state must be one of {', '.join(STATES)}, not {state!r}.")
        state = None
    workload_name = text(data, "workload", errors, required=False)
    kind = text(data, "workload_kind", errors, required=False)
    if kind is not None and kind not in TEMPLATE_KINDS:
        errors.add("workload_kind", f"workload_kind must be one of {', '.join(TEMPLATE_KINDS)}, not {kind!r}.")
        kind = None
    workload = restart = None
    if namespace is not None and workload_name is not None:
        workload = _find_workload(inventory, namespace, workload_name, kind, errors)
        if data.get("restart") not in (None, [], ""):
            errors.add("restart", "Changing a workload's pod template restarts its pods already: omit restart.")
        if workload is not None and state and _workload_already(workload, state):
            value = _WORKLOAD_VALUE[state]
            errors.add("state", f"{workload.kind} {namespace}/{workload.name} already has "
                                f"{WORKLOAD_KEY}{'=' + value if value else ' unset'}"
                                ": nothing to change.")
    elif namespace is not None:
        restart = _parse_restart(data.get("restart"), inventory, namespace, errors)
        ns = find_namespace(inventory, namespace)
        if ns is not None and state and _namespace_already(ns, state) and not restart and not errors.has("restart"):
            current = ns.labels.get(NAMESPACE_LABEL)
            have = f"{NAMESPACE_LABEL}={current}" if current else f"no {NAMESPACE_LABEL} label"
            errors.add("state", f"Namespace {namespace} already has {have}: nothing to change "
                                "(give restart to restart its workloads).")
    errors.raise_if_any()
    return SidecarInjection(namespace, state, workload.name if workload else None,  # type: ignore[arg-type]
                            workload.kind if workload else None, restart or ())


def render_sidecar_injection(params: SidecarInjection, inventory: Inventory,
                             change_id: str | None = None) -> RenderedChange:
    writes: list[PlannedWrite] = []
    warnings: list[str] = []
    ns = find_namespace(inventory, params.namespace)
    ns_labels = ns.labels if ns else {}
    if params.workload:
        wl = next(w for w in inventory.workloads if (w.kind, w.namespace, w.name) ==
                  (params.workload_kind, params.namespace, params.workload))
        annotations: dict[str, str | None] | None = None
        if WORKLOAD_KEY in wl.annotations:
            annotations = {WORKLOAD_KEY: None}
            warnings.append(f"The pod-template annotation {WORKLOAD_KEY}={wl.annotations[WORKLOAD_KEY]} is removed "
                            "too, so that the label alone decides.")
        writes.append(PatchWorkloadTemplate(wl.kind, wl.namespace, wl.name,
                                            labels={WORKLOAD_KEY: _WORKLOAD_VALUE[params.state]},
                                            annotations=annotations))
        if ns_labels.get(NAMESPACE_LABEL) == "disabled" and params.state == "enabled":
            warnings.append(f"Namespace {params.namespace} has {NAMESPACE_LABEL}=disabled, which wins: "
                            "the new pods still get no sidecar.")
        value = _WORKLOAD_VALUE[params.state]
        summary = (f"{_VERB[params.state]} sidecar injection for {wl.kind} {wl.namespace}/{wl.name} "
                   f"({WORKLOAD_KEY}{'=' + value if value else ' removed'}); its {len(wl.pods)} pod(s) restart.")
    else:
        labels: dict[str, str | None] = {}
        if ns is not None and not _namespace_already(ns, params.state):
            labels[NAMESPACE_LABEL] = _NAMESPACE_VALUE[params.state]
            if params.state == "enabled" and REVISION_LABEL in ns_labels:
                labels[REVISION_LABEL] = None
                warnings.append(f"The label {REVISION_LABEL}={ns_labels[REVISION_LABEL]} is removed: with "
                                f"{NAMESPACE_LABEL}=enabled the default revision injects.")
        if labels:
            writes.append(PatchNamespaceLabels(params.namespace, labels))
        kinds = {w.name: w.kind for w in _template_workloads(inventory, params.namespace)}
        writes.extend(RestartWorkload(kinds[name], params.namespace, name) for name in params.restart)
        value = _NAMESPACE_VALUE[params.state]
        what = f"{NAMESPACE_LABEL}={value}" if value else f"{NAMESPACE_LABEL} removed"
        summary = f"{_VERB[params.state]} sidecar injection in namespace {params.namespace} ({what})"
        if not labels:
            summary = f"Namespace {params.namespace} keeps {what.replace(' removed', ' unset')}"
        if params.restart:
            summary += f"; restart {', '.join(params.restart)}."
        else:
            summary += ". Running pods change only when they restart."
    return RenderedChange(kind=KIND, params=params.as_dict(), writes=tuple(writes), summary=summary,
                          warnings=tuple(warnings))
