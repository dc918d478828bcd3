"""Namespace health roll-up (pure): availability and request health, worst wins.

Expected values come from the hand-written samples in fakes.py: productpage ->
details returns 2% 503 (5xx > 0% is Degraded with Kiali's tolerances),
reviews-v3 -> ratings 4% 500, a suspended reviews route returns 100% 503.
"""
from dataclasses import replace

import pytest

from apps.clusters.inventory import Workload
from apps.graphs.builder.rollup import availability, namespace_health

from .fakes import bookinfo_inventory, bookinfo_samples
from .helpers import graph_of


@pytest.mark.parametrize("desired, ready, status, reason", [
    (2, 2, "Healthy", ""),
    (3, 1, "Degraded", "1 of 3 pods ready"),
    (2, 0, "Failure", "0 of 2 pods ready"),
    (0, 0, "NA", ""),  # scaled to zero is not a failure
])
def test_availability(desired, ready, status, reason):
    w = Workload("Deployment", "x", "ns", replicas=desired, ready_replicas=ready)
    assert availability(w) == (status, reason)


def test_bookinfo_is_degraded_by_the_details_errors_and_says_so():
    inv = bookinfo_inventory()
    health = namespace_health(inv.workloads, graph_of("workload"), ["bookinfo"])["bookinfo"]
    assert health.status == "Degraded"
    assert "details-v1: 2.0% errors inbound" in health.problems
    assert "ratings-v1: 2.0% errors inbound" in health.problems  # 4% of half its traffic
    assert health.workloads["Failure"] == 0
    # mongodb (tcp only) and ratings-v2 (no traffic) are judged by their pods alone
    assert health.workloads["Healthy"] + health.workloads["Degraded"] == len(inv.workloads)


def test_a_suspended_route_makes_the_namespace_fail():
    inv = bookinfo_inventory()
    graph = graph_of("workload", samples=bookinfo_samples(suspend_reviews=True))
    health = namespace_health(inv.workloads, graph, ["bookinfo"])["bookinfo"]
    assert health.status == "Failure"
    assert health.problems[0].startswith("productpage-v1: ")  # worst first
    assert "errors outbound" in health.problems[0]


def test_pods_not_ready_fail_even_without_telemetry():
    inv = bookinfo_inventory()
    workloads = [replace(w, ready_replicas=0) if w.name == "ratings-v1" else w for w in inv.workloads]
    health = namespace_health(workloads, None, ["bookinfo", "istio-system"])
    assert health["bookinfo"].status == "Failure"
    assert health["bookinfo"].problems == ["ratings-v1: 0 of 1 pods ready"]
    assert health["bookinfo"].summary == "1 failure, 7 healthy"
    assert health["istio-system"].status == "NA" and health["istio-system"].summary == "no data"


def test_only_the_asked_namespaces_are_reported():
    inv = bookinfo_inventory()
    assert set(namespace_health(inv.workloads, graph_of("workload"), ["istio-system"])) == {"istio-system"}


@pytest.mark.parametrize("protocol, code, error", [
    ("http", "200", False), ("http", "302", False), ("http", "404", True), ("http", "503", True),
    ("http", "-", True),  # no response
    ("grpc", "0", False), ("grpc", "14", True),
    ("grpc", "200", False),  # transport OK and no grpc-status label: not an error
    ("grpc", "503", True),  # transport failed
])
def test_one_error_rule_for_edges_and_health(protocol, code, error):
    from apps.graphs.builder.traffic import is_error_code

    assert is_error_code(protocol, code) is error
