"""Thin Celery wrappers over cluster services."""
from celery import shared_task

from .models import Cluster
from .services import cluster_test_connection


@shared_task(name="apps.clusters.tasks.cluster_check_connection")
def cluster_check_connection(cluster_id: int) -> bool | None:
    cluster = Cluster.objects.filter(pk=cluster_id).first()
    if cluster is None:
        return None
    return cluster_test_connection(cluster)["ok"]


@shared_task(name="apps.clusters.tasks.clusters_check_all")
def clusters_check_all() -> int:
    ids = list(Cluster.objects.values_list("pk", flat=True))
    for pk in ids:
        cluster_check_connection.delay(pk)
    return len(ids)
