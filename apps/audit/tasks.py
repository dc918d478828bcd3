"""Thin Celery wrappers over audit services."""
from celery import shared_task

from .services import checkpoint_if_due


@shared_task(name="apps.audit.tasks.audit_checkpoint_periodic")
def audit_checkpoint_periodic() -> int | None:
    """Signs a checkpoint when events arrived since the last one (every M minutes)."""
    checkpoint = checkpoint_if_due()
    return checkpoint.seq if checkpoint else None
