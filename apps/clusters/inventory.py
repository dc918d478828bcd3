"""Plain data shapes every cluster gateway returns.

The simulated mesh and the Kubernetes gateway both produce exactly these
objects, so nothing above the gateway can tell them apart. They are plain
dataclasses (no ORM, no HTTP) so the graph builder and the validators stay
pure functions over them.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

# Istio kinds the portal reads and writes: kind -> (group, version, plural).
ISTIO_KINDS: dict[str, tuple[str, str, str]] = {
    "VirtualService": ("networking.istio.io", "v1", "virtualservices"),
    "DestinationRule": ("networking.istio.io", "v1", "destinationrules"),
    "Gateway": ("networking.istio.io", "v1", "gateways"),
    "ServiceEntry": ("networking.istio.io", "v1", "serviceentries"),
    "Sidecar": ("networking.istio.io", "v1", "sidecars"),
    "PeerAuthentication": ("security.istio.io", "v1", "peerauthentications"),
    "AuthorizationPolicy": ("security.istio.io", "v1", "authorizationpolicies"),
}


def app_and_version(labels: dict[str, str]) -> tuple[str, str]:
    """App and version as Istio's canonical-service logic derives them."""
    app = (
        labels.get("service.istio.io/canonical-name")
        or labels.get("app.kubernetes.io/name")
        or labels.get("app")
        or ""
    )
    version = (
        labels.get("service.istio.io/canonical-revision")
        or labels.get("app.kubernetes.io/version")
        or labels.get("version")
        or ""
    )
    return app, version


def injection_state(labels: dict[str, str]) -> str:
    """'enabled', 'disabled', 'revision:<rev>' or '' (not labelled)."""
    value = labels.get("istio-injection")
    if value == "enabled":
        return "enabled"
    if value == "disabled":
        return "disabled"
    if labels.get("istio.io/rev"):
        return "revision:" + labels["istio.io/rev"]
    return ""


@dataclass
class Namespace:
    name: str
    labels: dict[str, str] = field(default_factory=dict)
    annotations: dict[str, str] = field(default_factory=dict)
    resource_version: str = ""

    @property
    def injection(self) -> str:
        return injection_state(self.labels)


@dataclass
class Pod:
    name: str
    namespace: str
    labels: dict[str, str] = field(default_factory=dict)
    annotations: dict[str, str] = field(default_factory=dict)
    phase: str = "Running"
    has_sidecar: bool = False
    ip: str = ""


@dataclass
class Workload:
    """A Deployment, StatefulSet, DaemonSet or bare Pod."""

    kind: str
    name: str
    namespace: str
    labels: dict[str, str] = field(default_factory=dict)  # pod template labels
    annotations: dict[str, str] = field(default_factory=dict)  # pod template annotations
    replicas: int = 1
    ready_replicas: int = 1
    pods: list[Pod] = field(default_factory=list)
    resource_version: str = ""

    @property
    def app(self) -> str:
        return app_and_version(self.labels)[0]

    @property
    def version(self) -> str:
        return app_and_version(self.labels)[1]

    @property
    def sidecar_inject(self) -> bool | None:
        """The template's explicit sidecar.istio.io/inject, if any."""
        raw = self.labels.get("sidecar.istio.io/inject", self.annotations.get("sidecar.istio.io/inject"))
        if raw is None:
            return None
        return str(raw).lower() == "true"

    @property
    def has_sidecar(self) -> bool:
        """True when every pod runs a sidecar (and there is at least one pod)."""
        return bool(self.pods) and all(p.has_sidecar for p in self.pods)


@dataclass
class ServicePort:
    name: str
    port: int
    protocol: str = "TCP"
    app_protocol: str = ""
    target_port: int | str | None = None


@dataclass
class Service:
    name: str
    namespace: str
    labels: dict[str, str] = field(default_factory=dict)
    selector: dict[str, str] = field(default_factory=dict)
    ports: list[ServicePort] = field(default_factory=list)
    type: str = "ClusterIP"
    cluster_ip: str = ""
    resource_version: str = ""

    @property
    def host(self) -> str:
        return f"{self.name}.{self.namespace}.svc.cluster.local"


@dataclass
class IstioObject:
    kind: str
    namespace: str
    name: str
    spec: dict[str, Any] = field(default_factory=dict)
    metadata: dict[str, Any] = field(default_factory=dict)
    api_version: str = ""
    resource_version: str = ""

    def __post_init__(self) -> None:
        if not self.api_version and self.kind in ISTIO_KINDS:
            group, version, _ = ISTIO_KINDS[self.kind]
            self.api_version = f"{group}/{version}"

    def to_manifest(self) -> dict[str, Any]:
        meta = {k: v for k, v in self.metadata.items() if k in ("labels", "annotations")}
        meta.update({"name": self.name, "namespace": self.namespace})
        return {"apiVersion": self.api_version, "kind": self.kind, "metadata": meta, "spec": self.spec}

    @classmethod
    def from_manifest(cls, manifest: dict[str, Any]) -> "IstioObject":
        meta = manifest.get("metadata") or {}
        return cls(
            kind=manifest["kind"],
            namespace=meta.get("namespace", "default"),
            name=meta["name"],
            spec=manifest.get("spec") or {},
            metadata=meta,
            api_version=manifest.get("apiVersion", ""),
            resource_version=str(meta.get("resourceVersion", "") or ""),
        )


@dataclass
class Inventory:
    namespaces: list[Namespace] = field(default_factory=list)
    workloads: list[Workload] = field(default_factory=list)
    services: list[Service] = field(default_factory=list)
    istio_objects: list[IstioObject] = field(default_factory=list)
