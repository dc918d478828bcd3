"""Istio config validation: pure functions over an Inventory.

``validate(inventory)`` runs every registered check (see ``base.check``) and
returns the checks per object. Each check lives in its own function, in the
module named after the kind it reads; codes and their meaning are listed in
docs/validation.md.
"""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from apps.clusters.inventory import Inventory

from . import authorization, destinationrules, gateways, generic, selectors, virtualservices  # noqa: F401 (register)
from .base import (
    DEFAULT_ROOT_NAMESPACE,
    ERROR,
    INFO,
    REGISTRY,
    SEVERITY_ORDER,
    WARNING,
    Check,
    CheckSpec,
    MeshIndex,
    ObjectKey,
    key_of,
)

__all__ = [
    "ERROR", "WARNING", "INFO", "REGISTRY", "Check", "CheckSpec", "MeshIndex", "ObjectKey",
    "ObjectValidation", "validate", "run_check", "key_of",
]


@dataclass
class ObjectValidation:
    kind: str
    namespace: str
    name: str
    checks: list[Check] = field(default_factory=list)

    @property
    def valid(self) -> bool:
        """Like Kiali: warnings leave an object valid, errors do not."""
        return not any(c.severity == ERROR for c in self.checks)

    @property
    def errors(self) -> int:
        return sum(1 for c in self.checks if c.severity == ERROR)

    @property
    def warnings(self) -> int:
        return sum(1 for c in self.checks if c.severity == WARNING)

    @property
    def status(self) -> str:
        """'error', 'warning' or 'valid' (the worst severity present)."""
        if self.errors:
            return "error"
        if self.warnings:
            return "warning"
        return "valid"


def run_check(code: str, inventory: Inventory, root_namespace: str = DEFAULT_ROOT_NAMESPACE) -> list[Check]:
    """One check alone (tests use it to show each check fires or stays quiet)."""
    return REGISTRY[code].run(MeshIndex(inventory, root_namespace))


def validate(
    inventory: Inventory,
    root_namespace: str = DEFAULT_ROOT_NAMESPACE,
    codes: Iterable[str] | None = None,
) -> dict[ObjectKey, ObjectValidation]:
    """Every Istio object of the inventory -> its validation (objects with no finding included)."""
    index = MeshIndex(inventory, root_namespace)
    result = {key_of(o): ObjectValidation(o.kind, o.namespace, o.name) for o in inventory.istio_objects}
    for code in codes or sorted(REGISTRY):
        for chk in REGISTRY[code].run(index):
            result.setdefault(chk.key, ObjectValidation(chk.kind, chk.namespace, chk.name)).checks.append(chk)
    for ov in result.values():
        ov.checks.sort(key=lambda c: (SEVERITY_ORDER.get(c.severity, 9), c.path, c.code))
    return result
