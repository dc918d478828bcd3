"""Thin Celery wrappers over the change services.

``apply_change`` is acked late (a worker that dies mid-task leaves it to be redelivered) and
idempotent: it claims the change with a conditional UPDATE (approved -> applying), so a retried
or duplicated delivery, or a second worker, finds nothing to claim and does nothing. A change a
killed worker left ``applying`` is ended by ``recover_changes`` (periodic) or by its redelivery,
once the claim's lease has run out (``apps.changes.recovery``).
"""
from celery import shared_task

from .recovery import change_recover, changes_recover_stuck
from .services import change_execute, changes_expire_due


@shared_task(name="apps.changes.tasks.apply_change", acks_late=True)
def apply_change(change_id: int) -> str:
    result = change_execute(change_id)
    if result == "not-claimed":  # a redelivery after its worker died: end the change if its lease ran out
        recovered = change_recover(change_id)
        return result if recovered == "not-stuck" else f"recovered-{recovered}"
    return result


@shared_task(name="apps.changes.tasks.expire_changes")
def expire_changes() -> int:
    return changes_expire_due()


@shared_task(name="apps.changes.tasks.recover_changes")
def recover_changes() -> int:
    return changes_recover_stuck()
