"""Shared machinery for the Istio config validators.

Every check is a plain function over a ``MeshIndex`` (an ``Inventory`` plus the
lookups the checks share) that yields ``Finding``s. The ``@check`` decorator
registers it under a stable code with its severity and the nearest Kiali code,
and turns findings into ``Check`` records. No ORM, no HTTP: tests call the
functions on hand-built inventories.
"""
from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from apps.clusters.inventory import Inventory, IstioObject, Service, Workload

from .. import hosts

ERROR, WARNING, INFO = "error", "warning", "info"
SEVERITY_ORDER = {ERROR: 0, WARNING: 1, INFO: 2}
DEFAULT_ROOT_NAMESPACE = "istio-system"

ObjectKey = tuple[str, str, str]  # (kind, namespace, name)


def key_of(obj: IstioObject) -> ObjectKey:
    return (obj.kind, obj.namespace, obj.name)


@dataclass(frozen=True)
class Check:
    """One validation message attached to one Istio object."""

    code: str
    kiali_code: str
    severity: str
    message: str
    path: str
    kind: str
    namespace: str
    name: str
    # Other objects this finding is about (e.g. the other DestinationRule for the
    # same host). Selectors drop the ones the reader may not see.
    references: tuple[ObjectKey, ...] = ()

    @property
    def key(self) -> ObjectKey:
        return (self.kind, self.namespace, self.name)

    def as_dict(self) -> dict[str, Any]:
        return {
            "code": self.code,
            "kiali_code": self.kiali_code,
            "severity": self.severity,
            "message": self.message,
            "path": self.path,
            "references": [
                {"kind": k, "namespace": ns, "name": n} for (k, ns, n) in self.references
            ],
        }


@dataclass(frozen=True)
class Finding:
    obj: IstioObject
    path: str
    message: str
    references: tuple[ObjectKey, ...] = ()


@dataclass(frozen=True)
class CheckSpec:
    code: str
    kiali_code: str
    severity: str
    kind: str
    title: str
    fn: Callable[[MeshIndex], Iterable[Finding]]

    def run(self, index: MeshIndex) -> list[Check]:
        return [
            Check(
                code=self.code,
                kiali_code=self.kiali_code,
                severity=self.severity,
                message=f.message,
                path=f.path,
                kind=f.obj.kind,
                namespace=f.obj.namespace,
                name=f.obj.name,
                references=f.references,
            )
            for f in self.fn(index)
        ]


REGISTRY: dict[str, CheckSpec] = {}


def check(code: str, *, kiali: str, severity: str, kind: str, title: str):
    """Register a check function under a stable code."""

    def register(fn: Callable[[MeshIndex], Iterable[Finding]]) -> Callable[[MeshIndex], Iterable[Finding]]:
        if code in REGISTRY:
            raise ValueError(f"duplicate check code {code}")
        REGISTRY[code] = CheckSpec(code, kiali, severity, kind, title, fn)
        fn.code = code  # type: ignore[attr-defined]
        return fn

    return register


# ---------------------------------------------------------------------------
# Hosts and selectors, the way Istio resolves them (hosts: apps.meshconfig.hosts)
# ---------------------------------------------------------------------------

# Where each kind keeps its workload selector (a matchLabels mapping). A Gateway
# selects gateway pods in any namespace; the others select workloads of their
# own namespace, or of the whole mesh from the root namespace.
WORKLOAD_SELECTOR_PATHS: dict[str, tuple[str, ...]] = {
    "Gateway": ("selector",),
    "Sidecar": ("workloadSelector", "labels"),
    "AuthorizationPolicy": ("selector", "matchLabels"),
    "PeerAuthentication": ("selector", "matchLabels"),
}


def labels_match(selector: dict[str, str] | None, labels: dict[str, str]) -> bool:
    """A label selector (matchLabels) matches when every pair is present. Empty matches all."""
    return all(labels.get(k) == v for k, v in (selector or {}).items())


def workload_selector(obj: IstioObject) -> Any:
    """The object's workload selector as written (None when its kind has none or it is absent)."""
    path = WORKLOAD_SELECTOR_PATHS.get(obj.kind)
    return None if path is None else at(obj.spec, *path)


def workload_selector_path(kind: str) -> str:
    """The YAML path findings about ``kind``'s selector point at, e.g. ``spec.selector.matchLabels``."""
    return "spec." + ".".join(WORKLOAD_SELECTOR_PATHS[kind])


