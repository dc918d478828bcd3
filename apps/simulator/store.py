"""A simulated cluster shared by every process: the pure mesh, following a log in the database.

Each process keeps one ``SimulatedMesh`` per simulated cluster in memory, built
from the cluster's ``SimulatedClusterState`` (topology, seed, start time).
Every read first catches up with the cluster's ``SimulatedMeshEvent`` log (one
indexed query), replaying new events at the instants they took effect. Since
the mesh is deterministic, every process ends up with identical
resourceVersions, pods, series and rates.

A write, inside one transaction:

1. increments the state row's ``sequence``, which locks that row (PostgreSQL and
   SQLite alike), so writers of one cluster go one at a time;
2. catches up with every event before its own;
3. applies the change to the in-memory mesh, whose precondition checks
   (``ObjectConflict``, ``ObjectNotFound``) run first and change nothing when
   they fail;
4. appends the event with the instant it took effect (never earlier than the
   previous event's).

If the transaction is later rolled back, the process's copy is ahead of the
log; the next catch-up notices (the event it applied last is gone or another
one stands at its sequence) and rebuilds from the log.
"""
from __future__ import annotations

import copy
import json
import logging
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from django.db import transaction
from django.db.models import F

from apps.clusters.gateway import ObjectConflict, ObjectInvalid, ObjectNotFound
from apps.clusters.inventory import IstioObject, Namespace, Workload

from . import registry
from .mesh import SimulatedMesh
from .models import SimulatedClusterState, SimulatedMeshEvent
from .schema import validate_manifest

Kind = SimulatedMeshEvent.Kind
LabelPatch = dict[str, str | None]  # None removes the key
logger = logging.getLogger(__name__)

# Reads a shared mesh answers from its caught-up in-memory copy.
_READS = frozenset({
    "series_rates", "counters", "render_exposition", "iter_exposition", "series_count", "inventory",
    "list_namespaces", "list_workloads", "get_workload", "list_services", "list_istio_objects", "get_istio_object",
})


@dataclass
class _Copy:
    """This process's copy of one cluster's mesh, and how far into the log it is."""

    mesh: SimulatedMesh
    sequence: int = 0
    last_uid: uuid.UUID | None = None
    last_at: float = 0.0
    lock: threading.RLock = field(default_factory=threading.RLock)


_copies: dict[uuid.UUID, _Copy] = {}
_copies_lock = threading.Lock()


def forget_meshes() -> None:
    """Drop every in-memory copy (tests; the next read rebuilds from the database)."""
    with _copies_lock:
        _copies.clear()


registry.on_reset(forget_meshes)


def state_for_cluster(cluster) -> SimulatedClusterState:
    """The cluster's state row, created on first use. A cluster whose topology was changed
    starts over: its old state and log are replaced."""
    topology = cluster.simulator_topology or "demo"
    state = SimulatedClusterState.objects.filter(cluster_id=cluster.pk).first()
    if state is not None and state.topology == topology:
        return state
    with transaction.atomic():
        if state is not None:
            SimulatedClusterState.objects.filter(pk=state.pk, topology=state.topology).delete()
        state, _ = SimulatedClusterState.objects.get_or_create(
            cluster_id=cluster.pk,
            defaults={"topology": topology, "seed": 1, "started_at": time.time() - registry.HISTORY_SECONDS},
        )
    return state


def mesh_from_log(state: SimulatedClusterState, clock: Callable[[], float] = time.time) -> SimulatedMesh:
    """A new copy built from the database alone: what a process that never saw the writes holds."""
    copy_ = _Copy(PersistentMesh(state, clock=clock)._fresh_mesh())
    PersistentMesh(state, clock=clock)._catch_up(copy_)
    return copy_.mesh


def _replay(mesh: SimulatedMesh, kind: str, payload: dict[str, Any], at: float, *, resource_version: str | None = None):
    """Apply one logged change (with the writer's precondition, if any) at ``at``."""
    if kind == Kind.APPLY:
        return mesh.apply_istio_object(payload["manifest"], resource_version, at=at)
    if kind == Kind.DELETE:
        return mesh.delete_istio_object(payload["kind"], payload["namespace"], payload["name"], resource_version, at=at)
    if kind == Kind.LABEL_NAMESPACE:
        return mesh.patch_namespace_labels(payload["name"], payload["labels"], resource_version, at=at)
    if kind == Kind.PATCH_TEMPLATE:
        return mesh.patch_workload_template(
            payload["kind"], payload["namespace"], payload["name"], labels=payload.get("labels"),
            annotations=payload.get("annotations"), resource_version=resource_version, at=at,
        )
    if kind == Kind.RESTART:
        return mesh.restart_workload(payload["kind"], payload["namespace"], payload["name"], at=at)
    raise ValueError(f"unknown simulator event kind {kind!r}")


