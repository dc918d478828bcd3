"""MESHDECK_KUBE_TIMEOUT bounds every Kubernetes call: an API server that accepts and never answers
gives a ClusterTimeout naming the limit, on every path (gateway reads and writes, the inventory
API, the connection test, a probe built from form input)."""
from __future__ import annotations

import pytest

from apps.accounts.roles import Role
from apps.clusters.gateway import ClusterTimeout
from apps.clusters.kube import probe
from apps.clusters.models import Cluster
from apps.clusters.services import cluster_test_connection
from tests.support.localservers import SilentServer, self_signed_cert

pytestmark = pytest.mark.django_db

TIMED_OUT = r"did not answer in time.*\(waited 1 s; MESHDECK_KUBE_TIMEOUT sets the limit\)"


@pytest.fixture
def silent_cluster(settings, tmp_path):
    settings.MESHDECK_KUBE_TIMEOUT = 1
    with SilentServer() as silent:
        cluster = Cluster(name="silent", kind=Cluster.Kind.KUBERNETES, api_server_url=f"https://127.0.0.1:{silent.port}")
        cluster.credentials = {"token": "t", "ca_pem": self_signed_cert(tmp_path)[0].read_text()}
        cluster.save()
        yield cluster


VS = {"apiVersion": "networking.istio.io/v1", "kind": "VirtualService", "metadata": {"name": "r", "namespace": "ns"},
      "spec": {"hosts": ["r"]}}


@pytest.mark.parametrize("call", [
    lambda gw: gw.server_version(),
    lambda gw: gw.list_namespaces(),
    lambda gw: gw.list_workloads("ns"),
    lambda gw: gw.inventory(),
    lambda gw: gw.get_istio_object("VirtualService", "ns", "r"),
    lambda gw: gw.apply_istio_object(VS),
    lambda gw: gw.patch_namespace_labels("ns", {"istio-injection": "enabled"}),
], ids=["version", "namespaces", "workloads", "inventory", "istio-read", "istio-apply", "label"])
def test_gateway_calls_time_out_after_the_configured_limit(silent_cluster, call):
    with pytest.raises(ClusterTimeout, match=TIMED_OUT):
        call(silent_cluster.gateway())


def test_the_inventory_api_answers_the_timeout_with_its_message(silent_cluster, make_user, api_client):
    admin = make_user("kadmin", cluster=silent_cluster, role=Role.ADMIN, pattern="*")
    response = api_client(admin).get("/api/clusters/silent/namespaces/")
    body = response.json()
    assert response.status_code >= 500 and body["code"] == "timeout", body
    assert "did not answer in time" in body["detail"] and "MESHDECK_KUBE_TIMEOUT" in body["detail"]


def test_the_connection_test_reports_the_timeout(silent_cluster):
    check = cluster_test_connection(silent_cluster)["checks"][0]
    assert check["ok"] is False and check["code"] == "timeout", check
    assert "waited 1 s" in check["error"]


def test_a_probe_from_form_input_honours_the_setting_too(silent_cluster):
    report = probe({"url": silent_cluster.api_server_url, "token": "t"})
    assert report["ok"] is False and report["error"] == "timeout", report
    assert "waited 1 s" in report["message"]
