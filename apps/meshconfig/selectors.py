"""Reads of Istio config and its validation, authorization inside (see apps.inventory.selectors)."""
from __future__ import annotations

from dataclasses import dataclass, field

from django.http import Http404

from apps.clusters.inventory import ISTIO_KINDS, IstioObject

from .meshview import MeshView, ObjectRef, refs
from .validators import Check, ObjectValidation
from .yamlview import line_of_path, object_yaml

VALIDITY_CHOICES = ("valid", "warning", "error", "invalid")


@dataclass
class ConfigRow:
    object: IstioObject
    validation: ObjectValidation

    @property
    def status(self) -> str:
        return self.validation.status


def kind_from_slug(slug: str) -> str:
    """'virtualservices' / 'virtualservice' / 'VirtualService' -> 'VirtualService' (404 otherwise)."""
    s = (slug or "").lower()
    for kind, (_, _, plural) in ISTIO_KINDS.items():
        if s in (kind.lower(), plural):
            return kind
    raise Http404("No such Istio kind.")


def config_list(
    view: MeshView,
    *,
    kind: str | None = None,
    namespace: str | None = None,
    validity: str | None = None,
    q: str = "",
) -> list[ConfigRow]:
    """Istio objects the user may see, filtered.

    ``validity``: 'valid' (no finding), 'warning' (worst is a warning),
    'error' (has an error), 'invalid' (anything but valid).
    """
    kind = kind_from_slug(kind) if kind else None
    rows = []
    for obj in view.inventory.istio_objects:
        if kind and obj.kind != kind:
            continue
        if namespace and obj.namespace != namespace:
            continue
        if q and q.lower() not in obj.name.lower():
            continue
        row = ConfigRow(obj, view.validation_for(obj))
        if validity == "invalid" and row.status == "valid":
            continue
        if validity in ("valid", "warning", "error") and row.status != validity:
            continue
        rows.append(row)
    rows.sort(key=lambda r: (r.object.namespace, r.object.kind, r.object.name))
    return rows


@dataclass
class AnnotatedCheck:
    check: Check
    line: int | None


@dataclass
class ConfigDetail:
    object: IstioObject
    validation: ObjectValidation
    yaml: str
    checks: list[AnnotatedCheck] = field(default_factory=list)
    related: list[ObjectRef] = field(default_factory=list)


def config_detail(view: MeshView, namespace: str, kind_slug: str, name: str) -> ConfigDetail:
    kind = kind_from_slug(kind_slug)
    for obj in view.inventory.istio_objects:
        if obj.kind == kind and obj.namespace == namespace and obj.name == name:
            validation = view.validation_for(obj)
            text = object_yaml(obj)
            related_keys = {r for c in validation.checks for r in c.references}
            related = [o for o in view.inventory.istio_objects if (o.kind, o.namespace, o.name) in related_keys]
            return ConfigDetail(
                object=obj,
                validation=validation,
                yaml=text,
                checks=[AnnotatedCheck(c, line_of_path(text, c.path)) for c in validation.checks],
                related=refs(view, related),
            )
    raise Http404("No such Istio object.")
