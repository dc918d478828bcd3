"""Thin Celery wrappers over the history services.

``snapshot_cluster`` is what each cluster's PeriodicTask (django-celery-beat) sends, on the
cluster's queue; it acknowledges late (a worker that dies mid-snapshot leaves it to be
redelivered; the bucket's unique constraint keeps a redelivery from storing it twice) and
never raises: a cluster that cannot be read is a recorded status, anything else is logged.
``snapshots_due`` is the embedded default's way in (the in-process scheduler has no
database schedule): every tick, each enabled cluster whose current bucket has no snapshot.
"""
from __future__ import annotations

import logging
import time

from celery import shared_task

from apps.clusters.models import Cluster

from . import services
from .models import Snapshot

log = logging.getLogger(__name__)


@shared_task(name="apps.history.tasks.snapshot_cluster", acks_late=True, ignore_result=True)
def snapshot_cluster(cluster_id: int) -> str:
    cluster = Cluster.objects.filter(pk=cluster_id).first()
    if cluster is None:
        return "no such cluster"
    try:
        result = services.snapshot_take(cluster, respect_backoff=True)
    except Exception:  # never kill the worker; the next run tries again
        log.exception("snapshot of cluster %s failed", cluster.name)
        return "failed"
    snap = result.snapshot
    return f"#{snap.pk} {snap.status}" if result.created and snap is not None else result.skipped


@shared_task(name="apps.history.tasks.snapshots_due", ignore_result=True)
def snapshots_due() -> int:
    now = time.time()
    sent = 0
    for cluster in Cluster.objects.select_related("snapshot_schedule"):
        schedule = getattr(cluster, "snapshot_schedule", None)
        if schedule is not None and not schedule.enabled:
            continue
        bucket = services.bucket_of(now, services.interval_of(schedule))
        if not Snapshot.objects.filter(cluster=cluster, bucket=bucket).exists():
            snapshot_cluster.delay(cluster.pk)
            sent += 1
    return sent


@shared_task(name="apps.history.tasks.snapshots_prune", ignore_result=True)
def snapshots_prune() -> dict:
    return services.snapshots_prune()


@shared_task(name="apps.history.tasks.snapshot_schedules_sync", ignore_result=True)
def snapshot_schedules_sync() -> int:
    return services.snapshot_schedules_sync()
