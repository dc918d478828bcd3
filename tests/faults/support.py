"""What the fault tests share: a real Celery worker process, PostgreSQL-side holds, the invariants."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from contextlib import contextmanager
from pathlib import Path

import psycopg
from django.conf import settings
from django.db import connection

ROOT = Path(__file__).resolve().parents[2]
HOLD_KEY = 1313  # the advisory lock the triggers below wait for


def worker_database_url() -> str:
    db = settings.DATABASES["default"]
    return f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{connection.settings_dict['NAME']}"


def wait_for(what: str, check: Callable[[], object], timeout: float = 60, proc: subprocess.Popen | None = None):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = check()
        if found:
            return found
        if proc is not None and proc.poll() is not None:
            raise AssertionError(f"the worker exited ({proc.returncode}) while waiting for {what}:\n"
                                 + (proc.stdout.read() if proc.stdout else "")[-3000:])
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


class Worker:
    """``celery worker`` (solo pool) on a queue of its own, against the test database and Redis."""

    def __init__(self, queue: str, redis_url: str, **env: str):
        self.queue = queue
        self.env = {**os.environ, "DATABASE_URL": worker_database_url(), "REDIS_URL": redis_url,
                    "CELERY_QUEUE": queue, **env}
        self.log = Path(f"/tmp/meshdeck-faults-worker-{uuid.uuid4().hex[:8]}.log")
        self.proc: subprocess.Popen | None = None

    def start(self) -> Worker:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "portal", "worker", "-Q", self.queue, "--pool", "solo",
             "--concurrency", "1", "--without-heartbeat", "--without-gossip", "--without-mingle", "-l", "INFO"],
            cwd=ROOT, env=self.env, stdout=self.log.open("w"), stderr=subprocess.STDOUT)
        return self

    def output(self) -> str:
        return self.log.read_text(errors="replace")[-4000:] if self.log.exists() else ""

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def kill(self) -> None:
        assert self.proc is not None
        os.kill(self.proc.pid, signal.SIGKILL)
        self.proc.wait(timeout=30)

    def stop(self) -> None:
        if self.alive():
            assert self.proc is not None
            self.proc.terminate()
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=30)


@contextmanager
def running_worker(queue: str, redis_url: str, **env: str):
    worker = Worker(queue, redis_url, **env).start()
    try:
        yield worker
    finally:
        worker.stop()


def new_queue() -> str:
    return f"faults-{uuid.uuid4().hex[:8]}"


@contextmanager
def admin_connection():
    with psycopg.connect(worker_database_url(), autocommit=True) as conn:
        yield conn


@contextmanager
def held_at(trigger_sql: str, table: str):
    """A trigger on ``table`` whose function (``faults_hold``) waits for an advisory lock this block
    holds: the statement it fires on blocks (in whichever process runs it) until the block ends.
    ``trigger_sql`` is the body deciding when: ``IF <cond> THEN PERFORM pg_advisory_xact_lock(..)``.
    Yields the holding connection."""
    with admin_connection() as conn:
        conn.execute("SELECT pg_advisory_lock(%s)", [HOLD_KEY])
        conn.execute(f"""CREATE OR REPLACE FUNCTION faults_hold() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN {trigger_sql} RETURN NEW; END $$""")
        conn.execute(f"DROP TRIGGER IF EXISTS faults_hold ON {table}")
        conn.execute(f"CREATE TRIGGER faults_hold BEFORE INSERT OR UPDATE ON {table} "
                     "FOR EACH ROW EXECUTE FUNCTION faults_hold()")
        try:
            yield conn
        finally:  # released first: dropping the trigger waits for the statement it holds
            conn.execute("SELECT pg_advisory_unlock(%s)", [HOLD_KEY])
            conn.execute(f"DROP TRIGGER IF EXISTS faults_hold ON {table}")
            conn.execute("DROP FUNCTION IF EXISTS faults_hold()")


def held_backends(conn) -> list[int]:
    """Backends waiting for the hold's advisory lock."""
    rows = conn.execute("SELECT pid FROM pg_stat_activity WHERE wait_event_type = 'Lock' "
                        "AND wait_event = 'advisory' AND datname = current_database()").fetchall()
    return [r[0] for r in rows]


def terminate_backends(conn, pids: list[int]) -> None:
    """What PostgreSQL does once it notices a dead client: end its session, rolling back its transaction."""
    for pid in pids:
        conn.execute("SELECT pg_terminate_backend(%s)", [pid])
    wait_for("the dead worker's sessions to end", lambda: not conn.execute(
        "SELECT 1 FROM pg_stat_activity WHERE pid = ANY(%s)", [pids]).fetchall())


def audit_chain_ok() -> None:
    from apps.audit.verify import verify

    result = verify()
    assert result.ok, f"the audit chain does not verify: {result.problems}"


@contextmanager
def failing_inserts(table: str, sqlstate: str, message: str):
    """Every INSERT into ``table`` fails inside PostgreSQL with ``sqlstate`` (e.g. ``disk_full``) and
    ``message``, as the server itself would report it, until the block ends."""
    with admin_connection() as conn:
        conn.execute(f"""CREATE OR REPLACE FUNCTION faults_fail() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN RAISE EXCEPTION USING ERRCODE = '{sqlstate}', MESSAGE = '{message}'; END $$""")
        conn.execute(f"DROP TRIGGER IF EXISTS faults_fail ON {table}")
        conn.execute(f"CREATE TRIGGER faults_fail BEFORE INSERT ON {table} FOR EACH ROW EXECUTE FUNCTION faults_fail()")
        try:
            yield
        finally:
            conn.execute(f"DROP TRIGGER IF EXISTS faults_fail ON {table}")
            conn.execute("DROP FUNCTION IF EXISTS faults_fail()")


class LocalRedis:
    """A redis-server of the test's own on a free loopback port (never the machine's 6379), no persistence:
    killed (SIGKILL) and started again on the same port, it comes back empty, as after a crash."""

    def __init__(self) -> None:
        from tests.support.localservers import closed_port

        self.port = closed_port()
        self.proc: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> LocalRedis:
        import shutil

        import redis

        binary = shutil.which("redis-server")
        if binary is None:
            import pytest

            pytest.skip("needs redis-server")
        self.proc = subprocess.Popen([binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
                                      "--appendonly", "no"], stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
        client = redis.Redis.from_url(self.url, socket_connect_timeout=1)

        def up():
            try:
                return client.ping()
            except redis.RedisError:
                return False
        wait_for("redis-server to answer", up, timeout=20)
        client.close()
        return self

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=10)

    def restart(self) -> None:
        self.kill()
        self.start()
