"""Apply by two workers at once, on the real PostgreSQL: the conditional claim lets exactly one apply."""
from __future__ import annotations

import pytest

from apps.changes.models import ChangeRequest
from apps.changes.services import change_approve, change_create
from apps.changes.tasks import apply_change
from tests.support.concurrency import run_in_threads
from tests.support.services import require_postgres

from .flow_helpers import PASSWORD, SHIFT_80_20, events

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def test_two_workers_applying_the_same_change_apply_it_once(sim_cluster, operator, approver):
    require_postgres()
    change = change_create(cluster=sim_cluster, user=operator, data=dict(SHIFT_80_20), submit=True)
    change_approve(change=change, user=approver, password=PASSWORD)
    results = run_in_threads(lambda _: apply_change(change.pk), 2)  # the task body, as two workers run it
    assert sorted(results) == ["applied", "not-claimed"]
    assert ChangeRequest.objects.get(pk=change.pk).status == "applied"
    assert len(events("change.applied", target_id=str(change.pk))) == 1
    # the simulated cluster saw one write per object, not two
    from apps.simulator.models import SimulatedMeshEvent

    assert SimulatedMeshEvent.objects.filter(state__cluster=sim_cluster).count() == 2
    # a redelivered task (acks_late) finds nothing to do
    assert apply_change(change.pk) == "not-claimed"
    assert apply_change.acks_late is True
