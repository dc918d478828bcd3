"""Apply by two workers at once, on the real PostgreSQL: the conditional claim lets exactly one apply."""
from __future__ import annotations

import threading

import pytest
from django.db import connections

from apps.changes.models import ChangeRequest
from apps.changes.services import change_approve, change_create
from apps.changes.tasks import apply_change
from tests.support.services import require_postgres

from .flow_helpers import PASSWORD, SHIFT_80_20, events

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def test_two_workers_applying_the_same_change_apply_it_once(sim_cluster, operator, approver):
    require_postgres()
    change = change_create(cluster=sim_cluster, user=operator, data=dict(SHIFT_80_20), submit=True)
    change_approve(change=change, user=approver, password=PASSWORD)
    start = threading.Barrier(2)
    results: list[str] = []

    def worker():
        try:
            start.wait(timeout=30)
            results.append(apply_change(change.pk))  # the task body, as a worker runs it
        finally:
            connections.close_all()

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert sorted(results) == ["applied", "not-claimed"]
    assert ChangeRequest.objects.get(pk=change.pk).status == "applied"
    assert len(events("change.applied", target_id=str(change.pk))) == 1
    # the simulated cluster saw one write per object, not two
    from apps.simulator.models import SimulatedMeshEvent

    assert SimulatedMeshEvent.objects.filter(state__cluster=sim_cluster).count() == 2
    # a redelivered task (acks_late) finds nothing to do
    assert apply_change(change.pk) == "not-claimed"
    assert apply_change.acks_late is True
