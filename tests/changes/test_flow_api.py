"""The change API (issue 10, item 7) and the pages: the whole flow, and every rejection with its message."""
from __future__ import annotations

from datetime import time as clock_time
from datetime import timedelta

import pytest
from django.utils import timezone

from apps.changes.models import ChangeRequest, ChangeWindow

from .flow_helpers import PASSWORD, SHIFT_80_20, events

pytestmark = pytest.mark.django_db


def post(client, url, body=None):
    return client.post(url, body or {}, format="json")


def create(client, body=None, **extra):
    return post(client, "/api/clusters/demo/changes/", {**(body or SHIFT_80_20), **extra})


def error(response, status, code=None):
    assert response.status_code == status, (response.status_code, response.content[:600])
    body = response.json()
    assert body["detail"] and body["request_id"]
    if code:
        assert body["code"] == code, body
    return body


@pytest.fixture
def op(api_client, operator):
    return api_client(operator)


@pytest.fixture
def ap(api_client, approver):
    return api_client(approver)


@pytest.fixture
def submitted(op):
    r = create(op, submit=True)
    assert r.status_code == 201, r.content
    return r.json()


def test_the_whole_flow_over_the_api(op, ap, api_client, approver2, sim_cluster, eager_tasks,
                                     django_capture_on_commit_callbacks):
    r = create(op)
    assert r.status_code == 201, r.content
    body = r.json()
    assert body["status"] == "draft" and body["id"] and body["preview"]["yaml"]
    assert body["preview"]["traffic"][0]["after"]["shares"] == {"v1": 0.0, "v2": 80.0, "v3": 20.0}
    change_id = body["id"]
    assert post(op, f"/api/changes/{change_id}/submit/").json()["status"] == "submitted"
    r = post(ap, f"/api/changes/{change_id}/approve/", {"password": PASSWORD, "payload_hash": body["payload_hash"]})
    assert r.status_code == 200 and r.json()["status"] == "approved", r.content
    with django_capture_on_commit_callbacks(execute=True):
        r = post(ap, f"/api/changes/{change_id}/apply/", {"password": PASSWORD})
    assert r.status_code == 200, r.content
    assert op.get(f"/api/changes/{change_id}/").json()["status"] == "applied"
    listed = op.get("/api/changes/", {"cluster": "demo", "namespace": "bookinfo", "status": "applied"}).json()
    assert [c["id"] for c in listed] == [change_id] and "preview" not in listed[0]
    # rollback: a change of its own, reviewed and applied like any other
    r = post(op, f"/api/changes/{change_id}/rollback/")
    assert r.status_code == 201, r.content
    rollback = r.json()
    assert rollback["kind"] == "rollback" and rollback["status"] == "submitted" and rollback["rollback_of"] == change_id
    other = api_client(approver2)
    assert post(other, f"/api/changes/{rollback['id']}/approve/", {"password": PASSWORD}).json()["status"] == "approved"
    with django_capture_on_commit_callbacks(execute=True):
        post(other, f"/api/changes/{rollback['id']}/apply/", {"password": PASSWORD})
    assert op.get(f"/api/changes/{rollback['id']}/").json()["status"] == "applied"
    assert op.get(f"/api/changes/{change_id}/").json()["rolled_back_by"] == rollback["id"]
    assert not [o for o in sim_cluster.gateway().list_istio_objects("bookinfo") if o.name == "reviews"]


def test_a_sidecar_injection_change_for_a_workload(op):
    r = create(op, {"kind": "sidecar_injection", "namespace": "bookinfo", "workload": "ratings-v1",
                    "state": "disabled"})
    assert r.status_code == 201, r.content
    assert r.json()["targets"] == [{"kind": "Deployment", "namespace": "bookinfo", "name": "ratings-v1"}]
    assert r.json()["preview"]["restarts"][0]["restarts"] is True


# --- every rejection, through the API ---------------------------------------------------------

