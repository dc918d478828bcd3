"""The simulator routes to exactly the destination hosts the validators accept (one host rule for both)."""
import pytest

from apps.meshconfig.validators import run_check
from apps.simulator.mesh import SimulatedMesh

from .helpers import FakeClock, total

# How a rule in namespace bookinfo may spell the reviews Service, and whether Istio finds it.
SPELLINGS = [
    ("reviews", True),
    ("reviews.bookinfo.svc.cluster.local", True),
    ("Reviews.Bookinfo.svc.cluster.local", True),
    ("reviews.bookinfo", False),  # a dot: taken literally, no such service in the registry
    ("reviews.bookinfo.svc", False),
]


@pytest.mark.parametrize("spelling,found", SPELLINGS)
def test_route_destination_spelling(spelling, found):
    clock = FakeClock()
    mesh = SimulatedMesh("bookinfo", clock=clock)
    mesh.apply_istio_object({
        "apiVersion": "networking.istio.io/v1", "kind": "VirtualService",
        "metadata": {"name": "reviews", "namespace": "bookinfo"},
        "spec": {"hosts": ["reviews"], "http": [{"route": [{"destination": {"host": spelling}}]}]},
    })
    clock.advance(60)
    rates = mesh.series_rates(60)
    served = total(rates, reporter="destination", source_workload="productpage-v1", destination_service_name="reviews")
    dropped = total(rates, reporter="source", source_workload="productpage-v1", response_flags="NC")
    flagged = [c for c in run_check("VS-HOST-NOT-FOUND", mesh.inventory()) if c.name == "reviews"]
    if found:
        assert served == pytest.approx(10.0) and dropped == 0 and flagged == []
    else:
        assert served == 0 and dropped == pytest.approx(10.0)
        assert [c.path for c in flagged] == ["spec.http[0].route[0].destination.host"]


def test_a_virtual_service_for_a_two_part_host_does_not_apply():
    """``hosts: [reviews.bookinfo]`` names no service, so calls to reviews ignore its routes."""
    clock = FakeClock()
    mesh = SimulatedMesh("bookinfo", clock=clock)
    mesh.apply_istio_object({
        "apiVersion": "networking.istio.io/v1", "kind": "VirtualService",
        "metadata": {"name": "reviews", "namespace": "bookinfo"},
        "spec": {"hosts": ["reviews.bookinfo"], "http": [{"fault": {"abort": {"httpStatus": 503}},
                                                          "route": [{"destination": {"host": "reviews"}}]}]},
    })
    clock.advance(60)
    rates = mesh.series_rates(60)
    assert total(rates, reporter="source", source_workload="productpage-v1", response_flags="FI") == 0
    assert total(rates, reporter="destination", source_workload="productpage-v1",
                 destination_service_name="reviews") == pytest.approx(10.0)