class PersistentMesh:
    """A simulated cluster's mesh as every process sees it: ``SimulatedMesh``'s reads and writes,
    backed by the database. Thread-safe."""

    def __init__(self, state: SimulatedClusterState, clock: Callable[[], float] = time.time):
        self.state_id = state.pk
        self.uid = state.uid
        self.topology = state.topology
        self.seed = state.seed
        self.start = state.started_at
        self.clock = clock

    def now(self) -> float:
        return float(self.clock())

    def __getattr__(self, name: str) -> Any:
        if name in _READS:
            return getattr(self.synced(), name)
        raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")

    # ---------------------------------------------------------------- following the log
    def _copy(self) -> _Copy:
        with _copies_lock:
            found = _copies.get(self.uid)
        if found is None:
            fresh = _Copy(self._fresh_mesh())  # built outside the lock: a large mesh takes a while
            with _copies_lock:
                found = _copies.setdefault(self.uid, fresh)
        return found

    def _fresh_mesh(self) -> SimulatedMesh:
        return SimulatedMesh(self.topology, seed=self.seed, clock=self.clock, start=self.start)

    def _catch_up(self, copy_: _Copy, until: int | None = None) -> None:
        """Replay the events after the copy's; rebuild first if the log no longer holds what it applied."""
        events = SimulatedMeshEvent.objects.filter(state_id=self.state_id, sequence__gte=max(copy_.sequence, 1))
        if until is not None:
            events = events.filter(sequence__lte=until)
        rows = list(events.order_by("sequence").values_list("sequence", "uid", "at", "kind", "payload"))
        if copy_.sequence:
            if rows and rows[0][0] == copy_.sequence and rows[0][1] == copy_.last_uid:
                rows = rows[1:]
            else:
                copy_.mesh, copy_.sequence, copy_.last_uid, copy_.last_at = self._fresh_mesh(), 0, None, 0.0
                self._catch_up(copy_, until)
                return
        for sequence, event_uid, at, kind, payload in rows:
            try:
                _replay(copy_.mesh, kind, json.loads(payload), at)
            except (ObjectConflict, ObjectNotFound, ObjectInvalid) as exc:
                # Its writer succeeded on the same state, so only a change of this code can get here:
                # skip the event rather than make the cluster unreadable.
                logger.warning("simulator event %s#%s (%s) no longer applies: %s", self.state_id, sequence, kind, exc)
            copy_.sequence, copy_.last_uid, copy_.last_at = sequence, event_uid, at

    def synced(self) -> SimulatedMesh:
        """This process's copy of the mesh, caught up with the log."""
        copy_ = self._copy()
        with copy_.lock:
            self._catch_up(copy_)
            return copy_.mesh

    # ---------------------------------------------------------------- writes
    def _write(self, kind: str, payload: dict[str, Any], resource_version: str | None = None):
        try:
            text = json.dumps(payload, separators=(",", ":"), allow_nan=False)
        except (TypeError, ValueError) as exc:
            raise ObjectInvalid(f"the change cannot be stored: {exc}") from exc
        decoded = json.loads(text)  # apply exactly what every other process will replay
        with transaction.atomic():
            if not SimulatedClusterState.objects.filter(pk=self.state_id).update(sequence=F("sequence") + 1):
                raise ObjectConflict("This simulated cluster was started over meanwhile (its topology changed); "
                                     "reload and try again.")
            sequence = SimulatedClusterState.objects.values_list("sequence", flat=True).get(pk=self.state_id)
            copy_ = self._copy()
            with copy_.lock:
                self._catch_up(copy_, until=sequence - 1)
                at = max(self.now(), copy_.last_at, self.start)
                try:
                    result = _replay(copy_.mesh, kind, decoded, at, resource_version=resource_version)
                except (ObjectConflict, ObjectNotFound):
                    raise  # checked before anything changed
                except BaseException:
                    # The copy may be part-changed (a counter moved); rebuild it from the log next time.
                    copy_.sequence, copy_.last_uid = -1, None
                    raise
                event = SimulatedMeshEvent.objects.create(
                    state_id=self.state_id, sequence=sequence, at=at, kind=kind, payload=text
                )
                copy_.sequence, copy_.last_uid, copy_.last_at = sequence, event.uid, at
            return result

    def apply_istio_object(self, manifest: dict[str, Any], resource_version: str | None = None) -> IstioObject:
        validate_manifest(manifest)
        meta = manifest.get("metadata") or {}
        want_rv = resource_version or str(meta.get("resourceVersion") or "") or None
        stored = copy.deepcopy(manifest)
        stored["metadata"].pop("resourceVersion", None)  # a precondition for the writer, not part of the change
        return self._write(Kind.APPLY, {"manifest": stored}, want_rv)

    def delete_istio_object(self, kind: str, namespace: str, name: str, resource_version: str | None = None) -> None:
        self._write(Kind.DELETE, {"kind": kind, "namespace": namespace, "name": name}, resource_version)

    def patch_namespace_labels(self, name: str, labels: LabelPatch, resource_version: str | None = None) -> Namespace:
        return self._write(Kind.LABEL_NAMESPACE, {"name": name, "labels": labels}, resource_version)

    def patch_workload_template(self, kind: str, namespace: str, name: str, labels: LabelPatch | None = None,
                                annotations: LabelPatch | None = None, resource_version: str | None = None) -> Workload:
        payload = {"kind": kind, "namespace": namespace, "name": name, "labels": labels, "annotations": annotations}
        return self._write(Kind.PATCH_TEMPLATE, payload, resource_version)

    def restart_workload(self, kind: str, namespace: str, name: str) -> Workload:
        return self._write(Kind.RESTART, {"kind": kind, "namespace": namespace, "name": name})

