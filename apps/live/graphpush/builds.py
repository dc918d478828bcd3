"""This process's graph builds and deltas, shared by every socket that asks for the same thing.

A snapshot reaches every graph socket of its cluster at once. Sockets with the same key
(``spec.GraphKey``) await one build (the first asks, the others wait for the same future); each
then needs the delta from what it last received to the new answer, and sockets that last
received the same answer share that delta. Every answer and delta is encoded to JSON once.
So 1,000 browsers on the same view cost one build, one delta and one encoding per snapshot,
plus 1,000 socket writes.

Kept: the last ``KEEP_PER_KEY`` builds of each key (the bases of catch-up, ``since=``), at most
``MAX_BUILDS`` in all and ``MAX_DELTAS`` deltas, least recently used first out. A socket keeps a
reference to the answer it last received, so its next delta never depends on the cache.
Everything here runs on the process's event loop: no locks needed beyond its futures.
"""
from __future__ import annotations

import asyncio
import itertools
import json
import logging
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from ..graphdelta import graph_delta
from .build import GraphBuildError
from .spec import GraphKey

logger = logging.getLogger(__name__)

KEEP_PER_KEY = 4
MAX_BUILDS = 64
MAX_DELTAS = 256
LIVE_REUSE_SECONDS = 5.0  # a connect with no snapshot known yet reuses a live build this young

GRAPH_FULL = "graph.full"
GRAPH_DELTA = "graph.delta"
GRAPH_ERROR = "graph.error"

Builder = Callable[[GraphKey, int | None, float | None], Awaitable[dict[str, Any]]]


def _encode(message: dict) -> str:
    return json.dumps(message, separators=(",", ":"), allow_nan=False)


@dataclass(eq=False)
class Built:
    """One build: a graph answer (or why there is none) for a key at a snapshot (or live)."""

    key: GraphKey
    token: str  # "snapshot:<id>" or "live:<n>": what a delta is from and to
    snapshot: dict | None  # {"id", "previous_id", "taken_at", "status"}; None: built live
    answer: dict | None = None
    error: GraphBuildError | None = None
    built_at: float = field(default_factory=time.monotonic)
    _full_text: str | None = None
    _error_text: str | None = None

    def full_text(self) -> str:
        """The ``graph.full`` message carrying the whole answer (encoded once)."""
        if self._full_text is None:
            self._full_text = _encode({"type": GRAPH_FULL, "snapshot": self.snapshot, "graph": self.answer})
        return self._full_text

    def error_text(self) -> str:
        """The ``graph.error`` message: the snapshot came, its graph could not be built."""
        if self._error_text is None:
            assert self.error is not None, "error_text() of a build that succeeded"
            self._error_text = _encode({
                "type": GRAPH_ERROR, "snapshot": self.snapshot, "code": self.error.code,
                "status": self.error.status, "detail": self.error.detail,
            })
        return self._error_text


def snapshot_token(snapshot_id: int) -> str:
    return f"snapshot:{snapshot_id}"


