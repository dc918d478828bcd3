"""Every write of the history app: taking a snapshot, the schedules, pruning.

``snapshot_take(cluster)`` reads the cluster (inventory + Istio config through
its gateway, the traffic window through its telemetry), validates the config,
rolls up each namespace's health and stores it all as one ``Snapshot`` of the
current time bucket. Idempotent: one snapshot per cluster and bucket (a unique
constraint), and a lock (the cache: Redis in production) so two schedulers or
a redelivered task do not read the cluster twice for one bucket. A cluster that
cannot be read gets an ``unreachable`` record (no Prometheus: ``partial``) with
the reason, and its schedule backs off; the next success resets it.
"""
from __future__ import annotations

import datetime as dt
import logging
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.db import DataError, IntegrityError, OperationalError, transaction
from django.db.models import Q
from redis.exceptions import RedisError

from apps.audit.services import Target, audit_record
from apps.clusters.gateways import gateway_for
from apps.clusters.inventory import Inventory
from apps.clusters.models import Cluster
from apps.core.errors import MeshdeckError
from apps.graphs.builder import GraphOptions, build_graph
from apps.graphs.builder.gcpause import gc_paused
from apps.graphs.builder.rollup import namespace_health
from apps.graphs.telemetry.factory import telemetry_for
from apps.graphs.telemetry.mesh_traffic import MeshTraffic, capture_traffic
from apps.graphs.telemetry.plan import REQUESTS, fetch_traffic
from apps.graphs.telemetry.prometheus import PrometheusTelemetry
from apps.graphs.telemetry.stored_telemetry import StoredTelemetry
from apps.meshconfig.validators import validate

from . import codec
from .models import Snapshot, SnapshotPart, SnapshotSchedule
from .signals import snapshot_committed

log = logging.getLogger(__name__)

MAX_BACKOFF_SECONDS = 15 * 60
SNAPSHOT_TASK = "apps.history.tasks.snapshot_cluster"
CONFIG_FORMAT, FINDINGS_FORMAT = "meshdeck.istio-config", "meshdeck.findings"


class SnapshotInputError(MeshdeckError):
    code = "bad_request"
    http_status = 400


# --- schedules ---------------------------------------------------------------------------

def default_interval() -> int:
    return int(settings.MESHDECK_SNAPSHOT_INTERVAL)


def schedule_for(cluster: Cluster) -> SnapshotSchedule:
    schedule, _ = SnapshotSchedule.objects.get_or_create(cluster=cluster)
    return schedule


def interval_of(schedule: SnapshotSchedule | None) -> int:
    return int(schedule.interval_seconds) if schedule and schedule.interval_seconds else default_interval()


def queue_of(schedule: SnapshotSchedule | None) -> str:
    return (schedule.queue if schedule else "") or settings.MESHDECK_SNAPSHOT_QUEUE


def periodic_task_name(cluster: Cluster) -> str:
    return f"snapshot {cluster.name} (cluster #{cluster.pk})"


@transaction.atomic
def snapshot_schedule_sync(cluster: Cluster) -> SnapshotSchedule:
    """The cluster's SnapshotSchedule and its django-celery-beat PeriodicTask, in step
    (interval: the schedule's or MESHDECK_SNAPSHOT_INTERVAL; queue; enabled)."""
    from django_celery_beat.models import IntervalSchedule, PeriodicTask

    schedule = schedule_for(cluster)
    every, _ = IntervalSchedule.objects.get_or_create(every=interval_of(schedule), period=IntervalSchedule.SECONDS)
    wanted = {"name": periodic_task_name(cluster), "interval": every,
              "queue": queue_of(schedule) or None, "enabled": schedule.enabled,
              "description": "Managed by Meshdeck: edit the cluster's snapshot schedule instead."}
    task = PeriodicTask.objects.filter(task=SNAPSHOT_TASK, args=f"[{cluster.pk}]").first()
    if task is None:
        PeriodicTask.objects.create(task=SNAPSHOT_TASK, args=f"[{cluster.pk}]", **wanted)
    elif any(getattr(task, k) != v for k, v in wanted.items()):
        for k, v in wanted.items():
            setattr(task, k, v)
        task.save()
    return schedule


