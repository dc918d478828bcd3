"""The change flow's rules, enforced in the services (docs/changes.md, "The flow"), on the simulated demo cluster."""
from __future__ import annotations

import time
from datetime import time as clock_time
from datetime import timedelta

import pytest
from django.utils import timezone

from apps.changes import errors
from apps.changes.models import ApprovalPolicy, ChangeLock, ChangeRequest, ChangeWindow
from apps.changes.services import (
    change_approve,
    change_cancel,
    change_create,
    change_edit,
    change_execute,
    change_reject,
    change_request_apply,
    change_rollback,
    change_submit,
    changes_expire_due,
)

from .flow_helpers import PASSWORD, SHIFT_80_20, events

pytestmark = pytest.mark.django_db
S = ChangeRequest.Status


@pytest.fixture
def submitted(sim_cluster, operator):
    return change_create(cluster=sim_cluster, user=operator, data=dict(SHIFT_80_20), submit=True)


def approve(change, user, **kw):
    return change_approve(change=change, user=user, password=PASSWORD, **kw)


def vs_weights(cluster):
    vs = cluster.gateway().get_istio_object("VirtualService", "bookinfo", "reviews")
    return {d["destination"]["subset"]: d.get("weight", 0) for d in vs.spec["http"][0]["route"]}


def test_a_change_goes_from_draft_to_applied_with_an_event_for_every_step(
        sim_cluster, operator, approver, eager_tasks, django_capture_on_commit_callbacks):
    change = change_create(cluster=sim_cluster, user=operator, data=dict(SHIFT_80_20))
    assert change.status == S.DRAFT and change.payload_hash and change.preview["traffic"]
    assert {(t["kind"], t["name"]) for t in change.targets} == {("DestinationRule", "reviews"),
                                                                ("VirtualService", "reviews")}
    change = change_submit(change=change, user=operator)
    assert change.status == S.SUBMITTED and set(change.bound_versions) == {
        "DestinationRule/bookinfo/reviews", "VirtualService/bookinfo/reviews"}
    change = approve(change, approver)
    assert change.status == S.APPROVED
    with django_capture_on_commit_callbacks(execute=True):
        change_request_apply(change=change, user=approver, password=PASSWORD)
    change.refresh_from_db()
    assert change.status == S.APPLIED, change.error_message
    assert vs_weights(sim_cluster) == {"v1": 0, "v2": 80, "v3": 20}
    assert len(change.prior_states) == 2 and all(p["state"] is None for p in change.prior_states)
    assert not ChangeLock.objects.filter(change=change).exists()
    for action in ("change.create", "change.submit", "change.approve", "change.apply", "change.applied"):
        assert len(events(action, target_id=str(change.pk))) == 1, action


def test_nobody_reviews_their_own_change(sim_cluster, approver):
    change = change_create(cluster=sim_cluster, user=approver, data=dict(SHIFT_80_20), submit=True)
    with pytest.raises(errors.ChangeRefused, match="your own change"):
        approve(change, approver)
    assert events("change.approve", outcome="denied")[-1].message.startswith("You cannot review your own")
    assert ChangeRequest.objects.get(pk=change.pk).status == S.SUBMITTED


def test_a_reviewer_needs_the_approver_role(submitted, make_user, sim_cluster):
    from apps.accounts.roles import Role

    other = make_user("op2", cluster=sim_cluster, role=Role.OPERATOR)
    with pytest.raises(errors.ChangeRefused, match="approver role"):
        approve(submitted, other)
    assert events("change.approve", outcome="denied")
    with pytest.raises(errors.ChangeNotFound):
        approve(submitted, make_user("nobody"))


def test_approval_needs_recent_authentication(submitted, approver):
    with pytest.raises(errors.ReauthRequired, match="password"):
        change_approve(change=submitted, user=approver)
    with pytest.raises(errors.ReauthRequired, match="wrong"):
        change_approve(change=submitted, user=approver, password="nope")
    with pytest.raises(errors.ReauthRequired):
        change_approve(change=submitted, user=approver, reauth_at=time.time() - 301)
    assert change_approve(change=submitted, user=approver, reauth_at=time.time() - 60).status == S.APPROVED


def test_a_reject_needs_a_reason(submitted, approver):
    with pytest.raises(errors.ReasonRequired):
        change_reject(change=submitted, user=approver, reason="  ")
    change = change_reject(change=submitted, user=approver, reason="v3 is not ready")
    assert change.status == S.REJECTED and not ChangeLock.objects.filter(change=change).exists()


