"""Redis (the cache holding the snapshot lock) killed during a snapshot run, or down for the whole
run, then started again empty: the snapshot is stored all the same (PostgreSQL holds it; the
bucket's unique constraint is the guarantee the lock only speeds up), the run does not raise, and
the next run, with Redis back, takes its lock and stores the next snapshot.

A redis-server of the test's own, on a free port: the machine's Redis is never touched.
"""
from __future__ import annotations

import threading
import time

import pytest
from django.core.cache import cache
from django.db import connection

from apps.history.models import Snapshot
from apps.history.services import snapshot_take
from tests.support.services import require_postgres

from .support import LocalRedis, audit_chain_ok, held_at, held_backends, wait_for

pytestmark = [pytest.mark.postgres, pytest.mark.redis, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def own_redis(settings):
    server = LocalRedis().start()
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache",
                                   "LOCATION": server.url, "OPTIONS": {"socket_connect_timeout": 1}}}
    yield server
    server.kill()


def test_redis_killed_mid_run_the_snapshot_is_stored_and_the_next_run_is_normal(own_redis, sim_cluster):
    require_postgres()
    now = time.time()
    results: list = []

    def run():
        try:
            results.append(snapshot_take(sim_cluster, now=now - 60))
        except BaseException as exc:  # noqa: BLE001 - the test reports what the run raised
            results.append(exc)
        finally:
            connection.close()

    with held_at("IF TG_OP = 'INSERT' THEN PERFORM pg_advisory_xact_lock(1313); END IF;", "history_snapshotpart") as h:
        worker = threading.Thread(target=run)
        worker.start()
        wait_for("the run to be storing", lambda: held_backends(h))
        own_redis.kill()  # the lock it took is gone with Redis
    worker.join(timeout=60)
    assert not isinstance(results[0], BaseException), results[0]
    assert results[0].created and results[0].snapshot.status == "ok"

    own_redis.start()  # back, empty
    after = snapshot_take(sim_cluster, now=now)
    assert after.created and after.snapshot.status == "ok"
    assert Snapshot.objects.filter(cluster=sim_cluster).count() == 2
    assert cache.add("faults-probe", "1", 10)  # the cache works again
    audit_chain_ok()


def test_redis_down_for_a_whole_run_the_snapshot_is_stored_once(own_redis, sim_cluster):
    require_postgres()
    own_redis.kill()
    now = time.time()
    first = snapshot_take(sim_cluster, now=now - 60)
    assert first.created and first.snapshot.status == "ok"
    again = snapshot_take(sim_cluster, now=now - 59)  # the same bucket: the constraint, not the lock
    assert not again.created and again.skipped == "exists"
    own_redis.start()
    assert snapshot_take(sim_cluster, now=now).created
    assert Snapshot.objects.filter(cluster=sim_cluster).count() == 2