def snapshot_schedules_sync() -> int:
    """Every cluster's schedule (and drop PeriodicTasks of clusters that are gone)."""
    from django_celery_beat.models import PeriodicTask

    names = set()
    for cluster in Cluster.objects.all():
        snapshot_schedule_sync(cluster)
        names.add(periodic_task_name(cluster))
    PeriodicTask.objects.filter(task=SNAPSHOT_TASK).exclude(name__in=names).delete()
    return len(names)


@transaction.atomic
def snapshot_schedule_update(*, cluster: Cluster, actor=None, enabled: bool | None = None,
                             interval_seconds: int | None | str = "unchanged", queue: str | None = None
                             ) -> SnapshotSchedule:
    """Change a cluster's schedule (the admin and the command come here), audited, PeriodicTask synced."""
    schedule = SnapshotSchedule.objects.select_for_update().get(pk=schedule_for(cluster).pk)
    before = {"enabled": schedule.enabled, "interval_seconds": schedule.interval_seconds, "queue": schedule.queue}
    if enabled is not None:
        schedule.enabled = bool(enabled)
    if interval_seconds != "unchanged":
        if interval_seconds is not None and (not isinstance(interval_seconds, int) or interval_seconds < 1):
            raise SnapshotInputError("interval_seconds must be a whole number of seconds, at least 1 (or empty)")
        schedule.interval_seconds = interval_seconds
    if queue is not None:
        schedule.queue = queue.strip()
    schedule.save()
    after = {"enabled": schedule.enabled, "interval_seconds": schedule.interval_seconds, "queue": schedule.queue}
    if after != before:
        audit_record("snapshot.schedule_update", actor=actor,
                     target=Target(type="cluster", cluster=cluster.name, name=cluster.name, id=str(cluster.pk)),
                     before=before, after=after)
    snapshot_schedule_sync(cluster)
    return schedule


# --- taking a snapshot ---------------------------------------------------------------------

@dataclass
class TakeResult:
    snapshot: Snapshot | None
    created: bool
    skipped: str = ""  # why nothing was done: "exists", "locked", "backing off until ...", "disabled", "not stored:.."


def bucket_of(at: float, interval: int) -> dt.datetime:
    start = int(at) - int(at) % interval
    return dt.datetime.fromtimestamp(start, dt.UTC)


def _lock_key(cluster: Cluster, bucket: dt.datetime) -> str:
    return f"history:take:{cluster.pk}:{int(bucket.timestamp())}"


def _store_parts(packed: dict[str, tuple[str, codec.Packed]], bases: dict[str, str] | None = None
                 ) -> dict[str, SnapshotPart]:
    """kind -> part, creating only those not stored yet (content addressing). ``bases``: sha -> the
    key frame a delta part is relative to."""
    bases = bases or {}
    shas = {p.sha256 for _, p in packed.values()}
    existing = {part.sha256: part for part in SnapshotPart.objects.filter(sha256__in=shas).only("sha256", "kind")}
    new = [SnapshotPart(sha256=p.sha256, kind=kind, encoding=p.encoding, data=p.data, raw_size=p.raw_size,
                        stored_size=len(p.data), base_id=bases.get(p.sha256))
           for kind, p in {p.sha256: (k, p) for k, p in packed.values()}.values() if p.sha256 not in existing]
    if new:
        SnapshotPart.objects.bulk_create(new, ignore_conflicts=True)
        existing.update({part.sha256: part for part in new})
    return {field: existing[p.sha256] for field, (_, p) in packed.items()}


def _lock(key: str, token: str, *, timeout: int, cluster: Cluster) -> bool:
    """Take the bucket's lock in the cache. The cache (Redis) down is not a reason to lose the snapshot:
    go on without the lock, the bucket's unique constraint still stores one (at worst two workers both
    read the cluster)."""
    try:
        return bool(cache.add(key, token, timeout=timeout))
    except (RedisError, OSError) as exc:
        log.warning("snapshot of %s without its lock: the cache is down (%s)", cluster.name, exc)
        return True


