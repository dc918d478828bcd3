"""python manage.py audit verify|checkpoint|export|archive|genkey"""
from __future__ import annotations

import json
import sys
from pathlib import Path

from django.core.exceptions import ImproperlyConfigured
from django.core.management.base import CommandError

from apps.audit.actor import Actor
from apps.audit.archive import ArchiveError, audit_archive
from apps.audit.commands import AuditedCommand
from apps.audit.export import FILTERS, FORMATS, apply_filters, export_lines
from apps.audit.models import AuditEvent
from apps.audit.services import Target, audit_record, checkpoint_create
from apps.audit.signing import b64, generate_key, key_id, public_bytes, signing_key
from apps.audit.verify import checkpoints_from_file, verify
from apps.core.errors import FieldInputError


class Command(AuditedCommand):
    help = "The audit trail: verify the chain, sign a checkpoint, export events, archive old ones."

    def add_arguments(self, parser):
        sub = parser.add_subparsers(dest="action", required=True)
        v = sub.add_parser("verify", help="Recompute the chain and check every checkpoint signature")
        v.add_argument("--since", type=int, help="Start at this sequence number (trusting the one before)")
        v.add_argument("--checkpoints", help="Check against this checkpoint file instead of the database's")
        v.add_argument("--json", action="store_true", help="Print the result as JSON")
        v.add_argument("--no-record", action="store_true", help="Do not record the run as an audit.verify event")
        sub.add_parser("checkpoint", help="Sign a checkpoint of the chain's head now")
        e = sub.add_parser("export", help="Export events as CSV or JSON lines")
        e.add_argument("--format", choices=FORMATS, default="jsonl")
        e.add_argument("--output", help="File to write (default: standard output)")
        for name in FILTERS:
            e.add_argument(f"--{name.replace('_', '-')}", dest=f"filter_{name}", default="")
        a = sub.add_parser("archive", help="Export events up to a sequence with their chain proof, then prune them")
        a.add_argument("--upto", type=int, required=True, help="Last sequence number to archive")
        a.add_argument("--output", required=True, help="New file to write the archive to")
        sub.add_parser("genkey", help="Print a new MESHDECK_AUDIT_KEY and its public key")
        sub.add_parser("pubkey", help="Print the public key of the current MESHDECK_AUDIT_KEY (before rotating it)")

    input_errors = (FieldInputError, ImproperlyConfigured)

    def do_verify(self, since=None, checkpoints=None, json=False, no_record=False, **_):
        external = None
        if checkpoints:
            try:
                with open(checkpoints, encoding="utf-8") as handle:
                    external = checkpoints_from_file(handle)
            except OSError as exc:
                raise CommandError(f"Cannot read the checkpoint file {checkpoints}: {exc.strerror}") from exc
            except ValueError as exc:
                raise CommandError(f"{checkpoints}: {exc}") from exc
        result = verify(since=since, checkpoints=external)
        summary = result.summary()
        if not no_record:
            audit_record("audit.verify", target=Target(type="audit", name="chain"), after=summary,
                         outcome="ok" if result.ok else "failed",
                         message="" if result.ok else str(result.first_problem))
        if json:
            self.stdout.write(_dumps(summary))
        elif result.ok:
            self.stdout.write(self.style.SUCCESS(
                f"Audit chain intact: {result.events} events (seq {result.first_seq}..{result.last_seq}), "
                f"{result.checkpoints} checkpoints verified."))
        if not result.ok:
            first = result.first_problem
            raise CommandError(f"Audit chain BROKEN at seq {first.seq}: {first.reason}")

    def do_checkpoint(self, **_):
        checkpoint = checkpoint_create()
        self.stdout.write(self.style.SUCCESS(f"Signed checkpoint at seq {checkpoint.seq} (key {checkpoint.key_id})."))
        self.stdout.write(checkpoint.payload)

    def do_export(self, format, output=None, **opts):
        filters = {name: opts.get(f"filter_{name}", "") for name in FILTERS}
        try:
            events = apply_filters(AuditEvent.objects.order_by("seq"), filters).iterator(chunk_size=5000)
            lines = export_lines(events, format)
            if output:
                with open(output, "w", encoding="utf-8", newline="") as handle:
                    handle.writelines(lines)
            else:
                for line in lines:
                    sys.stdout.write(line)
        except BrokenPipeError:
            pass  # the reader (e.g. `head`) stopped reading
        except OSError as exc:
            raise CommandError(f"Cannot write {output}: {exc.strerror}") from exc

    def do_archive(self, upto, output, **_):
        try:
            summary = audit_archive(upto_seq=upto, path=Path(output), actor=Actor.command("audit archive"))
        except ArchiveError as exc:
            raise CommandError(exc.message) from exc
        self.stdout.write(self.style.SUCCESS(
            f"Archived {summary['events']} events (seq {summary['from_seq']}..{summary['to_seq']}) to {output} "
            f"(sha256 {summary['sha256']})."))

    def do_pubkey(self, **_):
        public = signing_key().public_key()
        self.stdout.write(f"{b64(public_bytes(public))}  (key id {key_id(public)})")

    def do_genkey(self, **_):
        private, public = generate_key()
        self.stdout.write(f"MESHDECK_AUDIT_KEY={private}")
        self.stdout.write(f"# its public key, for MESHDECK_AUDIT_VERIFY_KEYS after rotation: {public}")


def _dumps(data) -> str:
    return json.dumps(data, indent=2, default=str)
