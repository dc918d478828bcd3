"""The simulated mesh: one cluster's objects, the traffic they cause, and Istio's telemetry of it.

Pure Python (no Django). ``SimulatedMesh`` is the public face and holds the
lock; each job lives in its own module:

* ``state.py``: the objects and their resourceVersions (the API server's part),
  with ``pods.py`` for sidecar injection and pod replacement;
* ``schema.py``: the CRD schema checks a write passes first;
* ``traffic.py`` (with ``routing.py``): where every call goes under the config;
* ``series.py``: which Istio series the flows produce, and their rates;
* ``timeline.py``: counters as the exact integral of those rates over time;
* ``exposition.py``: the Prometheus text format.

Every write that can change traffic (Istio object applied/deleted, pods
replaced) takes effect at one instant, ``at`` (default ``clock()``): the
traffic is recomputed and the timeline opens a new segment there. Replaying
the same writes at the same instants on a mesh built from the same topology,
seed and start gives identical resourceVersions, pods, series and rates
(``store.py`` relies on it to share one mesh between processes).

Label conventions follow Istio's stats filter (istio/proxy ``istio_stats``);
see docs/simulator.md for the table.
"""
from __future__ import annotations

import threading
import time
from collections.abc import Callable, Collection, Iterable
from typing import Any

from apps.clusters.gateway import ObjectInvalid
from apps.clusters.inventory import Inventory, IstioObject, Namespace, Service, Workload

from . import exposition
from .pods import WorkloadState, should_inject
from .scenario import Scenario
from .schema import validate_manifest
from .series import SeriesTable, compute_rates
from .state import ClusterState, public
from .timeline import RateSample, Timeline
from .topologies import build as build_topology
from .traffic import compute_flows

__all__ = ["SimulatedMesh", "RateSample", "should_inject", "validate_manifest"]


