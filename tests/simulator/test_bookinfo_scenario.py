"""The pinned Bookinfo table (docs/simulator.md), checked with hand-written numbers."""
import pytest

from apps.simulator.mesh import SimulatedMesh

from .helpers import FakeClock, bucket_sums, prom_quantile, select, total

BI = "bookinfo"


@pytest.fixture(scope="module")
def rates():
    clock = FakeClock()
    mesh = SimulatedMesh("demo", clock=clock)
    clock.advance(120)
    return mesh.series_rates(60, clock())


def test_unknown_client_is_destination_reported_plaintext(rates):
    assert total(rates, reporter="destination", source_workload="unknown",
                 destination_workload="productpage-v1") == pytest.approx(0.5)
    assert total(rates, reporter="destination", source_workload="unknown",
                 connection_security_policy="none") == pytest.approx(0.5)
    assert total(rates, reporter="source", source_workload="unknown") == 0
    s = select(rates, reporter="destination", source_workload="unknown")[0].labels
    assert s["source_workload_namespace"] == "unknown" and s["source_principal"] == "unknown"
    assert s["source_canonical_service"] == "unknown" and s["source_cluster"] == "unknown"


def test_ingress_gateway_to_productpage(rates):
    for reporter in ("source", "destination"):
        assert total(rates, reporter=reporter, source_workload="istio-ingressgateway",
                     destination_workload="productpage-v1", response_code="200") == pytest.approx(10.0)
    assert total(rates, reporter="destination", source_workload="istio-ingressgateway",
                 connection_security_policy="mutual_tls") == pytest.approx(10.0)
    src = select(rates, reporter="source", source_workload="istio-ingressgateway")[0].labels
    assert src["source_workload_namespace"] == "istio-system"
    assert src["source_canonical_service"] == "istio-ingressgateway"
    assert src["source_cluster"] == "Kubernetes" and src["destination_cluster"] == "Kubernetes"
    assert src["connection_security_policy"] == "unknown"


def test_productpage_to_details_codes(rates):
    m = dict(source_workload="productpage-v1", destination_workload="details-v1")
    for reporter in ("source", "destination"):
        assert total(rates, reporter=reporter, response_code="200", **m) == pytest.approx(9.8)
        assert total(rates, reporter=reporter, response_code="503", **m) == pytest.approx(0.2)
    # two productpage pods report half each
    pods = {s.labels["pod"]: s.rate for s in select(rates, reporter="source", response_code="200", **m)}
    assert len(pods) == 2 and all(r == pytest.approx(4.9) for r in pods.values())


def test_reviews_split_evenly_without_virtual_service(rates):
    for v in ("v1", "v2", "v3"):
        assert total(rates, reporter="destination", source_workload="productpage-v1",
                     destination_workload=f"reviews-{v}") == pytest.approx(3.3333, abs=1e-3)
    assert total(rates, reporter="source", source_workload="productpage-v1",
                 destination_service_name="reviews") == pytest.approx(10.0)


def test_ratings_follow_reviews(rates):
    assert total(rates, reporter="destination", source_workload="reviews-v1", destination_workload="ratings-v1") == 0
    assert total(rates, reporter="destination", source_workload="reviews-v2",
                 destination_workload="ratings-v1", response_code="200") == pytest.approx(3.3333, abs=1e-3)
    assert total(rates, reporter="destination", source_workload="reviews-v3",
                 destination_workload="ratings-v1", response_code="200") == pytest.approx(3.2, abs=1e-3)
    assert total(rates, reporter="destination", source_workload="reviews-v3",
                 destination_workload="ratings-v1", response_code="500") == pytest.approx(0.13333, abs=1e-4)