def test_api_self_approval(op, submitted, api_client, make_user, sim_cluster):
    from apps.accounts.roles import Role

    # an approver who filed their own change
    me = make_user("self-approver", cluster=sim_cluster, role=Role.APPROVER)
    client = api_client(me)
    r = create(client, {**SHIFT_80_20, "service": "ratings", "weights": {"v1": 100}}, submit=True)
    body = error(post(client, f"/api/changes/{r.json()['id']}/approve/", {"password": PASSWORD}), 403,
                 "permission_denied")
    assert "your own change" in body["detail"]


def test_api_approval_without_the_role(submitted, api_client, viewer):
    body = error(post(api_client(viewer), f"/api/changes/{submitted['id']}/approve/", {"password": PASSWORD}), 403)
    assert "approver role" in body["detail"]


def test_api_approval_after_the_payload_changed(op, ap, submitted):
    seen = submitted["payload_hash"]
    r = op.patch(f"/api/changes/{submitted['id']}/", {"weights": {"v1": 50, "v2": 50}}, format="json")
    assert r.status_code == 200 and r.json()["payload_hash"] != seen, r.content
    body = error(post(ap, f"/api/changes/{submitted['id']}/approve/", {"password": PASSWORD, "payload_hash": seen}),
                 409, "payload_changed")
    assert "edited after you opened it" in body["detail"]


def test_api_a_second_open_change_on_the_same_target(op, ap, submitted):
    body = error(create(ap, {**SHIFT_80_20, "weights": {"v1": 100}}), 409, "locked")
    assert f"open change #{submitted['id']}" in body["detail"]


@pytest.mark.parametrize("weights,expected", [
    ({"v1": 50, "v2": 40}, "add up to 90"),
    ({"v1": 110, "v2": -10}, "weights"),
    ({"v1": 50, "v9": 50}, "v9"),
    ([{"version": "v1", "weight": 50}, {"version": "v1", "weight": 50}], "v1"),
])
def test_api_bad_weights(op, weights, expected):
    body = error(create(op, {**SHIFT_80_20, "weights": weights}), 400, "invalid")
    assert "weights" in body["errors"] and expected in body["detail"]
    assert not ChangeRequest.objects.exists()


def test_api_an_unknown_service_or_workload(op):
    body = error(create(op, {**SHIFT_80_20, "service": "nosuch"}), 400, "invalid")
    assert "nosuch" in body["detail"]
    body = error(create(op, {"kind": "sidecar_injection", "namespace": "bookinfo", "workload": "nosuch",
                             "state": "enabled"}), 400, "invalid")
    assert "nosuch" in body["detail"]


def test_api_a_change_outside_its_window(ap, submitted, sim_cluster):
    start = (timezone.now() + timedelta(hours=2)).time().replace(second=0, microsecond=0)
    end = (timezone.now() + timedelta(hours=3)).time().replace(second=0, microsecond=0)
    ChangeWindow.objects.create(cluster=sim_cluster, weekdays="mon,tue,wed,thu,fri,sat,sun", start_time=start,
                                end_time=end)
    post(ap, f"/api/changes/{submitted['id']}/approve/", {"password": PASSWORD})
    body = error(post(ap, f"/api/changes/{submitted['id']}/apply/", {"password": PASSWORD}), 403, "outside_window")
    assert "change windows" in body["detail"]


def test_api_approve_without_recent_authentication(ap, submitted):
    body = error(post(ap, f"/api/changes/{submitted['id']}/approve/"), 403, "reauth_required")
    assert "password" in body["detail"]
    error(post(ap, f"/api/changes/{submitted['id']}/approve/", {"password": "wrong"}), 403, "reauth_required")
    assert len(events("change.approve", outcome="denied")) == 2


def test_api_reject_needs_a_reason(ap, submitted):
    body = error(post(ap, f"/api/changes/{submitted['id']}/reject/", {"reason": ""}), 400, "invalid")
    assert "reason" in body["errors"]
    assert post(ap, f"/api/changes/{submitted['id']}/reject/", {"reason": "not now"}).json()["status"] == "rejected"


