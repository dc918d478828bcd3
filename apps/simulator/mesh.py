"""The simulated mesh: cluster state, a traffic model and Istio's telemetry.

Pure Python (no Django). Traffic is piecewise constant in time: every write
that can change traffic (Istio object applied/deleted, pods restarted) closes
the current *segment* at ``clock()`` and opens a new one with freshly computed
rates. Counters are the exact integral of those rates, so

* ``counters(at)`` is what the exporter shows at ``at`` (per pod, since the pod
  started), and
* ``series_rates(window, end)`` is ``(counter(end) - counter(end - window)) / window``
  per series: the time-weighted average over the window, i.e. the per-second
  ``rate()`` Prometheus computes on an ideal scrape of these counters.

Label conventions follow Istio's stats filter (istio/proxy ``istio_stats``);
see docs/simulator.md for the table.
"""
from __future__ import annotations

import bisect
import copy
import hashlib
import re
import threading
import time
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, Callable, Collection, Iterable

from apps.clusters.inventory import (
    ISTIO_KINDS,
    Inventory,
    IstioObject,
    Namespace,
    Pod,
    Service,
    ServicePort,
    Workload,
    app_and_version,
)

from apps.clusters.gateway import ObjectConflict, ObjectInvalid, ObjectNotFound

from . import routing
from .histogram import INSTANT, LE_STRINGS, N_BUCKETS, LatencyProfile
from .scenario import UNKNOWN_CLIENT, Call, Scenario, WorkloadSpec
from .topologies import build as build_topology

CLUSTER_NAME = "Kubernetes"  # Istio's default cluster name (source_cluster/destination_cluster)
TRUST_DOMAIN = "cluster.local"
UNKNOWN = "unknown"

REQUESTS = "istio_requests_total"
DURATION = "istio_request_duration_milliseconds"
DURATION_BUCKET = DURATION + "_bucket"
DURATION_SUM = DURATION + "_sum"
DURATION_COUNT = DURATION + "_count"
TCP_SENT = "istio_tcp_sent_bytes_total"
TCP_RECEIVED = "istio_tcp_received_bytes_total"
ALL_METRICS = (REQUESTS, DURATION_BUCKET, DURATION_SUM, DURATION_COUNT, TCP_SENT, TCP_RECEIVED)

# Value vector layout per series kind.
#   http: [count, sum_ms, bucket_0 .. bucket_19(+Inf)]  -> 22 numbers
#   tcp:  [sent_bytes, received_bytes]
HTTP_LEN = 2 + N_BUCKETS
TCP_LEN = 2


@dataclass(frozen=True)
class RateSample:
    """One series' per-second rate. ``label_items`` keeps Istio's label order."""

    metric: str
    label_items: tuple[tuple[str, str], ...]
    rate: float

    def __post_init__(self) -> None:
        if isinstance(self.label_items, dict):
            object.__setattr__(self, "label_items", tuple(self.label_items.items()))

    @cached_property
    def labels(self) -> dict[str, str]:
        return dict(self.label_items)

    def get(self, name: str, default: str = "") -> str:
        for k, v in self.label_items:
            if k == name:
                return v
        return default


@dataclass
class _PodState:
    name: str
    namespace: str
    ip: str
    has_sidecar: bool
    template_hash: str
    born: float
    died: float | None = None


@dataclass
class _WorkloadState:
    spec: WorkloadSpec
    labels: dict[str, str]
    annotations: dict[str, str]
    replicas: int
    pods: list[_PodState] = field(default_factory=list)
    generation: int = 1
    resource_version: str = ""

    @property
    def key(self) -> str:
        return f"{self.spec.namespace}/{self.spec.name}"

    @property
    def has_proxy(self) -> bool:
        return bool(self.pods) and all(p.has_sidecar for p in self.pods)


@dataclass
class _Series:
    kind: str  # "http" | "tcp"
    label_items: tuple[tuple[str, str], ...]
    label_str: str
    pod_key: tuple[str, str]  # (namespace, pod) of the reporting proxy


@dataclass
class _Segment:
    start: float
    rates: dict[int, list[float]]
    cums: dict[int, list[float]]
    _table: list[tuple[int, list[float], list[float]]] | None = None

    def table(self) -> list[tuple[int, list[float], list[float]]]:
        """(series id, cumulative at start, rate) for every series known in this segment."""
        if self._table is None:
            ids = sorted(set(self.cums) | set(self.rates))
            out = []
            for sid in ids:
                cum = self.cums.get(sid)
                rate = self.rates.get(sid)
                n = len(cum if cum is not None else rate)
                out.append((sid, cum if cum is not None else [0.0] * n, rate if rate is not None else [0.0] * n))
            self._table = out
        return self._table


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def _digest(*parts: object) -> str:
    return hashlib.sha256("|".join(str(p) for p in parts).encode()).hexdigest()


_HASH_ALPHABET = "bcdfghjklmnpqrstvwxz2456789"  # what Kubernetes uses for generated names


def _k8s_suffix(seed_text: str, length: int) -> str:
    h = int(_digest(seed_text), 16)
    out = []
    for _ in range(length):
        h, r = divmod(h, len(_HASH_ALPHABET))
        out.append(_HASH_ALPHABET[r])
    return "".join(out)


