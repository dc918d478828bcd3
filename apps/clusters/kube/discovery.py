"""Which Istio API version a cluster serves for each kind, remembered for a while.

A gateway lives as long as the process (one per cluster, shared by every
request), so what it learnt at first use would otherwise never change: Istio
installed or upgraded later would stay "not installed". The answer is kept
``DISCOVERY_TTL_SECONDS`` and then asked again; the connection test asks afresh.
"""
from __future__ import annotations

import threading
import time
from collections.abc import Callable

from ..inventory import ISTIO_KINDS

# Istio serves v1 since 1.22; older control planes only v1beta1 (v1alpha3 for networking).
ISTIO_VERSION_FALLBACKS = ("v1", "v1beta1", "v1alpha3")
DISCOVERY_TTL_SECONDS = 60.0

# (group, version) -> the resource names served there, or None when the group-version is not served
ResourcesOf = Callable[[str, str], "set[str] | None"]


class IstioDiscovery:
    """Thread-safe: one discovery runs at a time and its result is published whole."""

    def __init__(self, resources_of: ResourcesOf, ttl: float = DISCOVERY_TTL_SECONDS,
                 clock: Callable[[], float] = time.monotonic):
        self._resources_of = resources_of
        self._ttl = ttl
        self._clock = clock
        self._lock = threading.Lock()
        self._found: tuple[dict[str, str | None], float] | None = None  # (versions, when), replaced whole

    def served_version(self, kind: str) -> str | None:
        """The version served for ``kind`` (an Istio kind), or None when its CRD is not installed."""
        return self._snapshot()[kind]

    def forget(self) -> None:
        self._found = None

    def _fresh(self) -> dict[str, str | None] | None:
        found = self._found
        if found is not None and self._clock() - found[1] < self._ttl:
            return found[0]
        return None

    def _snapshot(self) -> dict[str, str | None]:
        versions = self._fresh()
        if versions is not None:
            return versions
        with self._lock:  # one discovery at a time; the others wait for its answer
            versions = self._fresh()
            if versions is None:
                versions = self._discover()  # raises (and keeps nothing) if the server cannot be read
                self._found = (versions, self._clock())
            return versions

    def _discover(self) -> dict[str, str | None]:
        resources: dict[tuple[str, str], set[str] | None] = {}

        def serves(group: str, version: str, plural: str) -> bool:
            if (group, version) not in resources:
                resources[(group, version)] = self._resources_of(group, version)
            return plural in (resources[(group, version)] or ())

        return {
            kind: next((v for v in ISTIO_VERSION_FALLBACKS if serves(group, v, plural)), None)
            for kind, (group, _, plural) in ISTIO_KINDS.items()
        }