def _unlock(key: str, token: str) -> None:
    try:
        if cache.get(key) == token:
            cache.delete(key)
    except (RedisError, OSError) as exc:  # gone with the cache; it expires anyway
        log.warning("snapshot lock %s not released: the cache is down (%s)", key, exc)


def _reason(exc: BaseException) -> str:
    text = str(exc) or type(exc).__name__
    return text if isinstance(exc, MeshdeckError) else f"{type(exc).__name__}: {text}"


def _health(cluster: Cluster, inventory: Inventory, traffic: MeshTraffic | None) -> dict[str, str]:
    names = [ns.name for ns in inventory.namespaces]
    graph = None
    if traffic is not None:
        # the health query reads the request rates only: StoredTelemetry indexes just those rows, not
        # the window's ~100k (mostly histogram bucket) rows
        requests_only = MeshTraffic(window=traffic.window, query_time=traffic.query_time,
                                    series={REQUESTS: traffic.rows_of(REQUESTS)})
        data = fetch_traffic(StoredTelemetry(requests_only), namespaces=None, graph_type="workload",
                             inject_service_nodes=False, window=traffic.window, query_time=traffic.query_time,
                             only=("requests",))
        options = GraphOptions(namespaces=tuple(names), graph_type="workload", inject_service_nodes=False,
                               duration=traffic.window, query_time=int(traffic.query_time))
        graph = build_graph(inventory, data, options, health_tolerances=cluster.health_tolerances)
    return {ns: h.status for ns, h in namespace_health(inventory.workloads, graph, names).items()}


def snapshot_parts(cluster: Cluster, inventory: Inventory, traffic: MeshTraffic | None,
                   keyframe_for: Callable[[str], tuple[str, Any] | None] = lambda shape_sha: None,
                   ) -> tuple[dict[str, tuple[str, codec.Packed]], dict[str, Any], dict[str, str], dict[str, str]]:
    """What a snapshot stores: packed parts (field -> (kind, packed)), counts, namespace health, and
    the key frame of the rates (sha -> key frame sha) when they are stored relative to one.
    ``keyframe_for(shape sha)`` -> (key frame sha, its quantized rates) or None."""
    doc = inventory.to_dict()
    objects = doc.pop("istio_objects")
    root = cluster.istio_namespace or "istio-system"
    checks = sorted(({**c.as_dict(), "kind": c.kind, "namespace": c.namespace, "name": c.name}
                     for ov in validate(inventory, root).values() for c in ov.checks),
                    key=lambda c: (c["namespace"], c["kind"], c["name"], c["code"], c.get("path", "")))
    packed: dict[str, tuple[str, codec.Packed]] = {
        "inventory": (SnapshotPart.Kind.INVENTORY, codec.pack_json(doc)),
        "config": (SnapshotPart.Kind.CONFIG, codec.pack_json({"format": CONFIG_FORMAT, "version": 1,
                                                              "objects": objects})),
        "findings": (SnapshotPart.Kind.FINDINGS, codec.pack_json({"format": FINDINGS_FORMAT, "version": 1,
                                                                  "checks": checks})),
    }
    # per namespace, so a reader is told only about the namespaces they may see
    by_ns: dict[str, dict[str, int]] = {
        n["name"]: {"workloads": 0, "services": 0, "istio_objects": 0, "errors": 0, "warnings": 0}
        for n in doc["namespaces"]}
    for key, items in (("workloads", doc["workloads"]), ("services", doc["services"]), ("istio_objects", objects)):
        for item in items:
            by_ns.setdefault(item["namespace"], dict.fromkeys(("workloads", "services", "istio_objects",
                                                               "errors", "warnings"), 0))[key] += 1
    for c in checks:
        if c["severity"] in ("error", "warning") and c["namespace"] in by_ns:
            by_ns[c["namespace"]][c["severity"] + "s"] += 1
    counts: dict[str, Any] = {"by_namespace": by_ns}
    bases: dict[str, str] = {}
    if traffic is not None:
        shape, values = codec.split_traffic(traffic)
        shape_part = codec.pack_json(shape)
        keyframe = keyframe_for(shape_part.sha256)
        bits = settings.MESHDECK_SNAPSHOT_RATE_BITS
        values_part = codec.pack_floats(values, bits=bits, base=keyframe[1] if keyframe else None)
        if values_part.encoding == codec.DELTA_FLOATS and keyframe is not None and keyframe[0] != values_part.sha256:
            bases[values_part.sha256] = keyframe[0]
        elif values_part.encoding == codec.DELTA_FLOATS:  # the key frame itself again: store it as one
            values_part = codec.pack_floats(values, bits=bits)
        packed["traffic_shape"] = (SnapshotPart.Kind.TRAFFIC_SHAPE, shape_part)
        packed["traffic_values"] = (SnapshotPart.Kind.TRAFFIC_VALUES, values_part)
        counts["edges"] = len(shape["edges"])
        counts["rates"] = len(values)
    return packed, counts, _health(cluster, inventory, traffic), bases


