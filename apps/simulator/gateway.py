"""``ClusterGateway`` over a ``SimulatedMesh``: the portal's built-in cluster."""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

from apps.clusters.gateway import ObjectInvalid
from apps.clusters.inventory import ISTIO_KINDS, Inventory, IstioObject, Namespace, Service, Workload

from .mesh import SimulatedMesh

if TYPE_CHECKING:
    from .store import PersistentMesh

SERVER_VERSION = "v1.30.3-meshdeck-sim"


class SimulatorGateway:
    """Implements ``apps.clusters.gateway.ClusterGateway``; every method is thread-safe."""

    def __init__(self, mesh: SimulatedMesh | PersistentMesh):
        self.mesh = mesh

    def server_version(self) -> str:
        return SERVER_VERSION

    def list_namespaces(self) -> list[Namespace]:
        return self.mesh.list_namespaces()

    def list_workloads(self, namespace: str | None = None) -> list[Workload]:
        return self.mesh.list_workloads(namespace)

    def get_workload(self, kind: str, namespace: str, name: str) -> Workload:
        return self.mesh.get_workload(kind, namespace, name)

    def list_services(self, namespace: str | None = None) -> list[Service]:
        return self.mesh.list_services(namespace)

    def list_istio_objects(self, namespace: str | None = None, kinds: list[str] | None = None) -> list[IstioObject]:
        if kinds:
            unknown = [k for k in kinds if k not in ISTIO_KINDS]
            if unknown:
                raise ObjectInvalid(f"unsupported kinds: {', '.join(unknown)}")
        return self.mesh.list_istio_objects(namespace, kinds)

    def get_istio_object(self, kind: str, namespace: str, name: str) -> IstioObject:
        return self.mesh.get_istio_object(kind, namespace, name)

    def apply_istio_object(self, manifest: dict[str, Any], *, resource_version: str | None = None) -> IstioObject:
        return self.mesh.apply_istio_object(manifest, resource_version=resource_version)

    def delete_istio_object(self, kind: str, namespace: str, name: str, *, resource_version: str | None = None) -> None:
        self.mesh.delete_istio_object(kind, namespace, name, resource_version=resource_version)

    def patch_namespace_labels(
        self, name: str, labels: dict[str, str | None], *, resource_version: str | None = None
    ) -> Namespace:
        return self.mesh.patch_namespace_labels(name, labels, resource_version=resource_version)

    def patch_workload_template(
        self,
        kind: str,
        namespace: str,
        name: str,
        *,
        labels: dict[str, str | None] | None = None,
        annotations: dict[str, str | None] | None = None,
        resource_version: str | None = None,
    ) -> Workload:
        """Patch pod-template labels/annotations (None removes a key); pods restart at once."""
        return self.mesh.patch_workload_template(
            kind, namespace, name, labels=labels, annotations=annotations, resource_version=resource_version
        )

    def restart_workload(self, kind: str, namespace: str, name: str) -> Workload:
        return self.mesh.restart_workload(kind, namespace, name)

    def inventory(self, namespaces: list[str] | None = None) -> Inventory:
        return self.mesh.inventory(namespaces)


def mesh_for_cluster(cluster) -> PersistentMesh:
    """The one simulated mesh of a cluster, stored in the database so that every process
    (web, workers) sees the same one (shared by its gateway and its telemetry)."""
    from .store import PersistentMesh, state_for_cluster

    return PersistentMesh(state_for_cluster(cluster))


def gateway_for_cluster(cluster) -> SimulatorGateway:
    return SimulatorGateway(mesh_for_cluster(cluster))
