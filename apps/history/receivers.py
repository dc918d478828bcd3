"""A new or renamed cluster gets its snapshot schedule (PeriodicTask) at once; a deleted one loses it."""
from __future__ import annotations

from django.db import transaction
from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver

from apps.clusters.models import Cluster


@receiver(post_save, sender=Cluster, dispatch_uid="history-schedule-on-cluster-save")
def _cluster_saved(sender, instance: Cluster, raw=False, **kwargs):
    if raw:
        return
    cluster_id = instance.pk
    transaction.on_commit(lambda: _sync(cluster_id))


def _sync(cluster_id: int) -> None:
    from .services import snapshot_schedule_sync

    cluster = Cluster.objects.filter(pk=cluster_id).first()
    if cluster is not None:  # (deleted meanwhile); a rename renames its PeriodicTask
        snapshot_schedule_sync(cluster)


@receiver(post_delete, sender=Cluster, dispatch_uid="history-schedule-on-cluster-delete")
def _cluster_deleted(sender, instance: Cluster, **kwargs):
    from django_celery_beat.models import PeriodicTask

    PeriodicTask.objects.filter(task="apps.history.tasks.snapshot_cluster", args=f"[{instance.pk}]").delete()
