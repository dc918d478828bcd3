"""Pruning, the only way events leave the table: export a range with its
chain proof to a file, delete it under a permit, record that as an event.

The file is JSON lines: a header (range, the hash before the range, the last
hash), every event with its prev_hash and hash, and the signed checkpoint that
covers the range. The new first event's prev_hash equals the archived last
hash, and the ``audit.archive`` event (itself in the chain) records it, so
``audit verify`` checks the remaining chain from there.
"""
from __future__ import annotations

import hashlib
import json
from pathlib import Path

from django.db import transaction

from apps.core.errors import MeshdeckError

from .actor import Actor
from .export import event_row
from .models import AuditArchivePermit, AuditEvent
from .services import Target, audit_record, checkpoint_create, checkpoint_line
from .verify import verify


class ArchiveError(MeshdeckError):
    code = "archive"
    http_status = 400


def audit_archive(*, upto_seq: int, path: Path, actor: Actor) -> dict:
    """Archives events up to ``upto_seq`` (inclusive) into ``path``; returns the summary."""
    first = AuditEvent.objects.order_by("seq").values_list("seq", "prev_hash").first()
    if first is None or upto_seq < first[0]:
        raise ArchiveError(f"Nothing to archive up to seq {upto_seq}.")
    result = verify()
    if not result.ok:
        raise ArchiveError(f"The chain does not verify ({result.first_problem}); archive refuses to prune it.")
    head_seq = result.last_seq or 0
    if upto_seq >= head_seq:
        raise ArchiveError(f"Keep at least the newest event: archive up to seq {head_seq - 1} at the most.")
    if path.exists():
        raise ArchiveError(f"{path} exists already; choose a new file.")
    checkpoint = checkpoint_create()  # signs the head: covers the archived range
    events = AuditEvent.objects.filter(seq__lte=upto_seq).order_by("seq")
    digest = hashlib.sha256()
    last_hash = first[1]  # the hash before the range, until the first event is written
    count = 0
    with open(path, "x", encoding="utf-8") as handle:
        def write(line: str) -> None:
            digest.update(line.encode())
            handle.write(line)

        write(json.dumps({"archive": 1, "from_seq": first[0], "to_seq": upto_seq, "prev_hash": first[1]}) + "\n")
        for event in events.iterator(chunk_size=5000):
            write(json.dumps({"event": event_row(event)}, ensure_ascii=False, sort_keys=True) + "\n")
            last_hash = event.hash
            count += 1
        write(json.dumps({"checkpoint": json.loads(checkpoint_line(checkpoint))}) + "\n")
    summary = {"from_seq": first[0], "to_seq": upto_seq, "events": count, "last_hash": last_hash,
               "file": str(path), "sha256": digest.hexdigest()}
    with transaction.atomic():
        permit = AuditArchivePermit.objects.create(upto_seq=upto_seq)
        AuditEvent.objects.filter(seq__lte=upto_seq).delete()
        permit.delete()
        audit_record("audit.archive", actor=actor, target=Target(type="audit", name=f"1..{upto_seq}"),
                     after=summary)
    return summary
