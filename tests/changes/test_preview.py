"""Preview on the simulator's demo mesh: YAML, diff, checkers' findings, predicted traffic, restarts.

The predicted split is then checked against the traffic the simulator actually
produces once the change is applied (its Istio metrics), so the preview tells a
reviewer what the graph will show.
"""
from __future__ import annotations

import json
from collections import defaultdict

import pytest

from apps.changes.preview import preview_change
from apps.changes.render import render_change
from apps.changes.writes import Target

SHIFT = {"kind": "traffic_shift", "namespace": "bookinfo", "service": "reviews",
         "weights": {"v1": 0, "v2": 80, "v3": 20}}
PRODUCTPAGE = [("bookinfo", "productpage-v1")]


def measured_split(mesh, clock, client: str, service: str) -> dict[str, float]:
    """Percent of the client's requests to the service per destination version, as the client's
    sidecar reports them (aborted requests: "aborted (HTTP <code>)"), over the last minute."""
    clock.advance(60)
    totals: dict[str, float] = defaultdict(float)
    for s in mesh.series_rates(60, metrics=["istio_requests_total"]):
        if (s.get("reporter") == "source" and s.get("source_workload") == client
                and s.get("destination_service_name") == service):
            key = (f"aborted (HTTP {s.get('response_code')})" if "FI" in s.get("response_flags")
                   else s.get("destination_version"))
            totals[key] += s.rate
    totals = {k: v for k, v in totals.items() if v > 0}  # a pod keeps its counters when traffic stops
    whole = sum(totals.values())
    return {k: round(100 * v / whole, 6) for k, v in totals.items()}


def apply(rendered, gateway):
    for write in rendered.writes:
        write.execute(gateway)


def test_an_80_20_shift_of_reviews_predicts_80_20_and_v1_idle(inventory):
    preview = preview_change(render_change(SHIFT, inventory), inventory, clients=PRODUCTPAGE)
    (split,) = preview.traffic
    assert split.service == "bookinfo/reviews" and split.clients == ("bookinfo/productpage-v1",)
    assert split.after.shares == (("v1", 0.0), ("v2", 80.0), ("v3", 20.0))
    assert split.before.shares == (("v1", 33.333333), ("v2", 33.333333), ("v3", 33.333333))
    assert split.after.virtual_service == "bookinfo/reviews" and split.before.virtual_service == ""
    assert preview.blocking is False and preview.findings == ()


def test_the_prediction_is_what_the_simulated_mesh_then_does(mesh, gateway, clock):
    rendered = render_change(SHIFT, mesh.inventory())
    (split,) = preview_change(rendered, mesh.inventory(), clients=PRODUCTPAGE).traffic
    assert measured_split(mesh, clock, "productpage-v1", "reviews") == pytest.approx(
        {"v1": 100 / 3, "v2": 100 / 3, "v3": 100 / 3}, abs=1e-4)
    apply(rendered, gateway)
    measured = measured_split(mesh, clock, "productpage-v1", "reviews")
    assert measured == pytest.approx({k: v for k, v in split.after.shares if v}, abs=1e-4)
    assert "v1" not in measured  # idle


def test_a_fault_and_a_suspend_are_predicted_as_the_mesh_then_answers(mesh, gateway, clock):
    fault = render_change({"kind": "fault_injection", "namespace": "bookinfo", "service": "reviews",
                           "abort": {"http_status": 500, "percentage": 25}}, mesh.inventory())
    (split,) = preview_change(fault, mesh.inventory(), clients=PRODUCTPAGE).traffic
    assert dict(split.after.shares) == pytest.approx({"v1": 25.0, "v2": 25.0, "v3": 25.0, "aborted (HTTP 500)": 25.0})
    apply(fault, gateway)
    assert measured_split(mesh, clock, "productpage-v1", "reviews") == pytest.approx(dict(split.after.shares), abs=1e-4)

    suspend = render_change({"kind": "suspend_traffic", "namespace": "bookinfo", "service": "details"},
                            mesh.inventory())
    (split,) = preview_change(suspend, mesh.inventory(), clients=PRODUCTPAGE).traffic
    assert dict(split.after.shares) == {"v1": 0.0, "aborted (HTTP 503)": 100.0}
    apply(suspend, gateway)
    assert measured_split(mesh, clock, "productpage-v1", "details") == {"aborted (HTTP 503)": 100.0}


