"""Where a cluster's gateway comes from.

``gateway_for(cluster)`` is the only way code above the clusters app gets a
``ClusterGateway``. Kinds other than Kubernetes (the simulator) register their
factory here from their AppConfig.ready(), so this app never imports them.

A factory registered with a ``fingerprint`` makes a *shared* gateway: one per
cluster per process, kept across requests (its connection pool with it) and
replaced, the old one closed, when the fingerprint of the cluster changes.
Callers never close a gateway they got here.
"""
from __future__ import annotations

import hashlib
from collections.abc import Callable
from typing import Any

from django.conf import settings

from .gateway import ClusterGateway, GatewayError
from .shared_clients import SharedClients

_factories: dict[str, tuple[Callable[[Any], ClusterGateway], Callable[[Any], str] | None]] = {}
_shared = SharedClients()


def register_gateway_factory(
    kind: str, factory: Callable[[Any], ClusterGateway], *, fingerprint: Callable[[Any], str] | None = None
) -> None:
    """``fingerprint(cluster)``: what the gateway is built from; given, the gateway is shared (see above)."""
    _factories[kind] = (factory, fingerprint)


def _kubernetes_fingerprint(cluster) -> str:
    # The ciphertext stands for the credentials (no decryption on every request);
    # it changes whenever they are saved again.
    parts = (cluster.kind, cluster.api_server_url, cluster.kube_context, cluster.credentials_encrypted,
             str(settings.MESHDECK_KUBE_TIMEOUT))
    return hashlib.sha256("\x00".join(parts).encode()).hexdigest()


def _kubernetes_gateway(cluster) -> ClusterGateway:
    from .kube import KubernetesGateway

    creds = cluster.credentials
    if creds.get("kubeconfig"):
        return KubernetesGateway.from_kubeconfig(creds["kubeconfig"], context=cluster.kube_context or None)
    return KubernetesGateway.from_token(
        cluster.api_server_url, creds.get("token", ""), ca_pem=creds.get("ca_pem") or None,
        verify=not creds.get("insecure_skip_tls_verify", False),
    )


register_gateway_factory("kubernetes", _kubernetes_gateway, fingerprint=_kubernetes_fingerprint)


def gateway_for(cluster) -> ClusterGateway:
    factory, fingerprint = _factories.get(cluster.kind, (None, None))
    if factory is None:
        raise GatewayError(f"No gateway for clusters of kind {cluster.kind!r}; is its app installed?")
    if fingerprint is None or cluster.pk is None:  # (an unsaved cluster: nothing to share it with)
        return factory(cluster)
    return _shared.get(("gateway", cluster.pk), fingerprint(cluster), lambda: factory(cluster))