class GraphBuilds:
    def __init__(self, builder: Builder):
        self._builder = builder
        self._done: OrderedDict[tuple[GraphKey, str], Built] = OrderedDict()
        self._inflight: dict[tuple[int, GraphKey, str], asyncio.Future] = {}
        self._deltas: OrderedDict[tuple, str] = OrderedDict()
        self._live: dict[GraphKey, Built] = {}
        self._latest: dict[int, dict] = {}
        self._live_numbers = itertools.count(1)
        self.builds = 0  # how many builds this process ran (tests, benchmarks)

    # --- which snapshot is the latest ------------------------------------------------

    def note_snapshot(self, cluster_id: int, snapshot: dict) -> None:
        """Remember the newest snapshot this process heard of for a cluster (ids only grow)."""
        current = self._latest.get(cluster_id)
        if current is None or snapshot["id"] >= current["id"]:
            self._latest[cluster_id] = snapshot

    def latest(self, cluster_id: int) -> dict | None:
        return self._latest.get(cluster_id)

    # --- builds -----------------------------------------------------------------------

    def cached(self, key: GraphKey, snapshot_id: int) -> Built | None:
        """The build of ``key`` at that snapshot, if this process still has it."""
        built = self._done.get((key, snapshot_token(snapshot_id)))
        if built is not None:
            self._done.move_to_end((key, built.token))
        return built

    async def at_snapshot(self, key: GraphKey, snapshot: dict) -> Built:
        """The build of ``key`` at ``snapshot``: built once in this process, however many ask."""
        token = snapshot_token(snapshot["id"])
        built = self._done.get((key, token))
        if built is not None:
            self._done.move_to_end((key, token))
            return built
        return await self._shared_build(key, token, snapshot)

    async def live(self, key: GraphKey) -> Built:
        """A build of ``key`` now, for a socket that connects before this process has heard of
        any snapshot of the cluster: shared with the sockets of the next few seconds."""
        built = self._live.get(key)
        if built is not None and built.error is None and time.monotonic() - built.built_at < LIVE_REUSE_SECONDS:
            return built
        built = await self._shared_build(key, "live", None)
        now = time.monotonic()
        for stale in [k for k, b in self._live.items() if now - b.built_at >= LIVE_REUSE_SECONDS]:
            del self._live[stale]
        self._live[key] = built
        return built

    async def _shared_build(self, key: GraphKey, token: str, snapshot: dict | None) -> Built:
        loop = asyncio.get_running_loop()
        flight = (id(loop), key, token)
        future = self._inflight.get(flight)
        if future is None:
            future = loop.create_task(self._build(key, token, snapshot))
            self._inflight[flight] = future
            future.add_done_callback(lambda _: self._inflight.pop(flight, None))
        # shield: a socket that closes while waiting must not cancel the others' build
        return await asyncio.shield(future)

    async def _build(self, key: GraphKey, token: str, snapshot: dict | None) -> Built:
        if token == "live":
            token = f"live:{next(self._live_numbers)}"
        built = Built(key=key, token=token, snapshot=snapshot)
        self.builds += 1
        started = time.monotonic()
        try:
            built.answer = await self._builder(key, snapshot["id"] if snapshot else None,
                                               snapshot["taken_at"] if snapshot else None)
        except GraphBuildError as exc:
            built.error = exc
        except Exception:
            logger.exception("Could not build a pushed graph (cluster %s)", key.cluster_id)
            built.error = GraphBuildError("error", "The graph could not be built: the next snapshot will try again.")
        logger.info("Pushed graph of cluster %s at %s built in %.0f ms%s", key.cluster_id, token,
                    (time.monotonic() - started) * 1000, f" (failed: {built.error.detail})" if built.error else "")
        if snapshot is not None:
            self._store(built)
        return built

    def _store(self, built: Built) -> None:
        self._done[(built.key, built.token)] = built
        same_key = [entry for entry in self._done if entry[0] == built.key]
        for entry in same_key[:-KEEP_PER_KEY]:
            del self._done[entry]
        while len(self._done) > MAX_BUILDS:
            self._done.popitem(last=False)

    # --- deltas -------------------------------------------------------------------------

    def delta_text(self, base: Built, new: Built) -> str:
        """The ``graph.delta`` message from ``base`` (what a socket holds) to ``new``."""
        entry = (base.key, base.token, new.key, new.token)
        text = self._deltas.get(entry)
        if text is not None:
            self._deltas.move_to_end(entry)
            return text
        assert base.answer is not None and new.answer is not None, "a delta between failed builds"
        delta = graph_delta(base.answer, new.answer)
        text = _encode({
            "type": GRAPH_DELTA, "snapshot": new.snapshot,
            "from": base.snapshot["id"] if base.snapshot else None, **delta,
        })
        self._deltas[entry] = text
        while len(self._deltas) > MAX_DELTAS:
            self._deltas.popitem(last=False)
        return text

    def clear(self) -> None:
        """Forget everything (tests)."""
        self._done.clear()
        self._inflight.clear()
        self._deltas.clear()
        self._live.clear()
        self._latest.clear()
        self.builds = 0
