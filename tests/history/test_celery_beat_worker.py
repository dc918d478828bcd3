"""A real Celery beat (the database schedule) and worker, through Redis, store snapshots in PostgreSQL.

One cluster every 2 s (its own interval), one with a 1 h interval whose task we send by hand four
times at once (a redelivered or duplicated task: nothing stored twice), and one whose API server is
down (an unreachable record; the worker lives on and the others keep coming).
"""
from __future__ import annotations

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
from apps.history.models import Snapshot
from apps.history.services import snapshot_schedule_update
from apps.history.tasks import snapshot_cluster
from tests.support.localservers import closed_port
from tests.support.processes import terminate
from tests.support.services import require_postgres, require_redis

ROOT = Path(__file__).resolve().parents[2]


def start(args, env, log: Path):
    out = open(log, "w")
    return subprocess.Popen([sys.executable, "-m", "celery", "-A", "portal", *args], cwd=ROOT, env=env,
                            stdout=out, stderr=subprocess.STDOUT)


stop = terminate


@pytest.mark.postgres
@pytest.mark.redis
@pytest.mark.django_db(transaction=True)
def test_beat_and_worker_store_snapshots_once_per_bucket(tmp_path):
    require_postgres()
    redis_url = require_redis()
    assert not settings.CELERY_TASK_ALWAYS_EAGER
    fast = Cluster.objects.create(name="beat-fast", kind=Cluster.Kind.SIMULATED, simulator_topology="bookinfo")
    slow = Cluster.objects.create(name="beat-hourly", kind=Cluster.Kind.SIMULATED, simulator_topology="bookinfo")
    down = Cluster.objects.create(name="beat-down", kind=Cluster.Kind.KUBERNETES,
                                  api_server_url=f"https://127.0.0.1:{closed_port()}")
    down.credentials = {"token": "x", "insecure_skip_tls_verify": True}
    down.save()
    snapshot_schedule_update(cluster=fast, interval_seconds=2)
    snapshot_schedule_update(cluster=slow, interval_seconds=3600)
    snapshot_schedule_update(cluster=down, interval_seconds=2)

    queue = f"history-test-{uuid.uuid4().hex[:8]}"
    db = settings.DATABASES["default"]
    env = {**os.environ, "REDIS_URL": redis_url, "CELERY_QUEUE": queue,
           "DATABASE_URL": f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{connection.settings_dict['NAME']}"}
    worker = start(["worker", "-Q", queue, "--pool", "threads", "--concurrency", "3", "--without-heartbeat",
                    "--without-gossip", "--without-mingle", "-l", "INFO"], env, tmp_path / "worker.log")
    beat = start(["beat", "-l", "INFO", "--pidfile=", "-s", str(tmp_path / "beat-schedule")], env,
                 tmp_path / "beat.log")
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            if (Snapshot.objects.filter(cluster=fast, status="ok").count() >= 3
                    and Snapshot.objects.filter(cluster=down).exists()):
                break
            assert worker.poll() is None and beat.poll() is None, "a Celery process exited"
            time.sleep(0.5)
        # (beat first sends an hourly task an hour after it appears): the same task four times at
        # once, as two schedulers, a duplicate or a redelivery would
        for _ in range(4):
            snapshot_cluster.apply_async(args=[slow.pk], queue=queue)
        time.sleep(4)
        ok_before = Snapshot.objects.filter(cluster=fast, status="ok").count()
        time.sleep(4)
        assert worker.poll() is None, "the worker died"
        ok_after = Snapshot.objects.filter(cluster=fast, status="ok").count()
    finally:
        stop(beat)
        stop(worker)
    logs = (tmp_path / "worker.log").read_text()[-4000:] + (tmp_path / "beat.log").read_text()[-2000:]
    assert Snapshot.objects.filter(cluster=fast, status="ok").count() >= 3, logs
    assert ok_after > ok_before, "snapshots stopped coming while a cluster was down:\n" + logs
    assert Snapshot.objects.filter(cluster=slow).count() == 1, logs  # one bucket, one snapshot
    downs = list(Snapshot.objects.filter(cluster=down))
    assert downs and all(s.status == "unreachable" and s.reason.startswith("API server:") for s in downs)
    # backing off: fewer attempts on the dead cluster than buckets went by
    assert len(downs) < Snapshot.objects.filter(cluster=fast).count()
    buckets = list(Snapshot.objects.filter(cluster=fast).values_list("bucket", flat=True))
    assert len(buckets) == len(set(buckets))