def test_editing_voids_approvals_and_an_approval_of_the_old_payload_is_refused(submitted, operator, approver,
                                                                              approver2):
    ApprovalPolicy.objects.create(cluster=submitted.cluster, namespace="bookinfo", approvals_needed=2)
    change = change_edit(change=submitted, user=operator, data={**SHIFT_80_20, "weights": {"v1": 100}})
    change = change_submit(change=change, user=operator) if change.status == S.DRAFT else change
    seen = change.payload_hash
    change = approve(change, approver, payload_hash=seen)
    assert change.status == S.SUBMITTED and change.approvals_needed == 2
    edited = change_edit(change=change, user=operator, data={**SHIFT_80_20, "weights": {"v1": 50, "v2": 50}})
    assert edited.payload_hash != seen and edited.valid_approvals().count() == 0
    with pytest.raises(errors.ChangeEdited, match="edited after you opened it"):
        approve(edited, approver2, payload_hash=seen)
    assert events("change.approve", outcome="denied")


def test_one_open_change_per_target(submitted, sim_cluster, operator, approver):
    with pytest.raises(errors.ChangeLocked, match=f"open change #{submitted.pk}"):
        change_create(cluster=sim_cluster, user=approver, data={**SHIFT_80_20, "weights": {"v1": 100}})
    assert events("change.create", outcome="denied")
    assert ChangeRequest.objects.count() == 1
    change_cancel(change=submitted, user=operator)
    assert change_create(cluster=sim_cluster, user=approver, data={**SHIFT_80_20, "weights": {"v1": 100}})


@pytest.mark.parametrize("weights,message", [
    ({"v1": 50, "v2": 40}, "add up to 90"),
    ({"v1": 110, "v2": -10}, "weights"),
    ({"v1": 50, "v9": 50}, "v9"),
    ([{"version": "v1", "weight": 50}, {"version": "v1", "weight": 50}], "v1"),
])
def test_bad_weights_are_refused(sim_cluster, operator, weights, message):
    with pytest.raises(errors.ChangeInvalid, match=message) as err:
        change_create(cluster=sim_cluster, user=operator, data={**SHIFT_80_20, "weights": weights})
    assert "weights" in str(err.value.errors)
    assert ChangeRequest.objects.count() == 0


def test_an_unknown_service_or_workload_is_refused(sim_cluster, operator):
    with pytest.raises(errors.ChangeInvalid, match="nosuch"):
        change_create(cluster=sim_cluster, user=operator, data={**SHIFT_80_20, "service": "nosuch"})
    with pytest.raises(errors.ChangeInvalid, match="nosuch"):
        change_create(cluster=sim_cluster, user=operator, data={
            "kind": "sidecar_injection", "namespace": "bookinfo", "workload": "nosuch", "state": "disabled"})


def test_a_viewer_cannot_file_and_an_outsider_does_not_see_the_namespace(sim_cluster, viewer, outsider):
    with pytest.raises(errors.ChangeRefused, match="operator role"):
        change_create(cluster=sim_cluster, user=viewer, data=dict(SHIFT_80_20))
    with pytest.raises(errors.ChangeNotFound):
        change_create(cluster=sim_cluster, user=outsider, data=dict(SHIFT_80_20))


def test_applying_outside_the_window_is_refused_and_an_admin_override_is_audited(
        submitted, approver, cluster_admin, eager_tasks, django_capture_on_commit_callbacks):
    now = timezone.now()
    closed_start = (now + timedelta(hours=2)).time().replace(second=0, microsecond=0)
    closed_end = (now + timedelta(hours=3)).time().replace(second=0, microsecond=0)
    ChangeWindow.objects.create(cluster=submitted.cluster, namespace_pattern="book*",
                                weekdays="mon,tue,wed,thu,fri,sat,sun", start_time=closed_start,
                                end_time=closed_end, timezone="UTC")
    change = approve(submitted, approver)
    with pytest.raises(errors.OutsideWindow, match="change windows"):
        change_request_apply(change=change, user=approver, password=PASSWORD)
    assert events("change.apply", outcome="denied")
    with pytest.raises(errors.OutsideWindow, match="Only a cluster admin"):
        change_request_apply(change=change, user=approver, password=PASSWORD, override_window=True)
    with django_capture_on_commit_callbacks(execute=True):
        change_request_apply(change=change, user=cluster_admin, password=PASSWORD, override_window=True)
    assert ChangeRequest.objects.get(pk=change.pk).status == S.APPLIED
    assert len(events("admin.override", target_id=str(change.pk))) == 1


def test_a_window_that_is_open_lets_the_change_through(submitted, approver, eager_tasks,
                                                        django_capture_on_commit_callbacks):
    ChangeWindow.objects.create(cluster=submitted.cluster, weekdays="mon,tue,wed,thu,fri,sat,sun",
                                start_time=clock_time(0, 0), end_time=clock_time(23, 59, 59), timezone="UTC")
    change = approve(submitted, approver)
    with django_capture_on_commit_callbacks(execute=True):
        change_request_apply(change=change, user=approver, password=PASSWORD)
    assert ChangeRequest.objects.get(pk=change.pk).status == S.APPLIED


def test_applying_needs_recent_authentication(submitted, approver):
    change = approve(submitted, approver)
    with pytest.raises(errors.ReauthRequired):
        change_request_apply(change=change, user=approver)
    assert ChangeRequest.objects.get(pk=change.pk).status == S.APPROVED


