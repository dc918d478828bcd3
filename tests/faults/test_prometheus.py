"""Prometheus down (nothing listens) and slow (accepts, never answers) on the demo cluster, then back
(a real Prometheus scraping the simulator's exporter): the graph API answers a clear 503/504 (not a
500), the snapshot taken meanwhile is stored ``partial`` with the reason and the inventory, and the
next snapshot with Prometheus back is ``ok`` with its traffic; the audit chain verifies."""
from __future__ import annotations

import threading
import time

import pytest

from apps.history.services import snapshot_take
from apps.simulator.management.commands.simulator_exporter import run_cluster_exporter
from tests.support.localservers import SilentServer, closed_port

from .support import audit_chain_ok

pytestmark = [pytest.mark.prometheus, pytest.mark.django_db(transaction=True)]
GRAPH = "/api/clusters/demo/graph"


@pytest.fixture
def prometheus_back(sim_cluster, prometheus_factory):
    """A real Prometheus scraping the demo cluster's exporter (started now, so its first scrape is done
    by the time the fault part of a test is over); yields its URL."""
    _, server = run_cluster_exporter("demo", "127.0.0.1", 0)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield prometheus_factory([f"127.0.0.1:{server.server_address[1]}"], scrape_interval="1s")
    finally:
        server.shutdown()
        server.server_close()


@pytest.mark.parametrize("fault", ["down", "slow"])
def test_prometheus_down_or_slow_then_back_loses_nothing(fault, sim_cluster, cluster_admin, api_client, settings,
                                                        prometheus_back):
    settings.GRAPH_PROMETHEUS_TIMEOUT = 1
    settings.MESHDECK_SNAPSHOT_PROMETHEUS_TIMEOUT = 1
    client = api_client(cluster_admin)
    silent = SilentServer()
    try:
        sim_cluster.prometheus_url = f"http://127.0.0.1:{closed_port() if fault == 'down' else silent.port}"
        sim_cluster.save()
        graph = client.get(GRAPH, {"namespaces": "bookinfo"})
        assert graph.status_code == (503 if fault == "down" else 504), graph.content
        assert ("is Prometheus running" if fault == "down" else "did not answer") in graph.json()["detail"]
        now = time.time()
        during = snapshot_take(sim_cluster, now=now - 60)
    finally:
        silent.stop()
    snap = during.snapshot
    assert during.created and snap.status == "partial", (snap.status, snap.reason)
    assert snap.reason.startswith("Prometheus:") and len(snap.reason) > len("Prometheus: ")
    assert snap.inventory_id and snap.counts["by_namespace"]["bookinfo"]["workloads"] >= 6
    assert not snap.traffic_values_id

    sim_cluster.prometheus_url = prometheus_back.url
    sim_cluster.save()
    prometheus_back.wait_for_targets_up()
    # rates exist (two scrapes) a little before now, so a snapshot ending now sees them
    prometheus_back.wait_for_series("sum(rate(istio_requests_total[1m] offset 3s)) > 0")
    after = snapshot_take(sim_cluster, now=time.time())
    assert after.created and after.snapshot.status == "ok", after.snapshot.reason
    assert after.snapshot.traffic_values_id and after.snapshot.counts["edges"] > 0
    assert client.get(GRAPH, {"namespaces": "bookinfo"}).status_code == 200
    audit_chain_ok()
