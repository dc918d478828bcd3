"""The lease of a claimed apply, in-process (the task bodies as a worker runs them): a redelivered
``apply_change`` ends a change whose lease ran out, leaves one within its lease alone, and a worker
that lost its claim cannot end the change afterwards."""
from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from apps.changes.models import ChangeRequest
from apps.changes.services import _finish, change_approve, change_claim, change_create
from apps.changes.tasks import apply_change
from tests.changes.flow_helpers import PASSWORD, SHIFT_80_20, events

pytestmark = pytest.mark.django_db


@pytest.fixture
def claimed(sim_cluster, operator, approver):
    """An approved change a worker claimed and then lost (nothing written), claimed ``age`` ago."""
    change = change_create(cluster=sim_cluster, user=operator, data=dict(SHIFT_80_20), submit=True)
    change_approve(change=change, user=approver, password=PASSWORD)
    assert change_claim(change.pk)

    def aged(seconds: float) -> ChangeRequest:
        ChangeRequest.objects.filter(pk=change.pk).update(claimed_at=timezone.now() - timedelta(seconds=seconds))
        return ChangeRequest.objects.get(pk=change.pk)
    return aged


def test_a_redelivered_apply_within_the_lease_does_nothing(claimed, settings):
    settings.MESHDECK_APPLY_LEASE_SECONDS = 600
    change = claimed(5)
    assert apply_change(change.pk) == "not-claimed"
    assert ChangeRequest.objects.get(pk=change.pk).status == "applying"
    assert events("change.recovered") == []


def test_a_redelivered_apply_after_the_lease_ends_the_change(claimed, settings):
    settings.MESHDECK_APPLY_LEASE_SECONDS = 600
    change = claimed(601)
    assert apply_change(change.pk) == "recovered-failed"
    change.refresh_from_db()
    assert change.status == "failed" and "nothing was changed" in change.error_message
    assert [e.after["recovered"] for e in events("change.recovered", target_id=str(change.pk))] == ["nothing_written"]
    assert apply_change(change.pk) == "not-claimed"  # and only once


def test_a_worker_that_lost_its_claim_cannot_end_the_change(claimed, settings):
    settings.MESHDECK_APPLY_LEASE_SECONDS = 600
    lost_claim = claimed(601).claimed_at
    apply_change(ChangeRequest.objects.get().pk)  # recovered: failed, nothing written
    change = _finish(ChangeRequest.objects.get().pk, "applied", "change.applied", claim=lost_claim)
    assert change.status == "failed"
    assert events("change.applied", target_id=str(change.pk)) == []