def test_api_a_viewer_cannot_file_and_bad_bodies_are_400(api_client, viewer, op):
    error(create(api_client(viewer)), 403)
    error(op.post("/api/clusters/demo/changes/", [1, 2], format="json"), 400)
    error(create(op, {"kind": "nope", "namespace": "bookinfo"}), 400)
    body = error(create(op, {**SHIFT_80_20, "weigths": {"v1": 100}}), 400)
    assert "weights" in body["detail"]  # "Did you mean 'weights'?"
    error(op.get("/api/changes/", {"status": "done"}), 400)


def test_api_the_schema_documents_the_change_routes(op):
    schema = op.get("/api/schema/", HTTP_ACCEPT="application/json").content.decode()
    for path in ("/api/clusters/{cluster}/changes/", "/api/changes/", "/api/changes/{change_id}/approve/",
                 "/api/changes/{change_id}/rollback/"):
        assert path in schema


# --- the same rejections, through the pages ---------------------------------------------------

@pytest.fixture
def ui(client):
    def as_user(user):
        client.force_login(user)
        return client
    return as_user


def ui_step(client, change_id, step, **data):
    return client.post(f"/changes/{change_id}/{step}/", data)


def test_ui_the_whole_flow_with_the_password_remembered_for_five_minutes(ui, operator, approver, eager_tasks,
                                                                        django_capture_on_commit_callbacks):
    c = ui(operator)
    page = c.get("/clusters/demo/changes/new/?kind=traffic_shift&namespace=bookinfo&service=reviews")
    assert page.status_code == 200 and b"Weight of v3" in page.content
    r = c.post("/clusters/demo/changes/new/", {"kind": "traffic_shift", "namespace": "bookinfo", "service": "reviews",
                                               "weight_v1": 0, "weight_v2": 80, "weight_v3": 20, "submit_now": "on"})
    assert r.status_code == 302, r.content[:2000]
    change = ChangeRequest.objects.get()
    assert change.status == "submitted" and r["Location"] == f"/changes/{change.pk}/"
    page = c.get(r["Location"])
    assert b"Predicted traffic" in page.content and b"v2 80%" in page.content
    c = ui(approver)
    assert b"Approve" in c.get(f"/changes/{change.pk}/").content
    assert ui_step(c, change.pk, "approve", password=PASSWORD, payload_hash=change.payload_hash).status_code == 302
    # confirmed a moment ago: apply without typing the password again
    with django_capture_on_commit_callbacks(execute=True):
        assert ui_step(c, change.pk, "apply").status_code == 302
    change.refresh_from_db()
    assert change.status == "applied"
    page = c.get(f"/changes/{change.pk}/").content.decode()
    for step in ("change.create", "change.submit", "change.approve", "change.apply", "change.applied"):
        assert step in page  # the timeline


