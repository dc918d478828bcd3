"""Reading snapshots back: parts decoded once per process (a small LRU), traffic windows merged.

Decoding a large mesh's window takes a good part of a second, and the same
few snapshots (the latest; the one an incident review looks at) are read by
every viewer, so decoded parts are kept by content address and decoded
windows by snapshot id.
"""
from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, cast

from apps.clusters.inventory import Inventory
from apps.core.stored import FormatError
from apps.graphs.telemetry import columns
from apps.graphs.telemetry.columns import ColumnarTraffic, TrafficLayout
from apps.graphs.telemetry.mesh_traffic import MeshTraffic
from apps.graphs.telemetry.query import Row

from . import codec
from .models import Snapshot, SnapshotPart


class LRU:
    def __init__(self, size: int):
        self.size = size
        self._items: OrderedDict[Any, Any] = OrderedDict()
        self._lock = threading.Lock()

    def get_or_make(self, key, make: Callable[[], Any]):
        with self._lock:
            if key in self._items:
                self._items.move_to_end(key)
                return self._items[key]
        value = make()  # outside the lock: decoding is slow, a duplicate decode is harmless
        with self._lock:
            self._items[key] = value
            self._items.move_to_end(key)
            while len(self._items) > self.size:
                self._items.popitem(last=False)
        return value

    def clear(self) -> None:
        with self._lock:
            self._items.clear()


_parts = LRU(64)  # decoded JSON parts by sha256 (inventory, config, findings, shapes)
_inventories = LRU(16)  # Inventory by (inventory sha, config sha)
_traffic = LRU(6)  # MeshTraffic by snapshot id (or merged: by the ids)
_layouts = LRU(4)  # TrafficLayout by traffic shape sha256


_graphs = LRU(8)  # graphs a diff compared (see selectors._graph)


def clear_caches() -> None:
    for cache in (_parts, _inventories, _traffic, _rates, _layouts, _graphs):
        cache.clear()


def _raw(sha: str) -> bytes:
    part = SnapshotPart.objects.filter(pk=sha).only("data").first()
    if part is None:
        raise FormatError(f"snapshot part {sha[:12]} is missing")
    return bytes(part.data)


def part_json(sha: str) -> Any:
    return _parts.get_or_make(sha, lambda: codec.unpack_json(_raw(sha)))


def inventory_of(snapshot: Snapshot) -> Inventory:
    if not snapshot.inventory_id:
        raise FormatError(f"snapshot #{snapshot.pk} holds no inventory ({snapshot.status}: {snapshot.reason})")

    def make():
        doc = dict(part_json(snapshot.inventory_id))
        doc["istio_objects"] = part_json(snapshot.config_id)["objects"] if snapshot.config_id else []
        return Inventory.from_dict(doc)

    return _inventories.get_or_make((snapshot.inventory_id, snapshot.config_id), make)


def findings_of(snapshot: Snapshot) -> list[dict[str, Any]]:
    return list(part_json(snapshot.findings_id)["checks"]) if snapshot.findings_id else []


_rates = LRU(8)  # quantized rates (uint64 arrays) by sha256: key frames, read for every delta


def quantized_rates(sha: str):
    def make():
        part = SnapshotPart.objects.filter(pk=sha).only("data", "encoding", "base").first()
        if part is None:
            raise FormatError(f"snapshot part {sha[:12]} is missing")
        base = quantized_rates(part.base_id) if part.base_id else None
        return codec.unpack_bits(bytes(part.data), part.encoding, base)

    return _rates.get_or_make(sha, make)


def traffic_of(snapshot: Snapshot) -> MeshTraffic:
    if not snapshot.has_traffic:
        raise FormatError(f"snapshot #{snapshot.pk} holds no traffic ({snapshot.status}: {snapshot.reason})")

    def make():
        values = codec.float_array(quantized_rates(snapshot.traffic_values_id))
        return ColumnarTraffic(layout_of(snapshot.traffic_shape_id), values, window=snapshot.window,
                               query_time=snapshot.taken_at.timestamp())

    return _traffic.get_or_make(snapshot.pk, make)


def layout_of(sha: str) -> TrafficLayout:
    """A traffic shape, prepared once per process (the snapshots of one topology share it)."""
    return _layouts.get_or_make(sha, lambda: TrafficLayout(codec.unpack_json(_raw(sha))))


def merge_windows(windows: list[MeshTraffic], *, window: int, query_time: float) -> MeshTraffic:
    """The rates of a longer window from the windows that cover it: every row's rate averaged over
    the windows (a row missing from one had no traffic there). Exact when the windows tile the longer
    one; bucket rates are averaged the same way, so quantiles stay exact too."""
    if all(isinstance(w, ColumnarTraffic) for w in windows) and \
            len({id(cast(ColumnarTraffic, w).layout) for w in windows}) == 1:
        return columns.average(cast(list[ColumnarTraffic], windows), window=window, query_time=query_time)
    n = len(windows)
    sums: dict[str, dict[tuple, list]] = {}
    for traffic in windows:
        for metric, rows in traffic.series.items():
            by_key = sums.setdefault(metric, {})
            for row in rows:
                key = tuple(sorted(row.labels.items()))
                slot = by_key.get(key)
                if slot is None:
                    by_key[key] = [row.labels, row.value]
                else:
                    slot[1] += row.value
    return MeshTraffic(window=window, query_time=query_time,
                       series={m: [Row(labels, total / n) for labels, total in rows.values()]
                               for m, rows in sums.items()})


@dataclass
class Covering:
    snapshots: list[Snapshot]  # newest first
    exact: bool
    coverage: float  # share of the requested duration the windows cover


MAX_COVERING = 60  # windows merged at most; more are sampled evenly (approximate)


def covering(candidates: list[Snapshot], duration: int) -> Covering:
    """Pick, newest first, windows that tile ``duration`` seconds back from the first candidate."""
    if not candidates:
        return Covering([], False, 0.0)
    end = candidates[0].taken_at.timestamp()
    start = end - duration
    chosen: list[Snapshot] = []
    next_end = end
    for snap in candidates:
        t = snap.taken_at.timestamp()
        if t - snap.window < start - 1:
            break
        if t <= next_end + 1:
            chosen.append(snap)
            next_end = t - snap.window
    covered = sum(s.window for s in chosen)
    contiguous = all(abs((a.taken_at.timestamp() - a.window) - b.taken_at.timestamp()) <= 1
                     for a, b in zip(chosen, chosen[1:], strict=False))
    if len(chosen) > MAX_COVERING:
        step = len(chosen) / MAX_COVERING
        chosen = [chosen[int(i * step)] for i in range(MAX_COVERING)]
        contiguous = False
    exact = contiguous and abs(covered - duration) <= 1
    return Covering(chosen, exact, min(1.0, covered / duration))
