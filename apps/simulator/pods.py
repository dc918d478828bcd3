"""Workloads and their pods: sidecar injection, generated names, replacement on restart.

Pure. A workload's pods are replaced together (a rollout with no surge): the
old ones die at the instant the new ones start. Names and IPs are derived from
the seed, the workload and its generation, so a replay of the same changes
gives the same pods.
"""
from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field

from apps.clusters.inventory import Pod, Workload, app_and_version

from .scenario import WorkloadSpec

_HASH_ALPHABET = "bcdfghjklmnpqrstvwxz2456789"  # what Kubernetes uses for generated names
_SIDECAR_STATUS = (
    '{"initContainers":["istio-init"],"containers":["istio-proxy"],'
    '"volumes":["istio-envoy","istio-data","istio-podinfo","istio-token","istiod-ca-cert"],'
    '"imagePullSecrets":null,"revision":"default"}'
)


def digest(*parts: object) -> str:
    return hashlib.sha256("|".join(str(p) for p in parts).encode()).hexdigest()


def k8s_suffix(seed_text: str, length: int) -> str:
    h = int(digest(seed_text), 16)
    out = []
    for _ in range(length):
        h, r = divmod(h, len(_HASH_ALPHABET))
        out.append(_HASH_ALPHABET[r])
    return "".join(out)


def uuid_of(text: str) -> str:
    """A stable UUID-shaped id derived from ``text``."""
    h = digest(text)
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:32]}"


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
class PodState:
    name: str
    namespace: str
    ip: str
    has_sidecar: bool
    template_hash: str
    born: float
    died: float | None = None

    def alive_between(self, t0: float, t1: float) -> bool:
        """Alive at some time in (t0, t1]."""
        return self.born < t1 + 1e-12 and (self.died is None or self.died > t0)

    def alive_at(self, t: float) -> bool:
        return self.born <= t and (self.died is None or self.died > t)


@dataclass
class WorkloadState:
    spec: WorkloadSpec
    labels: dict[str, str]
    annotations: dict[str, str]
    replicas: int
    pods: list[PodState] = field(default_factory=list)
    generation: int = 1
    resource_version: str = ""

    @property
    def key(self) -> str:
        return f"{self.spec.namespace}/{self.spec.name}"

    @property
    def has_proxy(self) -> bool:
        return bool(self.pods) and all(p.has_sidecar for p in self.pods)


def start_pods(ws: WorkloadState, now: float, *, seed: int, ns_labels: dict[str, str],
               next_ip: Callable[[], str]) -> list[PodState]:
    """Create the workload's pods for its current generation; injection decided now."""
    sidecar = ws.spec.gateway or should_inject(ns_labels, ws.labels, ws.annotations)
    tmpl_hash = k8s_suffix(f"{seed}|{ws.key}|{ws.generation}|{sorted(ws.labels.items())}", 10)[:9] + k8s_suffix(
        f"{ws.key}|{ws.generation}", 1
    )
    started = []
    for i in range(ws.replicas):
        suffix = k8s_suffix(f"{seed}|{ws.key}|{ws.generation}|{i}", 5)
        started.append(PodState(
            name=f"{ws.spec.name}-{tmpl_hash}-{suffix}",
            namespace=ws.spec.namespace,
            ip=next_ip(),
            has_sidecar=sidecar,
            template_hash=tmpl_hash,
            born=now,
        ))
    ws.pods.extend(started)
    return started


def retire_pods(ws: WorkloadState, now: float) -> None:
    """The current pods die at ``now``; the next generation's pods are started by the caller."""
    for p in ws.pods:
        p.died = now
    ws.pods = []
    ws.generation += 1


def pod_view(ws: WorkloadState, p: PodState) -> Pod:
    labels = dict(ws.labels)
    labels["pod-template-hash"] = p.template_hash
    annotations = dict(ws.annotations)
    if p.has_sidecar:
        app, ver = app_and_version(ws.labels)
        labels.setdefault("service.istio.io/canonical-name", app or ws.spec.name)
        labels.setdefault("service.istio.io/canonical-revision", ver or "latest")
        labels["security.istio.io/tlsMode"] = "istio"
        annotations["sidecar.istio.io/status"] = _SIDECAR_STATUS
    return Pod(
        name=p.name,
        namespace=p.namespace,
        labels=labels,
        annotations=annotations,
        phase="Running",
        has_sidecar=p.has_sidecar,
        ip=p.ip,
    )


def workload_view(ws: WorkloadState) -> Workload:
    return Workload(
        kind="Deployment",
        name=ws.spec.name,
        namespace=ws.spec.namespace,
        labels=dict(ws.labels),
        annotations=dict(ws.annotations),
        replicas=ws.replicas,
        ready_replicas=len(ws.pods),
        pods=[pod_view(ws, p) for p in ws.pods],
        resource_version=ws.resource_version,
    )
