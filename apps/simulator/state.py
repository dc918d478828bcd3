"""The simulated cluster's objects, as the Kubernetes API server would hold them.

Pure. Namespaces, Deployments (with their pods), Services and Istio objects,
each with a resourceVersion from one counter, as in Kubernetes. Writes check
their preconditions first (``ObjectNotFound``, ``ObjectConflict``) and change
nothing when they raise. Traffic is not computed here (``traffic.py``).
"""
from __future__ import annotations

import copy
import time
from typing import Any

from apps.clusters.gateway import ObjectConflict, ObjectInvalid, ObjectNotFound
from apps.clusters.inventory import ISTIO_KINDS, Inventory, IstioObject, Namespace, Service, ServicePort, Workload

from .pods import PodState, WorkloadState, retire_pods, start_pods, uuid_of, workload_view
from .scenario import Scenario, ServiceSpec

# Bookkeeping the store keeps in metadata and never takes from a manifest.
_SERVER_FIELDS = ("resourceVersion", "_order", "uid", "creationTimestamp", "generation", "managedFields")


def _timestamp(t: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(t))


def public(obj: IstioObject) -> IstioObject:
    """A copy for callers, without the creation order the store keeps in metadata."""
    out = copy.deepcopy(obj)
    out.metadata.pop("_order", None)
    return out


