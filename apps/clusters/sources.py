"""Where a read gets the mesh from: the live cluster, or a stored inventory of a past moment.

Selectors (pages, APIs, the graph) take a ``MeshSource`` and never reach for
the gateway themselves, so the same code answers "now" (``LiveMeshSource``,
through ``gateway_for``) and "at 11:14" (``StoredMeshSource`` over an
``Inventory`` restored with ``Inventory.from_dict``, e.g. from a snapshot).

Views make the live source in one place, ``live_mesh_source(cluster)`` (or the
graphs app's ``live_source(cluster)``, which adds the traffic half); the
history app makes stored ones.
"""
from __future__ import annotations

import datetime as dt
import threading
import time
from collections.abc import Callable
from typing import Any, Protocol

from apps.core.timeparse import parse_unix_time

from . import gateways
from .inventory import Inventory, Namespace

LIVE, SNAPSHOT = "live", "snapshot"


class MeshSource(Protocol):
    """What a read needs to know about where its mesh comes from."""

    @property
    def cluster(self) -> Any: ...

    @property
    def kind(self) -> str:
        """LIVE or SNAPSHOT."""
        ...

    @property
    def at(self) -> float | None:
        """Unix seconds the inventory describes; None: live (read now)."""
        ...

    @property
    def label(self) -> str:
        """Short: "live", "snapshot #12"."""
        ...

    def inventory(self) -> Inventory:
        """The whole cluster (every namespace); authorization is the selectors' job."""
        ...

    def namespaces(self) -> list[Namespace]:
        """The cluster's namespaces (cheaper than the whole inventory where the source can)."""
        ...

    @property
    def inventory_at(self) -> float:
        """Unix seconds the inventory describes: when it was read (live), or when it was taken (stored)."""
        ...

    def describe(self, requested_at: float | None = None) -> str:
        """What to tell the user about where the answer comes from."""
        ...


def clock_time(at: float, reference: float | None = None) -> str:
    """11:14:05 UTC, with the date when it is not ``reference``'s (default: today)."""
    moment = dt.datetime.fromtimestamp(at, dt.UTC)
    ref = dt.datetime.fromtimestamp(time.time() if reference is None else reference, dt.UTC)
    return moment.strftime("%H:%M:%S UTC" if moment.date() == ref.date() else "%Y-%m-%d %H:%M:%S UTC")


def how_long(seconds: float) -> str:
    """3 min, 42 s, 2 h 5 min, 3 days."""
    s = int(round(abs(seconds)))
    if s < 120:
        return f"{s} s"
    if s < 7200:
        return f"{s // 60} min"
    if s < 3 * 86400:
        return f"{s // 3600} h {s % 3600 // 60} min"
    return f"{s // 86400} days"


class LiveMeshSource:
    """The cluster as its gateway reads it now. The inventory is read once per source (one request)."""

    kind, label = LIVE, "live"
    at: float | None = None

    def __init__(self, cluster, *, clock: Callable[[], float] = time.time):
        self.cluster = cluster
        self._clock = clock
        self._lock = threading.Lock()
        self._inventory: Inventory | None = None
        self._read_at: float | None = None

    def inventory(self) -> Inventory:
        with self._lock:
            if self._inventory is None:
                read_at = self._clock()
                # the cluster's shared gateway (gateway_for): not ours to close
                self._inventory = gateways.gateway_for(self.cluster).inventory()
                self._read_at = read_at
            return self._inventory

    def namespaces(self) -> list[Namespace]:
        if self._inventory is not None:
            return list(self._inventory.namespaces)
        return gateways.gateway_for(self.cluster).list_namespaces()

    @property
    def inventory_at(self) -> float:
        return self._read_at if self._read_at is not None else self._clock()

    def describe(self, requested_at: float | None = None) -> str:
        return "live"

    def __repr__(self) -> str:
        return f"<LiveMeshSource {getattr(self.cluster, 'name', self.cluster)}>"


class StoredMeshSource:
    """A stored inventory of the cluster as it was at ``at`` (e.g. a snapshot's).

    ``label`` names it for people ("snapshot #12"); ``details`` is what the API
    adds to its ``source`` field (the history app: ``{"snapshot": {"id": 12,
    "taken_at": ...}}``).
    """

    kind = SNAPSHOT

    def __init__(self, cluster, inventory: Inventory, at: float, *, label: str = "snapshot",
                 details: dict[str, Any] | None = None):
        self.cluster = cluster
        self._inventory = inventory
        self.at = float(at)
        self.label = label
        self.details = dict(details or {})

    def inventory(self) -> Inventory:
        return self._inventory

    def namespaces(self) -> list[Namespace]:
        return list(self._inventory.namespaces)

    @property
    def inventory_at(self) -> float:
        return self.at

    def describe(self, requested_at: float | None = None) -> str:
        """"snapshot #12 taken 11:14:05 UTC, 3 min before the requested time"."""
        text = f"{self.label} taken {clock_time(self.at, requested_at)}"
        if requested_at is None:
            return text
        gap = requested_at - self.at
        if abs(gap) < 1:
            return text + ", at the requested time"
        return text + f", {how_long(gap)} {'before' if gap > 0 else 'after'} the requested time"

    def __repr__(self) -> str:
        return f"<StoredMeshSource {getattr(self.cluster, 'name', self.cluster)} {self.label} at {self.at:.0f}>"


def live_mesh_source(cluster) -> LiveMeshSource:
    """The live source for one request (its inventory is read at most once)."""
    return LiveMeshSource(cluster)


# --- stored sources of past moments (the history app) ----------------------------------
# The history app sits above the apps whose views take ``?at=``, so it registers its resolver
# here from its AppConfig.ready(); without it, a past moment is a 404 saying so.


class StoredResolver(Protocol):
    def mesh_at(self, cluster, at: float) -> MeshSource:
        """Inventory (and config) of the snapshot at or before ``at``; a MeshdeckError (404) when none."""
        ...

    def graph_at(self, cluster, at: float, duration: int) -> Any:
        """A graphs ``GraphSource`` for the ``duration`` s ending at the snapshot at or before ``at``."""
        ...

    def latest(self, cluster, duration: int) -> Any | None:
        """A ``GraphSource`` over the latest snapshot when it is fresh and holds that window, else None."""
        ...


_stored_resolver: StoredResolver | None = None


def register_stored_resolver(resolver: StoredResolver) -> None:
    global _stored_resolver
    _stored_resolver = resolver


def stored_resolver() -> StoredResolver | None:
    return _stored_resolver


def parse_at(raw: Any) -> float | None:
    """``at=<unix seconds>`` of a request; None when absent. Bad input raises FieldInputError (400)."""
    return parse_unix_time(raw, "at")


def mesh_source_at(cluster, at: float) -> MeshSource:
    """The stored inventory of the snapshot at or before ``at`` (404 when there is none)."""
    from apps.core.errors import MeshdeckError

    if _stored_resolver is None:
        raise MeshdeckError("this portal keeps no history (the history app is not installed)",
                            code="no_snapshot", http_status=404)
    return _stored_resolver.mesh_at(cluster, at)
