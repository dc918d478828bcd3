"""One long-lived client per cluster: repeated requests reuse its pool, and a change swaps it.

Against the real kube-apiserver and a real Prometheus, each behind a counting
proxy of its own (tests/support/localservers.py), so two numbers are exact and
nobody else's: the connections this process opened to the server (the proxy's
``accepted``) and those it holds open now (its own sockets to the proxy's
port, tests/support/net.py). A client built per request may close its pool
when dropped and still pay new TCP and TLS handshakes for every call.
"""
from __future__ import annotations

import time

import pytest

from apps.accounts.roles import Role
from apps.clusters.gateway import ClusterUnauthorized
from apps.clusters.inventory import ISTIO_KINDS
from apps.clusters.kube import KUBE_POOL_SIZE
from apps.clusters.models import Cluster
from apps.graphs.telemetry.factory import telemetry_for
from apps.graphs.telemetry.prometheus import PROMETHEUS_POOL_SIZE
from tests.support.localservers import CountingProxy, closed_port
from tests.support.net import established_connections

pytestmark = [pytest.mark.kube, pytest.mark.django_db]

REQUESTS = 12


def _port(url: str) -> int:
    return int(url.rsplit(":", 1)[1].rstrip("/"))


@pytest.fixture(scope="module")
def prometheus(prometheus_factory):
    return prometheus_factory([])  # no Istio metrics: the graph's queries answer empty results


@pytest.fixture
def kube_proxy(kube_apiserver):
    with CountingProxy(_port(kube_apiserver.url)) as proxy:
        yield proxy


@pytest.fixture
def prom_proxy(prometheus):
    with CountingProxy(_port(prometheus.url)) as proxy:
        yield proxy


@pytest.fixture
def kube_cluster(db, kube_apiserver, kube_proxy, prom_proxy):
    cluster = Cluster(name="real", kind=Cluster.Kind.KUBERNETES, api_server_url=f"https://{kube_proxy.address}",
                      prometheus_url=f"http://{prom_proxy.address}")
    cluster.credentials = {"token": kube_apiserver.admin_token, "ca_pem": kube_apiserver.ca_pem}
    cluster.save()
    return cluster


def test_repeated_graph_and_inventory_requests_do_not_grow_connections(
    kube_cluster, kube_proxy, prom_proxy, make_user, api_client, page_client
):
    admin = make_user("kadmin", cluster=kube_cluster, role=Role.ADMIN, pattern="*")
    api, pages = api_client(admin), page_client(admin)
    for _ in range(REQUESTS):
        graph = api.get("/api/clusters/real/graph", {"namespaces": "default", "graphType": "workload"})
        assert graph.status_code == 200, graph.content
        namespaces = api.get("/api/clusters/real/namespaces/")
        assert namespaces.status_code == 200, namespaces.content
        assert "default" in {n["name"] for n in namespaces.json()["results"]}
        assert pages.get("/clusters/real/graph/").status_code == 200
    # 3 x 12 requests, each with many API calls and queries: one pool's worth of connections in all
    assert kube_proxy.accepted <= KUBE_POOL_SIZE
    assert prom_proxy.accepted <= PROMETHEUS_POOL_SIZE
    assert established_connections(kube_proxy.port) <= KUBE_POOL_SIZE
    assert established_connections(prom_proxy.port) <= PROMETHEUS_POOL_SIZE


def test_the_same_cluster_gets_the_same_clients_on_every_request(kube_cluster):
    again = Cluster.objects.get(pk=kube_cluster.pk)  # as the next request reads it
    assert again.gateway() is kube_cluster.gateway()
    assert telemetry_for(again) is telemetry_for(kube_cluster)


def test_changing_credentials_swaps_the_gateway_and_closes_the_old_pool(kube_cluster, kube_apiserver, kube_proxy):
    old = kube_cluster.gateway()
    assert "default" in {n.name for n in old.list_namespaces()}
    assert established_connections(kube_proxy.port) == 1  # kept in the old gateway's pool

    kube_cluster.credentials = {"token": "revoked-token", "ca_pem": kube_apiserver.ca_pem}
    kube_cluster.save()
    new = Cluster.objects.get(pk=kube_cluster.pk).gateway()

    assert new is not old
    assert established_connections(kube_proxy.port) == 0  # the old pool was closed
    with pytest.raises(ClusterUnauthorized):  # and the new gateway uses the new token
        new.list_namespaces()


def test_changing_the_timeout_swaps_the_gateway_too(kube_cluster, settings):
    old = kube_cluster.gateway()
    settings.MESHDECK_KUBE_TIMEOUT = 3
    new = kube_cluster.gateway()
    assert new is not old and new.timeout == (3.0, 3.0)


def test_changing_the_prometheus_url_swaps_the_telemetry_client_and_closes_the_old_one(kube_cluster, prom_proxy):
    old = telemetry_for(kube_cluster)
    assert old.instant_promql({"calls": "istio_requests_total"}, query_time=time.time()) == {"calls": []}
    assert established_connections(prom_proxy.port) == 1

    kube_cluster.prometheus_url = f"http://127.0.0.1:{closed_port()}"
    kube_cluster.save()
    new = telemetry_for(Cluster.objects.get(pk=kube_cluster.pk))

    assert new is not old and new.url == kube_cluster.prometheus_url
    assert established_connections(prom_proxy.port) == 0


def test_one_gateway_serves_many_threads_at_once(kube_cluster, kube_proxy):
    import threading
    from concurrent.futures import ThreadPoolExecutor

    gateway = kube_cluster.gateway()  # fresh: the threads race for its first Istio discovery
    start = threading.Barrier(8)

    def versions(_):
        start.wait()
        return [gateway.served_version(kind) for kind in ISTIO_KINDS]

    with ThreadPoolExecutor(max_workers=8) as pool:
        seen = list(pool.map(versions, range(8)))
        inventories = list(pool.map(lambda _: gateway.inventory(), range(16)))
    assert seen == [["v1"] * len(ISTIO_KINDS)] * 8  # nobody saw a half-done discovery as "not installed"
    assert all("default" in {n.name for n in inv.namespaces} for inv in inventories)
    assert established_connections(kube_proxy.port) <= KUBE_POOL_SIZE
