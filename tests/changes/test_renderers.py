"""Golden tests: every change kind renders exactly these Kubernetes objects and patches.

The cluster is the simulator's demo mesh; where a test needs existing routing it
applies it through the simulator's gateway first, as another client would.
"""
from __future__ import annotations

import copy
import hashlib
import json
from pathlib import Path

import yaml

from apps.changes.managed import CHANGE_ID_ANNOTATION
from apps.changes.render import render_change
from apps.changes.writes import (
    ApplyObject,
    DeleteObject,
    PatchNamespaceLabels,
    PatchWorkloadTemplate,
    RestartWorkload,
    Target,
)

SAMPLES = Path(__file__).resolve().parents[1] / "fixtures" / "istio" / "samples"
REVIEWS = "reviews.bookinfo.svc.cluster.local"


def meta(name: str, service: str | None = None, namespace: str = "bookinfo", change: str = "<change-id>",
         labels: dict | None = None, annotations: dict | None = None) -> dict:
    return {"name": name, "namespace": namespace,
            "labels": {**(labels or {}), "app.kubernetes.io/managed-by": "meshdeck",
                       "meshdeck.io/service": service or name},
            "annotations": {**(annotations or {}), "meshdeck.io/change-id": change}}


def reviews_dr(**kw) -> dict:
    return {"apiVersion": "networking.istio.io/v1", "kind": "DestinationRule", "metadata": meta("reviews", **kw),
            "spec": {"host": REVIEWS, "subsets": [{"name": v, "labels": {"version": v}} for v in ("v1", "v2", "v3")]}}


def dest(subset: str | None = None, weight: int | None = None, host: str = REVIEWS) -> dict:
    d: dict = {"destination": {"host": host}}
    if subset:
        d["destination"]["subset"] = subset
    if weight is not None:
        d["weight"] = weight
    return d


def manifests(rendered) -> list[dict]:
    return [w.manifest for w in rendered.writes]


SHIFT = {"kind": "traffic_shift", "namespace": "bookinfo", "service": "reviews",
         "weights": {"v1": 0, "v2": 80, "v3": 20}}


def test_traffic_shift_renders_a_destination_rule_of_version_subsets_and_a_weighted_virtual_service(inventory):
    rendered = render_change(SHIFT, inventory)
    assert manifests(rendered) == [
        reviews_dr(),
        {"apiVersion": "networking.istio.io/v1", "kind": "VirtualService", "metadata": meta("reviews"),
         "spec": {"hosts": ["reviews"], "http": [{"route": [dest("v1", 0), dest("v2", 80), dest("v3", 20)]}]}},
    ]
    assert all(isinstance(w, ApplyObject) for w in rendered.writes)
    assert rendered.targets == (Target("DestinationRule", "bookinfo", "reviews"),
                                Target("VirtualService", "bookinfo", "reviews"))
    assert rendered.services == (("bookinfo", "reviews"),)
    assert rendered.summary == "Shift traffic of bookinfo/reviews: v1 0%, v2 80%, v3 20%."
    assert rendered.foreign == () and rendered.blockers == () and rendered.warnings == ()


def test_tcp_traffic_shift_renders_a_tcp_route(inventory):
    rendered = render_change({"kind": "tcp_traffic_shift", "namespace": "bookinfo", "service": "mongodb",
                              "weights": {"v1": 100}}, inventory)
    host = "mongodb.bookinfo.svc.cluster.local"
    assert manifests(rendered) == [
        {"apiVersion": "networking.istio.io/v1", "kind": "DestinationRule", "metadata": meta("mongodb"),
         "spec": {"host": host, "subsets": [{"name": "v1", "labels": {"version": "v1"}}]}},
        {"apiVersion": "networking.istio.io/v1", "kind": "VirtualService", "metadata": meta("mongodb"),
         "spec": {"hosts": ["mongodb"], "tcp": [{"route": [dest("v1", 100, host=host)]}]}},
    ]


JASON = {"kind": "request_routing", "namespace": "bookinfo", "service": "reviews",
         "rules": [{"match": [{"type": "header", "name": "end-user", "op": "exact", "value": "jason"}],
                    "route": "v2"}],
         "default": "v1"}


