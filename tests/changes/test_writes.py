"""Planned writes: stored as JSON and back, executed on a gateway, undone exactly.

Executed against the simulator's gateway (the same ``ClusterGateway`` methods the
Kubernetes gateway has; tests/changes/test_kube_apiserver.py runs them for real).
"""
from __future__ import annotations

import json

import pytest

from apps.changes.errors import ChangeInvalid
from apps.changes.render import render_change
from apps.changes.writes import (
    ApplyObject,
    DeleteObject,
    PatchNamespaceLabels,
    PatchWorkloadTemplate,
    PriorState,
    RestartWorkload,
    Target,
    capture_prior_state,
    rollback_writes,
    write_from_dict,
)
from apps.clusters.gateway import RESTARTED_AT_ANNOTATION, ObjectNotFound

VS = {"apiVersion": "networking.istio.io/v1", "kind": "VirtualService",
      "metadata": {"name": "ratings", "namespace": "bookinfo"},
      "spec": {"hosts": ["ratings"], "http": [{"route": [{"destination": {"host": "ratings"}}], "timeout": "1s"}]}}

EVERY_WRITE = [
    ApplyObject(VS),
    DeleteObject("VirtualService", "bookinfo", "ratings"),
    PatchNamespaceLabels("bookinfo", {"istio-injection": None, "team": "books"}),
    PatchWorkloadTemplate("Deployment", "bookinfo", "ratings-v1", labels={"sidecar.istio.io/inject": "false"}),
    PatchWorkloadTemplate("Deployment", "bookinfo", "ratings-v1", annotations={RESTARTED_AT_ANNOTATION: None}),
    RestartWorkload("Deployment", "bookinfo", "ratings-v1"),
]


@pytest.mark.parametrize("write", EVERY_WRITE, ids=lambda w: w.op)
def test_a_write_survives_json_and_back(write):
    stored = json.loads(json.dumps(write.as_dict()))
    assert write_from_dict(stored) == write
    assert write_from_dict(stored).target == write.target


def test_a_stored_write_of_unknown_shape_is_refused():
    with pytest.raises(ValueError, match="Unknown planned write 'scale'"):
        write_from_dict({"op": "scale"})
    with pytest.raises(ValueError, match="missing"):
        write_from_dict({"op": "delete", "kind": "VirtualService"})


def test_each_write_does_what_it_says_on_the_simulated_cluster(gateway, mesh):
    ApplyObject(VS).execute(gateway)
    assert gateway.get_istio_object("VirtualService", "bookinfo", "ratings").spec == VS["spec"]
    live_rv = gateway.get_istio_object("VirtualService", "bookinfo", "ratings").resource_version
    DeleteObject("VirtualService", "bookinfo", "ratings").execute(gateway, resource_version=live_rv)
    with pytest.raises(ObjectNotFound):
        gateway.get_istio_object("VirtualService", "bookinfo", "ratings")

    PatchNamespaceLabels("bookinfo", {"istio-injection": None, "team": "books"}).execute(gateway)
    labels = next(n for n in gateway.list_namespaces() if n.name == "bookinfo").labels
    assert "istio-injection" not in labels and labels["team"] == "books"

    before = gateway.get_workload("Deployment", "bookinfo", "ratings-v1")
    PatchWorkloadTemplate("Deployment", "bookinfo", "ratings-v1",
                          labels={"sidecar.istio.io/inject": "false"}).execute(gateway)
    after = gateway.get_workload("Deployment", "bookinfo", "ratings-v1")
    assert after.labels["sidecar.istio.io/inject"] == "false" and not after.has_sidecar
    assert {p.name for p in after.pods}.isdisjoint(p.name for p in before.pods)  # pods replaced

    RestartWorkload("Deployment", "bookinfo", "ratings-v1").execute(gateway)
    restarted = gateway.get_workload("Deployment", "bookinfo", "ratings-v1")
    assert restarted.annotations[RESTARTED_AT_ANNOTATION]
    assert {p.name for p in restarted.pods}.isdisjoint(p.name for p in after.pods)


def _apply_recording(rendered, gateway, mesh) -> list[PriorState]:
    """What the apply task does: read, record the prior state, write; one write at a time."""
    priors = []
    for write in rendered.writes:
        priors.append(capture_prior_state(write, mesh.inventory()))
        write.execute(gateway)
    return priors


def _objects(inventory):
    return sorted((o.kind, o.namespace, o.name, json.dumps(o.to_manifest(), sort_keys=True))
                  for o in inventory.istio_objects)


def test_rolling_back_a_traffic_shift_deletes_what_it_created(gateway, mesh):
    before = _objects(mesh.inventory())
    shift = render_change({"kind": "traffic_shift", "namespace": "bookinfo", "service": "reviews",
                           "weights": {"v2": 80, "v3": 20}}, mesh.inventory())
    priors = _apply_recording(shift, gateway, mesh)
    assert priors == [PriorState(Target("DestinationRule", "bookinfo", "reviews"), None),
                      PriorState(Target("VirtualService", "bookinfo", "reviews"), None)]
    assert rollback_writes(priors) == (DeleteObject("VirtualService", "bookinfo", "reviews"),
                                       DeleteObject("DestinationRule", "bookinfo", "reviews"))
    for write in rollback_writes(priors):
        write.execute(gateway)
    assert _objects(mesh.inventory()) == before


