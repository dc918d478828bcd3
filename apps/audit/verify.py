"""Recomputes the chain and checks every checkpoint (``manage.py audit verify``).

What each check catches:
- an event edited in place: its recomputed hash differs (``hash mismatch``);
- an event removed from the middle: ``gap``; re-linked events: ``broken link``;
- the whole tail rewritten with consistent hashes: a signed checkpoint no
  longer matches the chain (``checkpoint disagrees``); signatures need the key
  from the environment, which the database never holds;
- the newest events deleted: the latest checkpoint names a sequence the chain
  no longer reaches (``truncated``);
- a checkpoint forged, edited or removed: ``bad signature`` / ``broken
  checkpoint link`` (each carries the previous one's signature).
Events newer than the latest checkpoint are protected by the triggers and the
chain only: keep checkpoints frequent (MESHDECK_AUDIT_CHECKPOINT_EVERY/MINUTES).
"""
from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

from django.db import connection

from .chain import GENESIS, HASH_FIELDS, format_time, hash_values
from .models import AuditCheckpoint, AuditEvent
from .signing import check_signature, verify_keys


@dataclass
class Problem:
    seq: int
    reason: str

    def __str__(self) -> str:
        return f"seq {self.seq}: {self.reason}"


@dataclass
class VerifyResult:
    events: int = 0
    checkpoints: int = 0
    first_seq: int | None = None
    last_seq: int | None = None
    problems: list[Problem] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    @property
    def first_problem(self) -> Problem | None:
        return min(self.problems, key=lambda p: p.seq) if self.problems else None

    def summary(self) -> dict:
        first = self.first_problem
        return {"ok": self.ok, "events": self.events, "checkpoints": self.checkpoints, "first_seq": self.first_seq,
                "last_seq": self.last_seq, "first_bad_seq": first.seq if first else None,
                "reason": first.reason if first else ""}


@dataclass(frozen=True)
class Checkpoint:
    payload: str
    signature: str

    @property
    def data(self) -> dict:
        return json.loads(self.payload)


def checkpoints_from_db() -> list[Checkpoint]:
    return [Checkpoint(p, s) for p, s in AuditCheckpoint.objects.order_by("id").values_list("payload", "signature")]


def checkpoints_from_file(lines: Iterable[str]) -> list[Checkpoint]:
    """The JSON-lines file written beside the database (MESHDECK_AUDIT_CHECKPOINT_FILE)."""
    found = []
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
            found.append(Checkpoint(row["payload"], row["signature"]))
        except (ValueError, KeyError, TypeError) as exc:
            raise ValueError(f"line {number} of the checkpoint file is not a checkpoint ({exc}).") from exc
    return found


def _archive_boundary() -> tuple[int, str]:
    """(last archived seq, its hash) from the newest audit.archive event, or (0, GENESIS)."""
    text = (AuditEvent.objects.filter(action="audit.archive", outcome="ok").order_by("-seq")
            .values_list("after_json", flat=True).first())
    if not text:
        return 0, GENESIS
    data = json.loads(text)
    return int(data["to_seq"]), data["last_hash"]


def _check_checkpoints(checkpoints: list[Checkpoint], result: VerifyResult) -> dict[int, list[str]]:
    """Signatures and the signature chain; returns seq -> signed hashes."""
    keys = verify_keys()
    expected: dict[int, list[str]] = {}
    previous = ""
    for checkpoint in checkpoints:
        try:
            data = checkpoint.data
            seq = int(data["seq"])
        except (ValueError, KeyError, TypeError):
            result.problems.append(Problem(0, "a checkpoint's payload is unreadable"))
            continue
        reason = check_signature(checkpoint.payload, checkpoint.signature, keys)
        if reason:
            result.problems.append(Problem(seq, f"checkpoint {reason}"))
        elif data.get("prev_signature", "") != previous:
            result.problems.append(Problem(seq, "broken checkpoint link: it does not carry the previous "
                                                "checkpoint's signature (a checkpoint was removed or inserted)"))
        else:
            expected.setdefault(seq, []).append(data["hash"])
        previous = checkpoint.signature
        result.checkpoints += 1
    return expected


def _rows(start: int, chunk_size: int) -> Iterator[tuple]:
    """Events from ``start`` in order, HASH_FIELDS + hash, created_at already formatted.

    A raw server-side cursor: verify reads every row once, and the ORM's per-row
    work would be most of its cost. PostgreSQL formats the time itself.
    """
    columns = [connection.ops.quote_name(name) for name in (*HASH_FIELDS, "hash")]
    pg = connection.vendor == "postgresql"
    if pg:
        columns[1] = """to_char("created_at" AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')"""
    sql = f"SELECT {', '.join(columns)} FROM audit_auditevent WHERE seq >= %s ORDER BY seq"
    with connection.chunked_cursor() as cursor:
        cursor.execute(sql, [start])
        while True:
            chunk = cursor.fetchmany(chunk_size)
            if not chunk:
                return
            if pg:
                yield from chunk
            else:
                # SQLite's own operations (PostgreSQL answers datetimes above); not in the base class's stubs
                convert = connection.ops.convert_datetimefield_value  # type: ignore[attr-defined]
                for row in chunk:
                    yield (row[0], format_time(convert(row[1], None, connection)), *row[2:])


def verify(*, since: int | None = None, checkpoints: list[Checkpoint] | None = None,
           chunk_size: int = 20_000) -> VerifyResult:
    """Every event from ``since`` (default: the start, after any archive) and every checkpoint."""
    result = VerifyResult()
    signed = _check_checkpoints(checkpoints if checkpoints is not None else checkpoints_from_db(), result)
    boundary, boundary_hash = _archive_boundary()
    start = max(since or 1, boundary + 1)
    if start > boundary + 1:
        prev = AuditEvent.objects.filter(seq=start - 1).values_list("hash", flat=True).first()
        if prev is None:
            result.problems.append(Problem(start - 1, "gap: the event before --since is missing"))
            return result
    else:
        prev = boundary_hash
    for seq, signed_hashes in signed.items():
        if seq == boundary and start == boundary + 1 and boundary and any(h != boundary_hash for h in signed_hashes):
            result.problems.append(Problem(seq, "checkpoint disagrees with the archive's last hash"))
    expected_seq = start
    for row in _rows(start, chunk_size):
        seq, stored = row[0], row[-1]
        if seq != expected_seq:
            result.problems.append(Problem(expected_seq, f"gap: events {expected_seq}..{seq - 1} are missing"))
            break
        if row[-2] != prev:
            result.problems.append(Problem(seq, f"broken link: prev_hash does not match event {seq - 1}'s hash"))
            break
        if hash_values(row[:-1]) != stored:
            result.problems.append(Problem(seq, "hash mismatch: the event's content was changed after it was written"))
            break
        hashes = signed.get(seq)
        if hashes and any(h != stored for h in hashes):
            result.problems.append(Problem(
                seq, "checkpoint disagrees: the signed hash for this sequence differs from the chain's, "
                     "so events up to here were rewritten after the checkpoint was signed"))
            break
        if result.first_seq is None:
            result.first_seq = seq
        result.last_seq = seq
        result.events += 1
        prev = stored
        expected_seq = seq + 1
    if not result.problems:
        end = result.last_seq if result.last_seq is not None else boundary
        beyond = [seq for seq in signed if seq > end]
        if beyond:
            result.problems.append(Problem(
                end + 1, f"truncated: a signed checkpoint covers seq {max(beyond)}, but the chain ends at {end}"))
    return result
