"""The disk full while a snapshot is written: PostgreSQL itself answers ``could not extend file ...: No
space left on device`` (SQLSTATE 53100, raised by a trigger: this machine cannot fill a disk
safely) at the parts (the content-addressed blobs, written first) or at the snapshot's row.

The run does not crash the worker: it reports ``not stored`` with the reason, the schedule records
it (``last_status`` ``failed``, backing off), and nothing of that snapshot is left: neither its row nor
any of its parts (one transaction), so no orphan blobs either. The next run, the disk freed, stores
an ``ok`` snapshot.
"""
from __future__ import annotations

import time

import pytest

from apps.history.models import Snapshot, SnapshotPart, SnapshotSchedule
from apps.history.services import snapshot_take
from apps.history.tasks import snapshot_cluster
from tests.support.services import require_postgres

from .support import audit_chain_ok, failing_inserts

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]
FULL = 'could not extend file "base/16384/2619": No space left on device'


@pytest.mark.parametrize("table", ["history_snapshotpart", "history_snapshot"], ids=["parts", "row"])
def test_a_full_disk_while_storing_a_snapshot_leaves_nothing_and_the_next_run_stores_it(table, sim_cluster):
    require_postgres()
    now = time.time()
    with failing_inserts(table, "disk_full", FULL):
        assert snapshot_cluster(sim_cluster.pk).startswith("not stored:")  # the task: no crash, says why
        result = snapshot_take(sim_cluster, now=now - 3600)  # another bucket, by hand (no backoff)
    assert not result.created and result.snapshot is None
    assert result.skipped.startswith("not stored:") and "No space left on device" in result.skipped
    assert Snapshot.objects.count() == 0 and SnapshotPart.objects.count() == 0
    schedule = SnapshotSchedule.objects.get(cluster=sim_cluster)
    assert schedule.last_status == "failed" and "No space left on device" in schedule.last_reason
    assert schedule.failures == 2 and schedule.next_attempt_at is not None

    after = snapshot_take(sim_cluster, now=now, respect_backoff=False)
    assert after.created and after.snapshot.status == "ok"
    assert after.snapshot.inventory_id and after.snapshot.traffic_values_id
    schedule.refresh_from_db()
    assert schedule.failures == 0 and schedule.last_status == "ok"
    audit_chain_ok()
