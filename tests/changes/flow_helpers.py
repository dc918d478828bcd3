"""Helpers of the change-flow tests: eager Celery, people, and one reviewed change."""
from __future__ import annotations

import pytest

from tests.conftest import PASSWORD

SHIFT_80_20 = {"kind": "traffic_shift", "namespace": "bookinfo", "service": "reviews",
               "weights": {"v1": 0, "v2": 80, "v3": 20}}


@pytest.fixture
def eager_tasks():
    """Tasks run in-process, as in the embedded default (the same task code a worker runs)."""
    from portal.celery import app

    old = app.conf.task_always_eager, app.conf.task_eager_propagates
    app.conf.task_always_eager, app.conf.task_eager_propagates = True, True
    yield
    app.conf.task_always_eager, app.conf.task_eager_propagates = old


@pytest.fixture
def approver2(make_user, sim_cluster):
    from apps.accounts.roles import Role

    return make_user("approver2", cluster=sim_cluster, role=Role.APPROVER)


def events(action: str, **filters):
    from apps.audit.models import AuditEvent

    return list(AuditEvent.objects.filter(action=action, **filters).order_by("seq"))


__all__ = ["PASSWORD", "SHIFT_80_20", "approver2", "eager_tasks", "events"]