def test_request_routing_renders_matches_in_order_and_a_default_route(inventory):
    rendered = render_change({**JASON, "rules": JASON["rules"] + [
        {"match": [{"type": "uri", "op": "prefix", "value": "/api/v1"},
                   {"type": "query", "name": "beta", "op": "regex", "value": "^(1|true)$"},
                   {"type": "header", "name": "x-canary", "op": "prefix", "value": "yes"}],
         "route": {"v2": 50, "v3": 50}}]}, inventory)
    dr, vs = manifests(rendered)
    assert dr == reviews_dr()
    assert vs["spec"] == {"hosts": ["reviews"], "http": [
        {"match": [{"headers": {"end-user": {"exact": "jason"}}}], "route": [dest("v2", 100)]},
        {"match": [{"uri": {"prefix": "/api/v1"}, "queryParams": {"beta": {"regex": "^(1|true)$"}},
                    "headers": {"x-canary": {"prefix": "yes"}}}],
         "route": [dest("v2", 50), dest("v3", 50)]},
        {"route": [dest("v1", 100)]},
    ]}
    assert "header end-user exact 'jason' -> v2 100%" in rendered.summary
    assert rendered.summary.endswith("everything else -> v1 100%.")


def _as_istio_reads_it(spec: dict, namespace: str) -> dict:
    """Short hosts as FQDNs, a lone destination's weight as the 100 Istio gives it."""
    out = copy.deepcopy(spec)
    for route in out["http"]:
        for d in route["route"]:
            host = d["destination"]["host"]
            if "." not in host:
                d["destination"]["host"] = f"{host}.{namespace}.svc.cluster.local"
            if len(route["route"]) == 1:
                d.pop("weight", None)
    return out


def test_istios_bookinfo_jason_to_v2_example_is_expressible(inventory):
    sample = yaml.safe_load((SAMPLES / "virtual-service-reviews-test-v2.yaml").read_text())
    vs = manifests(render_change(JASON, inventory))[1]
    assert vs["metadata"]["name"] == sample["metadata"]["name"]
    assert _as_istio_reads_it(vs["spec"], "bookinfo") == _as_istio_reads_it(sample["spec"], "bookinfo")


def test_fault_injection_without_routing_sets_the_fault_on_one_route_to_the_whole_service(inventory):
    rendered = render_change({"kind": "fault_injection", "namespace": "bookinfo", "service": "ratings",
                              "delay": {"fixed_delay": "5s", "percentage": 50},
                              "abort": {"http_status": 500, "percentage": 12.5}}, inventory)
    ratings = "ratings.bookinfo.svc.cluster.local"
    assert manifests(rendered) == [
        {"apiVersion": "networking.istio.io/v1", "kind": "VirtualService", "metadata": meta("ratings"),
         "spec": {"hosts": ["ratings"], "http": [{
             "route": [dest(host=ratings)],
             "fault": {"delay": {"fixedDelay": "5s", "percentage": {"value": 50}},
                       "abort": {"httpStatus": 500, "percentage": {"value": 12.5}}}}]}},
    ]
    assert rendered.summary == ("Inject faults into requests to bookinfo/ratings: delay 50% of requests by 5s "
                                "and abort 12.5% with HTTP 500.")


def test_fault_injection_keeps_an_existing_traffic_shift_and_removing_it_keeps_it_too(gateway, mesh):
    for write in render_change(SHIFT, mesh.inventory()).writes:
        write.execute(gateway)
    fault = render_change({"kind": "fault_injection", "namespace": "bookinfo", "service": "reviews",
                           "abort": {"http_status": 503, "percentage": 100}}, mesh.inventory())
    (vs,) = manifests(fault)  # the DestinationRule is left alone
    assert vs["spec"]["http"] == [{"route": [dest("v1", 0), dest("v2", 80), dest("v3", 20)],
                                   "fault": {"abort": {"httpStatus": 503, "percentage": {"value": 100}}}}]
    fault.writes[0].execute(gateway)
    # re-weighting keeps the fault; removing the fault keeps the weights
    shifted = manifests(render_change({**SHIFT, "weights": {"v1": 50, "v2": 50}}, mesh.inventory()))[1]
    assert shifted["spec"]["http"] == [{"route": [dest("v1", 50), dest("v2", 50)],
                                        "fault": {"abort": {"httpStatus": 503, "percentage": {"value": 100}}}}]
    removed = render_change({"kind": "fault_injection", "namespace": "bookinfo", "service": "reviews",
                             "remove": True}, mesh.inventory())
    assert manifests(removed)[0]["spec"]["http"] == [{"route": [dest("v1", 0), dest("v2", 80), dest("v3", 20)]}]