def at(obj: Any, *keys: Any, default: Any = None) -> Any:
    """Nested get that tolerates missing/mistyped levels: at(spec, "http", 0, "route")."""
    cur = obj
    for k in keys:
        if isinstance(k, int):
            if not isinstance(cur, list) or k >= len(cur):
                return default
        elif not isinstance(cur, dict) or k not in cur:
            return default
        cur = cur[k]
    return cur


def as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def as_dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


@dataclass
class MeshIndex:
    """An Inventory with the lookups checks share, built once per validation run."""

    inventory: Inventory
    root_namespace: str = DEFAULT_ROOT_NAMESPACE
    namespaces: set[str] = field(init=False)
    services_by_host: dict[str, Service] = field(init=False)
    service_entry_hosts: set[str] = field(init=False)
    by_kind: dict[str, list[IstioObject]] = field(init=False)

    def __post_init__(self) -> None:
        inv = self.inventory
        # Namespaces named by any object count as known even if the namespace list
        # was filtered (e.g. inventory for a subset of namespaces).
        self.namespaces = {n.name for n in inv.namespaces}
        self.services_by_host = {s.host: s for s in inv.services}
        self.by_kind = {}
        for obj in inv.istio_objects:
            self.by_kind.setdefault(obj.kind, []).append(obj)
        for objs in self.by_kind.values():
            objs.sort(key=lambda o: (o.namespace, o.name))
        self.service_entry_hosts = set()
        for se in self.objects("ServiceEntry"):
            for h in as_list(se.spec.get("hosts")):
                if isinstance(h, str):
                    self.service_entry_hosts.add(hosts.normalise(h))

    def objects(self, kind: str) -> list[IstioObject]:
        return self.by_kind.get(kind, [])

    def workloads_in(self, namespace: str | None) -> list[Workload]:
        return [w for w in self.inventory.workloads if namespace is None or w.namespace == namespace]

    def workloads_matching(self, selector: dict[str, str], namespace: str | None) -> list[Workload]:
        return [w for w in self.workloads_in(namespace) if labels_match(selector, w.labels)]

    def host_known(self, host: str) -> bool:
        """Is the resolved (FQDN or wildcard) host in the service registry (Services + ServiceEntries)?"""
        if not host:
            return False
        if host in self.services_by_host or host in self.service_entry_hosts:
            return True
        if hosts.is_wildcard(host):
            return any(hosts.overlaps(host, h) for h in self.services_by_host) or any(
                hosts.overlaps(host, h) for h in self.service_entry_hosts
            )
        return any(hosts.is_wildcard(h) and hosts.covers(h, host) for h in self.service_entry_hosts)

    def service_for_host(self, host: str) -> Service | None:
        return self.services_by_host.get(host)

    def gateway(self, ref: str, namespace: str) -> IstioObject | None:
        """Resolve a VirtualService's gateway reference (``name``, ``ns/name`` or FQDN)."""
        if "/" in ref:
            ns, name = ref.split("/", 1)
        elif "." in ref:
            name, _, rest = ref.partition(".")
            ns = rest.split(".")[0]
        else:
            ns, name = namespace, ref
        for gw in self.objects("Gateway"):
            if gw.namespace == ns and gw.name == name:
                return gw
        return None

    def strict_mtls_for(self, namespace: str) -> IstioObject | None:
        """The PeerAuthentication that makes ``namespace`` STRICT, if any (namespace-wide wins over mesh-wide)."""
        def mode_of(pa: IstioObject) -> str:
            return str(at(pa.spec, "mtls", "mode", default="") or "").upper()

        ns_wide = [p for p in self.objects("PeerAuthentication")
                   if p.namespace == namespace and not at(p.spec, "selector", "matchLabels")]
        for pa in ns_wide:
            mode = mode_of(pa)
            if mode and mode != "UNSET":
                return pa if mode == "STRICT" else None
        mesh_wide = [p for p in self.objects("PeerAuthentication")
                     if p.namespace == self.root_namespace and not at(p.spec, "selector", "matchLabels")]
        for pa in mesh_wide:
            if mode_of(pa) == "STRICT":
                return pa
        return None


def iter_routes(vs: IstioObject) -> Iterator[tuple[str, str, list[Any]]]:
    """(protocol, path to the route list, the route list) for every http/tcp/tls rule."""
    for proto in ("http", "tcp", "tls"):
        for i, rule in enumerate(as_list(vs.spec.get(proto))):
            route = as_list(as_dict(rule).get("route"))
            yield proto, f"spec.{proto}[{i}].route", route
