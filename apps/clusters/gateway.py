"""The cluster gateway interface and its errors.

Two implementations: ``apps.simulator.gateway.SimulatorGateway`` (the built-in
mesh) and ``apps.clusters.kube.KubernetesGateway`` (official client). Both
return the shapes in ``apps.clusters.inventory``.
"""
from __future__ import annotations

from typing import Any, Protocol

from apps.core.errors import MeshdeckError

from .inventory import Inventory, IstioObject, Namespace, Service, Workload

# The pod-template annotation ``kubectl rollout restart`` stamps: a new value makes
# the controller replace every pod (both gateways' ``restart_workload`` set it).
RESTARTED_AT_ANNOTATION = "kubectl.kubernetes.io/restartedAt"


class GatewayError(MeshdeckError):
    """A cluster call failed; ``str(err)`` is a message a person can act on."""

    code = "error"
    http_status = 502


class ClusterUnreachable(GatewayError):
    code = "unreachable"
    http_status = 503


class ClusterTimeout(GatewayError):
    code = "timeout"
    http_status = 504


class ClusterTLSError(GatewayError):
    code = "tls"
    http_status = 502


class ClusterUnauthorized(GatewayError):
    code = "unauthorized"
    http_status = 502


class ClusterForbidden(GatewayError):
    code = "forbidden"
    http_status = 502


class ObjectNotFound(GatewayError):
    code = "not_found"
    http_status = 404


class ObjectConflict(GatewayError):
    """resourceVersion mismatch: somebody changed the object first."""

    code = "conflict"
    http_status = 409


class ObjectInvalid(GatewayError):
    code = "invalid"
    http_status = 422


class ClusterGateway(Protocol):
    def server_version(self) -> str: ...

    def list_namespaces(self) -> list[Namespace]: ...

    def list_workloads(self, namespace: str | None = None) -> list[Workload]: ...

    def list_services(self, namespace: str | None = None) -> list[Service]: ...

    def list_istio_objects(
        self, namespace: str | None = None, kinds: list[str] | None = None
    ) -> list[IstioObject]: ...

    def get_istio_object(self, kind: str, namespace: str, name: str) -> IstioObject: ...

    def apply_istio_object(
        self, manifest: dict[str, Any], *, resource_version: str | None = None
    ) -> IstioObject: ...

    def delete_istio_object(
        self, kind: str, namespace: str, name: str, *, resource_version: str | None = None
    ) -> None: ...

    def patch_namespace_labels(
        self, name: str, labels: dict[str, str | None], *, resource_version: str | None = None
    ) -> Namespace: ...

    def patch_workload_template(
        self, kind: str, namespace: str, name: str, *, labels: dict[str, str | None] | None = None,
        annotations: dict[str, str | None] | None = None, resource_version: str | None = None,
    ) -> Workload: ...

    def restart_workload(self, kind: str, namespace: str, name: str) -> Workload:
        """``kubectl rollout restart``: stamp ``RESTARTED_AT_ANNOTATION`` on the pod template."""
        ...

    def inventory(self, namespaces: list[str] | None = None) -> Inventory: ...
