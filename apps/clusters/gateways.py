"""Where a cluster's gateway comes from.

``gateway_for(cluster)`` is the only way code above the clusters app gets a
``ClusterGateway``. Kinds other than Kubernetes (the simulator) register their
factory here from their AppConfig.ready(), so this app never imports them.
"""
from __future__ import annotations

from typing import Any, Callable

from .gateway import ClusterGateway, GatewayError

_factories: dict[str, Callable[[Any], ClusterGateway]] = {}


def register_gateway_factory(kind: str, factory: Callable[[Any], ClusterGateway]) -> None:
    _factories[kind] = factory


def _kubernetes_gateway(cluster) -> ClusterGateway:
    from django.conf import settings

    from .kube import KubernetesGateway

    timeout = (min(5.0, float(settings.MESHDECK_KUBE_TIMEOUT)), float(settings.MESHDECK_KUBE_TIMEOUT))
    creds = cluster.credentials
    if creds.get("kubeconfig"):
        return KubernetesGateway.from_kubeconfig(creds["kubeconfig"], context=cluster.kube_context or None,
                                                 timeout=timeout)
    return KubernetesGateway.from_token(
        cluster.api_server_url, creds.get("token", ""), ca_pem=creds.get("ca_pem") or None,
        verify=not creds.get("insecure_skip_tls_verify", False), timeout=timeout,
    )


register_gateway_factory("kubernetes", _kubernetes_gateway)


def gateway_for(cluster) -> ClusterGateway:
    factory = _factories.get(cluster.kind)
    if factory is None:
        raise GatewayError(f"No gateway for clusters of kind {cluster.kind!r}; is its app installed?")
    return factory(cluster)
