"""Traffic follows the Istio config applied through the gateway."""
import pytest

from apps.clusters.gateway import ObjectConflict, ObjectInvalid, ObjectNotFound
from tests.support.istio import abort
from tests.support.istio import virtual_service as vs

from .helpers import bucket_sums, prom_quantile, select, total

DR_REVIEWS = {
    "apiVersion": "networking.istio.io/v1",
    "kind": "DestinationRule",
    "metadata": {"name": "reviews", "namespace": "bookinfo"},
    "spec": {"host": "reviews", "subsets": [{"name": f"v{i}", "labels": {"version": f"v{i}"}} for i in (1, 2, 3)]},
}


VS_80_20 = vs("reviews", [{"route": [
    {"destination": {"host": "reviews", "subset": "v2"}, "weight": 80},
    {"destination": {"host": "reviews", "subset": "v3"}, "weight": 20},
]}])

SUSPEND_RATINGS = abort("ratings", 100)


def test_weighted_shift_80_20(env):
    clock, mesh, gw = env
    clock.advance(60)
    gw.apply_istio_object(DR_REVIEWS)
    gw.apply_istio_object(VS_80_20)
    clock.advance(60)
    r = mesh.series_rates(60, clock())
    pp = dict(reporter="destination", source_workload="productpage-v1")
    assert total(r, destination_workload="reviews-v1", **pp) == 0
    assert total(r, destination_workload="reviews-v2", **pp) == pytest.approx(8.0)
    assert total(r, destination_workload="reviews-v3", **pp) == pytest.approx(2.0)
    assert total(r, reporter="destination", source_workload="reviews-v2",
                 destination_workload="ratings-v1") == pytest.approx(8.0)
    assert total(r, reporter="destination", source_workload="reviews-v3",
                 destination_workload="ratings-v1") == pytest.approx(2.0)
    assert total(r, reporter="destination", source_workload="reviews-v3", response_code="500") == pytest.approx(0.08)


def test_window_straddling_a_change_is_time_weighted(env):
    clock, mesh, gw = env
    clock.advance(60)
    gw.apply_istio_object(DR_REVIEWS)
    gw.apply_istio_object(VS_80_20)
    clock.advance(30)
    r = mesh.series_rates(60, clock())  # 30 s before the change, 30 s after
    pp = dict(reporter="destination", source_workload="productpage-v1")
    assert total(r, destination_workload="reviews-v1", **pp) == pytest.approx(10 / 3 / 2)
    assert total(r, destination_workload="reviews-v2", **pp) == pytest.approx((10 / 3 + 8) / 2)
    assert total(r, destination_workload="reviews-v3", **pp) == pytest.approx((10 / 3 + 2) / 2)


def test_counters_are_the_exact_integral(env):
    clock, mesh, gw = env
    t0 = clock()
    clock.advance(100)
    gw.apply_istio_object(DR_REVIEWS)
    gw.apply_istio_object(VS_80_20)
    clock.advance(50)

    def count(wl):
        return sum(v for m, items, v in mesh.counters(clock()) if m == "istio_requests_total"
                   and dict(items)["reporter"] == "destination" and dict(items)["destination_workload"] == wl
                   and dict(items)["source_workload"] == "productpage-v1")

    assert count("reviews-v1") == pytest.approx(10 / 3 * 100)
    assert count("reviews-v2") == pytest.approx(10 / 3 * 100 + 8 * 50)
    assert clock() - t0 == 150


def test_suspend_rule_on_ratings(env):
    clock, mesh, gw = env
    clock.advance(60)
    gw.apply_istio_object(SUSPEND_RATINGS)
    clock.advance(60)
    r = mesh.series_rates(60, clock())
    to_ratings = dict(destination_service_name="ratings")
    assert total(r, reporter="destination", **to_ratings) == 0
    aborted = [s for s in select(r, reporter="source", **to_ratings) if s.rate > 0]  # old series stay, at 0
    assert aborted and {s.labels["response_code"] for s in aborted} == {"503"}
    for s in aborted:
        lb = s.labels
        assert lb["response_flags"] == "FI"
        assert lb["destination_workload"] == "unknown" and lb["destination_version"] == "unknown"
        assert lb["destination_canonical_service"] == "unknown" and lb["destination_app"] == "unknown"
        assert lb["destination_service"] == "ratings.bookinfo.svc.cluster.local"
        assert lb["destination_service_namespace"] == "bookinfo"
    assert total(r, reporter="source", source_workload="reviews-v2", **to_ratings) == pytest.approx(3.3333, abs=1e-3)
    assert total(r, reporter="source", source_workload="reviews-v3", **to_ratings) == pytest.approx(3.3333, abs=1e-3)
    # ratings no longer serves, but its own TCP traffic to mongodb is unchanged
    assert total(r, "istio_tcp_received_bytes_total", reporter="source",
                 source_workload="ratings-v1") == pytest.approx(1200)
    # removing the rule restores the edge
    gw.delete_istio_object("VirtualService", "bookinfo", "ratings")
    clock.advance(60)
    r = mesh.series_rates(60, clock())
    assert total(r, reporter="destination", **to_ratings) == pytest.approx(6.6667, abs=1e-3)
    assert total(r, reporter="source", response_flags="FI") == 0


def test_unknown_subset_gives_503_NC_source_only(env):  # noqa: N802 - Envoy's response flag
    clock, mesh, gw = env
    gw.apply_istio_object(vs("details", [{"route": [{"destination": {"host": "details", "subset": "v9"}}]}]))
    clock.advance(60)
    r = mesh.series_rates(60, clock())
    assert total(r, reporter="destination", destination_service_name="details") == 0
    assert total(r, reporter="source", destination_service_name="details", response_code="503",
                 response_flags="NC", destination_workload="unknown") == pytest.approx(10.0)