def test_ui_rejections_show_their_message(ui, operator, approver, viewer, make_user, sim_cluster):

    c = ui(operator)
    for weights, message in (({"weight_v1": 50, "weight_v2": 40, "weight_v3": 0}, "add up to 90"),
                             ({"weight_v1": -10, "weight_v2": 110, "weight_v3": 0}, "weights")):
        r = c.post("/clusters/demo/changes/new/", {"kind": "traffic_shift", "namespace": "bookinfo",
                                                   "service": "reviews", **weights})
        assert r.status_code == 400 and message in r.content.decode()
    r = c.post("/clusters/demo/changes/new/", {"kind": "traffic_shift", "namespace": "bookinfo", "service": "nosuch"})
    assert r.status_code == 400 and "nosuch" in r.content.decode()
    r = c.post("/clusters/demo/changes/new/", {"kind": "sidecar_injection", "namespace": "bookinfo",
                                               "workload": "nosuch", "state": "disabled"})
    assert r.status_code == 400 and "nosuch" in r.content.decode()
    r = c.post("/clusters/demo/changes/new/", {"kind": "traffic_shift", "namespace": "bookinfo", "service": "reviews",
                                               "weight_v1": 100, "submit_now": "on"})
    change = ChangeRequest.objects.get()
    # a second open change on the same target
    r = ui(approver).post("/clusters/demo/changes/new/", {"kind": "traffic_shift", "namespace": "bookinfo",
                                                          "service": "reviews", "weight_v1": 100})
    assert r.status_code == 409 and f"open change #{change.pk}" in r.content.decode()
    # self-approval
    r = ui_step(ui(operator), change.pk, "approve", password=PASSWORD)
    assert r.status_code == 403
    # approval without the role
    r = ui_step(ui(viewer), change.pk, "approve", password=PASSWORD)
    assert r.status_code == 403 and "approver role" in r.content.decode()
    # approve without recent authentication
    c = ui(approver)
    r = ui_step(c, change.pk, "approve")
    assert r.status_code == 403 and "Confirm with your password" in r.content.decode()
    # approval after the payload changed
    seen = change.payload_hash
    ChangeRequest.objects.filter(pk=change.pk).update(payload_hash="0" * 64)
    r = ui_step(c, change.pk, "approve", password=PASSWORD, payload_hash=seen)
    assert r.status_code == 409 and "edited after you opened it" in r.content.decode()
    ChangeRequest.objects.filter(pk=change.pk).update(payload_hash=seen)
    # outside the window
    assert ui_step(c, change.pk, "approve", password=PASSWORD).status_code == 302
    start = (timezone.now() + timedelta(hours=2)).time().replace(second=0, microsecond=0)
    ChangeWindow.objects.create(cluster=sim_cluster, weekdays="mon,tue,wed,thu,fri,sat,sun", start_time=start,
                                end_time=(timezone.now() + timedelta(hours=3)).time().replace(second=0, microsecond=0))
    r = ui_step(c, change.pk, "apply", password=PASSWORD)
    assert r.status_code == 403 and "change windows" in r.content.decode()


def test_ui_the_list_filters_and_the_review_queue(ui, operator, approver):
    c = ui(approver)
    assert b"No change requests match" in c.get("/changes/").content
    ui(operator).post("/clusters/demo/changes/new/", {"kind": "traffic_shift", "namespace": "bookinfo",
                                                      "service": "reviews", "weight_v1": 100, "submit_now": "on"})
    c = ui(approver)
    page = c.get("/changes/?waiting=1").content.decode()
    assert "reviews" in page and "Waiting for your review" in page
    assert "No change requests match" in c.get("/changes/?status=applied").content.decode()
    assert 'title="1 waiting for your review"' in c.get("/changes/").content.decode()  # the sidebar's badge
    assert 'waiting for your review"' not in ui(operator).get("/changes/").content.decode()  # not their own


def test_ui_the_service_page_has_the_actions_menu(ui, operator):
    page = ui(operator).get("/clusters/demo/namespaces/bookinfo/services/reviews/").content.decode()
    assert "Actions" in page and "/clusters/demo/changes/new/?kind=traffic_shift" in page


def test_a_window_open_now_allows_the_apply(ap, submitted, sim_cluster, eager_tasks,
                                           django_capture_on_commit_callbacks):
    ChangeWindow.objects.create(cluster=sim_cluster, namespace_pattern="bookinfo",
                                weekdays="mon,tue,wed,thu,fri,sat,sun", start_time=clock_time(0, 0),
                                end_time=clock_time(23, 59, 59))
    post(ap, f"/api/changes/{submitted['id']}/approve/", {"password": PASSWORD})
    with django_capture_on_commit_callbacks(execute=True):
        assert post(ap, f"/api/changes/{submitted['id']}/apply/", {"password": PASSWORD}).status_code == 200
    assert ChangeRequest.objects.get(pk=submitted["id"]).status == "applied"


