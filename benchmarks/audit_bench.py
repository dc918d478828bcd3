"""Audit trail benchmark: what an event adds to a write, and `verify` throughput.

Run: ``.venv/bin/python benchmarks/audit_bench.py [--writes 2000] [--events 100000]``
with ``DATABASE_URL`` pointing at a PostgreSQL server (trust auth, e.g.
``postgres://postgres@127.0.0.1:5432/postgres``). It creates (and afterwards
drops) its own database ``meshdeck_audit_bench`` on that server.

1. A write with and without its audit event: one transaction renaming a team
   (the UPDATE a service does), then the same plus ``audit_record`` (chain-head
   row lock, INSERT, head UPDATE), alternating, N each after a warm-up. Prints
   p50/p99 of both and of the difference.
2. ``verify`` over E events (inserted in bulk with real hashes), median of 3:
   events per second, and the same with a signed checkpoint every 1,000 events.
Not part of CI; prints figures (recorded in docs/benchmarks.md).
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from urllib.parse import urlparse, urlunparse

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

BENCH_DB = "meshdeck_audit_bench"


def _admin(url: str, sql: str) -> None:
    import psycopg

    parsed = urlparse(url)
    with psycopg.connect(urlunparse(parsed._replace(path="/postgres")), autocommit=True) as conn:
        conn.execute(sql)


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def _ms(values: list[float]) -> str:
    return f"p50 {_pct(values, 0.5) * 1000:.3f} ms, p99 {_pct(values, 0.99) * 1000:.3f} ms"


def bench_write(writes: int) -> None:
    from django.db import transaction

    from apps.accounts.models import Team
    from apps.audit.actor import Actor
    from apps.audit.services import Target, audit_record

    team = Team.objects.create(name="bench")
    actor = Actor.task("bench")

    def plain(i: int) -> None:
        with transaction.atomic():
            Team.objects.filter(pk=team.pk).update(name=f"bench-{i}")

    def audited(i: int) -> None:
        with transaction.atomic():
            Team.objects.filter(pk=team.pk).update(name=f"bench-{i}")
            audit_record("team.update", actor=actor, target=Target(type="team", name=f"bench-{i}", id=team.pk),
                         before={"name": f"bench-{i - 1}"}, after={"name": f"bench-{i}"})

    for i in range(200):  # warm-up: connections, statement plans
        plain(i)
        audited(i)
    base, with_audit = [], []
    for i in range(writes):
        for fn, into in ((plain, base), (audited, with_audit)):
            t = time.perf_counter()
            fn(i)
            into.append(time.perf_counter() - t)
    added = [a - b for a, b in zip(with_audit, base, strict=False)]
    print(f"write without audit   {_ms(base)}  ({writes} transactions)")
    print(f"write with its event  {_ms(with_audit)}")
    print(f"added by the event    {_ms(added)}  (per pair, with - without)")
    added_median = (statistics.median(with_audit) - statistics.median(base)) * 1000
    print(f"                      difference of the medians {added_median:.3f} ms")


def fill(events: int, checkpoint_every: int) -> None:
    """E events with real hashes, inserted in batches (audit_record one by one would take minutes)."""
    from django.db import transaction
    from django.utils import timezone

    from apps.audit.chain import GENESIS, event_hash
    from apps.audit.models import AuditChainHead, AuditEvent
    from apps.audit.services import _checkpoint_at

    prev, batch, now = GENESIS, [], timezone.now()
    for seq in range(1, events + 1):
        fields = {
            "seq": seq, "created_at": now, "actor_user_id": seq % 50, "actor_username": f"user{seq % 50}",
            "actor_auth": "session", "actor_token_id": None, "actor_detail": "login", "ip": "10.0.0.1",
            "user_agent": "Mozilla/5.0 (X11; Linux x86_64) bench", "request_id": f"{seq:016x}",
            "action": "grant.update", "target_type": "grant", "target_cluster": "prod",
            "target_namespace": f"team-{seq % 40}", "target_name": f"user u{seq % 50}: operator on prod/team-*",
            "target_id": str(seq % 900), "before_json": '{"role":"viewer"}', "after_json": '{"role":"operator"}',
            "outcome": "ok", "message": "", "prev_hash": prev,
        }
        fields["hash"] = event_hash(fields)
        batch.append(AuditEvent(**fields))
        prev = fields["hash"]
        if len(batch) == 5000:
            AuditEvent.objects.bulk_create(batch)
            batch = []
    AuditEvent.objects.bulk_create(batch)
    AuditChainHead.objects.filter(pk=1).update(seq=events, hash=prev)
    if checkpoint_every:
        hashes = dict(AuditEvent.objects.filter(seq__in=range(checkpoint_every, events + 1, checkpoint_every))
                      .values_list("seq", "hash"))
        with transaction.atomic():
            for seq in sorted(hashes):
                _checkpoint_at(seq, hashes[seq])


def bench_verify(events: int) -> None:
    from django.db import connection

    from apps.audit.verify import verify

    with connection.cursor() as cursor:
        cursor.execute("ALTER TABLE audit_auditevent DISABLE TRIGGER USER")  # only to empty it between runs
        cursor.execute("DELETE FROM audit_auditevent")
        cursor.execute("ALTER TABLE audit_auditevent ENABLE TRIGGER USER")
    t = time.perf_counter()
    fill(events, checkpoint_every=1000)
    print(f"fill                  {events} events + {events // 1000} checkpoints in {time.perf_counter() - t:.1f} s")
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE audit_auditevent") if connection.connection.autocommit else None
    verify()  # warm-up: pages in memory
    times = []
    for _ in range(3):
        t = time.perf_counter()
        result = verify()
        times.append(time.perf_counter() - t)
        assert result.ok and result.events == events, result.first_problem
    median = statistics.median(times)
    print(f"verify                {events} events, {result.checkpoints} checkpoints: median {median:.2f} s of 3 "
          f"(min {min(times):.2f}) = {events / median:,.0f} events/s")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--writes", type=int, default=2000)
    parser.add_argument("--events", type=int, default=100_000)
    args = parser.parse_args()
    url = os.environ.get("DATABASE_URL", "")
    if not url.startswith("postgres"):
        sys.exit("Set DATABASE_URL to a PostgreSQL server, e.g. postgres://postgres@127.0.0.1:5432/postgres")
    _admin(url, f"DROP DATABASE IF EXISTS {BENCH_DB}")
    _admin(url, f"CREATE DATABASE {BENCH_DB}")
    os.environ["DATABASE_URL"] = urlunparse(urlparse(url)._replace(path=f"/{BENCH_DB}"))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")
    os.environ["MESHDECK_AUDIT_CHECKPOINT_EVERY"] = "0"  # checkpoints are measured separately
    import logging

    import django

    django.setup()
    logging.getLogger("meshdeck.audit").setLevel(logging.WARNING)
    logging.getLogger("meshdeck.audit.checkpoint").setLevel(logging.WARNING)
    from django.core.management import call_command
    from django.db import connections

    try:
        call_command("migrate", verbosity=0)
        print(f"PostgreSQL            {connections['default'].cursor().connection.info.server_version}")
        bench_write(args.writes)
        bench_verify(args.events)
    finally:
        connections.close_all()
        _admin(url, f"DROP DATABASE IF EXISTS {BENCH_DB}")


if __name__ == "__main__":
    main()