def test_an_edit_of_the_target_after_approval_makes_the_change_stale(submitted, approver, sim_cluster, operator):
    change = approve(submitted, approver)
    sim_cluster.gateway().apply_istio_object({
        "apiVersion": "networking.istio.io/v1", "kind": "DestinationRule",
        "metadata": {"name": "reviews", "namespace": "bookinfo"},
        "spec": {"host": "reviews", "subsets": [{"name": "v1", "labels": {"version": "v1"}}]}})
    assert change_execute(change.pk) == "stale"
    change.refresh_from_db()
    assert change.status == S.STALE and "DestinationRule/bookinfo/reviews" in change.error_message
    assert change.valid_approvals().count() == 0 and ChangeLock.objects.filter(change=change).count() == 2
    assert len(events("change.stale", target_id=str(change.pk))) == 1
    # needs review again: the replaced DestinationRule is not Meshdeck's, so submitting says so
    with pytest.raises(errors.ChangeBlocked, match="not created by Meshdeck"):
        change_submit(change=change, user=operator)


def test_a_duplicated_apply_task_applies_once(submitted, approver, sim_cluster):
    change = approve(submitted, approver)
    assert change_execute(change.pk) == "applied"
    assert change_execute(change.pk) == "not-claimed"
    assert len(events("change.applied", target_id=str(change.pk))) == 1


def test_a_failure_half_way_restores_what_was_written(submitted, approver, sim_cluster, monkeypatch):
    from apps.clusters.gateway import ObjectInvalid
    from apps.simulator.gateway import SimulatorGateway

    change = approve(submitted, approver)
    real = SimulatorGateway.apply_istio_object

    def refuse_the_vs(self, manifest, **kw):
        if manifest["kind"] == "VirtualService":
            raise ObjectInvalid("VirtualService.networking.istio.io \"reviews\" is invalid: spec.http: bad")
        return real(self, manifest, **kw)

    monkeypatch.setattr(SimulatorGateway, "apply_istio_object", refuse_the_vs)
    assert change_execute(change.pk) == "failed"
    change.refresh_from_db()
    assert change.status == S.FAILED and "is invalid: spec.http: bad" in change.error_message
    names = [(o.kind, o.name) for o in sim_cluster.gateway().list_istio_objects("bookinfo")]
    assert ("DestinationRule", "reviews") not in names  # written first, then restored (deleted)
    assert events("change.failed", target_id=str(change.pk))[0].outcome == "failed"


def test_rollback_restores_the_cluster(submitted, approver, approver2, operator, sim_cluster):
    change = approve(submitted, approver)
    assert change_execute(change.pk) == "applied"
    change.refresh_from_db()
    rollback = change_rollback(change=change, user=operator)
    assert rollback.kind == "rollback" and rollback.status == S.SUBMITTED and rollback.rollback_of_id == change.pk
    assert len(events("change.rollback", target_id=str(change.pk))) == 1
    rollback = approve(rollback, approver2)
    assert change_execute(rollback.pk) == "applied"
    names = [(o.kind, o.name) for o in sim_cluster.gateway().list_istio_objects("bookinfo")]
    assert ("VirtualService", "reviews") not in names and ("DestinationRule", "reviews") not in names
    change.refresh_from_db()
    assert change.rolled_back_by_id == rollback.pk
    with pytest.raises(errors.ChangeConflict, match="already rolled back"):
        change_rollback(change=change, user=operator)


def test_changes_past_their_time_to_live_expire_and_release_their_locks(submitted):
    ChangeRequest.objects.filter(pk=submitted.pk).update(expires_at=timezone.now() - timedelta(minutes=1))
    assert changes_expire_due() == 1
    submitted.refresh_from_db()
    assert submitted.status == S.EXPIRED and not ChangeLock.objects.exists()
    assert len(events("change.expired")) == 1


def test_sidecar_injection_on_the_namespace_label(sim_cluster, operator, approver):
    change = change_create(cluster=sim_cluster, user=operator, submit=True, data={
        "kind": "sidecar_injection", "namespace": "bookinfo", "state": "disabled"})
    assert change.targets == [{"kind": "Namespace", "namespace": "", "name": "bookinfo"}]
    approve(change, approver)
    assert change_execute(change.pk) == "applied"
    ns = next(n for n in sim_cluster.gateway().list_namespaces() if n.name == "bookinfo")
    assert ns.labels.get("istio-injection") == "disabled"


def test_an_unexpected_error_while_applying_ends_failed_not_applying(submitted, approver, monkeypatch):
    from apps.changes import services

    change = approve(submitted, approver)

    def broken(_):
        raise RuntimeError("bug")

    monkeypatch.setattr(services, "write_from_dict", broken)
    assert change_execute(change.pk) == "failed"
    change.refresh_from_db()
    assert change.status == S.FAILED and "RuntimeError" in change.error_message
