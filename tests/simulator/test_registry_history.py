"""A portal cluster's mesh reports full rates from the first request."""
from apps.simulator.registry import get_mesh


def _ingress_to_productpage(mesh, window):
    return sum(
        s.rate for s in mesh.series_rates(window, metrics=["istio_requests_total"])
        if s.labels.get("reporter") == "source" and s.labels.get("source_workload") == "istio-ingressgateway"
        and s.labels.get("destination_workload") == "productpage-v1"
    )


def test_fresh_registry_mesh_has_full_windows_up_to_six_hours():
    mesh = get_mesh("history-test", "bookinfo")
    # Pinned scenario: the ingress gateway sends 10 req/s to productpage-v1.
    assert abs(_ingress_to_productpage(mesh, 60) - 10.0) < 0.01
    assert abs(_ingress_to_productpage(mesh, 6 * 3600) - 10.0) < 0.01