def test_without_named_clients_every_injected_workload_is_predicted_and_grouped(inventory):
    preview = preview_change(render_change(SHIFT, inventory), inventory)
    (split,) = preview.traffic
    assert "bookinfo/productpage-v1" in split.clients and "helloworld/sleep" in split.clients
    assert not any(c.startswith("bookinfo/reviews-") for c in split.clients)  # not its own client
    assert "istio-system/istio-ingressgateway" not in split.clients  # a gateway follows its Gateway's rules


def test_a_client_without_sidecar_bypasses_the_rules(inventory):
    pp = next(w for w in inventory.workloads if w.name == "productpage-v1")
    for pod in pp.pods:
        pod.has_sidecar = False
    (split,) = preview_change(render_change(SHIFT, inventory), inventory, clients=PRODUCTPAGE).traffic
    assert split.after.shares == (("v1", 33.333333), ("v2", 33.333333), ("v3", 33.333333))
    assert split.after.note == "client has no sidecar: routing rules do not apply"


def test_the_yaml_and_the_diff_of_new_objects(inventory):
    preview = preview_change(render_change(SHIFT, inventory), inventory)
    assert preview.yaml.startswith("# apply DestinationRule bookinfo/reviews\napiVersion: networking.istio.io/v1\n")
    assert "\n---\n# apply VirtualService bookinfo/reviews\n" in preview.yaml
    assert [(d.target, d.action, d.managed) for d in preview.diffs] == [
        (Target("DestinationRule", "bookinfo", "reviews"), "create", None),
        (Target("VirtualService", "bookinfo", "reviews"), "create", None)]
    vs_diff = preview.diffs[1].diff.splitlines()
    assert vs_diff[:2] == ["--- live/VirtualService/bookinfo/reviews", "+++ after/VirtualService/bookinfo/reviews"]
    assert "+      weight: 80" in vs_diff and all(not line.startswith("-") for line in vs_diff[2:])
    json.dumps(preview.as_dict())  # the API can send it as it is


def test_replacing_an_object_meshdeck_did_not_generate_shows_the_whole_diff_and_blocks(gateway, mesh):
    gateway.apply_istio_object({"apiVersion": "networking.istio.io/v1", "kind": "VirtualService",
                                "metadata": {"name": "reviews", "namespace": "bookinfo"},
                                "spec": {"hosts": ["reviews"],
                                         "http": [{"route": [{"destination": {"host": "reviews"}}]}]}})
    inv = mesh.inventory()
    preview = preview_change(render_change(SHIFT, inv), inv)
    vs = preview.diffs[1]
    assert (vs.action, vs.managed) == ("update", False)
    assert "-        host: reviews\n+        host: reviews.bookinfo.svc.cluster.local\n" in vs.diff
    assert "+    app.kubernetes.io/managed-by: meshdeck" in vs.diff
    body = vs.diff.splitlines()[3:]  # the whole object, every line, not three lines of context
    assert [line[1:] for line in body if not line.startswith("+")] == vs.before.splitlines()
    assert [line[1:] for line in body if not line.startswith("-")] == vs.after.splitlines()
    assert vs.before.startswith("apiVersion: networking.istio.io/v1\nkind: VirtualService\n")
    assert preview.blocking and "VirtualService bookinfo/reviews was not created by Meshdeck" in \
        preview.blocking_reasons[0]
    confirmed = preview_change(render_change({**SHIFT, "take_over": True}, inv), inv)
    assert not confirmed.blocking and confirmed.diffs[1].diff == vs.diff


def test_an_error_the_checkers_find_on_a_changed_object_blocks_the_change(gateway, mesh):
    gateway.apply_istio_object({"apiVersion": "security.istio.io/v1", "kind": "PeerAuthentication",
                                "metadata": {"name": "default", "namespace": "bookinfo"},
                                "spec": {"mtls": {"mode": "STRICT"}}})
    gateway.apply_istio_object({"apiVersion": "networking.istio.io/v1", "kind": "DestinationRule",
                                "metadata": {"name": "reviews", "namespace": "bookinfo"},
                                "spec": {"host": "reviews", "trafficPolicy": {"tls": {"mode": "DISABLE"}}}})
    inv = mesh.inventory()
    preview = preview_change(render_change({**SHIFT, "take_over": True}, inv), inv)
    codes = {(c.kind, c.code, c.severity) for c in preview.findings}
    assert ("DestinationRule", "DR-TLS-DISABLED-STRICT", "error") in codes
    assert preview.blocking
    assert any(r.startswith("DestinationRule bookinfo/reviews: ") and "[DR-TLS-DISABLED-STRICT at "
               "spec.trafficPolicy.tls.mode]" in r for r in preview.blocking_reasons)


