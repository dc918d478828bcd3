"""Pruning only by `audit archive`: the range goes to a file with its proof, the rest still verifies."""
import json

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import DatabaseError, connection, transaction

from apps.audit.models import AuditEvent
from apps.audit.services import Target, audit_record
from apps.audit.verify import verify

pytestmark = [pytest.mark.postgres, pytest.mark.usefixtures("pg")]


def _write(n):
    for i in range(n):
        audit_record("cluster.update", target=Target(type="cluster", name=f"c{i}"))


def test_archive_exports_prunes_records_and_the_rest_verifies(tmp_path, capsys):
    _write(10)
    out = tmp_path / "archive.jsonl"
    call_command("audit", "archive", "--upto", "6", "--output", str(out))
    assert "Archived 6 events (seq 1..6)" in capsys.readouterr().out
    lines = [json.loads(line) for line in out.read_text().splitlines()]
    assert lines[0]["from_seq"] == 1 and lines[0]["to_seq"] == 6
    assert [line["event"]["seq"] for line in lines[1:7]] == [1, 2, 3, 4, 5, 6]
    assert "checkpoint" in lines[-1]
    remaining = list(AuditEvent.objects.order_by("seq").values_list("seq", flat=True))
    assert remaining == [7, 8, 9, 10, 11]
    archive = AuditEvent.objects.get(action="audit.archive")
    assert archive.after["to_seq"] == 6 and archive.after["last_hash"] == lines[6]["event"]["hash"]
    assert archive.after["last_hash"] == AuditEvent.objects.get(seq=7).prev_hash
    assert verify().ok
    _write(1)
    assert verify().ok


def test_plain_delete_is_still_refused_after_an_archive(tmp_path):
    _write(5)
    call_command("audit", "archive", "--upto", "2", "--output", str(tmp_path / "a.jsonl"))
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("DELETE FROM audit_auditevent WHERE seq = 5")


def test_archive_refuses_a_bad_range_or_an_existing_file(tmp_path):
    _write(3)
    with pytest.raises(CommandError, match="Keep at least the newest event"):
        call_command("audit", "archive", "--upto", "3", "--output", str(tmp_path / "a.jsonl"))
    (tmp_path / "b.jsonl").write_text("x")
    with pytest.raises(CommandError, match="exists already"):
        call_command("audit", "archive", "--upto", "1", "--output", str(tmp_path / "b.jsonl"))
    assert AuditEvent.objects.count() == 3
