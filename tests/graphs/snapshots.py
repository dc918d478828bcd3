"""Stored sources for tests: what a snapshot of a cluster at one moment would hold, restored from JSON."""
from __future__ import annotations

import json
import math
from dataclasses import asdict

import pytest

from apps.clusters.inventory import Inventory, Workload
from apps.core.stored import canonical_json
from apps.graphs.sources import GraphSource, live_source, stored_source
from apps.graphs.telemetry.factory import telemetry_for
from apps.graphs.telemetry.mesh_traffic import MeshTraffic, capture_traffic


def ordered_inventory(inv: Inventory) -> Inventory:
    """The inventory in the canonical order to_dict writes (the only thing a round trip may change)."""
    return Inventory(
        namespaces=sorted(inv.namespaces, key=lambda n: n.name),
        workloads=[Workload(**{**w.__dict__, "pods": sorted(w.pods, key=lambda p: (p.name, p.namespace))})
                   for w in sorted(inv.workloads, key=lambda w: (w.namespace, w.name, w.kind))],
        services=sorted(inv.services, key=lambda s: (s.namespace, s.name)),
        istio_objects=sorted(inv.istio_objects, key=lambda o: (o.namespace, o.kind, o.name)),
    )


def stored_copy(live: GraphSource, *, query_time: int, window: int = 60, label: str = "snapshot #1") -> GraphSource:
    """The live source's inventory and the window's traffic, through their stored JSON and back."""
    inventory = live.inventory()
    traffic = capture_traffic(telemetry_for(live.cluster), window=window, query_time=query_time,
                              mesh_namespaces=[n.name for n in inventory.namespaces])
    return stored_source(
        live.cluster,
        inventory=Inventory.from_dict(json.loads(canonical_json(inventory.to_dict()))),
        traffic=MeshTraffic.from_dict(json.loads(canonical_json(traffic.to_dict()))),
        at=query_time, label=label,
    )


def snapshot_of(cluster, query_time: int, window: int = 60) -> tuple[GraphSource, GraphSource]:
    """(live, stored) sources of ``cluster`` for the same moment."""
    live = live_source(cluster)
    return live, stored_copy(live, query_time=query_time, window=window)


def assert_same(a, b, path="$"):
    """Deep equality with float tolerance (sums over stored rows run in another order)."""
    if isinstance(a, float) or isinstance(b, float):
        assert a is not None and b is not None, (path, a, b)
        assert (math.isnan(a) and math.isnan(b)) or a == pytest.approx(b, rel=1e-9, abs=1e-12), (path, a, b)
    elif isinstance(a, dict):
        assert a.keys() == b.keys(), (path, sorted(set(a) ^ set(b), key=str))
        for k in a:
            assert_same(a[k], b[k], f"{path}.{k}")
    elif isinstance(a, (list, tuple)):
        assert len(a) == len(b), (path, len(a), len(b))
        for i, (x, y) in enumerate(zip(a, b, strict=True)):
            assert_same(x, y, f"{path}[{i}]")
    elif isinstance(a, set):
        assert a == b, path
    else:
        assert a == b, (path, a, b)


def graph_dict(graph) -> dict:
    return {"nodes": {k: asdict(v) for k, v in graph.nodes.items()},
            "edges": {"|".join(k): asdict(v) for k, v in graph.edges.items()}}