def test_fault_injection_on_request_routing_faults_every_route_and_keeps_the_matches(gateway, mesh):
    for write in render_change(JASON, mesh.inventory()).writes:
        write.execute(gateway)
    (vs,) = manifests(render_change({"kind": "fault_injection", "namespace": "bookinfo", "service": "reviews",
                                     "delay": {"fixed_delay": "250ms"}}, mesh.inventory()))
    delay = {"delay": {"fixedDelay": "250ms", "percentage": {"value": 100}}}
    assert vs["spec"]["http"] == [
        {"match": [{"headers": {"end-user": {"exact": "jason"}}}], "route": [dest("v2", 100)], "fault": delay},
        {"route": [dest("v1", 100)], "fault": delay},
    ]


def test_suspending_a_service_aborts_every_request_with_the_chosen_status(inventory):
    rendered = render_change({"kind": "suspend_traffic", "namespace": "bookinfo", "service": "reviews",
                              "http_status": 502}, inventory)
    assert manifests(rendered) == [
        {"apiVersion": "networking.istio.io/v1", "kind": "VirtualService", "metadata": meta("reviews"),
         "spec": {"hosts": ["reviews"], "http": [{
             "route": [dest()], "fault": {"abort": {"httpStatus": 502, "percentage": {"value": 100}}}}]}},
    ]
    assert "every request is answered HTTP 502" in rendered.summary


def test_suspending_a_version_gives_its_weight_to_the_others_in_proportion(gateway, mesh):
    suspend = {"kind": "suspend_traffic", "namespace": "bookinfo", "service": "reviews", "version": "v3"}
    # no routing yet: the other versions share evenly
    assert manifests(render_change(suspend, mesh.inventory()))[1]["spec"]["http"] == [
        {"route": [dest("v1", 50), dest("v2", 50), dest("v3", 0)]}]
    for write in render_change({**SHIFT, "weights": {"v1": 60, "v2": 30, "v3": 10}}, mesh.inventory()).writes:
        write.execute(gateway)
    rendered = render_change(suspend, mesh.inventory())
    assert manifests(rendered)[1]["spec"]["http"] == [{"route": [dest("v1", 67), dest("v2", 33), dest("v3", 0)]}]
    assert rendered.summary == "Suspend v3 of bookinfo/reviews: it gets no traffic; v1 67%, v2 33%."
    with_status = render_change({**suspend, "http_status": 500}, mesh.inventory())
    assert any("HTTP 500 is not used" in w for w in with_status.warnings)


def test_suspending_the_only_version_suspends_the_service(inventory):
    rendered = render_change({"kind": "suspend_traffic", "namespace": "bookinfo", "service": "ratings",
                              "version": "v1"}, inventory)
    (vs,) = manifests(rendered)
    assert vs["spec"]["http"][0]["fault"] == {"abort": {"httpStatus": 503, "percentage": {"value": 100}}}
    assert rendered.warnings == ("v1 is the only version of bookinfo/ratings: the whole service is suspended.",)


def test_timeouts_and_retries(inventory):
    rendered = render_change({"kind": "request_timeouts", "namespace": "bookinfo", "service": "details",
                              "timeout": "2s", "retries": {"attempts": 3, "per_try_timeout": "500ms"}}, inventory)
    details = "details.bookinfo.svc.cluster.local"
    assert manifests(rendered) == [
        {"apiVersion": "networking.istio.io/v1", "kind": "VirtualService", "metadata": meta("details"),
         "spec": {"hosts": ["details"], "http": [{
             "route": [dest(host=details)], "timeout": "2s",
             "retries": {"attempts": 3, "perTryTimeout": "500ms",
                         "retryOn": "gateway-error,connect-failure,refused-stream"}}]}},
    ]
    slow = render_change({"kind": "request_timeouts", "namespace": "bookinfo", "service": "details",
                          "timeout": "1s", "retries": {"attempts": 2, "per_try_timeout": "3s"}}, inventory)
    assert "not shorter than the timeout" in slow.warnings[0]


def test_delete_routing_deletes_what_meshdeck_generated_virtual_service_first(gateway, mesh):
    for write in render_change(SHIFT, mesh.inventory()).writes:
        write.execute(gateway)
    rendered = render_change({"kind": "delete_routing", "namespace": "bookinfo", "service": "reviews"},
                             mesh.inventory())
    assert rendered.writes == (DeleteObject("VirtualService", "bookinfo", "reviews"),
                               DeleteObject("DestinationRule", "bookinfo", "reviews"))


