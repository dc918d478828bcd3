"""Namespace health on the namespaces page, the overview and the API (simulated demo mesh).

Expected values from the pinned scenario (docs/simulator.md), by hand: details-v1
answers 2% 503 (5xx > 0% is Degraded), grpc-server-v1 answers 15% gRPC status 14
(>= 10% is Failure), helloworld has no errors; every simulated pod is ready.
"""
import pytest

from tests.support.html import fragment

pytestmark = pytest.mark.django_db


def _row(html, namespace):
    return fragment(html, f'data-namespace="{namespace}"', "</tr>")


def test_namespaces_page_colours_each_namespace_and_names_the_cause(page_client, cluster_admin):
    html = page_client(cluster_admin).get("/clusters/demo/namespaces/").content.decode()
    bookinfo = _row(html, "bookinfo")
    assert "health-degraded" in bookinfo and "details-v1: 2.0% errors inbound" in bookinfo
    grpc = _row(html, "grpc-demo")
    assert "health-failure" in grpc and "grpc-server-v1: 15.0% errors inbound" in grpc
    assert "health-healthy" in _row(html, "helloworld")
    assert "Request health is not shown" not in html


def test_overview_shows_the_same_health(page_client, cluster_admin):
    html = page_client(cluster_admin).get("/").content.decode()
    assert "health-degraded" in _row(html, "bookinfo") and "health-failure" in _row(html, "grpc-demo")


def test_api_reports_health_for_granted_namespaces_only(api_client, viewer):
    rows = api_client(viewer).get("/api/clusters/demo/namespaces/").json()["results"]
    assert [r["name"] for r in rows] == ["bookinfo"]
    row = rows[0]
    assert row["health"] == "Degraded" and row["health_error"] == ""
    assert "details-v1: 2.0% errors inbound" in row["health_problems"]
    assert row["health_summary"].endswith("healthy") and "degraded" in row["health_summary"]
    # nothing about workloads of namespaces the viewer may not see
    assert not any("grpc" in p or "ingressgateway" in p for p in row["health_problems"])


def test_prometheus_down_falls_back_to_pod_availability_with_a_notice(page_client, api_client, cluster_admin,
                                                                      prometheus_down):
    response = page_client(cluster_admin).get("/clusters/demo/namespaces/")
    assert response.status_code == 200
    html = response.content.decode()
    assert "Request health is not shown" in html and "pod availability only" in html
    assert "health-healthy" in _row(html, "grpc-demo")  # its pods are all ready; its errors are unknown now
    row = api_client(cluster_admin).get("/api/clusters/demo/namespaces/?q=bookinfo").json()["results"][0]
    assert row["health"] == "Healthy" and "refused" in row["health_error"].lower()


def _wl_row(html, key):
    return fragment(html, f'data-workload="{key}"', "</tr>")


def test_workloads_page_and_api_show_each_workloads_health(page_client, api_client, cluster_admin, viewer):
    html = page_client(cluster_admin).get("/clusters/demo/namespaces/-/workloads/").content.decode()
    details = _wl_row(html, "bookinfo/details-v1")
    assert "health-degraded" in details and "2.0% errors inbound" in details
    assert "health-failure" in _wl_row(html, "grpc-demo/grpc-server-v1")
    assert "health-healthy" in _wl_row(html, "helloworld/helloworld-v1")
    listed = api_client(viewer).get("/api/clusters/demo/namespaces/-/workloads/").json()["results"]
    rows = {r["name"]: r for r in listed}
    assert set(r["namespace"] for r in rows.values()) == {"bookinfo"}
    assert rows["details-v1"]["health"] == "Degraded" and rows["details-v1"]["health_reason"] == "2.0% errors inbound"
    assert rows["reviews-v1"]["health"] == "Healthy" and rows["reviews-v1"]["health_reason"] == ""
