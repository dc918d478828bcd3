"""How Meshdeck marks the objects it generates, and recognises them later.

A generated VirtualService or DestinationRule carries

* the label ``app.kubernetes.io/managed-by: meshdeck`` (Kubernetes' recommended
  label: other tools and people can see who owns it),
* the label ``meshdeck.io/service: <service>``, so "delete traffic routing" finds
  exactly what Meshdeck generated for a service (Kiali uses ``kiali_wizard``),
* the annotation ``meshdeck.io/change-id``: the change request that last wrote it.
  The renderer writes ``CHANGE_ID_PLACEHOLDER`` unless it is given the id;
  ``RenderedChange.with_change_id`` fills it in.

An object without the managed-by label was written by someone else: a change
that would replace it must say so and be acknowledged (``take_over``).
"""
from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any

from apps.clusters.inventory import IstioObject

MANAGED_BY_LABEL = "app.kubernetes.io/managed-by"
MANAGED_BY_VALUE = "meshdeck"
SERVICE_LABEL = "meshdeck.io/service"
CHANGE_ID_ANNOTATION = "meshdeck.io/change-id"
CHANGE_ID_PLACEHOLDER = "<change-id>"


def is_managed(obj: IstioObject | Mapping[str, Any] | None) -> bool:
    if obj is None:
        return False
    meta = obj.metadata if isinstance(obj, IstioObject) else (obj.get("metadata") or {})
    return (meta.get("labels") or {}).get(MANAGED_BY_LABEL) == MANAGED_BY_VALUE


def managed_service(obj: IstioObject | Mapping[str, Any]) -> str | None:
    """The service Meshdeck generated this object for, or None."""
    meta = obj.metadata if isinstance(obj, IstioObject) else (obj.get("metadata") or {})
    if not is_managed(obj):
        return None
    return (meta.get("labels") or {}).get(SERVICE_LABEL) or None


def managed_metadata(name: str, namespace: str, service: str, existing: IstioObject | None,
                     change_id: str | None) -> dict[str, Any]:
    """Metadata of a generated object: the existing labels and annotations are kept, ours added."""
    labels = dict((existing.metadata.get("labels") if existing else None) or {})
    annotations = dict((existing.metadata.get("annotations") if existing else None) or {})
    labels[MANAGED_BY_LABEL] = MANAGED_BY_VALUE
    labels[SERVICE_LABEL] = service
    annotations[CHANGE_ID_ANNOTATION] = change_id or CHANGE_ID_PLACEHOLDER
    return {"name": name, "namespace": namespace, "labels": labels, "annotations": annotations}


def fill_change_id(manifest: Mapping[str, Any], change_id: str) -> dict[str, Any]:
    """The manifest with the change-id placeholder replaced (other manifests unchanged)."""
    out = copy.deepcopy(dict(manifest))
    annotations = (out.get("metadata") or {}).get("annotations") or {}
    if annotations.get(CHANGE_ID_ANNOTATION) == CHANGE_ID_PLACEHOLDER:
        annotations[CHANGE_ID_ANNOTATION] = str(change_id)
    return out
