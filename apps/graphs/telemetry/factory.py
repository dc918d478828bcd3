"""telemetry_for(cluster): Prometheus when the cluster has a URL, else the in-process simulator."""
from __future__ import annotations

from django.conf import settings

from .base import TelemetrySource
from .prometheus import PrometheusTelemetry
from .simulator import SimulatorTelemetry


def simulator_mesh(cluster):
    from apps.simulator.gateway import mesh_for_cluster

    # The same mesh as the cluster's gateway, so inventory and telemetry agree.
    return mesh_for_cluster(cluster)


def telemetry_for(cluster) -> TelemetrySource:
    if cluster.prometheus_url:
        return PrometheusTelemetry(cluster.prometheus_url, timeout=getattr(settings, "GRAPH_PROMETHEUS_TIMEOUT", 10.0))
    if cluster.kind == "simulated":
        return SimulatorTelemetry(simulator_mesh(cluster))
    from .base import TelemetryUnavailable

    raise TelemetryUnavailable(f"cluster {cluster.name} has no Prometheus URL configured")
