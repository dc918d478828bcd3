"""manage.py snapshot take CLUSTER | list CLUSTER [--limit N] | prune | schedules"""
from __future__ import annotations

from django.core.management.base import CommandError

from apps.audit.actor import Actor, acting_as
from apps.clusters.models import Cluster
from apps.core.commands import SubcommandsCommand, arg, subcommand

from ... import services
from ...models import Snapshot


class Command(SubcommandsCommand):
    help = "Take, list and prune a cluster's snapshots (docs/history.md)."

    def _cluster(self, name: str) -> Cluster:
        cluster = Cluster.objects.filter(name=name).first()
        if cluster is None:
            raise CommandError(f"no cluster named {name!r} (manage.py cluster list)")
        return cluster

    @subcommand("Snapshot a cluster now (one per time bucket).", arg("cluster"))
    def do_take(self, cluster: str, **_):
        found = self._cluster(cluster)
        with acting_as(Actor.command("snapshot take")):
            result = services.snapshot_take_by_hand(found)
        snap = result.snapshot
        if not result.created:
            where = f" (#{snap.pk} {snap.status})" if snap else ""
            self.stdout.write(f"nothing stored: {result.skipped}{where}")
            return
        if snap is None:
            raise CommandError("the snapshot was stored but could not be read back")
        line = f"snapshot #{snap.pk} of {found.name} at {snap.taken_at:%Y-%m-%d %H:%M:%S} UTC: {snap.status}"
        self.stdout.write(line + (f" ({snap.reason})" if snap.reason else "") + f", {snap.duration_ms} ms")
        if snap.status == Snapshot.Status.UNREACHABLE:
            raise CommandError(snap.reason)

    @subcommand("A cluster's snapshots, newest first.", arg("cluster"), arg("--limit", type=int, default=50))
    def do_list(self, cluster: str, limit: int, **_):
        rows = Snapshot.objects.filter(cluster=self._cluster(cluster)).order_by("-taken_at")[:limit]
        self.stdout.write(f"{'id':>8}  {'taken at (UTC)':19}  {'status':11}  reason")
        for snap in rows:
            self.stdout.write(f"{snap.pk:>8}  {snap.taken_at:%Y-%m-%d %H:%M:%S}  {snap.status:11}  {snap.reason}")

    @subcommand("Apply the retention settings now.")
    def do_prune(self, **_):
        counts = services.snapshots_prune()
        self.stdout.write(f"pruned {counts['snapshots']} snapshots, {counts['parts']} unused parts")

    @subcommand("Bring every cluster's PeriodicTask in step with its schedule.")
    def do_schedules(self, **_):
        self.stdout.write(f"{services.snapshot_schedules_sync()} cluster schedules in step")
