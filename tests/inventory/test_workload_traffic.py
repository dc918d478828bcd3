"""The workload page shows its inbound and outbound traffic (pinned Bookinfo scenario)."""
import pytest

from tests.support.html import fragment

pytestmark = pytest.mark.django_db


def _rows(html, table):
    return fragment(html, f'class="{table}"', "</table>")


def test_reviews_v2_traffic_in_and_out(viewer, page_client):
    html = page_client(viewer).get("/clusters/demo/namespaces/bookinfo/workloads/reviews-v2/").content.decode()
    inbound, outbound = _rows(html, "traffic-inbound"), _rows(html, "traffic-outbound")
    # productpage-v1 -> reviews: 10 req/s split evenly over v1/v2/v3, no errors, all mTLS
    assert "productpage-v1" in inbound and "3.33 req/s" in inbound and "0.0%" in inbound and "100%" in inbound
    # reviews-v2 -> ratings-v1 follows its inbound rate
    assert "ratings-v1" in outbound and "3.33 req/s" in outbound


def test_productpage_inbound_names_the_outside_source_and_hides_the_gateway_from_a_viewer(viewer, page_client):
    html = page_client(viewer).get("/clusters/demo/namespaces/bookinfo/workloads/productpage-v1/").content.decode()
    inbound = _rows(html, "traffic-inbound")
    assert "unknown (outside the mesh)" in inbound and "0.50 req/s" in inbound
    # istio-system is not the viewer's: the gateway is drawn anonymously
    assert "(inaccessible)" in inbound and "istio-ingressgateway" not in inbound


def test_details_shows_its_two_percent_errors(viewer, page_client):
    html = page_client(viewer).get("/clusters/demo/namespaces/bookinfo/workloads/details-v1/").content.decode()
    assert "2.0%" in _rows(html, "traffic-inbound")  # 2% 503 in the scenario
    assert "No outbound traffic" in html


def test_prometheus_down_still_shows_the_workload(viewer, page_client, prometheus_down):
    response = page_client(viewer).get("/clusters/demo/namespaces/bookinfo/workloads/reviews-v2/")
    assert response.status_code == 200
    html = response.content.decode()
    assert "No traffic figures" in html and "reviews-v2" in html


def test_the_page_reads_the_cluster_once(viewer, page_client, monkeypatch):
    from apps.simulator.gateway import SimulatorGateway

    calls = []
    original = SimulatorGateway.inventory

    def counting(self, *args, **kwargs):
        calls.append(1)
        return original(self, *args, **kwargs)

    monkeypatch.setattr(SimulatorGateway, "inventory", counting)
    html = page_client(viewer).get("/clusters/demo/namespaces/bookinfo/workloads/reviews-v2/").content.decode()
    assert "traffic-inbound" in html
    assert len(calls) == 1  # the traffic section reuses what the page read
