"""A database superuser who edits the trail is caught by `audit verify`."""
import json

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection

from apps.audit.chain import event_hash
from apps.audit.models import AuditEvent
from apps.audit.services import Target, audit_record, checkpoint_create
from apps.audit.verify import verify

pytestmark = [pytest.mark.postgres, pytest.mark.usefixtures("pg")]


def _write(n: int) -> None:
    for i in range(n):
        audit_record("grant.create", target=Target(type="grant", cluster="demo", name=f"g{i}"),
                     after={"role": "viewer", "n": i})


def _sql(sql: str, params=()) -> None:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)


def _drop_triggers() -> None:
    """What a database superuser can do: the triggers are no obstacle to them."""
    for table in ("audit_auditevent", "audit_auditcheckpoint"):
        _sql(f"DROP TRIGGER {table}_append_only ON {table}")


def _verify_fails(**kwargs) -> str:
    with pytest.raises(CommandError) as info:
        call_command("audit", "verify", "--no-record", **kwargs)
    return str(info.value)


def _rehash_from(seq: int) -> None:
    """Recomputes every hash from ``seq`` on, consistently, as the attacker would."""
    prev = AuditEvent.objects.get(seq=seq - 1).hash if seq > 1 else "0" * 64
    _sql("ALTER TABLE audit_auditevent DROP CONSTRAINT IF EXISTS audit_auditevent_prev_hash_key")
    for event in AuditEvent.objects.filter(seq__gte=seq).order_by("seq"):
        fields = {f.name: getattr(event, f.name) for f in AuditEvent._meta.fields}
        fields["prev_hash"] = prev
        new = event_hash(fields)
        _sql("UPDATE audit_auditevent SET prev_hash = %s, hash = %s WHERE seq = %s", [prev, new, event.seq])
        prev = new


def test_intact_chain_verifies(capsys):
    _write(10)
    checkpoint_create()
    call_command("audit", "verify")
    assert "Audit chain intact: 10 events" in capsys.readouterr().out


def test_editing_one_events_after_is_caught_at_that_sequence():
    _write(10)
    checkpoint_create()
    _drop_triggers()
    _sql("UPDATE audit_auditevent SET after_json = %s WHERE seq = 4", [json.dumps({"n": 3, "role": "admin"})])
    message = _verify_fails()
    assert "seq 4" in message and "hash mismatch" in message


def test_recomputing_every_later_hash_is_still_caught_by_the_checkpoint():
    _write(10)
    checkpoint_create()  # signed: seq 10 and its hash
    _write(2)
    _drop_triggers()
    _sql("UPDATE audit_auditevent SET after_json = %s WHERE seq = 4", [json.dumps({"n": 3, "role": "admin"})])
    _rehash_from(4)
    result = verify()
    assert not result.ok
    assert result.first_problem.seq == 10 and "checkpoint disagrees" in result.first_problem.reason
    assert "seq 10" in _verify_fails()


def test_rewriting_the_database_checkpoints_too_is_caught_by_the_external_file(tmp_path, settings):
    settings.MESHDECK_AUDIT_CHECKPOINT_FILE = str(tmp_path / "checkpoints.jsonl")
    _write(6)
    from apps.audit.services import emit_checkpoint

    emit_checkpoint(checkpoint_create())  # the file is written on commit; the test transaction never commits
    _drop_triggers()
    _sql("UPDATE audit_auditevent SET after_json = %s WHERE seq = 2", [json.dumps({"n": 1, "role": "admin"})])
    _rehash_from(2)
    _sql("DELETE FROM audit_auditcheckpoint")  # the attacker removes the evidence in the database
    assert verify().ok  # nothing left inside the database disagrees...
    message = _verify_fails(checkpoints=str(tmp_path / "checkpoints.jsonl"))
    assert "seq 6" in message and "checkpoint disagrees" in message  # ...but the file outside does


def test_truncating_the_tail_is_caught_by_the_latest_checkpoint():
    _write(10)
    checkpoint_create()
    _drop_triggers()
    _sql("DELETE FROM audit_auditevent WHERE seq > 7")
    _sql("UPDATE audit_auditchainhead SET seq = 7")
    message = _verify_fails()
    assert "truncated" in message and "seq 8" in message and "covers seq 10" in message


def test_deleting_from_the_middle_is_a_gap():
    _write(6)
    _drop_triggers()
    _sql("DELETE FROM audit_auditevent WHERE seq = 3")
    message = _verify_fails()
    assert "seq 3" in message and "gap" in message


def test_a_forged_checkpoint_is_a_bad_signature():
    _write(3)
    checkpoint = checkpoint_create()
    _drop_triggers()
    forged = checkpoint.payload.replace(checkpoint.event_hash, "f" * 64)
    _sql("UPDATE audit_auditcheckpoint SET payload = %s WHERE id = %s", [forged, checkpoint.pk])
    message = _verify_fails()
    assert "seq 3" in message and "bad signature" in message


def test_removing_a_checkpoint_breaks_the_signature_chain():
    _write(2)
    first = checkpoint_create()
    _write(2)
    checkpoint_create()
    _write(2)
    checkpoint_create()
    _drop_triggers()
    _sql("DELETE FROM audit_auditcheckpoint WHERE id = %s", [first.pk + 1])
    message = _verify_fails()
    assert "seq 6" in message and "broken checkpoint link" in message


def test_verify_since_checks_only_the_rest(capsys):
    _write(10)
    _drop_triggers()
    _sql("UPDATE audit_auditevent SET message = 'edited' WHERE seq = 2")
    call_command("audit", "verify", "--since", "5", "--no-record")
    assert "6 events (seq 5..10)" in capsys.readouterr().out
    assert "seq 2" in _verify_fails()


def test_a_verify_run_is_recorded_for_the_chain_status():
    _write(2)
    call_command("audit", "verify")
    run = AuditEvent.objects.get(action="audit.verify")
    assert run.outcome == "ok" and run.actor_auth == "command" and run.after["events"] == 2
