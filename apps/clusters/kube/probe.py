"""The "Test connection" check: server version, Istio CRDs served, and whether the credentials can read."""
from __future__ import annotations

from typing import Any

from ..gateway import GatewayError
from ..inventory import ISTIO_KINDS
from ..kubeconfig import KubeconfigError
from .gateway import KubernetesGateway


def gateway_from_params(params: dict[str, Any]) -> KubernetesGateway:
    """Build a gateway from form-like params: ``kubeconfig`` (+``context``) or ``url``/``token``/``ca_pem``."""
    extra = {k: params[k] for k in ("timeout",) if k in params}
    if params.get("kubeconfig"):
        return KubernetesGateway.from_kubeconfig(params["kubeconfig"], params.get("context") or None, **extra)
    if not params.get("url"):
        raise KubeconfigError("Give either a kubeconfig or the API server URL and a token.")
    return KubernetesGateway.from_token(
        params["url"], params.get("token") or "", params.get("ca_pem") or None,
        verify=params.get("verify", True), **extra,
    )


def probe(gateway_or_params: Any) -> dict[str, Any]:
    """Test a connection: server version and which Istio CRDs are served, or the precise error.

    Takes a gateway (the cluster's shared one: left open) or params for one
    built here (closed when done). Never raises for cluster problems; returns
    ``{"ok": False, "error": code, "message": ...}``.
    """
    owned = isinstance(gateway_or_params, dict)
    gateway = None
    try:
        gateway = gateway_from_params(gateway_or_params) if owned else gateway_or_params
        if isinstance(gateway, KubernetesGateway):
            gateway.forget_discovery()  # Istio may have been installed since the gateway last asked
        version = gateway.server_version()
        present: dict[str, str] = {}
        missing: list[str] = []
        for kind in ISTIO_KINDS:
            served = gateway.served_version(kind) if hasattr(gateway, "served_version") else "v1"
            if served:
                group = ISTIO_KINDS[kind][0]
                present[kind] = f"{group}/{served}"
            else:
                missing.append(kind)
        # A list call proves the credentials can read, not just reach /version.
        namespaces = len(gateway.list_namespaces())
        return {
            "ok": True,
            "server_version": version,
            "api_server": getattr(gateway, "url", ""),
            "namespaces": namespaces,
            "istio_crds": {"present": present, "missing": missing},
        }
    except GatewayError as exc:
        return {"ok": False, "error": exc.code, "message": exc.message,
                "api_server": getattr(gateway, "url", "") if gateway else ""}
    finally:
        if owned and gateway is not None:
            gateway.close()