def test_rolling_back_a_take_over_restores_the_foreign_objects_exactly(gateway, mesh):
    foreign = {"apiVersion": "networking.istio.io/v1", "kind": "VirtualService",
               "metadata": {"name": "reviews", "namespace": "bookinfo", "labels": {"team": "books"},
                            "annotations": {"owner": "alice"}},
               "spec": {"hosts": ["reviews"], "http": [{"route": [{"destination": {"host": "reviews"}}],
                                                        "retries": {"attempts": 5}}]}}
    gateway.apply_istio_object(foreign)
    before = _objects(mesh.inventory())
    shift = render_change({"kind": "traffic_shift", "namespace": "bookinfo", "service": "reviews",
                           "weights": {"v1": 100}, "take_over": True}, mesh.inventory(), change_id=9)
    priors = _apply_recording(shift, gateway, mesh)
    assert priors[1].state == foreign
    # a rollback is itself a change: rendered from the stored priors, then applied
    stored = [json.loads(json.dumps(p.as_dict())) for p in priors]
    rollback = render_change({"kind": "rollback", "change": "9", "prior_states": stored}, mesh.inventory())
    assert rollback.writes == (ApplyObject(foreign), DeleteObject("DestinationRule", "bookinfo", "reviews"))
    assert rollback.blockers == () and rollback.services == (("bookinfo", "reviews"),)
    assert rollback.summary.startswith("Roll back of change 9: apply VirtualService bookinfo/reviews; delete ")
    for write in rollback.writes:
        write.execute(gateway)
    assert _objects(mesh.inventory()) == before


def test_rolling_back_sidecar_injection_restores_labels_first_then_the_pods(gateway, mesh):
    change = render_change({"kind": "sidecar_injection", "namespace": "bookinfo", "state": "disabled",
                            "restart": ["ratings-v1"]}, mesh.inventory())
    priors = _apply_recording(change, gateway, mesh)
    assert priors == [
        PriorState(Target("Namespace", "", "bookinfo"), {"labels": {"istio-injection": "enabled"}}),
        PriorState(Target("Deployment", "bookinfo", "ratings-v1"), {"annotations": {RESTARTED_AT_ANNOTATION: None}}),
    ]
    assert not gateway.get_workload("Deployment", "bookinfo", "ratings-v1").has_sidecar
    undo = rollback_writes(priors)
    assert undo == (PatchNamespaceLabels("bookinfo", {"istio-injection": "enabled"}),
                    PatchWorkloadTemplate("Deployment", "bookinfo", "ratings-v1",
                                          annotations={RESTARTED_AT_ANNOTATION: None}))
    for write in undo:
        write.execute(gateway)
    ratings = gateway.get_workload("Deployment", "bookinfo", "ratings-v1")
    assert ratings.has_sidecar and RESTARTED_AT_ANNOTATION not in ratings.annotations
    assert next(n for n in gateway.list_namespaces() if n.name == "bookinfo").labels["istio-injection"] == "enabled"


def test_rolling_back_a_workload_template_change(gateway, mesh):
    change = render_change({"kind": "sidecar_injection", "namespace": "bookinfo", "workload": "reviews-v2",
                            "state": "disabled"}, mesh.inventory())
    priors = _apply_recording(change, gateway, mesh)
    assert priors == [PriorState(Target("Deployment", "bookinfo", "reviews-v2"),
                                 {"labels": {"sidecar.istio.io/inject": None}})]
    rollback = render_change({"kind": "rollback", "prior_states": [p.as_dict() for p in priors]}, mesh.inventory())
    assert rollback.writes == (PatchWorkloadTemplate("Deployment", "bookinfo", "reviews-v2",
                                                     labels={"sidecar.istio.io/inject": None}),)
    rollback.writes[0].execute(gateway)
    wl = gateway.get_workload("Deployment", "bookinfo", "reviews-v2")
    assert "sidecar.istio.io/inject" not in wl.labels and wl.has_sidecar


def test_a_target_written_twice_goes_back_to_before_the_first_write(inventory):
    first = PriorState(Target("VirtualService", "bookinfo", "x"), None)
    second = PriorState(Target("VirtualService", "bookinfo", "x"), {"kind": "VirtualService"})
    assert rollback_writes([first, second]) == (DeleteObject("VirtualService", "bookinfo", "x"),)


def test_rollback_skips_what_is_already_back_and_guards_what_someone_else_wrote_since(gateway, mesh):
    shift = render_change({"kind": "traffic_shift", "namespace": "bookinfo", "service": "reviews",
                           "weights": {"v1": 100}}, mesh.inventory())
    priors = _apply_recording(shift, gateway, mesh)
    gateway.delete_istio_object("DestinationRule", "bookinfo", "reviews")  # someone removed it already
    someone = {"apiVersion": "networking.istio.io/v1", "kind": "VirtualService",
               "metadata": {"name": "reviews", "namespace": "bookinfo"},
               "spec": {"hosts": ["reviews"], "http": [{"route": [{"destination": {"host": "reviews"}}]}]}}
    gateway.apply_istio_object(someone)  # and replaced Meshdeck's VirtualService with their own
    rollback = render_change({"kind": "rollback", "prior_states": [p.as_dict() for p in priors]}, mesh.inventory())
    assert rollback.writes == (DeleteObject("VirtualService", "bookinfo", "reviews"),)
    assert rollback.warnings == ("DestinationRule bookinfo/reviews is already as it was before the change.",)
    assert rollback.foreign == (Target("VirtualService", "bookinfo", "reviews"),)
    assert "was not created by Meshdeck" in rollback.blockers[0]
    gateway.delete_istio_object("VirtualService", "bookinfo", "reviews")
    with pytest.raises(ChangeInvalid, match="nothing to roll back"):
        render_change({"kind": "rollback", "prior_states": [p.as_dict() for p in priors]}, mesh.inventory())
