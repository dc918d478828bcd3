"""Istio objects the tests (and benchmarks) apply to a mesh, built from a few arguments."""
from __future__ import annotations

from typing import Any


def virtual_service(host: str, routes: list[dict[str, Any]], name: str | None = None,
                    namespace: str = "bookinfo") -> dict[str, Any]:
    return {
        "apiVersion": "networking.istio.io/v1",
        "kind": "VirtualService",
        "metadata": {"name": name or host, "namespace": namespace},
        "spec": {"hosts": [host], "http": routes},
    }


def abort(host: str, percent: float, status: int = 503, namespace: str = "bookinfo") -> dict[str, Any]:
    """A VirtualService whose callers' sidecars fail ``percent`` % of the requests to ``host`` with ``status``."""
    return virtual_service(host, [{
        "fault": {"abort": {"httpStatus": status, "percentage": {"value": percent}}},
        "route": [{"destination": {"host": host}}],
    }], namespace=namespace)