class SimulatedMesh:
    """One simulated cluster. Thread-safe; all public methods take the lock."""

    def __init__(
        self,
        topology: str | Scenario = "demo",
        seed: int = 1,
        clock: Callable[[], float] = time.time,
        start: float | None = None,
    ):
        self.seed = seed
        self.clock = clock
        self._lock = threading.RLock()
        self.scenario = topology if isinstance(topology, Scenario) else build_topology(topology, seed=seed)
        self.topology = self.scenario.name if isinstance(topology, Scenario) else topology
        self.start = float(clock() if start is None else start)
        self.state = ClusterState(self.scenario, seed, self.start)
        self._series = SeriesTable()
        self._timeline = Timeline()
        self._recompute(self.start)

    # The objects, for benchmarks and tests that count them.
    @property
    def namespaces(self) -> dict[str, Namespace]:
        return self.state.namespaces

    @property
    def workloads(self) -> dict[str, WorkloadState]:
        return self.state.workloads

    @property
    def services(self) -> dict[str, Service]:
        return self.state.services

    @property
    def istio(self) -> dict[tuple[str, str, str], IstioObject]:
        return self.state.istio

    def now(self) -> float:
        return float(self.clock())

    def _recompute(self, at: float) -> None:
        self._timeline.record(at, compute_rates(compute_flows(self.state), self._series))

    def _when(self, at: float | None) -> float:
        return self.now() if at is None else float(at)

    # ----------------------------------------------------------- writes
    def apply_istio_object(
        self, manifest: dict[str, Any], resource_version: str | None = None, *, at: float | None = None
    ) -> IstioObject:
        """Create or replace; ``resource_version`` (or metadata.resourceVersion) is a precondition."""
        validate_manifest(manifest)
        with self._lock:
            now = self._when(at)
            obj, previous = self.state.apply_istio_object(manifest, resource_version, now)
            try:
                self._recompute(now)
            except (KeyError, TypeError, ValueError, AttributeError) as exc:
                # A spec the schema let through but the traffic model cannot read: refuse it whole.
                # Nothing was recorded on the timeline yet, so restoring the object undoes it all.
                self.state.restore_istio_object((obj.kind, obj.namespace, obj.name), previous)
                raise ObjectInvalid(f"{obj.kind} {obj.namespace}/{obj.name} cannot be applied: {exc}") from exc
            return public(obj)

    def delete_istio_object(
        self, kind: str, namespace: str, name: str, resource_version: str | None = None, *, at: float | None = None
    ) -> None:
        with self._lock:
            now = self._when(at)
            self.state.delete_istio_object(kind, namespace, name, resource_version)
            self._recompute(now)

    def patch_namespace_labels(
        self, name: str, labels: dict[str, str | None], resource_version: str | None = None, *, at: float | None = None
    ) -> Namespace:
        """Like ``kubectl label ns``: running pods keep (or lack) their sidecar until restarted,
        so traffic does not change and ``at`` is accepted only for a uniform replay."""
        with self._lock:
            return self.state.patch_namespace_labels(name, labels, resource_version)

    def patch_workload_template(
        self,
        kind: str,
        namespace: str,
        name: str,
        labels: dict[str, str | None] | None = None,
        annotations: dict[str, str | None] | None = None,
        resource_version: str | None = None,
        *,
        at: float | None = None,
    ) -> Workload:
        """Patch the pod template; the pods are replaced at once (injection rules re-evaluated)."""
        with self._lock:
            now = self._when(at)
            if self.state.patch_workload_template(kind, namespace, name, labels, annotations, resource_version, now):
                self._recompute(now)
            return self.state.get_workload(kind, namespace, name)

    def restart_workload(self, kind: str, namespace: str, name: str, *, at: float | None = None) -> Workload:
        """``kubectl rollout restart``: new pods, injection rules re-evaluated."""
        with self._lock:
            now = self._when(at)
            self.state.restart_workload(kind, namespace, name, now)
            self._recompute(now)
            return self.state.get_workload(kind, namespace, name)

    # ----------------------------------------------------------- reads
    def list_namespaces(self) -> list[Namespace]:
        with self._lock:
            return self.state.list_namespaces()

    def list_workloads(self, namespace: str | None = None) -> list[Workload]:
        with self._lock:
            return self.state.list_workloads(namespace)

    def get_workload(self, kind: str, namespace: str, name: str) -> Workload:
        with self._lock:
            return self.state.get_workload(kind, namespace, name)

    def list_services(self, namespace: str | None = None) -> list[Service]:
        with self._lock:
            return self.state.list_services(namespace)

    def list_istio_objects(self, namespace: str | None = None, kinds: list[str] | None = None) -> list[IstioObject]:
        with self._lock:
            return self.state.list_istio_objects(namespace, kinds)

    def get_istio_object(self, kind: str, namespace: str, name: str) -> IstioObject:
        with self._lock:
            return self.state.get_istio_object(kind, namespace, name)

    def inventory(self, namespaces: list[str] | None = None) -> Inventory:
        with self._lock:
            return self.state.inventory(namespaces)

    # ----------------------------------------------------------- telemetry
    def series_rates(
        self, window_seconds: float, end: float | None = None, metrics: Collection[str] | None = None
    ) -> list[RateSample]:
        """Per-second rate over ``[end - window, end]`` of every counter series the exporter exposes."""
        if window_seconds <= 0:
            raise ValueError("window_seconds must be positive")
        with self._lock:
            end = self.now() if end is None else float(end)
            return self._timeline.window_rates(window_seconds, end, self._series, self.state.pods, metrics)

    def _counter_rows(self, at: float | None):
        with self._lock:
            at = self.now() if at is None else float(at)
            return self._timeline.counter_rows(at, self._series, self.state.pods)

    def counters(self, at: float | None = None) -> list[tuple[str, tuple[tuple[str, str], ...], float]]:
        """(metric, label items, value) of every series a scrape at ``at`` would show."""
        return exposition.counter_values(self._counter_rows(at))

    def render_exposition(self, at: float | None = None) -> str:
        """Prometheus text format (0.0.4) of every series at ``at``."""
        return "".join(self.iter_exposition(at))

    def iter_exposition(self, at: float | None = None, chunk_series: int = 500) -> Iterable[str]:
        """``render_exposition`` in chunks (a large mesh renders to hundreds of MB)."""
        return exposition.iter_exposition(self._counter_rows(at), chunk_series)

    def series_count(self, at: float | None = None) -> dict[str, int]:
        return exposition.series_count(self._counter_rows(at))
