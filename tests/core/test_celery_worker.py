"""A real Celery worker consumes a task through Redis and writes to PostgreSQL."""
import os
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection

from apps.clusters.models import Cluster
from apps.clusters.tasks import cluster_check_connection
from tests.support.services import require_postgres, require_redis

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.postgres
@pytest.mark.redis
@pytest.mark.django_db(transaction=True)
def test_worker_consumes_through_redis_and_writes_to_postgres():
    require_postgres()
    redis_url = require_redis()
    assert not settings.CELERY_TASK_ALWAYS_EAGER, "with REDIS_URL set, tasks must go through the broker"
    cluster = Cluster.objects.create(name="celery-demo", kind=Cluster.Kind.SIMULATED, simulator_topology="bookinfo")
    queue = f"test-{uuid.uuid4().hex[:8]}"
    db = settings.DATABASES["default"]
    test_db_url = f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{connection.settings_dict['NAME']}"
    env = {**os.environ, "DATABASE_URL": test_db_url, "REDIS_URL": redis_url, "CELERY_QUEUE": queue}
    worker = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "portal", "worker", "-Q", queue, "--pool", "solo",
         "--concurrency", "1", "--without-heartbeat", "--without-gossip", "--without-mingle", "-l", "INFO"],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )
    try:
        cluster_check_connection.apply_async(args=[cluster.pk], queue=queue)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            cluster.refresh_from_db()
            if cluster.last_checked_at is not None:
                break
            if worker.poll() is not None:
                break
            time.sleep(0.3)
    finally:
        worker.terminate()
        output = worker.communicate(timeout=30)[0]
    assert cluster.last_checked_at is not None, "the worker never wrote the result:\n" + output[-3000:]
    assert cluster.last_check_ok is True
    assert "apps.clusters.tasks.cluster_check_connection" in output  # the worker logged receiving it