def test_ui_editing_a_change_voids_its_approvals(ui, operator, approver, approver2, sim_cluster):
    from apps.changes.models import ApprovalPolicy

    ApprovalPolicy.objects.create(cluster=sim_cluster, namespace="bookinfo", approvals_needed=2)
    c = ui(operator)
    c.post("/clusters/demo/changes/new/", {"kind": "traffic_shift", "namespace": "bookinfo", "service": "reviews",
                                           "weight_v1": 0, "weight_v2": 80, "weight_v3": 20, "submit_now": "on"})
    change = ChangeRequest.objects.get()
    assert ui_step(ui(approver), change.pk, "approve", password=PASSWORD).status_code == 302
    assert ChangeRequest.objects.get().valid_approvals().count() == 1
    c = ui(operator)
    page = c.get(f"/clusters/demo/changes/new/?edit={change.pk}").content.decode()
    assert "Edit #" in page and 'name="weight_v2" value="80"' in page
    r = c.post(f"/clusters/demo/changes/new/?edit={change.pk}", {"weight_v1": 0, "weight_v2": 50, "weight_v3": 50})
    assert r.status_code == 302, r.content[:2000]
    change.refresh_from_db()
    assert change.params["weights"] == {"v1": 0, "v2": 50, "v3": 50} and change.status == "submitted"
    assert change.valid_approvals().count() == 0
    assert len(events("change.edit", target_id=str(change.pk))) == 1
    # someone else cannot edit it
    r = ui(approver2).post(f"/clusters/demo/changes/new/?edit={change.pk}", {"weight_v1": 100})
    assert r.status_code == 403 and "Only the person who filed" in r.content.decode()


def test_ui_take_over_of_an_object_meshdeck_did_not_create(ui, operator, sim_cluster):
    sim_cluster.gateway().apply_istio_object({
        "apiVersion": "networking.istio.io/v1", "kind": "DestinationRule",
        "metadata": {"name": "reviews", "namespace": "bookinfo"},
        "spec": {"host": "reviews", "subsets": [{"name": "v1", "labels": {"version": "v1"}}]}})
    c = ui(operator)
    r = c.post("/clusters/demo/changes/new/", {"kind": "traffic_shift", "namespace": "bookinfo", "service": "reviews",
                                               "weight_v1": 100, "submit_now": "on"})
    assert r.status_code == 400 and "not created by Meshdeck" in r.content.decode()
    r = c.post("/clusters/demo/changes/new/", {"kind": "traffic_shift", "namespace": "bookinfo", "service": "reviews",
                                               "weight_v1": 100, "submit_now": "on", "take_over": "on"})
    assert r.status_code == 302
    assert ChangeRequest.objects.get().status == "submitted"
    page = c.get(r["Location"]).content.decode()
    assert "not Meshdeck&#x27;s: whole object shown" in page or "not Meshdeck's" in page
    # what the review binds to: the existing DestinationRule's resourceVersion, the new VirtualService
    rv = ChangeRequest.objects.get().bound_versions["DestinationRule/bookinfo/reviews"]
    assert rv and f"DestinationRule bookinfo/reviews</code> (bound to resourceVersion {rv})" in page
    assert "VirtualService bookinfo/reviews</code> (created by this change)" in page


def test_api_filed_and_submitted_at_once_leaves_nothing_when_it_cannot_be_submitted(op, sim_cluster):
    sim_cluster.gateway().apply_istio_object({
        "apiVersion": "networking.istio.io/v1", "kind": "DestinationRule",
        "metadata": {"name": "reviews", "namespace": "bookinfo"},
        "spec": {"host": "reviews", "subsets": [{"name": "v1", "labels": {"version": "v1"}}]}})
    body = error(create(op, {**SHIFT_80_20, "weights": {"v1": 100}}, submit=True), 400, "blocked")
    assert "not created by Meshdeck" in body["errors"]["non_field_errors"][0]
    assert not ChangeRequest.objects.exists() and events("change.create", outcome="denied")
    r = create(op, {**SHIFT_80_20, "weights": {"v1": 100}, "take_over": True}, submit=True)
    assert r.status_code == 201 and r.json()["status"] == "submitted", r.content