def should_inject(ns_labels: dict[str, str], tmpl_labels: dict[str, str], tmpl_annotations: dict[str, str]) -> bool:
    """Istio's default sidecar injector webhooks (no revisions installed besides default).

    * namespace ``istio-injection=disabled``: never;
    * namespace ``istio-injection=enabled`` or ``istio.io/rev``: unless the pod says
      ``sidecar.istio.io/inject: "false"`` (label, or annotation read by the injector);
    * unlabelled namespace: only with the pod *label* ``sidecar.istio.io/inject: "true"``
      (or ``istio.io/rev``); the annotation alone never reaches the webhook.
    """
    ns_inj = ns_labels.get("istio-injection")
    if ns_inj == "disabled":
        return False
    pod_label = str(tmpl_labels.get("sidecar.istio.io/inject", "")).lower()
    pod_annot = str(tmpl_annotations.get("sidecar.istio.io/inject", "")).lower()
    if ns_inj == "enabled" or ns_labels.get("istio.io/rev"):
        return pod_label != "false" and pod_annot != "false"
    if pod_label == "true" or tmpl_labels.get("istio.io/rev"):
        return pod_annot != "false"
    return False


@dataclass
class _Flow:
    """Requests (or bytes) from one workload to another for one segment."""

    call: Call
    client: _WorkloadState | None  # None: outside the mesh
    dest: _WorkloadState | None  # None: never reached a workload
    svc_host: str
    svc_name: str
    svc_ns: str
    rate: float  # requests/s (tcp: 1.0, bytes come from the call)
    codes: tuple[tuple[str, float], ...]
    flags: str = "-"
    source_latency: LatencyProfile | None = None
    dest_latency: LatencyProfile | None = None
    dest_flags: str = "-"
    source_reports: bool = True
    dest_reports: bool = True
    mtls: bool = False


