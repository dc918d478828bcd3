"""The contract between snapshot taking (apps.history) and live push (apps.live).

``snapshot_committed`` is sent AFTER the transaction that stored a snapshot commits
(``transaction.on_commit``), in the process that took it (usually a Celery worker).

Keyword arguments:
    cluster_id: int         the Cluster's primary key
    snapshot_id: int        the new snapshot's primary key
    previous_id: int | None the cluster's previous stored snapshot, if any
    taken_at: datetime      aware UTC time the snapshot describes
    status: str             "ok" | "partial" | "unreachable"
"""
from django.dispatch import Signal

snapshot_committed = Signal()
