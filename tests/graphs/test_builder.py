import pytest

from apps.graphs.builder import render

from .fakes import bookinfo_samples
from .helpers import find_edge, graph_of

C = "Kubernetes"


def wl(name, ns="bookinfo"):
    return f"wl_{C}_{ns}_{name}"


def test_workload_graph_sums_pods_and_reads_each_edge_once():
    g = graph_of("workload")
    e = find_edge(g, wl("productpage-v1"), wl("details-v1"))
    assert e.total == pytest.approx(10)  # 2 pods, source-reported only (not doubled by destination series)
    assert e.percent_err == pytest.approx(2.0)
    assert e.rates["http5xx"] == pytest.approx(0.2)
    assert e.mtls_percent == pytest.approx(100)
    assert e.latency_quantile == pytest.approx(5 + 5 * 0.95)  # all requests in (5, 10]: interpolated
    assert e.latency_avg == pytest.approx(8)


def test_unknown_source_and_ingress_gateway():
    g = graph_of("workload")
    e = find_edge(g, f"{C}_unknown_source", wl("productpage-v1"))
    assert e.total == pytest.approx(0.5) and e.mtls_percent == pytest.approx(0)
    assert g.nodes[f"{C}_unknown_source"].is_root
    gw = find_edge(g, wl("istio-ingressgateway", "istio-system"), wl("productpage-v1"))
    assert gw.total == pytest.approx(10) and gw.mtls_percent == pytest.approx(100)
    assert g.nodes[wl("istio-ingressgateway", "istio-system")].is_outside


def test_external_service_entry_node():
    g = graph_of("workload")
    node = g.nodes[f"svc_{C}_unknown_httpbin.org"]
    assert node.is_service_entry["hosts"] == ["httpbin.org"]
    assert find_edge(g, wl("productpage-v1"), node.id).total == pytest.approx(1)


def test_traffic_share_and_node_totals():
    g = graph_of("workload")
    pp = g.nodes[wl("productpage-v1")]
    assert pp.traffic["httpOut"] == pytest.approx(21)
    assert pp.traffic["httpIn"] == pytest.approx(10.5)
    assert find_edge(g, pp.id, wl("details-v1")).percent_req == pytest.approx(10 / 21 * 100)


def test_tcp_edge_bytes():
    g = graph_of("workload")
    e = find_edge(g, wl("ratings-v1"), wl("mongodb-v1"), "tcp")
    assert e.rates["tcp"] == pytest.approx(1200) and e.rates["tcpReceived"] == pytest.approx(4800)
    assert e.mtls_percent == pytest.approx(100)


def test_injected_service_nodes_split_edges_with_exact_latency():
    g = graph_of("versionedApp", inject=True)
    svc = f"svc_{C}_bookinfo_reviews"
    into = find_edge(g, f"vapp_{C}_bookinfo_productpage-v1", svc)
    assert into.total == pytest.approx(10)
    assert into.latency_quantile == pytest.approx(10 + 15 * 0.95)
    for v in (1, 2, 3):
        assert find_edge(g, svc, f"vapp_{C}_bookinfo_reviews-v{v}").total == pytest.approx(10 / 3)


def test_app_graph_merges_versions():
    g = graph_of("app")
    e = find_edge(g, f"app_{C}_bookinfo_reviews", f"app_{C}_bookinfo_ratings")
    assert e.total == pytest.approx(20 / 3)
    assert e.percent_err == pytest.approx(2.0)  # 4% of half the traffic


def test_service_graph_reduces_to_service_edges():
    g = graph_of("service")
    assert {n.node_type for n in g.nodes.values()} <= {"service", "workload", "unknown"}
    e = find_edge(g, f"svc_{C}_bookinfo_reviews", f"svc_{C}_bookinfo_ratings")
    assert e.total == pytest.approx(20 / 3)
    assert find_edge(g, f"svc_{C}_bookinfo_productpage", f"svc_{C}_bookinfo_details").total == pytest.approx(10)


def test_suspended_route_errors_land_on_the_edge_to_the_service():
    g = graph_of("workload", samples=bookinfo_samples(suspend_reviews=True))
    e = find_edge(g, wl("productpage-v1"), f"svc_{C}_bookinfo_reviews")
    assert e.total == pytest.approx(10) and e.percent_err == pytest.approx(100)
    assert e.health_status == "Failure"


def test_health_uses_kiali_default_tolerances():
    g = graph_of("workload")
    assert find_edge(g, wl("productpage-v1"), wl("details-v1")).health_status == "Degraded"  # 2% 5xx
    assert find_edge(g, wl("reviews-v2"), wl("ratings-v1")).health_status == "Healthy"
    assert g.nodes[wl("details-v1")].health["status"] == "Degraded"


def test_health_tolerances_are_configurable():
    from apps.graphs.builder import appenders

    g = graph_of("workload")
    appenders.add_health(g, [{"code": "5XX", "protocol": "http", "degraded": 1, "failure": 2}])
    assert find_edge(g, wl("productpage-v1"), wl("details-v1")).health_status == "Failure"


def test_idle_nodes_on_request():
    assert f"vapp_{C}_bookinfo_ratings-v2" not in graph_of("versionedApp").nodes
    g = graph_of("versionedApp", idle_nodes=True)
    assert g.nodes[f"vapp_{C}_bookinfo_ratings-v2"].is_idle


def test_inaccessible_nodes_are_anonymous_in_json():
    g = graph_of("workload")
    from apps.graphs.builder import appenders

    appenders.mark_outside_and_inaccessible(g, lambda ns: ns == "bookinfo")
    out = render.to_cytoscape(g, secret="s", cluster_name="demo")
    text = str(out)
    assert "istio-ingressgateway" not in text and "istio-system" not in text
    hidden = [n["data"] for n in out["elements"]["nodes"] if n["data"].get("isInaccessible")]
    assert any(d["nodeType"] == "workload" for d in hidden)


def test_kiali_json_has_string_rates_and_boxes():
    g = graph_of("versionedApp", box_by=("app",))
    out = render.to_kiali(g, secret="s")
    edges = [e["data"] for e in out["elements"]["edges"]]
    details = [e for e in edges if e["traffic"].get("rates", {}).get("http5xx")]
    assert details and isinstance(details[0]["traffic"]["rates"]["http"], str)
    assert sorted(e["traffic"]["rates"]["httpPercentErr"] for e in details) == ["2.0", "4.0"]
    boxes = [n["data"] for n in out["elements"]["nodes"] if n["data"].get("isBox") == "app"]
    assert any(b["app"] == "reviews" for b in boxes)
