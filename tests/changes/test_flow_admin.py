"""Admin pages of the change flow: every model has one; writes there go through the services (audited)."""
from __future__ import annotations

import pytest

from apps.changes.models import ApprovalPolicy, ChangeWindow
from apps.changes.services import change_create

from .flow_helpers import SHIFT_80_20, events

pytestmark = pytest.mark.django_db


def test_every_model_has_an_admin_page(client, superuser, sim_cluster, operator):
    change_create(cluster=sim_cluster, user=operator, data=dict(SHIFT_80_20), submit=True)
    client.force_login(superuser)
    for model in ("changerequest", "approval", "changelock", "changewindow", "approvalpolicy"):
        r = client.get(f"/admin/changes/{model}/")
        assert r.status_code == 200, model


def test_a_change_window_saved_in_the_admin_is_audited(client, superuser, sim_cluster):
    client.force_login(superuser)
    r = client.post("/admin/changes/changewindow/add/", {
        "cluster": sim_cluster.pk, "namespace_pattern": "book*", "weekdays": "mon,tue", "start_time": "09:00",
        "end_time": "17:00", "timezone": "Europe/Berlin"})
    assert r.status_code == 302, r.content[:1000]
    window = ChangeWindow.objects.get()
    assert window.describe() == "mon,tue 09:00-17:00 (Europe/Berlin)"
    assert events("cluster.update", target_type="change_window")
    r = client.post("/admin/changes/changewindow/add/", {
        "cluster": sim_cluster.pk, "weekdays": "monday", "start_time": "09:00", "end_time": "17:00",
        "timezone": "Mars/Olympus"})
    assert r.status_code == 200
    assert b"Weekdays are a comma-separated list" in r.content and b"Unknown time zone" in r.content


def test_approvals_needed_saved_in_the_admin_is_audited(client, superuser, sim_cluster):
    client.force_login(superuser)
    r = client.post("/admin/changes/approvalpolicy/add/", {"cluster": sim_cluster.pk, "namespace": "bookinfo",
                                                           "approvals_needed": 2})
    assert r.status_code == 302 and ApprovalPolicy.objects.get().approvals_needed == 2
    assert events("cluster.update", target_type="approval_policy")