def test_ratings_to_mongodb_tcp_bytes(rates):
    # Istio: istio_tcp_sent_bytes_total = bytes of the response (server -> client),
    # istio_tcp_received_bytes_total = bytes of the request (client -> server).
    for reporter in ("source", "destination"):
        m = dict(reporter=reporter, source_workload="ratings-v1", destination_workload="mongodb-v1")
        assert total(rates, "istio_tcp_received_bytes_total", **m) == pytest.approx(1200.0)
        assert total(rates, "istio_tcp_sent_bytes_total", **m) == pytest.approx(4800.0)
    tcp = select(rates, "istio_tcp_sent_bytes_total", reporter="destination")[0].labels
    assert tcp["request_protocol"] == "tcp" and tcp["connection_security_policy"] == "mutual_tls"
    assert "response_code" not in tcp


def test_service_entry_traffic_is_source_reported_only(rates):
    m = dict(destination_service="httpbin.org")
    assert total(rates, reporter="source", source_workload="productpage-v1", **m) == pytest.approx(1.0)
    assert total(rates, reporter="destination", **m) == 0
    s = select(rates, reporter="source", **m)[0].labels
    assert s["destination_service_name"] == "httpbin.org"
    assert s["destination_service_namespace"] == "bookinfo"  # the ServiceEntry's namespace
    assert s["destination_workload"] == "unknown" and s["destination_principal"] == "unknown"
    assert s["source_principal"] == "unknown"


def test_mtls_labels_inside_bookinfo(rates):
    s = select(rates, reporter="destination", source_workload="productpage-v1",
               destination_workload="details-v1")[0].labels
    assert s["source_principal"] == "spiffe://cluster.local/ns/bookinfo/sa/bookinfo-productpage"
    assert s["destination_principal"] == "spiffe://cluster.local/ns/bookinfo/sa/bookinfo-details"
    assert s["destination_service"] == "details.bookinfo.svc.cluster.local"
    assert s["destination_canonical_service"] == "details" and s["destination_canonical_revision"] == "v1"
    assert s["namespace"] == "bookinfo" and s["pod"].startswith("details-v1-")


@pytest.mark.parametrize(
    "match, p50, p95, p99, mean",
    [
        (dict(source_workload="productpage-v1", destination_service_name="reviews"), 12, 40, 90, 17),
        (dict(source_workload="productpage-v1", destination_workload="details-v1"), 3, 9, 20, 4),
        (dict(source_workload="istio-ingressgateway"), 30, 80, 200, 38),
        (dict(source_workload="unknown"), 6, 20, 45, 9),
        (dict(destination_workload="ratings-v1"), 4, 12, 24, 5),
        (dict(destination_service="httpbin.org"), 120, 300, 600, 150),
        (dict(destination_workload="grpc-server-v1"), 6, 18, 40, 8),
        (dict(destination_workload="helloworld-v1"), 15, 45, 95, 20),
    ],
)
def test_latency_quantiles_and_mean(rates, match, p50, p95, p99, mean):
    for reporter in ("source", "destination"):
        if reporter == "destination" and match.get("destination_service") == "httpbin.org":
            continue
        if reporter == "source" and match.get("source_workload") == "unknown":
            continue
        b = bucket_sums(rates, reporter=reporter, **match)
        assert prom_quantile(0.5, b) == pytest.approx(p50)
        assert prom_quantile(0.95, b) == pytest.approx(p95)
        assert prom_quantile(0.99, b) == pytest.approx(p99)
        s = total(rates, "istio_request_duration_milliseconds_sum", reporter=reporter, **match)
        c = total(rates, "istio_request_duration_milliseconds_count", reporter=reporter, **match)
        assert s / c == pytest.approx(mean)
        assert b[float("inf")] == pytest.approx(c)


def test_grpc_pair(rates):
    m = dict(reporter="destination", source_workload="grpc-client-v1", destination_workload="grpc-server-v1",
             request_protocol="grpc", response_code="200")
    assert total(rates, grpc_response_status="0", **m) == pytest.approx(4.25)
    assert total(rates, grpc_response_status="14", **m) == pytest.approx(0.75)


def test_helloworld_half_and_half(rates):
    for v in ("v1", "v2"):
        assert total(rates, reporter="source", source_workload="sleep",
                     destination_workload=f"helloworld-{v}") == pytest.approx(1.0)