def test_no_matching_route_is_404_NR(env):  # noqa: N802 - Envoy's response flag
    clock, mesh, gw = env
    gw.apply_istio_object(vs("details", [{"match": [{"headers": {"end-user": {"exact": "jason"}}}],
                                          "route": [{"destination": {"host": "details"}}]}]))
    clock.advance(60)
    r = mesh.series_rates(60, clock())
    assert total(r, reporter="source", destination_service_name="details", response_code="404",
                 response_flags="NR") == pytest.approx(10.0)


def test_partial_abort_and_delay(env):
    clock, mesh, gw = env
    gw.apply_istio_object(vs("details", [{
        "fault": {"abort": {"httpStatus": 500, "percentage": {"value": 10}},
                  "delay": {"fixedDelay": "2s", "percentage": {"value": 50}}},
        "route": [{"destination": {"host": "details"}}],
    }]))
    clock.advance(60)
    r = mesh.series_rates(60, clock())
    m = dict(reporter="source", destination_service_name="details")
    assert total(r, response_flags="FI", **m) + total(r, response_flags="DI,FI", **m) == pytest.approx(1.0)
    assert total(r, reporter="destination", destination_workload="details-v1") == pytest.approx(9.0)
    assert total(r, response_flags="DI", **m) == pytest.approx(4.5)
    # the delay shows on the client side only: mean + 2000 ms for the delayed share
    s = total(r, "istio_request_duration_milliseconds_sum", response_flags="DI", **m)
    c = total(r, "istio_request_duration_milliseconds_count", response_flags="DI", **m)
    assert s / c == pytest.approx(4 + 2000)
    b = bucket_sums(r, response_flags="DI", **m)
    assert 1000 < prom_quantile(0.95, b) <= 2500
    dest = dict(reporter="destination", destination_workload="details-v1")
    assert total(r, "istio_request_duration_milliseconds_sum", **dest) / total(
        r, "istio_request_duration_milliseconds_count", **dest) == pytest.approx(4)


def test_small_delay_keeps_exact_quantiles_when_buckets_allow(env):
    clock, mesh, gw = env
    gw.apply_istio_object(vs("ratings", [{"fault": {"delay": {"fixedDelay": "1ms", "percentage": {"value": 100}}},
                                          "route": [{"destination": {"host": "ratings"}}]}]))
    clock.advance(60)
    r = mesh.series_rates(60, clock())
    b = bucket_sums(r, reporter="source", destination_service_name="ratings")
    # 4/12/24 ms + 1 ms = 5/13/25 ms (a 10 ms delay would put p50 and p95 in one bucket
    # with no straight line through both: then the buckets are the delayed distribution's)
    assert prom_quantile(0.5, b) == pytest.approx(5)
    assert prom_quantile(0.95, b) == pytest.approx(13)
    assert prom_quantile(0.99, b) == pytest.approx(25)


def test_resource_version_conflicts(env):
    _, mesh, gw = env
    created = gw.apply_istio_object(DR_REVIEWS)
    assert created.resource_version
    updated = gw.apply_istio_object(DR_REVIEWS, resource_version=created.resource_version)
    assert updated.resource_version != created.resource_version
    with pytest.raises(ObjectConflict):
        gw.apply_istio_object(DR_REVIEWS, resource_version=created.resource_version)
    with pytest.raises(ObjectConflict):
        gw.delete_istio_object("DestinationRule", "bookinfo", "reviews", resource_version=created.resource_version)
    gw.delete_istio_object("DestinationRule", "bookinfo", "reviews", resource_version=updated.resource_version)
    with pytest.raises(ObjectNotFound):
        gw.get_istio_object("DestinationRule", "bookinfo", "reviews")
    with pytest.raises(ObjectNotFound):
        gw.delete_istio_object("DestinationRule", "bookinfo", "reviews")


@pytest.mark.parametrize("manifest", [
    {"kind": "Deployment", "metadata": {"name": "x", "namespace": "bookinfo"}},
    {"kind": "VirtualService", "metadata": {"namespace": "bookinfo"}, "spec": {"hosts": ["a"]}},
    {"kind": "VirtualService", "metadata": {"name": "Bad_Name", "namespace": "bookinfo"}, "spec": {"hosts": ["a"]}},
    {"kind": "VirtualService", "metadata": {"name": "x", "namespace": "bookinfo"}, "spec": {}},
    vs("reviews", [{"route": [{"destination": {"host": "reviews"}, "weight": -5}]}]),
    {"kind": "DestinationRule", "metadata": {"name": "x", "namespace": "bookinfo"}, "spec": {"subsets": []}},
])
def test_invalid_manifests(env, manifest):
    with pytest.raises(ObjectInvalid):
        env[2].apply_istio_object(manifest)


def test_apply_into_missing_namespace(env):
    m = dict(DR_REVIEWS, metadata={"name": "reviews", "namespace": "nope"})
    with pytest.raises(ObjectNotFound):
        env[2].apply_istio_object(m)


def test_applied_objects_look_like_real_ones(env):
    _, _, gw = env
    obj = gw.apply_istio_object(VS_80_20)
    assert obj.api_version == "networking.istio.io/v1"
    for key in ("uid", "creationTimestamp", "resourceVersion", "generation"):
        assert key in obj.metadata
    inv = gw.inventory()
    kinds = {(o.kind, o.name) for o in inv.istio_objects}
    assert ("VirtualService", "reviews") in kinds and ("ServiceEntry", "httpbin-ext") in kinds
    assert "_order" not in obj.metadata
