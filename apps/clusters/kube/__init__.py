"""The Kubernetes adapter: a ClusterGateway over a real API server, and its connection test.

One job a module: ``gateway`` (reads, construction, plumbing), ``writes``
(server-side apply and patches), ``mapping`` (raw JSON -> inventory shapes),
``discovery`` (served Istio versions), ``errors`` (client failures -> typed
GatewayErrors), ``tls`` (the connection pool) and ``probe`` ("Test connection").
The kubeconfig itself is read by ``apps.clusters.kubeconfig``.
"""
from .errors import translate_error
from .gateway import KubernetesGateway, kube_timeout
from .mapping import pod_has_sidecar, service_from_json, workloads_from_json
from .probe import gateway_from_params, probe
from .tls import KUBE_POOL_SIZE
from .writes import FIELD_MANAGER

__all__ = [
    "FIELD_MANAGER", "KUBE_POOL_SIZE", "KubernetesGateway", "gateway_from_params", "kube_timeout",
    "pod_has_sidecar", "probe", "service_from_json", "translate_error", "workloads_from_json",
]
