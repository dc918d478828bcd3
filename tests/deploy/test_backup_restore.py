"""docs/operations.md's backup and restore, for real: pg_dump of a database holding an audit trail,
pg_restore into a new database, and the restored trail verifies and is still append-only."""
from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys

import psycopg
import pytest
from django.conf import settings
from django.core.management import call_command

from apps.accounts.roles import Role
from apps.accounts.services import grant_create, user_create
from apps.clusters.models import Cluster
from apps.clusters.services import cluster_create
from tests.deploy.conftest import ROOT
from tests.deploy.topology_support import scratch_database
from tests.support.services import require_postgres

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def _tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        message = f"{name} not found (Debian package postgresql-client)"
        if os.environ.get("CI"):
            pytest.fail(message, pytrace=False)
        pytest.skip(message)
    return path


def _url(name: str) -> str:
    db = settings.DATABASES["default"]
    auth = db["USER"] + (f":{db['PASSWORD']}" if db.get("PASSWORD") else "")
    return f"postgres://{auth}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{name}"


def test_a_restored_backup_keeps_an_intact_append_only_audit_trail(tmp_path):
    require_postgres()
    pg_dump, pg_restore = _tool("pg_dump"), _tool("pg_restore")
    cluster = cluster_create(name="prod", kind=Cluster.Kind.SIMULATED)
    alice = user_create(username="alice", password="a-long-passphrase-1", email="a@example.com")
    grant_create(cluster=cluster, role=Role.OPERATOR, namespace_pattern="team-*", user=alice)
    call_command("audit", "checkpoint")
    source = _url(settings.DATABASES["default"]["NAME"])
    dump = tmp_path / "meshdeck.dump"
    subprocess.run([pg_dump, "--format=custom", f"--file={dump}", source], check=True, timeout=120)

    with scratch_database(source, prefix="restored") as restored:
        subprocess.run([pg_restore, "--no-owner", f"--dbname={restored}", str(dump)], check=True, timeout=120)
        env = {**os.environ, "DATABASE_URL": restored}
        env.pop("DJANGO_SETTINGS_MODULE", None)
        manage = [sys.executable, "manage.py"]
        check = subprocess.run([*manage, "migrate", "--check"], cwd=ROOT, env=env, capture_output=True, text=True,
                               timeout=120, check=False)
        assert check.returncode == 0, check.stdout + check.stderr
        verify = subprocess.run([*manage, "audit", "verify"], cwd=ROOT, env=env, capture_output=True, text=True,
                                timeout=120, check=False)
        assert verify.returncode == 0 and "Audit chain intact" in verify.stdout, verify.stdout + verify.stderr
        assert re.search(r"[1-9]\d* checkpoints verified", verify.stdout), verify.stdout  # the signed one too
        with psycopg.connect(restored, autocommit=True) as conn:
            restored_actions = [row[0] for row in conn.execute("SELECT action FROM audit_auditevent ORDER BY seq")]
            assert {"cluster.create", "user.create", "grant.create"} <= set(restored_actions)
            for statement in ("DELETE FROM audit_auditevent", "UPDATE audit_auditevent SET message = 'x'",
                              "TRUNCATE audit_auditevent"):
                with pytest.raises(psycopg.Error):
                    conn.execute(statement)
