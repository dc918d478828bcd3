"""telemetry_for(cluster): Prometheus when the cluster has a URL, else the in-process simulator."""
from __future__ import annotations

from django.conf import settings

from .base import TelemetrySource
from .prometheus import PrometheusTelemetry
from .simulator import SimulatorTelemetry


def simulator_mesh(cluster):
    from apps.simulator.registry import get_mesh

    # Same key as Cluster.gateway(), so inventory and telemetry are one mesh.
    return get_mesh(f"cluster-{cluster.pk}", cluster.simulator_topology or "demo")


def telemetry_for(cluster) -> TelemetrySource:
    if cluster.prometheus_url:
        return PrometheusTelemetry(cluster.prometheus_url, timeout=getattr(settings, "GRAPH_PROMETHEUS_TIMEOUT", 10.0))
    if cluster.kind == "simulated":
        return SimulatorTelemetry(simulator_mesh(cluster))
    from .base import TelemetryUnavailable

    raise TelemetryUnavailable(f"cluster {cluster.name} has no Prometheus URL configured")
