"""telemetry_for(cluster): Prometheus when the cluster has a URL, else the in-process simulator.

The Prometheus client of a cluster is shared by every request of the process
(see ``prometheus.py`` for why one pool, and ``apps.clusters.shared_clients``):
a new one replaces it, and the old one is closed, when the URL or the timeout
changes.
"""
from __future__ import annotations

from django.conf import settings

from apps.clusters.shared_clients import SharedClients

from .base import TelemetrySource, TelemetryUnavailable
from .prometheus import PrometheusTelemetry
from .simulator import SimulatorTelemetry

_prometheus_clients = SharedClients()


def simulator_mesh(cluster):
    from apps.simulator.gateway import mesh_for_cluster

    # The same mesh as the cluster's gateway, so inventory and telemetry agree.
    return mesh_for_cluster(cluster)


def telemetry_for(cluster) -> TelemetrySource:
    if cluster.prometheus_url:
        # seconds a graph's query may take, then a 504 with a message
        url, timeout = cluster.prometheus_url, float(getattr(settings, "GRAPH_PROMETHEUS_TIMEOUT", 10.0))
        if cluster.pk is None:  # an unsaved cluster: nothing to share the client with
            return PrometheusTelemetry(url, timeout=timeout)
        return _prometheus_clients.get(("prometheus", cluster.pk), (url, timeout),
                                       lambda: PrometheusTelemetry(url, timeout=timeout))
    if cluster.kind == "simulated":
        return SimulatorTelemetry(simulator_mesh(cluster))
    raise TelemetryUnavailable(f"cluster {cluster.name} has no Prometheus URL configured")
