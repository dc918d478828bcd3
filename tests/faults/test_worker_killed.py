"""A Celery worker SIGKILLed while applying a change: a new worker ends the change, nothing lost.

Real processes over real connections: ``celery worker`` against the Redis broker and the test
PostgreSQL database, on the simulated cluster (whose state is the database, so this process reads
what the worker wrote). The worker is held at one point of the apply by a trigger waiting for an
advisory lock the test holds, killed there with SIGKILL, and its PostgreSQL session ended (what the
server does once it notices the client is gone). A second worker, with a one-second lease, runs the
periodic recovery. Each case ends with: the change ended (not ``applying``), exactly one event
saying how, no ``change.applied`` from the dead worker, the cluster showing either every write once
or none at all, the change's locks released, the second worker still running, the audit chain
verifying.
"""
from __future__ import annotations

import time

import pytest
from django.utils import timezone

from apps.changes.models import ChangeLock, ChangeRequest
from apps.changes.services import change_approve, change_create
from apps.changes.tasks import apply_change, recover_changes
from apps.clusters.gateways import gateway_for
from apps.simulator.models import SimulatedMeshEvent
from tests.changes.flow_helpers import PASSWORD, SHIFT_80_20, events
from tests.support.services import require_postgres, require_redis

from .support import audit_chain_ok, held_at, held_backends, new_queue, running_worker, terminate_backends, wait_for

pytestmark = [pytest.mark.postgres, pytest.mark.redis, pytest.mark.django_db(transaction=True)]

EVENTS = "simulator_simulatedmeshevent"


def _mesh_events(cluster) -> int:
    return SimulatedMeshEvent.objects.filter(state__cluster=cluster).count()


def _targets_state(cluster, change) -> dict:
    """The spec of every object the change writes, as the cluster shows it (None: absent)."""
    inventory = gateway_for(cluster).inventory()
    found = {(o.kind, o.namespace, o.name): o.spec for o in inventory.istio_objects}
    return {tuple(t): found.get(tuple(t)) for t in change.target_list()}


# where the worker is killed -> (the trigger holding it there, on which table; expected outcome)
CASES = {
    "before its first write": (EVENTS, "IF TG_OP = 'INSERT' AND (SELECT count(*) FROM {events} "
                                       "WHERE state_id = NEW.state_id) >= {base} THEN {hold} END IF;",
                               "failed", "nothing_written"),
    "after its first write": (EVENTS, "IF TG_OP = 'INSERT' AND (SELECT count(*) FROM {events} "
                                      "WHERE state_id = NEW.state_id) >= {base} + 1 THEN {hold} END IF;",
                              "failed", "restored"),
    "after its last write": ("changes_changerequest", "IF NEW.status = 'applied' THEN {hold} END IF;",
                             "applied", "applied"),
}


@pytest.mark.parametrize("where", list(CASES))
def test_worker_killed_during_apply_the_change_is_recovered_with_nothing_lost(where, sim_cluster, operator,
                                                                              approver):
    require_postgres()
    redis_url = require_redis()
    table, condition, want_status, want_recovered = CASES[where]
    change = change_create(cluster=sim_cluster, user=operator, data=dict(SHIFT_80_20), submit=True)
    change = change_approve(change=change, user=approver, password=PASSWORD)
    assert change.status == "approved"
    writes = change.payload["writes"]
    assert len(writes) == 2  # a DestinationRule and a VirtualService: "half-applied" is possible
    before, base = _targets_state(sim_cluster, change), _mesh_events(sim_cluster)
    queue = new_queue()
    trigger = condition.format(events=EVENTS, base=base, hold="PERFORM pg_advisory_xact_lock(1313);")

    with held_at(trigger, table) as hold, running_worker(queue, redis_url) as first:
        apply_change.apply_async(args=[change.pk], queue=queue)
        stuck = wait_for("the worker to reach the held write", lambda: held_backends(hold), proc=first.proc)
        assert ChangeRequest.objects.get(pk=change.pk).status == "applying"
        first.kill()
        terminate_backends(hold, stuck)
    assert ChangeRequest.objects.get(pk=change.pk).status == "applying"  # what nothing else would ever end

    with running_worker(queue, redis_url, MESHDECK_APPLY_LEASE_SECONDS="1") as second:
        claimed = ChangeRequest.objects.get(pk=change.pk).claimed_at
        wait_for("the lease to run out", lambda: (timezone.now() - claimed).total_seconds() > 1.5)
        recover_changes.apply_async(queue=queue)  # what beat sends every minute
        wait_for("the recovery", lambda: ChangeRequest.objects.get(pk=change.pk).status != "applying",
                 proc=second.proc)
        time.sleep(0.2)
        assert second.alive(), second.output()

    change.refresh_from_db()
    assert change.status == want_status, change.error_message
    recovered = events("change.recovered", target_id=str(change.pk))
    assert len(recovered) == 1
    assert recovered[0].after["recovered"] == want_recovered
    assert recovered[0].actor_username == "task:recover_changes"
    assert events("change.applied", target_id=str(change.pk)) == []  # the dead worker's never committed
    assert "stopped before it finished" in change.error_message
    after = _targets_state(sim_cluster, change)
    if want_status == "applied":
        # every write once, none twice; the prior states a rollback needs are kept
        assert _mesh_events(sim_cluster) == base + len(writes)
        for w in writes:
            meta = w["manifest"]["metadata"]
            assert after[(w["manifest"]["kind"], meta["namespace"], meta["name"])] == w["manifest"]["spec"]
        assert len(change.prior_states) == len(writes)
    else:
        assert after == before  # nothing of it left on the cluster
        if want_recovered == "restored":
            assert "were restored" in change.error_message
            assert _mesh_events(sim_cluster) == base + 2  # the first write, and its undo
        else:
            assert "nothing was changed" in change.error_message
            assert _mesh_events(sim_cluster) == base
    assert not ChangeLock.objects.filter(change=change).exists()  # its objects can be changed again
    audit_chain_ok()
