"""manage.py snapshot take CLUSTER | list CLUSTER [--limit N] | prune | schedules"""
from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from apps.audit.actor import Actor, acting_as
from apps.clusters.models import Cluster

from ... import services
from ...models import Snapshot


class Command(BaseCommand):
    help = "Take, list and prune a cluster's snapshots (docs/history.md)."

    def add_arguments(self, parser):
        sub = parser.add_subparsers(dest="action", required=True)
        take = sub.add_parser("take", help="Snapshot a cluster now (one per time bucket).")
        take.add_argument("cluster")
        ls = sub.add_parser("list", help="A cluster's snapshots, newest first.")
        ls.add_argument("cluster")
        ls.add_argument("--limit", type=int, default=50)
        sub.add_parser("prune", help="Apply the retention settings now.")
        sub.add_parser("schedules", help="Bring every cluster's PeriodicTask in step with its schedule.")

    def _cluster(self, name: str) -> Cluster:
        cluster = Cluster.objects.filter(name=name).first()
        if cluster is None:
            raise CommandError(f"no cluster named {name!r} (manage.py cluster list)")
        return cluster

    def handle(self, *args, action: str, **opts):
        if action == "take":
            cluster = self._cluster(opts["cluster"])
            with acting_as(Actor.command("snapshot take")):
                result = services.snapshot_take_by_hand(cluster)
            snap = result.snapshot
            if not result.created:
                where = f" (#{snap.pk} {snap.status})" if snap else ""
                self.stdout.write(f"nothing stored: {result.skipped}{where}")
                return
            if snap is None:
                raise CommandError("the snapshot was stored but could not be read back")
            line = f"snapshot #{snap.pk} of {cluster.name} at {snap.taken_at:%Y-%m-%d %H:%M:%S} UTC: {snap.status}"
            self.stdout.write(line + (f" ({snap.reason})" if snap.reason else "") + f", {snap.duration_ms} ms")
            if snap.status == Snapshot.Status.UNREACHABLE:
                raise CommandError(snap.reason)
        elif action == "list":
            cluster = self._cluster(opts["cluster"])
            rows = Snapshot.objects.filter(cluster=cluster).order_by("-taken_at")[: opts["limit"]]
            self.stdout.write(f"{'id':>8}  {'taken at (UTC)':19}  {'status':11}  reason")
            for snap in rows:
                self.stdout.write(f"{snap.pk:>8}  {snap.taken_at:%Y-%m-%d %H:%M:%S}  {snap.status:11}  {snap.reason}")
        elif action == "prune":
            counts = services.snapshots_prune()
            self.stdout.write(f"pruned {counts['snapshots']} snapshots, {counts['parts']} unused parts")
        elif action == "schedules":
            self.stdout.write(f"{services.snapshot_schedules_sync()} cluster schedules in step")
