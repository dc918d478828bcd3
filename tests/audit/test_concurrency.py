"""Eight writer processes at once: one gapless chain, no fork."""
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from django.conf import settings
from django.core.management import call_command

from apps.audit.models import AuditEvent
from apps.audit.verify import verify

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("pg")]

ROOT = Path(__file__).resolve().parents[2]
WRITERS, EACH = 8, 25

WRITER = textwrap.dedent("""
    import os, sys
    import django
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")
    django.setup()
    from django.db import transaction
    from apps.audit.actor import Actor
    from apps.audit.services import Target, audit_record
    sys.stdin.readline()  # start together
    name = sys.argv[1]
    for i in range(int(sys.argv[2])):
        with transaction.atomic():
            audit_record("cluster.update", actor=Actor.task(name), target=Target(type="cluster", name=f"{name}-{i}"))
    print("done", flush=True)
""")


def test_eight_processes_append_one_gapless_chain():
    # An empty trail to start from: pytest-django runs the transactional tests after the others, and a
    # module-scoped fixture may have committed events before them (flush empties the audit tables too).
    call_command("flush", verbosity=0, interactive=False)
    db = settings.DATABASES["default"]
    auth = f"{db['USER']}:{db['PASSWORD']}" if db.get("PASSWORD") else db["USER"]
    url = f"postgres://{auth}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"  # the test database
    env = {**os.environ, "DATABASE_URL": url, "MESHDECK_AUDIT_CHECKPOINT_EVERY": "40"}
    procs = [
        subprocess.Popen([sys.executable, "-c", WRITER, f"w{n}", str(EACH)], cwd=ROOT, env=env, text=True,
                         stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        for n in range(WRITERS)
    ]
    for proc in procs:
        proc.stdin.write("go\n")
        proc.stdin.flush()
    for proc in procs:
        out, err = proc.communicate(timeout=240)
        assert proc.returncode == 0, err[-2000:]
    seqs = list(AuditEvent.objects.order_by("seq").values_list("seq", flat=True))
    assert seqs == list(range(1, WRITERS * EACH + 1))  # gapless
    prevs = list(AuditEvent.objects.values_list("prev_hash", flat=True))
    assert len(set(prevs)) == len(prevs)  # no fork: no two events share a predecessor
    writers = set(AuditEvent.objects.values_list("actor_detail", flat=True))
    assert writers == {f"w{n}" for n in range(WRITERS)}
    result = verify()
    assert result.ok, result.first_problem
    assert result.events == WRITERS * EACH and result.checkpoints == WRITERS * EACH // 40
