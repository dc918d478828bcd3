"""The schedule lives in the database (django-celery-beat) and follows each cluster's settings;
retention keeps every snapshot for a day, one an hour for a month, one a day for a year."""
from __future__ import annotations

import datetime as dt
import time

import pytest
from django.test import override_settings

from apps.audit.models import AuditEvent
from apps.history.models import Snapshot, SnapshotPart
from apps.history.services import (
    keep_ids,
    snapshot_schedule_sync,
    snapshot_schedule_update,
    snapshot_schedules_sync,
    snapshot_take,
    snapshots_prune,
)

pytestmark = pytest.mark.django_db


def periodic(cluster):
    from django_celery_beat.models import PeriodicTask

    return PeriodicTask.objects.get(task="apps.history.tasks.snapshot_cluster", args=f"[{cluster.pk}]")


@override_settings(MESHDECK_SNAPSHOT_INTERVAL=10)
def test_every_cluster_gets_a_periodic_task_at_the_default_interval(sim_cluster):
    snapshot_schedules_sync()
    task = periodic(sim_cluster)
    assert task.interval.every == 10 and task.interval.period == "seconds" and task.enabled
    assert task.queue is None  # the default queue unless MESHDECK_SNAPSHOT_QUEUE or the cluster says otherwise


def test_a_clusters_own_interval_queue_and_off_switch_reach_its_periodic_task_and_the_audit(sim_cluster, superuser):
    from apps.audit.actor import Actor

    snapshot_schedule_sync(sim_cluster)
    snapshot_schedule_update(cluster=sim_cluster, interval_seconds=30, queue="snapshots-slow", enabled=False,
                             actor=Actor.for_user(superuser))
    task = periodic(sim_cluster)
    assert (task.interval.every, task.queue, task.enabled) == (30, "snapshots-slow", False)
    event = AuditEvent.objects.get(action="snapshot.schedule_update")
    assert event.after["interval_seconds"] == 30 and event.before["interval_seconds"] is None
    assert snapshot_take(sim_cluster, respect_backoff=True).skipped == "disabled"


def test_a_bad_interval_is_refused_and_nothing_changes(sim_cluster):
    from apps.history.services import SnapshotInputError

    with pytest.raises(SnapshotInputError):
        snapshot_schedule_update(cluster=sim_cluster, interval_seconds=0)
    assert not AuditEvent.objects.filter(action="snapshot.schedule_update").exists()


def test_a_deleted_cluster_loses_its_periodic_task(sim_cluster):
    from django_celery_beat.models import PeriodicTask

    snapshot_schedule_sync(sim_cluster)
    sim_cluster.delete()
    assert not PeriodicTask.objects.filter(task="apps.history.tasks.snapshot_cluster").exists()


H, D = 3600, 86400


def test_keep_ids_downsamples_by_age():
    now = 400 * D
    rows = [(1, now - 10), (2, now - 70),  # younger than a day: both kept
            (3, now - 2 * D - 10), (4, now - 2 * D - 20),  # same hour, 2 days old: one kept
            (5, now - 40 * D - 100), (6, now - 40 * D - 5 * H),  # same day, 40 days old: one kept
            (7, now - 400 * D)]  # older than a year: gone
    kept = keep_ids(rows, now, [(24 * H, H), (30 * D, D)], 365 * D)
    assert {1, 2} <= kept and len(kept & {3, 4}) == 1 and len(kept & {5, 6}) == 1 and 7 not in kept
    assert len(kept) == 4


def test_prune_applies_retention_and_drops_parts_nothing_uses(take, sim_cluster):
    now = time.time()
    from apps.history import codec

    # a key frame and rates stored against it, used by no snapshot: both go
    frame = codec.pack_floats([1.0, 2.0], bits=20)
    delta = codec.pack_floats([1.0, 2.5], bits=20, base=codec.quantize([1.0, 2.0], 20))
    base = SnapshotPart.objects.create(sha256=frame.sha256, kind="traffic_values", encoding=frame.encoding,
                                       data=frame.data, raw_size=16, stored_size=len(frame.data))
    SnapshotPart.objects.create(sha256=delta.sha256, kind="traffic_values", encoding=delta.encoding,
                                data=delta.data, raw_size=16, stored_size=len(delta.data), base=base)
    for age in (10, 100, 2 * D, 2 * D + 60, 400 * D):
        take(at=now - age)
    assert Snapshot.objects.count() == 5
    counts = snapshots_prune(now=now + 3600)
    assert counts["snapshots"] == 1 + (1 if (now - 2 * D) // 3600 == (now - 2 * D - 60) // 3600 else 0)
    assert not Snapshot.objects.filter(taken_at__lt=dt.datetime.fromtimestamp(now - 365 * D, dt.UTC))
    used = set()
    for s in Snapshot.objects.all():
        used |= {s.inventory_id, s.config_id, s.findings_id, s.traffic_shape_id, s.traffic_values_id}
    assert set(SnapshotPart.objects.values_list("sha256", flat=True)) == used


def test_the_embedded_default_snapshots_each_cluster_once_per_bucket(sim_cluster, settings):
    """The in-process scheduler's task (eager, as in the embedded default): a snapshot when the bucket
    has none, else nothing."""
    from celery import current_app

    from apps.core.scheduler import load_tasks
    from apps.history.tasks import snapshots_due

    settings.MESHDECK_SNAPSHOT_INTERVAL = 3600
    eager = current_app.conf.task_always_eager
    current_app.conf.task_always_eager = True
    try:
        assert snapshots_due() == 1
        assert snapshots_due() == 0
    finally:
        current_app.conf.task_always_eager = eager
    assert Snapshot.objects.filter(cluster=sim_cluster).count() == 1
    schedule = {"history-snapshots-due": {"task": "apps.history.tasks.snapshots_due", "schedule": 5}}
    assert load_tasks(schedule)["history-snapshots-due"].name == "apps.history.tasks.snapshots_due"