def keyframe_finder(cluster: Cluster) -> Callable[[str], tuple[str, Any] | None]:
    """The key frame the next window's rates are stored against: the one the cluster's latest snapshot
    of that shape used (or was), while fewer than MESHDECK_SNAPSHOT_KEYFRAME_EVERY windows use it."""
    from .store import quantized_rates

    def find(shape_sha: str):
        every = settings.MESHDECK_SNAPSHOT_KEYFRAME_EVERY
        if every <= 1:
            return None
        last = (Snapshot.objects.filter(cluster=cluster, traffic_shape_id=shape_sha, traffic_values__isnull=False)
                .order_by("-taken_at").select_related("traffic_values").first())
        if last is None:
            return None
        values = last.traffic_values
        if values is None:
            return None
        frame = values.base_id or values.pk
        if SnapshotPart.objects.filter(base_id=frame).count() >= every - 1:
            return None  # time for a new key frame
        return frame, quantized_rates(frame)

    return find


def _backoff(schedule: SnapshotSchedule, status: str, reason: str, now: float, interval: int) -> None:
    if status == Snapshot.Status.OK:
        schedule.failures, schedule.next_attempt_at = 0, None
    else:
        schedule.failures += 1
        delay = min(interval * 2 ** (schedule.failures - 1), max(MAX_BACKOFF_SECONDS, interval))
        schedule.next_attempt_at = dt.datetime.fromtimestamp(now + delay, dt.UTC)
    schedule.last_status, schedule.last_reason = status, reason[:2000]
    schedule.save(update_fields=["failures", "next_attempt_at", "last_status", "last_reason"])


def _not_stored(schedule: SnapshotSchedule, exc: Exception, at: float, interval: int, cluster: Cluster) -> TakeResult:
    """The database refused the snapshot (a full disk, a lost connection): its one transaction is rolled
    back, so no part and no row of it is left. Recorded on the schedule (backing off) if the database
    takes that small write; logged either way."""
    reason = f"not stored: {_reason(exc)}"
    log.error("snapshot of %s %s", cluster.name, reason)
    try:
        with transaction.atomic():
            schedule.refresh_from_db()
            _backoff(schedule, "failed", reason, at, interval)
    except (OperationalError, DataError):
        log.error("snapshot of %s: the failure could not be recorded on its schedule either", cluster.name)
    return TakeResult(None, False, reason)


