"""What a simulated mesh is made of, before any traffic is computed.

A ``Scenario`` is static: namespaces, workloads (Deployments), services, the
Istio objects present at start, and ``Call`` specs saying who calls which
service how often. The traffic model (``traffic.py``) turns calls into flows
according to the Istio config applied at each moment.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from .histogram import LatencyProfile

UNKNOWN_CLIENT = "unknown"  # a caller outside the mesh (no proxy, no identity)


@dataclass
class WorkloadSpec:
    namespace: str
    name: str
    labels: dict[str, str]  # pod template labels
    replicas: int = 1
    service_account: str = "default"
    annotations: dict[str, str] = field(default_factory=dict)
    gateway: bool = False  # a gateway proxy (always has its Envoy; reports as source)
    container_port: int = 9080


@dataclass
class ServiceSpec:
    namespace: str
    name: str
    selector: dict[str, str]
    ports: list[tuple[str, int, str]]  # (name, port, appProtocol or "")
    labels: dict[str, str] = field(default_factory=dict)


@dataclass
class Call:
    """``source`` calls ``target`` (a service FQDN or an external host).

    ``rate`` is requests/s (HTTP/gRPC) for the whole source workload, split
    evenly over its pods. With ``per_inbound`` set, the rate is that multiple
    of the source workload's inbound request rate instead ("downstream rates
    follow upstream"). TCP calls carry bytes/s instead of requests.
    """

    source: str  # "namespace/workload" or UNKNOWN_CLIENT
    target: str  # service FQDN (reviews.bookinfo.svc.cluster.local) or external host
    port: int
    protocol: str  # "http" | "grpc" | "tcp"
    rate: float = 0.0
    per_inbound: float | None = None
    codes: tuple[tuple[str, float], ...] = (("200", 1.0),)  # HTTP response code -> share
    grpc_codes: tuple[tuple[str, float], ...] = (("0", 1.0),)  # gRPC status -> share (grpc only)
    latency: LatencyProfile | None = None
    request_bytes: float = 0.0  # tcp: client -> server bytes/s
    response_bytes: float = 0.0  # tcp: server -> client bytes/s


@dataclass
class Scenario:
    name: str
    namespaces: dict[str, dict[str, str]] = field(default_factory=dict)  # name -> labels
    workloads: list[WorkloadSpec] = field(default_factory=list)
    services: list[ServiceSpec] = field(default_factory=list)
    calls: list[Call] = field(default_factory=list)
    istio_objects: list[dict[str, Any]] = field(default_factory=list)  # manifests

    def merge(self, other: Scenario) -> Scenario:
        out = Scenario(name=f"{self.name}+{other.name}")
        for s in (self, other):
            for ns, labels in s.namespaces.items():
                out.namespaces.setdefault(ns, dict(labels))
            known_wl = {(w.namespace, w.name) for w in out.workloads}
            out.workloads += [w for w in s.workloads if (w.namespace, w.name) not in known_wl]
            known_svc = {(x.namespace, x.name) for x in out.services}
            out.services += [x for x in s.services if (x.namespace, x.name) not in known_svc]
            out.calls += s.calls
            out.istio_objects += s.istio_objects
        return out
