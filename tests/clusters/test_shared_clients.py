"""One long-lived client per cluster: repeated requests reuse its pool, and a change swaps it.

Against the real kube-apiserver and a real Prometheus. Connections are counted
two ways: those this process holds open (its own sockets, tests/support/net.py)
and those it opened at all (a counting proxy in front of each server), since a
client built per request may close its pool when dropped and still pay a new
TCP and TLS handshake for every call.
"""
from __future__ import annotations

import time

import pytest

from apps.accounts.roles import Role
from apps.clusters.gateway import ClusterUnauthorized
from apps.clusters.kube import KUBE_POOL_SIZE
from apps.clusters.models import Cluster
from apps.graphs.telemetry.factory import telemetry_for
from apps.graphs.telemetry.prometheus import PROMETHEUS_POOL_SIZE
from tests.support.localservers import CountingProxy, closed_port
from tests.support.net import established_connections

pytestmark = [pytest.mark.kube, pytest.mark.django_db]

REQUESTS = 12


@pytest.fixture(scope="module")
def prometheus(prometheus_factory):
    return prometheus_factory([])  # scrapes nothing: every query answers an empty result


@pytest.fixture
def kube_cluster(db, kube_apiserver, prometheus):
    cluster = Cluster(name="real", kind=Cluster.Kind.KUBERNETES, api_server_url=kube_apiserver.url,
                      prometheus_url=prometheus.url)
    cluster.credentials = {"token": kube_apiserver.admin_token, "ca_pem": kube_apiserver.ca_pem}
    cluster.save()
    return cluster


def _port(url: str) -> int:
    return int(url.rsplit(":", 1)[1].rstrip("/"))


@pytest.fixture
def proxies(kube_apiserver, prometheus):
    with CountingProxy(_port(kube_apiserver.url)) as kube, CountingProxy(_port(prometheus.url)) as prom:
        yield kube, prom


def test_repeated_graph_and_inventory_requests_do_not_grow_connections(
    kube_cluster, proxies, make_user, api_client, page_client
):
    kube, prom = proxies
    kube_cluster.api_server_url, kube_cluster.prometheus_url = f"https://{kube.address}", f"http://{prom.address}"
    kube_cluster.save()
    admin = make_user("kadmin", cluster=kube_cluster, role=Role.ADMIN, pattern="*")
    api, pages = api_client(admin), page_client(admin)
    held_before = established_connections(kube.port), established_connections(prom.port)
    for _ in range(REQUESTS):
        graph = api.get("/api/clusters/real/graph", {"namespaces": "default", "graphType": "workload"})
        assert graph.status_code == 200, graph.content
        namespaces = api.get("/api/clusters/real/namespaces/")
        assert namespaces.status_code == 200, namespaces.content
        assert "default" in {n["name"] for n in namespaces.json()["results"]}
        assert pages.get("/clusters/real/graph/").status_code == 200
    # 3 x 12 requests, each with several API calls and queries: one pool's worth of connections in all
    assert kube.accepted <= KUBE_POOL_SIZE
    assert prom.accepted <= PROMETHEUS_POOL_SIZE
    assert established_connections(kube.port) - held_before[0] <= KUBE_POOL_SIZE
    assert established_connections(prom.port) - held_before[1] <= PROMETHEUS_POOL_SIZE


def test_the_same_cluster_gets_the_same_client_on_every_request(kube_cluster):
    again = Cluster.objects.get(pk=kube_cluster.pk)  # as the next request reads it
    assert again.gateway() is kube_cluster.gateway()
    assert telemetry_for(again) is telemetry_for(kube_cluster)


def test_changing_credentials_swaps_the_gateway_and_closes_the_old_pool(kube_cluster, kube_apiserver):
    port = _port(kube_apiserver.url)
    base = established_connections(port)
    old = kube_cluster.gateway()
    assert "default" in {n.name for n in old.list_namespaces()}
    assert established_connections(port) > base  # the old gateway holds a connection in its pool

    kube_cluster.credentials = {"token": "revoked-token", "ca_pem": kube_apiserver.ca_pem}
    kube_cluster.save()
    new = Cluster.objects.get(pk=kube_cluster.pk).gateway()

    assert new is not old
    assert established_connections(port) == base  # the old pool was closed
    with pytest.raises(ClusterUnauthorized):  # and the new client uses the new token
        new.list_namespaces()


def test_changing_the_prometheus_url_swaps_the_telemetry_client_and_closes_the_old_one(kube_cluster, prometheus):
    port = _port(prometheus.url)
    base = established_connections(port)
    old = telemetry_for(kube_cluster)
    old.instant_promql({"up": "up"}, query_time=time.time())
    assert established_connections(port) > base

    kube_cluster.prometheus_url = f"http://127.0.0.1:{closed_port()}"
    kube_cluster.save()
    new = telemetry_for(Cluster.objects.get(pk=kube_cluster.pk))

    assert new is not old and new.url == kube_cluster.prometheus_url
    assert established_connections(port) == base