class ClusterState:
    """Every object of one simulated cluster. Not thread-safe: ``SimulatedMesh`` holds the lock."""

    def __init__(self, scenario: Scenario, seed: int, now: float):
        self.seed = seed
        self.scenario = scenario
        self.namespaces: dict[str, Namespace] = {}
        self.workloads: dict[str, WorkloadState] = {}
        self.services: dict[str, Service] = {}
        self.istio: dict[tuple[str, str, str], IstioObject] = {}
        self.pods: dict[tuple[str, str], PodState] = {}  # every pod ever started, dead ones included
        self._rv = 1000
        self._order = 0
        self._ip_counter = 0
        self._build(now)

    # ------------------------------------------------------------- internals
    def next_rv(self) -> str:
        self._rv += 1
        return str(self._rv)

    def _next_ip(self, prefix: str) -> str:
        self._ip_counter += 1
        n = self._ip_counter
        return f"{prefix}.{(n // 250) % 250}.{n % 250 + 2}"

    def _build(self, now: float) -> None:
        sc = self.scenario
        for name, labels in sc.namespaces.items():
            self.namespaces[name] = Namespace(name=name, labels=dict(labels), resource_version=self.next_rv())
        for spec in sc.workloads:
            ws = WorkloadState(spec=spec, labels=dict(spec.labels), annotations=dict(spec.annotations),
                               replicas=spec.replicas)
            ws.resource_version = self.next_rv()
            self.workloads[ws.key] = ws
            self._start_pods(ws, now)
        for s in sc.services:
            self.services[f"{s.namespace}/{s.name}"] = Service(
                name=s.name,
                namespace=s.namespace,
                labels=dict(s.labels),
                selector=dict(s.selector),
                ports=[
                    ServicePort(name=pn, port=port, protocol="TCP", app_protocol=ap,
                                target_port=self._target_port(s, port))
                    for pn, port, ap in s.ports
                ],
                cluster_ip=self._next_ip("10.96"),
                resource_version=self.next_rv(),
            )
        for manifest in sc.istio_objects:
            self._store_istio(IstioObject.from_manifest(copy.deepcopy(manifest)), now)

    def _target_port(self, s: ServiceSpec, port: int) -> int:
        for w in self.workloads.values():
            if w.spec.namespace == s.namespace and all(w.labels.get(k) == v for k, v in s.selector.items()):
                return w.spec.container_port
        return port

    def _start_pods(self, ws: WorkloadState, now: float) -> None:
        ns = self.namespaces.get(ws.spec.namespace)
        for pod in start_pods(ws, now, seed=self.seed, ns_labels=ns.labels if ns else {},
                              next_ip=lambda: self._next_ip("10.244")):
            self.pods[(pod.namespace, pod.name)] = pod

    def _replace_pods(self, ws: WorkloadState, now: float) -> None:
        retire_pods(ws, now)
        self._start_pods(ws, now)

    def _store_istio(self, obj: IstioObject, now: float) -> IstioObject:
        key = (obj.kind, obj.namespace, obj.name)
        old = self.istio.get(key)
        meta = {k: v for k, v in obj.metadata.items() if k not in _SERVER_FIELDS}
        if old is not None:
            meta["uid"] = old.metadata["uid"]
            meta["creationTimestamp"] = old.metadata["creationTimestamp"]
            meta["_order"] = old.metadata["_order"]
            meta["generation"] = old.metadata.get("generation", 1) + (0 if old.spec == obj.spec else 1)
        else:
            self._order += 1
            meta["uid"] = uuid_of(f"{self.seed}|{key}|{self._order}")
            meta["creationTimestamp"] = _timestamp(now)
            meta["_order"] = self._order
            meta["generation"] = 1
        rv = self.next_rv()
        meta["name"], meta["namespace"], meta["resourceVersion"] = obj.name, obj.namespace, rv
        obj.metadata = meta
        obj.resource_version = rv
        if not obj.api_version:
            group, version, _ = ISTIO_KINDS[obj.kind]
            obj.api_version = f"{group}/{version}"
        self.istio[key] = obj
        return obj

    def workload(self, kind: str, namespace: str, name: str) -> WorkloadState:
        ws = self.workloads.get(f"{namespace}/{name}")
        if ws is None or kind != "Deployment":
            raise ObjectNotFound(f"{kind} {namespace}/{name} not found")
        return ws

    def objects_in_order(self) -> list[IstioObject]:
        """Istio objects oldest first (Istio resolves conflicts by creation time)."""
        return sorted(self.istio.values(), key=lambda o: int(o.metadata.get("_order", 0)))

    # ---------------------------------------------------------------- writes
    def apply_istio_object(self, manifest: dict[str, Any], resource_version: str | None, now: float
                           ) -> tuple[IstioObject, IstioObject | None]:
        """Create or replace (the manifest is already schema-checked); returns (stored, previous)."""
        meta = manifest.get("metadata") or {}
        ns = meta.get("namespace") or "default"
        manifest = copy.deepcopy(manifest)
        manifest.setdefault("metadata", {})["namespace"] = ns
        want_rv = resource_version or str(meta.get("resourceVersion") or "") or None
        if ns not in self.namespaces:
            raise ObjectNotFound(f'namespaces "{ns}" not found')
        key = (manifest["kind"], ns, meta["name"])
        old = self.istio.get(key)
        if want_rv is not None:
            if old is None:
                raise ObjectNotFound(
                    f'{manifest["kind"]} {ns}/{meta["name"]} not found (resourceVersion {want_rv} given)')
            if old.resource_version != want_rv:
                raise ObjectConflict(
                    f'{manifest["kind"]} {ns}/{meta["name"]} was modified: resourceVersion is '
                    f"{old.resource_version}, not {want_rv}"
                )
        try:
            obj = IstioObject.from_manifest(manifest)
        except (KeyError, TypeError, ValueError) as exc:
            raise ObjectInvalid(f"invalid {manifest.get('kind')}: {exc}") from exc
        return self._store_istio(obj, now), old

    def restore_istio_object(self, key: tuple[str, str, str], previous: IstioObject | None) -> None:
        """Undo an apply whose traffic could not be computed."""
        if previous is None:
            self.istio.pop(key, None)
        else:
            self.istio[key] = previous

    def delete_istio_object(self, kind: str, namespace: str, name: str, resource_version: str | None) -> None:
        obj = self.istio.get((kind, namespace, name))
        if obj is None:
            raise ObjectNotFound(f"{kind} {namespace}/{name} not found")
        if resource_version and obj.resource_version != resource_version:
            raise ObjectConflict(
                f"{kind} {namespace}/{name} was modified: "
                f"resourceVersion is {obj.resource_version}, not {resource_version}"
            )
        del self.istio[(kind, namespace, name)]
        self.next_rv()

    def patch_namespace_labels(self, name: str, labels: dict[str, str | None],
                               resource_version: str | None) -> Namespace:
        ns = self.namespaces.get(name)
        if ns is None:
            raise ObjectNotFound(f'namespaces "{name}" not found')
        if resource_version and ns.resource_version != resource_version:
            raise ObjectConflict(f"namespace {name} was modified: resourceVersion is {ns.resource_version}")
        for k, v in labels.items():
            if v is None:
                ns.labels.pop(k, None)
            else:
                ns.labels[k] = str(v)
        ns.resource_version = self.next_rv()
        return copy.deepcopy(ns)

    def patch_workload_template(
        self, kind: str, namespace: str, name: str, labels: dict[str, str | None] | None,
        annotations: dict[str, str | None] | None, resource_version: str | None, now: float,
    ) -> bool:
        """Patch the pod template; when it changed, the pods are replaced at ``now``. Returns whether it changed."""
        ws = self.workload(kind, namespace, name)
        if resource_version and ws.resource_version != resource_version:
            raise ObjectConflict(
                f"{kind} {namespace}/{name} was modified: "
                f"resourceVersion is {ws.resource_version}, not {resource_version}"
            )
        changed = False
        for target, patch in ((ws.labels, labels), (ws.annotations, annotations)):
            for k, v in (patch or {}).items():
                if v is None:
                    changed |= target.pop(k, None) is not None
                elif target.get(k) != str(v):
                    target[k] = str(v)
                    changed = True
        ws.resource_version = self.next_rv()
        if changed:
            self._replace_pods(ws, now)
        return changed

    def restart_workload(self, kind: str, namespace: str, name: str, now: float) -> None:
        """``kubectl rollout restart``: stamps the template, new pods at ``now``."""
        ws = self.workload(kind, namespace, name)
        ws.annotations["kubectl.kubernetes.io/restartedAt"] = _timestamp(now)
        ws.resource_version = self.next_rv()
        self._replace_pods(ws, now)

    # ----------------------------------------------------------------- reads
    def list_namespaces(self) -> list[Namespace]:
        return [copy.deepcopy(self.namespaces[n]) for n in sorted(self.namespaces)]

    def list_workloads(self, namespace: str | None = None) -> list[Workload]:
        return [workload_view(ws) for _, ws in sorted(self.workloads.items())
                if namespace is None or ws.spec.namespace == namespace]

    def get_workload(self, kind: str, namespace: str, name: str) -> Workload:
        return workload_view(self.workload(kind, namespace, name))

    def list_services(self, namespace: str | None = None) -> list[Service]:
        return [copy.deepcopy(s) for _, s in sorted(self.services.items())
                if namespace is None or s.namespace == namespace]

    def list_istio_objects(self, namespace: str | None = None, kinds: list[str] | None = None) -> list[IstioObject]:
        return [public(o) for _, o in sorted(self.istio.items())
                if (namespace is None or o.namespace == namespace) and (not kinds or o.kind in kinds)]

    def get_istio_object(self, kind: str, namespace: str, name: str) -> IstioObject:
        obj = self.istio.get((kind, namespace, name))
        if obj is None:
            raise ObjectNotFound(f"{kind} {namespace}/{name} not found")
        return public(obj)

    def inventory(self, namespaces: list[str] | None = None) -> Inventory:
        wanted = set(namespaces) if namespaces else None

        def keep(ns: str) -> bool:
            return wanted is None or ns in wanted

        return Inventory(
            namespaces=[n for n in self.list_namespaces() if keep(n.name)],
            workloads=[w for w in self.list_workloads() if keep(w.namespace)],
            services=[s for s in self.list_services() if keep(s.namespace)],
            istio_objects=[o for o in self.list_istio_objects() if keep(o.namespace)],
        )