def _read(cluster: Cluster, window: int, at: int):
    """Read the cluster (inventory, then the traffic window) and pack what a snapshot stores:
    (status, reason, inventory, traffic, packed, counts, health, bases). Never raises for a cluster
    that cannot be read: no inventory is ``unreachable``, no traffic ``partial``."""
    status, reason, inventory, traffic = Snapshot.Status.OK, "", None, None
    try:
        inventory = gateway_for(cluster).inventory()
    except Exception as exc:  # noqa: BLE001 - any failure of the cluster: recorded, never raised at the worker
        status, reason = Snapshot.Status.UNREACHABLE, f"API server: {_reason(exc)}"
    if inventory is not None:
        telemetry = None
        try:
            # not the graph's deadline: nobody waits for a snapshot, and a big mesh's window is large
            telemetry = (PrometheusTelemetry(cluster.prometheus_url,
                                             timeout=settings.MESHDECK_SNAPSHOT_PROMETHEUS_TIMEOUT)
                         if cluster.prometheus_url else telemetry_for(cluster))
            traffic = capture_traffic(telemetry, window=window, query_time=at,
                                      mesh_namespaces=[n.name for n in inventory.namespaces])
        except Exception as exc:  # noqa: BLE001 - Prometheus failing leaves a partial snapshot
            status, reason = Snapshot.Status.PARTIAL, f"Prometheus: {_reason(exc)}"
        finally:
            if isinstance(telemetry, PrometheusTelemetry):
                telemetry.close()
    packed, counts, health, bases = (({}, {}, {}, {}) if inventory is None else
                                     snapshot_parts(cluster, inventory, traffic, keyframe_finder(cluster)))
    return status, reason, inventory, traffic, packed, counts, health, bases


def snapshot_take(cluster: Cluster, *, now: float | None = None, respect_backoff: bool = False,
                  window: int | None = None) -> TakeResult:
    """Snapshot ``cluster`` for the bucket holding ``now`` (default: the clock). Never raises for a
    cluster that cannot be read: that is an ``unreachable``/``partial`` record with the reason."""
    at = int(time.time() if now is None else now)
    schedule = schedule_for(cluster)
    if respect_backoff:
        if not schedule.enabled:
            return TakeResult(None, False, "disabled")
        if schedule.next_attempt_at and schedule.next_attempt_at.timestamp() > at:
            return TakeResult(None, False, f"backing off until {schedule.next_attempt_at:%H:%M:%S} UTC")
    interval = interval_of(schedule)
    window = int(window or settings.MESHDECK_SNAPSHOT_WINDOW)
    bucket = bucket_of(at, interval)
    found = Snapshot.objects.filter(cluster=cluster, bucket=bucket).first()
    if found is not None:
        return TakeResult(found, False, "exists")
    token = uuid.uuid4().hex
    key = _lock_key(cluster, bucket)
    # Held while the cluster is read (the unique constraint settles any race the lock misses).
    if not _lock(key, token, timeout=max(interval * 2, 120), cluster=cluster):
        return TakeResult(None, False, "locked")
    started = time.perf_counter()
    try:
        # Reading a big cluster and window creates a few hundred thousand objects without cycles (the
        # inventory, ~100k decoded series, the split rows): the collector is held off until the parts
        # are packed, one collection after instead of one every few thousand objects, each traversing
        # everything read so far (0.36 s of a profiled 2.35 s on the large mesh).
        with gc_paused():
            status, reason, inventory, traffic, packed, counts, health, bases = _read(cluster, window, at)
        try:
            with transaction.atomic():
                parts = _store_parts(packed, bases)
                taken_at = dt.datetime.fromtimestamp(at, dt.UTC)
                previous = (Snapshot.objects.filter(cluster=cluster, taken_at__lt=taken_at)
                            .order_by("-taken_at").values_list("pk", flat=True).first())
                try:
                    with transaction.atomic():
                        snapshot = Snapshot.objects.create(
                            cluster=cluster, bucket=bucket, taken_at=taken_at,
                            status=status, reason=reason, window=window, counts=counts, health=health,
                            duration_ms=int((time.perf_counter() - started) * 1000), **parts)
                except IntegrityError:
                    return TakeResult(Snapshot.objects.filter(cluster=cluster, bucket=bucket).first(), False,
                                      "exists")
                _backoff(schedule, status, reason, at, interval)
                transaction.on_commit(lambda: snapshot_committed.send(
                    sender=Snapshot, cluster_id=cluster.pk, snapshot_id=snapshot.pk, previous_id=previous,
                    taken_at=snapshot.taken_at, status=status))
        except (OperationalError, DataError) as exc:
            return _not_stored(schedule, exc, at, interval, cluster)
        if status != Snapshot.Status.OK:
            log.warning("snapshot of %s is %s: %s", cluster.name, status, reason)
        return TakeResult(snapshot, True)
    finally:
        _unlock(key, token)


