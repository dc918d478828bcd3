"""Signed checkpoints: every N events, on demand, outside the database, across key rotation."""
import base64
import json
import logging
import os

import pytest
from django.core.management import call_command

from apps.audit.models import AuditCheckpoint
from apps.audit.services import Target, audit_record, checkpoint_create, checkpoint_if_due
from apps.audit.signing import generate_key
from apps.audit.verify import checkpoints_from_file, verify

pytestmark = [pytest.mark.postgres, pytest.mark.usefixtures("pg")]


def _write(n):
    for i in range(n):
        audit_record("cluster.update", target=Target(type="cluster", name=f"c{i}"))


def test_every_n_events_a_checkpoint_carrying_the_previous_signature(settings):
    settings.MESHDECK_AUDIT_CHECKPOINT_EVERY = 3
    _write(7)
    checkpoints = list(AuditCheckpoint.objects.order_by("id"))
    assert [c.seq for c in checkpoints] == [3, 6]
    assert checkpoints[0].prev_signature == "" and checkpoints[1].prev_signature == checkpoints[0].signature
    payload = json.loads(checkpoints[1].payload)
    assert payload["seq"] == 6 and payload["prev_signature"] == checkpoints[0].signature
    assert verify().ok


def test_the_key_is_never_in_the_database(settings):
    private, _ = generate_key()
    settings.MESHDECK_AUDIT_KEY = private
    _write(1)
    checkpoint_create()
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT payload, signature, key_id FROM audit_auditcheckpoint")
        assert private not in " ".join(cursor.fetchone())


def test_checkpoints_leave_the_database_after_commit(tmp_path, settings, caplog, django_capture_on_commit_callbacks):
    settings.MESHDECK_AUDIT_CHECKPOINT_FILE = str(tmp_path / "cp.jsonl")
    _write(2)
    with caplog.at_level(logging.INFO, logger="meshdeck.audit.checkpoint"):
        with django_capture_on_commit_callbacks(execute=True):
            checkpoint = checkpoint_create()
            assert not (tmp_path / "cp.jsonl").exists()  # not before commit
    lines = (tmp_path / "cp.jsonl").read_text().splitlines()
    assert len(lines) == 1 and json.loads(lines[0])["signature"] == checkpoint.signature
    assert checkpoint.signature in caplog.text  # the structured log line
    assert [c.data["seq"] for c in checkpoints_from_file(lines)] == [2]


def test_old_checkpoints_verify_after_key_rotation(settings):
    old_private, old_public = generate_key()
    settings.MESHDECK_AUDIT_KEY = old_private
    _write(2)
    checkpoint_create()
    settings.MESHDECK_AUDIT_KEY, _ = generate_key()
    _write(2)
    checkpoint_create()
    result = verify()
    assert not result.ok and "unknown key" in result.first_problem.reason  # the old key is not known
    settings.MESHDECK_AUDIT_VERIFY_KEYS = [old_public]
    assert verify().ok


def test_periodic_checkpoint_only_when_new_events_arrived():
    assert checkpoint_if_due(minutes=0) is None  # nothing to sign
    _write(1)
    assert checkpoint_if_due(minutes=0).seq == 1
    assert checkpoint_if_due(minutes=0) is None  # nothing new since
    _write(1)
    assert checkpoint_if_due(minutes=60) is None  # the last one is recent
    assert checkpoint_if_due(minutes=0).seq == 2


def test_checkpoint_command_signs_now(capsys):
    _write(4)
    call_command("audit", "checkpoint")
    assert "Signed checkpoint at seq 4" in capsys.readouterr().out


def test_a_malformed_key_is_a_clear_error(settings):
    settings.MESHDECK_AUDIT_KEY = base64.urlsafe_b64encode(os.urandom(5)).decode()
    from django.core.exceptions import ImproperlyConfigured

    with pytest.raises(ImproperlyConfigured, match="MESHDECK_AUDIT_KEY must be 32 bytes"):
        checkpoint_create()


def test_the_periodic_checkpoint_is_on_the_one_schedule(settings):
    from apps.core.scheduler import load_tasks

    tasks = load_tasks(settings.CELERY_BEAT_SCHEDULE)
    assert tasks["audit-checkpoint"].name == "apps.audit.tasks.audit_checkpoint_periodic"
    _write(1)
    assert tasks["audit-checkpoint"].apply().get() == 1  # signs the head: seq 1
