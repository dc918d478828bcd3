"""Where the graph, health and workload traffic get their data: inventory + traffic.

``GraphSource`` pairs a ``MeshSource`` (``apps.clusters.sources``: the
inventory, live or stored) with a ``TrafficSource`` (this module: the
telemetry, live or stored) and is itself a ``MeshSource``, so one object goes
into ``mesh_view`` and into the graph selectors alike.

- ``live_source(cluster)``: the gateway (``gateway_for``) and the cluster's
  telemetry (``telemetry_for``: Prometheus, or the simulator), read now. The
  only place views get one.
- ``stored_source(cluster, inventory=..., traffic=..., at=...)``: an inventory
  and the ``MeshTraffic`` of one window, e.g. restored from a snapshot with
  ``Inventory.from_dict`` and ``MeshTraffic.from_dict``. It answers exactly the
  window it holds (duration ``traffic.window`` ending at ``traffic.query_time``).
"""
from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any, Protocol

from apps.clusters.inventory import Inventory, Namespace
from apps.clusters.sources import LIVE, SNAPSHOT, LiveMeshSource, MeshSource, StoredMeshSource, clock_time, how_long
from apps.core.delegation import Delegated

from .telemetry import factory
from .telemetry.base import TelemetrySource
from .telemetry.mesh_traffic import MeshTraffic
from .telemetry.plan import TrafficData, fetch_traffic
from .telemetry.series import Peer, fetch_series
from .telemetry.stored_telemetry import StoredTelemetry

# A live inventory read this long after the end of the traffic window is not
# "the same moment" any more: the answer says the inventory is the current one.
SAME_MOMENT_SECONDS = 60


class TrafficSource(Protocol):
    @property
    def kind(self) -> str:
        """LIVE or SNAPSHOT."""
        ...

    @property
    def fixed_window(self) -> tuple[int, float] | None:
        """The one window a stored source holds, as (duration, end); None: any window (live)."""
        ...

    def traffic(self, *, window: int, query_time: float, **plan: Any) -> TrafficData:
        """``fetch_traffic``-shaped: the rows of one graph (``plan`` = fetch_traffic's other arguments)."""
        ...

    def series(self, *, dest: Peer | None, source: Peer | None, duration: int, query_time: float) -> dict:
        """``fetch_series``-shaped: request rate, errors and quantiles over the window."""
        ...


class LiveTrafficSource:
    """The cluster's telemetry now: Prometheus (or the simulator) through ``telemetry_for``."""

    kind = LIVE
    fixed_window: tuple[int, float] | None = None

    def __init__(self, cluster) -> None:
        self.cluster = cluster
        self._telemetry: TelemetrySource | None = None

    @property
    def telemetry(self) -> TelemetrySource:
        if self._telemetry is None:  # on first use: a cluster without Prometheus raises only when asked
            self._telemetry = factory.telemetry_for(self.cluster)
        return self._telemetry

    def traffic(self, *, window: int, query_time: float, **plan: Any) -> TrafficData:
        return fetch_traffic(self.telemetry, window=window, query_time=query_time, **plan)

    def series(self, *, dest: Peer | None, source: Peer | None, duration: int, query_time: float) -> dict:
        return fetch_series(self.telemetry, dest=dest, source=source, duration=duration, query_time=query_time)


class StoredTrafficSource:
    """The traffic of one stored window; any other window is refused with a message saying which it holds."""

    kind = SNAPSHOT

    def __init__(self, traffic: MeshTraffic):
        self.stored = traffic
        self.fixed_window: tuple[int, float] | None = (traffic.window, traffic.query_time)
        self._stored_telemetry: StoredTelemetry | None = None

    @property
    def _telemetry(self) -> StoredTelemetry:
        # on first use: an answer already built from this window (the API keeps them) needs none
        if self._stored_telemetry is None:
            self._stored_telemetry = StoredTelemetry(self.stored)
        return self._stored_telemetry

    def traffic(self, *, window: int, query_time: float, **plan: Any) -> TrafficData:
        plan.pop("mesh_namespaces", None)  # sharding is for Prometheus; in memory it only repeats work
        return fetch_traffic(self._telemetry, window=window, query_time=query_time, **plan)

    def series(self, *, dest: Peer | None, source: Peer | None, duration: int, query_time: float) -> dict:
        return fetch_series(self._telemetry, dest=dest, source=source, duration=duration, query_time=query_time)


@dataclass
class GraphSource:
    """A ``MeshSource`` with the traffic that goes with it."""

    mesh: MeshSource
    traffic: TrafficSource

    # -- MeshSource, by delegation ----------------------------------------
    cluster = Delegated[Any]("mesh")
    kind = Delegated[str]("mesh")
    at = Delegated[float | None]("mesh")
    label = Delegated[str]("mesh")
    inventory_at = Delegated[float]("mesh")

    def inventory(self) -> Inventory:
        return self.mesh.inventory()

    def namespaces(self) -> list[Namespace]:
        return self.mesh.namespaces()

    def describe(self, requested_at: float | None = None) -> str:
        return self.mesh.describe(requested_at)

    # -- windows ------------------------------------------------------------
    def window(self, duration: int) -> tuple[int, int]:
        """(duration, end) for a read that asks for no particular time: the stored window, or the
        last ``duration`` seconds (live)."""
        if self.traffic.fixed_window is not None:
            stored_duration, end = self.traffic.fixed_window
            return stored_duration, int(round(end))
        return duration, int(time.time())


def live_source(cluster) -> GraphSource:
    """What a view reads ``cluster`` from now: its gateway and its telemetry."""
    return GraphSource(LiveMeshSource(cluster), LiveTrafficSource(cluster))


def stored_source(cluster, *, inventory: Inventory, traffic: MeshTraffic, at: float, label: str = "snapshot",
                  details: dict[str, Any] | None = None) -> GraphSource:
    """A source over stored data: the inventory as it was at ``at`` and the traffic window stored with it."""
    return GraphSource(StoredMeshSource(cluster, inventory, at, label=label, details=details),
                       StoredTrafficSource(traffic))


def source_json(source: MeshSource, traffic_at: float, requested_at: float | None = None) -> dict[str, Any]:
    """The ``source`` field of a graph answer: which source answered, and whether its inventory
    describes the moment of the traffic (``traffic_at``, the window's end). ``requested_at``: the
    time the user asked for, when a stored source was picked for it (default ``traffic_at``).

    A live source asked for a past window answers with Prometheus's traffic of
    that window and the inventory as it is now; ``inventoryMatchesTraffic`` is
    then false and ``description`` says what that means.
    """
    inventory_at = source.inventory_at
    matches = abs(inventory_at - traffic_at) <= SAME_MOMENT_SECONDS
    if source.kind == LIVE:
        description = "live"
        if not matches:
            description = (
                f"live: traffic of the window ending {clock_time(traffic_at)} from Prometheus, but the "
                f"inventory (namespaces, idle nodes, service entries) is the current one, read at "
                f"{clock_time(inventory_at)}, {how_long(inventory_at - traffic_at)} later; "
                "no snapshot of that moment was used"
            )
    else:
        description = source.describe(traffic_at if requested_at is None else requested_at)
    body: dict[str, Any] = {"kind": source.kind, "at": source.at, "inventoryAt": round(inventory_at, 3),
                            "trafficAt": traffic_at, "inventoryMatchesTraffic": matches,
                            "description": description}
    body.update(getattr(getattr(source, "mesh", source), "details", None) or {})
    return body
