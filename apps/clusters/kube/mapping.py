"""Raw Kubernetes JSON -> the plain shapes of ``apps.clusters.inventory`` (pure).

The gateway reads lists as raw JSON (no model deserialisation: it is the
expensive part of the official client) and maps them here.
"""
from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from ..inventory import IstioObject, Namespace, Pod, Service, ServicePort, Workload

# metadata keys worth keeping on an IstioObject (managedFields is noise, and big).
_KEPT_METADATA = (
    "name",
    "namespace",
    "labels",
    "annotations",
    "resourceVersion",
    "uid",
    "generation",
    "creationTimestamp",
)


def _meta(obj: dict[str, Any]) -> dict[str, Any]:
    return obj.get("metadata") or {}


def _controller_ref(obj: dict[str, Any]) -> dict[str, Any] | None:
    refs = _meta(obj).get("ownerReferences") or []
    for ref in refs:
        if ref.get("controller"):
            return ref
    return refs[0] if refs else None


def namespace_from_json(obj: dict[str, Any]) -> Namespace:
    meta = _meta(obj)
    return Namespace(
        name=meta["name"],
        labels=dict(meta.get("labels") or {}),
        annotations=dict(meta.get("annotations") or {}),
        resource_version=str(meta.get("resourceVersion") or ""),
    )


def pod_has_sidecar(obj: dict[str, Any]) -> bool:
    spec = obj.get("spec") or {}
    containers = list(spec.get("containers") or []) + list(spec.get("initContainers") or [])
    if any(c.get("name") == "istio-proxy" for c in containers):
        return True
    return "sidecar.istio.io/status" in (_meta(obj).get("annotations") or {})


def pod_from_json(obj: dict[str, Any]) -> Pod:
    meta = _meta(obj)
    status = obj.get("status") or {}
    return Pod(
        name=meta["name"],
        namespace=meta.get("namespace", ""),
        labels=dict(meta.get("labels") or {}),
        annotations=dict(meta.get("annotations") or {}),
        phase=status.get("phase") or "Pending",
        has_sidecar=pod_has_sidecar(obj),
        ip=status.get("podIP") or "",
    )


def _pod_ready(obj: dict[str, Any]) -> bool:
    for cond in (obj.get("status") or {}).get("conditions") or []:
        if cond.get("type") == "Ready":
            return cond.get("status") == "True"
    return False


def _template_workload(kind: str, obj: dict[str, Any]) -> Workload:
    meta = _meta(obj)
    spec = obj.get("spec") or {}
    status = obj.get("status") or {}
    tmeta = (spec.get("template") or {}).get("metadata") or {}
    if kind == "DaemonSet":
        replicas = int(status.get("desiredNumberScheduled") or 0)
        ready = int(status.get("numberReady") or 0)
    else:
        replicas = int(spec.get("replicas", 1) if spec.get("replicas") is not None else 1)
        ready = int(status.get("readyReplicas") or 0)
    return Workload(
        kind=kind,
        name=meta["name"],
        namespace=meta.get("namespace", ""),
        labels=dict(tmeta.get("labels") or {}),
        annotations=dict(tmeta.get("annotations") or {}),
        replicas=replicas,
        ready_replicas=ready,
        pods=[],
        resource_version=str(meta.get("resourceVersion") or ""),
    )


