"""Stored sources: the inventory and traffic of a past moment, for every read that takes ``?at=``.

Registered with ``apps.clusters.sources.register_stored_resolver`` (the apps
whose views take ``at`` sit below this one and cannot import it).

- ``mesh_at(cluster, at)``: the inventory and Istio config of the nearest
  snapshot at or before ``at`` that has them (``ok`` or ``partial``).
- ``graph_at(cluster, at, duration)``: also its traffic (``ok`` snapshots
  only). A duration longer than the snapshot's window is built from the
  snapshots whose windows cover it (``store.covering``); the answer says whether
  that is exact.
- ``latest(cluster, duration)``: the latest snapshot while it is fresh
  (``MESHDECK_SNAPSHOT_FRESH_SECONDS``) and holds that window: what the
  auto-refreshing graph page gets, instead of a Prometheus round trip per viewer.
"""
from __future__ import annotations

import datetime as dt
import time
from typing import Any

from django.conf import settings

from apps.clusters.sources import StoredMeshSource
from apps.core.errors import MeshdeckError
from apps.graphs.sources import GraphSource, stored_source

from . import store
from .models import Snapshot

WITH_INVENTORY = (Snapshot.Status.OK, Snapshot.Status.PARTIAL)


class NoSnapshot(MeshdeckError):
    code = "no_snapshot"
    http_status = 404


def _utc(at: float) -> dt.datetime:
    return dt.datetime.fromtimestamp(at, dt.UTC)


def snapshot_json(snapshot: Snapshot, reference: float) -> dict[str, Any]:
    taken = snapshot.taken_at.timestamp()
    return {"id": snapshot.pk, "taken_at": taken, "age_seconds": round(max(0.0, reference - taken), 3)}


def nearest(cluster, at: float, statuses=WITH_INVENTORY) -> Snapshot:
    snap = (Snapshot.objects.filter(cluster=cluster, status__in=statuses, taken_at__lte=_utc(at))
            .order_by("-taken_at").first())
    if snap is None:
        what = "with traffic " if statuses == (Snapshot.Status.OK,) else ""
        raise NoSnapshot(f"no snapshot {what}of cluster {cluster.name} at or before unix time {at:.0f}; "
                         f"see GET /api/clusters/{cluster.name}/snapshots/ for the times stored")
    return snap


def mesh_source_for(snapshot: Snapshot, reference: float, extra: dict | None = None) -> StoredMeshSource:
    details = {"snapshot": snapshot_json(snapshot, reference), **(extra or {})}
    return StoredMeshSource(snapshot.cluster, store.inventory_of(snapshot), snapshot.taken_at.timestamp(),
                            label=f"snapshot #{snapshot.pk}", details=details)


def graph_source_for(snapshots: list[Snapshot], reference: float, duration: int,
                     extra: dict | None = None) -> GraphSource:
    first = snapshots[0]
    if len(snapshots) == 1:
        traffic = store.traffic_of(first)
    else:
        key = ("merged", duration, tuple(s.pk for s in snapshots))
        traffic = store._traffic.get_or_make(key, lambda: store.merge_windows(
            [store.traffic_of(s) for s in snapshots], window=duration, query_time=first.taken_at.timestamp()))
    details = {"snapshot": snapshot_json(first, reference), **(extra or {})}
    return stored_source(first.cluster, inventory=store.inventory_of(first), traffic=traffic,
                         at=first.taken_at.timestamp(), label=f"snapshot #{first.pk}", details=details)


class HistoryResolver:
    def mesh_at(self, cluster, at: float) -> StoredMeshSource:
        return mesh_source_for(nearest(cluster, at), at)

    def graph_at(self, cluster, at: float, duration: int) -> GraphSource:
        snap = nearest(cluster, at, (Snapshot.Status.OK,))
        if duration <= snap.window:
            return graph_source_for([snap], at, snap.window, {"window": {"exact": True, "snapshots": [snap.pk],
                                                                          "coverage": 1.0}})
        start = _utc(snap.taken_at.timestamp() - duration)
        candidates = list(Snapshot.objects.filter(cluster=cluster, status=Snapshot.Status.OK,
                                                  taken_at__lte=snap.taken_at, taken_at__gt=start)
                          .order_by("-taken_at").only("pk", "cluster", "taken_at", "window", "traffic_shape",
                                                      "traffic_values", "inventory", "config", "status"))
        cover = store.covering(candidates, duration)
        window_info = {"exact": cover.exact, "snapshots": [s.pk for s in cover.snapshots],
                       "coverage": round(cover.coverage, 4)}
        return graph_source_for(cover.snapshots, at, duration, {"window": window_info})

    def latest(self, cluster, duration: int) -> GraphSource | None:
        fresh = settings.MESHDECK_SNAPSHOT_FRESH_SECONDS
        if not fresh:
            return None
        now = time.time()
        snap = (Snapshot.objects.filter(cluster=cluster, status=Snapshot.Status.OK, taken_at__gte=_utc(now - fresh))
                .order_by("-taken_at").first())
        if snap is None or snap.window != duration:
            return None
        return graph_source_for([snap], now, snap.window, {"window": {"exact": True, "snapshots": [snap.pk],
                                                                      "coverage": 1.0}})
