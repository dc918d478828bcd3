"""'Test connection' reports what it found, or a precise error."""
import pytest

from apps.clusters.models import Cluster
from apps.clusters.prometheus_probe import PrometheusProbeError, probe_prometheus
from apps.clusters.services import cluster_test_connection
from tests.support.localservers import JsonServer, SilentServer, closed_port, tls_server

ISTIO_COUNT = {"status": "success", "data": {"resultType": "vector", "result": [{"metric": {}, "value": [1, "42"]}]}}
EMPTY = {"status": "success", "data": {"resultType": "vector", "result": []}}


def _probe_error(url, timeout=2.0):
    with pytest.raises(PrometheusProbeError) as info:
        probe_prometheus(url, timeout=timeout)
    return info.value


def test_refused():
    err = _probe_error(f"http://127.0.0.1:{closed_port()}")
    assert err.code == "refused" and "Connection refused" in err.message


def test_timeout():
    with SilentServer() as server:
        err = _probe_error(f"http://127.0.0.1:{server.port}", timeout=0.5)
    assert err.code == "timeout" and "within 0.5 s" in err.message


def test_tls_error_on_self_signed_certificate(tmp_path):
    with tls_server(tmp_path, body=ISTIO_COUNT) as server:
        err = _probe_error(server.url)
    assert err.code == "tls" and "certificate" in err.message


@pytest.mark.parametrize("status,code", [(401, "unauthorized"), (403, "forbidden")])
def test_unauthorized(status, code):
    with JsonServer(status, {"error": "no"}) as server:
        err = _probe_error(server.url)
    assert err.code == code and str(status) in err.message


def test_no_istio_metrics():
    with JsonServer(200, EMPTY) as server:
        err = _probe_error(server.url)
    assert err.code == "no_istio_metrics" and "istio_requests_total" in err.message


def test_dns_error_is_reported_as_such(monkeypatch):
    import socket

    def fail(*args, **kwargs):
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")

    monkeypatch.setattr(socket, "getaddrinfo", fail)
    err = _probe_error("http://prometheus.invalid:9090")
    assert err.code == "dns" and "resolve" in err.message


def test_reachable_with_metrics():
    with JsonServer(200, ISTIO_COUNT) as server:
        assert probe_prometheus(server.url) == {"istio_requests_total_series": 42}
        assert server.paths[0].startswith("/api/v1/query?query=count%28istio_requests_total%29")


@pytest.mark.django_db
def test_simulated_cluster_report_is_stored(sim_cluster):
    report = cluster_test_connection(sim_cluster)
    assert report["ok"] is True
    sim_cluster.refresh_from_db()
    assert sim_cluster.last_check_ok is True and sim_cluster.last_check_report["checks"][0]["name"] == "kubernetes"


@pytest.mark.django_db
def test_failed_prometheus_check_is_reported_by_api_and_command(sim_cluster, cluster_admin, viewer, api_client):
    from django.core.management import call_command
    from django.core.management.base import CommandError

    Cluster.objects.filter(pk=sim_cluster.pk).update(prometheus_url=f"http://127.0.0.1:{closed_port()}")
    response = api_client(cluster_admin).post("/api/clusters/demo/test/")
    assert response.status_code == 200
    body = response.json()
    assert body["ok"] is False
    prom = next(c for c in body["checks"] if c["name"] == "prometheus")
    assert prom["code"] == "refused"
    assert api_client(viewer).post("/api/clusters/demo/test/").status_code == 403
    with pytest.raises(CommandError, match="Connection test failed"):
        call_command("cluster", "test", "demo")


@pytest.mark.prometheus
@pytest.mark.django_db
def test_against_a_real_prometheus_scraping_istio_metrics(prometheus_factory, sim_cluster):
    from apps.simulator.exporter import start_exporter
    from apps.simulator.registry import get_mesh

    server, port = start_exporter(get_mesh("probe-test", "bookinfo"))
    try:
        prom = prometheus_factory([f"127.0.0.1:{port}"], scrape_interval="1s")
        prom.wait_for_series("istio_requests_total", timeout=30)
        found = probe_prometheus(prom.url)
        assert found["istio_requests_total_series"] > 10
        # and a real Prometheus without Istio metrics: scraping only itself
        bare = prometheus_factory([], scrape_interval="1s")
        err = _probe_error(bare.url)
        assert err.code == "no_istio_metrics"
    finally:
        server.shutdown()


@pytest.mark.django_db
def test_kubernetes_without_istio_crds_says_so(monkeypatch):
    class NoIstioGateway:
        url = "https://127.0.0.1:6443"

        def server_version(self):
            return "v1.20.2"

        def served_version(self, kind):
            return None if kind in ("VirtualService", "DestinationRule") else "v1"

        def list_namespaces(self):
            return []

    cluster = Cluster.objects.create(name="bare", kind=Cluster.Kind.KUBERNETES)
    monkeypatch.setattr(Cluster, "gateway", lambda self: NoIstioGateway())
    check = cluster_test_connection(cluster)["checks"][0]
    assert check["ok"] is False and check["code"] == "istio_crds_missing"
    assert "VirtualService, DestinationRule" in check["error"] and "Is Istio installed" in check["error"]