class SimulatedMesh:
    """One simulated cluster. Thread-safe; all public methods take the lock."""

    def __init__(
        self,
        topology: str | Scenario = "demo",
        seed: int = 1,
        clock: Callable[[], float] = time.time,
        start: float | None = None,
    ):
        self.seed = seed
        self.clock = clock
        self._lock = threading.RLock()
        self._rv = 1000
        self._order = 0
        self.scenario = topology if isinstance(topology, Scenario) else build_topology(topology, seed=seed)
        self.topology = self.scenario.name if isinstance(topology, Scenario) else topology
        self.start = float(clock() if start is None else start)
        self.namespaces: dict[str, Namespace] = {}
        self.workloads: dict[str, _WorkloadState] = {}
        self.services: dict[str, Service] = {}
        self.istio: dict[tuple[str, str, str], IstioObject] = {}
        self._ip_counter = 0
        self._series: list[_Series] = []
        self._series_index: dict[tuple[str, tuple], int] = {}
        self._pods: dict[tuple[str, str], _PodState] = {}
        self._segments: list[_Segment] = []
        self._ep_cache: dict[str, list[_WorkloadState]] | None = None
        self._build(self.start)
        self._recompute(self.start)

    # ------------------------------------------------------------------ state
    def _next_rv(self) -> str:
        self._rv += 1
        return str(self._rv)

    def _next_ip(self, prefix: str) -> str:
        self._ip_counter += 1
        n = self._ip_counter
        return f"{prefix}.{(n // 250) % 250}.{n % 250 + 2}"

    def _build(self, now: float) -> None:
        sc = self.scenario
        for name, labels in sc.namespaces.items():
            self.namespaces[name] = Namespace(name=name, labels=dict(labels), resource_version=self._next_rv())
        for spec in sc.workloads:
            ws = _WorkloadState(spec=spec, labels=dict(spec.labels), annotations=dict(spec.annotations), replicas=spec.replicas)
            ws.resource_version = self._next_rv()
            self.workloads[ws.key] = ws
            self._start_pods(ws, now)
        for s in sc.services:
            svc = Service(
                name=s.name,
                namespace=s.namespace,
                labels=dict(s.labels),
                selector=dict(s.selector),
                ports=[
                    ServicePort(name=pn, port=port, protocol="TCP", app_protocol=ap, target_port=self._target_port(s, port))
                    for pn, port, ap in s.ports
                ],
                cluster_ip=self._next_ip("10.96"),
                resource_version=self._next_rv(),
            )
            self.services[f"{s.namespace}/{s.name}"] = svc
        for manifest in sc.istio_objects:
            self._store_istio(manifest, now)

    def _target_port(self, s: Any, port: int) -> int:
        for w in self.workloads.values():
            if w.spec.namespace == s.namespace and all(w.labels.get(k) == v for k, v in s.selector.items()):
                return w.spec.container_port
        return port

    def _start_pods(self, ws: _WorkloadState, now: float) -> None:
        ns_labels = self.namespaces[ws.spec.namespace].labels if ws.spec.namespace in self.namespaces else {}
        sidecar = ws.spec.gateway or should_inject(ns_labels, ws.labels, ws.annotations)
        tmpl_hash = _k8s_suffix(f"{self.seed}|{ws.key}|{ws.generation}|{sorted(ws.labels.items())}", 10)[:9] + _k8s_suffix(
            f"{ws.key}|{ws.generation}", 1
        )
        for i in range(ws.replicas):
            suffix = _k8s_suffix(f"{self.seed}|{ws.key}|{ws.generation}|{i}", 5)
            pod = _PodState(
                name=f"{ws.spec.name}-{tmpl_hash}-{suffix}",
                namespace=ws.spec.namespace,
                ip=self._next_ip("10.244"),
                has_sidecar=sidecar,
                template_hash=tmpl_hash,
                born=now,
            )
            ws.pods.append(pod)
            self._pods[(pod.namespace, pod.name)] = pod

    def _restart_pods(self, ws: _WorkloadState, now: float) -> None:
        for p in ws.pods:
            p.died = now
        ws.pods = []
        ws.generation += 1
        self._start_pods(ws, now)

    def _store_istio(self, manifest: dict[str, Any], now: float) -> IstioObject:
        obj = IstioObject.from_manifest(copy.deepcopy(manifest))
        key = (obj.kind, obj.namespace, obj.name)
        old = self.istio.get(key)
        meta = dict(obj.metadata)
        for k in ("resourceVersion", "_order", "uid", "creationTimestamp", "generation", "managedFields"):
            meta.pop(k, None)
        rv = self._next_rv()
        if old is not None:
            meta["uid"] = old.metadata["uid"]
            meta["creationTimestamp"] = old.metadata["creationTimestamp"]
            meta["_order"] = old.metadata["_order"]
            meta["generation"] = old.metadata.get("generation", 1) + (0 if old.spec == obj.spec else 1)
        else:
            self._order += 1
            meta["uid"] = _uuid(f"{self.seed}|{key}|{self._order}")
            meta["creationTimestamp"] = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(now))
            meta["_order"] = self._order
            meta["generation"] = 1
        meta["name"], meta["namespace"], meta["resourceVersion"] = obj.name, obj.namespace, rv
        obj.metadata = meta
        obj.resource_version = rv
        if not obj.api_version:
            group, version, _ = ISTIO_KINDS[obj.kind]
            obj.api_version = f"{group}/{version}"
        self.istio[key] = obj
        return obj

    # ----------------------------------------------------------- mutations
    def now(self) -> float:
        return float(self.clock())

    def apply_istio_object(self, manifest: dict[str, Any], resource_version: str | None = None) -> IstioObject:
        """Create or replace; ``resource_version`` (or metadata.resourceVersion) is a precondition."""
        validate_manifest(manifest)
        meta = manifest.get("metadata") or {}
        ns = meta.get("namespace") or "default"
        manifest = copy.deepcopy(manifest)
        manifest.setdefault("metadata", {})["namespace"] = ns
        want_rv = resource_version or str(meta.get("resourceVersion") or "") or None
        with self._lock:
            if ns not in self.namespaces:
                raise ObjectNotFound(f'namespaces "{ns}" not found')
            key = (manifest["kind"], ns, meta["name"])
            old = self.istio.get(key)
            if want_rv is not None:
                if old is None:
                    raise ObjectNotFound(f'{manifest["kind"]} {ns}/{meta["name"]} not found (resourceVersion {want_rv} given)')
                if old.resource_version != want_rv:
                    raise ObjectConflict(
                        f'{manifest["kind"]} {ns}/{meta["name"]} was modified: resourceVersion is '
                        f"{old.resource_version}, not {want_rv}"
                    )
            try:
                obj = self._store_istio(manifest, self.now())
            except (KeyError, TypeError, ValueError) as exc:
                raise ObjectInvalid(f"invalid {manifest.get('kind')}: {exc}") from exc
            self._recompute(self.now())
            return _public(obj)

    def delete_istio_object(self, kind: str, namespace: str, name: str, resource_version: str | None = None) -> None:
        with self._lock:
            obj = self.istio.get((kind, namespace, name))
            if obj is None:
                raise ObjectNotFound(f"{kind} {namespace}/{name} not found")
            if resource_version and obj.resource_version != resource_version:
                raise ObjectConflict(
                    f"{kind} {namespace}/{name} was modified: resourceVersion is {obj.resource_version}, not {resource_version}"
                )
            del self.istio[(kind, namespace, name)]
            self._next_rv()
            self._recompute(self.now())

    def patch_namespace_labels(
        self, name: str, labels: dict[str, str | None], resource_version: str | None = None
    ) -> Namespace:
        """Like ``kubectl label ns``: running pods keep (or lack) their sidecar until restarted."""
        with self._lock:
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
            ns.resource_version = self._next_rv()
            return copy.deepcopy(ns)

    def patch_workload_template(
        self,
        kind: str,
        namespace: str,
        name: str,
        labels: dict[str, str | None] | None = None,
        annotations: dict[str, str | None] | None = None,
        resource_version: str | None = None,
    ) -> Workload:
        """Patch the pod template; the pods are replaced at once (injection rules re-evaluated)."""
        with self._lock:
            ws = self._workload(kind, namespace, name)
            if resource_version and ws.resource_version != resource_version:
                raise ObjectConflict(
                    f"{kind} {namespace}/{name} was modified: resourceVersion is {ws.resource_version}, not {resource_version}"
                )
            changed = False
            for target, patch in ((ws.labels, labels), (ws.annotations, annotations)):
                for k, v in (patch or {}).items():
                    if v is None:
                        changed |= target.pop(k, None) is not None
                    elif target.get(k) != str(v):
                        target[k] = str(v)
                        changed = True
            ws.resource_version = self._next_rv()
            if changed:
                now = self.now()
                self._restart_pods(ws, now)
                self._recompute(now)
            return self._workload_view(ws)

    def restart_workload(self, kind: str, namespace: str, name: str) -> Workload:
        """``kubectl rollout restart``: new pods, injection rules re-evaluated."""
        with self._lock:
            ws = self._workload(kind, namespace, name)
            stamp = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(self.now()))
            ws.annotations["kubectl.kubernetes.io/restartedAt"] = stamp
            ws.resource_version = self._next_rv()
            now = self.now()
            self._restart_pods(ws, now)
            self._recompute(now)
            return self._workload_view(ws)

    def _workload(self, kind: str, namespace: str, name: str) -> _WorkloadState:
        ws = self.workloads.get(f"{namespace}/{name}")
        if ws is None or kind != "Deployment":
            raise ObjectNotFound(f"{kind} {namespace}/{name} not found")
        return ws

    # ----------------------------------------------------------- read side
    def _pod_view(self, ws: _WorkloadState, p: _PodState) -> Pod:
        labels = dict(ws.labels)
        labels["pod-template-hash"] = p.template_hash
        annotations = dict(ws.annotations)
        if p.has_sidecar:
            app, ver = app_and_version(ws.labels)
            labels.setdefault("service.istio.io/canonical-name", app or ws.spec.name)
            labels.setdefault("service.istio.io/canonical-revision", ver or "latest")
            labels["security.istio.io/tlsMode"] = "istio"
            annotations["sidecar.istio.io/status"] = (
                '{"initContainers":["istio-init"],"containers":["istio-proxy"],'
                '"volumes":["istio-envoy","istio-data","istio-podinfo","istio-token","istiod-ca-cert"],'
                '"imagePullSecrets":null,"revision":"default"}'
            )
        return Pod(
            name=p.name,
            namespace=p.namespace,
            labels=labels,
            annotations=annotations,
            phase="Running",
            has_sidecar=p.has_sidecar,
            ip=p.ip,
        )

    def _workload_view(self, ws: _WorkloadState) -> Workload:
        return Workload(
            kind="Deployment",
            name=ws.spec.name,
            namespace=ws.spec.namespace,
            labels=dict(ws.labels),
            annotations=dict(ws.annotations),
            replicas=ws.replicas,
            ready_replicas=len(ws.pods),
            pods=[self._pod_view(ws, p) for p in ws.pods],
            resource_version=ws.resource_version,
        )

    def list_namespaces(self) -> list[Namespace]:
        with self._lock:
            return [copy.deepcopy(self.namespaces[n]) for n in sorted(self.namespaces)]

    def list_workloads(self, namespace: str | None = None) -> list[Workload]:
        with self._lock:
            return [
                self._workload_view(ws)
                for key, ws in sorted(self.workloads.items())
                if namespace is None or ws.spec.namespace == namespace
            ]

    def get_workload(self, kind: str, namespace: str, name: str) -> Workload:
        with self._lock:
            return self._workload_view(self._workload(kind, namespace, name))

    def list_services(self, namespace: str | None = None) -> list[Service]:
        with self._lock:
            return [
                copy.deepcopy(s)
                for key, s in sorted(self.services.items())
                if namespace is None or s.namespace == namespace
            ]

    def list_istio_objects(self, namespace: str | None = None, kinds: list[str] | None = None) -> list[IstioObject]:
        with self._lock:
            out = [
                _public(o)
                for key, o in sorted(self.istio.items())
                if (namespace is None or o.namespace == namespace) and (not kinds or o.kind in kinds)
            ]
            return out

    def get_istio_object(self, kind: str, namespace: str, name: str) -> IstioObject:
        with self._lock:
            obj = self.istio.get((kind, namespace, name))
            if obj is None:
                raise ObjectNotFound(f"{kind} {namespace}/{name} not found")
            return _public(obj)

    def inventory(self, namespaces: list[str] | None = None) -> Inventory:
        with self._lock:
            wanted = set(namespaces) if namespaces else None
            keep = (lambda ns: True) if wanted is None else (lambda ns: ns in wanted)
            return Inventory(
                namespaces=[n for n in self.list_namespaces() if keep(n.name)],
                workloads=[w for w in self.list_workloads() if keep(w.namespace)],
                services=[s for s in self.list_services() if keep(s.namespace)],
                istio_objects=[o for o in self.list_istio_objects() if keep(o.namespace)],
            )

    # ------------------------------------------------------- traffic model
    def _service_for_host(self, host: str) -> Service | None:
        parts = host.split(".")
        if len(parts) >= 2 and host.endswith(".svc.cluster.local"):
            return self.services.get(f"{parts[1]}/{parts[0]}")
        return None

    def _service_entry_for_host(self, host: str) -> IstioObject | None:
        for obj in self.istio.values():
            if obj.kind == "ServiceEntry":
                for h in obj.spec.get("hosts") or []:
                    if routing.host_matches(h, host):
                        return obj
        return None

    def _endpoints(self, svc: Service, subset: dict[str, str] | None) -> list[_WorkloadState]:
        """Workloads (with running pods) behind ``svc``, optionally narrowed to a subset's labels.

        Traffic is split evenly across these *workloads* (then evenly across each one's
        pods). Envoy's round robin would weight by pod count; the pinned Bookinfo table
        (reviews v1/v2/v3 at 3.3333 each although v2 has 2 replicas) fixes this choice.
        """
        key = f"{svc.namespace}/{svc.name}"
        selected = self._ep_cache.get(key) if self._ep_cache is not None else None
        if selected is None:
            selected = [
                ws
                for ws in self.workloads.values()
                if ws.spec.namespace == svc.namespace
                and ws.pods
                and svc.selector
                and all(ws.labels.get(k) == v for k, v in svc.selector.items())
            ]
            if self._ep_cache is not None:
                self._ep_cache[key] = selected
        if not subset:
            return selected
        return [ws for ws in selected if all(ws.labels.get(k) == v for k, v in subset.items())]

    def _route_call(self, call: Call, rate: float, objects: list[IstioObject]) -> list[_Flow]:
        client = None if call.source == UNKNOWN_CLIENT else self.workloads.get(call.source)
        if call.source != UNKNOWN_CLIENT and (client is None or not client.pods):
            return []
        client_proxy = client is not None and client.has_proxy
        latency = call.latency or INSTANT
        codes = call.codes if call.protocol != "grpc" else (("200", 1.0),)
        host = call.target
        flows: list[_Flow] = []

        def unreached(svc_host: str, svc_name: str, svc_ns: str, share: float, code: str, flags: str) -> None:
            if client_proxy and share > 0:
                flows.append(
                    _Flow(call, client, None, svc_host, svc_name, svc_ns, rate * share, ((code, 1.0),), flags=flags,
                          source_latency=INSTANT, dest_reports=False)
                )

        if not client_proxy:
            # No client proxy: no VirtualService, kube-proxy spreads over every pod of the service.
            svc = self._service_for_host(host)
            if svc is None:
                return []
            eps = self._endpoints(svc, None)
            for ep in eps:
                flows.append(
                    _Flow(call, client, ep, host, svc.name, svc.namespace, rate / len(eps), codes,
                          source_latency=latency, dest_latency=latency, source_reports=False,
                          dest_reports=ep.has_proxy, mtls=False)
                )
            return flows

        svc = self._service_for_host(host)
        se = None if svc is not None else self._service_entry_for_host(host)
        if client.spec.gateway:
            decision = routing.RouteDecision((routing.RouteDestination(host, "", 1.0, client.spec.namespace),))
        else:
            decision = routing.decide_route(objects, host, call.protocol, client.spec.namespace, client.labels)
        svc_name = svc.name if svc else host
        svc_ns = svc.namespace if svc else (se.namespace if se else UNKNOWN)
        if decision.no_route:
            unreached(host, svc_name, svc_ns, 1.0, "404", "NR")
            return flows
        fault = decision.fault
        for dest in decision.destinations:
            share = dest.share
            dsvc = self._service_for_host(dest.host)
            dse = None if dsvc is not None else self._service_entry_for_host(dest.host)
            d_name = dsvc.name if dsvc else dest.host
            d_ns = dsvc.namespace if dsvc else (dse.namespace if dse else UNKNOWN)
            # The fault filter runs before the router: aborted requests never leave the client proxy.
            if fault.abort_share > 0:
                a = share * fault.abort_share
                if fault.delay_share > 0:
                    unreached(dest.host, d_name, d_ns, a * fault.delay_share, str(fault.abort_status), "DI,FI")
                    unreached(dest.host, d_name, d_ns, a * (1 - fault.delay_share), str(fault.abort_status), "FI")
                else:
                    unreached(dest.host, d_name, d_ns, a, str(fault.abort_status), "FI")
                share -= a
            if share <= 0:
                continue
            if dsvc is None:
                if dse is not None:
                    # ServiceEntry host: only the client proxy reports; plaintext from the proxy.
                    self._add_served(flows, call, client, None, dest.host, d_name, d_ns, rate * share, codes, latency,
                                     fault, dest_reports=False, mtls=False)
                elif dest.host == host and not dest.subset:
                    # Unknown host under the default ALLOW_ANY outbound policy: PassthroughCluster.
                    self._add_served(flows, call, client, None, dest.host, "PassthroughCluster", UNKNOWN, rate * share,
                                     codes, latency, fault, dest_reports=False, mtls=False)
                else:
                    unreached(dest.host, d_name, d_ns, share, "503", "NC")
                continue
            dr = routing.find_destination_rule(objects, dsvc.host, client.spec.namespace, dsvc.namespace)
            labels = None
            if dest.subset:
                labels = routing.subset_labels(dr, dest.subset)
                if labels is None:
                    # Route to a cluster pilot never built: Envoy answers 503 "NC" (no cluster found).
                    unreached(dest.host, d_name, d_ns, share, "503", "NC")
                    continue
            eps = self._endpoints(dsvc, labels)
            if not eps:
                unreached(dest.host, d_name, d_ns, share, "503", "UH")
                continue
            mode = routing.tls_mode(dr, dest.subset)
            for ep in eps:
                mtls = ep.has_proxy and mode not in ("DISABLE", "SIMPLE", "MUTUAL")
                self._add_served(flows, call, client, ep, dsvc.host, dsvc.name, dsvc.namespace,
                                 rate * share / len(eps), codes, latency, fault,
                                 dest_reports=ep.has_proxy, mtls=mtls)
        return flows

    @staticmethod
    def _add_served(flows, call, client, ep, host, name, ns, rate, codes, latency, fault, dest_reports, mtls) -> None:
        if rate <= 0:
            return
        delayed = fault.delay_share if fault.delay_ms > 0 else 0.0
        base = dict(call=call, client=client, dest=ep, svc_host=host, svc_name=name, svc_ns=ns, codes=codes,
                    dest_latency=latency, dest_reports=dest_reports, mtls=mtls)
        if delayed > 0:
            flows.append(_Flow(rate=rate * delayed, flags="DI", source_latency=latency.shifted(fault.delay_ms), **base))
            if delayed < 1:
                flows.append(_Flow(rate=rate * (1 - delayed), source_latency=latency, **base))
        else:
            flows.append(_Flow(rate=rate, source_latency=latency, **base))

    def _compute_flows(self) -> list[_Flow]:
        self._ep_cache = {}
        try:
            return self._compute_flows_cached()
        finally:
            self._ep_cache = None

    def _compute_flows_cached(self) -> list[_Flow]:
        objects = sorted(self.istio.values(), key=lambda o: int(o.metadata.get("_order", 0)))
        inbound: dict[str, float] = {}
        flows: list[_Flow] = []
        for _ in range(len(self.workloads) + 2):
            flows = []
            new_inbound: dict[str, float] = {}
            for call in self.scenario.calls:
                if call.protocol == "tcp":
                    rate = 1.0
                elif call.per_inbound is not None:
                    rate = inbound.get(call.source, 0.0) * call.per_inbound
                else:
                    rate = call.rate
                if rate <= 0:
                    continue
                for f in self._route_call(call, rate, objects):
                    flows.append(f)
                    if f.dest is not None and call.protocol != "tcp":
                        new_inbound[f.dest.key] = new_inbound.get(f.dest.key, 0.0) + f.rate
            if all(abs(new_inbound.get(k, 0.0) - inbound.get(k, 0.0)) < 1e-12 for k in set(new_inbound) | set(inbound)):
                break
            inbound = new_inbound
        return flows

    # ----------------------------------------------------------- telemetry
    def _identity(self, ws: _WorkloadState) -> tuple[str, str, str, str, str, str]:
        """(workload, namespace, canonical service, canonical revision, app, version)."""
        labels = ws.labels
        canon = labels.get("service.istio.io/canonical-name") or labels.get("app.kubernetes.io/name") or labels.get("app") or ws.spec.name
        rev = labels.get("service.istio.io/canonical-revision") or labels.get("app.kubernetes.io/version") or labels.get("version") or "latest"
        app = labels.get("app") or UNKNOWN
        version = labels.get("version") or UNKNOWN
        return ws.spec.name, ws.spec.namespace, canon, rev, app, version

    def _principal(self, ws: _WorkloadState) -> str:
        return f"spiffe://{TRUST_DOMAIN}/ns/{ws.spec.namespace}/sa/{ws.spec.service_account}"

    def _source_labels(self, f: _Flow, reporter: str) -> tuple[tuple[str, str], ...]:
        ws = f.client
        peer_known = ws is not None and ws.has_proxy and (reporter == "source" or f.mtls or f.call.protocol != "tcp")
        if not peer_known:
            return (
                ("source_workload", UNKNOWN), ("source_canonical_service", UNKNOWN), ("source_canonical_revision", "latest"),
                ("source_workload_namespace", UNKNOWN), ("source_principal", UNKNOWN), ("source_app", UNKNOWN),
                ("source_version", UNKNOWN), ("source_cluster", UNKNOWN),
            )
        name, ns, canon, rev, app, version = self._identity(ws)
        return (
            ("source_workload", name), ("source_canonical_service", canon), ("source_canonical_revision", rev),
            ("source_workload_namespace", ns), ("source_principal", self._principal(ws) if f.mtls else UNKNOWN),
            ("source_app", app), ("source_version", version), ("source_cluster", CLUSTER_NAME),
        )

    def _dest_labels(self, f: _Flow, reporter: str) -> tuple[tuple[str, str], ...]:
        ws = f.dest
        svc = (("destination_service", f.svc_host), ("destination_service_name", f.svc_name),
               ("destination_service_namespace", f.svc_ns))
        if ws is None:
            return (
                ("destination_workload", UNKNOWN), ("destination_workload_namespace", UNKNOWN),
                ("destination_principal", UNKNOWN), ("destination_app", UNKNOWN), ("destination_version", UNKNOWN),
            ) + svc[:1] + (("destination_canonical_service", UNKNOWN), ("destination_canonical_revision", "latest")) + svc[1:] + (
                ("destination_cluster", UNKNOWN),
            )
        name, ns, canon, rev, app, version = self._identity(ws)
        if reporter == "source" and not ws.has_proxy:
            # No server proxy: the client falls back to the endpoint metadata pilot sends
            # (workload, namespace, canonical name/revision, cluster; no app/version).
            app = version = UNKNOWN
        principal = self._principal(ws) if f.mtls else UNKNOWN
        return (
            ("destination_workload", name), ("destination_workload_namespace", ns), ("destination_principal", principal),
            ("destination_app", app), ("destination_version", version),
        ) + svc[:1] + (("destination_canonical_service", canon), ("destination_canonical_revision", rev)) + svc[1:] + (
            ("destination_cluster", CLUSTER_NAME),
        )

    def _series_id(self, kind: str, items: tuple[tuple[str, str], ...], pod_key: tuple[str, str]) -> int:
        key = (kind, items)
        sid = self._series_index.get(key)
        if sid is None:
            sid = len(self._series)
            label_str = ",".join(f'{k}="{_escape(v)}"' for k, v in items)
            self._series.append(_Series(kind, items, label_str, pod_key))
            self._series_index[key] = sid
        return sid

    def _compute_rates(self) -> dict[int, list[float]]:
        rates: dict[int, list[float]] = {}
        profile_vec: dict[int, tuple[float, ...]] = {}

        def vec_of(p: LatencyProfile) -> tuple[float, ...]:
            v = profile_vec.get(id(p))
            if v is None:
                v = (1.0, p.mean) + tuple(p.cumulative)
                profile_vec[id(p)] = v
            return v

        def add(sid: int, values: Iterable[float], scale: float) -> None:
            cur = rates.get(sid)
            if cur is None:
                rates[sid] = [x * scale for x in values]
            else:
                for i, x in enumerate(values):
                    cur[i] += x * scale

        for f in self._compute_flows():
            call = f.call
            proto = call.protocol
            for reporter in ("source", "destination"):
                if reporter == "source":
                    if not (f.source_reports and f.client is not None and f.client.has_proxy):
                        continue
                    pods = f.client.pods
                    flags, latency = f.flags, f.source_latency
                    csp = UNKNOWN
                else:
                    if not (f.dest_reports and f.dest is not None and f.dest.has_proxy):
                        continue
                    pods = f.dest.pods
                    flags, latency = f.dest_flags, f.dest_latency
                    csp = "mutual_tls" if f.mtls else "none"
                if not pods:
                    continue
                per_pod = f.rate / len(pods)
                head = (("reporter", reporter),) + self._source_labels(f, reporter) + self._dest_labels(f, reporter)
                for pod in pods:
                    ident = (("namespace", pod.namespace), ("pod", pod.name))
                    pod_key = (pod.namespace, pod.name)
                    if proto == "tcp":
                        items = ident + head + (("request_protocol", "tcp"), ("response_flags", flags),
                                                ("connection_security_policy", csp))
                        # istio_tcp_sent_bytes_total counts bytes sent during the *response*
                        # (server -> client); received counts request bytes (client -> server).
                        add(self._series_id("tcp", items, pod_key), (call.response_bytes, call.request_bytes), per_pod)
                        continue
                    vec = vec_of(latency or INSTANT)
                    for code, code_share in f.codes:
                        if code_share <= 0:
                            continue
                        grpc_codes = call.grpc_codes if proto == "grpc" and code == "200" else None
                        if proto == "grpc" and grpc_codes is None:
                            grpc_codes = ((_grpc_from_http(code), 1.0),)
                        for gcode, gshare in grpc_codes or ((None, 1.0),):
                            if gshare <= 0:
                                continue
                            tail = (("request_protocol", proto), ("response_code", code))
                            if gcode is not None:
                                tail += (("grpc_response_status", gcode),)
                            tail += (("response_flags", flags), ("connection_security_policy", csp))
                            sid = self._series_id("http", ident + head + tail, pod_key)
                            add(sid, vec, per_pod * code_share * gshare)
        return rates

    def _recompute(self, at: float) -> None:
        rates = self._compute_rates()
        if self._segments and at <= self._segments[-1].start:
            seg = self._segments[-1]
            seg.rates = rates
            seg._table = None
            return
        if not self._segments:
            self._segments.append(_Segment(at, rates, {}))
            return
        last = self._segments[-1]
        dt = at - last.start
        cums: dict[int, list[float]] = {sid: list(v) for sid, v in last.cums.items()}
        for sid, r in last.rates.items():
            cur = cums.get(sid)
            if cur is None:
                cums[sid] = [x * dt for x in r]
            else:
                for i, x in enumerate(r):
                    cur[i] += x * dt
        self._segments.append(_Segment(at, rates, cums))

    def _segment_at(self, t: float) -> _Segment | None:
        k = bisect.bisect_right([s.start for s in self._segments], t) - 1
        return self._segments[k] if k >= 0 else None

    def _alive(self, pod_key: tuple[str, str], t0: float, t1: float) -> bool:
        """Pod alive at some time in (t0, t1]."""
        p = self._pods.get(pod_key)
        return p is not None and p.born < t1 + 1e-12 and (p.died is None or p.died > t0)

    def _values_at(self, seg: _Segment | None, sid: int, t: float) -> list[float] | None:
        if seg is None:
            return None
        cum = seg.cums.get(sid)
        rate = seg.rates.get(sid)
        if cum is None and rate is None:
            return None
        dt = t - seg.start
        if rate is None:
            return list(cum)
        if cum is None:
            return [r * dt for r in rate]
        return [c + r * dt for c, r in zip(cum, rate)]

    # ----------------------------------------------------------- public telemetry
    def series_rates(
        self, window_seconds: float, end: float | None = None, metrics: Collection[str] | None = None
    ) -> list[RateSample]:
        """Per-second rate over ``[end - window, end]`` of every counter series the exporter exposes."""
        if window_seconds <= 0:
            raise ValueError("window_seconds must be positive")
        want = set(metrics) if metrics else set(ALL_METRICS)
        out: list[RateSample] = []
        with self._lock:
            end = self.now() if end is None else float(end)
            begin = end - window_seconds
            seg_end = self._segment_at(end)
            seg_begin = self._segment_at(begin)
            if seg_end is None:
                return out
            for sid, _, _ in seg_end.table():
                s = self._series[sid]
                if not self._alive(s.pod_key, begin, end):
                    continue
                v1 = self._values_at(seg_end, sid, end)
                if v1 is None or not any(v1):
                    continue
                v0 = self._values_at(seg_begin, sid, begin) if seg_begin is not None else None
                if v0 is None:
                    v0 = [0.0] * len(v1)
                r = [(a - b) / window_seconds for a, b in zip(v1, v0)]
                items = s.label_items
                if s.kind == "tcp":
                    if TCP_SENT in want:
                        out.append(RateSample(TCP_SENT, items, r[0]))
                    if TCP_RECEIVED in want:
                        out.append(RateSample(TCP_RECEIVED, items, r[1]))
                    continue
                if REQUESTS in want:
                    out.append(RateSample(REQUESTS, items, r[0]))
                if DURATION_BUCKET in want:
                    for le, x in zip(LE_STRINGS, r[2:]):
                        out.append(RateSample(DURATION_BUCKET, items + (("le", le),), x))
                if DURATION_SUM in want:
                    out.append(RateSample(DURATION_SUM, items, r[1]))
                if DURATION_COUNT in want:
                    out.append(RateSample(DURATION_COUNT, items, r[0]))
        return out

    def counters(self, at: float | None = None) -> list[tuple[str, tuple[tuple[str, str], ...], float]]:
        """(metric, label items, value) of every series a scrape at ``at`` would show."""
        out = []
        for kind, sid, items, _, values in self._iter_counters(at):
            if kind == "tcp":
                out.append((TCP_SENT, items, values[0]))
                out.append((TCP_RECEIVED, items, values[1]))
            else:
                out.append((REQUESTS, items, values[0]))
                for le, x in zip(LE_STRINGS, values[2:]):
                    out.append((DURATION_BUCKET, items + (("le", le),), x))
                out.append((DURATION_SUM, items, values[1]))
                out.append((DURATION_COUNT, items, values[0]))
        return out

    def _iter_counters(self, at: float | None):
        with self._lock:
            at = self.now() if at is None else float(at)
            seg = self._segment_at(at)
            if seg is None:
                return []
            dt = at - seg.start
            rows = []
            series = self._series
            pods = self._pods
            for sid, cum, rate in seg.table():
                s = series[sid]
                p = pods[s.pod_key]
                if p.born > at or (p.died is not None and p.died <= at):
                    continue
                values = [c + r * dt for c, r in zip(cum, rate)]
                if not values[0] and not any(values):
                    continue
                rows.append((s.kind, sid, s.label_items, s.label_str, values))
            return rows

    def render_exposition(self, at: float | None = None) -> str:
        """Prometheus text format (0.0.4) of every series at ``at``."""
        return "".join(self.iter_exposition(at))

    def iter_exposition(self, at: float | None = None, chunk_series: int = 500) -> Iterable[str]:
        """``render_exposition`` in chunks (a large mesh renders to hundreds of MB)."""
        rows = self._iter_counters(at)
        http_rows = [r for r in rows if r[0] == "http"]
        tcp_rows = [r for r in rows if r[0] == "tcp"]
        les = LE_STRINGS
        parts: list[str] = []
        add = parts.append

        def flush() -> str:
            text = "".join(parts)
            parts.clear()
            return text

        add(f"# HELP {REQUESTS} Total requests.\n# TYPE {REQUESTS} counter\n")
        for n, (_, _, _, ls, v) in enumerate(http_rows, 1):
            add(f"{REQUESTS}{{{ls}}} {_num(v[0])}\n")
            if n % (chunk_series * 10) == 0:
                yield flush()
        add(f"# HELP {DURATION} Request duration in milliseconds.\n# TYPE {DURATION} histogram\n")
        for n, (_, _, _, ls, v) in enumerate(http_rows, 1):
            for i in range(N_BUCKETS):
                add(f'{DURATION_BUCKET}{{{ls},le="{les[i]}"}} {_num(v[2 + i])}\n')
            add(f"{DURATION_SUM}{{{ls}}} {_num(v[1])}\n{DURATION_COUNT}{{{ls}}} {_num(v[0])}\n")
            if n % chunk_series == 0:
                yield flush()
        add(f"# HELP {TCP_SENT} Bytes sent during response (server to client).\n# TYPE {TCP_SENT} counter\n")
        for _, _, _, ls, v in tcp_rows:
            add(f"{TCP_SENT}{{{ls}}} {_num(v[0])}\n")
        add(f"# HELP {TCP_RECEIVED} Bytes received during request (client to server).\n# TYPE {TCP_RECEIVED} counter\n")
        for _, _, _, ls, v in tcp_rows:
            add(f"{TCP_RECEIVED}{{{ls}}} {_num(v[1])}\n")
        yield flush()

    def series_count(self, at: float | None = None) -> dict[str, int]:
        rows = self._iter_counters(at)
        http = sum(1 for r in rows if r[0] == "http")
        tcp = len(rows) - http
        return {
            "label_sets": len(rows),
            "http_label_sets": http,
            "tcp_label_sets": tcp,
            "time_series": http * (3 + N_BUCKETS) + tcp * 2,
        }