def test_delete_routing_deletes_routing_meshdeck_took_over(gateway, mesh):
    gateway.apply_istio_object({"apiVersion": "networking.istio.io/v1", "kind": "DestinationRule",
                                "metadata": {"name": "reviews-tls", "namespace": "bookinfo"},
                                "spec": {"host": "reviews", "trafficPolicy": {"tls": {"mode": "ISTIO_MUTUAL"}}}})
    inv = mesh.inventory()
    shift = render_change({**SHIFT, "take_over": True}, inv)
    for write in shift.writes:
        write.execute(gateway)
    rendered = render_change({"kind": "delete_routing", "namespace": "bookinfo", "service": "reviews"},
                             mesh.inventory())
    # the taken-over DestinationRule now carries Meshdeck's labels, so it is deleted with the VirtualService
    assert [w.target.name for w in rendered.writes] == ["reviews", "reviews-tls"]
    assert rendered.warnings == ()


def test_delete_routing_leaves_routing_someone_else_wrote_and_says_it_takes_over(gateway, mesh):
    for write in render_change(SHIFT, mesh.inventory()).writes:
        write.execute(gateway)
    gateway.apply_istio_object(FOREIGN_VS)  # newer than Meshdeck's: Istio ignores it while ours exists
    rendered = render_change({"kind": "delete_routing", "namespace": "bookinfo", "service": "reviews"},
                             mesh.inventory())
    assert [w.target for w in rendered.writes] == [Target("VirtualService", "bookinfo", "reviews"),
                                                   Target("DestinationRule", "bookinfo", "reviews")]
    assert rendered.warnings == (
        ("VirtualService bookinfo/reviews-route also routes bookinfo/reviews: Meshdeck did not generate it, "
        "so it stays and applies once Meshdeck's routing is gone."),
    )


def test_sidecar_injection_for_a_namespace_with_restarts(inventory):
    rendered = render_change({"kind": "sidecar_injection", "namespace": "bookinfo", "state": "disabled",
                              "restart": ["reviews-v2", "ratings-v1"]}, inventory)
    assert rendered.writes == (
        PatchNamespaceLabels("bookinfo", {"istio-injection": "disabled"}),
        RestartWorkload("Deployment", "bookinfo", "ratings-v1"),
        RestartWorkload("Deployment", "bookinfo", "reviews-v2"),
    )
    assert rendered.targets == (Target("Namespace", "", "bookinfo"), Target("Deployment", "bookinfo", "ratings-v1"),
                                Target("Deployment", "bookinfo", "reviews-v2"))
    removed = render_change({"kind": "sidecar_injection", "namespace": "bookinfo", "state": "removed"}, inventory)
    assert removed.writes == (PatchNamespaceLabels("bookinfo", {"istio-injection": None}),)
    assert "Running pods change only when they restart" in removed.summary


def test_enabling_injection_on_a_revision_labelled_namespace_drops_the_revision(inventory):
    ns = next(n for n in inventory.namespaces if n.name == "helloworld")
    ns.labels.pop("istio-injection")
    ns.labels["istio.io/rev"] = "canary"
    rendered = render_change({"kind": "sidecar_injection", "namespace": "helloworld", "state": "enabled"}, inventory)
    labels = {"istio-injection": "enabled", "istio.io/rev": None}
    assert rendered.writes == (PatchNamespaceLabels("helloworld", labels),)
    assert "istio.io/rev=canary is removed" in rendered.warnings[0]


def test_sidecar_injection_for_a_workload_patches_its_pod_template_label(inventory):
    for state, value in (("disabled", "false"), ("enabled", "true")):
        rendered = render_change({"kind": "sidecar_injection", "namespace": "bookinfo", "workload": "ratings-v1",
                                  "state": state}, inventory)
        assert rendered.writes == (PatchWorkloadTemplate("Deployment", "bookinfo", "ratings-v1",
                                                         labels={"sidecar.istio.io/inject": value}),)
    gw = next(w for w in inventory.workloads if w.name == "istio-ingressgateway")
    gw.annotations["sidecar.istio.io/inject"] = "true"
    rendered = render_change({"kind": "sidecar_injection", "namespace": "istio-system",
                              "workload": "istio-ingressgateway", "state": "removed"}, inventory)
    assert rendered.writes == (PatchWorkloadTemplate("Deployment", "istio-system", "istio-ingressgateway",
                                                     labels={"sidecar.istio.io/inject": None},
                                                     annotations={"sidecar.istio.io/inject": None}),)


