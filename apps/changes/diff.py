"""YAML with a stable key order, and unified diffs of a change's targets (live -> after).

Kubernetes' conventional order first (apiVersion, kind, metadata, spec; name,
namespace, labels, annotations), every other mapping sorted by key: the same
object always prints the same way, so a diff shows only what changes.
"""
from __future__ import annotations

import difflib
from typing import Any

import yaml

from apps.clusters.inventory import ISTIO_KINDS, Inventory

from .writes import NAMESPACE_KIND, PlannedWrite, Target, template_document

_TOP = ("apiVersion", "kind", "metadata", "spec")
_METADATA = ("name", "namespace", "labels", "annotations")
_ANY = ("name",)  # a list entry's name first (subsets, ports): how people write them


class _Dumper(yaml.SafeDumper):
    def ignore_aliases(self, data: Any) -> bool:  # never &id001 anchors for repeated values
        return True


def _ordered(value: Any, first: tuple[str, ...] = _ANY) -> Any:
    if isinstance(value, dict):
        keys = [k for k in first if k in value] + sorted((k for k in value if k not in first), key=str)
        return {k: _ordered(value[k], _METADATA if (first is _TOP and k == "metadata") else _ANY) for k in keys}
    if isinstance(value, list):
        return [_ordered(v) for v in value]
    return value


def manifest_yaml(document: dict[str, Any] | None) -> str:
    """One object as YAML in the stable order ("" for an absent object)."""
    if document is None:
        return ""
    return yaml.dump(_ordered(document, _TOP), Dumper=_Dumper, sort_keys=False, default_flow_style=False,
                     allow_unicode=True)


def target_document(target: Target, inventory: Inventory) -> dict[str, Any] | None:
    """What a diff shows of a target: a whole Istio object, a namespace's labels, a pod template's metadata."""
    if target.kind in ISTIO_KINDS:
        obj = next((o for o in inventory.istio_objects if (o.kind, o.namespace, o.name) == tuple(target)), None)
        return obj.to_manifest() if obj else None
    if target.kind == NAMESPACE_KIND:
        ns = next((n for n in inventory.namespaces if n.name == target.name), None)
        if ns is None:
            return None
        return {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns.name, "labels": dict(ns.labels)}}
    wl = next((w for w in inventory.workloads if (w.kind, w.namespace, w.name) == tuple(target)), None)
    if wl is None:
        return None
    return template_document(wl.kind, wl.namespace, wl.name, dict(wl.labels), dict(wl.annotations))


def unified_diff(before: str, after: str, target: Target, *, whole: bool = False) -> str:
    """``whole``: every line of both sides as context (for an object someone else wrote)."""
    path = f"{target.kind}/{target.namespace + '/' if target.namespace else ''}{target.name}"
    old, new = before.splitlines(), after.splitlines()
    context = max(len(old), len(new)) if whole else 3
    lines = difflib.unified_diff(old, new, fromfile=f"live/{path}", tofile=f"after/{path}", lineterm="", n=context)
    return "\n".join(lines)


def rendered_yaml(writes: tuple[PlannedWrite, ...]) -> str:
    """Every write as a YAML document, each headed by a comment saying what it does."""
    docs = []
    for write in writes:
        body = manifest_yaml(write.document())
        docs.append(f"# {write.describe()}\n{body}")
    return "---\n".join(docs)