def snapshot_take_by_hand(cluster: Cluster, *, actor=None) -> TakeResult:
    """``manage.py snapshot take``: audited."""
    result = snapshot_take(cluster)
    if result.created and result.snapshot is not None:
        with transaction.atomic():
            audit_record("snapshot.take", actor=actor,
                         target=Target(type="cluster", cluster=cluster.name, name=cluster.name, id=str(cluster.pk)),
                         after={"snapshot": result.snapshot.pk, "status": result.snapshot.status})
    return result


# --- retention ---------------------------------------------------------------------------------

def keep_ids(rows: list[tuple[int, float]], now: float, tiers: list[tuple[int, int]], max_age: int) -> set[int]:
    """Pure: which snapshots to keep. ``rows`` = (id, taken_at unix s); ``tiers`` = [(age s, keep one
    per this many s)] sorted by age: younger than the first age everything is kept; within tier i the
    first snapshot of every period; older than ``max_age``, nothing."""
    keep: set[int] = set()
    seen: set[tuple[int, int]] = set()
    for pk, taken in sorted(rows, key=lambda r: (r[1], r[0])):
        age = now - taken
        if age > max_age:
            continue
        period = 0
        for tier_age, tier_period in tiers:
            if age > tier_age:
                period = tier_period
        if not period:
            keep.add(pk)
            continue
        slot = (period, int(taken) // period)
        if slot not in seen:
            seen.add(slot)
            keep.add(pk)
    return keep


def retention_tiers() -> tuple[list[tuple[int, int]], int]:
    return ([(settings.MESHDECK_SNAPSHOT_KEEP_ALL_HOURS * 3600, 3600),
             (settings.MESHDECK_SNAPSHOT_KEEP_HOURLY_DAYS * 86400, 86400)],
            settings.MESHDECK_SNAPSHOT_KEEP_DAILY_DAYS * 86400)


def snapshots_prune(*, now: float | None = None) -> dict[str, int]:
    """Downsample and drop old snapshots (MESHDECK_SNAPSHOT_KEEP_*), then the parts nothing uses."""
    now = time.time() if now is None else now
    tiers, max_age = retention_tiers()
    deleted = 0
    for cluster_id in Cluster.objects.values_list("pk", flat=True):
        rows = [(pk, t.timestamp()) for pk, t in
                Snapshot.objects.filter(cluster_id=cluster_id).values_list("pk", "taken_at")]
        drop = {pk for pk, _ in rows} - keep_ids(rows, now, tiers, max_age)
        if drop:
            deleted += Snapshot.objects.filter(pk__in=drop).delete()[0]
    with transaction.atomic():
        used = Q()
        for field in ("inventory", "config", "findings", "traffic_shape", "traffic_values"):
            used |= Q(sha256__in=Snapshot.objects.filter(**{f"{field}__isnull": False}).values(f"{field}_id"))
        # and the key frames those rates are stored against
        used |= Q(sha256__in=SnapshotPart.objects.filter(
            sha256__in=Snapshot.objects.filter(traffic_values__isnull=False).values("traffic_values_id"),
            base__isnull=False).values("base_id"))
        young = dt.datetime.fromtimestamp(now - 600, dt.UTC)  # may be in a snapshot being stored now
        unused = SnapshotPart.objects.exclude(used).filter(created_at__lt=young)
        # parts stored against a key frame first: the key frame is protected while they exist
        parts = unused.filter(base__isnull=False).delete()[0] + unused.delete()[0]
    return {"snapshots": deleted, "parts": parts}