def _num(x: float) -> str:
    if x == int(x) and abs(x) < 1e15:
        return str(int(x))
    return repr(x)


def _grpc_from_http(code: str) -> str:
    """Envoy's HTTP -> gRPC status mapping when the server sent no grpc-status."""
    return {"400": "13", "401": "16", "403": "7", "404": "12", "429": "14", "502": "14", "503": "14", "504": "14"}.get(code, "2")


def _uuid(text: str) -> str:
    h = _digest(text)
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:32]}"


def _public(obj: IstioObject) -> IstioObject:
    out = copy.deepcopy(obj)
    out.metadata.pop("_order", None)
    return out


def validate_manifest(manifest: dict[str, Any]) -> None:
    """The checks the API server (schema) would do; raises ObjectInvalid."""
    if not isinstance(manifest, dict):
        raise ObjectInvalid("manifest must be a mapping")
    kind = manifest.get("kind")
    if kind not in ISTIO_KINDS:
        raise ObjectInvalid(f"unsupported kind {kind!r}; expected one of {', '.join(ISTIO_KINDS)}")
    api = manifest.get("apiVersion", "")
    group = ISTIO_KINDS[kind][0]
    if api and not str(api).startswith(group + "/"):
        raise ObjectInvalid(f"apiVersion {api!r} does not belong to {group}")
    meta = manifest.get("metadata")
    if not isinstance(meta, dict) or not meta.get("name"):
        raise ObjectInvalid("metadata.name is required")
    if not re.fullmatch(r"[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?", str(meta["name"])):
        raise ObjectInvalid(f"metadata.name {meta['name']!r} is not a valid DNS-1123 name")
    spec = manifest.get("spec", {})
    if not isinstance(spec, dict):
        raise ObjectInvalid("spec must be a mapping")
    if kind == "VirtualService":
        if not spec.get("hosts"):
            raise ObjectInvalid("VirtualService spec.hosts is required")
        for section in ("http", "tcp", "tls"):
            for route in spec.get(section) or []:
                if not isinstance(route, dict):
                    raise ObjectInvalid(f"spec.{section} entries must be mappings")
                for d in route.get("route") or []:
                    if not isinstance(d, dict) or not (d.get("destination") or {}).get("host"):
                        raise ObjectInvalid("every route destination needs destination.host")
                    w = d.get("weight", 0)
                    if not isinstance(w, int) or w < 0:
                        raise ObjectInvalid(f"route weight {w!r} must be a non-negative integer")
                fault = route.get("fault") or {}
                if fault.get("delay"):
                    try:
                        routing.parse_duration_ms(fault["delay"].get("fixedDelay"))
                    except ValueError as exc:
                        raise ObjectInvalid(str(exc)) from exc
                if fault.get("abort") and "httpStatus" in fault["abort"]:
                    st = fault["abort"]["httpStatus"]
                    if not isinstance(st, int) or not 200 <= st <= 599:
                        raise ObjectInvalid(f"abort httpStatus {st!r} must be an HTTP status")
    elif kind == "DestinationRule":
        if not spec.get("host"):
            raise ObjectInvalid("DestinationRule spec.host is required")
        names = [s.get("name") for s in spec.get("subsets") or []]
        if any(not n for n in names) or len(names) != len(set(names)):
            raise ObjectInvalid("DestinationRule subsets need unique names")
    elif kind == "ServiceEntry":
        if not spec.get("hosts"):
            raise ObjectInvalid("ServiceEntry spec.hosts is required")