def test_breaking_someone_elses_object_blocks_and_says_which(gateway, mesh, clock):
    apply(render_change(SHIFT, mesh.inventory()), gateway)
    clock.advance(1)
    gateway.apply_istio_object({"apiVersion": "networking.istio.io/v1", "kind": "VirtualService",
                                "metadata": {"name": "reviews-canary", "namespace": "bookinfo"},
                                "spec": {"hosts": ["reviews"], "http": [
                                    {"route": [{"destination": {"host": "reviews", "subset": "v3"}}]}]}})
    inv = mesh.inventory()
    preview = preview_change(render_change({"kind": "delete_routing", "namespace": "bookinfo",
                                            "service": "reviews"}, inv), inv)
    broken = {(c.name, c.code) for c in preview.broken_elsewhere if c.severity == "error"}
    assert ("reviews-canary", "VS-SUBSET-NOT-FOUND") in broken
    assert any(r.startswith("This change breaks VirtualService bookinfo/reviews-canary:")
               for r in preview.blocking_reasons)
    # and once Meshdeck's routing is gone, the canary's rule is what clients get
    (split,) = preview_change(render_change({"kind": "delete_routing", "namespace": "bookinfo",
                                             "service": "reviews"}, inv), inv, clients=PRODUCTPAGE).traffic
    assert split.before.virtual_service == "bookinfo/reviews"
    assert split.after.virtual_service == "bookinfo/reviews-canary"
    assert dict(split.after.shares)["undefined subset v3 (HTTP 503)"] == 100.0


def test_warnings_of_the_checkers_are_shown_but_do_not_block(gateway, mesh, clock):
    apply(render_change(SHIFT, mesh.inventory()), gateway)
    clock.advance(1)
    gateway.apply_istio_object({"apiVersion": "networking.istio.io/v1", "kind": "VirtualService",
                                "metadata": {"name": "reviews-2", "namespace": "bookinfo"},
                                "spec": {"hosts": ["reviews"],
                                         "http": [{"route": [{"destination": {"host": "reviews"}}]}]}})
    inv = mesh.inventory()
    preview = preview_change(render_change({**SHIFT, "weights": {"v2": 100}}, inv), inv)
    assert ("VS-MULTI-HOST", "warning") in {(c.code, c.severity) for c in preview.findings}
    assert not preview.blocking


def test_a_namespace_injection_change_lists_the_pods_it_restarts_and_those_it_leaves(inventory):
    rendered = render_change({"kind": "sidecar_injection", "namespace": "bookinfo", "state": "disabled",
                              "restart": ["ratings-v1"]}, inventory)
    preview = preview_change(rendered, inventory)
    by_name = {r.workload.name: r for r in preview.restarts}
    ratings = by_name.pop("ratings-v1")
    assert ratings.restarts and (ratings.sidecar_before, ratings.sidecar_after) == (True, False)
    assert ratings.pods == tuple(p.name for p in next(w for w in inventory.workloads if w.name == "ratings-v1").pods)
    assert set(by_name) == {"details-v1", "mongodb-v1", "productpage-v1", "reviews-v1", "reviews-v2", "reviews-v3"}
    assert all(not r.restarts and r.sidecar_after is False for r in by_name.values())
    assert by_name["productpage-v1"].pods and len(by_name["productpage-v1"].pods) == 2
    assert [d.action for d in preview.diffs] == ["update", "update"]
    assert "-    istio-injection: enabled\n+    istio-injection: disabled" in preview.diffs[0].diff
    assert preview.traffic == ()


def test_a_workload_injection_change_restarts_its_pods(inventory):
    rendered = render_change({"kind": "sidecar_injection", "namespace": "bookinfo", "workload": "reviews-v2",
                              "state": "disabled"}, inventory)
    (restart,) = preview_change(rendered, inventory).restarts
    assert restart.workload == Target("Deployment", "bookinfo", "reviews-v2")
    assert restart.restarts and len(restart.pods) == 2 and restart.sidecar_after is False