def workloads_from_json(
    deployments: Iterable[dict[str, Any]],
    statefulsets: Iterable[dict[str, Any]],
    daemonsets: Iterable[dict[str, Any]],
    replicasets: Iterable[dict[str, Any]],
    pods: Iterable[dict[str, Any]],
) -> list[Workload]:
    """Group pods under their owning workload through ownerReferences.

    Pod -> ReplicaSet -> Deployment, Pod -> StatefulSet, Pod -> DaemonSet.
    A pod no such controller owns is a workload of its own (kind "Pod"); a
    ReplicaSet without a Deployment is a workload of kind "ReplicaSet", as in Kiali.
    """
    by_uid: dict[str, Workload] = {}
    result: list[Workload] = []
    for kind, items in (("Deployment", deployments), ("StatefulSet", statefulsets), ("DaemonSet", daemonsets)):
        for obj in items:
            wl = _template_workload(kind, obj)
            by_uid[_meta(obj).get("uid", f"{kind}/{wl.namespace}/{wl.name}")] = wl
            result.append(wl)
    rs_owner: dict[str, str] = {}  # ReplicaSet uid -> Deployment uid
    for rs in replicasets:
        ref = _controller_ref(rs)
        rs_uid = _meta(rs).get("uid", "")
        if ref and ref.get("kind") == "Deployment" and ref.get("uid") in by_uid:
            rs_owner[rs_uid] = ref["uid"]
        elif not ref:
            wl = _template_workload("ReplicaSet", rs)
            by_uid[rs_uid] = wl
            rs_owner[rs_uid] = rs_uid
            result.append(wl)
    for obj in pods:
        pod = pod_from_json(obj)
        ref = _controller_ref(obj)
        owner: Workload | None = None
        if ref:
            uid = ref.get("uid", "")
            if ref.get("kind") == "ReplicaSet":
                owner = by_uid.get(rs_owner.get(uid, ""))
            else:
                owner = by_uid.get(uid)
        if owner is not None:
            owner.pods.append(pod)
            continue
        meta = _meta(obj)
        result.append(
            Workload(
                kind="Pod",
                name=pod.name,
                namespace=pod.namespace,
                labels=dict(pod.labels),
                annotations=dict(pod.annotations),
                replicas=1,
                ready_replicas=1 if _pod_ready(obj) else 0,
                pods=[pod],
                resource_version=str(meta.get("resourceVersion") or ""),
            )
        )
    for wl in result:
        wl.pods.sort(key=lambda p: p.name)
    result.sort(key=lambda w: (w.namespace, w.name, w.kind))
    return result


def service_from_json(obj: dict[str, Any]) -> Service:
    meta = _meta(obj)
    spec = obj.get("spec") or {}
    ports = [
        ServicePort(
            name=p.get("name") or "",
            port=int(p.get("port") or 0),
            protocol=p.get("protocol") or "TCP",
            app_protocol=p.get("appProtocol") or "",
            target_port=p.get("targetPort"),
        )
        for p in spec.get("ports") or []
    ]
    cluster_ip = spec.get("clusterIP") or ""
    return Service(
        name=meta["name"],
        namespace=meta.get("namespace", ""),
        labels=dict(meta.get("labels") or {}),
        selector=dict(spec.get("selector") or {}),
        ports=ports,
        type=spec.get("type") or "ClusterIP",
        cluster_ip="" if cluster_ip == "None" else cluster_ip,
        resource_version=str(meta.get("resourceVersion") or ""),
    )


def sorted_namespaces(items: Iterable[dict[str, Any]]) -> list[Namespace]:
    return sorted((namespace_from_json(o) for o in items), key=lambda n: n.name)


def sorted_services(items: Iterable[dict[str, Any]]) -> list[Service]:
    return sorted((service_from_json(o) for o in items), key=lambda s: (s.namespace, s.name))


def istio_order(o: IstioObject) -> tuple[str, str, str]:
    return (o.namespace, o.kind, o.name)


def istio_object_from_json(kind: str, obj: dict[str, Any]) -> IstioObject:
    meta = _meta(obj)
    kept = {k: meta[k] for k in _KEPT_METADATA if k in meta}
    return IstioObject(
        kind=kind,
        namespace=meta.get("namespace", ""),
        name=meta["name"],
        spec=obj.get("spec") or {},
        metadata=kept,
        api_version=obj.get("apiVersion", ""),
        resource_version=str(meta.get("resourceVersion") or ""),
    )