FOREIGN_VS = {"apiVersion": "networking.istio.io/v1", "kind": "VirtualService",
              "metadata": {"name": "reviews-route", "namespace": "bookinfo", "labels": {"team": "books"}},
              "spec": {"hosts": ["reviews"], "gateways": ["mesh"], "exportTo": ["."],
                       "http": [{"route": [{"destination": {"host": "reviews"}}], "timeout": "3s"}]}}


def test_routing_someone_else_wrote_is_edited_in_place_and_needs_take_over(gateway, mesh):
    gateway.apply_istio_object(FOREIGN_VS)
    rendered = render_change(SHIFT, mesh.inventory())
    vs = manifests(rendered)[1]
    assert vs["metadata"] == meta("reviews-route", service="reviews", labels={"team": "books"})
    assert vs["spec"] == {"hosts": ["reviews"], "gateways": ["mesh"], "exportTo": ["."],
                          "http": [{"route": [dest("v1", 0), dest("v2", 80), dest("v3", 20)], "timeout": "3s"}]}
    assert rendered.foreign == (Target("VirtualService", "bookinfo", "reviews-route"),)
    assert rendered.blockers == (
        ("VirtualService bookinfo/reviews-route was not created by Meshdeck: this change would replace it "
        "(review the whole diff). Set take_over to true to confirm."),
    )
    acknowledged = render_change({**SHIFT, "take_over": True}, mesh.inventory())
    assert acknowledged.foreign == rendered.foreign and acknowledged.blockers == ()
    assert acknowledged.payload() == rendered.payload()  # acknowledging changes nothing that is written


def test_an_object_that_only_has_the_services_name_is_replaced_whole_and_needs_take_over(gateway, mesh):
    gateway.apply_istio_object({"apiVersion": "networking.istio.io/v1", "kind": "VirtualService",
                                "metadata": {"name": "reviews", "namespace": "bookinfo"},
                                "spec": {"hosts": ["ratings"],
                                         "http": [{"route": [{"destination": {"host": "ratings"}}],
                                                                          "timeout": "9s"}]}})
    rendered = render_change(SHIFT, mesh.inventory())
    vs = manifests(rendered)[1]
    assert vs["spec"] == {"hosts": ["reviews"], "http": [{"route": [dest("v1", 0), dest("v2", 80), dest("v3", 20)]}]}
    assert rendered.foreign == (Target("VirtualService", "bookinfo", "reviews"),)


def test_an_existing_destination_rule_keeps_its_policy_and_other_subsets(gateway, mesh):
    gateway.apply_istio_object({
        "apiVersion": "networking.istio.io/v1", "kind": "DestinationRule",
        "metadata": {"name": "reviews", "namespace": "bookinfo"},
        "spec": {"host": "reviews", "trafficPolicy": {"loadBalancer": {"simple": "RANDOM"}},
                 "subsets": [{"name": "canary", "labels": {"track": "canary"}},
                             {"name": "v2", "labels": {"version": "v2", "extra": "x"}}]}})
    dr = manifests(render_change({**SHIFT, "take_over": True}, mesh.inventory()))[0]
    assert dr["spec"] == {"host": "reviews", "trafficPolicy": {"loadBalancer": {"simple": "RANDOM"}},
                          "subsets": [{"name": "canary", "labels": {"track": "canary"}},
                                      {"name": "v2", "labels": {"version": "v2"}},
                                      {"name": "v1", "labels": {"version": "v1"}},
                                      {"name": "v3", "labels": {"version": "v3"}}]}


def test_payload_hash_is_sha256_of_the_canonical_writes_and_binds_to_every_detail(inventory):
    rendered = render_change(SHIFT, inventory)
    canonical = json.dumps(rendered.payload(), sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    assert rendered.payload_hash() == hashlib.sha256(canonical.encode()).hexdigest()
    assert render_change(dict(reversed(list(SHIFT.items()))), inventory).payload_hash() == rendered.payload_hash()
    assert render_change({**SHIFT, "weights": {"v1": 0, "v2": 79, "v3": 21}}, inventory).payload_hash() \
        != rendered.payload_hash()
    filled = rendered.with_change_id(42)
    assert [m["metadata"]["annotations"][CHANGE_ID_ANNOTATION] for m in manifests(filled)] == ["42", "42"]
    assert filled.payload_hash() != rendered.payload_hash()
    assert render_change(SHIFT, inventory, change_id=42).payload() == filled.payload()
    assert manifests(rendered)[0]["metadata"]["annotations"][CHANGE_ID_ANNOTATION] == "<change-id>"  # untouched
