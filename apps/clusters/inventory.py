"""Plain data shapes every cluster gateway returns.

The simulated mesh and the Kubernetes gateway both produce exactly these
objects, so nothing above the gateway can tell them apart. They are plain
dataclasses (no ORM, no HTTP) so the graph builder and the validators stay
pure functions over them.

``Inventory.to_dict()`` / ``Inventory.from_dict()`` store and restore a whole
inventory (the history app keeps them in snapshots). The form is versioned
(``INVENTORY_FORMAT``, ``INVENTORY_VERSION``) and canonical: every collection
is written in a fixed order (namespaces by name; workloads by namespace, name,
kind; pods by name; services by namespace, name; Istio objects by namespace,
kind, name), so two inventories with the same content, whatever order a gateway
listed it in, give equal dicts and, through ``apps.core.stored.canonical_json``,
equal bytes. Orders that mean something are kept as they are: a Service's
ports, and every list inside an Istio spec (route order decides routing).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from apps.core.stored import FormatError, Reader, check_format, json_safe

INVENTORY_FORMAT = "meshdeck.inventory"
INVENTORY_VERSION = 1

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

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "labels": dict(self.labels), "annotations": dict(self.annotations),
                "resource_version": self.resource_version}

    @classmethod
    def from_dict(cls, data: Any, where: str = "namespace") -> Namespace:
        r = Reader(data, where)
        return cls(name=r.string("name"), labels=r.strings("labels"), annotations=r.strings("annotations"),
                   resource_version=r.string("resource_version", ""))


@dataclass
class Pod:
    name: str
    namespace: str
    labels: dict[str, str] = field(default_factory=dict)
    annotations: dict[str, str] = field(default_factory=dict)
    phase: str = "Running"
    has_sidecar: bool = False
    ip: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "namespace": self.namespace, "labels": dict(self.labels),
                "annotations": dict(self.annotations), "phase": self.phase, "has_sidecar": self.has_sidecar,
                "ip": self.ip}

    @classmethod
    def from_dict(cls, data: Any, where: str = "pod") -> Pod:
        r = Reader(data, where)
        return cls(name=r.string("name"), namespace=r.string("namespace"), labels=r.strings("labels"),
                   annotations=r.strings("annotations"), phase=r.string("phase", "Running"),
                   has_sidecar=r.boolean("has_sidecar", False), ip=r.string("ip", ""))


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

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "name": self.name, "namespace": self.namespace, "labels": dict(self.labels),
                "annotations": dict(self.annotations), "replicas": self.replicas,
                "ready_replicas": self.ready_replicas,
                "pods": [p.to_dict() for p in sorted(self.pods, key=lambda p: (p.name, p.namespace))],
                "resource_version": self.resource_version}

    @classmethod
    def from_dict(cls, data: Any, where: str = "workload") -> Workload:
        r = Reader(data, where)
        return cls(kind=r.string("kind"), name=r.string("name"), namespace=r.string("namespace"),
                   labels=r.strings("labels"), annotations=r.strings("annotations"),
                   replicas=r.integer("replicas", 1), ready_replicas=r.integer("ready_replicas", 1),
                   pods=r.items("pods", Pod.from_dict, []), resource_version=r.string("resource_version", ""))


@dataclass
class ServicePort:
    name: str
    port: int
    protocol: str = "TCP"
    app_protocol: str = ""
    target_port: int | str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "port": self.port, "protocol": self.protocol, "app_protocol": self.app_protocol,
                "target_port": self.target_port}

    @classmethod
    def from_dict(cls, data: Any, where: str = "port") -> ServicePort:
        r = Reader(data, where)
        target = r.data.get("target_port")
        if target is not None and (isinstance(target, bool) or not isinstance(target, (int, str))):
            raise FormatError(f"{where}.target_port: expected a number, a name or null")
        return cls(name=r.string("name", ""), port=r.integer("port"), protocol=r.string("protocol", "TCP"),
                   app_protocol=r.string("app_protocol", ""), target_port=target)


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

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "namespace": self.namespace, "labels": dict(self.labels),
                "selector": dict(self.selector), "ports": [p.to_dict() for p in self.ports],  # order kept
                "type": self.type, "cluster_ip": self.cluster_ip, "resource_version": self.resource_version}

    @classmethod
    def from_dict(cls, data: Any, where: str = "service") -> Service:
        r = Reader(data, where)
        return cls(name=r.string("name"), namespace=r.string("namespace"), labels=r.strings("labels"),
                   selector=r.strings("selector"), ports=r.items("ports", ServicePort.from_dict, []),
                   type=r.string("type", "ClusterIP"), cluster_ip=r.string("cluster_ip", ""),
                   resource_version=r.string("resource_version", ""))


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
    def from_manifest(cls, manifest: dict[str, Any]) -> IstioObject:
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

    def to_dict(self) -> dict[str, Any]:
        where = f"{self.kind} {self.namespace}/{self.name}"
        return {"kind": self.kind, "namespace": self.namespace, "name": self.name,
                "spec": json_safe(self.spec, where + " spec"),
                "metadata": json_safe(self.metadata, where + " metadata"),
                "api_version": self.api_version, "resource_version": self.resource_version}

    @classmethod
    def from_dict(cls, data: Any, where: str = "istio object") -> IstioObject:
        r = Reader(data, where)
        return cls(kind=r.string("kind"), namespace=r.string("namespace"), name=r.string("name"),
                   spec=r.json_object("spec"),
                   metadata=r.json_object("metadata"), api_version=r.string("api_version", ""),
                   resource_version=r.string("resource_version", ""))


@dataclass
class Inventory:
    namespaces: list[Namespace] = field(default_factory=list)
    workloads: list[Workload] = field(default_factory=list)
    services: list[Service] = field(default_factory=list)
    istio_objects: list[IstioObject] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """The whole inventory as JSON-safe data in canonical order (see the module docstring).

        Raises ``apps.core.stored.FormatError`` if an Istio spec or metadata
        holds something JSON cannot (a gateway bug, named in the message).
        """
        return {
            "format": INVENTORY_FORMAT,
            "version": INVENTORY_VERSION,
            "namespaces": [n.to_dict() for n in sorted(self.namespaces, key=lambda n: n.name)],
            "workloads": [w.to_dict() for w in sorted(self.workloads, key=lambda w: (w.namespace, w.name, w.kind))],
            "services": [s.to_dict() for s in sorted(self.services, key=lambda s: (s.namespace, s.name))],
            "istio_objects": [o.to_dict() for o in sorted(self.istio_objects,
                                                          key=lambda o: (o.namespace, o.kind, o.name))],
        }

    @classmethod
    def from_dict(cls, data: Any) -> Inventory:
        """The inventory ``to_dict`` wrote (lists in the order stored: canonical). Missing lists and optional fields
        take their defaults; an unknown format or version, or a malformed field, is a FormatError naming it."""
        check_format(data, INVENTORY_FORMAT, (INVENTORY_VERSION,))
        r = Reader(data, "inventory")
        return cls(
            namespaces=r.items("namespaces", Namespace.from_dict, []),
            workloads=r.items("workloads", Workload.from_dict, []),
            services=r.items("services", Service.from_dict, []),
            istio_objects=r.items("istio_objects", IstioObject.from_dict, []),
        )
