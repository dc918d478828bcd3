"""The database itself refuses to change or remove events: PostgreSQL and SQLite."""
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from django.db import DatabaseError, connection, transaction

from apps.audit.services import Target, audit_record, checkpoint_create

pytestmark = pytest.mark.django_db

ROOT = Path(__file__).resolve().parents[2]


def _refused(sql: str) -> str:
    with pytest.raises(DatabaseError) as info, transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(sql)
    return str(info.value)


@pytest.mark.postgres
def test_postgres_refuses_update_delete_truncate(pg):
    audit_record("cluster.update", target=Target(type="cluster", name="demo"))
    checkpoint_create()
    for sql in ("UPDATE audit_auditevent SET message = 'x'", "DELETE FROM audit_auditevent",
                "TRUNCATE audit_auditevent", "UPDATE audit_auditcheckpoint SET signature = 'x'",
                "DELETE FROM audit_auditcheckpoint", "TRUNCATE audit_auditcheckpoint"):
        assert "append-only" in _refused(sql), sql
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*), max(message) FROM audit_auditevent")
        assert cursor.fetchone() == (1, "")


def test_sqlite_triggers_refuse_edits_too(tmp_path):
    """The embedded default: migrate a real SQLite file, write an event, try to edit it."""
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "DJANGO_SETTINGS_MODULE")}
    env["MESHDECK_DATA_DIR"] = str(tmp_path)
    for args in (["migrate", "--noinput", "-v0"], ["audit", "checkpoint"]):
        result = subprocess.run([sys.executable, "manage.py", *args], cwd=ROOT, env=env, capture_output=True,
                                text=True, timeout=180)
        assert result.returncode == 0, result.stderr
    for expected in ("0 events", "1 events"):  # each run records an audit.verify event; the second checks it
        result = subprocess.run([sys.executable, "manage.py", "audit", "verify"], cwd=ROOT, env=env,
                                capture_output=True, text=True, timeout=120)
        assert result.returncode == 0 and expected in result.stdout, result.stdout + result.stderr
    db = sqlite3.connect(tmp_path / "meshdeck.sqlite3")
    try:
        assert db.execute("SELECT count(*) FROM audit_auditevent").fetchone() == (2,)
        for sql in ("UPDATE audit_auditevent SET message = 'x'", "DELETE FROM audit_auditevent",
                    "UPDATE audit_auditcheckpoint SET signature = 'x'", "DELETE FROM audit_auditcheckpoint"):
            with pytest.raises(sqlite3.DatabaseError, match="append-only"):
                db.execute(sql)
        assert db.execute("SELECT count(*) FROM audit_auditevent").fetchone() == (2,)
    finally:
        db.close()
