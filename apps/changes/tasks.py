"""Thin Celery wrappers over the change services.

``apply_change`` is acked late (a worker that dies mid-task leaves it to be redelivered) and
idempotent: it claims the change with a conditional UPDATE (approved -> applying), so a retried
or duplicated delivery, or a second worker, finds nothing to claim and does nothing.
"""
from celery import shared_task

from .services import change_execute, changes_expire_due


@shared_task(name="apps.changes.tasks.apply_change", acks_late=True)
def apply_change(change_id: int) -> str:
    return change_execute(change_id)


@shared_task(name="apps.changes.tasks.expire_changes")
def expire_changes() -> int:
    return changes_expire_due()
